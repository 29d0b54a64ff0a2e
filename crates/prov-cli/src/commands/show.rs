//! `prov show <provider> <id>`.

use crate::settings::{Context, find_provider};
use crate::{CmdResult, output};

pub(crate) fn run(cx: &Context, provider: &str, id: &str) -> CmdResult {
    let info = find_provider(provider)?;
    let p = cx.connect(info)?;
    output::instance(cx.output, &p.get_instance(id)?)
}
