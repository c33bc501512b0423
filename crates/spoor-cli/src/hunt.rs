//! `spoor hunt`: the main job. The arguments become a plan (rules, indicators, read options,
//! outputs opened and checked), then the chain of [`crate::pipeline`] runs: logs read in
//! parallel, every event through the Sigma and indicator engines (each thread with its own
//! matchers) and the stateful detectors (Sigma correlations, STIX observation sequences, the
//! tie-back of web shells found by an optional `--scan` to the requests that used them), all on
//! one lifecycle ([`StatefulChain`]); findings filtered as they come, sorted into a deterministic
//! timeline within a memory budget, and written.

use crate::args::HuntArgs;
use crate::pipeline::{read_syslog_last, Collector, UnitState};
use crate::{load, output, progress::Progress, scan};
use anyhow::{anyhow, Result};
use spoor_event::RunSummary;
use spoor_input::{discover, read_units, InputFile};
use spoor_report::HtmlTable;
use spoor_triage::{LogonOptions, LogonTable};
use spoor_yara::{WebShellRequests, DEFAULT_MAX_REQUESTS};
use std::time::Instant;

/// Runs `spoor hunt`.
pub fn run(args: HuntArgs) -> Result<i32> {
    if args.clickhouse.is_some() {
        return crate::clickhouse::hunt(args);
    }
    if args.live.follow || args.live.state.is_some() {
        return crate::live::hunt(args);
    }
    let started = Instant::now();
    let filter = output::filter_of(&args.out)?;
    let pool = crate::thread_pool(args.walk.threads)?;
    let mut warnings = Vec::new();

    // Loaded on the pool that reads the logs, not on rayon's global one: the threads that
    // parsed the rules then read the logs, and the allocator hands the pages that loading
    // freed to the reading instead of keeping them on idle threads (EVTX hunt with the Windows
    // rules: 4-5 MiB less peak RSS, no time lost). `-j` then bounds loading too.
    let (sigma, iocs, mut counts) = pool.install(|| load::hunt_detectors(&args, &mut warnings))?;
    // The rules live until the process ends, right after this hunt: freeing thousands of
    // compiled rules one allocation at a time cost more than a small hunt's events.
    let sigma: &'static spoor_sigma::RuleSet = Box::leak(Box::new(sigma));
    if sigma.is_empty() && iocs.is_none() && args.scan.is_empty() {
        return Err(anyhow!("nothing to hunt with: no rule or indicator loaded"));
    }

    // Every output is created now, before the first log is read.
    let mut outputs = output::Outputs::open(&args.out, "spoor hunt")?;
    let collector = Collector::new(filter, args.sort_budget_mib.saturating_mul(1 << 20));

    let mut read_opts =
        scan::read_options(&args.walk, args.syslog_year, args.format_in.as_deref())?;

    // Files first, so that the web shells they reveal can be looked up in the logs.
    let mut file_findings = Vec::new();
    let mut file_stats = Vec::new();
    let mut tieback = None;
    if !args.scan.is_empty() {
        let rules = load::yara_rules(!args.no_builtin, &args.yara)?;
        warnings.extend(rules.warnings().iter().cloned());
        counts.ok += rules.len() as u64;
        let opts = scan::scan_options(64, 10, args.walk.threads);
        // The web root is walked whole: `--glob` selects log files, only `--exclude` applies.
        let scan_walk = spoor_input::ReadOptions {
            excludes: read_opts.excludes.clone(),
            ..spoor_input::ReadOptions::default()
        };
        let found = std::sync::Mutex::new(Vec::new());
        let deliver = |f: &mut Vec<spoor_event::Finding>| {
            found.lock().unwrap_or_else(|e| e.into_inner()).append(f)
        };
        let outcome = pool.install(|| {
            scan::scan_files(
                &args.scan,
                &scan_walk,
                &rules,
                iocs.as_ref(),
                &opts,
                &deliver,
            )
        });
        let mut found = found.into_inner().unwrap_or_else(|e| e.into_inner());
        // The parallel scan delivers files in any order; the tie-back reads them in the walk's
        // (path order, each file's findings as its scan gave them: a stable sort).
        found.sort_by(|a, b| a.source.path.cmp(&b.source.path));
        warnings.extend(outcome.warnings);
        file_stats = outcome.stats;
        let roots = if args.webroot.is_empty() {
            &args.scan
        } else {
            &args.webroot
        };
        let tb = WebShellRequests::new(found, roots, DEFAULT_MAX_REQUESTS);
        if tb.is_empty() {
            file_findings = tb.into_findings();
        } else {
            tieback = Some(tb);
        }
    }

    let (files, problems) = discover(&args.paths, &read_opts);
    let detectors = crate::pipeline::event_detectors(sigma, iocs.as_ref());
    let mut chain = crate::pipeline::stateful_chain(sigma, iocs.as_ref());
    if let Some(tb) = &tieback {
        chain.push(tb);
    }
    // The line gate: web lines that no rule or indicator can match are counted, not built into
    // events. Off when a detector must see every request (the web-shell tie-back) or when the
    // indicators cannot be told from text (addresses, stateful patterns).
    if tieback.is_none() && !args.no_prefilter {
        let gates = sigma.line_gates();
        let gates = match iocs.as_ref().map(|s| s.web_line_literals()) {
            None => Some(gates),
            Some(Some(lits)) => Some(gates.with_literals(lits)),
            Some(None) => None,
        };
        if let Some(g) = gates {
            read_opts.gates = Some(spoor_event::SharedGates(std::sync::Arc::new(g)));
        }
    }
    let with_logons = outputs.html_appendix().is_some();
    let progress = Progress::new(files.len());
    let read = |files: &[InputFile], opts: &spoor_input::ReadOptions| {
        pool.install(|| {
            read_units(
                files,
                opts,
                || {
                    let mut u = UnitState::new(
                        detectors.iter().map(|d| d.matcher()).collect(),
                        chain.start(),
                    );
                    if with_logons {
                        u.logons = Some(LogonTable::new(LogonOptions::default()));
                    }
                    u
                },
                |state, ev| {
                    progress.event();
                    state.on_event(&chain, &collector, ev)
                },
                |state| state.close(&chain, &collector),
            )
        })
    };
    let (states, stats) = read_syslog_last(files, &read_opts, read, |s| s.span, &mut warnings);
    progress.finish();

    let mut partials = Vec::with_capacity(states.len());
    let mut logons = LogonTable::new(LogonOptions::default());
    for s in states {
        partials.push(s.partials);
        if let Some(l) = s.logons {
            logons.merge(l);
        }
    }
    if let Some(appendix) = outputs.html_appendix() {
        appendix.push(HtmlTable {
            title: "Logons: who logged on from where".into(),
            columns: crate::logons::COLUMNS
                .iter()
                .map(|c| c.to_string())
                .collect(),
            rows: logons
                .rows()
                .iter()
                .map(|r| crate::logons::cells(r).iter().map(|c| c.text()).collect())
                .collect(),
        });
    }
    let mut stateful = chain.finish(partials);
    warnings.append(&mut stateful.notes);
    stateful.findings.extend(file_findings);
    collector.take(&mut stateful.findings);

    let mut all_stats = problems;
    all_stats.extend(file_stats);
    all_stats.extend(stats);
    let mut summary = RunSummary {
        events: all_stats.iter().map(|s| s.events).sum(),
        unparsed: all_stats.iter().map(|s| s.unparsed).sum(),
        files: all_stats,
        rules_loaded: counts.ok,
        rules_unsupported: counts.unsupported,
        rules_invalid: counts.invalid,
        filters: sigma.filter_stats(),
        warnings,
        ..RunSummary::default()
    };
    let sorted = collector.finish(&mut |f| {
        output::count_finding(&f, &mut summary);
        outputs.write(&f);
    })?;
    summary.spilled_bytes = sorted.spilled_bytes;
    if sorted.dedup_capped > 0 {
        summary.warnings.push(format!(
            "{} runs of findings at one time in one file were too large to merge whole",
            sorted.dedup_capped
        ));
    }
    summary.elapsed_seconds = started.elapsed().as_secs_f64();
    summary.peak_rss_bytes = output::peak_rss_bytes();
    let shown = outputs.finish(&summary)?;
    if !shown {
        output::print_summary(&summary);
    }
    let had_errors = summary.files.iter().any(|s| s.error.is_some()) || counts.invalid > 0;
    Ok(if had_errors { 3 } else { 0 })
}
