//! `spoor hunt --follow` and `--state`: the live hunt. The same detectors as the batch hunt, fed
//! by a [`Follower`] instead of the parallel readers, on one thread, so that a state saved
//! between two polls says exactly which lines were read, which correlation windows are open
//! and how long `--output` was at that instant.
//!
//! - Findings are written as they come, in arrival order, and flushed one by one while
//!   following: the whole-run sorter and the merging of identical findings are bypassed
//!   (nothing is held back, so nothing grows).
//! - Correlations advance on event time: the watermark is the newest event time minus
//!   `--lateness`; a window closes when the watermark passes its end, an input older than a
//!   watermark already passed is counted as late (summary, heartbeat).
//! - `--state`: saved every `--save-every`, at Ctrl-C / SIGTERM and at the end. With
//!   `--output FILE` the output length is saved with it and the file cut back to it on
//!   restart, so FILE holds every finding exactly once after any stop; on stdout, findings
//!   after the last save may repeat (no gap, possible repeats).

use crate::args::{HuntArgs, LiveArgs};
use crate::output::{self, LiveOpen, Outputs};
use crate::{load, scan};
use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, Utc};
use spoor_event::{Event, EventMatcher, Finding, Partials, RunSummary, StatefulChain};
use spoor_input::{Checkpoint, Follower, OutputMark};
use spoor_report::FindingFilter;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Warnings (rotations, files read once) kept for the summary; more are only counted.
const MAX_NOTES: usize = 200;

/// Parses `250ms`, `5s`, `5m`, `1h`, `2d` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| anyhow!("'{text}' is not a duration (like 250ms, 5s, 5m, 1h)"))?;
    let ms = match unit {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => bail!("'{text}': unit must be ms, s, m, h or d"),
    };
    Ok(Duration::from_millis(n.saturating_mul(ms)))
}

/// The live mode's timings, validated.
struct Timing {
    poll: Duration,
    lateness: chrono::Duration,
    heartbeat: Option<Duration>,
    save_every: Duration,
}

impl Timing {
    fn of(a: &LiveArgs) -> Result<Self> {
        let poll = parse_duration(&a.poll)
            .context("--poll")?
            .max(Duration::from_millis(1));
        let lateness = parse_duration(&a.lateness).context("--lateness")?;
        let heartbeat = parse_duration(&a.heartbeat).context("--heartbeat")?;
        Ok(Timing {
            poll,
            lateness: chrono::Duration::from_std(lateness)
                .map_err(|_| anyhow!("--lateness: too long"))?,
            heartbeat: (!heartbeat.is_zero()).then_some(heartbeat),
            save_every: parse_duration(&a.save_every).context("--save-every")?,
        })
    }
}

/// The detectors of the live unit and what the run has counted.
struct LiveHunt<'d> {
    chain: &'d StatefulChain<'d>,
    partials: Partials,
    matchers: Vec<Box<dyn EventMatcher + Send + 'd>>,
    hits: Vec<Finding>,
    filter: FindingFilter,
    outputs: Outputs,
    summary: RunSummary,
    newest: Option<DateTime<Utc>>,
    lateness: chrono::Duration,
    /// Following: every finding is flushed as it is written (JSONL and CSV line by line).
    flush_each: bool,
}

impl LiveHunt<'_> {
    fn on_event(&mut self, ev: Event) {
        self.summary.events += 1;
        if let Some(t) = ev.timestamp {
            self.newest = Some(self.newest.map_or(t, |n| n.max(t)));
        }
        self.hits.clear();
        for m in &mut self.matchers {
            m.check(&ev, &mut self.hits);
        }
        self.chain.observe(&mut self.partials, &ev, &self.hits);
        let hits = std::mem::take(&mut self.hits);
        for f in hits.iter().filter(|f| !f.rule.feeds_only) {
            self.emit(f);
        }
        self.hits = hits;
    }

    fn emit(&mut self, f: &Finding) {
        if self.filter.check(f).is_ok() {
            output::count_finding(f, &mut self.summary);
            self.outputs.write(f);
            if self.flush_each {
                self.outputs.flush();
            }
        }
    }

    /// Moves the correlations to the watermark and writes what they completed.
    fn advance(&mut self) {
        let Some(newest) = self.newest else {
            return;
        };
        let watermark = newest
            .checked_sub_signed(self.lateness)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let out = self.chain.advance(&mut self.partials, watermark);
        for f in &out.findings {
            self.emit(f);
        }
    }

    /// Saves the state: the outputs flushed first, so the output length saved covers every
    /// finding of the lines the cursors have passed.
    fn save(&mut self, follower: &Follower, state: &Path, out: Option<&PathBuf>) -> Result<()> {
        self.outputs.flush();
        if let Some(e) = self.outputs.failure() {
            bail!("cannot write output {e}; state not saved past it");
        }
        let output = match out {
            Some(p) => Some(OutputMark {
                path: p.display().to_string(),
                len: std::fs::metadata(p)
                    .with_context(|| format!("{}", p.display()))?
                    .len(),
            }),
            None => None,
        };
        let cp = Checkpoint::new(
            follower.cursors(),
            output,
            self.newest,
            self.chain.save(&self.partials),
        );
        cp.save(state).map_err(|e| anyhow!("{e}"))
    }

    fn heartbeat(&self, follower: &Follower, started: Instant) {
        let lag = self.newest.map_or("-".to_string(), |n| {
            format!("{}s", (Utc::now() - n).num_seconds().max(0))
        });
        eprintln!(
            "spoor: live: {} events, {} findings, {} late, {} files followed, backlog {} bytes, lag {lag}, up {}s",
            self.summary.events,
            self.summary.findings,
            self.chain.late(&self.partials),
            follower.followed(),
            follower.backlog(),
            started.elapsed().as_secs()
        );
    }
}

/// The `--output` length to resume at, checked against what the state file recorded.
fn resume_len(cp: Option<&Checkpoint>, out: Option<&PathBuf>, state: &Path) -> Result<Option<u64>> {
    let Some(cp) = cp else {
        return Ok(None);
    };
    match (&cp.output, out) {
        (Some(m), Some(p)) if m.path == p.display().to_string() => Ok(Some(m.len)),
        (Some(m), _) => bail!(
            "state file {} was saved with --output {}: give the same --output (or a new --state)",
            state.display(),
            m.path
        ),
        (None, Some(p)) => bail!(
            "state file {} was saved without --output; it cannot vouch for {} (use a new --state)",
            state.display(),
            p.display()
        ),
        (None, None) => Ok(None),
    }
}

/// Runs the live hunt (`--follow` and/or `--state`).
pub fn hunt(args: HuntArgs) -> Result<i32> {
    if !args.scan.is_empty() {
        bail!("--scan cannot be combined with --follow or --state: scan web roots in a batch hunt");
    }
    let timing = Timing::of(&args.live)?;
    let started = Instant::now();
    let filter = output::filter_of(&args.out)?;
    let mut warnings = Vec::new();
    let (sigma, iocs, counts) = load::hunt_detectors(&args, &mut warnings)?;
    if sigma.is_empty() && iocs.is_none() {
        bail!("nothing to hunt with: no rule or indicator loaded");
    }
    let state = args.live.state.clone();
    let checkpoint = match &state {
        Some(p) => Checkpoint::load(p).map_err(|e| anyhow!("{e}"))?,
        None => None,
    };
    let resume = match &state {
        Some(p) => resume_len(checkpoint.as_ref(), args.out.output.as_ref(), p)?,
        None => None,
    };
    let live_open = LiveOpen {
        resume_len: resume,
        append_extras: checkpoint.is_some(),
    };
    let outputs = Outputs::open_live(&args.out, "spoor hunt", live_open)?;

    let read_opts = scan::read_options(&args.walk, args.syslog_year, args.format_in.as_deref())?;
    let detectors = crate::pipeline::event_detectors(&sigma, iocs.as_ref());
    let chain = crate::pipeline::stateful_chain(&sigma, iocs.as_ref());
    let state_err = |e: String| match &state {
        Some(p) => anyhow!("state file {}: {e}", p.display()),
        None => anyhow!("{e}"),
    };
    let (mut follower, partials, newest) = match checkpoint {
        Some(c) => (
            Follower::resume(args.paths.clone(), read_opts, c.files).map_err(state_err)?,
            chain
                .restore(c.detectors)
                .map_err(|e| state_err(e.to_string()))?,
            c.newest_event,
        ),
        None => (
            Follower::new(args.paths.clone(), read_opts),
            chain.start(),
            None,
        ),
    };
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .context("cannot catch Ctrl-C / SIGTERM")?;
    }
    let mut hunt = LiveHunt {
        chain: &chain,
        partials,
        matchers: detectors.iter().map(|d| d.matcher()).collect(),
        hits: Vec::new(),
        filter,
        outputs,
        summary: RunSummary::default(),
        newest,
        lateness: timing.lateness,
        flush_each: args.live.follow,
    };
    let mut problems = Vec::new();
    let mut notes_dropped = 0u64;
    let mut last_save = Instant::now();
    let mut last_beat = Instant::now();
    loop {
        let report = follower.poll(&mut |ev| hunt.on_event(ev));
        for n in report.notes {
            if args.live.follow {
                eprintln!("spoor: live: {}", spoor_report::terminal_safe(&n));
            }
            if warnings.len() < MAX_NOTES {
                warnings.push(n);
            } else {
                notes_dropped += 1;
            }
        }
        problems.extend(report.problems);
        hunt.advance();
        hunt.outputs.flush();
        if let Some(e) = hunt.outputs.failure() {
            bail!("cannot write output {e}");
        }
        let closed = hunt.outputs.closed();
        let stopping = stop.load(Ordering::SeqCst) || closed;
        let idle = report.bytes == 0 && report.new_files == 0;
        if !args.live.follow && idle {
            break;
        }
        if stopping {
            break;
        }
        if let Some(p) = &state {
            if last_save.elapsed() >= timing.save_every {
                hunt.save(&follower, p, args.out.output.as_ref())?;
                last_save = Instant::now();
            }
        }
        if let Some(every) = timing.heartbeat {
            if args.live.follow && last_beat.elapsed() >= every {
                hunt.heartbeat(&follower, started);
                last_beat = Instant::now();
            }
        }
        if idle {
            sleep_unless_stopped(timing.poll, &stop);
        }
    }
    let late = chain.late(&hunt.partials);
    // Detectors that cannot save report now; with --state the others stay open, saved.
    let out = chain.finish_live(&mut hunt.partials, state.is_some());
    warnings.extend(out.notes);
    for f in &out.findings {
        hunt.emit(f);
    }
    if let Some(p) = &state {
        hunt.save(&follower, p, args.out.output.as_ref())?;
        if late > 0 {
            warnings.push(format!(
                "correlation: {late} matches came later than the allowed lateness ({}) and joined no window",
                args.live.lateness
            ));
        }
    }
    if notes_dropped > 0 {
        warnings.push(format!("... and {notes_dropped} more notes on files"));
    }
    let mut files = problems;
    files.extend(follower.stats());
    let mut summary = std::mem::take(&mut hunt.summary);
    summary.unparsed = files.iter().map(|s| s.unparsed).sum();
    summary.files = files;
    summary.rules_loaded = counts.ok;
    summary.rules_unsupported = counts.unsupported;
    summary.rules_invalid = counts.invalid;
    summary.filters = sigma.filter_stats();
    summary.warnings = warnings;
    summary.late_events = late;
    summary.elapsed_seconds = started.elapsed().as_secs_f64();
    summary.peak_rss_bytes = output::peak_rss_bytes();
    let shown = hunt.outputs.finish(&summary)?;
    if !shown {
        output::print_summary(&summary);
    }
    let _ = std::io::stderr().flush();
    let had_errors = summary.files.iter().any(|s| s.error.is_some()) || counts.invalid > 0;
    Ok(if had_errors { 3 } else { 0 })
}

fn sleep_unless_stopped(total: Duration, stop: &AtomicBool) {
    let step = Duration::from_millis(50);
    let until = Instant::now() + total;
    while !stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        if now >= until {
            break;
        }
        std::thread::sleep(step.min(until - now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("").is_err());
    }
}
