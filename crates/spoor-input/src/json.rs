//! JSON logs: NDJSON (one object per line), a JSON array of objects, or one object per file
//! (pretty-printed or not). Records are cut out of the stream one at a time, so a 2 GB array is
//! never held whole; each is capped in size and nesting depth before serde_json sees it.
//!
//! Windows events in JSON are mapped by [`crate::winjson`]; anything else becomes a generic
//! event with dotted field names and an unknown log source (the engine runs all rules on it).

use crate::flatten::{flatten_object, json_depth_exceeds, MAX_DEPTH};
use crate::kernel::{Ctx, Resume, TIME_FIELDS};
use crate::lines::{Line, LineReader};
use crate::time::{parse_iso, Stamp};
use crate::winjson::map_windows;
use serde_json::{Map, Value as Json};
use spoor_event::{Event, Fields, LogSource, Position};
use std::borrow::Cow;
use std::io::{self, BufRead, Read};
use std::ops::ControlFlow;

/// The time of a JSON record from the usual field names (see [`TIME_FIELDS`]); also
/// `TimeCreated.SystemTime` and `TimeCreated.#attributes.SystemTime`.
pub(crate) fn find_time(root: &Map<String, Json>) -> Option<Stamp> {
    for name in TIME_FIELDS {
        match root.get(name) {
            Some(Json::String(s)) => {
                if let Some(t) = parse_iso(s) {
                    return Some(t);
                }
            }
            Some(Json::Object(o)) => {
                let st = o
                    .get("SystemTime")
                    .or_else(|| o.get("#attributes").and_then(|a| a.get("SystemTime")));
                if let Some(t) = st.and_then(Json::as_str).and_then(parse_iso) {
                    return Some(t);
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether the stream looks like NDJSON: it starts with `{` and its first line is a whole value.
pub(crate) fn looks_like_ndjson(head: &[u8]) -> bool {
    let trimmed = head.trim_ascii_start();
    if !trimmed.starts_with(b"{") {
        return false;
    }
    let line = match memchr::memchr2(b'\n', b'\r', trimmed) {
        Some(i) => trimmed.get(..i).unwrap_or_default(),
        None => return false,
    };
    let line = line.trim_ascii();
    serde_json::from_slice::<Json>(line).is_ok()
        || std::str::from_utf8(line).is_err()
        || repair_lone_surrogates(line)
            .is_some_and(|fixed| serde_json::from_slice::<Json>(&fixed).is_ok())
}

/// `text` with each `\uXXXX` escape of a lone UTF-16 surrogate (a high one not followed by a
/// low one, or a low one alone) replaced by `\ufffd`; `None` when it has none. Other escapes
/// (`\\u...` is a backslash and text) are passed over, so only real escapes change. Linear.
pub(crate) fn repair_lone_surrogates(text: &[u8]) -> Option<Vec<u8>> {
    fn hex4(t: &[u8], at: usize) -> Option<u32> {
        let digits = t.get(at..at + 4)?;
        let s = std::str::from_utf8(digits).ok()?;
        if !digits.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        u32::from_str_radix(s, 16).ok()
    }
    let is_high = |u: u32| (0xD800..0xDC00).contains(&u);
    let is_low = |u: u32| (0xDC00..0xE000).contains(&u);
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut i = 0;
    while let Some(off) = text.get(i..).and_then(|t| memchr::memchr(b'\\', t)) {
        let at = i + off;
        if text.get(at + 1) != Some(&b'u') {
            i = at + 2; // another escape, `\\` included
            continue;
        }
        let Some(u) = hex4(text, at + 2) else {
            i = at + 2;
            continue;
        };
        let paired = is_high(u)
            && text.get(at + 6) == Some(&b'\\')
            && text.get(at + 7) == Some(&b'u')
            && hex4(text, at + 8).is_some_and(is_low);
        if paired {
            i = at + 12;
            continue;
        }
        if is_high(u) || is_low(u) {
            let o = out.get_or_insert_with(|| Vec::with_capacity(text.len()));
            o.extend_from_slice(text.get(copied..at).unwrap_or_default());
            o.extend_from_slice(b"\\ufffd");
            copied = at + 6;
        }
        i = at + 6;
    }
    let mut o = out?;
    o.extend_from_slice(text.get(copied..).unwrap_or_default());
    Some(o)
}

/// Turns one record's text into an event (or the reason it is not one).
pub(crate) fn record_to_event(bytes: &[u8], ctx: &Ctx, pos: Position) -> Result<Event, String> {
    if json_depth_exceeds(bytes, MAX_DEPTH) {
        return Err(format!("JSON nested deeper than {MAX_DEPTH} levels"));
    }
    let text: Cow<'_, str> = match std::str::from_utf8(bytes) {
        Ok(t) => Cow::Borrowed(t),
        Err(_) => String::from_utf8_lossy(bytes),
    };
    let value: Json = match serde_json::from_str(&text) {
        Ok(v) => v,
        // serde_json rejects lone UTF-16 surrogates (`"\ud800"`), which some writers emit for
        // broken strings: repaired to U+FFFD, the record is kept (only on this error path).
        Err(e) => repair_lone_surrogates(text.as_bytes())
            .and_then(|fixed| serde_json::from_slice(&fixed).ok())
            .ok_or_else(|| format!("invalid JSON: {e}"))?,
    };
    let Json::Object(root) = value else {
        return Err("JSON value is not an object".to_string());
    };
    Ok(object_to_event(&root, ctx, pos))
}

fn object_to_event(root: &Map<String, Json>, ctx: &Ctx, pos: Position) -> Event {
    let mut ev = Event::new(ctx.path.clone(), pos);
    if let Some(w) = map_windows(root) {
        ev.fields = w.fields;
        ev.logsource = w.logsource;
        if let Some((t, assumed)) = w.time {
            ev.timestamp = Some(t);
            ctx.note_tz_assumed(assumed);
        }
        return ev;
    }
    let mut fields = Fields::new();
    flatten_object(root, "", &mut fields);
    ev.fields = fields;
    ev.logsource = LogSource::default();
    if let Some((t, assumed)) = find_time(root) {
        ev.timestamp = Some(t);
        ctx.note_tz_assumed(assumed);
    }
    ev
}

/// Reads NDJSON: each non-blank line one record.
pub(crate) fn read_ndjson<R: BufRead>(mut lines: LineReader<R>, ctx: &mut Ctx) -> io::Result<()> {
    while let Some((no, line)) = lines.next_line()? {
        match line {
            Line::TooLong(n) => ctx.unparsed(no, ctx.too_long(n)),
            Line::Text(t) if t.trim_ascii().is_empty() => ctx.skip(),
            Line::Text(t) => match record_to_event(t, ctx, Position::Line(no)) {
                Ok(ev) => ctx.event(ev),
                Err(reason) => ctx.unparsed(no, reason),
            },
        }
    }
    Ok(())
}

/// Byte source with line counting for the streaming splitter.
struct Bytes<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    /// Bytes of the buffers before the current one.
    base: u64,
    line: u64,
    after_cr: bool,
}

/// A byte table: which bytes end a run that the cutter can take without looking at each byte.
type Stops = [bool; 256];

const fn stops(bytes: &[u8]) -> Stops {
    let mut t = [false; 256];
    let mut i = 0;
    while i < bytes.len() {
        t[bytes[i] as usize] = true;
        i += 1;
    }
    t
}

/// Inside a string: the quote and the escape matter, and line ends are counted.
static STRING_STOPS: Stops = stops(b"\"\\\r\n");
/// Inside a container, outside strings: what opens a string or changes the depth, and line ends.
static CONTAINER_STOPS: Stops = stops(b"\"{}[]\r\n");

impl<R: Read> Bytes<R> {
    fn new(inner: R, line: u64) -> Self {
        Bytes {
            inner,
            buf: vec![0u8; 64 * 1024].into_boxed_slice(),
            pos: 0,
            len: 0,
            base: 0,
            line,
            after_cr: false,
        }
    }

    /// Bytes taken from the stream so far.
    fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        if self.pos >= self.len {
            self.base += self.len as u64;
            self.pos = 0;
            self.len = 0;
            self.len = loop {
                match self.inner.read(&mut self.buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
        }
        Ok(self
            .buf
            .get(self.pos)
            .copied()
            .filter(|_| self.pos < self.len))
    }

    fn bump(&mut self) -> io::Result<Option<u8>> {
        let b = self.peek()?;
        if let Some(c) = b {
            self.pos += 1;
            // Lines are numbered as the line reader splits them (`\r\n` one end, `\r` one).
            if c == b'\r' || (c == b'\n' && !self.after_cr) {
                self.line += 1;
            }
            self.after_cr = c == b'\r';
        }
        Ok(b)
    }

    /// Takes the run of buffered bytes up to the next byte of `stops` (which hold the line ends,
    /// so none is in the run), keeping what fits of it in `out` under `cap`; returns its length.
    fn run_until(&mut self, stops: &Stops, out: &mut Vec<u8>, cap: usize) -> usize {
        let rest = self.buf.get(self.pos..self.len).unwrap_or_default();
        let n = rest
            .iter()
            .position(|&b| stops[usize::from(b)])
            .unwrap_or(rest.len());
        if n > 0 {
            let room = cap.saturating_sub(out.len()).min(n);
            out.extend_from_slice(rest.get(..room).unwrap_or_default());
            self.pos += n;
            self.after_cr = false;
        }
        n
    }

    fn skip_ws(&mut self) -> io::Result<Option<u8>> {
        while let Some(b) = self.peek()? {
            if b.is_ascii_whitespace() {
                self.bump()?;
            } else {
                return Ok(Some(b));
            }
        }
        Ok(None)
    }

    /// Skips a UTF-8 byte order mark at the very start of the stream.
    fn skip_bom(&mut self) -> io::Result<()> {
        self.peek()?;
        if self.offset() == 0 && self.buf.get(..self.len.min(3)) == Some(b"\xef\xbb\xbf") {
            self.pos = 3;
        }
        Ok(())
    }
}

/// The outcome of cutting one value out of the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cut {
    /// The value's bytes (complete).
    Whole,
    /// Longer than the cap: `n` bytes skipped.
    TooLong(u64),
    /// The stream ended inside the value.
    Truncated,
}

/// Cuts one JSON value starting at the current byte into `out` (at most `cap` bytes kept).
/// Containers end when their depth returns to zero; scalars end before `,`, `]`, `}` or
/// whitespace.
fn cut_value<R: Read>(src: &mut Bytes<R>, out: &mut Vec<u8>, cap: usize) -> io::Result<Cut> {
    out.clear();
    let mut depth = 0usize;
    let mut in_str = false;
    let mut escaped = false;
    let mut total = 0u64;
    let first = src.peek()?;
    let scalar = !matches!(first, Some(b'{') | Some(b'['));
    loop {
        // Runs of bytes that cannot end the value or change its state are taken whole (a
        // scalar outside a string ends at bytes no table holds: byte by byte there).
        if in_str && !escaped {
            total += src.run_until(&STRING_STOPS, out, cap) as u64;
        } else if !in_str && !scalar {
            total += src.run_until(&CONTAINER_STOPS, out, cap) as u64;
        }
        let Some(b) = src.peek()? else {
            return Ok(if scalar && !in_str {
                finish_cut(total, cap)
            } else {
                Cut::Truncated
            });
        };
        if scalar
            && !in_str
            && total > 0
            && (matches!(b, b',' | b']' | b'}') || b.is_ascii_whitespace())
        {
            return Ok(finish_cut(total, cap));
        }
        src.bump()?;
        total += 1;
        if out.len() < cap {
            out.push(b);
        }
        if in_str {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_str = false;
                if scalar && depth == 0 {
                    return Ok(finish_cut(total, cap));
                }
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 && !scalar {
                    return Ok(finish_cut(total, cap));
                }
            }
            _ => {}
        }
    }
}

fn finish_cut(total: u64, cap: usize) -> Cut {
    if total > cap as u64 {
        Cut::TooLong(total)
    } else {
        Cut::Whole
    }
}

/// A place between two elements of a top-level JSON array: just after element `elements`, at
/// byte `offset` of the stream, on line `line`. A chunk of a split array starts at one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ArrayPoint {
    pub offset: u64,
    pub line: u64,
    pub elements: u64,
}

/// A chunk of a JSON array split between threads (see `parallel`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ArrayPiece {
    /// Where the chunk starts inside the array; `None` for the chunk at the file's start.
    pub after: Option<ArrayPoint>,
    /// Whether the array goes on past the chunk's end (every chunk but the last).
    pub cut: bool,
}

/// One element cut out of an array.
struct Element<'a> {
    index: u64,
    line: u64,
    cut: Cut,
    bytes: &'a [u8],
    /// The place just after it.
    after: ArrayPoint,
}

/// How the elements of an array ended.
#[derive(Debug, PartialEq, Eq)]
enum ArrayEnd {
    /// At its `]`.
    Closed,
    /// The stream ended between elements, the array not closed.
    Open,
    /// The stream ended inside an element.
    Truncated,
    /// The caller asked to stop.
    Stopped,
}

/// Cuts the elements of an array (the `[` already taken) one by one and hands each to `on`;
/// `elements` counts them. The reader and the splitter's skim both walk arrays with it, so a
/// chunk starts exactly where a whole read stands between two elements.
fn array_elements<R: Read>(
    src: &mut Bytes<R>,
    buf: &mut Vec<u8>,
    cap: usize,
    elements: &mut u64,
    mut on: impl FnMut(Element<'_>) -> ControlFlow<()>,
) -> io::Result<ArrayEnd> {
    loop {
        let Some(b) = src.skip_ws()? else {
            return Ok(ArrayEnd::Open);
        };
        match b {
            b']' => {
                src.bump()?;
                return Ok(ArrayEnd::Closed);
            }
            b',' => {
                src.bump()?;
                continue;
            }
            _ => {}
        }
        *elements += 1;
        let line = src.line;
        let cut = cut_value(src, buf, cap)?;
        let element = Element {
            index: *elements,
            line,
            cut,
            bytes: buf,
            after: ArrayPoint {
                offset: src.offset(),
                line: src.line,
                elements: *elements,
            },
        };
        if on(element).is_break() {
            return Ok(ArrayEnd::Stopped);
        }
        if cut == Cut::Truncated {
            return Ok(ArrayEnd::Truncated);
        }
    }
}

/// Where a stream that starts with a JSON array (after white space and a byte order mark) can
/// be cut between elements: for each of `targets` (ascending byte offsets), the first place
/// after an element at or past it. `None` when the stream does not start with an array. Only
/// the structure is walked (nothing kept, nothing parsed): one pass, a few bytes of memory.
pub(crate) fn array_points<R: Read>(
    inner: R,
    targets: &[u64],
) -> io::Result<Option<Vec<ArrayPoint>>> {
    let mut src = Bytes::new(inner, 1);
    src.skip_bom()?;
    if src.skip_ws()? != Some(b'[') {
        return Ok(None);
    }
    src.bump()?;
    let mut points = Vec::with_capacity(targets.len());
    let mut next = targets.iter().peekable();
    let mut elements = 0u64;
    let mut buf = Vec::new();
    array_elements(&mut src, &mut buf, 0, &mut elements, |e| {
        while next.next_if(|&&t| t <= e.after.offset).is_some() {
            if points.last() != Some(&e.after) {
                points.push(e.after);
            }
        }
        if next.peek().is_some() {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    })?;
    Ok(Some(points))
}

/// Reads a JSON array of records, or one or more top-level objects (pretty-printed or not).
/// Array elements are numbered by index; top-level objects by the line they start on. A chunk
/// of a split array ([`Resume::JsonArray`]) starts among the elements and, unless it is the
/// last, ends among them without a message.
pub(crate) fn read_stream<R: Read>(inner: R, ctx: &mut Ctx) -> io::Result<()> {
    let piece = match &ctx.resume {
        Resume::JsonArray(p) => Some(*p),
        _ => None,
    };
    let after = piece.and_then(|p| p.after);
    let mut src = Bytes::new(inner, after.map_or(1, |a| a.line));
    let cap = ctx.opts.max_line_bytes;
    let mut buf = Vec::new();
    let mut index = after.map_or(0, |a| a.elements);
    let mut in_array = after.is_some();
    if !in_array {
        src.skip_bom()?;
    }
    loop {
        if in_array {
            let end = array_elements(&mut src, &mut buf, cap, &mut index, |e| {
                let index = e.index;
                match e.cut {
                    Cut::Whole => match record_to_event(e.bytes, ctx, Position::Index(index)) {
                        Ok(ev) => ctx.event(ev),
                        Err(r) => ctx.unparsed(e.line, format!("element {index}: {r}")),
                    },
                    Cut::TooLong(n) => {
                        ctx.unparsed(e.line, format!("element {index}: {}", ctx.too_long(n)))
                    }
                    Cut::Truncated => {
                        ctx.unparsed(e.line, format!("element {index}: truncated JSON"))
                    }
                }
                ControlFlow::Continue(())
            })?;
            match end {
                ArrayEnd::Closed => {
                    in_array = false;
                    continue;
                }
                ArrayEnd::Open if piece.is_some_and(|p| p.cut) => return Ok(()),
                ArrayEnd::Open => {
                    ctx.unparsed(src.line, "JSON array not closed (truncated file?)");
                    return Ok(());
                }
                ArrayEnd::Truncated | ArrayEnd::Stopped => return Ok(()),
            }
        }
        let Some(b) = src.skip_ws()? else {
            return Ok(());
        };
        if b == b'[' {
            src.bump()?;
            in_array = true;
            continue;
        }
        let start_line = src.line;
        match cut_value(&mut src, &mut buf, cap)? {
            Cut::Whole => match record_to_event(&buf, ctx, Position::Line(start_line)) {
                Ok(ev) => ctx.event(ev),
                Err(r) => {
                    ctx.unparsed(start_line, r);
                    if !buf.starts_with(b"{") {
                        // Not JSON at all here: resynchronise at the next line.
                        while let Some(c) = src.bump()? {
                            if c == b'\n' {
                                break;
                            }
                        }
                    }
                }
            },
            Cut::TooLong(n) => ctx.unparsed(start_line, ctx.too_long(n)),
            Cut::Truncated => {
                ctx.unparsed(start_line, "truncated JSON");
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::tests::run_text;
    use crate::InputFormat;
    use spoor_event::{field_text, Value};

    #[test]
    fn ndjson_generic_and_bad_lines() {
        let text = b"{\"a\":{\"b\":1},\"@timestamp\":\"2024-01-01T00:00:00Z\"}\n\nnot json\n{\"x\":[1,2]}\n[1]\n{\"u\":\"\xff\xfe\"}\n";
        let (evs, st) = run_text(text, Some(InputFormat::Json));
        assert_eq!(st.format, "json");
        assert_eq!(st.events, 3);
        assert_eq!(st.unparsed, 2);
        assert_eq!(st.skipped, 1);
        assert_eq!(st.unparsed_samples[0].line, 3);
        assert_eq!(field_text(&evs[0].fields, "a.b").as_deref(), Some("1"));
        assert!(evs[0].timestamp.is_some());
        assert!(evs[0].logsource.is_unknown());
        assert_eq!(
            evs[1].get("x"),
            Some(&Value::Array(vec![Value::Int(1), Value::Int(2)]))
        );
        assert_eq!(evs[1].origin.position, Position::Line(4));
        assert_eq!(
            field_text(&evs[2].fields, "u").as_deref(),
            Some("\u{fffd}\u{fffd}")
        );
    }

    #[test]
    fn array_and_pretty_object() {
        let (evs, st) = run_text(b"[\n {\"a\":1},\n {\"a\":2}, 5, {\"a\":\"]\"}\n]\n", None);
        assert_eq!(st.format, "json");
        assert_eq!(st.events, 3);
        assert_eq!(st.unparsed, 1);
        assert_eq!(evs[1].origin.position, Position::Index(2));
        assert_eq!(field_text(&evs[2].fields, "a").as_deref(), Some("]"));
        // A byte order mark before the array (PowerShell's `Out-File -Encoding utf8`).
        let (evs, st) = run_text(b"\xef\xbb\xbf[{\"a\":1}]", Some(InputFormat::Json));
        assert_eq!(
            (st.events, st.unparsed),
            (1, 0),
            "{:?}",
            st.unparsed_samples
        );
        assert_eq!(evs[0].get("a"), Some(&Value::Int(1)));
        let (evs, st) = run_text(b"{\n  \"a\": {\n    \"b\": true\n  }\n}\n", None);
        assert_eq!((st.events, st.unparsed), (1, 0));
        assert_eq!(evs[0].get("a.b"), Some(&Value::Bool(true)));
    }

    #[test]
    fn hostile_depth_and_truncation() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let line = format!("{{\"a\":{deep}}}\n");
        let (_, st) = run_text(line.as_bytes(), Some(InputFormat::Json));
        assert_eq!((st.events, st.unparsed), (0, 1));
        assert!(
            st.unparsed_samples[0].reason.contains("deeper"),
            "{:?}",
            st.unparsed_samples
        );
        let (_, st) = run_text(b"[{\"a\":1},{\"a\":", None);
        assert_eq!((st.events, st.unparsed), (1, 1));
    }

    #[test]
    fn lone_surrogates_repaired_pairs_and_backslashes_kept() {
        let fix =
            |s: &str| repair_lone_surrogates(s.as_bytes()).map(|v| String::from_utf8(v).unwrap());
        assert_eq!(
            fix(r#"{"a":"x\ud800y"}"#).as_deref(),
            Some(r#"{"a":"x\ufffdy"}"#)
        );
        assert_eq!(fix(r#""\udc00""#).as_deref(), Some(r#""\ufffd""#));
        assert_eq!(
            fix(r#""\ud800\ud800\udc00\u0041""#).as_deref(),
            Some(r#""\ufffd\ud800\udc00\u0041""#)
        );
        assert_eq!(fix(r#""\ud83d\ude00""#), None);
        assert_eq!(fix(r#""\\ud800""#), None);
        assert_eq!(fix(r#""\\\ud800""#).as_deref(), Some(r#""\\\ufffd""#));
        assert_eq!(fix(r#""\ud80"#), None);
        assert_eq!(fix("\\"), None);
        assert_eq!(fix("\\u"), None);
        // A high surrogate at the very end, cut short.
        assert_eq!(fix(r#""\ud800\u"#).as_deref(), Some(r#""\ufffd\u"#));
    }

    #[test]
    fn ndjson_sniff() {
        assert!(looks_like_ndjson(b"{\"a\":1}\n{\"b\":2}\n"));
        assert!(!looks_like_ndjson(b"{\n\"a\":1}\n"));
        assert!(!looks_like_ndjson(b"[{\"a\":1}]\n"));
    }
}
