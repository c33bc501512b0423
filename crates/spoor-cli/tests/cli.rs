//! End-to-end tests of the `spoor` binary.

mod common;

use common::{jsonl, spoor};
use serde_json::Value;
use std::fs;
use std::path::PathBuf;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const WHOAMI_RULE: &str = "title: Whoami
id: 11111111-1111-1111-1111-111111111111
level: high
tags: [attack.discovery, attack.t1033]
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|endswith: '\\whoami.exe'
  condition: sel
";

#[test]
fn hunt_ndjson_reports_the_finding_schema() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("r.yml"), WHOAMI_RULE).unwrap();
    let events = [
        r#"{"@timestamp":"2024-07-08T10:00:00Z","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Image":"C:\\Windows\\System32\\whoami.exe","process":{"args":["a","b"]}}"#,
        r#"{"@timestamp":"2024-07-08T10:00:01Z","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Image":"C:\\Windows\\System32\\notepad.exe"}"#,
    ];
    fs::write(dir.path().join("ev.jsonl"), events.join("\n")).unwrap();
    let out = spoor()
        .args(["hunt", "--no-builtin", "-f", "jsonl", "-r"])
        .arg(dir.path().join("r.yml"))
        .arg(dir.path().join("ev.jsonl"))
        .output()
        .unwrap();
    common::assert_exit_0(&out);
    let lines = jsonl(&out.stdout);
    assert_eq!(lines.len(), 2, "one finding and the summary");
    let f = &lines[0];
    assert_eq!(f["timestamp"], "2024-07-08T10:00:00Z");
    assert_eq!(f["rule"]["id"], "11111111-1111-1111-1111-111111111111");
    assert_eq!(f["rule"]["title"], "Whoami");
    assert_eq!(f["rule"]["level"], "high");
    assert_eq!(f["rule"]["kind"], "sigma");
    assert_eq!(f["attack"], serde_json::json!(["T1033"]));
    assert_eq!(f["source"]["line"], 1);
    assert!(f["source"]["path"].as_str().unwrap().ends_with("ev.jsonl"));
    assert_eq!(f["event"]["process.args"], serde_json::json!(["a", "b"]));
    assert_eq!(lines[1]["summary"]["events"], 2);
    assert_eq!(lines[1]["summary"]["findings"], 1);
}

#[test]
fn table_never_prints_control_characters_from_events() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("r.yml"), WHOAMI_RULE).unwrap();
    let ev = "{\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"EventID\":1,\"Image\":\"C:\\\\x\\\\whoami.exe\",\"CommandLine\":\"\\u001b]0;pwned\\u0007\\u001b[31mred\\r\\b\"}";
    fs::write(dir.path().join("ev.jsonl"), ev).unwrap();
    let out = spoor()
        .args([
            "hunt",
            "--no-builtin",
            "-f",
            "table",
            "--color",
            "never",
            "-r",
        ])
        .arg(dir.path().join("r.yml"))
        .arg(dir.path().join("ev.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Whoami"), "{text}");
    for bad in ['\x1b', '\x07', '\r', '\x08'] {
        assert!(
            !out.stdout.contains(&(bad as u8)),
            "raw {bad:?} in table output"
        );
        assert!(!out.stderr.contains(&(bad as u8)), "raw {bad:?} on stderr");
    }
}

#[test]
fn rules_check_reports_every_rule_and_fails_on_invalid() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("good.yml"), WHOAMI_RULE).unwrap();
    fs::write(
        dir.path().join("bad.yml"),
        "title: Bad\nlogsource: {product: windows}\ndetection:\n  sel:\n    Image|nosuch: x\n  condition: sel\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("corr.yml"),
        "title: Many\ncorrelation:\n  type: event_count\n  rules: [x]\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("corr_ok.yml"),
        "title: Many whoami\ncorrelation:\n  type: event_count\n  rules: [11111111-1111-1111-1111-111111111111]\n  timespan: 5m\n  condition: {gte: 3}\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("placeholder.yml"),
        "title: Admins\nlogsource: {product: windows}\ndetection:\n  sel:\n    User|expand: '%admins%'\n  condition: sel\n",
    )
    .unwrap();
    let out = spoor()
        .args(["rules", "check", "-f", "jsonl"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines = jsonl(&out.stdout);
    assert_eq!(lines.len(), 6);
    let bad = lines.iter().find(|l| l["title"] == "Bad").unwrap();
    assert_eq!(bad["status"], "invalid");
    assert_eq!(bad["line"], 5);
    assert_eq!(bad["column"], 5);
    assert_eq!(bad["code"], "SIGMA-E009");
    assert!(bad["reason"].as_str().unwrap().contains("nosuch"));
    let corr = lines.iter().find(|l| l["title"] == "Many").unwrap();
    assert_eq!(corr["status"], "invalid");
    assert_eq!(corr["code"], "SIGMA-E011");
    assert!(corr["reason"].as_str().unwrap().contains("timespan"));
    let ok = lines.iter().find(|l| l["title"] == "Many whoami").unwrap();
    assert_eq!(ok["status"], "ok");
    let ph = lines.iter().find(|l| l["title"] == "Admins").unwrap();
    assert_eq!(ph["status"], "unsupported");
    assert_eq!(ph["code"], "SIGMA-U002");
    assert_eq!(ok["code"], serde_json::Value::Null);
    assert_eq!(lines[5]["summary"]["ok"], 2);
    // The text form prints the place with its column and the code before the reason.
    let text = spoor()
        .args(["rules", "check", "--quiet"])
        .arg(dir.path().join("bad.yml"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("bad.yml:5:5 - Bad: SIGMA-E009 unknown modifier 'nosuch'"),
        "{text}"
    );

    // Without the invalid rules: exit 0, unless --strict (the placeholder rule is unsupported).
    fs::remove_file(dir.path().join("bad.yml")).unwrap();
    fs::remove_file(dir.path().join("corr.yml")).unwrap();
    spoor()
        .args(["rules", "check"])
        .arg(dir.path())
        .assert()
        .code(0);
    spoor()
        .args(["rules", "check", "--strict"])
        .arg(dir.path())
        .assert()
        .code(1);
}

#[test]
fn rules_list_shows_the_builtin_pack() {
    let out = spoor()
        .args(["rules", "list", "-f", "jsonl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let lines = jsonl(&out.stdout);
    assert!(lines.len() >= 20, "pack has {} rules", lines.len());
    assert!(lines
        .iter()
        .all(|l| !l["id"].as_str().unwrap_or("").is_empty()));
    assert!(lines
        .iter()
        .any(|l| l["attack"].as_array().unwrap().iter().any(|t| t == "T1190")));
    // Correlations are listed, and the rules that only feed them say so.
    let kind_of = |title: &str| {
        lines
            .iter()
            .find(|l| l["title"] == title)
            .map(|l| l["kind"].as_str().unwrap().to_string())
    };
    assert_eq!(
        kind_of("SSH Brute Force from One Address").as_deref(),
        Some("correlation")
    );
    assert_eq!(kind_of("SSH Login Failed").as_deref(), Some("feeds"));
    assert_eq!(
        kind_of("SSH Login Accepted with a Password").as_deref(),
        Some("rule")
    );
}

#[test]
fn default_hunt_over_the_examples_finds_the_advisory_tradecraft() {
    let examples = repo().join("examples/logs");
    let out = spoor()
        .args(["hunt", "-f", "jsonl"])
        .arg(&examples)
        .output()
        .unwrap();
    common::assert_exit_0(&out);
    let lines = jsonl(&out.stdout);
    let findings: Vec<&Value> = lines.iter().filter(|l| l.get("rule").is_some()).collect();
    let techniques: std::collections::BTreeSet<String> = findings
        .iter()
        .flat_map(|f| {
            f["attack"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_string())
        })
        .collect();
    for t in ["T1190", "T1505.003", "T1562.004", "T1021.004", "T1558.003"] {
        assert!(techniques.contains(t), "no finding for {t}: {techniques:?}");
    }
    let summary = lines.last().unwrap();
    assert_eq!(summary["summary"]["unparsed"], 0);
    // examples/README.md lists every expected finding as (file, line, rule file): the run must
    // give exactly that list, no more, no fewer.
    let want = published_findings(&repo().join("examples/README.md"));
    assert!(want.len() > 40, "README tables not read: {want:?}");
    let ids = pack_rule_files();
    let mut got: Vec<(String, u64, String)> = findings
        .iter()
        .map(|f| {
            let path = f["source"]["path"].as_str().unwrap();
            let rel = path
                .rsplit_once("examples/logs/")
                .map_or(path, |(_, r)| r)
                .to_string();
            let line = f["source"]["line"].as_u64().unwrap_or(0);
            let id = f["rule"]["id"].as_str().unwrap();
            let rule = ids.get(id).cloned().unwrap_or_else(|| format!("id {id}"));
            (rel, line, rule)
        })
        .collect();
    got.sort();
    assert_eq!(got, want, "findings differ from examples/README.md");
    // Correlation findings carry their group, window and contributing events.
    let spray = findings
        .iter()
        .find(|f| {
            f["rule"]["kind"] == "correlation"
                && f["rule"]["title"].as_str().unwrap().contains("Spray")
        })
        .expect("password spray finding");
    assert_eq!(spray["correlation"]["group"]["IpAddress"], "203.0.113.81");
    assert_eq!(spray["correlation"]["value"], 6.0);
    assert_eq!(spray["correlation"]["origins"].as_array().unwrap().len(), 6);
}

/// The (file, line, rule file stem) rows of the tables in examples/README.md, sorted; a row
/// whose line cell is `a-b` stands for every line of the range.
fn published_findings(readme: &std::path::Path) -> Vec<(String, u64, String)> {
    let text = std::fs::read_to_string(readme).unwrap();
    let mut file = String::new();
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("## logs/") {
            file = h.split_whitespace().next().unwrap_or_default().to_string();
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (Some(first), Some(last)) = (cells.get(1), cells.iter().rev().nth(1)) else {
            continue;
        };
        let range: Vec<u64> = match first.split_once('-') {
            Some((a, b)) => match (a.parse::<u64>(), b.parse::<u64>()) {
                (Ok(a), Ok(b)) => (a..=b).collect(),
                _ => continue,
            },
            None => match first.parse::<u64>() {
                Ok(n) => vec![n],
                Err(_) => continue,
            },
        };
        let rules: Vec<&str> = last.split('`').skip(1).step_by(2).collect();
        for n in range {
            for r in &rules {
                out.push((file.clone(), n, r.to_string()));
            }
        }
    }
    out.sort();
    out
}

/// Rule id -> file stem for every rule of the pack.
fn pack_rule_files() -> std::collections::HashMap<String, String> {
    let mut map = std::collections::HashMap::new();
    for entry in std::fs::read_dir(repo().join("rules/sigma")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        if let Some(id) = text.lines().find_map(|l| l.strip_prefix("id: ")) {
            let stem = path.file_stem().unwrap().to_string_lossy().to_string();
            map.insert(id.trim().to_string(), stem);
        }
    }
    assert!(
        map.len() >= 50,
        "the pack's rule files: found {}",
        map.len()
    );
    map
}

#[test]
fn missing_input_is_a_counted_error_not_a_crash() {
    let out = spoor()
        .args(["hunt", "-f", "jsonl", "/nonexistent/spoor-test"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let lines = jsonl(&out.stdout);
    let files = lines.last().unwrap()["summary"]["files"]
        .as_array()
        .unwrap()
        .clone();
    assert!(files.iter().any(|f| f["error"].is_string()));
}
