//! Client-side rate budgets: sliding windows taken from each provider's documented limits (§3 of each
//! `docs/providers/<provider>.md`), applied by the HTTP chokepoint before every request so a large plan does not trip
//! 429. Waits go through the `Clock`.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::provider::Operation;

/// Which requests a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every request.
    All,
    /// Only instance creates.
    Creates,
}

/// At most `max` requests of `scope` in any window of `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// What it counts.
    pub scope: Scope,
    /// How many.
    pub max: u32,
    /// In what window.
    pub per: Duration,
}

/// Enforces a set of [`RateLimit`]s. Shared by every thread using one client.
#[derive(Debug, Default)]
pub struct Limiter {
    windows: Vec<(RateLimit, Mutex<VecDeque<Instant>>)>,
}

impl Limiter {
    /// A limiter for `limits`.
    pub fn new(limits: &[RateLimit]) -> Self {
        Self { windows: limits.iter().map(|l| (*l, Mutex::new(VecDeque::new()))).collect() }
    }

    /// Waits (on `clock`) until a request for `op` fits every window, then counts it.
    pub fn acquire(&self, op: Operation, clock: &dyn Clock) {
        for (limit, window) in &self.windows {
            if limit.scope == Scope::Creates && op != Operation::CreateInstance {
                continue;
            }
            loop {
                let wait = {
                    let mut w = window.lock().unwrap_or_else(|p| p.into_inner());
                    let now = clock.now();
                    while w.front().is_some_and(|t| now.saturating_duration_since(*t) >= limit.per) {
                        w.pop_front();
                    }
                    if (w.len() as u32) < limit.max {
                        w.push_back(now);
                        None
                    } else {
                        w.front().map(|oldest| limit.per.saturating_sub(now.saturating_duration_since(*oldest)))
                    }
                };
                match wait {
                    None => break,
                    Some(d) => {
                        log::debug!("rate budget: waiting {} ms", d.as_millis());
                        clock.sleep(d.max(Duration::from_millis(1)));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn the_eleventh_create_in_thirty_seconds_waits_for_the_window() {
        let clock = ManualClock::new();
        let l = Limiter::new(&[RateLimit { scope: Scope::Creates, max: 10, per: Duration::from_secs(30) }]);
        for _ in 0..10 {
            l.acquire(Operation::CreateInstance, &clock);
        }
        assert!(clock.sleeps().is_empty());
        l.acquire(Operation::ListInstances, &clock);
        assert!(clock.sleeps().is_empty(), "reads are not counted by a creates-only limit");
        l.acquire(Operation::CreateInstance, &clock);
        assert_eq!(clock.sleeps(), vec![Duration::from_secs(30)]);
    }

    #[test]
    fn a_request_limit_spreads_a_burst() {
        let clock = ManualClock::new();
        let l = Limiter::new(&[RateLimit { scope: Scope::All, max: 30, per: Duration::from_secs(1) }]);
        for _ in 0..90 {
            l.acquire(Operation::GetInstance, &clock);
        }
        assert_eq!(clock.elapsed(), Duration::from_secs(2), "90 requests at 30/s span two extra windows");
    }
}
