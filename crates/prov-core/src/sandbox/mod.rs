//! The sandbox engine: a loopback HTTP server (tiny_http) on which each provider crate mounts its dialect under a
//! path prefix (`/vultr/v2`, …), a shared world of simulated instances that move pending → addressed → ready on a
//! boot clock, and helpers every dialect needs (bearer check, offset pagination, ids, addresses, a request log).
//! It never listens on anything but the address it is given, which the CLI restricts to loopback.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

/// The one token every sandbox dialect refuses with 401, to try the invalid-token path.
pub const REVOKED_TOKEN: &str = "sandbox-revoked-token";

/// A request as a dialect sees it: the path is relative to the dialect's prefix.
#[derive(Debug, Clone)]
pub struct SandboxRequest {
    /// `GET`, `POST`, `DELETE`, …
    pub method: String,
    /// Path below the dialect prefix, starting with `/` (`/instances/abc`).
    pub path: String,
    /// Decoded query parameters.
    pub query: Vec<(String, String)>,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// Raw body.
    pub body: Vec<u8>,
}

impl SandboxRequest {
    /// The first value of a query parameter.
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// A header value (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// True when the request carries `Authorization: Bearer <token>` with a token the sandbox accepts: any
    /// non-empty token except [`REVOKED_TOKEN`], which stands for a revoked key so a 401 can be tried.
    pub fn has_bearer(&self) -> bool {
        self.header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| !t.trim().is_empty() && t != REVOKED_TOKEN)
    }

    /// The path split into segments (`/instances/abc` → `["instances", "abc"]`).
    pub fn segments(&self) -> Vec<&str> {
        self.path.split('/').filter(|s| !s.is_empty()).collect()
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Result<Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| e.to_string())
    }
}

/// A dialect's answer.
#[derive(Debug, Clone)]
pub struct SandboxResponse {
    /// HTTP status.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl SandboxResponse {
    /// A JSON answer.
    pub fn json(status: u16, value: &Value) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: serde_json::to_vec(value).unwrap_or_default(),
        }
    }

    /// An answer with no body.
    pub fn empty(status: u16) -> Self {
        Self { status, headers: Vec::new(), body: Vec::new() }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// A provider's sandbox dialect: its routes, payload shapes, validation and error bodies.
pub trait Dialect: Send + Sync {
    /// Path prefix it is served under, with the version segment (`/vultr/v2`).
    fn prefix(&self) -> &'static str;
    /// Answers one request.
    fn handle(&self, req: &SandboxRequest, world: &World) -> SandboxResponse;
}

/// Life-cycle phase of a simulated instance, from its age and the boot time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Being built; no public address yet (first half of the boot time).
    Provisioning,
    /// Has its addresses, still booting (second half).
    Booting,
    /// Running and ready.
    Running,
}

/// A simulated instance. Dialects keep whatever else they need in `data`.
#[derive(Debug, Clone)]
pub struct SimInstance {
    /// The provider's id.
    pub id: String,
    /// Label / name.
    pub label: String,
    /// Region id.
    pub region: String,
    /// Plan id.
    pub plan: String,
    /// Image id.
    pub image: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Public IPv4 (shown once the phase allows).
    pub ipv4: String,
    /// Public IPv6.
    pub ipv6: String,
    /// Creation time, RFC 3339.
    pub created_rfc3339: String,
    /// When it was created, for the phase.
    pub created: Instant,
    /// Dialect-specific extras (the create body, options).
    pub data: Value,
}

#[derive(Debug, Default)]
struct State {
    instances: BTreeMap<String, Vec<SimInstance>>,
    counter: u64,
    log: Vec<(String, String)>,
}

/// The simulated world shared by all dialects of one sandbox.
#[derive(Debug)]
pub struct World {
    boot: Duration,
    state: Mutex<State>,
}

impl World {
    /// A world whose instances take `boot` to become ready.
    pub fn new(boot: Duration) -> Self {
        Self { boot, state: Mutex::new(State::default()) }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The phase of `inst` now.
    pub fn phase(&self, inst: &SimInstance) -> Phase {
        let age = inst.created.elapsed();
        if age >= self.boot {
            Phase::Running
        } else if age >= self.boot / 2 {
            Phase::Booting
        } else {
            Phase::Provisioning
        }
    }

    /// A number unique within this world, growing (for ids and addresses).
    pub fn next_number(&self) -> u64 {
        let mut s = self.lock();
        s.counter += 1;
        s.counter
    }

    /// A fresh public IPv4 and IPv6 from the documentation ranges (never routable).
    pub fn next_addresses(&self) -> (String, String) {
        let n = self.next_number();
        let block = ["203.0.113", "198.51.100", "192.0.2"][(n as usize / 250) % 3];
        (format!("{block}.{}", n % 250 + 2), format!("2001:db8::{:x}", n + 1))
    }

    /// Now, RFC 3339 in UTC.
    pub fn now_rfc3339(&self) -> String {
        humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
    }

    /// Adds an instance to a dialect's store.
    pub fn insert(&self, dialect: &str, inst: SimInstance) {
        self.lock().instances.entry(dialect.to_owned()).or_default().push(inst);
    }

    /// One instance.
    pub fn get(&self, dialect: &str, id: &str) -> Option<SimInstance> {
        self.lock().instances.get(dialect)?.iter().find(|i| i.id == id).cloned()
    }

    /// Every instance of a dialect, oldest first.
    pub fn list(&self, dialect: &str) -> Vec<SimInstance> {
        self.lock().instances.get(dialect).cloned().unwrap_or_default()
    }

    /// Removes an instance; false when it did not exist.
    pub fn remove(&self, dialect: &str, id: &str) -> bool {
        let mut s = self.lock();
        let Some(list) = s.instances.get_mut(dialect) else { return false };
        let before = list.len();
        list.retain(|i| i.id != id);
        list.len() != before
    }

    /// Every request served so far, as (method, path with prefix).
    pub fn request_log(&self) -> Vec<(String, String)> {
        self.lock().log.clone()
    }

    fn record(&self, method: &str, path: &str) {
        self.lock().log.push((method.to_owned(), path.to_owned()));
    }
}

/// Offset pagination over a list: the slice for `[offset, offset + per_page)` and the next offset, if any.
pub fn page_of<T>(items: &[T], offset: usize, per_page: usize) -> (&[T], Option<usize>) {
    let start = offset.min(items.len());
    let end = start.saturating_add(per_page.max(1)).min(items.len());
    (&items[start..end], (end < items.len()).then_some(end))
}

/// Options of a sandbox run.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Time from create to ready.
    pub boot: Duration,
    /// Latency added to every answer.
    pub latency: Duration,
    /// Worker threads.
    pub threads: usize,
    /// Faults to inject, in the syntax of docs/reliability.md (`;`-separated); empty for none.
    pub faults: String,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        Self { boot: Duration::from_secs(2), latency: Duration::ZERO, threads: 8, faults: String::new() }
    }
}

/// A running sandbox server. Stops when [`Sandbox::shutdown`] is called or it is dropped.
pub struct Sandbox {
    addr: SocketAddr,
    world: Arc<World>,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
    prefixes: Vec<&'static str>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").field("addr", &self.addr).field("prefixes", &self.prefixes).finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Starts serving `dialects` on `listen` (`127.0.0.1:0` picks a free port).
    pub fn start(listen: &str, dialects: Vec<Arc<dyn Dialect>>, opts: SandboxOptions) -> std::io::Result<Self> {
        let server = Arc::new(tiny_http::Server::http(listen).map_err(|e| std::io::Error::other(e.to_string()))?);
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| std::io::Error::other("the sandbox is not listening on an IP address"))?;
        let world = Arc::new(World::new(opts.boot));
        let stop = Arc::new(AtomicBool::new(false));
        let prefixes = dialects.iter().map(|d| d.prefix()).collect();
        let dialects = Arc::new(dialects);
        let workers = (0..opts.threads.max(1))
            .map(|_| {
                let (server, world, stop, dialects) = (server.clone(), world.clone(), stop.clone(), dialects.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        match server.recv_timeout(Duration::from_millis(100)) {
                            Ok(Some(req)) => serve(req, &dialects, &world, opts.latency),
                            Ok(None) => {}
                            Err(_) => break,
                        }
                    }
                })
            })
            .collect();
        Ok(Self { addr, world, stop, workers, prefixes })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL of the dialect served under `prefix`.
    pub fn base_url(&self, prefix: &str) -> String {
        format!("http://{}{}", self.addr, prefix)
    }

    /// The simulated world (for tests).
    pub fn world(&self) -> &Arc<World> {
        &self.world
    }

    /// Stops serving and joins the workers.
    pub fn shutdown(mut self) {
        self.stop_workers();
    }

    fn stop_workers(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop_workers();
    }
}

fn serve(mut req: tiny_http::Request, dialects: &[Arc<dyn Dialect>], world: &World, latency: Duration) {
    let url = req.url().to_owned();
    let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
    let method = req.method().as_str().to_owned();
    world.record(&method, path);
    let mut body = Vec::new();
    let read = req.as_reader().take(16 * 1024 * 1024).read_to_end(&mut body);
    let headers = req
        .headers()
        .iter()
        .map(|h| (h.field.as_str().as_str().to_ascii_lowercase(), h.value.as_str().to_owned()))
        .collect();
    let dialect = dialects.iter().find(|d| path == d.prefix() || path.starts_with(&format!("{}/", d.prefix())));
    let answer = match (read, dialect) {
        (Err(_), _) => SandboxResponse::json(400, &serde_json::json!({"error": "unreadable request body"})),
        (Ok(_), None) => {
            SandboxResponse::json(404, &serde_json::json!({"error": format!("no sandbox dialect serves {path}")}))
        }
        (Ok(_), Some(d)) => {
            let sreq = SandboxRequest {
                method,
                path: path[d.prefix().len()..].to_owned(),
                query: form_urlencoded::parse(query.as_bytes()).into_owned().collect(),
                headers,
                body,
            };
            d.handle(&sreq, world)
        }
    };
    if !latency.is_zero() {
        // Simulated network latency on the server side; client logic never sleeps outside a Clock.
        #[allow(clippy::disallowed_methods)]
        std::thread::sleep(latency);
    }
    let mut resp = tiny_http::Response::from_data(answer.body).with_status_code(answer.status);
    for (k, v) in answer.headers {
        if let Ok(h) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
            resp.add_header(h);
        }
    }
    let _ = req.respond(resp);
}
