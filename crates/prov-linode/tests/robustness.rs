//! Linode's answer decoders never panic: arbitrary bytes, arbitrary JSON, and the recorded fixtures with single
//! fields broken all go through `prov_core::http::decode_json` with the crate's payload types, the conversions
//! into prov's models (timestamps, addresses), paging, and `INFO.parse_error`. A decode failure is always
//! `Error::Decode` naming a JSON path.

use proptest::collection::vec;
use proptest::prelude::*;
use prov_core::Error;
use prov_core::http::decode_json;
use prov_core::model;
use prov_core::provider::Operation;
use prov_core::sandbox::testing::{arbitrary_json, mutate};
use prov_linode::{INFO, api};
use serde::de::DeserializeOwned;

/// Decodes `body` as `T` and, when that works, converts it with `into_model`.
fn decode<T: DeserializeOwned>(body: &[u8], op: Operation, into_model: impl FnOnce(T) -> String) {
    match decode_json::<T>(INFO.name, op, body) {
        Ok(v) => {
            let _ = into_model(v);
        }
        Err(Error::Decode { path, message, .. }) => {
            assert!(!path.is_empty() && !message.is_empty(), "a decode error names a path and a cause");
        }
        Err(other) => panic!("decoding fails only with Error::Decode, not {other:?}"),
    }
}

/// Every Linode decoder on one body.
fn decode_all(body: &[u8]) {
    decode(body, Operation::ListRegions, |l: api::List<api::Region>| {
        format!("{:?}{:?}", l.next_page(), l.data.into_iter().map(model::Region::from).collect::<Vec<_>>())
    });
    decode(body, Operation::ListPlans, |l: api::List<api::Type>| {
        format!("{:?}{:?}", l.next_page(), l.data.into_iter().map(model::Plan::from).collect::<Vec<_>>())
    });
    decode(body, Operation::ListImages, |l: api::List<api::Image>| {
        format!("{:?}{:?}", l.next_page(), l.data.into_iter().map(model::Image::from).collect::<Vec<_>>())
    });
    decode(body, Operation::ListInstances, |l: api::List<api::Instance>| {
        format!("{:?}{:?}", l.next_page(), l.data.into_iter().map(model::Instance::from).collect::<Vec<_>>())
    });
    decode(body, Operation::GetInstance, |i: api::Instance| {
        let status = i.normalized_status();
        format!("{status:?}{:?}", model::Instance::from(i))
    });
    for status in [400, 401, 404, 422, 429, 500, 502] {
        let _ = (INFO.parse_error)(status, body).to_string();
    }
}

const FIXTURES: &[&str] = &[
    include_str!("../../../fixtures/linode/regions.json"),
    include_str!("../../../fixtures/linode/types.json"),
    include_str!("../../../fixtures/linode/images.json"),
    include_str!("../../../fixtures/linode/instances_list.json"),
    include_str!("../../../fixtures/linode/instance_get.json"),
    include_str!("../../../fixtures/linode/instance_create.json"),
    include_str!("../../../fixtures/linode/error_400.json"),
    include_str!("../../../fixtures/linode/error_401.json"),
    include_str!("../../../fixtures/linode/error_404.json"),
];

#[test]
fn the_fixtures_decode() {
    for text in &FIXTURES[..6] {
        decode_all(text.as_bytes());
    }
    assert!(decode_json::<api::List<api::Region>>(INFO.name, Operation::ListRegions, FIXTURES[0].as_bytes()).is_ok());
    assert!(decode_json::<api::Instance>(INFO.name, Operation::GetInstance, FIXTURES[4].as_bytes()).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(body in vec(any::<u8>(), 0..1024)) {
        decode_all(&body);
    }

    #[test]
    fn arbitrary_json_never_panics(seed in vec(any::<u8>(), 0..512)) {
        decode_all(arbitrary_json(&seed).to_string().as_bytes());
    }

    #[test]
    fn broken_fixtures_never_panic(which in 0..FIXTURES.len(), edits in vec(any::<u8>(), 0..64), cut in any::<u16>()) {
        let fixture: serde_json::Value = serde_json::from_str(FIXTURES[which]).unwrap_or_default();
        let text = mutate(&fixture, &edits).to_string();
        decode_all(text.as_bytes());
        decode_all(&text.as_bytes()[..usize::from(cut) % (text.len() + 1)]);
    }

    #[test]
    fn error_bodies_never_panic(status in any::<u16>(), body in vec(any::<u8>(), 0..512), seed in vec(any::<u8>(), 0..128)) {
        let _ = (INFO.parse_error)(status, &body).to_string();
        let _ = (INFO.parse_error)(status, arbitrary_json(&seed).to_string().as_bytes()).to_string();
    }

    #[test]
    fn address_and_time_helpers_never_panic(text in ".{0,40}", seed in vec(any::<u8>(), 0..64)) {
        let _ = api::utc_timestamp(&text);
        let _ = api::strip_prefix_len(&text);
        let _ = api::normalize_status(&text);
        let _ = api::public_ipv4(&[text.clone(), arbitrary_json(&seed).to_string()]);
    }
}
