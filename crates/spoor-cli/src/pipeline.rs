//! The run as one chain: readers -> detectors -> stateful detectors (correlation) -> filter ->
//! sorter -> sinks. Each stage is a type of its own; the batch hunt wires them here, and a live
//! or in-database hunt swaps only the source of events and the sorter.
//!
//! Memory stays flat whatever the number of findings: a work unit filters its findings as they
//! come (a `--min-level` that hides them never stores them) and hands them to the shared
//! [`TimelineSorter`] in small batches; the sorter spills to temporary files past its budget and
//! merges them back in report order, merging identical findings of one file on the way out.

use spoor_event::{Event, EventMatcher, FileStats, Finding, Partials, StatefulChain};
use spoor_input::{sniff_file, EvidenceSpan, InputFile, InputFormat, ReadOptions};
use spoor_report::{FindingFilter, SortStats, TimelineSorter};
use std::io;
use std::sync::Mutex;

/// Findings a work unit holds before handing them to the sorter.
const BATCH: usize = 512;

/// The shared end of the chain for the reading phase: the output filter and the sorter.
pub struct Collector {
    filter: FindingFilter,
    sorter: Mutex<TimelineSorter>,
    error: Mutex<Option<io::Error>>,
}

impl Collector {
    /// A collector that sorts within `budget` bytes.
    pub fn new(filter: FindingFilter, budget: usize) -> Self {
        let dedup = filter.dedup;
        Collector {
            filter,
            sorter: Mutex::new(TimelineSorter::new(budget, dedup)),
            error: Mutex::new(None),
        }
    }

    /// Filters `findings` and hands those that pass to the sorter (draining the vector).
    pub fn take(&self, findings: &mut Vec<Finding>) {
        if findings.is_empty() {
            return;
        }
        let mut sorter = self.sorter.lock().unwrap_or_else(|e| e.into_inner());
        for f in findings.drain(..) {
            if self.filter.check(&f).is_err() {
                continue;
            }
            if let Err(e) = sorter.push(f) {
                let mut slot = self.error.lock().unwrap_or_else(|e| e.into_inner());
                slot.get_or_insert(e);
            }
        }
    }

    /// Streams the sorted, de-duplicated timeline to `out`.
    pub fn finish(self, out: &mut dyn FnMut(Finding)) -> io::Result<SortStats> {
        if let Some(e) = self.error.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(e);
        }
        let sorter = self.sorter.into_inner().unwrap_or_else(|e| e.into_inner());
        sorter.finish(&mut |f| {
            out(f);
            Ok(())
        })
    }
}

/// The single-event detectors of a hunt: the Sigma rules, and the indicators when loaded.
pub fn event_detectors<'a>(
    sigma: &'a spoor_sigma::RuleSet,
    iocs: Option<&'a spoor_ioc::IocSet>,
) -> Vec<&'a dyn spoor_event::Detector> {
    std::iter::once(sigma as &dyn spoor_event::Detector)
        .chain(iocs.map(|s| s as &dyn spoor_event::Detector))
        .collect()
}

/// The stateful detectors every hunt of events wires alike: the Sigma correlations and the
/// stateful STIX patterns (a batch hunt adds the web-shell tie-back).
pub fn stateful_chain<'a>(
    sigma: &'a spoor_sigma::RuleSet,
    iocs: Option<&'a spoor_ioc::IocSet>,
) -> StatefulChain<'a> {
    let mut chain = StatefulChain::new();
    if !sigma.correlations().is_empty() {
        chain.push(sigma.correlations());
    }
    if let Some(set) = iocs.filter(|s| s.has_stateful()) {
        chain.push(set);
    }
    chain
}

/// Per-work-unit state: the matchers of one thread, the stateful detectors' partial states,
/// and a small batch of findings on its way to the [`Collector`].
pub struct UnitState<'d> {
    matchers: Vec<Box<dyn EventMatcher + Send + 'd>>,
    /// The stateful detectors' state for this unit.
    pub partials: Partials,
    /// The current event's findings (reused buffer).
    hits: Vec<Finding>,
    batch: Vec<Finding>,
    /// The time span of the unit's dated events (for the year of yearless syslog lines).
    pub span: Option<EvidenceSpan>,
    /// Who logged on from where, for the HTML report's logons section (when it is written).
    pub logons: Option<spoor_triage::LogonTable>,
}

impl<'d> UnitState<'d> {
    /// A fresh unit.
    pub fn new(matchers: Vec<Box<dyn EventMatcher + Send + 'd>>, partials: Partials) -> Self {
        UnitState {
            matchers,
            partials,
            hits: Vec::new(),
            batch: Vec::new(),
            span: None,
            logons: None,
        }
    }

    /// One event through the detectors and the stateful detectors.
    pub fn on_event(&mut self, chain: &StatefulChain<'_>, collector: &Collector, ev: Event) {
        if let Some(t) = ev.timestamp {
            EvidenceSpan::include(&mut self.span, t);
        }
        if let Some(l) = &mut self.logons {
            l.observe(&ev);
        }
        self.hits.clear();
        for m in &mut self.matchers {
            m.check(&ev, &mut self.hits);
        }
        // Every event, findings or not: the tie-back and STIX sequences look at events the
        // single-event rules do not report.
        chain.observe(&mut self.partials, &ev, &self.hits);
        if self.hits.is_empty() {
            return;
        }
        // Rules that only feed correlations make no finding of their own.
        self.batch
            .extend(self.hits.drain(..).filter(|f| !f.rule.feeds_only));
        if self.batch.len() >= BATCH {
            collector.take(&mut self.batch);
        }
    }

    /// Hands the unit's last findings over and drops its matchers and buffers; what is left is
    /// what the run needs at its end. Called on the reading thread as soon as the unit is read,
    /// so that only the units being read hold matcher state, not every file of the run.
    pub fn close(mut self, chain: &StatefulChain<'_>, collector: &Collector) -> ClosedUnit {
        collector.take(&mut self.batch);
        chain.seal(&mut self.partials);
        ClosedUnit {
            partials: self.partials,
            span: self.span,
            logons: self.logons,
        }
    }
}

/// A work unit once read: its stateful partials (merged in unit order at the end), the time
/// span of its events and its logons.
pub struct ClosedUnit {
    /// The stateful detectors' state for this unit.
    pub partials: Partials,
    /// The time span of the unit's dated events.
    pub span: Option<EvidenceSpan>,
    /// Who logged on from where, when the HTML report is written.
    pub logons: Option<spoor_triage::LogonTable>,
}

/// Reads `files` through `read`, the syslog files last: RFC 3164 lines carry no year, so they are
/// dated by the span of the other files' events (`span_of` each unit's state), since a copied
/// log's file time is the copy's. `--syslog-year` or a forced format reads everything at once.
/// Says in `warnings` when the other evidence dated the syslog lines.
pub fn read_syslog_last<S>(
    files: Vec<InputFile>,
    opts: &ReadOptions,
    read: impl Fn(&[InputFile], &ReadOptions) -> (Vec<S>, Vec<FileStats>),
    span_of: impl Fn(&S) -> Option<EvidenceSpan>,
    warnings: &mut Vec<String>,
) -> (Vec<S>, Vec<FileStats>) {
    let (syslog, other): (Vec<InputFile>, Vec<InputFile>) =
        if opts.syslog_year.is_some() || opts.format.is_some() {
            (Vec::new(), files)
        } else {
            files.into_iter().partition(|f| {
                // Never sniff a pipe: what is read from it is gone.
                std::fs::metadata(&f.path).is_ok_and(|m| m.is_file())
                    && sniff_file(f, opts) == Some(InputFormat::Syslog)
            })
        };
    let (mut states, mut stats) = read(&other, opts);
    if !syslog.is_empty() {
        // Lines the line gate decided date the evidence as well as the events built.
        let gated = stats
            .iter()
            .filter_map(|s| s.prefiltered_span)
            .map(|(a, b)| EvidenceSpan::new(a, b));
        let span = states
            .iter()
            .filter_map(&span_of)
            .chain(gated)
            .reduce(EvidenceSpan::union);
        if let Some(sp) = span {
            warnings.push(format!(
                "syslog lines without a year dated by the other evidence ({} to {}) in {} files",
                sp.first.format("%Y-%m-%d"),
                sp.last.format("%Y-%m-%d"),
                syslog.len()
            ));
        }
        let hinted = ReadOptions {
            syslog_year_hint: span,
            ..opts.clone()
        };
        let (more, more_stats) = read(&syslog, &hinted);
        states.extend(more);
        stats.extend(more_stats);
        stats.sort_by(|a, b| a.path.cmp(&b.path));
    }
    (states, stats)
}
