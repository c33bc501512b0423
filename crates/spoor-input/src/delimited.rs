//! CSV and TSV with a header row: generic events whose field names are the header's columns.
//!
//! Quoting follows RFC 4180 (`"a ""b"" c"`, separators and line breaks inside quotes); a record
//! may span lines but not more than the line cap in total. A row with a different number of
//! values than the header is counted unparsed. If the columns include `EventID` and `Channel` the
//! row is treated as a Windows event (log source from the channel table).

use crate::kernel::{Ctx, Resume};
use crate::lines::{Line, LineReader};
use spoor_event::{Event, Position, Value};
use std::io::{self, BufRead};
use std::sync::Arc;

/// Where the bytes of a record's cells go: into the cells when a file is read, nowhere when a
/// large file is only scanned for where its records start (so that it can be split between
/// threads). One splitter serves both, so the scan and the reader cannot disagree.
trait Cells {
    /// Whether the bytes are kept (a scan keeps none and may skip a line with no quote).
    const KEEPS_BYTES: bool;
    /// Opens the first cell of a record.
    fn start_record(&mut self);
    /// Appends a byte to the current cell.
    fn push(&mut self, b: u8);
    /// Starts the next cell.
    fn next_cell(&mut self);
    /// Whether the current cell is still empty (a quote opens a quoted cell only there).
    fn cell_is_empty(&self) -> bool;
}

impl Cells for Vec<Vec<u8>> {
    const KEEPS_BYTES: bool = true;
    fn start_record(&mut self) {
        if self.is_empty() {
            self.push(Vec::new());
        }
    }
    fn push(&mut self, b: u8) {
        if let Some(cur) = self.last_mut() {
            cur.push(b);
        }
    }
    fn next_cell(&mut self) {
        Vec::push(self, Vec::new());
    }
    fn cell_is_empty(&self) -> bool {
        self.last().is_none_or(Vec::is_empty)
    }
}

/// The cells of a scan: only whether the current one is empty.
#[derive(Default)]
struct CellShape {
    empty: bool,
}

impl Cells for CellShape {
    const KEEPS_BYTES: bool = false;
    fn start_record(&mut self) {
        self.empty = true;
    }
    fn push(&mut self, _: u8) {
        self.empty = false;
    }
    fn next_cell(&mut self) {
        self.empty = true;
    }
    fn cell_is_empty(&self) -> bool {
        self.empty
    }
}

/// Splits `line` into cells, continuing a quoted cell from `open` (carried across lines).
/// Returns true when the record is complete (not inside quotes at the end).
fn split_into<C: Cells>(line: &[u8], sep: u8, cells: &mut C, open: &mut bool) -> bool {
    if !C::KEEPS_BYTES && memchr::memchr(b'"', line).is_none() {
        // No quote: the line neither opens nor closes one.
        if *open {
            cells.push(b'\n');
        }
        return !*open;
    }
    let mut i = 0;
    while let Some(&b) = line.get(i) {
        if *open {
            if b == b'"' {
                if line.get(i + 1) == Some(&b'"') {
                    cells.push(b'"');
                    i += 2;
                    continue;
                }
                *open = false;
            } else {
                cells.push(b);
            }
        } else if b == sep {
            cells.next_cell();
        } else if b == b'"' && cells.cell_is_empty() {
            *open = true;
        } else {
            cells.push(b);
        }
        i += 1;
    }
    if *open {
        cells.push(b'\n');
        return false;
    }
    true
}

/// What one line did to the record being assembled.
enum Fed {
    /// It belongs to a record that goes on.
    More,
    /// A blank line between records.
    Blank,
    /// Junk before the header row (NUL padding, an over-long line).
    Junk,
    /// Over the line cap (`n` bytes): the record it was in is dropped.
    TooLong(u64),
    /// A quoted cell ran past the size cap: the record that started on this line is dropped.
    Capped(u64),
    /// The record that started on this line is complete.
    Record(u64),
}

/// Assembles records from lines: quoted cells may carry a record over several lines.
struct Records<C> {
    sep: u8,
    cells: C,
    in_record: bool,
    open: bool,
    start: u64,
    size: usize,
}

impl<C: Cells + Default> Records<C> {
    fn new(sep: u8) -> Self {
        Records {
            sep,
            cells: C::default(),
            in_record: false,
            open: false,
            start: 0,
            size: 0,
        }
    }

    fn reset(&mut self) {
        self.cells = C::default();
        self.in_record = false;
        self.open = false;
    }

    /// Takes line `no`; `header_seen` says whether junk lines are still skipped.
    fn feed(&mut self, no: u64, line: Line<'_>, header_seen: bool, cap: usize) -> Fed {
        let text = match line {
            Line::TooLong(n) => {
                self.reset();
                return Fed::TooLong(n);
            }
            Line::Text(t) => t,
        };
        if !self.in_record {
            if text.trim_ascii().is_empty() {
                return Fed::Blank;
            }
            if !header_seen
                && (crate::kernel::is_filler(text) || text.len() > crate::kernel::SNIFF_WINDOW)
            {
                return Fed::Junk;
            }
            self.in_record = true;
            self.cells.start_record();
            self.start = no;
            self.size = 0;
        }
        self.size += text.len();
        if !split_into(text, self.sep, &mut self.cells, &mut self.open) {
            if self.size > cap {
                let start = self.start;
                self.reset();
                return Fed::Capped(start);
            }
            return Fed::More;
        }
        self.in_record = false;
        Fed::Record(self.start)
    }
}

/// The columns of a header row.
fn header_of(row: &[Vec<u8>]) -> Arc<[Arc<str>]> {
    row.iter()
        .map(|f| Arc::from(String::from_utf8_lossy(f.trim_ascii()).as_ref()))
        .collect()
}

/// Reads a delimited file with a header row (a chunk of a large file: with the header of the
/// file, from [`Resume::CsvHeader`]).
pub(crate) fn read_delimited<R: BufRead>(
    mut lines: LineReader<R>,
    sep: u8,
    ctx: &mut Ctx,
) -> io::Result<()> {
    let mut header = match &ctx.resume {
        Resume::CsvHeader(h) => Some(h.clone()),
        _ => None,
    };
    let mut records = Records::<Vec<Vec<u8>>>::new(sep);
    let cap = ctx.opts.max_line_bytes;
    while let Some((no, line)) = lines.next_line()? {
        let start = match records.feed(no, line, header.is_some(), cap) {
            Fed::More => continue,
            Fed::Blank => {
                ctx.skip();
                continue;
            }
            Fed::Junk => {
                ctx.unparsed(no, "not a header row: NUL padding or a line over 64 KiB");
                continue;
            }
            Fed::TooLong(n) => {
                ctx.unparsed(no, ctx.too_long(n));
                continue;
            }
            Fed::Capped(start) => {
                ctx.unparsed(start, "quoted field runs past the size cap");
                continue;
            }
            Fed::Record(start) => start,
        };
        let row = std::mem::take(&mut records.cells);
        let Some(names) = &header else {
            header = Some(header_of(&row));
            ctx.skip();
            continue;
        };
        if row.len() != names.len() {
            ctx.unparsed(
                start,
                format!("{} values for {} header columns", row.len(), names.len()),
            );
            continue;
        }
        let mut ev = Event::new(ctx.path.clone(), Position::Line(start));
        for (name, v) in names.iter().zip(row) {
            ev.fields
                .push((name.clone(), Value::str(String::from_utf8_lossy(&v))));
        }
        crate::generic::finish_generic(&mut ev, ctx);
        ctx.event(ev);
    }
    if records.in_record && records.open {
        ctx.unparsed(records.start, "file ends inside a quoted field");
    }
    Ok(())
}

/// The header row of a delimited file, read from its start as [`read_delimited`] reads it;
/// `None` when these lines hold none.
pub(crate) fn header_row<R: BufRead>(
    mut lines: LineReader<R>,
    sep: u8,
    cap: usize,
) -> io::Result<Option<Arc<[Arc<str>]>>> {
    let mut records = Records::<Vec<Vec<u8>>>::new(sep);
    while let Some((no, line)) = lines.next_line()? {
        if let Fed::Record(_) = records.feed(no, line, false, cap) {
            return Ok(Some(header_of(&records.cells)));
        }
    }
    Ok(None)
}

/// How a scanned stretch of a delimited file ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StretchEnd {
    /// Between records: the next stretch starts one.
    Between,
    /// Inside a quoted cell, `size` bytes into its record (as the size cap counts them).
    Open { size: usize },
    /// Without the header row (only the first stretch of a file is read before the header).
    NoHeader,
}

impl<C> Records<C> {
    fn end(&self) -> StretchEnd {
        if self.in_record {
            StretchEnd::Open { size: self.size }
        } else {
            StretchEnd::Between
        }
    }
}

/// A stretch read as if it started inside a quoted cell (a record from the stretch before
/// carried a line break over its start).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FromOpen {
    /// Where the first record starts: bytes and line ends after the stretch's start; `None` when
    /// the cell runs on through the whole stretch.
    pub first_start: Option<(u64, u64)>,
    /// The bytes of the carried record's lines in this stretch before that start, as the size
    /// cap counts them (all of the stretch's lines when there is no start).
    pub size_before: usize,
    /// How the stretch ends.
    pub end: StretchEnd,
}

/// What a scan of one stretch of a delimited file found, for each of the two states a line can
/// start in: between records, or inside a quoted cell. Which one holds is known only once the
/// stretch before is scanned, so both are worked out at once, and stretches scan in parallel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StretchScan {
    /// Lines in the stretch (its line ends, as it ends where a line starts unless it is the
    /// file's last).
    pub lines: u64,
    /// Read from a record start.
    pub from_start: StretchEnd,
    /// Read from inside a quoted cell; `None` for the first stretch of a file.
    pub from_open: Option<FromOpen>,
}

/// Scans a stretch of a delimited file (see [`StretchScan`]). `first` says it is the file's
/// first, which is read from a record start only and must hold the header row.
pub(crate) fn scan_stretch<R: BufRead>(
    mut lines: LineReader<R>,
    sep: u8,
    first: bool,
    cap: usize,
) -> io::Result<StretchScan> {
    let mut header_seen = !first;
    let mut from_start = Records::<CellShape>::new(sep);
    // The scan from inside a quoted cell, until it meets a record start.
    let mut open = (!first).then(|| {
        let mut r = Records::<CellShape>::new(sep);
        r.in_record = true;
        r.open = true;
        r
    });
    let mut from_open = FromOpen {
        first_start: None,
        size_before: 0,
        end: StretchEnd::Between,
    };
    let mut line_ends = 0u64;
    loop {
        let at = lines.consumed();
        if open.as_ref().is_some_and(|r| !r.in_record) {
            if from_open.first_start.is_none() {
                from_open.first_start = Some((at, line_ends));
            }
            if !from_start.in_record {
                // Both scans are between records here: from now on they read alike.
                open = None;
            }
        }
        let Some((no, line)) = lines.next_line()? else {
            break;
        };
        line_ends += 1;
        if let Fed::Record(_) = from_start.feed(no, line, header_seen, cap) {
            header_seen = true;
        }
        if let Some(r) = open.as_mut() {
            let fed = r.feed(no, line, true, cap);
            if from_open.first_start.is_none() {
                match fed {
                    Fed::More => from_open.size_before = r.size,
                    // The carried record may have been capped earlier: the caller cannot tell.
                    Fed::Capped(_) => from_open.size_before = usize::MAX,
                    _ => {}
                }
            }
        }
    }
    from_open.end = open.as_ref().unwrap_or(&from_start).end();
    Ok(StretchScan {
        lines: line_ends,
        from_start: if header_seen {
            from_start.end()
        } else {
            StretchEnd::NoHeader
        },
        from_open: (!first).then_some(from_open),
    })
}

#[cfg(test)]
mod tests {
    use crate::read::tests::run_text;
    use crate::InputFormat;
    use spoor_event::{field_text, Position, Value};

    #[test]
    fn csv_with_quotes_and_bad_rows() {
        let text = b"time,user,cmd\n2024-01-01T00:00:00Z,bob,\"a, \"\"b\"\"\"\n2024-01-01T00:00:01Z,eve\n2024-01-01T00:00:02Z,al,\"multi\nline\"\n";
        let (evs, st) = run_text(text, Some(InputFormat::Csv));
        assert_eq!((st.events, st.unparsed), (2, 1));
        assert_eq!(
            field_text(&evs[0].fields, "cmd").as_deref(),
            Some("a, \"b\"")
        );
        assert_eq!(
            field_text(&evs[1].fields, "cmd").as_deref(),
            Some("multi\nline")
        );
        assert_eq!(evs[1].origin.position, Position::Line(4));
        assert!(evs[0].timestamp.is_some());
    }

    #[test]
    fn junk_before_the_header_is_counted_not_taken_as_the_header() {
        let mut text = vec![0u8; 70_000];
        text.extend_from_slice(b"\n");
        text.extend(std::iter::repeat_n(b'z', 70_000));
        text.extend_from_slice(b"\n\0\0user,cmd\nbob,whoami\n");
        let (evs, st) = run_text(&text, None);
        assert_eq!(st.format, "csv");
        assert_eq!((st.events, st.unparsed, st.skipped), (1, 2, 1), "{st:?}");
        assert_eq!(field_text(&evs[0].fields, "cmd").as_deref(), Some("whoami"));
    }

    #[test]
    fn tsv_sniffed_and_windows_columns() {
        let text = b"EventID\tChannel\tCommandLine\n4104\tMicrosoft-Windows-PowerShell/Operational\tiex x\n";
        let (evs, st) = run_text(text, None);
        assert_eq!(st.format, "tsv");
        assert_eq!(st.events, 1);
        assert_eq!(evs[0].get("EventID"), Some(&Value::Int(4104)));
        assert_eq!(evs[0].logsource.category.as_deref(), Some("ps_script"));
    }
}
