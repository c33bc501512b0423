//! JSON Lines: the machine-readable output, one finding per line.
//!
//! The schema is `Finding`'s `Serialize` impl in `spoor-event` (so it is defined once), written
//! through [`SafeJsonFormatter`] so that a line shown in a terminal carries no live control
//! character. The run's summary closes the stream as `{"summary": {...}}`.

use crate::json_safe::{write_json, SafeJsonFormatter};
use spoor_event::{Finding, FindingSink, RunSummary};
use std::io::{self, Write};

/// Writes findings as JSON Lines; see the crate docs for the schema.
pub struct JsonlWriter<W: Write> {
    out: W,
}

impl<W: Write> JsonlWriter<W> {
    /// A writer to `out` (the CLI's stdout or the `--output` file; never a path from data).
    pub fn new(out: W) -> Self {
        JsonlWriter { out }
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

#[derive(serde::Serialize)]
struct SummaryLine<'a> {
    summary: &'a RunSummary,
}

impl<W: Write> FindingSink for JsonlWriter<W> {
    fn write(&mut self, finding: &Finding) -> io::Result<()> {
        write_json(&mut self.out, finding, SafeJsonFormatter::terminal())?;
        self.out.write_all(b"\n")
    }

    fn finish(&mut self, summary: &RunSummary) -> io::Result<()> {
        write_json(
            &mut self.out,
            &SummaryLine { summary },
            SafeJsonFormatter::terminal(),
        )?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
