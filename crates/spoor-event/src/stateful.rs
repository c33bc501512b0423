//! The lifecycle of detectors that keep state across events (correlation windows, STIX
//! observation sequences, the web-shell tie-back), so that the binary wires them all one way.
//!
//! A run reads its logs in work units (files or chunks of files) on several threads. Each unit
//! gets a fresh *partial* state from every stateful detector ([`StatefulDetector::start`]); the
//! unit shows it every event together with the findings the event produced
//! ([`StatefulDetector::observe`]); when all units are done the partials are merged in unit order
//! ([`StatefulDetector::merge`]) and [`StatefulDetector::finish`] turns the merged state into
//! findings and notes. Partials hold plain data (no borrow of the detector), so nothing is handed
//! over through `Drop` and no detector clones its whole state per unit.
//!
//! Live mode (`spoor hunt --follow`) runs one unit that never ends. It adds a watermark step:
//! [`StatefulDetector::advance`] tells the partial that no event older than the watermark will
//! come any more (beyond the allowed lateness), so it may release what it holds in time order
//! and report what can no longer change; an observation older than a watermark already passed
//! is *late*, counted ([`StatefulDetector::late`]) and kept out. A batch run is the same path
//! with an infinite watermark at the end. [`StatefulDetector::save`] and
//! [`StatefulDetector::restore`] carry a partial across a restart (`--state`); a detector that
//! cannot save keeps the default `None` and reports at the end of each run instead.
//!
//! [`StatefulChain`] is the object-safe wiring: a list of detectors of different types and one
//! [`Partials`] per unit.

use crate::{Event, Finding};
use chrono::{DateTime, Utc};
use std::any::Any;

/// A saved partial state that cannot be restored (from a damaged or foreign state file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detector}: saved state not usable: {reason}")]
#[non_exhaustive]
pub struct RestoreError {
    /// Which detector's state.
    pub detector: String,
    /// What is wrong with it.
    pub reason: String,
}

impl RestoreError {
    /// An error of `detector`'s saved state.
    pub fn new(detector: impl Into<String>, reason: impl Into<String>) -> Self {
        RestoreError {
            detector: detector.into(),
            reason: reason.into(),
        }
    }
}

/// What a stateful detector produced at the end of a run.
#[derive(Debug, Clone, Default)]
pub struct StatefulOutput {
    /// New findings (any order; the run sorts them into the timeline).
    pub findings: Vec<Finding>,
    /// Limits reached and events that could not take part, for the run's warnings.
    pub notes: Vec<String>,
}

impl StatefulOutput {
    /// Appends another output.
    pub fn extend(&mut self, other: StatefulOutput) {
        self.findings.extend(other.findings);
        self.notes.extend(other.notes);
    }
}

/// A detector whose findings depend on more than one event.
pub trait StatefulDetector: Send + Sync {
    /// The state one work unit builds up. Plain data: it must not borrow the detector.
    type Partial: Send + 'static;

    /// A fresh partial state for one work unit.
    fn start(&self) -> Self::Partial;

    /// Shows the partial one event and the findings the single-event detectors made of it
    /// (including those of rules that only feed correlations).
    fn observe(&self, partial: &mut Self::Partial, event: &Event, findings: &[Finding]);

    /// The unit is read; its partial waits for the others before [`Self::merge`]. A detector
    /// that holds much may move it out of memory here (the correlations write their kept
    /// matches to a temporary file), so that waiting units do not add up. The default keeps
    /// everything.
    fn seal(&self, partial: &mut Self::Partial) {
        let _ = partial;
    }

    /// Folds `from` into `into`. Called in work-unit order.
    fn merge(&self, into: &mut Self::Partial, from: Self::Partial);

    /// Turns the merged state of the whole run into findings.
    fn finish(&self, partial: Self::Partial) -> StatefulOutput;

    /// Live mode: no event older than `watermark` is expected any more. Returns the findings
    /// that can no longer change. The default holds everything until [`Self::finish`].
    fn advance(&self, partial: &mut Self::Partial, watermark: DateTime<Utc>) -> StatefulOutput {
        let _ = (partial, watermark);
        StatefulOutput::default()
    }

    /// How many observations came older than a watermark already passed (and so took no part).
    fn late(&self, partial: &Self::Partial) -> u64 {
        let _ = partial;
        0
    }

    /// The partial as JSON, for a state file; `None` when this detector cannot save its state.
    fn save(&self, partial: &Self::Partial) -> Option<serde_json::Value> {
        let _ = partial;
        None
    }

    /// A partial from what [`Self::save`] wrote (checked: the input may be hostile).
    fn restore(&self, saved: serde_json::Value) -> Result<Self::Partial, RestoreError> {
        let _ = saved;
        Err(RestoreError::new(
            "detector",
            "this detector saves no state",
        ))
    }
}

/// The object-safe face of a [`StatefulDetector`], implemented for every one of them.
pub trait AnyStatefulDetector: Send + Sync {
    /// [`StatefulDetector::start`], boxed.
    fn start_any(&self) -> Box<dyn Any + Send>;
    /// [`StatefulDetector::observe`] on a boxed partial (one of a different type is ignored).
    fn observe_any(&self, partial: &mut (dyn Any + Send), event: &Event, findings: &[Finding]);
    /// [`StatefulDetector::seal`] of a boxed partial.
    fn seal_any(&self, partial: &mut (dyn Any + Send));
    /// [`StatefulDetector::merge`] of boxed partials.
    fn merge_any(&self, into: &mut (dyn Any + Send), from: Box<dyn Any + Send>);
    /// [`StatefulDetector::finish`] of a boxed partial.
    fn finish_any(&self, partial: Box<dyn Any + Send>) -> StatefulOutput;
    /// [`StatefulDetector::advance`] of a boxed partial.
    fn advance_any(
        &self,
        partial: &mut (dyn Any + Send),
        watermark: DateTime<Utc>,
    ) -> StatefulOutput;
    /// [`StatefulDetector::late`] of a boxed partial.
    fn late_any(&self, partial: &(dyn Any + Send)) -> u64;
    /// [`StatefulDetector::save`] of a boxed partial.
    fn save_any(&self, partial: &(dyn Any + Send)) -> Option<serde_json::Value>;
    /// [`StatefulDetector::restore`], boxed.
    fn restore_any(&self, saved: serde_json::Value) -> Result<Box<dyn Any + Send>, RestoreError>;
}

impl<T: StatefulDetector> AnyStatefulDetector for T {
    fn start_any(&self) -> Box<dyn Any + Send> {
        Box::new(self.start())
    }

    fn observe_any(&self, partial: &mut (dyn Any + Send), event: &Event, findings: &[Finding]) {
        if let Some(p) = partial.downcast_mut::<T::Partial>() {
            self.observe(p, event, findings);
        }
    }

    fn seal_any(&self, partial: &mut (dyn Any + Send)) {
        if let Some(p) = partial.downcast_mut::<T::Partial>() {
            self.seal(p);
        }
    }

    fn merge_any(&self, into: &mut (dyn Any + Send), from: Box<dyn Any + Send>) {
        if let (Some(into), Ok(from)) = (into.downcast_mut::<T::Partial>(), from.downcast()) {
            self.merge(into, *from);
        }
    }

    fn finish_any(&self, partial: Box<dyn Any + Send>) -> StatefulOutput {
        match partial.downcast::<T::Partial>() {
            Ok(p) => self.finish(*p),
            Err(_) => StatefulOutput::default(),
        }
    }

    fn advance_any(
        &self,
        partial: &mut (dyn Any + Send),
        watermark: DateTime<Utc>,
    ) -> StatefulOutput {
        match partial.downcast_mut::<T::Partial>() {
            Some(p) => self.advance(p, watermark),
            None => StatefulOutput::default(),
        }
    }

    fn late_any(&self, partial: &(dyn Any + Send)) -> u64 {
        partial
            .downcast_ref::<T::Partial>()
            .map_or(0, |p| self.late(p))
    }

    fn save_any(&self, partial: &(dyn Any + Send)) -> Option<serde_json::Value> {
        partial
            .downcast_ref::<T::Partial>()
            .and_then(|p| self.save(p))
    }

    fn restore_any(&self, saved: serde_json::Value) -> Result<Box<dyn Any + Send>, RestoreError> {
        self.restore(saved)
            .map(|p| Box::new(p) as Box<dyn Any + Send>)
    }
}

/// The partial states of one work unit, one per detector of a [`StatefulChain`].
pub struct Partials(Vec<Box<dyn Any + Send>>);

impl std::fmt::Debug for Partials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Partials({})", self.0.len())
    }
}

/// The stateful detectors of a run, in a fixed order.
#[derive(Default)]
pub struct StatefulChain<'d> {
    detectors: Vec<&'d dyn AnyStatefulDetector>,
}

impl<'d> StatefulChain<'d> {
    /// An empty chain.
    pub fn new() -> Self {
        StatefulChain {
            detectors: Vec::new(),
        }
    }

    /// Adds a detector.
    pub fn push(&mut self, detector: &'d dyn AnyStatefulDetector) {
        self.detectors.push(detector);
    }

    /// True when no detector is in the chain.
    pub fn is_empty(&self) -> bool {
        self.detectors.is_empty()
    }

    /// Fresh partials for one work unit.
    pub fn start(&self) -> Partials {
        Partials(self.detectors.iter().map(|d| d.start_any()).collect())
    }

    /// Shows every detector one event and its findings.
    pub fn observe(&self, partials: &mut Partials, event: &Event, findings: &[Finding]) {
        for (d, p) in self.detectors.iter().zip(partials.0.iter_mut()) {
            d.observe_any(p.as_mut(), event, findings);
        }
    }

    /// Tells every detector that the unit of `partials` is read.
    pub fn seal(&self, partials: &mut Partials) {
        for (d, p) in self.detectors.iter().zip(partials.0.iter_mut()) {
            d.seal_any(p.as_mut());
        }
    }

    /// Merges the units' partials (in the order given) and finishes every detector, in chain
    /// order.
    pub fn finish(&self, units: impl IntoIterator<Item = Partials>) -> StatefulOutput {
        let mut merged: Vec<Option<Box<dyn Any + Send>>> =
            self.detectors.iter().map(|_| None).collect();
        for unit in units {
            for ((d, slot), p) in self.detectors.iter().zip(merged.iter_mut()).zip(unit.0) {
                match slot {
                    Some(into) => d.merge_any(into.as_mut(), p),
                    None => *slot = Some(p),
                }
            }
        }
        let mut out = StatefulOutput::default();
        for (d, slot) in self.detectors.iter().zip(merged) {
            let p = slot.unwrap_or_else(|| d.start_any());
            out.extend(d.finish_any(p));
        }
        out
    }

    /// Live mode: moves every detector of the one live unit to `watermark`.
    pub fn advance(&self, partials: &mut Partials, watermark: DateTime<Utc>) -> StatefulOutput {
        let mut out = StatefulOutput::default();
        for (d, p) in self.detectors.iter().zip(partials.0.iter_mut()) {
            out.extend(d.advance_any(p.as_mut(), watermark));
        }
        out
    }

    /// Live mode: late observations so far, over all detectors.
    pub fn late(&self, partials: &Partials) -> u64 {
        self.detectors
            .iter()
            .zip(&partials.0)
            .map(|(d, p)| d.late_any(p.as_ref()))
            .sum()
    }

    /// Each detector's saved state (`None` for those that cannot save), in chain order.
    pub fn save(&self, partials: &Partials) -> Vec<Option<serde_json::Value>> {
        self.detectors
            .iter()
            .zip(&partials.0)
            .map(|(d, p)| d.save_any(p.as_ref()))
            .collect()
    }

    /// Partials from [`Self::save`]'s output; a detector without saved state starts fresh.
    /// A list of another length (a state saved with other detectors) is an error.
    pub fn restore(&self, saved: Vec<Option<serde_json::Value>>) -> Result<Partials, RestoreError> {
        if saved.len() != self.detectors.len() {
            return Err(RestoreError::new(
                "state",
                format!(
                    "saved for {} stateful detectors, this run has {}",
                    saved.len(),
                    self.detectors.len()
                ),
            ));
        }
        let mut out = Vec::with_capacity(saved.len());
        for (d, s) in self.detectors.iter().zip(saved) {
            out.push(match s {
                Some(v) => d.restore_any(v)?,
                None => d.start_any(),
            });
        }
        Ok(Partials(out))
    }

    /// Finishes the detectors of the live unit; with `keep_saved`, only those that cannot save
    /// their state (the others stay open in `partials`, to be saved and resumed).
    pub fn finish_live(&self, partials: &mut Partials, keep_saved: bool) -> StatefulOutput {
        let mut out = StatefulOutput::default();
        for (d, p) in self.detectors.iter().zip(partials.0.iter_mut()) {
            if keep_saved && d.save_any(p.as_ref()).is_some() {
                continue;
            }
            let done = std::mem::replace(p, d.start_any());
            out.extend(d.finish_any(done));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Position, RuleKind, RuleLevel, RuleMeta};
    use std::sync::Arc;

    /// Counts events per unit and reports the total as one finding.
    struct Counter(Arc<RuleMeta>);

    impl StatefulDetector for Counter {
        type Partial = (u64, Vec<u64>);
        fn start(&self) -> Self::Partial {
            (0, Vec::new())
        }
        fn observe(&self, p: &mut Self::Partial, event: &Event, findings: &[Finding]) {
            p.0 += 1 + findings.len() as u64;
            p.1.push(event.origin.position.number());
        }
        fn merge(&self, into: &mut Self::Partial, from: Self::Partial) {
            into.0 += from.0;
            into.1.extend(from.1);
        }
        fn finish(&self, p: Self::Partial) -> StatefulOutput {
            let ev = Event::new("all", Position::Index(p.0));
            StatefulOutput {
                findings: vec![Finding::from_event(self.0.clone(), &ev)],
                notes: vec![format!("{:?}", p.1)],
            }
        }
    }

    #[test]
    fn chain_merges_units_in_order_and_finishes_each_detector() {
        let meta = Arc::new(RuleMeta::new("c", "count", RuleLevel::Low, RuleKind::Sigma));
        let a = Counter(meta.clone());
        let b = Counter(meta.clone());
        let mut chain = StatefulChain::new();
        chain.push(&a);
        chain.push(&b);
        let mut u1 = chain.start();
        let mut u2 = chain.start();
        let hit = Finding::from_event(meta, &Event::new("x", Position::Line(1)));
        chain.observe(&mut u1, &Event::new("x", Position::Line(1)), &[hit]);
        chain.observe(&mut u2, &Event::new("y", Position::Line(7)), &[]);
        chain.observe(&mut u2, &Event::new("y", Position::Line(8)), &[]);
        let out = chain.finish([u1, u2]);
        assert_eq!(out.findings.len(), 2);
        // 1 event with one finding (2) + 2 events (2) = 4, for each detector.
        assert!(out
            .findings
            .iter()
            .all(|f| f.source.position == Position::Index(4)));
        assert_eq!(out.notes, vec!["[1, 7, 8]", "[1, 7, 8]"]);
    }

    #[test]
    fn chain_without_units_finishes_from_fresh_state() {
        let meta = Arc::new(RuleMeta::new("c", "count", RuleLevel::Low, RuleKind::Sigma));
        let a = Counter(meta);
        let mut chain = StatefulChain::new();
        chain.push(&a);
        let out = chain.finish(Vec::new());
        assert_eq!(out.findings[0].source.position, Position::Index(0));
    }
}
