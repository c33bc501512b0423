//! Writers for the triage views whose results are rows, not findings (`logons`, `metrics`):
//! a terminal table, JSON Lines (one object per row) and CSV, with the same sanitising as the
//! finding writers: every table cell through `terminal_safe`, JSON through
//! `SafeJsonFormatter`, CSV cells through `csv_cell_safe`.

use crate::args::TriageOutArgs;
use anyhow::{bail, Context, Result};
use serde::ser::{SerializeMap, Serializer};
use spoor_report::{csv_cell_safe, terminal_safe, OutputFormat, SafeJsonFormatter};
use std::fs::File;
use std::io::{self, BufWriter, Write};

/// A value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text (from input: sanitised by each writer).
    Text(String),
    /// A count.
    Num(u64),
    /// Nothing (an empty cell, JSON `null`).
    Empty,
}

impl Cell {
    pub fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Num(n) => n.to_string(),
            Cell::Empty => String::new(),
        }
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}
impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_string())
    }
}
impl From<u64> for Cell {
    fn from(n: u64) -> Self {
        Cell::Num(n)
    }
}
impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map_or(Cell::Empty, Into::into)
    }
}

/// A named table of rows: `kind` labels each JSON object (`"view": kind`).
#[derive(Debug, Clone, Default)]
pub struct Rows {
    pub kind: &'static str,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

/// Widest a table cell is shown (longer text is cut with `…`).
const MAX_CELL: usize = 48;

fn cut(s: &str) -> String {
    let safe = terminal_safe(s);
    if safe.chars().count() > MAX_CELL {
        let mut t: String = safe.chars().take(MAX_CELL - 1).collect();
        t.push('…');
        t
    } else {
        safe.into_owned()
    }
}

/// Writes the tables as an aligned text table, each under its title.
pub fn write_table(out: &mut dyn Write, tables: &[(&str, &Rows)]) -> io::Result<()> {
    for (i, (title, t)) in tables.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        writeln!(out, "{title}")?;
        if t.rows.is_empty() {
            writeln!(out, "  (none)")?;
            continue;
        }
        let cells: Vec<Vec<String>> = t
            .rows
            .iter()
            .map(|r| {
                let last = r.len().saturating_sub(1);
                r.iter()
                    .zip(&t.columns)
                    .enumerate()
                    .map(|(i, (c, col))| {
                        // Paths are told apart by their ends, and the last column has room:
                        // neither is cut.
                        if *col == "path" || i == last {
                            terminal_safe(&c.text()).into_owned()
                        } else {
                            cut(&c.text())
                        }
                    })
                    .collect()
            })
            .collect();
        let mut widths: Vec<usize> = t.columns.iter().map(|c| c.chars().count()).collect();
        for r in &cells {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cols: &mut dyn Iterator<Item = String>| -> String {
            let parts: Vec<String> = cols.zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
            parts.join("  ").trim_end().to_string()
        };
        writeln!(
            out,
            "{}",
            line(&mut t.columns.iter().map(|c| c.to_uppercase()))
        )?;
        for r in cells {
            writeln!(out, "{}", line(&mut r.into_iter()))?;
        }
    }
    Ok(())
}

/// One JSON object per row, `{"view": kind, column: value, ...}`.
pub fn write_jsonl(out: &mut dyn Write, tables: &[&Rows]) -> io::Result<()> {
    for t in tables {
        for r in &t.rows {
            let mut buf = Vec::new();
            {
                let mut ser =
                    serde_json::Serializer::with_formatter(&mut buf, SafeJsonFormatter::terminal());
                let mut m = ser
                    .serialize_map(Some(r.len() + 1))
                    .map_err(io::Error::other)?;
                m.serialize_entry("view", t.kind)
                    .map_err(io::Error::other)?;
                for (col, c) in t.columns.iter().zip(r) {
                    match c {
                        Cell::Text(s) => m.serialize_entry(col, s),
                        Cell::Num(n) => m.serialize_entry(col, n),
                        Cell::Empty => m.serialize_entry(col, &()),
                    }
                    .map_err(io::Error::other)?;
                }
                m.end().map_err(io::Error::other)?;
            }
            buf.push(b'\n');
            out.write_all(&buf)?;
        }
    }
    Ok(())
}

/// CSV of one table: header then rows, cells made inert for spreadsheets.
pub fn write_csv(out: &mut dyn Write, t: &Rows) -> io::Result<()> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    w.write_record(&t.columns).map_err(io::Error::other)?;
    for r in &t.rows {
        let cells: Vec<String> = r
            .iter()
            .map(|c| csv_cell_safe(&c.text()).into_owned())
            .collect();
        w.write_record(&cells).map_err(io::Error::other)?;
    }
    w.flush()
}

/// Text for HTML: controls made visible as on the terminal, then `& < > " '` escaped.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in terminal_safe(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A self-contained page: one table per view. Nothing may load or run (the policy allows no
/// script, no style sheet and no image); every cell is escaped.
pub fn write_html(out: &mut dyn Write, title: &str, tables: &[(&str, &Rows)]) -> io::Result<()> {
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    )?;
    writeln!(
        out,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; base-uri 'none'; form-action 'none'\">"
    )?;
    writeln!(out, "<title>{}</title></head><body>", html_escape(title))?;
    writeln!(out, "<h1>{}</h1>", html_escape(title))?;
    for (name, t) in tables {
        writeln!(out, "<h2>{}</h2>", html_escape(name))?;
        if t.rows.is_empty() {
            writeln!(out, "<p>(none)</p>")?;
            continue;
        }
        write!(out, "<table border=\"1\"><thead><tr>")?;
        for c in &t.columns {
            write!(out, "<th>{}</th>", html_escape(c))?;
        }
        writeln!(out, "</tr></thead><tbody>")?;
        for r in &t.rows {
            write!(out, "<tr>")?;
            for c in r {
                write!(out, "<td>{}</td>", html_escape(&c.text()))?;
            }
            writeln!(out, "</tr>")?;
        }
        writeln!(out, "</tbody></table>")?;
    }
    writeln!(out, "</body></html>")?;
    out.flush()
}

fn create(path: &std::path::Path) -> Result<Box<dyn Write>> {
    let f = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    Ok(Box::new(BufWriter::new(f)))
}

fn write_one(out: &mut dyn Write, fmt: OutputFormat, tables: &[(&str, &Rows)]) -> io::Result<()> {
    match fmt {
        OutputFormat::Jsonl => {
            write_jsonl(out, &tables.iter().map(|(_, t)| *t).collect::<Vec<_>>())
        }
        // CSV holds one table: the first (the main view); the others go to JSON Lines.
        OutputFormat::Csv => match tables.first() {
            Some((_, t)) => write_csv(out, t),
            None => Ok(()),
        },
        _ => write_table(out, tables),
    }?;
    out.flush()
}

/// Writes the tables to the primary output and to `--csv` / `--jsonl` / `--html`. A broken
/// pipe on stdout is not an error. Returns the primary format.
pub fn write_all(
    out: &TriageOutArgs,
    title: &str,
    tables: &[(&str, &Rows)],
) -> Result<OutputFormat> {
    let args = crate::search::output_args(out, None);
    let primary = crate::output::primary_format(&args);
    if matches!(primary, OutputFormat::Html | OutputFormat::Navigator) {
        bail!("this view is written as table, jsonl or csv (and --html FILE)");
    }
    let mut main: Box<dyn Write> = match &out.output {
        Some(p) => create(p)?,
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };
    let r = write_one(&mut main, primary, tables);
    if !crate::is_broken_pipe(&r) {
        r.context("cannot write output")?;
    }
    for (path, fmt) in [
        (&out.csv, OutputFormat::Csv),
        (&out.jsonl, OutputFormat::Jsonl),
    ] {
        if let Some(p) = path {
            write_one(&mut create(p)?, fmt, tables)
                .with_context(|| format!("cannot write {}", p.display()))?;
        }
    }
    if let Some(p) = &out.html {
        write_html(&mut create(p)?, title, tables)
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(primary)
}

/// RFC 3339 text of a time, UTC, seconds (or milliseconds when it has them).
pub fn time_cell(t: Option<chrono::DateTime<chrono::Utc>>) -> Cell {
    t.map_or(Cell::Empty, |t| {
        Cell::Text(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    })
}
