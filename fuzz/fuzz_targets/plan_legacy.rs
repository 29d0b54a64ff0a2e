//! Fuzzes the legacy Prod recipe parser (`key: value` lines, chosen by the `.txt` extension): any text gives a
//! plan or located plan errors, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prov_core::provider::ProviderInfo;

static REGISTRY: [&ProviderInfo; 3] = [&prov_vultr::INFO, &prov_linode::INFO, &prov_digitalocean::INFO];

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = prov_core::plan::parse(std::path::Path::new("fuzz/recipe.txt"), text, &REGISTRY);
    }
});
