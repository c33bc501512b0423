//! `spoor ingest`, `spoor convert --to clickhouse` and `spoor hunt --clickhouse`: the hunt run
//! inside ClickHouse. The SQL, the client and the row format live in `spoor-clickhouse`; this
//! module wires them to the readers, the rule loader and the writers.

use crate::args::{ClickHouseArgs, ConvertArgs, HuntArgs, IngestArgs};
use crate::pipeline::Collector;
use crate::{load, output, progress::Progress, scan};
use anyhow::{bail, Context, Result};
use spoor_clickhouse::{Client, Config, InsertStats, Inserter, TimeRange};
use spoor_event::{RunSummary, StatefulChain};
use spoor_input::{discover, read_units, sniff_file, EvidenceSpan, InputFile, InputFormat};
use std::collections::HashSet;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most bytes of one insert.
const BATCH_BYTES: usize = 32 << 20;
/// Findings handed to the sorter at once while rows stream in.
const STREAM_BATCH: usize = 512;

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
    let client = client(&args.clickhouse, &args.ch)?;
    client.ping()?;
    match &args.cluster {
        Some(c) => spoor_clickhouse::create_cluster_table(&client, &args.ch.table, c)?,
        None => spoor_clickhouse::create_table(&client, &args.ch.table)?,
    }
    let opts = scan::read_options(&args.walk, args.syslog_year, args.format_in.as_deref())?;
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
            // Each unit sends its last batch when it ends: held to the end, the partial
            // batches of hundreds of files would add up to gigabytes.
            read_units(
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
                |(ins, span)| (ins.finish(), span),
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
    for (done, _) in states {
        total.add(done);
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
        "-- spoor convert --to clickhouse: {} queries, {} rules expressed, {} not; {} correlations as window queries, {} not",
        plan.queries.len(),
        plan.queries.iter().map(|q| q.rules.len()).sum::<usize>(),
        plan.skipped.len(),
        plan.correlations.len(),
        plan.correlations_local.len()
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
            "-- correlation: {} {}: a window query over its inputs; one row per finding",
            comment(&c.rule.id),
            comment(&c.rule.title)
        )?;
        writeln!(out, "{};\n", c.sql)?;
    }
    for s in &plan.correlations_local {
        writeln!(
            out,
            "-- correlation: {} {}: run by spoor over the rows of its base rules: {}",
            comment(&s.rule.id),
            comment(&s.rule.title),
            comment(&s.reason)
        )?;
    }
    let mut warnings = Vec::new();
    let (iocs, _) = load::indicators(!args.no_builtin, &args.iocs, false, &mut warnings)?;
    if let Some(set) = &iocs {
        let pre = set.prefilter();
        let terms = spoor_clickhouse::IocTerms {
            fields: &pre.fields,
            ip_fields: &pre.ip_fields,
            needles: &pre.needles,
            networks: &pre.networks,
        };
        if let Some(sql) =
            spoor_clickhouse::ioc_query(&args.database, &args.table, terms, TimeRange::default())
        {
            writeln!(
                out,
                "-- indicators: {} loaded; the rows this query returns are the candidates, which\n\
                 -- spoor's indicator matcher then decides on ({} needles, {} networks)",
                set.len(),
                pre.needles.len(),
                pre.networks.len()
            )?;
            writeln!(out, "{sql};\n")?;
        }
        for (m, why) in &pre.unfiltered {
            writeln!(
                out,
                "-- indicator not expressed: {} {}: {}",
                comment(&m.id),
                comment(&m.title),
                comment(why)
            )?;
        }
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

/// Runs `spoor hunt --clickhouse`: the queries stream their rows into the same chain as the
/// local hunt (filter -> [`Collector`]'s spilling sorter -> writers), so memory stays flat
/// however many rows match.
pub fn hunt(args: HuntArgs) -> Result<i32> {
    let started = Instant::now();
    let url = args.clickhouse.as_deref().unwrap_or_default();
    if !args.paths.is_empty() {
        bail!("--clickhouse hunts the table: give no PATH (load files with `spoor ingest`)");
    }
    if !args.scan.is_empty() {
        bail!(
            "--scan reads files, which are not in the table: it is not available with --clickhouse"
        );
    }
    let filter = output::filter_of(&args.out)?;
    let range = TimeRange {
        from: filter.from,
        to: filter.to,
    };
    let client = client(url, &args.ch)?;
    if !spoor_clickhouse::valid_identifier(&args.ch.table) {
        bail!("--table '{}': letters, digits and '_' only", args.ch.table);
    }
    let mut warnings = Vec::new();
    let (sigma, iocs, counts) = load::hunt_detectors(&args, &mut warnings)?;
    if sigma.is_empty() && iocs.is_none() {
        bail!("nothing to hunt with: no rule or indicator loaded");
    }
    let plan = spoor_clickhouse::plan_in(&sigma, &client.config().database, &args.ch.table, range);
    for s in &plan.skipped {
        warnings.push(format!(
            "not run inside ClickHouse: {} {}: {}",
            s.rule.id, s.rule.title, s.reason
        ));
    }
    for s in &plan.correlations_local {
        warnings.push(format!(
            "correlation run by spoor over the rows of its base rules, not in ClickHouse: {} {}: {}",
            s.rule.id, s.rule.title, s.reason
        ));
    }
    client.ping()?;
    let events = spoor_clickhouse::count_events(&client, &args.ch.table)?;
    let mut outputs = output::Outputs::open(&args.out, "spoor hunt --clickhouse")?;
    let collector = Collector::new(filter, args.sort_budget_mib.saturating_mul(1 << 20));
    // Correlations that SQL does not express run here, with the local engine's code, over the
    // matches of their base rules that the queries stream back; the others' findings from
    // this chain are dropped (the server made them).
    let local_corr: HashSet<*const spoor_event::RuleMeta> = plan
        .correlations_local
        .iter()
        .map(|s| Arc::as_ptr(&s.rule))
        .collect();
    let mut chain = StatefulChain::new();
    if !local_corr.is_empty() {
        chain.push(sigma.correlations());
    }
    let mut partials = chain.start();
    let mut batch = Vec::new();
    let run = spoor_clickhouse::run_plan(&client, &sigma, &plan, |ev, hits| {
        chain.observe(&mut partials, ev, &hits);
        batch.extend(hits.into_iter().filter(|f| !f.rule.feeds_only));
        if batch.len() >= STREAM_BATCH {
            collector.take(&mut batch);
        }
    })?;
    let ioc_run = match &iocs {
        Some(set) => hunt_indicators(&client, &args.ch.table, set, range, &collector)?,
        None => IocRun::default(),
    };
    warnings.extend(ioc_run.warnings);
    let corr_run = spoor_clickhouse::run_correlations(&client, &sigma, &plan, |f| {
        if !f.rule.feeds_only {
            batch.push(f);
        }
        if batch.len() >= STREAM_BATCH {
            collector.take(&mut batch);
        }
    })?;
    collector.take(&mut batch);
    let mut stateful = chain.finish([partials]);
    stateful
        .findings
        .retain(|f| local_corr.contains(&Arc::as_ptr(&f.rule)));
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
    for (qi, e) in &corr_run.failed {
        let q = &plan.correlations[*qi];
        warnings.push(format!(
            "the query of correlation {} {} failed: {e}",
            q.rule.id, q.rule.title
        ));
    }
    warnings.insert(0, format!(
        "ClickHouse: {} rule queries ({} rows), {} indicator candidate rows, {} correlations as window queries ({} findings), {} correlations run by spoor",
        run.queries,
        run.rows,
        ioc_run.rows,
        corr_run.queries,
        corr_run.rows,
        plan.correlations_local.len()
    ));
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
    summary.peak_rss_bytes = output::peak_rss_bytes();
    let shown = outputs.finish(&summary)?;
    if !shown {
        output::print_summary(&summary);
    }
    Ok(
        if counts.invalid > 0
            || !run.failed.is_empty()
            || !corr_run.failed.is_empty()
            || ioc_run.failed
        {
            3
        } else {
            0
        },
    )
}

/// What the indicator part of a hunt inside ClickHouse did.
#[derive(Default)]
struct IocRun {
    rows: u64,
    failed: bool,
    warnings: Vec<String>,
}

/// Indicators inside ClickHouse: the server selects the rows that may match (set membership on
/// the mapped fields, networks with guarded `isIPAddressInRange`), and spoor's own matcher and
/// STIX correlation decide on them, as in a local hunt. Indicators whose patterns bound no
/// value (only `LIKE`, `MATCHES`, `NOT`...) would need every row: they are listed, not run.
fn hunt_indicators(
    client: &Client,
    table: &str,
    set: &spoor_ioc::IocSet,
    range: TimeRange,
    collector: &Collector,
) -> Result<IocRun> {
    use spoor_event::Detector;
    let pre = set.prefilter();
    let mut out = IocRun::default();
    let skipped: HashSet<*const spoor_event::RuleMeta> =
        pre.unfiltered.iter().map(|(m, _)| Arc::as_ptr(m)).collect();
    for (m, why) in &pre.unfiltered {
        out.warnings.push(format!(
            "indicator not run inside ClickHouse: {} {}: {why}",
            m.id, m.title
        ));
    }
    let terms = spoor_clickhouse::IocTerms {
        fields: &pre.fields,
        ip_fields: &pre.ip_fields,
        needles: &pre.needles,
        networks: &pre.networks,
    };
    let db = client.config().database.clone();
    let Some(sql) = spoor_clickhouse::ioc_query(&db, table, terms, range) else {
        return Ok(out);
    };
    let mut matcher = set.matcher();
    let mut chain = StatefulChain::new();
    if set.has_stateful() {
        chain.push(set);
    }
    let mut partials = chain.start();
    let mut batch = Vec::new();
    let mut hits = Vec::new();
    let got = spoor_clickhouse::stream_events(client, &sql, |ev| {
        hits.clear();
        matcher.check(&ev, &mut hits);
        chain.observe(&mut partials, &ev, &hits);
        batch.extend(
            hits.drain(..)
                .filter(|f| !skipped.contains(&Arc::as_ptr(&f.rule))),
        );
        if batch.len() >= STREAM_BATCH {
            collector.take(&mut batch);
        }
    });
    match got {
        Ok(rows) => out.rows = rows,
        Err(
            e @ (spoor_clickhouse::Error::Server { .. }
            | spoor_clickhouse::Error::MissingFunction(_)),
        ) => {
            out.failed = true;
            out.warnings
                .push(format!("the indicator query failed, no indicator ran: {e}"));
        }
        Err(e) => return Err(e.into()),
    }
    collector.take(&mut batch);
    let mut stateful = chain.finish([partials]);
    stateful
        .findings
        .retain(|f| !skipped.contains(&Arc::as_ptr(&f.rule)));
    collector.take(&mut stateful.findings);
    out.warnings.extend(stateful.notes);
    Ok(out)
}
