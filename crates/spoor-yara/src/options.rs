//! The knobs of a scan, as a small typed struct so the engine can be tested without a CLI.

use std::time::Duration;

/// Limits and switches for scanning files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOptions {
    /// Files larger than this are hashed (streamed, bounded memory) but not YARA-scanned, and
    /// reported as skipped ([`crate::SkipReason::TooLarge`]).
    pub max_file_bytes: u64,
    /// The YARA scan of one file is stopped after this long and reported as skipped
    /// ([`crate::SkipReason::Timeout`]). yara-x checks its clock about once a second, so a
    /// timeout fires between `per_file_timeout` and `per_file_timeout + 1 s`.
    pub per_file_timeout: Duration,
    /// Compute MD5, SHA-1 and SHA-256 of every file (on by default; the indicator match needs
    /// them). Off makes the scan a pure YARA scan, for comparisons with `yr scan`.
    pub hash: bool,
    /// At most this many matches of one pattern are kept per file (bounds memory on hostile
    /// files; the rule still matches).
    pub max_matches_per_pattern: usize,
    /// How many matched strings a finding quotes as evidence, per rule.
    pub max_evidence: usize,
    /// Worker threads for [`crate::scan_paths`]; 0 means rayon's default (one per core).
    pub threads: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            max_file_bytes: 64 * 1024 * 1024,
            per_file_timeout: Duration::from_secs(10),
            hash: true,
            max_matches_per_pattern: 1_000,
            max_evidence: 5,
            threads: 0,
        }
    }
}
