//! One followed text file: reads what was appended since its cursor, whole lines only (a line
//! still being written waits for its end), through the format's line parser, so the parser's
//! state (IIS `#Fields`, the syslog year) lives as long as the file. Memory per poll is one
//! buffer of the line cap; a line longer than the cap is passed over as it streams and
//! counted, never held.

use super::cursor::FileCursor;
use crate::decompress::Compression;
use crate::json::looks_like_ndjson;
use crate::kernel::Ctx;
use crate::lines::Line;
use crate::read::{one_line, LineParser};
use crate::sniff::{sniff, EVTX_MAGIC};
use crate::{InputFormat, ReadOptions};
use spoor_event::{Event, FileStats, MAX_UNPARSED_SAMPLES};
use std::fs::File;
use std::io::{self, Seek, SeekFrom};

/// Smallest read buffer (it grows to the line cap, so that a full buffer without a line end
/// means an over-long line).
const MIN_BUF: usize = 256 * 1024;

/// A head without a recognisable format is given up on past this many bytes.
const SNIFF_GIVE_UP: usize = 8 * 1024;

/// What reading a tail found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TailRead {
    /// Whole lines read (this many bytes).
    Lines(u64),
    /// The content is not read line by line (compressed, EVTX, CSV, a JSON document...).
    NotLineBased,
    /// No format recognised in its first lines.
    Unrecognised,
}

/// One followed file.
pub(crate) struct Tail {
    pub(crate) cursor: FileCursor,
    pub(crate) file: Option<File>,
    parser: Option<LineParser>,
    /// What was read of it, over the whole follow.
    pub(crate) stats: FileStats,
}

/// Adds `new` (one poll's statistics of a file) to `total`.
pub(crate) fn absorb(total: &mut FileStats, new: FileStats) {
    if total.path.is_empty() {
        total.path = new.path;
    }
    if new.format != "unknown" && !new.format.is_empty() {
        total.format = new.format;
    }
    total.events += new.events;
    total.unparsed += new.unparsed;
    total.skipped += new.skipped;
    for s in new.unparsed_samples {
        if total.unparsed_samples.len() < MAX_UNPARSED_SAMPLES {
            total.unparsed_samples.push(s);
        }
    }
    total.skipped_not_log |= new.skipped_not_log;
    total.timezone_assumed |= new.timezone_assumed;
    if new.error.is_some() {
        total.error = new.error;
    }
}

impl Tail {
    pub(crate) fn new(cursor: FileCursor, file: Option<File>) -> Self {
        Tail {
            stats: FileStats {
                path: cursor.path.clone(),
                format: cursor.format.clone().unwrap_or_default(),
                ..FileStats::default()
            },
            cursor,
            file,
            parser: None,
        }
    }

    /// Starts the file over (it was truncated): offset and line 0, a fresh parser.
    pub(crate) fn restart(&mut self) {
        self.cursor.offset = 0;
        self.cursor.line = 0;
        self.cursor.skipping = None;
        self.parser = None;
    }

    /// Reads the whole lines appended since the cursor, at most about `budget` bytes. With
    /// `at_end` the file will not grow any more and a last line without its end is read too.
    pub(crate) fn read_new(
        &mut self,
        opts: &ReadOptions,
        buf: &mut Vec<u8>,
        budget: u64,
        at_end: bool,
        emit: &mut dyn FnMut(Event),
    ) -> io::Result<TailRead> {
        let size = opts.max_line_bytes.saturating_add(2).max(MIN_BUF);
        buf.resize(size, 0);
        let mut total = 0u64;
        while total < budget {
            let Some(f) = self.file.as_mut() else {
                break;
            };
            f.seek(SeekFrom::Start(self.cursor.offset))?;
            let n = crate::kernel::read_full(f, buf)?;
            if n == 0 {
                break;
            }
            let data = buf.get(..n).unwrap_or_default();
            let last = at_end && n < buf.len();
            if self.cursor.format.is_none() {
                match self.sniff(data, opts, last) {
                    Some(TailRead::Lines(_)) => {}
                    Some(other) => return Ok(other),
                    None => break,
                }
            }
            let used = self.lines(data, last, opts, emit);
            self.cursor.offset += used;
            total += used;
            if used == 0 || n < buf.len() {
                break;
            }
        }
        Ok(TailRead::Lines(total))
    }

    /// Finds the format from the whole lines at the start; `None` to wait for more.
    fn sniff(&mut self, data: &[u8], opts: &ReadOptions, last: bool) -> Option<TailRead> {
        if Compression::detect(data).is_some()
            || data.starts_with(b"PK")
            || data.starts_with(EVTX_MAGIC)
            || crate::utf16::detect(data).is_some()
        {
            return Some(TailRead::NotLineBased);
        }
        let head = match memchr::memrchr(b'\n', data) {
            Some(i) => data.get(..=i).unwrap_or_default(),
            None if last => data,
            None => return None,
        };
        let format = match opts.format.or_else(|| sniff(head)) {
            Some(f) => f,
            None if head.len() >= SNIFF_GIVE_UP || last => return Some(TailRead::Unrecognised),
            None => return None,
        };
        let ndjson = format == InputFormat::Json && looks_like_ndjson(head);
        let line_based = !matches!(
            format,
            InputFormat::Evtx | InputFormat::Csv | InputFormat::Tsv
        ) && (format != InputFormat::Json || ndjson);
        if !line_based {
            return Some(TailRead::NotLineBased);
        }
        self.cursor.format = Some(format.name().to_string());
        self.cursor.ndjson = ndjson;
        self.stats.format = format.name().to_string();
        Some(TailRead::Lines(0))
    }

    /// Runs the whole lines of `data` through the parser; returns the bytes used.
    fn lines(
        &mut self,
        data: &[u8],
        last: bool,
        opts: &ReadOptions,
        emit: &mut dyn FnMut(Event),
    ) -> u64 {
        let mut ctx = Ctx::new(&self.cursor.path, opts, emit);
        if self.parser.is_none() {
            let format = self
                .cursor
                .format
                .as_deref()
                .and_then(|f| f.parse::<InputFormat>().ok());
            self.parser = format.and_then(|f| LineParser::new(f, self.cursor.ndjson, &ctx));
        }
        let Some(parser) = self.parser.as_mut() else {
            return 0;
        };
        let cap = opts.max_line_bytes;
        let mut pos = 0usize;
        let mut parse = |l: &[u8], e: Event, c: &Ctx| parser.parse(l, e, c);
        while pos < data.len() {
            let rest = data.get(pos..).unwrap_or_default();
            let (line, next) = match memchr::memchr(b'\n', rest) {
                Some(i) => (rest.get(..i).unwrap_or_default(), pos + i + 1),
                None if last => (rest, data.len()),
                None => {
                    if self.cursor.skipping.is_some() || rest.len() > cap {
                        let before = self.cursor.skipping.unwrap_or(0);
                        self.cursor.skipping = Some(before + rest.len() as u64);
                        pos = data.len();
                    }
                    break;
                }
            };
            self.cursor.line += 1;
            let no = self.cursor.line;
            let text = line.strip_suffix(b"\r").unwrap_or(line);
            if let Some(before) = self.cursor.skipping.take() {
                one_line(
                    &mut ctx,
                    no,
                    Line::TooLong(before + line.len() as u64),
                    &mut parse,
                );
            } else if text.len() > cap {
                one_line(&mut ctx, no, Line::TooLong(text.len() as u64), &mut parse);
            } else {
                one_line(&mut ctx, no, Line::Text(text), &mut parse);
            }
            pos = next;
        }
        absorb(&mut self.stats, ctx.finish());
        pos as u64
    }
}
