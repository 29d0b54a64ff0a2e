//! The sandbox test harness of prov-testkit, responsible for the fault matrix, shared by every provider crate:
//! each case starts a sandbox with one fault spec (see [`prov_sandbox::faults`]), drives the provider's real client against it over loopback with a [`ManualClock`] (so
//! `Retry-After` and backoff waits are instant), and checks that the client either recovers within the retry
//! policy or fails with one clear error naming the provider, the operation and the cause — never success on
//! failure, never a hang past the request deadline, and never a second create POST.
//!
//! A provider crate describes itself once as a [`Subject`] and expands [`crate::fault_matrix!`] in its
//! `tests/faults.rs`, which makes one `#[test]` per case. The cases panic with a message when a check fails:
//! this module is test support, not library code for production use.
//!
//! It also holds what the other provider tests share: [`start_sandbox`] and [`client_settings`] for a client
//! against a sandbox, and the decoder robustness properties — a provider's `tests/robustness.rs` describes its
//! decoders and fixtures as a [`Decoding`] and expands [`crate::decoder_properties!`]; the fuzz targets use the
//! same [`Decoded`] checks and [`mutate`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use prov_core::clock::ManualClock;
use prov_core::create::create_once;
use prov_core::error::Error;
use prov_core::http::{ClientSettings, decode_json};
use prov_core::provider::{CreateSpec, Deleted, Operation, Provider, ProviderInfo};
use prov_core::secret::Secret;
use prov_sandbox::{Dialect, Sandbox, SandboxOptions};

/// The token the matrix sends.
pub const TOKEN: &str = "sandbox-token";

/// Request deadline of the cases that do not stall: generous, so a busy machine never turns a normal answer into
/// a retried timeout.
pub const RELAXED_TIMEOUT: Duration = Duration::from_secs(10);

/// Request deadline of the stall cases; the stall itself is [`STALL`].
pub const SHORT_TIMEOUT: Duration = Duration::from_millis(300);

/// How long the stall cases hold an answer: far beyond [`SHORT_TIMEOUT`].
pub const STALL: &str = "5s";

/// Starts a sandbox serving `dialect` on a free loopback port; a created instance takes `boot` to get ready.
pub fn start_sandbox(dialect: Arc<dyn Dialect>, boot: Duration) -> Sandbox {
    Sandbox::start("127.0.0.1:0", vec![dialect], SandboxOptions { boot, ..SandboxOptions::default() })
        .unwrap_or_else(|e| panic!("sandbox: {e}"))
}

/// Settings for a client of `info` talking to `sandbox` with `token`, on a [`ManualClock`] so that no retry
/// wait blocks.
pub fn client_settings(sandbox: &Sandbox, info: &ProviderInfo, token: Option<&str>) -> ClientSettings {
    ClientSettings {
        base_url: Some(sandbox.base_url(info.sandbox_path)),
        token: token.map(Secret::new),
        clock: Arc::new(ManualClock::new()),
        ..ClientSettings::default()
    }
}

/// A provider under test, described once by its crate.
pub struct Subject {
    /// The provider's descriptor.
    pub info: &'static ProviderInfo,
    /// Its sandbox dialect, optionally with this many OS images (for paging).
    pub dialect: fn(Option<usize>) -> Arc<dyn Dialect>,
    /// Builds its client.
    pub connect: fn(&ClientSettings) -> prov_core::Result<Box<dyn Provider>>,
    /// A create spec the dialect accepts, with this label.
    pub spec: fn(&str) -> CreateSpec,
    /// Path of the image list below the base URL (`/os`, `/images`).
    pub images_path: &'static str,
}

impl std::fmt::Debug for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subject").field("provider", &self.info.name).finish_non_exhaustive()
    }
}

/// A sandbox with faults and a client pointed at it.
pub struct Rig {
    /// The sandbox.
    pub sandbox: Sandbox,
    /// The client's clock: every retry wait lands here instead of blocking.
    pub clock: Arc<ManualClock>,
    /// The client.
    pub client: Box<dyn Provider>,
    info: &'static ProviderInfo,
    instances_path: String,
}

impl std::fmt::Debug for Rig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rig").field("sandbox", &self.sandbox).finish_non_exhaustive()
    }
}

impl Rig {
    /// Starts a sandbox with `faults` (a spec; `{p}` stands for the dialect prefix and `{i}` for the instance
    /// collection path below it) and connects a client with `timeout` as the request deadline.
    pub fn new(s: &Subject, faults: &str, timeout: Duration, images: Option<usize>) -> Self {
        let probe = (s.connect)(&ClientSettings::default()).unwrap_or_else(|e| panic!("client: {e}"));
        let instances_path = probe.create_request(&(s.spec)("probe")).path;
        let faults = faults.replace("{p}", s.info.sandbox_path).replace("{i}", &instances_path);
        let opts = SandboxOptions { boot: Duration::ZERO, faults, ..SandboxOptions::default() };
        let sandbox =
            Sandbox::start("127.0.0.1:0", vec![(s.dialect)(images)], opts).unwrap_or_else(|e| panic!("sandbox: {e}"));
        let clock = Arc::new(ManualClock::new());
        let settings = ClientSettings {
            clock: clock.clone(),
            request_timeout: timeout,
            connect_timeout: Duration::from_secs(5),
            ..client_settings(&sandbox, s.info, Some(TOKEN))
        };
        let client = (s.connect)(&settings).unwrap_or_else(|e| panic!("client: {e}"));
        Self { sandbox, clock, client, info: s.info, instances_path }
    }

    /// Requests received with `method` whose path below the prefix is `path` (`{i}` as in [`Rig::new`]).
    pub fn count(&self, method: &str, path: &str) -> usize {
        let want = format!("{}{}", self.info.sandbox_path, path.replace("{i}", &self.instances_path));
        self.sandbox.world().request_log().iter().filter(|(m, p)| m == method && *p == want).count()
    }

    /// Requests received with `method` whose path starts with the instance collection (the collection and its
    /// items).
    pub fn count_instances(&self, method: &str) -> usize {
        let want = format!("{}{}", self.info.sandbox_path, self.instances_path);
        self.sandbox.world().request_log().iter().filter(|(m, p)| m == method && p.starts_with(&want)).count()
    }

    /// Instances that exist in the simulated world.
    pub fn instances(&self) -> usize {
        self.sandbox.world().list(self.info.name).len()
    }

    /// Creates an instance outside any fault (the spec must not fault the first POST) and returns its id.
    pub fn create(&self, s: &Subject, label: &str) -> String {
        match self.client.create_instance(&(s.spec)(label)) {
            Ok(c) => c.instance.id,
            Err(e) => panic!("setting up an instance failed: {e}"),
        }
    }
}

/// The attempts the default retry policy makes.
fn max_attempts() -> usize {
    ClientSettings::default().retry.max_attempts as usize
}

/// The error of `r`, which must have failed.
fn failed<T: std::fmt::Debug>(what: &str, r: prov_core::Result<T>) -> Error {
    match r {
        Ok(v) => panic!("{what}: succeeded on a fault: {v:?}"),
        Err(e) => e,
    }
}

/// The value of `r`, which must have succeeded.
fn recovered<T>(what: &str, r: prov_core::Result<T>) -> T {
    r.unwrap_or_else(|e| panic!("{what}: did not recover: {e}"))
}

/// Checks the error is one line naming the provider and the operation, and contains every `cause` fragment.
pub fn assert_clear(e: &Error, info: &ProviderInfo, op: Operation, causes: &[&str]) {
    let msg = e.to_string();
    let head = format!("{}: {op} failed: ", info.name);
    assert!(msg.starts_with(&head), "`{msg}` does not start with `{head}`");
    assert!(!msg.contains('\n'), "`{msg}` is more than one line");
    for cause in causes {
        assert!(msg.contains(cause), "`{msg}` does not say `{cause}`");
    }
}

fn list_regions(rig: &Rig) -> prov_core::Result<usize> {
    rig.client.list_regions().map(|r| r.len())
}

/// `GET regions #1 => 429 retry-after=7`: waits exactly the 7 s asked for, then succeeds.
pub fn rate_limit_retry_after_seconds_recovers(s: &Subject) {
    let rig = Rig::new(s, "GET {p}/regions #1 => 429 retry-after=7", RELAXED_TIMEOUT, None);
    assert!(recovered("list regions", list_regions(&rig)) > 0);
    assert_eq!(rig.clock.sleeps(), vec![Duration::from_secs(7)]);
    assert_eq!(rig.count("GET", "/regions"), 2);
}

/// `429 retry-after-date=30`: the HTTP-date form is turned into a wait of about 30 s (second resolution).
pub fn rate_limit_retry_after_http_date_recovers(s: &Subject) {
    let rig = Rig::new(s, "GET {p}/regions #1 => 429 retry-after-date=30", RELAXED_TIMEOUT, None);
    assert!(recovered("list regions", list_regions(&rig)) > 0);
    let sleeps = rig.clock.sleeps();
    assert!(
        sleeps.len() == 1 && (Duration::from_secs(28)..=Duration::from_secs(31)).contains(&sleeps[0]),
        "{sleeps:?}"
    );
    assert_eq!(rig.count("GET", "/regions"), 2);
}

/// A 429 on every attempt: the policy's attempts, each after the `Retry-After`, then a clear 429 error.
pub fn rate_limit_on_every_attempt_fails_clearly(s: &Subject) {
    let rig = Rig::new(s, "GET {p}/regions => 429 retry-after=1", RELAXED_TIMEOUT, None);
    let e = failed("list regions", list_regions(&rig));
    assert_clear(&e, s.info, Operation::ListRegions, &["HTTP 429", "Too Many Requests (sandbox fault)"]);
    assert_eq!(rig.count("GET", "/regions"), max_attempts());
    assert_eq!(rig.clock.sleeps(), vec![Duration::from_secs(1); max_attempts() - 1]);
}

/// An HTML 502 from a proxy on every attempt: retried, then one line that summarises the HTML, not the page.
pub fn html_502_is_retried_then_fails_clearly(s: &Subject) {
    let rig = Rig::new(s, "GET {p}/regions => 502", RELAXED_TIMEOUT, None);
    let e = failed("list regions", list_regions(&rig));
    assert_clear(&e, s.info, Operation::ListRegions, &["HTTP 502: an HTML page ("]);
    assert!(!e.to_string().contains('<'), "{e}");
    assert_eq!(rig.count("GET", "/regions"), max_attempts());
}

/// Two 503s, then the real answer: recovered on the third attempt after two backoff waits.
pub fn transient_503_recovers(s: &Subject) {
    let rig = Rig::new(s, "GET {p}/regions #1-2 => 503", RELAXED_TIMEOUT, None);
    assert!(recovered("list regions", list_regions(&rig)) > 0);
    assert_eq!(rig.count("GET", "/regions"), 3);
    assert_eq!(rig.clock.sleeps().len(), 2);
}

/// A 401 is not retried: one request, one clear line.
pub fn unauthorized_is_not_retried(s: &Subject) {
    let rig = Rig::new(s, "GET {p}/regions => 401", RELAXED_TIMEOUT, None);
    let e = failed("list regions", list_regions(&rig));
    assert_clear(&e, s.info, Operation::ListRegions, &["HTTP 401", "Unauthorized (sandbox fault)"]);
    assert_eq!(rig.count("GET", "/regions"), 1);
}

/// The connection drops before an answer once: a read is retried and succeeds.
pub fn reset_before_answer_recovers(s: &Subject) {
    let rig = Rig::new(s, "GET {p}/regions #1 => reset", RELAXED_TIMEOUT, None);
    assert!(recovered("list regions", list_regions(&rig)) > 0);
    assert_eq!(rig.count("GET", "/regions"), 2);
}

/// The connection drops on every attempt: a transport error after the policy's attempts.
pub fn reset_on_every_attempt_fails_clearly(s: &Subject) {
    let rig = Rig::new(s, "GET {p}/regions => reset", RELAXED_TIMEOUT, None);
    let e = failed("list regions", list_regions(&rig));
    assert!(matches!(e, Error::Transport { outcome_unknown: false, .. }), "{e:?}");
    assert_clear(&e, s.info, Operation::ListRegions, &[]);
    assert_eq!(rig.count("GET", "/regions"), max_attempts());
}

/// One answer stalls past the request deadline: the read times out, is retried, and succeeds — in about one
/// deadline of wall time, not the stall's.
pub fn stall_beyond_the_deadline_recovers(s: &Subject) {
    let rig = Rig::new(s, &format!("GET {{p}}/regions #1 => stall={STALL}"), SHORT_TIMEOUT, None);
    let started = Instant::now();
    assert!(recovered("list regions", list_regions(&rig)) > 0);
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert_eq!(rig.count("GET", "/regions"), 2);
}

/// Every answer stalls: each attempt ends at the deadline and the list fails with a timeout, well before the
/// stalls would end.
pub fn stall_on_every_attempt_fails_by_the_deadline(s: &Subject) {
    let rig = Rig::new(s, &format!("GET {{p}}/regions => stall={STALL}"), SHORT_TIMEOUT, None);
    let started = Instant::now();
    let e = failed("list regions", list_regions(&rig));
    // The retry budget: all attempts together wait at most twice the request timeout for an answer.
    let bound = SHORT_TIMEOUT * 2 + Duration::from_secs(2);
    assert!(started.elapsed() < bound, "took {:?}", started.elapsed());
    assert_clear(&e, s.info, Operation::ListRegions, &["no answer within"]);
    assert_eq!(rig.count("GET", "/regions"), 2, "the budget leaves room for one retry, not the policy's four");
}

fn decode_error_of(e: &Error) -> (String, String) {
    match e {
        Error::Decode { path, message, .. } => (path.clone(), message.clone()),
        other => panic!("expected a decode error, got {other:?}"),
    }
}

/// A 200 whose JSON is cut in half: a decode error naming the JSON path where it ended; not retried.
pub fn truncated_json_names_the_path(s: &Subject) {
    let rig = Rig::new(s, "GET {p}/regions => truncate", RELAXED_TIMEOUT, None);
    let e = failed("list regions", list_regions(&rig));
    let (path, message) = decode_error_of(&e);
    assert!(path != "." && !path.is_empty(), "a path inside the answer: {path}");
    assert!(message.contains("the JSON ends early"), "{message}");
    assert_clear(&e, s.info, Operation::ListRegions, &[&format!("unexpected answer at `{path}`")]);
    assert_eq!(rig.count("GET", "/regions"), 1);
}

/// A 200 that is not JSON at all: a decode error, not retried.
pub fn invalid_json_is_a_decode_error(s: &Subject) {
    let rig = Rig::new(s, "GET {p}/regions => invalid-json", RELAXED_TIMEOUT, None);
    let e = failed("list regions", list_regions(&rig));
    let (path, message) = decode_error_of(&e);
    assert!(message.starts_with("expected value at line 1 column 1"), "{message}");
    assert_eq!(path, ".");
    assert_clear(&e, s.info, Operation::ListRegions, &["unexpected answer at `.`"]);
    assert_eq!(rig.count("GET", "/regions"), 1);
}

/// A 200 `{}`: the decode error names the missing field.
pub fn missing_fields_name_the_field(s: &Subject) {
    let rig = Rig::new(s, "GET {p}/regions => missing-fields", RELAXED_TIMEOUT, None);
    let e = failed("list regions", list_regions(&rig));
    let (_, message) = decode_error_of(&e);
    assert!(message.starts_with("missing field `"), "{message}");
    assert_clear(&e, s.info, Operation::ListRegions, &["missing field"]);
}

/// Page 2 of a long list fails on every attempt: the whole list fails; it is never returned short.
pub fn a_failing_later_page_fails_the_whole_list(s: &Subject) {
    let rig = Rig::new(s, &format!("GET {{p}}{} #2+ => 502", s.images_path), RELAXED_TIMEOUT, Some(1_201));
    let e = failed("list images", rig.client.list_images().map(|i| i.len()));
    assert_clear(&e, s.info, Operation::ListImages, &["HTTP 502"]);
    assert_eq!(rig.count("GET", s.images_path), 1 + max_attempts());
}

/// A truncated page 2 fails the whole list with a decode error.
pub fn a_truncated_later_page_fails_the_whole_list(s: &Subject) {
    let rig = Rig::new(s, &format!("GET {{p}}{} #2 => truncate", s.images_path), RELAXED_TIMEOUT, Some(1_201));
    let e = failed("list images", rig.client.list_images().map(|i| i.len()));
    decode_error_of(&e);
    assert_clear(&e, s.info, Operation::ListImages, &["the JSON ends early"]);
    assert_eq!(rig.count("GET", s.images_path), 2);
}

/// `GET instance => missing-fields`: the decode error names the operation and the missing field.
pub fn get_with_missing_fields_names_the_field(s: &Subject) {
    let rig = Rig::new(s, "GET {p}{i}/* => missing-fields", RELAXED_TIMEOUT, None);
    let id = rig.create(s, "web-get");
    let e = failed("get instance", rig.client.get_instance(&id));
    decode_error_of(&e);
    assert_clear(&e, s.info, Operation::GetInstance, &["missing field"]);
}

/// `POST => 500`: the create fails clearly, was sent once, and created nothing.
pub fn create_500_is_sent_once(s: &Subject) {
    let rig = Rig::new(s, "POST {p}{i} => 500", RELAXED_TIMEOUT, None);
    let e = failed("create", rig.client.create_instance(&(s.spec)("web-500")));
    assert_clear(&e, s.info, Operation::CreateInstance, &["HTTP 500"]);
    assert_eq!(rig.count("POST", "{i}"), 1, "a create POST is never resent after a 5xx");
    assert_eq!(rig.instances(), 0);
}

/// The connection drops before the provider acts: sent once, nothing created, and the error says the outcome is
/// unknown (the client cannot tell the two resets apart).
pub fn create_reset_before_is_sent_once(s: &Subject) {
    let rig = Rig::new(s, "POST {p}{i} => reset", RELAXED_TIMEOUT, None);
    let e = failed("create", rig.client.create_instance(&(s.spec)("web-reset")));
    assert!(matches!(e, Error::Transport { outcome_unknown: true, .. }), "{e:?}");
    assert_clear(&e, s.info, Operation::CreateInstance, &["(the request may have been carried out)"]);
    assert_eq!(rig.count("POST", "{i}"), 1);
    assert_eq!(rig.instances(), 0);
}

/// The lost response: the provider creates the instance, the answer never arrives. Sent once; the error says
/// the request may have been carried out — and it was.
pub fn create_reset_after_is_sent_once(s: &Subject) {
    let rig = Rig::new(s, "POST {p}{i} => reset-after", RELAXED_TIMEOUT, None);
    let e = failed("create", rig.client.create_instance(&(s.spec)("web-lost")));
    assert!(matches!(e, Error::Transport { outcome_unknown: true, .. }), "{e:?}");
    assert_clear(&e, s.info, Operation::CreateInstance, &["(the request may have been carried out)"]);
    assert_eq!(rig.count("POST", "{i}"), 1);
    assert_eq!(rig.instances(), 1);
}

/// The create answer stalls past the deadline: a timeout, sent once, outcome unknown (the provider acted).
pub fn create_stall_is_sent_once(s: &Subject) {
    let rig = Rig::new(s, &format!("POST {{p}}{{i}} => stall={STALL}"), SHORT_TIMEOUT, None);
    let started = Instant::now();
    let e = failed("create", rig.client.create_instance(&(s.spec)("web-slow")));
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert!(matches!(e, Error::Transport { outcome_unknown: true, .. }), "{e:?}");
    assert_clear(&e, s.info, Operation::CreateInstance, &["timed out", "(the request may have been carried out)"]);
    assert_eq!(rig.count("POST", "{i}"), 1);
    assert_eq!(rig.instances(), 1);
}

/// A 429 on a create is retried: the provider refused without acting, so exactly one instance results.
pub fn create_429_is_retried_and_creates_once(s: &Subject) {
    let rig = Rig::new(s, "POST {p}{i} #1 => 429 retry-after=2", RELAXED_TIMEOUT, None);
    recovered("create", rig.client.create_instance(&(s.spec)("web-429")));
    assert_eq!(rig.clock.sleeps(), vec![Duration::from_secs(2)]);
    assert_eq!(rig.count("POST", "{i}"), 2);
    assert_eq!(rig.instances(), 1);
}

/// A 2xx create answer without the instance: a decode error naming the field; sent once. (The instance exists;
/// the decode error alone does not say so — `create_once` treats it as an unknown outcome and looks it up.)
pub fn create_with_missing_fields_is_a_decode_error(s: &Subject) {
    let rig = Rig::new(s, "POST {p}{i} => missing-fields", RELAXED_TIMEOUT, None);
    let e = failed("create", rig.client.create_instance(&(s.spec)("web-empty")));
    decode_error_of(&e);
    assert_clear(&e, s.info, Operation::CreateInstance, &["missing field"]);
    assert_eq!(rig.count("POST", "{i}"), 1);
    assert_eq!(rig.instances(), 1);
}

/// Duplicate-safe create, lost response: the instance is found by its marker tag; one POST, one instance.
pub fn create_once_recovers_a_lost_answer_by_its_marker(s: &Subject) {
    let rig = Rig::new(s, "POST {p}{i} #1 => reset-after", RELAXED_TIMEOUT, None);
    let out = recovered("create_once", create_once(rig.client.as_ref(), &(s.spec)("web-marker")));
    assert!(out.recovered && out.attempts == 1, "{out:?}");
    assert_eq!(out.created.instance.label, "web-marker");
    assert_eq!(rig.count("POST", "{i}"), 1);
    assert_eq!(rig.instances(), 1);
}

/// A create the provider carries out but whose answer is lost, and which the next lookups do not show yet (a
/// provider acting late, a lagging list): found within the settle window, never sent twice.
pub fn create_once_finds_a_create_that_lands_late(s: &Subject) {
    let rig = Rig::new(s, "POST {p}{i} #1 => reset-after-lag=4", RELAXED_TIMEOUT, None);
    let out = recovered("create_once", create_once(rig.client.as_ref(), &(s.spec)("web-late")));
    assert!(out.recovered && out.attempts == 1, "{out:?}");
    assert_eq!(rig.count("POST", "{i}"), 1, "a single immediate lookup would have sent a second create");
    assert_eq!(rig.instances(), 1);
    assert!(rig.clock.elapsed() >= prov_core::create::LOOKUP_INTERVAL, "it waited for the lagging list");
}

/// Every answer holds one item fewer than the provider's own total: listed once more, then a clear paging error
/// (a silently short list would make `apply` create a duplicate).
pub fn a_list_shorter_than_its_total_is_listed_again_then_fails(s: &Subject) {
    let rig = Rig::new(s, "GET {p}/regions => short-page", RELAXED_TIMEOUT, None);
    let e = failed("list regions", list_regions(&rig));
    assert_clear(&e, s.info, Operation::ListRegions, &["refusing an incomplete list"]);
    assert_eq!(rig.count("GET", "/regions"), 2);
}

/// One short answer: the second listing is complete and is the result.
pub fn a_list_short_once_is_listed_again_and_complete(s: &Subject) {
    let full = recovered("list regions", list_regions(&Rig::new(s, "", RELAXED_TIMEOUT, None)));
    let rig = Rig::new(s, "GET {p}/regions #1 => short-page", RELAXED_TIMEOUT, None);
    assert_eq!(recovered("list regions", list_regions(&rig)), full);
    assert_eq!(rig.count("GET", "/regions"), 2);
}

/// Duplicate-safe create, reset before acting: the marker is not found, so one more POST is safe; one instance.
pub fn create_once_resends_only_when_nothing_was_created(s: &Subject) {
    let rig = Rig::new(s, "POST {p}{i} #1 => reset", RELAXED_TIMEOUT, None);
    let out = recovered("create_once", create_once(rig.client.as_ref(), &(s.spec)("web-again")));
    assert!(!out.recovered && out.attempts == 2, "{out:?}");
    assert_eq!(rig.count("POST", "{i}"), 2);
    assert_eq!(rig.instances(), 1);
}

/// Duplicate-safe create against a 500 on every POST: at most two POSTs (the second only after the marker
/// lookup found nothing), then the 500.
pub fn create_once_stops_after_two_failed_posts(s: &Subject) {
    let rig = Rig::new(s, "POST {p}{i} => 500", RELAXED_TIMEOUT, None);
    let e = failed("create_once", create_once(rig.client.as_ref(), &(s.spec)("web-down")).map(|o| o.attempts));
    assert_clear(&e, s.info, Operation::CreateInstance, &["HTTP 500"]);
    assert_eq!(rig.count("POST", "{i}"), 2);
    assert_eq!(rig.instances(), 0);
}

/// Duplicate-safe create, lost response and the marker lookup fails too: nothing is resent (it may exist).
pub fn create_once_never_resends_when_the_lookup_fails(s: &Subject) {
    let rig = Rig::new(s, "POST {p}{i} #1 => reset-after; GET {p}{i} => 503", RELAXED_TIMEOUT, None);
    let e = failed("create_once", create_once(rig.client.as_ref(), &(s.spec)("web-blind")).map(|o| o.attempts));
    assert_clear(&e, s.info, Operation::CreateInstance, &["(the request may have been carried out)"]);
    assert_eq!(rig.count("POST", "{i}"), 1);
    assert_eq!(rig.instances(), 1);
}

/// Deleting an id twice: the second is [`Deleted::AlreadyGone`], not an error.
pub fn delete_of_a_gone_id_is_already_gone(s: &Subject) {
    let rig = Rig::new(s, "", RELAXED_TIMEOUT, None);
    let id = rig.create(s, "web-del");
    assert_eq!(recovered("delete", rig.client.delete_instance(&id)), Deleted::Deleted);
    assert_eq!(recovered("delete again", rig.client.delete_instance(&id)), Deleted::AlreadyGone);
    assert_eq!(rig.instances(), 0);
}

/// The delete's answer is lost after the provider deleted: DELETE is idempotent, so it is retried, and the 404
/// of the retry means "already gone".
pub fn delete_with_a_lost_answer_is_already_gone(s: &Subject) {
    let rig = Rig::new(s, "DELETE {p}{i}/* #1 => reset-after", RELAXED_TIMEOUT, None);
    let id = rig.create(s, "web-del-lost");
    assert_eq!(recovered("delete", rig.client.delete_instance(&id)), Deleted::AlreadyGone);
    assert_eq!(rig.count_instances("DELETE"), 2);
    assert_eq!(rig.instances(), 0);
}

/// One 502 on a delete is retried and the instance is deleted.
pub fn delete_transient_502_recovers(s: &Subject) {
    let rig = Rig::new(s, "DELETE {p}{i}/* #1 => 502", RELAXED_TIMEOUT, None);
    let id = rig.create(s, "web-del-502");
    assert_eq!(recovered("delete", rig.client.delete_instance(&id)), Deleted::Deleted);
    assert_eq!(rig.count_instances("DELETE"), 2);
}

/// A 503 on every delete attempt: a clear error; the instance is still there.
pub fn delete_503_on_every_attempt_fails_clearly(s: &Subject) {
    let rig = Rig::new(s, "DELETE {p}{i}/* => 503 body=json", RELAXED_TIMEOUT, None);
    let id = rig.create(s, "web-del-503");
    let e = failed("delete", rig.client.delete_instance(&id));
    assert_clear(&e, s.info, Operation::DeleteInstance, &["HTTP 503", "Service Unavailable (sandbox fault)"]);
    assert_eq!(rig.count_instances("DELETE"), max_attempts());
    assert_eq!(rig.instances(), 1);
}

/// Expands to one `#[test]` per fault-matrix case for a [`Subject`]:
/// `prov_testkit::fault_matrix!(SUBJECT);` in a provider crate's `tests/faults.rs`.
#[macro_export]
macro_rules! fault_matrix {
    ($subject:expr) => {
        $crate::fault_matrix!(@cases $subject;
            rate_limit_retry_after_seconds_recovers,
            rate_limit_retry_after_http_date_recovers,
            rate_limit_on_every_attempt_fails_clearly,
            html_502_is_retried_then_fails_clearly,
            transient_503_recovers,
            unauthorized_is_not_retried,
            reset_before_answer_recovers,
            reset_on_every_attempt_fails_clearly,
            stall_beyond_the_deadline_recovers,
            stall_on_every_attempt_fails_by_the_deadline,
            truncated_json_names_the_path,
            invalid_json_is_a_decode_error,
            missing_fields_name_the_field,
            a_failing_later_page_fails_the_whole_list,
            a_truncated_later_page_fails_the_whole_list,
            get_with_missing_fields_names_the_field,
            create_500_is_sent_once,
            create_reset_before_is_sent_once,
            create_reset_after_is_sent_once,
            create_stall_is_sent_once,
            create_429_is_retried_and_creates_once,
            create_with_missing_fields_is_a_decode_error,
            create_once_recovers_a_lost_answer_by_its_marker,
            create_once_resends_only_when_nothing_was_created,
            create_once_stops_after_two_failed_posts,
            create_once_never_resends_when_the_lookup_fails,
            delete_of_a_gone_id_is_already_gone,
            delete_with_a_lost_answer_is_already_gone,
            delete_transient_502_recovers,
            delete_503_on_every_attempt_fails_clearly,
            create_once_finds_a_create_that_lands_late,
            a_list_shorter_than_its_total_is_listed_again_then_fails,
            a_list_short_once_is_listed_again_and_complete,
        );
    };
    (@cases $subject:expr; $($case:ident),+ $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::harness::$case(&$subject);
            }
        )+
    };
}

/// The statuses whose error bodies the decoder checks parse (`INFO.parse_error`) on every body.
pub const ERROR_STATUSES: [u16; 7] = [400, 401, 404, 422, 429, 500, 502];

/// A provider's answer decoders run on one body, keeping which of them accepted it.
#[derive(Debug)]
pub struct Decoded {
    info: &'static ProviderInfo,
    accepted: Vec<Operation>,
}

impl Decoded {
    /// Nothing decoded yet.
    pub fn new(info: &'static ProviderInfo) -> Self {
        Self { info, accepted: Vec::new() }
    }

    /// Decodes `body` as `T` (the answer of `op`) with `prov_core::http::decode_json` and, when that works,
    /// converts it with `into_model`. A failure must be [`Error::Decode`] naming a JSON path and a cause; anything
    /// else panics.
    pub fn decode<T: DeserializeOwned, R>(&mut self, body: &[u8], op: Operation, into_model: impl FnOnce(T) -> R) {
        match decode_json::<T>(self.info.name, op, body) {
            Ok(v) => {
                let _ = into_model(v);
                self.accepted.push(op);
            }
            Err(Error::Decode { path, message, .. }) => {
                assert!(!path.is_empty() && !message.is_empty(), "a decode error names a path and a cause");
            }
            Err(other) => panic!("decoding fails only with Error::Decode, not {other:?}"),
        }
    }

    /// The operations whose decoder accepted the body.
    pub fn accepted(&self) -> &[Operation] {
        &self.accepted
    }
}

/// A provider's answer decoders, described once by its crate for the robustness properties.
pub struct Decoding {
    /// The provider's descriptor (its `parse_error` is checked too).
    pub info: &'static ProviderInfo,
    /// Runs every decoder of the provider on one body (each through [`Decoded::decode`], with the model
    /// conversions and paging helpers it feeds).
    pub decode_all: fn(&mut Decoded, &[u8]),
    /// The recorded fixtures (`include_str!`), each with the operation whose decoder must accept it (`None` for
    /// error bodies).
    pub fixtures: &'static [(&'static str, Option<Operation>)],
}

impl std::fmt::Debug for Decoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoding").field("provider", &self.info.name).finish_non_exhaustive()
    }
}

/// Runs every decoder of `d` on `body`, and `parse_error` with every status of [`ERROR_STATUSES`].
pub fn decode_everything(d: &Decoding, body: &[u8]) -> Decoded {
    let mut decoded = Decoded::new(d.info);
    (d.decode_all)(&mut decoded, body);
    for status in ERROR_STATUSES {
        let _ = (d.info.parse_error)(status, body).to_string();
    }
    decoded
}

/// Every fixture goes through every decoder without a panic, and each answer fixture is accepted by the decoder
/// of its operation.
pub fn the_fixtures_decode(d: &Decoding) {
    for (i, (text, op)) in d.fixtures.iter().enumerate() {
        let decoded = decode_everything(d, text.as_bytes());
        if let Some(op) = op {
            assert!(decoded.accepted().contains(op), "fixture #{i} does not decode as the answer to {op}");
        }
    }
}

/// Arbitrary bytes through every decoder.
pub fn arbitrary_bytes_never_panic(d: &Decoding, body: &[u8]) {
    decode_everything(d, body);
}

/// Arbitrary JSON (see [`arbitrary_json`]) from `seed` through every decoder.
pub fn arbitrary_json_never_panics(d: &Decoding, seed: &[u8]) {
    decode_everything(d, arbitrary_json(seed).to_string().as_bytes());
}

/// Fixture number `which` (modulo their count) with `edits` (see [`mutate`]) through every decoder, whole and
/// cut at `cut` (modulo its length + 1).
pub fn broken_fixtures_never_panic(d: &Decoding, which: usize, edits: &[u8], cut: u16) {
    let Some((text, _)) = d.fixtures.get(which % d.fixtures.len().max(1)) else { return };
    let fixture: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    let text = mutate(&fixture, edits).to_string();
    decode_everything(d, text.as_bytes());
    decode_everything(d, &text.as_bytes()[..usize::from(cut) % (text.len() + 1)]);
}

/// `parse_error` with any status on arbitrary bytes and on arbitrary JSON from `seed`.
pub fn error_bodies_never_panic(d: &Decoding, status: u16, body: &[u8], seed: &[u8]) {
    let _ = (d.info.parse_error)(status, body).to_string();
    let _ = (d.info.parse_error)(status, arbitrary_json(seed).to_string().as_bytes()).to_string();
}

/// Expands to the decoder robustness tests for a [`Decoding`]: `the_fixtures_decode` and four proptest properties
/// (arbitrary bytes, arbitrary JSON, broken fixtures, error bodies), 256 cases each.
/// `prov_testkit::decoder_properties!(DECODING);` in a provider crate's `tests/robustness.rs` (proptest comes
/// through `$crate`).
#[macro_export]
macro_rules! decoder_properties {
    ($decoding:expr) => {
        #[test]
        fn the_fixtures_decode() {
            $crate::harness::the_fixtures_decode(&$decoding);
        }

        $crate::proptest::proptest! {
            #![proptest_config($crate::proptest::prelude::ProptestConfig {
                cases: 256,
                failure_persistence: None,
                ..$crate::proptest::prelude::ProptestConfig::default()
            })]

            #[test]
            fn arbitrary_bytes_never_panic(
                body in $crate::proptest::collection::vec($crate::proptest::prelude::any::<u8>(), 0..1024),
            ) {
                $crate::harness::arbitrary_bytes_never_panic(&$decoding, &body);
            }

            #[test]
            fn arbitrary_json_never_panics(
                seed in $crate::proptest::collection::vec($crate::proptest::prelude::any::<u8>(), 0..512),
            ) {
                $crate::harness::arbitrary_json_never_panics(&$decoding, &seed);
            }

            #[test]
            fn broken_fixtures_never_panic(
                which in 0..$decoding.fixtures.len(),
                edits in $crate::proptest::collection::vec($crate::proptest::prelude::any::<u8>(), 0..64),
                cut in $crate::proptest::prelude::any::<u16>(),
            ) {
                $crate::harness::broken_fixtures_never_panic(&$decoding, which, &edits, cut);
            }

            #[test]
            fn error_bodies_never_panic(
                status in $crate::proptest::prelude::any::<u16>(),
                body in $crate::proptest::collection::vec($crate::proptest::prelude::any::<u8>(), 0..512),
                seed in $crate::proptest::collection::vec($crate::proptest::prelude::any::<u8>(), 0..128),
            ) {
                $crate::harness::error_bodies_never_panic(&$decoding, status, &body, &seed);
            }
        }
    };
}

/// A cursor over fuzzer or proptest bytes, handing out choices; an exhausted cursor yields zeros.
#[derive(Debug)]
pub struct Choices<'a> {
    bytes: &'a [u8],
}

impl<'a> Choices<'a> {
    /// Choices drawn from `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// True when every byte is used.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The next byte (0 once exhausted).
    pub fn byte(&mut self) -> u8 {
        match self.bytes.split_first() {
            Some((b, rest)) => {
                self.bytes = rest;
                *b
            }
            None => 0,
        }
    }

    /// The next 8 bytes as a little-endian number.
    pub fn u64(&mut self) -> u64 {
        (0..8).fold(0u64, |n, i| n | (u64::from(self.byte()) << (8 * i)))
    }

    /// Up to `max` raw bytes.
    pub fn take(&mut self, max: usize) -> &'a [u8] {
        let n = max.min(self.bytes.len());
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        head
    }
}

/// Field names of the three providers' payloads, so generated objects often hit real fields.
const KEYS: &[&str] = &[
    "id",
    "label",
    "name",
    "slug",
    "status",
    "power_status",
    "server_status",
    "region",
    "regions",
    "plan",
    "plans",
    "os",
    "os_id",
    "image",
    "images",
    "size",
    "sizes",
    "type",
    "data",
    "page",
    "pages",
    "results",
    "meta",
    "total",
    "links",
    "next",
    "prev",
    "instances",
    "instance",
    "droplet",
    "droplets",
    "networks",
    "v4",
    "v6",
    "ip_address",
    "ipv4",
    "ipv6",
    "main_ip",
    "v6_main_ip",
    "v6_networks",
    "network",
    "tags",
    "price",
    "monthly",
    "hourly",
    "price_monthly",
    "monthly_cost",
    "memory",
    "ram",
    "disk",
    "vcpus",
    "vcpu_count",
    "transfer",
    "bandwidth",
    "locations",
    "available",
    "features",
    "country",
    "city",
    "created",
    "created_at",
    "date_created",
    "vendor",
    "family",
    "distribution",
    "errors",
    "error",
    "message",
    "reason",
    "field",
    "request_id",
    "actions",
    "rel",
];

/// Strings that have tripped parsers before: addresses, timestamps, paging links, huge numbers as text.
const TRICKY: &[&str] = &[
    "",
    " ",
    "0",
    "-1",
    "1e309",
    "18446744073709551616",
    "0.0.0.0",
    "::",
    "10.0.0.1",
    "256.1.1.1",
    "2001:db8::1/64",
    "/",
    "2024-01-01T00:00:00",
    "2024-01-01T00:00:00Z",
    "2024-13-45T99:99:99+99:99",
    "running",
    "active",
    "ok",
    "pending",
    "new",
    "off",
    "public",
    "private",
    "linode/debian12",
    "https://api.example.invalid/v2/images?page=2",
    "?page=",
    "?page=-3",
    "?page=99999999999999999999",
    "page=2&page=1",
    "\u{0}",
    "\u{feff}",
    "é",
    "💥",
];

/// Arbitrary JSON from bytes: any shape, biased towards the providers' field names and tricky strings, at most
/// three levels deep.
pub fn arbitrary_json(bytes: &[u8]) -> serde_json::Value {
    generate(&mut Choices::new(bytes), 3)
}

fn generate(c: &mut Choices<'_>, depth: u8) -> serde_json::Value {
    use serde_json::Value;
    let pick = |c: &mut Choices<'_>, list: &[&str]| list[usize::from(c.byte()) % list.len()].to_owned();
    match c.byte() % 10 {
        0 => Value::Null,
        1 => Value::Bool(c.byte() % 2 == 1),
        2 => Value::from(c.u64() as i64),
        3 => Value::from(c.u64()),
        4 => Value::from(f64::from_bits(c.u64())),
        5 => {
            let n = usize::from(c.byte() % 24);
            Value::String(String::from_utf8_lossy(c.take(n)).into_owned())
        }
        6 => Value::String(pick(c, TRICKY)),
        7 if depth > 0 => Value::Array((0..c.byte() % 5).map(|_| generate(c, depth - 1)).collect()),
        8 | 9 if depth > 0 => {
            let n = c.byte() % 6;
            Value::Object((0..n).map(|_| (pick(c, KEYS), generate(c, depth - 1))).collect())
        }
        _ => Value::from(i64::from(c.byte()) - 128),
    }
}

/// `value` with edits driven by `bytes`: each edit picks a node (of the whole tree) and replaces it with
/// arbitrary JSON, removes it, nulls it, wraps it in an array, or turns it into its JSON text — so a real
/// payload keeps most of its shape while single fields go wrong.
pub fn mutate(value: &serde_json::Value, bytes: &[u8]) -> serde_json::Value {
    let mut out = value.clone();
    let mut c = Choices::new(bytes);
    while !c.is_empty() {
        let nodes = count_nodes(&out);
        let target = (usize::from(c.byte()) << 8 | usize::from(c.byte())) % nodes;
        let kind = c.byte() % 5;
        let with = generate(&mut c, 2);
        edit(&mut out, target, kind, with);
    }
    out
}

fn count_nodes(v: &serde_json::Value) -> usize {
    1 + match v {
        serde_json::Value::Object(m) => m.values().map(count_nodes).sum(),
        serde_json::Value::Array(a) => a.iter().map(count_nodes).sum(),
        _ => 0,
    }
}

/// Applies edit `kind` to node number `target` (pre-order) below and including `v`.
fn edit(v: &mut serde_json::Value, target: usize, kind: u8, with: serde_json::Value) {
    use serde_json::Value;
    const REMOVE: u8 = 1;
    if target == 0 {
        *v = match kind {
            0 => with,
            REMOVE | 2 => Value::Null,
            3 => Value::Array(vec![v.take()]),
            _ => Value::String(v.to_string()),
        };
        return;
    }
    let mut rest = target - 1;
    match v {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                let n = map.get(&key).map_or(0, count_nodes);
                if rest < n {
                    if rest == 0 && kind == REMOVE {
                        map.remove(&key);
                    } else if let Some(child) = map.get_mut(&key) {
                        edit(child, rest, kind, with);
                    }
                    return;
                }
                rest -= n;
            }
        }
        Value::Array(items) => {
            for i in 0..items.len() {
                let n = count_nodes(&items[i]);
                if rest < n {
                    if rest == 0 && kind == REMOVE {
                        items.remove(i);
                    } else {
                        edit(&mut items[i], rest, kind, with);
                    }
                    return;
                }
                rest -= n;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn generated_json_is_varied_and_bounded() {
        let values: Vec<serde_json::Value> =
            (0u8..=255).map(|b| arbitrary_json(&[b, b.wrapping_mul(7), 3, 1, 2])).collect();
        assert!(values.iter().any(serde_json::Value::is_object) && values.iter().any(serde_json::Value::is_string));
        assert!(values.iter().all(|v| count_nodes(v) < 1_000));
        assert_eq!(arbitrary_json(&[]), serde_json::Value::Null);
    }

    #[test]
    fn mutations_edit_single_nodes() {
        let v = json!({"a": [1, 2], "b": {"c": "x"}});
        assert_eq!(mutate(&v, &[]), v);
        // Node 2 is `a[0]`; kind 1 removes it.
        assert_eq!(mutate(&v, &[0, 2, 1]), json!({"a": [2], "b": {"c": "x"}}));
        // Node 5 is `b.c`; kind 4 turns it into its JSON text.
        assert_eq!(mutate(&v, &[0, 5, 4]), json!({"a": [1, 2], "b": {"c": "\"x\""}}));
        // Node 1 is `a`; kind 3 wraps it.
        assert_eq!(mutate(&v, &[0, 1, 3]), json!({"a": [[1, 2]], "b": {"c": "x"}}));
    }
}
