//! The lifecycle of detectors that keep state across events (correlation windows, STIX
//! observation sequences, the web-shell tie-back), so that the binary wires them all one way.
//!
//! A run reads its logs in work units (files or chunks of files) on several threads. Each unit
//! gets a fresh *partial* state from every stateful detector ([`StatefulDetector::start`]); the
//! unit shows it every event together with the findings the event produced
//! ([`StatefulDetector::observe`]); when all units are done the partials are merged in unit order
//! ([`StatefulDetector::merge`]) and [`StatefulDetector::finish`] turns the merged state into
//! findings and notes. Partials hold plain data (no borrow of the detector), so nothing is handed
//! over through `Drop` and no detector clones its whole state per unit. A live mode adds a
//! watermark step later; the three steps stay.
//!
//! [`StatefulChain`] is the object-safe wiring: a list of detectors of different types and one
//! [`Partials`] per unit.

use crate::{Event, Finding};
use std::any::Any;

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

    /// Folds `from` into `into`. Called in work-unit order.
    fn merge(&self, into: &mut Self::Partial, from: Self::Partial);

    /// Turns the merged state of the whole run into findings.
    fn finish(&self, partial: Self::Partial) -> StatefulOutput;
}

/// The object-safe face of a [`StatefulDetector`], implemented for every one of them.
pub trait AnyStatefulDetector: Send + Sync {
    /// [`StatefulDetector::start`], boxed.
    fn start_any(&self) -> Box<dyn Any + Send>;
    /// [`StatefulDetector::observe`] on a boxed partial (one of a different type is ignored).
    fn observe_any(&self, partial: &mut (dyn Any + Send), event: &Event, findings: &[Finding]);
    /// [`StatefulDetector::merge`] of boxed partials.
    fn merge_any(&self, into: &mut (dyn Any + Send), from: Box<dyn Any + Send>);
    /// [`StatefulDetector::finish`] of a boxed partial.
    fn finish_any(&self, partial: Box<dyn Any + Send>) -> StatefulOutput;
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
