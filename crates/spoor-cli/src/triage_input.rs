//! Reading for the triage views (`search`, `logons`, `metrics`): the same walking, sniffing and
//! readers as `hunt`, with its two passes for RFC 3164 syslog (lines without a year are dated by
//! the span of the run's other evidence, not by a copied file's modification time).

use crate::args::{InputArgs, TriageOutArgs};
use anyhow::Result;
use chrono::{DateTime, Utc};
use spoor_event::{Event, FileStats};
use spoor_input::{discover, read_all, EvidenceSpan, InputFile};
use spoor_report::{parse_time_bound, TimeBound};

/// What the reading produced: the per-thread states, every file's statistics (including files
/// that could not be opened) and notes for the summary.
pub struct ReadOutcome<S> {
    pub states: Vec<S>,
    pub stats: Vec<FileStats>,
    pub warnings: Vec<String>,
}

struct Unit<S> {
    state: S,
    span: Option<EvidenceSpan>,
}

/// Reads every input file on the pool, each thread folding events into its own `S`.
pub fn read_events<S: Send>(
    input: &InputArgs,
    init: impl Fn() -> S + Sync + Send,
    on_event: impl Fn(&mut S, Event) + Sync + Send,
) -> Result<ReadOutcome<S>> {
    let pool = crate::thread_pool(input.walk.threads)?;
    let opts =
        crate::scan::read_options(&input.walk, input.syslog_year, input.format_in.as_deref())?;
    let (files, problems) = discover(&input.paths, &opts);
    let read = |files: &[InputFile], o: &spoor_input::ReadOptions| {
        pool.install(|| {
            read_all(
                files,
                o,
                || Unit {
                    state: init(),
                    span: None,
                },
                |u, ev| {
                    if let Some(t) = ev.timestamp {
                        EvidenceSpan::include(&mut u.span, t);
                    }
                    on_event(&mut u.state, ev);
                },
            )
        })
    };
    let mut warnings = Vec::new();
    let (units, stats) =
        crate::pipeline::read_syslog_last(files, &opts, read, |u| u.span, &mut warnings);
    let mut all = problems;
    all.extend(stats);
    Ok(ReadOutcome {
        states: units.into_iter().map(|u| u.state).collect(),
        stats: all,
        warnings,
    })
}

/// `--from` and `--to`, either open.
pub type Bounds = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// `--from` / `--to`, validated.
pub fn time_bounds(out: &TriageOutArgs) -> Result<Bounds> {
    let from = out
        .from
        .as_deref()
        .map(|t| parse_time_bound(t, TimeBound::From))
        .transpose()?;
    let to = out
        .to
        .as_deref()
        .map(|t| parse_time_bound(t, TimeBound::To))
        .transpose()?;
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            anyhow::bail!("--from is after --to");
        }
    }
    Ok((from, to))
}

/// True when `t` lies inside the bounds (an undated event only when there are none).
pub fn in_bounds(t: Option<DateTime<Utc>>, (from, to): Bounds) -> bool {
    match t {
        Some(t) => from.is_none_or(|f| t >= f) && to.is_none_or(|e| t <= e),
        None => from.is_none() && to.is_none(),
    }
}

/// Exit code of a run: 3 when some input could not be read.
pub fn exit_code(stats: &[FileStats]) -> i32 {
    if stats.iter().any(|s| s.error.is_some()) {
        3
    } else {
        0
    }
}
