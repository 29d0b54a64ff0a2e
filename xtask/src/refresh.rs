//! `cargo xtask refresh-fixtures`: re-records each provider's catalogue payloads (regions, plans, images) from the
//! API at the configured base URL — every page, through prov-core's HTTP chokepoint — merges the pages into one
//! body in the provider's own list shape, and writes `fixtures/<provider>/`. `--check` compares instead and fails
//! on drift. Instance and error fixtures are curated by hand (recording them would create billable servers).
//!
//! Point it at `prov sandbox` to exercise it without an account:
//! `cargo run -p prov-cli -- sandbox & cargo xtask refresh-fixtures --provider all --check`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use prov_core::http::{Page, Request};
use prov_core::provider::{Operation, ProviderInfo};
use prov_core::{ClientSettings, Http};
use serde_json::{Value, json};

/// How one provider pages.
#[derive(Clone, Copy)]
enum Paging {
    /// Vultr: `per_page` + `cursor` from `meta.links.next`.
    Cursor,
    /// Linode: `page` + `page_size`, until `page == pages`.
    Pages,
    /// DigitalOcean: `page` + `per_page`, following the page number in `links.pages.next`.
    Links,
}

/// (fixture file, path, list key, operation, extra query)
type FileSpec = (&'static str, &'static str, &'static str, Operation, &'static [(&'static str, &'static str)]);

struct Source {
    info: &'static ProviderInfo,
    paging: Paging,
    files: &'static [FileSpec],
}

const SOURCES: &[Source] = &[
    Source {
        info: &prov_vultr::INFO,
        paging: Paging::Cursor,
        files: &[
            ("regions.json", "/regions", "regions", Operation::ListRegions, &[]),
            ("plans.json", "/plans", "plans", Operation::ListSizes, &[]),
            ("os.json", "/os", "os", Operation::ListImages, &[]),
        ],
    },
    Source {
        info: &prov_linode::INFO,
        paging: Paging::Pages,
        files: &[
            ("regions.json", "/regions", "data", Operation::ListRegions, &[]),
            ("types.json", "/linode/types", "data", Operation::ListSizes, &[]),
            ("images.json", "/images", "data", Operation::ListImages, &[]),
        ],
    },
    Source {
        info: &prov_digitalocean::INFO,
        paging: Paging::Links,
        files: &[
            ("regions.json", "/regions", "regions", Operation::ListRegions, &[]),
            ("sizes.json", "/sizes", "sizes", Operation::ListSizes, &[]),
            ("images_distribution.json", "/images", "images", Operation::ListImages, &[("type", "distribution")]),
        ],
    },
];

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut provider = None;
    let mut check = false;
    let mut base_url = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--provider" => provider = it.next().cloned(),
            "--check" => check = true,
            "--base-url" => base_url = it.next().cloned(),
            other => bail!("unknown argument `{other}`"),
        }
    }
    let Some(provider) = provider else { bail!("--provider vultr|linode|digitalocean|all is required") };
    let chosen: Vec<&Source> = SOURCES.iter().filter(|s| provider == "all" || s.info.answers_to(&provider)).collect();
    if chosen.is_empty() {
        bail!("unknown provider `{provider}`");
    }
    if base_url.is_some() && chosen.len() > 1 {
        bail!("--base-url names one provider's API; use the PROV_<PROVIDER>_API_URL variables with --provider all");
    }
    let mut drift = Vec::new();
    for source in chosen {
        let mut settings = ClientSettings::from_env(source.info);
        if let Some(url) = &base_url {
            settings.base_url = Some(url.clone());
        }
        let http = Http::new(source.info, &settings)?;
        eprintln!("{}: recording from {}", source.info.name, http.base_url());
        for (file, path, key, op, extra) in source.files {
            let items = fetch_all(&http, source.paging, path, key, *op, extra)
                .with_context(|| format!("{}: recording {file}", source.info.name))?;
            let body = shape(source.paging, key, items);
            let target = fixtures_dir().join(source.info.name).join(file);
            if check {
                if let Some(d) = compare(&target, &body, key)? {
                    drift.push(format!("{}/{file}: {d}", source.info.name));
                }
            } else {
                let text = serde_json::to_string_pretty(&body)? + "\n";
                std::fs::write(&target, text).with_context(|| format!("writing {}", target.display()))?;
                eprintln!("  wrote {}", target.display());
            }
        }
    }
    if drift.is_empty() {
        if check {
            eprintln!("fixtures are current");
        }
        Ok(())
    } else {
        bail!("fixtures drifted from the API:\n  {}", drift.join("\n  "))
    }
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn fetch_all(
    http: &Http,
    paging: Paging,
    path: &str,
    key: &str,
    op: Operation,
    extra: &[(&str, &str)],
) -> anyhow::Result<Vec<Value>> {
    let mut first = Request::get(op, path);
    for (k, v) in extra {
        first = first.query(*k, *v);
    }
    first = match paging {
        Paging::Cursor => first.query("per_page", "500"),
        Paging::Pages => first.query("page", "1").query("page_size", "500"),
        Paging::Links => first.query("page", "1").query("per_page", "200"),
    };
    let items = http.paginate(&first, |body| {
        let v: Value = http.decode(op, body)?;
        let items = v.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
        let next = match paging {
            Paging::Cursor => v["meta"]["links"]["next"]
                .as_str()
                .filter(|c| !c.is_empty())
                .map(|c| vec![("cursor".to_owned(), c.to_owned())]),
            Paging::Pages => {
                let (page, pages) = (v["page"].as_u64().unwrap_or(1), v["pages"].as_u64().unwrap_or(1));
                (page < pages).then(|| vec![("page".to_owned(), (page + 1).to_string())])
            }
            Paging::Links => v["links"]["pages"]["next"]
                .as_str()
                .and_then(|url| url.split(['?', '&']).find_map(|kv| kv.strip_prefix("page=")))
                .map(|p| vec![("page".to_owned(), p.to_owned())]),
        };
        Ok(Page::new(items, next))
    })?;
    Ok(items)
}

/// One body holding every item, in the provider's own single-page list shape.
fn shape(paging: Paging, key: &str, items: Vec<Value>) -> Value {
    let n = items.len();
    match paging {
        Paging::Cursor => json!({ key: items, "meta": {"total": n, "links": {"next": "", "prev": ""}} }),
        Paging::Pages => json!({ key: items, "page": 1, "pages": 1, "results": n }),
        Paging::Links => json!({ key: items, "links": {}, "meta": {"total": n} }),
    }
}

/// `None` when the committed fixture holds the same items; otherwise a one-line summary of the drift.
fn compare(path: &Path, recorded: &Value, key: &str) -> anyhow::Result<Option<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let committed: Value = serde_json::from_str(&text)?;
    let ids = |v: &Value| -> Vec<String> {
        v.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|i| i.get("id").or_else(|| i.get("slug")).map(Value::to_string).unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default()
    };
    if committed.get(key) == recorded.get(key) {
        return Ok(None);
    }
    let (old, new) = (ids(&committed), ids(recorded));
    let added = new.iter().filter(|i| !old.contains(i)).count();
    let removed = old.iter().filter(|i| !new.contains(i)).count();
    Ok(Some(format!(
        "{} items recorded vs {} committed ({added} added, {removed} removed, others changed)",
        new.len(),
        old.len()
    )))
}
