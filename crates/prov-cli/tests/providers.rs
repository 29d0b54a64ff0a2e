//! Linode and DigitalOcean through the `prov` binary: Prod's recipes unchanged, the generated Linode password
//! shown exactly once, plan rules checked before sending, DigitalOcean's token rule and root_pass warning, and
//! show / list / delete agreeing.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use prov_sandbox::{Sandbox, SandboxOptions};

const PROV: &str = env!("CARGO_BIN_EXE_prov");

fn sandbox() -> Sandbox {
    let opts = SandboxOptions { boot: Duration::from_millis(200), ..SandboxOptions::default() };
    Sandbox::start("127.0.0.1:0", prov_cli::settings::dialects(None), opts).unwrap_or_else(|e| panic!("sandbox: {e}"))
}

fn prov(sb: &Sandbox, tokens: bool, args: &[&str]) -> Output {
    let mut cmd = Command::new(PROV);
    cmd.env_clear()
        .env("PROV_CACHE_DIR", std::env::temp_dir().join(format!("prov-test-cache-{}", std::process::id())))
        .env("PROV_LINODE_API_URL", sb.base_url("/linode/v4"))
        .env("PROV_DIGITALOCEAN_API_URL", sb.base_url("/digitalocean/v2"))
        .args(args)
        .stdin(Stdio::null());
    if tokens {
        cmd.env("LINODE_TOKEN", "tok-linode-0451").env("DIGITALOCEAN_ACCESS_TOKEN", "tok-do-0451");
    }
    cmd.output().unwrap_or_else(|e| panic!("run prov: {e}"))
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", out(o), err(o)))
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name).display().to_string()
}

fn temp_plan(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("prov-providers-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
    p.display().to_string()
}

#[test]
fn linode_apply_shows_the_generated_password_exactly_once_and_never_in_logs() {
    let sb = sandbox();
    let o = prov(&sb, true, &["-vvv", "apply", &example("linode-small.toml")]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let line =
        out(&o).lines().find(|l| l.starts_with("root password for web-1")).map(str::to_owned).unwrap_or_default();
    let pw = line.rsplit(": ").next().unwrap_or_default().to_owned();
    assert_eq!(pw.chars().count(), 32, "{line}");
    assert_eq!(out(&o).matches(&pw).count(), 1, "shown once");
    assert!(!err(&o).contains(&pw), "never in the -vvv log");
    assert!(err(&o).contains("\"root_pass\":\"[redacted]\""), "the trace shows the field masked");
    assert!(out(&o).contains(" ready "), "{}", out(&o));
    // JSON output carries it in root_password, once.
    let o = prov(
        &sb,
        true,
        &[
            "-o",
            "json",
            "apply",
            &temp_plan(
                "l2.toml",
                "provider = \"linode\"\n[[instance]]\nlabel = \"web-2\"\nregion = \"ap-southeast\"\nplan = \"g6-nanode-1\"\nimage = \"linode/debian12\"\n",
            ),
        ],
    );
    let v = json(&o);
    assert_eq!(v["instances"][0]["root_password"].as_str().map(|p| p.chars().count()), Some(32));
    assert!(v["instances"][0]["ipv4"].is_string());
}

#[test]
fn prods_linode_and_digitalocean_recipes_run_unchanged() {
    let sb = sandbox();
    let o = prov(&sb, true, &["-o", "json", "apply", &example("linode-recipe.txt")]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let i = &json(&o)["instances"][0];
    assert_eq!(
        (i["label"].as_str(), i["region"].as_str(), i["plan"].as_str()),
        (Some("prod-linode-1"), Some("ap-southeast"), Some("g6-nanode-1"))
    );
    assert!(i.get("root_password").is_none(), "the recipe's own password is not echoed");
    assert!(!out(&o).contains("Correct-Horse") && !err(&o).contains("Correct-Horse"));

    let o = prov(&sb, true, &["-o", "json", "apply", &example("digitalocean-recipe.txt")]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(
        err(&o).contains("`root_pass`: DigitalOcean takes no root password, so `root_pass` is ignored"),
        "{}",
        err(&o)
    );
    let i = &json(&o)["instances"][0];
    assert_eq!(
        (i["provider"].as_str(), i["status"].as_str(), i["image"].as_str()),
        (Some("digitalocean"), Some("ready"), Some("debian-11-x64"))
    );
    assert!(i["ipv4"].is_string());
}

#[test]
fn plan_rules_of_linode_and_digitalocean_exit_2_before_sending() {
    let sb = sandbox();
    let bad_label = temp_plan(
        "bad-label.toml",
        "provider = \"linode\"\n[[instance]]\nlabel = \"9lives--x\"\nregion = \"ap-southeast\"\nplan = \"g6-nanode-1\"\nimage = \"linode/debian12\"\n",
    );
    let o = prov(&sb, true, &["apply", &bad_label]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("bad-label.toml:3:9: `label`:"), "{}", err(&o));
    let do_pw = temp_plan(
        "do-pw.toml",
        "provider = \"do\"\n[[instance]]\nlabel = \"web-1\"\nregion = \"sgp1\"\nplan = \"s-1vcpu-1gb\"\nimage = \"ubuntu-24-04-x64\"\nroot_password = \"Secret-Value-77\"\n",
    );
    let o = prov(&sb, true, &["apply", &do_pw]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("do-pw.toml:7:1: `root_password`: `root_password` is not supported by DigitalOcean: DigitalOcean takes no root password: use `ssh_keys`"), "{}", err(&o));
    assert!(!err(&o).contains("Secret-Value-77"));
    assert!(sb.world().request_log().is_empty(), "{:?}", sb.world().request_log());
}

#[test]
fn digitalocean_needs_a_token_even_for_the_catalogue() {
    let sb = sandbox();
    let o = prov(&sb, false, &["list", "do", "regions"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("DIGITALOCEAN_TOKEN or DIGITALOCEAN_ACCESS_TOKEN or PROD_DIGITAL_OCEAN_API_TOKEN"),
        "{}",
        err(&o)
    );
    assert!(sb.world().request_log().is_empty());
    let o = prov(&sb, false, &["-o", "json", "list", "linode", "plans"]);
    assert_eq!(o.status.code(), Some(0), "Linode types list without a token: {}", err(&o));
}

#[test]
fn digitalocean_lists_are_complete_beyond_its_default_page_of_20() {
    let sb = sandbox();
    for (what, at_least) in [("plans", 30), ("images", 25), ("regions", 12)] {
        let o = prov(&sb, true, &["-o", "json", "list", "digital_ocean", what]);
        assert_eq!(o.status.code(), Some(0), "{}", err(&o));
        assert!(json(&o).as_array().is_some_and(|a| a.len() >= at_least), "{what}");
    }
}

#[test]
fn show_list_and_delete_agree_for_linode_and_digitalocean() {
    let sb = sandbox();
    for (provider, plan) in [("linode", "linode-small.toml"), ("digitalocean", "digitalocean-small.toml")] {
        let o = prov(&sb, true, &["-o", "json", "apply", &example(plan)]);
        assert_eq!(o.status.code(), Some(0), "{}", err(&o));
        let id = json(&o)["instances"][0]["id"].as_str().unwrap_or_default().to_owned();
        let shown = json(&prov(&sb, true, &["-o", "json", "show", provider, &id]));
        let listed = json(&prov(&sb, true, &["-o", "json", "list", provider, "instances"]));
        assert!(listed.as_array().is_some_and(|a| a.contains(&shown)), "{provider}");
        assert_eq!(shown["status"], "ready");
        let d = prov(&sb, true, &["-o", "json", "delete", provider, &id, "--yes"]);
        assert_eq!(json(&d)["deleted"][0], id.as_str(), "{provider}");
        let s = prov(&sb, true, &["show", provider, &id]);
        assert_eq!(s.status.code(), Some(1));
        assert!(err(&s).starts_with(&format!("error: {provider}: no such instance")), "{}", err(&s));
    }
}
