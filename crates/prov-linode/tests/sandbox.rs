//! The Linode client against the Linode sandbox dialect over real loopback HTTP: paging, the create → ready life
//! cycle, the generated root password, errors (Linode's 400 and Prism's 422), and that nothing is sent for input
//! that cannot be right.

#![cfg(feature = "sandbox")]

use std::sync::Arc;
use std::time::Duration;

use prov_core::provider::Deleted;
use prov_core::wait::{WaitOptions, wait_for};
use prov_core::{ClientSettings, CreateSpec, Error, InstanceStatus, ManualClock, Provider, Secret, SystemClock};
use prov_linode::Linode;
use prov_linode::sandbox::LinodeDialect;
use prov_sandbox::{Dialect, Sandbox, SandboxOptions, SandboxRequest, SandboxResponse, World};
use serde_json::{Value, json};

fn start_with(dialect: Arc<dyn Dialect>, boot: Duration) -> Sandbox {
    Sandbox::start("127.0.0.1:0", vec![dialect], SandboxOptions { boot, ..SandboxOptions::default() })
        .unwrap_or_else(|e| panic!("sandbox: {e}"))
}

fn start(dialect: LinodeDialect, boot: Duration) -> Sandbox {
    start_with(dialect.shared(), boot)
}

fn client(sb: &Sandbox, token: Option<&str>) -> Linode {
    let settings = ClientSettings {
        base_url: Some(sb.base_url(prov_linode::INFO.sandbox_path)),
        token: token.map(Secret::new),
        clock: Arc::new(ManualClock::new()),
        ..ClientSettings::default()
    };
    Linode::new(&settings).unwrap_or_else(|e| panic!("client: {e}"))
}

fn spec(label: &str) -> CreateSpec {
    CreateSpec {
        label: label.into(),
        region: "ap-southeast".into(),
        plan: "g6-nanode-1".into(),
        image: "linode/debian12".into(),
        backups: Some(false),
        private_ip: Some(true),
        tags: vec!["web".into()],
        ssh_keys: vec!["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests me@host".into()],
        user_data: Some(Secret::new("#cloud-config\n")),
        ..CreateSpec::default()
    }
}

fn fixture_count(text: &str) -> usize {
    serde_json::from_str::<Value>(text).ok().and_then(|v| v["data"].as_array().map(Vec::len)).unwrap_or(0)
}

fn gets_of(sb: &Sandbox, suffix: &str) -> usize {
    sb.world().request_log().iter().filter(|(m, p)| m == "GET" && p.ends_with(suffix)).count()
}

#[test]
fn catalogue_lists_return_every_fixture_item_without_a_token() {
    let sb = start(LinodeDialect::new(), Duration::ZERO);
    let l = client(&sb, None);
    let regions = l.list_regions().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(regions.len(), fixture_count(include_str!("../../../fixtures/linode/regions.json")));
    assert!(regions.iter().any(|r| r.id == "ap-southeast" && r.country == "AU"));
    let plans = l.list_sizes().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plans.len(), fixture_count(include_str!("../../../fixtures/linode/types.json")));
    let nanode = plans.iter().find(|p| p.id == "g6-nanode-1");
    assert_eq!(
        nanode.map(|p| (p.vcpus, p.memory_mb, p.disk_gb, p.transfer_gb, p.monthly_price.to_string())),
        Some((1, 1024, 25, 1000, "5.00 USD".to_owned()))
    );
    let regional = |r: &str| nanode.map(|p| p.monthly_price_in(r).to_string());
    assert_eq!(regional("id-cgk").as_deref(), Some("6.00 USD"), "Jakarta has its own price (region_prices)");
    assert_eq!(regional("us-east").as_deref(), Some("5.00 USD"), "elsewhere the base price");
    let images = l.list_images().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(images.len(), fixture_count(include_str!("../../../fixtures/linode/images.json")));
    assert!(images.iter().any(|i| i.id == "linode/debian12" && i.family == "debian"));
}

#[test]
fn paging_follows_page_numbers_across_three_pages() {
    let sb = start(LinodeDialect::new().with_image_count(1_201), Duration::ZERO);
    let images = client(&sb, None).list_images().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(images.len(), 1_201);
    let mut ids: Vec<_> = images.iter().map(|i| i.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1_201, "no item twice");
    assert_eq!(gets_of(&sb, "/images"), 3, "1,201 items at 500 a page is 3 requests");
}

#[test]
fn create_wait_show_list_delete_agree() {
    let sb = start(LinodeDialect::new(), Duration::from_millis(300));
    let l = client(&sb, Some("sandbox-token"));
    let created = l.create_instance(&spec("web-1")).unwrap_or_else(|e| panic!("create: {e}"));
    assert_eq!(created.instance.status, InstanceStatus::Pending);
    assert_eq!(created.instance.provider_status, "provisioning");
    let ip = created.instance.ipv4.clone();
    assert!(
        ip.as_deref().is_some_and(|a| !a.starts_with("192.168.")),
        "Linode assigns the public IPv4 at once, and the private one is skipped: {ip:?}"
    );
    assert!(l.is_created(&created.instance));
    let opts = WaitOptions {
        timeout: Duration::from_secs(10),
        initial_interval: Duration::from_millis(50),
        ..WaitOptions::default()
    };
    let ready =
        wait_for(&l, created.instance.clone(), &opts, &SystemClock, |_| {}).unwrap_or_else(|e| panic!("wait: {e}"));
    assert_eq!(ready.status, InstanceStatus::Ready);
    assert_eq!(ready.provider_status, "running");
    assert_eq!(ready.ipv4, ip);
    assert!(ready.ipv6.as_deref().is_some_and(|v6| !v6.contains('/')), "{:?}", ready.ipv6);
    assert!(ready.created_at.as_deref().is_some_and(|t| t.ends_with('Z')), "{:?}", ready.created_at);
    assert_eq!(
        (ready.region.as_str(), ready.plan.as_str(), ready.image.as_str()),
        ("ap-southeast", "g6-nanode-1", "linode/debian12")
    );
    assert_eq!(l.get_instance(&ready.id).ok(), Some(ready.clone()));
    assert_eq!(l.list_instances().unwrap_or_default(), vec![ready.clone()]);
    assert_eq!(l.delete_instance(&ready.id).ok(), Some(Deleted::Deleted));
    assert_eq!(l.delete_instance(&ready.id).ok(), Some(Deleted::AlreadyGone));
    assert!(matches!(l.get_instance(&ready.id), Err(Error::Api { status: 404, .. })));
    let posts = sb.world().request_log().iter().filter(|(m, _)| m == "POST").count();
    assert_eq!(posts, 1);
}

#[test]
fn a_generated_password_is_returned_once_and_never_echoed() {
    let sb = start(LinodeDialect::new(), Duration::ZERO);
    let l = client(&sb, Some("sandbox-token"));
    let created = l.create_instance(&spec("web-2")).unwrap_or_else(|e| panic!("create: {e}"));
    let pw = created.generated_password.unwrap_or_else(|| panic!("no generated password"));
    assert_eq!(pw.expose().chars().count(), 32);
    let shown = serde_json::to_string(&created.instance).unwrap_or_default();
    assert!(!shown.contains(pw.expose()), "{shown}");
    let again = l.get_instance(&created.instance.id).unwrap_or_else(|e| panic!("{e}"));
    assert!(!serde_json::to_string(&again).unwrap_or_default().contains(pw.expose()));
    let given = CreateSpec { root_password: Some(Secret::new("Given-Passw0rd-1")), ..spec("web-3") };
    let created = l.create_instance(&given).unwrap_or_else(|e| panic!("create: {e}"));
    assert!(created.generated_password.is_none(), "a given password is not generated again");
    let second = l.create_instance(&spec("web-4")).unwrap_or_else(|e| panic!("create: {e}"));
    assert_ne!(second.generated_password.map(|s| s.expose().to_owned()), Some(pw.expose().to_owned()));
}

#[test]
fn a_weak_root_password_is_refused_with_linodes_field_and_reason() {
    let sb = start(LinodeDialect::new(), Duration::ZERO);
    let l = client(&sb, Some("t"));
    let weak = CreateSpec { root_password: Some(Secret::new("password")), ..spec("web-1") };
    let err = l.create_instance(&weak).err();
    assert!(matches!(&err, Some(Error::Api { status: 400, error, .. }) if error.fields.len() == 1), "{err:?}");
    let msg = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(msg.contains("root_pass: Password does not meet strength requirement"), "{msg}");
    assert_eq!(msg, "linode: create instance failed: HTTP 400: root_pass: Password does not meet strength requirement");
    assert!(sb.world().request_log().iter().all(|(m, _)| m == "POST"));
    assert!(client(&sb, Some("t")).list_instances().unwrap_or_default().is_empty(), "nothing was created");
}

#[test]
fn several_bad_fields_come_back_together() {
    let sb = start(LinodeDialect::new(), Duration::ZERO);
    let bad = CreateSpec { region: "mars-1".into(), plan: "g9-huge".into(), ..spec("web-1") };
    let err = client(&sb, Some("t")).create_instance(&bad).err();
    let Some(Error::Api { status: 400, error, .. }) = err else { panic!("{err:?}") };
    let fields: Vec<_> = error.fields.iter().filter_map(|(f, _)| f.as_deref()).collect();
    assert_eq!(fields, ["region", "type"]);
}

/// A stand-in for the Prism mock: answers every request with its 422 validation example.
struct PrismLike;

impl Dialect for PrismLike {
    fn prefix(&self) -> &'static str {
        prov_linode::INFO.sandbox_path
    }
    fn handle(&self, _req: &SandboxRequest, _world: &World) -> SandboxResponse {
        SandboxResponse::json(
            422,
            &json!({"errors":[{"field":"fieldname","reason":"fieldname must be a valid value"}]}),
        )
    }
    fn error_body(&self, status: u16, message: &str) -> serde_json::Value {
        LinodeDialect::new().error_body(status, message)
    }
}

#[test]
fn prisms_422_validation_answer_parses_like_a_400() {
    let sb = start_with(Arc::new(PrismLike), Duration::ZERO);
    let err = client(&sb, Some("t")).create_instance(&spec("web-1")).err();
    let Some(Error::Api { status: 422, error, .. }) = &err else { panic!("{err:?}") };
    assert_eq!(error.fields, vec![(Some("fieldname".to_owned()), "fieldname must be a valid value".to_owned())]);
    assert_eq!(error.message, "fieldname must be a valid value");
    let msg = err.map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(msg, "linode: create instance failed: HTTP 422: fieldname: fieldname must be a valid value");
    assert_eq!(sb.world().request_log().len(), 1, "a refused create is not retried");
}

#[test]
fn the_instance_list_honours_x_filter_in_the_sandbox() {
    let sb = start(LinodeDialect::new(), Duration::ZERO);
    let l = client(&sb, Some("t"));
    for (label, tag) in [("web-1", "marker-a"), ("web-2", "marker-b")] {
        let s = CreateSpec { tags: vec![tag.into()], ..spec(label) };
        l.create_instance(&s).unwrap_or_else(|e| panic!("create: {e}"));
    }
    let get = |filter: &str| {
        let req = prov_core::http::Request::get(prov_core::provider::Operation::ListInstances, "/linode/instances")
            .header("X-Filter", filter);
        l.http().get_json::<Value>(&req)
    };
    let labels = |v: &Value| v["data"].as_array().map(|a| a.iter().map(|i| i["label"].clone()).collect::<Vec<_>>());
    assert_eq!(get(r#"{"label":"web-2"}"#).ok().as_ref().and_then(labels), Some(vec![json!("web-2")]));
    assert_eq!(get(r#"{"tags":"marker-a"}"#).ok().as_ref().and_then(labels), Some(vec![json!("web-1")]));
    assert!(matches!(get("not json"), Err(Error::Api { status: 400, .. })));
}

#[test]
fn out_of_range_page_sizes_are_refused_like_linode() {
    let sb = start(LinodeDialect::new(), Duration::ZERO);
    let l = client(&sb, None);
    for size in ["24", "501", "x"] {
        let req = prov_core::http::Request::get(prov_core::provider::Operation::ListRegions, "/regions")
            .query("page_size", size);
        let err = l.http().get_json::<Value>(&req).err();
        let Some(Error::Api { status: 400, error, .. }) = err else { panic!("{size}: {err:?}") };
        assert_eq!(error.fields.first().and_then(|(f, _)| f.as_deref()), Some("page_size"));
    }
}

#[test]
fn instance_operations_need_a_token_and_nothing_is_sent_without_one() {
    let sb = start(LinodeDialect::new(), Duration::ZERO);
    let l = client(&sb, None);
    let err = l.list_instances().err();
    assert!(matches!(err, Some(Error::MissingToken { .. })), "{err:?}");
    let err = l.create_instance(&spec("web-1")).err();
    assert!(matches!(err, Some(Error::MissingToken { .. })), "{err:?}");
    let msg = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(msg.contains("LINODE_API_KEY or PROD_LINODE_API_KEY or LINODE_TOKEN or LINODE_CLI_TOKEN"), "{msg}");
    assert!(sb.world().request_log().is_empty());
}

#[test]
fn a_wrong_token_is_a_clear_401() {
    let sb = start(LinodeDialect::new(), Duration::ZERO);
    let err = client(&sb, Some(prov_sandbox::REVOKED_TOKEN)).list_instances().err();
    assert!(matches!(err, Some(Error::Api { status: 401, .. })), "{err:?}");
    let msg = err.as_ref().map(ToString::to_string).unwrap_or_default();
    assert_eq!(msg, "linode: list instances failed: HTTP 401: Invalid Token");
    let err = client(&sb, Some("   ")).list_instances().err();
    assert!(matches!(err, Some(Error::MissingToken { .. })), "a blank token counts as none: {err:?}");
}

#[test]
fn invalid_ids_are_refused_before_any_request() {
    let sb = start(LinodeDialect::new(), Duration::ZERO);
    let l = client(&sb, Some("t"));
    for id in ["abc", "0", "-3", "12/../regions"] {
        assert!(matches!(l.get_instance(id), Err(Error::InvalidInput { .. })), "{id}");
        assert!(matches!(l.delete_instance(id), Err(Error::InvalidInput { .. })), "{id}");
    }
    let msg = l.get_instance("abc").err().map(|e| e.to_string()).unwrap_or_default();
    assert!(msg.contains("`abc` is not a Linode instance id"), "{msg}");
    assert!(sb.world().request_log().is_empty());
    assert!(matches!(l.get_instance("999"), Err(Error::Api { status: 404, .. })), "a well-formed unknown id is a 404");
}

#[test]
fn plain_http_to_a_remote_host_is_refused_before_connecting() {
    let settings = ClientSettings { base_url: Some("http://api.linode.com/v4".into()), ..ClientSettings::default() };
    let err = Linode::new(&settings).err();
    assert!(matches!(err, Some(Error::BadBaseUrl { .. })), "{err:?}");
}
