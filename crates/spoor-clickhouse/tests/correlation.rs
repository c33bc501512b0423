//! Correlations as window queries in the real ClickHouse engine (chdb behind the test front)
//! give the local engine's findings exactly: every type, ties at one instant, non-monotone
//! conditions, absent group fields, and a chained correlation.

mod harness;

use spoor_clickhouse::{Client, Config, Inserter};
use spoor_event::{Event, Finding, LogSource, Position, StatefulDetector};
use spoor_sigma::{RuleSet, RuleSetBuilder};
use std::collections::BTreeSet;

const RULES: &str = r#"
title: fail
name: fail
logsource: {product: windows, service: security}
detection:
  sel:
    EventID: 4625
  condition: sel
---
title: ok
name: ok
logsource: {product: windows, service: security}
detection:
  sel:
    EventID: 4624
  condition: sel
---
title: count at least 3
id: c-count
name: burst
correlation: {type: event_count, rules: [fail], group-by: [IpAddress], timespan: 5m, condition: {gte: 3}}
---
title: count at most 2 (not monotone)
id: c-count-lte
correlation: {type: event_count, rules: [fail], group-by: [IpAddress], timespan: 5m, condition: {lte: 2}}
---
title: distinct users
id: c-distinct
correlation: {type: value_count, rules: [fail, ok], group-by: [IpAddress], timespan: 10m, condition: {field: TargetUserName, gte: 2}}
---
title: distinct users exactly 2
id: c-distinct-eq
correlation: {type: value_count, rules: [fail], group-by: [IpAddress], timespan: 10m, condition: {field: TargetUserName, eq: 2}}
---
title: sum
id: c-sum
correlation: {type: value_sum, rules: [fail], group-by: [IpAddress], timespan: 10m, condition: {field: Bytes, gte: 100}}
---
title: avg
id: c-avg
correlation: {type: value_avg, rules: [fail], group-by: [IpAddress], timespan: 10m, condition: {field: Bytes, gte: 40, lt: 60}}
---
title: median
id: c-median
correlation: {type: value_median, rules: [fail], group-by: [IpAddress], timespan: 10m, condition: {field: Bytes, gte: 30}}
---
title: percentile
id: c-pct
correlation: {type: value_percentile, rules: [fail], group-by: [IpAddress], timespan: 10m, condition: {field: Bytes, percentile: 50, gte: 20}}
---
title: temporal
id: c-temporal
correlation: {type: temporal, rules: [ok, fail], group-by: [IpAddress], timespan: 5m}
---
title: temporal ordered
id: c-ordered
correlation: {type: temporal_ordered, rules: [fail, ok], group-by: [IpAddress], timespan: 5m}
---
title: burst then success (chained)
id: c-chain
correlation: {type: temporal_ordered, rules: [burst, ok], group-by: [IpAddress], timespan: 30m}
---
title: no group at all
id: c-nogroup
correlation: {type: event_count, rules: [ok], timespan: 10m, condition: {gte: 2}}
"#;

fn ev(n: u64, secs: i64, id: i64, ip: Option<&str>, user: &str, bytes: &str) -> Event {
    let mut e = Event::new(
        if n.is_multiple_of(3) {
            "b.evtx"
        } else {
            "a.evtx"
        },
        Position::Record(n),
    )
    .with_logsource(LogSource::new(Some("windows"), None, Some("security")));
    e.timestamp = Some(chrono::DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap());
    e.push("EventID", id);
    if let Some(ip) = ip {
        e.push("IpAddress", ip);
    }
    e.push("TargetUserName", user);
    e.push("Bytes", bytes);
    e
}

fn events() -> Vec<Event> {
    let mut v = Vec::new();
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    // Address 1: a burst with ties at one instant, then a success.
    for (s, u, b) in [
        (0, "a", "10"),
        (10, "b", "50"),
        (10, "a", "70"),
        (10, "c", "x"),
        (20, "c", "5"),
        (400, "d", "60"),
        (400, "d", "45"),
    ] {
        v.push(ev(next(), s, 4625, Some("10.0.0.1"), u, b));
    }
    v.push(ev(next(), 30, 4624, Some("10.0.0.1"), "a", "0"));
    v.push(ev(next(), 410, 4624, Some("10.0.0.1"), "a", "0"));
    // Address 2: a success before failures (temporal, not ordered), spaced widely.
    v.push(ev(next(), 1000, 4624, Some("10.0.0.2"), "z", "1"));
    for i in 0..5 {
        v.push(ev(
            next(),
            1010 + i * 100,
            4625,
            Some("10.0.0.2"),
            "z",
            "30",
        ));
    }
    // No address at all: its own group.
    for i in 0..4 {
        v.push(ev(next(), 2000 + i, 4625, None, &format!("u{i}"), " 25 "));
    }
    v.push(ev(next(), 2003, 4624, None, "u0", "1e1"));
    v
}

fn rules() -> RuleSet {
    let mut b = RuleSetBuilder::new();
    b.add_source("corr.yml", RULES);
    let set = b.build();
    assert_eq!(set.correlations().len(), 12, "{:?}", set.reports());
    set
}

type Key = (
    String,
    String,
    String,
    String,
    u64,
    Vec<(String, Option<String>)>,
    Vec<String>,
    String,
);

fn key(f: &Finding) -> Key {
    let c = f.correlation.as_ref().expect("a correlation finding");
    (
        f.rule.id.clone(),
        c.window_start.to_rfc3339(),
        c.window_end.to_rfc3339(),
        format!("{:.9}", c.value),
        c.events,
        c.group.clone(),
        c.origins
            .iter()
            .map(|o| format!("{}:{:?}", o.path, o.position))
            .collect(),
        format!("{:?} {}", f.logsource, f.source.path),
    )
}

fn local(set: &RuleSet, evs: &[Event]) -> BTreeSet<Key> {
    let corr = set.correlations();
    let mut part = corr.start();
    let mut eval = set.evaluator();
    for e in evs {
        let found: Vec<Finding> = eval
            .matching_rules(e)
            .into_iter()
            .map(|m| Finding::from_event(m.clone(), e))
            .collect();
        corr.observe(&mut part, e, &found);
    }
    corr.finish(part).findings.iter().map(key).collect()
}

#[test]
fn correlation_queries_equal_the_local_windows() {
    let Some(server) = harness::start("correlation_queries_equal_the_local_windows", None) else {
        return;
    };
    let client = Client::new(Config::new(&server.url)).unwrap();
    let evs = events();
    spoor_clickhouse::create_table(&client, "ev").unwrap();
    let mut ins = Inserter::new(client.clone(), "ev", 100, 1 << 20);
    for e in &evs {
        ins.push(e);
    }
    assert_eq!(ins.finish().failed, 0);
    let set = rules();
    let plan = spoor_clickhouse::plan(&set, "default", "ev");
    assert!(
        plan.correlations_local.is_empty(),
        "{:?}",
        plan.correlations_local
    );
    assert_eq!(plan.correlations.len(), 12);
    let mut remote = BTreeSet::new();
    let run = spoor_clickhouse::run_correlations(&client, &set, &plan, |f| {
        if !f.rule.feeds_only {
            remote.insert(key(&f));
        }
    })
    .unwrap();
    assert!(run.failed.is_empty(), "{:#?}", run.failed);
    let local = local(&set, &evs);
    // Every correlation must fire locally, or the comparison proves little.
    let fired: BTreeSet<&str> = local.iter().map(|k| k.0.as_str()).collect();
    assert_eq!(fired.len(), 11, "fired locally: {fired:?}");
    let only_local: Vec<_> = local.difference(&remote).collect();
    let only_remote: Vec<_> = remote.difference(&local).collect();
    assert!(
        only_local.is_empty() && only_remote.is_empty(),
        "only local: {only_local:#?}\nonly in ClickHouse: {only_remote:#?}"
    );
}
