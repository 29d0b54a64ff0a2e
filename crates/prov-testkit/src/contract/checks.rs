//! The contract checks of prov-testkit, responsible for the contract tests shared by every provider crate: the provider's real
//! client is driven through every operation (and the error answers prov meets) against a recording sandbox, and
//! every request, every answer and every recorded fixture is checked against the provider's trimmed OpenAPI spec.
//!
//! A provider crate describes itself once as a [`Subject`] (its spec, deviations, operations, dialect, creates and
//! fixtures) and expands [`crate::contract_tests!`] in its `tests/contract.rs`, which makes one `#[test]` per
//! check. What only one provider has — the requests and answers it breaks on purpose to see the checks refuse
//! them — stays in that file and uses [`Probe`]. The checks panic with a message when they fail: this module is
//! test support, not library code for production use.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Contract, Deviation, Exchange, Outcome, Recorder, RequestParts, Violation};
use crate::harness::{TOKEN, client_settings, start_sandbox};
use prov_core::error::Error;
use prov_core::http::ClientSettings;
use prov_core::provider::{CreateSpec, Created, Deleted, Provider, ProviderInfo};
use prov_sandbox::{Dialect, REVOKED_TOKEN, Sandbox, SandboxRequest};

/// How long a recorded instance takes to get ready; the recording ages instances instead of waiting.
const BOOT: Duration = Duration::from_secs(3600);

/// The creates the recording sends: the full one, its variant, the minimal one and the refused one.
const CREATES: usize = 4;

/// The fewest exchanges a recording has: three catalogue lists (images over three pages), two instance lists,
/// four creates, three gets, the search, two deletes, the 404 get and the revoked token.
const MIN_EXCHANGES: usize = 19;

/// Named groups of documented deviations (see [`Deviation`]); each group must be needed.
pub type Deviations = Vec<(&'static str, Vec<Deviation>)>;

/// A provider under contract test, described once by its crate.
pub struct Subject {
    /// The provider's descriptor.
    pub info: &'static ProviderInfo,
    /// The trimmed OpenAPI spec (`include_str!` of `fixtures/openapi/<provider>.json`).
    pub spec: &'static str,
    /// The documented deviations from the spec, in named groups (none for a provider that needs none).
    pub deviations: fn() -> Deviations,
    /// Every operationId prov performs (§1 of the provider's doc, e.g. `docs/providers/vultr.md §1`).
    pub operations: &'static [&'static str],
    /// Builds its client.
    pub connect: fn(&ClientSettings) -> prov_core::Result<Box<dyn Provider>>,
    /// Its sandbox dialect with this many OS images.
    pub dialect: fn(usize) -> Arc<dyn Dialect>,
    /// How many OS images the recording serves (enough for three pages) …
    pub images: usize,
    /// … and how the client pages through them, for the message when it does not.
    pub paging: &'static str,
    /// A create using every plan key the provider supports, with this label.
    pub full_spec: fn(&str) -> CreateSpec,
    /// A second create: the full one with its options switched off and whatever else the provider varies.
    pub variant: fn(&str) -> CreateSpec,
    /// Checks the answer to the variant (Linode: the client generated a root password).
    pub variant_created: fn(&Created),
    /// A create the provider refuses …
    pub refused: fn(&str) -> CreateSpec,
    /// … with this status.
    pub refused_status: u16,
    /// What a get calls the three phases of an instance: just created, half booted, ready.
    pub phases: [&'static str; 3],
    /// How the search for an instance by label and tag shows on the wire, and what it is called.
    pub search: (&'static str, fn(&SandboxRequest) -> bool),
    /// True when the spec declares a schema for the body of an answer with this status.
    pub answers_with_schema: fn(u16) -> bool,
    /// The fixture directory (`fixtures/<provider>`, absolute).
    pub fixture_dir: &'static str,
    /// Every fixture in it, with the operationId and status whose response schema it must match.
    pub fixtures: &'static [(&'static str, &'static str, u16)],
}

impl std::fmt::Debug for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subject").field("provider", &self.info.name).finish_non_exhaustive()
    }
}

/// The provider's contract with every deviation except the group named `skip`.
pub fn contract_without(s: &Subject, skip: Option<&str>) -> Contract {
    let c = Contract::from_json(s.spec, s.info.default_base_url).unwrap_or_else(|e| panic!("spec: {e}"));
    (s.deviations)()
        .into_iter()
        .filter(|(name, _)| Some(*name) != skip)
        .flat_map(|(_, d)| d)
        .fold(c, |c, d| c.deviate(d).unwrap_or_else(|e| panic!("{e}")))
}

/// The provider's contract with every deviation.
pub fn contract(s: &Subject) -> Contract {
    contract_without(s, None)
}

/// A deviation that must be valid (it cites a section of a provider doc).
pub fn deviation(d: Result<Deviation, super::ContractError>) -> Deviation {
    d.unwrap_or_else(|e| panic!("{e}"))
}

/// Violations as indented lines, for messages.
pub fn lines(v: &[Violation]) -> String {
    v.iter().map(|v| format!("  {v}")).collect::<Vec<_>>().join("\n")
}

/// The violations of an outcome (none when it passed).
pub fn violations(o: Outcome) -> Vec<Violation> {
    o.err().unwrap_or_default()
}

/// `value` with `key` set to `new`, or removed when `new` is `null`.
pub fn broken(value: &Value, key: &str, new: Value) -> Value {
    let mut out = value.clone();
    if new.is_null() {
        if let Some(o) = out.as_object_mut() {
            o.remove(key);
        }
    } else {
        out[key] = new;
    }
    out
}

/// The plan keys `spec` sets; a key this does not know counts as not set, so a new plan key fails
/// [`the_full_create_uses_every_plan_key_the_provider_supports`] until the full create uses it.
fn keys_set(spec: &CreateSpec) -> Vec<&'static str> {
    let set = [
        ("ipv6", spec.ipv6.is_some()),
        ("backups", spec.backups.is_some()),
        ("tags", !spec.tags.is_empty()),
        ("ssh_keys", !spec.ssh_keys.is_empty()),
        ("user_data", spec.user_data.is_some()),
        ("hostname", spec.hostname.is_some()),
        ("root_password", spec.root_password.is_some()),
        ("private_ip", spec.private_ip.is_some()),
        ("monitoring", spec.monitoring.is_some()),
    ];
    set.into_iter().filter(|(_, on)| *on).map(|(k, _)| k).collect()
}

/// The full create sets every plan key the provider supports (`INFO.plan_keys`), so the recording sends them all.
pub fn the_full_create_uses_every_plan_key_the_provider_supports(s: &Subject) {
    let set = keys_set(&(s.full_spec)("web-1"));
    let missing: Vec<&&str> = s.info.plan_keys.iter().filter(|k| !set.contains(k)).collect();
    assert!(missing.is_empty(), "plan keys the contract test does not send: {missing:?}");
}

/// A client of the provider pointed at `sb`.
fn client(s: &Subject, sb: &Sandbox, token: &str) -> Box<dyn Provider> {
    (s.connect)(&client_settings(sb, s.info, Some(token))).unwrap_or_else(|e| panic!("client: {e}"))
}

/// Makes the sandbox instance `id` look `age` old, to see its later phases without sleeping.
fn age(s: &Subject, sb: &Sandbox, id: &str, age: Duration) {
    let world = sb.world();
    let Some(mut inst) = world.get(s.info.name, id) else { panic!("no instance {id}") };
    inst.created = Instant::now().checked_sub(age).unwrap_or(inst.created);
    world.remove(s.info.name, id);
    world.insert(s.info.name, inst);
}

/// Drives the client through every operation (and the error answers prov meets: 404 on a gone instance for get
/// and delete, the refused create, 401 on a revoked token) against a recording sandbox; the exchanges it served.
pub fn record_everything(s: &Subject) -> Vec<Exchange> {
    let recorder = Recorder::new((s.dialect)(s.images));
    let sb = start_sandbox(recorder.clone(), BOOT);
    let c = client(s, &sb, TOKEN);
    assert!(c.list_regions().is_ok_and(|r| !r.is_empty()));
    assert!(c.list_sizes().is_ok_and(|p| !p.is_empty()));
    assert_eq!(c.list_images().map(|i| i.len()).ok(), Some(s.images), "{}", s.paging);
    assert_eq!(c.list_instances().map(|i| i.len()).ok(), Some(0));
    let full = c.create_instance(&(s.full_spec)("web-1")).unwrap_or_else(|e| panic!("create: {e}"));
    let variant = c.create_instance(&(s.variant)("web-2")).unwrap_or_else(|e| panic!("create: {e}"));
    (s.variant_created)(&variant);
    // The minimal create: the full one's label, region, plan and image, nothing optional.
    let base = (s.full_spec)("db-1");
    let minimal = CreateSpec {
        label: base.label,
        region: base.region,
        plan: base.plan,
        image: base.image,
        ..CreateSpec::default()
    };
    assert!(c.create_instance(&minimal).is_ok());
    let id = full.instance.id.clone();
    let [created, booting, ready] = s.phases;
    assert!(c.get_instance(&id).is_ok(), "{created}");
    age(s, &sb, &id, BOOT / 2);
    assert!(c.get_instance(&id).is_ok(), "{booting}");
    age(s, &sb, &id, BOOT);
    assert!(c.get_instance(&id).is_ok_and(|i| i.ipv4.is_some()), "{ready}");
    assert_eq!(c.list_instances().map(|i| i.len()).ok(), Some(3));
    assert_eq!(c.find_instances("web-1", "prov-managed").map(|i| i.len()).ok(), Some(1), "{}", s.search.0);
    let gone = &variant.instance.id;
    assert_eq!(c.delete_instance(gone).ok(), Some(Deleted::Deleted));
    assert_eq!(c.delete_instance(gone).ok(), Some(Deleted::AlreadyGone));
    assert!(matches!(c.get_instance(gone), Err(Error::Api { status: 404, .. })));
    let refused = c.create_instance(&(s.refused)("web-3"));
    assert!(matches!(refused, Err(Error::Api { status, .. }) if status == s.refused_status), "{refused:?}");
    let revoked = client(s, &sb, REVOKED_TOKEN).list_instances();
    assert!(matches!(revoked, Err(Error::Api { status: 401, .. })), "{revoked:?}");
    recorder.exchanges()
}

/// What checking recorded exchanges found.
#[derive(Debug, Default)]
pub struct Report {
    /// Every violation, requests and answers.
    pub violations: Vec<Violation>,
    /// The operationIds of the requests that passed.
    pub operations: BTreeSet<String>,
    /// Requests whose body met the request schema.
    pub bodies_sent: usize,
    /// Answers whose body met a response schema.
    pub bodies_answered: usize,
}

/// Checks both halves of every exchange against `c`.
pub fn check_exchanges(c: &Contract, exchanges: &[Exchange]) -> Report {
    let mut r = Report::default();
    for ex in exchanges {
        let (request, response) = c.check_exchange(ex);
        match request {
            Ok(checked) => {
                r.bodies_sent += usize::from(checked.body_checked);
                r.operations.insert(checked.operation);
            }
            Err(v) => r.violations.extend(v),
        }
        match response {
            Ok(checked) => r.bodies_answered += usize::from(checked.body_checked),
            Err(v) => r.violations.extend(v),
        }
    }
    r
}

/// Every request the client sends and every answer the dialect gives match the spec: every operation is
/// exercised, every create body meets the request schema, and every answer whose status declares a schema meets
/// it.
pub fn every_request_and_every_sandbox_answer_match_the_spec(s: &Subject) {
    let exchanges = record_everything(s);
    let r = check_exchanges(&contract(s), &exchanges);
    assert!(r.violations.is_empty(), "{} violations:\n{}", r.violations.len(), lines(&r.violations));
    let operations: BTreeSet<String> = s.operations.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(r.operations, operations, "every operation exercised");
    assert_eq!(r.bodies_sent, CREATES, "every create body was checked against the request schema");
    let with_schema = exchanges.iter().filter(|e| (s.answers_with_schema)(e.response.status)).count();
    assert_eq!(r.bodies_answered, with_schema, "every answer with a declared schema was checked against it");
    assert!(exchanges.iter().any(|e| (s.search.1)(&e.request)), "the {} search was checked", s.search.0);
    assert!(exchanges.len() >= MIN_EXCHANGES, "{} exchanges", exchanges.len());
}

/// Every deviation group is needed: without it, a recorded exchange or a fixture breaks the contract.
pub fn every_deviation_is_needed(s: &Subject) {
    let groups = (s.deviations)();
    if groups.is_empty() {
        return;
    }
    let exchanges = record_everything(s);
    for (name, _) in groups {
        let c = contract_without(s, Some(name));
        let found = check_exchanges(&c, &exchanges).violations.len() + check_fixtures(s, &c).len();
        assert!(found > 0, "the deviation `{name}` is not needed: nothing breaks without it");
    }
}

/// The bytes of fixture `file`.
pub fn read_fixture(s: &Subject, file: &str) -> Vec<u8> {
    std::fs::read(Path::new(s.fixture_dir).join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Failures of the fixtures against `c` (empty when all match): a violation, or a schema applied where the
/// status declares none or not applied where it declares one.
pub fn check_fixtures(s: &Subject, c: &Contract) -> Vec<String> {
    let mut failures = Vec::new();
    for (file, op, status) in s.fixtures {
        match c.check_payload(op, *status, &read_fixture(s, file)) {
            Ok(checked) if checked.body_checked == (s.answers_with_schema)(*status) => {}
            Ok(checked) if checked.body_checked => failures.push(format!("{file}: a schema applied to a {status}")),
            Ok(_) => failures.push(format!("{file}: no schema applied")),
            Err(v) => failures.push(format!("{file}:\n{}", lines(&v))),
        }
    }
    failures
}

/// Every fixture on disk is listed, and each matches the response schema of its operation and status.
pub fn every_fixture_matches_its_response_schema(s: &Subject) {
    let on_disk: BTreeSet<String> = std::fs::read_dir(s.fixture_dir)
        .unwrap_or_else(|e| panic!("fixtures: {e}"))
        .flatten()
        .filter_map(|e| e.file_name().to_str().filter(|n| n.ends_with(".json")).map(str::to_owned))
        .collect();
    let listed: BTreeSet<String> = s.fixtures.iter().map(|(f, _, _)| (*f).to_owned()).collect();
    assert_eq!(on_disk, listed, "every fixture is mapped to an operation");
    let failures = check_fixtures(s, &contract(s));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Checks hand-made requests and answers against a provider's contract, to see the checks refuse broken ones.
#[derive(Debug)]
pub struct Probe {
    /// The contract, every deviation applied.
    pub contract: Contract,
    headers: Vec<(String, String)>,
    create_path: String,
    create_body: Value,
    fixture_dir: &'static str,
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

impl Probe {
    /// A probe of `s`'s contract.
    pub fn new(s: &Subject) -> Self {
        let c = (s.connect)(&ClientSettings::default()).unwrap_or_else(|e| panic!("client: {e}"));
        let request = c.create_request(&(s.full_spec)("web-1"));
        Self {
            contract: contract(s),
            headers: owned(&[("content-type", "application/json"), ("authorization", "Bearer t")]),
            create_path: request.path,
            create_body: request.body.unwrap_or(Value::Null),
            fixture_dir: s.fixture_dir,
        }
    }

    /// The body the client sends for the full create.
    pub fn create_body(&self) -> Value {
        self.create_body.clone()
    }

    /// Checks a create POST of `body`, with the JSON and bearer headers.
    pub fn send(&self, body: &Value) -> Outcome {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        let parts =
            RequestParts { method: "POST", path: &self.create_path, query: &[], headers: &self.headers, body: &bytes };
        self.contract.check_request(&parts)
    }

    /// Checks a GET of `path` with `query`, with the bearer header.
    pub fn get(&self, path: &str, query: &[(&str, &str)]) -> Outcome {
        self.get_with_headers(path, query, &[])
    }

    /// Checks a GET of `path` with `query`, with the bearer header and `extra` headers.
    pub fn get_with_headers(&self, path: &str, query: &[(&str, &str)], extra: &[(&str, &str)]) -> Outcome {
        let mut headers = self.headers.clone();
        headers.extend(owned(extra));
        let parts = RequestParts { method: "GET", path, query: &owned(query), headers: &headers, body: b"" };
        self.contract.check_request(&parts)
    }

    /// Checks a request without the bearer token: `method path`, with `body` (and its content type) if any.
    pub fn unauthenticated(&self, method: &str, path: &str, body: Option<&Value>) -> Outcome {
        let bytes = body.map(|b| serde_json::to_vec(b).unwrap_or_default()).unwrap_or_default();
        let headers = if body.is_some() { owned(&[("content-type", "application/json")]) } else { Vec::new() };
        self.contract.check_request(&RequestParts { method, path, query: &[], headers: &headers, body: &bytes })
    }

    /// Checks an answer with status `status` and JSON body `body` to `method path`.
    pub fn answer(&self, method: &str, path: &str, status: u16, body: &Value) -> Outcome {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        self.contract.check_response(method, path, status, &bytes)
    }

    /// Fixture `file` as JSON (`null` when it is not JSON).
    pub fn fixture(&self, file: &str) -> Value {
        let bytes = std::fs::read(Path::new(self.fixture_dir).join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    }
}

/// Expands to one `#[test]` per contract check for a [`Subject`]:
/// `prov_testkit::contract_tests!(SUBJECT);` in a provider crate's `tests/contract.rs`.
#[macro_export]
macro_rules! contract_tests {
    ($subject:expr) => {
        $crate::contract_tests!(@cases $subject;
            the_full_create_uses_every_plan_key_the_provider_supports,
            every_request_and_every_sandbox_answer_match_the_spec,
            every_deviation_is_needed,
            every_fixture_matches_its_response_schema,
        );
    };
    (@cases $subject:expr; $($case:ident),+ $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::contract::checks::$case(&$subject);
            }
        )+
    };
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn broken_sets_or_removes_one_key() {
        let v = json!({"a": 1, "b": 2});
        assert_eq!(broken(&v, "a", json!("x")), json!({"a": "x", "b": 2}));
        assert_eq!(broken(&v, "b", Value::Null), json!({"a": 1}));
        assert_eq!(broken(&v, "c", json!([])), json!({"a": 1, "b": 2, "c": []}));
    }

    #[test]
    fn keys_set_knows_every_optional_key() {
        let spec = CreateSpec { ipv6: Some(false), tags: vec!["t".into()], ..CreateSpec::default() };
        assert_eq!(keys_set(&spec), ["ipv6", "tags"]);
        assert!(keys_set(&CreateSpec::default()).is_empty());
    }
}
