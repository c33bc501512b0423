//! The line gate: deciding, before a web or proxy line is parsed into an [`Event`], that no
//! detector can match anything it would yield.
//!
//! Most lines of a web server log are benign, and building an event (a dozen owned field values,
//! decoded companions, folded copies for case-insensitive matching) costs far more than scanning
//! the raw bytes once for every literal the rules need. A reader that supports gating cuts the
//! line into slices (cheap, no allocation), hands them to the gate as a [`GateLine`], and builds
//! the event only when the gate says the line *may* match. The gate must never say "no" to a line
//! that would have matched: every answer is a necessary condition, proven per rule kind in the
//! implementing engine (`spoor-sigma`'s `gate` module), and held equal to the plain evaluator by a
//! property test.
//!
//! The parts meet here because the reader (`spoor-input`) and the engines (`spoor-sigma`,
//! `spoor-ioc`) must not know one another: the reader asks a [`LineGateSource`] for the gate of
//! the log source it is about to read, once per file; `None` means "evaluate every line" (some
//! rule or detector needs every event, or nothing can be decided from the raw line).

use crate::{LogSource, Value};
use std::fmt;
use std::sync::Arc;

/// One line as a gate sees it, before any event is built.
pub trait GateLine {
    /// The raw line, as read.
    fn raw(&self) -> &[u8];
    /// Every text the reader would store in a field that is *not* a substring of the raw line
    /// (decoded companions, a URI joined from stem and query, header values with `+` made
    /// spaces), written to `out` one after another (the reader separates them with a newline).
    /// Fields that are slices of the raw line need not be repeated.
    fn derived_texts(&self, out: &mut Vec<u8>);
    /// The value the reader would store in field `name` (`None` when absent or `null`), for
    /// checks that cannot be decided from text (numeric comparisons, address ranges).
    fn field(&self, name: &str) -> Option<Value>;
}

/// The gate of one log source.
pub trait LineGate: Send + Sync {
    /// False only when no rule or detector behind this gate can match any event the line yields.
    fn may_match(&self, line: &dyn GateLine) -> bool;

    /// [`LineGate::may_match`], also leaving in `hint` what the gate learnt of a line it lets
    /// through, when it can say which of its engine's rules may match (the default learns
    /// nothing). The reader puts the hint in the event it builds.
    fn decide(&self, line: &dyn GateLine, hint: &mut Option<GateHint>) -> bool {
        let _ = hint;
        self.may_match(line)
    }
}

/// What a line gate learnt of a line it let through: the rules of one engine's rule set that
/// may match the event (each rule left out is proven unable to), so that engine evaluates
/// those and skips its own prefilter. Only the engine whose set `owner` names may read it; any
/// other reader ignores it.
///
/// A hint says nothing of what the event holds: two events are equal whatever their hints
/// (`PartialEq` always holds), so an event read with and without gates compares equal.
#[derive(Debug, Clone)]
pub struct GateHint {
    /// The rule set the rule numbers are of (an identity the engine gives its sets).
    pub owner: u64,
    /// Rule numbers in that set, ascending.
    pub rules: Vec<u32>,
}

impl PartialEq for GateHint {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Where readers get gates.
pub trait LineGateSource: Send + Sync {
    /// The gate for lines of log source `ls`, or `None` when every line must be evaluated.
    fn gate_for(&self, ls: &LogSource) -> Option<Arc<dyn LineGate>>;
}

/// A shared [`LineGateSource`] that can sit in option structs (which derive `Debug` and `Clone`).
#[derive(Clone)]
pub struct SharedGates(pub Arc<dyn LineGateSource>);

impl fmt::Debug for SharedGates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedGates(..)")
    }
}

/// Several gate sources that must all agree a line cannot match: the line is skipped only when
/// every source has a gate for the log source and none of them lets the line through.
pub struct AllGates(pub Vec<Arc<dyn LineGateSource>>);

struct AnyOf(Vec<Arc<dyn LineGate>>);

impl LineGate for AnyOf {
    fn may_match(&self, line: &dyn GateLine) -> bool {
        self.0.iter().any(|g| g.may_match(line))
    }

    // The first gate that lets the line through decides: a hint holds the rules of one engine
    // only, and the others evaluate the event in full.
    fn decide(&self, line: &dyn GateLine, hint: &mut Option<GateHint>) -> bool {
        self.0.iter().any(|g| g.decide(line, hint))
    }
}

impl LineGateSource for AllGates {
    fn gate_for(&self, ls: &LogSource) -> Option<Arc<dyn LineGate>> {
        let gates: Option<Vec<_>> = self.0.iter().map(|s| s.gate_for(ls)).collect();
        let mut gates = gates?;
        if gates.len() == 1 {
            return gates.pop();
        }
        Some(Arc::new(AnyOf(gates)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(Option<bool>);
    struct Answer(bool);
    impl LineGate for Answer {
        fn may_match(&self, _: &dyn GateLine) -> bool {
            self.0
        }
    }
    impl LineGateSource for Fixed {
        fn gate_for(&self, _: &LogSource) -> Option<Arc<dyn LineGate>> {
            self.0.map(|a| Arc::new(Answer(a)) as Arc<dyn LineGate>)
        }
    }
    struct Line;
    impl GateLine for Line {
        fn raw(&self) -> &[u8] {
            b"x"
        }
        fn derived_texts(&self, _: &mut Vec<u8>) {}
        fn field(&self, _: &str) -> Option<Value> {
            None
        }
    }

    fn all(parts: &[Option<bool>]) -> Option<bool> {
        let src = AllGates(
            parts
                .iter()
                .map(|p| Arc::new(Fixed(*p)) as Arc<dyn LineGateSource>)
                .collect(),
        );
        src.gate_for(&LogSource::default())
            .map(|g| g.may_match(&Line))
    }

    /// Lets every line through and names rule 7 of set `self.0`.
    struct Hinting(u64);
    impl LineGate for Hinting {
        fn may_match(&self, _: &dyn GateLine) -> bool {
            true
        }
        fn decide(&self, _: &dyn GateLine, hint: &mut Option<GateHint>) -> bool {
            *hint = Some(GateHint {
                owner: self.0,
                rules: vec![7],
            });
            true
        }
    }

    #[test]
    fn the_first_gate_to_let_a_line_through_gives_the_hint() {
        let decide = |gates: Vec<Arc<dyn LineGate>>| {
            let mut hint = None;
            let pass = AnyOf(gates).decide(&Line, &mut hint);
            (pass, hint.map(|h| h.owner))
        };
        let no = || Arc::new(Answer(false)) as Arc<dyn LineGate>;
        let yes = || Arc::new(Answer(true)) as Arc<dyn LineGate>;
        let hinting = |o| Arc::new(Hinting(o)) as Arc<dyn LineGate>;
        assert_eq!(decide(vec![no(), hinting(1), hinting(2)]), (true, Some(1)));
        // A gate without hints let the line through first: no hint, every rule is evaluated.
        assert_eq!(decide(vec![yes(), hinting(1)]), (true, None));
        assert_eq!(decide(vec![no(), no()]), (false, None));
    }

    #[test]
    fn a_source_without_a_gate_disables_gating() {
        assert_eq!(all(&[Some(false), None]), None);
        assert_eq!(all(&[Some(false), Some(false)]), Some(false));
        assert_eq!(all(&[Some(false), Some(true)]), Some(true));
        assert_eq!(all(&[Some(true)]), Some(true));
    }
}
