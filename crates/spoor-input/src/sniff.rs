//! Format sniffing from content: the first bytes of the (decompressed) stream decide, not the
//! file name. Line formats are tried on up to 20 lines; the one that parses most of them wins.
//!
//! When the first 64 KiB say nothing (a first line longer than that, or a run of NUL padding as
//! `copytruncate` leaves), [`sniff_past_junk`] reads on: lines longer than the sniff window and
//! lines of NULs are passed over as samples (and handed back to be read, so they are counted),
//! within a bounded look-ahead.

use crate::kernel::{is_filler, SNIFF_WINDOW};
use crate::lines::{HeldLine, Line, LineReader};
use crate::InputFormat;
use chrono::{TimeZone, Utc};
use spoor_event::{Event, Position};
use std::io::{self, BufRead};

/// Sample lines a format is decided on.
const SAMPLE_LINES: usize = 20;

/// Most bytes held back while sniffing past junk (lines kept to be read again), counting a
/// small overhead per line so that millions of empty lines are bounded too.
const SNIFF_HELD_BYTES: usize = 4 << 20;

/// The EVTX file magic.
pub(crate) const EVTX_MAGIC: &[u8] = b"ElfFile\0";

/// Guesses the format of a stream from its first bytes; `None` if nothing fits.
pub(crate) fn sniff(head: &[u8]) -> Option<InputFormat> {
    if head.starts_with(EVTX_MAGIC) {
        return Some(InputFormat::Evtx);
    }
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let trimmed = head.trim_ascii_start();
    if trimmed.starts_with(b"{")
        || trimmed.starts_with(b"[{")
        || trimmed.starts_with(b"[\n")
        || trimmed.starts_with(b"[\r")
        || trimmed.starts_with(b"[ ")
        || trimmed == b"["
        || trimmed.starts_with(b"[]")
    {
        return Some(InputFormat::Json);
    }
    if trimmed.starts_with(b"#Software:")
        || trimmed.starts_with(b"#Version:")
        || trimmed.starts_with(b"#Fields:")
    {
        if crate::w3cproxy::head_is_proxy(trimmed) {
            return Some(InputFormat::W3cProxy);
        }
        return Some(InputFormat::Iis);
    }
    let mut lines: Vec<&[u8]> = crate::lines::split_lines(head).collect();
    if head.len() >= 4096 && lines.len() > 1 {
        lines.pop(); // possibly cut short
    }
    let lines: Vec<&[u8]> = lines
        .into_iter()
        .filter(|l| !is_filler(l))
        .take(SAMPLE_LINES)
        .collect();
    if lines.is_empty() {
        return None;
    }
    let count = |f: &dyn Fn(&[u8]) -> bool| lines.iter().filter(|l| f(l)).count();
    if count(&crate::auditd::looks_like_record) * 2 >= lines.len() {
        return Some(InputFormat::Auditd);
    }
    let scratch = || Event::new("", Position::Line(0));
    let year =
        crate::syslog::YearRule::FromMtime(Utc.timestamp_opt(0, 0).single().unwrap_or_default());
    let years = crate::syslog::YearTracker::new(year);
    let candidates = [
        (
            InputFormat::WebAccess,
            count(&|l| crate::access::parse(l).is_ok()),
        ),
        (
            InputFormat::Syslog,
            count(&|l| crate::syslog::parse(l, &mut scratch(), &mut years.clone()).is_ok()),
        ),
        (
            InputFormat::WebError,
            count(&|l| crate::weberror::parse(l, &mut scratch()).is_ok()),
        ),
    ];
    let (best, n) = candidates
        .iter()
        .copied()
        .max_by_key(|(_, n)| *n)
        .unwrap_or((InputFormat::WebAccess, 0));
    // A proxy's log: native Squid lines, or Squid's combined format (access-log lines with
    // proxy requests and Squid's result codes); these beat a web server's reading of them.
    let proxy = crate::squid::looks_like_proxy(&lines);
    if proxy > 0 && proxy * 2 >= lines.len() && (best == InputFormat::WebAccess || proxy > n) {
        return Some(InputFormat::Squid);
    }
    if n * 2 >= lines.len() && n > 0 {
        return Some(best);
    }
    delimited(&lines)
}

/// Most bytes read while sniffing past junk: a stream whose first lines are longer than this
/// (a sparse file of NULs with no line end, `/dev/zero`) is not recognised, rather than read to
/// its end.
const SNIFF_SCAN_BYTES: u64 = 64 << 20;

/// A reader that ends in an error after a byte budget, until the budget is lifted.
pub(crate) struct Budget<R> {
    inner: R,
    left: Option<u64>,
}

impl<R> Budget<R> {
    /// Whether the budget ran out.
    fn exhausted(&self) -> bool {
        self.left == Some(0)
    }

    /// No more limit.
    fn lift(&mut self) {
        self.left = None;
    }
}

impl<R: BufRead> io::Read for Budget<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(buf.len());
        if let (Some(d), Some(s)) = (buf.get_mut(..n), avail.get(..n)) {
            d.copy_from_slice(s);
        }
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Budget<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self.left {
            Some(0) => Err(io::Error::other("sniffing look-ahead exhausted")),
            Some(n) => {
                let buf = self.inner.fill_buf()?;
                let k = buf.len().min(usize::try_from(n).unwrap_or(usize::MAX));
                Ok(buf.get(..k).unwrap_or_default())
            }
            None => self.inner.fill_buf(),
        }
    }

    fn consume(&mut self, n: usize) {
        if let Some(left) = &mut self.left {
            *left = left.saturating_sub(n as u64);
        }
        self.inner.consume(n);
    }
}

/// The outcome of [`sniff_past_junk`]: the format and whether it is NDJSON (`None` when nothing
/// fits), and the stream's lines with those read ahead handed back.
pub(crate) type PastJunk<R> = (Option<(InputFormat, bool)>, LineReader<Budget<R>>);

/// Sniffs a stream whose first bytes said nothing, reading its lines (capped at `cap` bytes):
/// lines over [`SNIFF_WINDOW`], NUL-only and blank lines are no samples; the format is decided
/// on the first [`SAMPLE_LINES`] others, read within [`SNIFF_HELD_BYTES`] held and
/// [`SNIFF_SCAN_BYTES`] read. Every line read is handed back to the returned reader, so it is
/// counted as usual. The format is `None` when nothing fits, when the look-ahead ran out, or
/// when the samples are a JSON document (read as a byte stream, not recognised past junk).
pub(crate) fn sniff_past_junk<R: BufRead>(reader: R, cap: usize) -> io::Result<PastJunk<R>> {
    let budget = Budget {
        inner: reader,
        left: Some(SNIFF_SCAN_BYTES),
    };
    let mut lines = LineReader::new(budget, cap, 1);
    let mut held: Vec<(u64, HeldLine)> = Vec::new();
    let mut held_bytes = 0usize;
    let mut samples: Vec<u8> = Vec::new();
    let mut n_samples = 0;
    let mut failed = None;
    while n_samples < SAMPLE_LINES && held_bytes < SNIFF_HELD_BYTES {
        let line = match lines.next_line() {
            Ok(Some(l)) => l,
            Ok(None) => break,
            Err(e) => {
                failed = Some(e);
                break;
            }
        };
        match line {
            (no, Line::TooLong(n)) => held.push((no, HeldLine::TooLong(n))),
            (no, Line::Text(t)) => {
                if t.len() <= SNIFF_WINDOW && !is_filler(t) {
                    // NUL padding glued to a record: the record still tells the format.
                    let start = t.iter().position(|b| *b != 0).unwrap_or(t.len());
                    samples.extend_from_slice(t.get(start..).unwrap_or_default());
                    samples.push(b'\n');
                    n_samples += 1;
                }
                held_bytes += t.len() + 32;
                held.push((no, HeldLine::Text(t.to_vec())));
            }
        }
    }
    if lines.get_mut().exhausted() {
        // The budget ran out (inside the last line read, whose end was not seen, perhaps).
        return Ok((None, lines));
    }
    if let Some(e) = failed {
        return Err(e);
    }
    lines.get_mut().lift();
    lines.replay(held);
    let found = match sniff(&samples) {
        Some(InputFormat::Json) if crate::json::looks_like_ndjson(&samples) => {
            Some((InputFormat::Json, true))
        }
        Some(InputFormat::Json | InputFormat::Evtx) | None => None,
        Some(f) => Some((f, false)),
    };
    Ok((found, lines))
}

/// A header row with at least two columns, and following rows with as many separators.
fn delimited(lines: &[&[u8]]) -> Option<InputFormat> {
    let first = lines.first()?;
    for (sep, fmt) in [(b'\t', InputFormat::Tsv), (b',', InputFormat::Csv)] {
        let cols = memchr::memchr_iter(sep, first).count();
        if cols == 0 {
            continue;
        }
        let rest = lines.get(1..).unwrap_or_default();
        let agree = rest
            .iter()
            .filter(|l| memchr::memchr_iter(sep, l).count() >= cols)
            .count();
        if rest.is_empty() || agree * 2 >= rest.len() {
            return Some(fmt);
        }
    }
    None
}

/// The web server product a path names, for access logs whose content cannot say.
pub(crate) fn web_product_from_path(path: &str) -> Option<&'static str> {
    let p = path.to_ascii_lowercase();
    if p.contains("nginx") {
        Some("nginx")
    } else if p.contains("apache") || p.contains("httpd") {
        Some("apache")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn sniffs_each_format() {
        assert_eq!(sniff(b"ElfFile\0rest"), Some(InputFormat::Evtx));
        assert_eq!(sniff(b"  {\"a\":1}\n"), Some(InputFormat::Json));
        assert_eq!(sniff(b"[{\"a\":1}]"), Some(InputFormat::Json));
        assert_eq!(
            sniff(b"#Software: Microsoft Internet Information Services 10.0\n"),
            Some(InputFormat::Iis)
        );
        assert_eq!(
            sniff(
                b"1.2.3.4 - - [13/Mar/2005:04:05:47 -0500] \"GET / HTTP/1.1\" 200 5 \"-\" \"x\"\n"
            ),
            Some(InputFormat::WebAccess)
        );
        assert_eq!(
            sniff(b"Mar 13 04:05:47 host sshd[1]: x\n"),
            Some(InputFormat::Syslog)
        );
        assert_eq!(
            sniff(b"[Sun Mar 13 04:05:47 2005] [error] x\n"),
            Some(InputFormat::WebError)
        );
        assert_eq!(
            sniff(b"1720432800.123    512 10.1.2.3 TCP_MISS/200 4711 GET http://a.example/ - HIER_DIRECT/203.0.113.7 text/html\n"),
            Some(InputFormat::Squid)
        );
        let squid_combined = b"10.1.2.3 - - [08/Jul/2024:12:00:00 +0200] \"GET http://a.example/ HTTP/1.1\" 200 5 \"-\" \"x\" TCP_MISS:HIER_DIRECT\n\
10.1.2.3 - - [08/Jul/2024:12:00:01 +0200] \"CONNECT a.example:443 HTTP/1.1\" 200 5 \"-\" \"x\" TCP_TUNNEL:HIER_DIRECT\n";
        assert_eq!(sniff(squid_combined), Some(InputFormat::Squid));
        // A web server that saw one proxy probe among its requests is still a web server.
        let web = b"1.2.3.4 - - [13/Mar/2005:04:05:47 -0500] \"GET http://probe.example/ HTTP/1.1\" 400 5 \"-\" \"x\"\n\
1.2.3.4 - - [13/Mar/2005:04:05:48 -0500] \"GET / HTTP/1.1\" 200 5 \"-\" \"x\"\n\
1.2.3.4 - - [13/Mar/2005:04:05:49 -0500] \"GET /a HTTP/1.1\" 200 5 \"-\" \"x\"\n";
        assert_eq!(sniff(web), Some(InputFormat::WebAccess));
        assert_eq!(
            sniff(b"#Software: SGOS 6.7.5.3\n#Version: 1.0\n#Fields: date time c-ip s-action cs-host\n"),
            Some(InputFormat::W3cProxy)
        );
        assert_eq!(sniff(b"a,b,c\n1,2,3\n"), Some(InputFormat::Csv));
        assert_eq!(
            sniff(b"type=DAEMON_START msg=audit(1720418400.000:1): op=start ver=3.0\nnode=h type=EOE msg=audit(1.0:2): \n"),
            Some(InputFormat::Auditd)
        );
        assert_eq!(
            sniff(b"Mar 13 04:05:47 host sshd[1]: x\rMar 13 04:05:48 host sshd[1]: y\r"),
            Some(InputFormat::Syslog)
        );
        assert_eq!(sniff(b"a\tb\n1\t2\n"), Some(InputFormat::Tsv));
        assert_eq!(sniff(b"just some words\nand more\n"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"\x00\x01\x02\xff"), None);
    }

    fn past_junk(input: &[u8]) -> (Option<(InputFormat, bool)>, Vec<u64>) {
        let (found, mut lines) = sniff_past_junk(input, 100_000).unwrap();
        let mut numbers = Vec::new();
        while let Some((no, _)) = lines.next_line().unwrap() {
            numbers.push(no);
        }
        (found, numbers)
    }

    #[test]
    fn look_ahead_is_bounded() {
        // A first "line" of NULs longer than the look-ahead: not read to its end.
        let (found, _) = sniff_past_junk(
            io::BufReader::new(io::repeat(0).take(SNIFF_SCAN_BYTES * 4)),
            4096,
        )
        .unwrap();
        assert_eq!(found, None);
        // An endless stream of them (`/dev/zero`) ends too.
        let (found, _) = sniff_past_junk(io::BufReader::new(io::repeat(0)), 4096).unwrap();
        assert_eq!(found, None);
    }

    #[test]
    fn sniffs_past_long_lines_and_nul_runs() {
        let access =
            b"1.2.3.4 - - [13/Mar/2005:04:05:47 -0500] \"GET / HTTP/1.1\" 200 5 \"-\" \"x\"\n";
        let mut input = vec![b'x'; 70_000];
        input.push(b'\n');
        input.extend_from_slice(&vec![0u8; 1000]);
        input.push(b'\n');
        for _ in 0..30 {
            input.extend_from_slice(access);
        }
        // The head alone says nothing.
        assert_eq!(sniff(input.get(..SNIFF_WINDOW).unwrap()), None);
        let (found, numbers) = past_junk(&input);
        assert_eq!(found, Some((InputFormat::WebAccess, false)));
        // Every line is read again, the junk included.
        assert_eq!(numbers, (1..=32).collect::<Vec<_>>());
        let mut nd = vec![0u8; 70_000];
        nd.extend_from_slice(b"\n{\"a\":1}\n{\"a\":2}\n");
        assert_eq!(past_junk(&nd).0, Some((InputFormat::Json, true)));
        assert_eq!(past_junk(&vec![0u8; 200_000]).0, None);
        assert_eq!(past_junk(b"prose\nmore prose\n").0, None);
    }

    #[test]
    fn product_from_path() {
        assert_eq!(
            web_product_from_path("/var/log/nginx/access.log"),
            Some("nginx")
        );
        assert_eq!(
            web_product_from_path("/var/log/httpd/access_log"),
            Some("apache")
        );
        assert_eq!(web_product_from_path("logs/access.log"), None);
    }
}
