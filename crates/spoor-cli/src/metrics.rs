//! `spoor metrics`: what the evidence is (per file and per host: format, log sources, counts,
//! time range, events per EventID/channel/status), where it is silent (gaps) and where it shows
//! signs of tampering, and what the built-in pack can see in it: each tradecraft item of
//! `docs/apt40.md` (embedded at build time) with the rules that can run on these logs and those
//! that cannot, and the evidence's blind spots. The counting is `spoor_triage`'s; this module
//! reads, joins the pack's rules and writes.

use crate::args::MetricsArgs;
use crate::rows::{self, time_cell, Cell, Rows};
use crate::triage_input;
use anyhow::{anyhow, Result};
use spoor_event::Position;
use spoor_triage::{
    blind_spots, coverage, human_duration, parse_coverage_doc, parse_duration, Availability,
    Metrics, MetricsOptions, MetricsReport,
};
use std::collections::BTreeMap;

/// Most values listed in a file's `top` cell.
const TOP: usize = 5;

fn top(counts: &BTreeMap<String, u64>) -> String {
    let mut v: Vec<(&String, &u64)> = counts.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let mut parts: Vec<String> = v
        .iter()
        .take(TOP)
        .map(|(k, n)| format!("{k}:{n}"))
        .collect();
    if v.len() > TOP {
        parts.push(format!("+{} more", v.len() - TOP));
    }
    parts.join(" ")
}

fn position_text(p: Option<Position>) -> Cell {
    p.map_or(Cell::Empty, |p| {
        Cell::Text(match p {
            Position::Line(n) => format!("line {n}"),
            Position::Record(n) => format!("record {n}"),
            Position::Index(n) => format!("index {n}"),
        })
    })
}

/// The views of a report: files, hosts, counts, gaps, tampering.
fn views(report: &MetricsReport, formats: &BTreeMap<String, String>) -> Vec<(&'static str, Rows)> {
    let files = Rows {
        kind: "file",
        columns: vec![
            "path",
            "format",
            "logsources",
            "events",
            "undated",
            "first",
            "last",
            "hosts",
            "top",
        ],
        rows: report
            .files
            .iter()
            .map(|f| {
                let top_of = if !f.event_ids.is_empty() {
                    format!("EventID {}", top(&f.event_ids))
                } else if !f.statuses.is_empty() {
                    format!("status {}", top(&f.statuses))
                } else {
                    String::new()
                };
                vec![
                    f.path.as_str().into(),
                    formats.get(&f.path).map(String::as_str).into(),
                    f.logsources.join(" ").into(),
                    f.events.into(),
                    f.undated.into(),
                    time_cell(f.first),
                    time_cell(f.last),
                    f.hosts.join(" ").into(),
                    top_of.into(),
                ]
            })
            .collect(),
    };
    let hosts = Rows {
        kind: "host",
        columns: vec!["host", "events", "first", "last", "files", "logsources"],
        rows: report
            .hosts
            .iter()
            .map(|h| {
                vec![
                    h.host.as_str().into(),
                    h.events.into(),
                    time_cell(h.first),
                    time_cell(h.last),
                    (h.files.len() as u64).into(),
                    h.logsources.join(" ").into(),
                ]
            })
            .collect(),
    };
    let mut counts = Rows {
        kind: "count",
        columns: vec!["scope", "path", "host", "what", "value", "events"],
        rows: Vec::new(),
    };
    for f in &report.files {
        for (what, m) in [
            ("EventID", &f.event_ids),
            ("channel", &f.channels),
            ("status", &f.statuses),
        ] {
            for (k, n) in m {
                counts.rows.push(vec![
                    "file".into(),
                    f.path.as_str().into(),
                    Cell::Empty,
                    what.into(),
                    k.as_str().into(),
                    (*n).into(),
                ]);
            }
        }
    }
    for h in &report.hosts {
        for (what, m) in [("EventID", &h.event_ids), ("channel", &h.channels)] {
            for (k, n) in m {
                counts.rows.push(vec![
                    "host".into(),
                    Cell::Empty,
                    h.host.as_str().into(),
                    what.into(),
                    k.as_str().into(),
                    (*n).into(),
                ]);
            }
        }
    }
    let gaps = Rows {
        kind: "gap",
        columns: vec![
            "path",
            "silent_from",
            "silent_to",
            "silent_for",
            "others_meanwhile",
        ],
        rows: report
            .gaps
            .iter()
            .map(|g| {
                vec![
                    g.path.as_str().into(),
                    time_cell(Some(g.from)),
                    time_cell(Some(g.to)),
                    human_duration((g.to - g.from).num_seconds()).into(),
                    g.others_meanwhile.into(),
                ]
            })
            .collect(),
    };
    let tamper = Rows {
        kind: "tampering",
        columns: vec!["path", "kind", "time", "host", "where", "detail"],
        rows: report
            .tampering
            .iter()
            .map(|t| {
                vec![
                    t.path.as_str().into(),
                    t.kind.as_str().into(),
                    time_cell(t.time),
                    t.host.as_deref().into(),
                    position_text(t.position),
                    t.detail.as_str().into(),
                ]
            })
            .collect(),
    };
    vec![
        ("Files", files),
        ("Hosts", hosts),
        (
            "Events per EventID, channel and status, per file and per host",
            counts,
        ),
        ("Gaps (a log silent while others are not)", gaps),
        ("Tampering and missing ends", tamper),
    ]
}

/// The pack's coverage document.
const COVERAGE_DOC: &str = include_str!("../../../docs/apt40.md");

/// The coverage and blind-spot views: which advisory items the built-in pack can show here.
fn coverage_views(report: &MetricsReport) -> Result<Vec<(&'static str, Rows)>> {
    let set = crate::load::sigma_rules(true, &[], None)?;
    let mut runs: BTreeMap<String, bool> = BTreeMap::new();
    for (meta, ok) in set.runs_on_any(&report.logsources) {
        let file = meta.path.as_deref().unwrap_or_default();
        let file = file.strip_prefix("builtin:").unwrap_or(file).to_string();
        *runs.entry(file).or_default() |= ok;
    }
    let correlations: std::collections::BTreeSet<String> = set
        .correlations()
        .rules()
        .filter_map(|m| m.path.as_deref())
        .map(|p| p.strip_prefix("builtin:").unwrap_or(p).to_string())
        .collect();
    let availability = |file: &str| match runs.get(file) {
        Some(true) => Availability::Runs,
        Some(false) => Availability::CannotRun,
        None if correlations.contains(file) => Availability::Correlation,
        None => Availability::NotLoaded,
    };
    let rows = coverage(&parse_coverage_doc(COVERAGE_DOC), &availability);
    let cov = Rows {
        kind: "coverage",
        columns: vec![
            "tradecraft",
            "can_show",
            "rules_that_run",
            "rules_that_cannot",
            "logs_needed",
        ],
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    r.tradecraft.as_str().into(),
                    r.can_show.into(),
                    r.runs.join(" ").into(),
                    r.cannot.join(" ").into(),
                    r.logs_needed.join("; ").into(),
                ]
            })
            .collect(),
    };
    let blind = Rows {
        kind: "blind_spot",
        columns: vec!["note"],
        rows: blind_spots(&report.facts)
            .into_iter()
            .map(|n| vec![Cell::Text(n)])
            .collect(),
    };
    Ok(vec![
        (
            "Coverage of the advisory by the built-in pack (docs/apt40.md)",
            cov,
        ),
        ("Blind spots", blind),
    ])
}

/// Runs `spoor metrics`.
pub fn run(args: MetricsArgs) -> Result<i32> {
    let gap = parse_duration(&args.gap)
        .ok_or_else(|| anyhow!("--gap: '{}' is not a duration like 30m, 6h or 2d", args.gap))?;
    let (from, to) = triage_input::time_bounds(&args.out)?;
    let opts = MetricsOptions { gap, from, to };
    let read = triage_input::read_events(
        &args.input,
        || Metrics::new(opts.clone()),
        |m: &mut Metrics, ev| m.observe(&ev),
    )?;
    let mut metrics = Metrics::new(opts);
    for m in read.states {
        metrics.merge(m);
    }
    let report = metrics.report();
    let formats: BTreeMap<String, String> = read
        .stats
        .iter()
        .map(|s| (s.path.clone(), s.format.clone()))
        .collect();
    let mut views = views(&report, &formats);
    if !args.no_coverage {
        views.extend(coverage_views(&report)?);
    }
    let tables: Vec<(&str, &Rows)> = views.iter().map(|(t, r)| (*t, r)).collect();
    rows::write_all(&args.out, "spoor metrics", &tables)?;
    eprintln!(
        "spoor: {} files, {} events, {} hosts, {} gaps, {} tampering signs",
        read.stats.len(),
        read.stats.iter().map(|s| s.events).sum::<u64>(),
        report.hosts.len(),
        report.gaps.len(),
        report.tampering.len()
    );
    for s in read.stats.iter().filter(|s| s.error.is_some()) {
        eprintln!(
            "  {}: error: {}",
            spoor_report::terminal_safe(&s.path),
            spoor_report::terminal_safe(s.error.as_deref().unwrap_or_default())
        );
    }
    for w in &read.warnings {
        eprintln!("  warning: {}", spoor_report::terminal_safe(w));
    }
    Ok(triage_input::exit_code(&read.stats))
}
