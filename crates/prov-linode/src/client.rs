//! The Linode client: the seven operations over prov-core's HTTP chokepoint, `page`/`page_size` pagination, and the
//! create body mapping (docs/providers/linode.md §6: `type`, `root_pass` generated when not given, raw
//! `authorized_keys`, `metadata.user_data` base64).

use base64::Engine;
use prov_core::http::{Page, Request};
use prov_core::provider::{Created, Deleted, Operation, ProviderInfo};
use prov_core::secret::generate_password;
use prov_core::{ClientSettings, CreateSpec, Error, Http, Image, Instance, Provider, Region, Result, Size};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::api;

/// Largest page Linode serves.
const PAGE_SIZE: &str = "500";

/// Length of a root password prov generates.
const GENERATED_PASSWORD_LEN: usize = 32;

/// What a dry run shows as `root_pass` when prov would generate the password at apply time.
pub const PASSWORD_PLACEHOLDER: &str = "[generated at apply]";

/// A Linode API client.
#[derive(Debug)]
pub struct Linode {
    http: Http,
}

impl Linode {
    /// A client with `settings`; checks the base URL, sends nothing.
    pub fn new(settings: &ClientSettings) -> Result<Self> {
        Ok(Self { http: Http::new(&crate::INFO, settings)?.with_limits(crate::RATE_LIMITS) })
    }

    /// Every page of a collection at `path`, following `page` while `page < pages`.
    /// Each page is converted as it arrives, so raw payloads never pile up (peak memory of long lists).
    fn list<T: DeserializeOwned, U: From<T>>(&self, first: Request) -> Result<Vec<U>> {
        let op = first.operation;
        let first = first.query("page", "1").query("page_size", PAGE_SIZE);
        self.http.paginate(&first, |body| {
            let list: api::List<T> = self.http.decode(op, body)?;
            let next = list.next_page().map(|n| vec![("page".to_owned(), n.to_string())]);
            let total = list.results;
            Ok(Page::new(list.data.into_iter().map(U::from).collect(), next).with_total(total))
        })
    }
}

/// The JSON body of `POST /linode/instances` for `spec`, with `root_pass` as given. Only keys that are set are
/// sent.
pub(crate) fn create_body(spec: &CreateSpec, root_pass: Option<&str>) -> Value {
    let mut body = json!({
        "region": spec.region,
        "type": spec.plan,
    });
    if !spec.image.is_empty() {
        body["image"] = json!(spec.image);
    }
    if !spec.label.is_empty() {
        body["label"] = json!(spec.label);
    }
    if let Some(pw) = root_pass {
        body["root_pass"] = json!(pw);
    }
    if !spec.ssh_keys.is_empty() {
        body["authorized_keys"] = json!(spec.ssh_keys.iter().map(|k| k.trim()).collect::<Vec<_>>());
    }
    if !spec.tags.is_empty() {
        body["tags"] = json!(spec.tags);
    }
    if let Some(b) = spec.backups {
        body["backups_enabled"] = json!(b);
    }
    if let Some(p) = spec.private_ip {
        body["private_ip"] = json!(p);
    }
    if let Some(ud) = &spec.user_data {
        body["metadata"] = json!({ "user_data": base64::engine::general_purpose::STANDARD.encode(ud.expose()) });
    }
    body
}

/// True when Linode needs a `root_pass` for `spec` (it does whenever an image is given) and none was set, so
/// prov must generate one.
fn needs_generated_password(spec: &CreateSpec) -> bool {
    spec.root_password.is_none() && !spec.image.is_empty()
}

fn create_request_with(spec: &CreateSpec, root_pass: Option<&str>) -> Request {
    Request::post(Operation::CreateInstance, "/linode/instances", create_body(spec, root_pass))
}

/// The path of one instance; the id must be a positive integer, checked before anything is sent.
fn instance_path(id: &str) -> Result<String> {
    let digits = !id.is_empty() && id.len() <= 19 && id.bytes().all(|b| b.is_ascii_digit());
    match id.parse::<u64>() {
        Ok(n) if digits && n > 0 => Ok(format!("/linode/instances/{n}")),
        _ => Err(Error::InvalidInput {
            provider: "linode",
            message: format!("`{id}` is not a Linode instance id (a positive integer such as 45501392)"),
        }),
    }
}

impl Provider for Linode {
    fn info(&self) -> &'static ProviderInfo {
        &crate::INFO
    }

    fn list_regions(&self) -> Result<Vec<Region>> {
        self.list::<api::Region, _>(Request::get(Operation::ListRegions, "/regions"))
    }

    fn list_sizes(&self) -> Result<Vec<Size>> {
        self.list::<api::Type, _>(Request::get(Operation::ListSizes, "/linode/types"))
    }

    fn list_images(&self) -> Result<Vec<Image>> {
        self.list::<api::Image, _>(Request::get(Operation::ListImages, "/images"))
    }

    fn list_instances(&self) -> Result<Vec<Instance>> {
        self.list::<api::Instance, _>(Request::get(Operation::ListInstances, "/linode/instances"))
    }

    /// Server-side filter on the tag with `X-Filter` (docs/providers/linode.md §8), then the label.
    fn find_instances(&self, label: &str, tag: &str) -> Result<Vec<Instance>> {
        let filter = serde_json::json!({ "tags": tag }).to_string();
        let req = Request::get(Operation::ListInstances, "/linode/instances").header("X-Filter", filter);
        let items: Vec<Instance> = self.list::<api::Instance, _>(req)?;
        Ok(items.into_iter().filter(|i| i.label == label && i.has_tag(tag)).collect())
    }

    fn get_instance(&self, id: &str) -> Result<Instance> {
        let req = Request::get(Operation::GetInstance, instance_path(id)?);
        Ok(self.http.get_json::<api::Instance>(&req)?.into())
    }

    fn create_instance(&self, spec: &CreateSpec) -> Result<Created> {
        // Check the token before generating a password that would never be used.
        self.http.require_token(Operation::CreateInstance)?;
        let generated = needs_generated_password(spec).then(|| generate_password(GENERATED_PASSWORD_LEN));
        let root_pass = spec.root_password.as_ref().or(generated.as_ref()).map(|s| s.expose());
        let req = create_request_with(spec, root_pass);
        let resp = self.http.send(&req)?;
        let instance: api::Instance = self.http.decode(req.operation, &resp.body)?;
        Ok(Created { instance: instance.into(), generated_password: generated })
    }

    fn delete_instance(&self, id: &str) -> Result<Deleted> {
        self.http.delete(&Request::delete(Operation::DeleteInstance, instance_path(id)?))
    }

    fn create_request(&self, spec: &CreateSpec) -> Request {
        let placeholder = needs_generated_password(spec).then_some(PASSWORD_PLACEHOLDER);
        create_request_with(spec, spec.root_password.as_ref().map(|s| s.expose()).or(placeholder))
    }

    fn http(&self) -> &Http {
        &self.http
    }
}

#[cfg(test)]
mod tests {
    use prov_core::Secret;

    use super::*;
    use crate::tests::spec;

    fn client() -> Linode {
        Linode::new(&ClientSettings::default()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn only_set_keys_are_sent() {
        let body = create_body(&spec(), Some("pw-Secret-123"));
        assert_eq!(
            body,
            json!({"region":"ap-southeast","type":"g6-nanode-1","image":"linode/debian12","label":"web-1","root_pass":"pw-Secret-123"})
        );
    }

    #[test]
    fn every_optional_key_maps_to_linodes_name() {
        let s = CreateSpec {
            backups: Some(true),
            private_ip: Some(false),
            tags: vec!["a".into(), "b".into()],
            ssh_keys: vec![" ssh-ed25519 AAAA me@host\n".into()],
            user_data: Some(Secret::new("#cloud-config\n")),
            root_password: Some(Secret::new("Given-Pass-77")),
            ..spec()
        };
        let body = client().create_request(&s).body.unwrap_or_default();
        assert_eq!(body["backups_enabled"], json!(true));
        assert_eq!(body["private_ip"], json!(false));
        assert_eq!(body["tags"], json!(["a", "b"]));
        assert_eq!(body["authorized_keys"], json!(["ssh-ed25519 AAAA me@host"]));
        assert_eq!(body["metadata"], json!({"user_data": "I2Nsb3VkLWNvbmZpZwo="}));
        assert_eq!(body["root_pass"], json!("Given-Pass-77"));
    }

    #[test]
    fn a_dry_run_shows_a_placeholder_not_a_password() {
        let req = client().create_request(&spec());
        assert_eq!(req.path, "/linode/instances");
        assert_eq!(req.body.as_ref().map(|b| b["root_pass"].clone()), Some(json!(PASSWORD_PLACEHOLDER)));
        let no_image = client().create_request(&CreateSpec { image: String::new(), ..spec() });
        assert!(no_image.body.is_some_and(|b| b.get("root_pass").is_none() && b.get("image").is_none()));
    }

    #[test]
    fn ids_must_be_positive_integers() {
        assert_eq!(instance_path("45501392").ok().as_deref(), Some("/linode/instances/45501392"));
        for bad in ["abc", "", "0", "-1", "+5", "1.5", "12 3", "99999999999999999999", "../regions"] {
            assert!(matches!(instance_path(bad), Err(Error::InvalidInput { .. })), "{bad}");
        }
    }
}
