//! `prov list` as a user runs it: plain tables when stdout is not a terminal, documented JSON fields, plan and
//! image filters (bad values exit 2 before any request), `list all` across providers, the on-disk catalogue cache
//! (a warm list sends nothing), and completion scripts that the shells accept.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use prov_core::{ClientSettings, CreateSpec, Provider, Secret};
use prov_sandbox::{Sandbox, SandboxOptions};
use serde_json::Value;

const PROV: &str = env!("CARGO_BIN_EXE_prov");

fn sandbox() -> Sandbox {
    let opts = SandboxOptions { boot: Duration::ZERO, ..SandboxOptions::default() };
    Sandbox::start("127.0.0.1:0", prov_cli::settings::dialects(None), opts).unwrap_or_else(|e| panic!("sandbox: {e}"))
}

/// A fresh, empty directory for one test (not created yet), removed when dropped, even after a failure.
struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn cache_dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("prov-list-test-{}-{name}", std::process::id()));
    TempDir(dir)
}

/// The environment pointing every provider at `sb`; tokens only for the providers named in `tokens`.
fn env_for(sb: &Sandbox, tokens: &[&str], cache: &Path) -> Vec<(String, String)> {
    let mut env = vec![
        ("PROV_VULTR_API_URL".to_owned(), sb.base_url("/vultr/v2")),
        ("PROV_LINODE_API_URL".to_owned(), sb.base_url("/linode/v4")),
        ("PROV_DIGITALOCEAN_API_URL".to_owned(), sb.base_url("/digitalocean/v2")),
        ("PROV_CACHE_DIR".to_owned(), cache.display().to_string()),
    ];
    for t in tokens {
        let var = match *t {
            "vultr" => "VULTR_API_KEY",
            "linode" => "LINODE_API_KEY",
            "digitalocean" => "DIGITALOCEAN_TOKEN",
            other => panic!("unknown provider {other}"),
        };
        env.push((var.to_owned(), "tok".to_owned()));
    }
    env
}

/// Runs prov with a clean environment (no real token or cache directory can leak in) plus `env`.
fn prov(args: &[&str], env: &[(String, String)]) -> Output {
    let mut cmd = Command::new(PROV);
    cmd.env_clear().args(args).stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap_or_else(|e| panic!("run prov: {e}"))
}

fn with(env: &[(String, String)], k: &str, v: &str) -> Vec<(String, String)> {
    let mut env = env.to_vec();
    env.push((k.to_owned(), v.to_owned()));
    env
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: &Output) -> &Output {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
    o
}

fn json(o: &Output) -> Vec<Value> {
    serde_json::from_slice::<Vec<Value>>(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not a JSON array ({e}): {}\nstderr: {}", stdout(o), stderr(o)))
}

fn requests(sb: &Sandbox) -> usize {
    sb.world().request_log().len()
}

/// Creates an instance on the sandbox's Vultr through the library, independent of `apply`.
fn create_vultr_instance(sb: &Sandbox, label: &str) -> String {
    let settings = ClientSettings {
        base_url: Some(sb.base_url("/vultr/v2")),
        token: Some(Secret::new("tok")),
        ..ClientSettings::default()
    };
    let vultr = prov_vultr::Vultr::new(&settings).unwrap_or_else(|e| panic!("{e}"));
    let spec = CreateSpec {
        label: label.into(),
        region: "syd".into(),
        plan: "vc2-1c-1gb".into(),
        image: "2136".into(),
        ..CreateSpec::default()
    };
    vultr.create_instance(&spec).unwrap_or_else(|e| panic!("{e}")).instance.id
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
}

#[test]
fn tables_are_plain_when_stdout_is_not_a_terminal_with_the_documented_columns() {
    let sb = sandbox();
    let cache = cache_dir("tables");
    let id = create_vultr_instance(&sb, "web-1");
    let env = env_for(&sb, &["vultr"], &cache);
    // A colour-capable TERM and no NO_COLOR: still plain, because stdout is a pipe.
    let env = with(&env, "TERM", "xterm-256color");
    let cases: [(&str, &str, &[&str]); 4] = [
        ("regions", "ID NAME COUNTRY", &["syd", "Sydney", "AU"]),
        ("plans", "ID VCPUS RAM DISK TRANSFER $/MONTH REGIONS", &["vc2-1c-1gb", "1", "1G", "25G", "1T", "5.00", "30"]),
        ("images", "ID NAME FAMILY", &["2136", "Debian", "12", "x64", "(bookworm)", "debian"]),
        ("instances", "ID LABEL STATUS IPV4 REGION PLAN", &[&id, "web-1", "ready"]),
    ];
    for (what, header, row) in cases {
        let o = prov(&["list", "vultr", what], &env);
        let text = stdout(ok(&o));
        let boxes = |c: char| ('\u{2500}'..='\u{257f}').contains(&c);
        assert!(!text.contains(boxes) && !text.contains('\x1b'), "{what}: no colour, no box-drawing: {text:?}");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0].split_whitespace().collect::<Vec<_>>().join(" "), header, "{what}");
        assert!(lines[0].starts_with("ID"), "{what}: the first column starts the line");
        assert!(
            lines.iter().any(|l| l.split_whitespace().collect::<Vec<_>>().starts_with(row)),
            "{what}: no row starting {row:?} in\n{text}"
        );
        assert!(lines.iter().all(|l| l.len() == l.trim_end().len()), "{what}: no trailing blanks");
        assert!(stderr(&o).is_empty(), "{what}: {}", stderr(&o));
    }
    let o = prov(&["list", "vultr", "instances"], &with(&env, "NO_COLOR", "1"));
    assert!(!stdout(ok(&o)).contains('\x1b'));
}

#[test]
fn json_lists_have_exactly_the_fields_docs_output_md_documents() {
    let sb = sandbox();
    let cache = cache_dir("fields");
    create_vultr_instance(&sb, "web-1");
    let env = env_for(&sb, &["vultr"], &cache);
    let docs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/output.md"))
        .unwrap_or_else(|e| panic!("docs/output.md: {e}"));
    let expected: [(&str, &[&str]); 4] = [
        ("regions", &["id", "name", "country"]),
        ("plans", &["id", "vcpus", "memory_mb", "disk_gb", "transfer_gb", "monthly_price", "regions", "region_prices"]),
        ("images", &["id", "name", "family"]),
        (
            "instances",
            &[
                "provider",
                "id",
                "label",
                "status",
                "provider_status",
                "ipv4",
                "ipv6",
                "region",
                "plan",
                "image",
                "tags",
                "created_at",
            ],
        ),
    ];
    for (what, fields) in expected {
        let o = prov(&["-o", "json", "list", "vultr", what], &env);
        let items = json(ok(&o));
        assert!(!items.is_empty(), "{what}");
        for item in &items {
            assert_eq!(keys(item), fields, "{what}: {item}");
        }
        for f in fields {
            assert!(docs.contains(&format!("`{f}`")), "docs/output.md does not document `{f}` of {what}");
        }
        let all = prov(&["-o", "json", "list", "all", what], &env);
        for item in json(ok(&all)) {
            let mut with_provider: Vec<&str> = vec!["provider"];
            with_provider.extend(fields.iter().filter(|f| **f != "provider"));
            assert_eq!(keys(&item), with_provider, "all {what}: {item}");
        }
    }
}

fn plans_json(sb: &Sandbox, provider: &str, filters: &[&str], cache: &Path) -> Vec<Value> {
    let mut args = vec!["-o", "json", "list", provider, "plans"];
    args.extend_from_slice(filters);
    json(ok(&prov(&args, &env_for(sb, &["vultr", "linode", "digitalocean"], cache))))
}

/// A number field, or the amount of a money field (`{"amount": "5.00", "currency": "USD"}`, USD here).
fn num(v: &Value, key: &str) -> f64 {
    let n = match &v[key] {
        Value::Object(m) => {
            assert_eq!(m.get("currency").and_then(Value::as_str), Some("USD"), "`{key}` in {v}");
            m.get("amount").and_then(Value::as_str).and_then(|a| a.parse().ok())
        }
        other => other.as_f64(),
    };
    n.unwrap_or_else(|| panic!("`{key}` is not a number in {v}"))
}

#[test]
fn plan_filters_keep_exactly_the_matching_plans() {
    let sb = sandbox();
    let cache = cache_dir("filters");
    for provider in ["vultr", "linode", "digitalocean"] {
        let every = plans_json(&sb, provider, &[], &cache);
        assert!(every.len() > 10, "{provider}");
        type Case<'a> = (&'a [&'a str], Box<dyn Fn(&Value) -> bool>);
        let cases: Vec<Case<'_>> = vec![
            (&["--min-vcpus", "4"], Box::new(|p| num(p, "vcpus") >= 4.0)),
            (&["--min-ram", "2G"], Box::new(|p| num(p, "memory_mb") >= 2048.0)),
            (&["--min-ram", "2g"], Box::new(|p| num(p, "memory_mb") >= 2048.0)),
            (&["--min-ram", "1536"], Box::new(|p| num(p, "memory_mb") >= 1536.0)),
            (&["--min-disk", "100G"], Box::new(|p| num(p, "disk_gb") >= 100.0)),
            (&["--max-price", "12"], Box::new(|p| num(p, "monthly_price") <= 12.0)),
            (
                &["--min-vcpus", "2", "--min-ram", "4G", "--max-price", "50"],
                Box::new(|p| {
                    num(p, "vcpus") >= 2.0 && num(p, "memory_mb") >= 4096.0 && num(p, "monthly_price") <= 50.0
                }),
            ),
        ];
        for (flags, keep) in cases {
            let want: Vec<&Value> = every.iter().filter(|p| keep(p)).collect();
            let got = plans_json(&sb, provider, flags, &cache);
            assert!(!want.is_empty() && want.len() < every.len(), "{provider} {flags:?}: a meaningful case");
            assert_eq!(got.iter().collect::<Vec<_>>(), want, "{provider} {flags:?}");
        }
    }
}

#[test]
fn region_filter_uses_the_plans_region_list_and_an_empty_list_depends_on_the_provider() {
    let sb = sandbox();
    let cache = cache_dir("region");
    let every = plans_json(&sb, "vultr", &[], &cache);
    let in_syd = plans_json(&sb, "vultr", &["--region", "syd"], &cache);
    let want: Vec<&Value> =
        every.iter().filter(|p| p["regions"].as_array().is_some_and(|r| r.contains(&"syd".into()))).collect();
    assert!(!want.is_empty() && want.len() < every.len(), "some Vultr plans are not sold in syd");
    assert_eq!(in_syd.iter().collect::<Vec<_>>(), want);
    // Vultr states regions, so a Vultr plan with an empty list is sold nowhere (the fixture has one).
    assert!(every.iter().any(|p| p["regions"] == serde_json::json!([])));
    assert!(in_syd.iter().all(|p| p["regions"] != serde_json::json!([])));
    let env = env_for(&sb, &[], &cache);
    let table = stdout(ok(&prov(&["list", "vultr", "plans"], &env)));
    assert!(table.lines().any(|l| l.starts_with("vdc-8vcpu-32gb ") && l.ends_with(" 0")), "{table}");
    let table = stdout(ok(&prov(&["list", "linode", "plans"], &env)));
    assert!(table.lines().skip(1).all(|l| l.ends_with(" all")), "{table}");
    // Linode types carry no region list: every type is kept.
    let linode = plans_json(&sb, "linode", &[], &cache);
    assert!(linode.iter().all(|p| p["regions"] == serde_json::json!([])));
    assert_eq!(plans_json(&sb, "linode", &["--region", "ap-southeast"], &cache), linode);
    // Nothing left: an empty list and a note saying why.
    let o = prov(&["-o", "json", "list", "vultr", "plans", "--region", "atlantis"], &env_for(&sb, &[], &cache));
    assert_eq!(json(ok(&o)), Vec::<Value>::new());
    assert!(stderr(&o).contains("no plans") && stderr(&o).contains("`atlantis`"), "{}", stderr(&o));
}

#[test]
fn sort_orders_plans_and_family_filters_images() {
    let sb = sandbox();
    let cache = cache_dir("sort");
    for (key, field) in [("price", "monthly_price"), ("ram", "memory_mb"), ("vcpus", "vcpus")] {
        let sorted = plans_json(&sb, "digitalocean", &["--sort", key], &cache);
        let values: Vec<f64> = sorted.iter().map(|p| num(p, field)).collect();
        assert!(values.windows(2).all(|w| w[0] <= w[1]), "--sort {key}: {values:?}");
        assert_eq!(sorted.len(), plans_json(&sb, "digitalocean", &[], &cache).len());
    }
    let env = env_for(&sb, &[], &cache);
    let every = json(ok(&prov(&["-o", "json", "list", "vultr", "images"], &env)));
    let debian = json(ok(&prov(&["-o", "json", "list", "vultr", "images", "--family", "Debian"], &env)));
    let want: Vec<&Value> = every.iter().filter(|i| i["family"] == "debian").collect();
    assert!(!want.is_empty() && want.len() < every.len());
    assert_eq!(debian.iter().collect::<Vec<_>>(), want);
}

#[test]
fn bad_filter_values_exit_2_with_a_clear_message_before_any_request() {
    let sb = sandbox();
    let cache = cache_dir("bad");
    let env = env_for(&sb, &["vultr", "linode", "digitalocean"], &cache);
    let cases: [(&[&str], &str); 6] = [
        (&["list", "vultr", "plans", "--min-ram", "2X"], "--min-ram `2X`: not a size"),
        (&["list", "vultr", "plans", "--min-disk", "lots"], "--min-disk `lots`: not a size"),
        (&["list", "all", "plans", "--min-ram", "G"], "--min-ram `G`: not a size"),
        (&["list", "vultr", "plans", "--max-price=-3"], "--max-price `-3`"),
        (&["list", "vultr", "plans", "--sort", "size"], "invalid value 'size'"),
        (&["list", "vultr", "plans", "--min-vcpus", "two"], "invalid value 'two'"),
    ];
    for (args, message) in cases {
        let o = prov(args, &env);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(message), "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).is_empty(), "{args:?}");
    }
    let o = prov(&["list", "vultr", "plans"], &with(&env, "PROV_CACHE_TTL", "a while"));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("PROV_CACHE_TTL=`a while`"), "{}", stderr(&o));
    assert_eq!(requests(&sb), 0, "nothing was sent: {:?}", sb.world().request_log());
    // A flag that does not apply is a warning, not an error.
    let o = prov(&["list", "vultr", "regions", "--family", "debian"], &env);
    assert!(stderr(ok(&o)).contains("warning: --family does not apply"), "{}", stderr(&o));
}

#[test]
fn list_all_plans_is_one_price_sorted_list_and_skips_providers_without_a_token() {
    let sb = sandbox();
    let cache = cache_dir("all");
    let env = env_for(&sb, &[], &cache); // Vultr and Linode need no token for the catalogue; DigitalOcean does.
    let o = prov(&["-o", "json", "list", "all", "plans"], &env);
    let items = json(ok(&o));
    assert!(
        stderr(&o).contains("skipping DigitalOcean") && stderr(&o).contains("DIGITALOCEAN_TOKEN"),
        "{}",
        stderr(&o)
    );
    let count = |p: &str| items.iter().filter(|i| i["provider"] == p).count();
    assert_eq!(count("vultr"), plans_json(&sb, "vultr", &[], &cache).len());
    assert_eq!(count("linode"), plans_json(&sb, "linode", &[], &cache).len());
    assert_eq!(count("digitalocean"), 0);
    let prices: Vec<f64> = items.iter().map(|i| num(i, "monthly_price")).collect();
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "sorted by price");
    // With a token DigitalOcean joins; filters apply across providers; the table has a PROVIDER column.
    let env = env_for(&sb, &["digitalocean"], &cache);
    let cheap = json(ok(&prov(&["-o", "json", "list", "all", "plans", "--max-price", "6"], &env)));
    assert!(cheap.iter().all(|i| num(i, "monthly_price") <= 6.0));
    for p in ["vultr", "linode", "digitalocean"] {
        assert!(cheap.iter().any(|i| i["provider"] == p), "{p} has a plan at or under $6");
    }
    let o = prov(&["list", "all", "plans", "--max-price", "6"], &env);
    let text = stdout(ok(&o));
    let first: Vec<&str> = text.lines().next().unwrap_or_default().split_whitespace().collect();
    assert_eq!(first, ["PROVIDER", "ID", "VCPUS", "RAM", "DISK", "TRANSFER", "$/MONTH", "REGIONS"]);
    assert_eq!(text.lines().count(), cheap.len() + 1);
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

#[test]
fn list_all_regions_images_and_instances() {
    let sb = sandbox();
    let cache = cache_dir("all-kinds");
    let id = create_vultr_instance(&sb, "web-1");
    let env = env_for(&sb, &["vultr"], &cache);
    let regions = json(ok(&prov(&["-o", "json", "list", "all", "regions"], &env)));
    assert!(regions.iter().any(|r| r["provider"] == "vultr" && r["id"] == "syd"));
    assert!(regions.iter().any(|r| r["provider"] == "linode" && r["id"] == "ap-southeast"));
    let images = json(ok(&prov(&["-o", "json", "list", "all", "images", "--family", "debian"], &env)));
    assert!(images.iter().all(|i| i["family"] == "debian"));
    assert!(["vultr", "linode"].iter().all(|p| images.iter().any(|i| i["provider"] == *p)));
    // Instances need a token everywhere: only Vultr is asked, the others are noted.
    let o = prov(&["-o", "json", "list", "all", "instances"], &env);
    let instances = json(ok(&o));
    assert_eq!(instances.len(), 1);
    assert_eq!((instances[0]["provider"].as_str(), instances[0]["id"].as_str()), (Some("vultr"), Some(id.as_str())));
    assert!(stderr(&o).contains("skipping Linode") && stderr(&o).contains("skipping DigitalOcean"), "{}", stderr(&o));
    // No token at all: nothing to ask, a usage error, nothing sent.
    let before = requests(&sb);
    let o = prov(&["list", "all", "instances"], &env_for(&sb, &[], &cache));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no provider can list instances"), "{}", stderr(&o));
    assert_eq!(requests(&sb), before);
    // One URL for every provider cannot work.
    let o = prov(&["--api-url", &sb.base_url("/vultr/v2"), "list", "all", "regions"], &env);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn a_provider_that_fails_in_list_all_does_not_hide_the_others_and_exits_1() {
    let sb = sandbox();
    let cache = cache_dir("all-fails");
    let mut env = env_for(&sb, &[], &cache);
    for (k, v) in &mut env {
        if k == "PROV_LINODE_API_URL" {
            *v = sb.base_url("/nowhere/v4"); // the sandbox answers 404 here
        }
    }
    let o = prov(&["-o", "json", "list", "all", "regions"], &env);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let items = json(&o);
    assert!(!items.is_empty() && items.iter().all(|r| r["provider"] == "vultr"), "Vultr's regions are printed");
    assert!(stderr(&o).contains("linode: list regions failed: HTTP 404"), "{}", stderr(&o));
}

#[test]
fn list_all_with_the_embedded_sandbox_asks_every_provider() {
    let cache = cache_dir("embedded");
    let env = vec![("PROV_CACHE_DIR".to_owned(), cache.display().to_string())];
    let o = prov(&["--sandbox", "-o", "json", "list", "all", "plans"], &env);
    let items = json(ok(&o));
    for p in ["vultr", "linode", "digitalocean"] {
        assert!(items.iter().any(|i| i["provider"] == p), "{p}");
    }
    // Each run of --sandbox listens on a new port: the cache never serves the previous sandbox's entries.
    let files = |dir: &Path| std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
    assert_eq!(files(&cache), 3);
    ok(&prov(&["--sandbox", "-o", "json", "list", "all", "plans"], &env));
    assert_eq!(files(&cache), 6, "a second sandbox wrote its own entries");
}

#[test]
fn a_warm_catalogue_list_sends_nothing_and_prints_the_same() {
    let sb = sandbox();
    let cache = cache_dir("warm");
    let env = env_for(&sb, &["digitalocean"], &cache);
    for (provider, what) in [("vultr", "plans"), ("linode", "images"), ("digitalocean", "regions")] {
        let cold = prov(&["-o", "json", "list", provider, what], &env);
        let sent = requests(&sb);
        assert!(sent > 0);
        let warm = prov(&["-o", "json", "list", provider, what], &env);
        assert_eq!(requests(&sb), sent, "{provider} {what}: the warm list sent nothing");
        assert_eq!(stdout(ok(&warm)), stdout(ok(&cold)));
        assert!(stderr(&warm).is_empty(), "{}", stderr(&warm));
        let table_cold = prov(&["list", provider, what], &env);
        assert_eq!(requests(&sb), sent);
        assert!(!stdout(ok(&table_cold)).is_empty());
        // --refresh fetches again and rewrites the entry.
        ok(&prov(&["-o", "json", "list", provider, what, "--refresh"], &env));
        assert!(requests(&sb) > sent, "{provider} {what}: --refresh sent requests");
        let after_refresh = requests(&sb);
        ok(&prov(&["-o", "json", "list", provider, what], &env));
        assert_eq!(requests(&sb), after_refresh, "the refreshed entry serves the next list");
    }
    // Filters work on cached lists.
    let sent = requests(&sb);
    let big = json(ok(&prov(&["-o", "json", "list", "vultr", "plans", "--min-vcpus", "8"], &env)));
    assert!(!big.is_empty() && big.iter().all(|p| num(p, "vcpus") >= 8.0));
    assert_eq!(requests(&sb), sent);
}

#[test]
fn the_cache_is_keyed_by_url_respects_ttl_zero_and_never_holds_instances() {
    let (a, b) = (sandbox(), sandbox());
    let cache = cache_dir("keys");
    ok(&prov(&["list", "vultr", "regions"], &env_for(&a, &[], &cache)));
    let sent = requests(&a);
    ok(&prov(&["list", "vultr", "regions"], &env_for(&a, &[], &cache)));
    assert_eq!(requests(&a), sent, "warm for the first sandbox");
    ok(&prov(&["list", "vultr", "regions"], &env_for(&b, &[], &cache)));
    assert!(requests(&b) > 0, "another base URL is another entry");
    // PROV_CACHE_TTL=0: every list goes to the provider and nothing is written.
    let off = cache_dir("off");
    let env = with(&env_for(&a, &["vultr"], &off), "PROV_CACHE_TTL", "0");
    let before = requests(&a);
    ok(&prov(&["list", "vultr", "plans"], &env));
    ok(&prov(&["list", "vultr", "plans"], &env));
    assert_eq!(requests(&a), before + 2);
    assert!(!off.exists(), "nothing written with the cache off");
    // Instances are never cached.
    let env = env_for(&a, &["vultr"], &cache);
    let before = requests(&a);
    ok(&prov(&["list", "vultr", "instances"], &env));
    ok(&prov(&["list", "vultr", "instances"], &env));
    assert_eq!(requests(&a), before + 2);
    // A catalogue that needs a token needs it even when cached.
    let env = env_for(&a, &["digitalocean"], &cache);
    ok(&prov(&["list", "do", "plans"], &env));
    let before = requests(&a);
    let o = prov(&["list", "do", "plans"], &env_for(&a, &[], &cache));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("DIGITALOCEAN_TOKEN"));
    assert_eq!(requests(&a), before);
}

/// Every cache file in `dir`.
fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default()
}

#[test]
fn corrupt_or_expired_entries_are_fetched_again_without_a_panic() {
    let sb = sandbox();
    let cache = cache_dir("corrupt");
    let env = env_for(&sb, &[], &cache);
    let fresh = stdout(ok(&prov(&["-o", "json", "list", "vultr", "plans"], &env)));
    let files = entries(&cache);
    assert_eq!(files.len(), 1);
    for junk in [&b""[..], b"{\"version\":1,", b"\x00\xff\xfe", b"[1,2,3]", b"{\"items\":\"nope\"}"] {
        std::fs::write(&files[0], junk).unwrap_or_else(|e| panic!("{e}"));
        let before = requests(&sb);
        let o = prov(&["-o", "json", "list", "vultr", "plans"], &env);
        assert_eq!(stdout(ok(&o)), fresh, "{junk:?}");
        assert!(requests(&sb) > before, "{junk:?}: fetched again");
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    }
    // The rewritten entry serves the next list; an entry older than the TTL does not.
    let before = requests(&sb);
    ok(&prov(&["-o", "json", "list", "vultr", "plans"], &env));
    assert_eq!(requests(&sb), before);
    let mut entry: Value = serde_json::from_slice(&std::fs::read(&files[0]).unwrap_or_default()).unwrap_or_default();
    let fetched_at = entry["fetched_at"].as_u64().unwrap_or_else(|| panic!("fetched_at in {entry}"));
    entry["fetched_at"] = (fetched_at - 600).into();
    std::fs::write(&files[0], entry.to_string()).unwrap_or_else(|e| panic!("{e}"));
    ok(&prov(&["-o", "json", "list", "vultr", "plans"], &env));
    assert_eq!(requests(&sb), before, "ten minutes old is fresh under the default hour");
    ok(&prov(&["-o", "json", "list", "vultr", "plans"], &with(&env, "PROV_CACHE_TTL", "5m")));
    assert!(requests(&sb) > before, "ten minutes old is stale under PROV_CACHE_TTL=5m");
}

/// The path of `name` on PATH, if installed.
fn installed(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(name)).find(|p| p.is_file())
}

#[test]
fn completion_scripts_are_accepted_by_bash_zsh_and_fish() {
    let dir = cache_dir("completions");
    let _ = std::fs::create_dir_all(&*dir);
    for (shell, check) in [("bash", &["-n"][..]), ("zsh", &["-n"][..]), ("fish", &["--no-execute"][..])] {
        let o = prov(&["completions", shell], &[]);
        let script = stdout(ok(&o));
        assert!(script.contains("min-ram") && script.contains("refresh"), "{shell}: the list flags complete");
        // A missing shell is a failure, not a skip: .ci/run installs all three.
        let program = installed(shell).unwrap_or_else(|| {
            panic!("{shell} is not installed; the completion check needs it (apt-get install {shell})")
        });
        let path = dir.join(format!("prov.{shell}"));
        std::fs::write(&path, &script).unwrap_or_else(|e| panic!("{e}"));
        let o = Command::new(program).args(check).arg(&path).output().unwrap_or_else(|e| panic!("{shell}: {e}"));
        assert!(o.status.success(), "{shell} rejects the script: {}", stderr(&o));
    }
}

#[test]
fn one_region_query_finds_the_cheapest_2g_server_in_sydney_across_all_providers() {
    let sb = sandbox_for_region_test();
    let env: Vec<(String, String)> = vec![
        ("PROV_VULTR_API_URL".into(), sb.base_url("/vultr/v2")),
        ("PROV_LINODE_API_URL".into(), sb.base_url("/linode/v4")),
        ("PROV_DIGITALOCEAN_API_URL".into(), sb.base_url("/digitalocean/v2")),
        ("DIGITALOCEAN_TOKEN".into(), "t".into()),
        ("PROV_CACHE_TTL".into(), "0".into()),
    ];
    let o = prov(&["-o", "json", "list", "all", "plans", "--region", "syd", "--min-ram", "2G"], &env);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    let rows = v.as_array().cloned().unwrap_or_default();
    let providers: std::collections::BTreeSet<&str> = rows.iter().filter_map(|r| r["provider"].as_str()).collect();
    assert_eq!(providers.into_iter().collect::<Vec<_>>(), ["digitalocean", "linode", "vultr"]);
    assert!(rows.iter().all(|r| r["memory_mb"].as_u64().is_some_and(|m| m >= 2048)));
    let prices: Vec<f64> = rows.iter().map(|r| num(r, "monthly_price")).collect();
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "cheapest first");
    assert_eq!(rows[0]["id"], "vc2-1c-2gb", "the cheapest 2 GB server in Sydney in the fixtures ($10 on Vultr)");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--region syd on linode: ap-southeast") && err.contains("--region syd on digitalocean: syd1"),
        "{err}"
    );
}

fn sandbox_for_region_test() -> prov_sandbox::Sandbox {
    prov_sandbox::Sandbox::start("127.0.0.1:0", prov_cli::settings::dialects(None), Default::default())
        .unwrap_or_else(|e| panic!("sandbox: {e}"))
}
