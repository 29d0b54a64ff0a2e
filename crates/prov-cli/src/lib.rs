//! The `prov` command-line interface: parse arguments (args), resolve them into settings (settings), run one
//! command (commands/*) against `&dyn Provider`, and render the result (output). Exit codes: 0 success, 1 failure
//! after a provider was contacted, 2 invalid usage, invalid plan or missing token (nothing was sent).

pub mod args;
pub mod cache;
pub mod commands;
mod logger;
pub mod output;
pub mod progress;
pub mod settings;

use std::ffi::OsString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use clap::Parser;

/// A failure with its exit code, printed once by [`run`].
#[derive(Debug)]
pub struct Failure {
    /// 1 or 2.
    pub code: i32,
    /// The message (may span lines, e.g. every plan error).
    pub message: String,
}

impl Failure {
    /// Exit 2: the input was wrong and nothing was sent.
    pub fn usage(message: impl Into<String>) -> Self {
        Self { code: 2, message: message.into() }
    }
    /// Exit 1: something failed after a provider was contacted.
    pub fn failed(message: impl Into<String>) -> Self {
        Self { code: 1, message: message.into() }
    }
}

impl From<prov_core::Error> for Failure {
    fn from(e: prov_core::Error) -> Self {
        Self { code: e.exit_code(), message: e.to_string() }
    }
}

impl From<prov_core::plan::PlanErrors> for Failure {
    fn from(e: prov_core::plan::PlanErrors) -> Self {
        Self::usage(e.to_string())
    }
}

/// The process-wide cancel flag: set by Ctrl-C or SIGTERM (the handler [`run`] installs), honoured by every
/// client (requests in flight are abandoned within 100 ms) and by apply (no create starts afterwards).
pub fn cancel_flag() -> Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false))).clone()
}

fn install_interrupt_handler() {
    let flag = cancel_flag();
    // Fails only when a handler is already installed (run called twice in one process): that one sets the flag.
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
}

/// Result of a command.
pub type CmdResult = Result<(), Failure>;

/// Runs `prov` with `args` (the first is the program name) and returns the exit code.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match args::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    logger::init(cli.global.verbose);
    output::set_verbose(cli.global.verbose > 0);
    install_interrupt_handler();
    match commands::dispatch(cli) {
        Ok(()) => 0,
        Err(f) => {
            output::error_line(&f.message);
            f.code
        }
    }
}
