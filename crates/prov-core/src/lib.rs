//! Provider-neutral core of prov: normalized models, the provider trait, errors, the one HTTP chokepoint,
//! waiting, plan files, and the engine of the loopback sandbox. Knows no provider by name.

pub mod clock;
#[cfg(feature = "contract")]
pub mod contract;
pub mod create;
pub mod error;
pub mod http;
pub mod identity;
pub mod model;
pub mod plan;
pub mod provider;
pub mod ratelimit;
pub mod retry;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod secret;
pub mod text;
pub mod wait;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{ApiError, Error, Result};
pub use http::{ClientSettings, Http, Page};
pub use model::{Image, Instance, InstanceStatus, Plan, Region};
pub use provider::{CreateSpec, Created, Operation, Provider, ProviderInfo};
pub use secret::Secret;
pub use wait::{WaitLevel, WaitOptions};
