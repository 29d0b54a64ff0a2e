//! Duplicate-safe create. No provider offers an idempotency key (FACTS.md §9), so every create attempt carries a
//! unique marker tag; when the answer is lost (connection dropped, timeout, 5xx, an unreadable 2xx body) the marker
//! is looked up before deciding: found → that instance is the result; not found → one more attempt at most. A
//! create is never sent again for an instance that exists. Markers stay on the instance (prov's operations are
//! read, create and delete only) and are documented in docs/plan-format.md.

use crate::error::{Error, Result};
use crate::provider::{CreateSpec, Created, MANAGED_TAG, Provider};
use crate::secret::{Secret, generate_password};

/// Prefix of the per-create marker tags.
pub const MARKER_PREFIX: &str = "prov-create-";

/// How a create ended.
#[derive(Debug, Clone)]
pub struct CreateOutcome {
    /// What the provider answered (or what the marker lookup found).
    pub created: Created,
    /// True when the answer was lost and the instance was found by its marker.
    pub recovered: bool,
    /// How many create requests were sent (1 or 2).
    pub attempts: u32,
}

/// A fresh marker tag: the prefix and 16 hex digits from the OS-seeded RNG.
pub fn new_marker() -> String {
    format!("{MARKER_PREFIX}{:016x}", rand::random::<u64>())
}

/// True when a create that failed with `e` may nevertheless have created the instance.
pub fn outcome_unknown(e: &Error) -> bool {
    match e {
        Error::Transport { outcome_unknown, .. } => *outcome_unknown,
        Error::Api { status, .. } => *status >= 500,
        // A 2xx answer we could not read: the provider acted.
        Error::Decode { .. } => true,
        _ => false,
    }
}

/// Creates the instance `spec` describes, tagged `prov-managed` and with a marker, never twice. When the provider
/// takes a root password and none is given, one is generated here, before the first attempt, so it can be
/// reported even if the instance is only found through its marker.
pub fn create_once(p: &dyn Provider, spec: &CreateSpec) -> Result<CreateOutcome> {
    let mut spec = spec.clone();
    if !spec.tags.iter().any(|t| t == MANAGED_TAG) {
        spec.tags.push(MANAGED_TAG.to_owned());
    }
    let marker = new_marker();
    spec.tags.push(marker.clone());
    let mut generated: Option<Secret> = None;
    if spec.root_password.is_none() && p.info().supports_key("root_password") && !spec.image.is_empty() {
        let pw = generate_password(32);
        spec.root_password = Some(pw.clone());
        generated = Some(pw);
    }
    let name = p.info().name;
    for attempt in 1..=2 {
        let err = match p.create_instance(&spec) {
            Ok(mut created) => {
                if generated.is_some() {
                    created.generated_password = generated;
                }
                return Ok(CreateOutcome { created, recovered: false, attempts: attempt });
            }
            Err(e) if outcome_unknown(&e) => e,
            Err(e) => return Err(e),
        };
        log::warn!("{name}: the answer to creating `{}` was lost ({err}); looking for marker {marker}", spec.label);
        match p.find_instances(&spec.label, &marker) {
            Ok(found) if !found.is_empty() => {
                if found.len() > 1 {
                    log::warn!("{name}: {} instances carry marker {marker}; using the first", found.len());
                }
                let instance = found.into_iter().next().ok_or(err)?;
                return Ok(CreateOutcome {
                    created: Created { instance, generated_password: generated },
                    recovered: true,
                    attempts: attempt,
                });
            }
            Ok(_) if attempt == 1 => log::warn!("{name}: `{}` was not created; trying once more", spec.label),
            Ok(_) => return Err(err),
            // Unknown whether it exists, so it must not be sent again.
            Err(lookup) => {
                log::warn!("{name}: looking for marker {marker} failed: {lookup}");
                return Err(err);
            }
        }
    }
    Err(Error::InvalidInput { provider: name, message: "create gave up".into() })
}
