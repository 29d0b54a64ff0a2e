//! `prov delete <provider> <id>...`: asks on a terminal, refuses without `--yes` otherwise, and reports an id that
//! is already gone as such rather than as a failure.

use prov_core::provider::{Deleted, Operation};

use crate::args::OutputFormat;
use crate::settings::{Context, find_provider};
use crate::{CmdResult, Failure, output};

pub(crate) fn run(cx: &Context, provider: &str, ids: &[String], yes: bool) -> CmdResult {
    let info = find_provider(provider)?;
    let p = cx.connect(info)?;
    p.http().require_token(Operation::DeleteInstance)?;
    if !yes {
        let question = format!("Delete {} instance(s) on {}: {}?", ids.len(), info.display_name, ids.join(", "));
        output::confirm("delete", &[], &question)?;
    }
    let (mut deleted, mut gone, mut failures) = (Vec::new(), Vec::new(), Vec::new());
    for id in ids {
        match p.delete_instance(id) {
            Ok(Deleted::Deleted) => deleted.push(id.clone()),
            Ok(Deleted::AlreadyGone) => gone.push(id.clone()),
            Err(e) => failures.push(e),
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
        1 => Err(failures.remove(0).into()),
        _ => Err(Failure::failed(failures.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))),
    }
}
