//! API fidelity: every request the Vultr client sends, every answer the Vultr sandbox dialect gives, and every
//! payload under fixtures/vultr/ checked against Vultr's official OpenAPI spec (fixtures/openapi/vultr.json,
//! trimmed from the full file by `cargo xtask specs`; revision in its `x-prov-source`). The checks shared by every
//! provider are `prov_testkit::contract::checks`; this file describes Vultr and breaks Vultr's requests and answers.

#![cfg(feature = "sandbox")]

use prov_core::{CreateSpec, Provider, Secret};
use prov_testkit::contract::checks::{Probe, Subject, lines, read_fixture, violations};
use prov_vultr::Vultr;
use prov_vultr::sandbox::VultrDialect;
use serde_json::{Value, json};

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

/// Vultr. No deviation is needed: Vultr's schemas are open (no `additionalProperties: false`, no `required`), so
/// the real API's flat `v6_main_ip`/`v6_network`/`v6_network_size` are extra properties the schema already
/// allows, and the 4xx answers have no schema to break (docs/providers/vultr.md §10).
const SUBJECT: Subject = Subject {
    info: &prov_vultr::INFO,
    spec: include_str!("../../../fixtures/openapi/vultr.json"),
    deviations: Vec::new,
    // Every operation prov performs on Vultr, by operationId (docs/providers/vultr.md §1).
    operations: &[
        "list-regions",
        "list-plans",
        "list-os",
        "list-instances",
        "create-instance",
        "get-instance",
        "delete-instance",
    ],
    connect: |s| Ok(Box::new(Vultr::new(s)?) as Box<dyn Provider>),
    dialect: |images| VultrDialect::new().with_image_count(images).shared(),
    images: 1_201,
    paging: "three pages, cursor paging",
    full_spec,
    variant: |label| CreateSpec { backups: Some(false), ipv6: Some(false), ..full_spec(label) },
    variant_created: |_| {},
    refused: |label| CreateSpec { plan: "vc2-99c-1tb".into(), ..full_spec(label) },
    refused_status: 400,
    phases: ["pending", "addressed, booting", "ready"],
    search: ("label", |r| r.query("label").is_some()),
    // Every 2xx answer except the 204s carries a body checked against its schema; Vultr's 4xx declare none.
    answers_with_schema: |status| (200..300).contains(&status) && status != 204,
    fixture_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/vultr"),
    // Every fixture, with the operation and status whose response schema it must match.
    fixtures: &[
        ("regions.json", "list-regions", 200),
        ("plans.json", "list-plans", 200),
        ("os.json", "list-os", 200),
        ("instances_list.json", "list-instances", 200),
        ("instance_get.json", "get-instance", 200),
        ("instance_create.json", "create-instance", 202),
        ("error_400.json", "create-instance", 400),
        ("error_401.json", "list-instances", 401),
        ("error_404.json", "get-instance", 404),
    ],
};

prov_testkit::contract_tests!(SUBJECT);

/// Vultr's spec attaches no schema to 4xx answers (docs/providers/vultr.md §4), so only the 2xx fixtures meet a
/// schema; the error bodies are held to the shape that section documents instead.
#[test]
fn the_error_fixtures_have_the_documented_shape() {
    let errors: Vec<_> = SUBJECT.fixtures.iter().filter(|(_, _, status)| *status >= 400).collect();
    assert_eq!(errors.len(), 3);
    for (file, _, status) in errors {
        let v: Value = serde_json::from_slice(&read_fixture(&SUBJECT, file)).unwrap_or(Value::Null);
        assert!(v["error"].is_string() && v["status"] == json!(status), "{file}: {v}");
    }
}

#[test]
fn the_checks_reject_a_broken_request_or_answer() {
    let p = Probe::new(&SUBJECT);
    // Backups as a boolean: the spec types it as a string ("enabled" / "disabled", docs/providers/vultr.md §6).
    let mut body = p.create_body();
    assert!(p.send(&body).is_ok(), "the real body passes");
    body["backups"] = json!(true);
    let v = violations(p.send(&body));
    assert_eq!(v.len(), 1, "{}", lines(&v));
    assert!(v[0].place == "request body" && v[0].message.contains("/backups"), "{}", v[0]);
    body["backups"] = json!("enabled");
    let mut misspelt = body.clone();
    misspelt["enable_ip6"] = json!(true);
    let v = violations(p.send(&misspelt));
    assert!(v.len() == 1 && v[0].message.contains("/enable_ip6"), "an option the spec does not name: {}", lines(&v));
    body["os_id"] = json!("2136");
    assert!(p.send(&body).is_err(), "os_id is an integer");
    // Without the token the operation's security asks for.
    assert!(p.unauthenticated("POST", "/instances", Some(&body)).is_err());
    // A path the spec does not have, and a query parameter it does not declare.
    assert!(p.get("/v2/instances", &[]).is_err(), "Vultr's spec paths carry no /v2");
    assert!(p.get("/instances", &[("page", "2")]).is_err());
    assert!(p.get("/instances", &[("per_page", "many")]).is_err());
    // An answer with a wrong type deep inside.
    let mut answer = p.fixture("instance_get.json");
    answer["instance"]["ram"] = json!("1024");
    let v = violations(p.answer("GET", "/instances/abc", 200, &answer));
    assert!(v.len() == 1 && v[0].message.contains("/instance/ram"), "{}", lines(&v));
    assert!(p.contract.check_response("DELETE", "/instances/abc", 200, b"").is_err(), "delete answers 204, not 200");
}
