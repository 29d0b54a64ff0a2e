//! `cargo xtask specs [--check]`: trims the official OpenAPI specs into `fixtures/openapi/<provider>.json`.
//!
//! Each trimmed copy holds only the seven operations prov performs (§1 of each provider doc: `docs/providers/vultr.md
//! §1`, `docs/providers/linode.md §1`, `docs/providers/digitalocean.md §1`), their path-level parameters, the
//! components they reference (transitively), the security schemes they name, and a header object `x-prov-source` naming
//! the full file, where it comes from, its revision and its sha256. Prose is dropped to keep the copies small
//! (descriptions except the ones OpenAPI requires on Response Objects, examples, external docs, `x-` extensions); every
//! schema keyword that constrains a value is kept as the spec wrote it. The output is pretty JSON in the spec's own key
//! order (components sorted by kind and name), so it is deterministic and diffs well. `--check` regenerates in memory
//! and fails when a committed copy differs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// One provider's spec file and the operations prov uses.
struct SpecSource {
    /// Provider name; the trimmed copy is `fixtures/openapi/<provider>.json`.
    provider: &'static str,
    /// File name in the directory `PROV_API_SPECS` names (the full specs are not part of the repository).
    file: &'static str,
    /// Where the file comes from (§0 of the provider's doc, e.g. `docs/providers/vultr.md §0`).
    source: &'static str,
    /// Which revision it is (§0 of the provider's doc, e.g. `docs/providers/linode.md §0`).
    revision: &'static str,
    /// The file's size and the first hex digits of its sha256, whose full value §0 of the provider's doc records
    /// (e.g. `docs/providers/digitalocean.md §0`): `source` and `revision` describe that file, so a different file
    /// stops the run instead of being labelled wrongly.
    expected: (usize, &'static str),
    /// (path template, methods) in the order they are written out.
    operations: &'static [(&'static str, &'static [&'static str])],
}

const SOURCES: &[SpecSource] = &[
    SpecSource {
        provider: "vultr",
        file: "vultr.openapi.json",
        source: "vultr/vultr-java blob/v0.0.1.json at commit c0af6afb (2023-12-07); byte-identical copy in vultr/vultr-csharp",
        revision: "OpenAPI 3.0.0, info.version 2.0, 159 paths",
        expected: (824_549, "4b5c193d"),
        operations: &[
            ("/regions", &["get"]),
            ("/plans", &["get"]),
            ("/os", &["get"]),
            ("/instances", &["get", "post"]),
            ("/instances/{instance-id}", &["get", "delete"]),
        ],
    },
    SpecSource {
        provider: "linode",
        file: "linode.openapi.yaml",
        source: "linode/linode-api-docs openapi.yaml at commit c5fe4591 (2024-10-15)",
        revision: "API 4.189.0, OpenAPI 3.0.1, 254 paths, fully inlined",
        expected: (3_610_102, "5ad4b255"),
        operations: &[
            ("/{apiVersion}/regions", &["get"]),
            ("/{apiVersion}/linode/types", &["get"]),
            ("/{apiVersion}/images", &["get"]),
            ("/{apiVersion}/linode/instances", &["get", "post"]),
            ("/{apiVersion}/linode/instances/{linodeId}", &["get", "delete"]),
        ],
    },
    SpecSource {
        provider: "digitalocean",
        file: "digitalocean.openapi.yaml",
        source: "digitalocean/openapi specification/DigitalOcean-public.v2.yaml at commit 7c1300c4 (2026-08-07), bundled with @redocly/cli 2.77.0",
        revision: "OpenAPI 3.0.0, info.version 2.0, 445 paths",
        expected: (3_002_505, "3d7ed250"),
        operations: &[
            ("/v2/regions", &["get"]),
            ("/v2/sizes", &["get"]),
            ("/v2/images", &["get"]),
            ("/v2/droplets", &["get", "post"]),
            ("/v2/droplets/{droplet_id}", &["get", "delete"]),
        ],
    },
];

/// Keys whose value maps user-chosen names (property names, status codes, media types, component names) to
/// objects: the names themselves are never stripped, however they are spelt.
const NAME_MAPS: &[&str] = &[
    "properties",
    "patternProperties",
    "schemas",
    "parameters",
    "responses",
    "requestBodies",
    "headers",
    "securitySchemes",
    "links",
    "callbacks",
    "content",
    "paths",
    "variables",
    "mapping",
    "encoding",
];

/// Keys whose value is data, not OpenAPI structure: copied as they are.
const LITERALS: &[&str] = &["enum", "default", "required", "security", "scopes", "tags"];

/// Prose and tooling keys dropped from the trimmed copies.
const PROSE: &[&str] = &["description", "externalDocs", "example", "examples"];

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut check = false;
    for a in args {
        match a.as_str() {
            "--check" => check = true,
            other => bail!("unknown argument `{other}` (usage: cargo xtask specs [--check])"),
        }
    }
    let specs_dir = specs_dir()?;
    let out_dir = workspace_root().join("fixtures/openapi");
    let mut stale = Vec::new();
    for source in SOURCES {
        let path = specs_dir.join(source.file);
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let full: Value = if source.file.ends_with(".json") {
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
        } else {
            serde_norway::from_str::<YamlJson>(&text).with_context(|| format!("parsing {}", path.display()))?.0
        };
        let sha256 = sha256_hex(text.as_bytes());
        if text.len() != source.expected.0 || !sha256.starts_with(source.expected.1) {
            bail!(
                "{} ({} bytes, sha256 {sha256}) is not the revision docs/providers/{}.md §0 records ({} bytes, \
                 sha256 {}…); update SOURCES in xtask/src/specs.rs (source, revision, expected) and that section \
                 for the new file",
                source.file,
                text.len(),
                source.provider,
                source.expected.0,
                source.expected.1
            );
        }
        let trimmed = trim(source, &full, &sha256)?;
        let rendered = serde_json::to_string_pretty(&trimmed)? + "\n";
        let target = out_dir.join(format!("{}.json", source.provider));
        let shown = format!("fixtures/openapi/{}.json", source.provider);
        let operations: usize = source.operations.iter().map(|(_, m)| m.len()).sum();
        if check {
            match std::fs::read_to_string(&target) {
                Ok(committed) if committed == rendered => {
                    eprintln!("{}: {shown} is current ({operations} operations)", source.provider);
                }
                Ok(_) => stale.push(format!("{shown} differs from what {} gives", source.file)),
                Err(e) => stale.push(format!("{shown}: {e}")),
            }
        } else {
            std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
            std::fs::write(&target, &rendered).with_context(|| format!("writing {}", target.display()))?;
            eprintln!("{}: wrote {shown} ({operations} operations, {} bytes)", source.provider, rendered.len());
        }
    }
    if stale.is_empty() {
        Ok(())
    } else {
        bail!("the trimmed specs are out of date (run `cargo xtask specs`):\n  {}", stale.join("\n  "))
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The directory holding the full official spec files, which the repository does not carry: the environment
/// variable `PROV_API_SPECS` (an absolute path, or one relative to the current directory). Their revisions are
/// recorded in §0 of each provider doc (`docs/providers/vultr.md §0`, …).
pub fn specs_dir() -> anyhow::Result<PathBuf> {
    let Some(dir) = std::env::var_os(SPECS_ENV).filter(|d| !d.is_empty()) else {
        let files: Vec<&str> = SOURCES.iter().map(|s| s.file).collect();
        bail!("set {SPECS_ENV} to the directory holding the full official specs ({})", files.join(", "));
    };
    let dir = PathBuf::from(dir);
    if !dir.is_dir() {
        bail!("{SPECS_ENV}={} is not a directory", dir.display());
    }
    Ok(dir)
}

/// The environment variable naming the directory of the full spec files.
const SPECS_ENV: &str = "PROV_API_SPECS";

/// A JSON value read from YAML. Not `serde_json::Value` directly: DigitalOcean's spec holds integers beyond `u64`
/// (a `maximum` of 18446744073709552000), which it refuses; those become floats, as in any JSON parser. Mapping
/// keys that YAML reads as numbers (`200:`) become strings.
struct YamlJson(Value);

impl<'de> serde::Deserialize<'de> for YamlJson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(YamlJsonVisitor).map(YamlJson)
    }
}

struct YamlJsonVisitor;

impl<'de> serde::de::Visitor<'de> for YamlJsonVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(json!(n))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(json!(n))
    }
    fn visit_i128<E>(self, n: i128) -> Result<Value, E> {
        Ok(i64::try_from(n).map_or_else(|_| float(n as f64), |n| json!(n)))
    }
    fn visit_u128<E>(self, n: u128) -> Result<Value, E> {
        Ok(u64::try_from(n).map_or_else(|_| float(n as f64), |n| json!(n)))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(float(n))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(YamlJson(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some((YamlJson(k), YamlJson(v))) = map.next_entry()? {
            let key = match k {
                Value::String(s) => s,
                Value::Number(_) | Value::Bool(_) => k.to_string(),
                other => return Err(serde::de::Error::custom(format!("a mapping key that is not a scalar: {other}"))),
            };
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// A float as JSON (`null` for NaN and infinities, which JSON cannot hold).
fn float(n: f64) -> Value {
    serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The trimmed document of one spec.
fn trim(source: &SpecSource, full: &Value, sha256: &str) -> anyhow::Result<Value> {
    let spec_paths = full.get("paths").and_then(Value::as_object).context("the spec has no `paths`")?;
    let mut paths = Map::new();
    for (template, methods) in source.operations {
        let item = spec_paths
            .get(*template)
            .and_then(Value::as_object)
            .with_context(|| format!("{}: no path `{template}`", source.file))?;
        let mut out = Map::new();
        if let Some(params) = item.get("parameters") {
            out.insert("parameters".into(), strip(params, At::Keywords));
        }
        for method in *methods {
            let op = item.get(*method).with_context(|| format!("{}: no `{method} {template}`", source.file))?;
            out.insert((*method).into(), strip(op, At::Keywords));
        }
        paths.insert((*template).into(), Value::Object(out));
    }
    let components = referenced_components(full, &paths, source.file)?;
    let mut doc = Map::new();
    doc.insert(
        "x-prov-source".into(),
        json!({
            "file": source.file,
            "source": source.source,
            "revision": source.revision,
            "sha256": sha256,
            "trimmed": "only the operations prov uses and the components they reference; descriptions (except on responses), examples, external docs and x- extensions removed; written by `cargo xtask specs`",
        }),
    );
    for key in ["openapi", "info", "servers"] {
        if let Some(v) = full.get(key) {
            let v = if key == "info" {
                json!({ "title": v.get("title").cloned().unwrap_or(Value::Null), "version": v.get("version").cloned().unwrap_or(Value::Null) })
            } else {
                strip(v, At::Keywords)
            };
            doc.insert(key.into(), v);
        }
    }
    if let Some(security) = full.get("security") {
        doc.insert("security".into(), security.clone());
    }
    doc.insert("paths".into(), Value::Object(paths));
    doc.insert("components".into(), components);
    Ok(Value::Object(doc))
}

/// Where a value sits, which decides what may be stripped from it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum At {
    /// An OpenAPI or schema object: prose keys are dropped.
    Keywords,
    /// A map from user-chosen names to objects: every name is kept.
    Names,
    /// A Response Object: like `Keywords`, but its (required) `description` stays.
    Response,
}

fn strip(v: &Value, cx: At) -> Value {
    match v {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, x) in map {
                if cx == At::Names {
                    let child = if matches!(k.as_str(), "default") || k.chars().all(|c| c.is_ascii_digit() || c == 'X')
                    {
                        // A status code or `default` under `responses`: a Response Object.
                        At::Response
                    } else {
                        At::Keywords
                    };
                    out.insert(k.clone(), strip(x, child));
                    continue;
                }
                let keep_description = cx == At::Response && k == "description";
                if (PROSE.contains(&k.as_str()) && !keep_description) || k.starts_with("x-") {
                    continue;
                }
                if LITERALS.contains(&k.as_str()) {
                    out.insert(k.clone(), x.clone());
                } else if NAME_MAPS.contains(&k.as_str()) && x.is_object() {
                    out.insert(k.clone(), strip(x, At::Names));
                } else {
                    out.insert(k.clone(), strip(x, At::Keywords));
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|x| strip(x, At::Keywords)).collect()),
        other => other.clone(),
    }
}

/// Every `$ref` string in `v`.
fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(x, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

/// Names of the security schemes used by the security requirements in `v`.
fn collect_security(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                if k == "security" {
                    for req in x.as_array().into_iter().flatten() {
                        out.extend(req.as_object().into_iter().flat_map(|r| r.keys().cloned()));
                    }
                } else {
                    collect_security(x, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|x| collect_security(x, out)),
        _ => {}
    }
}

/// The components `paths` references, transitively, plus the security schemes they use, as
/// `{kind: {name: object}}` sorted by kind and name.
fn referenced_components(full: &Value, paths: &Map<String, Value>, file: &str) -> anyhow::Result<Value> {
    let all = full.get("components");
    let mut found: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    let mut todo = Vec::new();
    collect_refs(&Value::Object(paths.clone()), &mut todo);
    let mut seen = BTreeSet::new();
    while let Some(r) = todo.pop() {
        if !seen.insert(r.clone()) {
            continue;
        }
        let Some(rest) = r.strip_prefix("#/components/") else {
            bail!("{file}: reference `{r}` does not point into #/components");
        };
        let Some((kind, name)) = rest.split_once('/') else { bail!("{file}: malformed reference `{r}`") };
        let name_unescaped = name.replace("~1", "/").replace("~0", "~");
        let node = all
            .and_then(|c| c.get(kind))
            .and_then(|k| k.get(&name_unescaped))
            .with_context(|| format!("{file}: `{r}` does not resolve"))?;
        let child = if kind == "responses" { At::Response } else { At::Keywords };
        let stripped = strip(node, child);
        collect_refs(&stripped, &mut todo);
        found.entry(kind.to_owned()).or_default().insert(name_unescaped, stripped);
    }
    let mut schemes = BTreeSet::new();
    collect_security(&Value::Object(paths.clone()), &mut schemes);
    if let Some(top) = full.get("security") {
        collect_security(&json!({ "security": top }), &mut schemes);
    }
    for name in schemes {
        if let Some(s) = all.and_then(|c| c.get("securitySchemes")).and_then(|s| s.get(&name)) {
            found.entry("securitySchemes".into()).or_default().insert(name, strip(s, At::Keywords));
        }
    }
    let mut out = Map::new();
    for (kind, names) in found {
        out.insert(kind, Value::Object(names.into_iter().collect()));
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_goes_but_property_names_and_response_descriptions_stay() {
        let op = json!({
            "description": "long prose",
            "x-codeSamples": [],
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {
                "type": "object",
                "description": "drop me",
                "example": {"description": "x"},
                "properties": {"description": {"type": "string", "description": "drop"}, "example": {"type": "integer"}},
                "required": ["description"],
            }}}}},
        });
        let s = strip(&op, At::Keywords);
        assert_eq!(
            s,
            json!({"responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {
                "type": "object",
                "properties": {"description": {"type": "string"}, "example": {"type": "integer"}},
                "required": ["description"],
            }}}}}})
        );
    }

    #[test]
    fn components_are_collected_transitively() {
        let full = json!({
            "paths": {},
            "components": {"schemas": {
                "a": {"properties": {"b": {"$ref": "#/components/schemas/b"}}},
                "b": {"items": {"$ref": "#/components/schemas/c"}},
                "c": {"type": "string"},
                "unused": {"type": "string"},
            }},
        });
        let paths = json!({"/x": {"get": {"responses": {"200": {"$ref": "#/components/schemas/a"}}}}});
        let Value::Object(paths) = paths else { unreachable!() };
        let got = referenced_components(&full, &paths, "t").unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&String> = got["schemas"].as_object().map(|m| m.keys().collect()).unwrap_or_default();
        assert_eq!(names, ["a", "b", "c"]);
    }
}
