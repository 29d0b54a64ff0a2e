//! `prov plan <file>`: what `apply` would do, sending only reads.

use std::path::Path;

use crate::CmdResult;
use crate::settings::Context;

pub(crate) fn run(cx: &Context, path: &Path) -> CmdResult {
    super::apply::run(cx, path, true, None, std::time::Duration::from_secs(0), false)
}
