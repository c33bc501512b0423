//! Transparent decompression by magic bytes: gzip, zstd, bzip2 and xz.
//!
//! Detection looks at content, never at the file name, so a renamed `access.log.1` that is really
//! gzip is still read. Zip archives are not streams and are handled by the `archive` module.

use std::io::{self, BufRead, BufReader, Read};

/// A compression layer found by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    Gzip,
    Zstd,
    Bzip2,
    Xz,
}

impl Compression {
    /// The layer whose magic `head` starts with, if any.
    pub(crate) fn detect(head: &[u8]) -> Option<Compression> {
        if head.starts_with(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else if head.starts_with(b"BZh") && head.get(3).is_some_and(|d| (b'1'..=b'9').contains(d))
        {
            Some(Compression::Bzip2)
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Some(Compression::Xz)
        } else {
            None
        }
    }

    /// Name for the format column (`gzip+access`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Bzip2 => "bzip2",
            Compression::Xz => "xz",
        }
    }

    /// Wraps `inner` in the matching decoder.
    pub(crate) fn decoder<'a>(
        self,
        inner: Box<dyn BufRead + 'a>,
    ) -> io::Result<Box<dyn Read + 'a>> {
        Ok(match self {
            Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(inner)),
            Compression::Zstd => Box::new(crate::zstd::ZstdReader::new(inner)?),
            Compression::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(inner)),
            Compression::Xz => Box::new(xz2::bufread::XzDecoder::new_multi_decoder(inner)),
        })
    }
}

/// Peels compression layers (at most `max_layers`, so a zip-bomb-like nesting of gzip in gzip
/// stops) and returns the stream with the names of the layers found.
pub(crate) fn peel<'a>(
    mut reader: Box<dyn BufRead + 'a>,
    max_layers: usize,
) -> io::Result<(Box<dyn BufRead + 'a>, Vec<Compression>)> {
    let mut layers = Vec::new();
    for _ in 0..max_layers {
        let head = fill_head(&mut reader, 8)?;
        let Some(c) = Compression::detect(&head) else {
            break;
        };
        layers.push(c);
        reader = Box::new(BufReader::with_capacity(64 * 1024, c.decoder(reader)?));
    }
    Ok((reader, layers))
}

/// The first `n` bytes of the stream (fewer at its end) without consuming them. Copies at most
/// `n` bytes; the buffer of `reader` must be at least `n` bytes big, which all our readers are.
pub(crate) fn fill_head(reader: &mut Box<dyn BufRead + '_>, n: usize) -> io::Result<Vec<u8>> {
    loop {
        match reader.fill_buf() {
            Ok(buf) => return Ok(buf.get(..n.min(buf.len())).unwrap_or_default().to_vec()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// The stream with its first `n` bytes (fewer at its end) read ahead, so that [`fill_head`] sees
/// them all even when the source gives less per read (a pipe, a decoder): what is sniffed is the
/// same for a file, a pipe or a decompressed stream.
pub(crate) fn prefixed<'a>(
    mut reader: Box<dyn BufRead + 'a>,
    n: usize,
) -> io::Result<Box<dyn BufRead + 'a>> {
    let mut prefix = Vec::with_capacity(n);
    while prefix.len() < n {
        let avail = match reader.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            break;
        }
        let k = avail.len().min(n - prefix.len());
        prefix.extend_from_slice(avail.get(..k).unwrap_or_default());
        reader.consume(k);
    }
    Ok(Box::new(io::Cursor::new(prefix).chain(reader)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn gzip_round_trip() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"hello\nworld\n").unwrap();
        let gz = enc.finish().unwrap();
        let (mut r, layers) = peel(Box::new(&gz[..]), 4).unwrap();
        assert_eq!(layers, vec![Compression::Gzip]);
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "hello\nworld\n");
    }

    #[test]
    fn bzip2_and_xz_detected() {
        let mut enc = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        enc.write_all(b"abc").unwrap();
        let bz = enc.finish().unwrap();
        assert_eq!(Compression::detect(&bz), Some(Compression::Bzip2));
        let mut enc = xz2::write::XzEncoder::new(Vec::new(), 1);
        enc.write_all(b"abc").unwrap();
        let xz = enc.finish().unwrap();
        let (mut r, layers) = peel(Box::new(&xz[..]), 4).unwrap();
        assert_eq!(layers, vec![Compression::Xz]);
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "abc");
        assert_eq!(Compression::detect(b"plain text"), None);
    }

    #[test]
    fn prefix_is_read_whole_from_a_trickling_source() {
        /// Gives one byte per read, as a slow pipe may.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let Some((first, rest)) = self.0.split_first() else {
                    return Ok(0);
                };
                let Some(slot) = buf.first_mut() else {
                    return Ok(0);
                };
                *slot = *first;
                self.0 = rest;
                Ok(1)
            }
        }
        let data = b"0123456789".repeat(100);
        let r: Box<dyn BufRead> = Box::new(BufReader::new(Trickle(&data)));
        let mut r = prefixed(r, 500).unwrap();
        assert_eq!(fill_head(&mut r, 500).unwrap().len(), 500);
        let mut all = Vec::new();
        r.read_to_end(&mut all).unwrap();
        assert_eq!(all, data);
    }

    #[test]
    fn truncated_gzip_is_an_error_not_a_panic() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&[b'x'; 10000]).unwrap();
        let gz = enc.finish().unwrap();
        let cut = &gz[..gz.len() / 2];
        let (mut r, _) = peel(Box::new(cut), 4).unwrap();
        let mut s = Vec::new();
        assert!(r.read_to_end(&mut s).is_err());
    }
}
