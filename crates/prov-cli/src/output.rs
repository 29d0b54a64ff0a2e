//! Rendering: tables for people (comfy-table) and JSON for machines (`-o json`: JSON on stdout and nothing else).
//! Notes, progress and errors go to stderr.
//!
//! Tables follow the terminal: on a terminal they get a rule under the header and, unless `NO_COLOR` is set (to anything
//! but the empty string, see no-color.org) or `TERM=dumb`, a bold header and coloured instance states. When stdout
//! is not a terminal (a pipe, a file) they are plain: no colour, no box-drawing, columns separated by spaces and the
//! first column starting at the beginning of the line, so `awk`, `cut` and `grep` work. Field-by-field reference of
//! the JSON output: docs/output.md.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};

use comfy_table::{Attribute, Cell, CellAlignment, Color, ContentArrangement, Table, presets};
use prov_core::{Currency, Image, Instance, InstanceStatus, Money, Region, Size};
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

/// Prints a value as pretty JSON followed by a newline, streamed to stdout (no copy of the whole document).
pub fn json<T: Serialize + ?Sized>(value: &T) -> CmdResult {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let written = serde_json::to_writer_pretty(&mut out, value)
        .map_err(|e| match e.io_error_kind() {
            Some(kind) => std::io::Error::from(kind),
            None => std::io::Error::other(e),
        })
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    match written {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::Other => Err(Failure::failed(format!("cannot encode JSON: {e}"))),
        Err(e) => Err(Failure::failed(format!("cannot write output: {e}"))),
    }
}

/// A line for people on stderr.
pub fn note(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{}", on_stderr(message));
}

/// Longest stderr line shown without `-v`; longer ones (a provider's whole error page) are cut.
pub const MAX_LINE: usize = 400;

static VERBOSE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// With `-v`, stderr lines are shown whole.
pub fn set_verbose(verbose: bool) {
    VERBOSE.store(verbose, std::sync::atomic::Ordering::Relaxed);
}

/// A stderr message made safe: each line's control characters escaped (provider and plan text cannot drive
/// the terminal), and each line cut to [`MAX_LINE`] characters unless `-v` was given.
pub fn on_stderr(message: &str) -> String {
    let whole = VERBOSE.load(std::sync::atomic::Ordering::Relaxed);
    let lines: Vec<String> = message
        .split('\n')
        .map(|line| {
            let safe = prov_core::text::printable(line);
            if whole || safe.chars().count() <= MAX_LINE {
                safe.into_owned()
            } else {
                format!("{} (-v shows all of it)", prov_core::text::cut(&safe, MAX_LINE))
            }
        })
        .collect();
    lines.join("\n")
}

/// A table cell's text from a provider or a plan, with control characters escaped.
pub fn cell(text: &str) -> Cell {
    Cell::new(prov_core::text::printable(text))
}

/// A warning on stderr.
pub fn warning(message: &str) {
    note(&format!("warning: {message}"));
}

/// The one error line (or block, for plan errors) on stderr.
pub fn error_line(message: &str) {
    note(&format!("error: {message}"));
}

/// How tables look on this stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// A rule under the header (a box-drawing character): only on a terminal.
    pub rules: bool,
    /// Colour and bold: only on a terminal, without `NO_COLOR`, and not on `TERM=dumb`.
    pub colour: bool,
}

impl Style {
    /// The style for a stdout that is (or is not) a terminal, given `NO_COLOR` and `TERM`.
    pub fn decide(is_terminal: bool, no_color: Option<&str>, term: Option<&str>) -> Self {
        let dumb = term == Some("dumb");
        let rules = is_terminal && !dumb;
        let colour = rules && no_color.is_none_or(str::is_empty);
        Self { rules, colour }
    }

    /// The style for this process's stdout and environment.
    pub fn detect() -> Self {
        let no_color = std::env::var_os("NO_COLOR").map(|v| v.to_string_lossy().into_owned());
        let term = std::env::var_os("TERM").map(|v| v.to_string_lossy().into_owned());
        Self::decide(std::io::stdout().is_terminal(), no_color.as_deref(), term.as_deref())
    }
}

/// comfy-table preset with one rule, under the header (`─`), and nothing else: no borders, no lines between rows.
const HEADER_RULE: &str = "     ──            ";

/// A table in the house style for this stdout (see the module documentation).
pub fn table(header: &[&str]) -> Table {
    styled_table(header, Style::detect())
}

/// A table in the house style for `style`.
pub fn styled_table(header: &[&str], style: Style) -> Table {
    let mut t = Table::new();
    t.load_preset(if style.rules { HEADER_RULE } else { presets::NOTHING });
    t.set_content_arrangement(ContentArrangement::Disabled);
    // The style already looked at the terminal; comfy-table must not decide again.
    if style.colour {
        t.enforce_styling();
    } else {
        t.force_no_tty();
    }
    t.set_header(
        header.iter().map(|h| if style.colour { Cell::new(h).add_attribute(Attribute::Bold) } else { Cell::new(h) }),
    );
    if !style.rules
        && let Some(first) = t.column_mut(0)
    {
        first.set_padding((0, 1));
    }
    t
}

/// Prints a table followed by a newline.
pub fn print_table(t: &Table) -> CmdResult {
    let mut text = String::new();
    for line in t.lines() {
        text.push_str(line.trim_end());
        text.push('\n');
    }
    print(&text)
}

/// An item of `list all …`: the provider it came from, then the item's own fields (flattened in JSON).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FromProvider<T> {
    /// Provider name (`vultr`, `linode`, `digitalocean`).
    pub provider: &'static str,
    /// The item.
    #[serde(flatten)]
    pub item: T,
}

/// A column of a list table.
#[derive(Debug, Clone, Copy)]
struct Col {
    name: &'static str,
    right: bool,
}

const fn left(name: &'static str) -> Col {
    Col { name, right: false }
}

const fn right(name: &'static str) -> Col {
    Col { name, right: true }
}

const PROVIDER_COL: Col = left("PROVIDER");
const REGION_COLS: [Col; 3] = [left("ID"), left("NAME"), left("COUNTRY")];
const PLAN_COLS: [Col; 7] =
    [left("ID"), right("VCPUS"), right("RAM"), right("DISK"), right("TRANSFER"), right("$/MONTH"), right("REGIONS")];
const IMAGE_COLS: [Col; 3] = [left("ID"), left("NAME"), left("FAMILY")];
const INSTANCE_COLS: [Col; 6] = [left("ID"), left("LABEL"), left("STATUS"), left("IPV4"), left("REGION"), left("PLAN")];

/// One row of a list: the text of each cell.
type Row<'a> = Vec<Cow<'a, str>>;

/// Prints a list table: `cols` (with a PROVIDER column first when `with_provider`), one row per item from `row`.
/// On a terminal it is a comfy-table table; otherwise it is streamed line by line in the same plain layout, so a
/// list of 10,000 images never holds a second copy of itself as table cells.
fn listing<'a, T: 'a, I>(cols: &[Col], items: I, with_provider: bool, row: impl Fn(&'a T) -> Row<'a>) -> CmdResult
where
    I: Iterator<Item = (Option<&'a str>, &'a T)> + Clone,
{
    let mut all_cols: Vec<Col> = Vec::with_capacity(cols.len() + 1);
    if with_provider {
        all_cols.push(PROVIDER_COL);
    }
    all_cols.extend_from_slice(cols);
    let row = &row;
    let rows = items.map(move |(provider, item)| {
        let mut r: Row<'a> = row(item)
            .into_iter()
            .map(|c| match prov_core::text::printable(&c) {
                Cow::Borrowed(_) => c,
                Cow::Owned(escaped) => Cow::Owned(escaped),
            })
            .collect();
        if with_provider {
            r.insert(0, Cow::Borrowed(provider.unwrap_or("-")));
        }
        r
    });
    let style = Style::detect();
    if style.rules {
        fancy_listing(&all_cols, rows, style)
    } else {
        plain_listing(&all_cols, rows, &mut std::io::stdout().lock())
    }
}

fn fancy_listing<'a>(cols: &[Col], rows: impl Iterator<Item = Row<'a>>, style: Style) -> CmdResult {
    let names: Vec<&str> = cols.iter().map(|c| c.name).collect();
    let mut t = styled_table(&names, style);
    align_right(&mut t, cols);
    for r in rows {
        t.add_row(r.into_iter().zip(cols).map(|(text, col)| {
            let colour = (col.name == "STATUS" && style.colour).then(|| status_colour(&text));
            let cell = Cell::new(text);
            if let Some(c) = colour { cell.fg(c) } else { cell }
        }));
    }
    print_table(&t)
}

/// Right-aligns the numeric columns, headers included.
fn align_right(t: &mut Table, cols: &[Col]) {
    for (i, col) in cols.iter().enumerate() {
        if col.right
            && let Some(c) = t.column_mut(i)
        {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// Writes the plain layout of [`styled_table`] without rules: columns as wide as their widest cell (counted in
/// characters), one space of padding each side except before the first column, trailing blanks trimmed. Two
/// passes over `rows` (widths, then lines) keep memory flat. A closed pipe ends the output quietly.
fn plain_listing<'a, W: Write>(cols: &[Col], rows: impl Iterator<Item = Row<'a>> + Clone, out: &mut W) -> CmdResult {
    let mut widths: Vec<usize> = cols.iter().map(|c| c.name.chars().count()).collect();
    for r in rows.clone() {
        for (w, text) in widths.iter_mut().zip(&r) {
            *w = (*w).max(text.chars().count());
        }
    }
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    let mut line = String::new();
    let mut write_line = |cells: &mut dyn Iterator<Item = &str>, line: &mut String| {
        line.clear();
        for (i, ((text, col), width)) in cells.zip(cols).zip(&widths).enumerate() {
            if i > 0 {
                line.push(' ');
            }
            let fill = width.saturating_sub(text.chars().count());
            if col.right {
                line.extend(std::iter::repeat_n(' ', fill));
                line.push_str(text);
            } else {
                line.push_str(text);
                line.extend(std::iter::repeat_n(' ', fill));
            }
            line.push(' ');
        }
        let end = line.trim_end().len();
        line.truncate(end);
        line.push('\n');
        out.write_all(line.as_bytes())
    };
    let mut result = write_line(&mut cols.iter().map(|c| c.name), &mut line);
    for r in rows {
        if result.is_err() {
            break;
        }
        result = write_line(&mut r.iter().map(|c| c.as_ref()), &mut line);
    }
    match result.and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::failed(format!("cannot write output: {e}"))),
    }
}

fn region_row(r: &Region) -> Row<'_> {
    vec![r.id.as_str().into(), r.name.as_str().into(), if r.country.is_empty() { "-" } else { &r.country }.into()]
}

/// A price in a table: the amount alone in US dollars (the `$/MONTH` column), else the amount and its currency
/// (`4.51 EUR`).
pub(crate) fn price_cell(m: &Money) -> String {
    match m.currency {
        Currency::Usd => format!("{:.2}", m.amount),
        c => format!("{:.2} {c}", m.amount),
    }
}

/// A plan's cells. REGIONS is how many regions sell the plan; an empty list reads `all` when the provider states
/// no regions for any plan (Linode types), and `0` when it states them for other plans (the plan is sold nowhere).
fn size_row(p: &Size, regions_stated: bool) -> Row<'_> {
    let regions = match (p.regions.len(), regions_stated) {
        (0, false) => "all".to_owned(),
        (n, _) => n.to_string(),
    };
    vec![
        p.id.as_str().into(),
        p.vcpus.to_string().into(),
        mib(p.memory_mb).into(),
        format!("{}G", p.disk_gb).into(),
        transfer(p.transfer_gb).into(),
        price_cell(&p.monthly_price).into(),
        regions.into(),
    ]
}

fn image_row(i: &Image) -> Row<'_> {
    vec![i.id.as_str().into(), i.name.as_str().into(), i.family.as_str().into()]
}

fn instance_row(i: &Instance) -> Row<'_> {
    vec![
        i.id.as_str().into(),
        i.label.as_str().into(),
        i.status.as_str().into(),
        i.ipv4.as_deref().unwrap_or("-").into(),
        i.region.as_str().into(),
        i.plan.as_str().into(),
    ]
}

/// The colour of an instance state: ready green, pending yellow, stopped/deleting red, anything else magenta.
fn status_colour(status: &str) -> Color {
    match status {
        "ready" => Color::Green,
        "pending" => Color::Yellow,
        "stopped" | "deleting" => Color::Red,
        _ => Color::Magenta,
    }
}

/// An instance state, coloured when the style allows (ready green, pending yellow, stopped/deleting red).
pub fn status_cell(status: InstanceStatus, style: Style) -> Cell {
    let cell = Cell::new(status);
    if style.colour { cell.fg(status_colour(status.as_str())) } else { cell }
}

/// Memory in MiB for people: `512M`, `2G`, `1.5G`.
pub fn mib(mb: u64) -> String {
    if mb >= 1024 && mb.is_multiple_of(1024) {
        format!("{}G", mb / 1024)
    } else if mb >= 1024 {
        format!("{:.1}G", mb as f64 / 1024.0)
    } else {
        format!("{mb}M")
    }
}

/// Monthly transfer for people: `500G`, `1T`, `3.1T` (1T = 1000G, as providers count transfer).
pub fn transfer(gb: u64) -> String {
    if gb < 1000 {
        return format!("{gb}G");
    }
    let t = format!("{:.1}", gb as f64 / 1000.0);
    format!("{}T", t.strip_suffix(".0").unwrap_or(&t))
}

/// `list … regions`.
pub fn regions(fmt: OutputFormat, items: &[Region]) -> CmdResult {
    if fmt == OutputFormat::Json {
        return json(items);
    }
    listing(&REGION_COLS, items.iter().map(|r| (None, r)), false, region_row)
}

/// `list … plans`; whether the provider states regions is judged from `items` (see [`sizes_of`]).
pub fn sizes(fmt: OutputFormat, items: &[Size]) -> CmdResult {
    sizes_of(fmt, items, items.iter().any(|p| !p.regions.is_empty()))
}

/// `list … plans` of a provider that does (`regions_stated`) or does not state where each plan is sold; decide it
/// from the whole catalogue, not a filtered part, so an empty region list reads `0` or `all` correctly.
pub fn sizes_of(fmt: OutputFormat, items: &[Size], regions_stated: bool) -> CmdResult {
    if fmt == OutputFormat::Json {
        return json(items);
    }
    listing(&PLAN_COLS, items.iter().map(|p| (None, p)), false, |p| size_row(p, regions_stated))
}

/// `list … images`.
pub fn images(fmt: OutputFormat, items: &[Image]) -> CmdResult {
    if fmt == OutputFormat::Json {
        return json(items);
    }
    listing(&IMAGE_COLS, items.iter().map(|i| (None, i)), false, image_row)
}

/// `list … instances`.
pub fn instances(fmt: OutputFormat, items: &[Instance]) -> CmdResult {
    if fmt == OutputFormat::Json {
        return json(items);
    }
    listing(&INSTANCE_COLS, items.iter().map(|i| (None, i)), false, instance_row)
}

/// `list all regions`: a PROVIDER column in tables, a `provider` field in JSON.
pub fn all_regions(fmt: OutputFormat, items: &[FromProvider<Region>]) -> CmdResult {
    if fmt == OutputFormat::Json {
        return json(items);
    }
    listing(&REGION_COLS, items.iter().map(|r| (Some(r.provider), &r.item)), true, region_row)
}

/// `list all plans`; `stating` names the providers that state where each plan is sold (see [`sizes_of`]).
pub fn all_sizes(fmt: OutputFormat, items: &[FromProvider<Size>], stating: &[&str]) -> CmdResult {
    if fmt == OutputFormat::Json {
        return json(items);
    }
    let rows = items.iter().map(|p| (Some(p.provider), p));
    listing(&PLAN_COLS, rows, true, |p| size_row(&p.item, stating.contains(&p.provider)))
}

/// `list all images`.
pub fn all_images(fmt: OutputFormat, items: &[FromProvider<Image>]) -> CmdResult {
    if fmt == OutputFormat::Json {
        return json(items);
    }
    listing(&IMAGE_COLS, items.iter().map(|i| (Some(i.provider), &i.item)), true, image_row)
}

/// `list all instances` (instances already carry their `provider` field).
pub fn all_instances(fmt: OutputFormat, items: &[Instance]) -> CmdResult {
    if fmt == OutputFormat::Json {
        return json(items);
    }
    listing(&INSTANCE_COLS, items.iter().map(|i| (Some(i.provider.as_str()), i)), true, instance_row)
}

/// `show`: one instance as key/value rows.
pub fn instance(fmt: OutputFormat, i: &Instance) -> CmdResult {
    if fmt == OutputFormat::Json {
        return json(i);
    }
    let style = Style::detect();
    let mut t = styled_table(&["FIELD", "VALUE"], style);
    let rows: [(&str, Cell); 12] = [
        ("provider", cell(&i.provider)),
        ("id", cell(&i.id)),
        ("label", cell(&i.label)),
        ("status", status_cell(i.status, style)),
        ("provider_status", cell(&i.provider_status)),
        ("ipv4", cell(i.ipv4.as_deref().unwrap_or("-"))),
        ("ipv6", cell(i.ipv6.as_deref().unwrap_or("-"))),
        ("region", cell(&i.region)),
        ("plan", cell(&i.plan)),
        ("image", cell(&i.image)),
        ("tags", cell(&if i.tags.is_empty() { "-".to_owned() } else { i.tags.join(", ") })),
        ("created_at", cell(i.created_at.as_deref().unwrap_or("-"))),
    ];
    for (k, v) in rows {
        t.add_row(vec![Cell::new(k), v]);
    }
    print_table(&t)
}

/// Asks for confirmation of a destructive action on stderr. Without a terminal on stdin it refuses (exit 2) and
/// says to pass `--yes`; anything but `y`/`yes` is "no" (exit 2, nothing done).
pub fn confirm(what: &str, details: &[String], question: &str) -> CmdResult {
    use std::io::BufRead;
    if !std::io::stdin().is_terminal() {
        return Err(Failure::usage(format!(
            "refusing to {what} without confirmation: stdin is not a terminal; pass --yes"
        )));
    }
    let mut err = std::io::stderr().lock();
    for line in details {
        let _ = writeln!(err, "{line}");
    }
    let _ = write!(err, "{question} [y/N] ");
    let _ = err.flush();
    drop(err);
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES") {
        Ok(())
    } else {
        Err(Failure::usage(format!("not confirmed; nothing to {what} was touched")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_text_is_escaped_per_line_and_long_lines_are_cut_unless_verbose() {
        let long = format!("error: vultr: create instance failed: HTTP 400: {}", "x".repeat(5000));
        let shown = on_stderr(&format!("first \u{1b}[2J line\n{long}"));
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines[0], "first \\u{1b}[2J line", "escaped, and the intended line break kept");
        assert!(lines[1].chars().count() < 450 && lines[1].ends_with("(-v shows all of it)"), "{}", lines[1]);
        set_verbose(true);
        let whole = on_stderr(&long);
        set_verbose(false);
        assert_eq!(whole, long, "-v shows all of it");
    }

    const PLAIN: Style = Style { rules: false, colour: false };
    const FANCY: Style = Style { rules: true, colour: true };

    #[test]
    fn style_follows_the_terminal_no_color_and_dumb_terminals() {
        assert_eq!(Style::decide(false, None, Some("xterm")), PLAIN);
        assert_eq!(Style::decide(false, Some("1"), None), PLAIN);
        assert_eq!(Style::decide(true, None, Some("xterm-256color")), FANCY);
        assert_eq!(Style::decide(true, Some(""), None), FANCY, "an empty NO_COLOR does not count (no-color.org)");
        assert_eq!(Style::decide(true, Some("1"), None), Style { rules: true, colour: false });
        assert_eq!(Style::decide(true, None, Some("dumb")), PLAIN);
    }

    fn rendered(style: Style) -> String {
        let mut t = styled_table(&["ID", "STATUS"], style);
        t.add_row(vec![Cell::new("abc"), status_cell(InstanceStatus::Ready, style)]);
        t.add_row(vec![Cell::new("d"), status_cell(InstanceStatus::Pending, style)]);
        t.to_string()
    }

    #[test]
    fn plain_tables_have_no_escapes_or_box_drawing_and_start_at_column_one() {
        let text = rendered(PLAIN);
        assert!(!text.contains('\x1b'), "{text:?}");
        assert!(text.is_ascii(), "{text:?}");
        let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
        assert_eq!(lines, ["ID   STATUS", "abc  ready", "d    pending"]);
    }

    #[test]
    fn fancy_tables_have_rules_and_colour_and_no_color_keeps_only_the_rules() {
        let fancy = rendered(FANCY);
        assert!(fancy.contains('─') && fancy.contains("\x1b["), "{fancy:?}");
        let no_colour = rendered(Style { rules: true, colour: false });
        assert!(no_colour.contains('─') && !no_colour.contains('\x1b'), "{no_colour:?}");
    }

    #[test]
    fn the_streamed_plain_layout_is_comfy_tables_plain_layout() {
        let cols = [left("ID"), left("NAME"), right("PRICE"), left("STATUS")];
        let rows: Vec<Row<'_>> = vec![
            vec!["syd".into(), "São Paulo".into(), "5.00".into(), "ready".into()],
            vec!["a-much-longer-id".into(), "x".into(), "120.50".into(), "".into()],
            vec!["".into(), "Zürich, CH".into(), "".into(), "pending".into()],
        ];
        let mut out = Vec::new();
        assert!(plain_listing(&cols, rows.iter().cloned(), &mut out).is_ok());
        let names: Vec<&str> = cols.iter().map(|c| c.name).collect();
        let mut t = styled_table(&names, PLAIN);
        align_right(&mut t, &cols);
        for r in &rows {
            t.add_row(r.iter().map(Cell::new));
        }
        let expected: String = t.lines().map(|l| format!("{}\n", l.trim_end())).collect();
        assert_eq!(String::from_utf8_lossy(&out), expected);
        let mut out = Vec::new();
        assert!(plain_listing(&cols, std::iter::empty(), &mut out).is_ok());
        assert_eq!(String::from_utf8_lossy(&out), "ID  NAME  PRICE  STATUS\n");
        let fancy = {
            let mut t = styled_table(&names, FANCY);
            align_right(&mut t, &cols);
            t.add_row(vec!["1", "x", "5.00", "ready"]);
            t.to_string()
        };
        assert!(fancy.contains(" PRICE ") && fancy.contains("  5.00 "), "{fancy}");
    }

    #[test]
    fn sizes_for_people() {
        assert_eq!(mib(512), "512M");
        assert_eq!(mib(2048), "2G");
        assert_eq!(mib(1536), "1.5G");
        assert_eq!(transfer(500), "500G");
        assert_eq!(transfer(1000), "1T");
        assert_eq!(transfer(1024), "1T");
        assert_eq!(transfer(1500), "1.5T");
        assert_eq!(transfer(3072), "3.1T");
    }

    #[test]
    fn items_from_a_provider_flatten_into_one_json_object_with_provider_first() {
        let r = FromProvider {
            provider: "vultr",
            item: Region { id: "syd".into(), name: "Sydney".into(), country: "AU".into() },
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap_or_default(),
            r#"{"provider":"vultr","id":"syd","name":"Sydney","country":"AU"}"#
        );
    }
}
