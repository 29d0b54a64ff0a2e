//! `prov delete <provider> <id-or-label>...`: resolves every argument first (an id, or the label of exactly one
//! instance; an ambiguous label exits 2 listing the ids, before anything is deleted; an argument the list does not
//! show is sent as an id, since lists lag behind creates, and a 404 is then "no such instance", exit 1), after
//! asking on a terminal (without `--yes` and without a terminal it refuses before sending anything), and reports an
//! instance that vanished between the list and its delete as already gone.

use prov_core::identity::{Named, named};
use prov_core::provider::{Deleted, Operation};
use prov_core::{Instance, text::printable};

use crate::args::OutputFormat;
use crate::settings::{Context, find_provider};
use crate::{CmdResult, Failure, output};

pub(crate) fn run(cx: &Context, provider: &str, ids: &[String], yes: bool) -> CmdResult {
    let info = find_provider(provider)?;
    let p = cx.connect(info)?;
    p.http().require_token(Operation::DeleteInstance)?;
    // Asked (or refused without a terminal) before anything is sent.
    if !yes {
        let question = format!("Delete {} instance(s) on {}: {}?", ids.len(), info.display_name, ids.join(", "));
        output::confirm("delete", &[], &question)?;
    }
    let existing = p.list_instances()?;
    // Listed: (id, true). Not in the list but maybe an id the list does not show yet (lists lag behind creates):
    // (arg, false), sent as it is; a 404 or an argument that is not an id then means there is no such instance.
    let mut targets: Vec<(String, bool)> = Vec::new();
    for arg in ids {
        let target = match named(arg, &existing) {
            Named::Missing => (arg.clone(), false),
            _ => (resolve(info.name, arg, &existing)?, true),
        };
        if !targets.iter().any(|(id, _)| *id == target.0) {
            targets.push(target);
        }
    }
    let (mut deleted, mut gone, mut failures) = (Vec::new(), Vec::new(), Vec::<Failure>::new());
    for (id, listed) in &targets {
        match p.delete_instance(id) {
            Ok(Deleted::Deleted) => deleted.push(id.clone()),
            Ok(Deleted::AlreadyGone) if *listed => gone.push(id.clone()),
            Ok(Deleted::AlreadyGone) | Err(prov_core::Error::InvalidInput { .. }) => {
                failures.push(missing(info.name, id));
            }
            Err(e) => failures.push(e.into()),
        }
    }
    if cx.output == OutputFormat::Json {
        output::json(&serde_json::json!({ "deleted": deleted, "already_gone": gone }))?;
    } else {
        let mut text = String::new();
        for id in &deleted {
            text.push_str(&format!("deleted {id}\n"));
        }
        for id in &gone {
            text.push_str(&format!("{id} was already gone\n"));
        }
        output::print(&text)?;
    }
    match failures.len() {
        0 => Ok(()),
        1 => Err(failures.remove(0)),
        _ => Err(Failure::failed(failures.iter().map(|f| f.message.clone()).collect::<Vec<_>>().join("\n"))),
    }
}

/// The id `arg` names among `existing`: the instance with that id, or the one instance with that label. None is
/// exit 1 ("no such instance"); several with the label is exit 2, listing their ids.
pub(crate) fn resolve(provider: &str, arg: &str, existing: &[Instance]) -> Result<String, Failure> {
    match named(arg, existing) {
        Named::Id(i) | Named::Label(i) => Ok(i.id.clone()),
        Named::Missing => Err(missing(provider, arg)),
        Named::Ambiguous(all) => Err(Failure::usage(format!(
            "{provider}: {} instances are labelled `{}` ({}); name one by its id",
            all.len(),
            printable(arg),
            all.iter().map(|i| i.id.as_str()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// Exit 1: no instance has this id or label.
fn missing(provider: &str, arg: &str) -> Failure {
    Failure::failed(format!(
        "{provider}: no such instance: no instance has the id or label `{}` (`prov list {provider} instances` shows them)",
        printable(arg)
    ))
}
