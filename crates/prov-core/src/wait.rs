//! Waiting for a new instance: the three wait levels, adaptive polling (about 1 s at first, growing to at most
//! 10 s), and a deadline. Sleeps on an injected clock, so tests run instantly.

use std::time::Duration;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::model::Instance;
use crate::provider::Provider;

/// How far to wait after a create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitLevel {
    /// Return right after the create call.
    None,
    /// Until the instance has a public IPv4.
    Created,
    /// Until the provider says it is fully ready.
    #[default]
    Ready,
}

impl WaitLevel {
    /// Parses `none`, `created` or `ready`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(Self::None),
            "created" => Some(Self::Created),
            "ready" => Some(Self::Ready),
            _ => None,
        }
    }

    /// The level's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Created => "created",
            Self::Ready => "ready",
        }
    }

    /// True when `instance` has reached this level by `provider`'s rules.
    pub fn reached(self, provider: &dyn Provider, instance: &Instance) -> bool {
        match self {
            Self::None => true,
            Self::Created => provider.is_created(instance),
            Self::Ready => provider.is_ready(instance) && provider.is_created(instance),
        }
    }
}

/// Polling parameters.
#[derive(Debug, Clone, Copy)]
pub struct WaitOptions {
    /// The level to reach.
    pub level: WaitLevel,
    /// Give up after this long (a failure, never success).
    pub timeout: Duration,
    /// First poll interval.
    pub initial_interval: Duration,
    /// Longest poll interval.
    pub max_interval: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self {
            level: WaitLevel::Ready,
            timeout: Duration::from_secs(15 * 60),
            initial_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(10),
        }
    }
}

impl WaitOptions {
    /// The interval after `n` polls: starts at `initial_interval`, grows by half each poll, capped.
    pub fn interval(&self, n: u32) -> Duration {
        let grown = self.initial_interval.mul_f64(1.5f64.powi(n.min(40) as i32));
        grown.min(self.max_interval)
    }
}

/// Polls `provider` for one instance until `opts.level` is reached or the deadline passes: [`wait_all`] with one
/// instance and no interruption flag but the client's own. `on_poll` sees every change.
pub fn wait_for(
    provider: &dyn Provider,
    first: Instance,
    opts: &WaitOptions,
    clock: &dyn Clock,
    on_poll: impl FnMut(&Instance),
) -> Result<Instance> {
    let never = std::sync::atomic::AtomicBool::new(false);
    let mut all = wait_all(provider, vec![first], opts, clock, &never, on_poll);
    all.pop().unwrap_or(Err(Error::Interrupted))
}

/// True when a failed poll round is weather (an outage that may pass: 5xx, 429, a dropped connection, a timeout,
/// a garbled answer), not a reason to stop waiting (401, 403, 404).
pub fn is_weather(e: &Error) -> bool {
    match e {
        Error::Api { status, .. } => *status >= 500 || *status == 429,
        Error::Transport { .. } | Error::Decode { .. } | Error::Paging { .. } => true,
        _ => false,
    }
}

/// Waits for many instances of one provider at once. Each round makes one list call (every page) when more than
/// one instance is still waiting, one GET otherwise, so polling cost does not grow with the number of instances.
/// Every request runs under the wait's deadline ([`crate::http::with_deadline`]), so the timeout holds even while a
/// request is in flight. A round that fails with weather ([`is_weather`]) does not end the wait: only the deadline
/// does, and the timeout then says how many rounds failed. Returns one result per input, in order. `interrupted`
/// (and the client's cancel flag) is checked at least every 100 ms; once set, every instance still waiting ends
/// with [`Error::Interrupted`]. `on_change` sees each new observation.
pub fn wait_all(
    provider: &dyn Provider,
    first: Vec<Instance>,
    opts: &WaitOptions,
    clock: &dyn Clock,
    interrupted: &std::sync::atomic::AtomicBool,
    mut on_change: impl FnMut(&Instance),
) -> Vec<Result<Instance>> {
    use std::sync::atomic::Ordering;
    let start = clock.now();
    let deadline = start + opts.timeout;
    let stop = || interrupted.load(Ordering::Relaxed) || provider.http().cancelled();
    let mut last: Vec<Instance> = first;
    let mut done: Vec<Option<Result<Instance>>> = last.iter().map(|_| None).collect();
    let mut polls = 0;
    let mut failed_rounds = 0u32;
    let mut last_error: Option<String> = None;
    loop {
        for (i, inst) in last.iter().enumerate() {
            if done[i].is_none() && opts.level.reached(provider, inst) {
                done[i] = Some(Ok(inst.clone()));
            }
        }
        let waiting: Vec<usize> = (0..last.len()).filter(|i| done[*i].is_none()).collect();
        if waiting.is_empty() {
            break;
        }
        let waited = clock.now().saturating_duration_since(start);
        if waited >= opts.timeout {
            for i in waiting {
                done[i] = Some(Err(Error::WaitTimeout {
                    provider: provider.info().name,
                    level: opts.level.as_str(),
                    waited,
                    last: Box::new(last[i].clone()),
                    failed_rounds,
                    last_error: last_error.clone(),
                }));
            }
            break;
        }
        // Sleep in short slices so Ctrl-C is honoured promptly.
        let mut nap = opts.interval(polls).min(opts.timeout - waited);
        while !nap.is_zero() && !stop() {
            let slice = nap.min(Duration::from_millis(100));
            clock.sleep(slice);
            nap -= slice;
        }
        if stop() {
            for i in waiting {
                done[i] = Some(Err(Error::Interrupted));
            }
            break;
        }
        polls += 1;
        let observed: Result<Vec<Instance>> = crate::http::with_deadline(deadline, || {
            if waiting.len() > 1 {
                provider.list_instances()
            } else {
                provider.get_instance(&last[waiting[0]].id).map(|i| vec![i])
            }
        });
        match observed {
            Ok(seen) => {
                for i in &waiting {
                    if let Some(now) = seen.iter().find(|s| s.id == last[*i].id) {
                        if *now != last[*i] {
                            on_change(now);
                        }
                        last[*i] = now.clone();
                    }
                }
            }
            Err(e) if is_weather(&e) => {
                failed_rounds += 1;
                log::info!("{}: a poll round failed ({e}); still waiting", provider.info().name);
                last_error = Some(e.to_string());
            }
            Err(e) => {
                for i in waiting {
                    done[i] = Some(Err(e.clone()));
                }
                break;
            }
        }
    }
    done.into_iter().zip(last).map(|(d, inst)| d.unwrap_or(Ok(inst))).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::clock::ManualClock;
    use crate::fake::INFO;
    use crate::model::{Image, InstanceStatus, Region, Size};
    use crate::provider::{CreateSpec, Created, Deleted, Operation, ProviderInfo};
    use crate::{ApiError, ClientSettings, Http};

    fn inst(id: &str, status: InstanceStatus) -> Instance {
        Instance {
            provider: "fake".into(),
            id: id.into(),
            label: format!("web-{id}"),
            status,
            provider_status: status.to_string(),
            ipv4: Some("192.0.2.1".into()),
            ipv6: None,
            region: "r".into(),
            plan: "p".into(),
            image: "i".into(),
            tags: Vec::new(),
            created_at: None,
        }
    }

    fn outage(status: u16) -> Error {
        Error::Api { provider: "fake", operation: Operation::GetInstance, status, error: ApiError::message("down") }
    }

    /// Answers each poll round from a script (one entry per round, for gets and lists alike); when the script
    /// runs out every instance is still pending.
    struct Scripted {
        http: Http,
        rounds: Mutex<VecDeque<Result<Vec<Instance>>>>,
        gets: Mutex<u32>,
        lists: Mutex<u32>,
    }

    impl Scripted {
        fn new(clock: &Arc<ManualClock>, rounds: Vec<Result<Vec<Instance>>>) -> Self {
            let settings = ClientSettings { clock: clock.clone(), ..ClientSettings::default() };
            Self {
                http: Http::new(&INFO, &settings).unwrap_or_else(|e| panic!("{e}")),
                rounds: Mutex::new(rounds.into()),
                gets: Mutex::new(0),
                lists: Mutex::new(0),
            }
        }
        fn next(&self) -> Result<Vec<Instance>> {
            let next = self.rounds.lock().ok().and_then(|mut r| r.pop_front());
            next.unwrap_or_else(|| Ok(vec![inst("1", InstanceStatus::Pending), inst("2", InstanceStatus::Pending)]))
        }
        fn count(c: &Mutex<u32>) -> u32 {
            *c.lock().unwrap_or_else(|p| p.into_inner())
        }
    }

    impl Provider for Scripted {
        fn info(&self) -> &'static ProviderInfo {
            &INFO
        }
        fn list_regions(&self) -> Result<Vec<Region>> {
            Ok(Vec::new())
        }
        fn list_sizes(&self) -> Result<Vec<Size>> {
            Ok(Vec::new())
        }
        fn list_images(&self) -> Result<Vec<Image>> {
            Ok(Vec::new())
        }
        fn list_instances(&self) -> Result<Vec<Instance>> {
            *self.lists.lock().unwrap_or_else(|p| p.into_inner()) += 1;
            self.next()
        }
        fn get_instance(&self, id: &str) -> Result<Instance> {
            *self.gets.lock().unwrap_or_else(|p| p.into_inner()) += 1;
            let seen = self.next()?;
            seen.into_iter().find(|i| i.id == id).ok_or_else(|| outage(404))
        }
        fn create_instance(&self, _: &CreateSpec) -> Result<Created> {
            Err(outage(400))
        }
        fn delete_instance(&self, _: &str) -> Result<Deleted> {
            Ok(Deleted::Deleted)
        }
        fn create_request(&self, spec: &CreateSpec) -> crate::http::Request {
            crate::http::Request::post(Operation::CreateInstance, "/x", serde_json::json!({"label": spec.label}))
        }
        fn http(&self) -> &Http {
            &self.http
        }
    }

    fn opts(timeout_secs: u64) -> WaitOptions {
        WaitOptions { timeout: Duration::from_secs(timeout_secs), ..WaitOptions::default() }
    }

    #[test]
    fn a_burst_of_failed_rounds_during_a_long_wait_does_not_fail_it() {
        let clock = Arc::new(ManualClock::new());
        let ready = vec![inst("1", InstanceStatus::Ready)];
        let p = Scripted::new(&clock, vec![Err(outage(503)), Err(outage(503)), Ok(ready)]);
        let never = AtomicBool::new(false);
        let out =
            wait_all(&p, vec![inst("1", InstanceStatus::Pending)], &opts(15 * 60), clock.as_ref(), &never, |_| {});
        assert!(matches!(&out[..], [Ok(i)] if i.status == InstanceStatus::Ready), "{out:?}");
        assert_eq!(Scripted::count(&p.gets), 3);
    }

    #[test]
    fn a_wait_that_never_succeeds_times_out_on_the_manual_clock_naming_the_failed_rounds() {
        let clock = Arc::new(ManualClock::new());
        let p = Scripted::new(&clock, (0..1000).map(|_| Err(outage(502))).collect());
        let never = AtomicBool::new(false);
        let out = wait_all(&p, vec![inst("1", InstanceStatus::Pending)], &opts(60), clock.as_ref(), &never, |_| {});
        let e = match &out[..] {
            [Err(e @ Error::WaitTimeout { failed_rounds, .. })] if *failed_rounds > 0 => e.to_string(),
            other => panic!("{other:?}"),
        };
        assert!(e.contains("poll rounds failed (last: fake: get instance failed: HTTP 502: down)"), "{e}");
        assert_eq!(clock.elapsed(), Duration::from_secs(60), "the deadline, exactly");
    }

    #[test]
    fn a_refusal_while_polling_is_not_weather_and_ends_the_wait_at_once() {
        let clock = Arc::new(ManualClock::new());
        let p = Scripted::new(&clock, vec![Err(outage(401))]);
        let never = AtomicBool::new(false);
        let out = wait_all(&p, vec![inst("1", InstanceStatus::Pending)], &opts(600), clock.as_ref(), &never, |_| {});
        assert!(matches!(&out[..], [Err(Error::Api { status: 401, .. })]), "{out:?}");
        assert!(clock.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn many_instances_share_one_list_per_round_and_one_left_uses_a_get() {
        let clock = Arc::new(ManualClock::new());
        let one_ready = vec![inst("1", InstanceStatus::Ready), inst("2", InstanceStatus::Pending)];
        let both = vec![inst("1", InstanceStatus::Ready), inst("2", InstanceStatus::Ready)];
        let p = Scripted::new(&clock, vec![Ok(one_ready), Ok(both)]);
        let never = AtomicBool::new(false);
        let first = vec![inst("1", InstanceStatus::Pending), inst("2", InstanceStatus::Pending)];
        let out = wait_all(&p, first, &opts(600), clock.as_ref(), &never, |_| {});
        assert!(out.iter().all(|r| matches!(r, Ok(i) if i.status == InstanceStatus::Ready)), "{out:?}");
        assert_eq!((Scripted::count(&p.lists), Scripted::count(&p.gets)), (1, 1));
    }

    #[test]
    fn an_interruption_ends_every_wait_with_interrupted() {
        let clock = Arc::new(ManualClock::new());
        let p = Scripted::new(&clock, Vec::new());
        let flag = AtomicBool::new(true);
        let out = wait_all(&p, vec![inst("1", InstanceStatus::Pending)], &opts(600), clock.as_ref(), &flag, |_| {});
        assert!(matches!(&out[..], [Err(Error::Interrupted)]), "{out:?}");
        assert_eq!(Scripted::count(&p.gets), 0, "no poll after the interruption");
        flag.store(false, Ordering::Relaxed);
        p.http.cancel_flag().store(true, Ordering::Relaxed);
        let out = wait_all(&p, vec![inst("1", InstanceStatus::Pending)], &opts(600), clock.as_ref(), &flag, |_| {});
        assert!(matches!(&out[..], [Err(Error::Interrupted)]), "the client's cancel flag too: {out:?}");
    }

    #[test]
    fn interval_starts_near_one_second_and_is_capped_at_ten() {
        let o = WaitOptions::default();
        assert_eq!(o.interval(0), Duration::from_secs(1));
        assert!(o.interval(1) > o.interval(0));
        assert_eq!(o.interval(30), Duration::from_secs(10));
    }

    #[test]
    fn wait_levels_parse_and_reject_unknown_words() {
        assert_eq!(WaitLevel::parse("created"), Some(WaitLevel::Created));
        assert_eq!(WaitLevel::parse("finished"), None);
    }
}
