//! Fuzzes Vultr's answer decoders: the first byte picks raw bytes or a recorded fixture with fields broken by
//! the rest; decoding either fails with a decode error naming a path or converts into prov's models.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prov_core::http::decode_json;
use prov_core::provider::Operation;
use prov_core::sandbox::testing::mutate;
use prov_core::{Error, model};
use prov_vultr::{INFO, api};

const FIXTURES: &[&str] = &[
    include_str!("../../fixtures/vultr/regions.json"),
    include_str!("../../fixtures/vultr/plans.json"),
    include_str!("../../fixtures/vultr/os.json"),
    include_str!("../../fixtures/vultr/instances_list.json"),
    include_str!("../../fixtures/vultr/instance_get.json"),
];

fn decode<T: serde::de::DeserializeOwned>(body: &[u8], into_model: impl FnOnce(T) -> usize) {
    match decode_json::<T>(INFO.name, Operation::ListInstances, body) {
        Ok(v) => {
            let _ = into_model(v);
        }
        Err(Error::Decode { path, .. }) => assert!(!path.is_empty()),
        Err(other) => panic!("{other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let body = match usize::from(mode) % (FIXTURES.len() + 1) {
        0 => rest.to_vec(),
        n => mutate(&serde_json::from_str(FIXTURES[n - 1]).unwrap_or_default(), rest).to_string().into_bytes(),
    };
    decode(&body, |l: api::RegionList| l.regions.into_iter().map(model::Region::from).count());
    decode(&body, |l: api::PlanList| l.plans.into_iter().map(model::Plan::from).count());
    decode(&body, |l: api::OsList| l.os.into_iter().map(model::Image::from).count());
    decode(&body, |l: api::InstanceList| l.instances.into_iter().map(model::Instance::from).count());
    decode(&body, |e: api::InstanceEnvelope| model::Instance::from(e.instance).id.len());
    let _ = (INFO.parse_error)(400, &body).to_string();
});
