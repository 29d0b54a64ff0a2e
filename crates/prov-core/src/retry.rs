//! The retry policy of the HTTP chokepoint: which answers are retried, and how long to wait before the next try
//! (`Retry-After` first, otherwise full-jitter exponential backoff). Pure functions; the caller sleeps on its clock.

use std::time::{Duration, SystemTime};

/// How a request ended, as far as the retry decision is concerned.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    /// An HTTP answer with this status and `Retry-After` header value, if any.
    Status(u16, Option<&'a str>),
    /// No answer: connection refused or reset, timeout, TLS failure.
    Transport,
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Hand the outcome to the caller (success, or a failure that is not retried).
    Finish,
    /// Try again after this delay.
    RetryAfter(Duration),
}

/// Retry limits. The defaults follow CONVENTIONS.md: 4 attempts, 0.5 s base, 20 s cap, `Retry-After` up to 120 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, including the first.
    pub max_attempts: u32,
    /// First backoff ceiling; doubles each attempt.
    pub base_delay: Duration,
    /// Largest backoff ceiling.
    pub max_delay: Duration,
    /// Largest `Retry-After` honoured; a longer one is waited only up to this.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        Self { max_attempts: 1, ..Self::default() }
    }

    /// Decides after attempt number `attempt` (1-based). `idempotent` is true for GET and DELETE: only those are
    /// retried after a 5xx or a transport failure, because a create POST whose answer was lost may have created
    /// a server. 429 is retried for every method: the provider refused the request without acting on it.
    /// `unit` is a random number in [0, 1) for the jitter.
    pub fn decide(&self, attempt: u32, idempotent: bool, outcome: Outcome<'_>, now: SystemTime, unit: f64) -> Decision {
        if attempt >= self.max_attempts {
            return Decision::Finish;
        }
        match outcome {
            Outcome::Status(429, retry_after) => {
                let wait = retry_after
                    .and_then(|v| parse_retry_after(v, now))
                    .map(|d| d.min(self.max_retry_after))
                    .unwrap_or_else(|| self.backoff(attempt, unit));
                Decision::RetryAfter(wait)
            }
            Outcome::Status(status, retry_after) if status >= 500 && idempotent => {
                let wait = retry_after
                    .and_then(|v| parse_retry_after(v, now))
                    .map(|d| d.min(self.max_retry_after))
                    .unwrap_or_else(|| self.backoff(attempt, unit));
                Decision::RetryAfter(wait)
            }
            Outcome::Transport if idempotent => Decision::RetryAfter(self.backoff(attempt, unit)),
            _ => Decision::Finish,
        }
    }

    /// Full jitter: a uniform delay in `[0, min(max_delay, base_delay * 2^(attempt-1))]`.
    pub fn backoff(&self, attempt: u32, unit: f64) -> Duration {
        let exp = attempt.saturating_sub(1).min(16);
        let ceiling = self.base_delay.saturating_mul(1 << exp).min(self.max_delay);
        ceiling.mul_f64(unit.clamp(0.0, 1.0))
    }
}

/// Parses a `Retry-After` value: delay seconds (`"3"`) or an HTTP-date (`"Wed, 21 Oct 2015 07:28:00 GMT"`).
/// A date in the past means "now".
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too large for any integer type is still "a very long time": capped by the caller like any other.
        return Some(Duration::from_secs(value.parse::<u64>().unwrap_or(u64::MAX)));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: SystemTime = SystemTime::UNIX_EPOCH;

    #[test]
    fn retry_after_seconds_wins_over_backoff() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.decide(1, false, Outcome::Status(429, Some("7")), NOW, 0.9),
            Decision::RetryAfter(Duration::from_secs(7))
        );
    }

    #[test]
    fn retry_after_http_date_is_relative_to_now() {
        let p = RetryPolicy::default();
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap_or(NOW);
        let d = p.decide(1, true, Outcome::Status(503, Some("Wed, 21 Oct 2015 07:28:05 GMT")), now, 0.5);
        assert_eq!(d, Decision::RetryAfter(Duration::from_secs(5)));
    }

    #[test]
    fn retry_after_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.decide(1, true, Outcome::Status(429, Some("86400")), NOW, 0.5),
            Decision::RetryAfter(p.max_retry_after)
        );
    }

    #[test]
    fn a_retry_after_too_large_for_any_integer_is_capped_like_any_other() {
        let p = RetryPolicy::default();
        let huge = "9".repeat(60);
        assert_eq!(
            p.decide(1, true, Outcome::Status(503, Some(&huge)), NOW, 0.5),
            Decision::RetryAfter(p.max_retry_after)
        );
    }

    #[test]
    fn post_is_not_retried_after_5xx_or_transport_failure_but_is_after_429() {
        let p = RetryPolicy::default();
        assert_eq!(p.decide(1, false, Outcome::Status(502, None), NOW, 0.5), Decision::Finish);
        assert_eq!(p.decide(1, false, Outcome::Transport, NOW, 0.5), Decision::Finish);
        assert!(matches!(p.decide(1, false, Outcome::Status(429, None), NOW, 0.5), Decision::RetryAfter(_)));
        assert!(matches!(p.decide(1, true, Outcome::Status(502, None), NOW, 0.5), Decision::RetryAfter(_)));
        assert!(matches!(p.decide(1, true, Outcome::Transport, NOW, 0.5), Decision::RetryAfter(_)));
    }

    #[test]
    fn client_errors_and_exhausted_attempts_finish() {
        let p = RetryPolicy::default();
        assert_eq!(p.decide(1, true, Outcome::Status(404, None), NOW, 0.5), Decision::Finish);
        assert_eq!(p.decide(p.max_attempts, true, Outcome::Status(503, None), NOW, 0.5), Decision::Finish);
    }

    #[test]
    fn backoff_is_full_jitter_below_a_doubling_capped_ceiling() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1, 0.0), Duration::ZERO);
        assert_eq!(p.backoff(1, 1.0), Duration::from_millis(500));
        assert_eq!(p.backoff(3, 1.0), Duration::from_secs(2));
        assert_eq!(p.backoff(30, 1.0), p.max_delay);
    }
}
