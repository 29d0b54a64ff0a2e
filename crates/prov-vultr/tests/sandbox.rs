//! The Vultr client against the Vultr sandbox dialect over real loopback HTTP: paging, the create → ready life
//! cycle, errors, and that a create POST is sent once.

use std::sync::Arc;
use std::time::Duration;

use prov_core::wait::{WaitOptions, wait_for};
use prov_core::{ClientSettings, CreateSpec, Error, InstanceStatus, ManualClock, Provider, Secret, SystemClock};
use prov_sandbox::{Sandbox, SandboxOptions};
use prov_vultr::Vultr;
use prov_vultr::sandbox::VultrDialect;

fn start(dialect: VultrDialect, boot: Duration) -> Sandbox {
    Sandbox::start("127.0.0.1:0", vec![dialect.shared()], SandboxOptions { boot, ..SandboxOptions::default() })
        .unwrap_or_else(|e| panic!("sandbox: {e}"))
}

fn client(sb: &Sandbox, token: Option<&str>) -> Vultr {
    let settings = ClientSettings {
        base_url: Some(sb.base_url(prov_vultr::INFO.sandbox_path)),
        token: token.map(Secret::new),
        clock: Arc::new(ManualClock::new()),
        ..ClientSettings::default()
    };
    Vultr::new(&settings).unwrap_or_else(|e| panic!("client: {e}"))
}

fn spec(label: &str) -> CreateSpec {
    CreateSpec {
        label: label.into(),
        region: "syd".into(),
        plan: "vc2-1c-1gb".into(),
        image: "2136".into(),
        ipv6: Some(true),
        backups: Some(false),
        tags: vec!["web".into()],
        user_data: Some(Secret::new("#cloud-config\n")),
        ..CreateSpec::default()
    }
}

#[test]
fn catalogue_lists_return_every_fixture_item_without_a_token() {
    let sb = start(VultrDialect::new(), Duration::ZERO);
    let v = client(&sb, None);
    let fixture_count = |text: &str, key: &str| {
        serde_json::from_str::<serde_json::Value>(text).ok().and_then(|v| v[key].as_array().map(Vec::len)).unwrap_or(0)
    };
    assert_eq!(
        v.list_regions().map(|r| r.len()).ok(),
        Some(fixture_count(include_str!("../../../fixtures/vultr/regions.json"), "regions"))
    );
    assert_eq!(
        v.list_sizes().map(|r| r.len()).ok(),
        Some(fixture_count(include_str!("../../../fixtures/vultr/plans.json"), "plans"))
    );
    let images = v.list_images().unwrap_or_default();
    assert_eq!(images.len(), fixture_count(include_str!("../../../fixtures/vultr/os.json"), "os"));
    assert!(images.iter().any(|i| i.id == "2136" && i.family == "debian"));
}

#[test]
fn paging_follows_the_cursor_across_three_pages() {
    let sb = start(VultrDialect::new().with_image_count(1_201), Duration::ZERO);
    let images = client(&sb, None).list_images().unwrap_or_default();
    assert_eq!(images.len(), 1_201);
    let mut ids: Vec<_> = images.iter().map(|i| i.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1_201, "no item twice");
    let gets = sb.world().request_log().iter().filter(|(m, p)| m == "GET" && p.ends_with("/os")).count();
    assert_eq!(gets, 3, "1,201 items at 500 a page is 3 requests");
}

#[test]
fn create_wait_show_list_delete_agree() {
    let sb = start(VultrDialect::new(), Duration::from_millis(300));
    let v = client(&sb, Some("sandbox-token"));
    let created = v.create_instance(&spec("web-1")).unwrap_or_else(|e| panic!("create: {e}"));
    assert_eq!(created.instance.status, InstanceStatus::Pending);
    assert_eq!(created.instance.ipv4, None, "0.0.0.0 is not an address");
    let opts = WaitOptions {
        timeout: Duration::from_secs(10),
        initial_interval: Duration::from_millis(50),
        ..WaitOptions::default()
    };
    let ready =
        wait_for(&v, created.instance.clone(), &opts, &SystemClock, |_| {}).unwrap_or_else(|e| panic!("wait: {e}"));
    assert_eq!(ready.status, InstanceStatus::Ready);
    assert!(ready.ipv4.is_some() && ready.ipv6.is_some());
    assert_eq!(ready.provider_status, "active/running/ok");
    let listed = v.list_instances().unwrap_or_default();
    assert_eq!(listed, vec![ready.clone()]);
    assert_eq!(v.delete_instance(&ready.id).ok(), Some(prov_core::provider::Deleted::Deleted));
    assert_eq!(v.delete_instance(&ready.id).ok(), Some(prov_core::provider::Deleted::AlreadyGone));
    assert!(matches!(v.get_instance(&ready.id), Err(Error::Api { status: 404, .. })));
    let posts = sb.world().request_log().iter().filter(|(m, _)| m == "POST").count();
    assert_eq!(posts, 1);
}

#[test]
fn bad_create_is_refused_with_vultrs_message() {
    let sb = start(VultrDialect::new(), Duration::ZERO);
    let v = client(&sb, Some("t"));
    let err = v.create_instance(&CreateSpec { plan: "vc2-99c-1tb".into(), ..spec("x") }).err();
    let msg = err.map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(msg, "vultr: create instance failed: HTTP 400: Invalid plan chosen");
}

#[test]
fn instance_operations_need_a_token_and_nothing_is_sent_without_one() {
    let sb = start(VultrDialect::new(), Duration::ZERO);
    let err = client(&sb, None).list_instances().err();
    assert!(matches!(err, Some(Error::MissingToken { .. })), "{err:?}");
    assert!(sb.world().request_log().is_empty());
}

#[test]
fn a_wrong_token_is_a_clear_401() {
    let sb = start(VultrDialect::new(), Duration::ZERO);
    let err = client(&sb, Some(prov_sandbox::REVOKED_TOKEN)).list_instances().err();
    let msg = err.as_ref().map(ToString::to_string).unwrap_or_default();
    assert_eq!(msg, "vultr: list instances failed: HTTP 401: Invalid API token");
    let err = client(&sb, Some("   ")).list_instances().err();
    assert!(matches!(err, Some(Error::MissingToken { .. })), "a blank token counts as none: {err:?}");
}

#[test]
fn plain_http_to_a_remote_host_is_refused_before_connecting() {
    let settings = ClientSettings { base_url: Some("http://api.vultr.com/v2".into()), ..ClientSettings::default() };
    let err = Vultr::new(&settings).err();
    assert!(matches!(err, Some(Error::BadBaseUrl { .. })), "{err:?}");
}
