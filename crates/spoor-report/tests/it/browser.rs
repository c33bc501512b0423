//! The HTML report in a real headless Chromium (Debian's `chromium`): hostile log data must not
//! run, the report's own script must, and a screenshot is kept for the record.
//!
//! How a fired script is detected, two ways, each proven by a negative control:
//! - DOM: payloads that, if they ran, would set `data-pwned` on `<html>`; the DOM is dumped
//!   after the page's scripts ran (`--dump-dom`) and checked for it and for injected elements.
//! - Dialogs: in headless Chromium an `alert()` blocks the page, so `--dump-dom` never returns.
//!   A page with an alert must therefore time out, and the report must not.
//!
//! Never skipped: without Chromium the test fails, saying how to install it.

use crate::fixtures;
use spoor_event::{Event, Finding, Position, RuleKind, RuleLevel, RuleMeta};
use spoor_report::{write_html_report, HtmlOptions};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Would mark the DOM if it ever ran.
const PWN_IMG: &str =
    "<img src=x onerror=\"document.documentElement.setAttribute('data-pwned','img')\">";
const PWN_SCRIPT: &str =
    "<script>document.documentElement.setAttribute('data-pwned','script')</script>";
const PWN_SVG: &str =
    "<svg onload=\"document.documentElement.setAttribute('data-pwned','svg')\"></svg>";

fn chromium() -> String {
    let bin = std::env::var("SPOOR_CHROMIUM").unwrap_or_else(|_| "chromium".into());
    match Command::new(&bin).arg("--version").output() {
        Ok(out) if out.status.success() => bin,
        Ok(out) => panic!(
            "`{bin} --version` failed ({}): the browser test needs Debian's chromium \
             (apt-get install -y chromium); it never skips",
            out.status
        ),
        Err(e) => panic!(
            "cannot run `{bin}` ({e}): the browser test needs Debian's chromium \
             (apt-get install -y chromium, or set SPOOR_CHROMIUM); it never skips"
        ),
    }
}

/// How a Chromium run ended.
enum Outcome {
    /// Finished; what it printed on stdout.
    Done(String),
    /// Still running at the deadline (killed): a dialog, or a hang.
    TimedOut,
}

/// Runs headless Chromium on `page` with `extra` arguments, killing it (and its children, by
/// process group) at `deadline`.
fn run_chromium(
    bin: &str,
    dir: &Path,
    page: &Path,
    extra: &[String],
    deadline: Duration,
) -> Outcome {
    let profile = tempfile::tempdir_in(dir).expect("profile dir");
    let stdout_path = dir.join(format!(
        "stdout-{}.txt",
        page.file_stem().and_then(|s| s.to_str()).unwrap_or("page")
    ));
    let stdout = File::create(&stdout_path).expect("stdout file");
    let mut cmd = Command::new(bin);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(extra)
    .arg(format!("file://{}", page.display()))
    .stdin(Stdio::null())
    .stdout(stdout)
    .stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().expect("start chromium");
    let start = Instant::now();
    loop {
        match child.try_wait().expect("wait for chromium") {
            Some(_) => {
                return Outcome::Done(std::fs::read_to_string(&stdout_path).unwrap_or_default());
            }
            None if start.elapsed() > deadline => {
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .status();
                let _ = child.kill();
                let _ = child.wait();
                return Outcome::TimedOut;
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn dump_dom(bin: &str, dir: &Path, page: &Path, deadline: Duration) -> Outcome {
    run_chromium(bin, dir, page, &["--dump-dom".to_string()], deadline)
}

/// The opening `<html ...>` tag of a dumped DOM, where the page scripts leave their marks
/// (payload text shown escaped elsewhere in the page must not count).
fn root_tag(dom: &str) -> &str {
    let start = dom.find("<html").unwrap_or(dom.len());
    let rest = &dom[start..];
    &rest[..rest.find('>').unwrap_or(rest.len())]
}

/// The DOM-level signs that injected markup or script took effect.
fn injected(dom: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    if root_tag(dom).contains("data-pwned=") {
        found.push("a payload script ran (data-pwned set)");
    }
    if dom.contains("<img") {
        found.push("an <img> element was injected");
    }
    if dom.contains("<svg onload") {
        found.push("an <svg onload> element was injected");
    }
    found
}

fn hostile_findings_for_browser() -> Vec<Finding> {
    let mut findings = fixtures::hostile_findings();
    let rule = Arc::new(RuleMeta::new(
        format!("id-{PWN_SCRIPT}"),
        format!("title {PWN_IMG}"),
        RuleLevel::High,
        RuleKind::Sigma,
    ));
    let mut ev = Event::new(format!("logs/{PWN_SVG}.log"), Position::Line(1))
        .with("c-ip", format!("10.0.0.1{PWN_IMG}"))
        .with("Computer", format!("WEB{PWN_SVG}"));
    ev.raw = Some(format!("GET /{PWN_SCRIPT} {PWN_IMG} \"'><{PWN_SVG}").into());
    findings.push(Finding::from_event(rule, &ev));
    // A correlation finding: one row that expands to its contributing events, with hostile
    // text in the group value and in the events' paths.
    findings.push(correlation_finding());
    // Some ordinary findings over a day, so the screenshot shows a timeline.
    let meta = Arc::new(RuleMeta {
        attack: spoor_event::attack_from_tags(["attack.t1190", "attack.initial-access"]),
        ..RuleMeta::new(
            "r-scan",
            "Vulnerability scan",
            RuleLevel::Medium,
            RuleKind::Sigma,
        )
    });
    for i in 0..120i64 {
        let mut e = Event::new("logs/u_ex240708.log", Position::Line(100 + i as u64))
            .with("c-ip", format!("203.0.113.{}", i % 9));
        e.timestamp = chrono::DateTime::from_timestamp(1_720_400_000 + (i * i * 97) % 86_400, 0);
        e.raw = Some(format!("GET /scan/{i} 404").into());
        findings.push(Finding::from_event(meta.clone(), &e));
    }
    findings
}

fn correlation_finding() -> Finding {
    let meta = Arc::new(RuleMeta::new(
        "c-brute",
        "SSH Brute Force from One Address",
        RuleLevel::Medium,
        RuleKind::Correlation,
    ));
    let ev = Event::new(format!("auth/{PWN_IMG}.log"), Position::Line(7))
        .with("source.ip", format!("203.0.113.50{PWN_SCRIPT}"));
    let mut f = Finding::from_event(meta, &ev);
    let t = chrono::DateTime::from_timestamp(1_720_400_000, 0).unwrap();
    f.timestamp = Some(t);
    let origins: Vec<spoor_event::Origin> = (0..12u64)
        .map(|i| spoor_event::Origin {
            path: format!("auth/{PWN_IMG}.log").into(),
            position: Position::Line(7 + i),
        })
        .collect();
    f.correlation = Some(Box::new(spoor_event::CorrelationInfo {
        kind: "event_count".into(),
        group: vec![(
            "source.ip".into(),
            Some(format!("203.0.113.50{PWN_SCRIPT}")),
        )],
        window_start: t,
        window_end: t + chrono::Duration::seconds(60),
        aggregate: "count".into(),
        value: 24.0,
        origins,
        events: 24,
    }));
    f
}

#[test]
fn html_report_in_headless_chromium() {
    let bin = chromium();
    let dir = tempfile::tempdir().expect("temp dir");
    let findings = hostile_findings_for_browser();
    let summary = fixtures::summary(&findings);

    // The report.
    let report = dir.path().join("report.html");
    write_html_report(
        &findings,
        &summary,
        File::create(&report).expect("report file"),
        HtmlOptions::default(),
    )
    .expect("write report");
    let dom = match dump_dom(&bin, dir.path(), &report, Duration::from_secs(90)) {
        Outcome::Done(dom) => dom,
        Outcome::TimedOut => panic!("the report did not finish loading: a JavaScript dialog fired"),
    };
    assert!(
        root_tag(&dom).contains("data-spoor-ready=\"1\""),
        "the report's own script did not run (CSP hash wrong?); DOM starts: {}",
        dom.chars().take(300).collect::<String>()
    );
    assert_eq!(
        injected(&dom),
        Vec::<&str>::new(),
        "hostile data took effect"
    );
    assert_eq!(
        dom.matches("<script").count(),
        2,
        "only the report's own script elements"
    );
    assert!(
        dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "payload shown as text"
    );
    // The correlation finding is one row whose evidence expands (closed at first) to its 12
    // listed events and says how many more there are.
    let row = dom
        .split("<tr data-level=")
        .skip(1)
        .map(|r| r.split("</tr>").next().unwrap_or(r))
        .find(|r| r.contains("SSH Brute Force from One Address"))
        .expect("the correlation row");
    assert_eq!(row.matches("<details>").count(), 1, "{row}");
    assert!(
        row.contains("<summary>event_count: count=24 over 24 events"),
        "{row}"
    );
    assert_eq!(row.matches("<li>").count(), 12);
    assert!(row.contains("and 12 more events"));
    assert!(!row.contains("<details open"));

    // The report's own script works: a linked view (search, minimum level, sort by count,
    // descending) hides the other rows and reorders the table.
    let view = format!("{}#q=scan&level=2&sort=-9", report.display());
    let dom = match dump_dom(&bin, dir.path(), Path::new(&view), Duration::from_secs(90)) {
        Outcome::Done(dom) => dom,
        Outcome::TimedOut => panic!("the report did not load with a view fragment"),
    };
    let body = &dom[dom.find("<tbody>").expect("table body")..];
    let shown = body.matches("<tr data-level=\"2\">").count();
    let hidden = body.matches("hidden=\"\"").count();
    assert_eq!(shown, 120, "the 120 scan findings stay visible");
    assert_eq!(hidden, findings.len() - 120, "every other row is hidden");
    assert!(dom.contains("<span id=\"shown\">120</span>"));
    assert!(dom.contains("aria-sort=\"descending\""));
    let counts: Vec<u64> = body
        .split("<td class=\"n\" data-sort=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next()?.parse().ok())
        .collect();
    assert_eq!(counts.len(), findings.len());
    assert!(
        counts.windows(2).all(|w| w[0] >= w[1]),
        "sorted by count, descending: {counts:?}"
    );
    assert_eq!(counts.first(), Some(&3));

    // Defence in depth: even a script injected into the report is refused by its CSP.
    let html = std::fs::read_to_string(&report).expect("read report");
    let tampered = dir.path().join("tampered.html");
    std::fs::write(
        &tampered,
        html.replacen("</main>", &format!("{PWN_SCRIPT}{PWN_IMG}</main>"), 1),
    )
    .expect("write tampered");
    match dump_dom(&bin, dir.path(), &tampered, Duration::from_secs(90)) {
        Outcome::Done(dom) => {
            assert!(root_tag(&dom).contains("data-spoor-ready=\"1\""));
            assert!(
                !root_tag(&dom).contains("data-pwned="),
                "the CSP let an injected script run"
            );
        }
        Outcome::TimedOut => panic!("tampered report did not load"),
    }

    // Negative control 1: the same hostile data rendered naively (no escaping, no CSP; alerts
    // disarmed so the page can finish) is detected by the same DOM check.
    let naive = dir.path().join("naive.html");
    let mut page =
        String::from("<!DOCTYPE html><html><head><title>naive</title></head><body><table>");
    for f in &findings {
        page.push_str(&format!(
            "<tr><td>{}</td><td>{}</td></tr>",
            f.rule.title.replace("alert(", "void("),
            spoor_report::evidence_text(f).replace("alert(", "void(")
        ));
    }
    page.push_str("</table></body></html>");
    std::fs::write(&naive, page).expect("write naive page");
    match dump_dom(&bin, dir.path(), &naive, Duration::from_secs(90)) {
        Outcome::Done(dom) => assert!(
            root_tag(&dom).contains("data-pwned="),
            "negative control: the check failed to see a payload that ran"
        ),
        Outcome::TimedOut => panic!("negative control page did not load"),
    }

    // Negative control 2: an alert() is detected (the page blocks), while the same page
    // without it loads within the same deadline.
    let with_alert = dir.path().join("alert.html");
    let without_alert = dir.path().join("no-alert.html");
    let body = |s: &str| {
        format!("<!DOCTYPE html><html><body><p>x</p>{s}<script>document.documentElement.setAttribute('data-after','1')</script></body></html>")
    };
    std::fs::write(&with_alert, body(fixtures::XSS_SCRIPT)).expect("write");
    std::fs::write(&without_alert, body("<p>no dialog</p>")).expect("write");
    match dump_dom(&bin, dir.path(), &without_alert, Duration::from_secs(20)) {
        Outcome::Done(dom) => assert!(root_tag(&dom).contains("data-after=\"1\"")),
        Outcome::TimedOut => panic!("control page without a dialog did not load in 20 s"),
    }
    assert!(
        matches!(
            dump_dom(&bin, dir.path(), &with_alert, Duration::from_secs(20)),
            Outcome::TimedOut
        ),
        "negative control: an alert() page was not detected"
    );

    // A screenshot for the record, under target/.
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("spoor-report-browser.png");
    let _ = std::fs::remove_file(&shot);
    let args = [
        format!("--screenshot={}", shot.display()),
        "--window-size=1400,1000".to_string(),
        "--hide-scrollbars".to_string(),
    ];
    assert!(matches!(
        run_chromium(&bin, dir.path(), &report, &args, Duration::from_secs(90)),
        Outcome::Done(_)
    ));
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "screenshot missing or empty at {}",
        shot.display()
    );
    println!("screenshot: {}", shot.display());
}
