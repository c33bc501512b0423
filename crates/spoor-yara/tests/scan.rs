//! End-to-end tests of spoor-yara: the built-in rules on the stored web-shell samples, benign
//! near-misses, a generated folder of ordinary web-application files (zero false positives),
//! findings, limits and the tie-back to web requests.

mod benign;

use base64::Engine;
use spoor_event::{Event, Position, RuleKind, RuleLevel};
use spoor_yara::{
    digest_bytes, scan_paths, ScanOptions, SkipReason, TieBack, YaraRules, YaraRulesBuilder,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The built-in pack's YARA rules, as the CLI loads them.
fn pack() -> YaraRulesBuilder {
    spoor_pack::yara_rules()
        .iter()
        .fold(YaraRulesBuilder::new(), |b, (n, t)| b.add_builtin(n, t))
}

fn builtin() -> &'static YaraRules {
    static RULES: OnceLock<YaraRules> = OnceLock::new();
    RULES.get_or_init(|| pack().build().expect("built-in rules compile"))
}

/// (relative path, expected rule names, bytes) of every stored sample.
fn samples() -> Vec<(String, BTreeSet<String>, Vec<u8>)> {
    let text = include_str!("samples/webshells.b64");
    let mut out = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let mut parts = line.split('\t');
        let (Some(path), Some(expect), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            panic!("bad sample line: {line}");
        };
        let data = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("sample is base64");
        let expect = expect.split(',').map(str::to_string).collect();
        out.push((path.to_string(), expect, data));
    }
    out
}

fn write_tree(root: &Path, files: &[(String, Vec<u8>)]) {
    for (rel, data) in files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, data).unwrap();
    }
}

/// Rule names that matched, per relative path.
fn matched_by_file(
    root: &Path,
    report: &spoor_yara::ScanReport,
) -> BTreeMap<String, BTreeSet<String>> {
    report
        .files
        .iter()
        .filter(|f| !f.matches.is_empty())
        .map(|f| {
            let rel = f
                .path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let names = f.matches.iter().map(|m| m.rule.title.clone()).collect();
            (rel, names)
        })
        .collect()
}

#[test]
fn every_sample_is_detected_by_exactly_its_rules() {
    let samples = samples();
    assert!(samples.len() >= 20);
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<_> = samples
        .iter()
        .map(|(p, _, d)| (p.clone(), d.clone()))
        .collect();
    write_tree(dir.path(), &files);
    let report = scan_paths(
        &[dir.path().to_path_buf()],
        builtin(),
        &ScanOptions::default(),
    );
    assert_eq!(report.stats.files, samples.len() as u64);
    assert_eq!(
        report.stats.unreadable + report.stats.timed_out + report.stats.too_large,
        0
    );
    let got = matched_by_file(dir.path(), &report);
    for (path, expect, _) in &samples {
        assert_eq!(got.get(path), Some(expect), "sample {path}");
    }
    // Every built-in rule is exercised by at least one sample.
    let used: BTreeSet<String> = got.values().flatten().cloned().collect();
    for meta in builtin().rule_metas() {
        assert!(used.contains(&meta.title), "no sample for {}", meta.title);
    }
}

#[test]
fn findings_carry_rule_file_and_position() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _, data) = samples()
        .into_iter()
        .find(|(p, _, _)| p.ends_with("run.aspx"))
        .unwrap();
    write_tree(dir.path(), &[(path.clone(), data.clone())]);
    let report = scan_paths(
        &[dir.path().to_path_buf()],
        builtin(),
        &ScanOptions::default(),
    );
    let findings = report.findings();
    assert_eq!(findings.len(), 2);
    let f = findings
        .iter()
        .find(|f| f.rule.title == "spoor_webshell_aspx_request_to_process")
        .unwrap();
    assert_eq!(f.rule.kind, RuleKind::Yara);
    assert_eq!(f.rule.level, RuleLevel::High);
    assert_eq!(f.rule.attack.techniques, vec!["T1505.003"]);
    assert_eq!(f.rule.attack.tactics, vec!["persistence"]);
    assert!(f
        .rule
        .description
        .as_deref()
        .unwrap()
        .contains("starts a process"));
    assert_eq!(&*f.source.path, dir.path().join(&path).to_string_lossy());
    // First matched string: `<%@` on line 1.
    assert_eq!(f.source.position, Position::Line(1));
    let file = f.file.as_ref().unwrap();
    let d = digest_bytes(&data);
    assert_eq!(
        (file.size, &file.md5, &file.sha256),
        (data.len() as u64, &d.md5, &d.sha256)
    );
    assert_eq!(f.timestamp, file.modified);
    assert!(f
        .matched
        .iter()
        .any(|m| m.field.starts_with("$src1@") && m.value == "Request.Form"));
    let json = serde_json::to_value(f).unwrap();
    assert_eq!(json["rule"]["kind"], "yara");
    assert_eq!(json["attack"][0], "T1505.003");
    assert_eq!(json["source"]["line"], 1);
    assert_eq!(json["file"]["sha1"], d.sha1);
}

#[test]
fn benign_near_misses_do_not_match() {
    let dir = tempfile::tempdir().unwrap();
    let files = benign::near_misses();
    write_tree(dir.path(), &files);
    let report = scan_paths(
        &[dir.path().to_path_buf()],
        builtin(),
        &ScanOptions::default(),
    );
    assert_eq!(report.stats.files, files.len() as u64);
    let got = matched_by_file(dir.path(), &report);
    assert!(got.is_empty(), "false positives: {got:#?}");
}

#[test]
fn generated_web_application_has_zero_false_positives() {
    let dir = tempfile::tempdir().unwrap();
    let files = benign::generated_webapp(400, 0x5eed);
    assert_eq!(files.len(), 400);
    let kinds: BTreeSet<_> = files
        .iter()
        .filter_map(|(p, _)| p.rsplit('.').next().map(str::to_string))
        .collect();
    assert!(kinds.len() >= 12, "varied file kinds: {kinds:?}");
    write_tree(dir.path(), &files);
    let report = scan_paths(
        &[dir.path().to_path_buf()],
        builtin(),
        &ScanOptions::default(),
    );
    assert_eq!(report.stats.files, 400);
    assert!(report.stats.bytes_scanned > 100_000);
    let got = matched_by_file(dir.path(), &report);
    assert!(got.is_empty(), "false positives: {got:#?}");

    // The same folder with samples mixed in: exactly the samples are found.
    let samples = samples();
    let mixed: Vec<_> = samples
        .iter()
        .map(|(p, _, d)| (format!("mix/{p}"), d.clone()))
        .collect();
    write_tree(dir.path(), &mixed);
    let report = scan_paths(
        &[dir.path().to_path_buf()],
        builtin(),
        &ScanOptions::default(),
    );
    assert_eq!(report.stats.matched, samples.len() as u64);
}

#[test]
fn user_rules_join_builtins_and_limits_are_counted() {
    let rules_dir = tempfile::tempdir().unwrap();
    std::fs::write(
        rules_dir.path().join("mine.yar"),
        "rule user_marker : T1059_001 { meta: level = \"low\" strings: $m = \"MARKER-42\" condition: $m }",
    )
    .unwrap();
    let (builder, n) = pack().add_path(rules_dir.path()).unwrap();
    assert_eq!(n, 1);
    let rules = builder.build().unwrap();
    assert_eq!(rules.len(), builtin().len() + 1);

    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("a.txt".into(), b"xx MARKER-42 yy".to_vec()),
            ("big.bin".into(), vec![b'M'; 10_000]),
            (
                "shell.php".into(),
                b"<?php system($_GET['c']); ?> MARKER-42".to_vec(),
            ),
        ],
    );
    let opts = ScanOptions {
        max_file_bytes: 4_096,
        threads: 2,
        ..ScanOptions::default()
    };
    let report = scan_paths(
        &[dir.path().to_path_buf(), dir.path().join("absent")],
        &rules,
        &opts,
    );
    assert_eq!(report.stats.files, 4);
    assert_eq!(report.stats.too_large, 1);
    assert_eq!(
        report.stats.unreadable, 1,
        "the missing path is counted and listed"
    );
    let skipped: Vec<_> = report
        .skipped()
        .map(|(p, r)| (p.file_name().unwrap().to_owned(), r.clone()))
        .collect();
    assert!(skipped.iter().any(|(n, r)| n == "big.bin"
        && *r
            == SkipReason::TooLarge {
                size: 10_000,
                limit: 4_096
            }));
    assert!(skipped
        .iter()
        .any(|(n, r)| n == "absent" && matches!(r, SkipReason::Unreadable { .. })));
    let got = matched_by_file(dir.path(), &report);
    assert_eq!(got["a.txt"], BTreeSet::from(["user_marker".to_string()]));
    assert_eq!(
        got["shell.php"],
        BTreeSet::from([
            "spoor_webshell_php_request_to_sink".to_string(),
            "user_marker".to_string()
        ])
    );
    let user = report
        .findings()
        .into_iter()
        .find(|f| f.rule.title == "user_marker")
        .unwrap();
    assert_eq!(user.rule.level, RuleLevel::Low);
    assert_eq!(user.rule.attack.techniques, vec!["T1059.001"]);
    assert_eq!(
        user.rule.path.as_deref(),
        Some(rules_dir.path().join("mine.yar").to_str().unwrap())
    );
}

#[test]
fn thread_count_does_not_change_the_result() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = benign::generated_webapp(120, 7);
    files.extend(samples().into_iter().map(|(p, _, d)| (p, d)));
    write_tree(dir.path(), &files);
    let one = scan_paths(
        &[dir.path().to_path_buf()],
        builtin(),
        &ScanOptions {
            threads: 1,
            ..ScanOptions::default()
        },
    );
    let four = scan_paths(
        &[dir.path().to_path_buf()],
        builtin(),
        &ScanOptions {
            threads: 4,
            ..ScanOptions::default()
        },
    );
    assert_eq!(one, four);
    assert_eq!(one.findings(), four.findings());
}

fn web_event(
    log: &str,
    line: u64,
    secs: i64,
    ip: &str,
    method: &str,
    stem: &str,
    status: &str,
) -> Event {
    let mut e = Event::new(log, Position::Line(line))
        .with("c-ip", ip)
        .with("cs-method", method)
        .with("cs-uri-stem", stem)
        .with("sc-status", status);
    e.timestamp = chrono::DateTime::from_timestamp(1_720_000_000 + secs, 0);
    e
}

#[test]
fn web_shells_are_tied_back_to_their_requests() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<_> = samples().into_iter().map(|(p, _, d)| (p, d)).collect();
    write_tree(dir.path(), &files);
    let report = scan_paths(
        &[dir.path().to_path_buf()],
        builtin(),
        &ScanOptions::default(),
    );
    let mut findings = report.findings();
    let webroots: Vec<PathBuf> = vec![
        dir.path().join("wwwroot"),
        dir.path().join("Exchange/FrontEnd/HttpProxy/owa"),
    ];
    let mut tb = TieBack::from_findings(&findings, &webroots, 1_000);
    assert!(!tb.is_empty());
    let events = [
        web_event(
            "u_ex240701.log",
            10,
            10,
            "203.0.113.7",
            "POST",
            "/aspnet_client/system_web/err.aspx",
            "200",
        ),
        web_event(
            "u_ex240701.log",
            11,
            20,
            "203.0.113.7",
            "POST",
            "/ASPNET_CLIENT/System_Web/ERR.aspx",
            "200",
        ),
        web_event(
            "u_ex240701.log",
            12,
            30,
            "198.51.100.1",
            "GET",
            "/index.aspx",
            "200",
        ),
        web_event(
            "u_ex240701.log",
            13,
            40,
            "203.0.113.9",
            "GET",
            "/owa/auth/rt3.aspx",
            "200",
        ),
        web_event(
            "localhost_access.log",
            3,
            50,
            "192.0.2.44",
            "POST",
            "/Nova.jsp",
            "200",
        ),
    ];
    for e in &events {
        tb.observe(e);
    }
    tb.attach(&mut findings);
    let by_file = |suffix: &str| {
        findings
            .iter()
            .filter(|f| f.source.path.ends_with(suffix))
            .map(|f| {
                f.related
                    .iter()
                    .map(|r| (r.client_ip.clone().unwrap(), r.timestamp))
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    };
    let chopper = by_file("err.aspx");
    assert_eq!(chopper.len(), 1);
    for related in &chopper {
        assert_eq!(related.len(), 2);
        assert!(related.iter().all(|(ip, _)| ip == "203.0.113.7"));
        assert!(related[0].1 < related[1].1);
    }
    assert_eq!(
        by_file("rt3.aspx")[0].len(),
        1,
        "virtual directory: suffix match"
    );
    assert_eq!(
        by_file("Nova_jsp.class")[0],
        vec![("192.0.2.44".to_string(), events[4].timestamp)]
    );
    assert!(
        by_file("cmd.jsp").iter().all(Vec::is_empty),
        "not requested"
    );
}
