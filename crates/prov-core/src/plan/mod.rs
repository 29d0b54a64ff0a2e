//! Plan files: the TOML format and the legacy Prod `key: value` recipes, both lowered into one located raw form
//! and validated by one builder into a [`Plan`]. Every problem carries `file:line:col` and the key; nothing here
//! sends a request.

mod legacy;
mod toml_format;

use std::path::{Path, PathBuf};

use crate::provider::{CreateSpec, ProviderInfo};
use crate::secret::Secret;
use crate::wait::WaitLevel;

/// A 1-based position in a plan file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Location {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub col: usize,
}

impl Location {
    /// The location of byte `offset` in `text`.
    pub fn of_offset(text: &str, offset: usize) -> Self {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        Self { line, col }
    }
}

/// One problem in a plan file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    /// The file as the user named it.
    pub file: String,
    /// Where.
    pub location: Location,
    /// The key concerned, if any.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.location.line, self.location.col)?;
        if let Some(key) = &self.key {
            write!(f, "`{key}`: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found in a plan file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanErrors(pub Vec<PlanError>);

impl std::fmt::Display for PlanErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PlanErrors {}

/// A validated plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The file it came from.
    pub source: PathBuf,
    /// How far `apply` waits (the CLI's `--wait` overrides it).
    pub wait: WaitLevel,
    /// The instances, in file order.
    pub instances: Vec<InstancePlan>,
    /// Things worth telling the user that do not stop the plan (ignored legacy keys).
    pub warnings: Vec<PlanError>,
}

/// One instance of a plan.
#[derive(Debug, Clone)]
pub struct InstancePlan {
    /// Its provider.
    pub provider: &'static ProviderInfo,
    /// What to create.
    pub spec: CreateSpec,
    /// Where it is declared.
    pub location: Location,
}

/// The keys of an instance, with their types. `provider`, `label`, `region`, `plan` and `image` are common to
/// every provider; the others are optional and each provider lists the ones it supports.
const KEYS: &[(&str, Kind)] = &[
    ("provider", Kind::Str),
    ("label", Kind::Str),
    ("region", Kind::Str),
    ("plan", Kind::Str),
    ("image", Kind::StrOrInt),
    ("ipv6", Kind::Bool),
    ("backups", Kind::Bool),
    ("tags", Kind::StrList),
    ("ssh_keys", Kind::StrList),
    ("user_data", Kind::Str),
    ("user_data_file", Kind::Str),
    ("hostname", Kind::Str),
    ("root_password", Kind::Str),
    ("private_ip", Kind::Bool),
    ("monitoring", Kind::Bool),
    ("count", Kind::Count),
];

/// The most instances one `[[instance]]` may expand to.
pub const MAX_COUNT: i64 = 100;
const REQUIRED: &[&str] = &["label", "region", "plan", "image"];
const COMMON: &[&str] = &["provider", "label", "region", "plan", "image", "count"];
const TOP_KEYS: &[&str] = &["provider", "wait", "instance"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str,
    StrOrInt,
    Bool,
    StrList,
    /// A whole number from 1 to [`MAX_COUNT`].
    Count,
}

/// A value as written, before validation. TOML gives typed values; legacy recipes give text.
#[derive(Debug, Clone)]
enum Raw {
    Str(String),
    Int(i64),
    Bool(bool),
    List(Vec<(Raw, Location)>),
    /// A TOML value of another type (float, datetime, table), named for the message.
    Other(&'static str),
    /// Untyped text from a legacy recipe, coerced to the key's kind.
    Text(String),
}

impl Raw {
    fn type_name(&self) -> &'static str {
        match self {
            Self::Str(_) | Self::Text(_) => "a string",
            Self::Int(_) => "an integer",
            Self::Bool(_) => "a boolean",
            Self::List(_) => "an array",
            Self::Other(t) => t,
        }
    }
}

/// One key of a raw instance.
#[derive(Debug, Clone)]
struct RawField {
    key: String,
    key_at: Location,
    value: Raw,
    value_at: Location,
}

/// An instance as written.
#[derive(Debug, Clone, Default)]
struct RawInstance {
    at: Location,
    fields: Vec<RawField>,
}

/// A plan as written, either format.
#[derive(Debug, Default)]
struct RawPlan {
    provider: Option<(String, Location)>,
    wait: Option<(String, Location)>,
    instances: Vec<RawInstance>,
    /// Recipe keys to warn about: (location, key, warning), applied only if the instance's provider ignores them.
    legacy_label_hint: Option<String>,
}

/// Reads and validates a plan file. `.txt` files (or files that look like `key: value` recipes) are legacy Prod
/// recipes; everything else is TOML. `registry` is every provider prov knows.
pub fn load(path: &Path, registry: &[&'static ProviderInfo]) -> Result<Plan, PlanErrors> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        PlanErrors(vec![PlanError {
            file: file.clone(),
            location: Location { line: 1, col: 1 },
            key: None,
            message: format!("cannot read the plan file: {e}"),
        }])
    })?;
    parse(path, &text, registry)
}

/// Parses plan text as if read from `path` (used for messages and to resolve `user_data_file`).
pub fn parse(path: &Path, text: &str, registry: &[&'static ProviderInfo]) -> Result<Plan, PlanErrors> {
    let file = path.display().to_string();
    let mut cx = Cx { file, errors: Vec::new(), warnings: Vec::new() };
    let raw = if is_legacy(path, text) {
        legacy::lower(text, path, registry, &mut cx)
    } else {
        toml_format::lower(text, &mut cx)
    };
    // A file that could not be read as a plan at all has no instances to check; say only why.
    let unreadable = !cx.errors.is_empty() && raw.instances.is_empty();
    let plan = if unreadable {
        Plan { source: path.to_path_buf(), wait: WaitLevel::Ready, instances: Vec::new(), warnings: Vec::new() }
    } else {
        build(raw, path, registry, &mut cx)
    };
    if cx.errors.is_empty() {
        Ok(Plan { warnings: cx.warnings, ..plan })
    } else {
        cx.errors.sort_by_key(|e| e.location);
        Err(PlanErrors(cx.errors))
    }
}

fn is_legacy(path: &Path, text: &str) -> bool {
    match path.extension().and_then(|e| e.to_str()) {
        Some("txt") => true,
        Some("toml") => false,
        _ => text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#')).is_some_and(|l| {
            let key = l.split(':').next().unwrap_or("");
            l.contains(':')
                && !key.contains('=')
                && !key.is_empty()
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }),
    }
}

/// Collects problems while lowering and building.
struct Cx {
    file: String,
    errors: Vec<PlanError>,
    warnings: Vec<PlanError>,
}

impl Cx {
    fn error(&mut self, location: Location, key: Option<&str>, message: impl Into<String>) {
        self.errors.push(PlanError {
            file: self.file.clone(),
            location,
            key: key.map(str::to_owned),
            message: message.into(),
        });
    }
    fn warn(&mut self, location: Location, key: Option<&str>, message: impl Into<String>) {
        self.warnings.push(PlanError {
            file: self.file.clone(),
            location,
            key: key.map(str::to_owned),
            message: message.into(),
        });
    }
}

/// "did you mean `x`?" for a close misspelling among `candidates`.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

fn with_suggestion(message: String, word: &str, candidates: &[&str]) -> String {
    match suggest(word, candidates.iter().copied()) {
        Some(s) => format!("{message}; did you mean `{s}`?"),
        None => message,
    }
}

fn find_provider(name: &str, registry: &[&'static ProviderInfo]) -> Option<&'static ProviderInfo> {
    registry.iter().copied().find(|p| p.answers_to(name))
}

fn unknown_provider_message(name: &str, registry: &[&'static ProviderInfo]) -> String {
    let names: Vec<&str> =
        registry.iter().flat_map(|p| std::iter::once(p.name).chain(p.aliases.iter().copied())).collect();
    let known: Vec<&str> = registry.iter().map(|p| p.name).collect();
    with_suggestion(format!("unknown provider `{name}` (known: {})", known.join(", ")), name, &names)
}

fn build(raw: RawPlan, path: &Path, registry: &[&'static ProviderInfo], cx: &mut Cx) -> Plan {
    let mut plan =
        Plan { source: path.to_path_buf(), wait: WaitLevel::Ready, instances: Vec::new(), warnings: Vec::new() };
    if let Some((w, at)) = &raw.wait {
        match WaitLevel::parse(w) {
            Some(level) => plan.wait = level,
            None => cx.error(
                *at,
                Some("wait"),
                with_suggestion(
                    format!("`{w}` is not a wait level (none, created, ready)"),
                    w,
                    &["none", "created", "ready"],
                ),
            ),
        }
    }
    let default_provider = match &raw.provider {
        Some((name, at)) => match find_provider(name, registry) {
            Some(p) => Some(p),
            None => {
                cx.error(*at, Some("provider"), unknown_provider_message(name, registry));
                None
            }
        },
        None => None,
    };
    if raw.instances.is_empty() {
        cx.error(
            Location { line: 1, col: 1 },
            Some("instance"),
            "the plan declares no instance (add an [[instance]] table)",
        );
    }
    let mut labels: Vec<(String, Location)> = Vec::new();
    let base_dir = path.parent().unwrap_or(Path::new("."));
    for ri in raw.instances {
        let expanded = build_instance(
            &ri,
            default_provider,
            raw.provider.is_some(),
            base_dir,
            registry,
            raw.legacy_label_hint.as_deref(),
            cx,
        )
        .unwrap_or_default();
        for ip in expanded {
            let (label, at) = (ip.spec.label.clone(), field_at(&ri, "label").unwrap_or(ri.at));
            if let Some((_, first)) = labels.iter().find(|(l, _)| *l == label) {
                cx.error(at, Some("label"), format!("label `{label}` is used twice (first at line {})", first.line));
            } else {
                labels.push((label, at));
            }
            plan.instances.push(ip);
        }
    }
    plan
}

fn field_at(ri: &RawInstance, key: &str) -> Option<Location> {
    ri.fields.iter().find(|f| f.key == key).map(|f| f.value_at)
}

/// Builds the instances of one `[[instance]]` (several with `count`), or `None` after reporting its problems.
fn build_instance(
    ri: &RawInstance,
    default_provider: Option<&'static ProviderInfo>,
    had_default: bool,
    base_dir: &Path,
    registry: &[&'static ProviderInfo],
    generated_label: Option<&str>,
    cx: &mut Cx,
) -> Option<Vec<InstancePlan>> {
    let errors_before = cx.errors.len();
    // The provider decides which keys are valid, so resolve it first.
    let provider = match ri.fields.iter().find(|f| f.key == "provider") {
        Some(f) => match &f.value {
            Raw::Str(name) | Raw::Text(name) => match find_provider(name, registry) {
                Some(p) => Some(p),
                None => {
                    cx.error(f.value_at, Some("provider"), unknown_provider_message(name, registry));
                    return None;
                }
            },
            other => {
                cx.error(f.value_at, Some("provider"), format!("expected a string, found {}", other.type_name()));
                return None;
            }
        },
        None if had_default => default_provider,
        None => {
            cx.error(ri.at, Some("provider"), "no provider: set `provider` at the top of the plan or in this instance");
            return None;
        }
    };
    let provider = provider?;
    let all_keys: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
    let mut spec = CreateSpec::default();
    let mut count = None;
    let mut user_data_at: Option<(Location, &str)> = None;
    for f in &ri.fields {
        let Some(kind) = KEYS.iter().find(|(k, _)| *k == f.key).map(|(_, kind)| *kind) else {
            cx.error(f.key_at, Some(&f.key), with_suggestion(format!("unknown key `{}`", f.key), &f.key, &all_keys));
            continue;
        };
        let key = f.key.as_str();
        let supported = COMMON.contains(&key)
            || provider.supports_key(key)
            || (key == "user_data_file" && provider.supports_key("user_data"));
        if !supported {
            let hint = provider
                .unsupported_hints
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, h)| format!(": {h}"))
                .unwrap_or_default();
            cx.error(f.key_at, Some(key), format!("`{key}` is not supported by {}{hint}", provider.display_name));
            continue;
        }
        let Some(value) = coerce(&f.value, kind, f.value_at, key, cx) else { continue };
        match (key, value) {
            ("provider", _) => {}
            ("label", V::Str(s)) => spec.label = s,
            ("region", V::Str(s)) => spec.region = s,
            ("plan", V::Str(s)) => spec.plan = s,
            ("image", V::Str(s)) => spec.image = s,
            ("ipv6", V::Bool(b)) => spec.ipv6 = Some(b),
            ("backups", V::Bool(b)) => spec.backups = Some(b),
            ("private_ip", V::Bool(b)) => spec.private_ip = Some(b),
            ("monitoring", V::Bool(b)) => spec.monitoring = Some(b),
            ("count", V::Count(n)) => count = Some(n),
            ("tags", V::List(l)) => spec.tags.extend(l),
            ("ssh_keys", V::List(l)) => spec.ssh_keys.extend(l),
            ("hostname", V::Str(s)) => spec.hostname = Some(s),
            ("root_password", V::Str(s)) => spec.root_password = Some(Secret::new(s)),
            ("user_data" | "user_data_file", V::Str(_)) if user_data_at.is_some() => {
                let other = user_data_at.map_or("", |(_, k)| k);
                cx.error(
                    f.key_at,
                    Some(key),
                    format!("give either `user_data` or `user_data_file`, not both (`{other}` is set too)"),
                );
            }
            ("user_data", V::Str(s)) => {
                user_data_at = Some((f.value_at, "user_data"));
                spec.user_data = Some(Secret::new(s));
            }
            ("user_data_file", V::Str(s)) => {
                user_data_at = Some((f.value_at, "user_data_file"));
                match read_user_data_file(&base_dir.join(&s)) {
                    Ok(text) => spec.user_data = Some(Secret::new(text)),
                    Err(message) => cx.error(f.value_at, Some(key), message),
                }
            }
            _ => {}
        }
    }
    if spec.label.is_empty()
        && field_at(ri, "label").is_none()
        && let Some(generated) = generated_label
    {
        spec.label = generated.to_owned();
    }
    for key in REQUIRED {
        let present = ri.fields.iter().any(|f| f.key == *key) || (*key == "label" && !spec.label.is_empty());
        if !present {
            cx.error(ri.at, Some(key), format!("missing required key `{key}`"));
        } else if let Some(f) = ri.fields.iter().find(|f| f.key == *key)
            && matches!(&f.value, Raw::Str(s) | Raw::Text(s) if s.trim().is_empty())
        {
            cx.error(f.value_at, Some(key), "must not be empty");
        }
    }
    if cx.errors.len() > errors_before {
        return None;
    }
    // `count = N` expands `{n}` in the label (and hostname) to 1..=N; without `count`, `{n}` is 1.
    if let (Some(n), false) = (count, spec.label.contains("{n}"))
        && n > 1
    {
        let at = field_at(ri, "count").unwrap_or(ri.at);
        cx.error(
            at,
            Some("count"),
            format!(
                "`count = {n}` needs `{{n}}` in the label (e.g. \"web-{{n}}\") so every instance has its own label"
            ),
        );
        return None;
    }
    let specs: Vec<CreateSpec> = (1..=count.unwrap_or(1))
        .map(|n| {
            let mut s = spec.clone();
            s.label = s.label.replace("{n}", &n.to_string());
            s.hostname = s.hostname.map(|h| h.replace("{n}", &n.to_string()));
            s
        })
        .collect();
    let mut reported: Vec<(&'static str, String)> = Vec::new();
    for s in &specs {
        for problem in (provider.validate)(s) {
            if reported.iter().any(|(k, m)| *k == problem.key && *m == problem.message) {
                continue;
            }
            let at = field_at(ri, problem.key)
                .or_else(|| if problem.key == "user_data" { field_at(ri, "user_data_file") } else { None });
            cx.error(at.unwrap_or(ri.at), Some(problem.key), problem.message.clone());
            reported.push((problem.key, problem.message));
        }
    }
    if cx.errors.len() > errors_before {
        return None;
    }
    Some(specs.into_iter().map(|spec| InstancePlan { provider, spec, location: ri.at }).collect())
}

/// The most `user_data_file` may hold, in bytes: 64 KiB, the largest user data any supported provider accepts
/// (DigitalOcean 64 KiB of plain text, Linode 65535 bytes before encoding; docs/providers/digitalocean.md §6,
/// docs/providers/linode.md §6). A provider with a lower limit says so through its own `validate` rules, which see
/// the text read.
pub const USER_DATA_FILE_MAX_BYTES: u64 = 64 * 1024;

/// Reads `user_data_file`: a regular file (not a device such as `/dev/zero`, a FIFO or a directory) of at most
/// [`USER_DATA_FILE_MAX_BYTES`], holding UTF-8 text. The size is checked before reading and the read itself is
/// bounded, so a file that grows (or is swapped) in between still cannot be read whole.
fn read_user_data_file(file: &Path) -> Result<String, String> {
    use std::io::Read;
    let max = USER_DATA_FILE_MAX_BYTES;
    let too_big =
        |size: &str| format!("`{}` is {size} bytes; providers accept at most {max} bytes of user data", file.display());
    let cannot = |e: std::io::Error| format!("cannot read `{}`: {e}", file.display());
    let meta = std::fs::metadata(file).map_err(cannot)?;
    if !meta.is_file() {
        let what = if meta.is_dir() { "a directory" } else { "not a regular file" };
        return Err(format!("`{}` is {what}; give a file of cloud-init user data", file.display()));
    }
    if meta.len() > max {
        return Err(too_big(&meta.len().to_string()));
    }
    let handle = std::fs::File::open(file).map_err(cannot)?;
    if !handle.metadata().map_err(cannot)?.is_file() {
        return Err(format!("`{}` is not a regular file; give a file of cloud-init user data", file.display()));
    }
    let mut bytes = Vec::new();
    handle.take(max + 1).read_to_end(&mut bytes).map_err(cannot)?;
    if bytes.len() as u64 > max {
        return Err(too_big(&format!("more than {max}")));
    }
    String::from_utf8(bytes).map_err(|e| format!("`{}` is not UTF-8 text ({e})", file.display()))
}

/// A value coerced to its key's kind.
enum V {
    Str(String),
    Bool(bool),
    List(Vec<String>),
    Count(u32),
}

fn coerce(raw: &Raw, kind: Kind, at: Location, key: &str, cx: &mut Cx) -> Option<V> {
    let wrong = |cx: &mut Cx, want: &str| {
        cx.error(at, Some(key), format!("expected {want}, found {}", raw.type_name()));
        None
    };
    match (kind, raw) {
        (Kind::Str | Kind::StrOrInt, Raw::Str(s) | Raw::Text(s)) => Some(V::Str(s.clone())),
        (Kind::StrOrInt, Raw::Int(i)) => Some(V::Str(i.to_string())),
        (Kind::Str, _) => wrong(cx, "a string"),
        (Kind::StrOrInt, _) => wrong(cx, "a string or an integer"),
        (Kind::Bool, Raw::Bool(b)) => Some(V::Bool(*b)),
        (Kind::Bool, Raw::Text(t)) => match t.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" | "on" | "enabled" => Some(V::Bool(true)),
            "false" | "no" | "0" | "off" | "disabled" => Some(V::Bool(false)),
            _ => {
                cx.error(at, Some(key), format!("expected true or false, found `{t}`"));
                None
            }
        },
        (Kind::Bool, _) => wrong(cx, "a boolean (true or false)"),
        (Kind::StrList, Raw::List(items)) => {
            let mut out = Vec::new();
            for (item, item_at) in items {
                match item {
                    Raw::Str(s) if !s.trim().is_empty() => out.push(s.clone()),
                    Raw::Str(_) => cx.error(*item_at, Some(key), "list items must not be empty"),
                    other => cx.error(
                        *item_at,
                        Some(key),
                        format!("expected a string in the list, found {}", other.type_name()),
                    ),
                }
            }
            Some(V::List(out))
        }
        (Kind::StrList, Raw::Text(t)) => {
            // Legacy recipes: one value per line, or comma-separated ids. A public key line is kept whole.
            let is_key_line = t.starts_with("ssh-") || t.starts_with("ecdsa-") || t.starts_with("sk-");
            let parts: Vec<String> = if is_key_line {
                vec![t.clone()]
            } else {
                t.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
            };
            Some(V::List(parts))
        }
        (Kind::StrList, _) => wrong(cx, "an array of strings"),
        (Kind::Count, Raw::Int(n)) if (1..=MAX_COUNT).contains(n) => Some(V::Count(*n as u32)),
        (Kind::Count, Raw::Text(t)) if t.parse::<i64>().is_ok_and(|n| (1..=MAX_COUNT).contains(&n)) => {
            Some(V::Count(t.parse::<u32>().unwrap_or(1)))
        }
        (Kind::Count, Raw::Int(_) | Raw::Text(_)) => {
            cx.error(at, Some(key), format!("expected a whole number from 1 to {MAX_COUNT}"));
            None
        }
        (Kind::Count, _) => wrong(cx, "a whole number"),
    }
}

#[cfg(test)]
mod tests;
