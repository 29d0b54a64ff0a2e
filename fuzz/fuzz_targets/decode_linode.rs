//! Fuzzes Linode's answer decoders: the first byte picks raw bytes or a recorded fixture with fields broken by
//! the rest; decoding either fails with a decode error naming a path or converts into prov's models.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prov_core::model;
use prov_core::provider::Operation;
use prov_testkit::harness::{Decoded, Decoding};
use prov_linode::{INFO, api};

fn decode_all(d: &mut Decoded, body: &[u8]) {
    d.decode(body, Operation::ListRegions, |l: api::List<api::Region>| {
        l.data.into_iter().map(model::Region::from).count()
    });
    d.decode(body, Operation::ListSizes, |l: api::List<api::Type>| l.data.into_iter().map(model::Size::from).count());
    d.decode(body, Operation::ListImages, |l: api::List<api::Image>| {
        l.data.into_iter().map(model::Image::from).count()
    });
    d.decode(body, Operation::ListInstances, |l: api::List<api::Instance>| {
        l.data.into_iter().map(model::Instance::from).count()
    });
    d.decode(body, Operation::GetInstance, |i: api::Instance| model::Instance::from(i).id.len());
}

const DECODING: Decoding = Decoding {
    info: &INFO,
    decode_all,
    fixtures: &[
        (include_str!("../../fixtures/linode/regions.json"), Some(Operation::ListRegions)),
        (include_str!("../../fixtures/linode/types.json"), Some(Operation::ListSizes)),
        (include_str!("../../fixtures/linode/images.json"), Some(Operation::ListImages)),
        (include_str!("../../fixtures/linode/instances_list.json"), Some(Operation::ListInstances)),
        (include_str!("../../fixtures/linode/instance_get.json"), Some(Operation::GetInstance)),
    ],
};

fuzz_target!(|data: &[u8]| prov_fuzz::decode(&DECODING, data));
