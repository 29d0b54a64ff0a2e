//! `prov list <provider> regions|plans|images|instances`.

use crate::args::{ListFilters, ListWhat};
use crate::settings::{Context, find_provider};
use crate::{CmdResult, output};

pub(crate) fn run(cx: &Context, provider: &str, what: ListWhat, _filters: &ListFilters) -> CmdResult {
    let info = find_provider(provider)?;
    let p = cx.connect(info)?;
    match what {
        ListWhat::Regions => output::regions(cx.output, &p.list_regions()?),
        ListWhat::Plans => output::plans(cx.output, &p.list_plans()?),
        ListWhat::Images => output::images(cx.output, &p.list_images()?),
        ListWhat::Instances => output::instances(cx.output, &p.list_instances()?),
    }
}
