//! `spoor scan`: files (web roots) checked with YARA rules and indicator hashes; also used by
//! `spoor hunt --scan` to find web shells whose requests the logs then show.
//!
//! Findings leave each file's scan at once: `spoor scan` hands them to the same [`Collector`]
//! (filter, then the spilling timeline sorter that merges identical findings of one file) as
//! `spoor hunt`, so memory stays bounded and both commands de-duplicate alike.

use crate::args::{ScanArgs, WalkArgs};
use crate::pipeline::Collector;
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

/// What a file scan produced besides its findings (which went to the caller's `deliver`).
#[derive(Default)]
pub struct FileScanOutcome {
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

/// `--format-in`: the format forced on every file, if one is given.
pub fn format_in(name: Option<&str>) -> anyhow::Result<Option<spoor_input::InputFormat>> {
    name.map(|f| {
        f.parse::<spoor_input::InputFormat>()
            .map_err(|e| anyhow::anyhow!("--format-in: {e}"))
    })
    .transpose()
}

/// The read options of a command that walks folders: its globs, `--syslog-year` and
/// `--format-in`.
pub fn read_options(
    walk: &WalkArgs,
    syslog_year: Option<i32>,
    format: Option<&str>,
) -> anyhow::Result<ReadOptions> {
    Ok(ReadOptions {
        syslog_year,
        format: format_in(format)?,
        ..walk_options(walk)
    })
}

/// Scans every file under `paths` (in parallel on the current pool); each file's findings are
/// handed to `deliver` as soon as its scan ends.
pub fn scan_files(
    paths: &[PathBuf],
    walk: &ReadOptions,
    rules: &YaraRules,
    iocs: Option<&IocSet>,
    opts: &ScanOptions,
    deliver: &(dyn Fn(&mut Vec<Finding>) + Sync),
) -> FileScanOutcome {
    let (files, problems): (Vec<InputFile>, Vec<FileStats>) = discover(paths, walk);
    let mut out = FileScanOutcome {
        errors: problems.len(),
        stats: problems,
        ..FileScanOutcome::default()
    };
    let scanned: Vec<(FileStats, Option<String>, bool)> = files
        .par_iter()
        .map_init(
            || rules.scanner(opts),
            |scanner, file| {
                let scan = scanner.scan_file(&file.path);
                let mut found = file_findings(file, &scan, iocs);
                deliver(&mut found);
                let mut stats = FileStats {
                    path: file.display.clone(),
                    format: "file".into(),
                    events: 1,
                    ..FileStats::default()
                };
                let skipped = scan.skipped.as_ref().map(|s| s.to_string());
                let failed = skipped.is_some() && scan.info.is_none();
                if failed {
                    stats.events = 0;
                    stats.error = skipped.clone();
                }
                (
                    stats,
                    skipped.map(|s| format!("{}: {s}", file.display)),
                    failed,
                )
            },
        )
        .collect();
    for (stats, warning, failed) in scanned {
        out.warnings.extend(warning);
        out.errors += usize::from(failed);
        out.stats.push(stats);
    }
    out
}

/// The YARA findings of one file's scan and the indicators its name and hashes match.
fn file_findings(
    file: &InputFile,
    scan: &spoor_yara::FileScan,
    iocs: Option<&IocSet>,
) -> Vec<Finding> {
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
    found
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
    // Every output is created now, before the first file is scanned.
    let mut outputs = output::Outputs::open(&args.out, "spoor scan")?;
    let collector = Collector::new(filter, args.sort_budget_mib.saturating_mul(1 << 20));
    let deliver = |found: &mut Vec<Finding>| collector.take(found);
    let outcome =
        pool.install(|| scan_files(&args.paths, &walk, &rules, iocs.as_ref(), &opts, &deliver));
    warnings.extend(outcome.warnings);
    let mut summary = RunSummary {
        events: outcome.stats.iter().map(|s| s.events).sum(),
        files: outcome.stats,
        rules_loaded: rules.len() as u64 + ioc_counts.ok,
        rules_unsupported: ioc_counts.unsupported,
        rules_invalid: ioc_counts.invalid,
        warnings,
        ..RunSummary::default()
    };
    let sorted = collector.finish(&mut |f| {
        output::count_finding(&f, &mut summary);
        outputs.write(&f);
    })?;
    summary.spilled_bytes = sorted.spilled_bytes;
    summary.elapsed_seconds = started.elapsed().as_secs_f64();
    let shown = outputs.finish(&summary)?;
    if !shown {
        output::print_summary(&summary);
    }
    Ok(if outcome.errors > 0 || ioc_counts.invalid > 0 {
        3
    } else {
        0
    })
}
