//! `spoor ingest`, `spoor convert --to clickhouse` and `spoor hunt --clickhouse`: the hunt run
//! inside ClickHouse. The SQL, the client and the row format live in `spoor-clickhouse`; this
//! module wires them to the readers, the rule loader and the writers.

use crate::args::{ClickHouseArgs, ConvertArgs, HuntArgs, IngestArgs};
use crate::pipeline::Collector;
use crate::{load, output, progress::Progress, scan};
use anyhow::{anyhow, bail, Context, Result};
use spoor_clickhouse::{Client, Config, InsertStats, Inserter};
use spoor_event::{RunSummary, StatefulChain};
use spoor_input::{discover, read_all, sniff_file, EvidenceSpan, InputFile, InputFormat};
use std::io::Write;
use std::time::{Duration, Instant};

/// Most bytes of one insert.
const BATCH_BYTES: usize = 32 << 20;

/// The client of `url` with the credentials from the environment or the password file.
fn client(url: &str, ch: &ClickHouseArgs) -> Result<Client> {
    let mut cfg = Config::new(url);
    cfg.database = ch.database.clone();
    cfg.user = ch
        .user
        .clone()
        .or_else(|| std::env::var("SPOOR_CLICKHOUSE_USER").ok())
        .filter(|u| !u.is_empty());
    cfg.password = match &ch.password_file {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read password file {}", p.display()))?;
            Some(text.lines().next().unwrap_or_default().to_string())
        }
        None => std::env::var("SPOOR_CLICKHOUSE_PASSWORD").ok(),
    };
    let t = Duration::from_secs(ch.timeout.max(1));
    cfg.connect_timeout = t.min(Duration::from_secs(30));
    cfg.io_timeout = t;
    Ok(Client::new(cfg)?)
}

/// Runs `spoor ingest`.
pub fn ingest(args: IngestArgs) -> Result<i32> {
    let started = Instant::now();
    if let Some(c) = &args.cluster {
        bail!(
            "--cluster {c}: Replicated and Distributed tables are not implemented yet; create them \
             by hand as docs/clickhouse.md shows and ingest into the Distributed table with --table"
        );
    }
    let client = client(&args.clickhouse, &args.ch)?;
    client.ping()?;
    spoor_clickhouse::create_table(&client, &args.ch.table)?;
    let mut opts = scan::walk_options(&args.walk);
    opts.syslog_year = args.syslog_year;
    if let Some(f) = &args.format_in {
        opts.format = Some(
            f.parse::<InputFormat>()
                .map_err(|e| anyhow!("--format-in: {e}"))?,
        );
    }
    let pool = crate::thread_pool(args.walk.threads)?;
    let (files, problems) = discover(&args.paths, &opts);
    // Yearless syslog lines are dated by the other evidence, as `hunt` does: other files first.
    let (syslog_files, other_files): (Vec<InputFile>, Vec<InputFile>) =
        if opts.syslog_year.is_some() || opts.format.is_some() {
            (Vec::new(), files)
        } else {
            files.into_iter().partition(|f| {
                std::fs::metadata(&f.path).is_ok_and(|m| m.is_file())
                    && sniff_file(f, &opts) == Some(InputFormat::Syslog)
            })
        };
    let progress = Progress::new(syslog_files.len() + other_files.len());
    let table = args.ch.table.as_str();
    let read = |files: &[InputFile], opts: &spoor_input::ReadOptions| {
        pool.install(|| {
            read_all(
                files,
                opts,
                || {
                    let ins = Inserter::new(client.clone(), table, args.batch_rows, BATCH_BYTES);
                    (ins, None::<EvidenceSpan>)
                },
                |(ins, span), ev| {
                    progress.event();
                    if let Some(t) = ev.timestamp {
                        EvidenceSpan::include(span, t);
                    }
                    ins.push(&ev);
                },
            )
        })
    };
    let (mut states, mut stats) = read(&other_files, &opts);
    if !syslog_files.is_empty() {
        let span = states
            .iter()
            .filter_map(|s| s.1)
            .reduce(EvidenceSpan::union);
        let sopts = spoor_input::ReadOptions {
            syslog_year_hint: span,
            ..opts.clone()
        };
        let (more, more_stats) = read(&syslog_files, &sopts);
        states.extend(more);
        stats.extend(more_stats);
        stats.sort_by(|a, b| a.path.cmp(&b.path));
    }
    let mut total = InsertStats::default();
    for (ins, _) in states {
        total.add(ins.finish());
    }
    progress.finish();
    let mut all = problems;
    all.extend(stats);
    let events: u64 = all.iter().map(|s| s.events).sum();
    let unparsed: u64 = all.iter().map(|s| s.unparsed).sum();
    let secs = started.elapsed().as_secs_f64();
    let mut err = std::io::stderr().lock();
    for s in all.iter().filter(|s| s.error.is_some()) {
        let _ = writeln!(
            err,
            "spoor: {}: {}",
            spoor_report::terminal_safe(&s.path),
            spoor_report::terminal_safe(s.error.as_deref().unwrap_or_default())
        );
    }
    for e in total.errors.iter().take(5) {
        let _ = writeln!(
            err,
            "spoor: insert failed: {}",
            spoor_report::terminal_safe(e)
        );
    }
    let _ = writeln!(
        err,
        "spoor: ingest: {} files, {} events, {} unparsed; {} written ({} bytes), {} not written; {:.2}s ({:.0} events/s)",
        all.len(),
        events,
        unparsed,
        total.written,
        total.bytes,
        total.failed,
        secs,
        total.written as f64 / secs.max(1e-9)
    );
    let had_errors = total.failed > 0 || all.iter().any(|s| s.error.is_some());
    Ok(if had_errors { 3 } else { 0 })
}

/// Runs `spoor convert --to clickhouse`.
pub fn convert(args: ConvertArgs) -> Result<i32> {
    for (what, name) in [("--table", &args.table), ("--database", &args.database)] {
        if !spoor_clickhouse::valid_identifier(name) {
            bail!("{what} '{name}': letters, digits and '_' only");
        }
    }
    let set = load::sigma_rules(!args.no_builtin, &args.rules, args.placeholders.as_deref())?;
    let plan = spoor_clickhouse::plan(&set, &args.database, &args.table);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    writeln!(
        out,
        "-- spoor convert --to clickhouse: {} queries, {} rules expressed, {} not",
        plan.queries.len(),
        plan.queries.iter().map(|q| q.rules.len()).sum::<usize>(),
        plan.skipped.len()
    )?;
    writeln!(
        out,
        "-- Table: spoor ingest's schema (spoor_clickhouse::create_table_sql). Each row's `hits`\n\
         -- lists the numbers of the query's rules that matched it.\n"
    )?;
    let comment = |s: &str| s.replace(['\n', '\r'], " ");
    for q in &plan.queries {
        writeln!(out, "-- log source: {}", comment(&q.logsource))?;
        for (n, &r) in q.rules.iter().enumerate() {
            let m = &set.compiled()[r].meta;
            writeln!(
                out,
                "--   {}: {} {}",
                n + 1,
                comment(&m.id),
                comment(&m.title)
            )?;
        }
        writeln!(out, "{};\n", q.sql)?;
    }
    for c in &plan.correlations {
        writeln!(
            out,
            "-- correlation: {} {}: windows run by spoor over the rows of its base rules",
            comment(&c.id),
            comment(&c.title)
        )?;
    }
    for s in &plan.skipped {
        writeln!(
            out,
            "-- not expressed: {} {}: {}",
            comment(&s.rule.id),
            comment(&s.rule.title),
            comment(&s.reason)
        )?;
    }
    out.flush()?;
    Ok(0)
}

/// Runs `spoor hunt --clickhouse`.
pub fn hunt(args: HuntArgs) -> Result<i32> {
    let started = Instant::now();
    let url = args.clickhouse.as_deref().unwrap_or_default();
    if !args.paths.is_empty() {
        bail!("--clickhouse hunts the table: give no PATH (load files with `spoor ingest`)");
    }
    if !args.scan.is_empty() || !args.iocs.is_empty() {
        bail!("--scan and --iocs are not available with --clickhouse yet");
    }
    let filter = output::filter_of(&args.out)?;
    let client = client(url, &args.ch)?;
    if !spoor_clickhouse::valid_identifier(&args.ch.table) {
        bail!("--table '{}': letters, digits and '_' only", args.ch.table);
    }
    let mut warnings = Vec::new();
    let sigma = load::sigma_rules(!args.no_builtin, &args.rules, args.placeholders.as_deref())?;
    let counts = load::sigma_counts(&sigma, &mut warnings);
    if sigma.is_empty() {
        bail!("nothing to hunt with: no rule loaded");
    }
    if !args.no_builtin {
        warnings.push(
            "the built-in indicators are not run inside ClickHouse yet (only Sigma rules)".into(),
        );
    }
    let plan = spoor_clickhouse::plan(&sigma, &client.config().database, &args.ch.table);
    for s in &plan.skipped {
        warnings.push(format!(
            "not run inside ClickHouse: {} {}: {}",
            s.rule.id, s.rule.title, s.reason
        ));
    }
    client.ping()?;
    let events = spoor_clickhouse::count_events(&client, &args.ch.table)?;
    // Correlations: their windows run here, with the local engine's code, over the matches of
    // their base rules that the queries stream back.
    let mut chain = StatefulChain::new();
    if !sigma.correlations().is_empty() {
        chain.push(sigma.correlations());
    }
    let mut partials = chain.start();
    // Findings go through the same filter and spilling sorter as a local hunt's, as they come.
    let mut outputs = output::Outputs::open(&args.out, "spoor hunt --clickhouse")?;
    let collector = Collector::new(filter, args.sort_budget_mib.saturating_mul(1 << 20));
    let run = spoor_clickhouse::run_plan(&client, &sigma, &plan, |ev, hits| {
        chain.observe(&mut partials, ev, &hits);
        let mut shown: Vec<_> = hits.into_iter().filter(|f| !f.rule.feeds_only).collect();
        collector.take(&mut shown);
    })?;
    let mut stateful = chain.finish([partials]);
    collector.take(&mut stateful.findings);
    warnings.extend(stateful.notes);
    for (qi, e) in &run.failed {
        let q = &plan.queries[*qi];
        warnings.push(format!(
            "query {} ({}, {} rules) failed, its rules did not run: {e}",
            qi + 1,
            q.logsource,
            q.rules.len()
        ));
    }
    let mut summary = RunSummary {
        events,
        rules_loaded: counts.ok,
        rules_unsupported: counts.unsupported,
        rules_invalid: counts.invalid,
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
    Ok(if counts.invalid > 0 || !run.failed.is_empty() {
        3
    } else {
        0
    })
}
