//! prov's first promise, tried as a hostile user would, for every provider: a create is never sent twice for an
//! instance that exists (a slow create, a lost answer whose lookup lags, two applies racing on one plan), waits and
//! requests end by their deadlines, Ctrl-C ends a stalled request, and a token goes only to its own provider.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use prov_sandbox::{Sandbox, SandboxOptions};
use serde_json::Value;

const PROV: &str = env!("CARGO_BIN_EXE_prov");

/// Each provider: its name, its sandbox prefix, its create (and list) path and its example plan.
const PROVIDERS: [(&str, &str, &str, &str); 3] = [
    ("vultr", "/vultr/v2", "/instances", "vultr-small.toml"),
    ("linode", "/linode/v4", "/linode/instances", "linode-small.toml"),
    ("digitalocean", "/digitalocean/v2", "/droplets", "digitalocean-small.toml"),
];

fn sandbox(boot: Duration, faults: &str) -> Sandbox {
    let opts = SandboxOptions { boot, faults: faults.to_owned(), ..SandboxOptions::default() };
    Sandbox::start("127.0.0.1:0", prov_cli::settings::dialects(None), opts).unwrap_or_else(|e| panic!("sandbox: {e}"))
}

fn command(sb: &Sandbox, args: &[&str], extra: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(PROV);
    cmd.env_clear()
        .env("PROV_CACHE_TTL", "0")
        .env("PROV_CACHE_DIR", std::env::temp_dir().join(format!("prov-trust-cache-{}", std::process::id())))
        .env("PROV_VULTR_API_URL", sb.base_url("/vultr/v2"))
        .env("PROV_LINODE_API_URL", sb.base_url("/linode/v4"))
        .env("PROV_DIGITALOCEAN_API_URL", sb.base_url("/digitalocean/v2"))
        .env("VULTR_API_KEY", "t")
        .env("LINODE_API_KEY", "t")
        .env("DIGITALOCEAN_TOKEN", "t")
        .args(args)
        .stdin(Stdio::null());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd
}

fn run(sb: &Sandbox, args: &[&str], extra: &[(&str, &str)]) -> Output {
    command(sb, args, extra).output().unwrap_or_else(|e| panic!("run prov: {e}"))
}

fn spawn(sb: &Sandbox, args: &[&str], extra: &[(&str, &str)]) -> Child {
    command(sb, args, extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn prov: {e}"))
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", String::from_utf8_lossy(&o.stdout), stderr(o)))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name)
}

/// The provider's example plan with its one instance repeated as `web-1` … `web-N`, written to a temp file.
fn plan_of(provider: &str, example_name: &str, n: usize) -> PathBuf {
    let text = std::fs::read_to_string(example(example_name)).unwrap_or_else(|e| panic!("{e}"));
    let (head, instance) = text.split_once("[[instance]]").unwrap_or_else(|| panic!("no [[instance]]"));
    let mut out = head.to_owned();
    for k in 1..=n {
        out.push_str("[[instance]]");
        out.push_str(&instance.replace("label = \"web-1\"", &format!("label = \"web-{k}\"")));
    }
    let dir = std::env::temp_dir().join(format!("prov-trust-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join(format!("{provider}-{n}.toml"));
    std::fs::write(&path, out).unwrap_or_else(|e| panic!("{e}"));
    path
}

fn posts(sb: &Sandbox, path: &str) -> usize {
    sb.world().request_log().iter().filter(|(m, p)| m == "POST" && p == path).count()
}

#[test]
fn a_create_that_times_out_after_the_provider_acted_is_found_not_sent_twice() {
    for (name, prefix, create, plan) in PROVIDERS {
        // The answer is held far beyond the request timeout; the provider has already acted.
        let sb = sandbox(Duration::ZERO, &format!("POST {prefix}{create} #1 => stall=20s"));
        let started = Instant::now();
        let o = run(
            &sb,
            &["-o", "json", "--request-timeout", "1s", "apply", &example(plan).display().to_string(), "--wait", "none"],
            &[("PROV_SETTLE_WINDOW", "0s")],
        );
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        assert!(started.elapsed() < Duration::from_secs(10), "{name}: not held by the stalled answer");
        assert_eq!(json(&o)["instances"][0]["action"], "recovered", "{name}");
        assert_eq!(posts(&sb, &format!("{prefix}{create}")), 1, "{name}: one POST");
        assert_eq!(sb.world().list(name).len(), 1, "{name}: one instance");
    }
}

#[test]
fn a_lost_create_whose_lookup_lags_and_whose_retry_lands_too_converges_to_one_instance() {
    for (name, prefix, create, plan) in PROVIDERS {
        // The first create lands but stays out of the (single, settle window 0) lookup, so the one permitted
        // retry is sent; by the convergence check both are visible and carry this run's marker.
        let sb = sandbox(Duration::ZERO, &format!("POST {prefix}{create} #1 => reset-after-lag=2"));
        let o = run(
            &sb,
            &["-o", "json", "apply", &example(plan).display().to_string(), "--wait", "none"],
            &[("PROV_SETTLE_WINDOW", "0s")],
        );
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        assert_eq!(posts(&sb, &format!("{prefix}{create}")), 2, "{name}: the retry was sent");
        let left = sb.world().list(name);
        assert_eq!(left.len(), 1, "{name}: exactly one instance is left");
        let row = &json(&o)["instances"][0];
        assert_eq!(row["id"], Value::from(left[0].id.clone()), "{name}: the kept one is reported: {row}");
        assert_eq!(row["removed"].as_array().map(Vec::len), Some(1), "{name}: {row}");
        assert!(stderr(&o).contains("removed"), "{name}: {}", stderr(&o));
        // A later plan sees one instance: `exists`, not `duplicate`.
        let again = run(&sb, &["-o", "json", "plan", &example(plan).display().to_string()], &[]);
        assert!(String::from_utf8_lossy(&again.stdout).contains("\"exists\""), "{name}: {}", stderr(&again));
    }
}

#[test]
fn two_applies_racing_on_one_plan_end_with_one_instance_per_label() {
    for (name, prefix, create, plan) in PROVIDERS {
        // Every answer takes 300 ms, so both runs list (and find nothing) before either has created anything.
        let opts = SandboxOptions {
            boot: Duration::from_millis(1500),
            latency: Duration::from_millis(300),
            ..SandboxOptions::default()
        };
        let sb = Sandbox::start("127.0.0.1:0", prov_cli::settings::dialects(None), opts)
            .unwrap_or_else(|e| panic!("sandbox: {e}"));
        let plan = plan_of(name, plan, 3).display().to_string();
        let args = ["-o", "json", "apply", plan.as_str(), "--wait", "ready", "--timeout", "60s"];
        let (a, b) = (spawn(&sb, &args, &[]), spawn(&sb, &args, &[]));
        let (a, b) = (
            a.wait_with_output().unwrap_or_else(|e| panic!("{e}")),
            b.wait_with_output().unwrap_or_else(|e| panic!("{e}")),
        );
        for o in [&a, &b] {
            assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(o));
        }
        let left = sb.world().list(name);
        let mut labels: Vec<&str> = left.iter().map(|i| i.label.as_str()).collect();
        labels.sort_unstable();
        assert_eq!(labels, ["web-1", "web-2", "web-3"], "{name}: one instance per label");
        let ids = |o: &Output| -> Vec<String> {
            let v = json(o);
            let rows = v["instances"].as_array().cloned().unwrap_or_default();
            rows.iter().map(|r| r["id"].as_str().unwrap_or_default().to_owned()).collect()
        };
        assert_eq!(ids(&a), ids(&b), "{name}: both runs report the same kept instances");
        let removed = |o: &Output| -> usize {
            let v = json(o);
            let rows = v["instances"].as_array().cloned().unwrap_or_default();
            rows.iter().map(|r| r["removed"].as_array().map_or(0, Vec::len)).sum()
        };
        assert_eq!(posts(&sb, &format!("{prefix}{create}")), 6, "{name}: both runs created all three");
        assert_eq!(
            removed(&a) + removed(&b),
            3,
            "{name}: each extra removed once, by the run that made it\n{}\n{}",
            stderr(&a),
            stderr(&b)
        );
    }
}

#[test]
fn a_wait_whose_polls_stall_ends_by_its_timeout() {
    for (name, prefix, create, plan) in PROVIDERS {
        // Never ready, and every poll of the instance stalls far beyond the wait's timeout.
        let sb = sandbox(Duration::from_secs(3600), &format!("GET {prefix}{create}/* => stall=30s"));
        let started = Instant::now();
        let o = run(
            &sb,
            &["apply", &example(plan).display().to_string(), "--wait", "ready", "--timeout", "2s"],
            &[("PROV_REQUEST_TIMEOUT", "20s")],
        );
        let took = started.elapsed();
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(&o));
        assert!(took < Duration::from_secs(6), "{name}: the timeout holds a request in flight too: {took:?}");
        assert!(stderr(&o).contains("did not become ready within 2s"), "{name}: {}", stderr(&o));
    }
}

#[test]
fn a_stalled_list_fails_within_twice_the_request_timeout() {
    for (name, prefix, _, _) in PROVIDERS {
        let sb = sandbox(Duration::ZERO, &format!("GET {prefix}/regions => stall=30s"));
        let started = Instant::now();
        let o = run(&sb, &["--request-timeout", "1s", "list", name, "regions"], &[]);
        let took = started.elapsed();
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(&o));
        assert!(took < Duration::from_millis(3500), "{name}: retry budget 2 × 1 s, took {took:?}");
        assert!(stderr(&o).contains("no answer within"), "{name}: {}", stderr(&o));
        let gets = sb.world().request_log().iter().filter(|(m, p)| m == "GET" && p.ends_with("/regions")).count();
        assert_eq!(gets, 2, "{name}: one retry fits the budget");
    }
}

#[test]
fn ctrl_c_during_a_stalled_request_exits_130_within_3_seconds() {
    for (name, prefix, _, _) in PROVIDERS {
        let sb = sandbox(Duration::ZERO, &format!("GET {prefix}/regions => stall=30s"));
        let mut child = spawn(&sb, &["-vv", "list", name, "regions"], &[]);
        // -vv logs each request before it is sent: once it is on stderr, the request is in flight.
        let err = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
        let mut lines = BufReader::new(err).lines();
        let sent = lines.by_ref().map_while(Result::ok).any(|l| l.contains("GET") && l.contains("/regions"));
        assert!(sent, "{name}: the request was logged");
        let started = Instant::now();
        let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
        let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(status.code(), Some(130), "{name}");
        assert!(started.elapsed() < Duration::from_secs(3), "{name}: {:?}", started.elapsed());
    }
}

#[test]
fn api_url_with_a_plan_of_several_providers_exits_2_before_any_request() {
    let sb = sandbox(Duration::ZERO, "");
    let dir = std::env::temp_dir().join(format!("prov-trust-mixed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let plan = dir.join("mixed.toml");
    let text = "[[instance]]\nprovider = \"vultr\"\nlabel = \"a\"\nregion = \"syd\"\nplan = \"vc2-1c-1gb\"\nimage = 2136\n\n\
                [[instance]]\nprovider = \"linode\"\nlabel = \"web-b\"\nregion = \"us-east\"\nplan = \"g6-nanode-1\"\nimage = \"linode/debian12\"\n";
    std::fs::write(&plan, text).unwrap_or_else(|e| panic!("{e}"));
    let (url, plan) = (sb.base_url("/vultr/v2"), plan.display().to_string());
    for args in [vec!["plan", plan.as_str()], vec!["apply", plan.as_str()], vec!["destroy", plan.as_str(), "--yes"]] {
        let cmd = args[0];
        let o = run(&sb, &[&["--api-url", url.as_str()][..], &args].concat(), &[]);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {}", stderr(&o));
        assert!(stderr(&o).contains("--api-url applies to one provider"), "{cmd}: {}", stderr(&o));
    }
    assert!(sb.world().request_log().is_empty(), "nothing was sent");
}

#[test]
fn a_refused_connection_says_nothing_was_sent() {
    // Bind and drop a listener: its port on loopback then refuses connections.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let sb = sandbox(Duration::ZERO, "");
    for (name, prefix, _, _) in PROVIDERS {
        let var = format!("PROV_{}_API_URL", name.to_uppercase());
        let url = format!("http://127.0.0.1:{port}{prefix}");
        let o = run(&sb, &["list", name, "instances"], &[(var.as_str(), url.as_str())]);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(&o));
        assert!(stderr(&o).contains("nothing was sent"), "{name}: {}", stderr(&o));
        assert!(!stderr(&o).contains("may have been carried out"), "{name}: {}", stderr(&o));
    }
}

#[test]
fn labels_from_a_provider_are_printed_escaped_never_raw() {
    let sb = sandbox(Duration::ZERO, "");
    let evil = "web\u{1b}]0;owned\u{7}\nrm -rf";
    let clients: [(&str, Box<dyn prov_core::Provider>, [&str; 3]); 3] = [
        ("vultr", connect(&sb, "vultr"), ["syd", "vc2-1c-1gb", "2136"]),
        ("linode", connect(&sb, "linode"), ["ap-southeast", "g6-nanode-1", "linode/debian12"]),
        ("digitalocean", connect(&sb, "digitalocean"), ["sgp1", "s-1vcpu-1gb", "ubuntu-24-04-x64"]),
    ];
    for (name, client, [region, plan, image]) in clients {
        let spec = prov_core::CreateSpec {
            label: "web-evil".into(),
            region: region.into(),
            plan: plan.into(),
            image: image.into(),
            ..prov_core::CreateSpec::default()
        };
        let created = client.create_instance(&spec).unwrap_or_else(|e| panic!("{name}: {e}")).instance;
        assert!(sb.world().relabel(name, &created.id, evil), "{name}");
        for args in [vec!["list", name, "instances"], vec!["show", name, created.id.as_str()]] {
            let o = run(&sb, &args, &[]);
            let out = String::from_utf8_lossy(&o.stdout);
            assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
            assert!(
                !out.contains('\u{1b}') && !out.contains('\u{7}'),
                "{name} {args:?}: raw control characters: {out:?}"
            );
            assert!(out.contains("web\\u{1b}]0;owned\\u{7}\\nrm -rf"), "{name} {args:?}: {out}");
        }
        // JSON keeps the real label (JSON escapes it by itself).
        let o = run(&sb, &["-o", "json", "list", name, "instances"], &[]);
        assert!(json(&o).to_string().contains("web\\u001b]0;owned\\u0007\\nrm -rf"), "{name}");
    }
}

fn connect(sb: &Sandbox, name: &str) -> Box<dyn prov_core::Provider> {
    let (prefix, _) = match name {
        "vultr" => ("/vultr/v2", ()),
        "linode" => ("/linode/v4", ()),
        _ => ("/digitalocean/v2", ()),
    };
    let settings = prov_core::ClientSettings {
        base_url: Some(sb.base_url(prefix)),
        token: Some(prov_core::Secret::new("t")),
        ..prov_core::ClientSettings::default()
    };
    let p: Result<Box<dyn prov_core::Provider>, prov_core::Error> = match name {
        "vultr" => prov_vultr::Vultr::new(&settings).map(|c| Box::new(c) as Box<dyn prov_core::Provider>),
        "linode" => prov_linode::Linode::new(&settings).map(|c| Box::new(c) as Box<dyn prov_core::Provider>),
        _ => prov_digitalocean::DigitalOcean::new(&settings).map(|c| Box::new(c) as Box<dyn prov_core::Provider>),
    };
    p.unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn after_10_seconds_without_an_answer_stderr_says_what_prov_is_waiting_for() {
    // One stall of 11 s per provider, all at once, so the test takes 11 s, not 33.
    let faults: Vec<String> =
        PROVIDERS.iter().map(|(_, prefix, ..)| format!("GET {prefix}/regions => stall=11s")).collect();
    let sb = sandbox(Duration::ZERO, &faults.join(";"));
    let runs: Vec<(&str, Child)> = PROVIDERS
        .iter()
        .map(|(name, ..)| (*name, spawn(&sb, &["--request-timeout", "30s", "list", name, "regions"], &[])))
        .collect();
    for (name, child) in runs {
        let o = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(0), "{name}: the answer came after all: {err}");
        let said = err.lines().any(|l| {
            l.contains(&format!("{name}: still waiting for an answer to GET /regions (10 s so far, 30 s allowed)"))
        });
        assert!(said, "{name}: {err}");
    }
}

#[test]
fn show_and_delete_take_a_label_and_an_unknown_id_is_no_such_instance() {
    for (name, _, _, plan) in PROVIDERS {
        let sb = sandbox(Duration::ZERO, "");
        let o = run(&sb, &["-o", "json", "apply", &example(plan).display().to_string(), "--wait", "none"], &[]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        let id = json(&o)["instances"][0]["id"].as_str().unwrap_or_default().to_owned();
        let shown = run(&sb, &["-o", "json", "show", name, "web-1"], &[]);
        assert_eq!(json(&shown)["id"], Value::from(id.clone()), "{name}: show by label");
        // A label typed where an id belongs deletes that instance; a second time there is no such instance.
        let gone = run(&sb, &["-o", "json", "delete", name, "web-1", "--yes"], &[]);
        assert_eq!(json(&gone)["deleted"][0], Value::from(id.clone()), "{name}: {}", stderr(&gone));
        assert!(sb.world().list(name).is_empty(), "{name}");
        for arg in ["web-1", id.as_str()] {
            let again = run(&sb, &["delete", name, arg, "--yes"], &[]);
            assert_eq!(again.status.code(), Some(1), "{name} {arg}: {}", stderr(&again));
            assert!(stderr(&again).contains("no such instance"), "{name}: {}", stderr(&again));
        }
        // Two instances with one label: the user must pick one by id; nothing is deleted.
        let o = run(&sb, &["apply", &example(plan).display().to_string(), "--wait", "none"], &[]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        let client = connect(&sb, name);
        let spec = prov_core::CreateSpec { label: "web-1".into(), ..first_spec(&sb, name) };
        let _ = client.create_instance(&spec).unwrap_or_else(|e| panic!("{name}: {e}"));
        let before = sb.world().list(name).len();
        let o = run(&sb, &["delete", name, "web-1", "--yes"], &[]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        assert!(stderr(&o).contains("instances are labelled `web-1`"), "{name}: {}", stderr(&o));
        assert_eq!(sb.world().list(name).len(), before, "{name}: nothing deleted");
    }
}

/// A create spec like the one in the provider's example plan, from an instance that exists.
fn first_spec(sb: &Sandbox, name: &str) -> prov_core::CreateSpec {
    let existing = &sb.world().list(name)[0];
    prov_core::CreateSpec {
        label: existing.label.clone(),
        region: existing.region.clone(),
        plan: existing.plan.clone(),
        image: existing.image.clone(),
        ..prov_core::CreateSpec::default()
    }
}
