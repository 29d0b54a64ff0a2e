//! Fuzzes DigitalOcean's answer decoders: the first byte picks raw bytes or a recorded fixture with fields broken by
//! the rest; decoding either fails with a decode error naming a path or converts into prov's models.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prov_core::model;
use prov_core::provider::Operation;
use prov_testkit::harness::{Decoded, Decoding};
use prov_digitalocean::{INFO, api};

fn decode_all(d: &mut Decoded, body: &[u8]) {
    d.decode(body, Operation::ListRegions, |l: api::RegionList| l.regions.into_iter().map(model::Region::from).count());
    d.decode(body, Operation::ListSizes, |l: api::SizeList| l.sizes.into_iter().map(model::Size::from).count());
    d.decode(body, Operation::ListImages, |l: api::ImageList| l.images.into_iter().map(model::Image::from).count());
    d.decode(body, Operation::ListInstances, |l: api::DropletList| {
        l.droplets.into_iter().map(model::Instance::from).count()
    });
    d.decode(body, Operation::GetInstance, |e: api::DropletEnvelope| model::Instance::from(e.droplet).id.len());
}

const DECODING: Decoding = Decoding {
    info: &INFO,
    decode_all,
    fixtures: &[
        (include_str!("../../fixtures/digitalocean/regions.json"), Some(Operation::ListRegions)),
        (include_str!("../../fixtures/digitalocean/sizes.json"), Some(Operation::ListSizes)),
        (include_str!("../../fixtures/digitalocean/images_distribution.json"), Some(Operation::ListImages)),
        (include_str!("../../fixtures/digitalocean/droplets_list.json"), Some(Operation::ListInstances)),
        (include_str!("../../fixtures/digitalocean/droplet_get.json"), Some(Operation::GetInstance)),
    ],
};

fuzz_target!(|data: &[u8]| prov_fuzz::decode(&DECODING, data));
