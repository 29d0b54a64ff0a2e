//! `prov list <provider>|all regions|plans|images|instances`: catalogue lists served from the on-disk cache when
//! fresh (see `cache`), filtered and sorted here (`--min-vcpus`, `--min-ram`, `--min-disk`, `--max-price`,
//! `--region`, `--sort` on plans; `--family` on images); `all` asks every provider in parallel and skips, with a
//! note, those without a token. Filter values are checked before anything is sent (exit 2).

use prov_core::money::{Currency, Decimal, Money};
use prov_core::provider::ProviderInfo;
use prov_core::{Image, Instance, Provider, Region, Size};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::args::{ListFilters, ListWhat, SortKey};
use crate::cache::{Cache, Kind};
use crate::output::{self, FromProvider};
use crate::settings::{Context, find_provider, registry};
use crate::{CmdResult, Failure};

pub(crate) fn run(cx: &Context, provider: &str, what: ListWhat, args: &ListFilters) -> CmdResult {
    let filters = Filters::from_args(args)?;
    for flag in inapplicable(args, what) {
        output::warning(&format!("{flag} does not apply to `list … {}`; ignored", what_word(what)));
    }
    let cache = if what == ListWhat::Instances { None } else { Cache::from_env()? };
    if provider.eq_ignore_ascii_case("all") {
        return all(cx, what, &filters, cache.as_ref());
    }
    let info = find_provider(provider)?;
    let p = cx.connect(info)?;
    let p = p.as_ref();
    let refresh = filters.refresh;
    match what {
        ListWhat::Regions => {
            output::regions(cx.output, &catalogue(p, Kind::Regions, cache.as_ref(), refresh, fetch_regions)?)
        }
        ListWhat::Plans => {
            let mut plans: Vec<Size> = catalogue(p, Kind::Plans, cache.as_ref(), refresh, fetch_sizes)?;
            let matched = match filters.region {
                Some(_) => {
                    let regions = catalogue(p, Kind::Regions, cache.as_ref(), refresh, fetch_regions)?;
                    resolve_region(&filters, info.name, &regions)
                }
                None => Vec::new(),
            };
            let before = plans.len();
            let stated = states_regions(&plans);
            plans.retain(|p| filters.keeps_size(p, stated, &matched));
            sort_sizes(&mut plans, filters.sort, |p| p);
            filters.note_if_nothing_left(what, before, plans.len(), info.name);
            output::sizes_of(cx.output, &plans, stated)
        }
        ListWhat::Images => {
            let mut images: Vec<Image> = catalogue(p, Kind::Images, cache.as_ref(), refresh, fetch_images)?;
            let before = images.len();
            images.retain(|i| filters.keeps_image(i));
            filters.note_if_nothing_left(what, before, images.len(), info.name);
            output::images(cx.output, &images)
        }
        ListWhat::Instances => output::instances(cx.output, &p.list_instances()?),
    }
}

/// Validated filters of `list … plans|images`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Filters {
    min_vcpus: Option<u32>,
    /// MiB.
    min_ram_mb: Option<u64>,
    /// MiB (plans state their disk in GB; 1G = 1024M here).
    min_disk_mb: Option<u64>,
    /// In the size's own currency (every current provider bills in USD).
    max_price: Option<Decimal>,
    region: Option<String>,
    family: Option<String>,
    sort: Option<SortKey>,
    refresh: bool,
}

impl Filters {
    /// Checks every value; a bad one is a usage error (exit 2) naming the flag.
    pub(crate) fn from_args(a: &ListFilters) -> Result<Self, Failure> {
        let min_ram_mb = a.min_ram.as_deref().map(|s| parse_size("--min-ram", s)).transpose()?;
        let min_disk_mb = a.min_disk.as_deref().map(|s| parse_size("--min-disk", s)).transpose()?;
        if let Some(text) = a.min_disk.as_deref()
            && let Some(mb) = min_disk_mb
            && is_plain_number(text)
            && mb < 1024
        {
            output::warning(&format!(
                "--min-disk {} means {mb} MB (a plain number is megabytes); did you mean {}G?",
                text.trim(),
                text.trim()
            ));
        }
        if let Some(usd) = a.max_price
            && !(usd.is_finite() && usd >= 0.0)
        {
            return Err(Failure::usage(format!(
                "--max-price `{usd}`: expected US dollars a month, 0 or more (e.g. 12)"
            )));
        }
        let non_empty = |flag: &str, v: &Option<String>| match v.as_deref().map(str::trim) {
            Some("") => Err(Failure::usage(format!("{flag} needs a value"))),
            other => Ok(other.map(str::to_owned)),
        };
        Ok(Self {
            min_vcpus: a.min_vcpus,
            min_ram_mb,
            min_disk_mb,
            // Beyond `Decimal`'s range (about 7.9e28) every price is below it.
            max_price: a.max_price.map(|v| Money::from_f64(v, Currency::Usd).map_or(Decimal::MAX, |m| m.amount)),
            region: non_empty("--region", &a.region)?,
            family: non_empty("--family", &a.family)?,
            sort: a.sort,
            refresh: a.refresh,
        })
    }

    fn any_plan_filter(&self) -> bool {
        self.min_vcpus.is_some()
            || self.min_ram_mb.is_some()
            || self.min_disk_mb.is_some()
            || self.max_price.is_some()
            || self.region.is_some()
    }

    /// True when `p` passes every plan filter. `--region` was resolved into `matched`, this provider's region ids
    /// that answer to it (see [`matching_regions`]); a provider with none keeps no plan. A plan with an empty
    /// region list is sold everywhere when its provider states no regions for any plan (`regions_stated` false:
    /// Linode types), and nowhere when the provider states them for its other plans (a Vultr plan with no
    /// locations).
    pub(crate) fn keeps_size(&self, p: &Size, regions_stated: bool, matched: &[String]) -> bool {
        self.min_vcpus.is_none_or(|n| p.vcpus >= n)
            && self.min_ram_mb.is_none_or(|mb| p.memory_mb >= mb)
            && self.min_disk_mb.is_none_or(|mb| p.disk_gb.saturating_mul(1024) >= mb)
            && self.max_price.is_none_or(|max| p.monthly_price.amount <= max)
            && (self.region.is_none()
                || (!matched.is_empty()
                    && ((p.regions.is_empty() && !regions_stated) || p.regions.iter().any(|x| matched.contains(x)))))
    }

    /// True when `i` passes `--family` (case-insensitive).
    pub(crate) fn keeps_image(&self, i: &Image) -> bool {
        self.family.as_deref().is_none_or(|f| i.family.eq_ignore_ascii_case(f))
    }

    /// A note on stderr when filters removed every item, so an empty table is not a mystery.
    fn note_if_nothing_left(&self, what: ListWhat, before: usize, after: usize, source: &str) {
        let filtered = match what {
            ListWhat::Plans => self.any_plan_filter(),
            ListWhat::Images => self.family.is_some(),
            _ => false,
        };
        if !filtered || after > 0 || before == 0 {
            return;
        }
        let by = if source == "all" { "the providers asked" } else { source };
        let mut text = format!("no {} of {before} listed by {by} match the filters", what_word(what));
        if what == ListWhat::Plans
            && let Some(r) = &self.region
        {
            text.push_str(&format!(" (is `{r}` a region id? `prov list {source} regions` shows them)"));
        }
        if what == ListWhat::Images
            && let Some(f) = &self.family
        {
            text.push_str(&format!(" (no image of family `{f}`)"));
        }
        output::note(&text);
    }
}

/// The ids of `regions` that answer to `query`: the region whose id is `query` (any case) if there is one;
/// otherwise every region whose id starts with it (`syd` → DigitalOcean `syd1`) or whose name has a word that
/// starts with it (`syd` → Linode `ap-southeast`, "Sydney, AU"). Region ids differ between providers; this lets
/// one `--region` speak to all of them.
pub(crate) fn matching_regions(query: &str, regions: &[Region]) -> Vec<String> {
    let q = query.to_lowercase();
    if let Some(exact) = regions.iter().find(|r| r.id.to_lowercase() == q) {
        return vec![exact.id.clone()];
    }
    regions
        .iter()
        .filter(|r| {
            r.id.to_lowercase().starts_with(&q)
                || r.name
                    .to_lowercase()
                    .split(|c: char| !c.is_alphanumeric())
                    .any(|w| !w.is_empty() && w.starts_with(&q))
        })
        .map(|r| r.id.clone())
        .collect()
}

/// `--region` resolved for one provider (empty without `--region`), with a note naming what matched.
fn resolve_region(filters: &Filters, provider: &str, regions: &[Region]) -> Vec<String> {
    let Some(q) = &filters.region else { return Vec::new() };
    let matched = matching_regions(q, regions);
    if matched.is_empty() {
        output::note(&format!("note: {provider} has no region matching `{q}`"));
    } else if matched.len() > 1 || !matched[0].eq_ignore_ascii_case(q) {
        output::note(&format!("note: --region {q} on {provider}: {}", matched.join(", ")));
    }
    matched
}

/// True when the provider states where its plans are sold: some plan of its catalogue has a region list.
fn states_regions(plans: &[Size]) -> bool {
    plans.iter().any(|p| !p.regions.is_empty())
}

fn what_word(what: ListWhat) -> &'static str {
    match what {
        ListWhat::Regions => "regions",
        ListWhat::Plans => "plans",
        ListWhat::Images => "images",
        ListWhat::Instances => "instances",
    }
}

/// The filter flags given that do nothing for `what`.
fn inapplicable(a: &ListFilters, what: ListWhat) -> Vec<&'static str> {
    let plan_flags = [
        ("--min-vcpus", a.min_vcpus.is_some()),
        ("--min-ram", a.min_ram.is_some()),
        ("--min-disk", a.min_disk.is_some()),
        ("--max-price", a.max_price.is_some()),
        ("--region", a.region.is_some()),
        ("--sort", a.sort.is_some()),
    ];
    let family = [("--family", a.family.is_some())];
    let ignored: Vec<(&'static str, bool)> = match what {
        ListWhat::Plans => family.to_vec(),
        ListWhat::Images => plan_flags.to_vec(),
        ListWhat::Regions | ListWhat::Instances => plan_flags.iter().chain(&family).copied().collect(),
    };
    ignored.into_iter().filter(|(_, given)| *given).map(|(flag, _)| flag).collect()
}

fn is_plain_number(text: &str) -> bool {
    let t = text.trim();
    !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// Parses a size such as `2G`, `512m`, `1.5T`, `2 GB` or `2GiB` into MiB. Units are binary and case-insensitive:
/// M (MB, MiB) = 1, G (GB, GiB) = 1024, T (TB, TiB) = 1024 × 1024; a plain number is MiB. Fractions round up.
pub(crate) fn parse_size(flag: &str, text: &str) -> Result<u64, Failure> {
    let bad = || {
        Failure::usage(format!(
            "{flag} `{text}`: not a size; use a number with an optional unit M, G or T (e.g. 512M, 2G, 1.5T; a plain number is MB)"
        ))
    };
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    if number.is_empty() {
        return Err(bad());
    }
    let value: f64 = number.parse().map_err(|_| bad())?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "m" | "mb" | "mib" => 1.0,
        "g" | "gb" | "gib" => 1024.0,
        "t" | "tb" | "tib" => 1024.0 * 1024.0,
        _ => return Err(bad()),
    };
    let mb = (value * factor).ceil();
    // 2^53: beyond it f64 is no longer exact; no machine has that many MiB.
    if !mb.is_finite() || mb > 9_007_199_254_740_992.0 {
        return Err(Failure::usage(format!("{flag} `{text}`: too large")));
    }
    Ok(mb as u64)
}

/// Sorts plans by `key` (ties broken by price, then memory, then id); `None` keeps the provider's order. Prices
/// compare within a currency; sizes priced in different currencies are grouped by currency (USD first). The sort
/// is stable, so items of equal rank keep their order (the provider order, for `all`).
fn sort_sizes<T>(items: &mut [T], key: Option<SortKey>, plan: impl Fn(&T) -> &Size) {
    let Some(key) = key else { return };
    let by_price = |a: &Size, b: &Size| {
        let key = |s: &Size| (s.monthly_price.currency, s.monthly_price.amount);
        key(a).cmp(&key(b))
    };
    items.sort_by(|a, b| {
        let (a, b) = (plan(a), plan(b));
        let first = match key {
            SortKey::Price => by_price(a, b),
            SortKey::Ram => a.memory_mb.cmp(&b.memory_mb),
            SortKey::Vcpus => a.vcpus.cmp(&b.vcpus),
        };
        first.then_with(|| by_price(a, b)).then_with(|| a.memory_mb.cmp(&b.memory_mb)).then_with(|| a.id.cmp(&b.id))
    });
}

/// A catalogue list of `p`: from the cache when fresh (and not `refresh`), else fetched with `get` and written to
/// the cache. The token rule is checked first either way, so the answer never depends on what happens to be
/// cached.
fn catalogue<T: Serialize + DeserializeOwned>(
    p: &dyn Provider,
    kind: Kind,
    cache: Option<&Cache>,
    refresh: bool,
    get: fn(&dyn Provider) -> prov_core::Result<Vec<T>>,
) -> Result<Vec<T>, Failure> {
    p.http().require_token(kind.operation())?;
    let name = p.info().name;
    let base = p.http().base_url();
    if let Some(c) = cache
        && !refresh
        && let Some(hit) = c.load::<T>(name, base, kind)
    {
        log::info!(
            "{name}: {} {} from the cache ({}s old; --refresh fetches them again)",
            hit.items.len(),
            kind.as_str(),
            hit.age.as_secs()
        );
        return Ok(hit.items);
    }
    let items = get(p)?;
    if let Some(c) = cache {
        match c.store(name, base, kind, &items) {
            Ok(()) => log::debug!("cache: wrote {}", c.path_for(name, base, kind).display()),
            Err(e) => log::info!("cache: cannot write {}: {e}", c.path_for(name, base, kind).display()),
        }
    }
    Ok(items)
}

fn fetch_regions(p: &dyn Provider) -> prov_core::Result<Vec<Region>> {
    p.list_regions()
}

fn fetch_sizes(p: &dyn Provider) -> prov_core::Result<Vec<Size>> {
    p.list_sizes()
}

fn fetch_images(p: &dyn Provider) -> prov_core::Result<Vec<Image>> {
    p.list_images()
}

/// `list all …`: every provider with what the list needs, asked in parallel.
fn all(cx: &Context, what: ListWhat, filters: &Filters, cache: Option<&Cache>) -> CmdResult {
    let operation = match what {
        ListWhat::Regions => Kind::Regions.operation(),
        ListWhat::Plans => Kind::Plans.operation(),
        ListWhat::Images => Kind::Images.operation(),
        ListWhat::Instances => prov_core::provider::Operation::ListInstances,
    };
    refuse_one_url_for_all(cx)?;
    cx.one_url_one_provider(&registry().iter().map(|i| i.name).collect::<Vec<_>>())?;
    let mut clients: Vec<Box<dyn Provider>> = Vec::new();
    for &info in registry() {
        let p = cx.connect(info)?;
        match p.http().require_token(operation) {
            Ok(()) => clients.push(p),
            Err(prov_core::Error::MissingToken { vars, .. }) => output::note(&format!(
                "note: skipping {}: {operation} needs an API token (set {})",
                info.display_name,
                vars.join(" or ")
            )),
            Err(e) => return Err(e.into()),
        }
    }
    if clients.is_empty() {
        return Err(Failure::usage(format!(
            "no provider can {operation}: none has an API token (see the notes above)"
        )));
    }
    let refresh = filters.refresh;
    let failures = match what {
        ListWhat::Regions => {
            let (items, failures) = gather(&clients, |p| catalogue(p, Kind::Regions, cache, refresh, fetch_regions));
            output::all_regions(cx.output, &items)?;
            failures
        }
        ListWhat::Plans => {
            let (mut items, mut failures) =
                gather(&clients, |p| catalogue(p, Kind::Plans, cache, refresh, fetch_sizes));
            let before = items.len();
            let stating: Vec<&str> = registry()
                .iter()
                .map(|i| i.name)
                .filter(|name| items.iter().any(|p| p.provider == *name && !p.item.regions.is_empty()))
                .collect();
            let mut matched: std::collections::BTreeMap<&str, Vec<String>> = std::collections::BTreeMap::new();
            if filters.region.is_some() {
                let (regions, region_failures) =
                    gather(&clients, |p| catalogue(p, Kind::Regions, cache, refresh, fetch_regions));
                failures.extend(region_failures);
                for p in &clients {
                    let name = p.info().name;
                    let mine: Vec<Region> =
                        regions.iter().filter(|r| r.provider == name).map(|r| r.item.clone()).collect();
                    if !mine.is_empty() {
                        matched.insert(name, resolve_region(filters, name, &mine));
                    }
                }
            }
            let none = Vec::new();
            items.retain(|p| {
                filters.keeps_size(&p.item, stating.contains(&p.provider), matched.get(p.provider).unwrap_or(&none))
            });
            sort_sizes(&mut items, Some(filters.sort.unwrap_or(SortKey::Price)), |p| &p.item);
            filters.note_if_nothing_left(what, before, items.len(), "all");
            output::all_sizes(cx.output, &items, &stating)?;
            failures
        }
        ListWhat::Images => {
            let (mut items, failures) = gather(&clients, |p| catalogue(p, Kind::Images, cache, refresh, fetch_images));
            let before = items.len();
            items.retain(|i| filters.keeps_image(&i.item));
            filters.note_if_nothing_left(what, before, items.len(), "all");
            output::all_images(cx.output, &items)?;
            failures
        }
        ListWhat::Instances => {
            let (items, failures) = gather(&clients, |p| p.list_instances().map_err(Failure::from));
            let items: Vec<Instance> = items.into_iter().map(|i| i.item).collect();
            output::all_instances(cx.output, &items)?;
            failures
        }
    };
    let mut failures = failures;
    match failures.len() {
        0 => Ok(()),
        1 => Err(failures.remove(0)),
        _ => Err(Failure::failed(failures.into_iter().map(|f| f.message).collect::<Vec<_>>().join("\n"))),
    }
}

/// `--api-url` sets one URL for every provider, which cannot serve them all. `Context` does not say whether the
/// flag was given, so this refuses the one case it produces: every provider pointed at the same URL.
fn refuse_one_url_for_all(cx: &Context) -> Result<(), Failure> {
    let urls: Vec<Option<String>> = registry().iter().map(|i| cx.client_settings(i).base_url).collect();
    if urls.len() > 1 && urls[0].is_some() && urls.iter().all(|u| u == &urls[0]) {
        return Err(Failure::usage(
            "every provider points at the same API URL (--api-url?); `list all` needs each provider's own: set PROV_<PROVIDER>_API_URL instead",
        ));
    }
    Ok(())
}

/// Runs `get` for every client on its own thread; items come back in registry order, each with its provider.
fn gather<T: Send>(
    clients: &[Box<dyn Provider>],
    get: impl Fn(&dyn Provider) -> Result<Vec<T>, Failure> + Sync,
) -> (Vec<FromProvider<T>>, Vec<Failure>) {
    let get = &get;
    let results: Vec<(&'static ProviderInfo, Result<Vec<T>, Failure>)> = std::thread::scope(|s| {
        let handles: Vec<_> = clients.iter().map(|p| (p.info(), s.spawn(move || get(p.as_ref())))).collect();
        handles
            .into_iter()
            .map(|(info, h)| {
                let result = h
                    .join()
                    .unwrap_or_else(|_| Err(Failure::failed(format!("{}: the list failed unexpectedly", info.name))));
                (info, result)
            })
            .collect()
    });
    let mut items = Vec::new();
    let mut failures = Vec::new();
    for (info, result) in results {
        match result {
            Ok(list) => items.extend(list.into_iter().map(|item| FromProvider { provider: info.name, item })),
            Err(f) => failures.push(f),
        }
    }
    (items, failures)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn size(text: &str) -> Result<u64, String> {
        parse_size("--min-ram", text).map_err(|f| {
            assert_eq!(f.code, 2);
            f.message
        })
    }

    #[test]
    fn sizes_take_m_g_t_in_any_case_and_plain_numbers_are_megabytes() {
        assert_eq!(size("2G"), Ok(2048));
        assert_eq!(size("2g"), Ok(2048));
        assert_eq!(size("2GB"), Ok(2048));
        assert_eq!(size("2 GiB"), Ok(2048));
        assert_eq!(size("512M"), Ok(512));
        assert_eq!(size("512"), Ok(512));
        assert_eq!(size("1.5G"), Ok(1536));
        assert_eq!(size("1t"), Ok(1_048_576));
        assert_eq!(size("0"), Ok(0));
        assert_eq!(size("0.1M"), Ok(1), "fractions round up");
    }

    #[test]
    fn bad_sizes_are_usage_errors_naming_the_flag_and_value() {
        for bad in ["2X", "", " ", "G", "-2G", "2..5G", ".", "2G2", "1e3G", "two", "2KB", "2P"] {
            let e = size(bad).err().unwrap_or_else(|| panic!("`{bad}` was accepted"));
            assert!(e.starts_with(&format!("--min-ram `{bad}`: not a size")), "{e}");
        }
        assert!(size("99999999999999999999T").is_err_and(|e| e.contains("too large")));
    }

    proptest! {
        #[test]
        fn any_whole_size_in_any_unit_spelling_parses_exactly(n in 0u64..10_000_000, unit in 0usize..9, upper: bool) {
            let (word, factor) = [("", 1), ("m", 1), ("mb", 1), ("g", 1024), ("gb", 1024), ("gib", 1024),
                ("t", 1 << 20), ("tb", 1 << 20), ("tib", 1 << 20)][unit];
            let word = if upper { word.to_uppercase() } else { word.to_owned() };
            prop_assert_eq!(size(&format!("{n}{word}")), Ok(n * factor));
        }

        #[test]
        fn no_text_makes_size_parsing_panic(text in "\\PC{0,12}") {
            let _ = size(&text);
        }
    }

    fn plan(id: &str, vcpus: u32, memory_mb: u64, disk_gb: u64, usd: f64, regions: &[&str]) -> Size {
        Size {
            id: id.into(),
            vcpus,
            memory_mb,
            disk_gb,
            transfer_gb: 1000,
            monthly_price: Money::from_f64(usd, Currency::Usd).unwrap_or(Money::zero(Currency::Usd)),
            regions: regions.iter().map(|r| (*r).to_owned()).collect(),
            region_prices: Default::default(),
        }
    }

    fn filters(a: ListFilters) -> Filters {
        Filters::from_args(&a).unwrap_or_else(|f| panic!("{}", f.message))
    }

    #[test]
    fn plan_filters_combine_and_an_empty_region_list_depends_on_the_provider() {
        let plans = [
            plan("small", 1, 1024, 25, 5.0, &["syd", "ams"]),
            plan("mid", 2, 4096, 80, 12.0, &["ams"]),
            plan("big", 4, 8192, 160, 48.0, &["syd"]),
            plan("any", 2, 2048, 50, 10.0, &[]),
        ];
        let stated = states_regions(&plans);
        assert!(stated);
        let keep = |f: &Filters| {
            let matched: Vec<String> = f.region.iter().map(|r| r.to_lowercase()).collect();
            plans.iter().filter(|p| f.keeps_size(p, stated, &matched)).map(|p| p.id.as_str()).collect::<Vec<_>>()
        };
        assert_eq!(keep(&filters(ListFilters::default())), ["small", "mid", "big", "any"]);
        assert_eq!(keep(&filters(ListFilters { min_vcpus: Some(2), ..Default::default() })), ["mid", "big", "any"]);
        assert_eq!(
            keep(&filters(ListFilters { min_ram: Some("2g".into()), ..Default::default() })),
            ["mid", "big", "any"]
        );
        assert_eq!(keep(&filters(ListFilters { min_disk: Some("80G".into()), ..Default::default() })), ["mid", "big"]);
        assert_eq!(
            keep(&filters(ListFilters { max_price: Some(12.0), ..Default::default() })),
            ["small", "mid", "any"]
        );
        let syd = filters(ListFilters { region: Some("SYD".into()), ..Default::default() });
        assert_eq!(keep(&syd), ["small", "big"], "a provider that states regions sells `any` nowhere");
        assert!(
            syd.keeps_size(&plans[3], false, &["syd".to_owned()]),
            "a provider that states no regions sells it everywhere"
        );
        assert!(!syd.keeps_size(&plans[3], false, &[]), "but only if the provider has such a region at all");
        assert!(!states_regions(&plans[3..]));
        let combined =
            ListFilters { min_vcpus: Some(2), max_price: Some(20.0), region: Some("ams".into()), ..Default::default() };
        assert_eq!(keep(&filters(combined)), ["mid"]);
    }

    #[test]
    fn a_region_query_finds_each_providers_own_ids() {
        let r = |id: &str, name: &str| Region { id: id.into(), name: name.into(), country: "AU".into() };
        let vultr = [r("syd", "Sydney"), r("sjc", "Silicon Valley")];
        let linode = [r("ap-southeast", "Sydney, AU"), r("au-mel", "Melbourne, AU")];
        let digitalocean =
            [r("syd1", "Sydney 1"), r("sgp1", "Singapore 1"), r("nyc1", "New York 1"), r("nyc3", "New York 3")];
        assert_eq!(matching_regions("syd", &vultr), ["syd"]);
        assert_eq!(matching_regions("SYD", &linode), ["ap-southeast"]);
        assert_eq!(matching_regions("syd", &digitalocean), ["syd1"]);
        assert_eq!(matching_regions("nyc", &digitalocean), ["nyc1", "nyc3"]);
        assert_eq!(matching_regions("sydney", &linode), ["ap-southeast"]);
        assert!(matching_regions("ams", &linode).is_empty());
    }

    #[test]
    fn sorting_is_by_key_then_price_and_keeps_provider_order_without_a_key() {
        let mut plans = vec![
            plan("c", 4, 2048, 10, 20.0, &[]),
            plan("a", 1, 4096, 10, 10.0, &[]),
            plan("b", 2, 1024, 10, 5.0, &[]),
            plan("d", 2, 4096, 10, 7.0, &[]),
        ];
        let ids = |v: &[Size]| v.iter().map(|p| p.id.clone()).collect::<Vec<_>>();
        sort_sizes(&mut plans, None, |p| p);
        assert_eq!(ids(&plans), ["c", "a", "b", "d"]);
        sort_sizes(&mut plans, Some(SortKey::Price), |p| p);
        assert_eq!(ids(&plans), ["b", "d", "a", "c"]);
        sort_sizes(&mut plans, Some(SortKey::Ram), |p| p);
        assert_eq!(ids(&plans), ["b", "c", "d", "a"]);
        sort_sizes(&mut plans, Some(SortKey::Vcpus), |p| p);
        assert_eq!(ids(&plans), ["a", "b", "d", "c"]);
    }

    #[test]
    fn family_matches_case_insensitively() {
        let f = filters(ListFilters { family: Some("Debian".into()), ..Default::default() });
        let img = |family: &str| Image { id: "1".into(), name: "x".into(), family: family.into() };
        assert!(f.keeps_image(&img("debian")));
        assert!(!f.keeps_image(&img("ubuntu")));
        assert!(filters(ListFilters::default()).keeps_image(&img("ubuntu")));
    }

    #[test]
    fn bad_prices_and_empty_values_are_usage_errors() {
        for a in [
            ListFilters { max_price: Some(-1.0), ..Default::default() },
            ListFilters { max_price: Some(f64::NAN), ..Default::default() },
            ListFilters { region: Some(" ".into()), ..Default::default() },
            ListFilters { family: Some(String::new()), ..Default::default() },
            ListFilters { min_disk: Some("50X".into()), ..Default::default() },
        ] {
            assert!(Filters::from_args(&a).is_err_and(|f| f.code == 2), "{a:?}");
        }
    }

    #[test]
    fn flags_that_do_not_apply_are_named() {
        let a = ListFilters { family: Some("debian".into()), min_vcpus: Some(2), ..Default::default() };
        assert_eq!(inapplicable(&a, ListWhat::Plans), ["--family"]);
        assert_eq!(inapplicable(&a, ListWhat::Images), ["--min-vcpus"]);
        assert_eq!(inapplicable(&a, ListWhat::Regions), ["--min-vcpus", "--family"]);
        assert!(inapplicable(&ListFilters::default(), ListWhat::Instances).is_empty());
    }
}
