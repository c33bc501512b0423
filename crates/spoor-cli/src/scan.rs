//! `spoor scan`: files (web roots) checked with YARA rules and indicator hashes; also used by
//! `spoor hunt --scan` to find web shells whose requests the logs then show.

use crate::args::{ScanArgs, WalkArgs};
use crate::{load, output};
use anyhow::Result;
use rayon::prelude::*;
use spoor_event::{FileStats, Finding, Origin, Position, RunSummary};
use spoor_input::{discover, InputFile, ReadOptions};
use spoor_ioc::IocSet;
use spoor_yara::{ScanOptions, YaraRules};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a file scan produced.
#[derive(Default)]
pub struct FileScanOutcome {
    pub findings: Vec<Finding>,
    pub stats: Vec<FileStats>,
    pub warnings: Vec<String>,
    pub errors: usize,
}

pub fn walk_options(walk: &WalkArgs) -> ReadOptions {
    ReadOptions {
        globs: walk.glob.clone(),
        excludes: walk.exclude.clone(),
        ..ReadOptions::default()
    }
}

/// Scans every file under `paths` (in parallel on the current pool).
pub fn scan_files(
    paths: &[PathBuf],
    walk: &ReadOptions,
    rules: &YaraRules,
    iocs: Option<&IocSet>,
    opts: &ScanOptions,
) -> FileScanOutcome {
    let (files, problems): (Vec<InputFile>, Vec<FileStats>) = discover(paths, walk);
    let mut out = FileScanOutcome {
        errors: problems.len(),
        stats: problems,
        ..FileScanOutcome::default()
    };
    let scans: Vec<_> = files
        .par_iter()
        .map_init(
            || rules.scanner(opts),
            |scanner, file| scanner.scan_file(&file.path),
        )
        .collect();
    for (file, scan) in files.iter().zip(scans) {
        let mut stats = FileStats {
            path: file.display.clone(),
            format: "file".into(),
            events: 1,
            ..FileStats::default()
        };
        let mut found = scan.findings();
        for f in &mut found {
            f.source.path = Arc::from(file.display.as_str());
        }
        if let (Some(info), Some(set)) = (&scan.info, iocs) {
            let name = file
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            for (meta, matched) in set.match_file(&name, &info.md5, &info.sha1, &info.sha256) {
                found.push(Finding {
                    timestamp: info.modified,
                    rule: meta,
                    source: Origin {
                        path: Arc::from(file.display.as_str()),
                        position: Position::Index(0),
                    },
                    logsource: Default::default(),
                    event: Vec::new(),
                    raw: None,
                    matched: vec![matched],
                    file: Some(info.clone()),
                    related: Vec::new(),
                    correlation: None,
                    count: 1,
                });
            }
        }
        if let Some(skip) = &scan.skipped {
            out.warnings.push(format!("{}: {skip}", file.display));
            if scan.info.is_none() {
                out.errors += 1;
                stats.events = 0;
                stats.error = Some(skip.to_string());
            }
        }
        out.findings.extend(found);
        out.stats.push(stats);
    }
    out
}

pub fn scan_options(max_size_mib: u64, timeout_s: u64, threads: Option<usize>) -> ScanOptions {
    ScanOptions {
        max_file_bytes: max_size_mib.saturating_mul(1024 * 1024),
        per_file_timeout: Duration::from_secs(timeout_s.max(1)),
        threads: threads.unwrap_or(0),
        ..ScanOptions::default()
    }
}

/// Runs `spoor scan`.
pub fn run(args: ScanArgs) -> Result<i32> {
    let started = Instant::now();
    let filter = output::filter_of(&args.out)?;
    let pool = crate::thread_pool(args.walk.threads)?;
    let rules = load::yara_rules(!args.no_builtin, &args.yara)?;
    let mut warnings: Vec<String> = rules.warnings().to_vec();
    let (iocs, ioc_counts) = load::indicators(!args.no_builtin, &args.iocs, false, &mut warnings)?;
    let opts = scan_options(args.max_size_mib, args.timeout, args.walk.threads);
    let walk = walk_options(&args.walk);
    let outcome = pool.install(|| scan_files(&args.paths, &walk, &rules, iocs.as_ref(), &opts));
    warnings.extend(outcome.warnings);
    let findings = output::select(outcome.findings, &filter);
    let mut summary = RunSummary {
        events: outcome.stats.iter().map(|s| s.events).sum(),
        files: outcome.stats,
        rules_loaded: rules.len() as u64 + ioc_counts.ok,
        rules_unsupported: ioc_counts.unsupported,
        rules_invalid: ioc_counts.invalid,
        warnings,
        ..RunSummary::default()
    };
    output::count_findings(&findings, &mut summary);
    summary.elapsed_seconds = started.elapsed().as_secs_f64();
    let shown = output::write_all(&args.out, "spoor scan", &findings, &summary)?;
    if !shown {
        output::print_summary(&summary);
    }
    Ok(if outcome.errors > 0 || ioc_counts.invalid > 0 {
        3
    } else {
        0
    })
}
