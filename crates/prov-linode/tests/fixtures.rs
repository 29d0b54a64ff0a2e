//! Every Linode fixture decoded with the crate's payload types, mapped to prov's normalized models, and
//! snapshotted, so a change in the mapping (status words, the private address skipped, `/128` stripped, `Z`
//! appended, MB → GB) shows up as a reviewed diff.

use prov_core::model;
use prov_linode::api;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn decode<T: DeserializeOwned>(name: &str, text: &str) -> T {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn list<T: DeserializeOwned, M: From<T>>(name: &str, text: &str) -> Vec<M> {
    let page: api::List<T> = decode(name, text);
    assert_eq!((page.page, page.pages, page.results), (1, 1, Some(page.data.len() as u64)), "{name} is one whole page");
    assert_eq!(page.next_page(), None);
    page.data.into_iter().map(M::from).collect()
}

#[test]
fn regions() {
    let regions: Vec<model::Region> =
        list::<api::Region, _>("regions", include_str!("../../../fixtures/linode/regions.json"));
    assert_eq!(regions.len(), 31);
    insta::assert_json_snapshot!("regions", regions);
}

#[test]
fn types() {
    let plans: Vec<model::Size> = list::<api::Type, _>("types", include_str!("../../../fixtures/linode/types.json"));
    assert_eq!(plans.len(), 37);
    insta::assert_json_snapshot!("types", plans);
}

#[test]
fn images() {
    let images: Vec<model::Image> =
        list::<api::Image, _>("images", include_str!("../../../fixtures/linode/images.json"));
    assert_eq!(images.len(), 58);
    insta::assert_json_snapshot!("images", images);
}

#[test]
fn instance_create() {
    let i: api::Instance = decode("instance_create", include_str!("../../../fixtures/linode/instance_create.json"));
    insta::assert_json_snapshot!("instance_create", model::Instance::from(i));
}

#[test]
fn instance_get() {
    let i: api::Instance = decode("instance_get", include_str!("../../../fixtures/linode/instance_get.json"));
    insta::assert_json_snapshot!("instance_get", model::Instance::from(i));
}

#[test]
fn instances_list() {
    let instances: Vec<model::Instance> =
        list::<api::Instance, _>("instances_list", include_str!("../../../fixtures/linode/instances_list.json"));
    assert_eq!(instances.len(), 3);
    insta::assert_json_snapshot!("instances_list", instances);
}

fn error_json(status: u16, body: &str) -> Value {
    let e = (prov_linode::INFO.parse_error)(status, body.as_bytes());
    json!({
        "status": status,
        "message": e.message,
        "fields": e.fields,
        "display": e.to_string(),
    })
}

#[test]
fn errors() {
    let all = json!([
        error_json(400, include_str!("../../../fixtures/linode/error_400.json")),
        error_json(401, include_str!("../../../fixtures/linode/error_401.json")),
        error_json(404, include_str!("../../../fixtures/linode/error_404.json")),
    ]);
    insta::assert_json_snapshot!("errors", all);
}
