//! `prov plan <file>` (also `apply --dry-run`): per instance what `apply` would do (create / exists / duplicate / conflict),
//! the exact create request (method, URL, JSON body with secrets masked), and the monthly price of each instance
//! in its region, with totals per currency (a price not known is unknown, not 0), from each provider's catalogue.
//! Sends only reads (instance and plan lists); without a token it says what it could not check instead of failing.

use std::collections::BTreeMap;
use std::path::Path;

use prov_core::create::MARKER_PREFIX;
use prov_core::identity::{Identity, identify};
use prov_core::provider::{MANAGED_TAG, Operation};
use prov_core::secret::redact_json;
use prov_core::{Currency, Instance, Money, Size, Totals};
use serde_json::json;

use super::fleet::{Clients, connect_all, load};
use crate::args::OutputFormat;
use crate::settings::Context;
use crate::{CmdResult, output};

pub(crate) fn run(cx: &Context, path: &Path) -> CmdResult {
    let plan = load(path)?;
    let clients = connect_all(cx, &plan)?;
    show(cx, &plan, &clients)
}

/// What each provider could tell us: its instances and its plan catalogue, or why not.
struct Known {
    instances: Result<Vec<Instance>, String>,
    /// True when the instance list was asked for and the request failed (not merely skipped for want of a token).
    instances_failed: bool,
    catalogue: Result<Vec<Size>, String>,
}

fn read(p: &dyn prov_core::Provider) -> Known {
    let no_token = |op: Operation| p.http().require_token(op).err().map(|e| e.to_string());
    let (instances, instances_failed) = match no_token(Operation::ListInstances) {
        Some(why) => (Err(why), false),
        None => {
            let listed = p.list_instances().map_err(|e| e.to_string());
            let failed = listed.is_err();
            (listed, failed)
        }
    };
    let catalogue = match no_token(Operation::ListSizes) {
        Some(why) => Err(why),
        None => p.list_sizes().map_err(|e| e.to_string()),
    };
    Known { instances, instances_failed, catalogue }
}

/// Prints the dry run of `plan`.
pub(crate) fn show(cx: &Context, plan: &prov_core::plan::Plan, clients: &Clients) -> CmdResult {
    let known: BTreeMap<&'static str, Known> = std::thread::scope(|s| {
        let handles: Vec<_> = clients.iter().map(|(n, p)| (*n, s.spawn(move || read(p.as_ref())))).collect();
        handles.into_iter().filter_map(|(n, h)| h.join().ok().map(|k| (n, k))).collect()
    });
    // A failed instance read makes every `create (unchecked)` a guess: the dry run is shown, then exits 1.
    let failed: Vec<String> =
        known.values().filter(|k| k.instances_failed).filter_map(|k| k.instances.as_ref().err().cloned()).collect();
    for (name, k) in &known {
        if let Err(why) = &k.instances
            && !k.instances_failed
        {
            output::warning(&format!("{name}: cannot check which instances exist ({why})"));
        }
        if let Err(why) = &k.catalogue {
            output::warning(&format!("{name}: no prices ({why})"));
        }
    }
    let (mut items, mut prices) = (Vec::new(), Vec::new());
    let (mut total, mut new_total, mut priced_all) = (Totals::default(), Totals::default(), true);
    for ip in &plan.instances {
        let Some(p) = clients.get(ip.provider.name) else { continue };
        let k = known.get(ip.provider.name);
        let (action, existing) = match k.map(|k| &k.instances) {
            Some(Ok(list)) => match identify(&ip.spec.label, list) {
                Identity::New => ("create", None),
                Identity::Exists(i) => ("exists", Some(i.id)),
                Identity::Duplicate(all) => {
                    ("duplicate", Some(all.iter().map(|i| i.id.as_str()).collect::<Vec<_>>().join(",")))
                }
                Identity::Conflict(i) => ("conflict", Some(i.id)),
            },
            _ => ("create (unchecked)", None),
        };
        let price = k
            .and_then(|k| k.catalogue.as_ref().ok())
            .and_then(|c| c.iter().find(|c| c.id == ip.spec.plan))
            .map(|c| c.monthly_price_in(&ip.spec.region));
        match price {
            Some(p) => {
                total.add(p);
                if action.starts_with("create") {
                    new_total.add(p);
                }
            }
            None => priced_all = false,
        }
        let mut item = json!({
            "provider": ip.provider.name,
            "label": ip.spec.label,
            "region": ip.spec.region,
            "plan": ip.spec.plan,
            "image": ip.spec.image,
            "action": action,
            "monthly_price": price,
        });
        if let Some(id) = existing {
            item["id"] = json!(id);
        }
        if action.starts_with("create") {
            let mut spec = ip.spec.clone();
            spec.tags.push(MANAGED_TAG.to_owned());
            spec.tags.push(format!("{MARKER_PREFIX}<random>"));
            let req = p.create_request(&spec);
            item["request"] = json!({
                "method": "POST",
                "url": p.http().url_of(&req),
                "body": req.body.as_ref().map(redact_json),
            });
        }
        items.push(item);
        prices.push(price);
    }
    let totals = json!({
        "monthly_total": total.amounts(),
        "monthly_new": new_total.amounts(),
        "prices_complete": priced_all,
    });
    let honest = |shown: CmdResult| -> CmdResult {
        shown?;
        if failed.is_empty() {
            return Ok(());
        }
        Err(crate::Failure::failed(format!("{} (so which instances exist was not checked)", failed.join("\nerror: "))))
    };
    if cx.output == OutputFormat::Json {
        return honest(output::json(&json!({ "instances": items, "totals": totals, "sent": "reads only" })));
    }
    let mut t = output::table(&["PROVIDER", "LABEL", "ACTION", "REGION", "PLAN", "$/MONTH"]);
    for (i, price) in items.iter().zip(&prices) {
        let s = |k: &str| i[k].as_str().unwrap_or("").to_owned();
        let price = price.as_ref().map_or_else(|| "?".to_owned(), output::price_cell);
        let action = match i["id"].as_str() {
            Some(id) => format!("{} ({id})", s("action")),
            None => s("action"),
        };
        t.add_row([s("provider"), s("label"), action, s("region"), s("plan"), price].map(|c| output::cell(&c)));
    }
    output::print_table(&t)?;
    let mut text = String::new();
    for i in items.iter().filter(|i| !i["request"].is_null()) {
        let r = &i["request"];
        text.push_str(&format!(
            "\n{} {}:\n  {} {}\n  {}\n",
            i["provider"].as_str().unwrap_or(""),
            i["label"].as_str().unwrap_or(""),
            r["method"].as_str().unwrap_or(""),
            r["url"].as_str().unwrap_or(""),
            serde_json::to_string(&r["body"]).unwrap_or_default()
        ));
    }
    let unknown = if priced_all { "" } else { " (some prices unknown)" };
    text.push_str(&format!(
        "\nmonthly cost: {} for the whole plan, {} of it new{unknown}\ndry run: only reads were sent\n",
        sum_text(&total),
        sum_text(&new_total)
    ));
    honest(output::print(&text))
}

/// A per-currency total for people: `$21.00`, `$5.00 + 4.51 EUR`; `$0.00` when nothing was priced.
fn sum_text(t: &Totals) -> String {
    if t.is_empty() {
        return "$0.00".to_owned();
    }
    let one = |m: &Money| match m.currency {
        Currency::Usd => format!("${:.2}", m.amount),
        c => format!("{:.2} {c}", m.amount),
    };
    t.amounts().iter().map(one).collect::<Vec<_>>().join(" + ")
}
