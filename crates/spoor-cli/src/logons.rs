//! `spoor logons`: who logged on where from. The counting is `spoor_triage::LogonTable`'s (one
//! table per reading thread, merged); this module reads, turns rows into cells and writes them.

use crate::args::LogonsArgs;
use crate::rows::{self, time_cell, Cell, Rows};
use crate::triage_input;
use anyhow::Result;
use spoor_triage::{LogonOptions, LogonRow, LogonTable};

/// Columns of the logon table, in order.
pub const COLUMNS: [&str; 12] = [
    "user",
    "source",
    "logon_type",
    "host",
    "success",
    "failure",
    "logoff",
    "other",
    "first_seen",
    "last_seen",
    "events",
    "flags",
];

pub fn cells(r: &LogonRow) -> Vec<Cell> {
    vec![
        r.user.as_str().into(),
        r.source.as_str().into(),
        r.logon_type.as_str().into(),
        r.host.as_str().into(),
        r.success.into(),
        r.failure.into(),
        r.logoff.into(),
        r.other.into(),
        time_cell(r.first),
        time_cell(r.last),
        r.events.join(",").into(),
        r.flags.join(",").into(),
    ]
}

/// Adds the flag `indicator` to rows whose source address an indicator names (matched as the
/// indicator engine matches a `source.ip` field: addresses and networks).
fn mark_indicators(
    rows: &mut [LogonRow],
    paths: &[std::path::PathBuf],
    warnings: &mut Vec<String>,
) -> Result<()> {
    let (set, _) = crate::load::indicators(false, paths, false, warnings)?;
    let Some(set) = set else {
        return Ok(());
    };
    let mut matcher = spoor_event::Detector::matcher(&set);
    let mut hits = Vec::new();
    let mut seen: std::collections::BTreeMap<String, bool> = std::collections::BTreeMap::new();
    for r in rows.iter_mut() {
        let hit = *seen.entry(r.source.clone()).or_insert_with(|| {
            if r.source.parse::<std::net::IpAddr>().is_err() {
                return false;
            }
            hits.clear();
            let ev = spoor_event::Event::new("logons", spoor_event::Position::Index(1))
                .with("source.ip", r.source.as_str());
            matcher.check(&ev, &mut hits);
            !hits.is_empty()
        });
        if hit {
            r.flags.push("indicator".into());
        }
    }
    Ok(())
}

/// Runs `spoor logons`.
pub fn run(args: LogonsArgs) -> Result<i32> {
    let (from, to) = triage_input::time_bounds(&args.out)?;
    let opts = LogonOptions {
        from,
        to,
        many_accounts: args.many_accounts,
    };
    let read = triage_input::read_events(
        &args.input,
        || LogonTable::new(opts.clone()),
        |t: &mut LogonTable, ev| t.observe(&ev),
    )?;
    let mut table = LogonTable::new(opts);
    for t in read.states {
        table.merge(t);
    }
    let mut logon_rows = table.rows();
    let mut warnings = read.warnings;
    if !args.iocs.is_empty() {
        mark_indicators(&mut logon_rows, &args.iocs, &mut warnings)?;
    }
    let view = Rows {
        kind: "logon",
        columns: COLUMNS.to_vec(),
        rows: logon_rows.iter().map(cells).collect(),
    };
    let events: u64 = read.stats.iter().map(|s| s.events).sum();
    rows::write_all(&args.out, "spoor logons", &[("Logons", &view)])?;
    let counted: u64 = logon_rows
        .iter()
        .map(|r| r.success + r.failure + r.logoff + r.other)
        .sum();
    eprintln!(
        "spoor: {} files, {} events, {} authentication events in {} rows",
        read.stats.len(),
        events,
        counted,
        logon_rows.len()
    );
    for s in read.stats.iter().filter(|s| s.error.is_some()) {
        eprintln!(
            "  {}: error: {}",
            spoor_report::terminal_safe(&s.path),
            spoor_report::terminal_safe(s.error.as_deref().unwrap_or_default())
        );
    }
    for w in &warnings {
        eprintln!("  warning: {}", spoor_report::terminal_safe(w));
    }
    Ok(triage_input::exit_code(&read.stats))
}
