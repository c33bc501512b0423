//! What the caller decides about a read: forced format, limits, which paths.

use crate::InputFormat;
use chrono::{DateTime, Utc};

/// Default cap on one line or record: longer ones are counted as unparsed, not loaded whole.
pub const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;

/// Default size above which a splittable plain text file is read in parallel chunks.
pub const DEFAULT_SPLIT_BYTES: u64 = 64 << 20;

/// Default cap on an EVTX file held in memory because it came out of a compressed stream or an
/// archive (the evtx crate needs to seek; plain `.evtx` files are read from disk, not held).
pub const DEFAULT_MAX_MEMORY_EVTX_BYTES: u64 = 512 << 20;

/// Options of a read. Build with [`ReadOptions::default`] and set what you need.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Force every file to this format instead of sniffing it (`--format-in`).
    pub format: Option<InputFormat>,
    /// Longest line or JSON record read; longer ones are counted unparsed.
    pub max_line_bytes: usize,
    /// Only files whose path matches one of these globs (`--glob`); empty means all.
    pub globs: Vec<String>,
    /// Skip files and folders whose path matches one of these (`--exclude`).
    pub excludes: Vec<String>,
    /// Plain text files at least this big are split into line-aligned chunks read in parallel.
    pub split_bytes: u64,
    /// Largest EVTX held in memory when it cannot be read from disk directly.
    pub max_memory_evtx_bytes: u64,
    /// Year for RFC 3164 syslog lines, which carry none (`--syslog-year`). Wins over
    /// [`ReadOptions::syslog_year_hint`]; with neither, the year is inferred from the file's
    /// modification time (see the `syslog` module).
    pub syslog_year: Option<i32>,
    /// When the run's other dated evidence (EVTX, web logs, RFC 5424 syslog...) happened: RFC
    /// 3164 lines then take the year that puts them in or nearest to this span, and each line
    /// after the first follows on from the one before it (a January line after a December one
    /// is the next year). Better than the file's modification time, which a copy or a fresh
    /// clone resets. Ignored when [`ReadOptions::syslog_year`] is set.
    pub syslog_year_hint: Option<EvidenceSpan>,
    /// Line gates (`spoor_event::LineGate`): web lines no rule can match are counted
    /// ([`spoor_event::FileStats::prefiltered`]) but never built into events. `None` (the
    /// default) builds every event, as ingesting or searching must.
    pub gates: Option<spoor_event::SharedGates>,
}

/// The span of time of a run's dated evidence: the first and last event times seen. Build it
/// with [`EvidenceSpan::of`] or grow it with [`EvidenceSpan::include`].
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use spoor_input::EvidenceSpan;
/// let a = Utc.with_ymd_and_hms(2024, 7, 8, 10, 0, 0).unwrap();
/// let b = Utc.with_ymd_and_hms(2024, 6, 30, 9, 0, 0).unwrap();
/// let span = EvidenceSpan::of([a, b]).unwrap();
/// assert_eq!((span.first, span.last), (b, a));
/// let later = Utc.with_ymd_and_hms(2024, 7, 9, 0, 0, 0).unwrap();
/// assert_eq!(span.union(EvidenceSpan::new(later, later)).last, later);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvidenceSpan {
    /// The earliest time.
    pub first: DateTime<Utc>,
    /// The latest time.
    pub last: DateTime<Utc>,
}

impl EvidenceSpan {
    /// The span from `a` to `b`, whichever comes first.
    pub fn new(a: DateTime<Utc>, b: DateTime<Utc>) -> Self {
        EvidenceSpan {
            first: a.min(b),
            last: a.max(b),
        }
    }

    /// The span of `times`; `None` when there are none.
    pub fn of(times: impl IntoIterator<Item = DateTime<Utc>>) -> Option<Self> {
        let mut span: Option<EvidenceSpan> = None;
        for t in times {
            EvidenceSpan::include(&mut span, t);
        }
        span
    }

    /// The span covering both (for merging per-thread spans).
    pub fn union(self, other: EvidenceSpan) -> Self {
        EvidenceSpan::new(self.first.min(other.first), self.last.max(other.last))
    }

    /// Widens `span` (or starts it) to take in `t`: for folding event times as they come.
    pub fn include(span: &mut Option<EvidenceSpan>, t: DateTime<Utc>) {
        *span = Some(match *span {
            Some(s) => EvidenceSpan::new(s.first.min(t), s.last.max(t)),
            None => EvidenceSpan::new(t, t),
        });
    }
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            format: None,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            globs: Vec::new(),
            excludes: Vec::new(),
            split_bytes: DEFAULT_SPLIT_BYTES,
            max_memory_evtx_bytes: DEFAULT_MAX_MEMORY_EVTX_BYTES,
            syslog_year: None,
            syslog_year_hint: None,
            gates: None,
        }
    }
}
