//! `cargo xtask prism`: runs prov against Stoplight Prism mocks of the official specs and fails on any request violation.
//!
//! Steps (§11 of each provider doc, e.g. `docs/providers/vultr.md §11`): install `@stoplight/prism-cli` into
//! `$HOME/.cache/npmtools` when it is not there; build `prov`; start one Prism mock per full spec on a free 127.0.0.1
//! port; put a thin loopback proxy in front of each that (a) rewrites only the paging fields of successful list answers
//! into a last page, because Prism's static examples always point at a next page, (b) strips Linode's `X-Filter`
//! header, which the spec types as an object so Prism refuses the JSON string the real API expects (the proxy checks it
//! is a JSON object instead), and (c) records every exchange and Prism's `sl-violations` header. Then it runs the real
//! `prov` binary: `list regions|plans|images|instances`, `plan`, `apply` (a plan with every option the provider
//! supports, `--wait none`), `show` and `delete --yes`, with a dummy token, and collects Prism's `Violation:` log
//! lines. It fails on any request violation of severity error, on a request Prism could not route, and on a failed
//! command. Response violations (the specs' own examples against their schemas) are reported, not failed on. Everything
//! listens on 127.0.0.1 only; every process it starts is killed at the end, and the whole run is bounded by `--timeout`
//! (default 170 s).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

/// The Prism release the provider docs' §11 was observed with (`docs/providers/linode.md §11`).
const PRISM_PACKAGE: &str = "@stoplight/prism-cli@5.14.2";

/// The token every run sends; Prism only checks that one is there.
const DUMMY_TOKEN: &str = "prism-dummy-token";

/// One provider's mock run.
struct Target {
    name: &'static str,
    spec: &'static str,
    /// Path the mock serves prov's versioned base URL at (Vultr's mock serves at `/`, docs/providers/vultr.md §11).
    base_path: &'static str,
    url_env: &'static str,
    token_env: &'static str,
    /// The `[[instance]]` body of a plan with every option the provider supports.
    plan: &'static str,
    /// (create path, body with one wrong-typed field) that Prism must flag.
    canary: (&'static str, &'static str),
}

const TARGETS: &[Target] = &[
    Target {
        name: "vultr",
        spec: "vultr.openapi.json",
        base_path: "",
        url_env: "PROV_VULTR_API_URL",
        token_env: "VULTR_API_KEY",
        plan: r##"label = "prism-1"
region = "ewr"
plan = "vc2-1c-1gb"
image = 2136
hostname = "prism-1.example.net"
ipv6 = true
backups = true
tags = ["prism"]
ssh_keys = ["3b8066a7-b438-455a-9688-44afc9a3597f"]
user_data = "#cloud-config\npackages: [nginx]\n"
"##,
        canary: ("/instances", r#"{"region":"ewr","plan":"vc2-1c-1gb","os_id":2136,"backups":true}"#),
    },
    Target {
        name: "linode",
        spec: "linode.openapi.yaml",
        base_path: "/v4",
        url_env: "PROV_LINODE_API_URL",
        token_env: "LINODE_TOKEN",
        plan: r##"label = "prism-1"
region = "us-east"
plan = "g6-standard-2"
image = "linode/debian12"
root_password = "Correct-Horse-Battery-9"
backups = true
private_ip = true
tags = ["prism"]
ssh_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForPrismRuns prism@example.net"]
user_data = "#cloud-config\npackages: [nginx]\n"
"##,
        canary: ("/linode/instances", r#"{"region":"us-east","type":"g6-nanode-1","backups_enabled":"yes"}"#),
    },
    Target {
        name: "digitalocean",
        spec: "digitalocean.openapi.yaml",
        base_path: "/v2",
        url_env: "PROV_DIGITALOCEAN_API_URL",
        token_env: "DIGITALOCEAN_TOKEN",
        plan: r##"label = "prism-1"
region = "nyc3"
plan = "s-1vcpu-1gb"
image = "ubuntu-24-04-x64"
ipv6 = true
backups = true
monitoring = true
tags = ["prism"]
ssh_keys = ["512189", "3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa"]
user_data = "#cloud-config\npackages: [nginx]\n"
"##,
        canary: (
            "/droplets",
            r#"{"name":"canary","size":"s-1vcpu-1gb","image":"ubuntu-24-04-x64","backups":"enabled"}"#,
        ),
    },
];

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut timeout = Duration::from_secs(170);
    let mut only: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--timeout" => {
                let secs: u64 = it.next().and_then(|s| s.parse().ok()).context("--timeout takes seconds")?;
                timeout = Duration::from_secs(secs);
            }
            "--provider" => only = it.next().cloned(),
            other => bail!("unknown argument `{other}` (usage: cargo xtask prism [--provider NAME] [--timeout SECS])"),
        }
    }
    let started = Instant::now();
    let deadline = started + timeout;
    let targets: Vec<&Target> = TARGETS.iter().filter(|t| only.as_deref().is_none_or(|o| o == t.name)).collect();
    if targets.is_empty() {
        bail!("unknown provider; use vultr, linode or digitalocean");
    }
    let prism = ensure_prism(deadline)?;
    let prov = build_prov(deadline)?;
    let work = std::env::temp_dir().join(format!("prov-prism-{}", std::process::id()));
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;

    let specs_dir = crate::specs::specs_dir()?;
    // Every mock starts at once: DigitalOcean's takes the longest (≈ 6.5 s).
    let mut mocks = Mocks(Vec::new());
    for t in &targets {
        let spec = specs_dir.join(t.spec);
        mocks.0.push(Mock::start(&prism, &spec).with_context(|| format!("{}: starting Prism", t.name))?);
    }
    for (t, m) in targets.iter().zip(&mocks.0) {
        m.wait_for_line(|l| l.contains("Prism is listening"), deadline)
            .with_context(|| format!("{}: Prism did not start", t.name))?;
    }
    let ready = started.elapsed();

    let mut reports = Vec::new();
    for (t, m) in targets.iter().zip(&mocks.0) {
        let proxy = Proxy::start(m.port, t.name == "linode")?;
        let commands = run_scenario(t, &prov, &work, proxy.port, deadline);
        // A request Prism cannot route marks the end of prov's traffic in its log.
        let sentinel = format!("/prov-prism-end-{}", std::process::id());
        let _ = raw_request(m.port, "GET", &sentinel, None);
        let synced = m.wait_for_line(|l| l.contains(&sentinel), deadline).is_ok();
        let log = m.violation_lines();
        // The canary: a create body with one field of the wrong type must come back flagged, or this harness
        // could not see a violation at all.
        let canary = format!("{}{}", t.base_path, t.canary.0);
        let _ = raw_request(proxy.port, "POST", &canary, Some(t.canary.1));
        let mut exchanges = proxy.stop();
        let canary = exchanges.iter().position(|e| e.canary).map(|i| exchanges.remove(i));
        reports.push(Report { target: t, commands, exchanges, log, synced, canary });
    }
    drop(mocks);
    let _ = std::fs::remove_dir_all(&work);

    let mut failures = Vec::new();
    for r in &reports {
        failures.extend(r.print());
    }
    eprintln!(
        "prism: {} provider(s), mocks ready in {:.1} s, wall time {:.1} s",
        reports.len(),
        ready.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    if failures.is_empty() {
        eprintln!("prism: 0 request violations");
        Ok(())
    } else {
        bail!("{} problem(s):\n  {}", failures.len(), failures.join("\n  "))
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `cmd` to completion or kills it (by its pid) at `deadline`. Returns (success, stdout, stderr).
fn run_bounded(mut cmd: Command, deadline: Instant, what: &str) -> anyhow::Result<(bool, String, String)> {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {what}"))?;
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let left = deadline.saturating_duration_since(Instant::now());
    match rx.recv_timeout(left) {
        Ok(Ok(out)) => Ok((
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )),
        Ok(Err(e)) => bail!("{what}: {e}"),
        Err(_) => {
            let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
            bail!("{what} did not finish before the deadline; killed it (pid {pid})")
        }
    }
}

/// The `prism` executable: `$PROV_PRISM`, or the npm install in `$HOME/.cache/npmtools`, installed when absent.
fn ensure_prism(deadline: Instant) -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("PROV_PRISM") {
        return Ok(PathBuf::from(p));
    }
    let home = std::env::var_os("HOME").context("HOME is not set")?;
    let dir = PathBuf::from(home).join(".cache/npmtools");
    let bin = dir.join("node_modules/.bin/prism");
    if bin.exists() {
        return Ok(bin);
    }
    eprintln!("prism: installing {PRISM_PACKAGE} into {}", dir.display());
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    if !dir.join("package.json").exists() {
        let mut init = Command::new("npm");
        init.args(["init", "-y"]).current_dir(&dir);
        let (ok, _, err) = run_bounded(init, deadline, "npm init")?;
        if !ok {
            bail!("npm init failed: {err}");
        }
    }
    let mut install = Command::new("npm");
    install.args(["install", "--no-audit", "--no-fund", PRISM_PACKAGE]).current_dir(&dir);
    let (ok, _, err) = run_bounded(install, deadline, "npm install")?;
    if !ok || !bin.exists() {
        bail!("npm install {PRISM_PACKAGE} failed: {err}");
    }
    Ok(bin)
}

/// Builds the CLI and returns the path of `prov`.
fn build_prov(deadline: Instant) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-p", "prov-cli"]).current_dir(workspace_root());
    let (ok, _, err) = run_bounded(cmd, deadline, "cargo build -p prov-cli")?;
    if !ok {
        bail!("cargo build -p prov-cli failed:\n{err}");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace_root().join("target"), PathBuf::from);
    let bin = target.join("debug/prov");
    if !bin.exists() {
        bail!("{} was not built", bin.display());
    }
    Ok(bin)
}

/// A free port on 127.0.0.1.
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// One running Prism mock; killed when dropped.
struct Mock {
    child: Child,
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
    lines: Receiver<String>,
}

/// The running mocks; all are killed when this is dropped, also on an early error.
struct Mocks(Vec<Mock>);

impl Drop for Mocks {
    fn drop(&mut self) {
        for m in &mut self.0 {
            let _ = m.child.kill();
            let _ = m.child.wait();
        }
    }
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl Mock {
    fn start(prism: &Path, spec: &Path) -> anyhow::Result<Self> {
        let port = free_port()?;
        let mut child = Command::new(prism)
            .args(["mock", "-h", "127.0.0.1", "-p", &port.to_string()])
            .arg(spec)
            .env("NO_COLOR", "1")
            .env("FORCE_COLOR", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("running {}", prism.display()))?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, lines) = mpsc::channel();
        let streams: Vec<Box<dyn Read + Send>> = [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        .collect();
        for stream in streams {
            let (tx, log) = (tx.clone(), log.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let line = strip_ansi(&line);
                    log.lock().unwrap_or_else(|p| p.into_inner()).push(line.clone());
                    let _ = tx.send(line);
                }
            });
        }
        Ok(Self { child, port, log, lines })
    }

    /// Waits until Prism prints a line matching `want` (lines already seen count too).
    fn wait_for_line(&self, want: impl Fn(&str) -> bool, deadline: Instant) -> anyhow::Result<()> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if want(&line) => return Ok(()),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => bail!("timed out waiting for Prism"),
                Err(RecvTimeoutError::Disconnected) => {
                    let tail = self.log.lock().unwrap_or_else(|p| p.into_inner()).join("\n");
                    bail!("Prism exited:\n{tail}")
                }
            }
        }
    }

    /// Prism's `Violation:` log lines so far.
    fn violation_lines(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|l| l.contains("Violation:"))
            .cloned()
            .collect()
    }
}

/// One HTTP message as read off a socket.
struct Message {
    start: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Reads one message: the head, then a `Content-Length` or chunked body, or (for an answer sent with
    /// `Connection: close`) everything up to the end of the stream.
    fn read(stream: &mut impl BufRead, to_eof: bool) -> anyhow::Result<Self> {
        let mut start = String::new();
        stream.read_line(&mut start)?;
        if start.is_empty() {
            bail!("the connection closed before a message");
        }
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            stream.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
        let mut msg = Self { start: start.trim_end().to_owned(), headers, body: Vec::new() };
        if msg.header("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
            loop {
                let mut size = String::new();
                stream.read_line(&mut size)?;
                let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
                    .context("a bad chunk size")?;
                if n == 0 {
                    let mut rest = String::new();
                    while stream.read_line(&mut rest)? > 2 {
                        rest.clear();
                    }
                    break;
                }
                let mut chunk = vec![0; n + 2];
                stream.read_exact(&mut chunk)?;
                chunk.truncate(n);
                msg.body.extend(chunk);
            }
        } else if let Some(n) = msg.header("content-length").and_then(|n| n.parse::<usize>().ok()) {
            msg.body = vec![0; n];
            stream.read_exact(&mut msg.body)?;
        } else if to_eof {
            stream.read_to_end(&mut msg.body)?;
        }
        Ok(msg)
    }
}

/// One request the proxy forwarded and what came of it.
#[derive(Debug, Clone)]
struct Exchange {
    method: String,
    target: String,
    status: u16,
    /// Entries of Prism's `sl-violations` header.
    violations: Vec<Value>,
    /// True when Prism answered `NO_PATH_MATCHED_ERROR` (a path the spec does not have).
    unrouted: bool,
    /// Paging fields rewritten into a last page.
    rewritten: Vec<&'static str>,
    /// What was wrong with a stripped `X-Filter` header (`None`: absent or a JSON object).
    x_filter_problem: Option<String>,
    x_filter_seen: bool,
    /// The harness's own deliberately broken request.
    canary: bool,
}

/// The loopback proxy in front of one mock.
struct Proxy {
    port: u16,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Exchange>>>,
    handle: std::thread::JoinHandle<()>,
}

impl Proxy {
    fn start(upstream: u16, strip_x_filter: bool) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (stop2, log2) = (stop.clone(), log.clone());
        let handle = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                match serve(conn, upstream, strip_x_filter) {
                    Ok(Some(ex)) => log2.lock().unwrap_or_else(|p| p.into_inner()).push(ex),
                    Ok(None) => {}
                    Err(e) => eprintln!("prism proxy: {e:#}"),
                }
            }
        });
        Ok(Self { port, stop, log, handle })
    }

    /// Stops accepting and returns every exchange.
    fn stop(self) -> Vec<Exchange> {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        let _ = self.handle.join();
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Forwards one request (one per connection: the answer says `Connection: close`).
fn serve(mut conn: TcpStream, upstream: u16, strip_x_filter: bool) -> anyhow::Result<Option<Exchange>> {
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let req = match Message::read(&mut reader, false) {
        Ok(r) => r,
        Err(_) => return Ok(None),
    };
    let mut parts = req.start.split_whitespace();
    let (method, target) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
    let mut ex = Exchange {
        method: method.clone(),
        target: target.clone(),
        status: 0,
        violations: Vec::new(),
        unrouted: false,
        rewritten: Vec::new(),
        x_filter_problem: None,
        x_filter_seen: false,
        canary: req.header(CANARY_HEADER).is_some(),
    };
    let mut up = TcpStream::connect(("127.0.0.1", upstream)).context("connecting to Prism")?;
    up.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{upstream}\r\nConnection: close\r\n");
    for (k, v) in &req.headers {
        let lower = k.to_ascii_lowercase();
        if matches!(lower.as_str(), "host" | "connection" | "keep-alive" | "content-length" | "transfer-encoding") {
            continue;
        }
        if strip_x_filter && lower == "x-filter" {
            // docs/providers/linode.md §11: the spec types X-Filter as an object, so Prism refuses the JSON string the
            // real API expects. It is checked here instead: a JSON object.
            ex.x_filter_seen = true;
            if !matches!(serde_json::from_str::<Value>(v), Ok(Value::Object(_))) {
                ex.x_filter_problem = Some(format!("X-Filter `{v}` is not a JSON object"));
            }
            continue;
        }
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !req.body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", req.body.len()));
    }
    head.push_str("\r\n");
    up.write_all(head.as_bytes())?;
    up.write_all(&req.body)?;
    let mut answer = Message::read(&mut BufReader::new(up), true)?;
    ex.status = answer.start.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    if let Some(v) = answer.header("sl-violations") {
        ex.violations = serde_json::from_str::<Vec<Value>>(v).unwrap_or_else(|_| vec![json!({"raw": v})]);
    }
    let body_text = String::from_utf8_lossy(&answer.body);
    ex.unrouted = ex.status == 404 && body_text.contains("NO_PATH_MATCHED");
    if method == "GET"
        && (200..300).contains(&ex.status)
        && let Ok(mut v) = serde_json::from_slice::<Value>(&answer.body)
    {
        ex.rewritten = last_page(&mut v);
        if !ex.rewritten.is_empty() {
            answer.body = serde_json::to_vec(&v)?;
        }
    }
    let mut out = format!("{}\r\n", answer.start);
    for (k, v) in &answer.headers {
        let lower = k.to_ascii_lowercase();
        if !matches!(lower.as_str(), "connection" | "keep-alive" | "content-length" | "transfer-encoding") {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    out.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", answer.body.len()));
    conn.write_all(out.as_bytes())?;
    conn.write_all(&answer.body)?;
    let _ = conn.shutdown(Shutdown::Both);
    Ok(Some(ex))
}

/// Rewrites the paging fields of a list answer into a last page (docs/providers/vultr.md §11,
/// docs/providers/digitalocean.md §11) and names what it changed:
/// Vultr `meta.links.next`, DigitalOcean `links.pages.next`/`last`, Linode `pages` (set to `page`), and the stated
/// total (Vultr and DigitalOcean `meta.total`, Linode `results`) set to the items the page holds.
fn last_page(v: &mut Value) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if let Some(next) = v.pointer_mut("/meta/links/next")
        && next.as_str().is_some_and(|s| !s.is_empty())
    {
        *next = json!("");
        changed.push("meta.links.next");
    }
    if let Some(pages) = v.pointer_mut("/links/pages").and_then(Value::as_object_mut) {
        for k in ["next", "last"] {
            if pages.remove(k).is_some() {
                changed.push(if k == "next" { "links.pages.next" } else { "links.pages.last" });
            }
        }
    }
    if let (Some(page), Some(pages)) = (v.get("page").and_then(Value::as_u64), v.get("pages").and_then(Value::as_u64))
        && pages > page
    {
        v["pages"] = json!(page);
        changed.push("pages");
    }
    // The examples' totals describe lists the examples do not hold (a total of 13 beside one region); prov refuses a
    // list shorter than its total, so the total becomes what this one page holds.
    let held = v.as_object().and_then(|o| o.values().find_map(Value::as_array)).map(Vec::len);
    if let Some(held) = held {
        for (pointer, name) in [("/meta/total", "meta.total"), ("/results", "results")] {
            if let Some(total) = v.pointer_mut(pointer)
                && total.as_u64().is_some_and(|t| t != held as u64)
            {
                *total = json!(held);
                changed.push(name);
            }
        }
    }
    changed
}

/// The header that marks the canary request for the proxy.
const CANARY_HEADER: &str = "X-Prov-Canary";

/// A plain request on its own connection (the log sentinel, the canary); the answer is read and dropped.
fn raw_request(port: u16, method: &str, path: &str, body: Option<&str>) -> anyhow::Result<()> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    if let Some(b) = body {
        head.push_str(&format!(
            "{CANARY_HEADER}: 1\r\nAuthorization: Bearer {DUMMY_TOKEN}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n",
            b.len()
        ));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    s.write_all(body.unwrap_or("").as_bytes())?;
    let mut sink = Vec::new();
    let _ = s.read_to_end(&mut sink);
    Ok(())
}

/// One `prov` command and how it went.
struct CommandRun {
    args: Vec<String>,
    ok: bool,
    detail: String,
}

/// The prov commands against one mock (through the proxy on `port`).
fn run_scenario(t: &Target, prov: &Path, work: &Path, port: u16, deadline: Instant) -> Vec<CommandRun> {
    let url = format!("http://127.0.0.1:{port}{}", t.base_path);
    let plan_path = work.join(format!("{}.toml", t.name));
    let plan = format!("provider = \"{}\"\nwait = \"none\"\n\n[[instance]]\n{}", t.name, t.plan);
    let mut runs = Vec::new();
    if let Err(e) = std::fs::write(&plan_path, plan) {
        runs.push(CommandRun { args: vec!["write plan".into()], ok: false, detail: e.to_string() });
        return runs;
    }
    let plan_arg = plan_path.to_string_lossy().into_owned();
    let run = |args: &[&str]| -> (CommandRun, String) {
        let mut cmd = Command::new(prov);
        cmd.args(args)
            .env(t.url_env, &url)
            .env(t.token_env, DUMMY_TOKEN)
            .env("PROV_CACHE_TTL", "0")
            .env("PROV_CACHE_DIR", work.join("cache"))
            .env("NO_COLOR", "1")
            .env_remove("PROV_SANDBOX");
        let what = format!("prov {}", args.join(" "));
        match run_bounded(cmd, deadline, &what) {
            Ok((ok, out, err)) => {
                let detail = if ok { String::new() } else { err.trim().to_owned() };
                (CommandRun { args: args.iter().map(|s| (*s).to_owned()).collect(), ok, detail }, out)
            }
            Err(e) => (
                CommandRun {
                    args: args.iter().map(|s| (*s).to_owned()).collect(),
                    ok: false,
                    detail: format!("{e:#}"),
                },
                String::new(),
            ),
        }
    };
    for what in ["regions", "plans", "images", "instances"] {
        runs.push(run(&["-o", "json", "list", t.name, what]).0);
    }
    runs.push(run(&["-o", "json", "plan", &plan_arg]).0);
    let (applied, out) = run(&["-o", "json", "apply", &plan_arg, "--wait", "none"]);
    runs.push(applied);
    let id = serde_json::from_str::<Value>(&out).ok().and_then(|v| {
        v["instances"].as_array()?.iter().find_map(|i| match &i["id"] {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    });
    match id {
        Some(id) => {
            runs.push(run(&["-o", "json", "show", t.name, &id]).0);
            runs.push(run(&["delete", t.name, &id, "--yes"]).0);
        }
        None => runs.push(CommandRun {
            args: vec!["show/delete".into()],
            ok: false,
            detail: format!("no instance id in the apply output: {}", out.trim()),
        }),
    }
    runs
}

/// Everything one provider's run produced.
struct Report<'a> {
    target: &'a Target,
    commands: Vec<CommandRun>,
    exchanges: Vec<Exchange>,
    log: Vec<String>,
    synced: bool,
    canary: Option<Exchange>,
}

impl Report<'_> {
    /// Prints the summary and returns the failures.
    fn print(&self) -> Vec<String> {
        let name = self.target.name;
        let mut failures = Vec::new();
        for c in &self.commands {
            if !c.ok {
                failures.push(format!("{name}: `prov {}` failed: {}", c.args.join(" "), c.detail));
            }
        }
        let is_request = |v: &Value| v["location"][0] == "request";
        let is_error = |v: &Value| v["severity"].as_str().is_some_and(|s| s.eq_ignore_ascii_case("error"));
        let (mut req_errors, mut req_warnings, mut resp) = (0, 0, 0);
        for ex in &self.exchanges {
            eprintln!(
                "  {name}: {} {} -> {}{}",
                ex.method,
                ex.target,
                ex.status,
                if ex.rewritten.is_empty() {
                    String::new()
                } else {
                    format!(" (last page: {})", ex.rewritten.join(", "))
                }
            );
            for v in &ex.violations {
                if is_request(v) {
                    if is_error(v) {
                        req_errors += 1;
                        failures.push(format!("{name}: {} {}: request violation {v}", ex.method, ex.target));
                    } else {
                        req_warnings += 1;
                        eprintln!("    warning: {v}");
                    }
                } else {
                    resp += 1;
                }
            }
            if ex.unrouted {
                failures.push(format!("{name}: {} {}: no such path in the spec", ex.method, ex.target));
            }
            if let Some(p) = &ex.x_filter_problem {
                failures.push(format!("{name}: {} {}: {p}", ex.method, ex.target));
            }
        }
        let log_request_errors: Vec<&String> =
            self.log.iter().filter(|l| l.contains("Violation: request") && l.contains("error")).collect();
        for l in &log_request_errors {
            failures.push(format!("{name}: Prism log: {}", l.trim()));
        }
        let log_response = self.log.iter().filter(|l| l.contains("Violation: response")).count();
        let flagged = self.canary.as_ref().is_some_and(|c| c.violations.iter().any(|v| is_request(v) && is_error(v)));
        if !flagged {
            failures.push(format!("{name}: the canary (a create body with a wrong-typed field) was not flagged"));
        }
        if !self.synced {
            failures.push(format!("{name}: Prism's log did not reach the end-of-run marker"));
        }
        let x_filters = self.exchanges.iter().filter(|e| e.x_filter_seen).count();
        eprintln!(
            "prism {name}: {} requests validated by Prism ({} commands), {req_errors} request violations (error), \
             {req_warnings} (warning), {} request violation log lines; {resp} response violations in sl-violations, \
             {log_response} in the log (the spec's own examples, not prov's traffic){}",
            self.exchanges.len(),
            self.commands.len(),
            log_request_errors.len(),
            if x_filters > 0 {
                format!("; {x_filters} X-Filter headers checked as JSON objects")
            } else {
                String::new()
            },
        );
        if let Some(c) = &self.canary {
            let codes: Vec<String> =
                c.violations.iter().map(|v| v["message"].as_str().unwrap_or("?").to_owned()).collect();
            eprintln!("prism {name}: canary {} {} -> {} flagged: {}", c.method, c.target, c.status, codes.join("; "));
        }
        failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_fields_become_a_last_page_and_nothing_else_changes() {
        let mut vultr =
            json!({"instances": [1], "meta": {"total": 1, "links": {"next": "WxYzExampleNext", "prev": ""}}});
        assert_eq!(last_page(&mut vultr), ["meta.links.next"]);
        assert_eq!(vultr, json!({"instances": [1], "meta": {"total": 1, "links": {"next": "", "prev": ""}}}));
        let mut digitalocean = json!({"regions": [], "links": {"pages": {"next": "n", "last": "l", "first": "f"}}});
        assert_eq!(last_page(&mut digitalocean), ["links.pages.next", "links.pages.last"]);
        assert_eq!(digitalocean["links"], json!({"pages": {"first": "f"}}));
        let mut linode = json!({"data": [], "page": 1, "pages": 3, "results": 300});
        assert_eq!(last_page(&mut linode), ["pages", "results"]);
        assert_eq!(linode, json!({"data": [], "page": 1, "pages": 1, "results": 0}));
        let mut example = json!({"regions": [{"slug": "nyc3"}], "links": {}, "meta": {"total": 13}});
        assert_eq!(last_page(&mut example), ["meta.total"], "a total the example's one item cannot match");
        assert_eq!(example["meta"]["total"], json!(1));
        let mut done = json!({"data": [], "page": 1, "pages": 1});
        assert!(last_page(&mut done).is_empty());
    }

    #[test]
    fn messages_are_read_with_length_chunks_or_to_the_end() {
        let mut r = BufReader::new(&b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiXX"[..]);
        assert_eq!(Message::read(&mut r, false).map(|m| m.body).ok(), Some(b"hi".to_vec()));
        let mut r = BufReader::new(
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n3\r\n th\r\n0\r\n\r\n"[..],
        );
        assert_eq!(Message::read(&mut r, true).map(|m| m.body).ok(), Some(b"hi th".to_vec()));
        let mut r = BufReader::new(&b"HTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n"[..]);
        let m = Message::read(&mut r, true).ok();
        assert_eq!(m.as_ref().and_then(|m| m.header("x-a")), Some("b"));
    }

    #[test]
    fn ansi_codes_are_stripped() {
        assert_eq!(
            strip_ansi("\u{1b}[31m✖  error\u{1b}[39m Violation: request.body"),
            "✖  error Violation: request.body"
        );
    }
}
