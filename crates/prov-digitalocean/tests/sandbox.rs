//! The DigitalOcean client against the DigitalOcean sandbox dialect over real loopback HTTP: page-number paging
//! that never follows the link host, the create → new → active life cycle, errors with request ids, that a create
//! POST is sent once, and that nothing is sent without a token or with a malformed id.

use std::sync::Arc;
use std::time::Duration;

use prov_core::provider::Deleted;
use prov_core::wait::{WaitLevel, WaitOptions, wait_for};
use prov_core::{ClientSettings, CreateSpec, Error, InstanceStatus, ManualClock, Provider, Secret, SystemClock};
use prov_digitalocean::DigitalOcean;
use prov_digitalocean::sandbox::DigitalOceanDialect;
use prov_sandbox::{Sandbox, SandboxOptions};

const TOKEN: &str = "sandbox-token";

fn start(dialect: DigitalOceanDialect, boot: Duration) -> Sandbox {
    Sandbox::start("127.0.0.1:0", vec![dialect.shared()], SandboxOptions { boot, ..SandboxOptions::default() })
        .unwrap_or_else(|e| panic!("sandbox: {e}"))
}

fn client(sb: &Sandbox, token: Option<&str>) -> DigitalOcean {
    let settings = ClientSettings {
        base_url: Some(sb.base_url(prov_digitalocean::INFO.sandbox_path)),
        token: token.map(Secret::new),
        clock: Arc::new(ManualClock::new()),
        ..ClientSettings::default()
    };
    DigitalOcean::new(&settings).unwrap_or_else(|e| panic!("client: {e}"))
}

fn spec(label: &str) -> CreateSpec {
    CreateSpec {
        label: label.into(),
        region: "sgp1".into(),
        plan: "s-1vcpu-1gb".into(),
        image: "ubuntu-24-04-x64".into(),
        ipv6: Some(true),
        backups: Some(false),
        monitoring: Some(true),
        tags: vec!["prov".into(), "env:test".into()],
        ssh_keys: vec!["512189".into(), "3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa".into()],
        user_data: Some(Secret::new("#cloud-config\n")),
        ..CreateSpec::default()
    }
}

fn fixture_count(text: &str, key: &str) -> usize {
    serde_json::from_str::<serde_json::Value>(text).ok().and_then(|v| v[key].as_array().map(Vec::len)).unwrap_or(0)
}

fn gets_of(sb: &Sandbox, suffix: &str) -> usize {
    sb.world().request_log().iter().filter(|(m, p)| m == "GET" && p.ends_with(suffix)).count()
}

#[test]
fn catalogue_lists_return_every_fixture_item_with_a_token() {
    let sb = start(DigitalOceanDialect::new(), Duration::ZERO);
    let d = client(&sb, Some(TOKEN));
    let regions = d.list_regions().unwrap_or_else(|e| panic!("regions: {e}"));
    assert_eq!(regions.len(), fixture_count(include_str!("../../../fixtures/digitalocean/regions.json"), "regions"));
    assert!(regions.iter().any(|r| r.id == "nyc3" && r.name == "New York 3" && r.country == "US"));
    let plans = d.list_sizes().unwrap_or_else(|e| panic!("plans: {e}"));
    assert_eq!(plans.len(), fixture_count(include_str!("../../../fixtures/digitalocean/sizes.json"), "sizes"));
    assert!(plans.len() > 20, "more than DigitalOcean's default page of 20 came back in one list");
    assert!(
        plans
            .iter()
            .any(|p| p.id == "s-1vcpu-512mb-10gb" && p.transfer_gb == 500 && p.monthly_price.to_string() == "4.00 USD")
    );
    let images = d.list_images().unwrap_or_else(|e| panic!("images: {e}"));
    assert_eq!(
        images.len(),
        fixture_count(include_str!("../../../fixtures/digitalocean/images_distribution.json"), "images")
    );
    assert!(images.len() > 20);
    assert!(images.iter().any(|i| i.id == "debian-12-x64" && i.family == "debian" && i.name == "Debian 12 x64"));
    assert_eq!((gets_of(&sb, "/regions"), gets_of(&sb, "/sizes"), gets_of(&sb, "/images")), (1, 1, 1), "200 a page");
}

#[test]
fn paging_takes_only_the_page_number_across_three_pages() {
    let sb = start(DigitalOceanDialect::new().with_image_count(450), Duration::ZERO);
    let images = client(&sb, Some(TOKEN)).list_images().unwrap_or_else(|e| panic!("images: {e}"));
    assert_eq!(images.len(), 450);
    let mut ids: Vec<_> = images.iter().map(|i| i.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 450, "no item twice");
    assert_eq!(gets_of(&sb, "/images"), 3, "450 items at 200 a page is 3 requests, all to the sandbox");
}

#[test]
fn create_wait_show_list_delete_agree() {
    let sb = start(DigitalOceanDialect::new(), Duration::from_millis(1_000));
    let d = client(&sb, Some(TOKEN));
    let created = d.create_instance(&spec("web-1")).unwrap_or_else(|e| panic!("create: {e}"));
    assert!(created.generated_password.is_none(), "DigitalOcean takes no root password");
    let first = created.instance;
    assert_eq!(
        (first.status, first.provider_status.as_str(), first.ipv4.as_deref()),
        (InstanceStatus::Pending, "new", None)
    );
    assert_eq!((first.label.as_str(), first.region.as_str(), first.plan.as_str()), ("web-1", "sgp1", "s-1vcpu-1gb"));
    assert_eq!(first.image, "ubuntu-24-04-x64");
    assert_eq!(first.tags, ["prov", "env:test"]);

    let poll = WaitOptions {
        level: WaitLevel::Created,
        timeout: Duration::from_secs(10),
        initial_interval: Duration::from_millis(40),
        max_interval: Duration::from_millis(80),
    };
    let addressed = wait_for(&d, first, &poll, &SystemClock, |_| {}).unwrap_or_else(|e| panic!("wait created: {e}"));
    assert_eq!((addressed.status, addressed.provider_status.as_str()), (InstanceStatus::Pending, "new"));
    let ipv4 = addressed.ipv4.clone().unwrap_or_default();
    assert!(!ipv4.is_empty() && !ipv4.starts_with("10."), "the public address, not the private one: {ipv4}");

    let ready = wait_for(&d, addressed, &WaitOptions { level: WaitLevel::Ready, ..poll }, &SystemClock, |_| {})
        .unwrap_or_else(|e| panic!("wait ready: {e}"));
    assert_eq!((ready.status, ready.provider_status.as_str()), (InstanceStatus::Ready, "active"));
    assert_eq!(ready.ipv4.as_deref(), Some(ipv4.as_str()));
    assert!(ready.ipv6.as_deref().is_some_and(|a| a.starts_with("2001:db8:")));
    assert!(ready.created_at.as_deref().is_some_and(|t| t.ends_with('Z')));

    assert_eq!(d.list_instances().unwrap_or_default(), vec![ready.clone()]);
    assert_eq!(d.get_instance(&ready.id).ok(), Some(ready.clone()));
    assert_eq!(d.delete_instance(&ready.id).ok(), Some(Deleted::Deleted));
    assert_eq!(d.delete_instance(&ready.id).ok(), Some(Deleted::AlreadyGone));
    assert!(matches!(d.get_instance(&ready.id), Err(Error::Api { status: 404, .. })));
    assert!(d.list_instances().unwrap_or_else(|e| panic!("list: {e}")).is_empty());
    let posts = sb.world().request_log().iter().filter(|(m, _)| m == "POST").count();
    assert_eq!(posts, 1);
}

#[test]
fn bad_create_is_refused_with_digitaloceans_message_and_request_id() {
    let sb = start(DigitalOceanDialect::new(), Duration::ZERO);
    let d = client(&sb, Some(TOKEN));
    let err = d.create_instance(&CreateSpec { plan: "s-99vcpu-1tb".into(), ..spec("x") }).err();
    assert!(matches!(err, Some(Error::Api { status: 422, .. })), "{err:?}");
    let msg = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        msg.starts_with("digitalocean: create instance failed: HTTP 422: You specified an invalid size for Droplet creation (request id "),
        "{msg}"
    );
    if let Err(Error::Api { error, .. }) = d.create_instance(&CreateSpec { image: "plan9".into(), ..spec("x") }) {
        assert_eq!(error.code.as_deref(), Some("unprocessable_entity"));
        assert!(error.request_id.is_some());
    } else {
        panic!("an unknown image must be refused");
    }
    assert!(sb.world().list("digitalocean").is_empty());
}

#[test]
fn every_operation_needs_a_token_and_nothing_is_sent_without_one() {
    let sb = start(DigitalOceanDialect::new(), Duration::ZERO);
    let d = client(&sb, None);
    let err = d.list_regions().err();
    assert!(matches!(err, Some(Error::MissingToken { .. })), "{err:?}");
    let msg = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(msg.contains("DIGITALOCEAN_TOKEN or DIGITALOCEAN_ACCESS_TOKEN"), "{msg}");
    assert!(matches!(d.list_sizes(), Err(Error::MissingToken { .. })));
    assert!(matches!(d.list_images(), Err(Error::MissingToken { .. })));
    assert!(matches!(d.create_instance(&spec("web-1")), Err(Error::MissingToken { .. })));
    let err = client(&sb, Some("   ")).list_regions().err();
    assert!(matches!(err, Some(Error::MissingToken { .. })), "a blank token counts as none: {err:?}");
    assert!(sb.world().request_log().is_empty());
}

#[test]
fn a_revoked_token_is_a_clear_401_with_the_request_id() {
    let sb = start(DigitalOceanDialect::new(), Duration::ZERO);
    let err = client(&sb, Some(prov_sandbox::REVOKED_TOKEN)).list_regions().err();
    let msg = err.as_ref().map(ToString::to_string).unwrap_or_default();
    assert!(matches!(err, Some(Error::Api { status: 401, .. })), "{err:?}");
    assert!(
        msg.starts_with("digitalocean: list regions failed: HTTP 401: Unable to authenticate you (request id "),
        "{msg}"
    );
    assert!(msg.ends_with(')'), "{msg}");
}

#[test]
fn malformed_ids_are_refused_before_any_request() {
    let sb = start(DigitalOceanDialect::new(), Duration::ZERO);
    let d = client(&sb, Some(TOKEN));
    for id in ["abc", "0", "-1", "12/../13", ""] {
        assert!(matches!(d.get_instance(id), Err(Error::InvalidInput { .. })), "get {id:?}");
        assert!(matches!(d.delete_instance(id), Err(Error::InvalidInput { .. })), "delete {id:?}");
    }
    let msg = d.get_instance("abc").err().map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(msg, "digitalocean: `abc` is not a DigitalOcean Droplet id (a positive integer)");
    assert!(sb.world().request_log().is_empty());
}

#[test]
fn plain_http_to_a_remote_host_is_refused_before_connecting() {
    let settings =
        ClientSettings { base_url: Some("http://api.digitalocean.com/v2".into()), ..ClientSettings::default() };
    let err = DigitalOcean::new(&settings).err();
    assert!(matches!(err, Some(Error::BadBaseUrl { .. })), "{err:?}");
}
