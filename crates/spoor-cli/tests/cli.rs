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
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    let out = spoor()
        .args(["rules", "check", "-f", "jsonl"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines = jsonl(&out.stdout);
    assert_eq!(lines.len(), 4);
    let bad = lines.iter().find(|l| l["title"] == "Bad").unwrap();
    assert_eq!(bad["status"], "invalid");
    assert_eq!(bad["line"], 5);
    assert!(bad["reason"].as_str().unwrap().contains("nosuch"));
    let corr = lines.iter().find(|l| l["title"] == "Many").unwrap();
    assert_eq!(corr["status"], "unsupported");
    assert!(corr["reason"].as_str().unwrap().starts_with("correlation"));
    assert_eq!(lines[3]["summary"]["ok"], 1);

    // Without the invalid rule: exit 0, unless --strict (the correlation rule is unsupported).
    fs::remove_file(dir.path().join("bad.yml")).unwrap();
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
}

#[test]
fn default_hunt_over_the_examples_finds_the_advisory_tradecraft() {
    let examples = repo().join("examples/logs");
    let out = spoor()
        .args(["hunt", "-f", "jsonl"])
        .arg(&examples)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    // examples/README.md lists every expected finding: 75 on 65 lines.
    assert_eq!(findings.len(), 75, "examples/README.md lists 75 findings");
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
