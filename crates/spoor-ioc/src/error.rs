//! Errors that stop a whole input (one indicator's problems are reports, not errors).

use std::path::PathBuf;

/// Why an indicator file or the set as a whole could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IocError {
    /// The file could not be read.
    #[error("{path}: cannot read indicator file: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a STIX bundle at all (bad JSON, wrong shape).
    #[error("{origin}: not a STIX bundle: {message}")]
    Bundle {
        /// File or origin name.
        origin: String,
        /// What was wrong.
        message: String,
    },
    /// The built-in field mapping table is broken (a bug, caught by the tests).
    #[error("indicator field mapping: {0}")]
    Mapping(String),
}
