//! Golden files for every format, written from the hostile fixtures and compared byte for byte.
//! `SPOOR_BLESS=1 cargo test -p spoor-report` rewrites them; each test also checks the safety
//! properties directly, so a wrong golden file cannot hide a regression.

use crate::fixtures::{self, BIDI, FORMULA, OSC_TITLE, XSS_IMG, XSS_SCRIPT};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use spoor_event::{Finding, FindingSink};
use spoor_report::{
    is_unsafe_for_terminal, writer_for, HtmlOptions, MultiSink, OutputFormat, TableOptions,
    WriterOptions, CSV_COLUMNS,
};
use std::path::PathBuf;
use unicode_width::UnicodeWidthStr;

fn render(format: OutputFormat, opts: &WriterOptions) -> Vec<u8> {
    let findings = fixtures::hostile_findings();
    let summary = fixtures::summary(&findings);
    let mut out = Vec::new();
    {
        let mut w = writer_for(format, &mut out, opts);
        for f in &findings {
            w.write(f).expect("write to a Vec");
        }
        w.finish(&summary).expect("finish to a Vec");
    }
    out
}

fn golden(name: &str, actual: &[u8]) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("SPOOR_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read golden file {}: {e}; run with SPOOR_BLESS=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let got = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
        let _ = std::fs::write(&got, actual);
        let exp = String::from_utf8_lossy(&expected);
        let act = String::from_utf8_lossy(actual);
        let line = exp
            .lines()
            .zip(act.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| "length".to_string(), |i| format!("line {}", i + 1));
        panic!(
            "{name} differs from the golden file at {line}; actual output written to {}; \
             if the change is intended, run with SPOOR_BLESS=1",
            got.display()
        );
    }
}

fn opts(color: bool, width: usize) -> WriterOptions {
    WriterOptions {
        table: TableOptions { color, width },
        html: HtmlOptions {
            title: "spoor golden <report> & \"test\"".into(),
            ..Default::default()
        },
        continuing: false,
    }
}

/// Removes this crate's own SGR colour sequences (`ESC [ digits/; m`); panics on any other ESC.
fn strip_own_colours(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('\x1b') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let end = after
            .find('m')
            .unwrap_or_else(|| panic!("unterminated escape in table output: {after:?}"));
        let body = &after[..end];
        assert!(
            body.starts_with('[') && body[1..].chars().all(|c| c.is_ascii_digit() || c == ';'),
            "an escape sequence other than a colour reached the terminal: {body:?}"
        );
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

fn assert_terminal_clean(text: &str) {
    for (i, c) in text.chars().enumerate() {
        assert!(
            c == '\n' || !is_unsafe_for_terminal(c),
            "unsafe char {c:?} at {i} in terminal output"
        );
    }
}

#[test]
fn table_plain() {
    let out = render(OutputFormat::Table, &opts(false, 120));
    golden("findings.table.txt", &out);
    let text = String::from_utf8(out).expect("utf-8");
    assert_terminal_clean(&text);
    assert!(text.contains("\\x1b]0;pwned\\x07"), "OSC shown escaped");
    assert!(text.contains("\\u{202e}"), "bidi override shown escaped");
    let rows: Vec<&str> = text.lines().take_while(|l| !l.starts_with('─')).collect();
    assert_eq!(rows.len(), 7, "header + 6 findings");
    for row in &rows {
        assert!(row.width() <= 120, "row wider than the terminal: {row}");
    }
    assert!(text.contains("rules      42 loaded, 3 unsupported, 1 invalid"));
    assert!(text.contains("by tactic  Initial Access 2, Persistence 1"));
    assert!(text.contains("(x3)"));
}

#[test]
fn table_colour_narrow() {
    let out = render(OutputFormat::Table, &opts(true, 70));
    golden("findings.table-color.txt", &out);
    let text = String::from_utf8(out).expect("utf-8");
    assert!(text.contains("\x1b[1;31m"), "high findings are coloured");
    let plain = strip_own_colours(&text);
    assert_terminal_clean(&plain);
    for row in plain.lines().take_while(|l| !l.starts_with('─')) {
        assert!(row.width() <= 70, "row wider than the terminal: {row}");
    }
}

#[test]
fn jsonl() {
    let out = render(OutputFormat::Jsonl, &opts(false, 80));
    golden("findings.jsonl", &out);
    let text = String::from_utf8(out).expect("utf-8");
    assert_terminal_clean(&text);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 7);
    assert_eq!(lines[0]["event"]["cs-user-agent"], XSS_SCRIPT);
    assert_eq!(lines[2]["count"], 3);
    let ssh_raw = lines[3]["raw"].as_str().expect("raw");
    assert!(
        ssh_raw.starts_with("Jul  8 03:30:00 bastion sshd[99]: ") && ssh_raw.contains(OSC_TITLE)
    );
    let last = lines.last().expect("summary line");
    assert_eq!(last["summary"]["rules_loaded"], 42);
    assert_eq!(last.as_object().map(|o| o.len()), Some(1));
}

#[test]
fn csv_timesketch() {
    let out = render(OutputFormat::Csv, &opts(false, 80));
    golden("findings.csv", &out);
    let mut rdr = csv::Reader::from_reader(out.as_slice());
    let header: Vec<String> = rdr
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    assert_eq!(header, CSV_COLUMNS);
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.expect("record")).collect();
    assert_eq!(rows.len(), 6);
    for row in &rows {
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "formula-like cell reached the CSV: {cell:?}"
            );
        }
    }
    assert_eq!(&rows[2][2], format!("'{FORMULA},10.1.2.3,45.77.0.1,-2+3"));
    assert_eq!(&rows[2][0], "2024-07-08T02:00:00.250Z");
    assert_eq!(&rows[2][11], "3");
    assert!(rows[3][4].starts_with("'+cmd|"), "rule title neutralised");
    assert_eq!(&rows[5][1], "File Modified");
    assert_eq!(&rows[0][1], "Event Time");
    let findings = fixtures::hostile_findings();
    assert_eq!(
        rows[4][2],
        spoor_report::terminal_safe(&spoor_report::evidence_text(&findings[4]))
            .replace("\\n", "\n")
            .replace("\\r", "\r"),
        "CR/LF kept inside quotes, the rest escaped"
    );
    assert!(rows[4][2].contains("line one\nline two\r\n@SUM"));
    assert!(rows[3][2].contains("\\x1b]0;pwned\\x07Accepted password\rfor root\\x08"));
    let text = String::from_utf8(out.clone()).expect("utf-8");
    for c in text.chars() {
        assert!(
            matches!(c, '\t' | '\r' | '\n') || !is_unsafe_for_terminal(c),
            "unsafe char {c:?} in CSV"
        );
    }
}

fn csp_of(html: &str) -> &str {
    let start = html
        .find("http-equiv=\"Content-Security-Policy\" content=\"")
        .expect("CSP meta tag")
        + "http-equiv=\"Content-Security-Policy\" content=\"".len();
    let end = html[start..].find('"').expect("end of CSP") + start;
    &html[start..end]
}

fn sha256_source(s: &str) -> String {
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s.as_bytes()))
    )
}

#[test]
fn html() {
    let out = render(OutputFormat::Html, &opts(false, 80));
    golden("findings.html", &out);
    let html = String::from_utf8(out).expect("utf-8");
    // Only the two script elements of the report itself; no data became markup.
    assert_eq!(html.matches("<script").count(), 2);
    assert_eq!(html.matches("</script>").count(), 2);
    assert!(!html.contains("<img"));
    assert!(!html.contains("<svg onload"));
    assert!(!html.contains("onerror=alert(1)>"));
    assert!(html.contains("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(html.contains("invoice\\u{202e}fdp.exe"));
    assert!(!html.contains('\u{202e}') && !html.contains('\x1b') && !html.contains('\x07'));
    assert!(
        !html.contains("http://") || !html.contains("src=\"http"),
        "no remote resource"
    );
    // The CSP allows exactly the inline script and style that are in the file.
    let csp = csp_of(&html);
    assert!(csp.starts_with("default-src 'none'; "));
    assert!(!csp.contains("unsafe") && !csp.contains("connect-src"));
    let script_start = html.find("<script>").expect("inline script") + "<script>".len();
    let script_end = html[script_start..].find("</script>").expect("end") + script_start;
    let script = &html[script_start..script_end];
    assert!(csp.contains(&format!("script-src {}", sha256_source(script))));
    let style_start = html.find("<style>").expect("style") + "<style>".len();
    let style_end = html[style_start..].find("</style>").expect("end") + style_start;
    assert!(csp.contains(&format!(
        "style-src {}",
        sha256_source(&html[style_start..style_end])
    )));
    // The JSON block holds no markup character and round-trips the hostile warning.
    let open = "<script type=\"application/json\" id=\"spoor-summary\">";
    let js = html.find(open).expect("JSON block") + open.len();
    let je = html[js..].find("</script>").expect("end") + js;
    let json = &html[js..je];
    assert!(!json.contains(['<', '>', '&']));
    let summary: serde_json::Value = serde_json::from_str(json).expect("JSON");
    assert_eq!(
        summary["warnings"][0],
        format!("rule 'x.yml': {XSS_SCRIPT}</script>")
    );
    // Matrix: technique names from the embedded ATT&CK table, tactics in matrix order.
    assert!(html.contains("Server Software Component: Web Shell (2)"));
    let ia = html.find("<h3>Initial Access</h3>").expect("tactic column");
    let pe = html.find("<h3>Persistence</h3>").expect("tactic column");
    assert!(ia < pe);
    assert!(html.contains("MITRE ATT&amp;CK Enterprise v18.1"));
    let _ = BIDI;
}

#[test]
fn navigator_layer() {
    let out = render(OutputFormat::Navigator, &opts(false, 80));
    golden("findings.navigator.json", &out);
    let layer: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
    assert_eq!(layer["versions"]["layer"], "4.5");
    assert_eq!(layer["versions"]["attack"], "18");
    assert_eq!(layer["versions"]["navigator"], "5.1");
    assert_eq!(layer["domain"], "enterprise-attack");
    let techniques = layer["techniques"].as_array().expect("techniques");
    let find = |id: &str| {
        techniques
            .iter()
            .find(|t| t["techniqueID"] == id)
            .unwrap_or_else(|| panic!("{id} in layer"))
    };
    assert_eq!(find("T1505.003")["score"], 2);
    assert_eq!(find("T1190")["score"], 2);
    assert_eq!(
        find("T1190")["color"],
        "#b2182b",
        "most severe level is critical"
    );
    assert_eq!(
        find("T1071.001")["score"],
        3,
        "a merged finding counts its count"
    );
    assert_eq!(find("T1505")["showSubtechniques"], true);
    assert!(find("T1505").get("score").is_none());
    assert_eq!(layer["legendItems"].as_array().map(Vec::len), Some(5));
}

#[test]
fn several_outputs_in_one_run() {
    let findings: Vec<Finding> = fixtures::hostile_findings();
    let summary = fixtures::summary(&findings);
    let (mut table, mut html) = (Vec::new(), Vec::new());
    {
        let o = opts(false, 120);
        let mut multi = MultiSink::new()
            .with("table", writer_for(OutputFormat::Table, &mut table, &o))
            .with("html", writer_for(OutputFormat::Html, &mut html, &o));
        for f in &findings {
            multi.write(f).expect("write");
        }
        multi.finish(&summary).expect("finish");
    }
    assert_eq!(table, render(OutputFormat::Table, &opts(false, 120)));
    assert_eq!(html, render(OutputFormat::Html, &opts(false, 120)));
    let _ = (XSS_IMG, OSC_TITLE);
}
