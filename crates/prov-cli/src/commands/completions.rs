//! `prov completions <shell>`: prints a completion script generated from the clap definition.

use clap::CommandFactory;

use crate::CmdResult;
use crate::args::Cli;

pub(crate) fn run(shell: clap_complete::Shell) -> CmdResult {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "prov", &mut std::io::stdout());
    Ok(())
}
