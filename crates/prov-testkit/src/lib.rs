//! prov-testkit is responsible for the test support every provider crate shares, and is used only as a
//! dev-dependency (`publish = false`): [`harness`] (a sandbox and a client against it, the fault matrix
//! [`fault_matrix!`], the decoder properties [`decoder_properties!`] and the checks the fuzz targets reuse) and
//! [`contract`] (the OpenAPI contract validator and the contract checks [`contract_tests!`]). Everything here
//! panics with a message when a check fails: it is test support, not library code.

pub mod contract;
pub mod harness;

/// proptest, for the properties [`decoder_properties!`] expands to.
#[doc(hidden)]
pub use proptest;
