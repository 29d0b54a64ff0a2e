//! Secrets (API tokens, root passwords, user-data): a wrapper that never prints its value, and the masking of
//! secret fields inside JSON bodies for logs and dry runs.

use serde_json::Value;

/// The text shown in place of a secret.
pub const REDACTED: &str = "[redacted]";

/// JSON object keys whose values are secrets in any provider's request or response body.
pub const SECRET_KEYS: &[&str] =
    &["root_pass", "root_password", "default_password", "password", "user_data", "token", "api_key"];

/// A secret string. `Debug` and `Display` print `[redacted]`; only [`Secret::expose`] gives the value.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value, for the one place that must send or show it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Returns a copy of `value` with every secret field (see [`SECRET_KEYS`]) replaced by `[redacted]`, at any depth.
pub fn redact_json(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if SECRET_KEYS.contains(&k.as_str()) && !v.is_null() {
                        Value::String(REDACTED.to_owned())
                    } else {
                        redact_json(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact_json).collect()),
        other => other.clone(),
    }
}

/// Redacts a raw body for logging: JSON bodies are masked field by field; anything else is shown only by size,
/// because a body that is not JSON cannot be masked reliably.
pub fn redact_body(body: &[u8]) -> String {
    if body.is_empty() {
        return String::new();
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => redact_json(&v).to_string(),
        Err(_) => format!("<{} bytes, not JSON>", body.len()),
    }
}

/// Generates a strong password: `len` characters (at least 16) drawn from a CSPRNG (`rand`'s thread RNG, ChaCha
/// based and OS-seeded), with at least one lower-case letter, upper-case letter, digit and symbol, so providers'
/// strength checks accept it.
pub fn generate_password(len: usize) -> Secret {
    use rand::Rng;
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGIT: &[u8] = b"23456789";
    const SYMBOL: &[u8] = b"-_.+=@%";
    let len = len.max(16);
    let all: Vec<u8> = [LOWER, UPPER, DIGIT, SYMBOL].concat();
    let mut rng = rand::rng();
    loop {
        let pw: String = (0..len).map(|_| all[rng.random_range(0..all.len())] as char).collect();
        let has = |set: &[u8]| pw.bytes().any(|b| set.contains(&b));
        if has(LOWER) && has(UPPER) && has(DIGIT) && has(SYMBOL) {
            return Secret::new(pw);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_long_mixed_and_different() {
        let a = generate_password(32);
        let b = generate_password(32);
        assert_eq!(a.expose().chars().count(), 32);
        assert_ne!(a.expose(), b.expose());
        for class in [char::is_ascii_lowercase, char::is_ascii_uppercase, char::is_ascii_digit] {
            assert!(a.expose().chars().any(|c| class(&c)), "{}", a.expose().len());
        }
    }

    #[test]
    fn secret_never_formats_its_value() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s} {s:?}"), "[redacted] [redacted]");
        assert_eq!(s.expose(), "hunter2-very-secret");
    }

    #[test]
    fn redact_json_masks_nested_secret_fields() {
        let v = serde_json::json!({"label":"a","root_pass":"pw1","metadata":{"user_data":"ZGF0YQ=="},
            "list":[{"default_password":"pw2"}]});
        let out = redact_json(&v).to_string();
        assert!(!out.contains("pw1") && !out.contains("pw2") && !out.contains("ZGF0YQ=="), "{out}");
        assert!(out.contains("\"label\":\"a\""));
    }

    #[test]
    fn non_json_bodies_are_summarised_not_echoed() {
        assert_eq!(redact_body(b"<html>token=abc</html>"), "<22 bytes, not JSON>");
    }
}
