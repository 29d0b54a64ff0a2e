//! What exists, for the commands that work from a plan (plan, apply, destroy): loading a plan (its warnings
//! printed), connecting every provider it names (one `--api-url` for one provider only), and listing each
//! provider's instances once, in parallel.

use std::collections::BTreeMap;
use std::path::Path;

use prov_core::plan::Plan;
use prov_core::{Instance, Provider};

use crate::settings::{Context, registry};
use crate::{Failure, output};

/// The providers of a plan, connected (base URLs checked; nothing sent).
pub(crate) type Clients = BTreeMap<&'static str, Box<dyn Provider>>;

/// Connects every provider a plan names.
pub(crate) fn connect_all(cx: &Context, plan: &Plan) -> Result<Clients, Failure> {
    let mut names: Vec<&str> = plan.instances.iter().map(|ip| ip.provider.name).collect();
    names.sort_unstable();
    names.dedup();
    cx.one_url_one_provider(&names)?;
    let mut clients = Clients::new();
    for ip in &plan.instances {
        if !clients.contains_key(ip.provider.name) {
            clients.insert(ip.provider.name, cx.connect(ip.provider)?);
        }
    }
    Ok(clients)
}

/// Loads a plan and prints its warnings.
pub(crate) fn load(path: &Path) -> Result<Plan, Failure> {
    let plan = prov_core::plan::load(path, registry())?;
    for w in &plan.warnings {
        output::warning(&w.to_string());
    }
    Ok(plan)
}

/// Every instance of every provider in `clients`, one list per provider, in parallel.
pub(crate) fn list_existing(clients: &Clients) -> Result<BTreeMap<&'static str, Vec<Instance>>, Failure> {
    std::thread::scope(|s| {
        let handles: Vec<_> = clients.iter().map(|(name, p)| (*name, s.spawn(move || p.list_instances()))).collect();
        let mut out = BTreeMap::new();
        for (name, h) in handles {
            let listed = h.join().map_err(|_| Failure::failed(format!("{name}: listing instances panicked")))?;
            out.insert(name, listed?);
        }
        Ok(out)
    })
}
