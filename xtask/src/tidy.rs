//! Tidy checks that run as tests in `cargo test --workspace` (rust-analyzer's habit): cheap rules that keep the
//! architecture's invariants true as the code grows.

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if p.is_dir() && name != "target" && !name.starts_with('.') {
                rust_files(&p, out);
            } else if name.ends_with(".rs") {
                out.push(p);
            }
        }
    }

    fn files(sub: &str) -> Vec<PathBuf> {
        let mut out = Vec::new();
        rust_files(&root().join(sub), &mut out);
        out
    }

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap_or_default()
    }

    #[test]
    fn every_rust_file_says_what_it_is_responsible_for() {
        let mut missing = Vec::new();
        for dir in ["crates", "xtask", "fuzz"] {
            for f in files(dir) {
                let text = read(&f);
                let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                if !first.starts_with("//!") {
                    missing.push(f.display().to_string());
                }
            }
        }
        assert!(missing.is_empty(), "files without a `//!` header: {missing:#?}");
    }

    #[test]
    fn library_crates_never_print() {
        let mut found = Vec::new();
        for krate in ["prov-core", "prov-vultr", "prov-linode", "prov-digitalocean"] {
            for f in files(&format!("crates/{krate}/src")) {
                for (n, line) in read(&f).lines().enumerate() {
                    let code = line.split("//").next().unwrap_or("");
                    if ["println!", "eprintln!", "print!(", "eprint!(", "dbg!("].iter().any(|m| code.contains(m)) {
                        found.push(format!("{}:{}", f.display(), n + 1));
                    }
                }
            }
        }
        assert!(found.is_empty(), "library crates log through `log`, never print: {found:#?}");
    }

    #[test]
    fn core_knows_no_provider_and_providers_know_no_cli() {
        let core_toml = read(&root().join("crates/prov-core/Cargo.toml"));
        for p in ["prov-vultr", "prov-linode", "prov-digitalocean"] {
            assert!(!core_toml.contains(p), "prov-core must not depend on {p}");
            let toml = read(&root().join(format!("crates/{p}/Cargo.toml")));
            let deps = toml.split("[dev-dependencies]").next().unwrap_or("");
            for banned in ["clap", "anyhow", "prov-cli"] {
                assert!(!deps.contains(banned), "{p} must not depend on {banned}");
            }
        }
        for f in files("crates/prov-core/src") {
            let text = read(&f);
            for p in ["prov_vultr", "prov_linode", "prov_digitalocean"] {
                assert!(!text.contains(p), "{} names {p}", f.display());
            }
        }
    }

    #[test]
    fn tests_never_name_a_real_provider_host() {
        let hosts = ["https://api.vultr.com", "https://api.linode.com", "https://api.digitalocean.com"];
        let mut found = Vec::new();
        for f in files("crates").into_iter().filter(|f| f.components().any(|c| c.as_os_str() == "tests")) {
            let text = read(&f);
            // A refusal test may name a host with plain http (it never connects); https would be a real call.
            for h in hosts {
                if text.contains(h) {
                    found.push(format!("{}: {h}", f.display()));
                }
            }
        }
        assert!(found.is_empty(), "tests stay on loopback: {found:#?}");
    }

    #[test]
    fn only_the_http_chokepoint_builds_an_agent() {
        let mut found = Vec::new();
        for f in files("crates") {
            if f.ends_with("prov-core/src/http.rs") {
                continue;
            }
            let text = read(&f);
            for m in ["ureq::Agent", "ureq::get(", "ureq::post(", "ureq::delete(", "Agent::new_with"] {
                if text.contains(m) {
                    found.push(format!("{}: {m}", f.display()));
                }
            }
        }
        assert!(found.is_empty(), "HTTP goes through prov_core::http::Http: {found:#?}");
    }
}
