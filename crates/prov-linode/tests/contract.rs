//! API fidelity: every request the Linode client sends, every answer the Linode sandbox dialect gives, and every
//! payload under fixtures/linode/ checked against Linode's official OpenAPI spec (fixtures/openapi/linode.json,
//! trimmed from the full file by `cargo xtask specs`; revision in its `x-prov-source`). The checks shared by every
//! provider are `prov_testkit::contract::checks`; this file describes Linode, its documented deviations from the
//! spec, and breaks Linode's requests and answers.

#![cfg(feature = "sandbox")]

use prov_core::{CreateSpec, Provider, Secret};
use prov_linode::Linode;
use prov_linode::sandbox::LinodeDialect;
use prov_testkit::contract::Deviation;
use prov_testkit::contract::checks::{Deviations, Probe, Subject, broken, deviation, lines, violations};
use serde_json::{Value, json};

const SPEC: &str = include_str!("../../../fixtures/openapi/linode.json");

/// The documented differences between the real API and the 4.189.0 spec, by name. Each is needed:
/// `every_deviation_is_needed` fails when one could go.
fn deviations() -> Deviations {
    let spec: Value = serde_json::from_str(SPEC).unwrap_or(Value::Null);
    // docs/providers/linode.md §7, §10: Linode's timestamps (`created`, `updated`) carry no offset although the spec
    // says `format: date-time`; they are UTC.
    let naive = vec![deviation(Deviation::naive_date_time(
        "Linode timestamps are UTC without an offset (docs/providers/linode.md §10)",
    ))];
    // docs/providers/linode.md §2: 4.189 declares `page`/`page_size` on /images and /linode/instances but not on
    // /regions or /linode/types, which are paginated all the same (`page`/`pages`/`results`); prov pages them like any
    // other list, with the very parameters /images declares.
    let images = spec["paths"]["/{apiVersion}/images"]["get"]["parameters"].as_array().cloned().unwrap_or_default();
    let mut paging = Vec::new();
    for op in ["get-regions", "get-linode-types"] {
        for p in images.iter().filter(|p| p["in"] == "query") {
            let why = "every Linode collection is paginated, as on /images (docs/providers/linode.md §10)";
            paging.push(deviation(Deviation::push(why, &format!("{op}#/parameters"), p.clone())));
        }
    }
    // docs/providers/linode.md §6: the create body takes `type` and `region` (schema-required) and `label`, `tags`,
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
    let why = "the create body is one closed object of both allOf members' properties (docs/providers/linode.md §10)";
    let closed_union = vec![
        deviation(Deviation::set(why, &format!("{body}/allOf/0/additionalProperties"), json!(true))),
        deviation(Deviation::set(why, &format!("{body}/properties"), Value::Object(names))),
        deviation(Deviation::set(why, &format!("{body}/additionalProperties"), json!(false))),
    ];
    vec![("naive timestamps", naive), ("paging on every list", paging), ("create body allOf", closed_union)]
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

/// Linode.
const SUBJECT: Subject = Subject {
    info: &prov_linode::INFO,
    spec: SPEC,
    deviations,
    // Every operation prov performs on Linode, by operationId (docs/providers/linode.md §1).
    operations: &[
        "get-regions",
        "get-linode-types",
        "get-images",
        "get-linode-instances",
        "post-linode-instance",
        "get-linode-instance",
        "delete-linode-instance",
    ],
    connect: |s| Ok(Box::new(Linode::new(s)?) as Box<dyn Provider>),
    dialect: |images| LinodeDialect::new().with_image_count(images).shared(),
    images: 1_201,
    paging: "three pages",
    full_spec,
    // No root password given: the client generates one.
    variant: |label| CreateSpec {
        root_password: None,
        backups: Some(false),
        private_ip: Some(false),
        ..full_spec(label)
    },
    variant_created: |created| assert!(created.generated_password.is_some(), "a generated root password"),
    // A root password Linode finds too weak.
    refused: |label| CreateSpec { root_password: Some(Secret::new("password1")), ..full_spec(label) },
    refused_status: 400,
    phases: ["provisioning", "booting", "running"],
    search: ("X-Filter", |r| r.header("x-filter").is_some()),
    // Linode declares a schema for every answer, errors included (the `default` response, docs/providers/linode.md §4).
    answers_with_schema: |_| true,
    fixture_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/linode"),
    // Every fixture, with the operation and status whose response schema it must match.
    fixtures: &[
        ("regions.json", "get-regions", 200),
        ("types.json", "get-linode-types", 200),
        ("images.json", "get-images", 200),
        ("instances_list.json", "get-linode-instances", 200),
        ("instance_get.json", "get-linode-instance", 200),
        ("instance_create.json", "post-linode-instance", 200),
        ("error_400.json", "post-linode-instance", 400),
        ("error_401.json", "get-linode-instances", 401),
        ("error_404.json", "get-linode-instance", 404),
    ],
};

prov_testkit::contract_tests!(SUBJECT);

#[test]
fn the_checks_reject_a_broken_request_or_answer() {
    let p = Probe::new(&SUBJECT);
    let mut body = p.create_body();
    assert!(p.send(&body).is_ok(), "the real body passes: {:?}", p.send(&body));
    // A missing required field, a wrong type, user data that is not base64, a property the spec does not have.
    for (key, value) in [
        ("type", Value::Null),
        ("backups_enabled", json!("yes")),
        ("metadata", json!({"user_data": "#cloud-config"})),
        ("backups", json!(true)),
        ("label", json!("web--1")),
    ] {
        let v = violations(p.send(&broken(&body, key, value)));
        assert!(!v.is_empty() && v.iter().all(|v| v.place == "request body"), "{key}: {}", lines(&v));
    }
    body["root_pass"] = json!("short");
    assert!(p.send(&body).is_err(), "root_pass is 7-128 characters");
    // Query bounds (page_size 25-500), an X-Filter that is not a JSON object, an id that is not an integer.
    assert!(p.get("/linode/instances", &[("page_size", "500")]).is_ok());
    assert!(p.get("/linode/instances", &[("page_size", "501")]).is_err());
    assert!(p.get("/linode/instances", &[("page_size", "10")]).is_err());
    assert!(p.get_with_headers("/linode/instances", &[], &[("X-Filter", "tags=web")]).is_err());
    assert!(p.get("/linode/instances/abc", &[]).is_err());
    assert!(p.get("/linode/instances/123", &[]).is_ok());
    // An answer missing a field, and one with a wrong status value.
    let answer = p.fixture("instance_get.json");
    let v = violations(p.answer("GET", "/linode/instances/1", 200, &broken(&answer, "status", json!("exploded"))));
    assert!(v.len() == 1 && v[0].message.contains("/status"), "{}", lines(&v));
    let wrong = broken(&answer, "ipv4", json!("203.0.113.7"));
    assert!(p.answer("GET", "/linode/instances/1", 200, &wrong).is_err(), "ipv4 is an array");
    let deleted = p.contract.check_response("DELETE", "/linode/instances/1", 200, br#"{"deleted":true}"#);
    assert!(deleted.is_err(), "{{}} only");
}
