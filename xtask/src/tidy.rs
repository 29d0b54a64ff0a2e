//! Tidy checks that run as tests in `cargo test --workspace` (rust-analyzer's habit): cheap rules that keep the
//! architecture's invariants true as the code grows.

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// Every `.rs` file below `dir`. A directory that cannot be read fails the check: a tidy rule that scans
    /// nothing must not pass.
    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("tidy: cannot read {}: {e}", dir.display()));
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
        assert!(!out.is_empty(), "tidy: no Rust files below {sub}");
        out
    }

    /// A file's text; a file that cannot be read fails the check.
    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap_or_else(|e| panic!("tidy: cannot read {}: {e}", p.display()))
    }

    /// The test code of a file: all of a file under `tests/`, otherwise what follows its first `#[cfg(test)]`.
    fn test_code(f: &Path) -> String {
        let text = read(f);
        if f.components().any(|c| c.as_os_str() == "tests") {
            return text;
        }
        text.find("#[cfg(test)]").map(|at| text[at..].to_owned()).unwrap_or_default()
    }

    #[test]
    fn the_scanners_fail_on_a_missing_path_instead_of_passing() {
        let missing = root().join("no-such-directory-here");
        assert!(std::panic::catch_unwind(|| files("no-such-directory-here")).is_err());
        assert!(std::panic::catch_unwind(|| read(&missing.join("x.rs"))).is_err());
        let here = root().join("xtask/src/tidy.rs");
        assert!(test_code(&here).contains("fn the_scanners_fail_on_a_missing_path_instead_of_passing"));
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
        for krate in ["prov-core", "prov-sandbox", "prov-testkit", "prov-vultr", "prov-linode", "prov-digitalocean"] {
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
        for krate in ["prov-core", "prov-sandbox", "prov-testkit"] {
            let toml = read(&root().join(format!("crates/{krate}/Cargo.toml")));
            for p in ["prov-vultr", "prov-linode", "prov-digitalocean"] {
                assert!(!toml.contains(p), "{krate} must not depend on {p}");
            }
            for f in files(&format!("crates/{krate}/src")) {
                let text = read(&f);
                for p in ["prov_vultr", "prov_linode", "prov_digitalocean"] {
                    assert!(!text.contains(p), "{} names {p}", f.display());
                }
            }
        }
    }

    /// The section of a Cargo.toml from `[header]` to the next section.
    fn section<'a>(toml: &'a str, header: &str) -> &'a str {
        let Some(start) = toml.find(header) else { return "" };
        let body = &toml[start + header.len()..];
        body.find("\n[").map_or(body, |end| &body[..end])
    }

    #[test]
    fn the_test_harness_stays_out_of_the_library_crates() {
        let core = read(&root().join("crates/prov-core/Cargo.toml"));
        assert!(!core.is_empty(), "crates/prov-core/Cargo.toml is missing");
        assert!(!core.contains("[features]"), "prov-core has no features: the sandbox and the harness are crates");
        let core_deps = section(&core, "[dependencies]");
        for banned in ["prov-sandbox", "prov-testkit", "jsonschema", "proptest", "form_urlencoded"] {
            assert!(!core_deps.contains(banned), "prov-core must not depend on {banned}");
        }
        let sandbox = read(&root().join("crates/prov-sandbox/Cargo.toml"));
        assert!(!sandbox.is_empty(), "crates/prov-sandbox/Cargo.toml is missing");
        for banned in ["prov-testkit", "jsonschema", "proptest"] {
            assert!(!section(&sandbox, "[dependencies]").contains(banned), "prov-sandbox must not depend on {banned}");
        }
        let testkit = read(&root().join("crates/prov-testkit/Cargo.toml"));
        assert!(testkit.contains("publish = false"), "prov-testkit is never published");
        for p in ["prov-vultr", "prov-linode", "prov-digitalocean"] {
            let toml = read(&root().join(format!("crates/{p}/Cargo.toml")));
            assert!(section(&toml, "[features]").contains("default = []"), "{p}'s sandbox feature is not a default");
            let deps = section(&toml, "[dependencies]");
            assert!(!deps.contains("prov-testkit"), "{p} uses prov-testkit as a dev-dependency only");
            assert!(
                deps.lines().filter(|l| l.starts_with("prov-sandbox")).all(|l| l.contains("optional = true")),
                "{p} depends on prov-sandbox only behind its sandbox feature"
            );
        }
        let cli = read(&root().join("crates/prov-cli/Cargo.toml"));
        assert!(!section(&cli, "[dependencies]").contains("prov-testkit"), "prov-cli uses prov-testkit in tests only");
    }

    #[test]
    fn tests_never_name_a_real_provider_host() {
        let hosts = ["https://api.vultr.com", "https://api.linode.com", "https://api.digitalocean.com"];
        let mut found = Vec::new();
        // Integration tests and the `#[cfg(test)]` modules in src/ alike.
        for f in files("crates") {
            let text = test_code(&f);
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

    /// Every `.rs`, `.md` and `.toml` file of the repository (not `target/`, not dot directories); a directory that
    /// cannot be read fails the test instead of being skipped.
    fn repo_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        for e in entries {
            let p = e.unwrap_or_else(|e| panic!("cannot read an entry of {}: {e}", dir.display())).path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if p.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    repo_files(&p, out);
                }
            } else if [".rs", ".md", ".toml"].iter().any(|ext| name.ends_with(ext)) {
                out.push(p);
            }
        }
    }

    /// `docs/providers/<name>.md §<N>` citations in `text`: (name, N).
    fn citations(text: &str) -> Vec<(String, String)> {
        let mut found = Vec::new();
        for (i, m) in text.match_indices("docs/providers/") {
            let rest = &text[i + m.len()..];
            let name: String =
                rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
            let Some(after) = rest[name.len()..].strip_prefix(".md §") else { continue };
            let n: String = after.chars().take_while(char::is_ascii_digit).collect();
            if !name.is_empty() && !n.is_empty() {
                found.push((name, n));
            }
        }
        found
    }

    #[test]
    fn the_repository_stands_alone_and_every_provider_citation_resolves() {
        let root = root();
        for dir in ["crates", "xtask", "docs", "docs/providers", "fixtures"] {
            assert!(root.join(dir).is_dir(), "{dir} is missing: the scan would prove nothing");
        }
        let mut all = Vec::new();
        repo_files(&root, &mut all);
        assert!(all.len() > 50, "only {} files found under {}", all.len(), root.display());
        // Spelt in two halves so this file does not name them itself.
        let banned = [concat!("FACTS", ".md"), concat!("../", "shared")];
        let mut problems = Vec::new();
        for f in &all {
            let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("cannot read {}: {e}", f.display()));
            for b in banned {
                if text.contains(b) {
                    problems.push(format!("{}: mentions {b}", f.display()));
                }
            }
            for (name, n) in citations(&text) {
                let doc = root.join(format!("docs/providers/{name}.md"));
                let Ok(body) = std::fs::read_to_string(&doc) else {
                    problems.push(format!("{}: cites docs/providers/{name}.md, which does not exist", f.display()));
                    continue;
                };
                let heading = body.lines().any(|l| {
                    l.starts_with('#')
                        && l.match_indices('§').any(|(i, _)| {
                            let digits: String =
                                l[i + '§'.len_utf8()..].chars().take_while(char::is_ascii_digit).collect();
                            digits == n
                        })
                });
                if !heading {
                    problems.push(format!(
                        "{}: cites docs/providers/{name}.md §{n}, which has no such heading",
                        f.display()
                    ));
                }
            }
        }
        assert!(problems.is_empty(), "the repository must stand alone: {problems:#?}");
    }

    #[test]
    fn citations_are_parsed() {
        let c =
            citations("see docs/providers/linode.md §10 and docs/providers/vultr.md §7, not docs/providers/<p>.md §1");
        assert_eq!(c, vec![("linode".to_owned(), "10".to_owned()), ("vultr".to_owned(), "7".to_owned())]);
    }
}
