//! Behaviour of the indicator engine as the CLI uses it: lists and bundles in, findings out.
//! STIX cases are built from the pattern examples of the STIX 2.1 specification (section 9),
//! written here as tests.

use chrono::{DateTime, TimeZone, Utc};
use spoor_event::{
    Detector, Event, EventMatcher, Finding, Position, RuleKind, RuleLevel, StatefulDetector, Value,
};
use spoor_ioc::{IocOptions, IocSet, IocSetBuilder, LoadStatus};

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_467_000_000 + secs, 0).single().unwrap()
}

fn ev(line: u64, time: Option<DateTime<Utc>>, fields: &[(&str, &str)]) -> Event {
    let mut e = Event::new("test.log", Position::Line(line));
    e.timestamp = time;
    for (k, v) in fields {
        e.push(*k, *v);
    }
    e
}

fn bundle(indicators: &[(&str, &str)]) -> String {
    let objs: Vec<String> = indicators
        .iter()
        .map(|(id, pattern)| {
            serde_json::json!({
                "type": "indicator", "spec_version": "2.1", "id": id, "name": format!("name of {id}"),
                "pattern_type": "stix", "pattern": pattern, "valid_from": "2016-01-01T00:00:00Z"
            })
            .to_string()
        })
        .collect();
    format!(
        r#"{{"type":"bundle","id":"bundle--t","objects":[{}]}}"#,
        objs.join(",")
    )
}

fn stix_set(indicators: &[(&str, &str)], options: IocOptions) -> IocSet {
    let mut b = IocSetBuilder::new(options);
    b.add_stix_str("test.json", &bundle(indicators)).unwrap();
    let set = b.build().unwrap();
    for r in set.reports() {
        assert_eq!(r.status, LoadStatus::Ok, "{r:?}");
    }
    set
}

/// Runs events through one matcher and correlates; returns findings in report order.
fn run(set: &IocSet, events: &[Event]) -> Vec<Finding> {
    let mut m = set.ioc_matcher();
    let mut out = Vec::new();
    for e in events {
        m.check(e, &mut out);
    }
    let c = set.correlate(m.take_hits());
    out.extend(c.findings);
    out.sort_by(Finding::report_order);
    out
}

/// Lines of the events that produced findings.
fn lines(findings: &[Finding]) -> Vec<u64> {
    findings
        .iter()
        .map(|f| f.source.position.number())
        .collect()
}

/// `stix_match!(pattern, [(field, value), ...] => bool)`: one untimed event.
macro_rules! stix_match {
    ($pattern:expr, [$(($k:expr, $v:expr)),* $(,)?] => $expected:expr) => {{
        let set = stix_set(&[("indicator--x", $pattern)], IocOptions::default());
        let found = run(&set, &[ev(1, None, &[$(($k, $v)),*])]);
        assert_eq!(!found.is_empty(), $expected, "{} on {:?}", $pattern, [$(($k, $v)),*]);
    }};
}

const SHA256: &str = "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f";

#[test]
fn equality_on_hashes_reads_sysmon_hash_lists() {
    let pattern = format!("[file:hashes.'SHA-256' = '{SHA256}']");
    let sysmon = format!("SHA1=0000000000000000000000000000000000000000,MD5=00000000000000000000000000000000,SHA256={},IMPHASH=00", SHA256.to_uppercase());
    stix_match!(&pattern, [("Hashes", &sysmon)] => true);
    stix_match!(&pattern, [("file.hash.sha256", SHA256)] => true);
    stix_match!(&pattern, [("Hashes", "SHA256=0000000000000000000000000000000000000000000000000000000000000000")] => false);
    stix_match!(&pattern, [("CommandLine", SHA256)] => false);
}

#[test]
fn inequality() {
    stix_match!("[file:name != 'foo.dll']", [("TargetFilename", r"C:\x\bar.dll")] => true);
    stix_match!("[file:name != 'foo.dll']", [("TargetFilename", r"C:\x\FOO.DLL")] => false);
    stix_match!("[file:name != 'foo.dll']", [("CommandLine", "x")] => false);
}

#[test]
fn ordering_operators() {
    let e = |port: i64| {
        let mut e = ev(1, None, &[]);
        e.push("DestinationPort", Value::Int(port));
        e
    };
    for (pattern, port, expected) in [
        ("[network-traffic:dst_port > 1024]", 1025, true),
        ("[network-traffic:dst_port > 1024]", 1024, false),
        ("[network-traffic:dst_port >= 1024]", 1024, true),
        ("[network-traffic:dst_port < 1024]", 80, true),
        ("[network-traffic:dst_port < 1024]", 1024, false),
        ("[network-traffic:dst_port <= 1024]", 1024, true),
        ("[network-traffic:dst_port <= 1024]", 1025, false),
    ] {
        let set = stix_set(&[("indicator--p", pattern)], IocOptions::default());
        assert_eq!(
            !run(&set, &[e(port)]).is_empty(),
            expected,
            "{pattern} on {port}"
        );
    }
}

#[test]
fn in_sets() {
    stix_match!("[network-traffic:dst_port IN (80, 443, 8080)]", [("destination.port", "443")] => true);
    stix_match!("[network-traffic:dst_port IN (80, 443, 8080)]", [("destination.port", "4433")] => false);
    stix_match!("[network-traffic:dst_port NOT IN (80, 443)]", [("destination.port", "22")] => true);
    stix_match!("[network-traffic:dst_port NOT IN (80, 443)]", [("destination.port", "80")] => false);
}

#[test]
fn like() {
    stix_match!("[file:name LIKE 'horizon%.jsp']", [("TargetFilename", "/opt/app/Horizon_v2.JSP")] => true);
    stix_match!("[file:name LIKE 'horizon%.jsp']", [("TargetFilename", "/opt/app/horizon.jsp.bak")] => false);
    stix_match!("[file:name LIKE 'a_c.exe']", [("Image", r"C:\t\abc.exe")] => true);
    stix_match!("[file:name LIKE 'a_c.exe']", [("Image", r"C:\t\abbc.exe")] => false);
    stix_match!("[process:command_line NOT LIKE '%whoami%']", [("CommandLine", "net user")] => true);
}

#[test]
fn matches_uses_linear_regexes() {
    stix_match!(r"[file:name MATCHES '^Final Report.+\\.exe$']", [("file.name", "Final Report Q3.exe")] => true);
    stix_match!(r"[file:name MATCHES '^Final Report.+\\.exe$']", [("file.name", "Final Report.exe")] => false);
    // Backreferences need backtracking: reported per indicator, not run, the rest still loads.
    let mut b = IocSetBuilder::default();
    b.add_stix_str(
        "t.json",
        &bundle(&[
            ("indicator--bad", r"[file:name MATCHES '(a)\\1']"),
            ("indicator--good", "[file:name = 'a.exe']"),
        ]),
    )
    .unwrap();
    let set = b.build().unwrap();
    let bad = set
        .reports()
        .iter()
        .find(|r| r.id == "indicator--bad")
        .unwrap();
    assert!(
        matches!(&bad.status, LoadStatus::Unsupported(m) if m.contains("linear-time")),
        "{bad:?}"
    );
    assert_eq!(set.counts().ok, 1);
}

#[test]
fn issubset_and_issuperset_by_prefix() {
    stix_match!("[ipv4-addr:value ISSUBSET '198.51.100.0/24']", [("c-ip", "198.51.100.7")] => true);
    stix_match!("[ipv4-addr:value ISSUBSET '198.51.100.0/24']", [("c-ip", "198.51.101.7")] => false);
    stix_match!("[ipv6-addr:value ISSUBSET '2001:db8::/32']", [("SourceIp", "2001:db8:dead::1")] => true);
    stix_match!("[ipv6-addr:value ISSUBSET '2001:db8::/32']", [("SourceIp", "2001:db9::1")] => false);
    stix_match!("[ipv4-addr:value ISSUPERSET '198.51.100.7/32']", [("source.ip", "198.51.100.0/24")] => true);
    stix_match!("[ipv4-addr:value ISSUPERSET '198.51.100.0/24']", [("source.ip", "198.51.100.7")] => false);
}

#[test]
fn exists() {
    stix_match!("[EXISTS windows-registry-key:key]", [("TargetObject", r"HKLM\Software\x")] => true);
    stix_match!("[EXISTS windows-registry-key:key]", [("Image", "a.exe")] => false);
}

#[test]
fn and_or_inside_one_observation() {
    let spec = "[ipv4-addr:value = '198.51.100.1/32' OR ipv4-addr:value = '203.0.113.33/32' OR ipv6-addr:value = '2001:0db8:dead:beef:dead:beef:dead:0001/128']";
    stix_match!(spec, [("c-ip", "203.0.113.33")] => true);
    stix_match!(spec, [("DestinationIp", "2001:db8:dead:beef:dead:beef:dead:1")] => true);
    stix_match!(spec, [("c-ip", "203.0.113.3")] => false);
    let and =
        "[file:name = 'horizon.jsp' AND file:hashes.MD5 = '26a5a7e71a601be991073c78d513dee3']";
    stix_match!(and, [("TargetFilename", "/x/horizon.jsp"), ("md5", "26A5A7E71A601BE991073C78D513DEE3")] => true);
    stix_match!(and, [("TargetFilename", "/x/horizon.jsp"), ("md5", "00000000000000000000000000000000")] => false);
    stix_match!("[(file:name = 'a.exe' OR file:name = 'b.exe') AND process:command_line LIKE '%-enc%']",
        [("Image", r"C:\b.exe"), ("CommandLine", "b.exe -enc AAA")] => true);
}

#[test]
fn observation_and_needs_two_events() {
    let set = stix_set(
        &[(
            "indicator--and",
            "[domain-name:value = 'example.com'] AND [ipv4-addr:value = '198.51.100.1']",
        )],
        IocOptions::default(),
    );
    assert!(set.has_stateful());
    let a = ev(1, Some(t(0)), &[("QueryName", "example.com")]);
    let b = ev(2, Some(t(50)), &[("c-ip", "198.51.100.1")]);
    assert!(run(&set, std::slice::from_ref(&a)).is_empty());
    let found = run(&set, &[b.clone(), a.clone()]);
    assert_eq!(lines(&found), vec![2], "reported on the completing event");
    assert_eq!(found[0].matched.len(), 2, "{:?}", found[0].matched);
    // One event holding both values does not satisfy two observations.
    let both = ev(
        3,
        Some(t(0)),
        &[("QueryName", "example.com"), ("c-ip", "198.51.100.1")],
    );
    assert!(run(&set, &[both]).is_empty());
}

#[test]
fn observation_or_is_per_event() {
    let set = stix_set(
        &[(
            "indicator--or",
            "[domain-name:value = 'example.com'] OR [ipv4-addr:value = '198.51.100.1']",
        )],
        IocOptions::default(),
    );
    assert!(!set.has_stateful());
    let found = run(
        &set,
        &[
            ev(1, None, &[("c-ip", "198.51.100.1")]),
            ev(2, None, &[("c-ip", "198.51.100.2")]),
        ],
    );
    assert_eq!(lines(&found), vec![1]);
}

const FOLLOWED: &str = r"([file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\foo\\bar']) WITHIN 300 SECONDS";

fn file_ev(line: u64, secs: i64) -> Event {
    ev(
        line,
        Some(t(secs)),
        &[("Hashes", "MD5=79054025255FB1A26E4BC422AEF54EB4")],
    )
}

fn reg_ev(line: u64, secs: i64) -> Event {
    ev(
        line,
        Some(t(secs)),
        &[("TargetObject", r"HKEY_LOCAL_MACHINE\foo\bar")],
    )
}

#[test]
fn followedby_needs_order() {
    let set = stix_set(&[("indicator--f", FOLLOWED)], IocOptions::default());
    assert_eq!(lines(&run(&set, &[file_ev(1, 0), reg_ev(2, 100)])), vec![2]);
    assert!(
        run(&set, &[reg_ev(1, 0), file_ev(2, 100)]).is_empty(),
        "wrong order"
    );
    assert!(
        run(
            &set,
            &[
                file_ev(1, 0),
                ev(2, None, &[("TargetObject", r"HKEY_LOCAL_MACHINE\foo\bar")])
            ]
        )
        .is_empty(),
        "no time"
    );
}

#[test]
fn within_bounds_the_span() {
    let set = stix_set(&[("indicator--f", FOLLOWED)], IocOptions::default());
    assert_eq!(lines(&run(&set, &[file_ev(1, 0), reg_ev(2, 300)])), vec![2]);
    assert!(run(&set, &[file_ev(1, 0), reg_ev(2, 301)]).is_empty());
}

#[test]
fn repeats_counts_distinct_events_in_time() {
    let p = "[domain-name:value = 'example.com'] REPEATS 5 TIMES WITHIN 1800 SECONDS";
    let set = stix_set(&[("indicator--r", p)], IocOptions::default());
    let q = |line: u64, secs: i64| {
        ev(
            line,
            Some(t(secs)),
            &[("dns.question.name", "EXAMPLE.com.")],
        )
    };
    let five: Vec<Event> = (0..5).map(|i| q(i + 1, i as i64 * 400)).collect();
    assert_eq!(lines(&run(&set, &five)), vec![5]);
    assert!(run(&set, &five[..4]).is_empty(), "four is not five");
    let spread: Vec<Event> = (0..5).map(|i| q(i + 1, i as i64 * 1000)).collect();
    assert!(
        run(&set, &spread).is_empty(),
        "five over 4000 s is not within 1800 s"
    );
    let sub = ev(9, Some(t(1)), &[("dns.question.name", "www.example.com")]);
    let mut four_and_sub = five[..4].to_vec();
    four_and_sub.push(sub);
    assert!(
        run(&set, &four_and_sub).is_empty(),
        "STIX domains match exactly"
    );
}

#[test]
fn start_stop_window() {
    let p = "[file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'";
    let set = stix_set(&[("indicator--s", p)], IocOptions::default());
    let at = |line: u64, s: &str| {
        let time = DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        ev(
            line,
            Some(time),
            &[("hash.md5", "cead3f77f6cda6ec00f57d76c9a6879f")],
        )
    };
    let found = run(
        &set,
        &[
            at(1, "2016-05-31T23:59:59Z"),
            at(2, "2016-06-15T12:00:00Z"),
            at(3, "2016-07-01T00:00:00Z"),
        ],
    );
    assert_eq!(lines(&found), vec![2]);
}

#[test]
fn correlation_is_the_same_however_hits_are_split() {
    let set = stix_set(
        &[
            ("indicator--f", FOLLOWED),
            (
                "indicator--r",
                "[ipv4-addr:value = '198.51.100.1'] REPEATS 2 TIMES WITHIN 60 SECONDS",
            ),
        ],
        IocOptions::default(),
    );
    let events = vec![
        file_ev(1, 0),
        ev(2, Some(t(10)), &[("c-ip", "198.51.100.1")]),
        reg_ev(3, 20),
        ev(4, Some(t(30)), &[("c-ip", "198.51.100.1")]),
        file_ev(5, 40),
        reg_ev(6, 50),
    ];
    let one = run(&set, &events);
    // Two "threads" seeing alternate events, in reverse order.
    let (mut m1, mut m2) = (set.ioc_matcher(), set.ioc_matcher());
    let mut sink = Vec::new();
    for (i, e) in events.iter().enumerate().rev() {
        if i % 2 == 0 {
            m1.check(e, &mut sink)
        } else {
            m2.check(e, &mut sink)
        }
    }
    let mut hits = m2.take_hits();
    hits.extend(m1.take_hits());
    let split = set.correlate(hits).findings;
    assert_eq!(lines(&one), vec![3, 4, 6]);
    assert_eq!(split, one);
}

#[test]
fn detector_and_stateful_sides_split_the_work() {
    let set = stix_set(&[("indicator--f", FOLLOWED)], IocOptions::default());
    let mut out = Vec::new();
    let mut m = Detector::matcher(&set);
    let mut p = StatefulDetector::start(&set);
    for ev in [file_ev(1, 0), reg_ev(2, 10)] {
        m.check(&ev, &mut out);
        StatefulDetector::observe(&set, &mut p, &ev, &out);
    }
    assert!(
        out.is_empty(),
        "the single-event side makes no finding of a sequence"
    );
    let c = StatefulDetector::finish(&set, p);
    assert_eq!(lines(&c.findings), vec![2]);
}

#[test]
fn ip_matches_as_an_address_never_a_substring() {
    let mut b = IocSetBuilder::default();
    b.add_list_str("l.txt", "45.61.136.12\n10.20.0.0/16\n2001:db8:1::/48\n");
    let set = b.build().unwrap();
    let found = run(
        &set,
        &[
            ev(1, None, &[("c-ip", "45.61.136.121")]),
            ev(2, None, &[("c-ip", "145.61.136.12")]),
            ev(3, None, &[("ClientIP", "45.61.136.12")]),
            ev(4, None, &[("DestinationIp", "10.20.3.4")]),
            ev(5, None, &[("DestinationIp", "10.21.3.4")]),
            ev(6, None, &[("src_ip", "10.20.3.4:51234")]),
            ev(7, None, &[("SourceAddress", "[2001:db8:1:ff::9]:443")]),
            ev(8, None, &[("SourceAddress", "2001:db8:2::9")]),
            ev(9, None, &[("cs-uri-query", "ip=45.61.136.12")]),
            ev(10, None, &[("IpAddress", "::ffff:45.61.136.12")]),
        ],
    );
    assert_eq!(lines(&found), vec![3, 4, 6, 7, 10]);
    assert_eq!(found[0].matched[0].field, "ClientIP");
    assert_eq!(found[0].rule.kind, RuleKind::Indicator);
    assert_eq!(found[0].rule.level, RuleLevel::High);
    // Every field that matched is listed, once.
    let both = run(
        &set,
        &[ev(
            1,
            None,
            &[("c-ip", "45.61.136.12"), ("s-ip", "10.20.0.1")],
        )],
    );
    assert_eq!(both.len(), 2, "two indicators");
    let one = run(
        &set,
        &[ev(
            1,
            None,
            &[
                ("c-ip", "45.61.136.12"),
                ("X-Forwarded-For", "45.61.136.12"),
            ],
        )],
    );
    assert_eq!(one.len(), 1);
    let fields: Vec<_> = one[0].matched.iter().map(|m| m.field.as_str()).collect();
    assert_eq!(fields, vec!["c-ip", "X-Forwarded-For"]);
}

#[test]
fn domains_lists_take_subdomains_stix_is_exact_neither_takes_lookalikes() {
    let mut b = IocSetBuilder::default();
    b.add_list_str("l.txt", "cdn.example.net\n");
    let list = b.build().unwrap();
    let stix = stix_set(
        &[("indicator--d", "[domain-name:value = 'cdn.example.net']")],
        IocOptions::default(),
    );
    let events = [
        ev(1, None, &[("QueryName", "cdn.example.net")]),
        ev(2, None, &[("QueryName", "a.CDN.example.net.")]),
        ev(3, None, &[("QueryName", "xcdn.example.net")]),
        ev(4, None, &[("QueryName", "cdn.example.net.evil.org")]),
        ev(5, None, &[("cs-host", "cdn.example.net:8443")]),
        ev(6, None, &[("cs-referer", "https://cdn.example.net/x")]),
    ];
    assert_eq!(lines(&run(&list, &events)), vec![1, 2, 5, 6]);
    assert_eq!(lines(&run(&stix, &events)), vec![1, 5, 6]);
}

#[test]
fn hashes_and_file_names_ignore_case_and_paths() {
    // The built-in APT40 pack's format: type,value,description with md5 and filename rows.
    let csv = "type,value,description\nmd5,26a5a7e71a601be991073c78d513dee3,horizon.jsp\nfilename,Index_jsp$ProxyEndpoint$Attach.class,class file\n";
    let mut b = IocSetBuilder::new(IocOptions {
        list_level: RuleLevel::Critical,
        valid_only: false,
    });
    b.add_list_str("builtin:apt40.csv", csv);
    let set = b.build().unwrap();
    assert_eq!(set.counts().ok, 2);
    let found = run(
        &set,
        &[
            ev(
                1,
                None,
                &[("Hashes", "SHA1=AB,MD5=26A5A7E71A601BE991073C78D513DEE3")],
            ),
            ev(
                2,
                None,
                &[(
                    "TargetFilename",
                    r"C:\tomcat\work\index_jsp$ProxyEndpoint$Attach.CLASS",
                )],
            ),
            ev(
                3,
                None,
                &[(
                    "TargetFilename",
                    r"C:\tomcat\work\xindex_jsp$ProxyEndpoint$Attach.class",
                )],
            ),
            ev(4, None, &[("md5", "26a5a7e71a601be991073c78d513dee")]),
        ],
    );
    assert_eq!(lines(&found), vec![1, 2]);
    assert_eq!(found[0].rule.level, RuleLevel::Critical);
    assert_eq!(found[0].rule.description.as_deref(), Some("horizon.jsp"));
    assert_eq!(
        found[0].matched[0].value,
        "26A5A7E71A601BE991073C78D513DEE3"
    );
    // File scans.
    let hits = set.match_file("HORIZON.jsp", "26A5A7E71A601BE991073C78D513DEE3", "", "");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].1.field, "file.hash.md5");
    let hits = set.match_file("Index_jsp$ProxyEndpoint$Attach.class", "0", "", "");
    assert_eq!(hits.len(), 1);
    assert!(set.match_file("other.class", "", "", "").is_empty());
    // A STIX indicator over name and hash gives one entry, the digest.
    let stix = stix_set(
        &[(
            "indicator--nh",
            "[file:name = 'horizon.jsp' AND file:hashes.MD5 = '26a5a7e71a601be991073c78d513dee3']",
        )],
        IocOptions::default(),
    );
    let hits = stix.match_file("horizon.jsp", "26a5a7e71a601be991073c78d513dee3", "", "");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].0.id, "indicator--nh");
    assert_eq!(hits[0].1.field, "file.hash.md5");
    assert!(stix
        .match_file("horizon.jsp", "00000000000000000000000000000000", "", "")
        .is_empty());
}

#[test]
fn urls_in_lists_are_substrings_of_url_fields() {
    let mut b = IocSetBuilder::default();
    b.add_list_str("l.txt", "hxxp://evil[.]example[.]com/shell.jsp\n");
    let set = b.build().unwrap();
    let found = run(
        &set,
        &[
            ev(
                1,
                None,
                &[("url.full", "HTTP://evil.example.com/shell.jsp?cmd=id")],
            ),
            ev(
                2,
                None,
                &[("url.full", "http://evil.example.com/other.jsp")],
            ),
            ev(
                3,
                None,
                &[("CommandLine", "curl http://evil.example.com/shell.jsp")],
            ),
        ],
    );
    assert_eq!(lines(&found), vec![1]);
}

#[test]
fn validity_is_reported_and_can_filter() {
    let json = r#"{"type":"bundle","id":"bundle--v","objects":[
      {"type":"indicator","id":"indicator--v","name":"C2","pattern_type":"stix",
       "pattern":"[ipv4-addr:value = '203.0.113.5']",
       "valid_from":"2016-06-27T00:00:00Z","valid_until":"2016-06-28T00:00:00Z"}]}"#;
    let events = [
        ev(1, Some(t(0)), &[("c-ip", "203.0.113.5")]), // 2016-06-27T04:00Z: inside
        ev(2, Some(t(200_000)), &[("c-ip", "203.0.113.5")]), // two days later: outside
        ev(3, None, &[("c-ip", "203.0.113.5")]),       // no time: unknown
    ];
    for (valid_only, expected) in [(false, vec![1, 2, 3]), (true, vec![1, 3])] {
        let mut b = IocSetBuilder::new(IocOptions {
            valid_only,
            ..IocOptions::default()
        });
        b.add_stix_str("v.json", json).unwrap();
        let found = run(&b.build().unwrap(), &events);
        assert_eq!(lines(&found), expected);
        let flags: Vec<_> = found.iter().map(|f| f.matched[0].in_validity).collect();
        if !valid_only {
            assert_eq!(flags, vec![Some(true), Some(false), None]);
        }
    }
}

#[test]
fn attack_ids_come_from_indicates_relationships() {
    let json = r#"{"type":"bundle","id":"bundle--a","objects":[
      {"type":"indicator","id":"indicator--w","name":"Web shell","pattern_type":"stix",
       "pattern":"[file:name = 'horizon.jsp']","valid_from":"2024-07-08T00:00:00Z","x_level":"critical"},
      {"type":"relationship","id":"relationship--1","relationship_type":"indicates",
       "source_ref":"indicator--w","target_ref":"attack-pattern--1"},
      {"type":"relationship","id":"relationship--2","relationship_type":"uses",
       "source_ref":"indicator--w","target_ref":"attack-pattern--2"},
      {"type":"attack-pattern","id":"attack-pattern--1","name":"Web Shell",
       "external_references":[{"source_name":"mitre-attack","external_id":"T1505.003"}]},
      {"type":"attack-pattern","id":"attack-pattern--2","name":"Other",
       "external_references":[{"source_name":"mitre-attack","external_id":"T1190"}]}]}"#;
    let mut b = IocSetBuilder::default();
    b.add_stix_str("a.json", json).unwrap();
    let set = b.build().unwrap();
    let found = run(
        &set,
        &[ev(1, None, &[("TargetFilename", "/srv/horizon.jsp")])],
    );
    assert_eq!(found.len(), 1);
    let rule = &found[0].rule;
    assert_eq!(rule.id, "indicator--w");
    assert_eq!(rule.title, "Web shell");
    assert_eq!(rule.level, RuleLevel::Critical);
    assert_eq!(rule.attack.techniques, vec!["T1505.003"]);
}

#[test]
fn malformed_indicators_are_named_and_the_rest_loads() {
    let json = r#"{"type":"bundle","id":"bundle--m","objects":[
      {"type":"indicator","id":"indicator--syntax","pattern_type":"stix","pattern":"[file:name = 'a.exe'","valid_from":"2016-01-01T00:00:00Z"},
      {"type":"indicator","id":"indicator--path","pattern_type":"stix","pattern":"[x509-certificate:serial_number = '1']","valid_from":"2016-01-01T00:00:00Z"},
      {"type":"indicator","id":"indicator--yara","pattern_type":"yara","pattern":"rule x {condition: true}","valid_from":"2016-01-01T00:00:00Z"},
      {"type":"indicator","id":"indicator--nopattern","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z"},
      {"type":"indicator","id":"indicator--good","pattern_type":"stix","pattern":"[file:name = 'good.exe']","valid_from":"2016-01-01T00:00:00Z"}
    ]}"#;
    let mut b = IocSetBuilder::default();
    b.add_stix_str("m.json", json).unwrap();
    assert!(b
        .add_stix_str("broken.json", "{\"type\": \"bundle\", ")
        .is_err());
    let set = b.build().unwrap();
    let status = |id: &str| {
        set.reports()
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.status.clone())
            .unwrap()
    };
    assert!(
        matches!(status("indicator--syntax"), LoadStatus::Invalid(m) if m.contains("offset 20") && m.contains("']'"))
    );
    assert!(
        matches!(status("indicator--path"), LoadStatus::Unsupported(m) if m.contains("x509-certificate:serial_number"))
    );
    assert!(matches!(status("indicator--yara"), LoadStatus::Unsupported(m) if m.contains("yara")));
    assert!(matches!(
        status("indicator--nopattern"),
        LoadStatus::Invalid(_)
    ));
    assert_eq!(status("indicator--good"), LoadStatus::Ok);
    assert_eq!(
        (
            set.counts().ok,
            set.counts().unsupported,
            set.counts().invalid
        ),
        (1, 2, 2)
    );
    assert_eq!(
        lines(&run(&set, &[ev(1, None, &[("Image", r"C:\good.exe")])])),
        vec![1]
    );
}

#[test]
fn bad_list_lines_are_counted_and_reported() {
    let mut b = IocSetBuilder::default();
    b.add_list_str("l.txt", "# c\n45.61.136.12\nnot an indicator\nmd5,xyz\n");
    let set = b.build().unwrap();
    assert_eq!(set.counts().ok, 1);
    assert_eq!(set.counts().invalid, 2);
    let ids: Vec<_> = set.reports().iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, vec!["line 3", "line 4"]);
}

#[test]
fn add_path_detects_the_format() {
    let dir = std::env::temp_dir().join(format!("spoor-ioc-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let list = dir.join("l.txt");
    let stix = dir.join("b.json");
    std::fs::write(&list, "cdn.example.net\n").unwrap();
    std::fs::write(&stix, bundle(&[("indicator--p", "[file:name = 'p.exe']")])).unwrap();
    let mut b = IocSetBuilder::default();
    b.add_path(&list).unwrap();
    b.add_path(&stix).unwrap();
    assert!(b.add_path(&dir.join("missing")).is_err());
    let set = b.build().unwrap();
    assert_eq!(set.len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hostile_values_do_not_panic() {
    let set = stix_set(
        &[
            ("indicator--a", "[file:name MATCHES '^a+$']"),
            ("indicator--b", "[ipv4-addr:value ISSUBSET '10.0.0.0/8']"),
            ("indicator--c", "[network-traffic:dst_port > 5]"),
        ],
        IocOptions::default(),
    );
    let long = "a".repeat(1 << 20);
    let mut e = ev(
        1,
        None,
        &[
            ("file.name", &long),
            ("c-ip", "[::1"),
            ("c-ip", "1.2.3.4:"),
            ("DestinationPort", "NaN"),
        ],
    );
    e.push(
        "source.ip",
        Value::Array(vec![Value::Null, Value::Int(7), Value::str("10.1.1.1")]),
    );
    let found = run(&set, &[e]);
    assert_eq!(
        found.iter().map(|f| f.rule.id.as_str()).collect::<Vec<_>>(),
        vec!["indicator--a", "indicator--b"]
    );
}

fn corpora() -> Option<std::path::PathBuf> {
    spoor_event::shared_corpora("spoor-ioc corpus test")
}

/// Real data: addresses of the first incidents of the Honeynet SotM 34 write-up, plus
/// lookalikes made from every client address of its Apache logs (the address with its last
/// digit cut: `1.2.3.45` -> `1.2.3.4`, kept when no client has it), hunted in those logs: the
/// findings are exactly the lines whose client address is a chosen incident address.
#[test]
fn sotm34_incident_addresses_match_whole_client_addresses() {
    let Some(dir) = corpora() else { return };
    let web = dir.join("web/sotm34");
    let incidents = std::fs::read_to_string(web.join("Incidents_Description.txt")).unwrap();
    let chosen: Vec<String> = incidents
        .lines()
        .filter_map(|l| l.split_once("Associated IP addresses:"))
        .flat_map(|(_, rest)| {
            rest.split(|c: char| !(c.is_ascii_digit() || c == '.'))
                .filter(|t| t.parse::<std::net::Ipv4Addr>().is_ok())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .take(40)
        .collect();
    assert_eq!(chosen.len(), 40);

    let mut logs = Vec::new();
    for i in 0..7 {
        let name = if i == 0 {
            "access_log".to_string()
        } else {
            format!("access_log.{i}")
        };
        let text = std::fs::read(web.join("http").join(&name)).unwrap();
        logs.push((name, String::from_utf8_lossy(&text).into_owned()));
    }
    let clients: std::collections::BTreeSet<&str> = logs
        .iter()
        .flat_map(|(_, text)| text.lines().filter_map(|l| l.split(' ').next()))
        .collect();
    let lookalikes: Vec<String> = clients
        .iter()
        .filter(|c| c.rsplit('.').next().is_some_and(|octet| octet.len() >= 2))
        .map(|c| c[..c.len() - 1].to_string())
        .filter(|c| !clients.contains(c.as_str()))
        .collect();
    assert!(lookalikes.len() > 100, "{}", lookalikes.len());
    let mut b = IocSetBuilder::default();
    b.add_list_str(
        "sotm34.txt",
        &format!("{}\n{}", chosen.join("\n"), lookalikes.join("\n")),
    );
    let set = b.build().unwrap();
    assert_eq!(set.counts().invalid, 0);

    let (mut events, mut expected) = (0usize, 0usize);
    let mut m = set.ioc_matcher();
    let mut found = Vec::new();
    for (name, text) in &logs {
        for (n, line) in text.lines().enumerate() {
            let client = line.split(' ').next().unwrap_or_default();
            let request = line.split('"').nth(1).unwrap_or_default();
            let e = Event::new(name.as_str(), Position::Line(n as u64 + 1))
                .with("c-ip", client)
                .with("cs-uri", request);
            events += 1;
            expected += usize::from(chosen.iter().any(|a| a == client));
            m.check(&e, &mut found);
        }
    }
    println!(
        "sotm34: {events} events, {} lookalikes, {expected} lines from chosen addresses, {} findings",
        lookalikes.len(),
        found.len()
    );
    assert!(events > 3000, "{events}");
    assert!(expected > 0 && expected < events);
    assert_eq!(found.len(), expected);
    for f in &found {
        let ip = &f.matched[0].value;
        assert!(chosen.contains(ip), "{ip} is not a chosen incident address");
    }
}
