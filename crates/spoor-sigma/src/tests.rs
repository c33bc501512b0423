//! The engine's proof. Unit tests per modifier and condition form (written from the Sigma
//! specification's own examples), bad rules, hostile events, and property tests that hold the
//! compiled, indexed engine to a naive reference evaluator that walks the public AST.
//!
//! Every match test runs both paths: the indexed [`crate::Evaluator`] and the unindexed
//! [`crate::RuleSet::matching_rules_unindexed`]; they must agree before the answer is checked.

use crate::{Placeholders, RuleSet, RuleSetBuilder, RuleStatus};
use spoor_event::{Event, LogSource, Position, Value};

/// `sigma_match!([detection lines], event => expected)`: compiles a one-rule set from the
/// detection lines (the rule's log source is windows / process_creation), requires it to load
/// `ok`, and checks the event on the indexed and the unindexed path.
macro_rules! sigma_match {
    ([$($line:expr),+ $(,)?], $ev:expr => $want:expr) => {
        $crate::tests::assert_match(&[$(AsRef::<str>::as_ref(&$line)),+], &$ev, $want, line!())
    };
    ($det:expr, $ev:expr => $want:expr) => {
        $crate::tests::assert_match(&$det, &$ev, $want, line!())
    };
}

/// `ev!{"Field" => value, ...}`: a Sysmon process-creation event with these fields, in order.
macro_rules! ev {
    ($($k:expr => $v:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut e = $crate::tests::base_event();
        $(e.push($k, $v);)*
        e
    }};
}

mod conditions;
mod correlation;
mod hostile;
mod invalid;
mod lazy;
mod modifiers;
mod property;
mod reference;
mod values;

/// The log source of Sysmon event 1.
pub(crate) fn sysmon_process() -> LogSource {
    LogSource::new(Some("windows"), Some("process_creation"), Some("sysmon"))
}

/// An event with no fields yet, from Sysmon process creation.
pub(crate) fn base_event() -> Event {
    Event::new("test.evtx", Position::Record(1)).with_logsource(sysmon_process())
}

/// An array value.
pub(crate) fn arr(items: impl IntoIterator<Item = Value>) -> Value {
    Value::Array(items.into_iter().collect())
}

/// A rule around `detection` (one YAML line per item, indented under `detection:`).
pub(crate) fn rule_yaml(detection: &[&str]) -> String {
    let mut s = String::from(
        "title: test rule\nid: 6f1b1a2e-0000-4000-8000-000000000001\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n",
    );
    for line in detection {
        s.push_str("  ");
        s.push_str(line);
        s.push('\n');
    }
    s
}

/// Builds a set from one rule, which must load `ok`.
pub(crate) fn compile_with(detection: &[&str], placeholders: Option<Placeholders>) -> RuleSet {
    let mut b = RuleSetBuilder::new();
    if let Some(p) = placeholders {
        b.placeholders(p);
    }
    let yaml = rule_yaml(detection);
    b.add_source("test.yml", &yaml);
    let set = b.build();
    let statuses: Vec<_> = set.reports().iter().map(|r| &r.status).collect();
    assert_eq!(statuses, [&RuleStatus::Ok], "rule did not load:\n{yaml}");
    set
}

/// Whether the set's only rule matches `ev`, after checking that both paths agree.
pub(crate) fn matches(set: &RuleSet, ev: &Event) -> bool {
    let indexed = set.evaluator().matching_rules(ev).len();
    let unindexed = set.matching_rules_unindexed(ev).len();
    assert_eq!(indexed, unindexed, "indexed and unindexed paths disagree");
    assert!(indexed <= 1);
    indexed == 1
}

pub(crate) fn assert_match(detection: &[&str], ev: &Event, want: bool, line: u32) {
    let set = compile_with(detection, None);
    let got = matches(&set, ev);
    assert_eq!(
        got, want,
        "tests.rs case at line {line}: rule {detection:?} on event {:?}",
        ev.fields
    );
}

/// Loads YAML and returns the reports.
pub(crate) fn load(sources: &[(&str, &str)]) -> RuleSet {
    let mut b = RuleSetBuilder::new();
    for (origin, yaml) in sources {
        b.add_source(origin, yaml);
    }
    b.build()
}

#[test]
fn the_macros_really_check() {
    // A guard for the helpers themselves: a wrong expectation must fail.
    let r = std::panic::catch_unwind(
        || sigma_match!(["sel: {Image: x}", "condition: sel"], ev!{"Image" => "y"} => true),
    );
    assert!(r.is_err());
    sigma_match!(["sel: {Image: x}", "condition: sel"], ev!{"Image" => "X"} => true);
}

/// The titles of the rules of `set` that match `ev`, in rule-set order.
pub(crate) fn matching_titles(set: &RuleSet, ev: &Event) -> Vec<String> {
    set.evaluator()
        .matching_rules(ev)
        .iter()
        .map(|m| m.title.clone())
        .collect()
}
