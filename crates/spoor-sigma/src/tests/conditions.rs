//! Condition forms of the specification (and/or/not, brackets, `1 of`, `all of`, `N of`,
//! `them`, lists of conditions) and log-source gating.

use super::{base_event, load, matches};
use crate::RuleStatus;
use spoor_event::LogSource;

const A: &str = "sel_a: {A: 1}";
const B: &str = "sel_b: {B: 1}";
const C: &str = "filter_c: {C: 1}";

#[test]
fn and_or_not() {
    sigma_match!([A, B, "condition: sel_a and sel_b"], ev!{"A" => 1i64, "B" => 1i64} => true);
    sigma_match!([A, B, "condition: sel_a and sel_b"], ev!{"A" => 1i64} => false);
    sigma_match!([A, B, "condition: sel_a or sel_b"], ev!{"B" => 1i64} => true);
    sigma_match!([A, B, "condition: sel_a or sel_b"], ev!{"C" => 1i64} => false);
    sigma_match!([A, C, "condition: sel_a and not filter_c"], ev!{"A" => 1i64} => true);
    sigma_match!([A, C, "condition: sel_a and not filter_c"], ev!{"A" => 1i64, "C" => 1i64} => false);
    sigma_match!([A, "condition: not sel_a"], ev!{"B" => 1i64} => true);
    sigma_match!([A, "condition: not not sel_a"], ev!{"A" => 1i64} => true);
    // Keywords are case-insensitive.
    sigma_match!([A, B, "condition: sel_a AND NOT sel_b"], ev!{"A" => 1i64} => true);
}

#[test]
fn precedence_and_brackets() {
    // or < and < not: `a or b and not c` is `a or (b and (not c))`.
    let det = [A, B, C, "condition: sel_a or sel_b and not filter_c"];
    sigma_match!(det, ev!{"A" => 1i64, "C" => 1i64} => true);
    sigma_match!(det, ev!{"B" => 1i64, "C" => 1i64} => false);
    sigma_match!(det, ev!{"B" => 1i64} => true);
    let br = [A, B, C, "condition: (sel_a or sel_b) and not filter_c"];
    sigma_match!(br, ev!{"A" => 1i64, "C" => 1i64} => false);
    sigma_match!(br, ev!{"A" => 1i64} => true);
    let nested = [A, B, C, "condition: not ((sel_a) and (sel_b or filter_c))"];
    sigma_match!(nested, ev!{"A" => 1i64, "C" => 1i64} => false);
    sigma_match!(nested, ev!{"A" => 1i64} => true);
}

#[test]
fn one_of_and_all_of_a_pattern() {
    let det = [A, B, C, "condition: 1 of sel_*"];
    sigma_match!(det, ev!{"B" => 1i64} => true);
    sigma_match!(det, ev!{"C" => 1i64} => false);
    let any = [A, B, C, "condition: any of sel_*"];
    sigma_match!(any, ev!{"A" => 1i64} => true);
    let all = [A, B, C, "condition: all of sel_*"];
    sigma_match!(all, ev!{"A" => 1i64, "B" => 1i64} => true);
    sigma_match!(all, ev!{"A" => 1i64, "C" => 1i64} => false);
    let mixed = [A, B, C, "condition: 1 of sel_* and not 1 of filter*"];
    sigma_match!(mixed, ev!{"A" => 1i64} => true);
    sigma_match!(mixed, ev!{"A" => 1i64, "C" => 1i64} => false);
    // The star may sit anywhere in the pattern.
    let inner = [A, B, C, "condition: 1 of *_c"];
    sigma_match!(inner, ev!{"C" => 1i64} => true);
    sigma_match!(inner, ev!{"A" => 1i64} => false);
}

#[test]
fn n_of() {
    let det = [A, B, "sel_c: {C: 1}", "condition: 2 of sel_*"];
    sigma_match!(det, ev!{"A" => 1i64} => false);
    sigma_match!(det, ev!{"A" => 1i64, "C" => 1i64} => true);
    sigma_match!(det, ev!{"A" => 1i64, "B" => 1i64, "C" => 1i64} => true);
    let three = [A, B, "sel_c: {C: 1}", "condition: 3 of sel_*"];
    sigma_match!(three, ev!{"A" => 1i64, "C" => 1i64} => false);
    sigma_match!(three, ev!{"A" => 1i64, "B" => 1i64, "C" => 1i64} => true);
}

#[test]
fn them_ignores_underscore_identifiers() {
    let det = [A, B, "_aux: {Z: 1}", "condition: all of them"];
    // `_aux` is not part of `them`, so it need not match.
    sigma_match!(det, ev!{"A" => 1i64, "B" => 1i64} => true);
    sigma_match!(det, ev!{"A" => 1i64} => false);
    let one = [A, "_aux: {Z: 1}", "condition: 1 of them"];
    sigma_match!(one, ev!{"Z" => 1i64} => false);
    sigma_match!(one, ev!{"A" => 1i64} => true);
    // It can still be named on its own.
    let named = [A, "_aux: {Z: 1}", "condition: 1 of them or _aux"];
    sigma_match!(named, ev!{"Z" => 1i64} => true);
}

#[test]
fn a_list_of_conditions_is_an_or() {
    let det = [A, B, "condition: [sel_a, sel_b]"];
    sigma_match!(det, ev!{"A" => 1i64} => true);
    sigma_match!(det, ev!{"B" => 1i64} => true);
    sigma_match!(det, ev!{"C" => 1i64} => false);
    let block = [A, B, "condition:", "  - sel_a and sel_b", "  - not sel_a"];
    sigma_match!(block, ev!{"A" => 1i64, "B" => 1i64} => true);
    sigma_match!(block, ev!{"B" => 1i64} => true);
    sigma_match!(block, ev!{"A" => 1i64} => false);
}

#[test]
fn a_selection_named_several_times_in_a_condition_gives_one_answer() {
    let det = [A, "condition: sel_a and (sel_a or not sel_a) and sel_a"];
    sigma_match!(det, ev!{"A" => 1i64} => true);
    sigma_match!(det, ev!{"A" => 2i64} => false);
}

fn gated(ls: LogSource) -> bool {
    let set = super::compile_with(&["sel: {Image: x}", "condition: sel"], None);
    let mut ev = base_event().with("Image", "x");
    ev.logsource = ls;
    matches(&set, &ev)
}

#[test]
fn log_source_gating() {
    // The rule says windows / process_creation.
    let ls = |p: Option<&str>, c: Option<&str>, s: Option<&str>| LogSource::new(p, c, s);
    assert!(gated(ls(
        Some("windows"),
        Some("process_creation"),
        Some("sysmon")
    )));
    assert!(gated(ls(
        Some("windows"),
        Some("process_creation"),
        Some("security")
    )));
    assert!(!gated(ls(
        Some("linux"),
        Some("process_creation"),
        Some("sysmon")
    )));
    assert!(!gated(ls(
        Some("windows"),
        Some("file_event"),
        Some("sysmon")
    )));
    assert!(!gated(ls(Some("windows"), None, Some("sysmon"))));
    // An event whose source is wholly unknown (generic JSON) runs every rule.
    assert!(gated(LogSource::default()));
    // Service-level rules and implied categories.
    let set = load(&[(
        "r.yml",
        "title: t\nlogsource: {product: windows, category: registry_event}\ndetection:\n  sel: {TargetObject|contains: '\\Run\\'}\n  condition: sel\n---\ntitle: s\nlogsource: {product: windows, service: security}\ndetection:\n  sel: {EventID: 4624}\n  condition: sel\n",
    )]);
    assert!(set.reports().iter().all(|r| r.status == RuleStatus::Ok));
    let reg = base_event()
        .with_logsource(ls(Some("windows"), Some("registry_set"), Some("sysmon")))
        .with(
            "TargetObject",
            "HKU\\x\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\u",
        );
    let titles = |ev| {
        let a: Vec<String> = set
            .evaluator()
            .matching_rules(ev)
            .iter()
            .map(|m| m.title.clone())
            .collect();
        let b: Vec<String> = set
            .matching_rules_unindexed(ev)
            .iter()
            .map(|m| m.title.clone())
            .collect();
        assert_eq!(a, b);
        a
    };
    assert_eq!(titles(&reg), ["t"]);
    let sec = base_event()
        .with_logsource(ls(Some("windows"), None, Some("security")))
        .with("EventID", 4624i64);
    assert_eq!(titles(&sec), ["s"]);
    let sysmon = base_event().with("EventID", 4624i64);
    assert!(titles(&sysmon).is_empty());
}

#[test]
fn one_evaluator_serves_many_log_sources_in_turn() {
    // The evaluator caches the index of the last log source; switching must not leak.
    let set = load(&[(
        "r.yml",
        "title: w\nlogsource: {product: windows}\ndetection:\n  sel: {A: 1}\n  condition: sel\n---\ntitle: l\nlogsource: {product: linux}\ndetection:\n  sel: {A: 1}\n  condition: sel\n",
    )]);
    let mut e = set.evaluator();
    for round in 0..3 {
        for (p, want) in [("windows", "w"), ("linux", "l"), ("windows", "w")] {
            let ev = base_event()
                .with_logsource(LogSource::new(Some(p), None, None))
                .with("A", 1i64);
            let got: Vec<String> = e
                .matching_rules(&ev)
                .iter()
                .map(|m| m.title.clone())
                .collect();
            assert_eq!(got, [want], "round {round}");
        }
    }
}
