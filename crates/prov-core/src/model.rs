//! Normalized, provider-neutral models: what every provider's payloads are mapped into, and what `-o json` prints.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::money::{Currency, Money};

/// A data-centre location where instances can be created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Region {
    /// The provider's id for the region (`syd`, `ap-southeast`, `sgp1`).
    pub id: String,
    /// Human name, usually the city.
    pub name: String,
    /// ISO 3166 country code in upper case (`AU`), or empty when the provider does not say.
    pub country: String,
}

/// A size of instance the provider sells (Vultr "plan", Linode "type", DigitalOcean "size"); the CLI calls it a
/// plan (`prov list vultr plans`). Not to be confused with a plan *file*, [`crate::plan::Plan`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Size {
    /// The provider's id for the size (`vc2-1c-1gb`, `g6-nanode-1`, `s-1vcpu-1gb`).
    pub id: String,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Memory in MiB.
    pub memory_mb: u64,
    /// Disk in GB.
    pub disk_gb: u64,
    /// Monthly transfer allowance in GB.
    pub transfer_gb: u64,
    /// Monthly price, in the provider's currency (the base price where [`Size::region_prices`] differ).
    pub monthly_price: Money,
    /// Region ids where the plan is sold (empty when the provider does not say).
    pub regions: Vec<String>,
    /// Monthly prices of the regions that differ from the base price, by region id (Linode's `region_prices`;
    /// empty for a provider that prices every region the same).
    pub region_prices: BTreeMap<String, Money>,
}

impl Size {
    /// The monthly price in `region`: its regional price when there is one, else the base price.
    pub fn monthly_price_in(&self, region: &str) -> Money {
        self.region_prices.get(region).copied().unwrap_or(self.monthly_price)
    }
}

/// An operating-system image an instance can be created from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    /// The provider's id (Vultr os id, Linode image id, DigitalOcean slug or numeric id).
    pub id: String,
    /// Human name.
    pub name: String,
    /// Distribution family in lower case (`debian`, `ubuntu`, `windows`).
    pub family: String,
}

/// The normalized life-cycle state of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceStatus {
    /// Being created or booted; not usable yet.
    Pending,
    /// The provider says it is fully ready.
    Ready,
    /// Exists but is powered off.
    Stopped,
    /// Being deleted.
    Deleting,
    /// A state prov does not map (the provider's own word is in `provider_status`).
    Unknown,
}

impl InstanceStatus {
    /// The snake_case name used in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Ready => "ready",
            Self::Stopped => "stopped",
            Self::Deleting => "deleting",
            Self::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for InstanceStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A virtual server, normalized across providers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// Provider name (`vultr`, `linode`, `digitalocean`).
    pub provider: String,
    /// The provider's id, as a string (Vultr UUID, Linode and DigitalOcean integers).
    pub id: String,
    /// Label (DigitalOcean: name).
    pub label: String,
    /// Normalized state.
    pub status: InstanceStatus,
    /// The provider's own words for the state (Vultr: `status/power_status/server_status`).
    pub provider_status: String,
    /// Public IPv4 address, once assigned.
    pub ipv4: Option<String>,
    /// Public IPv6 address, if any.
    pub ipv6: Option<String>,
    /// Region id.
    pub region: String,
    /// Plan id.
    pub plan: String,
    /// Image id (or name when the provider reports no id).
    pub image: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Creation time, RFC 3339 in UTC, when the provider reports it.
    pub created_at: Option<String>,
}

impl Instance {
    /// True when the instance carries `tag`.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }
}
