//! Fuzzes plain indicator lists and `type,value,description` CSV: any text loads (bad lines
//! reported) and matches sample events without a panic.
#![no_main]

mod rule_events;

use libfuzzer_sys::fuzz_target;
use spoor_event::EventMatcher;
use spoor_ioc::{IocOptions, IocSetBuilder};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut b = IocSetBuilder::new(IocOptions::default());
    b.add_list_str("fuzz.txt", &text);
    let Ok(set) = b.build() else {
        return;
    };
    let mut m = set.ioc_matcher();
    for e in rule_events::sample_events() {
        let mut out = Vec::new();
        m.check(&e, &mut out);
    }
});
