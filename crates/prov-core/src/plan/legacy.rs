//! Lowers a legacy Prod recipe (`key: value` per line, `#` comments, value after the first `:`) into the located
//! raw form, mapping the provider's own recipe keys (`os_id`, `type`, `size`, `root_pass`, …) to plan keys.
//! Prod silently dropped lines it did not understand; here every such line is an error naming the line.

use std::path::Path;

use crate::provider::{LegacyKey, ProviderInfo};

use super::{
    Cx, Location, Raw, RawField, RawInstance, RawPlan, find_provider, unknown_provider_message, with_suggestion,
};

const GENERIC: &[&str] = &["provider", "action", "waitType"];

pub(super) fn lower(text: &str, path: &Path, registry: &[&'static ProviderInfo], cx: &mut Cx) -> RawPlan {
    // Recipe keys of every provider: a malformed line is described by its key when it starts with one, and never
    // quoted, because its value may be a password.
    let all_keys: Vec<&str> = GENERIC
        .iter()
        .copied()
        .chain(registry.iter().flat_map(|p| {
            p.legacy_keys.iter().map(|k| match k {
                LegacyKey::Maps(from, _) | LegacyKey::Ignored(from, _) => *from,
            })
        }))
        .collect();
    let malformed = |line: &str| {
        let first: String = line.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if all_keys.contains(&first.as_str()) {
            format!("expected `key: value`: write `{first}: …` (the line is not shown; it may hold a secret)")
        } else {
            "expected `key: value` (the line is not shown; it may hold a secret)".to_owned()
        }
    };
    let mut lines: Vec<(Location, Location, String, String)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let key_at = Location { line: n + 1, col: line[..indent].chars().count() + 1 };
        let Some((key, value)) = trimmed.split_once(':') else {
            cx.error(key_at, None, malformed(trimmed));
            continue;
        };
        let key = key.trim().to_owned();
        if key.is_empty() || key.contains(char::is_whitespace) {
            cx.error(key_at, None, malformed(trimmed));
            continue;
        }
        let value_col = line.find(':').map_or(1, |i| {
            let after = &line[i + 1..];
            line[..i + 1].chars().count() + (after.len() - after.trim_start().len()) + 1
        });
        lines.push((key_at, Location { line: n + 1, col: value_col }, key, value.trim().to_owned()));
    }

    let mut plan = RawPlan::default();
    let mut instance = RawInstance { at: Location { line: 1, col: 1 }, fields: Vec::new() };
    let provider = lines.iter().find(|l| l.2 == "provider").map(|l| (l.3.clone(), l.1));
    let info = match &provider {
        Some((name, at)) => {
            let found = find_provider(name, registry);
            if found.is_none() {
                cx.error(*at, Some("provider"), unknown_provider_message(name, registry));
            }
            found
        }
        None => {
            cx.error(Location { line: 1, col: 1 }, Some("provider"), "the recipe has no `provider:` line");
            None
        }
    };
    plan.provider = provider;
    let Some(info) = info else { return plan };

    let known: Vec<&str> = GENERIC
        .iter()
        .copied()
        .chain(info.legacy_keys.iter().map(|k| match k {
            LegacyKey::Maps(from, _) | LegacyKey::Ignored(from, _) => *from,
        }))
        .collect();
    let mut seen: Vec<(String, Location)> = Vec::new();
    for (key_at, value_at, key, value) in lines {
        let list_key = info
            .legacy_keys
            .iter()
            .any(|k| matches!(k, LegacyKey::Maps(from, to) if *from == key && matches!(*to, "tags" | "ssh_keys")));
        if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key)
            && !list_key
        {
            cx.error(key_at, Some(&key), format!("`{key}` is given twice (first on line {})", first.line));
            continue;
        }
        seen.push((key.clone(), key_at));
        match key.as_str() {
            "provider" => {}
            "action" => {
                if value != "createInstance" {
                    let message = if value.eq_ignore_ascii_case("createinstance") {
                        format!("unsupported action `{value}`; did you mean `createInstance`?")
                    } else {
                        format!("unsupported action `{value}` (prov runs `createInstance` recipes)")
                    };
                    cx.error(value_at, Some("action"), message);
                }
            }
            "waitType" => {
                let level = match value.as_str() {
                    "returnImmediately" => "none",
                    "waitForResourceCreation" => "created",
                    "waitForResourceFinalised" | "waitForResourceFinalized" => "ready",
                    other => {
                        cx.error(value_at, Some("waitType"), with_suggestion(
                            format!("unknown waitType `{other}` (returnImmediately, waitForResourceCreation, waitForResourceFinalised)"),
                            other,
                            &["returnImmediately", "waitForResourceCreation", "waitForResourceFinalised"],
                        ));
                        continue;
                    }
                };
                plan.wait = Some((level.to_owned(), value_at));
            }
            _ => match info
                .legacy_keys
                .iter()
                .find(|k| matches!(k, LegacyKey::Maps(from, _) | LegacyKey::Ignored(from, _) if *from == key))
            {
                Some(LegacyKey::Maps(_, to)) => {
                    instance.fields.push(RawField { key: (*to).to_owned(), key_at, value: Raw::Text(value), value_at })
                }
                Some(LegacyKey::Ignored(_, warning)) => cx.warn(key_at, Some(&key), *warning),
                None => cx.error(
                    key_at,
                    Some(&key),
                    with_suggestion(format!("unknown recipe key `{key}` for {}", info.display_name), &key, &known),
                ),
            },
        }
    }
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("recipe");
    plan.legacy_label_hint = Some(generated_label(stem));
    plan.instances.push(instance);
    plan
}

/// A label for a recipe that names none: `prov-` and the file name, reduced to letters, digits and single dashes,
/// so a rerun of the same recipe finds the same label.
fn generated_label(stem: &str) -> String {
    let mut label = String::from("prov-");
    for c in stem.chars() {
        let c = if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' };
        if !(c == '-' && label.ends_with('-')) {
            label.push(c);
        }
    }
    let mut label: String = label.trim_end_matches('-').chars().take(60).collect();
    if label.len() < 6 {
        label.push_str("recipe");
    }
    label
}
