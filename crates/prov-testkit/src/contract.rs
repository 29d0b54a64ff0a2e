//! The OpenAPI contract validator of prov-testkit, responsible for checking prov's requests and the answers it gets against a
//! provider's official OpenAPI 3.0 spec, trimmed to the operations prov uses by `cargo xtask specs`
//! (`fixtures/openapi/<provider>.json`).
//!
//! A [`Contract`] finds the operation of a request by matching the spec's path templates (the concrete path is
//! prov's path below its base URL, mapped onto the spec's server URL, so `/v4/…` meets Linode's `/{apiVersion}/…`
//! and Vultr's `/v2` server prefix disappears), then checks path, query and header parameters (names, types,
//! bounds), the bearer token the operation's security asks for, the JSON request body against the request
//! schema, and an answer's JSON body against the response schema declared for its status (exact code, `4XX`
//! range, then `default`).
//!
//! Schemas are converted from OpenAPI 3.0 to JSON Schema draft 4 (the draft OpenAPI 3.0 builds on: `$ref`
//! replaces its siblings, `exclusiveMinimum` is a boolean): `nullable: true` admits `null`, `$ref`s keep pointing
//! at `#/components/schemas/…` inside a root document that carries the converted components, `readOnly`
//! properties are neither required nor allowed in requests and `writeOnly` ones likewise in responses, and
//! `allOf`/`oneOf`/`anyOf`/`additionalProperties` are kept as the spec wrote them. Formats `date-time`, `date`,
//! `ipv4`, `ipv6`, `uri`, `email` and OpenAPI's `byte` (base64) are asserted; other formats are annotations.
//!
//! Where a provider's real API knowingly differs from its spec, a test adds a [`Deviation`]; each one must cite the
//! section of the provider's doc that documents it (`docs/providers/linode.md §10`), and changes only the one place it
//! names. The validator resolves no reference outside the document and never touches the network.
//!
//! The contract tests every provider crate runs (a recorded sandbox session and the fixtures against the spec)
//! live once in [`checks`]; a provider's `tests/contract.rs` only describes the provider.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine;
use serde_json::{Map, Value, json};

/// A problem found while loading a spec or applying a deviation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractError(pub String);

impl std::fmt::Display for ContractError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ContractError {}

fn err<T>(message: impl Into<String>) -> Result<T, ContractError> {
    Err(ContractError(message.into()))
}

/// One way a request or an answer breaks the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// `METHOD /path` as sent (below prov's base URL).
    pub request: String,
    /// The operationId, when the operation was found.
    pub operation: Option<String>,
    /// What part was checked: `path`, `query per_page`, `header X-Filter`, `auth`, `request body`,
    /// `response 200 body`, `response status`.
    pub place: String,
    /// What is wrong, with the JSON pointer of the offending value where there is one.
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.request)?;
        if let Some(op) = &self.operation {
            write!(f, " ({op})")?;
        }
        write!(f, ": {}: {}", self.place, self.message)
    }
}

/// What a successful check covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The operationId.
    pub operation: String,
    /// True when a JSON schema was applied to a body (false for bodiless requests and for answers whose status
    /// declares no content, such as Vultr's 4xx and 204s).
    pub body_checked: bool,
}

/// The result of one check.
pub type Outcome = Result<Checked, Vec<Violation>>;

/// A request as it goes on the wire, path relative to prov's base URL.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// `GET`, `POST`, `DELETE`.
    pub method: &'a str,
    /// Path below the base URL (`/instances/abc`), without the query string.
    pub path: &'a str,
    /// Decoded query parameters, in order.
    pub query: &'a [(String, String)],
    /// Headers (names in any case).
    pub headers: &'a [(String, String)],
    /// Raw body; empty for none.
    pub body: &'a [u8],
}

/// A documented difference between a provider's real API and its spec, applied to the trimmed spec before any
/// schema is built. Built with [`Deviation::naive_date_time`], [`Deviation::set`] or [`Deviation::push`], which
/// refuse a reason that cites no section of a provider doc (`docs/providers/<provider>.md §N`).
#[derive(Debug, Clone)]
pub struct Deviation {
    reason: String,
    change: Change,
}

#[derive(Debug, Clone)]
enum Change {
    /// `format: date-time` also accepts a timestamp without an offset (read as UTC).
    NaiveDateTime,
    /// Replace the value at `pointer` (`#/…` absolute, or `<operationId>#/…` relative to that operation).
    Set { target: String, value: Value },
    /// Append to the array at `pointer`.
    Push { target: String, value: Value },
}

impl Deviation {
    /// A deviation with its reason, which must cite a section of a provider doc (`docs/providers/linode.md §10`).
    fn new(reason: &str, change: Change) -> Result<Self, ContractError> {
        let cites = reason.match_indices("docs/providers/").any(|(i, m)| {
            let rest = &reason[i + m.len()..];
            let name = rest.find(".md §").map_or("", |end| &rest[..end]);
            let section = rest[name.len()..].strip_prefix(".md §").unwrap_or("");
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                && section.chars().next().is_some_and(|c| c.is_ascii_digit())
        });
        if !cites {
            return err(format!(
                "a deviation must cite the section of the provider doc that documents it \
                 (`docs/providers/<provider>.md §N`): `{reason}`"
            ));
        }
        Ok(Self { reason: reason.to_owned(), change })
    }

    /// `format: date-time` also accepts timestamps without an offset.
    pub fn naive_date_time(reason: &str) -> Result<Self, ContractError> {
        Self::new(reason, Change::NaiveDateTime)
    }

    /// Replaces the value at `target` (or adds it under an existing parent object):
    /// `#/components/schemas/plans/properties/monthly_cost` (absolute) or
    /// `get-regions#/parameters` (relative to the operation with that operationId).
    pub fn set(reason: &str, target: &str, value: Value) -> Result<Self, ContractError> {
        Self::new(reason, Change::Set { target: target.to_owned(), value })
    }

    /// Appends `value` to the array at `target` (same addressing as [`Deviation::set`]); the array is created
    /// when it does not exist.
    pub fn push(reason: &str, target: &str, value: Value) -> Result<Self, ContractError> {
        Self::new(reason, Change::Push { target: target.to_owned(), value })
    }

    /// Why it is allowed.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// Whether a schema is applied to something sent (request) or received (response).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Mode {
    Request,
    Response,
}

/// Path parameters of a matched request: (name, decoded value).
type PathParams = Vec<(String, String)>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

#[derive(Debug, Clone)]
struct Param {
    name: String,
    location: String,
    required: bool,
    /// JSON pointer of the parameter's schema in the document.
    schema_ptr: String,
}

#[derive(Debug, Clone)]
struct SpecOp {
    id: String,
    method: String,
    template: String,
    segments: Vec<Segment>,
    /// JSON pointer of the operation object.
    ptr: String,
    params: Vec<Param>,
    needs_bearer: bool,
}

/// A provider's OpenAPI contract. Cheap to share by reference across threads; schemas are compiled on first use.
pub struct Contract {
    doc: Value,
    title: String,
    base_path: String,
    naive_date_time: bool,
    deviations: Vec<Deviation>,
    ops: Vec<SpecOp>,
    components: OnceLock<[Value; 2]>,
    cache: Mutex<HashMap<(Mode, String), Arc<jsonschema::Validator>>>,
}

impl std::fmt::Debug for Contract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contract")
            .field("title", &self.title)
            .field("base_path", &self.base_path)
            .field(
                "operations",
                &self.ops.iter().map(|o| format!("{} {} ({})", o.method, o.template, o.id)).collect::<Vec<_>>(),
            )
            .field("deviations", &self.deviations.len())
            .finish_non_exhaustive()
    }
}

/// The path part of a URL (`https://api.vultr.com/v2` → `/v2`), without a trailing `/`.
fn url_path(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
    let path = path.split(['?', '#']).next().unwrap_or("");
    path.trim_end_matches('/').to_owned()
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn split_path(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

impl Contract {
    /// Loads a trimmed spec. `base_url` is the provider's default API base URL as prov uses it (with the version
    /// segment, `https://api.linode.com/v4`); together with the spec's first server URL it says how prov's
    /// relative paths map onto the spec's path templates.
    pub fn from_json(spec: &str, base_url: &str) -> Result<Self, ContractError> {
        let doc: Value = serde_json::from_str(spec).map_err(|e| ContractError(format!("the spec is not JSON: {e}")))?;
        let title =
            doc.pointer("/info/title").and_then(Value::as_str).map_or_else(|| "OpenAPI spec".to_owned(), str::to_owned);
        let server = doc.pointer("/servers/0/url").and_then(Value::as_str).unwrap_or("");
        let (prov_path, server_path) = (url_path(base_url), url_path(server));
        let Some(base_path) = prov_path.strip_prefix(&server_path) else {
            return err(format!(
                "prov's base path `{prov_path}` does not start with the spec's server path `{server_path}`"
            ));
        };
        let mut contract = Self {
            base_path: base_path.to_owned(),
            doc,
            title,
            naive_date_time: false,
            deviations: Vec::new(),
            ops: Vec::new(),
            components: OnceLock::new(),
            cache: Mutex::new(HashMap::new()),
        };
        contract.ops = contract.index_operations()?;
        if contract.ops.is_empty() {
            return err("the spec has no operations");
        }
        Ok(contract)
    }

    /// Applies a documented deviation (see [`Deviation`]).
    pub fn deviate(mut self, deviation: Deviation) -> Result<Self, ContractError> {
        match &deviation.change {
            Change::NaiveDateTime => self.naive_date_time = true,
            Change::Set { target, value } => {
                let slot = self.slot(target, || Value::Null)?;
                *slot = value.clone();
            }
            Change::Push { target, value } => match self.slot(target, || json!([]))? {
                Value::Array(items) => items.push(value.clone()),
                _ => return err(format!("deviation target `{target}` is not an array")),
            },
        }
        self.deviations.push(deviation);
        self.ops = self.index_operations()?;
        self.components = OnceLock::new();
        self.cache = Mutex::new(HashMap::new());
        Ok(self)
    }

    /// The value at a deviation target; a missing last key is added to its (existing) parent object with
    /// `init()`.
    fn slot(&mut self, target: &str, init: impl FnOnce() -> Value) -> Result<&mut Value, ContractError> {
        let ptr = self.target_pointer(target)?;
        let (parent, key) = ptr.rsplit_once('/').unwrap_or(("", ptr.as_str()));
        let key = key.replace("~1", "/").replace("~0", "~");
        match self.doc.pointer_mut(parent) {
            Some(Value::Object(obj)) => Ok(obj.entry(key).or_insert_with(init)),
            Some(Value::Array(items)) => match key.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                Some(v) => Ok(v),
                None => err(format!("deviation target `{target}` is past the end of its array")),
            },
            _ => err(format!("deviation target `{target}` has no parent in the spec")),
        }
    }

    /// The deviations applied, in order.
    pub fn deviations(&self) -> &[Deviation] {
        &self.deviations
    }

    /// The spec's `info.title`.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// Every operationId in the spec.
    pub fn operation_ids(&self) -> Vec<&str> {
        self.ops.iter().map(|o| o.id.as_str()).collect()
    }

    /// The operationId of `method path` (path below prov's base URL), or why there is none.
    pub fn operation_id(&self, method: &str, path: &str) -> Result<&str, String> {
        self.find(method, path).map(|(op, _)| op.id.as_str())
    }

    fn target_pointer(&self, target: &str) -> Result<String, ContractError> {
        match target.split_once('#') {
            Some(("", ptr)) => Ok(ptr.to_owned()),
            Some((op_id, ptr)) => match self.ops.iter().find(|o| o.id == op_id) {
                Some(op) => Ok(format!("{}{ptr}", op.ptr)),
                None => err(format!("deviation target `{target}`: no operation `{op_id}`")),
            },
            None => err(format!("deviation target `{target}` must be `#/…` or `<operationId>#/…`")),
        }
    }

    fn index_operations(&self) -> Result<Vec<SpecOp>, ContractError> {
        let mut ops = Vec::new();
        let Some(paths) = self.doc.get("paths").and_then(Value::as_object) else { return err("the spec has no paths") };
        let top_security = self.doc.get("security");
        for (template, item) in paths {
            let Some(item) = item.as_object() else { continue };
            let item_ptr = format!("/paths/{}", escape(template));
            for (method, op) in item {
                if !matches!(method.as_str(), "get" | "put" | "post" | "delete" | "patch" | "head" | "options") {
                    continue;
                }
                let op_ptr = format!("{item_ptr}/{method}");
                let id = op.get("operationId").and_then(Value::as_str).unwrap_or(&op_ptr).to_owned();
                // Operation parameters override path-item ones with the same name and location.
                let mut params: Vec<Param> = Vec::new();
                for (list, list_ptr) in [(item.get("parameters"), &item_ptr), (op.get("parameters"), &op_ptr)] {
                    for (i, p) in list.and_then(Value::as_array).into_iter().flatten().enumerate() {
                        let (p, p_ptr) = self.resolve(p, format!("{list_ptr}/parameters/{i}"))?;
                        let name = p.get("name").and_then(Value::as_str).unwrap_or("").to_owned();
                        let location = p.get("in").and_then(Value::as_str).unwrap_or("").to_owned();
                        params.retain(|q| !(q.name == name && q.location == location));
                        params.push(Param {
                            required: p.get("required").and_then(Value::as_bool).unwrap_or(location == "path"),
                            schema_ptr: format!("{p_ptr}/schema"),
                            name,
                            location,
                        });
                    }
                }
                let security = op.get("security").or(top_security);
                let needs_bearer = security.and_then(Value::as_array).is_some_and(|reqs| {
                    !reqs.is_empty() && !reqs.iter().any(|r| r.as_object().is_some_and(Map::is_empty))
                });
                let segments = split_path(template)
                    .into_iter()
                    .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        Some(name) => Segment::Param(name.to_owned()),
                        None => Segment::Literal(s.to_owned()),
                    })
                    .collect();
                ops.push(SpecOp {
                    id,
                    method: method.to_ascii_uppercase(),
                    template: template.clone(),
                    segments,
                    ptr: op_ptr,
                    params,
                    needs_bearer,
                });
            }
        }
        Ok(ops)
    }

    /// Follows `$ref`s (to `#/…`) from `v`, found at `ptr`, to the object they name and its pointer.
    fn resolve<'a>(&'a self, mut v: &'a Value, mut ptr: String) -> Result<(&'a Value, String), ContractError> {
        for _ in 0..16 {
            let Some(r) = v.get("$ref").and_then(Value::as_str) else { return Ok((v, ptr)) };
            let Some(target) = r.strip_prefix('#') else { return err(format!("external reference `{r}`")) };
            v = self.doc.pointer(target).ok_or_else(|| ContractError(format!("`{r}` does not resolve")))?;
            ptr = target.to_owned();
        }
        err(format!("reference chain too long at {ptr}"))
    }

    /// The operation for `method path` and its path parameters, or why there is none.
    fn find(&self, method: &str, path: &str) -> Result<(&SpecOp, PathParams), String> {
        let full = format!("{}{}", self.base_path, path);
        let concrete = split_path(&full);
        let mut matches: Vec<(&SpecOp, PathParams, usize)> = Vec::new();
        for op in &self.ops {
            if op.segments.len() != concrete.len() {
                continue;
            }
            let mut params = Vec::new();
            let ok = op.segments.iter().zip(&concrete).all(|(seg, c)| match seg {
                Segment::Literal(l) => l == c,
                Segment::Param(name) => {
                    params.push((name.clone(), percent_decode(c)));
                    true
                }
            });
            if ok {
                let literals = op.segments.iter().filter(|s| matches!(s, Segment::Literal(_))).count();
                matches.push((op, params, literals));
            }
        }
        if matches.is_empty() {
            return Err(format!("no path template of {} matches `{full}`", self.title));
        }
        // The most specific template wins (`/instances/ids` before `/instances/{id}`).
        matches.sort_by_key(|m| std::cmp::Reverse(m.2));
        let best = matches[0].2;
        let methods: Vec<&str> =
            matches.iter().filter(|m| m.2 == best).map(|m| m.0.method.as_str()).collect::<Vec<_>>();
        match matches.into_iter().filter(|m| m.2 == best).find(|m| m.0.method.eq_ignore_ascii_case(method)) {
            Some((op, params, _)) => Ok((op, params)),
            None => Err(format!("`{full}` does not take {method} (only {})", methods.join(", "))),
        }
    }

    /// Checks a request: operation, parameters, auth and JSON body.
    pub fn check_request(&self, req: &RequestParts<'_>) -> Outcome {
        let request = format!("{} {}", req.method, req.path);
        let (op, path_params) = match self.find(req.method, req.path) {
            Ok(found) => found,
            Err(message) => {
                return Err(vec![Violation { request, operation: None, place: "path".into(), message }]);
            }
        };
        let mut problems = Vec::new();
        let mut fail = |place: String, message: String| {
            problems.push(Violation { request: request.clone(), operation: Some(op.id.clone()), place, message });
        };
        for p in &op.params {
            let values: Vec<&str> = match p.location.as_str() {
                "path" => path_params.iter().filter(|(n, _)| *n == p.name).map(|(_, v)| v.as_str()).collect(),
                "query" => req.query.iter().filter(|(n, _)| *n == p.name).map(|(_, v)| v.as_str()).collect(),
                "header" => req
                    .headers
                    .iter()
                    .filter(|(n, _)| n.eq_ignore_ascii_case(&p.name))
                    .map(|(_, v)| v.as_str())
                    .collect(),
                _ => continue,
            };
            let place = format!("{} {}", p.location, p.name);
            if values.is_empty() {
                if p.required {
                    fail(place, "required parameter is missing".into());
                }
                continue;
            }
            let schema = match self.doc.pointer(&p.schema_ptr) {
                Some(s) => s,
                None => continue,
            };
            let (types, item_types) = match self.resolve(schema, p.schema_ptr.clone()) {
                Ok((s, _)) => {
                    let items = s.get("items").and_then(|i| self.resolve(i, String::new()).ok()).map(|(i, _)| i);
                    (shallow_types(s), items.map(shallow_types).unwrap_or_default())
                }
                Err(e) => {
                    fail(place, e.0);
                    continue;
                }
            };
            let value = if types.iter().any(|t| t == "array") {
                // `style: form, explode: true` (the default for query parameters): one pair per item.
                Value::Array(values.iter().map(|v| coerce(v, &item_types)).collect())
            } else {
                if values.len() > 1 {
                    fail(place.clone(), format!("sent {} times", values.len()));
                }
                coerce(values[0], &types)
            };
            for message in self.validate(Mode::Request, &p.schema_ptr, &value) {
                fail(place.clone(), message);
            }
        }
        for (name, _) in req.query {
            if !op.params.iter().any(|p| p.location == "query" && p.name == *name) {
                fail(format!("query {name}"), "the operation declares no such query parameter".into());
            }
        }
        if op.needs_bearer {
            let bearer = req
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
                .and_then(|(_, v)| v.strip_prefix("Bearer "))
                .is_some_and(|t| !t.trim().is_empty());
            if !bearer {
                fail("auth".into(), "the operation needs `Authorization: Bearer <token>`".into());
            }
        }
        let body_ptr = format!("{}/requestBody", op.ptr);
        let body_checked = match self.doc.pointer(&body_ptr) {
            None => {
                if !req.body.is_empty() {
                    fail("request body".into(), format!("the operation takes no body, {} bytes sent", req.body.len()));
                }
                false
            }
            Some(rb) => match self.resolve(rb, body_ptr.clone()) {
                Err(e) => {
                    fail("request body".into(), e.0);
                    false
                }
                Ok((rb, rb_ptr)) => {
                    let content_type = req
                        .headers
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
                        .map(|(_, v)| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
                    let media = json_media(rb);
                    if req.body.is_empty() {
                        if rb.get("required").and_then(Value::as_bool).unwrap_or(false) {
                            fail("request body".into(), "the operation requires a body".into());
                        }
                        false
                    } else if let Some(media) = media {
                        if content_type.as_deref() != Some(media.as_str()) {
                            fail(
                                "request header content-type".into(),
                                format!(
                                    "`{}` sent, the body is declared as `{media}`",
                                    content_type.unwrap_or_default()
                                ),
                            );
                        }
                        match serde_json::from_slice::<Value>(req.body) {
                            Err(e) => fail("request body".into(), format!("not JSON: {e}")),
                            Ok(body) => {
                                let ptr = format!("{rb_ptr}/content/{}/schema", escape(&media));
                                let messages = self.validate(Mode::Request, &ptr, &body);
                                let schema_ok = messages.is_empty();
                                for message in messages {
                                    fail("request body".into(), message);
                                }
                                // Only for a body the schema accepts, so a closed schema's refusal is not repeated.
                                let undeclared = if schema_ok { self.undeclared_keys(&ptr, &body) } else { Vec::new() };
                                for key in undeclared {
                                    fail(
                                        "request body".into(),
                                        format!("/{key}: the request schema declares no such property"),
                                    );
                                }
                            }
                        }
                        true
                    } else {
                        false
                    }
                }
            },
        };
        if problems.is_empty() { Ok(Checked { operation: op.id.clone(), body_checked }) } else { Err(problems) }
    }

    /// Checks an answer to `method path`: its status must be declared, and a JSON body must match the schema
    /// declared for that status.
    pub fn check_response(&self, method: &str, path: &str, status: u16, body: &[u8]) -> Outcome {
        let request = format!("{method} {path}");
        match self.find(method, path) {
            Ok((op, _)) => self.check_answer(op, request, status, body),
            Err(message) => Err(vec![Violation { request, operation: None, place: "path".into(), message }]),
        }
    }

    /// Checks a JSON value against the response schema of `operation_id` for `status` (for fixtures, which have
    /// no request behind them).
    pub fn check_payload(&self, operation_id: &str, status: u16, body: &[u8]) -> Outcome {
        match self.ops.iter().find(|o| o.id == operation_id) {
            Some(op) => self.check_answer(op, format!("{} {}", op.method, op.template), status, body),
            None => Err(vec![Violation {
                request: operation_id.to_owned(),
                operation: None,
                place: "operation".into(),
                message: format!("{} has no operation `{operation_id}`", self.title),
            }]),
        }
    }

    fn check_answer(&self, op: &SpecOp, request: String, status: u16, body: &[u8]) -> Outcome {
        let violation = |place: String, message: String| Violation {
            request: request.clone(),
            operation: Some(op.id.clone()),
            place,
            message,
        };
        let code = status.to_string();
        let range = format!("{}XX", status / 100);
        let responses_ptr = format!("{}/responses", op.ptr);
        let responses = self.doc.pointer(&responses_ptr).and_then(Value::as_object);
        let Some((key, response)) = [code.as_str(), range.as_str(), "default"]
            .iter()
            .find_map(|k| responses.and_then(|r| r.get(*k)).map(|v| (*k, v)))
        else {
            return Err(vec![violation("response status".into(), format!("{status} is not a declared response"))]);
        };
        let (response, resp_ptr) = match self.resolve(response, format!("{responses_ptr}/{key}")) {
            Ok(r) => r,
            Err(e) => return Err(vec![violation(format!("response {status}"), e.0)]),
        };
        let place = format!("response {status} body");
        let Some(media) = json_media(response) else {
            if status == 204 && !body.is_empty() {
                return Err(vec![violation(place, format!("a 204 answer carries {} bytes", body.len()))]);
            }
            return Ok(Checked { operation: op.id.clone(), body_checked: false });
        };
        let value = match serde_json::from_slice::<Value>(body) {
            Ok(v) => v,
            Err(e) => return Err(vec![violation(place, format!("not JSON ({} bytes): {e}", body.len()))]),
        };
        let ptr = format!("{resp_ptr}/content/{}/schema", escape(&media));
        let problems: Vec<Violation> =
            self.validate(Mode::Response, &ptr, &value).into_iter().map(|m| violation(place.clone(), m)).collect();
        if problems.is_empty() { Ok(Checked { operation: op.id.clone(), body_checked: true }) } else { Err(problems) }
    }

    /// Top-level keys of a request body that the schema at `ptr` does not name. Stricter than JSON Schema where
    /// the spec leaves an object open: a property the spec does not declare is at best ignored by the API (a
    /// misspelt option), so a request is held to the declared names. Empty when the schema admits arbitrary
    /// names (`additionalProperties` as a schema or `true`, `patternProperties`).
    fn undeclared_keys(&self, ptr: &str, body: &Value) -> Vec<String> {
        let Some(obj) = body.as_object() else { return Vec::new() };
        let Some(schema) = self.doc.pointer(ptr) else { return Vec::new() };
        let mut names = Vec::new();
        if !self.declared_names(schema, &mut names, 0) {
            return Vec::new();
        }
        obj.keys().filter(|k| !names.contains(k)).cloned().collect()
    }

    /// Collects the property names `schema` declares (through `$ref` and `allOf`/`oneOf`/`anyOf`); false when it
    /// admits arbitrary names.
    fn declared_names(&self, schema: &Value, names: &mut Vec<String>, depth: usize) -> bool {
        if depth > 16 {
            return false;
        }
        let schema = match self.resolve(schema, String::new()) {
            Ok((s, _)) => s,
            Err(_) => return false,
        };
        if schema.get("patternProperties").is_some()
            || schema.get("additionalProperties").is_some_and(|a| a.is_object() || a == &Value::Bool(true))
        {
            return false;
        }
        names.extend(schema.get("properties").and_then(Value::as_object).into_iter().flat_map(|p| p.keys().cloned()));
        for k in ["allOf", "oneOf", "anyOf"] {
            for member in schema.get(k).and_then(Value::as_array).into_iter().flatten() {
                if !self.declared_names(member, names, depth + 1) {
                    return false;
                }
            }
        }
        true
    }

    /// Messages for every way `value` breaks the schema at `ptr` (empty when it is valid).
    fn validate(&self, mode: Mode, ptr: &str, value: &Value) -> Vec<String> {
        match self.validator(mode, ptr) {
            Ok(v) => v
                .iter_errors(value)
                .map(|e| {
                    let at = e.instance_path().to_string();
                    let mut text = e.to_string();
                    if text.chars().count() > 300 {
                        text = text.chars().take(300).collect::<String>() + "…";
                    }
                    format!("{}: {text}", if at.is_empty() { "/" } else { &at })
                })
                .collect(),
            Err(e) => vec![format!("schema at {ptr} cannot be used: {e}")],
        }
    }

    fn validator(&self, mode: Mode, ptr: &str) -> Result<Arc<jsonschema::Validator>, ContractError> {
        let key = (mode, ptr.to_owned());
        if let Some(v) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(v.clone());
        }
        let schema = self.doc.pointer(ptr).ok_or_else(|| ContractError(format!("no schema at {ptr}")))?;
        let components = self.components.get_or_init(|| {
            let schemas = self.doc.pointer("/components/schemas").cloned().unwrap_or_else(|| json!({}));
            [convert(&schemas, Mode::Request, true), convert(&schemas, Mode::Response, true)]
        });
        let converted = match mode {
            Mode::Request => &components[0],
            Mode::Response => &components[1],
        };
        let root = json!({ "components": { "schemas": converted }, "allOf": [convert(schema, mode, false)] });
        let mut options = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .offline()
            .should_validate_formats(true)
            .should_ignore_unknown_formats(true)
            .with_format("byte", is_base64);
        if self.naive_date_time {
            options = options.with_format("date-time", is_date_time_maybe_naive);
        }
        let built = options.build(&root).map_err(|e| ContractError(format!("{e}")))?;
        let built = Arc::new(built);
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).insert(key, built.clone());
        Ok(built)
    }
}

/// The JSON media type a request body or response declares (`application/json`, or any `…json…`), if any.
fn json_media(v: &Value) -> Option<String> {
    let content = v.get("content")?.as_object()?;
    if content.contains_key("application/json") {
        return Some("application/json".to_owned());
    }
    content.keys().find(|k| k.contains("json")).cloned()
}

/// The `type`s a schema names at its top level or in its direct `oneOf`/`anyOf`/`allOf` members.
fn shallow_types(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(t) = schema.get("type").and_then(Value::as_str) {
        out.push(t.to_owned());
    }
    for k in ["oneOf", "anyOf", "allOf"] {
        for member in schema.get(k).and_then(Value::as_array).into_iter().flatten() {
            if let Some(t) = member.get("type").and_then(Value::as_str) {
                out.push(t.to_owned());
            }
        }
    }
    out
}

/// A parameter's text as the JSON value its schema types ask for; left a string when it does not parse, so
/// the schema reports the mismatch.
fn coerce(raw: &str, types: &[String]) -> Value {
    let has = |t: &str| types.iter().any(|x| x == t);
    if has("integer") {
        if let Ok(n) = raw.parse::<i64>() {
            return json!(n);
        }
        if let Ok(n) = raw.parse::<u64>() {
            return json!(n);
        }
    }
    if has("number")
        && let Some(n) = raw.parse::<f64>().ok().and_then(serde_json::Number::from_f64)
    {
        return Value::Number(n);
    }
    if has("boolean") && (raw == "true" || raw == "false") {
        return Value::Bool(raw == "true");
    }
    if (has("object") || has("array"))
        && let Ok(v) = serde_json::from_str::<Value>(raw)
    {
        return v;
    }
    Value::String(raw.to_owned())
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// OpenAPI's `format: byte`: base64 (RFC 4648, with padding).
fn is_base64(s: &str) -> bool {
    base64::engine::general_purpose::STANDARD.decode(s).is_ok()
}

/// RFC 3339 `date-time`, with the offset optional (`2018-01-01T00:01:01`). Only used under a deviation.
fn is_date_time_maybe_naive(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r.clone()).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|t| t.parse::<u32>().ok()).unwrap_or(99);
    let shape = b.len() >= 19
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && matches!(b[10], b'T' | b't')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !shape || !(1..=12).contains(&num(5..7)) || !(1..=31).contains(&num(8..10)) {
        return false;
    }
    if num(11..13) > 23 || num(14..16) > 59 || num(17..19) > 60 {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    match rest.as_bytes() {
        [] | [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit()) && num(20..22) <= 23 && num(23..25) <= 59
        }
        _ => false,
    }
}

/// Converts an OpenAPI 3.0 Schema Object to JSON Schema draft 4 for `mode`. With `map_of_schemas`, `v` is a map
/// of names to schemas (`components.schemas`) and each value is converted.
fn convert(v: &Value, mode: Mode, map_of_schemas: bool) -> Value {
    if map_of_schemas {
        return match v {
            Value::Object(m) => Value::Object(m.iter().map(|(k, s)| (k.clone(), convert(s, mode, false))).collect()),
            other => other.clone(),
        };
    }
    let Value::Object(map) = v else { return v.clone() };
    if let Some(r) = map.get("$ref") {
        // OpenAPI 3.0: a Reference Object's siblings are ignored, as in draft 4.
        return json!({ "$ref": r });
    }
    let hidden = |s: &Value| {
        let flag = match mode {
            Mode::Request => "readOnly",
            Mode::Response => "writeOnly",
        };
        s.get(flag).and_then(Value::as_bool).unwrap_or(false)
    };
    let mut out = Map::new();
    let mut hidden_names = Vec::new();
    for (k, x) in map {
        match k.as_str() {
            "properties" | "patternProperties" => {
                let mut props = Map::new();
                for (name, s) in x.as_object().into_iter().flatten() {
                    if k == "properties" && hidden(s) {
                        // readOnly properties SHOULD NOT be sent in a request, writeOnly ones in a response.
                        hidden_names.push(name.clone());
                        props.insert(name.clone(), json!({ "not": {} }));
                    } else {
                        props.insert(name.clone(), convert(s, mode, false));
                    }
                }
                out.insert(k.clone(), Value::Object(props));
            }
            "items" | "not" | "additionalProperties" => {
                out.insert(k.clone(), if x.is_object() { convert(x, mode, false) } else { x.clone() });
            }
            "allOf" | "oneOf" | "anyOf" => {
                let members = x.as_array().into_iter().flatten().map(|s| convert(s, mode, false)).collect();
                out.insert(k.clone(), Value::Array(members));
            }
            "nullable" | "readOnly" | "writeOnly" | "discriminator" | "xml" | "externalDocs" | "example"
            | "examples" | "deprecated" | "description" | "title" => {}
            _ if k.starts_with("x-") => {}
            _ => {
                out.insert(k.clone(), x.clone());
            }
        }
    }
    if !hidden_names.is_empty()
        && let Some(Value::Array(required)) = out.get_mut("required")
    {
        required.retain(|r| !r.as_str().is_some_and(|n| hidden_names.iter().any(|h| h == n)));
        if required.is_empty() {
            out.remove("required");
        }
    }
    if map.get("nullable").and_then(Value::as_bool) == Some(true) {
        let composed = ["allOf", "oneOf", "anyOf", "not"].iter().any(|k| out.contains_key(*k));
        match out.get("type").and_then(Value::as_str).map(str::to_owned) {
            Some(t) if !composed => {
                out.insert("type".into(), json!([t, "null"]));
                if let Some(Value::Array(values)) = out.get_mut("enum")
                    && !values.contains(&Value::Null)
                {
                    // As the common converters do: `nullable` admits `null` even where an `enum` lists values.
                    values.push(Value::Null);
                }
            }
            _ => return json!({ "anyOf": [Value::Object(out), { "type": "null" }] }),
        }
    }
    Value::Object(out)
}

/// Recording sandbox traffic for contract tests: a dialect wrapper that keeps every request and answer.
mod recording {
    use std::sync::{Arc, Mutex};

    use prov_sandbox::{Dialect, SandboxRequest, SandboxResponse, World};

    use super::{Contract, Outcome, RequestParts};

    /// One request a dialect served and its answer.
    #[derive(Debug, Clone)]
    pub struct Exchange {
        /// The request (path below the dialect prefix).
        pub request: SandboxRequest,
        /// The dialect's answer.
        pub response: SandboxResponse,
    }

    /// Wraps a dialect and records every exchange it serves; serve it with
    /// `Sandbox::start(…, vec![recorder.clone()], …)`.
    pub struct Recorder {
        inner: Arc<dyn Dialect>,
        log: Mutex<Vec<Exchange>>,
    }

    impl std::fmt::Debug for Recorder {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Recorder").field("prefix", &self.inner.prefix()).finish_non_exhaustive()
        }
    }

    impl Recorder {
        /// A recorder around `inner`.
        pub fn new(inner: Arc<dyn Dialect>) -> Arc<Self> {
            Arc::new(Self { inner, log: Mutex::new(Vec::new()) })
        }

        /// Every exchange so far, in order.
        pub fn exchanges(&self) -> Vec<Exchange> {
            self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
        }
    }

    impl Dialect for Recorder {
        fn prefix(&self) -> &'static str {
            self.inner.prefix()
        }

        fn handle(&self, req: &SandboxRequest, world: &World) -> SandboxResponse {
            let response = self.inner.handle(req, world);
            let exchange = Exchange { request: req.clone(), response: response.clone() };
            self.log.lock().unwrap_or_else(|p| p.into_inner()).push(exchange);
            response
        }

        fn error_body(&self, status: u16, message: &str) -> serde_json::Value {
            self.inner.error_body(status, message)
        }
    }

    impl Contract {
        /// Checks both halves of a recorded exchange: (request, response).
        pub fn check_exchange(&self, ex: &Exchange) -> (Outcome, Outcome) {
            let r = &ex.request;
            let parts =
                RequestParts { method: &r.method, path: &r.path, query: &r.query, headers: &r.headers, body: &r.body };
            let request = self.check_request(&parts);
            let response = self.check_response(&r.method, &r.path, ex.response.status, &ex.response.body);
            (request, response)
        }
    }
}

pub use recording::{Exchange, Recorder};

pub mod checks;

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r##"{
      "openapi": "3.0.0",
      "info": {"title": "Test", "version": "1"},
      "servers": [{"url": "https://api.example.com"}],
      "security": [{"bearer": []}],
      "paths": {
        "/{apiVersion}/things": {
          "parameters": [{"name": "apiVersion", "in": "path", "required": true, "schema": {"type": "string", "enum": ["v4"]}}],
          "get": {
            "operationId": "list-things",
            "security": [],
            "parameters": [
              {"name": "page_size", "in": "query", "schema": {"type": "integer", "minimum": 25, "maximum": 500}},
              {"name": "X-Filter", "in": "header", "schema": {"type": "object"}}
            ],
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {
              "type": "object", "properties": {"data": {"type": "array", "items": {"$ref": "#/components/schemas/thing"}}}
            }}}}, "default": {"description": "error"}}
          },
          "post": {
            "operationId": "create-thing",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/thing"}}}},
            "responses": {"202": {"description": "Accepted", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/thing"}}}}}
          }
        }
      },
      "components": {"schemas": {"thing": {
        "type": "object",
        "additionalProperties": false,
        "required": ["id", "name"],
        "properties": {
          "id": {"type": "integer", "readOnly": true},
          "name": {"type": "string", "maxLength": 5},
          "kind": {"type": "string", "enum": ["a", "b"], "nullable": true},
          "when": {"type": "string", "format": "date-time"},
          "blob": {"type": "string", "format": "byte"},
          "secret": {"type": "string", "writeOnly": true},
          "parent": {"allOf": [{"$ref": "#/components/schemas/ref"}], "nullable": true}
        }
      }, "ref": {"type": "object", "properties": {"x": {"type": "integer"}}}}}
    }"##;

    fn contract() -> Contract {
        Contract::from_json(SPEC, "https://api.example.com/v4").unwrap_or_else(|e| panic!("{e}"))
    }

    fn get(query: &[(&str, &str)], headers: &[(&str, &str)]) -> Outcome {
        let query: Vec<(String, String)> = query.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        let headers: Vec<(String, String)> = headers.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        contract().check_request(&RequestParts {
            method: "GET",
            path: "/things",
            query: &query,
            headers: &headers,
            body: b"",
        })
    }

    fn post(body: &str, auth: bool) -> Outcome {
        let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
        if auth {
            headers.push(("authorization".to_owned(), "Bearer t".to_owned()));
        }
        contract().check_request(&RequestParts {
            method: "POST",
            path: "/things",
            query: &[],
            headers: &headers,
            body: body.as_bytes(),
        })
    }

    fn places(o: Outcome) -> Vec<String> {
        o.err().unwrap_or_default().into_iter().map(|v| format!("{}: {}", v.place, v.message)).collect()
    }

    #[test]
    fn base_paths_map_onto_templates_and_methods() {
        let c = contract();
        assert_eq!(c.operation_id("GET", "/things"), Ok("list-things"));
        assert_eq!(c.operation_id("POST", "/things"), Ok("create-thing"));
        assert!(c.operation_id("DELETE", "/things").is_err());
        assert!(c.operation_id("GET", "/nope").is_err());
        let vultr_like = SPEC.replace("https://api.example.com\"", "https://api.example.com/v4\"");
        let c = Contract::from_json(&vultr_like, "https://api.example.com/v4").unwrap_or_else(|e| panic!("{e}"));
        assert!(c.operation_id("GET", "/v4/things").is_ok(), "server path + template");
    }

    #[test]
    fn query_and_header_parameters_are_typed_and_bounded() {
        assert!(get(&[("page_size", "500")], &[]).is_ok());
        assert_eq!(places(get(&[("page_size", "501")], &[])).len(), 1);
        assert_eq!(places(get(&[("page_size", "ten")], &[])).len(), 1);
        assert!(places(get(&[("cursor", "x")], &[]))[0].starts_with("query cursor"));
        assert!(get(&[], &[("X-Filter", r#"{"label":"a"}"#)]).is_ok());
        assert_eq!(places(get(&[], &[("x-filter", "label=a")])).len(), 1);
    }

    #[test]
    fn bodies_follow_nullable_read_only_and_closed_objects() {
        assert!(post(r#"{"name":"a","kind":null,"parent":null,"blob":"aGk="}"#, true).is_ok());
        assert!(post(r#"{"name":"a","parent":{"x":1}}"#, true).is_ok());
        assert_eq!(
            places(post(r#"{"name":"a"}"#, false)),
            ["auth: the operation needs `Authorization: Bearer <token>`"]
        );
        for bad in [
            r#"{"name":"a","id":5}"#,
            r#"{"name":"toolong"}"#,
            r#"{"name":"a","kind":"c"}"#,
            r#"{"name":"a","other":1}"#,
            r#"{"name":"a","blob":"not base64!"}"#,
            r#"{"name":"a","parent":{"x":"1"}}"#,
            r#"{}"#,
        ] {
            assert_eq!(places(post(bad, true)).len(), 1, "{bad}");
        }
    }

    #[test]
    fn request_bodies_are_held_to_declared_property_names() {
        let spec = SPEC.replace(r#""additionalProperties": false,"#, "");
        let c = Contract::from_json(&spec, "https://api.example.com/v4").unwrap_or_else(|e| panic!("{e}"));
        let headers = [
            ("content-type".to_owned(), "application/json".to_owned()),
            ("authorization".to_owned(), "Bearer t".to_owned()),
        ];
        let send = |body: &str| {
            let parts =
                RequestParts { method: "POST", path: "/things", query: &[], headers: &headers, body: body.as_bytes() };
            c.check_request(&parts)
        };
        assert!(send(r#"{"name":"a","kind":"a"}"#).is_ok());
        assert_eq!(
            places(send(r#"{"name":"a","knd":"a"}"#)),
            ["request body: /knd: the request schema declares no such property"]
        );
        let open = spec.replace(
            r#""required": ["id", "name"],"#,
            r#""additionalProperties": {"type": "string"}, "required": ["id", "name"],"#,
        );
        let c = Contract::from_json(&open, "https://api.example.com/v4").unwrap_or_else(|e| panic!("{e}"));
        let parts = RequestParts {
            method: "POST",
            path: "/things",
            query: &[],
            headers: &headers,
            body: br#"{"name":"a","knd":"a"}"#,
        };
        assert!(c.check_request(&parts).is_ok(), "a schema that admits any name admits this one");
    }

    #[test]
    fn a_contract_is_shared_across_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Contract>();
    }

    #[test]
    fn responses_use_the_schema_of_their_status() {
        let c = contract();
        let ok = br#"{"data":[{"id":1,"name":"a","when":"2020-10-10T01:56:20+00:00"}]}"#;
        assert_eq!(c.check_response("GET", "/things", 200, ok).map(|c| c.body_checked), Ok(true));
        let naive = br#"{"data":[{"id":1,"name":"a","when":"2018-01-01T00:01:01"}]}"#;
        assert!(c.check_response("GET", "/things", 200, naive).is_err());
        let secret = br#"{"data":[{"id":1,"name":"a","secret":"pw"}]}"#;
        assert!(c.check_response("GET", "/things", 200, secret).is_err(), "writeOnly");
        assert!(c.check_response("GET", "/things", 200, br#"{"data":[{"name":"a"}]}"#).is_err(), "required id");
        assert_eq!(c.check_response("GET", "/things", 404, b"{}").map(|c| c.body_checked), Ok(false), "default");
        assert!(c.check_response("POST", "/things", 500, b"").is_err(), "undeclared");
        let relaxed = c
            .deviate(
                Deviation::naive_date_time("test (docs/providers/linode.md §10)").unwrap_or_else(|e| panic!("{e}")),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(relaxed.check_response("GET", "/things", 200, naive).is_ok());
    }

    #[test]
    fn deviations_must_cite_facts_and_name_a_real_place() {
        assert!(Deviation::naive_date_time("because").is_err());
        assert!(Deviation::set("see docs/providers/linode.md §", "#/x", json!(1)).is_err());
        assert!(Deviation::set("see docs/providers/.md §2", "#/x", json!(1)).is_err());
        let bad_target =
            Deviation::set("docs/providers/linode.md §2", "#/components/schemas/nope/type", json!("string"));
        assert!(contract().deviate(bad_target.unwrap_or_else(|e| panic!("{e}"))).is_err());
        let widen =
            Deviation::set("docs/providers/linode.md §2", "list-things#/parameters/0/schema/maximum", json!(600));
        let c = contract().deviate(widen.unwrap_or_else(|e| panic!("{e}"))).unwrap_or_else(|e| panic!("{e}"));
        let q = vec![("page_size".to_owned(), "600".to_owned())];
        let parts = RequestParts { method: "GET", path: "/things", query: &q, headers: &[], body: b"" };
        assert!(c.check_request(&parts).is_ok());
        assert_eq!(c.deviations().len(), 1);
    }

    #[test]
    fn date_times() {
        for ok in
            ["2018-01-01T00:01:01", "2020-10-10T01:56:20+00:00", "2024-05-14T09:21:37Z", "2024-05-14T09:21:37.123Z"]
        {
            assert!(is_date_time_maybe_naive(ok), "{ok}");
        }
        for bad in ["2018-01-01", "2018-13-01T00:00:00", "2018-01-01 00:01:01", "2018-01-01T00:01:01+0000", "x"] {
            assert!(!is_date_time_maybe_naive(bad), "{bad}");
        }
    }
}
