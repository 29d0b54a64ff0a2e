//! prov-sandbox is responsible for the loopback sandbox engine: a small HTTP/1.1 server on which each provider
//! crate mounts its dialect under a path prefix (`/vultr/v2`, …), a shared world of simulated instances that move
//! pending → addressed → ready on a boot clock, helpers every dialect needs (bearer check, offset pagination, ids,
//! addresses, a request log), and the fault language ([`faults`]). It knows no provider by name: the dialects live
//! in the provider crates behind their `sandbox` feature. It never listens on anything but the address it is
//! given, which the CLI restricts to loopback.

pub mod faults;

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

pub use faults::reason_phrase;
use faults::{Faults, Outcome};

/// The one token every sandbox dialect refuses with 401, to try the invalid-token path.
pub const REVOKED_TOKEN: &str = "sandbox-revoked-token";

/// A provider's dialect constructor, as its registration carries it: `None` serves the fixtures as they are,
/// `Some(n)` grows the image list to `n` images (`prov sandbox --images`).
pub type NewDialect = fn(Option<usize>) -> Arc<dyn Dialect>;

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
    /// The provider's own JSON error body for `status` with `message` (Vultr `{"error", "status"}`, Linode
    /// `{"errors": [{"reason"}]}`, …): what a status fault with `body=json` answers under this prefix.
    fn error_body(&self, status: u16, message: &str) -> Value;
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
    /// Instances not yet visible: (dialect, id, visible once the log holds this many requests).
    hidden: Vec<(String, String, usize)>,
}

impl State {
    fn visible(&self, dialect: &str, id: &str) -> bool {
        !self.hidden.iter().any(|(d, i, until)| d == dialect && i == id && self.log.len() < *until)
    }
}

thread_local! {
    /// While set, instances this thread inserts stay hidden for that many further requests (`reset-after-lag`).
    static LAG: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` (a dialect handling one request) so that the instances it creates stay out of every list and lookup
/// for the next `requests` requests: a provider that acts late, or whose lists lag behind its creates.
pub(crate) fn with_lag<T>(requests: usize, f: impl FnOnce() -> T) -> T {
    LAG.with(|l| l.set(Some(requests)));
    let out = f();
    LAG.with(|l| l.set(None));
    out
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
        let mut s = self.lock();
        if let Some(n) = LAG.with(std::cell::Cell::get) {
            let until = s.log.len() + n;
            s.hidden.push((dialect.to_owned(), inst.id.clone(), until));
        }
        s.instances.entry(dialect.to_owned()).or_default().push(inst);
    }

    /// One instance (not while it is hidden by `reset-after-lag`).
    pub fn get(&self, dialect: &str, id: &str) -> Option<SimInstance> {
        let s = self.lock();
        s.instances.get(dialect)?.iter().find(|i| i.id == id && s.visible(dialect, &i.id)).cloned()
    }

    /// Every visible instance of a dialect, oldest first.
    pub fn list(&self, dialect: &str) -> Vec<SimInstance> {
        let s = self.lock();
        s.instances
            .get(dialect)
            .map(|all| all.iter().filter(|i| s.visible(dialect, &i.id)).cloned().collect())
            .unwrap_or_default()
    }

    /// Gives an instance a label its provider would refuse (what a broken or hostile API could answer); false when
    /// it does not exist.
    pub fn relabel(&self, dialect: &str, id: &str, label: &str) -> bool {
        let mut s = self.lock();
        let found = s.instances.get_mut(dialect).and_then(|all| all.iter_mut().find(|i| i.id == id));
        found.map(|i| i.label = label.to_owned()).is_some()
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

/// The array under `key` of a fixture body (`{"regions": [...]}`), or empty when the fixture is unreadable.
pub fn fixture_items(text: &str, key: &str) -> Vec<Value> {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.get(key).and_then(Value::as_array).cloned())
        .unwrap_or_default()
}

/// The object a fixture holds, under `key` when given (`{"instance": {...}}`) or the whole body (Linode's
/// unwrapped objects); `{}` when the fixture is unreadable. Dialects render instances from such templates.
pub fn fixture_object(text: &str, key: Option<&str>) -> Value {
    let body = serde_json::from_str::<Value>(text).ok();
    let inner = match key {
        Some(k) => body.and_then(|v| v.get(k).cloned()),
        None => body,
    };
    inner.filter(Value::is_object).unwrap_or_else(|| serde_json::json!({}))
}

/// `n` catalogue items made by repeating `base`; `rename(item, i)` gives the copies (`i` ≥ `base.len()`) their
/// own ids and names. For paging and memory benchmarks with large catalogues.
pub fn grown(base: &[Value], n: usize, rename: impl Fn(&mut Value, usize)) -> Vec<Value> {
    (0..n)
        .filter_map(|i| {
            let mut item = base.get(i % base.len().max(1))?.clone();
            if i >= base.len() {
                rename(&mut item, i);
            }
            Some(item)
        })
        .collect()
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
    /// Faults to inject, in the syntax of docs/reliability.md (`;`-separated); empty for none.
    pub faults: String,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        Self { boot: Duration::from_secs(2), latency: Duration::ZERO, faults: String::new() }
    }
}

/// A running sandbox server. Stops when [`Sandbox::shutdown`] is called or it is dropped.
///
/// The server is a small HTTP/1.1 implementation on `std::net` (keep-alive, `Content-Length` and chunked request
/// bodies, `Expect: 100-continue`), one thread per connection. It replaced tiny_http because a fault must be able
/// to close a connection without answering (the lost response), which tiny_http cannot do: a dropped request
/// is answered 500 and the connection stays open.
pub struct Sandbox {
    addr: SocketAddr,
    world: Arc<World>,
    stop: Arc<Stop>,
    acceptor: Option<JoinHandle<()>>,
    prefixes: Vec<&'static str>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").field("addr", &self.addr).field("prefixes", &self.prefixes).finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Starts serving `dialects` on `listen` (`127.0.0.1:0` picks a free port). An invalid fault spec in `opts`
    /// is an [`std::io::ErrorKind::InvalidInput`] error naming the rule; nothing is started then.
    pub fn start(listen: &str, dialects: Vec<Arc<dyn Dialect>>, opts: SandboxOptions) -> std::io::Result<Self> {
        let faults = Faults::parse(&opts.faults)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
        let listener = TcpListener::bind(listen)?;
        let addr = listener.local_addr()?;
        let world = Arc::new(World::new(opts.boot));
        let stop = Arc::new(Stop::default());
        let prefixes = dialects.iter().map(|d| d.prefix()).collect();
        let shared =
            Arc::new(Shared { dialects, world: world.clone(), stop: stop.clone(), latency: opts.latency, faults });
        let acceptor = std::thread::Builder::new()
            .name("prov-sandbox-accept".into())
            .spawn(move || accept_loop(&listener, &shared))?;
        Ok(Self { addr, world, stop, acceptor: Some(acceptor), prefixes })
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

    /// Stops serving: no new connection is accepted, open connections close at their next request (or within
    /// 100 ms when idle), and stalls end early.
    pub fn shutdown(mut self) {
        self.stop_workers();
    }

    fn stop_workers(&mut self) {
        self.stop.set();
        if let Some(acceptor) = self.acceptor.take() {
            // Wake the blocking accept with a connection of our own; join only when it got through.
            if TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok() {
                let _ = acceptor.join();
            }
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop_workers();
    }
}

/// The stop signal: a flag that stalls and latency wait on, so they end as soon as the sandbox stops.
#[derive(Debug, Default)]
struct Stop {
    stopped: Mutex<bool>,
    changed: Condvar,
}

impl Stop {
    fn is_set(&self) -> bool {
        *self.stopped.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set(&self) {
        *self.stopped.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.changed.notify_all();
    }

    /// Waits `d` or until stopped; true when stopped. Server-side waiting (latency, stalls) never sleeps the
    /// thread blindly, so shutting a sandbox down never waits for a stall.
    fn wait(&self, d: Duration) -> bool {
        let guard = self.stopped.lock().unwrap_or_else(PoisonError::into_inner);
        let (guard, _) =
            self.changed.wait_timeout_while(guard, d, |stopped| !*stopped).unwrap_or_else(PoisonError::into_inner);
        *guard
    }
}

/// What every connection thread shares.
struct Shared {
    dialects: Vec<Arc<dyn Dialect>>,
    world: Arc<World>,
    stop: Arc<Stop>,
    latency: Duration,
    faults: Faults,
}

/// How often a connection that waits for bytes looks at the stop signal.
const POLL: Duration = Duration::from_millis(100);
/// A connection that sends nothing for this long is closed.
const IDLE: Duration = Duration::from_secs(120);
/// Largest request line plus headers.
const MAX_HEAD: usize = 64 * 1024;
/// Largest request body.
const MAX_BODY: usize = 16 * 1024 * 1024;

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    loop {
        let accepted = listener.accept();
        if shared.stop.is_set() {
            return;
        }
        match accepted {
            Ok((stream, _)) => {
                let shared = shared.clone();
                // A connection whose thread cannot start is dropped, which the client sees as a reset.
                let _ = std::thread::Builder::new()
                    .name("prov-sandbox-conn".into())
                    .spawn(move || serve_connection(stream, &shared));
            }
            // Out of file descriptors and the like: pause instead of spinning.
            Err(_) => {
                if shared.stop.wait(Duration::from_millis(20)) {
                    return;
                }
            }
        }
    }
}

/// One request as read from the wire.
struct Incoming {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// The client asked to close the connection after this request (or speaks HTTP/1.0).
    close: bool,
}

/// Why no request could be read.
enum ReadFail {
    /// The client closed, went idle, or the sandbox stops: close quietly.
    Gone,
    /// The request is malformed: answer this status, then close.
    Bad(u16, &'static str),
}

/// A connection with its read buffer (bytes of a pipelined next request stay in it).
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    stop: Arc<Stop>,
}

impl Conn {
    /// Reads more bytes into the buffer.
    fn fill(&mut self) -> Result<(), ReadFail> {
        let started = Instant::now();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(ReadFail::Gone),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(());
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {
                    if self.stop.is_set() || started.elapsed() > IDLE {
                        return Err(ReadFail::Gone);
                    }
                }
                Err(_) => return Err(ReadFail::Gone),
            }
        }
    }

    /// Takes one CRLF-terminated line (without the CRLF) from the buffer.
    fn line(&mut self) -> Result<String, ReadFail> {
        loop {
            if let Some(i) = find(&self.buf, b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..i + 2).take(i).collect();
                return String::from_utf8(line).map_err(|_| ReadFail::Bad(400, "a chunk line is not UTF-8"));
            }
            if self.buf.len() > MAX_HEAD {
                return Err(ReadFail::Bad(431, "a line is too long"));
            }
            self.fill()?;
        }
    }

    /// Takes exactly `n` bytes from the buffer.
    fn take(&mut self, n: usize) -> Result<Vec<u8>, ReadFail> {
        while self.buf.len() < n {
            self.fill()?;
        }
        Ok(self.buf.drain(..n).collect())
    }

    fn chunked_body(&mut self) -> Result<Vec<u8>, ReadFail> {
        let mut body = Vec::new();
        loop {
            let line = self.line()?;
            let size = line.split(';').next().map(str::trim).unwrap_or("");
            let size = usize::from_str_radix(size, 16).map_err(|_| ReadFail::Bad(400, "invalid chunk size"))?;
            if size == 0 {
                // Trailers, up to the empty line.
                while !self.line()?.is_empty() {}
                return Ok(body);
            }
            if body.len().saturating_add(size) > MAX_BODY {
                return Err(ReadFail::Bad(413, "request body too large"));
            }
            body.extend(self.take(size)?);
            if self.take(2)? != b"\r\n" {
                return Err(ReadFail::Bad(400, "a chunk does not end with CRLF"));
            }
        }
    }

    fn read_request(&mut self) -> Result<Incoming, ReadFail> {
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            if self.buf.len() > MAX_HEAD {
                return Err(ReadFail::Bad(431, "request head too large"));
            }
            self.fill()?;
        };
        let head: Vec<u8> = self.buf.drain(..head_end).collect();
        let head = String::from_utf8_lossy(&head);
        let mut lines = head.split("\r\n");
        let mut parts = lines.next().unwrap_or("").split(' ');
        let (Some(method), Some(target), Some(version), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ReadFail::Bad(400, "malformed request line"));
        };
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ReadFail::Bad(400, "malformed method"));
        }
        let http10 = match version {
            "HTTP/1.1" => false,
            "HTTP/1.0" => true,
            _ => return Err(ReadFail::Bad(505, "only HTTP/1.0 and HTTP/1.1 are served")),
        };
        let mut headers = Vec::new();
        for line in lines.filter(|l| !l.is_empty()) {
            let (name, value) = line.split_once(':').ok_or(ReadFail::Bad(400, "malformed header line"))?;
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.to_ascii_lowercase());
        let connection = header("connection").unwrap_or_default();
        let close = connection.contains("close") || (http10 && !connection.contains("keep-alive"));
        let chunked = header("transfer-encoding").is_some_and(|v| v.contains("chunked"));
        let length = match header("content-length") {
            Some(v) if !chunked => v.parse::<usize>().map_err(|_| ReadFail::Bad(400, "invalid Content-Length"))?,
            _ => 0,
        };
        if length > MAX_BODY {
            return Err(ReadFail::Bad(413, "request body too large"));
        }
        if header("expect").is_some_and(|v| v == "100-continue") && (chunked || length > self.buf.len()) {
            let _ = self.stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        let body = if chunked { self.chunked_body()? } else { self.take(length)? };
        // An absolute-form target (`http://host/path`) is served by its path.
        let target = match target.strip_prefix("http://").or_else(|| target.strip_prefix("https://")) {
            Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
            None => target,
        };
        if !target.starts_with('/') {
            return Err(ReadFail::Bad(400, "the request target must be a path"));
        }
        Ok(Incoming { method: method.to_owned(), target: target.to_owned(), headers, body, close })
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn serve_connection(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(POLL));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_nodelay(true);
    let mut conn = Conn { stream, buf: Vec::new(), stop: shared.stop.clone() };
    loop {
        let req = match conn.read_request() {
            Ok(req) => req,
            Err(ReadFail::Gone) => return,
            Err(ReadFail::Bad(status, message)) => {
                let answer = SandboxResponse::json(status, &serde_json::json!({ "error": message }));
                let _ = write_answer(&mut conn.stream, &answer, false, true);
                return;
            }
        };
        if shared.stop.is_set() {
            return;
        }
        match serve(&req, shared) {
            Outcome::Close => {
                let _ = conn.stream.shutdown(Shutdown::Both);
                return;
            }
            Outcome::Respond(answer, hold) => {
                // Simulated latency and stalls wait on the stop signal, never on a blind sleep.
                let hold = hold.saturating_add(shared.latency);
                if !hold.is_zero() && shared.stop.wait(hold) {
                    return;
                }
                if write_answer(&mut conn.stream, &answer, req.method == "HEAD", req.close).is_err() || req.close {
                    return;
                }
            }
        }
    }
}

/// Records the request, picks its fault, and lets the dialect answer when the fault allows it.
fn serve(req: &Incoming, shared: &Shared) -> Outcome {
    let (path, query) = req.target.split_once('?').unwrap_or((req.target.as_str(), ""));
    shared.world.record(&req.method, path);
    let fault = shared.faults.pick(&req.method, path);
    let dialect = shared.dialects.iter().find(|d| path == d.prefix() || path.starts_with(&format!("{}/", d.prefix())));
    let error_body = |status: u16, message: &str| match dialect {
        Some(d) => d.error_body(status, message),
        None => serde_json::json!({ "error": message }),
    };
    faults::apply(fault.as_ref(), error_body, || {
        let Some(d) = dialect else {
            return SandboxResponse::json(
                404,
                &serde_json::json!({"error": format!("no sandbox dialect serves {path}")}),
            );
        };
        let sreq = SandboxRequest {
            method: req.method.clone(),
            path: path[d.prefix().len()..].to_owned(),
            query: form_urlencoded::parse(query.as_bytes()).into_owned().collect(),
            headers: req.headers.clone(),
            body: req.body.clone(),
        };
        d.handle(&sreq, &shared.world)
    })
}

fn write_answer(stream: &mut TcpStream, answer: &SandboxResponse, head_only: bool, close: bool) -> std::io::Result<()> {
    let status = answer.status;
    let mut out = format!("HTTP/1.1 {status} {}\r\n", faults::reason_phrase(status));
    for (name, value) in &answer.headers {
        let framing =
            ["content-length", "connection", "transfer-encoding"].iter().any(|h| name.eq_ignore_ascii_case(h));
        let unsafe_text = [name, value].iter().any(|s| s.contains(['\r', '\n']));
        if !framing && !unsafe_text {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    let no_body = status == 204 || status == 304 || (100..200).contains(&status);
    if !no_body {
        out.push_str(&format!("Content-Length: {}\r\n", answer.body.len()));
    }
    if close {
        out.push_str("Connection: close\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if !head_only && !no_body {
        bytes.extend_from_slice(&answer.body);
    }
    stream.write_all(&bytes)?;
    stream.flush()
}
