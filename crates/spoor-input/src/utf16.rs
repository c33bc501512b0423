//! UTF-16 text (with a byte order mark), as Windows tools export logs: PowerShell's `Out-File`
//! and `>` redirection, Notepad's "Unicode", some IIS and CSV exports. The stream is decoded to
//! UTF-8 as it is read, through 64 KiB buffers (a multi-gigabyte export is never held whole), by
//! `encoding_rs`; malformed UTF-16 (a lone surrogate, an odd last byte) becomes U+FFFD. Such a
//! stream is read on one thread: chunks of it would not start on line boundaries of the text.

use encoding_rs::{Decoder, Encoding, UTF_16BE, UTF_16LE};
use std::io::{self, BufRead, Read};

/// The UTF-16 byte order a stream's byte order mark names, if it opens with one.
pub(crate) fn detect(head: &[u8]) -> Option<&'static Encoding> {
    if head.starts_with(&[0xff, 0xfe]) {
        Some(UTF_16LE)
    } else if head.starts_with(&[0xfe, 0xff]) {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// The layer's name in the format column (`utf16le+iis`).
pub(crate) fn name(encoding: &'static Encoding) -> &'static str {
    if encoding == UTF_16BE {
        "utf16be"
    } else {
        "utf16le"
    }
}

/// A UTF-16 stream read as UTF-8 (the byte order mark dropped).
pub(crate) struct Utf16Reader<R> {
    inner: R,
    decoder: Decoder,
    out: Box<[u8]>,
    pos: usize,
    len: usize,
    done: bool,
}

impl<R: BufRead> Utf16Reader<R> {
    /// Decodes `inner`, which is in `encoding` (one of those [`detect`] returns).
    pub(crate) fn new(inner: R, encoding: &'static Encoding) -> Self {
        Utf16Reader {
            inner,
            decoder: encoding.new_decoder_with_bom_removal(),
            out: vec![0u8; 64 * 1024].into_boxed_slice(),
            pos: 0,
            len: 0,
            done: false,
        }
    }

    /// Decodes more input into the (empty) output buffer; leaves it empty only at the end.
    fn refill(&mut self) -> io::Result<()> {
        self.pos = 0;
        self.len = 0;
        while self.len == 0 && !self.done {
            let src = match self.inner.fill_buf() {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let last = src.is_empty();
            let (result, read, written, _) = self.decoder.decode_to_utf8(src, &mut self.out, last);
            self.inner.consume(read);
            self.len = written;
            if last && result == encoding_rs::CoderResult::InputEmpty {
                self.done = true;
            }
        }
        Ok(())
    }
}

impl<R: BufRead> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len {
            self.refill()?;
        }
        let avail = self.out.get(self.pos..self.len).unwrap_or_default();
        let n = avail.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), avail.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], inner_buf: usize) -> String {
        let enc = detect(bytes).unwrap();
        let inner = io::BufReader::with_capacity(inner_buf, bytes);
        let mut r = Utf16Reader::new(inner, enc);
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn le(s: &str) -> Vec<u8> {
        let mut v = vec![0xff, 0xfe];
        v.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
        v
    }

    #[test]
    fn decodes_both_orders_across_tiny_buffers() {
        let text = "GET /caf\u{e9} \u{1f600}\r\nx\n";
        for cap in [1, 2, 3, 5, 64] {
            assert_eq!(decode(&le(text), cap), text);
            let mut be = vec![0xfe, 0xff];
            be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
            assert_eq!(decode(&be, cap), text);
        }
        assert_eq!(detect(b"plain"), None);
    }

    #[test]
    fn malformed_utf16_becomes_replacement_characters() {
        // A lone high surrogate, then an odd last byte.
        let mut v = le("a");
        v.extend_from_slice(&[0x00, 0xd8, b'b', 0x00, b'c']);
        assert_eq!(decode(&v, 4), "a\u{fffd}b\u{fffd}");
    }

    #[test]
    fn long_streams_decode_whole() {
        let line = "1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] \"GET /\u{e9} HTTP/1.1\" 200 5\n";
        let text = line.repeat(5000);
        assert_eq!(decode(&le(&text), 8192), text);
    }
}
