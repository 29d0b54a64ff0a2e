//! The Vultr client: the seven operations over prov-core's HTTP chokepoint, cursor pagination, and the create
//! body mapping (docs/providers/vultr.md §6: `backups` is a string, `user_data` base64, `sshkey_id` ids).

use base64::Engine;
use prov_core::http::{Page, Request};
use prov_core::provider::{Created, Deleted, Operation, ProviderInfo};
use prov_core::{ClientSettings, CreateSpec, Http, Image, Instance, Provider, Region, Result, Size};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::api;

/// Largest page Vultr serves.
const PER_PAGE: &str = "500";

/// A Vultr API client.
#[derive(Debug)]
pub struct Vultr {
    http: Http,
}

impl Vultr {
    /// A client with `settings`; checks the base URL, sends nothing.
    pub fn new(settings: &ClientSettings) -> Result<Self> {
        Ok(Self { http: Http::new(&crate::INFO, settings)?.with_limits(crate::RATE_LIMITS) })
    }

    fn list<L: DeserializeOwned, T>(
        &self,
        op: Operation,
        path: &str,
        split: impl Fn(L) -> (Vec<T>, api::Meta),
    ) -> Result<Vec<T>> {
        self.list_from(Request::get(op, path), split)
    }

    fn list_from<L: DeserializeOwned, T>(
        &self,
        first: Request,
        split: impl Fn(L) -> (Vec<T>, api::Meta),
    ) -> Result<Vec<T>> {
        let op = first.operation;
        let first = first.query("per_page", PER_PAGE);
        self.http.paginate(&first, |body| {
            let (items, meta) = split(self.http.decode::<L>(op, body)?);
            let next = Some(meta.links.next).filter(|c| !c.is_empty()).map(|c| vec![("cursor".to_owned(), c)]);
            Ok(Page::new(items, next).with_total(meta.total))
        })
    }
}

/// The JSON body of `POST /instances`.
pub fn create_body(spec: &CreateSpec) -> Value {
    let mut body = json!({
        "region": spec.region,
        "plan": spec.plan,
        "label": spec.label,
    });
    // `validate` guarantees a numeric image; fall back to sending the text so the API names the problem.
    body["os_id"] = spec.image.parse::<u64>().map_or_else(|_| json!(spec.image), |n| json!(n));
    if let Some(h) = &spec.hostname {
        body["hostname"] = json!(h);
    }
    if !spec.tags.is_empty() {
        body["tags"] = json!(spec.tags);
    }
    if !spec.ssh_keys.is_empty() {
        body["sshkey_id"] = json!(spec.ssh_keys);
    }
    if let Some(v6) = spec.ipv6 {
        body["enable_ipv6"] = json!(v6);
    }
    if let Some(b) = spec.backups {
        body["backups"] = json!(if b { "enabled" } else { "disabled" });
    }
    if let Some(ud) = &spec.user_data {
        body["user_data"] = json!(base64::engine::general_purpose::STANDARD.encode(ud.expose()));
    }
    body
}

fn instance_path(id: &str) -> Result<String> {
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(prov_core::Error::InvalidInput {
            provider: "vultr",
            message: format!("`{id}` is not a Vultr instance id (a UUID)"),
        });
    }
    Ok(format!("/instances/{id}"))
}

impl Provider for Vultr {
    fn info(&self) -> &'static ProviderInfo {
        &crate::INFO
    }

    fn list_regions(&self) -> Result<Vec<Region>> {
        // Converted page by page, so raw payloads never pile up (peak memory of long lists).
        let items = self.list(Operation::ListRegions, "/regions", |l: api::RegionList| {
            (l.regions.into_iter().map(Into::into).collect(), l.meta)
        })?;
        Ok(items)
    }

    fn list_sizes(&self) -> Result<Vec<Size>> {
        // Converted page by page, so raw payloads never pile up (peak memory of long lists).
        let items = self.list(Operation::ListSizes, "/plans", |l: api::PlanList| {
            (l.plans.into_iter().map(Into::into).collect(), l.meta)
        })?;
        Ok(items)
    }

    fn list_images(&self) -> Result<Vec<Image>> {
        // Converted page by page, so raw payloads never pile up (peak memory of long lists).
        let items = self.list(Operation::ListImages, "/os", |l: api::OsList| {
            (l.os.into_iter().map(Into::into).collect(), l.meta)
        })?;
        Ok(items)
    }

    fn list_instances(&self) -> Result<Vec<Instance>> {
        // Converted page by page, so raw payloads never pile up (peak memory of long lists).
        let items = self.list(Operation::ListInstances, "/instances", |l: api::InstanceList| {
            (l.instances.into_iter().map(Into::into).collect(), l.meta)
        })?;
        Ok(items)
    }

    /// Server-side filter `?label=` (docs/providers/vultr.md §8; labels are not unique), then the tag.
    fn find_instances(&self, label: &str, tag: &str) -> Result<Vec<Instance>> {
        let first = Request::get(Operation::ListInstances, "/instances").query("label", label);
        let items = self.list_from(first, |l: api::InstanceList| (l.instances, l.meta))?;
        Ok(items.into_iter().map(Instance::from).filter(|i| i.label == label && i.has_tag(tag)).collect())
    }

    fn get_instance(&self, id: &str) -> Result<Instance> {
        let req = Request::get(Operation::GetInstance, instance_path(id)?);
        Ok(self.http.get_json::<api::InstanceEnvelope>(&req)?.instance.into())
    }

    fn create_instance(&self, spec: &CreateSpec) -> Result<Created> {
        let req = self.create_request(spec);
        let resp = self.http.send(&req)?;
        let env: api::InstanceEnvelope = self.http.decode(req.operation, &resp.body)?;
        Ok(Created { instance: env.instance.into(), generated_password: None })
    }

    fn delete_instance(&self, id: &str) -> Result<Deleted> {
        self.http.delete(&Request::delete(Operation::DeleteInstance, instance_path(id)?))
    }

    fn create_request(&self, spec: &CreateSpec) -> Request {
        Request::post(Operation::CreateInstance, "/instances", create_body(spec))
    }

    fn http(&self) -> &Http {
        &self.http
    }
}
