//! One module per command; `dispatch` resolves settings and runs the chosen one.

mod apply;
mod completions;
mod delete;
mod destroy;
mod fleet;
mod list;
mod plan;
mod sandbox;
mod show;

use crate::CmdResult;
use crate::args::{Cli, Command};
use crate::settings::Context;

/// Runs the parsed command.
pub fn dispatch(cli: Cli) -> CmdResult {
    match cli.command {
        Command::Completions { shell } => completions::run(shell),
        Command::Sandbox { listen, boot_secs, faults, latency_ms } => {
            sandbox::run(&listen, boot_secs, &faults, latency_ms)
        }
        command => {
            let cx = Context::new(&cli.global)?;
            match command {
                Command::List { provider, what, filters } => list::run(&cx, &provider, what, &filters),
                Command::Show { provider, id } => show::run(&cx, &provider, &id),
                Command::Apply { plan, dry_run, wait, timeout, adopt } => {
                    apply::run(&cx, &plan, dry_run, wait, timeout, adopt)
                }
                Command::Plan { plan } => plan::run(&cx, &plan),
                Command::Destroy { plan, yes, wait, timeout } => destroy::run(&cx, &plan, yes, wait, timeout),
                Command::Delete { provider, ids, yes } => delete::run(&cx, &provider, &ids, yes),
                Command::Completions { .. } | Command::Sandbox { .. } => Ok(()),
            }
        }
    }
}
