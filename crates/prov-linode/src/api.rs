//! Linode v4 payloads (serde) and their mapping into prov's normalized models: the `{data,page,pages,results}`
//! list envelope, regions, types, images and the Linode object (status words, the public address among private
//! ones, the `/128` suffix, offset-less timestamps; docs/providers/linode.md §1, §2, §7).

use std::net::Ipv4Addr;

use prov_core::model::{self, InstanceStatus};
use serde::{Deserialize, Deserializer};

/// Deserializes `null` as the type's default, for fields Linode may send as `null`.
fn null_default<'de, D, T>(de: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(de)?.unwrap_or_default())
}

/// One page of any Linode collection: `{"data":[…],"page":1,"pages":3,"results":1201}`.
#[derive(Debug, Deserialize)]
pub struct List<T> {
    /// The items on this page.
    pub data: Vec<T>,
    /// This page's number, from 1.
    #[serde(default, deserialize_with = "null_default")]
    pub page: u64,
    /// How many pages there are.
    #[serde(default, deserialize_with = "null_default")]
    pub pages: u64,
    /// How many items there are in all.
    #[serde(default, deserialize_with = "null_default")]
    pub results: Option<u64>,
}

impl<T> List<T> {
    /// The page to ask for next: `page + 1` while `page < pages`.
    pub fn next_page(&self) -> Option<u64> {
        (self.page < self.pages).then_some(self.page + 1)
    }
}

/// A Linode region.
#[derive(Debug, Clone, Deserialize)]
pub struct Region {
    /// `ap-southeast`.
    pub id: String,
    /// `Sydney, AU`.
    #[serde(default, deserialize_with = "null_default")]
    pub label: String,
    /// `au` (lower case, as Linode sends it).
    #[serde(default, deserialize_with = "null_default")]
    pub country: String,
    /// `Linodes`, `Metadata`, …
    #[serde(default, deserialize_with = "null_default")]
    pub capabilities: Vec<String>,
    /// `ok` or `outage`.
    #[serde(default, deserialize_with = "null_default")]
    pub status: String,
}

/// The price of a Linode type.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Price {
    /// USD an hour.
    #[serde(default)]
    pub hourly: Option<f64>,
    /// USD a month.
    #[serde(default)]
    pub monthly: Option<f64>,
}

/// A Linode type (a plan).
#[derive(Debug, Clone, Deserialize)]
pub struct Type {
    /// `g6-nanode-1`.
    pub id: String,
    /// `Nanode 1GB`.
    #[serde(default, deserialize_with = "null_default")]
    pub label: String,
    /// `nanode`, `standard`, `dedicated`, `premium`, `gpu`, `highmem`.
    #[serde(default, deserialize_with = "null_default")]
    pub class: String,
    /// vCPUs.
    #[serde(default, deserialize_with = "null_default")]
    pub vcpus: u32,
    /// Memory in MB.
    #[serde(default, deserialize_with = "null_default")]
    pub memory: u64,
    /// Disk in MB.
    #[serde(default, deserialize_with = "null_default")]
    pub disk: u64,
    /// Monthly transfer in GB.
    #[serde(default, deserialize_with = "null_default")]
    pub transfer: u64,
    /// The base price (regions in `region_prices` differ).
    #[serde(default, deserialize_with = "null_default")]
    pub price: Price,
    /// Regions priced differently from `price` (`id-cgk`, `br-gru`).
    #[serde(default, deserialize_with = "null_default")]
    pub region_prices: Vec<RegionPrice>,
}

/// The price of a Linode type in one region that differs from its base price.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RegionPrice {
    /// Region id (`id-cgk`).
    pub id: String,
    /// USD an hour.
    #[serde(default)]
    pub hourly: Option<f64>,
    /// USD a month.
    #[serde(default)]
    pub monthly: Option<f64>,
}

/// A Linode image.
#[derive(Debug, Clone, Deserialize)]
pub struct Image {
    /// `linode/debian12` or `private/123`.
    pub id: String,
    /// `Debian 12`.
    #[serde(default, deserialize_with = "null_default")]
    pub label: String,
    /// `Debian`; `null` for private images.
    #[serde(default, deserialize_with = "null_default")]
    pub vendor: String,
    /// True for Linode's own images.
    #[serde(default, deserialize_with = "null_default")]
    pub is_public: bool,
    /// True when the image is on its way out.
    #[serde(default, deserialize_with = "null_default")]
    pub deprecated: bool,
    /// `available`, `creating`, `pending_upload`.
    #[serde(default, deserialize_with = "null_default")]
    pub status: String,
    /// `cloud-init`, `distributed-sites`.
    #[serde(default, deserialize_with = "null_default")]
    pub capabilities: Vec<String>,
}

/// A Linode (instance), as get, list and create return it.
#[derive(Debug, Clone, Deserialize)]
pub struct Instance {
    /// Integer id.
    pub id: u64,
    /// Label.
    #[serde(default, deserialize_with = "null_default")]
    pub label: String,
    /// `provisioning`, `booting`, `running`, `offline`, … (docs/providers/linode.md §7).
    #[serde(default, deserialize_with = "null_default")]
    pub status: String,
    /// IPv4 addresses, public and private, in no documented order.
    #[serde(default, deserialize_with = "null_default")]
    pub ipv4: Vec<String>,
    /// SLAAC address with its prefix length (`2600:…/128`), or `null`.
    #[serde(default, deserialize_with = "null_default")]
    pub ipv6: String,
    /// Region id.
    #[serde(default, deserialize_with = "null_default")]
    pub region: String,
    /// Type (plan) id.
    #[serde(default, rename = "type", deserialize_with = "null_default")]
    pub type_id: String,
    /// Image id; `null` for a Linode not created from an image.
    #[serde(default, deserialize_with = "null_default")]
    pub image: String,
    /// Tags.
    #[serde(default, deserialize_with = "null_default")]
    pub tags: Vec<String>,
    /// Creation time, UTC without an offset (`2024-10-15T08:30:12`).
    #[serde(default, deserialize_with = "null_default")]
    pub created: String,
}

impl From<Region> for model::Region {
    fn from(r: Region) -> Self {
        Self { id: r.id, name: r.label, country: r.country.to_uppercase() }
    }
}

impl From<Type> for model::Size {
    fn from(t: Type) -> Self {
        Self {
            id: t.id,
            vcpus: t.vcpus,
            memory_mb: t.memory,
            disk_gb: t.disk / 1024,
            transfer_gb: t.transfer,
            monthly_price: price(t.price.monthly.unwrap_or(0.0)),
            // Linode types do not say where they are sold; empty means "everywhere".
            regions: Vec::new(),
            region_prices: t.region_prices.into_iter().filter_map(|r| Some((r.id, price(r.monthly?)))).collect(),
        }
    }
}

impl From<Image> for model::Image {
    fn from(i: Image) -> Self {
        Self { id: i.id, name: i.label, family: i.vendor.trim().to_lowercase() }
    }
}

/// Maps a Linode status word to prov's normalized status.
pub fn normalize_status(status: &str) -> InstanceStatus {
    match status {
        "provisioning" | "booting" | "rebooting" | "migrating" | "rebuilding" | "cloning" | "restoring"
        | "resizing" | "busy" => InstanceStatus::Pending,
        "running" => InstanceStatus::Ready,
        "offline" | "stopped" | "shutting_down" => InstanceStatus::Stopped,
        "deleting" => InstanceStatus::Deleting,
        _ => InstanceStatus::Unknown,
    }
}

/// True for an address that is not publicly routable: private ranges (10/8, 172.16/12, 192.168/16, which holds
/// Linode's private 192.168.128.0/17), shared 100.64/10, loopback, link-local, unspecified and broadcast.
pub fn is_non_public(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || (a == 100 && (64..128).contains(&b))
}

/// The first public address in Linode's `ipv4` list (the order is not documented; a private one may come first).
pub fn public_ipv4(addresses: &[String]) -> Option<String> {
    addresses
        .iter()
        .map(|a| a.trim())
        .find(|a| a.parse::<Ipv4Addr>().is_ok_and(|ip| !is_non_public(ip)))
        .map(str::to_owned)
}

/// Linode's IPv6 without its prefix length (`2600:3c00::1/128` → `2600:3c00::1`); `None` when empty.
pub fn strip_prefix_len(ipv6: &str) -> Option<String> {
    let addr = ipv6.split('/').next().unwrap_or("").trim();
    (!addr.is_empty()).then(|| addr.to_owned())
}

/// A Linode timestamp as RFC 3339 in UTC. Linode sends none with an offset (`2024-10-15T08:30:12`), though its
/// spec says `date-time`; those are UTC, so `Z` is appended. A value that already has an offset is kept.
pub fn utc_timestamp(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let Some((_, time)) = raw.split_once(['T', 't']) else { return Some(raw.to_owned()) };
    let has_offset = time.ends_with(['Z', 'z']) || time.contains(['+', '-']);
    Some(if has_offset { raw.to_owned() } else { format!("{raw}Z") })
}

impl Instance {
    /// The normalized status (Linode's readiness rule: `running`).
    pub fn normalized_status(&self) -> InstanceStatus {
        normalize_status(&self.status)
    }
}

impl From<Instance> for model::Instance {
    fn from(i: Instance) -> Self {
        Self {
            provider: "linode".into(),
            id: i.id.to_string(),
            label: i.label,
            status: normalize_status(&i.status),
            provider_status: i.status,
            ipv4: public_ipv4(&i.ipv4),
            ipv6: strip_prefix_len(&i.ipv6),
            region: i.region,
            plan: i.type_id,
            image: i.image,
            tags: i.tags,
            created_at: utc_timestamp(&i.created),
        }
    }
}

/// A price this provider quoted as a JSON number, in its currency ([`crate::INFO`]).
fn price(amount: f64) -> model::Money {
    let currency = crate::INFO.currency;
    model::Money::from_f64(amount, currency).unwrap_or(model::Money::zero(currency))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_word_maps() {
        use InstanceStatus::*;
        let cases = [
            ("provisioning", Pending),
            ("booting", Pending),
            ("rebooting", Pending),
            ("migrating", Pending),
            ("rebuilding", Pending),
            ("cloning", Pending),
            ("restoring", Pending),
            ("resizing", Pending),
            ("busy", Pending),
            ("running", Ready),
            ("offline", Stopped),
            ("stopped", Stopped),
            ("shutting_down", Stopped),
            ("deleting", Deleting),
            ("billing_suspension", Unknown),
            ("", Unknown),
        ];
        for (word, want) in cases {
            assert_eq!(normalize_status(word), want, "{word}");
        }
    }

    #[test]
    fn the_public_address_is_picked_among_private_ones() {
        let v = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(public_ipv4(&v(&["192.168.128.230", "212.71.239.24"])), Some("212.71.239.24".into()));
        assert_eq!(public_ipv4(&v(&["10.0.0.1", "172.16.5.5", "100.64.1.1", "169.254.1.1", "nonsense"])), None);
        assert_eq!(public_ipv4(&v(&["203.0.113.9"])), Some("203.0.113.9".into()));
        assert_eq!(public_ipv4(&[]), None);
    }

    #[test]
    fn ipv6_loses_its_prefix_length() {
        assert_eq!(
            strip_prefix_len("2600:3c00::f03c:91ff:fe12:3456/128"),
            Some("2600:3c00::f03c:91ff:fe12:3456".into())
        );
        assert_eq!(strip_prefix_len("2a01:7e00::1/64"), Some("2a01:7e00::1".into()));
        assert_eq!(strip_prefix_len("2001:db8::1"), Some("2001:db8::1".into()));
        assert_eq!(strip_prefix_len(""), None);
    }

    #[test]
    fn offset_less_timestamps_become_utc() {
        assert_eq!(utc_timestamp("2024-10-15T08:30:12"), Some("2024-10-15T08:30:12Z".into()));
        assert_eq!(utc_timestamp("2024-10-15T08:30:12.5"), Some("2024-10-15T08:30:12.5Z".into()));
        assert_eq!(utc_timestamp("2024-10-15T08:30:12Z"), Some("2024-10-15T08:30:12Z".into()));
        assert_eq!(utc_timestamp("2024-10-15T08:30:12+02:00"), Some("2024-10-15T08:30:12+02:00".into()));
        assert_eq!(utc_timestamp("2024-10-15T08:30:12-05:00"), Some("2024-10-15T08:30:12-05:00".into()));
        assert_eq!(utc_timestamp(""), None);
    }

    #[test]
    fn nulls_are_tolerated_and_mapped() {
        let body = br#"{"id":7,"label":"x","status":"running","ipv4":null,"ipv6":null,"image":null,"tags":null,
            "created":null,"type":"g6-nanode-1","region":"us-east"}"#;
        let i: Instance = serde_json::from_slice(body).unwrap_or_else(|e| panic!("{e}"));
        let m = model::Instance::from(i);
        assert_eq!((m.id.as_str(), m.ipv4, m.ipv6, m.image.as_str(), m.created_at), ("7", None, None, "", None));
        let t: Type = serde_json::from_slice(br#"{"id":"g6-x","disk":25600,"price":{"monthly":null}}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        let p = model::Size::from(t);
        assert_eq!((p.disk_gb, p.monthly_price.to_string().as_str()), (25, "0.00 USD"));
        let img: Image = serde_json::from_slice(br#"{"id":"private/1","label":"mine","vendor":null}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(model::Image::from(img).family, "");
    }

    #[test]
    fn next_page_while_page_is_below_pages() {
        let l = |page, pages| List::<u8> { data: vec![], page, pages, results: None };
        assert_eq!(l(1, 3).next_page(), Some(2));
        assert_eq!(l(3, 3).next_page(), None);
        assert_eq!(l(0, 0).next_page(), None);
    }
}
