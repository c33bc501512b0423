//! `spoor hunt`: the main job. Logs are read in parallel; every event goes through the Sigma
//! engine and the indicator engine (each thread with its own matchers), then through the
//! stateful detectors (Sigma correlations, STIX observation sequences, the tie-back of web
//! shells found by an optional `--scan` to the requests that used them), all on one lifecycle
//! ([`StatefulChain`]); findings are filtered, sorted into a deterministic timeline and written.

use crate::args::HuntArgs;
use crate::{load, output, progress::Progress, scan};
use anyhow::{anyhow, Result};
use spoor_event::{Detector, Event, EventMatcher, Finding, Partials, RunSummary, StatefulChain};
use spoor_input::{discover, read_all, sniff_file, EvidenceSpan, InputFile, InputFormat};
use spoor_yara::{WebShellRequests, DEFAULT_MAX_REQUESTS};
use std::time::Instant;

/// Per-work-unit state: the matchers of one thread, the stateful detectors' partial states and
/// what was found.
struct UnitState<'d> {
    matchers: Vec<Box<dyn EventMatcher + Send + 'd>>,
    partials: Partials,
    /// The current event's findings (reused buffer).
    hits: Vec<Finding>,
    findings: Vec<Finding>,
    /// The time span of the unit's dated events (for the year of yearless syslog lines).
    span: Option<EvidenceSpan>,
}

impl UnitState<'_> {
    fn on_event(&mut self, chain: &StatefulChain<'_>, ev: Event) {
        if let Some(t) = ev.timestamp {
            EvidenceSpan::include(&mut self.span, t);
        }
        self.hits.clear();
        for m in &mut self.matchers {
            m.check(&ev, &mut self.hits);
        }
        chain.observe(&mut self.partials, &ev, &self.hits);
        // Rules that only feed correlations make no finding of their own.
        self.findings
            .extend(self.hits.drain(..).filter(|f| !f.rule.feeds_only));
    }
}

/// Runs `spoor hunt`.
pub fn run(args: HuntArgs) -> Result<i32> {
    if args.clickhouse.is_some() {
        return crate::clickhouse::hunt(args);
    }
    let started = Instant::now();
    let filter = output::filter_of(&args.out)?;
    let pool = crate::thread_pool(args.walk.threads)?;
    let mut warnings = Vec::new();

    let sigma = load::sigma_rules(!args.no_builtin, &args.rules, args.placeholders.as_deref())?;
    let mut counts = load::sigma_counts(&sigma, &mut warnings);
    let (iocs, ioc_counts) = load::indicators(
        !args.no_builtin,
        &args.iocs,
        args.ioc_valid_only,
        &mut warnings,
    )?;
    counts.add(ioc_counts);
    if sigma.is_empty() && iocs.is_none() && args.scan.is_empty() {
        return Err(anyhow!("nothing to hunt with: no rule or indicator loaded"));
    }

    let mut read_opts = scan::walk_options(&args.walk);
    read_opts.syslog_year = args.syslog_year;
    if let Some(f) = &args.format_in {
        read_opts.format = Some(
            f.parse::<InputFormat>()
                .map_err(|e| anyhow!("--format-in: {e}"))?,
        );
    }

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
        let outcome =
            pool.install(|| scan::scan_files(&args.scan, &scan_walk, &rules, iocs.as_ref(), &opts));
        warnings.extend(outcome.warnings);
        file_stats = outcome.stats;
        let roots = if args.webroot.is_empty() {
            &args.scan
        } else {
            &args.webroot
        };
        let tb = WebShellRequests::new(outcome.findings, roots, DEFAULT_MAX_REQUESTS);
        if tb.is_empty() {
            file_findings = tb.into_findings();
        } else {
            tieback = Some(tb);
        }
    }

    let (files, problems) = discover(&args.paths, &read_opts);
    let detectors: Vec<&dyn Detector> = std::iter::once(&sigma as &dyn Detector)
        .chain(iocs.as_ref().map(|s| s as &dyn Detector))
        .collect();
    let mut chain = StatefulChain::new();
    if !sigma.correlations().is_empty() {
        chain.push(sigma.correlations());
    }
    if let Some(set) = iocs.as_ref().filter(|s| s.has_stateful()) {
        chain.push(set);
    }
    if let Some(tb) = &tieback {
        chain.push(tb);
    }
    // RFC 3164 syslog lines carry no year: read the other logs first and date the syslog
    // files by the span of that evidence (a copied log's file time is the copy's).
    let (syslog_files, other_files): (Vec<InputFile>, Vec<InputFile>) =
        if read_opts.syslog_year.is_some() || read_opts.format.is_some() {
            (Vec::new(), files)
        } else {
            files.into_iter().partition(|f| {
                std::fs::metadata(&f.path).is_ok_and(|m| m.is_file())
                    && sniff_file(f, &read_opts) == Some(InputFormat::Syslog)
            })
        };
    let progress = Progress::new(syslog_files.len() + other_files.len());
    let read = |files: &[InputFile], opts: &spoor_input::ReadOptions| {
        pool.install(|| {
            read_all(
                files,
                opts,
                || UnitState {
                    matchers: detectors.iter().map(|d| d.matcher()).collect(),
                    partials: chain.start(),
                    hits: Vec::new(),
                    findings: Vec::new(),
                    span: None,
                },
                |state, ev| {
                    progress.event();
                    state.on_event(&chain, ev)
                },
            )
        })
    };
    let (mut states, mut stats) = read(&other_files, &read_opts);
    if !syslog_files.is_empty() {
        let span = states
            .iter()
            .filter_map(|s| s.span)
            .reduce(EvidenceSpan::union);
        if let Some(sp) = span {
            warnings.push(format!(
                "syslog lines without a year dated by the other evidence ({} to {}) in {} files",
                sp.first.format("%Y-%m-%d"),
                sp.last.format("%Y-%m-%d"),
                syslog_files.len()
            ));
        }
        let opts = spoor_input::ReadOptions {
            syslog_year_hint: span,
            ..read_opts.clone()
        };
        let (more, more_stats) = read(&syslog_files, &opts);
        states.extend(more);
        stats.extend(more_stats);
        stats.sort_by(|a, b| a.path.cmp(&b.path));
    }
    progress.finish();

    let mut findings = Vec::new();
    let mut partials = Vec::with_capacity(states.len());
    for state in states {
        findings.extend(state.findings);
        partials.push(state.partials);
    }
    let stateful = chain.finish(partials);
    findings.extend(stateful.findings);
    warnings.extend(stateful.notes);
    findings.extend(file_findings);
    let findings = output::select(findings, &filter);

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
    output::count_findings(&findings, &mut summary);
    summary.elapsed_seconds = started.elapsed().as_secs_f64();
    let shown = output::write_all(&args.out, "spoor hunt", &findings, &summary)?;
    if !shown {
        output::print_summary(&summary);
    }
    let had_errors = summary.files.iter().any(|s| s.error.is_some()) || counts.invalid > 0;
    Ok(if had_errors { 3 } else { 0 })
}
