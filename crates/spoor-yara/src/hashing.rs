//! MD5, SHA-1 and SHA-256 of a file in one pass over its bytes, so that hashing costs one read
//! whether the bytes come from the scan buffer or from a stream (files over the size cap).

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::io::{self, Read};

/// The three digests of one file, lower-case hex.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Digests {
    /// MD5.
    pub md5: String,
    /// SHA-1.
    pub sha1: String,
    /// SHA-256.
    pub sha256: String,
}

/// Feeds the same bytes to the three hashers.
#[derive(Default)]
pub(crate) struct MultiHasher {
    md5: Md5,
    sha1: Sha1,
    sha256: Sha256,
}

impl MultiHasher {
    pub(crate) fn update(&mut self, data: &[u8]) {
        self.md5.update(data);
        self.sha1.update(data);
        self.sha256.update(data);
    }

    pub(crate) fn finish(self) -> Digests {
        Digests {
            md5: hex(&self.md5.finalize()),
            sha1: hex(&self.sha1.finalize()),
            sha256: hex(&self.sha256.finalize()),
        }
    }
}

/// Digests of a byte slice.
pub fn digest_bytes(data: &[u8]) -> Digests {
    let mut h = MultiHasher::default();
    h.update(data);
    h.finish()
}

/// Digests of everything `reader` yields, read in 256 KiB chunks (memory stays bounded).
/// Returns the digests and the number of bytes read.
pub fn digest_reader(mut reader: impl Read) -> io::Result<(Digests, u64)> {
    let mut h = MultiHasher::default();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = buf.get(..n).unwrap_or_default();
        h.update(chunk);
        total += n as u64;
    }
    Ok((h.finish(), total))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // Published test vectors of the three algorithms for "abc".
        let d = digest_bytes(b"abc");
        assert_eq!(d.md5, "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(d.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            d.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn stream_equals_slice() {
        let data: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
        let (streamed, n) = digest_reader(&data[..]).unwrap();
        assert_eq!(n, data.len() as u64);
        assert_eq!(streamed, digest_bytes(&data));
        assert_ne!(streamed, digest_bytes(&data[1..]));
    }
}
