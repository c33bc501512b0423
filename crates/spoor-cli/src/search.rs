//! `spoor search`: the events that hold a regex, keywords or a field value, with their origin.
//! Reading is `hunt`'s ([`crate::triage_input`]); the query is `spoor_triage::Searcher`'s
//! (linear-time regexes only); each hit becomes a [`Finding`] of a synthetic rule of kind
//! `search`, so that every writer of `hunt` (table, JSON Lines, CSV, HTML) shows it unchanged,
//! sanitised as for findings.

use crate::args::{FormatArg, OutputArgs, SearchArgs, TriageOutArgs};
use crate::{output, triage_input};
use anyhow::{anyhow, Result};
use spoor_event::{Finding, MatchedValue, RuleKind, RuleLevel, RuleMeta, RunSummary};
use spoor_triage::{Query, Searcher};
use std::sync::Arc;
use std::time::Instant;

/// The query of the arguments, and how it is named in findings.
fn query_of(args: &SearchArgs) -> Result<(Query, String)> {
    if let Some(r) = &args.regex {
        return Ok((Query::Regex(r.clone()), format!("regex {r}")));
    }
    if let Some(f) = &args.field {
        let (name, value) = f
            .split_once('=')
            .ok_or_else(|| anyhow!("-f wants FIELD=VALUE, got '{f}'"))?;
        let q = Query::Field {
            name: name.trim().to_string(),
            value: value.to_string(),
        };
        return Ok((q, format!("{}={value}", name.trim())));
    }
    let title = format!(
        "keywords {} ({})",
        args.keywords.join(" "),
        if args.and { "all" } else { "any" }
    );
    Ok((
        Query::Keywords {
            words: args.keywords.clone(),
            all: args.and,
        },
        title,
    ))
}

/// `hunt`'s output arguments for a triage view's (no level or rule filters: the events are
/// already selected).
pub fn output_args(out: &TriageOutArgs, html: Option<&std::path::Path>) -> OutputArgs {
    OutputArgs {
        format: out.format,
        output: out.output.clone(),
        html: html.map(Into::into),
        navigator: None,
        csv: out.csv.clone(),
        jsonl: out.jsonl.clone(),
        color: out.color,
        min_level: None,
        from: None,
        to: None,
        rule_ids: Vec::new(),
        no_dedup: true,
    }
}

/// Runs `spoor search`.
pub fn run(args: SearchArgs) -> Result<i32> {
    let started = Instant::now();
    if matches!(args.out.format, Some(FormatArg::Navigator)) {
        anyhow::bail!("search has no ATT&CK techniques: use table, jsonl, csv or html");
    }
    let bounds = triage_input::time_bounds(&args.out)?;
    let (query, title) = query_of(&args)?;
    let searcher =
        Searcher::new(&query, !args.case_sensitive).map_err(|e| anyhow!("search: {e}"))?;
    let mut meta = RuleMeta::new(
        "search",
        format!("search: {title}"),
        RuleLevel::Informational,
        RuleKind::Search,
    );
    meta.description = Some("an event holding the search query".into());
    let meta = Arc::new(meta);
    let read = triage_input::read_events(&args.input, Vec::new, |found: &mut Vec<Finding>, ev| {
        if !triage_input::in_bounds(ev.timestamp, bounds) {
            return;
        }
        let hits = searcher.find(&ev);
        if hits.is_empty() {
            return;
        }
        let mut f = Finding::from_event(meta.clone(), &ev);
        f.matched = hits
            .into_iter()
            .map(|h| MatchedValue {
                field: h.field,
                value: h.value,
                in_validity: None,
            })
            .collect();
        found.push(f);
    })?;
    let mut findings: Vec<Finding> = read.states.into_iter().flatten().collect();
    findings.sort_by(Finding::report_order);
    let mut summary = RunSummary {
        events: read.stats.iter().map(|s| s.events).sum(),
        unparsed: read.stats.iter().map(|s| s.unparsed).sum(),
        files: read.stats,
        warnings: read.warnings,
        ..RunSummary::default()
    };
    output::count_findings(&findings, &mut summary);
    summary.elapsed_seconds = started.elapsed().as_secs_f64();
    let out = output_args(&args.out, args.out.html.as_deref());
    let shown = output::write_all(&out, "spoor search", &findings, &summary)?;
    if !shown {
        output::print_summary(&summary);
    }
    Ok(triage_input::exit_code(&summary.files))
}
