//! Secrets never reach the terminal: every command (list of each kind, show, plan, apply with and without
//! `--dry-run`, delete, destroy, `list all`) for every provider runs at `-vvv` against the sandbox with
//! distinctive tokens, user data, a Linode root password (good and weak), and the default password the Vultr
//! sandbox returns; none of them appears in stdout or stderr, in clear or base64-encoded (standard or URL-safe). A root password prov
//! generates is shown exactly once, on stdout.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use prov_cli::settings::registry;
use prov_core::provider::ProviderInfo;
use prov_sandbox::{Sandbox, SandboxOptions};

const PROV: &str = env!("CARGO_BIN_EXE_prov");

/// The token of each provider.
fn token(p: &ProviderInfo) -> String {
    format!("tok-SECRET-{}-5e1f", p.name)
}

/// The user data of each provider's plan.
fn user_data(p: &ProviderInfo) -> String {
    format!("ud-SECRET-{}-c0ffee", p.name)
}

const ROOT_PASSWORD: &str = "Root-SECRET-linode-7c2e";
const WEAK_PASSWORD: &str = "weakSECRETlinodeonly";
/// What the Vultr sandbox returns as `default_password` on create (`sandbox-` and the id's first 8 characters).
const VULTR_DEFAULT_PASSWORD: &str = "sandbox-5a4db0c5";

/// Every secret and its base64 forms (standard and URL-safe, with and without padding).
fn forbidden() -> Vec<String> {
    let mut plain: Vec<String> = registry().iter().flat_map(|p| [token(p), user_data(p)]).collect();
    plain.extend([ROOT_PASSWORD, WEAK_PASSWORD, VULTR_DEFAULT_PASSWORD].map(str::to_owned));
    let encoded: Vec<String> = plain
        .iter()
        .flat_map(|s| {
            let standard = base64(s.as_bytes());
            let url_safe = standard.replace('+', "-").replace('/', "_");
            [standard.trim_end_matches('=').to_owned(), url_safe.trim_end_matches('=').to_owned()]
        })
        .collect();
    plain.into_iter().chain(encoded).collect()
}

/// Standard base64 with padding (the test crate has no base64 dependency; the padding-less prefix is what is
/// searched, so it matches padded and unpadded forms alike).
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn the_base64_helper_matches_the_rfc_4648_vectors() {
    for (plain, encoded) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")] {
        assert_eq!(base64(plain.as_bytes()), encoded);
    }
}

/// A scratch directory of one test.
fn dir(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("prov-secrets-test-{}-{test}", std::process::id()));
    let _ = std::fs::create_dir_all(&d);
    d
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {name}: {e}"));
    path.display().to_string()
}

/// A plan for `p` with its secrets; `extra` adds keys.
fn plan(dir: &Path, p: &ProviderInfo, label: &str, extra: &str) -> String {
    let body = match p.name {
        "vultr" => "region = \"syd\"\nplan = \"vc2-1c-1gb\"\nimage = 2136\n",
        "linode" => "region = \"ap-southeast\"\nplan = \"g6-nanode-1\"\nimage = \"linode/debian12\"\n",
        _ => "region = \"sgp1\"\nplan = \"s-1vcpu-1gb\"\nimage = \"ubuntu-24-04-x64\"\n",
    };
    let text = format!(
        "provider = \"{}\"\n[[instance]]\nlabel = \"{label}\"\n{body}user_data = \"{}\"\n{extra}",
        p.name,
        user_data(p)
    );
    write(dir, &format!("{label}.toml"), &text)
}

struct Run {
    sb: Sandbox,
    seen: String,
}

impl Run {
    fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![("PROV_CACHE_TTL", "0".to_owned())];
        for p in registry() {
            env.push((p.url_env, self.sb.base_url(p.sandbox_path)));
            env.push((p.token_env[0], token(p)));
        }
        env
    }

    /// Runs `prov -vvv args`, keeps everything it printed, and checks it did not panic.
    fn prov(&mut self, args: &[&str]) -> Output {
        let mut cmd = Command::new(PROV);
        cmd.env_clear()
            .env("PROV_CACHE_DIR", std::env::temp_dir().join(format!("prov-test-cache-{}", std::process::id())))
            .arg("-vvv")
            .args(args)
            .stdin(Stdio::null());
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        let o = cmd.output().unwrap_or_else(|e| panic!("run prov: {e}"));
        let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
        self.seen.push_str(&format!("$ prov -vvv {}\n{out}{err}", args.join(" ")));
        o
    }

    /// Like [`Run::prov`], and the command must succeed.
    fn ok(&mut self, args: &[&str]) -> Output {
        let o = self.prov(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        o
    }
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_default()
}

#[test]
fn no_command_prints_a_secret_even_at_vvv() {
    let opts = SandboxOptions { boot: Duration::ZERO, ..SandboxOptions::default() };
    let sb = Sandbox::start("127.0.0.1:0", prov_cli::settings::dialects(None), opts)
        .unwrap_or_else(|e| panic!("sandbox: {e}"));
    let mut run = Run { sb, seen: String::new() };
    let tmp = dir("every-command");
    for p in registry() {
        let name = p.name;
        let extra = if name == "linode" { format!("root_password = \"{ROOT_PASSWORD}\"\n") } else { String::new() };
        let file = plan(&tmp, p, &format!("s-{name}"), &extra);
        for what in ["regions", "plans", "images", "instances"] {
            run.ok(&["list", name, what]);
        }
        run.ok(&["-o", "json", "list", name, "regions"]);
        // Before anything exists: the dry run and the plan show the create request, secrets masked.
        let dry = run.ok(&["apply", &file, "--dry-run"]);
        assert!(String::from_utf8_lossy(&dry.stdout).contains("[redacted]"), "{name}: the dry run shows the masks");
        run.ok(&["-o", "json", "apply", &file, "--dry-run"]);
        run.ok(&["plan", &file]);
        run.ok(&["-o", "json", "plan", &file]);
        let applied = run.ok(&["-o", "json", "apply", &file]);
        let id = json(&applied)["instances"][0]["id"].as_str().unwrap_or_default().to_owned();
        assert!(!id.is_empty(), "{name}: {}", String::from_utf8_lossy(&applied.stdout));
        run.ok(&["apply", &file]);
        run.ok(&["show", name, &id]);
        run.ok(&["-o", "json", "show", name, &id]);
        run.ok(&["-o", "json", "list", name, "instances"]);
        run.ok(&["plan", &file]);
        run.ok(&["delete", name, &id, "--yes"]);
        run.prov(&["delete", name, &id, "--yes"]);
        run.ok(&["apply", &file, "--wait", "none"]);
        run.ok(&["destroy", &file, "--yes"]);
    }
    run.prov(&["list", "all", "instances"]);
    run.prov(&["list", "all", "regions"]);
    // A create the provider refuses (Linode: weak password): the error path prints the 400, never the password.
    let weak = plan(&tmp, &prov_linode::INFO, "s-weak", &format!("root_password = \"{WEAK_PASSWORD}\"\n"));
    let refused = run.prov(&["apply", &weak]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("root_pass: Password does not meet strength"));
    // A recipe with the secrets (legacy Prod format).
    let recipe = write(
        &tmp,
        "s-recipe.txt",
        &format!(
            "provider: linode\naction: createInstance\nregion: ap-southeast\ntype: g6-nanode-1\nimage: linode/debian12\nlabel: s-recipe\nroot_pass: {ROOT_PASSWORD}\n"
        ),
    );
    run.ok(&["apply", &recipe, "--dry-run"]);
    run.ok(&["apply", &recipe]);
    let seen = run.seen.clone();
    for secret in forbidden() {
        if let Some(at) = seen.find(&secret) {
            let context = &seen[seen[..at].rfind("$ prov").unwrap_or(0)..];
            panic!("`{secret}` leaked:\n{}", context.lines().take(40).collect::<Vec<_>>().join("\n"));
        }
    }
    assert!(seen.contains("[trace]") && seen.contains("[redacted]"), "-vvv traced bodies with masks");
    let _ = std::fs::remove_dir_all(tmp);
}

#[test]
fn a_generated_root_password_is_shown_once_on_stdout_and_nowhere_else() {
    let opts = SandboxOptions { boot: Duration::ZERO, ..SandboxOptions::default() };
    let sb = Sandbox::start("127.0.0.1:0", prov_cli::settings::dialects(None), opts)
        .unwrap_or_else(|e| panic!("sandbox: {e}"));
    let mut run = Run { sb, seen: String::new() };
    let tmp = dir("generated");
    let file = plan(&tmp, &prov_linode::INFO, "s-generated", "");
    let o = run.ok(&["apply", &file]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let marker = "(generated by prov, shown only now): ";
    let pw = out.lines().find_map(|l| l.split_once(marker).map(|(_, pw)| pw.trim().to_owned())).unwrap_or_default();
    assert!(pw.len() >= 16, "the generated password is shown: {out}");
    assert_eq!(out.matches(&pw).count(), 1, "once on stdout");
    assert!(!err.contains(&pw), "never in the -vvv log");
    run.ok(&["apply", &file]);
    run.ok(&["-o", "json", "list", "linode", "instances"]);
    assert_eq!(run.seen.matches(&pw).count(), 1, "a rerun or a list never shows it again");
    let _ = std::fs::remove_dir_all(tmp);
}

/// A malformed recipe line that carries a password must not be echoed in the plan error (the parser names the key
/// at most, never the line).
#[test]
fn a_malformed_recipe_line_does_not_echo_a_password() {
    let tmp = dir("malformed");
    for line in [format!("root_pass {ROOT_PASSWORD}"), format!("root_pass={ROOT_PASSWORD}")] {
        let recipe = write(
            &tmp,
            "s-malformed.txt",
            &format!(
                "provider: linode\naction: createInstance\nregion: ap-southeast\ntype: g6-nanode-1\nimage: linode/debian12\n{line}\n"
            ),
        );
        let o = Command::new(PROV)
            .env_clear()
            .env("PROV_CACHE_DIR", std::env::temp_dir().join(format!("prov-test-cache-{}", std::process::id())))
            .args(["apply", &recipe, "--dry-run"])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run prov: {e}"));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(!err.contains(ROOT_PASSWORD), "the password is echoed: {err}");
    }
}
