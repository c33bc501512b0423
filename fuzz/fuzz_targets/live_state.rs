//! Fuzzes the live state file (`--state`): any bytes through the strict parser; whatever
//! parses has its cursors checked by a resumed follower and its saved correlation state
//! restored against a small correlation set and run to the end. Never a panic, whatever the
//! file says.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spoor_event::StatefulDetector;
use spoor_input::{Checkpoint, Follower, ReadOptions};
use spoor_sigma::{RuleSet, RuleSetBuilder};
use std::sync::OnceLock;

const RULES: &str = "title: Probe\nid: f-probe\nname: probe\nlogsource: {category: webserver}\ndetection:\n  sel:\n    cs-uri-query|contains: probe\n  condition: sel\n---\ntitle: Burst\nid: f-burst\nname: burst\ncorrelation:\n  type: value_count\n  rules: [probe]\n  group-by: [c-ip]\n  timespan: 1m\n  condition:\n    field: cs-uri\n    gte: 2\n---\ntitle: Chain\nid: f-chain\ncorrelation:\n  type: temporal_ordered\n  rules: [burst, probe]\n  group-by: [c-ip]\n  timespan: 5m\n";

fn set() -> &'static RuleSet {
    static SET: OnceLock<RuleSet> = OnceLock::new();
    SET.get_or_init(|| {
        let mut b = RuleSetBuilder::new();
        b.add_source("fuzz.yml", RULES);
        b.build()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(cp) = Checkpoint::parse(data) else {
        return;
    };
    let corr = set().correlations();
    for saved in cp.detectors.into_iter().flatten() {
        if let Ok(mut p) = corr.restore(saved) {
            let _ = corr.advance(&mut p, chrono::Utc::now());
            let _ = corr.save(&p);
            let _ = corr.finish(p);
        }
    }
    // Resuming checks every cursor; nothing is read (no root to follow).
    let _ = Follower::resume(Vec::new(), ReadOptions::default(), cp.files);
});
