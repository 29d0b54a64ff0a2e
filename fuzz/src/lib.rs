//! What the decoder fuzz targets share: each target describes its provider's decoders and fixtures as a
//! `prov_testkit::harness::Decoding` (as the provider's `tests/robustness.rs` does) and hands every input
//! to [`decode`].

use prov_testkit::harness::{Decoding, decode_everything, mutate};

/// Fuzzes `d` with `data`: the first byte picks raw bytes (0) or a recorded fixture with fields broken by the
/// rest; every decoder then either fails with a decode error naming a path or converts into prov's models, and
/// `parse_error` reads the body as an error answer of every status — none of them may panic.
pub fn decode(d: &Decoding, data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    let body = match usize::from(mode) % (d.fixtures.len() + 1) {
        0 => rest.to_vec(),
        n => match d.fixtures.get(n - 1) {
            Some((text, _)) => mutate(&serde_json::from_str(text).unwrap_or_default(), rest).to_string().into_bytes(),
            None => return,
        },
    };
    decode_everything(d, &body);
}
