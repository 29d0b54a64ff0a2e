//! `prov show <provider> <id-or-label>`: one instance. An argument the provider takes as an id is fetched
//! directly; one it does not (or an id it does not know) is looked up as a label among the provider's instances.

use prov_core::Error;

use crate::settings::{Context, find_provider};
use crate::{CmdResult, output};

pub(crate) fn run(cx: &Context, provider: &str, arg: &str) -> CmdResult {
    let info = find_provider(provider)?;
    let p = cx.connect(info)?;
    let instance = match p.get_instance(arg) {
        Ok(i) => i,
        Err(Error::InvalidInput { .. } | Error::Api { status: 404, .. }) => {
            let existing = p.list_instances()?;
            let id = super::delete::resolve(info.name, arg, &existing)?;
            p.get_instance(&id)?
        }
        Err(e) => return Err(e.into()),
    };
    output::instance(cx.output, &instance)
}
