//! CSV for spreadsheets and Timesketch.
//!
//! Timesketch imports a CSV with `datetime`, `timestamp_desc` and `message`; spoor's own columns
//! follow. A spreadsheet opening this file would evaluate a cell starting with `=`, `+`, `-`, `@`
//! (or a tab / carriage return that some import paths strip first) as a formula, and log data
//! is attacker-written, so such cells get a leading `'`, which spreadsheets show as text.
//! Embedded newlines stay inside properly quoted cells (the `csv` crate quotes them). Other
//! control characters and bidi overrides (ESC, BEL, backspace, C1, U+202E...) are written as
//! visible escapes (`\x1b`, `\u{202e}`), as in the table, so that the file is safe to `cat` and
//! shows in Timesketch what the log held rather than what the attacker wanted it to look like.

use crate::evidence::{evidence_text, rfc3339, timestamp_desc};
use spoor_event::{Finding, FindingSink, Position, RunSummary};
use std::borrow::Cow;
use std::io::{self, Write};

/// The header row, in order.
pub const CSV_COLUMNS: [&str; 12] = [
    "datetime",
    "timestamp_desc",
    "message",
    "rule_id",
    "rule_title",
    "level",
    "kind",
    "attack",
    "tactics",
    "source_path",
    "source_line",
    "count",
];

/// A cell made inert for spreadsheets and terminals: a leading `=`, `+`, `-`, `@`, tab, carriage
/// return or line feed gets a `'` in front, and control characters other than tab, CR and LF
/// (which CSV quoting carries) become visible escapes as in [`crate::terminal_safe`].
pub fn csv_cell_safe(s: &str) -> Cow<'_, str> {
    let s = crate::terminal::escape_visibly(s, |c| {
        !matches!(c, '\t' | '\r' | '\n') && crate::is_unsafe_for_terminal(c)
    });
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\n') => Cow::Owned(format!("'{s}")),
        _ => s,
    }
}

/// Writes findings as CSV with the [`CSV_COLUMNS`] header. The summary is not part of the CSV
/// (a trailing row would break importers); it goes to the CLI's other outputs.
pub struct CsvWriter<W: Write> {
    out: csv::Writer<W>,
    header_written: bool,
}

impl<W: Write> CsvWriter<W> {
    /// A writer to `out` (the CLI's stdout or the `--output` file; never a path from data).
    pub fn new(out: W) -> Self {
        CsvWriter {
            out: csv::WriterBuilder::new()
                .terminator(csv::Terminator::CRLF)
                .from_writer(out),
            header_written: false,
        }
    }

    /// A writer that goes on after rows already written (a resumed live hunt): no header.
    pub fn continuing(mut self) -> Self {
        self.header_written = true;
        self
    }

    fn header(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.out.write_record(CSV_COLUMNS).map_err(to_io)?;
            self.header_written = true;
        }
        Ok(())
    }
}

fn to_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

impl<W: Write> FindingSink for CsvWriter<W> {
    fn write(&mut self, f: &Finding) -> io::Result<()> {
        self.header()?;
        let line = match f.source.position {
            Position::Line(n) | Position::Record(n) | Position::Index(n) => n.to_string(),
        };
        let cells: [Cow<'_, str>; 12] = [
            f.timestamp.map(rfc3339).unwrap_or_default().into(),
            timestamp_desc(f).into(),
            evidence_text(f).into(),
            f.rule.id.as_str().into(),
            f.rule.title.as_str().into(),
            f.rule.level.as_str().into(),
            crate::kind_name(f.rule.kind).into(),
            f.rule.attack.techniques.join(";").into(),
            f.rule.attack.tactics.join(";").into(),
            (*f.source.path).into(),
            line.into(),
            f.count.to_string().into(),
        ];
        self.out
            .write_record(cells.iter().map(|c| csv_cell_safe(c).into_owned()))
            .map_err(to_io)
    }

    fn finish(&mut self, _summary: &RunSummary) -> io::Result<()> {
        self.header()?;
        self.out.flush()
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutralises_formula_starts() {
        for s in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "\nx"] {
            assert_eq!(csv_cell_safe(s), format!("'{s}"));
        }
        assert_eq!(csv_cell_safe("GET /a=b"), "GET /a=b");
        assert_eq!(csv_cell_safe(""), "");
        assert_eq!(
            csv_cell_safe("a\x1b]0;t\x07\r\nb\u{202e}"),
            "a\\x1b]0;t\\x07\r\nb\\u{202e}"
        );
    }
}
