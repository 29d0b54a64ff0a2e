//! Provider-neutral core of prov, the client library only: normalized models, the provider trait, errors, the one
//! HTTP chokepoint, retry and rate limits, waiting, creating, plan files. Knows no provider by name. The sandbox
//! engine is the `prov-sandbox` crate; the test harness (fault matrix, contract validator) is `prov-testkit`.

pub mod clock;
pub mod create;
pub mod error;
#[cfg(test)]
mod fake;
pub mod http;
pub mod identity;
pub mod model;
pub mod money;
pub mod plan;
pub mod provider;
pub mod ratelimit;
pub mod retry;
pub mod secret;
pub mod text;
pub mod wait;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{ApiError, Error, Result};
pub use http::{ClientSettings, Http, Page};
pub use model::{Image, Instance, InstanceStatus, Region, Size};
pub use money::{Currency, Money, Totals};
pub use provider::{CreateSpec, Created, Operation, Provider, ProviderInfo, Registration};
pub use secret::Secret;
pub use wait::{WaitLevel, WaitOptions};
