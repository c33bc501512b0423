//! `spoor ingest`, `convert --to clickhouse` and `hunt --clickhouse` against the real ClickHouse
//! engine (chdb behind the test HTTP front), and the differential test of issue 12: the Sigma
//! findings, single-event and correlation, (rule id, source path, line/record, time) of the
//! in-engine hunt equal the local hunt's on the same files.

mod common;
#[path = "../../spoor-clickhouse/tests/harness/mod.rs"]
mod harness;

use common::{jsonl, spoor};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

type Key = (String, String, String, String);

/// The Sigma findings (single-event and correlation) of a JSONL output: (rule id, path,
/// position, time).
fn sigma_keys(out: &[u8]) -> BTreeSet<Key> {
    jsonl(out)
        .into_iter()
        .filter(|v| v["rule"]["kind"] == "sigma" || v["rule"]["kind"] == "correlation")
        .map(|v| {
            let src = &v["source"];
            let pos = ["line", "record", "index"]
                .iter()
                .find_map(|k| src.get(*k).map(|n| format!("{k} {n}")))
                .expect("a position");
            (
                v["rule"]["id"].as_str().unwrap_or_default().to_string(),
                src["path"].as_str().unwrap_or_default().to_string(),
                pos,
                v["timestamp"].to_string(),
            )
        })
        .collect()
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Ingests `path` into `table`, hunts it both ways with `rules` and compares.
fn differential(url: &str, table: &str, path: &Path, rules: &[PathBuf]) -> usize {
    let rule_args: Vec<String> = rules
        .iter()
        .flat_map(|r| ["-r".to_string(), r.display().to_string()])
        .collect();
    let ingest = spoor()
        .current_dir(workspace())
        .args(["ingest", "--clickhouse", url, "--table", table])
        .arg(path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&ingest.stderr);
    assert!(ingest.status.success(), "{err}");
    assert!(err.contains(" 0 not written"), "{err}");
    let remote = spoor()
        .current_dir(workspace())
        .args([
            "hunt",
            "--clickhouse",
            url,
            "--table",
            table,
            "--no-dedup",
            "-f",
            "jsonl",
        ])
        .args(&rule_args)
        .output()
        .unwrap();
    assert!(
        remote.status.success(),
        "{}",
        String::from_utf8_lossy(&remote.stderr)
    );
    let local = spoor()
        .current_dir(workspace())
        .args(["hunt", "--no-dedup", "-f", "jsonl"])
        .arg(path)
        .args(&rule_args)
        .output()
        .unwrap();
    assert!(local.status.code() == Some(0) || local.status.code() == Some(3));
    let (r, l) = (sigma_keys(&remote.stdout), sigma_keys(&local.stdout));
    let only_local: Vec<&Key> = l.difference(&r).take(10).collect();
    let only_remote: Vec<&Key> = r.difference(&l).take(10).collect();
    assert!(
        only_local.is_empty() && only_remote.is_empty(),
        "{table}: {} local, {} in ClickHouse; only local: {only_local:?}; only in ClickHouse: {only_remote:?}",
        l.len(),
        r.len()
    );
    l.len()
}

#[test]
fn clickhouse_hunt_equals_local_hunt_on_examples() {
    let Some(server) = harness::start("clickhouse_hunt_equals_local_hunt_on_examples", None) else {
        return;
    };
    let n = differential(&server.url, "examples", Path::new("examples/logs"), &[]);
    // examples/README.md lists every finding ("Expected: N findings"), single-event and
    // correlation Sigma ones; the CLI test compares the local run with that list.
    let readme = std::fs::read_to_string(workspace().join("examples/README.md")).unwrap();
    let published: usize = readme
        .split_once("Expected: ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("examples/README.md gives the number of findings");
    assert_eq!(n, published);
    // Re-ingest adds nothing: the same events, the same findings.
    let again = differential(&server.url, "examples", Path::new("examples/logs"), &[]);
    assert_eq!(again, n);
}

#[test]
fn clickhouse_hunt_equals_local_hunt_on_corpora() {
    let Some(corpora) = spoor_event::shared_corpora("clickhouse differential on corpora") else {
        return;
    };
    let Some(server) = harness::start("clickhouse_hunt_equals_local_hunt_on_corpora", None) else {
        return;
    };
    let web = differential(&server.url, "sotm34", &corpora.join("web/sotm34"), &[]);
    assert!(web > 100, "{web}");
    let evtx = differential(
        &server.url,
        "evtx",
        &corpora.join("evtx-attack-samples"),
        &[],
    );
    assert!(evtx > 100, "{evtx}");
    // SigmaHQ's web and Windows rules, thousands of them, on the same tables.
    let sigma = corpora.join("sigma/rules");
    let web_hq = differential(
        &server.url,
        "sotm34",
        &corpora.join("web/sotm34"),
        &[sigma.join("web")],
    );
    assert!(web_hq >= web, "{web_hq}");
    let evtx_hq = differential(
        &server.url,
        "evtx",
        &corpora.join("evtx-attack-samples"),
        &[sigma.join("windows")],
    );
    assert!(evtx_hq > evtx, "{evtx_hq}");
}

#[test]
fn convert_lists_what_it_cannot_express() {
    let out = spoor()
        .args(["convert", "--to", "clickhouse"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("FORMAT JSONEachRow"), "{text}");
    assert!(text.contains("FROM default.spoor_events FINAL"), "{text}");
    // Every correlation of the pack is listed with how it runs, none dropped.
    let corr = std::fs::read_dir(workspace().join("rules/sigma"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("corr_"))
        })
        .count();
    let listed = text
        .lines()
        .filter(|l| l.starts_with("-- correlation:"))
        .count();
    assert_eq!(listed, corr, "{text}");
    let bad = spoor()
        .args([
            "convert",
            "--to",
            "clickhouse",
            "--table",
            "x; DROP TABLE y",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn credentials_come_from_the_environment_and_a_refusal_is_clear() {
    let Some(server) = harness::start("credentials_from_env", Some(("hunter", "pw"))) else {
        return;
    };
    let run = |pw: &str| {
        spoor()
            .current_dir(workspace())
            .env("SPOOR_CLICKHOUSE_USER", "hunter")
            .env("SPOOR_CLICKHOUSE_PASSWORD", pw)
            .args([
                "ingest",
                "--clickhouse",
                &server.url,
                "examples/logs/access.log",
            ])
            .output()
            .unwrap()
    };
    let bad = run("nope");
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("refused the login of user 'hunter'"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let good = run("pw");
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    // A password in the URL is refused before anything is sent.
    let url = server.url.replace("http://", "http://hunter:pw@");
    let out = spoor()
        .args(["hunt", "--clickhouse", &url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("process lists"));
}
