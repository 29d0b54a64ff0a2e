//! `prov apply <plan>`: validates the plan (exit 2 before any request), checks every provider's token, lists each
//! provider's instances once to find what an earlier run created (label + `prov-managed`) and what would conflict,
//! then creates the rest in parallel (a bounded number per provider, under each provider's rate budget) with
//! duplicate-safe creates, waits for all of them with shared polling, converges (a label that ended up with several
//! managed instances keeps the oldest; this run deletes only its own extras and adopts the winner), and reports
//! every instance's outcome. One failure does not stop the others; the exit status is 1 if any failed, 130 after
//! Ctrl-C or SIGTERM.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prov_core::create::{CreateOptions, create_marked, new_marker};
use prov_core::identity::{Identity, identify, managed_labelled, marker_of};
use prov_core::plan::{InstancePlan, Plan};
use prov_core::provider::{Deleted, MANAGED_TAG, Operation};
use prov_core::wait::{WaitOptions, wait_all};
use prov_core::{Error, Instance, InstanceStatus, Provider, Secret, SystemClock, WaitLevel};
use serde_json::{Value, json};

use super::fleet::{Clients, connect_all, list_existing, load};
use crate::args::{OutputFormat, WaitArg};
use crate::progress::Progress;
use crate::settings::Context;
use crate::{CmdResult, Failure, output};

/// Creates in flight at once per provider.
const PARALLEL_CREATES: usize = 4;

/// What apply did, or will do, with one plan instance (the `action` of the output).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// To be created (before the creates run).
    Create,
    /// Created by this run.
    Created,
    /// This run's create answer was lost; found by its marker.
    Recovered,
    /// An earlier run created it.
    Exists,
    /// Several managed instances carry the label; nothing created.
    Duplicate,
    /// Taken over: `--adopt`, or another racing run's instance kept by the convergence rule.
    Adopted,
    /// The create was refused or failed.
    Failed,
    /// Interrupted before this create was sent.
    NotStarted,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Created => "created",
            Self::Recovered => "recovered",
            Self::Exists => "exists",
            Self::Duplicate => "duplicate",
            Self::Adopted => "adopted",
            Self::Failed => "failed",
            Self::NotStarted => "not-started",
        }
    }
}

/// One plan instance's result.
struct Outcome {
    provider: &'static str,
    label: String,
    instance: Option<Instance>,
    action: Action,
    root_password: Option<Secret>,
    error: Option<String>,
    /// The marker this run's create carried, when it sent one.
    marker: Option<String>,
    /// Instances this run deleted while converging (duplicates it had created).
    removed: Vec<String>,
}

impl Outcome {
    fn new(ip: &InstancePlan, instance: Option<Instance>, action: Action) -> Self {
        Self {
            provider: ip.provider.name,
            label: ip.spec.label.clone(),
            instance,
            action,
            root_password: None,
            error: None,
            marker: None,
            removed: Vec::new(),
        }
    }

    fn to_json(&self) -> Value {
        let mut v = match &self.instance {
            Some(i) => serde_json::to_value(i).unwrap_or_else(|_| json!({})),
            None => json!({ "provider": self.provider, "label": self.label }),
        };
        v["action"] = json!(self.action.as_str());
        if let Some(pw) = &self.root_password {
            v["root_password"] = json!(pw.expose());
        }
        if let Some(e) = &self.error {
            v["error"] = json!(e);
        }
        if !self.removed.is_empty() {
            v["removed"] = json!(self.removed);
        }
        v
    }
}

pub(crate) fn run(
    cx: &Context,
    path: &Path,
    dry_run: bool,
    wait: Option<WaitArg>,
    timeout: Duration,
    adopt: bool,
) -> CmdResult {
    let plan = load(path)?;
    let clients = connect_all(cx, &plan)?;
    if dry_run {
        return super::plan::show(cx, &plan, &clients);
    }
    for p in clients.values() {
        p.http().require_token(Operation::CreateInstance)?;
    }
    let level = match wait {
        Some(WaitArg::None) => WaitLevel::None,
        Some(WaitArg::Created) => WaitLevel::Created,
        Some(WaitArg::Ready) => WaitLevel::Ready,
        None => plan.wait,
    };

    // 1. Identity: one list per provider; conflicts stop everything before anything is created.
    let existing = list_existing(&clients)?;
    let identities: Vec<Identity> = plan
        .instances
        .iter()
        .map(|ip| identify(&ip.spec.label, existing.get(ip.provider.name).map(Vec::as_slice).unwrap_or_default()))
        .collect();
    let conflicts: Vec<String> = plan
        .instances
        .iter()
        .zip(&identities)
        .filter_map(|(ip, id)| match id {
            Identity::Conflict(other) => Some(format!(
                "{}: an instance labelled `{}` already exists ({}) but prov did not create it (no `{MANAGED_TAG}` tag)",
                ip.provider.name, ip.spec.label, other.id
            )),
            _ => None,
        })
        .collect();
    if !conflicts.is_empty() && !adopt {
        return Err(Failure::failed(format!(
            "{}\nnothing was created; rename these instances in the plan, remove the others, or pass --adopt to use them",
            conflicts.join("\n")
        )));
    }

    // 2. Ctrl-C and SIGTERM (the handler installed at start): stop starting creates, abandon requests in flight,
    //    stop waiting, then report what exists.
    let interrupted = crate::cancel_flag();

    // 3. Creates, in parallel per provider.
    let mut outcomes: Vec<Outcome> = plan
        .instances
        .iter()
        .zip(&identities)
        .map(|(ip, id)| {
            let (instance, action) = match id {
                Identity::New => (None, Action::Create),
                Identity::Exists(i) => {
                    output::note(&format!(
                        "{} {}: exists ({}), not creating it again",
                        ip.provider.name, ip.spec.label, i.id
                    ));
                    (Some(i.clone()), Action::Exists)
                }
                Identity::Duplicate(all) => {
                    let ids: Vec<&str> = all.iter().map(|i| i.id.as_str()).collect();
                    output::warning(&format!(
                        "{} {}: {} managed instances carry this label ({}); using the oldest, {}, and creating none \
                         (remove the others with `prov delete`)",
                        ip.provider.name,
                        ip.spec.label,
                        all.len(),
                        ids.join(", "),
                        ids[0]
                    ));
                    (all.first().cloned(), Action::Duplicate)
                }
                Identity::Conflict(i) => {
                    output::note(&format!("{} {}: adopting {} (--adopt)", ip.provider.name, ip.spec.label, i.id));
                    (Some(i.clone()), Action::Adopted)
                }
            };
            Outcome::new(ip, instance, action)
        })
        .collect();
    create_all(&plan, &clients, &mut outcomes, &interrupted, &cx.create);

    // 4. Waits, one shared poller per provider.
    if level != WaitLevel::None && !interrupted.load(Ordering::Relaxed) {
        wait_for_all(&clients, &mut outcomes, level, timeout, &interrupted);
    }

    // 5. Converge: one label, one instance, even when another run raced this one or a lost create landed twice.
    if !interrupted.load(Ordering::Relaxed) {
        converge(&clients, &mut outcomes);
    }

    // 6. Report.
    print_outcomes(cx.output, &outcomes)?;
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.error.is_some()).collect();
    if interrupted.load(Ordering::Relaxed) {
        let ids: Vec<String> = outcomes
            .iter()
            .filter(|o| matches!(o.action, Action::Created | Action::Recovered | Action::Adopted))
            .filter_map(|o| o.instance.as_ref().map(|i| format!("{} {} ({})", o.provider, i.id, o.label)))
            .collect();
        let created = if ids.is_empty() { "none".to_owned() } else { ids.join(", ") };
        return Err(Failure { code: 130, message: format!("interrupted; instances created so far: {created}") });
    }
    match failed.len() {
        0 => Ok(()),
        1 => Err(Failure::failed(failed[0].error.clone().unwrap_or_default())),
        n => Err(Failure::failed(format!(
            "{n} of {} instances failed:\n  {}",
            outcomes.len(),
            failed.iter().filter_map(|o| o.error.clone()).collect::<Vec<_>>().join("\n  ")
        ))),
    }
}

fn create_all(
    plan: &Plan,
    clients: &Clients,
    outcomes: &mut [Outcome],
    interrupted: &AtomicBool,
    opts: &CreateOptions,
) {
    let results: Mutex<Vec<(usize, Outcome)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for (name, p) in clients {
            let queue: Mutex<VecDeque<usize>> = Mutex::new(
                (0..plan.instances.len())
                    .filter(|i| plan.instances[*i].provider.name == *name && outcomes[*i].action == Action::Create)
                    .collect(),
            );
            let queue = Arc::new(queue);
            let workers = PARALLEL_CREATES.min(queue.lock().map(|q| q.len()).unwrap_or(0));
            for _ in 0..workers {
                let (queue, results, p) = (queue.clone(), &results, p.as_ref());
                s.spawn(move || {
                    loop {
                        let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                        let Some(i) = next else { break };
                        let ip = &plan.instances[i];
                        let outcome = if interrupted.load(Ordering::Relaxed) {
                            Outcome {
                                error: Some(format!(
                                    "{} {}: not created (interrupted)",
                                    ip.provider.name, ip.spec.label
                                )),
                                ..Outcome::new(ip, None, Action::NotStarted)
                            }
                        } else {
                            create_one(p, ip, opts)
                        };
                        if let Ok(mut r) = results.lock() {
                            r.push((i, outcome));
                        }
                    }
                });
            }
        }
    });
    for (i, o) in results.into_inner().unwrap_or_else(|p| p.into_inner()) {
        outcomes[i] = o;
    }
}

fn create_one(p: &dyn Provider, ip: &InstancePlan, opts: &CreateOptions) -> Outcome {
    let (name, label) = (ip.provider.name, ip.spec.label.clone());
    let marker = new_marker();
    match create_marked(p, &ip.spec, &marker, opts) {
        Ok(o) => {
            let id = o.created.instance.id.clone();
            let action = if o.recovered {
                output::note(&format!(
                    "{name} {label}: the answer to the create was lost; found {id} by its marker and adopted it (not created twice)"
                ));
                Action::Recovered
            } else {
                output::note(&format!("{name} {label}: created {id}"));
                Action::Created
            };
            Outcome {
                root_password: o.created.generated_password,
                marker: Some(marker),
                ..Outcome::new(ip, Some(o.created.instance), action)
            }
        }
        Err(e) => {
            let hint = if prov_core::create::outcome_unknown(&e) {
                " — it may exist: `prov list` shows it, and rerunning the plan finds it instead of creating another"
            } else {
                ""
            };
            let what = if matches!(e, Error::Interrupted) {
                format!("{name}: creating {label} was interrupted")
            } else {
                format!("{e} ({label})")
            };
            Outcome {
                error: Some(format!("{what}{hint}")),
                marker: Some(marker),
                ..Outcome::new(ip, None, Action::Failed)
            }
        }
    }
}

/// After the creates (and waits) of a run, lists each provider that this run created on once more. A label held
/// by several managed instances keeps the first in [`prov_core::identity::keeping_order`] (the same choice in
/// every process); this run deletes the extras that carry its own marker and adopts the kept one when it is not
/// its own. Instances another run created are left to that run. A failed check is a warning: what exists is
/// reported either way, and a rerun (or `prov plan`) shows any `duplicate`.
fn converge(clients: &Clients, outcomes: &mut [Outcome]) {
    for (name, p) in clients {
        let ours: Vec<usize> =
            (0..outcomes.len()).filter(|i| outcomes[*i].provider == *name && outcomes[*i].marker.is_some()).collect();
        if ours.is_empty() {
            continue;
        }
        let listed = match p.list_instances() {
            Ok(l) => l,
            Err(e) => {
                output::warning(&format!("{name}: could not check for duplicate instances after creating: {e}"));
                continue;
            }
        };
        for i in ours {
            let o = &mut outcomes[i];
            let same = managed_labelled(&o.label, &listed);
            let mine = |inst: &Instance| marker_of(inst) == o.marker.as_deref();
            if same.len() < 2 && (same.is_empty() || o.instance.is_some() || !mine(&same[0])) {
                continue;
            }
            let keep = same[0].clone();
            for extra in same.iter().skip(1).filter(|inst| mine(inst)) {
                match p.delete_instance(&extra.id) {
                    Ok(Deleted::Deleted | Deleted::AlreadyGone) => {
                        output::warning(&format!(
                            "{name} {}: removed {} (a duplicate this run created; {} was created first and is kept)",
                            o.label, extra.id, keep.id
                        ));
                        o.removed.push(extra.id.clone());
                    }
                    Err(e) => {
                        o.error = Some(format!(
                            "{e} (while removing duplicate {} of {}; {} is kept)",
                            extra.id, o.label, keep.id
                        ));
                    }
                }
            }
            let kept_is_ours = mine(&keep);
            let had = o.instance.as_ref().map(|inst| inst.id.clone());
            if had.as_deref() != Some(keep.id.as_str()) {
                if kept_is_ours {
                    output::note(&format!("{name} {}: found {} by its marker", o.label, keep.id));
                    o.action = Action::Recovered;
                } else {
                    output::note(&format!(
                        "{name} {}: another run created {} first; adopted it instead of ours",
                        o.label, keep.id
                    ));
                    o.action = Action::Adopted;
                }
                // A create that failed with an unknown outcome but did land is not a failure any more.
                if o.error.as_deref().is_some_and(|e| !e.contains("while removing duplicate")) {
                    o.error = None;
                }
                o.instance = Some(keep);
            }
        }
    }
}

fn wait_for_all(
    clients: &Clients,
    outcomes: &mut [Outcome],
    level: WaitLevel,
    timeout: Duration,
    interrupted: &AtomicBool,
) {
    let opts = WaitOptions { level, timeout, ..WaitOptions::default() };
    let progress = Progress::new();
    let results: Mutex<Vec<(usize, Result<Instance, Error>)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for (name, p) in clients {
            let idx: Vec<usize> = (0..outcomes.len())
                .filter(|i| {
                    outcomes[*i].provider == *name && outcomes[*i].error.is_none() && outcomes[*i].instance.is_some()
                })
                .collect();
            if idx.is_empty() {
                continue;
            }
            let first: Vec<Instance> = idx.iter().filter_map(|i| outcomes[*i].instance.clone()).collect();
            let (results, progress, opts, p) = (&results, &progress, &opts, p.as_ref());
            s.spawn(move || {
                for i in &first {
                    progress.update(i);
                }
                let done = wait_all(p, first, opts, &SystemClock, interrupted, |i| progress.update(i));
                for r in done.iter().flatten() {
                    progress.finish(r);
                }
                if let Ok(mut all) = results.lock() {
                    all.extend(idx.into_iter().zip(done));
                }
            });
        }
    });
    for (i, r) in results.into_inner().unwrap_or_else(|p| p.into_inner()) {
        let o = &mut outcomes[i];
        match r {
            Ok(inst) => o.instance = Some(inst),
            Err(Error::WaitTimeout { last, .. }) => {
                let id = last.id.clone();
                o.error = Some(format!(
                    "{}: instance {id} ({}) did not become {} within {}; it exists and may still finish: `prov show {} {id}`",
                    o.provider,
                    o.label,
                    level.as_str(),
                    humantime::format_duration(timeout),
                    o.provider
                ));
                o.instance = Some(*last);
            }
            Err(Error::Interrupted) => {}
            Err(e) => {
                let id = o.instance.as_ref().map(|i| i.id.clone()).unwrap_or_default();
                o.error = Some(format!("{e} (instance {id}, {}, exists)", o.label));
            }
        }
    }
}

fn print_outcomes(fmt: OutputFormat, outcomes: &[Outcome]) -> CmdResult {
    if fmt == OutputFormat::Json {
        let items: Vec<Value> = outcomes.iter().map(Outcome::to_json).collect();
        return output::json(&json!({ "instances": items }));
    }
    let mut t = output::table(&["PROVIDER", "LABEL", "ID", "ACTION", "STATUS", "IPV4", "IPV6"]);
    for o in outcomes {
        let dash = || "-".to_owned();
        let (id, status, v4, v6) = match &o.instance {
            Some(i) => {
                let status = if o.error.is_some() && i.status != InstanceStatus::Ready {
                    format!("{} (not ready)", i.status)
                } else {
                    i.status.to_string()
                };
                (i.id.clone(), status, i.ipv4.clone().unwrap_or_else(dash), i.ipv6.clone().unwrap_or_else(dash))
            }
            None => (dash(), dash(), dash(), dash()),
        };
        let row = [o.provider, &o.label, &id, o.action.as_str(), &status, &v4, &v6];
        t.add_row(row.map(output::cell));
    }
    output::print_table(&t)?;
    for o in outcomes {
        if let Some(pw) = &o.root_password {
            output::print(&format!(
                "root password for {} (generated by prov, shown only now): {}\n",
                o.label,
                pw.expose()
            ))?;
        }
    }
    Ok(())
}
