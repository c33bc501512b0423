//! What a run did: counts that make sure nothing is dropped silently.

use serde::Serialize;
use std::collections::BTreeMap;

/// A sample of an input record that could not be turned into an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnparsedSample {
    /// Line or record number.
    pub line: u64,
    /// Why it was not parsed.
    pub reason: String,
}

/// How many samples of unparsed records each file keeps.
pub const MAX_UNPARSED_SAMPLES: usize = 5;

/// Per-file reading statistics.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FileStats {
    /// Path as given.
    pub path: String,
    /// Detected (or forced) input format.
    pub format: String,
    /// Events produced.
    pub events: u64,
    /// Of `events`: lines the line gate decided no rule can match, counted but never built into
    /// events (see `spoor_event::LineGate`).
    #[serde(skip_serializing_if = "is_zero")]
    pub prefiltered: u64,
    /// The first and last times of the prefiltered lines (they date the run's evidence, e.g.
    /// for yearless syslog lines, like the events built).
    #[serde(skip)]
    pub prefiltered_span: Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>,
    /// Records that were not events.
    pub unparsed: u64,
    /// The first few unparsed records with their reasons.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unparsed_samples: Vec<UnparsedSample>,
    /// Lines or archive members passed over on purpose, not errors: blank lines, IIS `#`
    /// directives, macOS `__MACOSX/` and `._*` AppleDouble stubs in archives.
    #[serde(skip_serializing_if = "is_zero")]
    pub skipped: u64,
    /// The file was found by walking a folder and is in no format spoor reads (a README, an
    /// image): passed over and counted here, not an error. A file named on the command line
    /// that is not a log is an error instead.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub skipped_not_log: bool,
    /// A fault that stopped reading the file (truncated archive, I/O error), with what was
    /// read before it still counted above.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// True when timestamps had no time zone and were taken as UTC.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub timezone_assumed: bool,
    /// Events built from several records besides the per-record `events` (an audit log's
    /// exec records joined into one `process_creation` event).
    #[serde(skip_serializing_if = "is_zero")]
    pub joined_events: u64,
    /// Groups of records joined before they were complete (a reader's bound on waiting
    /// groups was reached, or the stream ended first).
    #[serde(skip_serializing_if = "is_zero")]
    pub joined_incomplete: u64,
}

impl FileStats {
    /// Counts one line the line gate decided (an event, never built), at time `t` if known.
    pub fn prefiltered_at(&mut self, t: Option<chrono::DateTime<chrono::Utc>>) {
        self.events += 1;
        self.prefiltered += 1;
        if let Some(t) = t {
            self.prefiltered_span = Some(match self.prefiltered_span {
                Some((a, b)) => (a.min(t), b.max(t)),
                None => (t, t),
            });
        }
    }

    /// Adds another part's counts of prefiltered lines (chunks of one file).
    pub fn merge_prefiltered(&mut self, other: &FileStats) {
        self.prefiltered += other.prefiltered;
        self.prefiltered_span = match (self.prefiltered_span, other.prefiltered_span) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (x, None) | (None, x) => x,
        };
    }

    /// Counts one unparsed record, keeping the first few reasons.
    pub fn unparsed(&mut self, line: u64, reason: impl Into<String>) {
        self.unparsed += 1;
        if self.unparsed_samples.len() < MAX_UNPARSED_SAMPLES {
            self.unparsed_samples.push(UnparsedSample {
                line,
                reason: reason.into(),
            });
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What one Sigma filter rule suppressed in a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FilterStat {
    /// The filter's id (empty if it has none).
    pub id: String,
    /// Its title.
    pub title: String,
    /// Where it was loaded from.
    pub origin: String,
    /// Matches of its rules it suppressed.
    pub suppressed: u64,
}

/// The whole run's summary, written at the end by every sink.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunSummary {
    /// Per-file statistics, in path order.
    pub files: Vec<FileStats>,
    /// Total events.
    pub events: u64,
    /// Total unparsed records.
    pub unparsed: u64,
    /// Rules (and indicators) that loaded and run.
    pub rules_loaded: u64,
    /// Rules that are valid but use something spoor does not run (with reasons in `rules check`).
    pub rules_unsupported: u64,
    /// Rules that are broken.
    pub rules_invalid: u64,
    /// Findings written (after filters), by level.
    pub findings_by_level: BTreeMap<String, u64>,
    /// Findings by ATT&CK tactic.
    pub findings_by_tactic: BTreeMap<String, u64>,
    /// Total findings written.
    pub findings: u64,
    /// Wall time in seconds.
    pub elapsed_seconds: f64,
    /// Peak resident memory of the process, in bytes (0 where the platform does not say).
    #[serde(skip_serializing_if = "is_zero")]
    pub peak_rss_bytes: u64,
    /// Bytes of findings spilled to temporary files to keep the timeline's memory bounded.
    #[serde(skip_serializing_if = "is_zero")]
    pub spilled_bytes: u64,
    /// Live mode: correlation inputs that came later than the allowed lateness and so took no
    /// part in any window (counted, never dropped silently).
    #[serde(skip_serializing_if = "is_zero")]
    pub late_events: u64,
    /// Sigma filter rules and what each suppressed, so that tuning never hides findings
    /// silently.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<FilterStat>,
    /// Warnings worth the analyst's attention (rule problems, unreadable files).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}
