//! `prov apply <plan>`: validates the plan (exit 2 before any request), checks every provider's token, finds
//! instances an earlier run already created (label + the managed tag), creates the rest, waits to the chosen
//! level, and reports each instance's outcome. A wait timeout is a failure that still reports the id.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

use prov_core::plan::{InstancePlan, Plan};
use prov_core::provider::{MANAGED_TAG, Operation};
use prov_core::secret::redact_json;
use prov_core::wait::{WaitOptions, wait_for};
use prov_core::{Error, Instance, InstanceStatus, Provider, SystemClock, WaitLevel};
use serde::Serialize;

use crate::args::{OutputFormat, WaitArg};
use crate::settings::{Context, registry};
use crate::{CmdResult, Failure, output};

/// One instance's result, as printed.
#[derive(Debug, Serialize)]
struct Outcome {
    #[serde(flatten)]
    instance: Instance,
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    root_password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub(crate) fn run(
    cx: &Context,
    path: &Path,
    dry_run: bool,
    wait: Option<WaitArg>,
    timeout: Duration,
    _adopt: bool,
) -> CmdResult {
    let plan = prov_core::plan::load(path, registry())?;
    for w in &plan.warnings {
        output::warning(&w.to_string());
    }
    let level = match wait {
        Some(WaitArg::None) => WaitLevel::None,
        Some(WaitArg::Created) => WaitLevel::Created,
        Some(WaitArg::Ready) => WaitLevel::Ready,
        None => plan.wait,
    };
    // Connect every provider of the plan and check its token before anything is sent.
    let mut clients: BTreeMap<&'static str, Box<dyn Provider>> = BTreeMap::new();
    for ip in &plan.instances {
        if !clients.contains_key(ip.provider.name) {
            let p = cx.connect(ip.provider)?;
            if !dry_run {
                p.http().require_token(Operation::CreateInstance)?;
            }
            clients.insert(ip.provider.name, p);
        }
    }
    if dry_run {
        return print_dry_run(cx.output, &plan, &clients);
    }
    let opts = WaitOptions { level, timeout, ..WaitOptions::default() };
    let mut existing: BTreeMap<&'static str, Vec<Instance>> = BTreeMap::new();
    let mut outcomes = Vec::new();
    let mut failures = Vec::new();
    for ip in &plan.instances {
        let Some(p) = clients.get(ip.provider.name) else { continue };
        if !existing.contains_key(ip.provider.name) {
            existing.insert(ip.provider.name, p.list_instances()?);
        }
        let known = existing.get(ip.provider.name).map(Vec::as_slice).unwrap_or_default();
        match apply_one(p.as_ref(), ip, known, &opts) {
            Ok(o) => outcomes.push(o),
            Err(failed) => {
                let (o, message) = *failed;
                failures.push(message);
                if let Some(o) = o {
                    outcomes.push(o);
                }
            }
        }
    }
    print_outcomes(cx.output, &outcomes)?;
    match failures.len() {
        0 => Ok(()),
        1 => Err(Failure::failed(failures.remove(0))),
        n => Err(Failure::failed(format!("{n} instances failed:\n  {}", failures.join("\n  ")))),
    }
}

/// A failed instance: what is known of it (nothing for a conflict) and the message.
type Failed = Box<(Option<Outcome>, String)>;

fn apply_one(p: &dyn Provider, ip: &InstancePlan, known: &[Instance], opts: &WaitOptions) -> Result<Outcome, Failed> {
    let label = &ip.spec.label;
    let same_label: Vec<&Instance> = known.iter().filter(|i| &i.label == label).collect();
    let (first, action, root_password) = if let Some(found) =
        same_label.iter().find(|i| i.tags.iter().any(|t| t == MANAGED_TAG))
    {
        output::note(&format!("{} {label}: exists ({}), not creating it again", p.info().name, found.id));
        ((*found).clone(), "exists", None)
    } else if let Some(other) = same_label.first() {
        return Err(Box::new((
            None,
            format!(
                "{}: an instance labelled `{label}` already exists ({}) but prov did not create it (no `{MANAGED_TAG}` tag); nothing was created for it — rename the instance in the plan or remove the other one",
                p.info().name,
                other.id
            ),
        )));
    } else {
        let mut spec = ip.spec.clone();
        if !spec.tags.iter().any(|t| t == MANAGED_TAG) {
            spec.tags.push(MANAGED_TAG.to_owned());
        }
        let created = p.create_instance(&spec).map_err(|e| Box::new((None, e.to_string())))?;
        output::note(&format!("{} {label}: created {}", p.info().name, created.instance.id));
        (created.instance, "created", created.generated_password.map(|s| s.expose().to_owned()))
    };
    if opts.level == WaitLevel::None {
        return Ok(Outcome { instance: first, action, root_password, error: None });
    }
    let start = Instant::now();
    let tty = std::io::stderr().is_terminal();
    let mut last_status = (first.status, first.ipv4.clone());
    let id = first.id.clone();
    let result = wait_for(p, first.clone(), opts, &SystemClock, |i| {
        let now = (i.status, i.ipv4.clone());
        if now != last_status || tty {
            output::note(&format!(
                "{} {label}: {} ({}){} after {}s",
                p.info().name,
                i.status,
                i.provider_status,
                i.ipv4.as_deref().map(|ip| format!(" {ip}")).unwrap_or_default(),
                start.elapsed().as_secs()
            ));
            last_status = now;
        }
    });
    match result {
        Ok(instance) => Ok(Outcome { instance, action, root_password, error: None }),
        Err(Error::WaitTimeout { last, .. }) => {
            let message = format!(
                "{}: instance {id} ({label}) did not become {} within {}; it exists and may still finish: `prov show {} {id}`",
                p.info().name,
                opts.level.as_str(),
                humantime::format_duration(opts.timeout),
                p.info().name
            );
            Err(Box::new((
                Some(Outcome { instance: *last, action, root_password, error: Some(message.clone()) }),
                message,
            )))
        }
        Err(e) => {
            let message = format!("{e} (instance {id} was created)");
            Err(Box::new((
                Some(Outcome { instance: first, action, root_password, error: Some(message.clone()) }),
                message,
            )))
        }
    }
}

fn print_outcomes(fmt: OutputFormat, outcomes: &[Outcome]) -> CmdResult {
    if fmt == OutputFormat::Json {
        return output::json(&serde_json::json!({ "instances": outcomes }));
    }
    let mut t = output::table(&["PROVIDER", "LABEL", "ID", "ACTION", "STATUS", "IPV4", "IPV6"]);
    for o in outcomes {
        let i = &o.instance;
        let status = if o.error.is_some() && i.status != InstanceStatus::Ready {
            format!("{} (not ready)", i.status)
        } else {
            i.status.to_string()
        };
        t.add_row(vec![
            i.provider.clone(),
            i.label.clone(),
            i.id.clone(),
            o.action.to_owned(),
            status,
            i.ipv4.clone().unwrap_or_else(|| "-".into()),
            i.ipv6.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    output::print_table(&t)?;
    for o in outcomes {
        if let Some(pw) = &o.root_password {
            output::print(&format!(
                "root password for {} (generated by prov, shown only now): {pw}\n",
                o.instance.label
            ))?;
        }
    }
    Ok(())
}

fn print_dry_run(fmt: OutputFormat, plan: &Plan, clients: &BTreeMap<&'static str, Box<dyn Provider>>) -> CmdResult {
    let mut items = Vec::new();
    for ip in &plan.instances {
        let Some(p) = clients.get(ip.provider.name) else { continue };
        let mut spec = ip.spec.clone();
        if !spec.tags.iter().any(|t| t == MANAGED_TAG) {
            spec.tags.push(MANAGED_TAG.to_owned());
        }
        let req = p.create_request(&spec);
        items.push(serde_json::json!({
            "provider": ip.provider.name,
            "label": spec.label,
            "region": spec.region,
            "plan": spec.plan,
            "image": spec.image,
            "tags": spec.tags,
            "action": "would-create",
            "request": {
                "method": "POST",
                "url": p.http().url_of(&req),
                "body": req.body.as_ref().map(redact_json),
            },
        }));
    }
    if fmt == OutputFormat::Json {
        return output::json(&serde_json::json!({ "instances": items }));
    }
    let mut text = String::new();
    for item in &items {
        text.push_str(&format!(
            "would create {} `{}`:\n  {} {}\n  {}\n",
            item["provider"].as_str().unwrap_or_default(),
            item["label"].as_str().unwrap_or_default(),
            item["request"]["method"].as_str().unwrap_or_default(),
            item["request"]["url"].as_str().unwrap_or_default(),
            item["request"]["body"]
        ));
    }
    text.push_str("dry run: nothing was sent\n");
    output::print(&text)
}
