//! Fuzzes the Sigma side: any text as a rule file (detection, correlation and filter rules,
//! collections) through YAML, AST, compilation and the set build; whatever compiles is evaluated
//! on sample events and its correlations run to the end; the same text as a placeholder file and
//! through `parse_rules`. Never a panic, whatever the rule, and every error has a place.
#![no_main]

mod rule_events;

use libfuzzer_sys::fuzz_target;
use spoor_event::{EventMatcher, StatefulDetector};
use spoor_sigma::RuleSetBuilder;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut b = RuleSetBuilder::new();
    b.add_source("fuzz.yml", &text);
    let set = b.build();
    assert!(!set.reports().is_empty());
    let corr = set.correlations();
    let mut partial = corr.start();
    let mut ev = set.evaluator();
    for e in rule_events::sample_events() {
        let mut hits = Vec::new();
        ev.check(&e, &mut hits);
        // The indexed engine and its slow twin agree on every event.
        let slow = set.matching_rules_unindexed(&e);
        assert_eq!(hits.len(), slow.len());
        corr.observe(&mut partial, &e, &hits);
    }
    let _ = corr.finish(partial);
    let _ = set.filter_stats();
    for parsed in spoor_sigma::parse_rules(&text) {
        if let Err(spoor_sigma::RuleParseError::Invalid { at, .. }) = parsed {
            assert!(at.line >= 1);
        }
    }
    if let Err(e) = spoor_sigma::parse_placeholders(&text) {
        assert!(e.location().line >= 1);
    }
});
