//! Duplicate-safe create. No provider offers an idempotency key (`docs/providers/<provider>.md` §9), so every create
//! attempt carries a unique marker tag; when the answer is lost (connection dropped, timeout, 5xx, an unreadable 2xx
//! body) the marker is looked up repeatedly over a settle window (providers act late and their lists lag) before
//! deciding: found → that instance is the result; certainly absent after the whole window → one more attempt at
//! most; unknown (the lookups failed) → nothing is resent. A create is never sent again for an instance that
//! exists. Markers stay on the instance (prov's operations are read, create and delete only) and are documented in
//! docs/plan-format.md.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::model::Instance;
use crate::provider::{CreateSpec, Created, MANAGED_TAG, Provider};
use crate::secret::{Secret, generate_password};

/// Prefix of the per-create marker tags.
pub const MARKER_PREFIX: &str = "prov-create-";

/// How long a lost create is looked up by its marker before it is taken as not created (docs/reliability.md).
pub const SETTLE_WINDOW: Duration = Duration::from_secs(30);

/// Time between marker lookups within the settle window.
pub const LOOKUP_INTERVAL: Duration = Duration::from_secs(3);

/// How a create resolves a lost answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateOptions {
    /// Marker lookups continue this long after a lost answer before the one permitted retry.
    pub settle: Duration,
    /// Time between lookups.
    pub lookup_interval: Duration,
}

impl Default for CreateOptions {
    fn default() -> Self {
        Self { settle: SETTLE_WINDOW, lookup_interval: LOOKUP_INTERVAL }
    }
}

/// How a create ended.
#[derive(Debug, Clone)]
pub struct CreateOutcome {
    /// What the provider answered (or what the marker lookup found).
    pub created: Created,
    /// True when the answer was lost and the instance was found by its marker.
    pub recovered: bool,
    /// How many create requests were sent (1 or 2).
    pub attempts: u32,
    /// The marker tag every attempt carried.
    pub marker: String,
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
        // Abandoned while in flight: the provider may have acted.
        Error::Interrupted => true,
        _ => false,
    }
}

/// Creates the instance `spec` describes, tagged `prov-managed` and with a fresh marker, never twice, with the
/// default settle window.
pub fn create_once(p: &dyn Provider, spec: &CreateSpec) -> Result<CreateOutcome> {
    create_marked(p, spec, &new_marker(), &CreateOptions::default())
}

/// What the marker lookups over a settle window showed.
enum Lookup {
    Found(Instance),
    Absent,
    Unknown(Error),
}

/// Creates the instance `spec` describes with `marker` (so a caller can look it up later whatever happens). When
/// the provider takes a root password and none is given, one is generated here, before the first attempt, so it
/// can be reported even if the instance is only found through its marker.
pub fn create_marked(p: &dyn Provider, spec: &CreateSpec, marker: &str, opts: &CreateOptions) -> Result<CreateOutcome> {
    let mut spec = spec.clone();
    if !spec.tags.iter().any(|t| t == MANAGED_TAG) {
        spec.tags.push(MANAGED_TAG.to_owned());
    }
    spec.tags.push(marker.to_owned());
    let mut generated: Option<Secret> = None;
    if spec.root_password.is_none() && p.info().supports_key("root_password") && !spec.image.is_empty() {
        let pw = generate_password(32);
        spec.root_password = Some(pw.clone());
        generated = Some(pw);
    }
    let name = p.info().name;
    let outcome = |created: Created, recovered, attempts| CreateOutcome {
        created,
        recovered,
        attempts,
        marker: marker.to_owned(),
    };
    for attempt in 1..=2 {
        let err = match p.create_instance(&spec) {
            Ok(mut created) => {
                if generated.is_some() {
                    created.generated_password = generated;
                }
                return Ok(outcome(created, false, attempt));
            }
            Err(Error::Interrupted) => return Err(Error::Interrupted),
            Err(e) if outcome_unknown(&e) => e,
            Err(e) => return Err(e),
        };
        log::warn!(
            "{name}: the answer to creating `{}` was lost ({err}); looking for marker {marker} for up to {}",
            spec.label,
            humantime::format_duration(opts.settle)
        );
        match settle(p, &spec.label, marker, opts) {
            Lookup::Found(instance) => {
                return Ok(outcome(Created { instance, generated_password: generated }, true, attempt));
            }
            Lookup::Absent if attempt == 1 => {
                log::warn!("{name}: `{}` was not created; trying once more", spec.label);
            }
            Lookup::Absent => return Err(err),
            Lookup::Unknown(Error::Interrupted) => return Err(Error::Interrupted),
            // Unknown whether it exists, so it must not be sent again.
            Lookup::Unknown(lookup) => {
                log::warn!("{name}: looking for marker {marker} failed: {lookup}");
                return Err(err);
            }
        }
    }
    Err(Error::InvalidInput { provider: name, message: "create gave up".into() })
}

/// Looks `marker` up now and then every `lookup_interval` until the settle window ends. Absent only when the
/// last lookup answered and found nothing.
fn settle(p: &dyn Provider, label: &str, marker: &str, opts: &CreateOptions) -> Lookup {
    let clock = p.http().clock().clone();
    let end = clock.now() + opts.settle;
    loop {
        let last = match p.find_instances(label, marker) {
            Ok(mut found) if !found.is_empty() => {
                if found.len() > 1 {
                    log::warn!(
                        "{}: {} instances carry marker {marker}; keeping the oldest",
                        p.info().name,
                        found.len()
                    );
                }
                found.sort_by(crate::identity::keeping_order);
                return Lookup::Found(found.remove(0));
            }
            Ok(_) => Lookup::Absent,
            Err(Error::Interrupted) => return Lookup::Unknown(Error::Interrupted),
            Err(e) => Lookup::Unknown(e),
        };
        let left = end.saturating_duration_since(clock.now());
        if left.is_zero() {
            return last;
        }
        if clock.sleep_unless(opts.lookup_interval.min(left), p.http().cancel_flag()) {
            return Lookup::Unknown(Error::Interrupted);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::clock::ManualClock;
    use crate::fake::INFO;
    use crate::model::{Image, Instance, InstanceStatus, Region, Size};
    use crate::provider::{Deleted, Operation, ProviderInfo};
    use crate::{ApiError, ClientSettings, Http};

    /// What each create call does: `Ok(store)` answers (storing the instance when true), or fails after
    /// optionally storing it (the server acted but the answer was lost).
    enum Step {
        Answer,
        LoseAfterActing,
        LoseBeforeActing,
        Reject,
    }

    struct Fake {
        http: Http,
        steps: Mutex<Vec<Step>>,
        store: Mutex<Vec<Instance>>,
        posts: Mutex<Vec<CreateSpec>>,
        lookup_fails: bool,
        clock: Arc<ManualClock>,
        /// Lookups that still answer without the stored instances (a provider that acts late, a lagging list).
        lag: Mutex<u32>,
        lookups: Mutex<u32>,
    }

    impl Fake {
        fn new(steps: Vec<Step>) -> Self {
            let clock = Arc::new(ManualClock::new());
            let settings = ClientSettings { clock: clock.clone(), ..ClientSettings::default() };
            let http = Http::new(&INFO, &settings).unwrap_or_else(|e| panic!("{e}"));
            Self {
                http,
                steps: Mutex::new(steps),
                store: Mutex::default(),
                posts: Mutex::default(),
                lookup_fails: false,
                clock,
                lag: Mutex::new(0),
                lookups: Mutex::new(0),
            }
        }
        fn lagging(self, lookups: u32) -> Self {
            *self.lag.lock().unwrap_or_else(|p| p.into_inner()) = lookups;
            self
        }
        fn lookups(&self) -> u32 {
            *self.lookups.lock().unwrap_or_else(|p| p.into_inner())
        }
        fn posts(&self) -> Vec<CreateSpec> {
            self.posts.lock().map(|p| p.clone()).unwrap_or_default()
        }
    }

    fn lost() -> Error {
        Error::Transport {
            provider: "fake",
            operation: Operation::CreateInstance,
            message: "reset".into(),
            outcome_unknown: true,
        }
    }

    impl Provider for Fake {
        fn info(&self) -> &'static ProviderInfo {
            &INFO
        }
        fn list_regions(&self) -> Result<Vec<Region>> {
            Ok(Vec::new())
        }
        fn list_sizes(&self) -> Result<Vec<Size>> {
            Ok(Vec::new())
        }
        fn list_images(&self) -> Result<Vec<Image>> {
            Ok(Vec::new())
        }
        fn list_instances(&self) -> Result<Vec<Instance>> {
            *self.lookups.lock().unwrap_or_else(|p| p.into_inner()) += 1;
            if self.lookup_fails {
                return Err(lost());
            }
            let mut lag = self.lag.lock().unwrap_or_else(|p| p.into_inner());
            if *lag > 0 {
                *lag -= 1;
                return Ok(Vec::new());
            }
            Ok(self.store.lock().map(|s| s.clone()).unwrap_or_default())
        }
        fn get_instance(&self, _: &str) -> Result<Instance> {
            Err(lost())
        }
        fn create_instance(&self, spec: &CreateSpec) -> Result<Created> {
            if let Ok(mut p) = self.posts.lock() {
                p.push(spec.clone());
            }
            let n = self.posts().len();
            let inst = Instance {
                provider: "fake".into(),
                id: format!("id-{n}"),
                label: spec.label.clone(),
                status: InstanceStatus::Pending,
                provider_status: "new".into(),
                ipv4: None,
                ipv6: None,
                region: spec.region.clone(),
                plan: spec.plan.clone(),
                image: spec.image.clone(),
                tags: spec.tags.clone(),
                created_at: None,
            };
            let step = self.steps.lock().ok().and_then(|mut s| (!s.is_empty()).then(|| s.remove(0)));
            match step.unwrap_or(Step::Answer) {
                Step::Answer => {
                    if let Ok(mut s) = self.store.lock() {
                        s.push(inst.clone());
                    }
                    Ok(Created { instance: inst, generated_password: None })
                }
                Step::LoseAfterActing => {
                    if let Ok(mut s) = self.store.lock() {
                        s.push(inst);
                    }
                    Err(lost())
                }
                Step::LoseBeforeActing => Err(lost()),
                Step::Reject => Err(Error::Api {
                    provider: "fake",
                    operation: Operation::CreateInstance,
                    status: 400,
                    error: ApiError::message("bad plan"),
                }),
            }
        }
        fn delete_instance(&self, _: &str) -> Result<Deleted> {
            Ok(Deleted::Deleted)
        }
        fn create_request(&self, spec: &CreateSpec) -> crate::http::Request {
            crate::http::Request::post(Operation::CreateInstance, "/x", serde_json::json!({"label": spec.label}))
        }
        fn http(&self) -> &Http {
            &self.http
        }
    }

    fn spec() -> CreateSpec {
        CreateSpec {
            label: "web-1".into(),
            region: "r".into(),
            plan: "p".into(),
            image: "i".into(),
            ..CreateSpec::default()
        }
    }

    #[test]
    fn a_plain_create_is_tagged_managed_and_marked_and_sent_once() {
        let fake = Fake::new(vec![Step::Answer]);
        let out = create_once(&fake, &spec()).unwrap_or_else(|e| panic!("{e}"));
        assert!(!out.recovered);
        assert_eq!(out.attempts, 1);
        let tags = &fake.posts()[0].tags;
        assert!(tags.contains(&MANAGED_TAG.to_owned()));
        assert!(tags.iter().any(|t| t.starts_with(MARKER_PREFIX) && t.len() == MARKER_PREFIX.len() + 16));
    }

    #[test]
    fn a_lost_answer_after_the_server_acted_is_recovered_by_marker_not_resent() {
        let fake = Fake::new(vec![Step::LoseAfterActing]);
        let out = create_once(&fake, &spec()).unwrap_or_else(|e| panic!("{e}"));
        assert!(out.recovered);
        assert_eq!(fake.posts().len(), 1, "never sent twice for an instance that exists");
        assert_eq!(out.created.instance.id, "id-1");
    }

    #[test]
    fn a_lost_answer_before_the_server_acted_is_retried_once_with_the_same_marker() {
        let fake = Fake::new(vec![Step::LoseBeforeActing, Step::Answer]);
        let out = create_once(&fake, &spec()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((out.recovered, out.attempts), (false, 2));
        let posts = fake.posts();
        assert_eq!(posts[0].tags, posts[1].tags, "the same marker, so a late first create is still found");
        let fake = Fake::new(vec![Step::LoseBeforeActing, Step::LoseBeforeActing, Step::Answer]);
        assert!(create_once(&fake, &spec()).is_err());
        assert_eq!(fake.posts().len(), 2, "at most one retry");
    }

    #[test]
    fn a_create_that_lands_late_is_found_within_the_settle_window_and_not_sent_twice() {
        // The answer is lost and the first five lookups do not show the instance yet (12 s of lag).
        let fake = Fake::new(vec![Step::LoseAfterActing, Step::Answer]).lagging(5);
        let out = create_once(&fake, &spec()).unwrap_or_else(|e| panic!("{e}"));
        assert!(out.recovered);
        assert_eq!(fake.posts().len(), 1, "one looked-once-and-retried create would have made two servers");
        assert_eq!(fake.lookups(), 6);
        assert_eq!(fake.clock.elapsed(), LOOKUP_INTERVAL * 5, "lookups every {LOOKUP_INTERVAL:?}");
    }

    #[test]
    fn the_one_retry_is_sent_only_after_the_whole_settle_window_found_nothing() {
        let fake = Fake::new(vec![Step::LoseBeforeActing, Step::Answer]);
        let out = create_once(&fake, &spec()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.attempts, 2);
        assert!(fake.clock.elapsed() >= SETTLE_WINDOW, "{:?}", fake.clock.elapsed());
        assert!(SETTLE_WINDOW >= Duration::from_secs(30), "the documented default is at least 30 s");
        assert_eq!(fake.lookups(), 11, "now, then every 3 s up to 30 s");
        let sleeps = fake.clock.sleeps();
        assert!(sleeps.iter().all(|d| *d <= LOOKUP_INTERVAL), "{sleeps:?}");
    }

    #[test]
    fn a_cancelled_settle_window_sends_nothing_more() {
        let fake = Fake::new(vec![Step::LoseBeforeActing, Step::Answer]);
        fake.http.cancel_flag().store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(matches!(create_once(&fake, &spec()), Err(Error::Interrupted)));
        assert_eq!(fake.posts().len(), 1);
    }

    #[test]
    fn when_the_lookup_itself_fails_nothing_is_resent() {
        let mut fake = Fake::new(vec![Step::LoseBeforeActing, Step::Answer]);
        fake.lookup_fails = true;
        assert!(create_once(&fake, &spec()).is_err());
        assert_eq!(fake.posts().len(), 1);
    }

    #[test]
    fn a_rejected_create_is_not_looked_up_or_retried() {
        let fake = Fake::new(vec![Step::Reject, Step::Answer]);
        let err = create_once(&fake, &spec()).err();
        assert!(matches!(err, Some(Error::Api { status: 400, .. })));
        assert_eq!(fake.posts().len(), 1);
    }

    #[test]
    fn a_password_the_provider_needs_is_generated_before_the_first_attempt_and_survives_recovery() {
        let fake = Fake::new(vec![Step::LoseAfterActing]);
        let out = create_once(&fake, &spec()).unwrap_or_else(|e| panic!("{e}"));
        let sent = fake.posts()[0].root_password.clone();
        assert!(sent.is_some());
        assert_eq!(out.created.generated_password, sent, "the password reported is the one sent");
        let given = CreateSpec { root_password: Some(Secret::new("Given-Pass-123")), ..spec() };
        let out = create_once(&Fake::new(vec![]), &given).unwrap_or_else(|e| panic!("{e}"));
        assert!(out.created.generated_password.is_none(), "a password the user gave is not reported back");
    }
}
