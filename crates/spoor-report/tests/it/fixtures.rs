//! Findings written for these tests, hostile ones included: every payload is one an attacker
//! can put in a log line (user agent, URI, syslog message, file name, rule metadata).

use spoor_event::{
    attack_from_tags, Event, FileInfo, FileStats, Finding, LogSource, Position, RuleKind,
    RuleLevel, RuleMeta, RunSummary,
};
use std::sync::Arc;

pub const XSS_SCRIPT: &str = r#""><script>alert(1)</script>"#;
pub const XSS_IMG: &str = "<img src=x onerror=alert(1)>";
pub const FORMULA: &str = r#"=HYPERLINK("http://evil.example/","click")"#;
pub const OSC_TITLE: &str = "\x1b]0;pwned\x07";
pub const BIDI: &str = "invoice\u{202e}fdp.exe";

fn rule(id: &str, title: &str, level: RuleLevel, kind: RuleKind, tags: &[&str]) -> Arc<RuleMeta> {
    let mut m = RuleMeta::new(id, title, level, kind);
    m.tags = tags.iter().map(|t| t.to_string()).collect();
    m.attack = attack_from_tags(tags.iter().copied());
    Arc::new(m)
}

fn at(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    Some(
        chrono::DateTime::parse_from_rfc3339(s)
            .expect("fixture time")
            .with_timezone(&chrono::Utc),
    )
}

/// The fixed findings of the golden tests.
pub fn hostile_findings() -> Vec<Finding> {
    let web_shell = rule(
        "5c6e2c38-0000-4000-8000-000000000001",
        "Web shell request to an ASPX page",
        RuleLevel::High,
        RuleKind::Sigma,
        &[
            "attack.persistence",
            "attack.t1505.003",
            "attack.initial-access",
            "attack.t1190",
        ],
    );
    let exploit = rule(
        "5c6e2c38-0000-4000-8000-000000000002",
        "Exploit attempt <img src=x onerror=alert(2)> in title",
        RuleLevel::Critical,
        RuleKind::Sigma,
        &["attack.initial-access", "attack.t1190"],
    );
    let ioc = rule(
        "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "APT40 infrastructure address",
        RuleLevel::Medium,
        RuleKind::Indicator,
        &["attack.command-and-control", "attack.t1071.001"],
    );
    let ssh = rule(
        "5c6e2c38-0000-4000-8000-000000000004",
        "+cmd|' /C calc'!A0 SSH login with terminal escapes",
        RuleLevel::Low,
        RuleKind::Sigma,
        &["attack.t1078", "attack.defense-evasion"],
    );
    let bidi = rule(
        "5c6e2c38-0000-4000-8000-000000000005",
        "Right-to-left override in a file name",
        RuleLevel::Informational,
        RuleKind::Sigma,
        &["attack.t1036.002"],
    );
    let yara = rule(
        "yara:China_Chopper_aspx",
        "China Chopper web shell",
        RuleLevel::High,
        RuleKind::Yara,
        &["attack.t1505.003"],
    );

    let iis = LogSource::new(Some("windows"), Some("webserver"), None);
    let mut out = Vec::new();

    let mut e1 = Event::new("logs/u_ex240708.log", Position::Line(12))
        .with_logsource(iis.clone())
        .with("c-ip", "203.0.113.7")
        .with("s-computername", "WEB01")
        .with("cs-method", "POST")
        .with("cs-uri-stem", "/aspnet_client/error.aspx")
        .with("cs-user-agent", XSS_SCRIPT)
        .with("sc-status", 200i64);
    e1.timestamp = at("2024-07-08T01:02:03Z");
    e1.raw = Some(
        format!("2024-07-08 01:02:03 10.0.0.5 POST /aspnet_client/error.aspx - 443 - 203.0.113.7 {XSS_SCRIPT} - 200 0 0 15")
            .into(),
    );
    out.push(Finding::from_event(web_shell.clone(), &e1));

    let mut e2 = Event::new("logs/access.log", Position::Line(3))
        .with_logsource(LogSource::new(Some("apache"), Some("webserver"), None))
        .with("clientip", "198.51.100.23")
        .with("cs-uri-query", XSS_IMG);
    e2.timestamp = at("2024-07-08T01:10:00Z");
    e2.raw = Some(
        format!(r#"198.51.100.23 - - [08/Jul/2024:01:10:00 +0000] "GET /login?next={XSS_IMG} HTTP/1.1" 404 512 "-" "curl/8.0""#)
            .into(),
    );
    out.push(Finding::from_event(exploit, &e2));

    let mut e3 = Event::new("logs/proxy.json", Position::Index(4))
        .with("src_ip", "10.1.2.3")
        .with("dst_ip", "45.77.0.1")
        .with("url", FORMULA)
        .with("note", "-2+3")
        .with("size", 512i64);
    e3.timestamp = at("2024-07-08T02:00:00.250Z");
    e3.raw = Some(format!("{FORMULA},10.1.2.3,45.77.0.1,-2+3").into());
    let mut f3 = Finding::from_event(ioc, &e3);
    f3.count = 3;
    out.push(f3);

    let mut e4 = Event::new("logs/auth.log", Position::Line(40))
        .with_logsource(LogSource::new(Some("linux"), None, Some("auth")))
        .with("host", "bastion")
        .with(
            "message",
            format!("{OSC_TITLE}Accepted password\rfor root\x08\x08\x08 from 10.9.9.9"),
        );
    e4.timestamp = at("2024-07-08T03:30:00Z");
    e4.raw = Some(
        format!("Jul  8 03:30:00 bastion sshd[99]: {OSC_TITLE}Accepted password\rfor root\x08\x08\x08 from 10.9.9.9\u{9b}2J")
            .into(),
    );
    out.push(Finding::from_event(ssh, &e4));

    let e5 = Event::new("logs/files.csv", Position::Line(2))
        .with("TargetFilename", format!("C:\\Users\\Public\\{BIDI}"))
        .with("Computer", "WS\u{2066}07\u{2069}")
        .with("multi", "line one\nline two\r\n@SUM(1+1)");
    out.push(Finding::from_event(bidi, &e5));

    let mut f6 = Finding::from_event(
        yara,
        &Event::new("C:/inetpub/wwwroot/a\"b'.aspx", Position::Index(1)),
    );
    f6.timestamp = at("2024-07-07T23:59:59Z");
    f6.file = Some(FileInfo {
        size: 123,
        modified: at("2024-07-07T23:59:59Z"),
        changed: None,
        md5: "0cc175b9c0f1b6a831c399e269772661".into(),
        sha1: "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8".into(),
        sha256: "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb".into(),
    });
    out.push(f6);
    out
}

/// The summary the golden outputs end with.
pub fn summary(findings: &[Finding]) -> RunSummary {
    let mut s = RunSummary {
        files: vec![
            FileStats {
                path: "logs/u_ex240708.log".into(),
                format: "iis".into(),
                events: 100,
                ..Default::default()
            },
            FileStats {
                path: format!("logs/{BIDI}.log"),
                format: "syslog".into(),
                events: 20,
                unparsed: 2,
                error: Some(format!("truncated gzip stream {OSC_TITLE}")),
                ..Default::default()
            },
        ],
        events: 120,
        unparsed: 2,
        rules_loaded: 42,
        rules_unsupported: 3,
        rules_invalid: 1,
        findings: findings.len() as u64,
        elapsed_seconds: 1.25,
        warnings: vec![format!("rule 'x.yml': {XSS_SCRIPT}</script>")],
        ..Default::default()
    };
    for f in findings {
        *s.findings_by_level
            .entry(f.rule.level.as_str().to_string())
            .or_default() += 1;
        for t in &f.rule.attack.tactics {
            *s.findings_by_tactic.entry(t.clone()).or_default() += 1;
        }
    }
    s
}
