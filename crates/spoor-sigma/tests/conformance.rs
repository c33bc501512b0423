//! Conformance on real rules: SigmaHQ's rule folders must load with at least 99% `ok`; every
//! rule that is not is printed with its reason.

use spoor_sigma::{RuleSetBuilder, RuleStatus};
use std::path::PathBuf;

fn corpus() -> Option<PathBuf> {
    spoor_event::shared_corpora("conformance").map(|c| c.join("sigma"))
}

#[test]
fn sigmahq_rules_load() {
    let Some(root) = corpus() else { return };
    let mut b = RuleSetBuilder::new();
    for dir in [
        "rules",
        "rules-emerging-threats",
        "rules-threat-hunting",
        "rules-placeholder",
    ] {
        b.add_path(&root.join(dir));
    }
    let set = b.build();
    let reports = set.reports();
    let total = reports.len();
    let ok = reports
        .iter()
        .filter(|r| r.status == RuleStatus::Ok)
        .count();
    for r in reports.iter().filter(|r| r.status != RuleStatus::Ok) {
        eprintln!(
            "{}:{}: {}: {}",
            r.origin,
            r.line,
            r.status.name(),
            r.status.reason()
        );
    }
    let unsupported = reports
        .iter()
        .filter(|r| matches!(r.status, RuleStatus::Unsupported(_)))
        .count();
    eprintln!("{total} rules: {ok} ok, {unsupported} unsupported, {} invalid; {} without index requirement", total - ok - unsupported, set.unindexed_rules());
    assert!(total >= 3700, "expected the whole SigmaHQ set, got {total}");
    assert!(ok * 100 >= total * 99, "only {ok} of {total} rules ok");
}
