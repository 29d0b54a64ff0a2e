//! The `prov` binary as a user runs it: exit codes, JSON-only stdout, plan errors before any request, clear API
//! failures, secrets never printed (even at -vvv), delete confirmation, and the `prov sandbox` server.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use prov_sandbox::{Sandbox, SandboxOptions};

const PROV: &str = env!("CARGO_BIN_EXE_prov");

/// A sandbox shared by the commands of one test, served in-process.
fn sandbox(boot_ms: u64) -> Sandbox {
    let opts = SandboxOptions { boot: Duration::from_millis(boot_ms), ..SandboxOptions::default() };
    Sandbox::start("127.0.0.1:0", prov_cli::settings::dialects(None), opts).unwrap_or_else(|e| panic!("sandbox: {e}"))
}

/// Runs prov with a clean environment (no real token can leak in) plus `env`.
fn prov(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(PROV);
    cmd.env_clear()
        .env("PROV_CACHE_DIR", std::env::temp_dir().join(format!("prov-test-cache-{}", std::process::id())))
        .args(args)
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap_or_else(|e| panic!("run prov: {e}"))
}

fn against(sb: &Sandbox, token: &str) -> Vec<(&'static str, String)> {
    vec![("PROV_VULTR_API_URL", sb.base_url("/vultr/v2")), ("VULTR_API_KEY", token.to_owned())]
}

fn run(sb: &Sandbox, token: &str, args: &[&str]) -> Output {
    let env = against(sb, token);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    prov(args, &env)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}\nstderr: {}", stdout(o), stderr(o)))
}

fn write_plan(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("prov-cli-test-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write plan: {e}"));
    path
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name).display().to_string()
}

#[test]
fn apply_with_the_embedded_sandbox_reports_a_ready_instance_with_an_ipv4() {
    let o =
        prov(&["--sandbox", "-o", "json", "apply", &example("vultr-small.toml")], &[("PROV_SANDBOX_BOOT_SECS", "0.3")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    let i = &v["instances"][0];
    assert_eq!(i["status"], "ready");
    assert_eq!(i["action"], "created");
    assert_eq!(i["provider"], "vultr");
    assert!(i["ipv4"].as_str().is_some_and(|ip| ip.parse::<std::net::Ipv4Addr>().is_ok()), "{i}");
    assert!(i["tags"].as_array().is_some_and(|t| t.contains(&"prov-managed".into())));
}

#[test]
fn list_show_delete_agree_and_a_second_apply_creates_nothing() {
    let sb = sandbox(200);
    let plan = example("vultr-small.toml");
    let first = run(&sb, "tok", &["-o", "json", "apply", &plan]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let id = json(&first)["instances"][0]["id"].as_str().unwrap_or_default().to_owned();
    let again = run(&sb, "tok", &["-o", "json", "apply", &plan]);
    assert_eq!(json(&again)["instances"][0]["action"], "exists");
    assert_eq!(json(&again)["instances"][0]["id"], id.as_str());
    let listed = json(&run(&sb, "tok", &["-o", "json", "list", "vultr", "instances"]));
    let shown = json(&run(&sb, "tok", &["-o", "json", "show", "vultr", &id]));
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert_eq!(listed[0], shown);
    assert_eq!(shown["status"], "ready");
    let deleted = run(&sb, "tok", &["-o", "json", "delete", "vultr", &id, "--yes"]);
    assert_eq!(json(&deleted)["deleted"][0], id.as_str());
    assert_eq!(json(&run(&sb, "tok", &["-o", "json", "list", "vultr", "instances"])), serde_json::json!([]));
    let again = run(&sb, "tok", &["-o", "json", "delete", "vultr", &id, "--yes"]);
    assert_eq!(again.status.code(), Some(1), "an id that does not exist is not 'already gone'");
    assert!(stderr(&again).contains("no such instance"), "{}", stderr(&again));
    let posts = sb.world().request_log().iter().filter(|(m, _)| m == "POST").count();
    assert_eq!(posts, 1, "the rerun did not create a second server");
}

#[test]
fn catalogue_lists_return_every_fixture_item_as_json() {
    let sb = sandbox(0);
    for (what, file, key) in
        [("regions", "regions", "regions"), ("plans", "plans", "plans"), ("images", "os", "os"), ("os", "os", "os")]
    {
        let o = prov(&["-o", "json", "list", "vultr", what], &[("PROV_VULTR_API_URL", &sb.base_url("/vultr/v2"))]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../fixtures/vultr/{file}.json")),
        )
        .unwrap_or_default();
        let fixture: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(json(&o).as_array().map(Vec::len), fixture[key].as_array().map(Vec::len), "{what}");
        assert!(stderr(&o).is_empty(), "nothing on stderr: {}", stderr(&o));
    }
}

#[test]
fn a_prod_recipe_runs_unchanged() {
    let sb = sandbox(100);
    let recipe = write_plan(
        "prod.txt",
        "provider: vultr\naction: createInstance\nplan: vc2-1c-1gb\nregion: syd\nos_id: 477\nenable_ipv6: true\n",
    );
    let o = run(&sb, "tok", &["-o", "json", "apply", &recipe.display().to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let i = &json(&o)["instances"][0];
    assert_eq!(
        (i["region"].as_str(), i["plan"].as_str(), i["image"].as_str()),
        (Some("syd"), Some("vc2-1c-1gb"), Some("477"))
    );
    assert_eq!(i["label"], "prov-prod");
    assert!(i["ipv6"].is_string());
}

#[test]
fn every_bad_plan_class_exits_2_with_its_location_and_sends_nothing() {
    let sb = sandbox(0);
    let good = std::fs::read_to_string(example("vultr-small.toml")).unwrap_or_default();
    let cases: Vec<(&str, String, &str)> = vec![
        ("unknown key", good.replace("region =", "regoin ="), "unknown key `regoin`; did you mean `region`?"),
        ("wrong type", good.replace("ipv6 = true", "ipv6 = \"yes\""), "`ipv6`: expected a boolean"),
        ("missing key", good.replace("plan = \"vc2-1c-1gb\"", ""), "`plan`: missing required key `plan`"),
        (
            "unsupported key",
            good.replace("backups = false", "root_password = \"Sup3r-Secret-pw\""),
            "`root_password` is not supported by Vultr",
        ),
        (
            "provider rule",
            good.replace("image = 2136", "image = \"debian\""),
            "`image`: Vultr images are numeric OS ids",
        ),
        (
            "duplicate label",
            format!("{good}\n[[instance]]\nlabel = \"web-1\"\nregion = \"syd\"\nplan = \"vc2-1c-1gb\"\nimage = 2136\n"),
            "label `web-1` is used twice",
        ),
        ("syntax", good.replace("[[instance]]", "[[instance]"), "invalid TOML"),
        (
            "unknown provider",
            good.replace("provider = \"vultr\"", "provider = \"vulture\""),
            "unknown provider `vulture`",
        ),
    ];
    for (name, text, expect) in cases {
        let path = write_plan(&format!("bad-{}.toml", name.replace(' ', "-")), &text);
        let o = run(&sb, "tok", &["apply", &path.display().to_string()]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        let err = stderr(&o);
        let located = format!("{}:", path.display());
        assert!(err.contains(&located) && err.contains(expect), "{name}: {err}");
        assert!(!err.contains("Sup3r-Secret-pw"), "{name}: a secret was echoed");
        assert!(stdout(&o).is_empty(), "{name}");
    }
    let recipe =
        write_plan("bad.txt", "provider: vultr\naction: createInstance\nplan vc2-1c-1gb\nregion: syd\nos_id: 477\n");
    let o = run(&sb, "tok", &["apply", &recipe.display().to_string()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.txt:3:1: expected `key: value`: write `plan: …`"), "{}", stderr(&o));
    assert!(sb.world().request_log().is_empty(), "nothing was sent: {:?}", sb.world().request_log());
}

#[test]
fn a_401_exits_1_with_one_clear_line() {
    let sb = sandbox(0);
    let o = run(&sb, prov_sandbox::REVOKED_TOKEN, &["list", "vultr", "instances"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), "error: vultr: list instances failed: HTTP 401: Invalid API token\n");
    assert!(stdout(&o).is_empty());
}

#[test]
fn a_missing_token_exits_2_naming_the_variables_and_sends_nothing() {
    let sb = sandbox(0);
    let o = prov(&["apply", &example("vultr-small.toml")], &[("PROV_VULTR_API_URL", &sb.base_url("/vultr/v2"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("set VULTR_API_KEY or PROD_VULTR_API_KEY"), "{}", stderr(&o));
    assert!(sb.world().request_log().is_empty());
    let o = prov(
        &["list", "vultr", "instances"],
        &[("PROV_VULTR_API_URL", &sb.base_url("/vultr/v2")), ("PROD_VULTR_API_KEY", "t")],
    );
    assert_eq!(o.status.code(), Some(0), "PROD_VULTR_API_KEY is read too: {}", stderr(&o));
}

#[test]
fn plain_http_to_a_remote_host_is_refused_before_anything_is_sent() {
    let o = prov(&["list", "vultr", "regions"], &[("PROV_VULTR_API_URL", "http://api.vultr.com/v2")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("plain http is only allowed to a loopback address"), "{}", stderr(&o));
}

#[test]
fn secrets_never_appear_in_output_even_at_vvv() {
    let sb = sandbox(100);
    let token = "tok-DISTINCTIVE-7f3a9";
    let user_data = "UD-DISTINCTIVE-c0ffee";
    let plan = write_plan(
        "secret.toml",
        &format!(
            "provider = \"vultr\"\n[[instance]]\nlabel = \"s-1\"\nregion = \"syd\"\nplan = \"vc2-1c-1gb\"\nimage = 2136\nuser_data = \"{user_data}\"\n"
        ),
    );
    let plan = plan.display().to_string();
    let mut seen = String::new();
    for args in [
        vec!["-vvv", "apply", plan.as_str()],
        vec!["-vvv", "-o", "json", "apply", plan.as_str(), "--dry-run"],
        vec!["-vvv", "apply", plan.as_str(), "--dry-run"],
        vec!["-vvv", "list", "vultr", "instances"],
        vec!["-vvv", "-o", "json", "list", "vultr", "regions"],
    ] {
        let o = run(&sb, token, &args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        seen.push_str(&stdout(&o));
        seen.push_str(&stderr(&o));
    }
    let b64 = "VUQtRElTVElOQ1RJVkUtYzBmZmVl"; // base64 of the user data, as sent to Vultr
    for secret in [token, user_data, b64, "sandbox-5a4db0c5"] {
        assert!(!seen.contains(secret), "`{secret}` leaked");
    }
    assert!(seen.contains("GET") && seen.contains("[redacted]"), "-vvv shows requests with secrets masked");
}

#[test]
fn delete_refuses_without_yes_when_stdin_is_not_a_terminal() {
    let sb = sandbox(0);
    let o = run(&sb, "tok", &["delete", "vultr", "5a4db0c5-0001-4e2b-9f1a-000000000001"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("pass --yes"), "{}", stderr(&o));
    assert!(sb.world().request_log().is_empty());
}

#[test]
fn a_wait_timeout_is_a_failure_that_still_reports_the_instance() {
    let sb = sandbox(60_000);
    let o = run(&sb, "tok", &["-o", "json", "apply", &example("vultr-small.toml"), "--timeout", "1s"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert!(v["instances"][0]["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(v["instances"][0]["status"], "pending");
    assert!(stderr(&o).contains("did not become ready within 1s"), "{}", stderr(&o));
}

#[test]
fn not_yet_supported_and_unknown_providers_are_usage_errors() {
    let o = prov(&["list", "vulture", "regions"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("did you mean `vultr`?"), "{}", stderr(&o));
}

#[test]
fn completions_are_generated_for_each_shell() {
    for (shell, marker) in [("bash", "complete -F"), ("zsh", "#compdef prov"), ("fish", "complete -c prov")] {
        let o = prov(&["completions", shell], &[]);
        assert_eq!(o.status.code(), Some(0));
        assert!(stdout(&o).contains(marker), "{shell}");
        assert!(stdout(&o).contains("apply"), "{shell}");
    }
}

#[test]
fn prov_sandbox_prints_exports_serves_and_stops_on_sigterm() {
    let mut child = Command::new(PROV)
        .env_clear()
        .env("PROV_CACHE_DIR", std::env::temp_dir().join(format!("prov-test-cache-{}", std::process::id())))
        .args(["sandbox", "--listen", "127.0.0.1:0", "--boot-secs", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let mut lines = BufReader::new(child.stdout.take().unwrap_or_else(|| panic!("no stdout"))).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    let url =
        first.strip_prefix("export PROV_VULTR_API_URL=").unwrap_or_else(|| panic!("first line: {first}")).to_owned();
    let o = prov(&["-o", "json", "list", "vultr", "regions"], &[("PROV_VULTR_API_URL", &url)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "stops cleanly on SIGTERM: {status:?}");
    let mut err = String::new();
    let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap_or_else(|| panic!("no stderr")), &mut err);
    assert!(err.contains("sandbox stopped"), "{err}");
    let _ = std::io::stderr().flush();
}

#[test]
fn the_sandbox_refuses_to_listen_beyond_loopback() {
    let o = prov(&["sandbox", "--listen", "0.0.0.0:8710"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("only listens on loopback"), "{}", stderr(&o));
}

#[test]
fn an_invalid_fault_spec_is_a_usage_error() {
    let o = prov(
        &["--sandbox", "list", "vultr", "regions"],
        &[("PROV_SANDBOX_FAULTS", "GET /vultr/v2/regions => explode")],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).starts_with("error: invalid sandbox fault spec:"), "{}", stderr(&o));
}

#[test]
fn a_user_data_file_that_is_a_device_a_fifo_or_too_big_is_a_located_plan_error_before_any_request() {
    let sb = sandbox(0);
    let providers = prov_cli::settings::registry();
    let env: Vec<(&str, String)> = providers
        .iter()
        .flat_map(|p| [(p.url_env, sb.base_url(p.sandbox_path)), (p.token_env[0], "tok".to_owned())])
        .collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dir = std::env::temp_dir().join(format!("prov-cli-test-ud-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::create_dir_all(&dir);
    let huge = dir.join("huge.yaml");
    let file = std::fs::File::create(&huge).unwrap_or_else(|e| panic!("{e}"));
    file.set_len(135_000_000).unwrap_or_else(|e| panic!("{e}"));
    let fifo = dir.join("fifo.yaml");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap_or_else(|e| panic!("mkfifo: {e}"));
    assert!(made.success());
    let max = prov_core::plan::USER_DATA_FILE_MAX_BYTES;
    let cases = [
        ("/dev/zero".to_owned(), "`/dev/zero` is not a regular file".to_owned()),
        (fifo.display().to_string(), format!("`{}` is not a regular file", fifo.display())),
        (huge.display().to_string(), format!("is 135000000 bytes; providers accept at most {max} bytes")),
    ];
    for p in providers {
        let example = std::fs::read_to_string(example(&format!("{}-small.toml", p.name))).unwrap_or_default();
        let head: Vec<&str> = example.lines().take_while(|l| !l.starts_with("image")).collect();
        let image = example.lines().find(|l| l.starts_with("image")).unwrap_or_default();
        for (target, expect) in &cases {
            let text = format!("{}\n{image}\nuser_data_file = \"{target}\"\n", head.join("\n"));
            let line = text.lines().count();
            let path = write_plan(&format!("{}-ud-{}.toml", p.name, target.len()), &text);
            for command in ["apply", "plan"] {
                let o = prov(&[command, &path.display().to_string()], &env);
                let err = stderr(&o);
                assert_eq!(o.status.code(), Some(2), "{} {command} {target}: {err}", p.name);
                let located = format!("{}:{line}:18: `user_data_file`: ", path.display());
                assert!(err.contains(&located) && err.contains(expect.as_str()), "{} {command}: {err}", p.name);
                assert!(stdout(&o).is_empty(), "{}", stdout(&o));
            }
        }
    }
    assert!(sb.world().request_log().is_empty(), "nothing was sent: {:?}", sb.world().request_log());
    let _ = std::fs::remove_dir_all(&dir);
}
