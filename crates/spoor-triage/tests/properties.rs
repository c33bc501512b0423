//! Properties of the triage views on arbitrary events: no panic on any field value, and the
//! per-thread lifecycle (observe parts, merge) gives what one pass over everything gives.

use proptest::prelude::*;
use spoor_event::{Event, Position, Value};
use spoor_triage::{LogonOptions, LogonTable, Metrics, MetricsOptions, Query, Searcher};

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::Int),
        "\\PC{0,12}".prop_map(Value::from),
        prop_oneof![
            Just("0x0"),
            Just("0xc000006d"),
            Just("-"),
            Just(""),
            Just("10.0.0.1"),
            Just("203.0.113.7"),
            Just("::ffff:8.8.8.8"),
            Just("WS01$")
        ]
        .prop_map(Value::from),
        Just(Value::Null),
        proptest::collection::vec("\\PC{0,5}".prop_map(Value::from), 0..3).prop_map(Value::Array),
    ]
}

fn event() -> impl Strategy<Value = Event> {
    let names = prop_oneof![
        Just("EventID"),
        Just("Channel"),
        Just("Computer"),
        Just("TargetUserName"),
        Just("IpAddress"),
        Just("LogonType"),
        Just("Status"),
        Just("User"),
        Just("Address"),
        Just("Param1"),
        Just("Param3"),
        Just("event.action"),
        Just("event.outcome"),
        Just("user.name"),
        Just("source.ip"),
        Just("host"),
        Just("message"),
        Just("program"),
        Just("sc-status"),
        Just("SubjectUserName"),
    ];
    let channel = prop_oneof![
        Just("Security"),
        Just("System"),
        Just("Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"),
        Just("Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational"),
    ];
    let id = prop_oneof![
        Just(4624i64),
        Just(4625),
        Just(4634),
        Just(4648),
        Just(4672),
        Just(4768),
        Just(4771),
        Just(4776),
        Just(21),
        Just(24),
        Just(1149),
        Just(1102),
        Just(104)
    ];
    (
        proptest::collection::vec((names, value()), 0..8),
        channel,
        id,
        proptest::option::of(0i64..2_000_000_000),
        prop::bool::ANY,
        1u64..1000,
    )
        .prop_map(|(fields, channel, id, secs, ssh, line)| {
            let mut e = Event::new(
                if line % 2 == 0 { "a.log" } else { "b.log" },
                Position::Line(line),
            );
            if ssh {
                e.push("event.action", "ssh_login");
                e.push("program", "sshd");
            } else {
                e.push("EventID", Value::Int(id));
                e.push("Channel", channel);
            }
            for (k, v) in fields {
                e.push(k, v);
            }
            e.timestamp = secs.and_then(|s| chrono::DateTime::from_timestamp(s, 0));
            e
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn logons_merge_is_one_pass(events in proptest::collection::vec(event(), 0..40), split in 0usize..40) {
        let mut one = LogonTable::new(LogonOptions::default());
        events.iter().for_each(|e| one.observe(e));
        let split = split.min(events.len());
        let mut a = LogonTable::new(LogonOptions::default());
        let mut b = LogonTable::new(LogonOptions::default());
        events[..split].iter().for_each(|e| a.observe(e));
        events[split..].iter().for_each(|e| b.observe(e));
        b.merge(a);
        prop_assert_eq!(one.rows(), b.rows());
    }

    #[test]
    fn metrics_merge_is_one_pass(events in proptest::collection::vec(event(), 0..40), split in 0usize..40) {
        let opts = MetricsOptions { gap: chrono::Duration::hours(1), ..MetricsOptions::default() };
        let mut one = Metrics::new(opts.clone());
        events.iter().for_each(|e| one.observe(e));
        let split = split.min(events.len());
        let mut a = Metrics::new(opts.clone());
        let mut b = Metrics::new(opts);
        events[..split].iter().for_each(|e| a.observe(e));
        events[split..].iter().for_each(|e| b.observe(e));
        a.merge(b);
        prop_assert_eq!(one.report(), a.report());
    }

    #[test]
    fn search_never_panics(events in proptest::collection::vec(event(), 0..10), pat in "\\PC{0,8}") {
        for q in [
            Query::Regex(pat.clone()),
            Query::Keywords { words: vec![pat.clone()], all: true },
            Query::Field { name: "host".into(), value: pat.clone() },
        ] {
            if let Ok(s) = Searcher::new(&q, true) {
                for e in &events {
                    let _ = s.find(e);
                }
            }
        }
    }
}
