//! Linode (API v4) for prov: the provider descriptor and its rules, the payload models, the blocking client, and
//! the sandbox dialect that simulates Linode on loopback.
//!
//! ```no_run
//! use prov_core::{ClientSettings, Provider};
//! let linode = prov_linode::Linode::new(&ClientSettings::from_env(&prov_linode::INFO))?;
//! for region in linode.list_regions()? {
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

pub use client::{Linode, PASSWORD_PLACEHOLDER};

prov_core::registration!(Linode, "Linode");

/// Linode's documented limits (docs/providers/linode.md §3): 10 creates per 30 s, about 800 requests per 2 minutes.
pub const RATE_LIMITS: &[prov_core::ratelimit::RateLimit] = &[
    prov_core::ratelimit::RateLimit {
        scope: prov_core::ratelimit::Scope::Creates,
        max: 10,
        per: std::time::Duration::from_secs(30),
    },
    prov_core::ratelimit::RateLimit {
        scope: prov_core::ratelimit::Scope::All,
        max: 800,
        per: std::time::Duration::from_secs(120),
    },
];

/// Linode's descriptor.
pub static INFO: ProviderInfo = ProviderInfo {
    name: "linode",
    display_name: "Linode",
    aliases: &[],
    default_base_url: "https://api.linode.com/v4",
    url_env: "PROV_LINODE_API_URL",
    token_env: &["LINODE_API_KEY", "PROD_LINODE_API_KEY", "LINODE_TOKEN", "LINODE_CLI_TOKEN"],
    currency: prov_core::Currency::Usd,
    catalogue_needs_token: false,
    plan_keys: &["backups", "tags", "ssh_keys", "user_data", "root_password", "private_ip"],
    unsupported_hints: &[
        ("ipv6", "Linode instances always get IPv6"),
        ("hostname", "Linode has no hostname field; the label names the instance"),
    ],
    legacy_keys: &[
        LegacyKey::Maps("region", "region"),
        LegacyKey::Maps("type", "plan"),
        LegacyKey::Maps("image", "image"),
        LegacyKey::Maps("root_pass", "root_password"),
        LegacyKey::Maps("label", "label"),
        LegacyKey::Maps("authorized_keys", "ssh_keys"),
        LegacyKey::Maps("tags", "tags"),
        LegacyKey::Maps("backups_enabled", "backups"),
        LegacyKey::Maps("private_ip", "private_ip"),
    ],
    sandbox_path: "/linode/v4",
    validate,
    parse_error,
};

/// Linode's label rule as the API documents it, quoted in messages.
pub const LABEL_PATTERN: &str = r"^[a-zA-Z]((?!--|__|\.\.)[a-zA-Z0-9-_.])+$";

/// Largest cloud-init user data Linode accepts, in bytes before base64 encoding.
pub const MAX_USER_DATA_BYTES: usize = 65_535;

/// Why `label` breaks Linode's rule (3–64 characters matching [`LABEL_PATTERN`]), or `None` when it is fine.
/// Implemented without a regex engine: a letter first, then letters, digits, `-`, `_` or `.`, and never two
/// `-`, `_` or `.` in a row.
pub fn label_problem(label: &str) -> Option<String> {
    let len = label.chars().count();
    let rule = format!(
        "Linode labels are 3–64 characters: a letter first, then letters, digits, `-`, `_` or `.`, with no `--`, `__` or `..` (pattern {LABEL_PATTERN})"
    );
    if !(3..=64).contains(&len) {
        return Some(format!("`{label}` is {len} characters long; {rule}"));
    }
    let first_ok = label.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = label.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let doubled = ["--", "__", ".."].iter().any(|d| label.contains(d));
    if first_ok && rest_ok && !doubled { None } else { Some(format!("`{label}` is not a valid label; {rule}")) }
}

/// True when `key` looks like a public SSH key line (`ssh-ed25519 AAAA… me@host`), the form Linode takes.
pub fn looks_like_public_key(key: &str) -> bool {
    let key = key.trim();
    ["ssh-", "ecdsa-", "sk-"].iter().any(|p| key.starts_with(p)) && key.split_whitespace().count() >= 2
}

/// Linode's own rules for a create, checked before anything is sent.
fn validate(spec: &CreateSpec) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    if let Some(message) = label_problem(&spec.label) {
        problems.push(FieldProblem { key: "label", message });
    }
    let image_ok =
        ["linode/", "private/"].iter().any(|p| spec.image.strip_prefix(p).is_some_and(|rest| !rest.trim().is_empty()));
    if !image_ok {
        problems.push(FieldProblem {
            key: "image",
            message: format!(
                "Linode images look like `linode/debian12` or `private/12345` (`prov list linode images`), not `{}`",
                spec.image
            ),
        });
    }
    if let Some(pw) = &spec.root_password {
        let n = pw.expose().chars().count();
        if !(7..=128).contains(&n) {
            problems.push(FieldProblem {
                key: "root_password",
                message: format!(
                    "must be 7–128 characters on Linode (it is {n}); leave it out and prov generates a strong one"
                ),
            });
        }
    }
    if let Some(ud) = &spec.user_data {
        let n = ud.expose().len();
        if n > MAX_USER_DATA_BYTES {
            problems.push(FieldProblem {
                key: "user_data",
                message: format!("is {n} bytes; Linode takes at most {MAX_USER_DATA_BYTES} bytes before encoding"),
            });
        }
    }
    if let Some(bad) = spec.ssh_keys.iter().find(|k| !looks_like_public_key(k)) {
        let shown: String = bad.chars().take(24).collect();
        let ellipsis = if bad.chars().count() > 24 { "…" } else { "" };
        problems.push(FieldProblem {
            key: "ssh_keys",
            message: format!(
                "Linode takes public key lines (`ssh-ed25519 AAAA… you@host`, also `ecdsa-…` and `sk-…`), not `{shown}{ellipsis}`"
            ),
        });
    }
    problems
}

/// Parses Linode's error body `{"errors":[{"field":"…","reason":"…"}]}`: every reason is kept with its field,
/// and the message is the reasons joined. Any other body falls back to [`ApiError::from_unknown_body`].
fn parse_error(status: u16, body: &[u8]) -> ApiError {
    #[derive(serde::Deserialize)]
    struct Body {
        errors: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(default)]
        field: Option<String>,
        #[serde(default)]
        reason: Option<String>,
    }
    let Ok(parsed) = serde_json::from_slice::<Body>(body) else { return ApiError::from_unknown_body(status, body) };
    let fields: Vec<(Option<String>, String)> = parsed
        .errors
        .into_iter()
        .filter_map(|e| {
            let reason = e.reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty())?;
            Some((e.field.map(|f| f.trim().to_owned()).filter(|f| !f.is_empty()), reason))
        })
        .collect();
    if fields.is_empty() {
        return ApiError::from_unknown_body(status, body);
    }
    let message = fields.iter().map(|(_, r)| r.as_str()).collect::<Vec<_>>().join("; ");
    ApiError { message, fields, ..ApiError::default() }
}

#[cfg(test)]
mod tests {
    use prov_core::Secret;

    use super::*;

    /// A valid create for the unit tests of this crate.
    pub(crate) fn spec() -> CreateSpec {
        CreateSpec {
            label: "web-1".into(),
            region: "ap-southeast".into(),
            plan: "g6-nanode-1".into(),
            image: "linode/debian12".into(),
            ..CreateSpec::default()
        }
    }

    fn keys(spec: &CreateSpec) -> Vec<&'static str> {
        validate(spec).into_iter().map(|p| p.key).collect()
    }

    #[test]
    fn a_good_spec_has_no_problems() {
        let s = CreateSpec {
            root_password: Some(Secret::new("Correct-Horse-9")),
            ssh_keys: vec!["ssh-ed25519 AAAAC3Nza me@host".into(), "ecdsa-sha2-nistp256 AAAAE2 x".into()],
            user_data: Some(Secret::new("#cloud-config\n")),
            ..spec()
        };
        assert!(validate(&s).is_empty(), "{:?}", validate(&s));
    }

    #[test]
    fn labels_follow_linodes_pattern() {
        for good in ["abc", "web-1", "a_b.c-d", "x-_y", "Web.Server_01", "prov-syd-7f3a9c2e"] {
            assert_eq!(label_problem(good), None, "{good}");
        }
        for bad in ["ab", "1web", "-web", "web--1", "web__1", "web..1", "web 1", "wéb", "web/1", &"a".repeat(65), ""] {
            assert!(label_problem(bad).is_some(), "{bad}");
        }
        let msg = label_problem("web--1").unwrap_or_default();
        assert!(msg.contains(LABEL_PATTERN) && msg.contains("`web--1`"), "{msg}");
        assert_eq!(label_problem(&"a".repeat(64)), None);
    }

    #[test]
    fn rules_reject_bad_images_passwords_user_data_and_key_ids() {
        let s = CreateSpec {
            label: "1x".into(),
            image: "debian12".into(),
            root_password: Some(Secret::new("short")),
            user_data: Some(Secret::new("x".repeat(MAX_USER_DATA_BYTES + 1))),
            ssh_keys: vec!["12345".into()],
            ..spec()
        };
        assert_eq!(keys(&s), ["label", "image", "root_password", "user_data", "ssh_keys"]);
        assert_eq!(keys(&CreateSpec { image: "linode/".into(), ..spec() }), ["image"]);
        assert!(keys(&CreateSpec { image: "private/12345".into(), ..spec() }).is_empty());
        let long = CreateSpec { root_password: Some(Secret::new("a".repeat(129))), ..spec() };
        assert_eq!(keys(&long), ["root_password"]);
        let max_ud = CreateSpec { user_data: Some(Secret::new("x".repeat(MAX_USER_DATA_BYTES))), ..spec() };
        assert!(keys(&max_ud).is_empty());
    }

    #[test]
    fn password_problems_never_quote_the_password() {
        let s = CreateSpec { root_password: Some(Secret::new("hunter")), ..spec() };
        let text: String = validate(&s).into_iter().map(|p| p.message).collect();
        assert!(!text.contains("hunter"), "{text}");
    }

    #[test]
    fn every_reason_is_kept_with_its_field() {
        let body = br#"{"errors":[{"field":"root_pass","reason":"Password does not meet strength requirement"},
            {"field":"region","reason":"region is not valid"},{"reason":"Second thing"}]}"#;
        let e = parse_error(400, body);
        assert_eq!(e.message, "Password does not meet strength requirement; region is not valid; Second thing");
        assert_eq!(
            e.fields,
            vec![
                (Some("root_pass".into()), "Password does not meet strength requirement".into()),
                (Some("region".into()), "region is not valid".into()),
                (None, "Second thing".into()),
            ]
        );
        assert_eq!(
            e.to_string(),
            "root_pass: Password does not meet strength requirement; region: region is not valid; Second thing"
        );
    }

    #[test]
    fn validation_errors_parse_the_same_at_400_and_at_prisms_422() {
        let body = br#"{"errors":[{"field":"fieldname","reason":"fieldname must be a valid value"}]}"#;
        let real = parse_error(400, body);
        let prism = parse_error(422, body);
        assert_eq!(real, prism);
        assert_eq!(real.fields, vec![(Some("fieldname".into()), "fieldname must be a valid value".into())]);
    }

    #[test]
    fn fixture_error_bodies_parse() {
        let e400 = parse_error(400, include_bytes!("../../../fixtures/linode/error_400.json"));
        assert_eq!(e400.to_string(), "root_pass: Password does not meet strength requirement");
        assert_eq!(
            parse_error(401, include_bytes!("../../../fixtures/linode/error_401.json")).to_string(),
            "Invalid Token"
        );
        let e404 = parse_error(404, include_bytes!("../../../fixtures/linode/error_404.json"));
        assert_eq!((e404.message.as_str(), e404.fields.len()), ("Not found", 1));
    }

    #[test]
    fn null_fields_and_foreign_bodies_fall_back() {
        assert_eq!(
            parse_error(400, br#"{"errors":[{"field":null,"reason":"Bad"}]}"#).fields,
            vec![(None, "Bad".into())]
        );
        assert_eq!(
            parse_error(502, b"<html><body>Bad gateway</body></html>").message,
            "an HTML page (37 bytes) instead of the provider's JSON"
        );
        assert_eq!(parse_error(500, b"").message, "an empty answer");
        assert_eq!(parse_error(400, br#"{"errors":[]}"#).message, r#"{"errors":[]}"#);
        assert_eq!(parse_error(400, br#"{"error":"x"}"#).message, r#"{"error":"x"}"#);
    }
}
