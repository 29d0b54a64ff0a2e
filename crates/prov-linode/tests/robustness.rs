//! Linode's answer decoders never panic: arbitrary bytes, arbitrary JSON, and the recorded fixtures with single
//! fields broken all go through `prov_core::http::decode_json` with the crate's payload types, the conversions
//! into prov's models (timestamps, addresses), paging, and `INFO.parse_error`. A decode failure is always
//! `Error::Decode` naming a JSON path. The properties are shared by every provider
//! (`prov_testkit::decoder_properties!`); this file lists Linode's decoders and checks its own helpers.

use proptest::collection::vec;
use proptest::prelude::*;
use prov_core::model;
use prov_core::provider::Operation;
use prov_linode::{INFO, api};
use prov_testkit::harness::{Decoded, Decoding, arbitrary_json};

/// Every Linode decoder on one body.
fn decode_all(d: &mut Decoded, body: &[u8]) {
    d.decode(body, Operation::ListRegions, |l: api::List<api::Region>| {
        format!("{:?}{:?}", l.next_page(), l.data.into_iter().map(model::Region::from).collect::<Vec<_>>())
    });
    d.decode(body, Operation::ListSizes, |l: api::List<api::Type>| {
        format!("{:?}{:?}", l.next_page(), l.data.into_iter().map(model::Size::from).collect::<Vec<_>>())
    });
    d.decode(body, Operation::ListImages, |l: api::List<api::Image>| {
        format!("{:?}{:?}", l.next_page(), l.data.into_iter().map(model::Image::from).collect::<Vec<_>>())
    });
    d.decode(body, Operation::ListInstances, |l: api::List<api::Instance>| {
        format!("{:?}{:?}", l.next_page(), l.data.into_iter().map(model::Instance::from).collect::<Vec<_>>())
    });
    d.decode(body, Operation::GetInstance, |i: api::Instance| {
        let status = i.normalized_status();
        format!("{status:?}{:?}", model::Instance::from(i))
    });
}

/// Linode's decoders and fixtures; a create answers with the instance, as a get does.
const DECODING: Decoding = Decoding {
    info: &INFO,
    decode_all,
    fixtures: &[
        (include_str!("../../../fixtures/linode/regions.json"), Some(Operation::ListRegions)),
        (include_str!("../../../fixtures/linode/types.json"), Some(Operation::ListSizes)),
        (include_str!("../../../fixtures/linode/images.json"), Some(Operation::ListImages)),
        (include_str!("../../../fixtures/linode/instances_list.json"), Some(Operation::ListInstances)),
        (include_str!("../../../fixtures/linode/instance_get.json"), Some(Operation::GetInstance)),
        (include_str!("../../../fixtures/linode/instance_create.json"), Some(Operation::GetInstance)),
        (include_str!("../../../fixtures/linode/error_400.json"), None),
        (include_str!("../../../fixtures/linode/error_401.json"), None),
        (include_str!("../../../fixtures/linode/error_404.json"), None),
    ],
};

prov_testkit::decoder_properties!(DECODING);

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn address_and_time_helpers_never_panic(text in ".{0,40}", seed in vec(any::<u8>(), 0..64)) {
        let _ = api::utc_timestamp(&text);
        let _ = api::strip_prefix_len(&text);
        let _ = api::normalize_status(&text);
        let _ = api::public_ipv4(&[text.clone(), arbitrary_json(&seed).to_string()]);
    }
}
