//! Line splitting with a size cap, so that a hostile file with a gigabyte-long "line" is counted,
//! not loaded.

use std::collections::VecDeque;
use std::io::{self, BufRead};

/// One line as read: its text (without `\n` / `\r\n`), or the fact that it was too long.
#[derive(Debug, PartialEq, Eq)]
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
        if self.limit.is_some_and(|l| self.consumed >= l) {
            return Ok(None);
        }
        self.buf.clear();
        let mut total: u64 = 0;
        let mut seen_any = false;
        let mut ended_nl = false;
        loop {
            let avail = match self.inner.fill_buf() {
                Ok(a) => a,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                break;
            }
            seen_any = true;
            let (take, done) = match memchr::memchr(b'\n', avail) {
                Some(i) => (i + 1, true),
                None => (avail.len(), false),
            };
            let room = self.cap.saturating_add(2).saturating_sub(self.buf.len());
            let keep = take.min(room);
            if let Some(part) = avail.get(..keep) {
                self.buf.extend_from_slice(part);
            }
            total += take as u64;
            self.inner.consume(take);
            self.consumed += take as u64;
            if done {
                ended_nl = true;
                break;
            }
        }
        if !seen_any {
            return Ok(None);
        }
        self.line_no += 1;
        let mut content_len = total;
        if ended_nl {
            content_len -= 1;
            if self.buf.last() == Some(&b'\n') {
                self.buf.pop();
                if self.buf.last() == Some(&b'\r') {
                    self.buf.pop();
                    content_len -= 1;
                }
            }
        }
        if self.line_no == 1 && self.consumed == total && self.buf.starts_with(b"\xef\xbb\xbf") {
            // A UTF-8 byte order mark opens the stream: not part of the first record.
            self.buf.drain(..3);
            content_len = content_len.saturating_sub(3);
        }
        if content_len > self.cap as u64 {
            return Ok(Some((self.line_no, Line::TooLong(content_len))));
        }
        Ok(Some((self.line_no, Line::Text(&self.buf))))
    }
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
