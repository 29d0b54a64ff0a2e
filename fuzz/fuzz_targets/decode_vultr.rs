//! Fuzzes Vultr's answer decoders: the first byte picks raw bytes or a recorded fixture with fields broken by
//! the rest; decoding either fails with a decode error naming a path or converts into prov's models.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prov_core::model;
use prov_core::provider::Operation;
use prov_testkit::harness::{Decoded, Decoding};
use prov_vultr::{INFO, api};

fn decode_all(d: &mut Decoded, body: &[u8]) {
    d.decode(body, Operation::ListRegions, |l: api::RegionList| l.regions.into_iter().map(model::Region::from).count());
    d.decode(body, Operation::ListSizes, |l: api::PlanList| l.plans.into_iter().map(model::Size::from).count());
    d.decode(body, Operation::ListImages, |l: api::OsList| l.os.into_iter().map(model::Image::from).count());
    d.decode(body, Operation::ListInstances, |l: api::InstanceList| {
        l.instances.into_iter().map(model::Instance::from).count()
    });
    d.decode(body, Operation::GetInstance, |e: api::InstanceEnvelope| model::Instance::from(e.instance).id.len());
}

const DECODING: Decoding = Decoding {
    info: &INFO,
    decode_all,
    fixtures: &[
        (include_str!("../../fixtures/vultr/regions.json"), Some(Operation::ListRegions)),
        (include_str!("../../fixtures/vultr/plans.json"), Some(Operation::ListSizes)),
        (include_str!("../../fixtures/vultr/os.json"), Some(Operation::ListImages)),
        (include_str!("../../fixtures/vultr/instances_list.json"), Some(Operation::ListInstances)),
        (include_str!("../../fixtures/vultr/instance_get.json"), Some(Operation::GetInstance)),
    ],
};

fuzz_target!(|data: &[u8]| prov_fuzz::decode(&DECODING, data));
