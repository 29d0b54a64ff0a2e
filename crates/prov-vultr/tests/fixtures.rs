//! Every Vultr fixture decodes into the payload models and normalizes as expected; the normalized result is
//! snapshotted (ids, addresses and timestamps redacted by name).

use prov_core::model;
use prov_vultr::api;

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/vultr").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn decode<T: serde::de::DeserializeOwned>(name: &str) -> T {
    prov_core::http::decode_json(prov_vultr::INFO.name, prov_core::Operation::ListSizes, fixture(name).as_bytes())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn regions() {
    let list: api::RegionList = decode("regions.json");
    let regions: Vec<model::Region> = list.regions.into_iter().map(Into::into).collect();
    assert!(regions.len() >= 25);
    insta::assert_json_snapshot!(regions);
}

#[test]
fn plans() {
    let list: api::PlanList = decode("plans.json");
    let plans: Vec<model::Size> = list.plans.into_iter().map(Into::into).collect();
    assert!(plans.len() >= 30);
    insta::assert_json_snapshot!(plans);
}

#[test]
fn os_images() {
    let list: api::OsList = decode("os.json");
    let images: Vec<model::Image> = list.os.into_iter().map(Into::into).collect();
    assert!(images.len() >= 30);
    insta::assert_json_snapshot!(images);
}

fn instances(name: &str, wrapped: bool) -> Vec<model::Instance> {
    if wrapped {
        let env: api::InstanceEnvelope = decode(name);
        vec![env.instance.into()]
    } else {
        let list: api::InstanceList = decode(name);
        list.instances.into_iter().map(Into::into).collect()
    }
}

#[test]
fn instance_lifecycle_payloads() {
    let all = [
        ("create", instances("instance_create.json", true)),
        ("get", instances("instance_get.json", true)),
        ("list", instances("instances_list.json", false)),
    ];
    // Named redactions that keep `null` visible: "no address yet" is exactly what these snapshots must show.
    let named = |name: &'static str| {
        insta::dynamic_redaction(move |value, _| if value.is_nil() { value } else { format!("[{name}]").into() })
    };
    insta::assert_json_snapshot!(all, {
        "[][1][].id" => named("id"),
        "[][1][].ipv4" => named("ipv4"),
        "[][1][].ipv6" => named("ipv6"),
        "[][1][].created_at" => named("timestamp"),
    });
}

#[test]
fn error_payloads_keep_the_providers_message() {
    let messages: Vec<String> = ["error_400.json", "error_401.json", "error_404.json"]
        .iter()
        .map(|f| (prov_vultr::INFO.parse_error)(400, fixture(f).as_bytes()).message)
        .collect();
    assert_eq!(messages, ["Invalid plan chosen", "Invalid API token", "Invalid instance-id"]);
}
