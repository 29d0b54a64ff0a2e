//! API fidelity: every request the DigitalOcean client sends, every answer the DigitalOcean sandbox dialect gives,
//! and every payload under fixtures/digitalocean/ checked against DigitalOcean's official OpenAPI spec
//! (fixtures/openapi/digitalocean.json, trimmed from the full file by `cargo xtask specs`; revision in its
//! `x-prov-source`).

#![cfg(feature = "sandbox")]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prov_core::contract::{Contract, Exchange, Recorder, RequestParts, Violation};
use prov_core::provider::Deleted;
use prov_core::sandbox::{REVOKED_TOKEN, Sandbox, SandboxOptions};
use prov_core::{ClientSettings, CreateSpec, Error, ManualClock, Provider, Secret};
use prov_digitalocean::DigitalOcean;
use prov_digitalocean::sandbox::DigitalOceanDialect;
use serde_json::{Value, json};

const SPEC: &str = include_str!("../../../fixtures/openapi/digitalocean.json");
const BOOT: Duration = Duration::from_secs(3600);

/// DigitalOcean's contract. No deviation is needed: prov's requests, the sandbox's answers and the fixtures all
/// match the spec as written (errors included: `error` with `id` and `message`, FACTS.md §6).
fn contract() -> Contract {
    Contract::from_json(SPEC, prov_digitalocean::INFO.default_base_url).unwrap_or_else(|e| panic!("spec: {e}"))
}

/// Every operation prov performs on DigitalOcean, by operationId (FACTS.md §2).
const OPERATIONS: [&str; 7] = [
    "regions_list",
    "sizes_list",
    "images_list",
    "droplets_list",
    "droplets_create",
    "droplets_get",
    "droplets_destroy",
];

fn client(sb: &Sandbox, token: Option<&str>) -> DigitalOcean {
    let settings = ClientSettings {
        base_url: Some(sb.base_url(prov_digitalocean::INFO.sandbox_path)),
        token: token.map(Secret::new),
        clock: Arc::new(ManualClock::new()),
        ..ClientSettings::default()
    };
    DigitalOcean::new(&settings).unwrap_or_else(|e| panic!("client: {e}"))
}

/// A create using every plan key DigitalOcean supports (`INFO.plan_keys`); SSH keys as an id and a fingerprint.
fn full_spec(label: &str) -> CreateSpec {
    CreateSpec {
        label: label.into(),
        region: "sgp1".into(),
        plan: "s-1vcpu-1gb".into(),
        image: "ubuntu-24-04-x64".into(),
        ipv6: Some(true),
        backups: Some(true),
        monitoring: Some(true),
        tags: vec!["web".into(), "prov-managed".into(), "env:test".into()],
        ssh_keys: vec!["512189".into(), "3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa".into()],
        user_data: Some(Secret::new("#cloud-config\npackages: [nginx]\n")),
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
    let missing: Vec<&&str> = prov_digitalocean::INFO.plan_keys.iter().filter(|k| !set.contains(k)).collect();
    assert!(missing.is_empty(), "plan keys the contract test does not send: {missing:?}");
}

/// Makes the sandbox Droplet `id` look `age` old, to see its later phases without sleeping.
fn age(sb: &Sandbox, id: &str, age: Duration) {
    let world = sb.world();
    let Some(mut inst) = world.get("digitalocean", id) else { panic!("no Droplet {id}") };
    inst.created = Instant::now().checked_sub(age).unwrap_or(inst.created);
    world.remove("digitalocean", id);
    world.insert("digitalocean", inst);
}

/// Drives the client through every operation (and the error answers prov meets) against a recording sandbox.
fn record_everything() -> Vec<Exchange> {
    let recorder = Recorder::new(DigitalOceanDialect::new().with_image_count(450).shared());
    let sb = Sandbox::start(
        "127.0.0.1:0",
        vec![recorder.clone()],
        SandboxOptions { boot: BOOT, ..SandboxOptions::default() },
    )
    .unwrap_or_else(|e| panic!("sandbox: {e}"));
    let d = client(&sb, Some("sandbox-token"));
    assert!(d.list_regions().is_ok_and(|r| !r.is_empty()));
    assert!(d.list_plans().is_ok_and(|p| !p.is_empty()));
    assert_eq!(d.list_images().map(|i| i.len()).ok(), Some(450), "three pages");
    assert_eq!(d.list_instances().map(|i| i.len()).ok(), Some(0));
    let full = d.create_instance(&full_spec("web-1")).unwrap_or_else(|e| panic!("create: {e}"));
    // An image by integer id, the options switched off.
    let by_id = CreateSpec {
        image: "160232537".into(),
        ipv6: Some(false),
        backups: Some(false),
        monitoring: Some(false),
        ..full_spec("web-2")
    };
    let small = d.create_instance(&by_id).unwrap_or_else(|e| panic!("create: {e}"));
    let minimal = CreateSpec {
        label: "db-1".into(),
        region: "sgp1".into(),
        plan: "s-1vcpu-1gb".into(),
        image: "ubuntu-24-04-x64".into(),
        ..CreateSpec::default()
    };
    assert!(d.create_instance(&minimal).is_ok());
    let id = full.instance.id.clone();
    assert!(d.get_instance(&id).is_ok(), "new");
    age(&sb, &id, BOOT / 2);
    assert!(d.get_instance(&id).is_ok(), "addressed");
    age(&sb, &id, BOOT);
    assert!(d.get_instance(&id).is_ok_and(|i| i.ipv4.is_some()), "active");
    assert_eq!(d.list_instances().map(|i| i.len()).ok(), Some(3));
    assert_eq!(d.find_instances("web-1", "prov-managed").map(|i| i.len()).ok(), Some(1), "tag_name");
    assert_eq!(d.delete_instance(&small.instance.id).ok(), Some(Deleted::Deleted));
    // The error answers: 404 on a gone Droplet (get and delete), 422 on a bad create, 401 on a revoked token.
    assert_eq!(d.delete_instance(&small.instance.id).ok(), Some(Deleted::AlreadyGone));
    assert!(matches!(d.get_instance(&small.instance.id), Err(Error::Api { status: 404, .. })));
    let bad = CreateSpec { image: "plan9".into(), ..full_spec("web-3") };
    assert!(matches!(d.create_instance(&bad), Err(Error::Api { status: 422, .. })));
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
    // Every answer but the 204s of a delete carries a body checked against a schema (errors: `error`).
    let bodiless = exchanges.iter().filter(|e| e.response.status == 204).count();
    assert_eq!(r.bodies_answered, exchanges.len() - bodiless);
    assert!(exchanges.iter().any(|e| e.request.query("tag_name").is_some()), "the tag_name search was checked");
    assert!(exchanges.len() >= 19, "{} exchanges", exchanges.len());
}

/// Every fixture, with the operation and status whose response schema it must match.
const FIXTURES: &[(&str, &str, u16)] = &[
    ("regions.json", "regions_list", 200),
    ("sizes.json", "sizes_list", 200),
    ("images_distribution.json", "images_list", 200),
    ("droplets_list.json", "droplets_list", 200),
    ("droplet_get.json", "droplets_get", 200),
    ("droplet_create.json", "droplets_create", 202),
    ("error_401.json", "droplets_list", 401),
    ("error_404.json", "droplets_get", 404),
    ("error_422.json", "droplets_create", 422),
];

fn fixture_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/digitalocean")
}

/// Failures of the fixtures against `c` (empty when all match).
fn check_fixtures(c: &Contract) -> Vec<String> {
    let mut failures = Vec::new();
    for (file, op, status) in FIXTURES {
        let body = std::fs::read(fixture_dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        match c.check_payload(op, *status, &body) {
            // Every DigitalOcean answer with a body has a schema; errors use `error` (FACTS.md §6), 422 through
            // the `default` response because the create operation declares no 422.
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
    let body = DigitalOcean::new(&ClientSettings::default())
        .map(|d| d.create_request(&full_spec("web-1")).body.unwrap_or(Value::Null))
        .unwrap_or(Value::Null);
    let send = |body: &Value| {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        c.check_request(&RequestParts {
            method: "POST",
            path: "/droplets",
            query: &[],
            headers: &headers,
            body: &bytes,
        })
    };
    assert!(send(&body).is_ok(), "the real body passes: {:?}", send(&body));
    // Vultr's string backups, a missing required field, a name the pattern refuses, a wrong type.
    for (key, value) in [
        ("backups", json!("enabled")),
        ("size", Value::Null),
        ("name", json!("web_1")),
        ("monitoring", json!(1)),
        ("image", json!(["ubuntu-24-04-x64"])),
        // An option the spec does not name (the schema is open; the API would ignore it).
        ("monitor", json!(true)),
    ] {
        let mut broken = body.clone();
        if value.is_null() {
            broken.as_object_mut().map(|o| o.remove(key));
        } else {
            broken[key] = value;
        }
        assert!(send(&broken).is_err(), "{key}: {broken}");
    }
    // Query bounds (per_page ≤ 200), the images type enum, an id that is not a positive integer.
    let get = |path: &str, query: &[(String, String)]| {
        c.check_request(&RequestParts { method: "GET", path, query, headers: &headers, body: b"" })
    };
    assert!(get("/droplets", &[("per_page".into(), "200".into())]).is_ok());
    assert!(get("/droplets", &[("per_page".into(), "201".into())]).is_err());
    assert!(get("/images", &[("type".into(), "snapshot".into())]).is_err());
    assert!(get("/droplets/0", &[]).is_err());
    assert!(get("/droplets/abc", &[]).is_err());
    let no_auth =
        c.check_request(&RequestParts { method: "GET", path: "/regions", query: &[], headers: &[], body: b"" });
    assert!(no_auth.is_err(), "every DigitalOcean endpoint needs the token (FACTS.md §1)");
    // An answer with a required field gone and one with a wrong enum value.
    let answer: Value =
        serde_json::from_str(include_str!("../../../fixtures/digitalocean/droplet_get.json")).unwrap_or(Value::Null);
    for (key, value) in [("status", json!("booting")), ("id", Value::Null), ("networks", json!([]))] {
        let mut broken = answer.clone();
        if value.is_null() {
            broken["droplet"].as_object_mut().map(|o| o.remove(key));
        } else {
            broken["droplet"][key] = value;
        }
        let bytes = serde_json::to_vec(&broken).unwrap_or_default();
        let v = c.check_response("GET", "/droplets/1", 200, &bytes).err().unwrap_or_default();
        assert!(!v.is_empty() && v.iter().all(|v| v.place == "response 200 body"), "{key}: {}", lines(&v));
    }
    let v = c.check_response("GET", "/droplets/1", 404, br#"{"message":"gone"}"#).err().unwrap_or_default();
    assert!(v.iter().any(|v| v.message.contains("id")), "the error schema requires `id`: {}", lines(&v));
}
