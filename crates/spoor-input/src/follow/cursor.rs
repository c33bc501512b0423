//! Where a followed file was left: its identity (device, inode, a hash of its first bytes) and
//! the offset and line reached, as saved in a state file. The hash tells a file that was
//! truncated or replaced under the same inode from the one read before, and finds the copy a
//! rotation made (`copytruncate`, or a compressed `x.1.gz`).

use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

/// How many leading bytes identify a file's content.
pub const HEAD_BYTES: usize = 256;

/// Shortest head compared when looking for a file's copy: shorter heads match too easily.
pub(crate) const MIN_COPY_HEAD: u32 = 64;

/// One followed file's position, as saved in a state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileCursor {
    /// The path as shown in events.
    pub path: String,
    /// Device of the file (0 where the system has none).
    pub dev: u64,
    /// Inode of the file (0 where the system has none).
    pub ino: u64,
    /// How many leading bytes `head_hash` covers (at most [`HEAD_BYTES`]).
    pub head_len: u32,
    /// FNV-1a hash of the first `head_len` bytes (of the decompressed content for a
    /// compressed file).
    pub head_hash: u64,
    /// Bytes read and accounted for: the next line starts here.
    pub offset: u64,
    /// Lines read so far (the next line's number is one more).
    pub line: u64,
    /// The format, once known (see `InputFormat::name`).
    pub format: Option<String>,
    /// JSON read one record per line.
    #[serde(default)]
    pub ndjson: bool,
    /// Inside a line longer than the cap: bytes of it passed over so far.
    #[serde(default)]
    pub skipping: Option<u64>,
    /// Read whole once (compressed, an archive, EVTX, CSV or a JSON document), not tailed.
    #[serde(default)]
    pub read_once: bool,
}

impl FileCursor {
    /// A cursor at the start of a file of identity `(dev, ino)`.
    pub(crate) fn at_start(path: &str, (dev, ino): (u64, u64)) -> Self {
        FileCursor {
            path: path.to_string(),
            dev,
            ino,
            head_len: 0,
            head_hash: fnv1a(&[]),
            offset: 0,
            line: 0,
            format: None,
            ndjson: false,
            skipping: None,
            read_once: false,
        }
    }

    /// Checks what a state file says (it may be hostile): a short, sane cursor.
    pub fn validate(&self) -> Result<(), String> {
        if self.path.is_empty() || self.path.len() > 4096 {
            return Err("a file cursor with an empty or over-long path".into());
        }
        if self.head_len as usize > HEAD_BYTES {
            return Err(format!("{}: head of {} bytes", self.path, self.head_len));
        }
        if let Some(f) = &self.format {
            f.parse::<crate::InputFormat>()
                .map_err(|e| format!("{}: {e}", self.path))?;
        }
        Ok(())
    }

    /// Same identity: same device and inode.
    pub(crate) fn same_file(&self, id: (u64, u64)) -> bool {
        (self.dev, self.ino) == id && id != (0, 0)
    }
}

/// 64-bit FNV-1a: small, stable across versions and platforms (a state file outlives a build).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Device and inode of a file's metadata.
#[cfg(unix)]
pub(crate) fn identity(m: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

/// Device and inode of a file's metadata (none on this system: files are told apart by path
/// and head).
#[cfg(not(unix))]
pub(crate) fn identity(_m: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

/// The first `n` bytes of an open file (fewer when it is shorter).
pub(crate) fn read_head(f: &mut File, n: usize) -> io::Result<Vec<u8>> {
    f.seek(SeekFrom::Start(0))?;
    let mut buf = Vec::with_capacity(n);
    f.take(n as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_is_the_published_function() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn hostile_cursors_are_refused() {
        let mut c = FileCursor::at_start("x.log", (1, 2));
        assert!(c.validate().is_ok());
        c.head_len = 10_000;
        assert!(c.validate().is_err());
        c.head_len = 10;
        c.format = Some("no-such".into());
        assert!(c.validate().is_err());
        c.format = Some("access".into());
        assert!(c.validate().is_ok());
    }
}
