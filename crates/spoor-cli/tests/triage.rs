//! The triage views (`search`, `logons`, `metrics`, `explain`): golden outputs on
//! `examples/logs`, and checks on the shared corpora against counts made by another route.
//!
//! Golden files live in `tests/golden/`; a mismatch fails with a diff. `SPOOR_BLESS=1` rewrites
//! them instead (then review the diff with git before committing).

mod common;

use common::{jsonl, spoor};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs spoor in the repository root (so that paths in outputs are `examples/logs/...`).
fn run_in_repo(args: &[&str]) -> (i32, String, String) {
    let out = spoor().current_dir(repo()).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The summary's wall time (JSON `elapsed_seconds`, the table's `elapsed` line) is the one
/// thing that changes between runs.
fn normalise(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for line in s.split_inclusive('\n') {
        if line.starts_with("elapsed ") {
            out.push_str("elapsed    (normalised)\n");
            continue;
        }
        match line.find("\"elapsed_seconds\":") {
            Some(i) => {
                let rest = &line[i + "\"elapsed_seconds\":".len()..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == '-'))
                    .unwrap_or(rest.len());
                out.push_str(&line[..i]);
                out.push_str("\"elapsed_seconds\":0");
                out.push_str(&rest[end..]);
            }
            None => out.push_str(line),
        }
    }
    out
}

/// A line diff: the lines only in one side, with their numbers (enough to see what changed).
fn diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let mut out = String::new();
    let n = e.len().max(a.len());
    let mut shown = 0;
    for i in 0..n {
        let (x, y) = (e.get(i), a.get(i));
        if x != y {
            if let Some(x) = x {
                out.push_str(&format!("-{:>4} {x}\n", i + 1));
            }
            if let Some(y) = y {
                out.push_str(&format!("+{:>4} {y}\n", i + 1));
            }
            shown += 1;
            if shown >= 20 {
                out.push_str("... (more differences)\n");
                break;
            }
        }
    }
    out
}

/// Compares `actual` with `tests/golden/<name>` exactly; `SPOOR_BLESS=1` writes it instead.
fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    let actual = normalise(actual);
    if std::env::var("SPOOR_BLESS").as_deref() == Ok("1") {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "golden file {} is missing (run with SPOOR_BLESS=1 to write it)",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{name} differs from its golden file (- expected, + actual; SPOOR_BLESS=1 rewrites):\n{}",
        diff(&expected, &actual)
    );
}

fn golden_run(name: &str, args: &[&str]) {
    let (code, out, err) = run_in_repo(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    golden(name, &out);
}

// ---- golden outputs on examples/logs ----

#[test]
fn golden_search() {
    golden_run(
        "search_keyword.csv",
        &[
            "search",
            "examples/logs",
            "-k",
            "203.0.113.80",
            "--format",
            "csv",
        ],
    );
    golden_run(
        "search_field.jsonl",
        &[
            "search",
            "examples/logs",
            "-f",
            "TargetUserName=a*",
            "--format",
            "jsonl",
        ],
    );
    golden_run(
        "search_regex_window.txt",
        &[
            "search",
            "examples/logs/auth.log",
            "--syslog-year",
            "2024",
            "-e",
            r"Accepted \w+ for root",
            "--from",
            "2024-07-12T04:00:00Z",
            "--to",
            "2024-07-12T05:00:00Z",
            "--format",
            "table",
        ],
    );
}

#[test]
fn golden_logons() {
    golden_run(
        "logons.txt",
        &["logons", "examples/logs", "--format", "table"],
    );
    golden_run(
        "logons.csv",
        &["logons", "examples/logs", "--format", "csv"],
    );
    golden_run(
        "logons.jsonl",
        &["logons", "examples/logs", "--format", "jsonl"],
    );
}

#[test]
fn golden_metrics() {
    golden_run(
        "metrics.txt",
        &["metrics", "examples/logs", "--format", "table"],
    );
    golden_run(
        "metrics_gap_1h.jsonl",
        &[
            "metrics",
            "examples/logs",
            "--gap",
            "1h",
            "--format",
            "jsonl",
        ],
    );
}

#[test]
fn golden_explain() {
    // Fires: w3wp.exe starting cmd.exe (line 72); quiet: services.exe starting svchost (line 71).
    let rule = "4f789a32-ef81-4043-ac17-b6455094ee6f";
    golden_run(
        "explain_fires.txt",
        &["explain", rule, "examples/logs/windows-events.jsonl:72"],
    );
    golden_run(
        "explain_quiet.txt",
        &["explain", rule, "examples/logs/windows-events.jsonl:71"],
    );
}

// ---- what the golden outputs must say, asserted apart so that a bless cannot hide it ----

#[test]
fn logons_on_examples_count_the_brute_forces() {
    let (code, out, err) = run_in_repo(&["logons", "examples/logs", "--format", "jsonl"]);
    assert_eq!(code, 0, "{err}");
    let rows = jsonl(out.as_bytes());
    let row = |user: &str, source: &str| {
        rows.iter()
            .find(|r| r["user"] == user && r["source"] == source)
            .unwrap_or_else(|| panic!("no row {user} {source}"))
    };
    // windows-events.jsonl lines 98-110: 12 failures of administrator from 203.0.113.80, then
    // the success.
    let admin = row("administrator", "203.0.113.80");
    assert_eq!(
        (admin["failure"].as_u64(), admin["success"].as_u64()),
        (Some(12), Some(1))
    );
    assert_eq!(admin["logon_type"], "3");
    assert_eq!(admin["host"], "EX01.contoso.local");
    assert!(admin["flags"].as_str().unwrap().contains("outside-address"));
    // The spray from 203.0.113.81: six accounts, one failure each.
    let spray: Vec<&Value> = rows
        .iter()
        .filter(|r| r["source"] == "203.0.113.81")
        .collect();
    assert_eq!(spray.len(), 6);
    assert!(spray.iter().all(|r| r["failure"] == 1
        && r["flags"]
            .as_str()
            .unwrap()
            .contains("one-address-many-accounts")));
    // auth.log's SSH brute force from 203.0.113.50 against root, ending in a success.
    let root = row("root", "203.0.113.50");
    assert_eq!(root["success"], 1);
    assert!(root["failure"].as_u64().unwrap() >= 5);
    // Internal addresses carry no outside flag.
    let internal = row("deploy", "10.0.3.42");
    assert_eq!(internal["flags"], "");
}

#[test]
fn logons_mark_addresses_named_by_indicators() {
    let dir = tempfile::tempdir().unwrap();
    let iocs = dir.path().join("iocs.csv");
    fs::write(&iocs, "ipv4,203.0.113.50,test address\n").unwrap();
    let (code, out, err) = run_in_repo(&[
        "logons",
        "examples/logs",
        "--iocs",
        iocs.to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{err}");
    for r in jsonl(out.as_bytes()) {
        let marked = r["flags"].as_str().unwrap().contains("indicator");
        assert_eq!(marked, r["source"] == "203.0.113.50", "{r}");
    }
}

#[test]
fn metrics_on_examples_say_what_the_pack_can_see() {
    let (code, out, err) = run_in_repo(&["metrics", "examples/logs", "--format", "jsonl"]);
    assert_eq!(code, 0, "{err}");
    let rows = jsonl(out.as_bytes());
    let item = |prefix: &str| {
        rows.iter()
            .find(|r| {
                r["view"] == "coverage" && r["tradecraft"].as_str().unwrap().starts_with(prefix)
            })
            .unwrap_or_else(|| panic!("no coverage row {prefix}"))
    };
    // Web and proxy logs are here, the application's own log is not: Log4Shell partly, the
    // proxy rule runs, the application-log rule is named as missing.
    let l4s = item("Initial access: Log4Shell");
    assert_eq!(l4s["can_show"], "partly");
    let runs = l4s["rules_that_run"].as_str().unwrap();
    assert!(runs.contains("web_log4shell_jndi_lookup.yml"), "{runs}");
    assert!(runs.contains("proxy_log4shell_lookup.yml"), "{runs}");
    assert!(l4s["rules_that_cannot"]
        .as_str()
        .unwrap()
        .contains("app_log4shell_jndi_error.yml"));
    assert!(!l4s["logs_needed"]
        .as_str()
        .unwrap()
        .contains("internet proxy log"));
    assert_eq!(
        item("Command and control: tools fetched")["can_show"],
        "yes"
    );
    // Security 4625/4624 and sshd lines are here: guessing of valid accounts is fully covered.
    assert_eq!(item("Valid accounts from guessing")["can_show"], "yes");
    let notes: Vec<&str> = rows
        .iter()
        .filter(|r| r["view"] == "blind_spot")
        .map(|r| r["note"].as_str().unwrap())
        .collect();
    // The proxy log is here now; Security 4688 carries command lines: no blind spot left.
    assert!(notes.is_empty(), "{notes:?}");
    // Every file of the folder is described, with its format.
    let files: BTreeMap<&str, &str> = rows
        .iter()
        .filter(|r| r["view"] == "file")
        .map(|r| (r["path"].as_str().unwrap(), r["format"].as_str().unwrap()))
        .collect();
    assert_eq!(files.get("examples/logs/auth.log"), Some(&"syslog"));
    assert_eq!(files.get("examples/logs/iis/u_ex240712.log"), Some(&"iis"));
    assert_eq!(files.get("examples/logs/audit.log"), Some(&"auditd"));
    assert_eq!(files.get("examples/logs/proxy/access.log"), Some(&"squid"));
    assert_eq!(files.len(), 7);
    let (code, out, _) = run_in_repo(&[
        "metrics",
        "examples/logs",
        "--no-coverage",
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0);
    assert!(!jsonl(out.as_bytes())
        .iter()
        .any(|r| r["view"] == "coverage"));
}

#[test]
fn explain_agrees_with_hunt_on_examples() {
    let (code, out, err) = run_in_repo(&[
        "hunt",
        "examples/logs/windows-events.jsonl",
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{err}");
    let findings: Vec<Value> = jsonl(out.as_bytes())
        .into_iter()
        .filter(|f| f["rule"]["kind"] == "sigma")
        .collect();
    assert!(findings.len() >= 5);
    let mut fired: BTreeSet<(String, u64)> = BTreeSet::new();
    for f in &findings {
        let id = f["rule"]["id"].as_str().unwrap().to_string();
        let line = f["source"]["line"].as_u64().unwrap();
        fired.insert((id, line));
    }
    let ids: BTreeSet<&String> = fired.iter().map(|(i, _)| i).collect();
    // Every (rule, line) hunt reports, explain says fires; the other lines of those rules, quiet.
    for id in ids {
        for line in 60..=116u64 {
            let ev = format!("examples/logs/windows-events.jsonl:{line}");
            let (code, out, err) = run_in_repo(&["explain", id, &ev, "--format", "json"]);
            assert_eq!(code, 0, "{id} {ev}: {err}");
            let x: Value = serde_json::from_str(&out).unwrap();
            let fires = x["rules"][0]["fires"].as_bool().unwrap();
            assert_eq!(
                fires,
                fired.contains(&(id.clone(), line)),
                "explain and hunt disagree on {id} at line {line}"
            );
        }
    }
}

// ---- hostile input ----

#[test]
fn input_text_never_reaches_the_terminal_as_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let evil = "{\"TimeCreated\":\"2024-07-12T07:10:00Z\",\"Computer\":\"H\\u001b]0;pwn\\u0007\",\"EventID\":4625,\"Channel\":\"Security\",\"TargetUserName\":\"=cmd|' /C calc'!A0\\u001b[31m\",\"IpAddress\":\"203.0.113.9\",\"LogonType\":3}\n";
    let p = dir.path().join("evil.jsonl");
    fs::write(&p, evil).unwrap();
    for args in [
        vec!["search", "-k", "cmd", "--format", "table"],
        vec!["search", "-k", "cmd", "--format", "jsonl"],
        vec!["logons", "--format", "table"],
        vec!["logons", "--format", "jsonl"],
        vec!["metrics", "--format", "table"],
    ] {
        let out = spoor().args(&args).arg(&p).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(!out.stdout.contains(&0x1b), "{args:?}: ESC on stdout");
        assert!(!out.stdout.contains(&0x07), "{args:?}: BEL on stdout");
        assert!(!out.stderr.contains(&0x1b), "{args:?}: ESC on stderr");
    }
    let out = spoor()
        .args(["logons", "--format", "csv"])
        .arg(&p)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("'=cmd"), "formula cell defused: {text}");
    // HTML: markup in a user name stays text, and the page can load and run nothing.
    let html_in = dir.path().join("html.jsonl");
    fs::write(
        &html_in,
        "{\"TimeCreated\":\"2024-07-12T07:10:00Z\",\"Computer\":\"H\",\"EventID\":4625,\"Channel\":\"Security\",\"TargetUserName\":\"<img src=x onerror=alert(1)>\",\"IpAddress\":\"203.0.113.9\",\"LogonType\":3}\n",
    )
    .unwrap();
    let page = dir.path().join("logons.html");
    let out = spoor()
        .args(["logons", "--format", "jsonl", "--html"])
        .arg(&page)
        .arg(&html_in)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let html = fs::read_to_string(&page).unwrap();
    assert!(!html.contains("<img"), "{html}");
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains("default-src 'none'"));
    assert!(!html.contains("<script"));
    let out = spoor()
        .args(["explain", "--no-builtin", "x"])
        .arg(format!("{}:1", p.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // A pathological regex is refused or runs in linear time; a bad one is an error, not a panic.
    let out = spoor()
        .args(["search", "-e", "(a", "--format", "jsonl"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = spoor()
        .args(["search", "-e", "(?=a)", "--format", "jsonl"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn planted_gap_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let line = |t: &str, id: u32| {
        format!("{{\"TimeCreated\":\"{t}\",\"Computer\":\"H1\",\"EventID\":{id},\"Channel\":\"Security\"}}\n")
    };
    // a.jsonl: every 10 minutes from 00:00 to 08:00, silent from 02:00 to 05:00 (planted);
    // b.jsonl: every 10 minutes throughout.
    let (mut a, mut b) = (String::new(), String::new());
    for m in (0..=480).step_by(10) {
        let t = format!("2024-07-12T{:02}:{:02}:00Z", m / 60, m % 60);
        if !(121..300).contains(&m) {
            a.push_str(&line(&t, 4624));
        }
        b.push_str(&line(&t, 4688));
    }
    fs::write(dir.path().join("a.jsonl"), a).unwrap();
    fs::write(dir.path().join("b.jsonl"), b).unwrap();
    let out = spoor()
        .args(["metrics", "--gap", "1h", "--format", "jsonl"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let rows = jsonl(&out.stdout);
    let gaps: Vec<&Value> = rows.iter().filter(|r| r["view"] == "gap").collect();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert!(gaps[0]["path"].as_str().unwrap().ends_with("a.jsonl"));
    assert_eq!(gaps[0]["silent_from"], "2024-07-12T02:00:00Z");
    assert_eq!(gaps[0]["silent_to"], "2024-07-12T05:00:00Z");
    // b.jsonl logged 17 events from 02:10 to 04:50.
    assert_eq!(gaps[0]["others_meanwhile"], 17);
    // Below the threshold, nothing.
    let out = spoor()
        .args(["metrics", "--gap", "4h", "--format", "jsonl"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!jsonl(&out.stdout).iter().any(|r| r["view"] == "gap"));
}

// ---- shared corpora ----

/// Authentication events per host in EVTX-ATTACK-SAMPLES, counted by another route:
/// python-evtx 0.8.1 (a separate EVTX parser), taking Security 4624, 4625, 4634, 4647, 4648,
/// 4672, 4768, 4769, 4771, 4776, TerminalServices-LocalSessionManager 21, 22, 24, 25 and
/// RemoteConnectionManager 1149 by `<EventID>` and `<Channel>`, grouped by `<Computer>`.
const EVTX_AUTH_PER_HOST: [(&str, u64); 10] = [
    ("01566s-win16-ir.threebeesco.com", 56),
    ("WIN-77LTAPHIQ1R.example.corp", 29),
    ("PC01.example.corp", 25),
    ("PC02.example.corp", 18),
    ("MSEDGEWIN10", 9),
    ("wind10.winlab.local", 9),
    ("ICORP-DC.internal.corp", 5),
    ("IEWIN7", 3),
    ("alice.insecurebank.local", 2),
    ("02694w-win10.threebeesco.com", 1),
];

#[test]
fn logons_on_evtx_samples_agree_with_python_evtx() {
    let Some(corpora) = spoor_event::shared_corpora("logons on EVTX samples") else {
        return;
    };
    let out = spoor()
        .args(["logons", "--format", "jsonl"])
        .arg(corpora.join("evtx-attack-samples"))
        .output()
        .unwrap();
    common::assert_exit_0(&out);
    let mut per_host: BTreeMap<String, u64> = BTreeMap::new();
    let mut rdp = 0;
    for r in jsonl(&out.stdout) {
        let n: u64 = ["success", "failure", "logoff", "other"]
            .iter()
            .map(|k| r[k].as_u64().unwrap())
            .sum();
        *per_host
            .entry(r["host"].as_str().unwrap().to_string())
            .or_default() += n;
        if r["logon_type"] == "rdp" {
            rdp += n;
        }
    }
    let expected: BTreeMap<String, u64> = EVTX_AUTH_PER_HOST
        .iter()
        .map(|(h, n)| (h.to_string(), *n))
        .collect();
    assert_eq!(per_host, expected);
    // RemoteConnectionManager 1149: 2 on IEWIN7 and 9 on PC01 (python-evtx).
    assert_eq!(rdp, 11);
}

#[test]
fn logons_on_sotm34_secure_agree_with_the_raw_lines() {
    let Some(corpora) = spoor_event::shared_corpora("logons on SotM34") else {
        return;
    };
    let dir = corpora.join("web/sotm34/syslog");
    // Another route: the raw sshd lines, classified by their text alone.
    let (mut success, mut failure, mut other) = (0u64, 0u64, 0u64);
    let mut secure_files = 0;
    for e in fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if !p
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("secure")
        {
            continue;
        }
        secure_files += 1;
        let text = String::from_utf8_lossy(&fs::read(&p).unwrap()).into_owned();
        for l in text.lines().filter(|l| l.contains(" sshd[")) {
            let Some((_, msg)) = l.split_once("]: ") else {
                continue;
            };
            if msg.starts_with("Accepted ") {
                success += 1;
            } else if msg.starts_with("Illegal user ") || msg.starts_with("Invalid user ") {
                failure += 1;
            } else if msg.starts_with("Failed ") && msg.contains(" from ") {
                if msg.contains(" for illegal user ") || msg.contains(" for invalid user ") {
                    other += 1;
                } else {
                    failure += 1;
                }
            }
        }
    }
    assert_eq!(secure_files, 7, "secure and its six rotations");
    assert!(success > 100 && failure > 500, "{success} {failure}");
    let out = spoor()
        .args(["logons", "--syslog-year", "2005", "--format", "jsonl"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let rows = jsonl(&out.stdout);
    let sum = |k: &str| rows.iter().map(|r| r[k].as_u64().unwrap()).sum::<u64>();
    assert_eq!(
        (sum("success"), sum("failure"), sum("other")),
        (success, failure, other)
    );
    assert!(rows.iter().all(|r| r["logon_type"] == "ssh"));
    assert!(rows.iter().any(|r| r["flags"]
        .as_str()
        .unwrap()
        .contains("one-address-many-accounts")));
}

#[test]
fn metrics_on_evtx_samples_names_the_cleared_logs() {
    let Some(corpora) = spoor_event::shared_corpora("metrics on EVTX samples") else {
        return;
    };
    let out = spoor()
        .args(["metrics", "--format", "jsonl"])
        .arg(corpora.join("evtx-attack-samples"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let rows = jsonl(&out.stdout);
    let cleared: BTreeMap<String, String> = rows
        .iter()
        .filter(|r| r["view"] == "tampering" && r["kind"] != "ends-early")
        .map(|r| {
            let name = r["path"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string();
            (name, r["kind"].as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(
        cleared
            .get("DE_1102_security_log_cleared.evtx")
            .map(String::as_str),
        Some("security-log-cleared")
    );
    assert_eq!(
        cleared
            .get("DE_104_system_log_cleared.evtx")
            .map(String::as_str),
        Some("event-log-cleared")
    );
    // Every file named holds a 1102 or 104 by the count view too.
    for name in cleared.keys() {
        assert!(rows.iter().any(|r| r["view"] == "count"
            && r["scope"] == "file"
            && r["what"] == "EventID"
            && (r["value"] == "1102" || r["value"] == "104")
            && r["path"].as_str().unwrap().ends_with(name.as_str())));
    }
    assert!(cleared.len() >= 20, "{cleared:?}");
    // The samples' 4688 events carry no command line, and the report says what that costs.
    assert!(rows.iter().any(|r| r["view"] == "blind_spot"
        && r["note"]
            .as_str()
            .unwrap()
            .starts_with("Security 4688 without command line")));
    let files = rows.iter().filter(|r| r["view"] == "file").count();
    assert!(files > 250);
}

#[test]
fn metrics_on_sotm34_takes_rotated_files_as_one_log() {
    let Some(corpora) = spoor_event::shared_corpora("metrics on SotM34") else {
        return;
    };
    let out = spoor()
        .args(["metrics", "--no-coverage", "--format", "jsonl"])
        .arg(corpora.join("web/sotm34/http"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let rows = jsonl(&out.stdout);
    let gaps: Vec<&Value> = rows.iter().filter(|r| r["view"] == "gap").collect();
    // access_log.N are one log: the silence between access_log.4's last request and
    // access_log.3's first (4 days, while the error logs went on) is found, and every gap
    // names the log, not one rotated file.
    assert!(gaps
        .iter()
        .any(|g| g["path"].as_str().unwrap().ends_with("/access_log")
            && g["silent_from"] == "2005-02-18T06:44:41Z"
            && g["silent_to"] == "2005-02-22T16:04:39Z"));
    assert!(gaps.iter().all(|g| {
        let p = g["path"].as_str().unwrap();
        !p.rsplit('.')
            .next()
            .unwrap()
            .bytes()
            .all(|b| b.is_ascii_digit())
    }));
    assert_eq!(rows.iter().filter(|r| r["view"] == "file").count(), 21);
}

#[test]
fn search_on_sotm34_agrees_with_grep() {
    let Some(corpora) = spoor_event::shared_corpora("search on SotM34") else {
        return;
    };
    let dir = corpora.join("web/sotm34/syslog");
    let needle = "211.";
    let mut expected = 0;
    for e in fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let text = String::from_utf8_lossy(&fs::read(&p).unwrap()).into_owned();
        expected += text.lines().filter(|l| l.contains(needle)).count();
    }
    assert!(expected > 10);
    let out = spoor()
        .args([
            "search",
            "--syslog-year",
            "2005",
            "-s",
            "-k",
            needle,
            "--format",
            "csv",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let hits = String::from_utf8_lossy(&out.stdout).lines().count() - 1;
    assert_eq!(hits, expected);
}

#[test]
fn explain_agrees_with_hunt_on_evtx() {
    let Some(corpora) = spoor_event::shared_corpora("explain on EVTX samples") else {
        return;
    };
    let file = corpora.join("evtx-attack-samples/Lateral Movement/LM_renamed_psexecsvc_5145.evtx");
    let out = spoor()
        .args(["hunt", "--format", "jsonl"])
        .arg(&file)
        .output()
        .unwrap();
    let findings: Vec<Value> = jsonl(&out.stdout)
        .into_iter()
        .filter(|f| f["rule"]["kind"] == "sigma")
        .collect();
    assert!(!findings.is_empty());
    let rule = findings[0]["rule"]["id"].as_str().unwrap().to_string();
    let fired: BTreeSet<u64> = findings
        .iter()
        .filter(|f| f["rule"]["id"] == rule.as_str())
        .map(|f| f["source"]["record"].as_u64().unwrap())
        .collect();
    let first = *fired.iter().next().unwrap();
    for record in first.saturating_sub(5)..first + 40 {
        let out = spoor()
            .args(["explain", &rule, "--format", "json"])
            .arg(format!("{}#{record}", file.display()))
            .output()
            .unwrap();
        if out.status.code() == Some(2) {
            continue; // no such record
        }
        let x: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            x["rules"][0]["fires"].as_bool(),
            Some(fired.contains(&record)),
            "record {record}"
        );
        assert_eq!(x["event"]["logsource"]["product"], "windows");
    }
}
