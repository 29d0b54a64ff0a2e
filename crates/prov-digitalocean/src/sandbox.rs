//! DigitalOcean's dialect on the prov-sandbox engine: catalogue lists from `fixtures/digitalocean/` with
//! page-number paging (default 20, at most 200) and `links.pages` as full URLs on DigitalOcean's own host, Droplets
//! that go `new` → addressed → `active` on the boot clock, create-body validation with DigitalOcean's
//! `{"id","message","request_id"}` answers, 401 without a token on every route and 404 for unknown ids.

use std::sync::Arc;

use prov_sandbox::{
    Dialect, Phase, SandboxRequest, SandboxResponse, SimInstance, World, fixture_items, fixture_object, grown, page_of,
};
use serde_json::{Map, Value, json};

use crate::{MAX_USER_DATA_BYTES, is_valid_droplet_name, is_valid_tag};

const REGIONS: &str = include_str!("../../../fixtures/digitalocean/regions.json");
const SIZES: &str = include_str!("../../../fixtures/digitalocean/sizes.json");
const IMAGES: &str = include_str!("../../../fixtures/digitalocean/images_distribution.json");
const DROPLET: &str = include_str!("../../../fixtures/digitalocean/droplet_get.json");

/// The world's store name for this dialect.
const STORE: &str = "digitalocean";
/// The host the real API writes into its page and action links; the client must never follow it.
const PUBLIC_BASE: &str = "https://api.digitalocean.com/v2";
/// Page size when `per_page` is not given.
const DEFAULT_PER_PAGE: usize = 20;
/// Largest page; larger requests are capped silently, as the real API does.
const MAX_PER_PAGE: usize = 200;
/// Simulated Droplet ids start above this.
const FIRST_ID: u64 = 500_000_000;
/// Boolean create options.
const BOOL_KEYS: &[&str] =
    &["ipv6", "backups", "monitoring", "private_networking", "with_droplet_agent", "public_networking"];

/// The DigitalOcean dialect.
#[derive(Debug)]
pub struct DigitalOceanDialect {
    regions: Vec<Value>,
    sizes: Vec<Value>,
    images: Vec<Value>,
    template: Value,
}

impl Default for DigitalOceanDialect {
    fn default() -> Self {
        Self::new()
    }
}

/// A uuid-shaped request id, unique within the world.
fn request_id(world: &World) -> String {
    let n = world.next_number();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}", nanos, n & 0xffff, (n >> 16) & 0xfff, nanos & 0xfff, n)
}

/// DigitalOcean's error answer, with the request id in the body and the `x-request-id` header.
fn error(world: &World, status: u16, id: &str, message: &str) -> SandboxResponse {
    let rid = request_id(world);
    SandboxResponse::json(status, &json!({ "id": id, "message": message, "request_id": rid }))
        .with_header("x-request-id", &rid)
}

fn unprocessable(world: &World, message: &str) -> SandboxResponse {
    error(world, 422, "unprocessable_entity", message)
}

fn not_found(world: &World) -> SandboxResponse {
    error(world, 404, "not_found", "The resource you requested could not be found.")
}

/// Percent-encodes a query value for the page links (letters, digits and `-._~:` stay as they are).
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl DigitalOceanDialect {
    /// The dialect with the committed fixtures.
    pub fn new() -> Self {
        Self {
            regions: fixture_items(REGIONS, "regions"),
            sizes: fixture_items(SIZES, "sizes"),
            images: fixture_items(IMAGES, "images"),
            template: fixture_object(DROPLET, Some("droplet")),
        }
    }

    /// The dialect with `n` distribution images (the fixtures repeated with new ids and slugs), for paging and
    /// memory benchmarks.
    pub fn with_image_count(mut self, n: usize) -> Self {
        self.images = grown(&self.images, n, |img, i| {
            img["id"] = json!(200_000_000 + i);
            img["name"] = json!(format!("{} #{i}", img["name"].as_str().unwrap_or("image")));
            if let Some(slug) = img["slug"].as_str() {
                img["slug"] = json!(format!("{slug}-{i}"));
            }
        });
        self
    }

    /// Boxed for [`prov_sandbox::Sandbox::start`].
    pub fn shared(self) -> Arc<dyn Dialect> {
        Arc::new(self)
    }

    fn region(&self, slug: &str) -> Option<&Value> {
        self.regions.iter().find(|r| r["slug"] == json!(slug))
    }

    fn size(&self, slug: &str) -> Option<&Value> {
        self.sizes.iter().find(|s| s["slug"] == json!(slug))
    }

    /// An image by slug (string) or id (integer, or a string of digits).
    fn image(&self, key: &Value) -> Option<&Value> {
        match key {
            Value::Number(n) => self.images.iter().find(|i| i["id"].as_u64() == n.as_u64()),
            Value::String(s) => {
                let id = s.parse::<u64>().ok();
                self.images.iter().find(|i| i["slug"] == json!(s) || (id.is_some() && i["id"].as_u64() == id))
            }
            _ => None,
        }
    }

    /// One page of `all` as `{key: [...], "links": {...}, "meta": {"total"}}`; `keep` names the query parameters
    /// repeated in the page links.
    fn paged(
        &self,
        req: &SandboxRequest,
        world: &World,
        path: &str,
        key: &str,
        all: &[Value],
        keep: &[&str],
    ) -> SandboxResponse {
        let page = match req.query("page").map(str::parse::<usize>) {
            None => 1,
            Some(Ok(n)) if n >= 1 => n,
            Some(_) => return unprocessable(world, "page must be a positive integer"),
        };
        let per_page = match req.query("per_page").map(str::parse::<usize>) {
            None => DEFAULT_PER_PAGE,
            Some(Ok(n)) if n >= 1 => n.min(MAX_PER_PAGE),
            Some(_) => return unprocessable(world, "per_page must be a positive integer"),
        };
        let (items, _) = page_of(all, (page - 1).saturating_mul(per_page), per_page);
        let last = all.len().div_ceil(per_page).max(1);
        let extra: String = keep.iter().filter_map(|k| req.query(k).map(|v| format!("&{k}={}", encode(v)))).collect();
        let url = |n: usize| format!("{PUBLIC_BASE}{path}?page={n}&per_page={per_page}{extra}");
        let mut pages = Map::new();
        if page > 1 {
            pages.insert("first".into(), json!(url(1)));
            pages.insert("prev".into(), json!(url((page - 1).min(last))));
        }
        if page < last {
            pages.insert("next".into(), json!(url(page + 1)));
            pages.insert("last".into(), json!(url(last)));
        }
        let links = if pages.is_empty() { json!({}) } else { json!({ "pages": pages }) };
        SandboxResponse::json(200, &json!({ key: items, "links": links, "meta": { "total": all.len() } }))
    }

    /// A Droplet as DigitalOcean shows it in `phase`: the `droplet_get.json` template with this Droplet's values
    /// and the catalogue's region, size and image objects.
    fn render(&self, inst: &SimInstance, phase: Phase) -> Value {
        let mut v = self.template.clone();
        let flag = |k: &str| inst.data.get(k).and_then(Value::as_bool).unwrap_or(false);
        let number = inst.id.parse::<u64>().unwrap_or(FIRST_ID);
        v["id"] = json!(number);
        v["name"] = json!(inst.label);
        v["status"] = json!(if phase == Phase::Running { "active" } else { "new" });
        v["locked"] = json!(false);
        v["created_at"] = json!(inst.created_rfc3339);
        v["tags"] = json!(inst.tags);
        if let Some(r) = self.region(&inst.region) {
            v["region"] = r.clone();
        }
        if let Some(s) = self.size(&inst.plan) {
            for k in ["memory", "vcpus", "disk", "disk_info"] {
                v[k] = s[k].clone();
            }
            v["size"] = s.clone();
        }
        v["size_slug"] = json!(inst.plan);
        if let Some(i) = self.image(&json!(inst.image)) {
            v["image"] = i.clone();
        }
        let mut features = Vec::new();
        for (key, feature) in [("backups", "backups"), ("monitoring", "monitoring"), ("ipv6", "ipv6")] {
            if flag(key) {
                features.push(feature);
            }
        }
        features.push("private_networking");
        v["features"] = json!(features);
        v["backup_ids"] = json!([]);
        v["next_backup_window"] = Value::Null;
        v["snapshot_ids"] = json!([]);
        v["volume_ids"] = inst.data.get("volumes").cloned().unwrap_or_else(|| json!([]));
        v["kernel"] = Value::Null;
        v["networks"] = if phase == Phase::Provisioning {
            json!({ "v4": [], "v6": [] })
        } else {
            let n = number.saturating_sub(FIRST_ID);
            let gateway = inst.ipv4.rsplit_once('.').map_or_else(String::new, |(net, _)| format!("{net}.1"));
            let v6 = if flag("ipv6") {
                json!([{ "ip_address": inst.ipv6, "netmask": 64, "gateway": "2001:db8::1", "type": "public" }])
            } else {
                json!([])
            };
            json!({
                "v4": [
                    { "ip_address": format!("10.104.{}.{}", (n / 250) % 250, n % 250 + 2), "netmask": "255.255.240.0", "gateway": "<nil>", "type": "private" },
                    { "ip_address": inst.ipv4, "netmask": "255.255.240.0", "gateway": gateway, "type": "public" },
                ],
                "v6": v6,
            })
        };
        v
    }

    /// Checks a create body the way DigitalOcean does; the error is the 422 message.
    fn check_create(&self, body: &Map<String, Value>) -> Result<(String, String, Value), String> {
        if body.contains_key("names") {
            return Err("The sandbox creates one Droplet at a time: send `name`, not `names`.".into());
        }
        let name = match body.get("name") {
            None | Some(Value::Null) => return Err("Name is required.".into()),
            Some(Value::String(s)) => s,
            Some(_) => return Err("name must be a string.".into()),
        };
        if name.chars().count() > 255 {
            return Err("Name must be 255 characters or fewer.".into());
        }
        if !is_valid_droplet_name(name) {
            return Err("Name Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)".into());
        }
        let size_slug = match body.get("size") {
            None | Some(Value::Null) => return Err("Size is required.".into()),
            Some(Value::String(s)) => s,
            Some(_) => return Err("size must be a string.".into()),
        };
        let Some(size) = self.size(size_slug) else {
            return Err("You specified an invalid size for Droplet creation.".into());
        };
        if size["available"] == json!(false) {
            return Err("This size is not available.".into());
        }
        let image = match body.get("image") {
            None | Some(Value::Null) => return Err("Image is required.".into()),
            Some(v @ (Value::String(_) | Value::Number(_))) => v,
            Some(_) => return Err("image must be a slug (string) or an id (integer).".into()),
        };
        let Some(image) = self.image(image) else {
            return Err("You specified an invalid image for Droplet creation.".into());
        };
        let sold_in = |r: &Value| size["regions"].as_array().is_some_and(|l| l.contains(&r["slug"]));
        let image_in = |r: &Value| image["regions"].as_array().is_some_and(|l| l.contains(&r["slug"]));
        let region = match body.get("region") {
            None | Some(Value::Null) => self
                .regions
                .iter()
                .find(|r| r["available"] == json!(true) && sold_in(r) && image_in(r))
                .ok_or("No region offers both this size and this image.")?,
            Some(Value::String(s)) => {
                let Some(r) = self.region(s) else {
                    return Err("You specified an invalid region for Droplet creation.".into());
                };
                if r["available"] != json!(true) {
                    return Err("This region is not available for new Droplets.".into());
                }
                if !sold_in(r) {
                    return Err("Size is not available in this region.".into());
                }
                if !image_in(r) {
                    return Err("Image is not available in this region.".into());
                }
                r
            }
            Some(_) => return Err("region must be a string.".into()),
        };
        for k in BOOL_KEYS {
            if body.get(*k).is_some_and(|v| !v.is_boolean() && !v.is_null()) {
                return Err(format!("{k} must be a boolean."));
            }
        }
        match body.get("tags") {
            None | Some(Value::Null) => {}
            Some(Value::Array(tags)) => {
                if !tags.iter().all(|t| t.as_str().is_some_and(is_valid_tag)) {
                    return Err(
                        "Tags may contain letters, numbers, colons, dashes, and underscores, up to 255 characters."
                            .into(),
                    );
                }
            }
            Some(_) => return Err("tags must be an array of strings.".into()),
        }
        match body.get("ssh_keys") {
            None | Some(Value::Null) => {}
            Some(Value::Array(keys)) => {
                let ok = |k: &Value| match k {
                    Value::Number(n) => n.as_u64().is_some(),
                    Value::String(s) => crate::is_ssh_key_reference(s),
                    _ => false,
                };
                if !keys.iter().all(ok) {
                    return Err("ssh_keys must be ids (integers) or fingerprints of keys stored on the account.".into());
                }
            }
            Some(_) => return Err("ssh_keys must be an array.".into()),
        }
        match body.get("user_data") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.len() > MAX_USER_DATA_BYTES => {
                return Err("user_data must be 64 KiB or smaller.".into());
            }
            Some(Value::String(_)) => {}
            Some(_) => return Err("user_data must be a string.".into()),
        }
        if body.get("vpc_uuid").is_some_and(|v| !v.is_string() && !v.is_null()) {
            return Err("vpc_uuid must be a string.".into());
        }
        if body
            .get("volumes")
            .is_some_and(|v| !v.is_null() && !v.as_array().is_some_and(|a| a.iter().all(Value::is_string)))
        {
            return Err("volumes must be an array of strings.".into());
        }
        let region_slug = region["slug"].as_str().unwrap_or_default().to_owned();
        Ok((name.clone(), region_slug, image["id"].clone()))
    }

    fn create(&self, req: &SandboxRequest, world: &World) -> SandboxResponse {
        let body = match req.json() {
            Ok(Value::Object(map)) => map,
            Ok(_) => return unprocessable(world, "The request body must be a JSON object."),
            Err(e) => return error(world, 400, "bad_request", &format!("The request body is not valid JSON: {e}")),
        };
        let (name, region, image_id) = match self.check_create(&body) {
            Ok(ok) => ok,
            Err(message) => return unprocessable(world, &message),
        };
        let n = world.next_number();
        let (ipv4, ipv6) = world.next_addresses();
        let inst = SimInstance {
            id: (FIRST_ID + n).to_string(),
            label: name,
            region,
            plan: body.get("size").and_then(Value::as_str).unwrap_or_default().to_owned(),
            image: image_id.to_string(),
            tags: body
                .get("tags")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect())
                .unwrap_or_default(),
            ipv4,
            ipv6,
            created_rfc3339: world.now_rfc3339(),
            created: std::time::Instant::now(),
            data: Value::Object(body),
        };
        // The create answer always shows the Droplet as just accepted: `new`, no addresses.
        let rendered = self.render(&inst, Phase::Provisioning);
        world.insert(STORE, inst);
        let action = 39_000_000 + world.next_number();
        SandboxResponse::json(
            202,
            &json!({
                "droplet": rendered,
                "links": { "actions": [{ "id": action, "rel": "create", "href": format!("{PUBLIC_BASE}/actions/{action}") }] },
            }),
        )
    }

    fn list_droplets(&self, req: &SandboxRequest, world: &World) -> SandboxResponse {
        let (tag, name) = (req.query("tag_name"), req.query("name"));
        if tag.is_some() && name.is_some() {
            return unprocessable(world, "tag_name and name cannot be combined.");
        }
        let all: Vec<Value> = world
            .list(STORE)
            .iter()
            .filter(|i| tag.is_none_or(|t| i.tags.iter().any(|x| x == t)))
            .filter(|i| name.is_none_or(|n| i.label.eq_ignore_ascii_case(n)))
            .map(|i| self.render(i, world.phase(i)))
            .collect();
        self.paged(req, world, "/droplets", "droplets", &all, &["tag_name", "name"])
    }

    fn list_images(&self, req: &SandboxRequest, world: &World) -> SandboxResponse {
        let images: &[Value] = match (req.query("type"), req.query("private")) {
            (_, Some("true")) | (Some("application"), _) => &[],
            (None | Some("distribution"), _) => &self.images,
            (Some(_), _) => return unprocessable(world, "type must be `distribution` or `application`."),
        };
        self.paged(req, world, "/images", "images", images, &["type", "private"])
    }
}

/// A Droplet id from the path, when it is a positive integer.
fn droplet_id(segment: &str) -> Option<String> {
    segment.parse::<u64>().ok().filter(|n| *n >= 1).map(|n| n.to_string())
}

impl Dialect for DigitalOceanDialect {
    fn prefix(&self) -> &'static str {
        crate::INFO.sandbox_path
    }

    /// `{"id": "too_many_requests", "message": message}`: the id is the status's reason phrase in snake case, as
    /// DigitalOcean's ids read (`not_found`, `unprocessable_entity`).
    fn error_body(&self, status: u16, message: &str) -> Value {
        let id = prov_sandbox::reason_phrase(status).to_ascii_lowercase().replace([' ', '-'], "_");
        json!({ "id": id, "message": message })
    }

    fn handle(&self, req: &SandboxRequest, world: &World) -> SandboxResponse {
        if !req.has_bearer() {
            return error(world, 401, "unauthorized", "Unable to authenticate you.");
        }
        match (req.method.as_str(), req.segments().as_slice()) {
            ("GET", ["regions"]) => self.paged(req, world, "/regions", "regions", &self.regions, &[]),
            ("GET", ["sizes"]) => self.paged(req, world, "/sizes", "sizes", &self.sizes, &[]),
            ("GET", ["images"]) => self.list_images(req, world),
            ("GET", ["droplets"]) => self.list_droplets(req, world),
            ("GET", ["droplets", id]) => match droplet_id(id).and_then(|id| world.get(STORE, &id)) {
                Some(i) => SandboxResponse::json(200, &json!({ "droplet": self.render(&i, world.phase(&i)) })),
                None => not_found(world),
            },
            ("POST", ["droplets"]) => self.create(req, world),
            ("DELETE", ["droplets", id]) => match droplet_id(id) {
                Some(id) if world.remove(STORE, &id) => SandboxResponse::empty(204),
                _ => not_found(world),
            },
            ("DELETE", ["droplets"]) => match req.query("tag_name").filter(|t| !t.is_empty()) {
                Some(tag) => {
                    for i in world.list(STORE).iter().filter(|i| i.tags.iter().any(|x| x == tag)) {
                        world.remove(STORE, &i.id);
                    }
                    SandboxResponse::empty(204)
                }
                None => unprocessable(world, "tag_name is required to delete Droplets by tag."),
            },
            (_, ["regions" | "sizes" | "images" | "droplets"] | ["droplets", _]) => {
                error(world, 405, "method_not_allowed", "Method not allowed.")
            }
            _ => not_found(world),
        }
    }
}

/// The dialect for [`crate::REGISTRATION`]: `Some(n)` grows the image list to `n` images.
pub fn dialect(image_count: Option<usize>) -> Arc<dyn Dialect> {
    match image_count {
        Some(n) => DigitalOceanDialect::new().with_image_count(n).shared(),
        None => DigitalOceanDialect::new().shared(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_faults_answer_in_this_dialects_own_error_shape() {
        let body = DigitalOceanDialect::new().error_body(429, "Too Many Requests (sandbox fault)");
        assert_eq!(body, json!({"id": "too_many_requests", "message": "Too Many Requests (sandbox fault)"}));
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let parsed = (crate::INFO.parse_error)(429, &bytes);
        assert_eq!(parsed.code.as_deref(), Some("too_many_requests"));
        assert_eq!(parsed.message, "Too Many Requests (sandbox fault)", "the client's own parser reads it");
    }
    use std::time::Duration;

    fn req(method: &str, path: &str, query: &[(&str, &str)], body: Option<Value>) -> SandboxRequest {
        SandboxRequest {
            method: method.into(),
            path: path.into(),
            query: query.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            headers: vec![("authorization".into(), "Bearer sandbox-token".into())],
            body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
        }
    }

    fn answer(r: &SandboxResponse) -> Value {
        serde_json::from_slice(&r.body).unwrap_or(Value::Null)
    }

    fn good_body() -> Value {
        json!({"name": "web-1", "region": "sgp1", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64", "ipv6": true, "tags": ["prov"]})
    }

    #[test]
    fn every_route_needs_a_bearer_and_the_401_carries_a_request_id() {
        let (d, world) = (DigitalOceanDialect::new(), World::new(Duration::ZERO));
        for (method, path) in [
            ("GET", "/regions"),
            ("GET", "/sizes"),
            ("GET", "/images"),
            ("GET", "/droplets/1"),
            ("POST", "/droplets"),
            ("GET", "/nope"),
        ] {
            let mut r = req(method, path, &[], None);
            r.headers.clear();
            let resp = d.handle(&r, &world);
            let v = answer(&resp);
            assert_eq!((resp.status, v["id"].as_str()), (401, Some("unauthorized")), "{method} {path}");
            assert!(v["request_id"].as_str().is_some_and(|id| id.len() == 36), "{v}");
        }
    }

    #[test]
    fn lists_default_to_20_per_page_with_full_links_on_digitaloceans_host() {
        let (d, world) = (DigitalOceanDialect::new(), World::new(Duration::ZERO));
        let v = answer(&d.handle(&req("GET", "/sizes", &[], None), &world));
        assert_eq!(v["sizes"].as_array().map(Vec::len), Some(20));
        assert_eq!(v["meta"]["total"], json!(59));
        assert_eq!(v["links"]["pages"]["next"], json!(format!("{PUBLIC_BASE}/sizes?page=2&per_page=20")));
        assert_eq!(v["links"]["pages"]["last"], json!(format!("{PUBLIC_BASE}/sizes?page=3&per_page=20")));
        assert!(v["links"]["pages"].get("prev").is_none());
        let v = answer(&d.handle(&req("GET", "/sizes", &[("page", "3"), ("per_page", "20")], None), &world));
        assert_eq!(v["sizes"].as_array().map(Vec::len), Some(19));
        assert_eq!(v["links"]["pages"]["prev"], json!(format!("{PUBLIC_BASE}/sizes?page=2&per_page=20")));
        assert!(v["links"]["pages"].get("next").is_none());
    }

    #[test]
    fn per_page_above_200_is_capped_and_short_lists_have_empty_links() {
        let d = DigitalOceanDialect::new().with_image_count(450);
        let world = World::new(Duration::ZERO);
        let v =
            answer(&d.handle(&req("GET", "/images", &[("per_page", "1000"), ("type", "distribution")], None), &world));
        assert_eq!(v["images"].as_array().map(Vec::len), Some(200));
        assert_eq!(
            v["links"]["pages"]["next"],
            json!(format!("{PUBLIC_BASE}/images?page=2&per_page=200&type=distribution"))
        );
        let v = answer(&d.handle(&req("GET", "/regions", &[("per_page", "200")], None), &world));
        assert_eq!((v["links"].clone(), v["meta"]["total"].clone()), (json!({}), json!(15)));
        let r = d.handle(&req("GET", "/regions", &[("page", "0")], None), &world);
        assert_eq!(r.status, 422);
    }

    /// Makes the stored Droplet `id` look `age` old, so its phase can be checked without sleeping.
    fn make_old(world: &World, id: &str, age: Duration) {
        let Some(mut inst) = world.get(STORE, id) else { panic!("no Droplet {id}") };
        inst.created = std::time::Instant::now().checked_sub(age).unwrap_or(inst.created);
        world.remove(STORE, id);
        world.insert(STORE, inst);
    }

    #[test]
    fn a_droplet_is_new_then_addressed_then_active() {
        let (d, world) = (DigitalOceanDialect::new(), World::new(Duration::from_secs(10)));
        let r = d.handle(&req("POST", "/droplets", &[], Some(good_body())), &world);
        let v = answer(&r);
        assert_eq!(r.status, 202, "{v}");
        assert_eq!(
            (v["droplet"]["status"].as_str(), v["droplet"]["networks"]["v4"].as_array().map(Vec::len)),
            (Some("new"), Some(0))
        );
        assert_eq!(v["links"]["actions"][0]["rel"], json!("create"));
        assert!(v["links"]["actions"][0]["href"].as_str().is_some_and(|h| h.starts_with(PUBLIC_BASE)));
        assert_eq!(v["droplet"]["region"]["slug"], json!("sgp1"));
        assert_eq!(v["droplet"]["size"]["slug"], json!("s-1vcpu-1gb"));
        assert_eq!(v["droplet"]["image"]["id"], json!(160232537));
        let id = v["droplet"]["id"].as_u64().unwrap_or(0);
        assert!(id > FIRST_ID);
        let get = || answer(&d.handle(&req("GET", &format!("/droplets/{id}"), &[], None), &world));
        assert_eq!(get()["droplet"]["networks"]["v4"], json!([]), "still provisioning");
        make_old(&world, &id.to_string(), Duration::from_secs(6));
        let v = get();
        assert_eq!(v["droplet"]["status"], json!("new"));
        assert_eq!(v["droplet"]["networks"]["v4"][0]["type"], json!("private"));
        assert_eq!(v["droplet"]["networks"]["v4"][1]["type"], json!("public"));
        assert_eq!(v["droplet"]["networks"]["v6"][0]["type"], json!("public"));
        make_old(&world, &id.to_string(), Duration::from_secs(11));
        assert_eq!(get()["droplet"]["status"], json!("active"));
    }

    #[test]
    fn bad_create_bodies_are_422_with_digitaloceans_error_shape() {
        let (d, world) = (DigitalOceanDialect::new(), World::new(Duration::ZERO));
        let with = |k: &str, v: Value| {
            let mut b = good_body();
            b[k] = v;
            b
        };
        let without = |k: &str| {
            let mut b = good_body();
            b.as_object_mut().map(|o| o.remove(k));
            b
        };
        for (body, needle) in [
            (without("name"), "Name is required"),
            (without("size"), "Size is required"),
            (without("image"), "Image is required"),
            (with("name", json!("web_1")), "valid hostname characters"),
            (with("size", json!("s-99vcpu")), "invalid size"),
            (with("image", json!("plan9")), "invalid image"),
            (with("region", json!("mars1")), "invalid region"),
            (with("region", json!("nyc2")), "not available"),
            (with("ipv6", json!("yes")), "ipv6 must be a boolean"),
            (with("backups", json!("enabled")), "backups must be a boolean"),
            (with("tags", json!("prov")), "tags must be an array"),
            (with("ssh_keys", json!(["ssh-ed25519 AAAA me"])), "fingerprints"),
            (with("user_data", json!("x".repeat(MAX_USER_DATA_BYTES + 1))), "64 KiB"),
            (with("user_data", json!(5)), "user_data must be a string"),
        ] {
            let r = d.handle(&req("POST", "/droplets", &[], Some(body.clone())), &world);
            let v = answer(&r);
            assert_eq!((r.status, v["id"].as_str()), (422, Some("unprocessable_entity")), "{body}: {v}");
            assert!(v["message"].as_str().is_some_and(|m| m.contains(needle)), "{needle}: {v}");
            assert!(v["request_id"].is_string());
        }
        assert!(world.list(STORE).is_empty());
    }

    #[test]
    fn integer_images_and_a_missing_region_are_accepted() {
        let (d, world) = (DigitalOceanDialect::new(), World::new(Duration::ZERO));
        let mut body = good_body();
        body["image"] = json!(135513620);
        body.as_object_mut().map(|o| o.remove("region"));
        let r = d.handle(&req("POST", "/droplets", &[], Some(body)), &world);
        let v = answer(&r);
        assert_eq!(r.status, 202, "{v}");
        assert_eq!(v["droplet"]["image"]["slug"], json!("debian-12-x64"));
        assert!(v["droplet"]["region"]["slug"].is_string());
    }

    #[test]
    fn droplet_filters_and_deletes() {
        let (d, world) = (DigitalOceanDialect::new(), World::new(Duration::ZERO));
        for (name, tag) in [("a-1", "blue"), ("b-1", "green"), ("B-2", "green")] {
            let mut body = good_body();
            body["name"] = json!(name);
            body["tags"] = json!([tag]);
            assert_eq!(d.handle(&req("POST", "/droplets", &[], Some(body)), &world).status, 202);
        }
        let count = |q: &[(&str, &str)]| {
            answer(&d.handle(&req("GET", "/droplets", q, None), &world))["droplets"].as_array().map(Vec::len)
        };
        assert_eq!(
            (count(&[]), count(&[("tag_name", "green")]), count(&[("name", "a-1")]), count(&[("name", "b-1")])),
            (Some(3), Some(2), Some(1), Some(1))
        );
        assert_eq!(d.handle(&req("GET", "/droplets", &[("tag_name", "x"), ("name", "y")], None), &world).status, 422);
        assert_eq!(d.handle(&req("GET", "/droplets/abc", &[], None), &world).status, 404);
        assert_eq!(d.handle(&req("DELETE", "/droplets", &[("tag_name", "green")], None), &world).status, 204);
        assert_eq!(count(&[]), Some(1));
        let id = world.list(STORE).first().map(|i| i.id.clone()).unwrap_or_default();
        assert_eq!(d.handle(&req("DELETE", &format!("/droplets/{id}"), &[], None), &world).status, 204);
        let r = d.handle(&req("DELETE", &format!("/droplets/{id}"), &[], None), &world);
        assert_eq!((r.status, answer(&r)["id"].clone()), (404, json!("not_found")));
    }

    #[test]
    fn images_honour_the_type_filter() {
        let (d, world) = (DigitalOceanDialect::new(), World::new(Duration::ZERO));
        let count =
            |q: &[(&str, &str)]| answer(&d.handle(&req("GET", "/images", q, None), &world))["meta"]["total"].clone();
        assert_eq!(
            (count(&[("type", "distribution")]), count(&[("type", "application")]), count(&[])),
            (json!(33), json!(0), json!(33))
        );
        assert_eq!(d.handle(&req("GET", "/images", &[("type", "bogus")], None), &world).status, 422);
    }
}
