//! Evidence coverage (issue 14): SigmaHQ's own rules run on the example Linux audit log, the
//! Security 4688 trail and the proxy log, and `rules check` reports SigmaHQ's proxy, auditd and
//! Linux process_creation rules as rules a reader can feed.

mod common;

use common::{jsonl, spoor};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// (line, rule id) of every finding of `spoor hunt --no-builtin -r RULES... LOG`.
fn findings(rules: &[PathBuf], log: &str) -> BTreeSet<(u64, String)> {
    let mut cmd = spoor();
    cmd.args(["hunt", "--no-builtin", "-f", "jsonl"]);
    for r in rules {
        cmd.arg("-r").arg(r);
    }
    let out = cmd.arg(repo().join(log)).output().unwrap();
    common::assert_exit_0(&out);
    let lines = jsonl(&out.stdout);
    let summary = lines.last().unwrap();
    assert_eq!(summary["summary"]["unparsed"], 0, "{summary}");
    lines
        .iter()
        .filter(|l| l.get("rule").is_some())
        .map(|f| {
            (
                f["source"]["line"].as_u64().unwrap(),
                f["rule"]["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn assert_has(got: &BTreeSet<(u64, String)>, want: &[(u64, &str)]) {
    for (line, id) in want {
        assert!(
            got.contains(&(*line, id.to_string())),
            "no finding of {id} at line {line}: {got:?}"
        );
    }
}

#[test]
fn sigmahq_linux_rules_fire_on_the_example_audit_log() {
    let Some(corpora) = spoor_event::shared_corpora("SigmaHQ Linux rules on audit.log") else {
        return;
    };
    let rules = corpora.join("sigma/rules/linux");
    let got = findings(&[rules], "examples/logs/audit.log");
    assert_has(
        &got,
        &[
            // Per-record auditd rules: EXECVE a0 of `id` and `whoami`, an exe under /tmp.
            (34, "9a0d8ca0-2385-4020-b6c6-cb6153ca56f3"),
            (40, "9a0d8ca0-2385-4020-b6c6-cb6153ca56f3"),
            (71, "a39d7fa7-3fbd-4dc2-97e1-d87f546b1bbc"),
            // process_creation rules on the joined execs: a web shell child with the java
            // parent's command line, java's shell child, the pipe into sh, curl, /tmp exec.
            (39, "818f7b24-0fba-4c49-a073-8b755573b9c7"),
            (45, "d292e0af-9a18-420c-9525-ec0ac3936892"),
            (45, "880973f3-9708-491c-a77b-2a35a1921158"),
            (51, "ea34fb97-e2c4-4afb-810f-785e4459b194"),
            (71, "312b42b1-bded-4441-8b58-163a3af58775"),
        ],
    );
    // Benign execs (cron's backup, the admin's systemctl/tail/df) stay quiet.
    for benign in [8, 14, 20, 26, 81, 87, 93] {
        assert!(
            !got.iter().any(|(l, _)| *l == benign),
            "benign exec at line {benign} flagged: {got:?}"
        );
    }
}

#[test]
fn sigmahq_windows_rules_fire_on_the_4688_trail_and_proxy_rules_on_squid() {
    let Some(corpora) = spoor_event::shared_corpora("SigmaHQ rules on 4688 and proxy") else {
        return;
    };
    let windows = corpora.join("sigma/rules/windows");
    let got = findings(&[windows], "examples/logs/ex01-security-4688.jsonl");
    assert_has(
        &got,
        &[
            (4, "8202070f-edeb-4d31-a010-a26c72ac5600"), // w3wp -> cmd
            (5, "c248c896-e412-4279-8c15-1c558067b6fa"), // whoami /all
            (7, "d95de845-b83c-4a9a-8a6a-4fc802ebf6c0"), // net group "domain admins"
            (10, "13e6fe51-d478-4c7e-b0f2-6da9b400a829"), // certutil from an address
        ],
    );
    let web = corpora.join("sigma/rules/web");
    let got = findings(&[web], "examples/logs/proxy/access.log");
    assert_has(&got, &[(9, "b5de2919-b74a-4805-91a7-5049accbaefe")]);
}

/// What a rule file's log source is, from its text (one rule per SigmaHQ file).
fn kind_of(yaml: &str) -> Option<&'static str> {
    let has = |s: &str| yaml.lines().any(|l| l.trim() == s);
    if has("category: proxy") {
        Some("proxy")
    } else if has("service: auditd") {
        Some("auditd")
    } else if has("product: linux") && has("category: process_creation") {
        Some("linux process_creation")
    } else {
        None
    }
}

#[test]
fn rules_check_reports_sigmahq_proxy_and_auditd_rules_readable() {
    let Some(corpora) = spoor_event::shared_corpora("rules check on SigmaHQ") else {
        return;
    };
    let sigma = corpora.join("sigma");
    let out = spoor()
        .args(["rules", "check", "-f", "jsonl"])
        .arg(sigma.join("rules"))
        .arg(sigma.join("rules-emerging-threats"))
        .arg(sigma.join("rules-threat-hunting"))
        .output()
        .unwrap();
    let lines = jsonl(&out.stdout);
    let mut ok = std::collections::BTreeMap::<&str, (u64, u64)>::new();
    let mut unreadable = 0u64;
    for l in &lines {
        let Some(path) = l["path"].as_str() else {
            continue;
        };
        if l["status"] != "ok" {
            continue;
        }
        unreadable += u64::from(l["readable"] == false);
        let text = std::fs::read_to_string(path).unwrap();
        if let Some(kind) = kind_of(&text) {
            let e = ok.entry(kind).or_default();
            e.0 += 1;
            e.1 += u64::from(l["readable"] == true);
        }
    }
    for kind in ["proxy", "auditd", "linux process_creation"] {
        let (compiled, readable) = ok.get(kind).copied().unwrap_or_default();
        assert!(readable > 0, "{kind}: no rule readable ({ok:?})");
        assert_eq!(readable, compiled, "{kind}: some rules not readable");
    }
    // Rules for logs spoor has no reader for (cloud audit logs, macOS) are reported as such.
    assert!(unreadable > 100, "{unreadable}");
    let summary = lines.last().unwrap();
    assert_eq!(summary["summary"]["unreadable"], unreadable);
}
