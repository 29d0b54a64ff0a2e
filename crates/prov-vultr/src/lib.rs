//! Vultr (API v2) for prov: the provider descriptor and its rules, the payload models, the blocking client, and
//! the sandbox dialect that simulates Vultr on loopback.
//!
//! ```no_run
//! use prov_core::{ClientSettings, Provider};
//! let vultr = prov_vultr::Vultr::new(&ClientSettings::from_env(&prov_vultr::INFO))?;
//! for region in vultr.list_regions()? {
//!     println!("{} {}", region.id, region.name);
//! }
//! # Ok::<(), prov_core::Error>(())
//! ```

pub mod api;
mod client;
#[cfg(feature = "sandbox")]
pub mod sandbox;

use prov_core::ApiError;
use prov_core::provider::{CreateSpec, FieldProblem, LegacyKey, ProviderInfo};

pub use client::Vultr;

prov_core::registration!(Vultr, "Vultr");

/// Vultr's documented limit (docs/providers/vultr.md §3): more than 30 requests per second may answer 429.
pub const RATE_LIMITS: &[prov_core::ratelimit::RateLimit] = &[prov_core::ratelimit::RateLimit {
    scope: prov_core::ratelimit::Scope::All,
    max: 30,
    per: std::time::Duration::from_secs(1),
}];

/// Vultr's descriptor.
pub static INFO: ProviderInfo = ProviderInfo {
    name: "vultr",
    display_name: "Vultr",
    aliases: &[],
    default_base_url: "https://api.vultr.com/v2",
    url_env: "PROV_VULTR_API_URL",
    token_env: &["VULTR_API_KEY", "PROD_VULTR_API_KEY"],
    currency: prov_core::Currency::Usd,
    catalogue_needs_token: false,
    plan_keys: &["ipv6", "backups", "tags", "ssh_keys", "user_data", "hostname"],
    unsupported_hints: &[
        ("root_password", "Vultr sets a root password itself; use `ssh_keys` to log in"),
        ("private_ip", "use a VPC on Vultr"),
    ],
    legacy_keys: &[
        LegacyKey::Maps("region", "region"),
        LegacyKey::Maps("plan", "plan"),
        LegacyKey::Maps("os_id", "image"),
        LegacyKey::Maps("label", "label"),
        LegacyKey::Maps("hostname", "hostname"),
        LegacyKey::Maps("enable_ipv6", "ipv6"),
        LegacyKey::Maps("backups", "backups"),
        LegacyKey::Maps("tag", "tags"),
        LegacyKey::Maps("tags", "tags"),
        LegacyKey::Maps("sshkey_id", "ssh_keys"),
        LegacyKey::Maps("user_data", "user_data"),
    ],
    sandbox_path: "/vultr/v2",
    validate,
    parse_error,
};

/// Vultr's own rules for a create, checked before anything is sent.
fn validate(spec: &CreateSpec) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    if spec.image.parse::<u32>().is_err() {
        problems.push(FieldProblem {
            key: "image",
            message: format!("Vultr images are numeric OS ids (`prov list vultr images`), not `{}`", spec.image),
        });
    }
    if spec.label.chars().count() > 255 {
        problems.push(FieldProblem { key: "label", message: "at most 255 characters on Vultr".into() });
    }
    if let Some(h) = &spec.hostname {
        let ok = !h.is_empty()
            && h.len() <= 253
            && h.split('.').all(|part| {
                !part.is_empty()
                    && part.len() <= 63
                    && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !part.starts_with('-')
                    && !part.ends_with('-')
            });
        if !ok {
            problems.push(FieldProblem {
                key: "hostname",
                message: format!("`{h}` is not a valid hostname (letters, digits, `-` and `.`)"),
            });
        }
    }
    for key in &spec.ssh_keys {
        if key.contains(' ') || key.starts_with("ssh-") {
            problems.push(FieldProblem {
                key: "ssh_keys",
                message: "Vultr takes ids of SSH keys stored on the account, not public key lines".into(),
            });
            break;
        }
    }
    problems
}

/// Parses Vultr's error body `{"error": "...", "status": 400}`.
fn parse_error(status: u16, body: &[u8]) -> ApiError {
    #[derive(serde::Deserialize)]
    struct Body {
        error: String,
    }
    match serde_json::from_slice::<Body>(body) {
        Ok(b) if !b.error.trim().is_empty() => ApiError::message(b.error.trim().trim_end_matches('.')),
        _ => ApiError::from_unknown_body(status, body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_is_parsed_and_html_is_summarised() {
        assert_eq!(parse_error(401, br#"{"error":"Invalid API token.","status":401}"#).message, "Invalid API token");
        assert_eq!(
            parse_error(502, b"<html><body>Bad gateway</body></html>").message,
            "an HTML page (37 bytes) instead of the provider's JSON"
        );
    }

    #[test]
    fn rules_reject_non_numeric_images_and_raw_ssh_keys() {
        let spec = CreateSpec {
            label: "web".into(),
            image: "debian".into(),
            ssh_keys: vec!["ssh-ed25519 AAAA me".into()],
            ..CreateSpec::default()
        };
        let keys: Vec<_> = validate(&spec).into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["image", "ssh_keys"]);
    }
}
