//! The error type of every library crate: documented variants that name the provider and the operation, keep the
//! provider's own error body, and map to the CLI's exit codes.

use std::time::Duration;

use crate::model::Instance;
use crate::provider::Operation;

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A provider's error body, parsed (Vultr `error`, Linode `errors[].field/reason`, DigitalOcean `id/message`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiError {
    /// The provider's message (every reason joined, for Linode).
    pub message: String,
    /// Field-level reasons, when the provider names fields (Linode).
    pub fields: Vec<(Option<String>, String)>,
    /// The provider's machine code (DigitalOcean `id`).
    pub code: Option<String>,
    /// The provider's request id (DigitalOcean `request_id`), worth quoting to support.
    pub request_id: Option<String>,
}

impl ApiError {
    /// An error with only a message.
    pub fn message(message: impl Into<String>) -> Self {
        Self { message: message.into(), ..Self::default() }
    }

    /// Fallback for a body that is not the provider's error shape (an HTML 502 page, an empty body).
    pub fn from_unknown_body(status: u16, body: &[u8]) -> Self {
        let text = String::from_utf8_lossy(body);
        let looks_html = text.trim_start().starts_with('<');
        let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
        // The status is already in every message that shows this (`HTTP 502: …`), so it is not repeated here.
        let _ = status;
        let message = if body.is_empty() {
            "an empty answer".to_owned()
        } else if looks_html {
            format!("an HTML page ({} bytes) instead of the provider's JSON", body.len())
        } else {
            let mut s: String = first.chars().take(200).collect();
            if first.chars().count() > 200 {
                s.push('…');
            }
            s
        };
        Self::message(message)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Provider text: escaped, so it stays on one line and cannot drive the terminal.
        if self.fields.is_empty() {
            f.write_str(&crate::text::printable(&self.message))?;
        } else {
            let parts: Vec<String> = self
                .fields
                .iter()
                .map(|(field, reason)| match field {
                    Some(field) => format!("{}: {}", crate::text::printable(field), crate::text::printable(reason)),
                    None => crate::text::printable(reason).into_owned(),
                })
                .collect();
            f.write_str(&parts.join("; "))?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {})", crate::text::printable(id))?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in a library crate.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The provider answered with an error status (after the retry policy, where it applies).
    #[error("{provider}: {operation} failed: HTTP {status}: {error}")]
    Api {
        /// Provider name.
        provider: &'static str,
        /// What was being done.
        operation: Operation,
        /// HTTP status.
        status: u16,
        /// The provider's parsed error body.
        error: ApiError,
    },
    /// The request did not get an answer (connection refused, reset, timeout, TLS).
    #[error("{provider}: {operation} failed: {message}{}", if *.outcome_unknown { " (the request may have been carried out)" } else { "" })]
    Transport {
        /// Provider name.
        provider: &'static str,
        /// What was being done.
        operation: Operation,
        /// The transport's description.
        message: String,
        /// True when a non-idempotent request may have reached the provider (a create whose answer was lost).
        outcome_unknown: bool,
    },
    /// The answer was not the JSON shape the provider documents.
    #[error("{provider}: {operation} failed: unexpected answer at `{path}`: {message}")]
    Decode {
        /// Provider name.
        provider: &'static str,
        /// What was being done.
        operation: Operation,
        /// JSON path of the failure (`instances[3].ram`).
        path: String,
        /// What was wrong.
        message: String,
    },
    /// Pagination did not terminate sensibly (a repeated cursor, too many pages).
    #[error("{provider}: {operation} failed: {message}")]
    Paging {
        /// Provider name.
        provider: &'static str,
        /// What was being done.
        operation: Operation,
        /// What was wrong.
        message: String,
    },
    /// No API token was configured for an operation that needs one. Nothing was sent.
    #[error("{provider}: {operation} needs an API token: set {}", .vars.join(" or "))]
    MissingToken {
        /// Provider name.
        provider: &'static str,
        /// What was being done.
        operation: Operation,
        /// The environment variables that are read, in order.
        vars: &'static [&'static str],
    },
    /// The base URL is not acceptable (plain http to a non-loopback host, or not a URL). Nothing was sent.
    #[error("{provider}: refusing base URL `{url}`: {reason}")]
    BadBaseUrl {
        /// Provider name.
        provider: &'static str,
        /// The URL as given.
        url: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The instance did not reach the wait level before the deadline. This is a failure, never success.
    #[error("{provider}: instance {} did not become {level} within {}; last status {}{}", .last.id, humantime::format_duration(*.waited), .last.provider_status, failed_rounds_note(*.failed_rounds, .last_error.as_deref()))]
    WaitTimeout {
        /// Provider name.
        provider: &'static str,
        /// The level waited for.
        level: &'static str,
        /// How long was waited.
        waited: Duration,
        /// What was last known of the instance.
        last: Box<Instance>,
        /// How many poll rounds failed (outages the wait rode out).
        failed_rounds: u32,
        /// The last failed round's error, if any.
        last_error: Option<String>,
    },
    /// The user interrupted (Ctrl-C) while waiting.
    #[error("interrupted")]
    Interrupted,
    /// A value given by the user cannot be used (an id of the wrong form). Nothing was sent.
    #[error("{provider}: {message}")]
    InvalidInput {
        /// Provider name.
        provider: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// `; 3 poll rounds failed (last: …)` for a wait that rode out outages, or nothing.
pub fn failed_rounds_note(rounds: u32, last: Option<&str>) -> String {
    match (rounds, last) {
        (0, _) => String::new(),
        (n, Some(e)) => format!("; {n} poll round{} failed (last: {e})", if n == 1 { "" } else { "s" }),
        (n, None) => format!("; {n} poll round{} failed", if n == 1 { "" } else { "s" }),
    }
}

impl Error {
    /// The CLI exit code: 2 when nothing was sent because the input was wrong, 1 for everything after contact.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::MissingToken { .. } | Self::BadBaseUrl { .. } | Self::InvalidInput { .. } => 2,
            Self::Interrupted => 130,
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_providers_message_is_shown_on_one_line_with_controls_escaped() {
        let e = Error::Api {
            provider: "fake",
            operation: Operation::CreateInstance,
            status: 400,
            error: ApiError::message("bad\n\u{1b}[31mlabel"),
        };
        assert_eq!(e.to_string(), "fake: create instance failed: HTTP 400: bad\\n\\u{1b}[31mlabel");
    }
}
