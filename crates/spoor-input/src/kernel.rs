//! The shared kernel of the readers: the record sink every format writes its events and
//! counts to ([`Ctx`]), the read buffer size, the one list of time field names and the one
//! Windows log-source classifier.
//!
//! Why a leaf: the dispatcher (`read`, `parallel`, `archive`) hands streams to the formats, and
//! the formats need the sink; with these in a module that imports neither, no format imports
//! the dispatcher and the dispatcher only imports the formats' entry points.

use crate::ReadOptions;
use chrono::{DateTime, Utc};
use spoor_event::{Event, Fields, FileStats, LogSource};
use std::cell::Cell;
use std::sync::Arc;

/// Size of the read buffer; also how much is looked at when sniffing.
pub(crate) const BUF_BYTES: usize = 64 * 1024;

/// Longest line taken as a sample when sniffing (longer ones are passed over); a header row
/// longer than this is no header.
pub(crate) const SNIFF_WINDOW: usize = 64 * 1024;

/// Reads into `buf` until it is full or the stream ends (an interrupted read is retried); the
/// number of bytes read.
pub(crate) fn read_full(r: &mut impl std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(buf.get_mut(n..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Whether a line says nothing about the format: blank, or only NUL bytes and blanks.
pub(crate) fn is_filler(line: &[u8]) -> bool {
    line.iter().all(|b| *b == 0 || b.is_ascii_whitespace())
}

/// Field names tried, in order, for the time of a generic event (JSON object or CSV row).
pub(crate) const TIME_FIELDS: [&str; 9] = [
    "@timestamp",
    "timestamp",
    "TimeCreated",
    "EventTime",
    "UtcTime",
    "time",
    "Timestamp",
    "eventTime",
    "datetime",
];

/// The log source of a Windows-shaped event (EVTX, Windows JSON, a CSV row with `EventID` and
/// `Channel`): the channel table's row for its channel and event id, else plain `windows`.
pub(crate) fn windows_logsource_of(
    channel: Option<&str>,
    event_id: Option<i64>,
    fields: &Fields,
) -> LogSource {
    channel
        .and_then(|c| crate::windows::windows_logsource_for(c, event_id, fields))
        .unwrap_or_else(crate::windows::windows_default)
}

/// What a chunk of a large file needs to know of the text around it, so that it reads its
/// records as the reader of the whole file would (see `parallel`).
#[derive(Clone, Debug, Default)]
pub(crate) enum Resume {
    /// Nothing: the start of a file, or a chunk of a format with no state between records.
    #[default]
    Start,
    /// IIS and W3C: the last `#Fields:` directive before the chunk.
    IisDirective(Arc<[u8]>),
    /// CSV and TSV: the columns of the header row.
    CsvHeader(Arc<[Arc<str>]>),
    /// A JSON array: where in it the chunk starts, and whether it goes on past the chunk.
    JsonArray(crate::json::ArrayPiece),
}

/// The state of reading one stream: where events go and what is counted.
pub(crate) struct Ctx<'a> {
    pub path: Arc<str>,
    pub opts: &'a ReadOptions,
    pub stats: FileStats,
    pub mtime: Option<DateTime<Utc>>,
    tz_assumed: Cell<bool>,
    /// For a chunk of a large file: what it needs from the text before it.
    pub resume: Resume,
    emit: &'a mut dyn FnMut(Event),
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(path: &str, opts: &'a ReadOptions, emit: &'a mut dyn FnMut(Event)) -> Self {
        Ctx {
            path: Arc::from(path),
            opts,
            stats: FileStats {
                path: path.to_string(),
                ..FileStats::default()
            },
            mtime: None,
            tz_assumed: Cell::new(false),
            resume: Resume::Start,
            emit,
        }
    }

    /// Emits an event.
    pub(crate) fn event(&mut self, ev: Event) {
        self.stats.events += 1;
        (self.emit)(ev);
    }

    /// Emits an event built from several records (counted apart from the per-record events).
    pub(crate) fn joined_event(&mut self, ev: Event) {
        self.stats.joined_events += 1;
        (self.emit)(ev);
    }

    /// Counts an unparsed record.
    pub(crate) fn unparsed(&mut self, line: u64, reason: impl Into<String>) {
        self.stats.unparsed(line, reason);
    }

    /// Counts a line passed over on purpose.
    pub(crate) fn skip(&mut self) {
        self.stats.skipped += 1;
    }

    /// The reason text for an over-long record.
    pub(crate) fn too_long(&self, n: u64) -> String {
        format!(
            "record of {n} bytes is over the cap of {} bytes",
            self.opts.max_line_bytes
        )
    }

    /// Notes that a time had no zone and was taken as UTC.
    pub(crate) fn note_tz_assumed(&self, assumed: bool) {
        if assumed {
            self.tz_assumed.set(true);
        }
    }

    /// The statistics, complete (format `unknown` when none was found).
    pub(crate) fn finish(mut self) -> FileStats {
        self.stats.timezone_assumed |= self.tz_assumed.get();
        if self.stats.format.is_empty() {
            self.stats.format = "unknown".into();
        }
        self.stats
    }
}
