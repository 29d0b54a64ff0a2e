//! `prov apply <plan>`: validates the plan (exit 2 before any request), checks every provider's token, lists each
//! provider's instances once to find what an earlier run created (label + `prov-managed`) and what would conflict,
//! then creates the rest in parallel (a bounded number per provider, under each provider's rate budget) with
//! duplicate-safe creates, waits for all of them with shared polling, and reports every instance's outcome.
//! One failure does not stop the others; the exit status is 1 if any failed, 130 after Ctrl-C.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prov_core::create::create_once;
use prov_core::plan::{InstancePlan, Plan};
use prov_core::provider::{MANAGED_TAG, Operation};
use prov_core::wait::{WaitOptions, wait_all};
use prov_core::{Error, Instance, InstanceStatus, Provider, Secret, SystemClock, WaitLevel};
use serde_json::{Value, json};

use crate::args::{OutputFormat, WaitArg};
use crate::progress::Progress;
use crate::settings::{Context, registry};
use crate::{CmdResult, Failure, output};

/// Creates in flight at once per provider.
const PARALLEL_CREATES: usize = 4;

/// The providers of a plan, connected (base URLs checked; nothing sent).
pub(crate) type Clients = BTreeMap<&'static str, Box<dyn Provider>>;

/// Connects every provider a plan names.
pub(crate) fn connect_all(cx: &Context, plan: &Plan) -> Result<Clients, Failure> {
    let mut clients = Clients::new();
    for ip in &plan.instances {
        if !clients.contains_key(ip.provider.name) {
            clients.insert(ip.provider.name, cx.connect(ip.provider)?);
        }
    }
    Ok(clients)
}

/// Loads a plan and prints its warnings.
pub(crate) fn load(path: &Path) -> Result<Plan, Failure> {
    let plan = prov_core::plan::load(path, registry())?;
    for w in &plan.warnings {
        output::warning(&w.to_string());
    }
    Ok(plan)
}

/// Every instance of every provider in `clients`, one list per provider, in parallel.
pub(crate) fn list_existing(clients: &Clients) -> Result<BTreeMap<&'static str, Vec<Instance>>, Failure> {
    std::thread::scope(|s| {
        let handles: Vec<_> = clients.iter().map(|(name, p)| (*name, s.spawn(move || p.list_instances()))).collect();
        let mut out = BTreeMap::new();
        for (name, h) in handles {
            let listed = h.join().map_err(|_| Failure::failed(format!("{name}: listing instances panicked")))?;
            out.insert(name, listed?);
        }
        Ok(out)
    })
}

/// What a plan instance is, given the provider's current instances.
#[derive(Debug, Clone)]
pub(crate) enum Identity {
    /// Nothing with its label: create it.
    New,
    /// A managed instance with its label exists.
    Exists(Instance),
    /// An instance with its label exists that prov did not create.
    Conflict(Instance),
}

/// Matches a plan instance against existing instances by label; the managed tag decides exists vs conflict.
pub(crate) fn identify(ip: &InstancePlan, existing: &[Instance]) -> Identity {
    let same: Vec<&Instance> = existing.iter().filter(|i| i.label == ip.spec.label).collect();
    if let Some(mine) = same.iter().find(|i| i.has_tag(MANAGED_TAG)) {
        Identity::Exists((*mine).clone())
    } else if let Some(other) = same.first() {
        Identity::Conflict((*other).clone())
    } else {
        Identity::New
    }
}

/// One plan instance's result.
struct Outcome {
    provider: &'static str,
    label: String,
    instance: Option<Instance>,
    action: &'static str,
    root_password: Option<Secret>,
    error: Option<String>,
}

impl Outcome {
    fn to_json(&self) -> Value {
        let mut v = match &self.instance {
            Some(i) => serde_json::to_value(i).unwrap_or_else(|_| json!({})),
            None => json!({ "provider": self.provider, "label": self.label }),
        };
        v["action"] = json!(self.action);
        if let Some(pw) = &self.root_password {
            v["root_password"] = json!(pw.expose());
        }
        if let Some(e) = &self.error {
            v["error"] = json!(e);
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
        .map(|ip| identify(ip, existing.get(ip.provider.name).map(Vec::as_slice).unwrap_or_default()))
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

    // 2. Ctrl-C: stop starting creates and stop waiting, then report what exists.
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = interrupted.clone();
        let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
    }

    // 3. Creates, in parallel per provider.
    let mut outcomes: Vec<Outcome> = plan
        .instances
        .iter()
        .zip(&identities)
        .map(|(ip, id)| {
            let (instance, action) = match id {
                Identity::New => (None, "create"),
                Identity::Exists(i) => {
                    output::note(&format!(
                        "{} {}: exists ({}), not creating it again",
                        ip.provider.name, ip.spec.label, i.id
                    ));
                    (Some(i.clone()), "exists")
                }
                Identity::Conflict(i) => {
                    output::note(&format!("{} {}: adopting {} (--adopt)", ip.provider.name, ip.spec.label, i.id));
                    (Some(i.clone()), "adopted")
                }
            };
            Outcome {
                provider: ip.provider.name,
                label: ip.spec.label.clone(),
                instance,
                action,
                root_password: None,
                error: None,
            }
        })
        .collect();
    create_all(&plan, &clients, &mut outcomes, &interrupted);

    // 4. Waits, one shared poller per provider.
    if level != WaitLevel::None && !interrupted.load(Ordering::Relaxed) {
        wait_for_all(&clients, &mut outcomes, level, timeout, &interrupted);
    }

    // 5. Report.
    print_outcomes(cx.output, &outcomes)?;
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.error.is_some()).collect();
    if interrupted.load(Ordering::Relaxed) {
        let ids: Vec<String> = outcomes
            .iter()
            .filter(|o| matches!(o.action, "created" | "adopted"))
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

fn create_all(plan: &Plan, clients: &Clients, outcomes: &mut [Outcome], interrupted: &AtomicBool) {
    let results: Mutex<Vec<(usize, Outcome)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for (name, p) in clients {
            let queue: Mutex<VecDeque<usize>> = Mutex::new(
                (0..plan.instances.len())
                    .filter(|i| plan.instances[*i].provider.name == *name && outcomes[*i].action == "create")
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
                                provider: ip.provider.name,
                                label: ip.spec.label.clone(),
                                instance: None,
                                action: "not-started",
                                root_password: None,
                                error: Some(format!(
                                    "{} {}: not created (interrupted)",
                                    ip.provider.name, ip.spec.label
                                )),
                            }
                        } else {
                            create_one(p, ip)
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

fn create_one(p: &dyn Provider, ip: &InstancePlan) -> Outcome {
    let (name, label) = (ip.provider.name, ip.spec.label.clone());
    match create_once(p, &ip.spec) {
        Ok(o) => {
            let id = o.created.instance.id.clone();
            let action = if o.recovered {
                output::note(&format!(
                    "{name} {label}: the answer to the create was lost; found {id} by its marker and adopted it (not created twice)"
                ));
                "adopted"
            } else {
                output::note(&format!("{name} {label}: created {id}"));
                "created"
            };
            Outcome {
                provider: name,
                label,
                instance: Some(o.created.instance),
                action,
                root_password: o.created.generated_password,
                error: None,
            }
        }
        Err(e) => {
            let hint = if prov_core::create::outcome_unknown(&e) {
                " — it may exist: `prov list` shows it, and rerunning the plan finds it instead of creating another"
            } else {
                ""
            };
            Outcome {
                provider: name,
                label: label.clone(),
                instance: None,
                action: "failed",
                root_password: None,
                error: Some(format!("{e} ({label}){hint}")),
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
        t.add_row(vec![o.provider.to_owned(), o.label.clone(), id, o.action.to_owned(), status, v4, v6]);
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
