//! Correlation and filter rules: every correlation type on the specification's examples and
//! their near misses (a burst just longer than the timespan, the right events in the wrong
//! order, one value repeated instead of many distinct), chains, aliases, `generate`, bad
//! rules, and independence from how events are split across work units.

use crate::CorrelationPartial;
use crate::{RuleSet, RuleSetBuilder, RuleStatus};
use chrono::{DateTime, TimeZone, Utc};
use spoor_event::{Event, EventMatcher, Finding, LogSource, Position, StatefulDetector};

const BASE: &str = "title: Failed logon\nid: f-0001\nname: failed_login\nlogsource: {product: windows, service: security}\ndetection:\n  sel:\n    EventID: 4625\n  condition: sel\n---\ntitle: Successful logon\nid: s-0001\nname: successful_login\nlogsource: {product: windows, service: security}\ndetection:\n  sel:\n    EventID: 4624\n  condition: sel\n";

fn set_of(yaml: &str) -> RuleSet {
    let mut b = RuleSetBuilder::new();
    b.add_source("test.yml", yaml);
    b.build()
}

fn t(sec: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_720_000_000 + sec, 0)
        .single()
        .expect("time")
}

/// A Security event at `sec` seconds.
fn sec_ev(line: u64, sec: i64, id: i64, fields: &[(&str, &str)]) -> Event {
    let mut e = Event::new("sec.evtx", Position::Record(line))
        .with_logsource(LogSource::new(Some("windows"), None, Some("security")))
        .with("EventID", id);
    for (k, v) in fields {
        e.push(*k, *v);
    }
    e.timestamp = Some(t(sec));
    e
}

/// Runs the set's single-event rules and its correlations over `units` (each a work unit),
/// returning the visible findings (single-event then correlation).
fn hunt_units(set: &RuleSet, units: &[Vec<Event>]) -> (Vec<Finding>, Vec<String>) {
    let corr = set.correlations();
    let mut findings = Vec::new();
    let mut partials = Vec::new();
    for unit in units {
        let mut p = corr.start();
        let mut ev = set.evaluator();
        for e in unit {
            let mut hits = Vec::new();
            ev.check(e, &mut hits);
            corr.observe(&mut p, e, &hits);
            findings.extend(hits.into_iter().filter(|f| !f.rule.feeds_only));
        }
        partials.push(p);
    }
    let mut merged = corr.start();
    for p in partials {
        corr.merge(&mut merged, p);
    }
    let out = corr.finish(merged);
    findings.extend(out.findings);
    findings.sort_by(Finding::report_order);
    (findings, out.notes)
}

fn hunt(set: &RuleSet, events: Vec<Event>) -> Vec<Finding> {
    hunt_units(set, &[events]).0
}

fn correlations(findings: &[Finding]) -> Vec<&Finding> {
    findings
        .iter()
        .filter(|f| f.correlation.is_some())
        .collect()
}

fn all_ok(set: &RuleSet) {
    for r in set.reports() {
        assert_eq!(
            r.status,
            RuleStatus::Ok,
            "{}:{} {}",
            r.origin,
            r.line,
            r.title
        );
    }
}

fn event_count(gte: u32, span: &str) -> String {
    format!("{BASE}---\ntitle: Many failed logons\nid: c-0001\ncorrelation:\n  type: event_count\n  rules: [failed_login]\n  group-by: [TargetUserName]\n  timespan: {span}\n  condition:\n    gte: {gte}\n")
}

#[test]
fn event_count_fires_inside_the_timespan_with_inclusive_ends() {
    let set = set_of(&event_count(3, "1h"));
    all_ok(&set);
    let f = hunt(
        &set,
        (0..3)
            .map(|i| sec_ev(i + 1, i as i64 * 1_800, 4625, &[("TargetUserName", "bob")]))
            .collect(),
    );
    // 0 s, 1800 s, 3600 s: exactly one hour apart, both ends inclusive.
    let c = correlations(&f);
    assert_eq!(c.len(), 1);
    let info = c[0].correlation.as_ref().unwrap();
    assert_eq!(info.kind, "event_count");
    assert_eq!(info.value, 3.0);
    assert_eq!(info.events, 3);
    assert_eq!(info.window_start, t(0));
    assert_eq!(info.window_end, t(3_600));
    assert_eq!(
        info.group,
        vec![("TargetUserName".to_string(), Some("bob".to_string()))]
    );
    assert_eq!(c[0].timestamp, Some(t(0)));
    assert_eq!(c[0].source.position, Position::Record(1));
    // The base rule feeds the correlation only (generate defaults to false).
    assert_eq!(f.len(), 1);
}

#[test]
fn event_count_burst_just_longer_than_the_timespan_is_quiet() {
    let set = set_of(&event_count(3, "1h"));
    let f = hunt(
        &set,
        [0, 1_800, 3_601]
            .iter()
            .enumerate()
            .map(|(i, &s)| sec_ev(i as u64 + 1, s, 4625, &[("TargetUserName", "bob")]))
            .collect(),
    );
    assert!(correlations(&f).is_empty());
}

#[test]
fn event_count_groups_are_separate() {
    let set = set_of(&event_count(3, "1h"));
    let users = ["bob", "eve", "bob", "eve", "bob"];
    let f = hunt(
        &set,
        users
            .iter()
            .enumerate()
            .map(|(i, u)| sec_ev(i as u64 + 1, i as i64, 4625, &[("TargetUserName", u)]))
            .collect(),
    );
    let c = correlations(&f);
    assert_eq!(c.len(), 1, "only bob has three");
    assert_eq!(
        c[0].correlation.as_ref().unwrap().group[0].1.as_deref(),
        Some("bob")
    );
}

#[test]
fn a_long_burst_is_one_finding_with_every_event() {
    let set = set_of(&event_count(5, "5m"));
    let f = hunt(
        &set,
        (0..36)
            .map(|i| sec_ev(i + 1, i as i64 * 2, 4625, &[("TargetUserName", "root")]))
            .collect(),
    );
    let c = correlations(&f);
    assert_eq!(c.len(), 1);
    let info = c[0].correlation.as_ref().unwrap();
    assert_eq!(info.events, 36);
    assert_eq!(info.origins.len(), 36);
    assert_eq!(info.value, 36.0);
    assert_eq!(info.window_end, t(70));
}

#[test]
fn bursts_far_apart_are_separate_findings() {
    let set = set_of(&event_count(3, "1m"));
    let secs = [0, 10, 20, 1_000, 1_010, 1_020];
    let f = hunt(
        &set,
        secs.iter()
            .enumerate()
            .map(|(i, &s)| sec_ev(i as u64 + 1, s, 4625, &[("TargetUserName", "bob")]))
            .collect(),
    );
    let c = correlations(&f);
    assert_eq!(c.len(), 2);
    assert_eq!(c[1].correlation.as_ref().unwrap().window_start, t(1_000));
}

#[test]
fn missing_group_values_form_a_null_group() {
    let set = set_of(&event_count(2, "1h"));
    let f = hunt(&set, vec![sec_ev(1, 0, 4625, &[]), sec_ev(2, 5, 4625, &[])]);
    let c = correlations(&f);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].correlation.as_ref().unwrap().group[0].1, None);
}

#[test]
fn value_count_needs_distinct_values() {
    let yaml = format!("{BASE}---\ntitle: Spray\ncorrelation:\n  type: value_count\n  rules: [failed_login]\n  group-by: [IpAddress]\n  timespan: 5m\n  condition:\n    field: TargetUserName\n    gte: 3\n");
    let set = set_of(&yaml);
    all_ok(&set);
    let spray = ["alice", "bob", "carol"]
        .iter()
        .enumerate()
        .map(|(i, u)| {
            sec_ev(
                i as u64 + 1,
                i as i64,
                4625,
                &[("IpAddress", "203.0.113.5"), ("TargetUserName", u)],
            )
        })
        .collect();
    let c = hunt(&set, spray);
    assert_eq!(correlations(&c).len(), 1);
    assert_eq!(
        correlations(&c)[0].correlation.as_ref().unwrap().aggregate,
        "distinct_count"
    );
    // One user tried five times: many events, one value.
    let repeated = (0..5)
        .map(|i| {
            sec_ev(
                i + 1,
                i as i64,
                4625,
                &[("IpAddress", "203.0.113.5"), ("TargetUserName", "bob")],
            )
        })
        .collect();
    assert!(correlations(&hunt(&set, repeated)).is_empty());
}

#[test]
fn value_count_over_several_fields_counts_tuples() {
    let yaml = format!("{BASE}---\ntitle: Pairs\ncorrelation:\n  type: value_count\n  rules: [failed_login]\n  timespan: 5m\n  condition:\n    field: [TargetUserName, WorkstationName]\n    gte: 2\n");
    let set = set_of(&yaml);
    all_ok(&set);
    let same = (0..3)
        .map(|i| {
            sec_ev(
                i + 1,
                i as i64,
                4625,
                &[("TargetUserName", "bob"), ("WorkstationName", "W1")],
            )
        })
        .collect();
    assert!(correlations(&hunt(&set, same)).is_empty());
    let two = vec![
        sec_ev(
            1,
            0,
            4625,
            &[("TargetUserName", "bob"), ("WorkstationName", "W1")],
        ),
        sec_ev(
            2,
            1,
            4625,
            &[("TargetUserName", "bob"), ("WorkstationName", "W2")],
        ),
    ];
    assert_eq!(correlations(&hunt(&set, two)).len(), 1);
}

const RECON: &str = "title: Whoami\nname: recon_a\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel: {Image|endswith: '\\whoami.exe'}\n  condition: sel\n---\ntitle: Net\nname: recon_b\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel: {Image|endswith: '\\net.exe'}\n  condition: sel\n---\ntitle: Ipconfig\nname: recon_c\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel: {Image|endswith: '\\ipconfig.exe'}\n  condition: sel\n";

fn proc_ev(line: u64, sec: i64, image: &str, user: &str) -> Event {
    let mut e = Event::new("sysmon.evtx", Position::Record(line))
        .with_logsource(LogSource::new(
            Some("windows"),
            Some("process_creation"),
            Some("sysmon"),
        ))
        .with("Image", image)
        .with("ComputerName", "WS1")
        .with("User", user);
    e.timestamp = Some(t(sec));
    e
}

fn temporal(kind: &str) -> String {
    format!("{RECON}---\ntitle: Recon burst\ncorrelation:\n  type: {kind}\n  rules: [recon_a, recon_b, recon_c]\n  group-by: [ComputerName, User]\n  timespan: 5m\n")
}

#[test]
fn temporal_needs_every_rule_in_any_order() {
    let set = set_of(&temporal("temporal"));
    all_ok(&set);
    let any_order = vec![
        proc_ev(1, 0, r"C:\w\ipconfig.exe", "u"),
        proc_ev(2, 10, r"C:\w\whoami.exe", "u"),
        proc_ev(3, 20, r"C:\w\net.exe", "u"),
    ];
    let f = hunt(&set, any_order);
    assert_eq!(correlations(&f).len(), 1);
    assert_eq!(correlations(&f)[0].correlation.as_ref().unwrap().value, 3.0);
    let missing = vec![
        proc_ev(1, 0, r"C:\w\ipconfig.exe", "u"),
        proc_ev(2, 10, r"C:\w\whoami.exe", "u"),
        proc_ev(3, 20, r"C:\w\whoami.exe", "u"),
    ];
    assert!(correlations(&hunt(&set, missing)).is_empty());
    let other_user = vec![
        proc_ev(1, 0, r"C:\w\ipconfig.exe", "u"),
        proc_ev(2, 10, r"C:\w\whoami.exe", "u"),
        proc_ev(3, 20, r"C:\w\net.exe", "v"),
    ];
    assert!(correlations(&hunt(&set, other_user)).is_empty());
    let too_slow = vec![
        proc_ev(1, 0, r"C:\w\ipconfig.exe", "u"),
        proc_ev(2, 10, r"C:\w\whoami.exe", "u"),
        proc_ev(3, 301, r"C:\w\net.exe", "u"),
    ];
    assert!(correlations(&hunt(&set, too_slow)).is_empty());
}

#[test]
fn temporal_ordered_needs_the_listed_order() {
    let set = set_of(&temporal("temporal_ordered"));
    all_ok(&set);
    let in_order = vec![
        proc_ev(1, 0, r"C:\w\whoami.exe", "u"),
        proc_ev(2, 10, r"C:\w\net.exe", "u"),
        proc_ev(3, 20, r"C:\w\ipconfig.exe", "u"),
    ];
    assert_eq!(correlations(&hunt(&set, in_order)).len(), 1);
    let wrong_order = vec![
        proc_ev(1, 0, r"C:\w\ipconfig.exe", "u"),
        proc_ev(2, 10, r"C:\w\whoami.exe", "u"),
        proc_ev(3, 20, r"C:\w\net.exe", "u"),
    ];
    assert!(correlations(&hunt(&set, wrong_order)).is_empty());
    // Out of order first, then in order within the window: the subsequence counts.
    let late = vec![
        proc_ev(1, 0, r"C:\w\net.exe", "u"),
        proc_ev(2, 10, r"C:\w\whoami.exe", "u"),
        proc_ev(3, 20, r"C:\w\net.exe", "u"),
        proc_ev(4, 30, r"C:\w\ipconfig.exe", "u"),
    ];
    assert_eq!(correlations(&hunt(&set, late)).len(), 1);
}

/// The specification's complete example: many failed logins followed by a successful one.
const SPEC_CHAIN: &str = "title: Correlation - Multiple Failed Logins Followed by Successful Login\nid: b180ead8-d58f-40b2-ae54-c8940995b9b6\ncorrelation:\n    type: temporal_ordered\n    rules:\n        - multiple_failed_login\n        - successful_login\n    group-by:\n        - User\n    timespan: 10m\nlevel: high\n---\ntitle: Multiple failed logons\nid: a8418a5a-5fc4-46b5-b23b-6c73beb19d41\nname: multiple_failed_login\ncorrelation:\n    type: event_count\n    rules:\n        - failed_login\n    group-by:\n        - User\n    timespan: 10m\n    condition:\n        gte: 10\n---\ntitle: Single failed login\nid: 53ba33fd-3a50-4468-a5ef-c583635cfa92\nname: failed_login\nlogsource:\n    product: windows\n    service: security\ndetection:\n    selection:\n        EventID:\n            - 529\n            - 4625\n    condition: selection\n---\ntitle: Successful login\nid: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8\nname: successful_login\nlogsource:\n    product: windows\n    service: security\ndetection:\n    selection:\n        EventID:\n            - 528\n            - 4624\n    condition: selection\n";

#[test]
fn spec_chain_failed_logins_then_success() {
    let set = set_of(SPEC_CHAIN);
    all_ok(&set);
    let mut evs: Vec<Event> = (0..12)
        .map(|i| sec_ev(i + 1, i as i64 * 5, 4625, &[("User", "bob")]))
        .collect();
    evs.push(sec_ev(13, 120, 4624, &[("User", "bob")]));
    let f = hunt(&set, evs.clone());
    assert_eq!(f.len(), 1, "only the outer correlation reports: {f:#?}");
    let info = f[0].correlation.as_ref().unwrap();
    assert_eq!(f[0].rule.id, "b180ead8-d58f-40b2-ae54-c8940995b9b6");
    assert_eq!(info.kind, "temporal_ordered");
    assert_eq!(info.events, 13, "12 failures and the success");
    assert_eq!(info.window_start, t(0));
    assert_eq!(info.window_end, t(120));
    assert_eq!(f[0].rule.level, spoor_event::RuleLevel::High);
    // The success before the burst: wrong order.
    let mut early = vec![sec_ev(1, 0, 4624, &[("User", "bob")])];
    early.extend((0..12).map(|i| sec_ev(i + 2, 10 + i as i64 * 5, 4625, &[("User", "bob")])));
    assert!(hunt(&set, early).is_empty());
    // Nine failures are not "many".
    let mut few: Vec<Event> = (0..9)
        .map(|i| sec_ev(i + 1, i as i64 * 5, 4625, &[("User", "bob")]))
        .collect();
    few.push(sec_ev(10, 120, 4624, &[("User", "bob")]));
    assert!(hunt(&set, few).is_empty());
    // Another user's success.
    let mut other = evs;
    other.pop();
    other.push(sec_ev(13, 120, 4624, &[("User", "eve")]));
    assert!(hunt(&set, other).is_empty());
}

#[test]
fn generate_true_keeps_the_base_findings() {
    let yaml = format!("{BASE}---\ntitle: Many failed logons\ngenerate: true\ncorrelation:\n  type: event_count\n  rules: [failed_login]\n  timespan: 1h\n  condition:\n    gte: 2\n");
    let set = set_of(&yaml);
    let f = hunt(&set, vec![sec_ev(1, 0, 4625, &[]), sec_ev(2, 1, 4625, &[])]);
    assert_eq!(f.len(), 3, "two base findings and the correlation");
    // A rule no correlation reads always reports.
    let f = hunt(&set, vec![sec_ev(1, 0, 4624, &[])]);
    assert_eq!(f.len(), 1);
}

#[test]
fn aliases_join_different_fields() {
    let yaml = "title: Internal error\nname: internal_error\nlogsource: {category: webserver}\ndetection:\n  sel: {sc-status: 500}\n  condition: sel\n---\ntitle: New connection\nname: new_network_connection\nlogsource: {category: firewall}\ndetection:\n  sel: {action: allow}\n  condition: sel\n---\ntitle: Error then connection back\ncorrelation:\n  type: temporal\n  rules: [internal_error, new_network_connection]\n  group-by: [internal_ip, remote_ip]\n  timespan: 10s\n  aliases:\n    internal_ip:\n      internal_error: destination.ip\n      new_network_connection: source.ip\n    remote_ip:\n      internal_error: source.ip\n      new_network_connection: destination.ip\n";
    let set = set_of(yaml);
    all_ok(&set);
    let web = |sec, dst: &str, src: &str| {
        let mut e = Event::new("web.log", Position::Line(sec as u64 + 1))
            .with_logsource(LogSource::new(None, Some("webserver"), None))
            .with("sc-status", 500i64)
            .with("destination.ip", dst)
            .with("source.ip", src);
        e.timestamp = Some(t(sec));
        e
    };
    let fw = |sec, src: &str, dst: &str| {
        let mut e = Event::new("fw.log", Position::Line(sec as u64 + 1))
            .with_logsource(LogSource::new(None, Some("firewall"), None))
            .with("action", "allow")
            .with("source.ip", src)
            .with("destination.ip", dst);
        e.timestamp = Some(t(sec));
        e
    };
    let f = hunt(
        &set,
        vec![
            web(0, "10.0.0.5", "198.51.100.7"),
            fw(5, "10.0.0.5", "198.51.100.7"),
        ],
    );
    let c = correlations(&f);
    assert_eq!(c.len(), 1);
    assert_eq!(
        c[0].correlation.as_ref().unwrap().group,
        vec![
            ("internal_ip".to_string(), Some("10.0.0.5".to_string())),
            ("remote_ip".to_string(), Some("198.51.100.7".to_string()))
        ]
    );
    // The same addresses the other way round do not join.
    let f = hunt(
        &set,
        vec![
            web(0, "10.0.0.5", "198.51.100.7"),
            fw(5, "198.51.100.7", "10.0.0.5"),
        ],
    );
    assert!(correlations(&f).is_empty());
}

const WEB_BYTES: &str = "title: Response\nname: response\nlogsource: {category: webserver}\ndetection:\n  sel: {cs-method: GET}\n  condition: sel\n";

fn web_bytes(line: u64, sec: i64, client: &str, bytes: &str) -> Event {
    let mut e = Event::new("access.log", Position::Line(line))
        .with_logsource(LogSource::new(Some("apache"), Some("webserver"), None))
        .with("cs-method", "GET")
        .with("c-ip", client)
        .with("sc-bytes", bytes);
    e.timestamp = Some(t(sec));
    e
}

fn metric(kind: &str, extra: &str, bound: &str) -> RuleSet {
    let set = set_of(&format!("{WEB_BYTES}---\ntitle: Big\ncorrelation:\n  type: {kind}\n  rules: [response]\n  group-by: [c-ip]\n  timespan: 1h\n  condition:\n    field: sc-bytes\n{extra}    {bound}\n"));
    all_ok(&set);
    set
}

#[test]
fn metric_types() {
    let evs = || {
        ["100", "200", "300", "10000", "-"]
            .iter()
            .enumerate()
            .map(|(i, b)| web_bytes(i as u64 + 1, i as i64, "198.51.100.9", b))
            .collect::<Vec<_>>()
    };
    let value = |set: &RuleSet| {
        correlations(&hunt(set, evs()))
            .first()
            .map(|f| f.correlation.as_ref().unwrap().value)
    };
    assert_eq!(
        value(&metric("value_sum", "", "gte: 10000")),
        Some(10_600.0)
    );
    assert_eq!(value(&metric("value_sum", "", "gt: 10600")), None);
    assert_eq!(value(&metric("value_avg", "", "gte: 2000")), Some(2_650.0));
    assert_eq!(value(&metric("value_median", "", "gte: 200")), Some(250.0));
    assert_eq!(value(&metric("value_median", "", "gte: 251")), None);
    assert_eq!(
        value(&metric(
            "value_percentile",
            "    percentile: 75\n",
            "gte: 300"
        )),
        Some(300.0)
    );
    assert_eq!(
        value(&metric(
            "value_percentile",
            "    percentile: 100\n",
            "gte: 10000"
        )),
        Some(10_000.0)
    );
}

#[test]
fn the_same_findings_however_events_are_split() {
    let set = set_of(&format!("{}---\n{}", event_count(3, "1m"), "title: Spray\ncorrelation:\n  type: value_count\n  rules: [failed_login]\n  group-by: [IpAddress]\n  timespan: 5m\n  condition:\n    field: TargetUserName\n    gte: 2\n"));
    all_ok(&set);
    let evs: Vec<Event> = (0..40)
        .map(|i| {
            let user = ["a", "b", "c"][(i * 7 % 3) as usize];
            let ip = ["192.0.2.1", "192.0.2.2"][(i % 2) as usize];
            let mut e = sec_ev(
                i + 1,
                (i as i64 * 13) % 500,
                4625,
                &[("TargetUserName", user), ("IpAddress", ip)],
            );
            e.origin.path = format!("f{}.evtx", i % 3).into();
            e
        })
        .collect();
    let one = hunt_units(&set, std::slice::from_ref(&evs)).0;
    let mut rev = evs.clone();
    rev.reverse();
    let split: Vec<Vec<Event>> = vec![
        rev.iter()
            .filter(|e| e.origin.path.ends_with("1.evtx"))
            .cloned()
            .collect(),
        rev.iter()
            .filter(|e| !e.origin.path.ends_with("1.evtx"))
            .cloned()
            .collect(),
    ];
    let two = hunt_units(&set, &split).0;
    let digest = |f: &[Finding]| serde_json::to_string(f).unwrap();
    assert!(!correlations(&one).is_empty());
    assert_eq!(digest(&one), digest(&two));
}

#[test]
fn untimed_matches_are_counted() {
    let set = set_of(&event_count(2, "1h"));
    let mut e = sec_ev(1, 0, 4625, &[]);
    e.timestamp = None;
    let (f, notes) = hunt_units(&set, &[vec![e.clone(), e]]);
    assert!(f.is_empty());
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].contains("2 matches of rule 'Failed logon' have no timestamp"),
        "{notes:?}"
    );
}

#[test]
fn bad_correlations_are_invalid_on_their_lines_and_the_rest_runs() {
    let yaml = format!("{BASE}---\ntitle: Unknown ref\ncorrelation:\n  type: event_count\n  rules: [no_such_rule]\n  timespan: 5m\n  condition: {{gte: 2}}\n---\ntitle: Cycle A\nname: cyc_a\ncorrelation:\n  type: event_count\n  rules: [cyc_b]\n  timespan: 5m\n  condition: {{gte: 2}}\n---\ntitle: Cycle B\nname: cyc_b\ncorrelation:\n  type: event_count\n  rules: [cyc_a]\n  timespan: 5m\n  condition: {{gte: 2}}\n---\ntitle: Bad span\ncorrelation:\n  type: event_count\n  rules: [failed_login]\n  timespan: 5 minutes\n  condition: {{gte: 2}}\n---\ntitle: No field\ncorrelation:\n  type: value_count\n  rules: [failed_login]\n  timespan: 5m\n  condition: {{gte: 2}}\n---\ntitle: Good\ncorrelation:\n  type: event_count\n  rules: [failed_login]\n  timespan: 5m\n  condition: {{gte: 2}}\n");
    let set = set_of(&yaml);
    let status = |title: &str| {
        set.reports()
            .iter()
            .find(|r| r.title == title)
            .map(|r| (r.line, r.status.clone()))
            .unwrap_or_else(|| panic!("no report for {title}"))
    };
    let line_of = |needle: &str| {
        yaml.lines()
            .position(|l| l.contains(needle))
            .map(|i| i + 1)
            .unwrap_or(0)
    };
    let (line, s) = status("Unknown ref");
    assert_eq!(line, line_of("[no_such_rule]"));
    assert!(matches!(s, RuleStatus::Invalid(r) if r.to_string().contains("no_such_rule")));
    assert!(matches!(status("Cycle A").1, RuleStatus::Invalid(r) if r.to_string().contains("cyc")));
    assert!(matches!(status("Cycle B").1, RuleStatus::Invalid(r) if r.to_string().contains("cyc")));
    let (line, s) = status("Bad span");
    assert_eq!(line, line_of("5 minutes"));
    assert!(matches!(s, RuleStatus::Invalid(r) if r.to_string().contains("timespan")));
    assert!(
        matches!(status("No field").1, RuleStatus::Invalid(r) if r.to_string().contains("field"))
    );
    assert_eq!(status("Good").1, RuleStatus::Ok);
    assert_eq!(set.correlations().len(), 1);
    let f = hunt(&set, vec![sec_ev(1, 0, 4625, &[]), sec_ev(2, 1, 4625, &[])]);
    assert_eq!(correlations(&f).len(), 1);
}

#[test]
fn a_correlation_over_an_unsupported_rule_is_unsupported() {
    let yaml = "title: Needs placeholder\nname: ph\nlogsource: {product: windows}\ndetection:\n  sel:\n    User|expand: '%admins%'\n  condition: sel\n---\ntitle: Over it\ncorrelation:\n  type: event_count\n  rules: [ph]\n  timespan: 5m\n  condition: {gte: 2}\n";
    let set = set_of(yaml);
    let r = set.reports().iter().find(|r| r.title == "Over it").unwrap();
    assert!(
        matches!(&r.status, RuleStatus::Unsupported(w) if w.to_string().contains("ph")),
        "{r:?}"
    );
}

#[test]
fn references_by_id_across_files() {
    let mut b = RuleSetBuilder::new();
    b.add_source("base.yml", BASE);
    b.add_source("corr.yml", "title: By id\ncorrelation:\n  type: event_count\n  rules: [f-0001]\n  timespan: 5m\n  condition: {gte: 2}\n");
    let set = b.build();
    all_ok(&set);
    let f = hunt(&set, vec![sec_ev(1, 0, 4625, &[]), sec_ev(2, 1, 4625, &[])]);
    assert_eq!(correlations(&f).len(), 1);
}

const FILTER: &str = "---\ntitle: Filter service accounts\nid: flt-1\nlogsource: {product: windows, service: security}\nfilter:\n  rules: [f-0001]\n  svc:\n    TargetUserName|endswith: '$'\n  condition: svc\n";

#[test]
fn filters_suppress_and_count() {
    let set = set_of(&format!("{BASE}{FILTER}"));
    all_ok(&set);
    let evs = vec![
        sec_ev(1, 0, 4625, &[("TargetUserName", "WS1$")]),
        sec_ev(2, 1, 4625, &[("TargetUserName", "bob")]),
        sec_ev(3, 2, 4624, &[("TargetUserName", "WS1$")]),
    ];
    let f = hunt(&set, evs.clone());
    let ids: Vec<(&str, u64)> = f
        .iter()
        .map(|f| (f.rule.id.as_str(), f.source.position.number()))
        .collect();
    // The filter names only the failed-logon rule: the successful logon of WS1$ stays.
    assert_eq!(ids, vec![("f-0001", 2), ("s-0001", 3)]);
    let stats = set.filter_stats();
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].suppressed, 1);
    assert_eq!(stats[0].id, "flt-1");
    // The slow twin agrees.
    for e in &evs {
        let mut ev = set.evaluator();
        assert_eq!(ev.matching_rules(e), set.matching_rules_unindexed(e));
    }
}

#[test]
fn filters_apply_only_on_their_log_source_and_any_means_every_rule() {
    let other_ls = "---\ntitle: Wrong source\nlogsource: {product: linux}\nfilter:\n  rules: any\n  sel:\n    EventID: 4625\n  condition: sel\n";
    let set = set_of(&format!("{BASE}{other_ls}"));
    all_ok(&set);
    assert_eq!(hunt(&set, vec![sec_ev(1, 0, 4625, &[])]).len(), 1);
    let any = "---\ntitle: Everything from the scanner\nlogsource: {product: windows}\nfilter:\n  rules: any\n  scanner:\n    IpAddress: 192.0.2.99\n  condition: scanner\n";
    let set = set_of(&format!("{BASE}{any}"));
    let evs = vec![
        sec_ev(1, 0, 4625, &[("IpAddress", "192.0.2.99")]),
        sec_ev(2, 1, 4624, &[("IpAddress", "192.0.2.99")]),
        sec_ev(3, 2, 4624, &[("IpAddress", "192.0.2.1")]),
    ];
    assert_eq!(hunt(&set, evs).len(), 1);
    assert_eq!(set.filter_stats()[0].suppressed, 2);
}

#[test]
fn filters_run_before_correlation() {
    let set = set_of(&format!("{}{FILTER}", event_count(2, "1h")));
    let evs = vec![
        sec_ev(1, 0, 4625, &[("TargetUserName", "WS1$")]),
        sec_ev(2, 1, 4625, &[("TargetUserName", "WS1$")]),
    ];
    assert!(hunt(&set, evs).is_empty());
    assert_eq!(set.filter_stats()[0].suppressed, 2);
}

#[test]
fn a_filter_naming_no_loaded_rule_is_invalid() {
    let set = set_of(&format!("{BASE}---\ntitle: Stale\nlogsource: {{product: windows}}\nfilter:\n  rules: [gone]\n  s: {{User: x}}\n  condition: s\n"));
    let r = set.reports().iter().find(|r| r.title == "Stale").unwrap();
    assert!(
        matches!(&r.status, RuleStatus::Invalid(w) if w.to_string().contains("none of the rules"))
    );
}

/// Live mode: the same events through one unit, advancing the watermark every `step` events
/// (lateness 0), with the state saved and restored at every advance; the findings of the
/// correlations, in any order.
fn hunt_live(set: &RuleSet, events: &[Event], step: usize) -> (Vec<Finding>, u64) {
    let corr = set.correlations();
    let mut p = corr.start();
    let mut ev = set.evaluator();
    let mut out = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let mut hits = Vec::new();
        ev.check(e, &mut hits);
        corr.observe(&mut p, e, &hits);
        if (i + 1) % step == 0 {
            let wm = e.timestamp.expect("timed");
            out.extend(corr.advance(&mut p, wm).findings);
            let saved = corr.save(&p).expect("correlations save their state");
            p = corr.restore(saved).expect("and restore it");
        }
    }
    let late = corr.late(&p);
    out.extend(corr.finish(p).findings);
    out.sort_by(Finding::report_order);
    (out, late)
}

fn chain_events() -> Vec<Event> {
    let mut evs = Vec::new();
    let mut line = 0;
    for (user, base) in [("bob", 0), ("eve", 100), ("bob", 5_000), ("ann", 9_000)] {
        for k in 0..12 {
            line += 1;
            evs.push(sec_ev(line, base + k * 20, 4625, &[("User", user)]));
        }
        line += 1;
        evs.push(sec_ev(line, base + 300, 4624, &[("User", user)]));
    }
    evs.sort_by_key(|e| e.timestamp);
    evs
}

#[test]
fn live_advances_give_the_batch_findings_for_any_step() {
    let set = set_of(SPEC_CHAIN);
    all_ok(&set);
    let evs = chain_events();
    let batch: Vec<Finding> = hunt(&set, evs.clone())
        .into_iter()
        .filter(|f| f.correlation.is_some())
        .collect();
    assert_eq!(batch.len(), 4, "bob twice, eve and ann once: {batch:?}");
    for step in [1, 2, 7, 13, 1_000] {
        let (live, late) = hunt_live(&set, &evs, step);
        assert_eq!(late, 0);
        assert_eq!(live, batch, "step {step}");
    }
}

#[test]
fn live_reports_a_finding_once_its_window_is_complete() {
    let set = set_of(&event_count(3, "1h"));
    let corr = set.correlations();
    let mut p = corr.start();
    let mut ev = set.evaluator();
    for (i, s) in [0, 60, 120].iter().enumerate() {
        let e = sec_ev(i as u64 + 1, *s, 4625, &[("TargetUserName", "bob")]);
        let mut hits = Vec::new();
        ev.check(&e, &mut hits);
        corr.observe(&mut p, &e, &hits);
    }
    // The window may still grow until an hour after the last event.
    assert!(corr.advance(&mut p, t(121)).findings.is_empty());
    assert!(corr.advance(&mut p, t(120 + 3_600)).findings.is_empty());
    let done = corr.advance(&mut p, t(120 + 3_601)).findings;
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].correlation.as_ref().unwrap().events, 3);
    // An event older than the watermark passed is late: counted, not in any window.
    let old = sec_ev(9, 30, 4625, &[("TargetUserName", "bob")]);
    let mut hits = Vec::new();
    ev.check(&old, &mut hits);
    corr.observe(&mut p, &old, &hits);
    assert_eq!(corr.late(&p), 1);
    let out = corr.finish(p);
    assert!(out.findings.is_empty());
    assert!(
        out.notes.iter().any(|n| n.contains("1 matches came later")),
        "{:?}",
        out.notes
    );
}

#[test]
fn hostile_saved_state_is_refused_not_panicked_on() {
    let set = set_of(&event_count(3, "1h"));
    let corr = set.correlations();
    for bad in [
        serde_json::json!(null),
        serde_json::json!({"fingerprint": "x"}),
        serde_json::json!({"fingerprint": corr.fingerprint(), "released": null, "late": 0,
            "untimed": [], "matches": [], "corrs": []}),
        serde_json::json!({"fingerprint": corr.fingerprint(), "released": null, "late": 0,
            "untimed": [], "matches": [], "corrs": [{"pending": [], "seq": 0, "capped": 0,
            "groups": [{"key": [], "items": [], "episode": null}]}]}),
    ] {
        assert!(corr.restore(bad).is_err());
    }
}

/// Many matches over many groups and timespans, through three units that spill to temporary
/// files (and one that stays in memory), give the findings of one unit fed in one step.
#[test]
fn spilled_inputs_and_stepwise_feeding_give_the_findings_of_one_step() {
    let set = set_of(&format!(
        "{SPEC_CHAIN}---\ntitle: Spray\ncorrelation:\n  type: value_count\n  rules: [failed_login]\n  group-by: [IpAddress]\n  timespan: 5m\n  condition:\n    field: User\n    gte: 3\n"
    ));
    all_ok(&set);
    let users = ["bob", "eve", "ann", "joe", "kim"];
    let evs: Vec<Event> = (0..12_000u64)
        .map(|i| {
            // Bursts per user every few hours, interleaved, with successes after some.
            let user = users[(i / 7 % 5) as usize];
            // Pairs of events share a time: a step must never cut between them.
            let sec = (i as i64 / 35) * 40 + (i as i64 % 35) / 2;
            let id = if i % 97 == 96 { 4624 } else { 4625 };
            let ip = format!("198.51.100.{}", i % 11);
            let mut e = sec_ev(i + 1, sec, id, &[("User", user), ("IpAddress", &ip)]);
            e.origin.path = format!("dc{}.evtx", i % 2).into();
            e
        })
        .collect();
    let corr = set.correlations();
    let run = |units: Vec<(Vec<&Event>, CorrelationPartial)>, one_step: bool| {
        let mut merged = corr.start();
        for (unit, mut p) in units {
            let mut ev = set.evaluator();
            for e in unit {
                let mut hits = Vec::new();
                ev.check(e, &mut hits);
                corr.observe(&mut p, e, &hits);
            }
            corr.seal(&mut p);
            corr.merge(&mut merged, p);
        }
        let mut out = Vec::new();
        if one_step {
            // Every input in one step, as a batch run did before feeding in steps.
            out.extend(corr.advance(&mut merged, DateTime::<Utc>::MAX_UTC).findings);
        }
        let end = corr.finish(merged);
        out.extend(end.findings);
        out.sort_by(Finding::report_order);
        (out, end.notes)
    };
    let (one, notes) = run(vec![(evs.iter().collect(), corr.start())], true);
    assert!(notes.is_empty(), "{notes:?}");
    let spill = |i: usize| match i {
        0 => CorrelationPartial::with_spill_budget(16 << 10, 0),
        1 => CorrelationPartial::with_spill_budget(1 << 30, 0),
        _ => CorrelationPartial::with_spill_budget(1 << 30, 1 << 30),
    };
    let units = (0..3)
        .map(|k| {
            let unit: Vec<&Event> = evs.iter().skip(k * 4_000).take(4_000).collect();
            (unit, spill(k))
        })
        .collect();
    let (stepped, notes) = run(units, false);
    assert!(notes.is_empty(), "{notes:?}");
    let kinds = |f: &[Finding]| {
        let mut k: Vec<String> = f.iter().map(|f| f.rule.title.clone()).collect();
        k.dedup();
        k
    };
    assert!(
        kinds(&one).len() >= 3,
        "every correlation of the chain and the spray fires: {:?}",
        kinds(&one)
    );
    let digest = |f: &[Finding]| serde_json::to_string(f).expect("findings serialise");
    assert_eq!(one.len(), stepped.len());
    assert_eq!(digest(&one), digest(&stepped));
}
