//! Lowers a TOML plan into the located raw form, keeping the span of every key and value.

use toml::de::{DeTable, DeValue};

use super::{Cx, Location, Raw, RawField, RawInstance, RawPlan, TOP_KEYS, with_suggestion};

pub(super) fn lower(text: &str, cx: &mut Cx) -> RawPlan {
    let mut plan = RawPlan::default();
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(e) => {
            let at = e.span().map_or(Location { line: 1, col: 1 }, |s| Location::of_offset(text, s.start));
            cx.error(at, None, format!("invalid TOML: {}", e.message().trim()));
            return plan;
        }
    };
    let mut entries: Vec<_> = root.get_ref().iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    for (key, value) in entries {
        let key_at = Location::of_offset(text, key.span().start);
        let value_at = Location::of_offset(text, value.span().start);
        match key.get_ref().as_ref() {
            "provider" => match value.get_ref() {
                DeValue::String(s) => plan.provider = Some((s.to_string(), value_at)),
                other => cx.error(value_at, Some("provider"), format!("expected a string, found {}", type_name(other))),
            },
            "wait" => match value.get_ref() {
                DeValue::String(s) => plan.wait = Some((s.to_string(), value_at)),
                other => cx.error(value_at, Some("wait"), format!("expected a string, found {}", type_name(other))),
            },
            "instance" => match value.get_ref() {
                DeValue::Array(items) => {
                    for item in items.iter() {
                        let at = Location::of_offset(text, item.span().start);
                        match item.get_ref() {
                            DeValue::Table(t) => plan.instances.push(lower_instance(text, t, at)),
                            other => {
                                cx.error(at, Some("instance"), format!("expected a table, found {}", type_name(other)))
                            }
                        }
                    }
                }
                DeValue::Table(_) => {
                    cx.error(key_at, Some("instance"), "write `[[instance]]` (an array of tables), not `[instance]`")
                }
                other => cx.error(
                    value_at,
                    Some("instance"),
                    format!("expected [[instance]] tables, found {}", type_name(other)),
                ),
            },
            other => {
                let hint = if super::KEYS.iter().any(|(k, _)| *k == other) && other != "provider" {
                    format!("unknown top-level key `{other}`; instance keys go inside an [[instance]] table")
                } else {
                    with_suggestion(format!("unknown top-level key `{other}`"), other, TOP_KEYS)
                };
                cx.error(key_at, Some(other), hint);
            }
        }
    }
    plan
}

fn lower_instance(text: &str, table: &DeTable<'_>, at: Location) -> RawInstance {
    // An `[[instance]]` header's span starts at the header; point at the line of its first key when there is one.
    let mut fields: Vec<RawField> = table
        .iter()
        .map(|(k, v)| RawField {
            key: k.get_ref().to_string(),
            key_at: Location::of_offset(text, k.span().start),
            value: lower_value(text, v.get_ref()),
            value_at: Location::of_offset(text, v.span().start),
        })
        .collect();
    fields.sort_by_key(|f| f.key_at);
    RawInstance { at, fields }
}

fn lower_value(text: &str, v: &DeValue<'_>) -> Raw {
    match v {
        DeValue::String(s) => Raw::Str(s.to_string()),
        DeValue::Integer(i) => i64::from_str_radix(&i.as_str().replace('_', ""), i.radix())
            .map_or(Raw::Other("an integer out of range"), Raw::Int),
        DeValue::Boolean(b) => Raw::Bool(*b),
        DeValue::Array(items) => Raw::List(
            items
                .iter()
                .map(|item| (lower_value(text, item.get_ref()), Location::of_offset(text, item.span().start)))
                .collect(),
        ),
        other => Raw::Other(type_name(other)),
    }
}

fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}
