//! API fidelity: every request the Linode client sends, every answer the Linode sandbox dialect gives, and every
//! payload under fixtures/linode/ checked against Linode's official OpenAPI spec (fixtures/openapi/linode.json,
//! trimmed from the full file by `cargo xtask specs`; revision in its `x-prov-source`).

#![cfg(feature = "sandbox")]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prov_core::contract::{Contract, Deviation, Exchange, Recorder, RequestParts, Violation};
use prov_core::provider::Deleted;
use prov_core::sandbox::{REVOKED_TOKEN, Sandbox, SandboxOptions};
use prov_core::{ClientSettings, CreateSpec, Error, ManualClock, Provider, Secret};
use prov_linode::Linode;
use prov_linode::sandbox::LinodeDialect;
use serde_json::{Value, json};

const SPEC: &str = include_str!("../../../fixtures/openapi/linode.json");
const BOOT: Duration = Duration::from_secs(3600);

fn deviation(d: Result<Deviation, prov_core::contract::ContractError>) -> Deviation {
    d.unwrap_or_else(|e| panic!("{e}"))
}

/// The documented differences between the real API and the 4.189.0 spec, by name. Each is needed:
/// `every_deviation_is_needed` fails when one could go.
fn deviations() -> Vec<(&'static str, Vec<Deviation>)> {
    let spec: Value = serde_json::from_str(SPEC).unwrap_or(Value::Null);
    // FACTS.md §5: Linode's timestamps (`created`, `updated`) carry no offset although the spec says
    // `format: date-time`; they are UTC.
    let naive =
        vec![deviation(Deviation::naive_date_time("Linode timestamps are UTC without an offset (FACTS.md §5)"))];
    // FACTS.md §3: 4.189 declares `page`/`page_size` on /images and /linode/instances but not on /regions or
    // /linode/types, which are paginated all the same (`page`/`pages`/`results`); prov pages them like any other
    // list, with the very parameters /images declares.
    let images = spec["paths"]["/{apiVersion}/images"]["get"]["parameters"].as_array().cloned().unwrap_or_default();
    let mut paging = Vec::new();
    for op in ["get-regions", "get-linode-types"] {
        for p in images.iter().filter(|p| p["in"] == "query") {
            let why = "every Linode collection is paginated, as on /images (FACTS.md §3)";
            paging.push(deviation(Deviation::push(why, &format!("{op}#/parameters"), p.clone())));
        }
    }
    // FACTS.md §4: the create body takes `type` and `region` (schema-required) and `label`, `tags`,
    // `backups_enabled`, `private_ip`, … next to `image`, `root_pass`, `authorized_keys` and `metadata`. The spec
    // writes it as `allOf` of two objects and closes only the first with `additionalProperties: false`, which,
    // read as JSON Schema, refuses the required `type` and `region` themselves. The intent is one closed object
    // holding both members' properties, and that is what is checked: the first member is opened and the union
    // of the two members' property names is closed at the top (the members still check every value).
    let body = "post-linode-instance#/requestBody/content/application~1json/schema";
    let schema = &spec["paths"]["/{apiVersion}/linode/instances"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"];
    let names: serde_json::Map<String, Value> = schema["allOf"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|member| member["properties"].as_object())
        .flat_map(|props| props.keys().map(|k| (k.clone(), json!({}))))
        .collect();
    let why = "the create body is one closed object of both allOf members' properties (FACTS.md §4)";
    let closed_union = vec![
        deviation(Deviation::set(why, &format!("{body}/allOf/0/additionalProperties"), json!(true))),
        deviation(Deviation::set(why, &format!("{body}/properties"), Value::Object(names))),
        deviation(Deviation::set(why, &format!("{body}/additionalProperties"), json!(false))),
    ];
    vec![("naive timestamps", naive), ("paging on every list", paging), ("create body allOf", closed_union)]
}

/// Linode's contract with every deviation except the group named `skip`.
fn contract_without(skip: Option<&str>) -> Contract {
    let c = Contract::from_json(SPEC, prov_linode::INFO.default_base_url).unwrap_or_else(|e| panic!("spec: {e}"));
    deviations()
        .into_iter()
        .filter(|(name, _)| Some(*name) != skip)
        .flat_map(|(_, d)| d)
        .fold(c, |c, d| c.deviate(d).unwrap_or_else(|e| panic!("{e}")))
}

fn contract() -> Contract {
    contract_without(None)
}

/// Every operation prov performs on Linode, by operationId (FACTS.md §2).
const OPERATIONS: [&str; 7] = [
    "get-regions",
    "get-linode-types",
    "get-images",
    "get-linode-instances",
    "post-linode-instance",
    "get-linode-instance",
    "delete-linode-instance",
];

fn client(sb: &Sandbox, token: Option<&str>) -> Linode {
    let settings = ClientSettings {
        base_url: Some(sb.base_url(prov_linode::INFO.sandbox_path)),
        token: token.map(Secret::new),
        clock: Arc::new(ManualClock::new()),
        ..ClientSettings::default()
    };
    Linode::new(&settings).unwrap_or_else(|e| panic!("client: {e}"))
}

/// A create using every plan key Linode supports (`INFO.plan_keys`).
fn full_spec(label: &str) -> CreateSpec {
    CreateSpec {
        label: label.into(),
        region: "ap-southeast".into(),
        plan: "g6-nanode-1".into(),
        image: "linode/debian12".into(),
        backups: Some(true),
        private_ip: Some(true),
        tags: vec!["web".into(), "prov-managed".into()],
        ssh_keys: vec!["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests me@host".into()],
        user_data: Some(Secret::new("#cloud-config\npackages: [nginx]\n")),
        root_password: Some(Secret::new("Correct-Horse-Battery-9")),
        ..CreateSpec::default()
    }
}

/// The plan keys `spec` sets; a key this does not know counts as not set, so a new plan key fails the test below
/// until the full create uses it.
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

#[test]
fn the_full_create_uses_every_plan_key_the_provider_supports() {
    let set = keys_set(&full_spec("web-1"));
    let missing: Vec<&&str> = prov_linode::INFO.plan_keys.iter().filter(|k| !set.contains(k)).collect();
    assert!(missing.is_empty(), "plan keys the contract test does not send: {missing:?}");
}

/// Makes the sandbox instance `id` look `age` old, to see its later phases without sleeping.
fn age(sb: &Sandbox, id: &str, age: Duration) {
    let world = sb.world();
    let Some(mut inst) = world.get("linode", id) else { panic!("no instance {id}") };
    inst.created = Instant::now().checked_sub(age).unwrap_or(inst.created);
    world.remove("linode", id);
    world.insert("linode", inst);
}

/// Drives the client through every operation (and the error answers prov meets) against a recording sandbox.
fn record_everything() -> Vec<Exchange> {
    let recorder = Recorder::new(LinodeDialect::new().with_image_count(1_201).shared());
    let sb = Sandbox::start(
        "127.0.0.1:0",
        vec![recorder.clone()],
        SandboxOptions { boot: BOOT, ..SandboxOptions::default() },
    )
    .unwrap_or_else(|e| panic!("sandbox: {e}"));
    let l = client(&sb, Some("sandbox-token"));
    assert!(l.list_regions().is_ok_and(|r| !r.is_empty()));
    assert!(l.list_plans().is_ok_and(|p| !p.is_empty()));
    assert_eq!(l.list_images().map(|i| i.len()).ok(), Some(1_201), "three pages");
    assert_eq!(l.list_instances().map(|i| i.len()).ok(), Some(0));
    let full = l.create_instance(&full_spec("web-1")).unwrap_or_else(|e| panic!("create: {e}"));
    // No root password given: the client generates one.
    let generated =
        CreateSpec { root_password: None, backups: Some(false), private_ip: Some(false), ..full_spec("web-2") };
    let small = l.create_instance(&generated).unwrap_or_else(|e| panic!("create: {e}"));
    assert!(small.generated_password.is_some());
    let minimal = CreateSpec {
        label: "db-1".into(),
        region: "ap-southeast".into(),
        plan: "g6-nanode-1".into(),
        image: "linode/debian12".into(),
        ..CreateSpec::default()
    };
    assert!(l.create_instance(&minimal).is_ok());
    let id = full.instance.id.clone();
    assert!(l.get_instance(&id).is_ok(), "provisioning");
    age(&sb, &id, BOOT / 2);
    assert!(l.get_instance(&id).is_ok(), "booting");
    age(&sb, &id, BOOT);
    assert!(l.get_instance(&id).is_ok_and(|i| i.ipv4.is_some()), "running");
    assert_eq!(l.list_instances().map(|i| i.len()).ok(), Some(3));
    assert_eq!(l.find_instances("web-1", "prov-managed").map(|i| i.len()).ok(), Some(1), "X-Filter");
    assert_eq!(l.delete_instance(&small.instance.id).ok(), Some(Deleted::Deleted));
    // The error answers: 404 on a gone instance (get and delete), 400 on a bad create, 401 on a revoked token.
    assert_eq!(l.delete_instance(&small.instance.id).ok(), Some(Deleted::AlreadyGone));
    assert!(matches!(l.get_instance(&small.instance.id), Err(Error::Api { status: 404, .. })));
    let weak = CreateSpec { root_password: Some(Secret::new("password1")), ..full_spec("web-3") };
    assert!(matches!(l.create_instance(&weak), Err(Error::Api { status: 400, .. })));
    assert!(matches!(client(&sb, Some(REVOKED_TOKEN)).list_instances(), Err(Error::Api { status: 401, .. })));
    recorder.exchanges()
}

fn lines(v: &[Violation]) -> String {
    v.iter().map(|v| format!("  {v}")).collect::<Vec<_>>().join("\n")
}

/// What checking the recorded exchanges found.
struct Report {
    violations: Vec<Violation>,
    operations: BTreeSet<String>,
    bodies_sent: usize,
    bodies_answered: usize,
}

fn check_exchanges(c: &Contract, exchanges: &[Exchange]) -> Report {
    let mut r = Report { violations: Vec::new(), operations: BTreeSet::new(), bodies_sent: 0, bodies_answered: 0 };
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

#[test]
fn every_request_and_every_sandbox_answer_match_the_spec() {
    let exchanges = record_everything();
    let r = check_exchanges(&contract(), &exchanges);
    assert!(r.violations.is_empty(), "{} violations:\n{}", r.violations.len(), lines(&r.violations));
    assert_eq!(r.operations, OPERATIONS.iter().map(|s| (*s).to_owned()).collect(), "every operation exercised");
    assert_eq!(r.bodies_sent, 4, "every create body was checked against the request schema");
    // Linode declares a schema for every answer, errors included (the `default` response).
    assert_eq!(r.bodies_answered, exchanges.len());
    assert!(exchanges.iter().any(|e| e.request.header("x-filter").is_some()), "the X-Filter search was checked");
    assert!(exchanges.len() >= 19, "{} exchanges", exchanges.len());
}

#[test]
fn every_deviation_is_needed() {
    let exchanges = record_everything();
    for (name, _) in deviations() {
        let c = contract_without(Some(name));
        let found = check_exchanges(&c, &exchanges).violations.len() + check_fixtures(&c).len();
        assert!(found > 0, "the deviation `{name}` is not needed: nothing breaks without it");
    }
}

/// Every fixture, with the operation and status whose response schema it must match.
const FIXTURES: &[(&str, &str, u16)] = &[
    ("regions.json", "get-regions", 200),
    ("types.json", "get-linode-types", 200),
    ("images.json", "get-images", 200),
    ("instances_list.json", "get-linode-instances", 200),
    ("instance_get.json", "get-linode-instance", 200),
    ("instance_create.json", "post-linode-instance", 200),
    ("error_400.json", "post-linode-instance", 400),
    ("error_401.json", "get-linode-instances", 401),
    ("error_404.json", "get-linode-instance", 404),
];

fn fixture_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/linode")
}

/// Failures of the fixtures against `c` (empty when all match).
fn check_fixtures(c: &Contract) -> Vec<String> {
    let mut failures = Vec::new();
    for (file, op, status) in FIXTURES {
        let body = std::fs::read(fixture_dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        match c.check_payload(op, *status, &body) {
            // Every Linode answer has a schema, errors included (the `default` response, FACTS.md §6).
            Ok(checked) if checked.body_checked => {}
            Ok(_) => failures.push(format!("{file}: no schema applied")),
            Err(v) => failures.push(format!("{file}:\n{}", lines(&v))),
        }
    }
    failures
}

#[test]
fn every_fixture_matches_its_response_schema() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(fixture_dir())
        .unwrap_or_else(|e| panic!("fixtures: {e}"))
        .flatten()
        .filter_map(|e| e.file_name().to_str().filter(|n| n.ends_with(".json")).map(str::to_owned))
        .collect();
    let listed: BTreeSet<String> = FIXTURES.iter().map(|(f, _, _)| (*f).to_owned()).collect();
    assert_eq!(on_disk, listed, "every fixture is mapped to an operation");
    let failures = check_fixtures(&contract());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_checks_reject_a_broken_request_or_answer() {
    let c = contract();
    let headers = [
        ("content-type".to_owned(), "application/json".to_owned()),
        ("authorization".to_owned(), "Bearer t".to_owned()),
    ];
    let mut body = Linode::new(&ClientSettings::default())
        .map(|l| l.create_request(&full_spec("web-1")).body.unwrap_or(Value::Null))
        .unwrap_or(Value::Null);
    let send = |body: &Value| {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        let parts =
            RequestParts { method: "POST", path: "/linode/instances", query: &[], headers: &headers, body: &bytes };
        c.check_request(&parts)
    };
    assert!(send(&body).is_ok(), "the real body passes: {:?}", send(&body));
    // A missing required field, a wrong type, user data that is not base64, a property the spec does not have.
    for (key, value) in [
        ("type", Value::Null),
        ("backups_enabled", json!("yes")),
        ("metadata", json!({"user_data": "#cloud-config"})),
        ("backups", json!(true)),
        ("label", json!("web--1")),
    ] {
        let mut broken = body.clone();
        if value.is_null() {
            broken.as_object_mut().map(|o| o.remove(key));
        } else {
            broken[key] = value;
        }
        let v = send(&broken).err().unwrap_or_default();
        assert!(!v.is_empty() && v.iter().all(|v| v.place == "request body"), "{key}: {}", lines(&v));
    }
    body["root_pass"] = json!("short");
    assert!(send(&body).is_err(), "root_pass is 7-128 characters");
    // Query bounds (page_size 25-500), an X-Filter that is not a JSON object, an id that is not an integer.
    let get = |path: &str, query: &[(String, String)], extra: &[(String, String)]| {
        let mut h = headers.to_vec();
        h.extend_from_slice(extra);
        c.check_request(&RequestParts { method: "GET", path, query, headers: &h, body: b"" })
    };
    assert!(get("/linode/instances", &[("page_size".into(), "500".into())], &[]).is_ok());
    assert!(get("/linode/instances", &[("page_size".into(), "501".into())], &[]).is_err());
    assert!(get("/linode/instances", &[("page_size".into(), "10".into())], &[]).is_err());
    assert!(get("/linode/instances", &[], &[("X-Filter".into(), "tags=web".into())]).is_err());
    assert!(get("/linode/instances/abc", &[], &[]).is_err());
    assert!(get("/linode/instances/123", &[], &[]).is_ok());
    // An answer missing a field, and one with a wrong status value.
    let answer: Value =
        serde_json::from_str(include_str!("../../../fixtures/linode/instance_get.json")).unwrap_or(Value::Null);
    let mut broken = answer.clone();
    broken["status"] = json!("exploded");
    let bytes = serde_json::to_vec(&broken).unwrap_or_default();
    let v = c.check_response("GET", "/linode/instances/1", 200, &bytes).err().unwrap_or_default();
    assert!(v.len() == 1 && v[0].message.contains("/status"), "{}", lines(&v));
    let mut broken = answer;
    broken["ipv4"] = json!("203.0.113.7");
    let bytes = serde_json::to_vec(&broken).unwrap_or_default();
    assert!(c.check_response("GET", "/linode/instances/1", 200, &bytes).is_err(), "ipv4 is an array");
    assert!(c.check_response("DELETE", "/linode/instances/1", 200, br#"{"deleted":true}"#).is_err(), "{{}} only");
}
