//! Vultr's dialect on the prov-sandbox engine: catalogue lists from `fixtures/vultr/` with cursor paging,
//! instances that go pending → addressed → active/running/ok on the boot clock, create-body validation with
//! Vultr's `{"error","status"}` answers, 401 without a token and 404 for unknown ids.

use std::sync::Arc;

use base64::Engine;
use prov_sandbox::{
    Dialect, Phase, SandboxRequest, SandboxResponse, SimInstance, World, fixture_items, fixture_object, grown, page_of,
};
use serde_json::{Value, json};

const REGIONS: &str = include_str!("../../../fixtures/vultr/regions.json");
const PLANS: &str = include_str!("../../../fixtures/vultr/plans.json");
const OS: &str = include_str!("../../../fixtures/vultr/os.json");
const INSTANCE: &str = include_str!("../../../fixtures/vultr/instance_get.json");

/// The Vultr dialect.
#[derive(Debug)]
pub struct VultrDialect {
    regions: Vec<Value>,
    plans: Vec<Value>,
    os: Vec<Value>,
    template: Value,
}

impl Default for VultrDialect {
    fn default() -> Self {
        Self::new()
    }
}

impl VultrDialect {
    /// The dialect with the committed fixtures.
    pub fn new() -> Self {
        Self {
            regions: fixture_items(REGIONS, "regions"),
            plans: fixture_items(PLANS, "plans"),
            os: fixture_items(OS, "os"),
            template: fixture_object(INSTANCE, Some("instance")),
        }
    }

    /// The dialect with `n` OS images (the fixtures repeated with new ids), for paging and memory benchmarks.
    pub fn with_image_count(mut self, n: usize) -> Self {
        self.os = grown(&self.os, n, |o, i| {
            o["id"] = json!(100_000 + i);
            o["name"] = json!(format!("{} #{i}", o["name"].as_str().unwrap_or("image")));
        });
        self
    }

    /// Boxed for [`prov_sandbox::Sandbox::start`].
    pub fn shared(self) -> Arc<dyn Dialect> {
        Arc::new(self)
    }

    fn render(&self, world: &World, inst: &SimInstance, with_password: bool) -> Value {
        let mut v = self.template.clone();
        let phase = world.phase(inst);
        let (status, server_status, ip) = match phase {
            Phase::Provisioning => ("pending", "none", "0.0.0.0"),
            Phase::Booting => ("active", "installingbooting", inst.ipv4.as_str()),
            Phase::Running => ("active", "ok", inst.ipv4.as_str()),
        };
        let ipv6 = inst.data["enable_ipv6"].as_bool().unwrap_or(false) && phase != Phase::Provisioning;
        let os = self.os.iter().find(|o| o["id"].as_u64().is_some_and(|id| id.to_string() == inst.image));
        v["id"] = json!(inst.id);
        v["label"] = json!(inst.label);
        v["hostname"] = inst.data.get("hostname").cloned().unwrap_or_else(|| json!(inst.label));
        v["region"] = json!(inst.region);
        v["plan"] = json!(inst.plan);
        v["os_id"] = inst.image.parse::<u64>().map_or(json!(0), |n| json!(n));
        v["os"] = os.map_or(json!(""), |o| o["name"].clone());
        v["tags"] = json!(inst.tags);
        v["date_created"] = json!(inst.created_rfc3339);
        v["status"] = json!(status);
        v["power_status"] = json!("running");
        v["server_status"] = json!(server_status);
        v["main_ip"] = json!(ip);
        v["v6_main_ip"] = json!(if ipv6 { inst.ipv6.as_str() } else { "" });
        v["v6_network"] = json!(if ipv6 { "2001:db8::" } else { "" });
        v["v6_network_size"] = json!(if ipv6 { 64 } else { 0 });
        v["features"] = json!(if ipv6 { vec!["ipv6"] } else { vec![] });
        if let Some(p) = self.plans.iter().find(|p| p["id"] == json!(inst.plan)) {
            v["ram"] = p["ram"].clone();
            v["vcpu_count"] = p["vcpu_count"].clone();
            v["disk"] = p["disk"].clone();
        }
        if let Some(obj) = v.as_object_mut() {
            obj.remove("default_password");
        }
        if with_password {
            v["default_password"] = json!(format!("sandbox-{}", inst.id.get(..8).unwrap_or("password")));
        }
        v
    }

    fn create(&self, req: &SandboxRequest, world: &World) -> SandboxResponse {
        let body = match req.json() {
            Ok(Value::Object(map)) => map,
            Ok(_) => return error(400, "The request body must be a JSON object."),
            Err(e) => return error(400, &format!("Invalid JSON: {e}")),
        };
        let str_field = |k: &str| body.get(k).and_then(Value::as_str);
        let Some(region) = str_field("region") else { return error(400, "Missing or invalid required field: region") };
        let Some(plan) = str_field("plan") else { return error(400, "Missing or invalid required field: plan") };
        if !self.regions.iter().any(|r| r["id"] == json!(region)) {
            return error(400, "Invalid region chosen.");
        }
        let Some(p) = self.plans.iter().find(|p| p["id"] == json!(plan)) else {
            return error(400, "Invalid plan chosen.");
        };
        if !p["locations"].as_array().is_some_and(|l| l.contains(&json!(region))) {
            return error(400, "Plan is not available in the selected region.");
        }
        let sources =
            ["os_id", "iso_id", "snapshot_id", "app_id", "image_id"].iter().filter(|k| body.contains_key(**k)).count();
        if sources != 1 {
            return error(400, "Exactly one of os_id, iso_id, snapshot_id, app_id or image_id is required.");
        }
        let Some(os_id) = body.get("os_id").and_then(Value::as_u64) else {
            return error(400, "Invalid os_id: must be an integer.");
        };
        if !self.os.iter().any(|o| o["id"] == json!(os_id)) {
            return error(400, "Invalid operating system chosen.");
        }
        if let Some(b) = body.get("backups")
            && b != "enabled"
            && b != "disabled"
        {
            return error(400, "Invalid backups value: must be \"enabled\" or \"disabled\".");
        }
        for k in ["enable_ipv6", "disable_public_ipv4", "activation_email", "ddos_protection", "enable_vpc"] {
            if body.get(k).is_some_and(|v| !v.is_boolean()) {
                return error(400, &format!("Invalid {k}: must be a boolean."));
            }
        }
        for k in ["label", "hostname", "user_data", "script_id", "firewall_group_id"] {
            if body.get(k).is_some_and(|v| !v.is_string()) {
                return error(400, &format!("Invalid {k}: must be a string."));
            }
        }
        for k in ["tags", "sshkey_id"] {
            if body.get(k).is_some_and(|v| !v.as_array().is_some_and(|a| a.iter().all(Value::is_string))) {
                return error(400, &format!("Invalid {k}: must be an array of strings."));
            }
        }
        if let Some(ud) = str_field("user_data")
            && base64::engine::general_purpose::STANDARD.decode(ud).is_err()
        {
            return error(400, "Invalid user_data: must be base64 encoded.");
        }
        let n = world.next_number();
        let (ipv4, ipv6) = world.next_addresses();
        let label = str_field("label").unwrap_or("").to_owned();
        let inst = SimInstance {
            id: format!("5a4db0c5-{:04x}-4e2b-9f1a-{:012x}", n % 0xffff, n),
            label,
            region: region.to_owned(),
            plan: plan.to_owned(),
            image: os_id.to_string(),
            tags: body
                .get("tags")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect())
                .unwrap_or_default(),
            ipv4,
            ipv6,
            created_rfc3339: world.now_rfc3339().replace('Z', "+00:00"),
            created: std::time::Instant::now(),
            data: Value::Object(body),
        };
        let rendered = self.render(world, &inst, true);
        world.insert("vultr", inst);
        SandboxResponse::json(202, &json!({ "instance": rendered }))
    }
}

fn error(status: u16, message: &str) -> SandboxResponse {
    SandboxResponse::json(status, &json!({ "error": message, "status": status }))
}

/// Cursor for an offset: opaque like Vultr's, base64 of `next__<offset>`.
fn cursor_for(offset: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("next__{offset}"))
}

fn offset_of(cursor: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::STANDARD.decode(cursor).ok()?;
    String::from_utf8(raw).ok()?.strip_prefix("next__")?.parse().ok()
}

fn paged(req: &SandboxRequest, key: &str, all: &[Value]) -> SandboxResponse {
    let per_page = match req.query("per_page").map(str::parse::<usize>) {
        None => 100,
        Some(Ok(n)) if (1..=500).contains(&n) => n,
        Some(_) => return error(400, "Invalid per_page: must be between 1 and 500."),
    };
    let offset = match req.query("cursor").filter(|c| !c.is_empty()) {
        None => 0,
        Some(c) => match offset_of(c) {
            Some(o) => o,
            None => return error(400, "Invalid cursor."),
        },
    };
    let (page, next) = page_of(all, offset, per_page);
    let prev = if offset > 0 { cursor_for(offset.saturating_sub(per_page)) } else { String::new() };
    SandboxResponse::json(
        200,
        &json!({
            key: page,
            "meta": {"total": all.len(), "links": {"next": next.map(cursor_for).unwrap_or_default(), "prev": prev}},
        }),
    )
}

impl Dialect for VultrDialect {
    fn prefix(&self) -> &'static str {
        crate::INFO.sandbox_path
    }

    /// `{"error": message, "status": status}`, as [`error`] answers.
    fn error_body(&self, status: u16, message: &str) -> Value {
        json!({ "error": message, "status": status })
    }

    fn handle(&self, req: &SandboxRequest, world: &World) -> SandboxResponse {
        let segs = req.segments();
        let public = matches!((req.method.as_str(), segs.as_slice()), ("GET", ["regions" | "plans" | "os"]));
        if !public && !req.has_bearer() {
            return error(401, "Invalid API token.");
        }
        match (req.method.as_str(), segs.as_slice()) {
            ("GET", ["regions"]) => paged(req, "regions", &self.regions),
            ("GET", ["plans"]) => paged(req, "plans", &self.plans),
            ("GET", ["os"]) => paged(req, "os", &self.os),
            ("GET", ["instances"]) => {
                let all: Vec<Value> = world
                    .list("vultr")
                    .iter()
                    .filter(|i| req.query("label").is_none_or(|l| i.label == l))
                    .filter(|i| req.query("tag").is_none_or(|t| i.tags.iter().any(|x| x == t)))
                    .map(|i| self.render(world, i, false))
                    .collect();
                paged(req, "instances", &all)
            }
            ("GET", ["instances", id]) => match world.get("vultr", id) {
                Some(i) => SandboxResponse::json(200, &json!({ "instance": self.render(world, &i, false) })),
                None => error(404, "Invalid instance-id."),
            },
            ("POST", ["instances"]) => self.create(req, world),
            ("DELETE", ["instances", id]) => {
                if world.remove("vultr", id) {
                    SandboxResponse::empty(204)
                } else {
                    error(404, "Invalid instance-id.")
                }
            }
            (_, ["regions" | "plans" | "os" | "instances"] | ["instances", _]) => error(405, "Method not allowed."),
            _ => error(404, "Not found."),
        }
    }
}

/// The dialect for [`crate::REGISTRATION`]: `Some(n)` grows the image list to `n` images.
pub fn dialect(image_count: Option<usize>) -> Arc<dyn Dialect> {
    match image_count {
        Some(n) => VultrDialect::new().with_image_count(n).shared(),
        None => VultrDialect::new().shared(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_faults_answer_in_this_dialects_own_error_shape() {
        let body = VultrDialect::new().error_body(429, "Too Many Requests (sandbox fault)");
        assert_eq!(body, json!({"error": "Too Many Requests (sandbox fault)", "status": 429}));
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let parsed = (crate::INFO.parse_error)(429, &bytes);
        assert_eq!(parsed.message, "Too Many Requests (sandbox fault)", "the client's own parser reads it");
    }
}
