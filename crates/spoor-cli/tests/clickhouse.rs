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

/// (rule id, path, position, time, the correlation's group, window, value, events and origins).
type Key = (String, String, String, String, String);

/// The Sigma findings (single-event and correlation) of a JSONL output: (rule id, path,
/// position, time).
fn sigma_keys(out: &[u8]) -> BTreeSet<Key> {
    jsonl(out)
        .into_iter()
        .filter(|v| {
            ["sigma", "correlation", "indicator"]
                .iter()
                .any(|k| v["rule"]["kind"] == *k)
        })
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
                match (v.get("correlation"), v.get("matched")) {
                    (Some(c), _) => format!("{c} {}", v["logsource"]),
                    (None, Some(m)) if v["rule"]["kind"] == "indicator" => format!("ioc {m}"),
                    _ => String::new(),
                },
            )
        })
        .collect()
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Ingests `path` into `table`, hunts it both ways with `rules` and compares; returns the
/// number of findings and of correlation findings among them.
fn differential(url: &str, table: &str, path: &Path, rules: &[PathBuf]) -> (usize, usize) {
    let rule_args: Vec<String> = rules
        .iter()
        .flat_map(|r| ["-r".to_string(), r.display().to_string()])
        .collect();
    differential_args(url, table, path, &rule_args).0
}

/// [`differential`] with any hunt arguments; also returns the in-engine hunt's stderr and the
/// ids of the rules and indicators with findings.
fn differential_args(
    url: &str,
    table: &str,
    path: &Path,
    rule_args: &[String],
) -> ((usize, usize), String, BTreeSet<String>) {
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
        .args(rule_args)
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
        .args(rule_args)
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
    // The correlations ran in the server, not in spoor.
    let err = String::from_utf8_lossy(&remote.stderr);
    assert!(err.contains(", 0 correlations run by spoor"), "{err}");
    (
        (
            l.len(),
            l.iter()
                .filter(|k| !k.4.is_empty() && !k.4.starts_with("ioc "))
                .count(),
        ),
        err.into_owned(),
        l.iter().map(|k| k.0.clone()).collect(),
    )
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
    assert_eq!(n.0, published);
    // 8 of them correlations (event_count, value_count, value_sum, temporal_ordered, chained).
    assert_eq!(n.1, 8);
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
    let (web, web_corr) = differential(&server.url, "sotm34", &corpora.join("web/sotm34"), &[]);
    assert!(web > 100 && web_corr > 0, "{web} {web_corr}");
    let (evtx, evtx_corr) = differential(
        &server.url,
        "evtx",
        &corpora.join("evtx-attack-samples"),
        &[],
    );
    assert!(evtx > 100 && evtx_corr > 0, "{evtx} {evtx_corr}");
    // Hayabusa's correlation rules (4625/4648 guessing and spraying) on the same table: they
    // find nothing in this corpus (locally either), so this run proves that their window
    // queries run in the engine (a failed query fails the hunt) and agree.
    let (_, hayabusa_corr) = differential(
        &server.url,
        "evtx",
        &corpora.join("evtx-attack-samples"),
        &[corpora.join("hayabusa-correlation")],
    );
    assert_eq!(hayabusa_corr, evtx_corr);
    // SigmaHQ's web and Windows rules, thousands of them, on the same tables.
    let sigma = corpora.join("sigma/rules");
    let (web_hq, _) = differential(
        &server.url,
        "sotm34",
        &corpora.join("web/sotm34"),
        &[sigma.join("web")],
    );
    assert!(web_hq >= web, "{web_hq}");
    let (evtx_hq, _) = differential(
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
    assert!(corr >= 10, "the pack's correlation files: found {corr}");
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

const IOC_LIST: &str = "type,value,description
ipv4,203.0.113.50,the SSH brute forcer
cidr,10.1.2.0/24,an internal range
ipv4,198.51.100.1,an address that appears nowhere
domain,contoso.com,with its subdomains
url,mail.contoso.com/owa,a URL needle
filename,nltest.exe,a tool by base name
";

fn stix(objects: &[(&str, &str)]) -> String {
    let objs: Vec<String> = objects
        .iter()
        .enumerate()
        .map(|(i, (name, pattern))| {
            serde_json::json!({
                "type": "indicator", "spec_version": "2.1",
                "id": format!("indicator--00000000-0000-4000-8000-00000000000{i}"),
                "created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z",
                "name": name, "pattern": pattern, "pattern_type": "stix",
                "valid_from": "2024-01-01T00:00:00Z"
            })
            .to_string()
        })
        .collect();
    format!(
        "{{\"type\": \"bundle\", \"id\": \"bundle--00000000-0000-4000-8000-000000000000\", \"objects\": [{}]}}",
        objs.join(", ")
    )
}

#[test]
fn indicators_inside_clickhouse_equal_the_local_matcher() {
    let Some(server) = harness::start("indicators_inside_clickhouse", None) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("iocs.csv");
    std::fs::write(&list, IOC_LIST).unwrap();
    let bundle = dir.path().join("bundle.json");
    std::fs::write(
        &bundle,
        stix(&[
            ("subset", "[ipv4-addr:value ISSUBSET '198.51.100.0/24']"),
            ("in list", "[ipv4-addr:value IN ('203.0.113.77', '192.0.2.57')]"),
            (
                "followed by",
                "[ipv4-addr:value = '203.0.113.50'] FOLLOWEDBY [ipv4-addr:value = '10.1.2.51'] WITHIN 86400 SECONDS",
            ),
            ("ipv6 net", "[ipv6-addr:value ISSUBSET '2001:db8::/32']"),
        ]),
    )
    .unwrap();
    let args: Vec<String> = [
        "--iocs",
        &list.display().to_string(),
        "--iocs",
        &bundle.display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (_, err, fired) =
        differential_args(&server.url, "examples", Path::new("examples/logs"), &args);
    // Equal, and not vacuously: every indicator fires but the two with values that appear
    // nowhere in the examples (list line 4, the IPv6 network).
    let list_id = |line: u32| format!("{}:{line}", list.display());
    for line in [2, 3, 5, 6, 7] {
        assert!(
            fired.contains(&list_id(line)),
            "line {line}: {fired:?} {err}"
        );
    }
    assert!(!fired.contains(&list_id(4)), "{fired:?}");
    for i in 0..3 {
        let id = format!("indicator--00000000-0000-4000-8000-00000000000{i}");
        assert!(fired.contains(&id), "{id}: {fired:?}");
    }
    assert!(!fired.contains("indicator--00000000-0000-4000-8000-000000000003"));
    // An indicator no value bounds is listed, not run (and not silently dropped).
    let only_regex = dir.path().join("regex.json");
    std::fs::write(
        &only_regex,
        stix(&[("regex", "[url:value MATCHES '^https://mail']")]),
    )
    .unwrap();
    let out = spoor()
        .current_dir(workspace())
        .args([
            "hunt",
            "--clickhouse",
            &server.url,
            "--table",
            "examples",
            "-f",
            "jsonl",
            "--iocs",
        ])
        .arg(&only_regex)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("indicator not run inside ClickHouse"), "{err}");
    assert!(out.status.success(), "{err}");
    // convert prints the candidate query of the indicators and lists the unbounded one.
    let conv = spoor()
        .args(["convert", "--to", "clickhouse", "--no-builtin", "--iocs"])
        .arg(&list)
        .arg("--iocs")
        .arg(&only_regex)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&conv.stdout);
    assert!(
        conv.status.success(),
        "{}",
        String::from_utf8_lossy(&conv.stderr)
    );
    assert!(
        text.contains("multiSearchAnyCaseInsensitiveUTF8(ioc_text, ["),
        "{text}"
    );
    assert!(text.contains("'10.1.2.0/24'"), "{text}");
    assert!(
        text.contains("-- indicator not expressed: indicator--"),
        "{text}"
    );
}
