//! End-to-end: web shells found on disk tied back to the requests in the logs, and a STIX 2.1
//! bundle hunted through a web log.

mod common;

use base64::Engine as _;
use common::{jsonl, spoor};
use serde_json::Value;
use std::fs;
use std::path::Path;

/// One of the web-shell samples the YARA crate stores base64-encoded (no live web shell sits in
/// the repository as a plain file).
fn sample(rel: &str) -> Vec<u8> {
    let text = include_str!("../../spoor-yara/tests/samples/webshells.b64");
    let line = text
        .lines()
        .find(|l| l.starts_with(rel))
        .expect("sample listed");
    let b64 = line.split('\t').nth(2).expect("three columns");
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("base64")
}

fn access_line(ip: &str, path: &str, status: u16) -> String {
    format!("{ip} - - [12/Jul/2024:04:10:00 +0000] \"GET {path} HTTP/1.1\" {status} 512 \"-\" \"Mozilla/5.0\"")
}

fn write_logs(dir: &Path, lines: &[String]) -> std::path::PathBuf {
    let p = dir.join("access.log");
    fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

#[test]
fn web_shell_on_disk_is_tied_to_the_requests_that_used_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("html");
    let shell = root.join("wp-content/uploads/a.php");
    fs::create_dir_all(shell.parent().unwrap()).unwrap();
    fs::write(&shell, sample("html/wp-content/uploads/a.php")).unwrap();
    fs::write(
        root.join("index.php"),
        "<?php include 'header.php'; echo 'hello'; ?>",
    )
    .unwrap();
    let log = write_logs(
        dir.path(),
        &[
            access_line("198.51.100.20", "/index.php", 200),
            access_line("203.0.113.66", "/wp-content/uploads/a.php?c=id", 200),
            access_line("198.51.100.21", "/about/", 200),
            access_line("203.0.113.66", "/wp-content/uploads/a.php", 200),
        ],
    );
    let out = spoor()
        .args(["hunt", "-f", "jsonl", "--scan"])
        .arg(&root)
        .arg(&log)
        .output()
        .unwrap();
    common::assert_exit_0(&out);
    let lines = jsonl(&out.stdout);
    let yara: Vec<&Value> = lines
        .iter()
        .filter(|l| l["rule"]["kind"] == "yara")
        .collect();
    assert!(!yara.is_empty(), "the web shell is found: {lines:?}");
    assert!(yara
        .iter()
        .all(|f| f["source"]["path"].as_str().unwrap().ends_with("a.php")));
    assert!(yara
        .iter()
        .all(|f| f["file"]["sha256"].as_str().unwrap().len() == 64));
    let related = yara[0]["related"].as_array().expect("requests tied back");
    assert_eq!(related.len(), 2, "{related:?}");
    assert!(related.iter().all(|r| r["client_ip"] == "203.0.113.66"));
    assert!(related.iter().all(|r| r["status"] == "200"));
    // No finding on the ordinary page.
    assert!(!lines.iter().any(|l| l["source"]["path"]
        .as_str()
        .is_some_and(|p| p.ends_with("index.php"))));
}

/// Requests to a web shell that no Sigma rule reports (a script outside upload folders, plain
/// GETs) are still tied back: the stateful detectors see every event, not only those with
/// findings.
#[test]
fn requests_no_rule_reports_are_tied_back_too() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("html");
    fs::create_dir_all(&root).unwrap();
    fs::write(
        root.join("status.php"),
        sample("html/wp-content/uploads/a.php"),
    )
    .unwrap();
    let log = write_logs(
        dir.path(),
        &[
            access_line("203.0.113.66", "/status.php", 200),
            access_line("203.0.113.67", "/status.php", 302),
        ],
    );
    let out = spoor()
        .args(["hunt", "-f", "jsonl", "--scan"])
        .arg(&root)
        .arg(&log)
        .output()
        .unwrap();
    let lines = jsonl(&out.stdout);
    let yara = lines
        .iter()
        .find(|l| l["rule"]["kind"] == "yara")
        .expect("the web shell is found");
    let clients: Vec<&str> = yara["related"]
        .as_array()
        .expect("requests tied back")
        .iter()
        .map(|r| r["client_ip"].as_str().unwrap())
        .collect();
    assert_eq!(clients, vec!["203.0.113.66", "203.0.113.67"]);
    // No Sigma rule reported those requests.
    assert!(lines.iter().all(|l| l["rule"]["kind"] != "sigma"));
}

#[test]
fn stix_bundle_is_hunted_through_web_logs() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = r#"{
      "type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
      "objects": [
        {"type": "indicator", "spec_version": "2.1",
         "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
         "created": "2024-07-08T00:00:00Z", "modified": "2024-07-08T00:00:00Z",
         "name": "Exploitation source", "pattern_type": "stix",
         "pattern": "[ipv4-addr:value = '203.0.113.7']",
         "valid_from": "2024-01-01T00:00:00Z"},
        {"type": "attack-pattern", "spec_version": "2.1",
         "id": "attack-pattern--3f886f2a-874f-4333-b794-aa6075009b1c",
         "created": "2024-07-08T00:00:00Z", "modified": "2024-07-08T00:00:00Z",
         "name": "Exploit Public-Facing Application",
         "external_references": [{"source_name": "mitre-attack", "external_id": "T1190"}]},
        {"type": "relationship", "spec_version": "2.1",
         "id": "relationship--1f0e1f3e-6c3c-4a6f-9d7e-3f0a1b2c3d4e",
         "created": "2024-07-08T00:00:00Z", "modified": "2024-07-08T00:00:00Z",
         "relationship_type": "indicates",
         "source_ref": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
         "target_ref": "attack-pattern--3f886f2a-874f-4333-b794-aa6075009b1c"}
      ]}"#;
    let b = dir.path().join("advisory.json");
    fs::write(&b, bundle).unwrap();
    let log = write_logs(
        dir.path(),
        &[
            access_line("203.0.113.7", "/", 200),
            access_line("203.0.113.70", "/", 200),
            access_line("10.203.0.113", "/", 200),
        ],
    );
    let out = spoor()
        .args(["hunt", "--no-builtin", "-f", "jsonl", "--iocs"])
        .arg(&b)
        .arg(&log)
        .output()
        .unwrap();
    common::assert_exit_0(&out);
    let lines = jsonl(&out.stdout);
    let hits: Vec<&Value> = lines.iter().filter(|l| l.get("rule").is_some()).collect();
    assert_eq!(
        hits.len(),
        1,
        "only the exact address, never a lookalike: {hits:?}"
    );
    let f = hits[0];
    assert_eq!(f["rule"]["kind"], "indicator");
    assert_eq!(
        f["rule"]["id"],
        "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
    );
    assert_eq!(f["attack"], serde_json::json!(["T1190"]));
    assert_eq!(f["source"]["line"], 1);
    assert_eq!(f["matched"][0]["field"], "c-ip");
    assert_eq!(f["matched"][0]["in_validity"], true);
}

#[test]
fn scan_reports_yara_and_hash_indicator_findings_with_file_details() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("webapps");
    let shell = root.join("app/cmd.jsp");
    fs::create_dir_all(shell.parent().unwrap()).unwrap();
    let bytes = sample("webapps/app/cmd.jsp");
    fs::write(&shell, &bytes).unwrap();
    fs::write(
        root.join("app/index.jsp"),
        "<%@ page contentType=\"text/html\" %><h1>Hello</h1>",
    )
    .unwrap();
    // An indicator list naming the shell's file name (the MD5 path is covered by spoor-ioc).
    let list = dir.path().join("iocs.csv");
    fs::write(&list, "filename,cmd.jsp,test indicator\n").unwrap();
    let out = spoor()
        .args(["scan", "-f", "jsonl", "--iocs"])
        .arg(&list)
        .arg(&root)
        .output()
        .unwrap();
    common::assert_exit_0(&out);
    let lines = jsonl(&out.stdout);
    let findings: Vec<&Value> = lines.iter().filter(|l| l.get("rule").is_some()).collect();
    assert!(findings.iter().any(|f| f["rule"]["kind"] == "yara"));
    assert!(findings.iter().any(|f| f["rule"]["kind"] == "indicator"));
    assert!(findings
        .iter()
        .all(|f| f["source"]["path"].as_str().unwrap().ends_with("cmd.jsp")));
    let file = &findings[0]["file"];
    assert_eq!(file["size"], bytes.len());
    assert_eq!(file["md5"].as_str().unwrap().len(), 32);
    assert!(
        findings[0]["timestamp"].is_string(),
        "placed at the file's modified time"
    );
    assert!(findings.iter().any(|f| f["attack"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == "T1505.003")));
}

/// `spoor scan` runs through the same filter and spilling sorter as `spoor hunt`: a budget that
/// spills everything, one thread or several give the same findings in the same order; the same
/// shell in two folders stays two findings (identical findings merge only within one file).
#[test]
fn scan_findings_stream_through_the_sorter_whatever_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("roots");
    let shells = ["webapps/app/cmd.jsp", "wwwroot/uploads/run.aspx"];
    for copy in ["a", "b"] {
        for rel in shells {
            let p = root.join(copy).join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, sample(rel)).unwrap();
        }
    }
    let run = |extra: &[&str]| {
        let out = spoor()
            .args(["scan", "-f", "jsonl"])
            .args(extra)
            .arg(&root)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{extra:?}");
        let mut lines = jsonl(&out.stdout);
        let summary = lines.pop().expect("a summary");
        (lines, summary["summary"].clone())
    };
    let (findings, summary) = run(&[]);
    assert!(findings.len() >= 4, "{findings:#?}");
    assert_eq!(summary["findings"], findings.len() as u64);
    for copy in ["a", "b"] {
        let in_copy = findings
            .iter()
            .filter(|f| {
                f["source"]["path"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("/{copy}/"))
            })
            .count();
        assert_eq!(
            in_copy * 2,
            findings.len(),
            "each copy keeps its own findings"
        );
    }
    let (spilled, spilled_summary) = run(&["--sort-memory", "0"]);
    assert!(spilled_summary["spilled_bytes"].as_u64().unwrap() > 0);
    assert_eq!(
        spilled, findings,
        "a budget of 0 spills but changes nothing"
    );
    let (one_thread, _) = run(&["-j", "1"]);
    assert_eq!(one_thread, findings);
    let (undeduplicated, _) = run(&["--no-dedup"]);
    assert_eq!(
        undeduplicated, findings,
        "no duplicates to merge in a file scan"
    );
}
