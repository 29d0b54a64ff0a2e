//! Time as a dependency: the real clock, and a manual clock whose `sleep` only advances time, so retry and wait
//! logic is tested instantly and deterministically.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// A source of time that can also sleep. Everything that waits (retries, polling) goes through one.
pub trait Clock: Send + Sync {
    /// Monotonic now.
    fn now(&self) -> Instant;
    /// Wall-clock now (for HTTP-date `Retry-After`).
    fn wall(&self) -> SystemTime;
    /// Sleeps for `d` (a manual clock only advances).
    fn sleep(&self, d: Duration);
    /// Sleeps for `d` unless `cancel` is set first (checked every 100 ms); true when it was cancelled.
    fn sleep_unless(&self, d: Duration, cancel: &AtomicBool) -> bool {
        let mut left = d;
        while !left.is_zero() {
            if cancel.load(Ordering::Relaxed) {
                return true;
            }
            let slice = left.min(Duration::from_millis(100));
            self.sleep(slice);
            left -= slice;
        }
        cancel.load(Ordering::Relaxed)
    }
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }
    fn sleep(&self, d: Duration) {
        #[allow(clippy::disallowed_methods)] // the one real sleep in the code base
        std::thread::sleep(d);
    }
}

/// A clock for tests: `sleep` advances time and records the duration, and never blocks.
#[derive(Debug)]
pub struct ManualClock {
    start: Instant,
    wall_start: SystemTime,
    state: Mutex<(Duration, Vec<Duration>)>,
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl ManualClock {
    /// A manual clock starting now.
    pub fn new() -> Self {
        Self { start: Instant::now(), wall_start: SystemTime::now(), state: Mutex::new((Duration::ZERO, Vec::new())) }
    }

    /// Every duration passed to `sleep`, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.state.lock().map(|s| s.1.clone()).unwrap_or_default()
    }

    /// Total simulated time elapsed.
    pub fn elapsed(&self) -> Duration {
        self.state.lock().map(|s| s.0).unwrap_or_default()
    }

    /// Advances time without recording a sleep.
    pub fn advance(&self, d: Duration) {
        if let Ok(mut s) = self.state.lock() {
            s.0 += d;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start + self.elapsed()
    }
    fn wall(&self) -> SystemTime {
        self.wall_start + self.elapsed()
    }
    fn sleep(&self, d: Duration) {
        if let Ok(mut s) = self.state.lock() {
            s.0 += d;
            s.1.push(d);
        }
    }
    /// One recorded sleep (time only advances), unless `cancel` is already set.
    fn sleep_unless(&self, d: Duration, cancel: &AtomicBool) -> bool {
        if cancel.load(Ordering::Relaxed) {
            return true;
        }
        self.sleep(d);
        false
    }
}
