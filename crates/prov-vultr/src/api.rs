//! Vultr v2 payloads (serde) and their mapping into prov's normalized models.

use std::collections::BTreeMap;

use prov_core::model::{self, InstanceStatus};
use serde::{Deserialize, Serialize};

/// `meta` of a Vultr list.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Meta {
    /// Items in the whole list.
    #[serde(default)]
    pub total: Option<u64>,
    /// Cursor links.
    #[serde(default)]
    pub links: Links,
}

/// Cursor links; `next` is `""` on the last page.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Links {
    /// Cursor of the next page.
    #[serde(default)]
    pub next: String,
    /// Cursor of the previous page.
    #[serde(default)]
    pub prev: String,
}

/// `GET /regions`.
#[derive(Debug, Deserialize)]
pub struct RegionList {
    /// Regions.
    pub regions: Vec<Region>,
    /// Paging.
    #[serde(default)]
    pub meta: Meta,
}

/// A Vultr region.
#[derive(Debug, Clone, Deserialize)]
pub struct Region {
    /// `syd`.
    pub id: String,
    /// `Sydney`.
    #[serde(default)]
    pub city: String,
    /// `AU`.
    #[serde(default)]
    pub country: String,
}

/// `GET /plans`.
#[derive(Debug, Deserialize)]
pub struct PlanList {
    /// Plans.
    pub plans: Vec<Plan>,
    /// Paging.
    #[serde(default)]
    pub meta: Meta,
}

/// A Vultr plan.
#[derive(Debug, Clone, Deserialize)]
pub struct Plan {
    /// `vc2-1c-1gb`.
    pub id: String,
    /// vCPUs.
    #[serde(default)]
    pub vcpu_count: u32,
    /// MB.
    #[serde(default)]
    pub ram: u64,
    /// GB.
    #[serde(default)]
    pub disk: u64,
    /// GB of monthly transfer.
    #[serde(default)]
    pub bandwidth: u64,
    /// USD a month (the spec says integer; real prices can be fractional).
    #[serde(default)]
    pub monthly_cost: f64,
    /// Regions where it is sold.
    #[serde(default)]
    pub locations: Vec<String>,
}

/// `GET /os`.
#[derive(Debug, Deserialize)]
pub struct OsList {
    /// OS images.
    pub os: Vec<Os>,
    /// Paging.
    #[serde(default)]
    pub meta: Meta,
}

/// A Vultr OS image.
#[derive(Debug, Clone, Deserialize)]
pub struct Os {
    /// Numeric id (`2136`).
    pub id: u64,
    /// `Debian 12 x64 (bookworm)`.
    #[serde(default)]
    pub name: String,
    /// `debian`.
    #[serde(default)]
    pub family: String,
}

/// `GET /instances`.
#[derive(Debug, Deserialize)]
pub struct InstanceList {
    /// Instances.
    pub instances: Vec<Instance>,
    /// Paging.
    #[serde(default)]
    pub meta: Meta,
}

/// `GET /instances/{id}` and the create answer.
#[derive(Debug, Deserialize)]
pub struct InstanceEnvelope {
    /// The instance.
    pub instance: Instance,
}

/// An IPv6 network in the spec's `v6_networks` form.
#[derive(Debug, Clone, Deserialize)]
pub struct V6Network {
    /// Network address.
    #[serde(default)]
    pub network: String,
}

/// A Vultr instance.
#[derive(Debug, Clone, Deserialize)]
pub struct Instance {
    /// UUID.
    pub id: String,
    /// Label.
    #[serde(default)]
    pub label: String,
    /// `pending`, `active`, `suspended`, `resizing`.
    #[serde(default)]
    pub status: String,
    /// `running`, `stopped`.
    #[serde(default)]
    pub power_status: String,
    /// `none`, `locked`, `installingbooting`, `ok`.
    #[serde(default)]
    pub server_status: String,
    /// Public IPv4; `0.0.0.0` until assigned.
    #[serde(default)]
    pub main_ip: String,
    /// Public IPv6 (the real API's flat field; docs/providers/vultr.md §7).
    #[serde(default)]
    pub v6_main_ip: String,
    /// IPv6 in the 2023 spec's array form; accepted too.
    #[serde(default)]
    pub v6_networks: Vec<V6Network>,
    /// Region id.
    #[serde(default)]
    pub region: String,
    /// Plan id.
    #[serde(default)]
    pub plan: String,
    /// OS id.
    #[serde(default)]
    pub os_id: u64,
    /// OS name.
    #[serde(default)]
    pub os: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// RFC 3339 with offset.
    #[serde(default)]
    pub date_created: String,
}

impl From<Region> for model::Region {
    fn from(r: Region) -> Self {
        Self { id: r.id, name: r.city, country: r.country }
    }
}

impl From<Plan> for model::Size {
    fn from(p: Plan) -> Self {
        Self {
            id: p.id,
            vcpus: p.vcpu_count,
            memory_mb: p.ram,
            disk_gb: p.disk,
            transfer_gb: p.bandwidth,
            monthly_price: price(p.monthly_cost),
            regions: p.locations,
            region_prices: BTreeMap::new(),
        }
    }
}

impl From<Os> for model::Image {
    fn from(o: Os) -> Self {
        Self { id: o.id.to_string(), name: o.name, family: o.family.to_lowercase() }
    }
}

impl Instance {
    /// Vultr's readiness rule (docs/providers/vultr.md §7): `active` + `running` + `ok`. `power_status` alone says
    /// `running` while the instance is still pending, so it is never trusted alone.
    pub fn normalized_status(&self) -> InstanceStatus {
        match (self.status.as_str(), self.power_status.as_str(), self.server_status.as_str()) {
            ("active", "running", "ok") => InstanceStatus::Ready,
            ("active", "stopped", _) => InstanceStatus::Stopped,
            ("pending" | "resizing", _, _) | ("active", _, _) => InstanceStatus::Pending,
            _ => InstanceStatus::Unknown,
        }
    }
}

impl From<Instance> for model::Instance {
    fn from(i: Instance) -> Self {
        let status = i.normalized_status();
        let ipv4 = Some(i.main_ip.clone()).filter(|ip| !ip.is_empty() && ip != "0.0.0.0");
        let ipv6 = Some(i.v6_main_ip.clone())
            .filter(|ip| !ip.is_empty() && ip != "::")
            .or_else(|| i.v6_networks.iter().map(|n| n.network.clone()).find(|n| !n.is_empty()));
        Self {
            provider: "vultr".into(),
            id: i.id,
            label: i.label,
            status,
            provider_status: format!("{}/{}/{}", i.status, i.power_status, i.server_status),
            ipv4,
            ipv6,
            region: i.region,
            plan: i.plan,
            image: if i.os_id != 0 { i.os_id.to_string() } else { i.os },
            tags: i.tags,
            created_at: Some(i.date_created).filter(|d| !d.is_empty()),
        }
    }
}

/// A price this provider quoted as a JSON number, in its currency ([`crate::INFO`]).
fn price(amount: f64) -> model::Money {
    let currency = crate::INFO.currency;
    model::Money::from_f64(amount, currency).unwrap_or(model::Money::zero(currency))
}
