//! Fuzzes the sandbox fault-spec parser and its path globs: an error or rules, never a panic; a parsed action
//! prints in spec syntax that parses back to the same action.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prov_sandbox::faults::{Faults, glob_matches};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(faults) = Faults::parse(text) {
        for rule in faults.rules() {
            let again = Faults::parse(&format!("{} => {}", rule.path, rule.action));
            assert_eq!(again.ok().map(|f| f.rules()[0].action.clone()), Some(rule.action.clone()));
            let _ = faults.pick("GET", &rule.path);
        }
    }
    let (pattern, path) = text.split_once('\n').unwrap_or((text, "/"));
    let _ = glob_matches(pattern, path);
});
