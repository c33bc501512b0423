//! Fuzzes STIX 2.1 bundles and the patterning language: any text as a bundle, loaded (bad
//! objects reported, the rest kept), matched on sample events and its stateful patterns
//! (FOLLOWEDBY, WITHIN, REPEATS) evaluated to the end.
#![no_main]

mod rule_events;

use libfuzzer_sys::fuzz_target;
use spoor_event::{Detector, StatefulDetector};
use spoor_ioc::{IocOptions, IocSetBuilder};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut b = IocSetBuilder::new(IocOptions::default());
    if b.add_stix_str("fuzz.json", &text).is_err() {
        return;
    }
    let Ok(set) = b.build() else {
        return;
    };
    let mut m = set.matcher();
    let mut p = StatefulDetector::start(&set);
    for e in rule_events::sample_events() {
        let mut out = Vec::new();
        m.check(&e, &mut out);
        StatefulDetector::observe(&set, &mut p, &e, &out);
    }
    let _ = StatefulDetector::finish(&set, p);
});
