//! Rendering: tables for people (comfy-table; plain ASCII when stdout is not a terminal or NO_COLOR is set) and
//! JSON for machines (`-o json`: JSON on stdout and nothing else). Notes, progress and errors go to stderr.

use std::io::{IsTerminal, Write};

use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets};
use prov_core::{Image, Instance, Plan, Region};
use serde::Serialize;

use crate::args::OutputFormat;
use crate::{CmdResult, Failure};

/// Writes `text` to stdout; a closed pipe (`prov list … | head`) is not an error worth a panic.
pub fn print(text: &str) -> CmdResult {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::failed(format!("cannot write output: {e}"))),
    }
}

/// Prints a value as pretty JSON followed by a newline.
pub fn json<T: Serialize + ?Sized>(value: &T) -> CmdResult {
    let text = serde_json::to_string_pretty(value).map_err(|e| Failure::failed(format!("cannot encode JSON: {e}")))?;
    print(&(text + "\n"))
}

/// A line for people on stderr.
pub fn note(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{message}");
}

/// A warning on stderr.
pub fn warning(message: &str) {
    note(&format!("warning: {message}"));
}

/// The one error line (or block, for plan errors) on stderr.
pub fn error_line(message: &str) {
    note(&format!("error: {message}"));
}

/// A table in the house style.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    let fancy = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    t.load_preset(if fancy { presets::UTF8_HORIZONTAL_ONLY } else { presets::NOTHING });
    t.set_content_arrangement(ContentArrangement::Disabled);
    t.set_header(header.iter().map(Cell::new));
    t
}

/// Prints a table followed by a newline.
pub fn print_table(t: &Table) -> CmdResult {
    let text = t.to_string();
    let text: Vec<&str> = text.lines().map(str::trim_end).collect();
    print(&(text.join("\n") + "\n"))
}

fn right(s: impl ToString) -> Cell {
    Cell::new(s.to_string()).set_alignment(CellAlignment::Right)
}

/// `list … regions`.
pub fn regions(fmt: OutputFormat, items: &[Region]) -> CmdResult {
    if fmt == OutputFormat::Json {
        return json(items);
    }
    let mut t = table(&["ID", "NAME", "COUNTRY"]);
    for r in items {
        t.add_row(vec![Cell::new(&r.id), Cell::new(&r.name), Cell::new(&r.country)]);
    }
    print_table(&t)
}

/// Memory in MiB for people: `512M`, `2G`.
pub fn mib(mb: u64) -> String {
    if mb >= 1024 && mb.is_multiple_of(1024) {
        format!("{}G", mb / 1024)
    } else if mb >= 1024 {
        format!("{:.1}G", mb as f64 / 1024.0)
    } else {
        format!("{mb}M")
    }
}

/// `list … plans`.
pub fn plans(fmt: OutputFormat, items: &[Plan]) -> CmdResult {
    if fmt == OutputFormat::Json {
        return json(items);
    }
    let mut t = table(&["ID", "VCPUS", "RAM", "DISK", "TRANSFER", "$/MONTH", "REGIONS"]);
    for p in items {
        t.add_row(vec![
            Cell::new(&p.id),
            right(p.vcpus),
            right(mib(p.memory_mb)),
            right(format!("{}G", p.disk_gb)),
            right(if p.transfer_gb >= 1000 {
                format!("{:.1}T", p.transfer_gb as f64 / 1000.0)
            } else {
                format!("{}G", p.transfer_gb)
            }),
            right(format!("{:.2}", p.monthly_price_usd)),
            right(if p.regions.is_empty() { "all".to_owned() } else { p.regions.len().to_string() }),
        ]);
    }
    print_table(&t)
}

/// `list … images`.
pub fn images(fmt: OutputFormat, items: &[Image]) -> CmdResult {
    if fmt == OutputFormat::Json {
        return json(items);
    }
    let mut t = table(&["ID", "NAME", "FAMILY"]);
    for i in items {
        t.add_row(vec![Cell::new(&i.id), Cell::new(&i.name), Cell::new(&i.family)]);
    }
    print_table(&t)
}

/// `list … instances`.
pub fn instances(fmt: OutputFormat, items: &[Instance]) -> CmdResult {
    if fmt == OutputFormat::Json {
        return json(items);
    }
    let mut t = table(&["ID", "LABEL", "STATUS", "IPV4", "REGION", "PLAN"]);
    for i in items {
        t.add_row(vec![
            Cell::new(&i.id),
            Cell::new(&i.label),
            Cell::new(i.status),
            Cell::new(i.ipv4.as_deref().unwrap_or("-")),
            Cell::new(&i.region),
            Cell::new(&i.plan),
        ]);
    }
    print_table(&t)
}

/// `show`: one instance as key/value rows.
pub fn instance(fmt: OutputFormat, i: &Instance) -> CmdResult {
    if fmt == OutputFormat::Json {
        return json(i);
    }
    let mut t = table(&["FIELD", "VALUE"]);
    let rows: [(&str, String); 12] = [
        ("provider", i.provider.clone()),
        ("id", i.id.clone()),
        ("label", i.label.clone()),
        ("status", i.status.to_string()),
        ("provider_status", i.provider_status.clone()),
        ("ipv4", i.ipv4.clone().unwrap_or_else(|| "-".into())),
        ("ipv6", i.ipv6.clone().unwrap_or_else(|| "-".into())),
        ("region", i.region.clone()),
        ("plan", i.plan.clone()),
        ("image", i.image.clone()),
        ("tags", i.tags.join(", ")),
        ("created_at", i.created_at.clone().unwrap_or_else(|| "-".into())),
    ];
    for (k, v) in rows {
        t.add_row(vec![Cell::new(k), Cell::new(v)]);
    }
    print_table(&t)
}
