//! API fidelity: every request the Vultr client sends, every answer the Vultr sandbox dialect gives, and every
//! payload under fixtures/vultr/ checked against Vultr's official OpenAPI spec (fixtures/openapi/vultr.json,
//! trimmed from the full file by `cargo xtask specs`; revision in its `x-prov-source`).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prov_core::contract::{Contract, Exchange, Recorder, RequestParts};
use prov_core::provider::Deleted;
use prov_core::sandbox::{REVOKED_TOKEN, Sandbox, SandboxOptions};
use prov_core::{ClientSettings, CreateSpec, Error, ManualClock, Provider, Secret};
use prov_vultr::Vultr;
use prov_vultr::sandbox::VultrDialect;
use serde_json::{Value, json};

const SPEC: &str = include_str!("../../../fixtures/openapi/vultr.json");
const BOOT: Duration = Duration::from_secs(3600);

/// Vultr's contract. No deviation is needed: Vultr's schemas are open (no `additionalProperties: false`, no
/// `required`), so the real API's flat `v6_main_ip`/`v6_network`/`v6_network_size` (FACTS.md §5) are extra
/// properties the schema already allows, and the 4xx answers have no schema to break (FACTS.md §6).
fn contract() -> Contract {
    Contract::from_json(SPEC, prov_vultr::INFO.default_base_url).unwrap_or_else(|e| panic!("spec: {e}"))
}

/// Every operation prov performs on Vultr, by operationId (FACTS.md §2).
const OPERATIONS: [&str; 7] =
    ["list-regions", "list-plans", "list-os", "list-instances", "create-instance", "get-instance", "delete-instance"];

fn client(sb: &Sandbox, token: Option<&str>) -> Vultr {
    let settings = ClientSettings {
        base_url: Some(sb.base_url(prov_vultr::INFO.sandbox_path)),
        token: token.map(Secret::new),
        clock: Arc::new(ManualClock::new()),
        ..ClientSettings::default()
    };
    Vultr::new(&settings).unwrap_or_else(|e| panic!("client: {e}"))
}

/// A create using every plan key Vultr supports (`INFO.plan_keys`).
fn full_spec(label: &str) -> CreateSpec {
    CreateSpec {
        label: label.into(),
        region: "syd".into(),
        plan: "vc2-1c-1gb".into(),
        image: "2136".into(),
        ipv6: Some(true),
        backups: Some(true),
        tags: vec!["web".into(), "prov-managed".into()],
        ssh_keys: vec!["3b8066a7-b438-455a-9688-44afc9a3597f".into()],
        user_data: Some(Secret::new("#cloud-config\npackages: [nginx]\n")),
        hostname: Some("web-1.example.net".into()),
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
    let missing: Vec<&&str> = prov_vultr::INFO.plan_keys.iter().filter(|k| !set.contains(k)).collect();
    assert!(missing.is_empty(), "plan keys the contract test does not send: {missing:?}");
}

/// Makes the sandbox instance `id` look `age` old, to see its later phases without sleeping.
fn age(sb: &Sandbox, id: &str, age: Duration) {
    let world = sb.world();
    let Some(mut inst) = world.get("vultr", id) else { panic!("no instance {id}") };
    inst.created = Instant::now().checked_sub(age).unwrap_or(inst.created);
    world.remove("vultr", id);
    world.insert("vultr", inst);
}

/// Drives the client through every operation (and the error answers prov meets) against a recording sandbox.
fn record_everything() -> Vec<Exchange> {
    let recorder = Recorder::new(VultrDialect::new().with_image_count(1_201).shared());
    let sb = Sandbox::start(
        "127.0.0.1:0",
        vec![recorder.clone()],
        SandboxOptions { boot: BOOT, ..SandboxOptions::default() },
    )
    .unwrap_or_else(|e| panic!("sandbox: {e}"));
    let v = client(&sb, Some("sandbox-token"));
    assert!(v.list_regions().is_ok_and(|r| !r.is_empty()));
    assert!(v.list_plans().is_ok_and(|p| !p.is_empty()));
    assert_eq!(v.list_images().map(|i| i.len()).ok(), Some(1_201), "three pages, cursor paging");
    assert_eq!(v.list_instances().map(|i| i.len()).ok(), Some(0));
    let minimal = CreateSpec {
        label: "db-1".into(),
        region: "syd".into(),
        plan: "vc2-1c-1gb".into(),
        image: "2136".into(),
        ..CreateSpec::default()
    };
    let full = v.create_instance(&full_spec("web-1")).unwrap_or_else(|e| panic!("create: {e}"));
    let small = v.create_instance(&minimal).unwrap_or_else(|e| panic!("create: {e}"));
    let no_backups = CreateSpec { backups: Some(false), ipv6: Some(false), ..full_spec("web-2") };
    assert!(v.create_instance(&no_backups).is_ok());
    let id = full.instance.id.clone();
    assert!(v.get_instance(&id).is_ok(), "pending");
    age(&sb, &id, BOOT / 2);
    assert!(v.get_instance(&id).is_ok(), "addressed, booting");
    age(&sb, &id, BOOT);
    assert!(v.get_instance(&id).is_ok_and(|i| i.ipv4.is_some()), "ready");
    assert_eq!(v.list_instances().map(|i| i.len()).ok(), Some(3));
    assert_eq!(v.find_instances("web-1", "prov-managed").map(|i| i.len()).ok(), Some(1));
    assert_eq!(v.delete_instance(&small.instance.id).ok(), Some(Deleted::Deleted));
    // The error answers: 404 on a gone instance (get and delete), 400 on a bad create, 401 on a revoked key.
    assert_eq!(v.delete_instance(&small.instance.id).ok(), Some(Deleted::AlreadyGone));
    assert!(matches!(v.get_instance(&small.instance.id), Err(Error::Api { status: 404, .. })));
    let bad = CreateSpec { plan: "vc2-99c-1tb".into(), ..full_spec("web-3") };
    assert!(matches!(v.create_instance(&bad), Err(Error::Api { status: 400, .. })));
    assert!(matches!(client(&sb, Some(REVOKED_TOKEN)).list_instances(), Err(Error::Api { status: 401, .. })));
    recorder.exchanges()
}

#[test]
fn every_request_and_every_sandbox_answer_match_the_spec() {
    let c = contract();
    let exchanges = record_everything();
    let mut violations = Vec::new();
    let mut seen = BTreeSet::new();
    let (mut bodies_sent, mut bodies_answered) = (0, 0);
    for ex in &exchanges {
        let (request, response) = c.check_exchange(ex);
        match request {
            Ok(checked) => {
                bodies_sent += usize::from(checked.body_checked);
                seen.insert(checked.operation);
            }
            Err(v) => violations.extend(v),
        }
        match response {
            Ok(checked) => bodies_answered += usize::from(checked.body_checked),
            Err(v) => violations.extend(v),
        }
    }
    assert!(violations.is_empty(), "{} violations:\n{}", violations.len(), lines(&violations));
    assert_eq!(seen, OPERATIONS.iter().map(|s| (*s).to_owned()).collect(), "every operation exercised");
    assert_eq!(bodies_sent, 4, "every create body was checked against the request schema");
    // Every 2xx answer except the 204s carries a body checked against its schema; Vultr's 4xx declare none.
    let with_body = exchanges.iter().filter(|e| (200..300).contains(&e.response.status) && e.response.status != 204);
    assert_eq!(bodies_answered, with_body.count());
    assert!(exchanges.len() >= 19, "{} exchanges", exchanges.len());
}

fn lines(v: &[prov_core::contract::Violation]) -> String {
    v.iter().map(|v| format!("  {v}")).collect::<Vec<_>>().join("\n")
}

/// Every fixture, with the operation and status whose response schema it must match.
const FIXTURES: &[(&str, &str, u16)] = &[
    ("regions.json", "list-regions", 200),
    ("plans.json", "list-plans", 200),
    ("os.json", "list-os", 200),
    ("instances_list.json", "list-instances", 200),
    ("instance_get.json", "get-instance", 200),
    ("instance_create.json", "create-instance", 202),
    ("error_400.json", "create-instance", 400),
    ("error_401.json", "list-instances", 401),
    ("error_404.json", "get-instance", 404),
];

fn fixture_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/vultr")
}

#[test]
fn every_fixture_matches_its_response_schema() {
    let c = contract();
    let on_disk: BTreeSet<String> = std::fs::read_dir(fixture_dir())
        .unwrap_or_else(|e| panic!("fixtures: {e}"))
        .flatten()
        .filter_map(|e| e.file_name().to_str().filter(|n| n.ends_with(".json")).map(str::to_owned))
        .collect();
    let listed: BTreeSet<String> = FIXTURES.iter().map(|(f, _, _)| (*f).to_owned()).collect();
    assert_eq!(on_disk, listed, "every fixture is mapped to an operation");
    for (file, op, status) in FIXTURES {
        let body = std::fs::read(fixture_dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let checked = c.check_payload(op, *status, &body).unwrap_or_else(|v| panic!("{file}:\n{}", lines(&v)));
        // Vultr's spec attaches no schema to 4xx answers (FACTS.md §6), so only the 2xx bodies meet a schema; the
        // error bodies are held to the shape FACTS.md §6 documents instead.
        assert_eq!(checked.body_checked, *status < 300, "{file}");
        if *status >= 400 {
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            assert!(v["error"].is_string() && v["status"] == json!(status), "{file}: {v}");
        }
    }
}

#[test]
fn the_checks_reject_a_broken_request_or_answer() {
    let c = contract();
    // Backups as a boolean: the spec types it as a string ("enabled" / "disabled", FACTS.md §4).
    let headers = [
        ("content-type".to_owned(), "application/json".to_owned()),
        ("authorization".to_owned(), "Bearer t".to_owned()),
    ];
    let mut body = prov_vultr::Vultr::new(&ClientSettings::default())
        .map(|v| v.create_request(&full_spec("web-1")).body.unwrap_or(Value::Null))
        .unwrap_or(Value::Null);
    let send = |body: &Value| {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        c.check_request(&RequestParts {
            method: "POST",
            path: "/instances",
            query: &[],
            headers: &headers,
            body: &bytes,
        })
    };
    assert!(send(&body).is_ok(), "the real body passes");
    body["backups"] = json!(true);
    let v = send(&body).err().unwrap_or_default();
    assert_eq!(v.len(), 1, "{}", lines(&v));
    assert!(v[0].place == "request body" && v[0].message.contains("/backups"), "{}", v[0]);
    body["backups"] = json!("enabled");
    let mut misspelt = body.clone();
    misspelt["enable_ip6"] = json!(true);
    let v = send(&misspelt).err().unwrap_or_default();
    assert!(v.len() == 1 && v[0].message.contains("/enable_ip6"), "an option the spec does not name: {}", lines(&v));
    body["os_id"] = json!("2136");
    assert!(send(&body).is_err(), "os_id is an integer");
    // Without the token the operation's security asks for.
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let no_auth = [("content-type".to_owned(), "application/json".to_owned())];
    let parts = RequestParts { method: "POST", path: "/instances", query: &[], headers: &no_auth, body: &bytes };
    assert!(c.check_request(&parts).is_err());
    // A path the spec does not have, and a query parameter it does not declare.
    let get = |path: &str, query: &[(String, String)]| {
        c.check_request(&RequestParts { method: "GET", path, query, headers: &headers, body: b"" })
    };
    assert!(get("/v2/instances", &[]).is_err(), "Vultr's spec paths carry no /v2");
    assert!(get("/instances", &[("page".into(), "2".into())]).is_err());
    assert!(get("/instances", &[("per_page".into(), "many".into())]).is_err());
    // An answer with a wrong type deep inside.
    let mut answer: Value =
        serde_json::from_str(include_str!("../../../fixtures/vultr/instance_get.json")).unwrap_or(Value::Null);
    answer["instance"]["ram"] = json!("1024");
    let bytes = serde_json::to_vec(&answer).unwrap_or_default();
    let v = c.check_response("GET", "/instances/abc", 200, &bytes).err().unwrap_or_default();
    assert!(v.len() == 1 && v[0].message.contains("/instance/ram"), "{}", lines(&v));
    assert!(c.check_response("DELETE", "/instances/abc", 200, b"").is_err(), "delete answers 204, not 200");
}
