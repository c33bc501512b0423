//! spoor-clickhouse against the real ClickHouse engine (chdb behind the test HTTP front): every
//! modifier the SQL backend expresses gives the same (rule, event) pairs as the local evaluator,
//! re-ingest adds nothing, and the errors a deployment meets are told apart.

mod harness;

use spoor_clickhouse::{Client, Config, Error, Inserter};
use spoor_event::{Event, LogSource, Position, Value};
use spoor_sigma::{RuleSet, RuleSetBuilder};
use std::collections::BTreeSet;

const RULES: &str = r#"
title: contains
id: r-contains
logsource: {product: windows, category: process_creation}
detection:
  sel:
    CommandLine|contains: 'whoami'
  condition: sel
---
title: windash and all
id: r-windash
logsource: {product: windows, category: process_creation}
detection:
  sel:
    CommandLine|windash|contains|all: [' -enc ', 'hidden']
  condition: sel
---
title: startswith endswith glob
id: r-glob
logsource: {product: windows}
detection:
  a:
    Image|endswith: '\cmd.exe'
  b:
    ParentImage|startswith: 'C:\Program Files\'
  c:
    User: 'NT AUTHORITY\SYS?EM'
  condition: a and (b or c)
---
title: quotes and backslashes
id: r-quote
logsource: {product: windows}
detection:
  sel:
    CommandLine|contains: "it's a \\ test'); DROP TABLE x; --"
  condition: sel
---
title: regex
id: r-re
logsource: {product: windows}
detection:
  sel:
    CommandLine|re|i: 'invoke-(web|rest)request'
  condition: sel
---
title: numbers
id: r-num
logsource: {category: webserver}
detection:
  big:
    sc-bytes|gte: 1000000
  err:
    sc-status: 500
  condition: big or err
---
title: cidr
id: r-cidr
logsource: {category: webserver}
detection:
  sel:
    c-ip|cidr: ['10.0.0.0/8', 'fd00::/8']
  condition: sel
---
title: exists and null
id: r-null
logsource: {category: webserver}
detection:
  has_ref:
    cs-referer|exists: true
  no_user:
    cs-username: null
  condition: has_ref and no_user
---
title: keywords
id: r-kw
logsource: {category: webserver}
detection:
  keywords:
    - '${jndi:'
    - 'eval(base64'
  condition: keywords
---
title: neq and not
id: r-neq
logsource: {category: webserver}
detection:
  sel:
    cs-method|neq: [GET, HEAD]
  ok:
    sc-status: 200
  condition: sel and not ok
---
title: one of many (fast path)
id: r-many
logsource: {category: webserver}
detection:
  sel:
    cs-uri-stem|contains: ['/shell', '/cmd', '/upload', '/x.aspx', '/tunnel']
  names:
    cs-uri-stem: ['/a.jsp', '/b.jsp', '/c.jsp', '/d.jsp', '/e.jsp']
  condition: 1 of them
---
title: base64offset
id: r-b64
logsource: {product: windows}
detection:
  sel:
    CommandLine|base64offset|contains: 'http://evil'
  condition: sel
---
title: fieldref
id: r-ref
logsource: {product: windows}
detection:
  sel:
    TargetUserName|fieldref: SubjectUserName
  condition: sel
---
title: cased
id: r-cased
logsource: {product: windows}
detection:
  sel:
    CommandLine|cased|contains: 'WhoAmI'
  condition: sel
---
title: no logsource at all
id: r-any
logsource: {}
detection:
  sel:
    marker: 'x1'
  condition: sel
"#;

fn windows(n: u64) -> Event {
    Event::new("win.jsonl", Position::Line(n)).with_logsource(LogSource::new(
        Some("windows"),
        Some("process_creation"),
        Some("sysmon"),
    ))
}

fn web(n: u64) -> Event {
    let mut e = Event::new("access.log", Position::Line(n)).with_logsource(LogSource::new(
        Some("apache"),
        Some("webserver"),
        None,
    ));
    e.raw = Some(format!("raw line {n}").into());
    e
}

fn events() -> Vec<Event> {
    let b64 = "aHR0cDovL2V2aWwuZXhhbXBsZS9wYXlsb2Fk"; // base64 of http://evil.example/payload
    let mut v = vec![
        windows(1).with("CommandLine", "cmd /c WHOAMI /all"),
        windows(2).with("CommandLine", "powershell /enc AAA -w hidden"),
        windows(3).with("CommandLine", "powershell -enc AAA"),
        windows(4)
            .with("Image", r"C:\Windows\System32\CMD.EXE")
            .with("ParentImage", r"c:\program files\x\y.exe"),
        windows(5)
            .with("Image", r"C:\Windows\System32\cmd.exe")
            .with("User", r"NT AUTHORITY\SYSTEM"),
        windows(6)
            .with("Image", r"C:\Windows\System32\cmd.exe")
            .with("User", r"NT AUTHORITY\SYSSTEM"),
        windows(7).with("CommandLine", "echo it's a \\ test'); DROP TABLE x; -- ok"),
        windows(8).with("CommandLine", "Invoke-WebRequest http://x"),
        windows(9).with("CommandLine", format!("powershell -e {b64}")),
        windows(10)
            .with("TargetUserName", "Admin")
            .with("SubjectUserName", "admin"),
        windows(11)
            .with("TargetUserName", "Admin")
            .with("SubjectUserName", "bob"),
        windows(12).with("CommandLine", "run WhoAmI"),
        windows(13).with("CommandLine", "run whoami"),
        windows(14).with(
            "CommandLine",
            Value::Array(vec![Value::str("a"), Value::str("x whoami")]),
        ),
        windows(15).with("CommandLine", "whoami"),
        web(20)
            .with("sc-bytes", 1_500_000i64)
            .with("sc-status", 200i64),
        web(21).with("sc-bytes", "2000000").with("sc-status", "500"),
        web(22)
            .with("sc-bytes", " 999999 ")
            .with("sc-status", "500.0"),
        web(23).with("sc-bytes", "-").with("sc-status", "5e2"),
        web(24).with("sc-bytes", "inf").with("sc-status", "0x1F4"),
        web(25).with("c-ip", "10.1.2.3"),
        web(26).with("c-ip", "-"),
        web(27).with("c-ip", "fd12::1"),
        web(28).with("c-ip", "010.1.2.3"),
        web(29).with("c-ip", "11.0.0.1"),
        web(30)
            .with("cs-referer", "http://r")
            .with("cs-username", Value::Null),
        web(31)
            .with("cs-referer", "http://r")
            .with("cs-username", ""),
        web(32).with("cs-referer", "http://r"),
        web(33)
            .with("cs-referer", "http://r")
            .with("cs-username", "bob"),
        web(34).with("cs-uri-query", "q=${JNDI:ldap://x}"),
        web(35).with("cs-method", "POST").with("sc-status", 302i64),
        web(36).with("cs-method", "get").with("sc-status", 302i64),
        web(37).with("cs-method", "POST").with("sc-status", 200i64),
        web(38).with("cs-uri-stem", "/files/UPLOAD.php"),
        web(39).with("cs-uri-stem", "/C.JSP"),
        web(40).with("cs-uri-stem", "/c.jsp.bak"),
        Event::new("generic.json", Position::Index(1)).with("marker", "X1"),
        Event::new("generic.json", Position::Index(2)).with("marker", "x2"),
    ];
    let mut raw_only = web(41);
    raw_only.raw = Some("GET /?x=eval(BASE64_decode(...)) HTTP/1.1".into());
    v.push(raw_only);
    let mut quoted = web(42);
    quoted.raw = Some("line with 'quote' and \\ backslash and \u{1} control".into());
    v.push(quoted.with("cs-uri-stem", "/shell\"x"));
    v
}

fn rules() -> RuleSet {
    let mut b = RuleSetBuilder::new();
    b.add_source("engine.yml", RULES);
    let set = b.build();
    assert_eq!(set.len(), 15, "{:?}", set.reports());
    set
}

type Hits = BTreeSet<(String, String, u64)>;

fn local_hits(set: &RuleSet, evs: &[Event]) -> Hits {
    let mut ev = set.evaluator();
    let mut out = Hits::new();
    for e in evs {
        let fast = ev.matching_rules(e);
        let slow = set.matching_rules_unindexed(e);
        assert_eq!(fast.len(), slow.len());
        for m in fast {
            out.insert((
                m.id.clone(),
                e.origin.path.to_string(),
                e.origin.position.number(),
            ));
        }
    }
    out
}

fn ingest(client: &Client, table: &str, evs: &[Event], batch: u64) {
    spoor_clickhouse::create_table(client, table).unwrap();
    let mut ins = Inserter::new(client.clone(), table, batch, 1 << 20);
    for e in evs {
        ins.push(e);
    }
    let st = ins.finish();
    assert_eq!(st.failed, 0, "{:?}", st.errors);
    assert_eq!(st.written, evs.len() as u64);
}

#[test]
fn sql_hits_equal_local_hits_for_every_modifier() {
    let Some(server) = harness::start("sql_hits_equal_local_hits_for_every_modifier", None) else {
        return;
    };
    let client = Client::new(Config::new(&server.url)).unwrap();
    client.ping().unwrap();
    let evs = events();
    ingest(&client, "ev", &evs, 7);
    let set = rules();
    let plan = spoor_clickhouse::plan(&set, "default", "ev");
    assert!(plan.skipped.is_empty(), "{:?}", plan.skipped);
    let mut remote = Hits::new();
    let run = spoor_clickhouse::run_plan(&client, &set, &plan, |ev, hits| {
        for f in hits {
            assert_eq!(f.source, ev.origin);
            remote.insert((
                f.rule.id.clone(),
                f.source.path.to_string(),
                f.source.position.number(),
            ));
        }
    })
    .unwrap();
    assert!(run.failed.is_empty(), "{:?}", run.failed);
    let local = local_hits(&set, &evs);
    // The local engine must find something for every rule, or the comparison proves little.
    let rules_hit: BTreeSet<&str> = local.iter().map(|(r, _, _)| r.as_str()).collect();
    assert_eq!(
        rules_hit.len(),
        15,
        "rules without a local hit: {rules_hit:?}"
    );
    for (rule, line, hit) in [
        ("r-cidr", 25, true),
        ("r-cidr", 26, false),
        ("r-cidr", 27, true),
        ("r-cidr", 28, false),
        ("r-num", 22, false),
        ("r-num", 24, true),
        ("r-null", 30, true),
        ("r-null", 31, true),
        ("r-null", 32, true),
        ("r-null", 33, false),
        ("r-cased", 12, true),
        ("r-cased", 13, false),
    ] {
        let key = (rule.to_string(), "access.log".to_string(), line);
        let key = if rule == "r-cased" {
            (rule.to_string(), "win.jsonl".to_string(), line)
        } else {
            key
        };
        assert_eq!(local.contains(&key), hit, "{key:?}");
    }
    assert_eq!(remote, local);
}

#[test]
fn reingest_adds_nothing() {
    let Some(server) = harness::start("reingest_adds_nothing", None) else {
        return;
    };
    let client = Client::new(Config::new(&server.url)).unwrap();
    let evs = events();
    ingest(&client, "ev", &evs, 10);
    ingest(&client, "ev", &evs, 10);
    let n = evs.len() as u64;
    assert_eq!(spoor_clickhouse::count_events(&client, "ev").unwrap(), n);
    // Same batches: the content-derived de-duplication token kept even the parts out.
    let plain = client.execute("SELECT count() FROM default.ev").unwrap();
    assert_eq!(plain.trim(), n.to_string());
    // Other batch boundaries: rows go in, and the table's key folds them together.
    ingest(&client, "ev", &evs, 3);
    assert_eq!(spoor_clickhouse::count_events(&client, "ev").unwrap(), n);
}

#[test]
fn deployment_errors_are_told_apart() {
    let Some(server) = harness::start(
        "deployment_errors_are_told_apart",
        Some(("hunter", "s3cr'et")),
    ) else {
        return;
    };
    let mut cfg = Config::new(&server.url);
    cfg.user = Some("hunter".into());
    cfg.password = Some("wrong".into());
    let e = Client::new(cfg.clone()).unwrap().ping().unwrap_err();
    assert!(matches!(e, Error::Login { .. }), "{e}");
    cfg.password = Some("s3cr'et".into());
    let good = Client::new(cfg).unwrap();
    good.ping().unwrap();
    let e = good.execute("SELECT spoorNoSuchFunction(1)").unwrap_err();
    assert!(matches!(e, Error::MissingFunction(_)), "{e}");
    let e = good.execute("SELEC 1").unwrap_err();
    assert!(matches!(e, Error::Server { code: Some(62), .. }), "{e}");
    // A port nobody listens on.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let e = Client::new(Config::new(format!("http://127.0.0.1:{port}")))
        .unwrap()
        .ping()
        .unwrap_err();
    assert!(matches!(e, Error::Unreachable { .. }), "{e}");
    assert!(e.to_string().contains("is the server up"), "{e}");
}

#[test]
fn cluster_statements_parse_in_the_real_engine() {
    let Some(server) = harness::start("cluster_statements_parse_in_the_real_engine", None) else {
        return;
    };
    let client = Client::new(Config::new(&server.url)).unwrap();
    let stmts = spoor_clickhouse::cluster_table_sql("default", "ev", "two_shards").unwrap();
    for s in &stmts {
        // The engine's own parser: a syntax error is an error here, not on a cluster.
        let formatted = client
            .execute(&format!("SELECT formatQuery({})", spoor_clickhouse::lit(s)))
            .unwrap();
        assert!(formatted.contains("ON CLUSTER two_shards"), "{formatted}");
    }
    let e = client
        .execute(&format!(
            "SELECT formatQuery({})",
            spoor_clickhouse::lit("CREATE TABLE x ON CLUSTER ENGINE = (")
        ))
        .unwrap_err();
    assert!(matches!(e, Error::Server { .. }), "{e}");
}

#[test]
fn time_range_is_pushed_into_where() {
    let Some(server) = harness::start("time_range_is_pushed_into_where", None) else {
        return;
    };
    let client = Client::new(Config::new(&server.url)).unwrap();
    let mut evs = events();
    for (i, e) in evs.iter_mut().enumerate() {
        e.timestamp =
            Some(chrono::DateTime::from_timestamp(1_700_000_000 + i as i64 * 60, 0).unwrap());
    }
    ingest(&client, "ev", &evs, 50);
    let set = rules();
    let from = chrono::DateTime::from_timestamp(1_700_000_000 + 10 * 60, 0).unwrap();
    let to = chrono::DateTime::from_timestamp(1_700_000_000 + 30 * 60, 0).unwrap();
    let range = spoor_clickhouse::TimeRange {
        from: Some(from),
        to: Some(to),
    };
    let plan = spoor_clickhouse::plan_in(&set, "default", "ev", range);
    assert!(plan
        .queries
        .iter()
        .all(|q| q.sql.contains("time >= toDateTime64(")));
    let mut remote = Hits::new();
    spoor_clickhouse::run_plan(&client, &set, &plan, |ev, hits| {
        let t = ev.timestamp.unwrap();
        assert!(t >= from && t <= to, "{t}");
        for f in hits {
            remote.insert((
                f.rule.id.clone(),
                f.source.path.to_string(),
                f.source.position.number(),
            ));
        }
    })
    .unwrap();
    let inside: Vec<Event> = evs
        .iter()
        .filter(|e| e.timestamp.is_some_and(|t| t >= from && t <= to))
        .cloned()
        .collect();
    let local = local_hits(&set, &inside);
    assert!(!local.is_empty() && local.len() < local_hits(&set, &evs).len());
    assert_eq!(remote, local);
}
