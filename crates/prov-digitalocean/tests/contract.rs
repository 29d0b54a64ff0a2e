//! API fidelity: every request the DigitalOcean client sends, every answer the DigitalOcean sandbox dialect gives,
//! and every payload under fixtures/digitalocean/ checked against DigitalOcean's official OpenAPI spec
//! (fixtures/openapi/digitalocean.json, trimmed from the full file by `cargo xtask specs`; revision in its
//! `x-prov-source`). The checks shared by every provider are `prov_testkit::contract::checks`; this file describes
//! DigitalOcean and breaks DigitalOcean's requests and answers.

#![cfg(feature = "sandbox")]

use prov_core::{CreateSpec, Provider, Secret};
use prov_digitalocean::DigitalOcean;
use prov_digitalocean::sandbox::DigitalOceanDialect;
use prov_testkit::contract::checks::{Probe, Subject, broken, lines, violations};
use serde_json::{Value, json};

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

/// DigitalOcean. No deviation is needed: prov's requests, the sandbox's answers and the fixtures all match the
/// spec as written (errors included: `error` with `id` and `message`, docs/providers/digitalocean.md §10).
const SUBJECT: Subject = Subject {
    info: &prov_digitalocean::INFO,
    spec: include_str!("../../../fixtures/openapi/digitalocean.json"),
    deviations: Vec::new,
    // Every operation prov performs on DigitalOcean, by operationId (docs/providers/digitalocean.md §1).
    operations: &[
        "regions_list",
        "sizes_list",
        "images_list",
        "droplets_list",
        "droplets_create",
        "droplets_get",
        "droplets_destroy",
    ],
    connect: |s| Ok(Box::new(DigitalOcean::new(s)?) as Box<dyn Provider>),
    dialect: |images| DigitalOceanDialect::new().with_image_count(images).shared(),
    images: 450,
    paging: "three pages",
    full_spec,
    // An image by integer id, the options switched off.
    variant: |label| CreateSpec {
        image: "160232537".into(),
        ipv6: Some(false),
        backups: Some(false),
        monitoring: Some(false),
        ..full_spec(label)
    },
    variant_created: |_| {},
    refused: |label| CreateSpec { image: "plan9".into(), ..full_spec(label) },
    refused_status: 422,
    phases: ["new", "addressed", "active"],
    search: ("tag_name", |r| r.query("tag_name").is_some()),
    // Every answer but the 204s of a delete carries a body checked against a schema; errors use `error`
    // (docs/providers/digitalocean.md §4), 422 through the `default` response because the create operation declares no
    // 422.
    answers_with_schema: |status| status != 204,
    fixture_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/digitalocean"),
    // Every fixture, with the operation and status whose response schema it must match.
    fixtures: &[
        ("regions.json", "regions_list", 200),
        ("sizes.json", "sizes_list", 200),
        ("images_distribution.json", "images_list", 200),
        ("droplets_list.json", "droplets_list", 200),
        ("droplet_get.json", "droplets_get", 200),
        ("droplet_create.json", "droplets_create", 202),
        ("error_401.json", "droplets_list", 401),
        ("error_404.json", "droplets_get", 404),
        ("error_422.json", "droplets_create", 422),
    ],
};

prov_testkit::contract_tests!(SUBJECT);

#[test]
fn the_checks_reject_a_broken_request_or_answer() {
    let p = Probe::new(&SUBJECT);
    let body = p.create_body();
    assert!(p.send(&body).is_ok(), "the real body passes: {:?}", p.send(&body));
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
        let broken = broken(&body, key, value);
        assert!(p.send(&broken).is_err(), "{key}: {broken}");
    }
    // Query bounds (per_page ≤ 200), the images type enum, an id that is not a positive integer.
    assert!(p.get("/droplets", &[("per_page", "200")]).is_ok());
    assert!(p.get("/droplets", &[("per_page", "201")]).is_err());
    assert!(p.get("/images", &[("type", "snapshot")]).is_err());
    assert!(p.get("/droplets/0", &[]).is_err());
    assert!(p.get("/droplets/abc", &[]).is_err());
    let no_auth = p.unauthenticated("GET", "/regions", None);
    assert!(no_auth.is_err(), "every DigitalOcean endpoint needs the token (docs/providers/digitalocean.md §1)");
    // An answer with a required field gone and one with a wrong enum value.
    let answer = p.fixture("droplet_get.json");
    for (key, value) in [("status", json!("booting")), ("id", Value::Null), ("networks", json!([]))] {
        let mut wrong = answer.clone();
        wrong["droplet"] = broken(&answer["droplet"], key, value);
        let v = violations(p.answer("GET", "/droplets/1", 200, &wrong));
        assert!(!v.is_empty() && v.iter().all(|v| v.place == "response 200 body"), "{key}: {}", lines(&v));
    }
    let v = violations(p.contract.check_response("GET", "/droplets/1", 404, br#"{"message":"gone"}"#));
    assert!(v.iter().any(|v| v.message.contains("id")), "the error schema requires `id`: {}", lines(&v));
}
