//! The one HTTP chokepoint. Every request to a provider goes through [`Http`]: one `ureq::Agent` built in one
//! place (timeouts, User-Agent, body-size limit, no redirects), bearer auth, the base-URL safety rule, the retry
//! policy on an injected clock inside a retry budget, deadlines that bound requests already in flight, Ctrl-C
//! (cancellation) and "still waiting" notes for slow answers, redacted logging, JSON decoding with the failing path
//! named, and the pagination loop (complete or failed, checked against the provider's own total).

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use ureq::http::Uri;

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::provider::{Deleted, Operation, ProviderInfo};
use crate::ratelimit::{Limiter, RateLimit};
use crate::retry::{Decision, Outcome, RetryPolicy};
use crate::secret::{Secret, redact_body};

/// The User-Agent every request carries.
pub const USER_AGENT: &str = concat!("prov/", env!("CARGO_PKG_VERSION"));

/// How a provider client is configured. Built by the CLI (from flags and environment) or by library users.
#[derive(Clone)]
pub struct ClientSettings {
    /// Base URL including the version segment; `None` means the provider's default.
    pub base_url: Option<String>,
    /// API token.
    pub token: Option<Secret>,
    /// The clock retries and waits sleep on.
    pub clock: Arc<dyn Clock>,
    /// Retry limits.
    pub retry: RetryPolicy,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Time allowed for one whole request, answer included.
    pub request_timeout: Duration,
    /// Largest answer body accepted.
    pub max_body_bytes: u64,
    /// Most pages one list may take before it is treated as a paging loop.
    pub max_pages: usize,
    /// Set (by a Ctrl-C or SIGTERM handler, or by a library user) to abort requests in flight and stop retrying:
    /// every request then ends with [`Error::Interrupted`] within [`CANCEL_POLL`].
    pub cancel: Arc<AtomicBool>,
    /// After this long without an answer, a warning names what prov is waiting for (and again each period).
    pub slow_note: Duration,
}

/// How often a request in flight checks the cancel flag.
pub const CANCEL_POLL: Duration = Duration::from_millis(100);

thread_local! {
    /// The deadline of the work running on this thread (see [`with_deadline`]), on the client's clock.
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Runs `f` with `deadline` bounding every request it sends on this thread: each attempt's timeout is the
/// smaller of the request timeout and the time left, and no attempt starts after the deadline. Used by waits, so
/// `--timeout` holds even while a request is in flight. Deadlines nest (the earlier one wins).
pub fn with_deadline<T>(deadline: Instant, f: impl FnOnce() -> T) -> T {
    let outer = DEADLINE.with(Cell::get);
    let effective = outer.map_or(deadline, |o| o.min(deadline));
    DEADLINE.with(|d| d.set(Some(effective)));
    let out = f();
    DEADLINE.with(|d| d.set(outer));
    out
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            base_url: None,
            token: None,
            clock: Arc::new(SystemClock),
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_body_bytes: 64 * 1024 * 1024,
            max_pages: 10_000,
            cancel: Arc::new(AtomicBool::new(false)),
            slow_note: Duration::from_secs(10),
        }
    }
}

impl std::fmt::Debug for ClientSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSettings")
            .field("base_url", &self.base_url)
            .field("token", &self.token)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl ClientSettings {
    /// Settings from the provider's environment variables: the base URL from `url_env`, the token from the first
    /// set (non-empty) variable of `token_env`.
    pub fn from_env(info: &ProviderInfo) -> Self {
        let base_url = std::env::var(info.url_env).ok().filter(|v| !v.trim().is_empty());
        let token = info
            .token_env
            .iter()
            .find_map(|var| std::env::var(var).ok().filter(|v| !v.trim().is_empty()))
            .map(|v| Secret::new(v.trim()));
        Self { base_url, token, ..Self::default() }
    }
}

/// A JSON page of a list and how to ask for the next one.
#[derive(Debug)]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// Query parameters that fetch the next page (replacing same-named ones), or `None` on the last page.
    pub next: Option<Vec<(String, String)>>,
    /// How many items the provider says the whole list holds, when its answer says (Vultr `meta.total`, Linode
    /// `results`, DigitalOcean `meta.total`). A finished list that disagrees is fetched once more, then fails.
    pub total: Option<u64>,
}

impl<T> Page<T> {
    /// A page with no total.
    pub fn new(items: Vec<T>, next: Option<Vec<(String, String)>>) -> Self {
        Self { items, next, total: None }
    }
    /// Adds the provider's total.
    pub fn with_total(mut self, total: Option<u64>) -> Self {
        self.total = total;
        self
    }
}

/// HTTP method of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET (idempotent).
    Get,
    /// POST (not idempotent: never resent after a lost answer).
    Post,
    /// DELETE (idempotent).
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Delete => "DELETE",
        }
    }
    fn idempotent(self) -> bool {
        !matches!(self, Self::Post)
    }
}

/// One request to the provider, relative to the base URL. Its `Debug` masks secret body fields.
#[derive(Clone)]
pub struct Request {
    /// The operation, for messages.
    pub operation: Operation,
    /// Method.
    pub method: Method,
    /// Path below the base URL, starting with `/`.
    pub path: String,
    /// Query parameters.
    pub query: Vec<(String, String)>,
    /// Extra headers (Linode `X-Filter`).
    pub headers: Vec<(String, String)>,
    /// JSON body.
    pub body: Option<serde_json::Value>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("operation", &self.operation)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("headers", &self.headers)
            .field("body", &self.body.as_ref().map(crate::secret::redact_json))
            .finish()
    }
}

impl Request {
    /// A GET of `path`.
    pub fn get(operation: Operation, path: impl Into<String>) -> Self {
        Self { operation, method: Method::Get, path: path.into(), query: Vec::new(), headers: Vec::new(), body: None }
    }
    /// A POST of a JSON body to `path`.
    pub fn post(operation: Operation, path: impl Into<String>, body: serde_json::Value) -> Self {
        Self { method: Method::Post, body: Some(body), ..Self::get(operation, path) }
    }
    /// A DELETE of `path`.
    pub fn delete(operation: Operation, path: impl Into<String>) -> Self {
        Self { method: Method::Delete, ..Self::get(operation, path) }
    }
    /// Adds a query parameter.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }
    /// Adds a header.
    pub fn header(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((key.into(), value.into()));
        self
    }
}

/// A successful (2xx) answer.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// The HTTP client of one provider. Cheap to share by reference across threads.
pub struct Http {
    agent: ureq::Agent,
    info: &'static ProviderInfo,
    base: String,
    token: Option<Secret>,
    clock: Arc<dyn Clock>,
    retry: RetryPolicy,
    max_body: u64,
    max_pages: usize,
    limiter: Limiter,
    request_timeout: Duration,
    cancel: Arc<AtomicBool>,
    slow_note: Duration,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http").field("provider", &self.info.name).field("base", &self.base).finish_non_exhaustive()
    }
}

/// Checks a base URL: `https://` anywhere, plain `http://` only to loopback (127.0.0.0/8, ::1, localhost), so a
/// token never crosses a network in clear text. Returns the URL without a trailing `/`.
pub fn check_base_url(info: &ProviderInfo, url: &str) -> Result<String> {
    let bad = |reason| Error::BadBaseUrl { provider: info.name, url: url.to_owned(), reason };
    let uri: Uri = url.parse().map_err(|_| bad("not a valid URL"))?;
    let host = uri.host().ok_or_else(|| bad("the URL has no host"))?;
    match uri.scheme_str() {
        Some("https") => {}
        Some("http") if is_loopback(host) => {}
        Some("http") => return Err(bad("plain http is only allowed to a loopback address; use https")),
        _ => return Err(bad("the URL must start with https:// (or http:// to a loopback address)")),
    }
    if uri.query().is_some() {
        return Err(bad("the base URL must not carry a query string"));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl Http {
    /// Builds the client: checks the base URL and builds the one agent. Sends nothing.
    pub fn new(info: &'static ProviderInfo, settings: &ClientSettings) -> Result<Self> {
        let base = check_base_url(info, settings.base_url.as_deref().unwrap_or(info.default_base_url))?;
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(USER_AGENT)
            .max_redirects(0)
            .timeout_connect(Some(settings.connect_timeout))
            .timeout_global(Some(settings.request_timeout))
            .build();
        Ok(Self {
            agent: ureq::Agent::new_with_config(config),
            info,
            base,
            token: settings.token.clone().filter(|t| !t.expose().trim().is_empty()),
            clock: settings.clock.clone(),
            retry: settings.retry,
            max_body: settings.max_body_bytes,
            max_pages: settings.max_pages.max(1),
            limiter: Limiter::default(),
            request_timeout: settings.request_timeout,
            cancel: settings.cancel.clone(),
            slow_note: settings.slow_note,
        })
    }

    /// Applies the provider's documented rate limits to every request of this client (all threads).
    pub fn with_limits(mut self, limits: &[RateLimit]) -> Self {
        self.limiter = Limiter::new(limits);
        self
    }

    /// The provider this client talks to.
    pub fn info(&self) -> &'static ProviderInfo {
        self.info
    }

    /// The base URL in use.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The clock this client sleeps on.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The full URL of a request, for messages and dry runs.
    pub fn url_of(&self, req: &Request) -> String {
        let mut url = format!("{}{}", self.base, req.path);
        for (i, (k, v)) in req.query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(k);
            url.push('=');
            url.push_str(v);
        }
        url
    }

    /// Fails with [`Error::MissingToken`] when `operation` needs a token and none is set. Sends nothing.
    pub fn require_token(&self, operation: Operation) -> Result<()> {
        let needs = !operation.is_catalogue() || self.info.catalogue_needs_token;
        if needs && self.token.is_none() {
            return Err(Error::MissingToken { provider: self.info.name, operation, vars: self.info.token_env });
        }
        Ok(())
    }

    /// The retry budget of one [`send`](Self::send): the time all its attempts together may spend waiting for an
    /// answer, so a stalled provider fails a command within twice the request timeout, never after four silent
    /// timeouts. (The pauses between attempts are the retry policy's: `Retry-After` up to 120 s, backoff up to 20 s.)
    pub fn retry_budget(&self) -> Duration {
        self.request_timeout.saturating_mul(2)
    }

    /// The cancel flag requests and waits of this client honour.
    pub fn cancel_flag(&self) -> &AtomicBool {
        &self.cancel
    }

    /// True once the cancel flag is set (Ctrl-C, SIGTERM).
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Sends a request under the retry policy, inside the retry budget and the thread's deadline
    /// ([`with_deadline`]). A 2xx answer is returned; any other status becomes [`Error::Api`] with the provider's
    /// error body parsed. A set cancel flag ends it with [`Error::Interrupted`].
    pub fn send(&self, req: &Request) -> Result<Response> {
        self.require_token(req.operation)?;
        let body = match &req.body {
            Some(v) => Some(Arc::<[u8]>::from(serde_json::to_vec(v).map_err(|e| Error::InvalidInput {
                provider: self.info.name,
                message: format!("cannot encode request body: {e}"),
            })?)),
            None => None,
        };
        let url = self.url_of(req);
        let deadline = DEADLINE.with(Cell::get);
        let mut budget = self.retry_budget();
        let mut attempt = 0;
        loop {
            attempt += 1;
            if self.cancelled() {
                return Err(Error::Interrupted);
            }
            self.limiter.acquire(req.operation, self.clock.as_ref());
            let started = self.clock.now();
            let left = deadline.map_or(budget, |d| d.saturating_duration_since(started).min(budget));
            if left.is_zero() {
                return Err(self.out_of_time(req, attempt));
            }
            let timeout = self.request_timeout.min(left);
            let in_flight = Instant::now();
            log::debug!("{} {} {} (attempt {attempt})", self.info.name, req.method.as_str(), url);
            if let Some(b) = &body {
                log::trace!("{} request body: {}", self.info.name, redact_body(b));
            }
            let result = self.attempt(req, body.clone(), timeout);
            budget = budget.saturating_sub(in_flight.elapsed());
            let elapsed = self.clock.now().saturating_duration_since(started).max(in_flight.elapsed());
            let (outcome, finished) = match &result {
                Ok(a) => {
                    let ms = elapsed.as_millis();
                    log::debug!("{} {} {} -> {} ({ms} ms)", self.info.name, req.method.as_str(), url, a.status);
                    log::trace!("{} response body: {}", self.info.name, redact_body(&a.body));
                    (Outcome::Status(a.status, a.retry_after.as_deref()), (200..300).contains(&a.status))
                }
                Err(e) if e.interrupted => return Err(Error::Interrupted),
                Err(e) => {
                    log::debug!("{} {} {} -> transport error: {e}", self.info.name, req.method.as_str(), url);
                    (Outcome::Transport, !e.retryable)
                }
            };
            if !finished {
                let unit: f64 = rand::random();
                if let Decision::RetryAfter(wait) =
                    self.retry.decide(attempt, req.method.idempotent(), outcome, self.clock.wall(), unit)
                {
                    let before_deadline = deadline.is_none_or(|d| wait < d.saturating_duration_since(self.clock.now()));
                    if !budget.is_zero() && before_deadline {
                        log::info!(
                            "{}: {} answered {}; retrying in {} ms (attempt {} of {})",
                            self.info.name,
                            req.operation,
                            match outcome {
                                Outcome::Status(s, _) => s.to_string(),
                                Outcome::Transport => "nothing".to_owned(),
                            },
                            wait.as_millis(),
                            attempt + 1,
                            self.retry.max_attempts
                        );
                        if self.clock.sleep_unless(wait, &self.cancel) {
                            return Err(Error::Interrupted);
                        }
                        continue;
                    }
                    log::info!(
                        "{}: {}: not retrying: the next attempt would start after the retry budget or deadline",
                        self.info.name,
                        req.operation
                    );
                }
            }
            return match result {
                Ok(a) if (200..300).contains(&a.status) => Ok(Response { status: a.status, body: a.body }),
                Ok(a) => {
                    let mut error = (self.info.parse_error)(a.status, &a.body);
                    if error.request_id.is_none() {
                        error.request_id = a.request_id;
                    }
                    Err(Error::Api { provider: self.info.name, operation: req.operation, status: a.status, error })
                }
                Err(e) => Err(Error::Transport {
                    provider: self.info.name,
                    operation: req.operation,
                    outcome_unknown: !req.method.idempotent() && !e.nothing_sent,
                    message: if e.nothing_sent { format!("{} (nothing was sent)", e.message) } else { e.message },
                }),
            };
        }
    }

    /// The error when the retry budget or the deadline is used up before an attempt could start.
    fn out_of_time(&self, req: &Request, attempt: u32) -> Error {
        Error::Transport {
            provider: self.info.name,
            operation: req.operation,
            message: if attempt == 1 {
                "the deadline passed before the request could be sent (nothing was sent)".to_owned()
            } else {
                format!(
                    "no answer within the retry budget ({}, {} attempts)",
                    humantime::format_duration(self.retry_budget()),
                    attempt - 1
                )
            },
            outcome_unknown: false,
        }
    }

    /// One attempt, run on its own thread so the caller can give up on it: on Ctrl-C (checked every
    /// [`CANCEL_POLL`]) the attempt is abandoned, and every `slow_note` without an answer a warning names the
    /// provider, method, path and the seconds waited. `timeout` bounds the whole attempt.
    fn attempt(&self, req: &Request, body: Option<Arc<[u8]>>, timeout: Duration) -> Result<Answer, TransportFailure> {
        let (tx, rx) = mpsc::channel();
        let job = Attempt {
            agent: self.agent.clone(),
            url: format!("{}{}", self.base, req.path),
            method: req.method,
            auth: self.token.as_ref().map(|t| Secret::new(format!("Bearer {}", t.expose()))),
            headers: req.headers.clone(),
            query: req.query.clone(),
            body,
            timeout,
            max_body: self.max_body,
        };
        std::thread::Builder::new()
            .name(format!("prov-{}-http", self.info.name))
            .spawn(move || {
                let _ = tx.send(job.run());
            })
            .map_err(|e| TransportFailure::local(format!("cannot start the request: {e}")))?;
        // Real time: this is about how long a person has been waiting, whatever clock the retries use.
        let started = Instant::now();
        let mut next_note = self.slow_note;
        loop {
            match rx.recv_timeout(CANCEL_POLL) {
                Ok(Ok(answer)) => return Ok(answer),
                Ok(Err(mut failure)) => {
                    if failure.message.starts_with("timed out") {
                        failure.message = format!(
                            "no answer within {} ({})",
                            humantime::format_duration(Duration::from_secs(timeout.as_secs().max(1))),
                            failure.message
                        );
                    }
                    return Err(failure);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if self.cancelled() {
                        return Err(TransportFailure { interrupted: true, ..TransportFailure::local("interrupted") });
                    }
                    let waited = started.elapsed();
                    if !self.slow_note.is_zero() && waited >= next_note {
                        log::warn!(
                            "{}: still waiting for an answer to {} {} ({} s so far, {} s allowed)",
                            self.info.name,
                            req.method.as_str(),
                            req.path,
                            waited.as_secs(),
                            timeout.as_secs()
                        );
                        next_note += self.slow_note;
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(TransportFailure::local("the request ended without an answer"));
                }
            }
        }
    }

    /// Decodes a JSON body, naming the JSON path that failed.
    pub fn decode<T: DeserializeOwned>(&self, operation: Operation, body: &[u8]) -> Result<T> {
        decode_json(self.info.name, operation, body)
    }

    /// GET and decode.
    pub fn get_json<T: DeserializeOwned>(&self, req: &Request) -> Result<T> {
        let resp = self.send(req)?;
        self.decode(req.operation, &resp.body)
    }

    /// DELETE; a 404 answer means the instance is already gone.
    pub fn delete(&self, req: &Request) -> Result<Deleted> {
        match self.send(req) {
            Ok(_) => Ok(Deleted::Deleted),
            Err(Error::Api { status: 404, .. }) => Ok(Deleted::AlreadyGone),
            Err(e) => Err(e),
        }
    }

    /// Fetches every page of a list. `decode` turns one page body into its items and the query that fetches the
    /// next page. A failed page fails the whole list (after the retry policy): a list is never silently short.
    /// When the provider states a total and the pages held a different number of items, the list is fetched once
    /// more (an instance may have come or gone while paging); a second disagreement fails the list.
    pub fn paginate<T>(&self, first: &Request, mut decode: impl FnMut(&[u8]) -> Result<Page<T>>) -> Result<Vec<T>> {
        let mut disagreement = String::new();
        for _ in 0..2 {
            let (items, total) = self.pages(first, &mut decode)?;
            match total {
                Some(total) if total != items.len() as u64 => {
                    disagreement = format!(
                        "the provider says the list holds {total} items but its pages held {}; refusing an incomplete list",
                        items.len()
                    );
                    log::info!("{}: {}: {disagreement}; listing again", self.info.name, first.operation);
                }
                _ => return Ok(items),
            }
        }
        Err(Error::Paging { provider: self.info.name, operation: first.operation, message: disagreement })
    }

    /// One pass over every page; returns the items and the total the last page stated.
    fn pages<T>(
        &self,
        first: &Request,
        decode: &mut impl FnMut(&[u8]) -> Result<Page<T>>,
    ) -> Result<(Vec<T>, Option<u64>)> {
        let mut items = Vec::new();
        let mut req = first.clone();
        let mut seen: Vec<Vec<(String, String)>> = Vec::new();
        for _ in 0..self.max_pages {
            let resp = self.send(&req)?;
            let page = decode(&resp.body)?;
            items.extend(page.items);
            let Some(next) = page.next else { return Ok((items, page.total)) };
            let same_as_this_page = next.iter().all(|pair| req.query.contains(pair));
            if same_as_this_page || seen.contains(&next) {
                return Err(Error::Paging {
                    provider: self.info.name,
                    operation: first.operation,
                    message: "the provider returned the same next-page marker twice".to_owned(),
                });
            }
            for (k, v) in &next {
                req.query.retain(|(qk, _)| qk != k);
                req.query.push((k.clone(), v.clone()));
            }
            seen.push(next);
        }
        Err(Error::Paging {
            provider: self.info.name,
            operation: first.operation,
            message: format!("more than {} pages; giving up", self.max_pages),
        })
    }
}

/// Decodes JSON with `serde_path_to_error`, so a wrong answer names the path that failed. Anything but
/// whitespace after the JSON document is a decode error too (two documents, or a document and garbage).
pub fn decode_json<T: DeserializeOwned>(provider: &'static str, operation: Operation, body: &[u8]) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        Error::Decode {
            provider,
            operation,
            path: if path.is_empty() { ".".to_owned() } else { path },
            message: if inner.is_eof() { format!("the JSON ends early ({inner})") } else { inner.to_string() },
        }
    })?;
    de.end().map_err(|e| Error::Decode {
        provider,
        operation,
        path: ".".to_owned(),
        message: format!("unexpected bytes after the JSON document ({e})"),
    })?;
    Ok(value)
}

/// One HTTP answer, before it is judged.
struct Answer {
    status: u16,
    retry_after: Option<String>,
    /// `x-request-id`, used when the error body names no request id (DigitalOcean sends both).
    request_id: Option<String>,
    body: Vec<u8>,
}

/// Everything one attempt needs, owned, so it can run on its own thread.
struct Attempt {
    agent: ureq::Agent,
    url: String,
    method: Method,
    auth: Option<Secret>,
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    body: Option<Arc<[u8]>>,
    timeout: Duration,
    max_body: u64,
}

impl Attempt {
    /// Sends the request: the status, the `Retry-After` header and the body, or a transport failure.
    fn run(self) -> Result<Answer, TransportFailure> {
        let query = self.query.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let answer = match self.method {
            Method::Get | Method::Delete => {
                let b =
                    if self.method == Method::Get { self.agent.get(&self.url) } else { self.agent.delete(&self.url) };
                let mut b = b.config().timeout_global(Some(self.timeout)).build().header("Accept", "application/json");
                if let Some(a) = &self.auth {
                    b = b.header("Authorization", a.expose());
                }
                for (k, v) in &self.headers {
                    b = b.header(k, v);
                }
                b.query_pairs(query).call()
            }
            Method::Post => {
                let mut b = self
                    .agent
                    .post(&self.url)
                    .config()
                    .timeout_global(Some(self.timeout))
                    .build()
                    .header("Accept", "application/json");
                if let Some(a) = &self.auth {
                    b = b.header("Authorization", a.expose());
                }
                for (k, v) in &self.headers {
                    b = b.header(k, v);
                }
                b.query_pairs(query).content_type("application/json").send(self.body.as_deref().unwrap_or(b"{}"))
            }
        };
        let mut resp = answer.map_err(TransportFailure::from)?;
        let status = resp.status().as_u16();
        let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (retry_after, request_id) = (header("retry-after"), header("x-request-id"));
        let bytes = resp.body_mut().with_config().limit(self.max_body).read_to_vec().map_err(|e| match e {
            // Asking again would bring the same oversized answer: not retried.
            ureq::Error::BodyExceedsLimit(n) => TransportFailure {
                message: format!("the answer is larger than the {n}-byte limit"),
                retryable: false,
                ..TransportFailure::default()
            },
            ureq::Error::Timeout(t) => TransportFailure {
                message: format!("timed out ({t}) while reading the answer"),
                ..TransportFailure::default()
            },
            other => TransportFailure {
                message: format!("reading the answer failed: {other}"),
                ..TransportFailure::default()
            },
        })?;
        Ok(Answer { status, retry_after, request_id, body: bytes })
    }
}

/// A failed attempt with no HTTP answer.
#[derive(Debug)]
struct TransportFailure {
    message: String,
    /// True when the request certainly did not reach the server (connection refused, DNS failure).
    nothing_sent: bool,
    /// False when asking again cannot help (an oversized answer).
    retryable: bool,
    /// True when the attempt was abandoned because the cancel flag was set.
    interrupted: bool,
}

impl Default for TransportFailure {
    fn default() -> Self {
        Self { message: String::new(), nothing_sent: false, retryable: true, interrupted: false }
    }
}

impl TransportFailure {
    /// A failure on this side before anything was sent.
    fn local(message: impl Into<String>) -> Self {
        Self { message: message.into(), nothing_sent: true, retryable: false, interrupted: false }
    }
}

impl From<ureq::Error> for TransportFailure {
    fn from(e: ureq::Error) -> Self {
        let nothing_sent = matches!(
            e,
            ureq::Error::ConnectionFailed
                | ureq::Error::HostNotFound
                | ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve)
        ) || matches!(&e, ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused);
        let message = match &e {
            ureq::Error::Timeout(t) => format!("timed out ({t})"),
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                format!("connection refused ({io})")
            }
            ureq::Error::Io(io) => format!("connection error: {io}"),
            other => other.to_string(),
        };
        Self { message, nothing_sent, ..Self::default() }
    }
}

impl std::fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
