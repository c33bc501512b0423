//! Errors of the readers. Most faults are per file and end up as text in
//! [`spoor_event::FileStats::error`]; this type keeps their kinds apart until then.

use std::path::PathBuf;

/// Why a path or file could not be read (or not read to its end).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// `--format-in` named no known format.
    #[error(
        "unknown input format '{0}' (known: evtx, json, access, iis, weberror, syslog, csv, tsv, squid, w3c-proxy)"
    )]
    UnknownFormat(String),
    /// A `--glob` or `--exclude` pattern did not compile.
    #[error("bad glob pattern '{pattern}': {message}")]
    BadGlob {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        message: String,
    },
    /// The file system refused (missing file, permissions, symlink loop, I/O fault).
    #[error("{}: {source}", path.display())]
    Io {
        /// The path concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The content is not a format spoor knows.
    #[error("format not recognised (use --format-in to force one)")]
    Unrecognised,
    /// A zip archive could not be opened or an entry not read.
    #[error("archive: {0}")]
    Archive(String),
    /// An EVTX file could not be opened or read.
    #[error("evtx: {0}")]
    Evtx(String),
}

impl InputError {
    /// The message to show beside the path it concerns: without the path (the summary names the
    /// file already) and without the operating system's raw error number.
    pub fn reason(&self) -> String {
        match self {
            InputError::Io { source, .. } => io_reason(source),
            other => other.to_string(),
        }
    }
}

/// An I/O error in words (one wording for every crate: see [`spoor_event::io_reason`]).
pub use spoor_event::io_reason;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_name_neither_the_path_nor_the_os_error_number() {
        let missing = InputError::Io {
            path: "/no/such/file.log".into(),
            source: std::io::Error::from_raw_os_error(2),
        };
        assert_eq!(missing.reason(), "does not exist");
        let busy = std::io::Error::from_raw_os_error(16);
        let r = io_reason(&busy);
        assert!(!r.contains("os error") && !r.is_empty(), "{r}");
        assert_eq!(
            InputError::Unrecognised.reason(),
            InputError::Unrecognised.to_string()
        );
    }
}
