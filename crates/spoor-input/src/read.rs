//! Reading one file (or one chunk of one): open, peel compression, sniff, hand the stream to
//! the format's parser, and account for every line in [`FileStats`].

use crate::decompress::{fill_head, peel, prefixed};
use crate::json::{looks_like_ndjson, read_ndjson, read_stream};
use crate::kernel::{Ctx, BUF_BYTES};
use crate::lines::{Line, LineReader};
use crate::sniff::{sniff, web_product_from_path, EVTX_MAGIC};
use crate::syslog::{YearRule, YearTracker};
use crate::{InputError, InputFormat, ReadOptions};
use chrono::{DateTime, Utc};
use spoor_event::{Event, FileStats, LogSource, Position};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::PathBuf;

/// Most compression layers peeled off one stream.
const MAX_LAYERS: usize = 4;

/// A file to read, as found by [`crate::discover`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// Where it is.
    pub path: PathBuf,
    /// The path as shown in events and statistics.
    pub display: String,
    /// Its size in bytes when discovered.
    pub size: u64,
    /// Named on the command line (or built with [`InputFile::new`]), not found by walking a
    /// folder. A walked file that is no log is skipped ([`FileStats::skipped_not_log`]); an
    /// explicit one is an error.
    pub explicit: bool,
}

impl InputFile {
    /// An input file for `path`, with its size looked up (0 if unknown).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        InputFile {
            display: path.to_string_lossy().into_owned(),
            path,
            size,
            explicit: true,
        }
    }
}

/// How a text stream is read once its format is known.
#[derive(Clone, Copy)]
pub(crate) struct TextPlan {
    pub format: InputFormat,
    /// For JSON: one record per line.
    pub ndjson: bool,
    pub first_line: u64,
    /// Stop after this many bytes (chunks end on a line boundary).
    pub limit: Option<u64>,
}

/// Reads a decoded text stream with a known format.
pub(crate) fn read_text(
    reader: Box<dyn BufRead + '_>,
    plan: TextPlan,
    ctx: &mut Ctx,
) -> io::Result<()> {
    let mut lines = LineReader::new(reader, ctx.opts.max_line_bytes, plan.first_line);
    if let Some(l) = plan.limit {
        lines = lines.with_limit(l);
    }
    read_lines(lines, plan, ctx)
}

/// Reads the lines of a text stream with a known format (some perhaps read ahead by the sniffer
/// and handed back; never for a JSON document, which is read as bytes).
fn read_lines<R: BufRead>(lines: LineReader<R>, plan: TextPlan, ctx: &mut Ctx) -> io::Result<()> {
    match plan.format {
        InputFormat::Json if plan.ndjson => read_ndjson(lines, ctx),
        InputFormat::Json => match plan.limit {
            Some(limit) => read_stream(lines.into_inner().take(limit), ctx),
            None => read_stream(lines.into_inner(), ctx),
        },
        InputFormat::Csv | InputFormat::Tsv => {
            let sep = plan.format.separator().unwrap_or(b',');
            crate::delimited::read_delimited(lines, sep, ctx)
        }
        InputFormat::Auditd => crate::auditlog::read_auditlog(lines, ctx),
        InputFormat::Evtx => {
            ctx.stats.error = Some("EVTX inside a text stream cannot be read".into());
            Ok(())
        }
        format => match LineParser::new(format, false, ctx) {
            Some(mut p) => each_line(lines, ctx, |line, ev, c| p.parse(line, ev, c)),
            None => Ok(()),
        },
    }
}

/// The parser of a line-based format, with what it keeps from line to line (IIS and W3C
/// `#Fields` directives, the syslog year). One source of truth for the batch readers and the
/// live tailer ([`crate::follow`]).
pub(crate) enum LineParser {
    /// With the line gate of IIS lines, when the caller set gates.
    Iis(Box<crate::iis::IisParser>, Option<Gate>),
    /// With the line gate of its log source, when the caller set gates.
    WebAccess(LogSource, Option<Gate>),
    WebError,
    Syslog(Box<YearTracker>),
    W3cProxy(Box<crate::w3cproxy::W3cProxyParser>, LogSource),
    Squid(LogSource),
    /// One JSON record per line.
    Ndjson,
}

impl LineParser {
    /// The parser for `format`; `None` for formats that are not read line by line (a JSON
    /// document, CSV, EVTX).
    pub(crate) fn new(format: InputFormat, ndjson: bool, ctx: &Ctx) -> Option<Self> {
        Some(match format {
            InputFormat::Json if ndjson => LineParser::Ndjson,
            InputFormat::Json
            | InputFormat::Csv
            | InputFormat::Tsv
            | InputFormat::Evtx
            | InputFormat::Auditd => return None,
            InputFormat::Iis => {
                let mut p = Box::<crate::iis::IisParser>::default();
                if let crate::kernel::Resume::IisDirective(d) = &ctx.resume {
                    // A chunk: the columns of the directive before it (which is not its line).
                    let _ = p.columns(d);
                }
                LineParser::Iis(p, gate_of(ctx, &iis_logsource()))
            }
            InputFormat::WebAccess => {
                let product = web_product_from_path(&ctx.path);
                let ls = LogSource::new(product, Some("webserver"), None);
                let gate = gate_of(ctx, &ls);
                LineParser::WebAccess(ls, gate)
            }
            InputFormat::WebError => LineParser::WebError,
            InputFormat::Syslog => {
                let rule = match (ctx.opts.syslog_year, ctx.opts.syslog_year_hint, ctx.mtime) {
                    (Some(y), _, _) => YearRule::Fixed(y),
                    (None, Some(span), _) => YearRule::FromEvidence(span),
                    (None, None, Some(m)) => YearRule::FromMtime(m),
                    (None, None, None) => YearRule::FromMtime(Utc::now()),
                };
                LineParser::Syslog(Box::new(YearTracker::new(rule)))
            }
            InputFormat::W3cProxy => {
                LineParser::W3cProxy(Box::default(), crate::w3cproxy::logsource())
            }
            InputFormat::Squid => LineParser::Squid(crate::squid::logsource()),
        })
    }

    /// What this format makes of one line.
    pub(crate) fn parse(&mut self, line: &[u8], mut ev: Event, c: &Ctx) -> Outcome {
        match self {
            LineParser::Iis(p, gate) => match p.columns(line) {
                Ok(None) => Outcome::Skip,
                Ok(Some(cols)) => {
                    if let Some(g) = gate {
                        let view = crate::gateline::IisGateLine {
                            raw: line,
                            cols: &cols,
                        };
                        if !let_through(g, &view, &mut ev) {
                            return Outcome::Prefiltered(cols.timestamp());
                        }
                    }
                    cols.fill(&mut ev);
                    ev.logsource = iis_logsource();
                    Outcome::Event(ev)
                }
                Err(r) => Outcome::Bad(r),
            },
            LineParser::WebAccess(ls, gate) => match crate::access::parse(line) {
                Ok(a) => {
                    if let Some(g) = gate {
                        let view = crate::gateline::AccessGateLine {
                            raw: line,
                            line: &a,
                        };
                        if !let_through(g, &view, &mut ev) {
                            return Outcome::Prefiltered(Some(a.time));
                        }
                    }
                    crate::access::fill(&mut ev, &a);
                    ev.logsource = ls.clone();
                    Outcome::Event(ev)
                }
                Err(r) => Outcome::Bad(r.to_string()),
            },
            LineParser::WebError => match crate::weberror::parse(line, &mut ev) {
                Ok(()) => {
                    c.note_tz_assumed(true);
                    Outcome::Event(ev)
                }
                Err(r) => Outcome::Bad(r.to_string()),
            },
            LineParser::Syslog(years) => match crate::syslog::parse(line, &mut ev, years) {
                Ok(assumed) => {
                    c.note_tz_assumed(assumed);
                    Outcome::Event(ev)
                }
                Err(r) => Outcome::Bad(r.to_string()),
            },
            LineParser::W3cProxy(p, ls) => match p.line(line, ev) {
                crate::w3cproxy::ProxyLine::Directive => Outcome::Skip,
                crate::w3cproxy::ProxyLine::Record(mut e) => {
                    e.logsource = ls.clone();
                    Outcome::Event(e)
                }
                crate::w3cproxy::ProxyLine::Bad(r) => Outcome::Bad(r),
            },
            LineParser::Squid(ls) => match crate::squid::parse(line, &mut ev) {
                Ok(()) => {
                    ev.logsource = ls.clone();
                    Outcome::Event(ev)
                }
                Err(r) => Outcome::Bad(r.to_string()),
            },
            LineParser::Ndjson => match crate::json::record_to_event(line, c, ev.origin.position) {
                Ok(e) => Outcome::Record(e),
                Err(r) => Outcome::Bad(r),
            },
        }
    }
}

/// A line gate (see `spoor_event::LineGate`).
type Gate = std::sync::Arc<dyn spoor_event::LineGate>;

/// The line gate of log source `ls`, when the caller set gates and one applies.
fn gate_of(ctx: &Ctx, ls: &LogSource) -> Option<Gate> {
    ctx.opts.gates.as_ref().and_then(|g| g.0.gate_for(ls))
}

/// Whether gate `g` lets the line through; if so, its hint goes into the event to be built.
fn let_through(g: &Gate, view: &dyn spoor_event::GateLine, ev: &mut Event) -> bool {
    let mut hint = None;
    let pass = g.decide(view, &mut hint);
    ev.gate_hint = hint.map(Box::new);
    pass
}

fn iis_logsource() -> LogSource {
    LogSource::new(Some("iis"), Some("webserver"), None)
}

/// What a line parser made of a line.
pub(crate) enum Outcome {
    /// An event of a text line (the raw line is kept with it).
    Event(Event),
    /// An event of a structured record (JSON), kept without its raw text.
    Record(Event),
    /// A line the gate decided no rule can match (with its time, when it has one).
    Prefiltered(Option<DateTime<Utc>>),
    Skip,
    Bad(String),
}

/// Runs a line parser over all lines: blank lines are skipped, over-long ones counted, and the
/// raw line is kept in each event.
fn each_line<R: BufRead>(
    mut lines: LineReader<R>,
    ctx: &mut Ctx,
    mut parse: impl FnMut(&[u8], Event, &Ctx) -> Outcome,
) -> io::Result<()> {
    while let Some((no, line)) = lines.next_line()? {
        one_line(ctx, no, line, &mut parse);
    }
    Ok(())
}

/// One line through a parser, accounted for: an event, a skip or an unparsed line.
pub(crate) fn one_line(
    ctx: &mut Ctx,
    no: u64,
    line: Line<'_>,
    parse: &mut dyn FnMut(&[u8], Event, &Ctx) -> Outcome,
) {
    let text = match line {
        Line::TooLong(n) => {
            let r = ctx.too_long(n);
            ctx.unparsed(no, r);
            return;
        }
        Line::Text(t) => t,
    };
    if text.trim_ascii().is_empty() {
        ctx.skip();
        return;
    }
    let ev = Event::new(ctx.path.clone(), Position::Line(no));
    match parse(text, ev, ctx) {
        Outcome::Event(mut e) => {
            e.raw = Some(String::from_utf8_lossy(text).into());
            ctx.event(e);
        }
        Outcome::Record(e) => ctx.event(e),
        Outcome::Prefiltered(t) => ctx.stats.prefiltered_at(t),
        Outcome::Skip => ctx.skip(),
        Outcome::Bad(_) if crate::kernel::is_filler(text) => ctx.unparsed(
            no,
            format!(
                "{} bytes of NUL padding (a preallocated or truncated log?)",
                text.len()
            ),
        ),
        Outcome::Bad(r) => ctx.unparsed(no, r),
    }
}

/// Reads a stream from its start: peel compression, sniff (unless forced), read. `mtime` is the
/// file's (or archive entry's) modification time, for syslog years. Zip archives are not
/// handled here (see [`crate::archive`]).
pub(crate) fn read_stream_from_start<'r>(
    raw: Box<dyn BufRead + 'r>,
    ctx: &mut Ctx,
) -> Result<(), InputError> {
    let path = PathBuf::from(&*ctx.path);
    let io_err = |e| InputError::Io {
        path: path.clone(),
        source: e,
    };
    let (reader, layers) = peel(raw, MAX_LAYERS).map_err(io_err)?;
    let mut reader = prefixed(reader, BUF_BYTES).map_err(io_err)?;
    let mut head = fill_head(&mut reader, BUF_BYTES).map_err(io_err)?;
    let mut name = String::new();
    for l in &layers {
        name.push_str(l.name());
        name.push('+');
    }
    if let Some(encoding) = crate::utf16::detect(&head) {
        // UTF-16 text (a Windows export): decoded as it streams, then sniffed and read as UTF-8.
        let decoded = crate::utf16::Utf16Reader::new(reader, encoding);
        let decoded: Box<dyn BufRead + '_> = Box::new(BufReader::with_capacity(BUF_BYTES, decoded));
        reader = prefixed(decoded, BUF_BYTES).map_err(io_err)?;
        head = fill_head(&mut reader, BUF_BYTES).map_err(io_err)?;
        name.push_str(crate::utf16::name(encoding));
        name.push('+');
    }
    let format = match ctx.opts.format {
        Some(f) => f,
        None if head.starts_with(b"PK\x03\x04") => {
            return Err(InputError::Archive("nested zip archive not read".into()))
        }
        None => match sniff(&head) {
            Some(f) => f,
            None => {
                // The head says nothing: read on past over-long lines and NUL padding.
                let (found, lines) = crate::sniff::sniff_past_junk(reader, ctx.opts.max_line_bytes)
                    .map_err(io_err)?;
                let (format, ndjson) = found.ok_or(InputError::Unrecognised)?;
                name.push_str(format.name());
                ctx.stats.format = name;
                let plan = TextPlan {
                    format,
                    ndjson,
                    first_line: 1,
                    limit: None,
                };
                return read_lines(lines, plan, ctx).map_err(io_err);
            }
        },
    };
    name.push_str(format.name());
    ctx.stats.format = name;
    if format == InputFormat::Evtx {
        if !head.starts_with(EVTX_MAGIC) {
            return Err(InputError::Evtx("no EVTX header".into()));
        }
        // The evtx crate seeks: hold the decoded file in memory, up to a cap.
        let cap = ctx.opts.max_memory_evtx_bytes;
        let mut buf = Vec::new();
        reader
            .take(cap + 1)
            .read_to_end(&mut buf)
            .map_err(|e| InputError::Io {
                path: PathBuf::from(&*ctx.path),
                source: e,
            })?;
        if buf.len() as u64 > cap {
            return Err(InputError::Evtx(format!(
                "compressed or archived EVTX over {cap} bytes is not held in memory; extract it first"
            )));
        }
        return crate::evtx::read_evtx(io::Cursor::new(buf), ctx).map_err(InputError::Evtx);
    }
    let plan = TextPlan {
        format,
        ndjson: looks_like_ndjson(&head),
        first_line: 1,
        limit: None,
    };
    read_text(reader, plan, ctx).map_err(|e| InputError::Io {
        path: PathBuf::from(&*ctx.path),
        source: e,
    })
}

/// The modification time of a file, if the system gives one.
pub(crate) fn file_mtime(f: &File) -> Option<DateTime<Utc>> {
    f.metadata()
        .ok()?
        .modified()
        .ok()
        .map(DateTime::<Utc>::from)
}

/// Reads one whole file: zip archives entry by entry, EVTX from disk, anything else as a stream;
/// `-` (standard input), pipes and devices as non-seekable streams.
/// Returns one [`FileStats`] per file (per entry for archives, plus one for the archive itself).
pub(crate) fn read_file(
    file: &InputFile,
    opts: &ReadOptions,
    emit: &mut dyn FnMut(Event),
) -> Vec<FileStats> {
    let fail = |e: InputError| {
        vec![FileStats {
            path: file.display.clone(),
            error: Some(e.reason()),
            ..FileStats::default()
        }]
    };
    if file.path.as_os_str() == crate::walk::STDIN {
        return read_any_stream(&file.display, io::stdin().lock(), opts, emit);
    }
    let mut f = match File::open(&file.path) {
        Ok(f) => f,
        Err(e) => {
            return fail(InputError::Io {
                path: file.path.clone(),
                source: e,
            })
        }
    };
    if f.metadata().is_ok_and(|m| !m.is_file()) {
        // A pipe or device named explicitly: read once, front to back, never seeked or split.
        return read_any_stream(&file.display, f, opts, emit);
    }
    let mut magic = [0u8; 8];
    let n = crate::kernel::read_full(&mut f, &mut magic).unwrap_or(0);
    let magic = magic.get(..n).unwrap_or_default();
    if let Err(e) = f.seek(SeekFrom::Start(0)) {
        return fail(InputError::Io {
            path: file.path.clone(),
            source: e,
        });
    }
    let forced_other = opts.format.is_some_and(|f| f != InputFormat::Evtx);
    if magic.starts_with(b"PK\x03\x04") || magic.starts_with(b"PK\x05\x06") {
        return crate::archive::read_zip(file, f, opts, emit);
    }
    let mtime = file_mtime(&f);
    let mut ctx = Ctx::new(&file.display, opts, emit);
    ctx.mtime = mtime;
    if magic.starts_with(EVTX_MAGIC) && !forced_other {
        ctx.stats.format = InputFormat::Evtx.name().into();
        if let Err(e) = crate::evtx::read_evtx(f, &mut ctx) {
            ctx.stats.error = Some(InputError::Evtx(e).to_string());
        }
        return vec![ctx.finish()];
    }
    let reader: Box<dyn BufRead> = Box::new(BufReader::with_capacity(BUF_BYTES, f));
    match read_stream_from_start(reader, &mut ctx) {
        Ok(()) => {}
        Err(InputError::Unrecognised) if !file.explicit => ctx.stats.skipped_not_log = true,
        Err(e) => ctx.stats.error = Some(e.to_string()),
    }
    vec![ctx.finish()]
}

/// The format `file` would be read as, from its first 64 KiB (compression peeled), without
/// reading it: the forced format if there is one, `None` for a zip archive (its entries may
/// differ), an unreadable file or one in no known format. For a caller that reads some files
/// before others, e.g. syslog files (whose RFC 3164 lines have no year) after the rest, to
/// pass the others' time span as [`ReadOptions::syslog_year_hint`].
pub fn sniff_file(file: &InputFile, opts: &ReadOptions) -> Option<InputFormat> {
    if let Some(f) = opts.format {
        return Some(f);
    }
    let f = File::open(&file.path).ok()?;
    let mut raw: Box<dyn BufRead> = Box::new(BufReader::with_capacity(BUF_BYTES, f));
    let magic = fill_head(&mut raw, 8).ok()?;
    if magic.starts_with(b"PK") {
        return None;
    }
    if magic.starts_with(EVTX_MAGIC) {
        return Some(InputFormat::Evtx);
    }
    let (mut reader, _) = peel(raw, MAX_LAYERS).ok()?;
    let head = fill_head(&mut reader, BUF_BYTES).ok()?;
    if head.starts_with(b"PK\x03\x04") {
        return None;
    }
    sniff(&head)
}

/// Reads a non-seekable stream: zip by local headers, anything else as a text or EVTX stream.
pub(crate) fn read_any_stream(
    name: &str,
    reader: impl Read,
    opts: &ReadOptions,
    emit: &mut dyn FnMut(Event),
) -> Vec<FileStats> {
    let buffered: Box<dyn BufRead + '_> = Box::new(BufReader::with_capacity(BUF_BYTES, reader));
    // A pipe may give a few bytes per read: sniff from a whole buffered prefix, as for files.
    let mut buffered = match prefixed(buffered, BUF_BYTES) {
        Ok(b) => b,
        Err(e) => {
            let mut ctx = Ctx::new(name, opts, emit);
            ctx.stats.error = Some(format!("{name}: {e}"));
            return vec![ctx.finish()];
        }
    };
    let head = fill_head(&mut buffered, 4).unwrap_or_default();
    if head.starts_with(b"PK\x03\x04") {
        return crate::archive::read_zip_stream(name, &mut buffered, opts, emit);
    }
    let mut ctx = Ctx::new(name, opts, emit);
    if let Err(e) = read_stream_from_start(buffered, &mut ctx) {
        ctx.stats.error = Some(e.to_string());
    }
    vec![ctx.finish()]
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Reads `bytes` as a stream (optionally forced to a format); events and statistics.
    pub(crate) fn run_text(bytes: &[u8], format: Option<InputFormat>) -> (Vec<Event>, FileStats) {
        let opts = ReadOptions {
            format,
            ..ReadOptions::default()
        };
        let mut evs = Vec::new();
        let mut emit = |e: Event| evs.push(e);
        let mut ctx = Ctx::new("mem", &opts, &mut emit);
        let r: Box<dyn BufRead> = Box::new(BufReader::with_capacity(BUF_BYTES, bytes));
        if let Err(e) = read_stream_from_start(r, &mut ctx) {
            ctx.stats.error = Some(e.to_string());
        }
        let st = ctx.finish();
        (evs, st)
    }

    #[test]
    fn unrecognised_is_an_error_not_silence() {
        let (evs, st) = run_text(b"hello there\nthis is prose\n", None);
        assert!(evs.is_empty());
        assert!(st.error.as_deref().unwrap_or("").contains("not recognised"));
        assert_eq!(st.format, "unknown");
    }

    #[test]
    fn every_line_accounted() {
        let text = b"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"x\"\n\ngarbage\n1.2.3.4 - - [01/Jan/2024:00:00:01 +0000] \"GET /b HTTP/1.1\" 404 - \"-\" \"y\"\n";
        let (evs, st) = run_text(text, None);
        assert_eq!(st.format, "access");
        assert_eq!((st.events, st.unparsed, st.skipped), (2, 1, 1));
        assert_eq!(st.unparsed_samples[0].line, 3);
        assert_eq!(evs[1].origin.position, Position::Line(4));
        assert!(evs[0].raw.as_deref().unwrap_or("").starts_with("1.2.3.4"));
        assert_eq!(evs[0].logsource.category.as_deref(), Some("webserver"));
        assert!(evs[0].logsource.product.is_none());
    }

    #[test]
    fn over_long_line_counted() {
        let opts_cap = 64;
        let mut text =
            b"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 5\n".to_vec();
        text.extend(std::iter::repeat_n(b'A', 10 * opts_cap));
        text.push(b'\n');
        let opts = ReadOptions {
            max_line_bytes: opts_cap,
            format: Some(InputFormat::WebAccess),
            ..ReadOptions::default()
        };
        let mut n = 0;
        let mut emit = |_e: Event| n += 1;
        let mut ctx = Ctx::new("mem", &opts, &mut emit);
        read_stream_from_start(Box::new(&text[..]), &mut ctx).unwrap();
        let st = ctx.finish();
        assert_eq!((st.events, st.unparsed), (1, 1));
        assert!(st.unparsed_samples[0].reason.contains("640 bytes"));
    }
}
