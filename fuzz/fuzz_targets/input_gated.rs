//! Fuzzes the web line prefilter: any bytes, read as an Apache/nginx access log and as an IIS log
//! with the built-in pack's line gates on and off, never panic, and the pack's rules match the
//! same lines either way (the gate may only skip lines no rule matches).
#![no_main]

use libfuzzer_sys::fuzz_target;
use spoor_event::{Position, SharedGates};
use spoor_input::{read_reader, InputFormat, ReadOptions};
use spoor_sigma::{RuleSet, RuleSetBuilder};
use std::sync::{Arc, OnceLock};

fn rules() -> &'static RuleSet {
    static SET: OnceLock<RuleSet> = OnceLock::new();
    SET.get_or_init(|| {
        let mut b = RuleSetBuilder::new();
        for (name, text) in spoor_pack::sigma_rules() {
            b.add_source(name, text);
        }
        b.build()
    })
}

fn matches(data: &[u8], format: InputFormat, gated: bool) -> Vec<(u64, Vec<String>)> {
    let set = rules();
    let mut opts = ReadOptions {
        format: Some(format),
        ..ReadOptions::default()
    };
    if gated {
        opts.gates = Some(SharedGates(Arc::new(set.line_gates())));
    }
    let mut ev_ = set.evaluator();
    let mut out = Vec::new();
    read_reader("fuzz.log", data, &opts, |ev| {
        let ids: Vec<String> = ev_.matching_rules(&ev).iter().map(|m| m.id.clone()).collect();
        if !ids.is_empty() {
            let line = match ev.origin.position {
                Position::Line(l) => l,
                _ => 0,
            };
            out.push((line, ids));
        }
    });
    out
}

fuzz_target!(|data: &[u8]| {
    for format in [InputFormat::WebAccess, InputFormat::Iis] {
        assert_eq!(matches(data, format, true), matches(data, format, false));
    }
});
