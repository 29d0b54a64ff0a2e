//! The HTTP chokepoint against a scripted loopback server: Retry-After honoured on an injected clock, backoff,
//! which methods are retried, a create POST never resent, paging that fails rather than shortens, decode errors
//! that name the JSON path, and the body-size limit.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prov_core::http::{Page, Request};
use prov_core::provider::{CreateSpec, FieldProblem, Operation, ProviderInfo};
use prov_core::{ApiError, ClientSettings, Error, Http, ManualClock};

fn parse_error(status: u16, body: &[u8]) -> ApiError {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().map(ApiError::message))
        .unwrap_or_else(|| ApiError::from_unknown_body(status, body))
}

fn no_rules(_: &CreateSpec) -> Vec<FieldProblem> {
    Vec::new()
}

static TEST: ProviderInfo = ProviderInfo {
    name: "acme",
    display_name: "Acme",
    aliases: &[],
    default_base_url: "https://api.acme.invalid/v1",
    url_env: "PROV_ACME_API_URL",
    token_env: &["ACME_TOKEN"],
    currency: prov_core::Currency::Usd,
    catalogue_needs_token: false,
    plan_keys: &[],
    unsupported_hints: &[],
    legacy_keys: &[],
    sandbox_path: "/acme/v1",
    validate: no_rules,
    parse_error,
};

/// What the scripted server does with one request.
#[derive(Clone)]
enum Step {
    /// Answer with a status, extra headers and a body.
    Answer(u16, Vec<(&'static str, String)>, String),
    /// Read the request, then close the connection without answering.
    Reset,
}

fn answer(status: u16, body: &str) -> Step {
    Step::Answer(status, Vec::new(), body.to_owned())
}

/// Serves `steps` in order on a loopback port; records each request line. Stops after the last step.
struct Scripted {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

fn scripted(steps: Vec<Step>) -> Scripted {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let url = format!("http://{}/v1", listener.local_addr().map(|a| a.to_string()).unwrap_or_default());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for step in steps {
            let Ok((mut conn, _)) = listener.accept() else { return };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read headers, then as much body as Content-Length says.
            let head_end = loop {
                let Ok(n) = conn.read(&mut chunk) else { return };
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
            };
            let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            while buf.len() < head_end + len {
                let Ok(n) = conn.read(&mut chunk) else { return };
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            if let Ok(mut l) = log.lock() {
                l.push(head.lines().next().unwrap_or("").to_owned());
            }
            match step {
                Step::Reset => drop(conn),
                Step::Answer(status, headers, body) => {
                    let mut resp =
                        format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
                    for (k, v) in headers {
                        resp.push_str(&format!("{k}: {v}\r\n"));
                    }
                    resp.push_str("\r\n");
                    resp.push_str(&body);
                    let _ = conn.write_all(resp.as_bytes());
                }
            }
        }
    });
    Scripted { url, seen }
}

impl Scripted {
    fn requests(&self) -> Vec<String> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

fn http(server: &Scripted, clock: &Arc<ManualClock>) -> Http {
    let settings = ClientSettings {
        base_url: Some(server.url.clone()),
        token: Some(prov_core::Secret::new("t0ken")),
        clock: clock.clone(),
        request_timeout: Duration::from_secs(5),
        ..ClientSettings::default()
    };
    Http::new(&TEST, &settings).unwrap_or_else(|e| panic!("{e}"))
}

fn get() -> Request {
    Request::get(Operation::ListRegions, "/regions")
}

#[test]
fn a_429_with_retry_after_seconds_is_waited_out_then_succeeds() {
    let s = scripted(vec![
        Step::Answer(429, vec![("Retry-After", "3".into())], "{}".into()),
        answer(200, r#"{"ok":true}"#),
    ]);
    let clock = Arc::new(ManualClock::new());
    let resp = http(&s, &clock).send(&get());
    assert_eq!(resp.map(|r| r.status).ok(), Some(200));
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(3)]);
    assert_eq!(s.requests().len(), 2);
}

#[test]
fn a_429_with_an_http_date_waits_until_that_date() {
    let clock = Arc::new(ManualClock::new());
    let when = httpdate::fmt_http_date(prov_core::Clock::wall(clock.as_ref()) + Duration::from_secs(10));
    let s = scripted(vec![Step::Answer(429, vec![("Retry-After", when)], String::new()), answer(200, "{}")]);
    assert!(http(&s, &clock).send(&get()).is_ok());
    let slept = clock.sleeps();
    assert_eq!(slept.len(), 1);
    assert!(slept[0] <= Duration::from_secs(10) && slept[0] >= Duration::from_secs(9), "{slept:?}");
}

#[test]
fn a_create_post_is_retried_after_429_because_the_provider_did_not_act() {
    let s = scripted(vec![Step::Answer(429, vec![("Retry-After", "1".into())], String::new()), answer(202, "{}")]);
    let clock = Arc::new(ManualClock::new());
    let req = Request::post(Operation::CreateInstance, "/instances", serde_json::json!({"label":"a"}));
    assert_eq!(http(&s, &clock).send(&req).map(|r| r.status).ok(), Some(202));
    assert_eq!(s.requests(), vec!["POST /v1/instances HTTP/1.1", "POST /v1/instances HTTP/1.1"]);
}

#[test]
fn a_create_post_that_fails_with_5xx_is_not_resent() {
    let s = scripted(vec![answer(500, r#"{"error":"boom"}"#), answer(202, "{}")]);
    let clock = Arc::new(ManualClock::new());
    let req = Request::post(Operation::CreateInstance, "/instances", serde_json::json!({}));
    let err = http(&s, &clock).send(&req).err();
    assert_eq!(err.map(|e| e.to_string()).as_deref(), Some("acme: create instance failed: HTTP 500: boom"));
    assert_eq!(s.requests().len(), 1, "the POST went out exactly once");
    assert!(clock.sleeps().is_empty());
}

#[test]
fn a_create_post_whose_connection_drops_is_not_resent_and_says_the_outcome_is_unknown() {
    let s = scripted(vec![Step::Reset, answer(202, "{}")]);
    let clock = Arc::new(ManualClock::new());
    let req = Request::post(Operation::CreateInstance, "/instances", serde_json::json!({}));
    let err = http(&s, &clock).send(&req).err();
    assert!(matches!(err, Some(Error::Transport { outcome_unknown: true, .. })), "{err:?}");
    assert!(err.map(|e| e.to_string()).unwrap_or_default().contains("may have been carried out"));
    assert_eq!(s.requests().len(), 1);
}

#[test]
fn gets_are_retried_after_5xx_and_resets_with_jittered_backoff_then_give_up() {
    let s = scripted(vec![
        answer(503, "<html>down</html>"),
        Step::Reset,
        answer(502, ""),
        answer(503, "<html>still</html>"),
    ]);
    let clock = Arc::new(ManualClock::new());
    let err = http(&s, &clock).send(&get()).err();
    assert_eq!(s.requests().len(), 4, "four attempts in all");
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 3);
    for (i, d) in sleeps.iter().enumerate() {
        assert!(*d <= Duration::from_millis(500 << i), "attempt {i}: {d:?} over the full-jitter ceiling");
    }
    let msg = err.map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(msg, "acme: list regions failed: HTTP 503: an HTML page (18 bytes) instead of the provider's JSON");
}

#[test]
fn a_failed_page_fails_the_whole_list_instead_of_shortening_it() {
    let page1 = r#"{"items":[1,2],"next":"2"}"#;
    let s = scripted(vec![answer(200, page1), answer(500, ""), answer(500, ""), answer(500, ""), answer(500, "")]);
    let clock = Arc::new(ManualClock::new());
    let h = http(&s, &clock);
    let result = h.paginate(&get(), |body| {
        let v: serde_json::Value = h.decode(Operation::ListRegions, body)?;
        let items = v["items"].as_array().cloned().unwrap_or_default();
        Ok(Page::new(items, v["next"].as_str().map(|n| vec![("page".to_owned(), n.to_owned())])))
    });
    assert!(matches!(result, Err(Error::Api { status: 500, .. })), "{result:?}");
    assert_eq!(s.requests()[1], "GET /v1/regions?page=2 HTTP/1.1");
}

#[test]
fn a_repeated_next_page_marker_is_an_error_not_an_endless_loop() {
    let page = r#"{"items":[1],"next":"same"}"#;
    let s = scripted(vec![answer(200, page), answer(200, page), answer(200, page)]);
    let clock = Arc::new(ManualClock::new());
    let h = http(&s, &clock);
    let result = h.paginate(&get(), |body| {
        let v: serde_json::Value = h.decode(Operation::ListRegions, body)?;
        Ok(Page::new(vec![v["items"].clone()], Some(vec![("cursor".to_owned(), "same".to_owned())])))
    });
    assert!(matches!(result, Err(Error::Paging { .. })), "{result:?}");
}

#[test]
fn decode_errors_name_the_json_path() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Plan {
        ram: u64,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct List {
        plans: Vec<Plan>,
    }
    let err =
        prov_core::http::decode_json::<List>("acme", Operation::ListSizes, br#"{"plans":[{"ram":1},{"ram":"lots"}]}"#)
            .err();
    let msg = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(msg.starts_with("acme: list plans failed: unexpected answer at `plans[1].ram`"), "{msg}");
    let err = prov_core::http::decode_json::<List>("acme", Operation::ListSizes, br#"{"plans":[{"ram":1}"#).err();
    assert!(err.map(|e| e.to_string()).unwrap_or_default().contains("ends early"));
}

#[test]
fn bytes_after_the_json_document_are_a_decode_error() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct List {
        plans: Vec<u8>,
    }
    for body in [&br#"{"plans":[]}{"plans":[1]}"#[..], br#"{"plans":[]} trailing"#] {
        let err = prov_core::http::decode_json::<List>("acme", Operation::ListSizes, body).err();
        let msg = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("unexpected bytes after the JSON document"), "{msg}");
    }
    assert!(prov_core::http::decode_json::<List>("acme", Operation::ListSizes, b"{\"plans\":[]}\n  ").is_ok());
}

#[test]
fn an_answer_over_the_body_limit_is_not_asked_for_again() {
    let big = "x".repeat(2048);
    let s = scripted(vec![answer(200, &big), answer(200, &big), answer(200, &big), answer(200, &big)]);
    let clock = Arc::new(ManualClock::new());
    let settings = ClientSettings {
        base_url: Some(s.url.clone()),
        clock: clock.clone(),
        max_body_bytes: 1024,
        ..ClientSettings::default()
    };
    let err = Http::new(&TEST, &settings).and_then(|h| h.send(&get())).err();
    assert!(err.map(|e| e.to_string()).unwrap_or_default().contains("larger than the 1024-byte limit"));
    assert_eq!(s.requests().len(), 1, "the same oversized answer would come back");
}

#[test]
fn answers_over_the_body_limit_are_refused() {
    let s = scripted(vec![answer(200, &"x".repeat(2048))]);
    let clock = Arc::new(ManualClock::new());
    let settings = ClientSettings {
        base_url: Some(s.url.clone()),
        clock: clock.clone(),
        max_body_bytes: 1024,
        retry: prov_core::retry::RetryPolicy::none(),
        ..ClientSettings::default()
    };
    let err = Http::new(&TEST, &settings).and_then(|h| h.send(&get())).err();
    assert!(err.map(|e| e.to_string()).unwrap_or_default().contains("larger than the 1024-byte limit"));
}

#[test]
fn requests_carry_bearer_auth_and_the_user_agent() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let url = format!("http://{}/v1", listener.local_addr().map(|a| a.to_string()).unwrap_or_default());
    let handle = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap_or_else(|e| panic!("{e}"));
        let mut buf = [0u8; 4096];
        let n = conn.read(&mut buf).unwrap_or(0);
        let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
        String::from_utf8_lossy(&buf[..n]).to_lowercase()
    });
    let settings = ClientSettings {
        base_url: Some(url),
        token: Some(prov_core::Secret::new("t0ken")),
        ..ClientSettings::default()
    };
    assert!(Http::new(&TEST, &settings).and_then(|h| h.send(&get())).is_ok());
    let head = handle.join().unwrap_or_default();
    assert!(head.contains("authorization: bearer t0ken"), "{head}");
    assert!(head.contains(&format!("user-agent: prov/{}", env!("CARGO_PKG_VERSION"))), "{head}");
}

#[test]
fn base_urls_are_https_or_loopback_http() {
    for ok in [
        "https://api.example.com/v2",
        "http://127.0.0.1:8710/vultr/v2",
        "http://localhost:1/x",
        "http://[::1]:9/v2",
        "http://127.8.9.10/v2",
    ] {
        assert!(prov_core::http::check_base_url(&TEST, ok).is_ok(), "{ok}");
    }
    for bad in ["http://api.vultr.com/v2", "http://10.0.0.1/v2", "ftp://x/v2", "not a url", "http://192.168.1.5/v2"] {
        let err = prov_core::http::check_base_url(&TEST, bad).err();
        assert!(matches!(err, Some(Error::BadBaseUrl { .. })), "{bad}: {err:?}");
    }
}
