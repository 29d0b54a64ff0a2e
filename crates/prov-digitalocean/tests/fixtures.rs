//! Every file of `fixtures/digitalocean/` decoded with the crate's payload types, converted to prov's normalized
//! models and snapshotted, so a change in the mapping (public address choice, status words, TB → GB) shows up in
//! review.

use prov_core::model::{Image, Instance, Region, Size};
use prov_core::provider::Operation;
use prov_digitalocean::api;
use serde::de::DeserializeOwned;
use serde_json::json;

fn decode<T: DeserializeOwned>(name: &str, text: &str) -> T {
    prov_core::http::decode_json("digitalocean", Operation::ListRegions, text.as_bytes())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

macro_rules! fixture {
    ($file:literal) => {
        include_str!(concat!("../../../fixtures/digitalocean/", $file))
    };
}

#[test]
fn regions() {
    let list: api::RegionList = decode("regions.json", fixture!("regions.json"));
    assert_eq!(list.meta.total.map(|t| t as usize), Some(list.regions.len()));
    assert!(list.links.pages.next.is_none());
    let regions: Vec<Region> = list.regions.into_iter().map(Into::into).collect();
    insta::assert_json_snapshot!("regions", regions);
}

#[test]
fn sizes() {
    let list: api::SizeList = decode("sizes.json", fixture!("sizes.json"));
    assert_eq!(list.meta.total.map(|t| t as usize), Some(list.sizes.len()));
    let plans: Vec<Size> = list.sizes.into_iter().map(Into::into).collect();
    insta::assert_json_snapshot!("sizes", plans);
}

#[test]
fn images_distribution() {
    let list: api::ImageList = decode("images_distribution.json", fixture!("images_distribution.json"));
    assert_eq!(list.meta.total.map(|t| t as usize), Some(list.images.len()));
    let images: Vec<Image> = list.images.into_iter().map(Into::into).collect();
    insta::assert_json_snapshot!("images_distribution", images);
}

#[test]
fn droplet_create() {
    let env: api::DropletEnvelope = decode("droplet_create.json", fixture!("droplet_create.json"));
    let actions: Vec<_> = env.links.actions.iter().map(|a| json!({"id": a.id, "rel": a.rel, "href": a.href})).collect();
    let instance: Instance = env.droplet.into();
    insta::assert_json_snapshot!("droplet_create", json!({ "instance": instance, "actions": actions }));
}

#[test]
fn droplet_get() {
    let env: api::DropletEnvelope = decode("droplet_get.json", fixture!("droplet_get.json"));
    let instance: Instance = env.droplet.into();
    insta::assert_json_snapshot!("droplet_get", instance);
}

#[test]
fn droplets_list() {
    let list: api::DropletList = decode("droplets_list.json", fixture!("droplets_list.json"));
    assert_eq!(list.meta.total.map(|t| t as usize), Some(list.droplets.len()));
    let instances: Vec<Instance> = list.droplets.into_iter().map(Into::into).collect();
    insta::assert_json_snapshot!("droplets_list", instances);
}

#[test]
fn errors() {
    for (name, status, text) in [
        ("error_401", 401, fixture!("error_401.json")),
        ("error_404", 404, fixture!("error_404.json")),
        ("error_422", 422, fixture!("error_422.json")),
    ] {
        let e = (prov_digitalocean::INFO.parse_error)(status, text.as_bytes());
        let shown = json!({
            "message": e.message,
            "code": e.code,
            "request_id": e.request_id,
            "fields": e.fields.len(),
            "display": e.to_string(),
        });
        insta::assert_json_snapshot!(name, shown);
    }
}
