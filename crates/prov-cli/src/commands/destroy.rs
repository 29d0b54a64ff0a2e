//! `prov destroy <plan>`: deletes the plan's instances that prov created (label + `prov-managed` tag) and never
//! anything else; confirms on a terminal, refuses without `--yes` otherwise, and with `--wait` polls until each
//! one is gone.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use prov_core::provider::{Deleted, MANAGED_TAG, Operation};
use prov_core::{Clock, SystemClock};

use super::fleet::{connect_all, list_existing, load};
use crate::args::OutputFormat;
use crate::settings::Context;
use crate::{CmdResult, Failure, output};

pub(crate) fn run(cx: &Context, path: &Path, yes: bool, wait: bool, timeout: Duration) -> CmdResult {
    let plan = load(path)?;
    let clients = connect_all(cx, &plan)?;
    for p in clients.values() {
        p.http().require_token(Operation::DeleteInstance)?;
    }
    let existing = list_existing(&clients)?;
    let mut targets: Vec<(&'static str, String, String)> = Vec::new();
    for ip in &plan.instances {
        let list = existing.get(ip.provider.name).map(Vec::as_slice).unwrap_or_default();
        for i in list.iter().filter(|i| i.label == ip.spec.label) {
            if i.has_tag(MANAGED_TAG) {
                targets.push((ip.provider.name, i.id.clone(), i.label.clone()));
            } else {
                output::note(&format!(
                    "{} {}: {} was not created by prov; leaving it alone",
                    ip.provider.name, i.label, i.id
                ));
            }
        }
    }
    if targets.is_empty() {
        output::note("nothing to destroy: no instance of this plan exists");
        return if cx.output == OutputFormat::Json {
            output::json(&serde_json::json!({"deleted": [], "already_gone": []}))
        } else {
            Ok(())
        };
    }
    if !yes {
        let mut details = vec![format!("prov destroy will delete {} instance(s):", targets.len())];
        details.extend(targets.iter().map(|(p, id, label)| format!("  {p} {label} ({id})")));
        output::confirm("destroy", &details, "Delete them?")?;
    }
    let (mut deleted, mut gone, mut failures) = (Vec::new(), Vec::new(), Vec::new());
    for (name, id, label) in &targets {
        let Some(p) = clients.get(name) else { continue };
        match p.delete_instance(id) {
            Ok(Deleted::Deleted) => {
                output::note(&format!("{name} {label}: deleted {id}"));
                deleted.push((*name, id.clone()));
            }
            Ok(Deleted::AlreadyGone) => gone.push((*name, id.clone())),
            Err(e) => failures.push(e.to_string()),
        }
    }
    if wait && !deleted.is_empty() {
        let clock = SystemClock;
        let start = Instant::now();
        let mut round = 0;
        loop {
            let mut still: BTreeMap<&str, usize> = BTreeMap::new();
            let now = list_existing(&clients)?;
            for (name, id) in &deleted {
                if now.get(name).is_some_and(|l| l.iter().any(|i| &i.id == id)) {
                    *still.entry(name).or_default() += 1;
                }
            }
            if still.is_empty() {
                break;
            }
            if start.elapsed() >= timeout {
                failures
                    .push(format!("instances still present after {}: {still:?}", humantime::format_duration(timeout)));
                break;
            }
            clock.sleep(prov_core::WaitOptions::default().interval(round).min(timeout.saturating_sub(start.elapsed())));
            round += 1;
        }
    }
    let ids = |v: &[(&str, String)]| v.iter().map(|(_, id)| id.clone()).collect::<Vec<_>>();
    if cx.output == OutputFormat::Json {
        output::json(&serde_json::json!({ "deleted": ids(&deleted), "already_gone": ids(&gone) }))?;
    } else {
        let mut text = String::new();
        for (p, id) in &deleted {
            text.push_str(&format!("deleted {p} {id}\n"));
        }
        for (p, id) in &gone {
            text.push_str(&format!("{p} {id} was already gone\n"));
        }
        output::print(&text)?;
    }
    if failures.is_empty() { Ok(()) } else { Err(Failure::failed(failures.join("\n"))) }
}
