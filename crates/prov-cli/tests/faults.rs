//! Faults as a user meets them: the `prov` binary against a sandbox with injected faults (an in-test sandbox
//! pointed at by `PROV_<P>_API_URL`, the embedded `--sandbox` with `PROV_SANDBOX_FAULTS`, and `prov sandbox
//! --fault`). A failure exits 1 with exactly one stderr line naming provider, operation and cause; a recoverable
//! fault exits 0; a lost create answer is recovered without a second POST.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use prov_cli::settings::registry;
use prov_sandbox::{REVOKED_TOKEN, Sandbox, SandboxOptions};

const PROV: &str = env!("CARGO_BIN_EXE_prov");

/// An in-test sandbox serving every dialect with `faults` (`{vultr}`, `{linode}`, `{digitalocean}` stand for the
/// dialect prefixes).
fn sandbox(faults: &str) -> Sandbox {
    let opts = SandboxOptions { boot: Duration::ZERO, faults: expand(faults), ..SandboxOptions::default() };
    Sandbox::start("127.0.0.1:0", prov_cli::settings::dialects(None), opts).unwrap_or_else(|e| panic!("sandbox: {e}"))
}

fn expand(faults: &str) -> String {
    registry().iter().fold(faults.to_owned(), |f, p| f.replace(&format!("{{{}}}", p.name), p.sandbox_path))
}

/// Runs prov with a clean environment (no real token, no cache) plus `env`.
fn prov(args: &[&str], env: &[(&str, String)]) -> Output {
    let mut cmd = Command::new(PROV);
    cmd.env_clear().env("PROV_CACHE_TTL", "0").args(args).stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap_or_else(|e| panic!("run prov: {e}"))
}

/// URL and token variables pointing every provider at `sb`, with `token`.
fn env_for(sb: &Sandbox, token: &str) -> Vec<(&'static str, String)> {
    registry()
        .iter()
        .flat_map(|p| [(p.url_env, sb.base_url(p.sandbox_path)), (p.token_env[0], token.to_owned())])
        .collect()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn gets(sb: &Sandbox, path: &str) -> usize {
    sb.world().request_log().iter().filter(|(m, p)| m == "GET" && p == path).count()
}

/// Exit 1, nothing on stdout, and exactly one stderr line: `error: <provider>: <operation> failed: …<cause>…`.
fn assert_one_line_failure(o: &Output, provider: &str, operation: &str, causes: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{provider}: {err}");
    assert_eq!(err.lines().count(), 1, "{provider}: exactly one line: {err}");
    let head = format!("error: {provider}: {operation} failed: ");
    assert!(err.starts_with(&head), "{provider}: `{err}` does not start with `{head}`");
    for cause in causes {
        assert!(err.contains(cause), "{provider}: `{err}` does not say `{cause}`");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(stdout(o).is_empty(), "{provider}: stdout: {}", stdout(o));
}

#[test]
fn an_html_502_on_every_attempt_exits_1_after_the_retries() {
    let sb = sandbox("GET /**/regions => 502 retry-after=0");
    for p in registry() {
        let o = prov(&["list", p.name, "regions"], &env_for(&sb, "tok"));
        assert_one_line_failure(&o, p.name, "list regions", &["HTTP 502", "an HTML page"]);
        assert!(!stderr(&o).contains('<'), "the page itself is not printed: {}", stderr(&o));
        let path = format!("{}/regions", p.sandbox_path);
        assert_eq!(gets(&sb, &path), 4, "{}: the policy's 4 attempts", p.name);
    }
}

#[test]
fn an_html_502_with_real_backoff_through_the_embedded_sandbox() {
    // No Retry-After: the real full-jitter backoff (at most 0.5 + 1 + 2 s) between the 4 attempts.
    let started = Instant::now();
    let env = [("PROV_SANDBOX_FAULTS", "GET /linode/v4/regions => 502".to_owned())];
    let o = prov(&["--sandbox", "list", "linode", "regions"], &env);
    assert_one_line_failure(&o, "linode", "list regions", &["HTTP 502", "an HTML page"]);
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
}

#[test]
fn a_truncated_answer_exits_1_naming_the_json_path() {
    let sb = sandbox("GET /**/regions => truncate");
    for p in registry() {
        let o = prov(&["-o", "json", "list", p.name, "regions"], &env_for(&sb, "tok"));
        assert_one_line_failure(&o, p.name, "list regions", &["unexpected answer at `", "the JSON ends early"]);
        assert!(!stderr(&o).contains("at `.`"), "a path inside the answer: {}", stderr(&o));
        assert_eq!(gets(&sb, &format!("{}/regions", p.sandbox_path)), 1, "a decode error is not retried");
    }
}

#[test]
fn a_revoked_token_exits_1_with_the_providers_own_401() {
    let sb = sandbox("");
    for p in registry() {
        let o = prov(&["list", p.name, "instances"], &env_for(&sb, REVOKED_TOKEN));
        assert_one_line_failure(&o, p.name, "list instances", &["HTTP 401"]);
    }
}

#[test]
fn an_injected_401_through_prov_sandbox_faults_exits_1() {
    let env = [("PROV_SANDBOX_FAULTS", "GET /digitalocean/v2/droplets => 401".to_owned())];
    let o = prov(&["--sandbox", "list", "do", "instances"], &env);
    assert_one_line_failure(&o, "digitalocean", "list instances", &["HTTP 401", "Unauthorized (sandbox fault)"]);
}

#[test]
fn a_recoverable_429_exits_0() {
    // One pair of rules per provider: a rule counts every request its glob matches.
    let faults = "GET {vultr}/regions #1 => 429 retry-after=0; GET {vultr}/plans #1 => 429 retry-after-date=0; \
        GET {linode}/regions #1 => 429 retry-after=0; GET {linode}/linode/types #1 => 429 retry-after-date=0; \
        GET {digitalocean}/regions #1 => 429 retry-after=0; GET {digitalocean}/sizes #1 => 429 retry-after-date=0";
    let sb = sandbox(faults);
    for p in registry() {
        for what in ["regions", "plans"] {
            let o = prov(&["-o", "json", "list", p.name, what], &env_for(&sb, "tok"));
            assert_eq!(o.status.code(), Some(0), "{} {what}: {}", p.name, stderr(&o));
            let items: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
            assert!(items.as_array().is_some_and(|a| !a.is_empty()), "{} {what}: {}", p.name, stdout(&o));
            assert!(stderr(&o).is_empty(), "{} {what}: {}", p.name, stderr(&o));
        }
        assert_eq!(gets(&sb, &format!("{}/regions", p.sandbox_path)), 2, "{}", p.name);
        let all = sb.world().request_log().iter().filter(|(_, path)| path.starts_with(p.sandbox_path)).count();
        assert_eq!(all, 4, "{}: one 429 for each list, each retried once", p.name);
    }
}

#[test]
fn faults_from_the_environment_reach_the_embedded_sandbox() {
    let faults = "GET /vultr/v2/regions #1 => 429 retry-after=0; GET /vultr/v2/os => missing-fields";
    let env = [("PROV_SANDBOX_FAULTS", faults.to_owned())];
    let o = prov(&["--sandbox", "-o", "json", "list", "vultr", "regions"], &env);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = prov(&["--sandbox", "list", "vultr", "images"], &env);
    assert_one_line_failure(&o, "vultr", "list images", &["missing field `os`"]);
}

#[test]
fn an_invalid_fault_spec_is_one_clear_error_not_a_panic() {
    let env = [("PROV_SANDBOX_FAULTS", "GET /vultr/v2/regions => explode".to_owned())];
    let o = prov(&["--sandbox", "list", "vultr", "regions"], &env);
    let err = stderr(&o);
    assert_ne!(o.status.code(), Some(0));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("invalid sandbox fault #1 `GET /vultr/v2/regions => explode`: unknown action"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let o = prov(&["sandbox", "--listen", "127.0.0.1:0", "--fault", "GET regions => 502"], &[]);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("must start with `/`"), "{}", stderr(&o));
}

#[test]
fn a_lost_create_answer_is_recovered_by_apply_without_a_second_post() {
    let sb = sandbox("POST {vultr}/instances #1 => reset-after");
    let plan = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/vultr-small.toml");
    let o = prov(&["-o", "json", "apply", &plan.display().to_string(), "--wait", "none"], &env_for(&sb, "tok"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let posts = sb.world().request_log().iter().filter(|(m, _)| m == "POST").count();
    assert_eq!(posts, 1, "the instance was found by its marker, not created again");
    assert_eq!(sb.world().list("vultr").len(), 1);
}

#[test]
fn a_create_refused_with_500_on_every_attempt_fails_and_creates_nothing() {
    let sb = sandbox("POST {linode}/linode/instances => 500");
    let plan = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/linode-small.toml");
    // A short settle window: each 500 is followed by marker lookups for this long before deciding.
    let mut env = env_for(&sb, "tok");
    env.push(("PROV_SETTLE_WINDOW", "1s".to_owned()));
    let o = prov(&["apply", &plan.display().to_string(), "--wait", "none"], &env);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("linode: create instance failed: HTTP 500"), "{err}");
    assert_eq!(err.lines().filter(|l| l.starts_with("error: ")).count(), 1, "{err}");
    assert!(sb.world().list("linode").is_empty());
    let posts = sb.world().request_log().iter().filter(|(m, _)| m == "POST").count();
    assert!(posts <= 2, "at most one more POST, only after the marker lookup found nothing: {posts}");
}

#[test]
fn prov_sandbox_serves_its_fault_flags() {
    let mut child = Command::new(PROV)
        .env_clear()
        .args(["sandbox", "--listen", "127.0.0.1:0", "--boot-secs", "0"])
        .args(["--fault", "GET /vultr/v2/regions #1 => 503 retry-after=0", "--fault", "GET /vultr/v2/plans => 401"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let mut lines = BufReader::new(child.stdout.take().unwrap_or_else(|| panic!("no stdout"))).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    let url = first.strip_prefix("export PROV_VULTR_API_URL=").unwrap_or_default().to_owned();
    let env = [("PROV_VULTR_API_URL", url)];
    let regions = prov(&["-o", "json", "list", "vultr", "regions"], &env);
    let plans = prov(&["list", "vultr", "plans"], &env);
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(!first.is_empty(), "export lines are printed");
    assert_eq!(regions.status.code(), Some(0), "the 503 was retried: {}", stderr(&regions));
    assert_one_line_failure(&plans, "vultr", "list plans", &["HTTP 401"]);
    assert!(status.success(), "{status:?}");
}

#[test]
fn prov_plan_exits_1_when_the_instance_list_cannot_be_read() {
    let instance_lists = [
        ("vultr", "/vultr/v2/instances"),
        ("linode", "/linode/v4/linode/instances"),
        ("digitalocean", "/digitalocean/v2/droplets"),
    ];
    for (name, path) in instance_lists {
        let plan = format!("{}/../../examples/{name}-small.toml", env!("CARGO_MANIFEST_DIR"));
        let env = [("PROV_SANDBOX_FAULTS", format!("GET {path} => 401"))];
        let o = prov(&["--sandbox", "plan", &plan], &env);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains(&format!("error: {name}: list instances failed: HTTP 401")), "{name}: {err}");
        assert!(stdout(&o).contains("create (unchecked)"), "{name}: the dry run is still shown: {}", stdout(&o));
        let ok = prov(&["--sandbox", "plan", &plan], &[]);
        assert_eq!(ok.status.code(), Some(0), "{name}: without the fault: {}", stderr(&ok));
    }
}
