//! Fuzzes the parsers of the rows ClickHouse hunt queries return: any bytes from a broken or
//! hostile server must give a row and event (rule queries) or finding (correlation queries),
//! or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// A correlation with two group fields, so that group values of any count are tried.
fn correlations() -> &'static spoor_sigma::RuleSet {
    static SET: OnceLock<spoor_sigma::RuleSet> = OnceLock::new();
    SET.get_or_init(|| {
        let mut b = spoor_sigma::RuleSetBuilder::new();
        b.add_source(
            "fuzz.yml",
            "title: base\nname: base\nlogsource: {product: windows}\ndetection:\n  sel:\n    EventID: 1\n  condition: sel\n---\ntitle: c\ncorrelation:\n  type: value_count\n  rules: [base]\n  group-by: [a, b]\n  timespan: 1m\n  condition: {field: u, gte: 2}\n",
        );
        b.build()
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(row) = spoor_clickhouse::parse_hit_row(data) {
        let _ = row.to_event();
    }
    if let Ok(row) = spoor_clickhouse::parse_correlation_row(data) {
        if let Some(view) = correlations().correlations().views().next() {
            let _ = row.to_finding(&view);
        }
    }
});
