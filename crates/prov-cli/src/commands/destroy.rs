//! `prov destroy <file>`: deletes the plan's managed instances.

use std::path::Path;
use std::time::Duration;

use crate::settings::Context;
use crate::{CmdResult, Failure};

pub(crate) fn run(_cx: &Context, _path: &Path, _yes: bool, _wait: bool, _timeout: Duration) -> CmdResult {
    Err(Failure::usage("destroy is not implemented yet"))
}
