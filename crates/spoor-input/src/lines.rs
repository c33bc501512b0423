//! Line splitting with a size cap, so that a hostile file with a gigabyte-long "line" is counted,
//! not loaded. A line ends at `\n`, `\r\n` or a lone `\r` (old Mac OS line ends, some exports):
//! a record after a lone `\r` is never merged into the one before it.

use std::collections::VecDeque;
use std::io::{self, BufRead};

/// One line as read: its text (without its line end), or the fact that it was too long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Line<'a> {
    /// The line's bytes.
    Text(&'a [u8]),
    /// The line had this many bytes, over the cap; its content was not kept.
    TooLong(u64),
}

/// A line read ahead (by the sniffer) and handed back to be read again.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HeldLine {
    /// The line's bytes.
    Text(Vec<u8>),
    /// An over-long line of this many bytes.
    TooLong(u64),
}

/// Reads lines from a `BufRead`, numbering them, keeping at most `cap` bytes of any line.
pub(crate) struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    cap: usize,
    line_no: u64,
    consumed: u64,
    limit: Option<u64>,
    /// Lines read ahead and handed back ([`LineReader::replay`]), returned before any new one.
    held: VecDeque<(u64, HeldLine)>,
    /// A read error met inside a line: the part read is returned first, then this.
    error: Option<io::Error>,
}

impl<R: BufRead> LineReader<R> {
    /// Lines of `inner`, the first numbered `first_line`.
    pub(crate) fn new(inner: R, cap: usize, first_line: u64) -> Self {
        LineReader {
            inner,
            buf: Vec::new(),
            cap,
            line_no: first_line.saturating_sub(1),
            consumed: 0,
            limit: None,
            held: VecDeque::new(),
            error: None,
        }
    }

    /// Hands back lines read ahead (in order, with their numbers), to be returned again before
    /// any line not yet read.
    pub(crate) fn replay(&mut self, lines: impl IntoIterator<Item = (u64, HeldLine)>) {
        self.held.extend(lines);
    }

    /// Stops before any line that starts at or after `limit` bytes into the stream (for chunks:
    /// the line that straddles the limit belongs to this chunk).
    pub(crate) fn with_limit(mut self, limit: u64) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Bytes consumed from the stream so far (the offset of the next line, when none was handed
    /// back).
    pub(crate) fn consumed(&self) -> u64 {
        self.consumed
    }

    /// The underlying reader, in place.
    pub(crate) fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The underlying reader (only meaningful before any line was read, and none handed back).
    pub(crate) fn into_inner(self) -> R {
        self.inner
    }

    /// The next line and its number, or `None` at the end.
    pub(crate) fn next_line(&mut self) -> io::Result<Option<(u64, Line<'_>)>> {
        if let Some((no, held)) = self.held.pop_front() {
            return Ok(Some(match held {
                HeldLine::Text(t) => {
                    self.buf = t;
                    (no, Line::Text(&self.buf))
                }
                HeldLine::TooLong(n) => (no, Line::TooLong(n)),
            }));
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if self.limit.is_some_and(|l| self.consumed >= l) {
            return Ok(None);
        }
        self.buf.clear();
        let mut total: u64 = 0;
        let mut seen_any = false;
        // Bytes of the line end: 0 (end of stream), 1 (`\n` or a lone `\r`) or 2 (`\r\n`).
        let mut end_len = 0u64;
        loop {
            let avail = match self.inner.fill_buf() {
                Ok(a) => a,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if seen_any => {
                    // A damaged stream (truncated gzip, zstd): the part of the line read is
                    // still a line (counted), and the error comes next.
                    self.error = Some(e);
                    break;
                }
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                break;
            }
            seen_any = true;
            let (take, end) = match memchr::memchr2(b'\n', b'\r', avail) {
                Some(i) => (i + 1, avail.get(i).copied()),
                None => (avail.len(), None),
            };
            let room = self.cap.saturating_add(2).saturating_sub(self.buf.len());
            let keep = take.min(room);
            if let Some(part) = avail.get(..keep) {
                self.buf.extend_from_slice(part);
            }
            total += take as u64;
            self.inner.consume(take);
            self.consumed += take as u64;
            match end {
                Some(b'\r') => {
                    end_len = 1;
                    // `\r\n` is one line end, a lone `\r` another (old Mac OS, some exports).
                    let lf = match self.next_is_lf() {
                        Ok(lf) => lf,
                        Err(e) => {
                            // The line is whole; the error comes with the next one.
                            self.error = Some(e);
                            false
                        }
                    };
                    if lf {
                        self.inner.consume(1);
                        total += 1;
                        self.consumed += 1;
                        end_len = 2;
                    }
                    break;
                }
                Some(_) => {
                    end_len = 1;
                    break;
                }
                None => {}
            }
        }
        if !seen_any {
            return Ok(None);
        }
        self.line_no += 1;
        let mut content_len = total - end_len;
        // The buffer holds the line's first bytes: drop its end (and anything over the cap).
        self.buf
            .truncate(usize::try_from(content_len).unwrap_or(usize::MAX));
        if self.line_no == 1 && self.consumed == total && self.buf.starts_with(b"\xef\xbb\xbf") {
            // A UTF-8 byte order mark opens the stream: not part of the first record.
            self.buf.drain(..3);
            content_len = content_len.saturating_sub(3);
        }
        if content_len > self.cap as u64 {
            return Ok(Some((self.line_no, Line::TooLong(content_len))));
        }
        if self.buf.first() == Some(&0) {
            // NUL padding run into a record (a log truncated under its writer, `copytruncate`):
            // the record is read without it. A line of NULs alone is kept (it is counted).
            let lead = self.buf.iter().take_while(|b| **b == 0).count();
            if lead < self.buf.len() {
                self.buf.drain(..lead);
            }
        }
        Ok(Some((self.line_no, Line::Text(&self.buf))))
    }

    /// Whether the next byte is `\n` (without consuming it).
    fn next_is_lf(&mut self) -> io::Result<bool> {
        loop {
            match self.inner.fill_buf() {
                Ok(a) => return Ok(a.first() == Some(&b'\n')),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// The lines of `bytes` split as [`LineReader`] splits them (`\n`, `\r\n` or a lone `\r`), each
/// without its end; the piece after the last line end comes last (empty when `bytes` ends with
/// a line end).
pub(crate) fn split_lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(bytes);
    std::iter::from_fn(move || {
        let r = rest?;
        match memchr::memchr2(b'\n', b'\r', r) {
            Some(i) => {
                let skip = if r.get(i) == Some(&b'\r') && r.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                rest = r.get(i + skip..);
                r.get(..i)
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// How many line ends `chunk` holds, counted as [`LineReader`] splits lines; `after_cr` says
/// whether the bytes before `chunk` ended with `\r` (a `\n` opening `chunk` then closes that
/// line end). For counting lines across buffers: pass the last byte's state on.
pub(crate) fn count_line_ends(chunk: &[u8], after_cr: bool) -> u64 {
    let lf = memchr::memchr_iter(b'\n', chunk).count() as u64;
    let mut crlf = u64::from(after_cr && chunk.first() == Some(&b'\n'));
    let mut cr = 0u64;
    for i in memchr::memchr_iter(b'\r', chunk) {
        cr += 1;
        if chunk.get(i + 1) == Some(&b'\n') {
            crlf += 1;
        }
    }
    lf + cr - crlf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8], cap: usize) -> Vec<(u64, String)> {
        let mut r = LineReader::new(io::BufReader::with_capacity(4, input), cap, 1);
        let mut out = Vec::new();
        while let Some((n, l)) = r.next_line().unwrap() {
            out.push((
                n,
                match l {
                    Line::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    Line::TooLong(len) => format!("<{len}>"),
                },
            ));
        }
        out
    }

    #[test]
    fn splits_and_numbers() {
        let v = all(b"ab\r\ncd\n\nlast", 100);
        assert_eq!(
            v,
            vec![
                (1, "ab".into()),
                (2, "cd".into()),
                (3, "".into()),
                (4, "last".into())
            ]
        );
    }

    #[test]
    fn lone_cr_ends_a_line_and_crlf_is_one_end() {
        // The reader's buffer is 4 bytes: ends straddle buffer boundaries.
        let v = all(b"abc\rde\r\nf\n\rg\r\r\nh\r", 100);
        let texts: Vec<&str> = v.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(texts, vec!["abc", "de", "f", "", "g", "", "h"]);
        assert_eq!(v.last().map(|l| l.0), Some(7));
        let v = all(b"abcdefgh\rok\r", 5);
        assert_eq!(v, vec![(1, "<8>".into()), (2, "ok".into())]);
    }

    #[test]
    fn split_and_count_agree_with_the_reader() {
        for input in [
            &b"a\rb\r\nc\nd"[..],
            b"\r\r\n\n\r",
            b"",
            b"x\r\n",
            b"\n\n\rq",
        ] {
            let read: Vec<String> = all(input, 100).into_iter().map(|(_, t)| t).collect();
            let mut split: Vec<String> = split_lines(input)
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect();
            if split.last().is_some_and(String::is_empty) {
                split.pop();
            }
            assert_eq!(read, split, "{input:?}");
            // Counting in pieces, whatever the cut, gives the reader's number of line ends.
            let ends = read.len() as u64
                - u64::from(input.last().is_some_and(|b| *b != b'\n' && *b != b'\r'));
            for cut in 0..=input.len() {
                let (a, b) = input.split_at(cut);
                let n = count_line_ends(a, false) + count_line_ends(b, a.last() == Some(&b'\r'));
                assert_eq!(n, ends, "{input:?} cut at {cut}");
            }
        }
    }

    #[test]
    fn caps_long_lines_without_losing_the_next() {
        let v = all(b"0123456789\nok\n", 5);
        assert_eq!(v, vec![(1, "<10>".into()), (2, "ok".into())]);
        let v = all(b"12345\n", 5);
        assert_eq!(v, vec![(1, "12345".into())]);
    }

    #[test]
    fn byte_order_mark_dropped_from_first_line_only() {
        let v = all(b"\xef\xbb\xbf#Fields: a\n\xef\xbb\xbfx\n", 100);
        assert_eq!(v[0].1, "#Fields: a");
        assert_eq!(v[1].1, "\u{feff}x");
    }

    #[test]
    fn nul_padding_before_a_record_is_dropped() {
        let v = all(b"\0\0\0abc\n\0\0\nx\0\n", 100);
        let texts: Vec<&str> = v.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(texts, vec!["abc", "\0\0", "x\0"]);
    }

    #[test]
    fn replayed_lines_come_first_with_their_numbers() {
        let mut r = LineReader::new(&b"c\nd\n"[..], 100, 3);
        r.replay([
            (1, HeldLine::Text(b"a".to_vec())),
            (2, HeldLine::TooLong(500)),
        ]);
        let mut got = Vec::new();
        while let Some((n, l)) = r.next_line().unwrap() {
            got.push((n, format!("{l:?}")));
        }
        assert_eq!(got[0], (1, format!("{:?}", Line::Text(b"a"))));
        assert_eq!(got[1], (2, "TooLong(500)".to_string()));
        assert_eq!(got[2], (3, format!("{:?}", Line::Text(b"c"))));
        assert_eq!(got[3].0, 4);
    }

    #[test]
    fn error_inside_a_line_returns_the_part_read_first() {
        use io::Read;
        let failing = (&b"one\ntw"[..]).chain(FailingRead);
        let mut r = LineReader::new(io::BufReader::with_capacity(4, failing), 100, 1);
        assert_eq!(r.next_line().unwrap(), Some((1, Line::Text(b"one"))));
        assert_eq!(r.next_line().unwrap(), Some((2, Line::Text(b"tw"))));
        assert!(r.next_line().is_err());
    }

    /// A reader that fails (a damaged compressed stream).
    struct FailingRead;

    impl io::Read for FailingRead {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::InvalidData, "damaged"))
        }
    }

    #[test]
    fn limit_keeps_straddling_line() {
        let data = b"aaa\nbbb\nccc\n";
        let mut r = LineReader::new(&data[..], 100, 10).with_limit(5);
        let mut got = Vec::new();
        while let Some((n, _)) = r.next_line().unwrap() {
            got.push(n);
        }
        assert_eq!(got, vec![10, 11]);
    }
}
