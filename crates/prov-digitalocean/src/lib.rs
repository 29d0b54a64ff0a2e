//! DigitalOcean (API v2) for prov: the provider descriptor and its rules, the payload models, the blocking client,
//! and the sandbox dialect that simulates DigitalOcean on loopback.
//!
//! ```no_run
//! use prov_core::{ClientSettings, Provider};
//! let digitalocean = prov_digitalocean::DigitalOcean::new(&ClientSettings::from_env(&prov_digitalocean::INFO))?;
//! for region in digitalocean.list_regions()? {
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

pub use client::DigitalOcean;

prov_core::registration!(DigitalOcean, "DigitalOcean");

/// DigitalOcean's documented burst limit (docs/providers/digitalocean.md §3): 250 requests per minute per token.
pub const RATE_LIMITS: &[prov_core::ratelimit::RateLimit] = &[prov_core::ratelimit::RateLimit {
    scope: prov_core::ratelimit::Scope::All,
    max: 250,
    per: std::time::Duration::from_secs(60),
}];

/// Largest `user_data` DigitalOcean accepts, in bytes (64 KiB of plain text).
pub const MAX_USER_DATA_BYTES: usize = 64 * 1024;

/// DigitalOcean's descriptor.
pub static INFO: ProviderInfo = ProviderInfo {
    name: "digitalocean",
    display_name: "DigitalOcean",
    aliases: &["do", "digital_ocean"],
    default_base_url: "https://api.digitalocean.com/v2",
    url_env: "PROV_DIGITALOCEAN_API_URL",
    token_env: &["DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN", "PROD_DIGITAL_OCEAN_API_TOKEN"],
    currency: prov_core::Currency::Usd,
    catalogue_needs_token: true,
    plan_keys: &["ipv6", "backups", "tags", "ssh_keys", "user_data", "monitoring"],
    unsupported_hints: &[
        ("root_password", "DigitalOcean takes no root password: use `ssh_keys`"),
        ("hostname", "the label is the Droplet's name and hostname"),
        ("private_ip", "DigitalOcean Droplets get a VPC address automatically"),
    ],
    legacy_keys: &[
        LegacyKey::Maps("region", "region"),
        LegacyKey::Maps("size", "plan"),
        LegacyKey::Maps("image", "image"),
        LegacyKey::Maps("name", "label"),
        LegacyKey::Maps("ipv6", "ipv6"),
        LegacyKey::Maps("backups", "backups"),
        LegacyKey::Maps("ssh_keys", "ssh_keys"),
        LegacyKey::Maps("tags", "tags"),
        LegacyKey::Maps("user_data", "user_data"),
        LegacyKey::Maps("monitoring", "monitoring"),
        LegacyKey::Ignored(
            "root_pass",
            "DigitalOcean takes no root password, so `root_pass` is ignored; use `ssh_keys`",
        ),
    ],
    sandbox_path: "/digitalocean/v2",
    validate,
    parse_error,
};

/// True when `name` matches DigitalOcean's Droplet name pattern `^[a-zA-Z0-9]?[a-z0-9A-Z.\-]*[a-z0-9A-Z]$`: only
/// ASCII letters, digits, `.` and `-`, ending in a letter or digit. Length is checked separately.
pub fn is_valid_droplet_name(name: &str) -> bool {
    name.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && name.chars().last().is_some_and(|c| c.is_ascii_alphanumeric())
}

/// True when `tag` is a valid DigitalOcean tag: 1–255 letters, digits, `:`, `-` and `_`.
pub fn is_valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 255
        && tag.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_'))
}

/// True when `key` is how DigitalOcean names an SSH key stored on the account: an integer id or a fingerprint
/// (hex pairs separated by `:`, as in `3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa`).
pub fn is_ssh_key_reference(key: &str) -> bool {
    let id = !key.is_empty() && key.chars().all(|c| c.is_ascii_digit());
    let parts: Vec<&str> = key.split(':').collect();
    let fingerprint =
        parts.len() >= 2 && parts.iter().all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()));
    id || fingerprint
}

/// At most 40 characters of `s`, for messages.
fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

/// DigitalOcean's own rules for a create, checked before anything is sent.
fn validate(spec: &CreateSpec) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    if spec.label.chars().count() > 255 {
        problems.push(FieldProblem { key: "label", message: "at most 255 characters on DigitalOcean".into() });
    } else if !is_valid_droplet_name(&spec.label) {
        problems.push(FieldProblem {
            key: "label",
            message: format!(
                "`{}` is not a valid Droplet name on DigitalOcean: use only letters, digits, `.` and `-`, and end with a letter or digit",
                shorten(&spec.label)
            ),
        });
    }
    if let Some(ud) = &spec.user_data {
        let len = ud.expose().len();
        if len > MAX_USER_DATA_BYTES {
            problems.push(FieldProblem {
                key: "user_data",
                message: format!(
                    "{len} bytes is more than DigitalOcean's limit of 64 KiB ({MAX_USER_DATA_BYTES} bytes)"
                ),
            });
        }
    }
    for tag in &spec.tags {
        if !is_valid_tag(tag) {
            problems.push(FieldProblem {
                key: "tags",
                message: format!(
                    "`{}` is not a valid DigitalOcean tag: 1 to 255 letters, digits, `:`, `-` and `_`",
                    shorten(tag)
                ),
            });
        }
    }
    for key in &spec.ssh_keys {
        if !is_ssh_key_reference(key) {
            problems.push(FieldProblem {
                key: "ssh_keys",
                message: format!(
                    "`{}` is neither a key id nor a fingerprint: DigitalOcean takes ids or fingerprints of keys stored on the account, not public key lines",
                    shorten(key)
                ),
            });
        }
    }
    problems
}

/// Parses DigitalOcean's error body `{"id": "...", "message": "...", "request_id": "..."}`.
fn parse_error(status: u16, body: &[u8]) -> ApiError {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default)]
        id: Option<String>,
        message: String,
        #[serde(default)]
        request_id: Option<String>,
    }
    let non_empty = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    match serde_json::from_slice::<Body>(body) {
        Ok(b) if !b.message.trim().is_empty() => ApiError {
            message: b.message.trim().trim_end_matches('.').to_owned(),
            code: non_empty(b.id),
            request_id: non_empty(b.request_id),
            ..ApiError::default()
        },
        _ => ApiError::from_unknown_body(status, body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prov_core::Secret;

    fn spec() -> CreateSpec {
        CreateSpec {
            label: "web-1.example".into(),
            region: "sgp1".into(),
            plan: "s-1vcpu-1gb".into(),
            image: "ubuntu-24-04-x64".into(),
            ..CreateSpec::default()
        }
    }

    #[test]
    fn error_body_is_parsed_with_code_and_request_id() {
        let e = parse_error(401, include_bytes!("../../../fixtures/digitalocean/error_401.json"));
        assert_eq!(e.message, "Unable to authenticate you");
        assert_eq!(e.code.as_deref(), Some("unauthorized"));
        assert_eq!(e.request_id.as_deref(), Some("b1f0c8d2-3e4a-4c5b-9d6e-7f8091a2b3c4"));
        assert_eq!(e.to_string(), "Unable to authenticate you (request id b1f0c8d2-3e4a-4c5b-9d6e-7f8091a2b3c4)");
    }

    #[test]
    fn error_body_without_request_id_or_with_empty_id_still_parses() {
        let e = parse_error(401, br#"{"id":"","message":"Unable to authenticate you."}"#);
        assert_eq!((e.message.as_str(), e.code, e.request_id), ("Unable to authenticate you", None, None));
    }

    #[test]
    fn other_bodies_fall_back_to_a_summary() {
        assert_eq!(
            parse_error(502, b"<html><body>Bad gateway</body></html>").message,
            "an HTML page (37 bytes) instead of the provider's JSON"
        );
        assert_eq!(parse_error(500, b"").message, "an empty answer");
        assert_eq!(parse_error(500, br#"{"error":{"code":"invalid_json"}}"#).code, None);
    }

    #[test]
    fn names_follow_the_droplet_pattern() {
        for ok in ["a", "web-1", "Web.Example.com", "-x1", "9"] {
            assert!(is_valid_droplet_name(ok), "{ok}");
        }
        for bad in ["", "web_1", "web-", "web.", "wéb", "two words"] {
            assert!(!is_valid_droplet_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_good_spec_has_no_problems() {
        let s = CreateSpec {
            tags: vec!["env:prod".into(), "prov-run_1".into()],
            ssh_keys: vec!["512189".into(), "3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa".into()],
            user_data: Some(Secret::new("#cloud-config\n")),
            ..spec()
        };
        assert_eq!(validate(&s), Vec::new());
    }

    #[test]
    fn rules_reject_bad_names_tags_keys_and_big_user_data() {
        let s = CreateSpec {
            label: "web_1".into(),
            tags: vec!["has space".into()],
            ssh_keys: vec!["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB me@host".into()],
            user_data: Some(Secret::new("x".repeat(MAX_USER_DATA_BYTES + 1))),
            ..spec()
        };
        let problems = validate(&s);
        let keys: Vec<_> = problems.iter().map(|p| p.key).collect();
        assert_eq!(keys, ["label", "user_data", "tags", "ssh_keys"]);
        assert!(problems[3].message.contains("DigitalOcean takes ids or fingerprints of keys stored on the account"));
        let long = CreateSpec { label: "a".repeat(256), ..spec() };
        assert_eq!(validate(&long)[0].message, "at most 255 characters on DigitalOcean");
        let exact = CreateSpec { user_data: Some(Secret::new("x".repeat(MAX_USER_DATA_BYTES))), ..spec() };
        assert!(validate(&exact).is_empty());
    }

    #[test]
    fn descriptor_answers_to_its_aliases() {
        assert!(INFO.answers_to("DO") && INFO.answers_to("digital_ocean") && INFO.answers_to("digitalocean"));
        assert!(INFO.supports_key("monitoring") && !INFO.supports_key("hostname"));
    }
}
