//! DigitalOcean v2 payloads (serde) and their mapping into prov's normalized models: regions, sizes (fractional
//! TB transfer and prices), distribution images, Droplets (status words, `networks.v4/v6` public entries), and the
//! `links`/`meta` paging envelope.

use std::collections::BTreeMap;

use prov_core::model::{self, InstanceStatus};
use serde::{Deserialize, Deserializer, Serialize};

/// Treats an explicit JSON `null` like a missing field: the type's default.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `links` of a DigitalOcean answer. Lists carry `pages`; a create answer carries `actions`. It can be `{}` or
/// missing for short lists.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Links {
    /// Page links, absent on a one-page list.
    #[serde(default, deserialize_with = "nullable")]
    pub pages: Pages,
    /// Actions started by the request (the create action).
    #[serde(default, deserialize_with = "nullable")]
    pub actions: Vec<ActionLink>,
}

/// `links.pages`: full URLs on DigitalOcean's own host. Only the `page` parameter of `next` is used.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Pages {
    /// First page.
    #[serde(default)]
    pub first: Option<String>,
    /// Previous page.
    #[serde(default)]
    pub prev: Option<String>,
    /// Next page; absent on the last page.
    #[serde(default)]
    pub next: Option<String>,
    /// Last page.
    #[serde(default)]
    pub last: Option<String>,
}

/// One entry of `links.actions`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ActionLink {
    /// Action id (poll `GET /v2/actions/{id}`).
    #[serde(default)]
    pub id: u64,
    /// `create`.
    #[serde(default)]
    pub rel: String,
    /// Full URL of the action.
    #[serde(default)]
    pub href: String,
}

/// `meta` of a list.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Meta {
    /// Items in the whole list.
    #[serde(default)]
    pub total: Option<u64>,
}

/// The value of the `page` query parameter of a page URL (`https://api.digitalocean.com/v2/sizes?page=2&per_page=200`
/// → 2), if it has a positive one. The URL's host is deliberately ignored.
pub fn page_number(url: &str) -> Option<u64> {
    let query = url.split_once('?')?.1;
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "page")
        .and_then(|(_, v)| v.parse::<u64>().ok())
        .filter(|n| *n >= 1)
}

/// `GET /regions`.
#[derive(Debug, Deserialize)]
pub struct RegionList {
    /// Regions.
    pub regions: Vec<Region>,
    /// Paging links.
    #[serde(default, deserialize_with = "nullable")]
    pub links: Links,
    /// Totals.
    #[serde(default, deserialize_with = "nullable")]
    pub meta: Meta,
}

/// A DigitalOcean region.
#[derive(Debug, Clone, Deserialize)]
pub struct Region {
    /// `nyc3`.
    pub slug: String,
    /// `New York 3`.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// False for legacy regions that take no new Droplets.
    #[serde(default, deserialize_with = "nullable")]
    pub available: bool,
    /// `backups`, `ipv6`, `metadata`, …
    #[serde(default, deserialize_with = "nullable")]
    pub features: Vec<String>,
    /// Size slugs sold here.
    #[serde(default, deserialize_with = "nullable")]
    pub sizes: Vec<String>,
}

/// `GET /sizes`.
#[derive(Debug, Deserialize)]
pub struct SizeList {
    /// Sizes.
    pub sizes: Vec<Size>,
    /// Paging links.
    #[serde(default, deserialize_with = "nullable")]
    pub links: Links,
    /// Totals.
    #[serde(default, deserialize_with = "nullable")]
    pub meta: Meta,
}

/// A DigitalOcean size.
#[derive(Debug, Clone, Deserialize)]
pub struct Size {
    /// `s-1vcpu-1gb`.
    pub slug: String,
    /// vCPUs.
    #[serde(default)]
    pub vcpus: u32,
    /// MB.
    #[serde(default)]
    pub memory: u64,
    /// GB.
    #[serde(default)]
    pub disk: u64,
    /// Monthly transfer in **TB**; can be fractional (`0.5`).
    #[serde(default)]
    pub transfer: f64,
    /// USD a month; can be fractional.
    #[serde(default)]
    pub price_monthly: f64,
    /// USD an hour.
    #[serde(default)]
    pub price_hourly: f64,
    /// Region slugs where it is sold.
    #[serde(default, deserialize_with = "nullable")]
    pub regions: Vec<String>,
    /// Whether it can be created at all.
    #[serde(default, deserialize_with = "nullable")]
    pub available: bool,
    /// `Basic`, `General Purpose`, …
    #[serde(default, deserialize_with = "nullable")]
    pub description: String,
}

/// `GET /images?type=distribution`.
#[derive(Debug, Deserialize)]
pub struct ImageList {
    /// Images.
    pub images: Vec<Image>,
    /// Paging links.
    #[serde(default, deserialize_with = "nullable")]
    pub links: Links,
    /// Totals.
    #[serde(default, deserialize_with = "nullable")]
    pub meta: Meta,
}

/// A DigitalOcean image.
#[derive(Debug, Clone, Deserialize)]
pub struct Image {
    /// Numeric id (`160232537`).
    pub id: u64,
    /// `ubuntu-24-04-x64`; null for snapshots and custom images.
    #[serde(default)]
    pub slug: Option<String>,
    /// `24.04 (LTS) x64`.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// `Ubuntu`; `Unknown` when DigitalOcean does not know it.
    #[serde(default, deserialize_with = "nullable")]
    pub distribution: String,
    /// `base`, `snapshot`, …
    #[serde(default, rename = "type", deserialize_with = "nullable")]
    pub kind: String,
    /// Region slugs where it can be used.
    #[serde(default, deserialize_with = "nullable")]
    pub regions: Vec<String>,
}

/// `GET /droplets`.
#[derive(Debug, Deserialize)]
pub struct DropletList {
    /// Droplets.
    pub droplets: Vec<Droplet>,
    /// Paging links.
    #[serde(default, deserialize_with = "nullable")]
    pub links: Links,
    /// Totals.
    #[serde(default, deserialize_with = "nullable")]
    pub meta: Meta,
}

/// `GET /droplets/{id}` and the create answer (which adds `links.actions`).
#[derive(Debug, Deserialize)]
pub struct DropletEnvelope {
    /// The Droplet.
    pub droplet: Droplet,
    /// The create action, on a create answer.
    #[serde(default, deserialize_with = "nullable")]
    pub links: Links,
}

/// One `networks.v4` / `networks.v6` entry.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Network {
    /// The address.
    #[serde(default, deserialize_with = "nullable")]
    pub ip_address: String,
    /// `public` or `private`.
    #[serde(default, rename = "type", deserialize_with = "nullable")]
    pub kind: String,
}

/// `networks` of a Droplet; both lists are empty while it is `new`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Networks {
    /// IPv4 entries.
    #[serde(default, deserialize_with = "nullable")]
    pub v4: Vec<Network>,
    /// IPv6 entries.
    #[serde(default, deserialize_with = "nullable")]
    pub v6: Vec<Network>,
}

impl Networks {
    fn public(list: &[Network]) -> Option<String> {
        list.iter().find(|n| n.kind == "public" && !n.ip_address.is_empty()).map(|n| n.ip_address.clone())
    }
}

/// The region object embedded in a Droplet (only the slug is used).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RegionRef {
    /// `sgp1`.
    #[serde(default, deserialize_with = "nullable")]
    pub slug: String,
}

/// The image object embedded in a Droplet.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ImageRef {
    /// Numeric id.
    #[serde(default)]
    pub id: Option<u64>,
    /// Slug; null for snapshots.
    #[serde(default)]
    pub slug: Option<String>,
    /// Name.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
}

/// A DigitalOcean Droplet.
#[derive(Debug, Clone, Deserialize)]
pub struct Droplet {
    /// Integer id.
    pub id: u64,
    /// Name (also the hostname).
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// `new`, `active`, `off`, `archive`.
    #[serde(default, deserialize_with = "nullable")]
    pub status: String,
    /// Locked against user actions.
    #[serde(default, deserialize_with = "nullable")]
    pub locked: bool,
    /// Addresses.
    #[serde(default, deserialize_with = "nullable")]
    pub networks: Networks,
    /// Region.
    #[serde(default, deserialize_with = "nullable")]
    pub region: RegionRef,
    /// Image.
    #[serde(default, deserialize_with = "nullable")]
    pub image: ImageRef,
    /// Size slug.
    #[serde(default, deserialize_with = "nullable")]
    pub size_slug: String,
    /// Tags.
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
    /// RFC 3339 with `Z`.
    #[serde(default, deserialize_with = "nullable")]
    pub created_at: String,
}

/// The country code (lower case) of a DigitalOcean region, from its slug's letters (`nyc3` → `us`), or `""`
/// when the data centre is not in the table.
pub fn country_of(slug: &str) -> &'static str {
    let prefix: String = slug.chars().take_while(char::is_ascii_alphabetic).collect::<String>().to_ascii_lowercase();
    match prefix.as_str() {
        "nyc" | "sfo" | "atl" => "us",
        "ams" => "nl",
        "sgp" => "sg",
        "lon" => "gb",
        "fra" => "de",
        "tor" => "ca",
        "blr" => "in",
        "syd" => "au",
        _ => "",
    }
}

/// TB (as DigitalOcean gives transfer) to whole GB (1 TB = 1000 GB), rounded; nonsense values give 0.
pub fn tb_to_gb(tb: f64) -> u64 {
    if tb.is_finite() && tb > 0.0 { (tb * 1000.0).round() as u64 } else { 0 }
}

impl From<Region> for model::Region {
    fn from(r: Region) -> Self {
        let country = country_of(&r.slug).to_uppercase();
        Self { id: r.slug, name: r.name, country }
    }
}

impl From<Size> for model::Size {
    fn from(s: Size) -> Self {
        Self {
            id: s.slug,
            vcpus: s.vcpus,
            memory_mb: s.memory,
            disk_gb: s.disk,
            transfer_gb: tb_to_gb(s.transfer),
            monthly_price: price(s.price_monthly),
            regions: s.regions,
            region_prices: BTreeMap::new(),
        }
    }
}

impl Image {
    /// True when DigitalOcean does not name the distribution (`Unknown` is its documented fallback).
    fn distribution_unknown(&self) -> bool {
        let d = self.distribution.trim();
        d.is_empty() || d.eq_ignore_ascii_case("unknown")
    }
}

impl From<Image> for model::Image {
    fn from(i: Image) -> Self {
        let slug = i.slug.clone().filter(|s| !s.trim().is_empty());
        let (name, family) = if i.distribution_unknown() {
            // `Unknown` says nothing: keep the name as it is and take the family from the slug's first word.
            let family = slug.as_deref().and_then(|s| s.split('-').next()).unwrap_or("unknown").to_lowercase();
            (i.name.clone(), family)
        } else {
            let name = if i.name.to_lowercase().starts_with(&i.distribution.to_lowercase()) {
                i.name.clone()
            } else {
                format!("{} {}", i.distribution, i.name)
            };
            (name, i.distribution.to_lowercase())
        };
        Self { id: slug.unwrap_or_else(|| i.id.to_string()), name, family }
    }
}

impl Droplet {
    /// DigitalOcean's status words normalized: `new` → pending, `active` → ready, `off` → stopped, anything else
    /// (`archive`) → unknown.
    pub fn normalized_status(&self) -> InstanceStatus {
        match self.status.as_str() {
            "new" => InstanceStatus::Pending,
            "active" => InstanceStatus::Ready,
            "off" => InstanceStatus::Stopped,
            _ => InstanceStatus::Unknown,
        }
    }
}

impl From<Droplet> for model::Instance {
    fn from(d: Droplet) -> Self {
        let status = d.normalized_status();
        let ipv4 = Networks::public(&d.networks.v4);
        let ipv6 = Networks::public(&d.networks.v6);
        let image = match (d.image.slug.filter(|s| !s.trim().is_empty()), d.image.id) {
            (Some(slug), _) => slug,
            (None, Some(id)) => id.to_string(),
            (None, None) => d.image.name,
        };
        Self {
            provider: crate::INFO.name.into(),
            id: d.id.to_string(),
            label: d.name,
            status,
            provider_status: d.status,
            ipv4,
            ipv6,
            region: d.region.slug,
            plan: d.size_slug,
            image,
            tags: d.tags,
            created_at: Some(d.created_at).filter(|c| !c.is_empty()),
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
    fn page_number_reads_only_the_page_parameter() {
        assert_eq!(page_number("https://api.digitalocean.invalid/v2/sizes?page=2&per_page=200"), Some(2));
        assert_eq!(page_number("https://evil.example/v2/sizes?per_page=200&page=7&type=x"), Some(7));
        assert_eq!(page_number("https://api.digitalocean.invalid/v2/sizes?per_page=200"), None);
        assert_eq!(page_number("https://api.digitalocean.invalid/v2/sizes?page=0"), None);
        assert_eq!(page_number("https://api.digitalocean.invalid/v2/sizes?page=two"), None);
        assert_eq!(page_number("https://api.digitalocean.invalid/v2/sizes"), None);
    }

    #[test]
    fn transfer_is_converted_from_tb_to_gb() {
        assert_eq!((tb_to_gb(0.5), tb_to_gb(1.0), tb_to_gb(15.0), tb_to_gb(0.0005)), (500, 1000, 15_000, 1));
        assert_eq!((tb_to_gb(f64::NAN), tb_to_gb(-1.0)), (0, 0));
    }

    #[test]
    fn countries_come_from_the_slug_prefix() {
        assert_eq!(
            [country_of("nyc3"), country_of("ams3"), country_of("LON1"), country_of("xyz9")],
            ["us", "nl", "gb", ""]
        );
    }

    #[test]
    fn links_may_be_empty_missing_or_null() {
        for body in
            [r#"{"regions":[],"links":{}}"#, r#"{"regions":[]}"#, r#"{"regions":[],"links":{"pages":{}},"meta":null}"#]
        {
            let l: RegionList = serde_json::from_str(body).unwrap_or_else(|e| panic!("{body}: {e}"));
            assert!(l.links.pages.next.is_none());
        }
    }

    #[test]
    fn droplet_status_words_are_normalized() {
        let d = |status: &str| Droplet {
            id: 1,
            name: String::new(),
            status: status.into(),
            locked: false,
            networks: Networks::default(),
            region: RegionRef::default(),
            image: ImageRef::default(),
            size_slug: String::new(),
            tags: Vec::new(),
            created_at: String::new(),
        };
        let got: Vec<_> =
            ["new", "active", "off", "archive", "weird"].iter().map(|s| d(s).normalized_status()).collect();
        use InstanceStatus::*;
        assert_eq!(got, [Pending, Ready, Stopped, Unknown, Unknown]);
    }

    #[test]
    fn image_without_slug_uses_its_numeric_id_and_unknown_distribution_its_slug_word() {
        let i: Image = serde_json::from_str(r#"{"id":7,"slug":null,"name":"my snap","distribution":"Debian"}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        let m = model::Image::from(i);
        assert_eq!((m.id.as_str(), m.name.as_str(), m.family.as_str()), ("7", "Debian my snap", "debian"));
        let i: Image = serde_json::from_str(
            r#"{"id":8,"slug":"almalinux-9-x64","name":"AlmaLinux 9 x64","distribution":"Unknown"}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let m = model::Image::from(i);
        assert_eq!(
            (m.id.as_str(), m.name.as_str(), m.family.as_str()),
            ("almalinux-9-x64", "AlmaLinux 9 x64", "almalinux")
        );
    }
}
