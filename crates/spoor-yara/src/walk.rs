//! A simple parallel folder scan for tests, benches and small tools. The CLI walks with the
//! readers crate's walker (shared options with `hunt`) and calls [`crate::FileScanner`] itself;
//! this helper exists so the engine can be exercised end to end without the CLI.

use crate::{FileScan, ScanOptions, SkipReason, YaraRules};
use spoor_event::Finding;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Counts of a scan, so that nothing is dropped silently.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Entries looked at (files, plus walk errors and special files).
    pub files: u64,
    /// Bytes read for YARA scanning.
    pub bytes_scanned: u64,
    /// Files with at least one match.
    pub matched: u64,
    /// Files over the size cap (hashed, not YARA-scanned).
    pub too_large: u64,
    /// Files whose YARA scan timed out.
    pub timed_out: u64,
    /// Files or folders that could not be read.
    pub unreadable: u64,
    /// Special files (FIFOs, sockets, devices) not opened.
    pub not_files: u64,
}

/// Everything a [`scan_paths`] run produced, in path order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanReport {
    /// One entry per file (and per walk error, as [`SkipReason::Unreadable`]).
    pub files: Vec<FileScan>,
    /// Totals.
    pub stats: ScanStats,
}

impl ScanReport {
    /// All findings, in the report order of `spoor_event::Finding::report_order`.
    pub fn findings(&self) -> Vec<Finding> {
        let mut v: Vec<Finding> = self.files.iter().flat_map(FileScan::findings).collect();
        v.sort_by(Finding::report_order);
        v
    }

    /// Files that were not (fully) scanned, with the reason.
    pub fn skipped(&self) -> impl Iterator<Item = (&Path, &SkipReason)> {
        self.files
            .iter()
            .filter_map(|f| f.skipped.as_ref().map(|r| (f.path.as_path(), r)))
    }
}

/// Walks `paths` (files or folders, recursively, symbolic links to folders not followed) and
/// scans every file on `options.threads` threads, each with its own scanner.
pub fn scan_paths(paths: &[PathBuf], rules: &YaraRules, options: &ScanOptions) -> ScanReport {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut walk_errors: Vec<FileScan> = Vec::new();
    for root in paths {
        for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
            match entry {
                Ok(e) if e.file_type().is_dir() => {}
                Ok(e) => files.push(e.into_path()),
                Err(e) => walk_errors.push(FileScan {
                    path: e.path().unwrap_or(root).to_path_buf(),
                    info: None,
                    matches: Vec::new(),
                    skipped: Some(SkipReason::Unreadable {
                        error: e.to_string(),
                    }),
                }),
            }
        }
    }
    let threads = match options.threads {
        0 => rayon::current_num_threads(),
        n => n,
    }
    .clamp(1, files.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, FileScan)>> = Mutex::new(Vec::with_capacity(files.len()));
    rayon::scope(|s| {
        for _ in 0..threads {
            s.spawn(|_| {
                let mut scanner = rules.scanner(options);
                let mut local = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(i) else { break };
                    local.push((i, scanner.scan_file(path)));
                }
                // A poisoned lock only means another worker panicked; keep its results anyway.
                let mut all = results.lock().unwrap_or_else(|p| p.into_inner());
                all.extend(local);
            });
        }
    });
    let mut indexed = results.into_inner().unwrap_or_else(|p| p.into_inner());
    indexed.sort_by_key(|(i, _)| *i);
    let mut report = ScanReport {
        files: indexed.into_iter().map(|(_, f)| f).collect(),
        stats: ScanStats::default(),
    };
    report.files.extend(walk_errors);
    report.files.sort_by(|a, b| a.path.cmp(&b.path));
    for f in &report.files {
        let st = &mut report.stats;
        st.files += 1;
        if !f.matches.is_empty() {
            st.matched += 1;
        }
        match &f.skipped {
            None => st.bytes_scanned += f.info.as_ref().map(|i| i.size).unwrap_or(0),
            Some(SkipReason::TooLarge { .. }) => st.too_large += 1,
            Some(SkipReason::Timeout { .. }) => st.timed_out += 1,
            Some(SkipReason::Unreadable { .. }) => st.unreadable += 1,
            Some(SkipReason::NotAFile) => st.not_files += 1,
        }
    }
    report
}
