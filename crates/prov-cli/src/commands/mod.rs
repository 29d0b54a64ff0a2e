//! One module per command; `dispatch` resolves settings and runs the chosen one.

mod apply;
mod completions;
mod delete;
mod list;
mod sandbox;
mod show;

use crate::CmdResult;
use crate::args::{Cli, Command};
use crate::settings::Context;

/// Runs the parsed command.
pub fn dispatch(cli: Cli) -> CmdResult {
    match cli.command {
        Command::Completions { shell } => completions::run(shell),
        Command::Sandbox { listen, boot_secs } => sandbox::run(&listen, boot_secs),
        command => {
            let cx = Context::new(&cli.global)?;
            match command {
                Command::List { provider, what } => list::run(&cx, &provider, what),
                Command::Show { provider, id } => show::run(&cx, &provider, &id),
                Command::Apply { plan, dry_run, wait, timeout } => apply::run(&cx, &plan, dry_run, wait, timeout),
                Command::Delete { provider, ids, yes } => delete::run(&cx, &provider, &ids, yes),
                Command::Completions { .. } | Command::Sandbox { .. } => Ok(()),
            }
        }
    }
}
