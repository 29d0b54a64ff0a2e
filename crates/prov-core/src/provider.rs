//! The contract every provider crate implements: a static descriptor ([`ProviderInfo`]) that the plan parser and
//! the CLI read, the [`Provider`] trait with the seven operations and the readiness rule, and the one
//! [`Registration`] each provider crate exports.

use crate::Result;
use crate::model::{Image, Instance, InstanceStatus, Region, Size};
use crate::secret::Secret;

/// The tag prov puts on every instance it creates; with the label it is prov's identity for an instance, so a
/// rerun finds what an earlier run created instead of creating it again.
pub const MANAGED_TAG: &str = "prov-managed";

/// Which API operation a request belongs to; named in every error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// List regions.
    ListRegions,
    /// List plans / types / sizes.
    ListSizes,
    /// List OS images.
    ListImages,
    /// List instances.
    ListInstances,
    /// Get one instance.
    GetInstance,
    /// Create an instance.
    CreateInstance,
    /// Delete an instance.
    DeleteInstance,
}

impl Operation {
    /// Lower-case words for messages (`list regions`, `create instance`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ListRegions => "list regions",
            Self::ListSizes => "list plans",
            Self::ListImages => "list images",
            Self::ListInstances => "list instances",
            Self::GetInstance => "get instance",
            Self::CreateInstance => "create instance",
            Self::DeleteInstance => "delete instance",
        }
    }

    /// True for catalogue reads (regions, plans, images), which some providers serve without a token.
    pub fn is_catalogue(self) -> bool {
        matches!(self, Self::ListRegions | Self::ListSizes | Self::ListImages)
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A problem with one field of a [`CreateSpec`], found by a provider's own rules before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// The plan key (`label`, `user_data`, …).
    pub key: &'static str,
    /// What is wrong, in lower case.
    pub message: String,
}

/// A recipe key of the legacy Prod `.txt` format and what it means in a plan.
#[derive(Debug, Clone, Copy)]
pub enum LegacyKey {
    /// The recipe key maps to this plan key.
    Maps(&'static str, &'static str),
    /// The recipe key is accepted and ignored, with this warning.
    Ignored(&'static str, &'static str),
}

/// Static facts about a provider: names, URLs, token variables, which plan keys it supports, its legacy recipe
/// keys and its own validation rules. Core reads these; it never names a provider itself.
#[derive(Debug)]
pub struct ProviderInfo {
    /// Canonical name used in plans and output (`vultr`).
    pub name: &'static str,
    /// Name for people (`Vultr`).
    pub display_name: &'static str,
    /// Other names accepted on the command line and in plans (`do`, `digital_ocean`).
    pub aliases: &'static [&'static str],
    /// Default API base URL including the version segment.
    pub default_base_url: &'static str,
    /// Environment variable that overrides the base URL.
    pub url_env: &'static str,
    /// Environment variables holding the API token, first found wins.
    pub token_env: &'static [&'static str],
    /// The currency the provider bills in; every price it quotes is in it.
    pub currency: crate::money::Currency,
    /// True when regions / plans / images need a token too.
    pub catalogue_needs_token: bool,
    /// Optional plan keys this provider supports (besides label, region, plan, image).
    pub plan_keys: &'static [&'static str],
    /// Why a plan key is not supported, when there is something better to say than "not supported".
    pub unsupported_hints: &'static [(&'static str, &'static str)],
    /// Keys of legacy Prod recipes.
    pub legacy_keys: &'static [LegacyKey],
    /// Path of this provider's sandbox dialect under the sandbox root (`/vultr/v2`).
    pub sandbox_path: &'static str,
    /// Provider rules for a create (label patterns, sizes) checked while the plan is validated.
    pub validate: fn(&CreateSpec) -> Vec<FieldProblem>,
    /// Parses the provider's error body into an [`crate::ApiError`].
    pub parse_error: fn(u16, &[u8]) -> crate::ApiError,
}

/// How prov finds a provider: every provider crate exports one `pub static REGISTRATION`, and prov-cli lists
/// them once (`PROVIDERS`). `S` is what the provider adds with its `sandbox` feature on (the constructor of its
/// dialect, `prov_sandbox::NewDialect`), and `()` without it.
#[derive(Debug)]
pub struct Registration<S: 'static = ()> {
    /// The provider's descriptor.
    pub info: &'static ProviderInfo,
    /// A client for the provider; checks the base URL and sends nothing.
    pub connect: fn(&crate::ClientSettings) -> Result<Box<dyn Provider>>,
    /// The provider's sandbox dialect constructor (feature `sandbox`), or `()`.
    pub sandbox: S,
}

/// Declares a provider crate's `REGISTRATION` (and its boxed `connect`), written once for every provider: with the
/// crate's `sandbox` feature on it carries `sandbox::dialect`, the constructor of the crate's dialect. Expects an
/// `INFO` static, a client type with `new(&ClientSettings) -> Result<Self>`, and (feature `sandbox`) a `sandbox`
/// module with `dialect`, in the calling crate.
#[macro_export]
macro_rules! registration {
    ($client:ident, $name:literal) => {
        #[doc = concat!("How prov finds ", $name, ": its descriptor, how to connect, and (feature `sandbox`) its dialect.")]
        #[cfg(feature = "sandbox")]
        pub static REGISTRATION: $crate::Registration<prov_sandbox::NewDialect> =
            $crate::Registration { info: &INFO, connect, sandbox: sandbox::dialect };

        #[doc = concat!("How prov finds ", $name, ": its descriptor and how to connect.")]
        #[cfg(not(feature = "sandbox"))]
        pub static REGISTRATION: $crate::Registration = $crate::Registration { info: &INFO, connect, sandbox: () };

        #[doc = concat!("A ", $name, " client, boxed for [`REGISTRATION`].")]
        fn connect(settings: &$crate::ClientSettings) -> $crate::Result<Box<dyn $crate::Provider>> {
            Ok(Box::new($client::new(settings)?))
        }
    };
}

impl ProviderInfo {
    /// True when `name` is this provider's name or one of its aliases (case-insensitive).
    pub fn answers_to(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name) || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    }

    /// True when the provider supports the optional plan key.
    pub fn supports_key(&self, key: &str) -> bool {
        self.plan_keys.contains(&key)
    }
}

/// Everything needed to create one instance, already validated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CreateSpec {
    /// Label (DigitalOcean: name).
    pub label: String,
    /// Region id.
    pub region: String,
    /// Plan id.
    pub plan: String,
    /// Image id.
    pub image: String,
    /// Enable IPv6.
    pub ipv6: Option<bool>,
    /// Enable automatic backups.
    pub backups: Option<bool>,
    /// Tags.
    pub tags: Vec<String>,
    /// SSH keys: ids stored on the account (Vultr, DigitalOcean) or public key lines (Linode).
    pub ssh_keys: Vec<String>,
    /// Cloud-init user data, plain text (providers encode it as their API wants).
    pub user_data: Option<Secret>,
    /// Hostname (Vultr).
    pub hostname: Option<String>,
    /// Root password (Linode).
    pub root_password: Option<Secret>,
    /// Add a private IPv4 (Linode).
    pub private_ip: Option<bool>,
    /// Enable the monitoring agent (DigitalOcean).
    pub monitoring: Option<bool>,
}

/// The answer to a create call.
#[derive(Debug, Clone)]
pub struct Created {
    /// The instance as the create call returned it.
    pub instance: Instance,
    /// A root password prov generated for this instance, to be shown to the user exactly once.
    pub generated_password: Option<Secret>,
}

/// What `delete` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// The instance was deleted now.
    Deleted,
    /// The provider answered 404: it was already gone.
    AlreadyGone,
}

/// One cloud provider's API. Implementations live in the provider crates; they never print.
pub trait Provider: Send + Sync {
    /// The provider's static descriptor.
    fn info(&self) -> &'static ProviderInfo;
    /// Every region, across all pages.
    fn list_regions(&self) -> Result<Vec<Region>>;
    /// Every plan, across all pages.
    fn list_sizes(&self) -> Result<Vec<Size>>;
    /// Every OS image, across all pages.
    fn list_images(&self) -> Result<Vec<Image>>;
    /// Every instance, across all pages.
    fn list_instances(&self) -> Result<Vec<Instance>>;
    /// One instance by id.
    fn get_instance(&self, id: &str) -> Result<Instance>;
    /// Creates an instance. The POST is sent at most once.
    fn create_instance(&self, spec: &CreateSpec) -> Result<Created>;
    /// Deletes an instance; a 404 is [`Deleted::AlreadyGone`].
    fn delete_instance(&self, id: &str) -> Result<Deleted>;
    /// The exact create request `create_instance` would send for `spec` (for dry runs; secrets are redacted by
    /// the caller when shown). A password the provider client would generate is not part of it.
    fn create_request(&self, spec: &CreateSpec) -> crate::http::Request;
    /// The HTTP layer in use (base URL, clock).
    fn http(&self) -> &crate::Http;

    /// Instances labelled `label` that carry `tag`, to find a create whose answer was lost. The default lists
    /// every instance; providers override it with a server-side filter (§8 of each provider doc, e.g.
    /// docs/providers/linode.md §8).
    fn find_instances(&self, label: &str, tag: &str) -> Result<Vec<Instance>> {
        Ok(self.list_instances()?.into_iter().filter(|i| i.label == label && i.has_tag(tag)).collect())
    }

    /// Wait level `created`: the instance has a public IPv4.
    fn is_created(&self, instance: &Instance) -> bool {
        instance.ipv4.is_some()
    }
    /// Wait level `ready`: the provider says it is fully ready (each provider's normalization encodes its rule).
    fn is_ready(&self, instance: &Instance) -> bool {
        instance.status == InstanceStatus::Ready
    }
}
