//! The one HTTP chokepoint. Every request to a provider goes through [`Http`]: one `ureq::Agent` built in one
//! place (timeouts, User-Agent, body-size limit, no redirects), bearer auth, the base-URL safety rule, the retry
//! policy on an injected clock, redacted logging, JSON decoding with the failing path named, and the pagination
//! loop.

use std::sync::Arc;
use std::time::Duration;

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

    /// Sends a request under the retry policy. A 2xx answer is returned; any other status becomes
    /// [`Error::Api`] with the provider's error body parsed.
    pub fn send(&self, req: &Request) -> Result<Response> {
        self.require_token(req.operation)?;
        let body = match &req.body {
            Some(v) => Some(serde_json::to_vec(v).map_err(|e| Error::InvalidInput {
                provider: self.info.name,
                message: format!("cannot encode request body: {e}"),
            })?),
            None => None,
        };
        let url = self.url_of(req);
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.limiter.acquire(req.operation, self.clock.as_ref());
            let started = self.clock.now();
            log::debug!("{} {} {} (attempt {attempt})", self.info.name, req.method.as_str(), url);
            if let Some(b) = &body {
                log::trace!("{} request body: {}", self.info.name, redact_body(b));
            }
            let result = self.send_once(req, body.as_deref());
            let elapsed = self.clock.now().saturating_duration_since(started);
            let (outcome, finished) = match &result {
                Ok(a) => {
                    let ms = elapsed.as_millis();
                    log::debug!("{} {} {} -> {} ({ms} ms)", self.info.name, req.method.as_str(), url, a.status);
                    log::trace!("{} response body: {}", self.info.name, redact_body(&a.body));
                    (Outcome::Status(a.status, a.retry_after.as_deref()), (200..300).contains(&a.status))
                }
                Err(e) => {
                    log::debug!("{} {} {} -> transport error: {e}", self.info.name, req.method.as_str(), url);
                    (Outcome::Transport, false)
                }
            };
            if !finished {
                let unit: f64 = rand::random();
                if let Decision::RetryAfter(wait) =
                    self.retry.decide(attempt, req.method.idempotent(), outcome, self.clock.wall(), unit)
                {
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
                    self.clock.sleep(wait);
                    continue;
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
                    message: e.message,
                }),
            };
        }
    }

    /// One attempt: the status, the `Retry-After` header and the body, or a transport failure.
    fn send_once(&self, req: &Request, body: Option<&[u8]>) -> Result<Answer, TransportFailure> {
        let url = format!("{}{}", self.base, req.path);
        let auth = self.token.as_ref().map(|t| format!("Bearer {}", t.expose()));
        let answer = match req.method {
            Method::Get | Method::Delete => {
                let mut b = if req.method == Method::Get { self.agent.get(&url) } else { self.agent.delete(&url) };
                b = b.header("Accept", "application/json");
                if let Some(a) = &auth {
                    b = b.header("Authorization", a);
                }
                for (k, v) in &req.headers {
                    b = b.header(k, v);
                }
                b.query_pairs(req.query.iter().map(|(k, v)| (k.as_str(), v.as_str()))).call()
            }
            Method::Post => {
                let mut b = self.agent.post(&url).header("Accept", "application/json");
                if let Some(a) = &auth {
                    b = b.header("Authorization", a);
                }
                for (k, v) in &req.headers {
                    b = b.header(k, v);
                }
                b.query_pairs(req.query.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                    .content_type("application/json")
                    .send(body.unwrap_or(b"{}"))
            }
        };
        let mut resp = answer.map_err(|e| {
            let mut failure = TransportFailure::from(e);
            if failure.message.starts_with("timed out") {
                failure.message = format!(
                    "no answer within the {} request timeout ({})",
                    humantime::format_duration(self.request_timeout),
                    failure.message
                );
            }
            failure
        })?;
        let status = resp.status().as_u16();
        let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (retry_after, request_id) = (header("retry-after"), header("x-request-id"));
        let bytes = resp.body_mut().with_config().limit(self.max_body).read_to_vec().map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(n) => TransportFailure {
                message: format!("the answer is larger than the {n}-byte limit"),
                nothing_sent: false,
            },
            other => TransportFailure { message: format!("reading the answer failed: {other}"), nothing_sent: false },
        })?;
        Ok(Answer { status, retry_after, request_id, body: bytes })
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
    pub fn paginate<T>(&self, first: &Request, mut decode: impl FnMut(&[u8]) -> Result<Page<T>>) -> Result<Vec<T>> {
        let mut items = Vec::new();
        let mut req = first.clone();
        let mut seen: Vec<Vec<(String, String)>> = Vec::new();
        for _ in 0..self.max_pages {
            let resp = self.send(&req)?;
            let page = decode(&resp.body)?;
            items.extend(page.items);
            let Some(next) = page.next else { return Ok(items) };
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

/// Decodes JSON with `serde_path_to_error`, so a wrong answer names the path that failed.
pub fn decode_json<T: DeserializeOwned>(provider: &'static str, operation: Operation, body: &[u8]) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        Error::Decode {
            provider,
            operation,
            path: if path.is_empty() { ".".to_owned() } else { path },
            message: if inner.is_eof() { format!("the JSON ends early ({inner})") } else { inner.to_string() },
        }
    })
}

/// One HTTP answer, before it is judged.
struct Answer {
    status: u16,
    retry_after: Option<String>,
    /// `x-request-id`, used when the error body names no request id (DigitalOcean sends both).
    request_id: Option<String>,
    body: Vec<u8>,
}

/// A failed attempt with no HTTP answer.
#[derive(Debug)]
struct TransportFailure {
    message: String,
    /// True when the request certainly did not reach the server (connection refused, DNS failure).
    nothing_sent: bool,
}

impl From<ureq::Error> for TransportFailure {
    fn from(e: ureq::Error) -> Self {
        let nothing_sent = matches!(
            e,
            ureq::Error::ConnectionFailed
                | ureq::Error::HostNotFound
                | ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve)
        );
        let message = match &e {
            ureq::Error::Timeout(t) => format!("timed out ({t})"),
            ureq::Error::Io(io) => format!("connection error: {io}"),
            other => other.to_string(),
        };
        Self { message, nothing_sent }
    }
}

impl std::fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
