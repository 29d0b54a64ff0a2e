//! Linode's dialect on the prov-sandbox engine: catalogue lists from `fixtures/linode/` with `page`/`page_size`
//! paging, Linodes that go provisioning → booting → running on the boot clock (the public IPv4 from the start),
//! create-body validation with Linode's `{"errors":[{field,reason}]}` answers, `X-Filter` on the instance list,
//! 401 without a token and 404 for unknown ids.

use std::sync::Arc;

use base64::Engine;
use prov_sandbox::{
    Dialect, Phase, SandboxRequest, SandboxResponse, SimInstance, World, fixture_items, fixture_object, grown, page_of,
};
use serde_json::{Map, Value, json};

const REGIONS: &str = include_str!("../../../fixtures/linode/regions.json");
const TYPES: &str = include_str!("../../../fixtures/linode/types.json");
const IMAGES: &str = include_str!("../../../fixtures/linode/images.json");
const INSTANCE: &str = include_str!("../../../fixtures/linode/instance_get.json");

/// The key of this dialect's instances in the shared world.
const STORE: &str = "linode";

/// Instance ids start above this, like real Linode ids.
const ID_BASE: u64 = 60_000_000;

/// Page size when none is asked for, and the limits Linode enforces.
const DEFAULT_PAGE_SIZE: usize = 100;
const PAGE_SIZE_LIMITS: std::ops::RangeInclusive<usize> = 25..=500;

/// The reason Linode gives for a weak `root_pass`.
pub const WEAK_PASSWORD: &str = "Password does not meet strength requirement";

/// The Linode dialect.
#[derive(Debug)]
pub struct LinodeDialect {
    regions: Vec<Value>,
    types: Vec<Value>,
    images: Vec<Value>,
    template: Value,
}

impl Default for LinodeDialect {
    fn default() -> Self {
        Self::new()
    }
}

impl LinodeDialect {
    /// The dialect with the committed fixtures.
    pub fn new() -> Self {
        Self {
            regions: fixture_items(REGIONS, "data"),
            types: fixture_items(TYPES, "data"),
            images: fixture_items(IMAGES, "data"),
            template: fixture_object(INSTANCE, None),
        }
    }

    /// The dialect with `n` images (the fixtures repeated with new ids), for paging and memory benchmarks.
    pub fn with_image_count(mut self, n: usize) -> Self {
        self.images = grown(&self.images, n, |img, i| {
            img["id"] = json!(format!("{}-copy{i}", img["id"].as_str().unwrap_or("linode/image")));
            img["label"] = json!(format!("{} #{i}", img["label"].as_str().unwrap_or("Image")));
        });
        self
    }

    /// Boxed for [`prov_sandbox::Sandbox::start`].
    pub fn shared(self) -> Arc<dyn Dialect> {
        Arc::new(self)
    }

    fn find<'a>(list: &'a [Value], id: &str) -> Option<&'a Value> {
        list.iter().find(|v| v["id"].as_str() == Some(id))
    }

    fn render(&self, world: &World, inst: &SimInstance) -> Value {
        let mut v = self.template.clone();
        let booted = inst.data["booted"].as_bool().unwrap_or(true);
        let status = match (world.phase(inst), booted) {
            (Phase::Provisioning, _) | (Phase::Booting, false) => "provisioning",
            (Phase::Booting, true) => "booting",
            (Phase::Running, true) => "running",
            (Phase::Running, false) => "offline",
        };
        let mut ipv4 = Vec::new();
        if let Some(private) = inst.data["private_ipv4"].as_str() {
            ipv4.push(private.to_owned());
        }
        ipv4.push(inst.ipv4.clone());
        let created = inst.created_rfc3339.trim_end_matches('Z');
        v["id"] = inst.id.parse::<u64>().map_or_else(|_| json!(inst.id), |n| json!(n));
        v["label"] = json!(inst.label);
        v["status"] = json!(status);
        v["created"] = json!(created);
        v["updated"] = json!(created);
        v["type"] = json!(inst.plan);
        v["region"] = json!(inst.region);
        v["image"] = if inst.image.is_empty() { Value::Null } else { json!(inst.image) };
        v["ipv4"] = json!(ipv4);
        v["ipv6"] = json!(format!("{}/128", inst.ipv6));
        v["tags"] = json!(inst.tags);
        v["has_user_data"] = json!(inst.data["has_user_data"].as_bool().unwrap_or(false));
        v["host_uuid"] = json!(format!("{:040x}", inst.id.parse::<u64>().unwrap_or(0)));
        let backups = inst.data["backups_enabled"].as_bool().unwrap_or(false);
        match v.get_mut("backups").and_then(Value::as_object_mut) {
            Some(b) => {
                b.insert("enabled".to_owned(), json!(backups));
            }
            None => v["backups"] = json!({ "enabled": backups }),
        }
        if let Some(t) = Self::find(&self.types, &inst.plan) {
            v["specs"] = json!({
                "disk": t["disk"], "memory": t["memory"], "vcpus": t["vcpus"], "gpus": t["gpus"], "transfer": t["transfer"],
            });
        }
        v
    }

    fn create(&self, req: &SandboxRequest, world: &World) -> SandboxResponse {
        let body = match req.json() {
            Ok(Value::Object(map)) => map,
            Ok(_) => return errors(400, &[(None, "Request body must be a JSON object")]),
            Err(_) => return errors(400, &[(None, "Invalid JSON")]),
        };
        let problems = type_problems(&body);
        if !problems.is_empty() {
            return field_errors(400, problems);
        }
        let problems = self.value_problems(&body);
        if !problems.is_empty() {
            return field_errors(400, problems);
        }
        let s = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let n = world.next_number();
        let id = ID_BASE + n;
        let (ipv4, ipv6) = world.next_addresses();
        let private_ipv4 = (body.get("private_ip") == Some(&json!(true)))
            .then(|| format!("192.168.{}.{}", 128 + (n / 250) % 128, n % 250 + 2));
        let label = Some(s("label")).filter(|l| !l.is_empty()).unwrap_or_else(|| format!("linode{id}"));
        let strings = |k: &str| -> Vec<String> {
            body.get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect())
                .unwrap_or_default()
        };
        // Keep only what rendering needs: never the root password or the user data.
        let data = json!({
            "private_ipv4": private_ipv4,
            "backups_enabled": body.get("backups_enabled").and_then(Value::as_bool).unwrap_or(false),
            "booted": body.get("booted").and_then(Value::as_bool).unwrap_or(true),
            "has_user_data": body.get("metadata").and_then(|m| m.get("user_data")).is_some(),
        });
        let inst = SimInstance {
            id: id.to_string(),
            label,
            region: s("region"),
            plan: s("type"),
            image: s("image"),
            tags: strings("tags"),
            ipv4,
            ipv6,
            created_rfc3339: world.now_rfc3339(),
            created: std::time::Instant::now(),
            data,
        };
        let rendered = self.render(world, &inst);
        world.insert(STORE, inst);
        SandboxResponse::json(200, &rendered)
    }

    /// What the real API refuses about the values of a well-typed create body.
    fn value_problems(&self, body: &Map<String, Value>) -> Vec<(Option<String>, String)> {
        let mut out: Vec<(Option<String>, String)> = Vec::new();
        let mut push = |field: &str, reason: &str| out.push((Some(field.to_owned()), reason.to_owned()));
        let s = |k: &str| body.get(k).and_then(Value::as_str);
        match s("region") {
            None => push("region", "region is required"),
            Some(r) if Self::find(&self.regions, r).is_none() => push("region", "region is not valid"),
            Some(_) => {}
        }
        match s("type") {
            None => push("type", "type is required"),
            Some(t) if Self::find(&self.types, t).is_none() => {
                push("type", "A valid plan type by that ID was not found")
            }
            Some(_) => {}
        }
        let image = s("image").map(|i| (i, Self::find(&self.images, i)));
        if let Some((_, None)) = image {
            push("image", "image is not valid");
        }
        if let Some(label) = s("label") {
            if !(3..=64).contains(&label.chars().count()) {
                push("label", "Length must be 3-64 characters");
            } else if crate::label_problem(label).is_some() {
                push(
                    "label",
                    "Label must begin with a letter and contain only letters, numbers, '-', '_' and '.', with no '--', '__' or '..'",
                );
            }
        }
        match (s("root_pass"), image.is_some()) {
            (None, true) => push("root_pass", "root_pass is required when creating from an image"),
            (Some(pw), _) if !(7..=128).contains(&pw.chars().count()) => {
                push("root_pass", "Length must be 7-128 characters")
            }
            (Some(pw), _) if is_weak(pw) => push("root_pass", WEAK_PASSWORD),
            _ => {}
        }
        if let Some(keys) = body.get("authorized_keys").and_then(Value::as_array)
            && keys.iter().filter_map(Value::as_str).any(|k| !crate::looks_like_public_key(k))
        {
            push("authorized_keys", "Invalid SSH public key");
        }
        if let Some(ud) = body.get("metadata").and_then(|m| m.get("user_data")).and_then(Value::as_str) {
            match base64::engine::general_purpose::STANDARD.decode(ud) {
                Err(_) => push("metadata.user_data", "user_data must be valid base64"),
                Ok(raw) if raw.len() > crate::MAX_USER_DATA_BYTES => {
                    push("metadata.user_data", "user_data must be at most 65535 bytes before encoding")
                }
                Ok(_) => {
                    let cloud_init = image.and_then(|(_, img)| img).is_some_and(|img| {
                        img["capabilities"].as_array().is_some_and(|c| c.contains(&json!("cloud-init")))
                    });
                    if !cloud_init {
                        push("metadata.user_data", "The selected image does not support cloud-init user data");
                    }
                }
            }
        }
        out
    }

    fn list_instances(&self, req: &SandboxRequest, world: &World) -> SandboxResponse {
        let filter = match req.header("x-filter").map(parse_filter).transpose() {
            Ok(f) => f.unwrap_or_default(),
            Err(reason) => return errors(400, &[(None, reason.as_str())]),
        };
        let all: Vec<Value> = world
            .list(STORE)
            .iter()
            .filter(|i| {
                filter.iter().all(|(key, want)| match key.as_str() {
                    "label" => i.label == *want,
                    "region" => i.region == *want,
                    _ => i.tags.iter().any(|t| t == want),
                })
            })
            .map(|i| self.render(world, i))
            .collect();
        paged(req, &all)
    }
}

/// Problems with the JSON types of a create body (the API refuses these before looking at values).
fn type_problems(body: &Map<String, Value>) -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    let mut check = |key: &str, ok: fn(&Value) -> bool, reason: &str| {
        if body.get(key).is_some_and(|v| !ok(v)) {
            out.push((Some(key.to_owned()), reason.to_owned()));
        }
    };
    for k in ["region", "type", "image", "label", "root_pass", "group"] {
        check(k, Value::is_string, "Must be a string");
    }
    for k in ["backups_enabled", "private_ip", "booted"] {
        check(k, Value::is_boolean, "Must be true or false");
    }
    for k in ["swap_size", "firewall_id", "stackscript_id", "backup_id"] {
        check(k, Value::is_u64, "Must be an integer");
    }
    for k in ["tags", "authorized_keys", "authorized_users"] {
        check(k, |v| v.as_array().is_some_and(|a| a.iter().all(Value::is_string)), "Must be an array of strings");
    }
    check("metadata", Value::is_object, "Must be an object");
    if let Some(ud) = body.get("metadata").and_then(|m| m.get("user_data"))
        && !ud.is_string()
    {
        out.push((Some("metadata.user_data".to_owned()), "Must be a string".to_owned()));
    }
    out
}

/// A simple stand-in for Linode's strength score: weak when shorter than 11 characters or drawn from fewer than
/// three of lower case, upper case, digits and symbols.
fn is_weak(pw: &str) -> bool {
    let classes = [
        pw.chars().any(|c| c.is_lowercase()),
        pw.chars().any(|c| c.is_uppercase()),
        pw.chars().any(|c| c.is_ascii_digit()),
        pw.chars().any(|c| !c.is_alphanumeric()),
    ];
    pw.chars().count() < 11 || classes.iter().filter(|b| **b).count() < 3
}

/// Parses an `X-Filter` header: a JSON object of `label`, `tags` or `region` to a string (`+order_by` and
/// `+order` are accepted and ignored).
fn parse_filter(raw: &str) -> Result<Vec<(String, String)>, String> {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(raw) else {
        return Err("The X-Filter header must be a JSON object".to_owned());
    };
    let mut out = Vec::new();
    for (key, value) in map {
        match (key.as_str(), value) {
            ("+order_by" | "+order", _) => {}
            ("label" | "tags" | "region", Value::String(s)) => out.push((key, s)),
            ("label" | "tags" | "region", _) => return Err(format!("Filter on {key} must be a string")),
            _ => return Err(format!("Cannot filter on {key}")),
        }
    }
    Ok(out)
}

fn errors(status: u16, list: &[(Option<&str>, &str)]) -> SandboxResponse {
    let entries: Vec<Value> = list
        .iter()
        .map(|(field, reason)| match field {
            Some(f) => json!({ "field": f, "reason": reason }),
            None => json!({ "reason": reason }),
        })
        .collect();
    SandboxResponse::json(status, &json!({ "errors": entries }))
}

fn field_errors(status: u16, list: Vec<(Option<String>, String)>) -> SandboxResponse {
    let borrowed: Vec<(Option<&str>, &str)> = list.iter().map(|(f, r)| (f.as_deref(), r.as_str())).collect();
    errors(status, &borrowed)
}

/// One page of `all` in Linode's envelope, by `page` (from 1) and `page_size` (25–500, default 100).
fn paged(req: &SandboxRequest, all: &[Value]) -> SandboxResponse {
    let page_size = match req.query("page_size").map(str::parse::<usize>) {
        None => DEFAULT_PAGE_SIZE,
        Some(Ok(n)) if PAGE_SIZE_LIMITS.contains(&n) => n,
        Some(_) => return errors(400, &[(Some("page_size"), "Must be a value between 25 and 500")]),
    };
    let page = match req.query("page").map(str::parse::<usize>) {
        None => 1,
        Some(Ok(n)) if n >= 1 => n,
        Some(_) => return errors(400, &[(Some("page"), "Must be a positive integer")]),
    };
    let pages = all.len().div_ceil(page_size).max(1);
    let offset = (page - 1).saturating_mul(page_size);
    let (data, _) = page_of(all, offset, page_size);
    SandboxResponse::json(200, &json!({ "data": data, "page": page, "pages": pages, "results": all.len() }))
}

impl Dialect for LinodeDialect {
    fn prefix(&self) -> &'static str {
        crate::INFO.sandbox_path
    }

    /// `{"errors": [{"reason": message}]}`, as [`errors`] answers without a field.
    fn error_body(&self, _status: u16, message: &str) -> Value {
        json!({ "errors": [{ "reason": message }] })
    }

    fn handle(&self, req: &SandboxRequest, world: &World) -> SandboxResponse {
        let segs = req.segments();
        let public =
            matches!((req.method.as_str(), segs.as_slice()), ("GET", ["regions"] | ["linode", "types"] | ["images"]));
        // Public lists need no token, but a token that is sent must be valid, as on the real API.
        let sent_token = req.header("authorization").is_some();
        if (!public || sent_token) && !req.has_bearer() {
            return errors(401, &[(None, "Invalid Token")]);
        }
        let instance = |id: &str| id.parse::<u64>().ok().and_then(|_| world.get(STORE, id));
        match (req.method.as_str(), segs.as_slice()) {
            ("GET", ["regions"]) => paged(req, &self.regions),
            ("GET", ["linode", "types"]) => paged(req, &self.types),
            ("GET", ["images"]) => paged(req, &self.images),
            ("GET", ["linode", "instances"]) => self.list_instances(req, world),
            ("POST", ["linode", "instances"]) => self.create(req, world),
            ("GET", ["linode", "instances", id]) => match instance(id) {
                Some(i) => SandboxResponse::json(200, &self.render(world, &i)),
                None => errors(404, &[(None, "Not found")]),
            },
            ("DELETE", ["linode", "instances", id]) => match instance(id) {
                Some(i) if world.remove(STORE, &i.id) => SandboxResponse::json(200, &json!({})),
                _ => errors(404, &[(None, "Not found")]),
            },
            (_, ["regions" | "images"] | ["linode", "types" | "instances"] | ["linode", "instances", _]) => {
                errors(405, &[(None, "Method Not Allowed")])
            }
            _ => errors(404, &[(None, "Not found")]),
        }
    }
}

/// The dialect for [`crate::REGISTRATION`]: `Some(n)` grows the image list to `n` images.
pub fn dialect(image_count: Option<usize>) -> Arc<dyn Dialect> {
    match image_count {
        Some(n) => LinodeDialect::new().with_image_count(n).shared(),
        None => LinodeDialect::new().shared(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_faults_answer_in_this_dialects_own_error_shape() {
        let body = LinodeDialect::new().error_body(429, "Too Many Requests (sandbox fault)");
        assert_eq!(body, json!({"errors": [{"reason": "Too Many Requests (sandbox fault)"}]}));
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let parsed = (crate::INFO.parse_error)(429, &bytes);
        assert_eq!(parsed.message, "Too Many Requests (sandbox fault)", "the client's own parser reads it");
    }

    #[test]
    fn fixtures_load() {
        let d = LinodeDialect::new();
        assert_eq!((d.regions.len(), d.types.len(), d.images.len()), (31, 37, 58));
        assert_eq!(d.template["id"], json!(45501392));
        let more = LinodeDialect::new().with_image_count(130);
        let mut ids: Vec<_> = more.images.iter().filter_map(|i| i["id"].as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 130);
    }

    #[test]
    fn weak_passwords() {
        for weak in ["short1A!", "alllowercaseletters", "lowerUPPERonly", "12345678901"] {
            assert!(is_weak(weak), "{weak}");
        }
        for strong in ["Correct-Horse-9", "abcdefgh12!", "ABCDEFGH12x"] {
            assert!(!is_weak(strong), "{strong}");
        }
    }

    #[test]
    fn filters() {
        assert_eq!(parse_filter(r#"{"label":"web"}"#), Ok(vec![("label".into(), "web".into())]));
        assert_eq!(parse_filter(r#"{"tags":"m","+order_by":"label"}"#), Ok(vec![("tags".into(), "m".into())]));
        assert!(parse_filter("label=web").is_err());
        assert!(parse_filter(r#"{"status":"running"}"#).is_err());
        assert!(parse_filter(r#"{"label":{"+contains":"w"}}"#).is_err());
    }

    #[test]
    fn type_errors_name_the_field() {
        let body = json!({"region": 1, "private_ip": "yes", "tags": "web", "metadata": {"user_data": 5}});
        let fields: Vec<_> =
            type_problems(body.as_object().unwrap_or(&Map::new())).into_iter().filter_map(|(f, _)| f).collect();
        assert_eq!(fields, ["region", "private_ip", "tags", "metadata.user_data"]);
    }
}
