//! The state file of a live hunt (`--state FILE`): where every file was left, the detectors'
//! open state (correlation windows), the newest event time seen and the length of the
//! `--output` file at the same instant, so that a restart resumes exactly there. Saved
//! atomically (a temporary file beside it, synced, renamed over it, the folder synced), so a
//! stop at any moment leaves the old state or the new one, never half of one.
//!
//! The format is JSON: `{"format": "spoor-live-state", "version": 1, "files": [...],
//! "output": {"path", "len"} | null, "newest_event": RFC 3339 | null, "detectors": [...]}`.
//! A state file is input like any other: read with a size cap, parsed strictly (unknown
//! fields, another format or version are errors), each cursor checked.

use super::cursor::FileCursor;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// What the `format` field says.
pub const CHECKPOINT_FORMAT: &str = "spoor-live-state";

/// The version this build writes and reads.
pub const CHECKPOINT_VERSION: u32 = 1;

/// Largest state file read.
pub const MAX_CHECKPOINT_BYTES: u64 = 256 << 20;

/// A state file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// It could not be read or written.
    #[error("state file {path}: {source}")]
    Io {
        /// The state file.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// Its content is not a state file of this version (truncated, damaged, foreign).
    #[error("state file {path}: {reason}")]
    Invalid {
        /// The state file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// The length the `--output` file had when the state was saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputMark {
    /// The output file as given on the command line.
    pub path: String,
    /// Its length in bytes.
    pub len: u64,
}

/// The saved state of a live hunt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Always [`CHECKPOINT_FORMAT`].
    pub format: String,
    /// Always [`CHECKPOINT_VERSION`] for this build.
    pub version: u32,
    /// Where every file was left.
    pub files: Vec<FileCursor>,
    /// The `--output` file's length, when there is one.
    pub output: Option<OutputMark>,
    /// The newest event time seen (what the watermark follows).
    pub newest_event: Option<DateTime<Utc>>,
    /// Each stateful detector's saved state, in the hunt's order (`null`: none kept).
    pub detectors: Vec<Option<serde_json::Value>>,
}

impl Checkpoint {
    /// A state of this version.
    pub fn new(
        files: Vec<FileCursor>,
        output: Option<OutputMark>,
        newest_event: Option<DateTime<Utc>>,
        detectors: Vec<Option<serde_json::Value>>,
    ) -> Self {
        Checkpoint {
            format: CHECKPOINT_FORMAT.into(),
            version: CHECKPOINT_VERSION,
            files,
            output,
            newest_event,
            detectors,
        }
    }

    /// Parses and checks a state file's bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err("empty (a state file is never written empty: was it truncated?)".into());
        }
        let c: Checkpoint = serde_json::from_slice(bytes).map_err(|e| {
            if e.is_eof() {
                format!("truncated ({e})")
            } else {
                format!("not a spoor state file ({e})")
            }
        })?;
        if c.format != CHECKPOINT_FORMAT {
            return Err(format!("format '{}', not '{CHECKPOINT_FORMAT}'", c.format));
        }
        if c.version != CHECKPOINT_VERSION {
            return Err(format!(
                "version {} (this spoor reads version {CHECKPOINT_VERSION})",
                c.version
            ));
        }
        for f in &c.files {
            f.validate()?;
        }
        Ok(c)
    }

    /// The state saved at `path`; `None` when there is no file there yet (a first run).
    pub fn load(path: &Path) -> Result<Option<Self>, CheckpointError> {
        let io_err = |source| CheckpointError::Io {
            path: path.to_path_buf(),
            source,
        };
        let f = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(e)),
        };
        let mut bytes = Vec::new();
        f.take(MAX_CHECKPOINT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io_err)?;
        if bytes.len() as u64 > MAX_CHECKPOINT_BYTES {
            return Err(CheckpointError::Invalid {
                path: path.to_path_buf(),
                reason: format!("over {MAX_CHECKPOINT_BYTES} bytes"),
            });
        }
        Checkpoint::parse(&bytes)
            .map(Some)
            .map_err(|reason| CheckpointError::Invalid {
                path: path.to_path_buf(),
                reason,
            })
    }

    /// Saves the state at `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), CheckpointError> {
        let io_err = |source| CheckpointError::Io {
            path: path.to_path_buf(),
            source,
        };
        let bytes = serde_json::to_vec(self).map_err(|e| io_err(io::Error::other(e)))?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "state".into());
        let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
        let mut f = File::create(&tmp).map_err(io_err)?;
        f.write_all(&bytes).map_err(io_err)?;
        f.sync_all().map_err(io_err)?;
        drop(f);
        fs::rename(&tmp, path).map_err(io_err)?;
        // The rename itself is durable once the folder is synced (not possible everywhere).
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_state_reads_back_and_damage_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        assert!(Checkpoint::load(&p).unwrap().is_none());
        let c = Checkpoint::new(
            vec![FileCursor::at_start("a.log", (1, 2))],
            Some(OutputMark {
                path: "out.jsonl".into(),
                len: 10,
            }),
            None,
            vec![None],
        );
        c.save(&p).unwrap();
        assert_eq!(Checkpoint::load(&p).unwrap(), Some(c));
        let bytes = fs::read(&p).unwrap();
        for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
            fs::write(&p, &bytes[..cut]).unwrap();
            let e = Checkpoint::load(&p).unwrap_err().to_string();
            assert!(e.contains("truncated") || e.contains("empty"), "{e}");
        }
        for bad in [
            &b"{\"format\":\"other\",\"version\":1,\"files\":[],\"output\":null,\"newest_event\":null,\"detectors\":[]}"[..],
            b"{\"format\":\"spoor-live-state\",\"version\":99,\"files\":[],\"output\":null,\"newest_event\":null,\"detectors\":[]}",
            b"[1,2,3]",
            b"\xff\xfe\x00garbage",
        ] {
            fs::write(&p, bad).unwrap();
            assert!(Checkpoint::load(&p).is_err());
        }
    }
}
