//! Correlation and filter rules end to end: Hayabusa's correlation rules on the shared EVTX
//! corpora against a naive reference computed from their base rules' own findings, the pack's
//! correlations on real attacked-host logs (SotM34), identical findings whatever the thread
//! count and path order, and filter rules counted in the summary.

mod common;

use chrono::{DateTime, Utc};
use common::{jsonl, spoor};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use yaml_rust2::{Yaml, YamlLoader};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(args: &[&str], paths: &[&Path]) -> Vec<Value> {
    let out = spoor().args(args).args(paths).output().unwrap();
    assert!(
        matches!(out.status.code(), Some(0) | Some(3)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    jsonl(&out.stdout)
}

fn findings(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|l| l.get("rule").is_some()).collect()
}

/// What the naive reference needs of a correlation rule.
struct Corr {
    title: String,
    base_id: String,
    kind: String,
    group_by: Vec<String>,
    timespan: i64,
    gte: f64,
    field: Option<String>,
}

/// Findings per rule id (merged findings count as many as they merged).
fn findings_by_rule(lines: &[Value]) -> BTreeMap<String, u64> {
    let mut by_rule: BTreeMap<String, u64> = BTreeMap::new();
    for f in findings(lines) {
        let id = f["rule"]["id"].as_str().expect("rule id").to_string();
        *by_rule.entry(id).or_default() += f["count"].as_u64().unwrap_or(1);
    }
    by_rule
}

/// `by_rule` is exactly the (rule id, rule file in rules/sigma, findings) a doc states, and each
/// file holds that id.
fn assert_stated_per_rule(by_rule: &BTreeMap<String, u64>, stated: &[(&str, &str, u64)]) {
    for (id, file, _) in stated {
        let text = std::fs::read_to_string(repo().join(format!("rules/sigma/{file}.yml")))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(text.contains(&format!("id: {id}")), "{file} has id {id}");
    }
    let want: BTreeMap<String, u64> = stated
        .iter()
        .map(|(id, _, n)| (id.to_string(), *n))
        .collect();
    assert_eq!(by_rule, &want, "findings per rule id");
}

/// Reads the three rules, writes their base rules alone to `base_dir` and, with `low`, copies
/// whose thresholds are lowered to 2 to `low_dir` (so that real corpora make windows fire).
fn load_hayabusa(dir: &Path, base_dir: &Path, low_dir: Option<&Path>) -> Vec<Corr> {
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("yml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 3, "Hayabusa's three correlation rules");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let docs = YamlLoader::load_from_str(&text).unwrap();
        let corr = docs
            .iter()
            .find(|d| !d["correlation"].is_badvalue())
            .unwrap();
        let base = docs.iter().find(|d| !d["detection"].is_badvalue()).unwrap();
        let c = &corr["correlation"];
        let span = c["timespan"].as_str().unwrap();
        let (n, unit) = span.split_at(span.len() - 1);
        let mult = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            _ => 86400,
        };
        let cond = &c["condition"];
        let num = |y: &Yaml| y.as_i64().map(|v| v as f64);
        let mut gte = num(&cond["gte"])
            .or_else(|| num(&cond["gt"]).map(|v| v + 1.0))
            .expect("gte or gt");
        if let Some(low) = low_dir {
            gte = 2.0;
            let lowered: Vec<String> = text
                .lines()
                .map(|l| {
                    let t = l.trim_start();
                    if t.starts_with("gt:") || t.starts_with("gte:") {
                        format!("{}gte: 2", &l[..l.len() - t.len()])
                    } else {
                        l.to_string()
                    }
                })
                .collect();
            std::fs::write(low.join(f.file_name().unwrap()), lowered.join("\n")).unwrap();
        }
        out.push(Corr {
            title: corr["title"].as_str().unwrap().to_string(),
            base_id: base["id"].as_str().unwrap().to_string(),
            kind: c["type"].as_str().unwrap().to_string(),
            group_by: c["group-by"]
                .as_vec()
                .unwrap()
                .iter()
                .map(|g| g.as_str().unwrap().to_string())
                .collect(),
            timespan: n.parse::<i64>().unwrap() * mult,
            gte,
            field: cond["field"].as_str().map(str::to_string),
        });
        // The base rules alone, so that their matches show as findings.
        let base_only: Vec<&str> = text
            .split("\n---\n")
            .filter(|d| !d.contains("\ncorrelation:"))
            .collect();
        std::fs::write(
            base_dir.join(f.file_name().unwrap()),
            base_only.join("\n---\n"),
        )
        .unwrap();
    }
    out
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// A group's values, and the (time, value) of each base match in it.
type Groups = BTreeMap<Vec<Option<String>>, Vec<(DateTime<Utc>, Option<String>)>>;

/// The groups in which some window `[t - timespan, t]` of base matches meets the condition.
fn reference_groups(c: &Corr, base: &[&Value]) -> BTreeSet<Vec<Option<String>>> {
    let mut groups: Groups = BTreeMap::new();
    for f in base
        .iter()
        .filter(|f| f["rule"]["id"] == c.base_id.as_str())
    {
        let Some(t) = f["timestamp"].as_str() else {
            continue;
        };
        let t: DateTime<Utc> = t.parse().unwrap();
        let key = c.group_by.iter().map(|g| text(&f["event"][g])).collect();
        let value = c.field.as_ref().and_then(|fl| text(&f["event"][fl]));
        groups.entry(key).or_default().push((t, value));
    }
    let mut fired = BTreeSet::new();
    for (key, ms) in groups {
        let holds = ms.iter().any(|(end, _)| {
            let inside: Vec<&(DateTime<Utc>, Option<String>)> = ms
                .iter()
                .filter(|(t, _)| *t <= *end && (*end - *t).num_seconds() <= c.timespan)
                .collect();
            let agg = match c.kind.as_str() {
                "event_count" => inside.len(),
                _ => inside
                    .iter()
                    .filter_map(|(_, v)| v.clone())
                    .collect::<BTreeSet<_>>()
                    .len(),
            };
            agg as f64 >= c.gte
        });
        if holds {
            fired.insert(key);
        }
    }
    fired
}

#[test]
fn hayabusa_correlation_rules_load_and_run_on_both_evtx_corpora() {
    let Some(corpora) = spoor_event::shared_corpora("hayabusa correlation") else {
        return;
    };
    let hay = corpora.join("hayabusa-correlation");
    let check = spoor()
        .args(["rules", "check", "-f", "jsonl"])
        .arg(&hay)
        .output()
        .unwrap();
    let reports = jsonl(&check.stdout);
    let ok = reports.iter().filter(|r| r["status"] == "ok").count();
    assert_eq!(
        ok, 6,
        "three correlations and their three base rules: {reports:?}"
    );
    let tmp = tempfile::tempdir().unwrap();
    let (base_dir, low_dir) = (tmp.path().join("base"), tmp.path().join("low"));
    std::fs::create_dir_all(&base_dir).unwrap();
    std::fs::create_dir_all(&low_dir).unwrap();
    let as_written = load_hayabusa(&hay, &base_dir, None);
    let lowered = load_hayabusa(&hay, &base_dir, Some(&low_dir));
    let mut base_total = 0;
    let mut fired_total = 0;
    for corpus in [
        corpora.join("evtx-attack-samples"),
        corpora.join("sigma/regression_data"),
        corpora.join("otrf/atomic-windows-host"),
    ] {
        let base_lines = run(
            &[
                "hunt",
                "--no-builtin",
                "--no-dedup",
                "-f",
                "jsonl",
                "-r",
                base_dir.to_str().unwrap(),
            ],
            &[&corpus],
        );
        let base = findings(&base_lines);
        base_total += base.len();
        for (rules, corrs) in [(&hay, &as_written), (&low_dir, &lowered)] {
            let engine = run(
                &[
                    "hunt",
                    "--no-builtin",
                    "-f",
                    "jsonl",
                    "-r",
                    rules.to_str().unwrap(),
                ],
                &[&corpus],
            );
            for c in corrs {
                let want = reference_groups(c, &base);
                let got: BTreeSet<Vec<Option<String>>> = findings(&engine)
                    .iter()
                    .filter(|f| f["rule"]["title"] == c.title.as_str())
                    .map(|f| {
                        assert_eq!(f["rule"]["kind"], "correlation");
                        c.group_by
                            .iter()
                            .map(|g| text(&f["correlation"]["group"][g]))
                            .collect()
                    })
                    .collect();
                println!(
                    "{} (at least {}): {} on {}: {} base matches, {} groups fire (reference {})",
                    c.title,
                    c.gte,
                    c.kind,
                    corpus.display(),
                    base.iter()
                        .filter(|f| f["rule"]["id"] == c.base_id.as_str())
                        .count(),
                    got.len(),
                    want.len()
                );
                fired_total += got.len();
                assert_eq!(got, want, "{} on {}", c.title, corpus.display());
            }
            // The base rules make no findings of their own (generate: false).
            assert!(findings(&engine)
                .iter()
                .all(|f| f["rule"]["kind"] == "correlation"));
        }
    }
    assert!(
        fired_total > 0,
        "no window fired even with lowered thresholds"
    );
    assert!(base_total > 0, "the base rules saw no event at all");
}

/// The SSH brute-force sources named in SotM34's incident description (`A<n>: ... SSH brute
/// force`, followed by the incident's addresses).
fn labelled_ssh_bruteforcers(description: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(description).unwrap();
    let mut out = BTreeSet::new();
    let mut in_ssh = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('A') && t.contains(':') && t[1..2].chars().all(|c| c.is_ascii_digit()) {
            in_ssh = t.contains("SSH brute force");
            continue;
        }
        if in_ssh && t.contains("Associated IP") {
            for w in t.split(|c: char| !(c.is_ascii_digit() || c == '.')) {
                if w.split('.').count() == 4 && w.split('.').all(|p| p.parse::<u8>().is_ok()) {
                    out.insert(w.to_string());
                }
            }
        }
    }
    out
}

#[test]
fn pack_correlations_on_sotm34_are_its_labelled_ssh_brute_forces() {
    let Some(corpora) = spoor_event::shared_corpora("pack correlations on SotM34") else {
        return;
    };
    let root = corpora.join("web/sotm34");
    let labelled = labelled_ssh_bruteforcers(&root.join("Incidents_Description.txt"));
    assert!(
        labelled.len() > 30,
        "incident addresses not read: {labelled:?}"
    );
    let lines = run(
        &["hunt", "-f", "jsonl"],
        &[&root.join("syslog"), &root.join("http")],
    );
    let corr: Vec<&Value> = findings(&lines)
        .into_iter()
        .filter(|f| f["rule"]["kind"] == "correlation")
        .collect();
    // 23 bursts of ten or more failures within five minutes; every one from an address the
    // incident description names as an SSH brute forcer, none ending in a login, and no web
    // correlation (the 2005 probes ask for few distinct missing paths per client).
    assert_eq!(corr.len(), 23, "{corr:#?}");
    for f in &corr {
        assert_eq!(f["rule"]["title"], "SSH Brute Force from One Address");
        let ip = f["correlation"]["group"]["source.ip"].as_str().unwrap();
        assert!(labelled.contains(ip), "{ip} is not a labelled brute forcer");
        let n = f["correlation"]["events"].as_u64().unwrap();
        assert!(n >= 10);
        assert_eq!(
            f["correlation"]["origins"].as_array().unwrap().len() as u64,
            n.min(100)
        );
    }
}

fn without_elapsed(lines: Vec<Value>) -> Vec<Value> {
    lines
        .into_iter()
        .map(|mut l| {
            if let Some(s) = l.get_mut("summary") {
                s["elapsed_seconds"] = Value::Null;
                s["peak_rss_bytes"] = Value::Null;
                s["files"] = Value::Null;
            }
            l
        })
        .collect()
}

#[test]
fn the_same_correlation_findings_for_any_thread_count_and_path_order() {
    let examples = repo().join("examples/logs");
    let files: Vec<PathBuf> = [
        "access.log",
        "auth.log",
        "iis/u_ex240712.log",
        "windows-events.jsonl",
    ]
    .iter()
    .map(|f| examples.join(f))
    .collect();
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let mut reversed = refs.clone();
    reversed.reverse();
    let one = without_elapsed(run(&["hunt", "-f", "jsonl", "-j", "1"], &refs));
    let two = without_elapsed(run(&["hunt", "-f", "jsonl", "-j", "2"], &reversed));
    assert!(
        one.iter()
            .filter(|l| l["rule"]["kind"] == "correlation")
            .count()
            >= 8
    );
    assert_eq!(one, two);
}

#[test]
fn filter_rules_suppress_matches_and_the_summary_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    // Tuning: the admin's own address is allowed to log in with a password.
    std::fs::write(
        dir.path().join("mf_admin_host.yml"),
        "title: Admin jump host logs in by password\nid: 22222222-2222-2222-2222-222222222222\nlogsource:\n  product: linux\n  service: sshd\nfilter:\n  rules:\n    - eacefda1-7675-4d93-a730-c8c869bd1c23\n  jump_host:\n    source.ip: 203.0.113.50\n  condition: jump_host\n",
    )
    .unwrap();
    let examples = repo().join("examples/logs/auth.log");
    let plain = run(&["hunt", "-f", "jsonl"], &[&examples]);
    let tuned = run(
        &["hunt", "-f", "jsonl", "-r", dir.path().to_str().unwrap()],
        &[&examples],
    );
    let accepted = |lines: &[Value]| {
        findings(lines)
            .iter()
            .filter(|f| f["rule"]["id"] == "eacefda1-7675-4d93-a730-c8c869bd1c23")
            .count()
    };
    assert_eq!(accepted(&plain), 1);
    assert_eq!(accepted(&tuned), 0);
    let summary = &tuned.last().unwrap()["summary"];
    assert_eq!(
        summary["filters"][0]["title"],
        "Admin jump host logs in by password"
    );
    assert_eq!(summary["filters"][0]["suppressed"], 1);
    // Filters apply before correlation: the brute force still shows, its success no longer.
    let titles: Vec<&str> = findings(&tuned)
        .iter()
        .map(|f| f["rule"]["title"].as_str().unwrap())
        .collect();
    assert!(titles.contains(&"SSH Brute Force from One Address"));
    assert!(!titles.contains(&"SSH Brute Force Followed by a Password Login from the Same Address"));
}

#[test]
fn pack_on_otrf_finds_the_purplesharp_spray_and_the_figures_docs_apt40_states() {
    let Some(corpora) = spoor_event::shared_corpora("pack correlations on OTRF") else {
        return;
    };
    let lines = run(&["hunt", "-f", "jsonl"], &[&corpora.join("otrf")]);
    let corr: Vec<&Value> = findings(&lines)
        .into_iter()
        .filter(|f| f["rule"]["kind"] == "correlation")
        .collect();
    // 658,178 events of simulated techniques: the one sequence the pack's correlations model is
    // PurpleSharp's AD playbook trying seven accounts from the host itself within 12 ms.
    assert_eq!(corr.len(), 1, "{corr:#?}");
    let f = corr[0];
    assert_eq!(
        f["rule"]["title"],
        "Password Spray from a Host against Many Windows Accounts"
    );
    assert!(f["source"]["path"]
        .as_str()
        .unwrap()
        .contains("purplesharp_ad_playbook"));
    assert_eq!(f["correlation"]["value"], 7.0);
    assert_eq!(f["correlation"]["events"], 7);
    // docs/apt40.md's figures for the whole of OTRF, rule by rule.
    let summary = &lines.last().expect("a summary")["summary"];
    assert_eq!(summary["events"], 658_178);
    let by_rule = findings_by_rule(&lines);
    let stated = [
        ("1d7c335e-3820-47d9-8f09-f079b6bf82f9", 24), // win_security_admin_share_access
        ("4f789a32-ef81-4043-ac17-b6455094ee6f", 9),  // proc_creation_win_webserver_spawns_shell
        ("b41f4b43-5862-41e8-a0dd-7a7dbf58c810", 6),  // proc_creation_win_firewall_inbound_rule
        ("057cc91d-8d91-4c80-82cb-9efa8e4bd3f3", 5),  // win_security_kerberoasting_rc4
        ("55ae8b2e-22fc-4762-85f5-365e7c2ed739", 2),  // win_exchange_oab_vdir_script
        ("6192b197-b4d9-48a9-81d1-761121ba0a3c", 1),  // corr_win_password_spray_local
    ];
    let want: BTreeMap<String, u64> = stated.iter().map(|(id, n)| (id.to_string(), *n)).collect();
    assert_eq!(by_rule, want, "findings per rule id");
    assert_eq!(summary["findings"], 47, "the doc's total");
}

/// docs/apt40.md's figures for EVTX-ATTACK-SAMPLES (277 EVTX files, the Tomcat and Tunna web
/// logs), rule by rule: every finding the pack makes there is one of these, in these numbers.
#[test]
fn pack_on_evtx_attack_samples_gives_the_findings_docs_apt40_states() {
    let Some(corpora) = spoor_event::shared_corpora("pack on EVTX-ATTACK-SAMPLES") else {
        return;
    };
    let lines = run(
        &["hunt", "-f", "jsonl"],
        &[&corpora.join("evtx-attack-samples")],
    );
    let summary = &lines.last().expect("a summary")["summary"];
    assert_eq!(summary["events"], 15_215);
    assert_eq!(summary["unparsed"], 0);
    let evtx = summary["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter(|f| f["path"].as_str().is_some_and(|p| p.ends_with(".evtx")))
        .count();
    assert_eq!(evtx, 277, "the corpus's EVTX files");
    let by_rule = findings_by_rule(&lines);
    // (rule id, rule file in rules/sigma, findings) as the doc's table lists them.
    let stated: [(&str, &str, u64); 7] = [
        (
            "1d7c335e-3820-47d9-8f09-f079b6bf82f9",
            "win_security_admin_share_access",
            915,
        ),
        (
            "be7cf99e-f285-46f2-b2f4-2c0cb342f59f",
            "web_webshell_known_name",
            21,
        ),
        (
            "c2a40f94-5816-499e-ad52-f5ae7e2227b1",
            "web_tomcat_manager_deploy",
            4,
        ),
        (
            "c184a7d8-7783-4a11-aad6-bf78a63289fb",
            "web_webshell_tunnel",
            3,
        ),
        (
            "4f789a32-ef81-4043-ac17-b6455094ee6f",
            "proc_creation_win_webserver_spawns_shell",
            2,
        ),
        (
            "b41f4b43-5862-41e8-a0dd-7a7dbf58c810",
            "proc_creation_win_firewall_inbound_rule",
            1,
        ),
        (
            "69e37b4f-d575-4a60-9aae-0e9d2437c289",
            "corr_web_content_discovery",
            2,
        ),
    ];
    assert_stated_per_rule(&by_rule, &stated);
    assert_eq!(summary["findings"], 948, "the doc's total");
}

/// docs/apt40.md's figures for SotM34 (its Apache and syslog files), rule by rule.
#[test]
fn pack_on_sotm34_gives_the_findings_docs_apt40_states() {
    let Some(corpora) = spoor_event::shared_corpora("pack on SotM34") else {
        return;
    };
    let root = corpora.join("web/sotm34");
    let lines = run(
        &["hunt", "-f", "jsonl"],
        &[&root.join("http"), &root.join("syslog")],
    );
    let summary = &lines.last().expect("a summary")["summary"];
    assert_eq!(summary["events"], 11_545);
    assert_eq!(summary["unparsed"], 0);
    let by_rule = findings_by_rule(&lines);
    let stated: [(&str, &str, u64); 3] = [
        (
            "2c2380f3-3dab-4077-aed2-9a8b11142db0",
            "web_webshell_command_parameter",
            1_265,
        ),
        (
            "eacefda1-7675-4d93-a730-c8c869bd1c23",
            "lnx_sshd_accepted_password",
            145,
        ),
        (
            "4c79fdaa-4e67-43ee-a7ac-a0793116fda8",
            "corr_lnx_ssh_bruteforce",
            23,
        ),
    ];
    assert_stated_per_rule(&by_rule, &stated);
    assert_eq!(summary["findings"], 1_433, "the doc's total");
}
