//! Fault injection for the sandbox: a small rule language (`GET /vultr/v2/regions #2 => 502`), parsed once when
//! the sandbox starts, and the matching that picks the fault, if any, for each request. The syntax and every
//! action are documented in docs/reliability.md; in short:
//!
//! ```text
//! SPEC    = RULE { ";" RULE }                      empty rules are ignored
//! RULE    = [METHOD] PATH [SELECT] "=>" ACTION { OPTION }
//! METHOD  = GET | POST | DELETE | PUT | PATCH | HEAD | "*"     (any case; missing = any method)
//! PATH    = "/" glob over the whole path, dialect prefix included, query excluded:
//!           "*" matches within one segment, "**" across segments (`/vultr/v2/instances/*`, `/**/regions`)
//! SELECT  = "#N" (the Nth matching request) | "#N-M" | "#N+" (the Nth and later) | "every" (the default)
//! ACTION  = 400..599 [retry-after=SECS] [retry-after-date=SECS] [body=json|html|empty]
//!         | truncate | invalid-json | missing-fields | stall[=DURATION] | reset | reset-after
//!         | reset-after-lag=N | short-page
//! ```
//!
//! Requests are counted per rule: every request whose method and path match a rule advances that rule's count,
//! and the first rule (in spec order) whose selector picks the count decides the fault.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use super::SandboxResponse;

/// The longest stall a rule may ask for, so a forgotten fault cannot hold a connection for ever.
pub const MAX_STALL: Duration = Duration::from_secs(30);

/// Which of the matching requests a rule fires on (counted from 1, per rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    /// Every matching request.
    Every,
    /// Matching requests number `from` to `to`, both included.
    Range {
        /// First request picked.
        from: u64,
        /// Last request picked.
        to: u64,
    },
    /// Matching request number `from` and every later one.
    From(u64),
}

impl Select {
    fn picks(self, n: u64) -> bool {
        match self {
            Self::Every => true,
            Self::Range { from, to } => (from..=to).contains(&n),
            Self::From(from) => n >= from,
        }
    }
}

/// The body of an error answer injected by a status fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorBody {
    /// A JSON error body every provider's error parser understands.
    Json,
    /// An HTML page, as a proxy or load balancer sends.
    Html,
    /// No body at all.
    Empty,
}

/// A `Retry-After` header on an injected answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// `Retry-After: <seconds>`.
    Seconds(u64),
    /// `Retry-After: <HTTP-date>`, that many seconds after the answer is made.
    DateIn(u64),
}

/// What a fault does to the request it fires on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Answer with this status without asking the dialect (the provider refused without acting).
    Status {
        /// HTTP status, 400–599.
        status: u16,
        /// The body sent.
        body: ErrorBody,
        /// The `Retry-After` header, if any.
        retry_after: Option<RetryAfter>,
    },
    /// The dialect acts; its body is cut to half its length (the HTTP framing stays consistent).
    Truncate,
    /// The dialect acts; its body is replaced by text that is not valid JSON.
    InvalidJson,
    /// The dialect acts; its body is replaced by `{}`, so every required field is missing.
    MissingFields,
    /// The dialect acts; the answer is held back this long (at most [`MAX_STALL`]).
    Stall(Duration),
    /// The connection is closed after the request is read, without asking the dialect and without an answer.
    Reset,
    /// The dialect acts (creates, deletes), then the connection is closed without an answer: the lost response.
    ResetAfter,
    /// As `ResetAfter`, and what the dialect created stays out of every list and lookup for the next N requests:
    /// a provider that acts late or whose lists lag (eventual consistency).
    ResetAfterLag(usize),
    /// The dialect acts; the first array at the top of its JSON answer loses its last item while the paging
    /// fields and totals stay: a page shorter than the provider's own total says.
    ShortPage,
}

impl std::fmt::Display for Action {
    /// The action in spec syntax (`429 retry-after=7`, `reset-after`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Status { status, body, retry_after } => {
                write!(f, "{status}")?;
                match body {
                    ErrorBody::Json => f.write_str(" body=json")?,
                    ErrorBody::Html => f.write_str(" body=html")?,
                    ErrorBody::Empty => f.write_str(" body=empty")?,
                }
                match retry_after {
                    Some(RetryAfter::Seconds(s)) => write!(f, " retry-after={s}"),
                    Some(RetryAfter::DateIn(s)) => write!(f, " retry-after-date={s}"),
                    None => Ok(()),
                }
            }
            Self::Truncate => f.write_str("truncate"),
            Self::InvalidJson => f.write_str("invalid-json"),
            Self::MissingFields => f.write_str("missing-fields"),
            Self::Stall(d) => write!(f, "stall={}ms", d.as_millis()),
            Self::Reset => f.write_str("reset"),
            Self::ResetAfter => f.write_str("reset-after"),
            Self::ResetAfterLag(n) => write!(f, "reset-after-lag={n}"),
            Self::ShortPage => f.write_str("short-page"),
        }
    }
}

impl Action {
    /// True when the dialect handles the request before the fault is applied (the server acts).
    pub fn dialect_acts(&self) -> bool {
        !matches!(self, Self::Status { .. } | Self::Reset)
    }
}

/// One rule of a fault spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Upper-case method, or `None` for any.
    pub method: Option<String>,
    /// Path glob, dialect prefix included.
    pub path: String,
    /// Which matching requests it fires on.
    pub select: Select,
    /// What it does.
    pub action: Action,
}

impl Fault {
    fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method)) && glob_matches(&self.path, path)
    }
}

/// A fault spec that could not be parsed: which rule and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultSpecError {
    /// 1-based position of the rule among the `;`-separated rules.
    pub rule: usize,
    /// The rule's text.
    pub text: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for FaultSpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid sandbox fault #{} `{}`: {} (see docs/reliability.md)", self.rule, self.text, self.message)
    }
}

impl std::error::Error for FaultSpecError {}

/// The parsed rules of one sandbox and how many matching requests each has seen.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<Fault>,
    counts: Mutex<Vec<u64>>,
}

impl Faults {
    /// Parses a spec (`;`-separated rules; an empty spec injects nothing).
    pub fn parse(spec: &str) -> Result<Self, FaultSpecError> {
        let rules = spec
            .split(';')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .enumerate()
            .map(|(i, text)| {
                parse_rule(text).map_err(|message| FaultSpecError { rule: i + 1, text: text.to_owned(), message })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let counts = Mutex::new(vec![0; rules.len()]);
        Ok(Self { rules, counts })
    }

    /// The rules, in spec order.
    pub fn rules(&self) -> &[Fault] {
        &self.rules
    }

    /// Counts the request against every rule it matches and returns the action of the first rule that picks it.
    pub fn pick(&self, method: &str, path: &str) -> Option<Action> {
        if self.rules.is_empty() {
            return None;
        }
        let mut counts = self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut chosen = None;
        for (rule, count) in self.rules.iter().zip(counts.iter_mut()) {
            if rule.matches(method, path) {
                *count += 1;
                if chosen.is_none() && rule.select.picks(*count) {
                    log::info!("sandbox fault: {method} {path} (match #{count}) => {}", rule.action);
                    chosen = Some(rule.action.clone());
                }
            }
        }
        chosen
    }
}

/// What the server does with a request once the fault (if any) is applied.
#[derive(Debug)]
pub(super) enum Outcome {
    /// Send this answer, after holding it back for the duration.
    Respond(SandboxResponse, Duration),
    /// Close the connection without answering.
    Close,
}

/// Applies `action` to a request. `handle` asks the dialect; it is called only when the fault lets the server
/// act. `error_body` renders a JSON error body in the shape of the dialect serving the path.
pub(super) fn apply(
    action: Option<&Action>,
    error_body: impl FnOnce(u16, &str) -> serde_json::Value,
    handle: impl FnOnce() -> SandboxResponse,
) -> Outcome {
    let Some(action) = action else { return Outcome::Respond(handle(), Duration::ZERO) };
    match action {
        Action::Status { status, body, retry_after } => {
            Outcome::Respond(status_answer(*status, *body, *retry_after, SystemTime::now(), error_body), Duration::ZERO)
        }
        Action::Reset => Outcome::Close,
        Action::ResetAfter => {
            let _ = handle();
            Outcome::Close
        }
        Action::ResetAfterLag(n) => {
            let _ = super::with_lag(*n, handle);
            Outcome::Close
        }
        Action::Stall(d) => Outcome::Respond(handle(), *d),
        Action::Truncate => {
            let mut answer = handle();
            let keep = answer.body.len() / 2;
            answer.body.truncate(keep);
            Outcome::Respond(answer, Duration::ZERO)
        }
        Action::InvalidJson => Outcome::Respond(replace_body(handle(), INVALID_JSON), Duration::ZERO),
        Action::ShortPage => {
            let mut answer = handle();
            if let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&answer.body) {
                if let Some(items) = v.as_object_mut().and_then(|o| o.values_mut().find_map(|x| x.as_array_mut())) {
                    items.pop();
                }
                answer.body = serde_json::to_vec(&v).unwrap_or_default();
            }
            Outcome::Respond(answer, Duration::ZERO)
        }
        Action::MissingFields => Outcome::Respond(replace_body(handle(), b"{}"), Duration::ZERO),
    }
}

/// The body of `invalid-json`: text that is not JSON from its first byte, as an error page served with 200.
pub const INVALID_JSON: &[u8] = b"<<sandbox fault: this answer is not JSON>>";

fn replace_body(mut answer: SandboxResponse, body: &[u8]) -> SandboxResponse {
    answer.headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
    answer.headers.push(("Content-Type".into(), "application/json".into()));
    answer.body = body.to_vec();
    answer
}

/// The answer of a status fault; a JSON body is the serving dialect's own shape (`error_body`), so each
/// client's own parser reads the message `<reason> (sandbox fault)`.
fn status_answer(
    status: u16,
    body: ErrorBody,
    retry_after: Option<RetryAfter>,
    now: SystemTime,
    error_body: impl FnOnce(u16, &str) -> serde_json::Value,
) -> SandboxResponse {
    let reason = reason_phrase(status);
    let message = format!("{reason} (sandbox fault)");
    let mut answer = match body {
        ErrorBody::Json => SandboxResponse::json(status, &error_body(status, &message)),
        ErrorBody::Html => SandboxResponse {
            status,
            headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
            body: format!(
                "<!DOCTYPE html>\n<html><head><title>{status} {reason}</title></head>\n<body><h1>{status} {reason}</h1><hr><p>sandbox fault</p></body></html>\n"
            )
            .into_bytes(),
        },
        ErrorBody::Empty => SandboxResponse::empty(status),
    };
    match retry_after {
        Some(RetryAfter::Seconds(s)) => answer = answer.with_header("Retry-After", &s.to_string()),
        Some(RetryAfter::DateIn(s)) => {
            let when = now.checked_add(Duration::from_secs(s)).unwrap_or(now);
            answer = answer.with_header("Retry-After", &httpdate::fmt_http_date(when));
        }
        None => {}
    }
    answer
}

/// The reason phrase of a status, for status lines and injected bodies (`Too Many Requests`).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ if (400..500).contains(&status) => "Client Error",
        _ if (500..600).contains(&status) => "Server Error",
        _ => "Status",
    }
}

const ACTIONS: &str = "a status 400-599, truncate, invalid-json, missing-fields, short-page, stall=DURATION, reset, reset-after or reset-after-lag=N";

fn parse_rule(text: &str) -> Result<Fault, String> {
    let (left, right) = text.split_once("=>").ok_or("expected `[METHOD] PATH [#N] => ACTION`")?;
    let mut words: Vec<&str> = left.split_whitespace().collect();
    let method = match words.first() {
        Some(w) if !w.starts_with('/') => {
            let w = words.remove(0);
            if w == "*" {
                None
            } else if !w.is_empty() && w.chars().all(|c| c.is_ascii_alphabetic()) {
                Some(w.to_ascii_uppercase())
            } else {
                return Err(format!("`{w}` is not an HTTP method (GET, POST, DELETE, … or *)"));
            }
        }
        _ => None,
    };
    let path = match words.first() {
        Some(p) if p.starts_with('/') => words.remove(0).to_owned(),
        Some(p) => return Err(format!("the path `{p}` must start with `/` (the dialect prefix, e.g. /vultr/v2/…)")),
        None => return Err("a path is missing before `=>`".into()),
    };
    let select = match words.as_slice() {
        [] => Select::Every,
        [s] => parse_select(s)?,
        [_, extra, ..] => return Err(format!("unexpected `{extra}` before `=>`")),
    };
    let mut words = right.split_whitespace();
    let action_word = words.next().ok_or_else(|| format!("an action is missing after `=>` (one of {ACTIONS})"))?;
    let options: Vec<&str> = words.collect();
    let action = parse_action(action_word, &options)?;
    Ok(Fault { method, path, select, action })
}

fn parse_count(s: &str) -> Result<u64, String> {
    match s.parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("`{s}` is not a request number (1, 2, …)")),
    }
}

fn parse_select(s: &str) -> Result<Select, String> {
    if s.eq_ignore_ascii_case("every") {
        return Ok(Select::Every);
    }
    let Some(n) = s.strip_prefix('#') else {
        return Err(format!("`{s}` is not a selector (`#N`, `#N-M`, `#N+` or `every`)"));
    };
    if let Some(from) = n.strip_suffix('+') {
        return Ok(Select::From(parse_count(from)?));
    }
    if let Some((from, to)) = n.split_once('-') {
        let (from, to) = (parse_count(from)?, parse_count(to)?);
        if to < from {
            return Err(format!("the range `{s}` ends before it starts"));
        }
        return Ok(Select::Range { from, to });
    }
    let n = parse_count(n)?;
    Ok(Select::Range { from: n, to: n })
}

fn parse_action(word: &str, options: &[&str]) -> Result<Action, String> {
    let (name, value) = match word.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (word, None),
    };
    let no_value = |action: Action| match value {
        Some(_) => Err(format!("`{name}` takes no value")),
        None => Ok(action),
    };
    let action = match name.to_ascii_lowercase().as_str() {
        n if n.len() == 3 && n.chars().all(|c| c.is_ascii_digit()) => {
            if value.is_some() {
                return Err(format!("`{word}`: options of a status go after it, separated by spaces"));
            }
            return parse_status(n, options);
        }
        "truncate" => no_value(Action::Truncate)?,
        "invalid-json" => no_value(Action::InvalidJson)?,
        "missing-fields" => no_value(Action::MissingFields)?,
        "short-page" => no_value(Action::ShortPage)?,
        "reset" | "reset-before" => no_value(Action::Reset)?,
        "reset-after" => no_value(Action::ResetAfter)?,
        "reset-after-lag" => {
            let n =
                value.and_then(|v| v.parse::<usize>().ok()).filter(|n| (1..=10_000).contains(n)).ok_or_else(|| {
                    "`reset-after-lag` takes a number of requests, 1-10000 (reset-after-lag=5)".to_owned()
                })?;
            Action::ResetAfterLag(n)
        }
        "stall" | "delay" => {
            let d = match value {
                None => MAX_STALL,
                Some(v) => humantime::parse_duration(v)
                    .map_err(|e| format!("`{v}` is not a duration like 500ms or 5s: {e}"))?,
            };
            if d > MAX_STALL {
                return Err(format!("a stall is at most {}", humantime::format_duration(MAX_STALL)));
            }
            // Whole milliseconds, the resolution it is shown in.
            Action::Stall(Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)))
        }
        _ => return Err(format!("unknown action `{word}`; expected {ACTIONS}")),
    };
    match options.first() {
        Some(o) => Err(format!("`{o}` does not apply to `{name}` (options are for status answers)")),
        None => Ok(action),
    }
}

fn parse_status(digits: &str, options: &[&str]) -> Result<Action, String> {
    let status: u16 = digits.parse().map_err(|_| format!("`{digits}` is not a status"))?;
    if !(400..=599).contains(&status) {
        return Err(format!("status {status} is not an error status (400-599)"));
    }
    let mut body = if status >= 500 { ErrorBody::Html } else { ErrorBody::Json };
    let mut retry_after = None;
    for option in options {
        let (key, value) = option
            .split_once('=')
            .ok_or_else(|| format!("`{option}` is not an option (retry-after=SECS, retry-after-date=SECS, body=…)"))?;
        let secs = || value.parse::<u64>().map_err(|_| format!("`{value}` is not a whole number of seconds"));
        match key.to_ascii_lowercase().as_str() {
            "retry-after" => retry_after = Some(RetryAfter::Seconds(secs()?)),
            "retry-after-date" => retry_after = Some(RetryAfter::DateIn(secs()?)),
            "body" => {
                body = match value.to_ascii_lowercase().as_str() {
                    "json" => ErrorBody::Json,
                    "html" => ErrorBody::Html,
                    "empty" => ErrorBody::Empty,
                    _ => return Err(format!("`body={value}`: the body is json, html or empty")),
                }
            }
            _ => return Err(format!("unknown option `{key}` (retry-after, retry-after-date or body)")),
        }
    }
    Ok(Action::Status { status, body, retry_after })
}

/// Matches `path` against `pattern`: `*` matches any run of characters except `/`, `**` any run at all, every
/// other character itself. Linear in the pattern times the path (no backtracking blow-up).
pub fn glob_matches(pattern: &str, path: &str) -> bool {
    #[derive(Clone, Copy)]
    enum Tok {
        Byte(u8),
        Star,
        DoubleStar,
    }
    let p = pattern.as_bytes();
    let mut toks = Vec::with_capacity(p.len());
    let mut i = 0;
    while i < p.len() {
        if p[i] == b'*' {
            if p.get(i + 1) == Some(&b'*') {
                toks.push(Tok::DoubleStar);
                i += 2;
            } else {
                toks.push(Tok::Star);
                i += 1;
            }
        } else {
            toks.push(Tok::Byte(p[i]));
            i += 1;
        }
    }
    let s = path.as_bytes();
    // reach[j]: the tokens so far can match the first j bytes of the path.
    let mut reach = vec![false; s.len() + 1];
    reach[0] = true;
    for tok in toks {
        let mut next = vec![false; s.len() + 1];
        match tok {
            Tok::Byte(b) => {
                for j in 0..s.len() {
                    next[j + 1] = reach[j] && s[j] == b;
                }
            }
            Tok::Star | Tok::DoubleStar => {
                let crosses = matches!(tok, Tok::DoubleStar);
                for j in 0..=s.len() {
                    next[j] = reach[j] || (j > 0 && next[j - 1] && (crosses || s[j - 1] != b'/'));
                }
            }
        }
        reach = next;
    }
    reach[s.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(spec: &str) -> Fault {
        match Faults::parse(spec) {
            Ok(f) if f.rules.len() == 1 => f.rules[0].clone(),
            other => panic!("{spec}: {other:?}"),
        }
    }

    fn err(spec: &str) -> String {
        match Faults::parse(spec) {
            Err(e) => e.to_string(),
            Ok(f) => panic!("{spec} parsed: {:?}", f.rules),
        }
    }

    #[test]
    fn rules_parse_with_method_selector_and_options() {
        let f = one("get /vultr/v2/regions #2 => 429 retry-after=7");
        assert_eq!(f.method.as_deref(), Some("GET"));
        assert_eq!(f.path, "/vultr/v2/regions");
        assert_eq!(f.select, Select::Range { from: 2, to: 2 });
        assert_eq!(
            f.action,
            Action::Status { status: 429, body: ErrorBody::Json, retry_after: Some(RetryAfter::Seconds(7)) }
        );
        let f = one("  /linode/v4/**=>502  ");
        assert_eq!((f.method, f.select), (None, Select::Every));
        assert_eq!(f.action, Action::Status { status: 502, body: ErrorBody::Html, retry_after: None });
        assert_eq!(one("* /x #3+ => reset").select, Select::From(3));
        assert_eq!(one("POST /x #2-4 => reset-after").select, Select::Range { from: 2, to: 4 });
        assert_eq!(one("GET /x every => stall=250ms").action, Action::Stall(Duration::from_millis(250)));
        assert_eq!(one("GET /x => stall").action, Action::Stall(MAX_STALL));
        assert_eq!(
            one("GET /x => 503 body=empty retry-after-date=5").action,
            Action::Status { status: 503, body: ErrorBody::Empty, retry_after: Some(RetryAfter::DateIn(5)) }
        );
        for (word, action) in [
            ("truncate", Action::Truncate),
            ("invalid-json", Action::InvalidJson),
            ("missing-fields", Action::MissingFields),
            ("reset-before", Action::Reset),
        ] {
            assert_eq!(one(&format!("GET /x => {word}")).action, action);
        }
    }

    #[test]
    fn actions_display_in_spec_syntax_and_parse_back() {
        for text in [
            "429 body=json retry-after=7",
            "502 body=html retry-after-date=3",
            "503 body=empty",
            "truncate",
            "invalid-json",
            "missing-fields",
            "stall=1500ms",
            "reset",
            "reset-after",
        ] {
            let action = one(&format!("GET /x => {text}")).action;
            assert_eq!(action.to_string(), text);
        }
    }

    #[test]
    fn several_rules_and_empty_ones() {
        let f = Faults::parse("GET /a => 500;; ;POST /b #1 => reset;").unwrap_or_default();
        assert_eq!(f.rules().len(), 2);
        assert!(Faults::parse("").is_ok_and(|f| f.rules().is_empty()));
    }

    #[test]
    fn bad_rules_name_their_position_and_problem() {
        let cases = [
            ("GET /a => 500; GET /b", "#2 `GET /b`: expected `[METHOD] PATH [#N] => ACTION`"),
            ("GET vultr => 500", "must start with `/`"),
            ("GET => 500", "a path is missing"),
            ("G3T /a => 500", "not an HTTP method"),
            ("GET /a #0 => 500", "not a request number"),
            ("GET /a #3-1 => 500", "ends before it starts"),
            ("GET /a second => 500", "not a selector"),
            ("GET /a #1 #2 => 500", "unexpected `#2`"),
            ("GET /a =>", "an action is missing"),
            ("GET /a => 200", "not an error status"),
            ("GET /a => 999", "not an error status"),
            ("GET /a => explode", "unknown action `explode`"),
            ("GET /a => stall=forever", "not a duration"),
            ("GET /a => stall=31s", "a stall is at most 30s"),
            ("GET /a => 429 retry-after=soon", "not a whole number of seconds"),
            ("GET /a => 429 wait=1", "unknown option `wait`"),
            ("GET /a => 429 body=xml", "json, html or empty"),
            ("GET /a => reset retry-after=1", "does not apply to `reset`"),
            ("GET /a => truncate=3", "takes no value"),
            ("GET /a => 429=1", "options of a status go after it"),
        ];
        for (spec, expected) in cases {
            let e = err(spec);
            assert!(e.contains(expected) && e.starts_with("invalid sandbox fault #"), "{spec}: {e}");
        }
    }

    #[test]
    fn each_rule_counts_its_own_matches_and_the_first_picking_rule_wins() {
        let f =
            Faults::parse("GET /v/items #2 => 500; GET /v/* #1-3 => reset; POST /v/items => 429").unwrap_or_default();
        let picks: Vec<Option<Action>> = (0..4).map(|_| f.pick("GET", "/v/items")).collect();
        assert_eq!(picks[0], Some(Action::Reset), "rule 2 sees its first match");
        assert_eq!(picks[1], Some(Action::Status { status: 500, body: ErrorBody::Html, retry_after: None }));
        assert_eq!(picks[2], Some(Action::Reset), "rule 2 sees its third");
        assert_eq!(picks[3], None);
        assert!(f.pick("GET", "/v/items/7").is_none(), "`*` stays within one segment");
        assert!(matches!(f.pick("post", "/v/items"), Some(Action::Status { status: 429, .. })));
        assert!(f.pick("DELETE", "/v/items").is_none());
    }

    #[test]
    fn globs() {
        for (p, s, m) in [
            ("/a/b", "/a/b", true),
            ("/a/b", "/a/bc", false),
            ("/a/*", "/a/b", true),
            ("/a/*", "/a/b/c", false),
            ("/a/*", "/a/", true),
            ("/a/**", "/a/b/c", true),
            ("/**/regions", "/vultr/v2/regions", true),
            ("/**/regions", "/vultr/v2/regions/x", false),
            ("/*/v2/*", "/vultr/v2/os", true),
            ("**", "", true),
            ("/in*es", "/instances", true),
            ("/in*es", "/in/es", false),
            ("*", "/", false),
        ] {
            assert_eq!(glob_matches(p, s), m, "{p} vs {s}");
        }
        let long = "/a".repeat(2000);
        assert!(!glob_matches(&format!("{}/x", "/**".repeat(50)), &long), "no backtracking blow-up");
        assert!(glob_matches(&format!("{}/a", "/**".repeat(50)), &long));
    }

    #[test]
    fn status_answers_carry_the_chosen_body_and_retry_after() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        let shape = |status: u16, message: &str| json!({"shape": "dialect", "status": status, "says": message});
        let a = status_answer(429, ErrorBody::Json, Some(RetryAfter::DateIn(5)), now, shape);
        let header = a.headers.iter().find(|(k, _)| k == "Retry-After").map(|(_, v)| v.as_str());
        assert_eq!(header, Some("Wed, 21 Oct 2015 07:28:05 GMT"));
        let v: serde_json::Value = serde_json::from_slice(&a.body).unwrap_or_default();
        assert_eq!(v, json!({"shape": "dialect", "status": 429, "says": "Too Many Requests (sandbox fault)"}));
        let html = status_answer(502, ErrorBody::Html, None, now, shape);
        assert!(String::from_utf8_lossy(&html.body).starts_with("<!DOCTYPE html>"));
        assert!(status_answer(503, ErrorBody::Empty, Some(RetryAfter::Seconds(2)), now, shape).body.is_empty());
    }

    #[test]
    fn body_faults_rewrite_what_the_dialect_answered() {
        let no_body = |_: u16, _: &str| serde_json::Value::Null;
        let dialect = || SandboxResponse::json(200, &json!({"items": [1, 2, 3, 4]}));
        let body = |o: Outcome| match o {
            Outcome::Respond(a, _) => a.body,
            Outcome::Close => panic!("closed"),
        };
        assert_eq!(body(apply(Some(&Action::Truncate), no_body, dialect)), br#"{"items":"#.to_vec());
        assert_eq!(body(apply(Some(&Action::MissingFields), no_body, dialect)), b"{}".to_vec());
        assert!(
            serde_json::from_slice::<serde_json::Value>(&body(apply(Some(&Action::InvalidJson), no_body, dialect)))
                .is_err()
        );
        let mut called = false;
        assert!(matches!(
            apply(Some(&Action::Reset), no_body, || {
                called = true;
                dialect()
            }),
            Outcome::Close
        ));
        assert!(!called, "reset-before never reaches the dialect");
        assert!(matches!(
            apply(Some(&Action::ResetAfter), no_body, || {
                called = true;
                dialect()
            }),
            Outcome::Close
        ));
        assert!(called, "reset-after lets the dialect act first");
        assert!(
            matches!(apply(Some(&Action::Stall(MAX_STALL)), no_body, dialect), Outcome::Respond(_, d) if d == MAX_STALL)
        );
    }
}

/// The engine's HTTP/1.1 server with faults, over raw loopback sockets.
#[cfg(test)]
mod server_tests {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use serde_json::json;

    use crate::{Dialect, Sandbox, SandboxOptions, SandboxRequest, SandboxResponse, World};

    /// Echoes the request and counts in the world how often it acted.
    struct Echo;

    impl Dialect for Echo {
        fn prefix(&self) -> &'static str {
            "/echo/v1"
        }
        fn handle(&self, req: &SandboxRequest, world: &World) -> SandboxResponse {
            let n = world.next_number();
            SandboxResponse::json(
                200,
                &json!({"n": n, "method": req.method, "path": req.path, "query": req.query,
                    "body": String::from_utf8_lossy(&req.body)}),
            )
        }
        fn error_body(&self, status: u16, message: &str) -> serde_json::Value {
            json!({"echo_error": message, "status": status})
        }
    }

    fn start(faults: &str, latency: Duration) -> Sandbox {
        let opts = SandboxOptions { faults: faults.into(), latency, ..SandboxOptions::default() };
        let dialects: Vec<Arc<dyn Dialect>> = vec![Arc::new(Echo)];
        Sandbox::start("127.0.0.1:0", dialects, opts).unwrap_or_else(|e| panic!("start: {e}"))
    }

    fn connect(sb: &Sandbox) -> TcpStream {
        let s = TcpStream::connect(sb.addr()).unwrap_or_else(|e| panic!("connect: {e}"));
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        s
    }

    /// Sends `raw` and reads until the server closes.
    fn exchange(sb: &Sandbox, raw: &str) -> String {
        let mut s = connect(sb);
        let _ = s.write_all(raw.as_bytes());
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn keep_alive_pipelining_chunked_bodies_and_connection_close() {
        let sb = start("", Duration::ZERO);
        let out = exchange(
            &sb,
            "GET /echo/v1/a?x=1&y=%20z HTTP/1.1\r\nHost: h\r\n\r\n\
             POST /echo/v1/b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nT: v\r\n\r\n\
             POST /echo/v1/c HTTP/1.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
        );
        assert_eq!(out.matches("HTTP/1.1 200 OK\r\n").count(), 3, "{out}");
        assert!(out.contains(r#""query":[["x","1"],["y"," z"]]"#), "{out}");
        assert!(out.contains(r#""body":"abcde""#) && out.contains(r#""body":"hi""#), "{out}");
        assert!(out.contains("Connection: close\r\n"), "{out}");
        assert_eq!(sb.world().request_log().len(), 3);
    }

    #[test]
    fn expect_continue_head_and_unknown_prefixes() {
        let sb = start("", Duration::ZERO);
        let mut s = connect(&sb);
        let _ = s.write_all(b"POST /echo/v1/x HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
        let mut buf = [0u8; 25];
        let _ = s.read_exact(&mut buf);
        assert_eq!(&buf, b"HTTP/1.1 100 Continue\r\n\r\n");
        let _ = s.write_all(b"body");
        let mut head = [0u8; 17];
        let _ = s.read_exact(&mut head);
        assert_eq!(&head, b"HTTP/1.1 200 OK\r\n");
        let out = exchange(&sb, "HEAD /echo/v1/x HTTP/1.0\r\n\r\n");
        assert!(out.starts_with("HTTP/1.1 200 OK\r\n") && out.ends_with("\r\n\r\n"), "no body for HEAD: {out}");
        let out = exchange(&sb, "GET /nope HTTP/1.0\r\n\r\n");
        assert!(out.starts_with("HTTP/1.1 404 Not Found\r\n") && out.contains("no sandbox dialect serves /nope"));
    }

    #[test]
    fn malformed_requests_are_answered_400_and_closed() {
        let sb = start("", Duration::ZERO);
        for raw in [
            "GARBAGE\r\n\r\n",
            "GET /echo/v1 HTTP/1.1\r\nno colon here\r\n\r\n",
            "GET /echo/v1 HTTP/1.1\r\nContent-Length: ten\r\n\r\n",
            "POST /echo/v1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "GET echo HTTP/1.1\r\n\r\n",
        ] {
            assert!(exchange(&sb, raw).starts_with("HTTP/1.1 400 Bad Request\r\n"), "{raw:?}");
        }
        assert!(exchange(&sb, "GET / HTTP/2.0\r\n\r\n").starts_with("HTTP/1.1 505 "));
    }

    #[test]
    fn reset_closes_without_a_byte_and_reset_after_lets_the_dialect_act() {
        let sb = start("POST /echo/v1/x #1 => reset; POST /echo/v1/x #2 => reset-after", Duration::ZERO);
        let req = "POST /echo/v1/x HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(exchange(&sb, req), "", "reset before acting");
        assert_eq!(exchange(&sb, req), "", "reset after acting");
        let third = exchange(&sb, "POST /echo/v1/x HTTP/1.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        assert!(third.contains(r#""n":2"#), "only the reset-after request reached the dialect: {third}");
        assert_eq!(sb.world().request_log().len(), 3, "every request is logged, faulted or not");
    }

    #[test]
    fn status_faults_carry_retry_after_and_body_faults_keep_framing() {
        let sb = start("GET /echo/v1/a => 429 retry-after=3; GET /echo/v1/b => truncate", Duration::ZERO);
        let out = exchange(&sb, "GET /echo/v1/a HTTP/1.0\r\n\r\n");
        assert!(out.starts_with("HTTP/1.1 429 Too Many Requests\r\n") && out.contains("Retry-After: 3\r\n"), "{out}");
        let out = exchange(&sb, "GET /echo/v1/b HTTP/1.0\r\n\r\n");
        let (head, body) = out.split_once("\r\n\r\n").unwrap_or_default();
        assert!(head.contains(&format!("Content-Length: {}\r\n", body.len())), "{out}");
        assert!(serde_json::from_str::<serde_json::Value>(body).is_err(), "{body}");
    }

    #[test]
    fn latency_delays_every_answer_and_shutdown_cuts_a_stall_short() {
        let sb = start("", Duration::from_millis(150));
        let started = Instant::now();
        assert!(exchange(&sb, "GET /echo/v1 HTTP/1.0\r\n\r\n").starts_with("HTTP/1.1 200"));
        assert!(started.elapsed() >= Duration::from_millis(150));
        let sb = start("GET /echo/v1 => stall=30s", Duration::ZERO);
        let mut s = connect(&sb);
        let _ = s.write_all(b"GET /echo/v1 HTTP/1.1\r\n\r\n");
        let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
        let mut b = [0u8; 1];
        assert!(s.read(&mut b).is_err(), "the answer is held back");
        let started = Instant::now();
        sb.shutdown();
        assert!(started.elapsed() < Duration::from_secs(2), "shutdown waited {:?}", started.elapsed());
    }

    #[test]
    fn an_invalid_spec_is_an_error_from_start_not_a_panic() {
        let opts = SandboxOptions { faults: "GET /x => 200".into(), ..SandboxOptions::default() };
        let e = Sandbox::start("127.0.0.1:0", Vec::new(), opts).err();
        let e = e.unwrap_or_else(|| panic!("started"));
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        assert!(e.to_string().starts_with("invalid sandbox fault #1 `GET /x => 200`"), "{e}");
    }
}
