//! Vultr's answer decoders never panic: arbitrary bytes, arbitrary JSON, and the recorded fixtures with single
//! fields broken all go through `prov_core::http::decode_json` with the crate's payload types, the conversions
//! into prov's models, and `INFO.parse_error`. A decode failure is always `Error::Decode` naming a JSON path. The
//! properties are shared by every provider (`prov_testkit::decoder_properties!`); this file lists Vultr's decoders.

use prov_core::model;
use prov_core::provider::Operation;
use prov_testkit::harness::{Decoded, Decoding};
use prov_vultr::{INFO, api};

/// Every Vultr decoder on one body.
fn decode_all(d: &mut Decoded, body: &[u8]) {
    d.decode(body, Operation::ListRegions, |l: api::RegionList| {
        format!("{:?}{:?}", l.regions.into_iter().map(model::Region::from).collect::<Vec<_>>(), l.meta.links.next)
    });
    d.decode(body, Operation::ListSizes, |l: api::PlanList| {
        format!("{:?}", l.plans.into_iter().map(model::Size::from).collect::<Vec<_>>())
    });
    d.decode(body, Operation::ListImages, |l: api::OsList| {
        format!("{:?}", l.os.into_iter().map(model::Image::from).collect::<Vec<_>>())
    });
    d.decode(body, Operation::ListInstances, |l: api::InstanceList| {
        format!("{:?}", l.instances.into_iter().map(model::Instance::from).collect::<Vec<_>>())
    });
    d.decode(body, Operation::GetInstance, |e: api::InstanceEnvelope| {
        let status = e.instance.normalized_status();
        format!("{status:?}{:?}", model::Instance::from(e.instance))
    });
}

/// Vultr's decoders and fixtures; a create answers with the same envelope as a get.
const DECODING: Decoding = Decoding {
    info: &INFO,
    decode_all,
    fixtures: &[
        (include_str!("../../../fixtures/vultr/regions.json"), Some(Operation::ListRegions)),
        (include_str!("../../../fixtures/vultr/plans.json"), Some(Operation::ListSizes)),
        (include_str!("../../../fixtures/vultr/os.json"), Some(Operation::ListImages)),
        (include_str!("../../../fixtures/vultr/instances_list.json"), Some(Operation::ListInstances)),
        (include_str!("../../../fixtures/vultr/instance_get.json"), Some(Operation::GetInstance)),
        (include_str!("../../../fixtures/vultr/instance_create.json"), Some(Operation::GetInstance)),
        (include_str!("../../../fixtures/vultr/error_400.json"), None),
        (include_str!("../../../fixtures/vultr/error_401.json"), None),
        (include_str!("../../../fixtures/vultr/error_404.json"), None),
    ],
};

prov_testkit::decoder_properties!(DECODING);
