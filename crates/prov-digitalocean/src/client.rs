//! The DigitalOcean client: the seven operations over prov-core's HTTP chokepoint, page-number pagination that takes
//! only the `page` parameter of `links.pages.next` (never its host), and the create body mapping
//! (docs/providers/digitalocean.md §6: `backups` is a bool, `user_data` plain text, `ssh_keys` ids or fingerprints,
//! `image` slug or integer id).

use prov_core::http::{Page, Request};
use prov_core::provider::{Created, Deleted, Operation, ProviderInfo};
use prov_core::{ClientSettings, CreateSpec, Error, Http, Image, Instance, Provider, Region, Result, Size};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::api;

/// Largest page DigitalOcean serves (its default is 20).
const PER_PAGE: &str = "200";

/// A DigitalOcean API client.
#[derive(Debug)]
pub struct DigitalOcean {
    http: Http,
}

impl DigitalOcean {
    /// A client with `settings`; checks the base URL, sends nothing.
    pub fn new(settings: &ClientSettings) -> Result<Self> {
        Ok(Self { http: Http::new(&crate::INFO, settings)?.with_limits(crate::RATE_LIMITS) })
    }

    /// Every item of a paged list. The next page is asked for by number against our own base URL: the host in
    /// `links.pages.next` is never contacted.
    fn list<L: DeserializeOwned, T>(
        &self,
        first: Request,
        split: impl Fn(L) -> (Vec<T>, api::Links, Option<u64>),
    ) -> Result<Vec<T>> {
        let op = first.operation;
        let first = first.query("page", "1").query("per_page", PER_PAGE);
        let mut current: u64 = 1;
        self.http.paginate(&first, |body| {
            let (items, links, total) = split(self.http.decode::<L>(op, body)?);
            let Some(url) = links.pages.next.filter(|u| !u.trim().is_empty()) else {
                return Ok(Page::new(items, None).with_total(total));
            };
            let paging = |message: String| Error::Paging { provider: crate::INFO.name, operation: op, message };
            let Some(n) = api::page_number(&url) else {
                return Err(paging(format!("the next-page link `{url}` has no page number")));
            };
            if n <= current {
                return Err(paging(format!("the next-page link goes back to page {n} after page {current}")));
            }
            current = n;
            Ok(Page::new(items, Some(vec![("page".to_owned(), n.to_string())])).with_total(total))
        })
    }
}

/// `s` as a JSON integer when it is all digits (and fits), else as a string.
fn integer_or_string(s: &str) -> Value {
    match s.parse::<u64>() {
        Ok(n) if s.chars().all(|c| c.is_ascii_digit()) => json!(n),
        _ => json!(s),
    }
}

/// The JSON body of `POST /droplets` (single-Droplet form). `region` is always sent, so the Droplet never lands
/// in a region DigitalOcean picks; optional keys only when set.
pub fn create_body(spec: &CreateSpec) -> Value {
    let mut body = json!({
        "name": spec.label,
        "region": spec.region,
        "size": spec.plan,
        "image": integer_or_string(&spec.image),
    });
    if !spec.ssh_keys.is_empty() {
        body["ssh_keys"] = Value::Array(spec.ssh_keys.iter().map(|k| integer_or_string(k)).collect());
    }
    if let Some(v6) = spec.ipv6 {
        body["ipv6"] = json!(v6);
    }
    if let Some(b) = spec.backups {
        body["backups"] = json!(b);
    }
    if !spec.tags.is_empty() {
        body["tags"] = json!(spec.tags);
    }
    if let Some(ud) = &spec.user_data {
        body["user_data"] = json!(ud.expose());
    }
    if let Some(m) = spec.monitoring {
        body["monitoring"] = json!(m);
    }
    body
}

/// `/droplets/{id}` for a positive integer id; anything else is refused before sending.
fn droplet_path(id: &str) -> Result<String> {
    match id.parse::<u64>() {
        Ok(n) if n >= 1 && id.chars().all(|c| c.is_ascii_digit()) => Ok(format!("/droplets/{n}")),
        _ => Err(Error::InvalidInput {
            provider: crate::INFO.name,
            message: format!("`{id}` is not a DigitalOcean Droplet id (a positive integer)"),
        }),
    }
}

impl Provider for DigitalOcean {
    fn info(&self) -> &'static ProviderInfo {
        &crate::INFO
    }

    fn list_regions(&self) -> Result<Vec<Region>> {
        let first = Request::get(Operation::ListRegions, "/regions");
        // Converted page by page, so raw payloads never pile up (peak memory of long lists).
        let items = self.list(first, |l: api::RegionList| {
            (l.regions.into_iter().map(Into::into).collect(), l.links, l.meta.total)
        })?;
        Ok(items)
    }

    fn list_sizes(&self) -> Result<Vec<Size>> {
        let first = Request::get(Operation::ListSizes, "/sizes");
        // Converted page by page, so raw payloads never pile up (peak memory of long lists).
        let items = self
            .list(first, |l: api::SizeList| (l.sizes.into_iter().map(Into::into).collect(), l.links, l.meta.total))?;
        Ok(items)
    }

    fn list_images(&self) -> Result<Vec<Image>> {
        let first = Request::get(Operation::ListImages, "/images").query("type", "distribution");
        // Converted page by page, so raw payloads never pile up (peak memory of long lists).
        let items = self
            .list(first, |l: api::ImageList| (l.images.into_iter().map(Into::into).collect(), l.links, l.meta.total))?;
        Ok(items)
    }

    fn list_instances(&self) -> Result<Vec<Instance>> {
        let first = Request::get(Operation::ListInstances, "/droplets");
        // Converted page by page, so raw payloads never pile up (peak memory of long lists).
        let items = self.list(first, |l: api::DropletList| {
            (l.droplets.into_iter().map(Into::into).collect(), l.links, l.meta.total)
        })?;
        Ok(items)
    }

    /// Server-side filter `?tag_name=` (docs/providers/digitalocean.md §8; it cannot be combined with `name`), then the
    /// label.
    fn find_instances(&self, label: &str, tag: &str) -> Result<Vec<Instance>> {
        let first = Request::get(Operation::ListInstances, "/droplets").query("tag_name", tag);
        let items = self.list(first, |l: api::DropletList| (l.droplets, l.links, l.meta.total))?;
        Ok(items.into_iter().map(Instance::from).filter(|i| i.label == label && i.has_tag(tag)).collect())
    }

    fn get_instance(&self, id: &str) -> Result<Instance> {
        let req = Request::get(Operation::GetInstance, droplet_path(id)?);
        Ok(self.http.get_json::<api::DropletEnvelope>(&req)?.droplet.into())
    }

    fn create_instance(&self, spec: &CreateSpec) -> Result<Created> {
        let req = self.create_request(spec);
        let resp = self.http.send(&req)?;
        let env: api::DropletEnvelope = self.http.decode(req.operation, &resp.body)?;
        if let Some(action) = env.links.actions.iter().find(|a| a.rel == "create") {
            log::debug!("digitalocean: Droplet {} is being built by action {}", env.droplet.id, action.id);
        }
        // DigitalOcean takes no root password and sets none that it reports, so there is nothing to show.
        Ok(Created { instance: env.droplet.into(), generated_password: None })
    }

    fn delete_instance(&self, id: &str) -> Result<Deleted> {
        self.http.delete(&Request::delete(Operation::DeleteInstance, droplet_path(id)?))
    }

    fn create_request(&self, spec: &CreateSpec) -> Request {
        Request::post(Operation::CreateInstance, "/droplets", create_body(spec))
    }

    fn http(&self) -> &Http {
        &self.http
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prov_core::Secret;

    #[test]
    fn create_body_maps_every_key_the_way_digitalocean_wants() {
        let spec = CreateSpec {
            label: "web-1".into(),
            region: "sgp1".into(),
            plan: "s-1vcpu-1gb".into(),
            image: "160232537".into(),
            ipv6: Some(true),
            backups: Some(false),
            tags: vec!["prov".into()],
            ssh_keys: vec!["512189".into(), "3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa".into()],
            user_data: Some(Secret::new("#cloud-config\nruncmd: [echo hi]\n")),
            monitoring: Some(true),
            ..CreateSpec::default()
        };
        assert_eq!(
            create_body(&spec),
            json!({
                "name": "web-1", "region": "sgp1", "size": "s-1vcpu-1gb", "image": 160232537,
                "ssh_keys": [512189, "3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa"],
                "ipv6": true, "backups": false, "tags": ["prov"],
                "user_data": "#cloud-config\nruncmd: [echo hi]\n", "monitoring": true,
            })
        );
    }

    #[test]
    fn create_body_sends_only_what_is_set_and_slugs_as_strings() {
        let spec = CreateSpec {
            label: "a".into(),
            region: "nyc3".into(),
            plan: "s-1vcpu-1gb".into(),
            image: "debian-12-x64".into(),
            ..CreateSpec::default()
        };
        assert_eq!(
            create_body(&spec),
            json!({"name": "a", "region": "nyc3", "size": "s-1vcpu-1gb", "image": "debian-12-x64"})
        );
    }

    #[test]
    fn droplet_ids_must_be_positive_integers() {
        assert_eq!(droplet_path("3164444").ok().as_deref(), Some("/droplets/3164444"));
        for bad in ["", "0", "abc", "-1", "+5", "12 ", "1/../2", "99999999999999999999999"] {
            assert!(matches!(droplet_path(bad), Err(Error::InvalidInput { .. })), "{bad:?}");
        }
    }
}
