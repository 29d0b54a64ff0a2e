//! `apply` as a fleet: many instances across providers, `count`, identity by label + managed tag (a rerun creates
//! nothing; an unmanaged twin is a conflict unless --adopt), `prov plan` (actions, redacted requests, prices) and
//! `prov destroy` (only the plan's managed instances).

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use prov_core::{ClientSettings, CreateSpec, Provider, Secret};
use prov_sandbox::{Sandbox, SandboxOptions};

const PROV: &str = env!("CARGO_BIN_EXE_prov");

fn sandbox(boot_ms: u64) -> Sandbox {
    let opts = SandboxOptions { boot: Duration::from_millis(boot_ms), ..SandboxOptions::default() };
    Sandbox::start("127.0.0.1:0", prov_cli::settings::dialects(None), opts).unwrap_or_else(|e| panic!("sandbox: {e}"))
}

fn env(sb: &Sandbox) -> Vec<(String, String)> {
    vec![
        ("PROV_VULTR_API_URL".into(), sb.base_url("/vultr/v2")),
        ("PROV_LINODE_API_URL".into(), sb.base_url("/linode/v4")),
        ("PROV_DIGITALOCEAN_API_URL".into(), sb.base_url("/digitalocean/v2")),
        ("VULTR_API_KEY".into(), "t".into()),
        ("LINODE_API_KEY".into(), "t".into()),
        ("DIGITALOCEAN_TOKEN".into(), "t".into()),
    ]
}

fn prov(sb: &Sandbox, args: &[&str]) -> Output {
    Command::new(PROV)
        .env_clear()
        .env("PROV_CACHE_DIR", std::env::temp_dir().join(format!("prov-test-cache-{}", std::process::id())))
        .envs(env(sb))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run prov: {e}"))
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {}\nstderr: {}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
    })
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn plan_file(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("prov-fleet-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path: PathBuf = dir.join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path.display().to_string()
}

const FLEET: &str = r#"
provider = "vultr"
wait = "ready"

[[instance]]
label = "web-{n}"
count = 3
region = "syd"
plan = "vc2-1c-1gb"
image = 2136

[[instance]]
provider = "linode"
label = "db-1"
region = "ap-southeast"
plan = "g6-nanode-1"
image = "linode/debian12"
root_password = "Very-Secret-Pass-42"

[[instance]]
provider = "do"
label = "cache-1"
region = "sgp1"
plan = "s-1vcpu-1gb"
image = "ubuntu-24-04-x64"
"#;

fn count(sb: &Sandbox, method: &str, suffix: &str) -> usize {
    sb.world().request_log().iter().filter(|(m, p)| m == method && p.ends_with(suffix)).count()
}

#[test]
fn a_fleet_across_providers_is_created_once_and_a_rerun_creates_nothing() {
    let sb = sandbox(300);
    let plan = plan_file("fleet.toml", FLEET);
    let first = prov(&sb, &["-o", "json", "apply", &plan]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let v = json(&first);
    let rows = v["instances"].as_array().cloned().unwrap_or_default();
    let labels: Vec<&str> = rows.iter().filter_map(|r| r["label"].as_str()).collect();
    assert_eq!(labels, ["web-1", "web-2", "web-3", "db-1", "cache-1"], "plan order is kept");
    assert!(rows.iter().all(|r| r["action"] == "created" && r["status"] == "ready" && r["ipv4"].is_string()), "{v}");
    assert!(rows.iter().all(|r| r.get("root_password").is_none()), "a password the user gave is not echoed");
    let posts = sb.world().request_log().iter().filter(|(m, _)| m == "POST").count();
    assert_eq!(posts, 5);

    let second = prov(&sb, &["-o", "json", "apply", &plan]);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    let rows2 = json(&second)["instances"].as_array().cloned().unwrap_or_default();
    assert!(rows2.iter().all(|r| r["action"] == "exists"), "{rows2:?}");
    let ids = |rows: &[serde_json::Value]| rows.iter().map(|r| r["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&rows), ids(&rows2));
    assert_eq!(sb.world().request_log().iter().filter(|(m, _)| m == "POST").count(), 5, "the rerun sent no create");
}

#[test]
fn waiting_polls_with_one_list_per_provider_per_round() {
    let sb = sandbox(1500);
    let plan = plan_file(
        "five.toml",
        "provider = \"vultr\"\n[[instance]]\nlabel = \"w-{n}\"\ncount = 5\nregion = \"syd\"\nplan = \"vc2-1c-1gb\"\nimage = 2136\n",
    );
    let o = prov(&sb, &["-o", "json", "apply", &plan]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let gets = count(&sb, "GET", "/instances");
    let single_gets = sb.world().request_log().iter().filter(|(m, p)| m == "GET" && p.contains("/instances/")).count();
    assert_eq!(single_gets, 0, "no per-instance GETs while several wait");
    assert!(gets <= 6, "one identity list plus a few polling rounds, not one per instance: {gets}");
}

#[test]
fn an_unmanaged_twin_is_a_conflict_that_creates_nothing_unless_adopted() {
    let sb = sandbox(0);
    // Someone created "web-1" by hand (no prov-managed tag).
    let settings = ClientSettings {
        base_url: Some(sb.base_url("/vultr/v2")),
        token: Some(Secret::new("t")),
        ..ClientSettings::default()
    };
    let vultr = prov_vultr::Vultr::new(&settings).unwrap_or_else(|e| panic!("{e}"));
    let spec = CreateSpec {
        label: "web-1".into(),
        region: "syd".into(),
        plan: "vc2-1c-1gb".into(),
        image: "2136".into(),
        ..CreateSpec::default()
    };
    let manual = vultr.create_instance(&spec).unwrap_or_else(|e| panic!("{e}")).instance;
    let plan = plan_file(
        "twin.toml",
        "provider = \"vultr\"\n[[instance]]\nlabel = \"web-1\"\nregion = \"syd\"\nplan = \"vc2-1c-1gb\"\nimage = 2136\n[[instance]]\nlabel = \"web-2\"\nregion = \"syd\"\nplan = \"vc2-1c-1gb\"\nimage = 2136\n",
    );
    let o = prov(&sb, &["apply", &plan]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!("an instance labelled `web-1` already exists ({})", manual.id)),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("nothing was created"));
    assert_eq!(count(&sb, "POST", "/instances"), 1, "only the manual create");
    let o = prov(&sb, &["-o", "json", "apply", &plan, "--adopt", "--wait", "none"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let rows = json(&o)["instances"].as_array().cloned().unwrap_or_default();
    assert_eq!((rows[0]["action"].as_str(), rows[0]["id"].as_str()), (Some("adopted"), Some(manual.id.as_str())));
    assert_eq!(rows[1]["action"], "created");
}

#[test]
fn prov_plan_shows_actions_redacted_requests_and_prices_and_sends_only_reads() {
    let sb = sandbox(0);
    let plan = plan_file(
        "priced.toml",
        &FLEET
            .replace("count = 3", "count = 2")
            .replace("image = 2136", "image = 2136\nuser_data = \"#cloud-config secret-UD\""),
    );
    let o = prov(&sb, &["-o", "json", "plan", &plan]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    let rows = v["instances"].as_array().cloned().unwrap_or_default();
    assert!(rows.iter().all(|r| r["action"] == "create"), "{v}");
    // vc2-1c-1gb $5 ×2 + g6-nanode-1 $5 + s-1vcpu-1gb $6 (fixture prices)
    assert_eq!(v["totals"]["monthly_total"], serde_json::json!([{"amount": "21.00", "currency": "USD"}]));
    assert_eq!(rows[0]["request"]["method"], "POST");
    assert!(rows[0]["request"]["url"].as_str().is_some_and(|u| u.ends_with("/vultr/v2/instances")));
    assert_eq!(rows[0]["request"]["body"]["backups"], serde_json::Value::Null);
    assert_eq!(rows[0]["request"]["body"]["user_data"], "[redacted]");
    assert_eq!(rows[2]["request"]["body"]["root_pass"], "[redacted]");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(!text.contains("secret-UD") && !text.contains("Very-Secret-Pass-42"));
    assert!(sb.world().request_log().iter().all(|(m, _)| m == "GET"), "only reads");
    let human = prov(&sb, &["apply", "--dry-run", &plan]);
    assert!(
        String::from_utf8_lossy(&human.stdout).contains("monthly cost: $21.00 for the whole plan"),
        "{}",
        String::from_utf8_lossy(&human.stdout)
    );
}

#[test]
fn prov_plan_prices_each_instance_in_its_region_and_totals_per_currency() {
    let sb = sandbox(0);
    // Linode's types carry `region_prices`: a Nanode is 5.00 USD a month, 6.00 in Jakarta (fixtures/linode).
    let plan = plan_file(
        "regional.toml",
        &FLEET.replace("count = 3", "count = 1").replace("region = \"ap-southeast\"", "region = \"id-cgk\""),
    );
    let o = prov(&sb, &["-o", "json", "plan", &plan]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    let rows = v["instances"].as_array().cloned().unwrap_or_default();
    let db = rows.iter().find(|r| r["label"] == "db-1").cloned().unwrap_or_default();
    assert_eq!(db["region"], "id-cgk", "{v}");
    assert_eq!(db["monthly_price"], serde_json::json!({"amount": "6.00", "currency": "USD"}), "{v}");
    // vc2-1c-1gb $5 + g6-nanode-1 in id-cgk $6 + s-1vcpu-1gb $6
    assert_eq!(v["totals"]["monthly_total"], serde_json::json!([{"amount": "17.00", "currency": "USD"}]));
    assert_eq!(v["totals"]["prices_complete"], true);
    let human = prov(&sb, &["plan", &plan]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("6.00") && text.contains("monthly cost: $17.00 for the whole plan"), "{text}");
}

#[test]
fn a_plan_with_an_unknown_size_leaves_its_price_out_of_the_totals() {
    let sb = sandbox(0);
    let plan = plan_file("unpriced.toml", &FLEET.replace("count = 3", "count = 1").replace("s-1vcpu-1gb", "s-none"));
    let o = prov(&sb, &["-o", "json", "plan", &plan]);
    let v = json(&o);
    let rows = v["instances"].as_array().cloned().unwrap_or_default();
    let cache = rows.iter().find(|r| r["label"] == "cache-1").cloned().unwrap_or_default();
    assert_eq!(cache["monthly_price"], serde_json::Value::Null, "unknown, not 0: {v}");
    assert_eq!(v["totals"]["monthly_total"], serde_json::json!([{"amount": "10.00", "currency": "USD"}]));
    assert_eq!(v["totals"]["prices_complete"], false);
}

#[test]
fn destroy_removes_exactly_the_plans_managed_instances() {
    let sb = sandbox(0);
    let plan = plan_file("destroy.toml", FLEET);
    assert_eq!(prov(&sb, &["apply", &plan, "--wait", "none"]).status.code(), Some(0));
    // An unmanaged instance that shares a label, and a managed one not in the plan: both must survive.
    let other = plan_file(
        "other.toml",
        "provider = \"vultr\"\n[[instance]]\nlabel = \"other-1\"\nregion = \"syd\"\nplan = \"vc2-1c-1gb\"\nimage = 2136\n",
    );
    assert_eq!(prov(&sb, &["apply", &other, "--wait", "none"]).status.code(), Some(0));
    let o = prov(&sb, &["destroy", &plan]);
    assert_eq!(o.status.code(), Some(2), "no --yes without a terminal");
    let o = prov(&sb, &["-o", "json", "destroy", &plan, "--yes", "--wait"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["deleted"].as_array().map(Vec::len), Some(5));
    let left = json(&prov(&sb, &["-o", "json", "list", "vultr", "instances"]));
    let labels: Vec<&str> =
        left.as_array().map(|a| a.iter().filter_map(|i| i["label"].as_str()).collect()).unwrap_or_default();
    assert_eq!(labels, ["other-1"]);
}

#[test]
fn a_create_whose_answer_is_lost_after_the_server_acted_ends_with_one_adopted_instance() {
    for (provider, path, plan) in [
        ("vultr", "/vultr/v2/instances", "vultr-small.toml"),
        ("linode", "/linode/v4/linode/instances", "linode-small.toml"),
        ("digitalocean", "/digitalocean/v2/droplets", "digitalocean-small.toml"),
    ] {
        let opts = SandboxOptions {
            boot: Duration::from_millis(200),
            faults: format!("POST {path} #1 => reset-after"),
            ..SandboxOptions::default()
        };
        let sb = Sandbox::start("127.0.0.1:0", prov_cli::settings::dialects(None), opts)
            .unwrap_or_else(|e| panic!("sandbox: {e}"));
        let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(plan);
        let o = prov(&sb, &["-o", "json", "apply", &example.display().to_string()]);
        assert_eq!(o.status.code(), Some(0), "{provider}: {}", stderr(&o));
        let row = &json(&o)["instances"][0];
        assert_eq!(row["action"], "recovered", "{provider}: {row}");
        assert_eq!(row["status"], "ready", "{provider}");
        assert!(
            stderr(&o).contains("the answer to the create was lost; found") && stderr(&o).contains("not created twice"),
            "{provider}: {}",
            stderr(&o)
        );
        assert_eq!(count(&sb, "POST", path.rsplit('/').next().unwrap_or("")), 1, "{provider}: one POST");
        let listed = json(&prov(&sb, &["-o", "json", "list", provider, "instances"]));
        assert_eq!(listed.as_array().map(Vec::len), Some(1), "{provider}: exactly one instance");
        if provider == "linode" {
            assert_eq!(
                row["root_password"].as_str().map(str::len),
                Some(32),
                "the generated password survives recovery"
            );
        }
    }
}

#[test]
fn ctrl_c_during_the_wait_exits_promptly_and_prints_what_was_created() {
    use std::io::BufRead;
    let sb = sandbox(120_000);
    let plan = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/vultr-small.toml");
    let mut child = Command::new(PROV)
        .env_clear()
        .envs(env(&sb))
        .args(["apply", &plan.display().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let stderr = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
    let mut lines = std::io::BufReader::new(stderr).lines();
    // Synchronise on prov's own report of the create, then interrupt the wait.
    let created = lines.by_ref().map_while(Result::ok).find(|l| l.contains(": created ")).unwrap_or_default();
    let id = created.rsplit(' ').next().unwrap_or_default().to_owned();
    assert!(!id.is_empty(), "{created}");
    let started = std::time::Instant::now();
    let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
    let waited = started.elapsed();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert_eq!(status.code(), Some(130));
    assert!(waited < Duration::from_secs(5), "exits promptly, not after the 2-minute boot: {waited:?}");
    let last = rest.last().cloned().unwrap_or_default();
    assert_eq!(last, format!("error: interrupted; instances created so far: vultr {id} (web-1)"));
    let mut out = String::new();
    let _ = std::io::Read::read_to_string(&mut child.stdout.take().unwrap_or_else(|| panic!("no stdout")), &mut out);
    assert!(out.contains(&id), "the summary table lists it: {out}");
}
