//! DigitalOcean's answer decoders never panic: arbitrary bytes, arbitrary JSON, and the recorded fixtures with
//! single fields broken all go through `prov_core::http::decode_json` with the crate's payload types, the
//! conversions into prov's models, the next-page link parser, and `INFO.parse_error`. A decode failure is always
//! `Error::Decode` naming a JSON path. The properties are shared by every provider
//! (`prov_testkit::decoder_properties!`); this file lists DigitalOcean's decoders and checks its own helpers.

use proptest::prelude::*;
use prov_core::model;
use prov_core::provider::Operation;
use prov_digitalocean::{INFO, api};
use prov_testkit::harness::{Decoded, Decoding};

/// The next-page number of a list's links, as the client reads it.
fn next_page(links: &api::Links) -> Option<u64> {
    links.pages.next.as_deref().and_then(api::page_number)
}

/// Every DigitalOcean decoder on one body.
fn decode_all(d: &mut Decoded, body: &[u8]) {
    d.decode(body, Operation::ListRegions, |l: api::RegionList| {
        format!("{:?}{:?}", next_page(&l.links), l.regions.into_iter().map(model::Region::from).collect::<Vec<_>>())
    });
    d.decode(body, Operation::ListSizes, |l: api::SizeList| {
        format!("{:?}{:?}", next_page(&l.links), l.sizes.into_iter().map(model::Size::from).collect::<Vec<_>>())
    });
    d.decode(body, Operation::ListImages, |l: api::ImageList| {
        format!("{:?}{:?}", next_page(&l.links), l.images.into_iter().map(model::Image::from).collect::<Vec<_>>())
    });
    d.decode(body, Operation::ListInstances, |l: api::DropletList| {
        format!("{:?}{:?}", next_page(&l.links), l.droplets.into_iter().map(model::Instance::from).collect::<Vec<_>>())
    });
    d.decode(body, Operation::GetInstance, |e: api::DropletEnvelope| {
        let status = e.droplet.normalized_status();
        format!("{status:?}{:?}{:?}", e.links.actions.len(), model::Instance::from(e.droplet))
    });
}

/// DigitalOcean's decoders and fixtures; a create answers with the same envelope as a get.
const DECODING: Decoding = Decoding {
    info: &INFO,
    decode_all,
    fixtures: &[
        (include_str!("../../../fixtures/digitalocean/regions.json"), Some(Operation::ListRegions)),
        (include_str!("../../../fixtures/digitalocean/sizes.json"), Some(Operation::ListSizes)),
        (include_str!("../../../fixtures/digitalocean/images_distribution.json"), Some(Operation::ListImages)),
        (include_str!("../../../fixtures/digitalocean/droplets_list.json"), Some(Operation::ListInstances)),
        (include_str!("../../../fixtures/digitalocean/droplet_get.json"), Some(Operation::GetInstance)),
        (include_str!("../../../fixtures/digitalocean/droplet_create.json"), Some(Operation::GetInstance)),
        (include_str!("../../../fixtures/digitalocean/error_401.json"), None),
        (include_str!("../../../fixtures/digitalocean/error_404.json"), None),
        (include_str!("../../../fixtures/digitalocean/error_422.json"), None),
    ],
};

prov_testkit::decoder_properties!(DECODING);

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn link_and_unit_helpers_never_panic(url in ".{0,60}", slug in ".{0,8}", tb in any::<f64>()) {
        let _ = api::page_number(&url);
        let _ = api::page_number(&format!("https://api.example.invalid/v2/sizes?{url}"));
        let _ = api::country_of(&slug);
        let _ = api::tb_to_gb(tb);
    }
}
