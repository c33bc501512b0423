//! Arbitrary text in every field, through every writer: no panic, and the safety properties of
//! each format hold for inputs nobody thought of (a seeded generator, so failures reproduce).

use spoor_event::{
    attack_from_tags, Event, Finding, FindingSink, Position, RuleKind, RuleLevel, RuleMeta,
    RunSummary,
};
use spoor_report::{
    is_unsafe_for_terminal, writer_for, FilterSink, FindingFilter, HtmlOptions, OutputFormat,
    TableOptions, WriterOptions,
};
use std::sync::Arc;
use unicode_width::UnicodeWidthStr;

/// xorshift64*: small, seeded, good enough to spread test inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Text drawn from the characters that cause trouble, plus plain ASCII.
    fn text(&mut self, max_len: u64) -> String {
        const NASTY: &[char] = &[
            '<',
            '>',
            '&',
            '"',
            '\'',
            '=',
            '+',
            '-',
            '@',
            '\t',
            '\r',
            '\n',
            '\x1b',
            '\x07',
            '\x08',
            '\x00',
            '\x7f',
            '\u{85}',
            '\u{9b}',
            '\u{202e}',
            '\u{2066}',
            '\u{2028}',
            '\u{feff}',
            '\u{fffd}',
            '日',
            '\u{1f600}',
            '\u{301}',
            '\\',
            '/',
            ';',
            ',',
            ' ',
        ];
        /// Whole fragments that single characters almost never spell: markup, event handlers,
        /// spreadsheet formula starts and terminal escapes, often at the very start.
        const FRAGMENTS: &[&str] = &[
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(2)>",
            "\" onmouseover=\"alert(3)",
            "</td></tr><tr><td>",
            "javascript:alert(4)",
            "=cmd|' /C calc'!A0",
            "+SUM(1,2)",
            "-2+3",
            "@SUM(A1)",
            "\t=1+1",
            "\x1b[31mred\x1b[0m",
            "\x1b]0;title\x07",
            "\u{9b}2J",
        ];
        let len = self.below(max_len + 1);
        let mut out = String::new();
        if self.below(4) == 0 {
            out.push_str(FRAGMENTS[self.below(FRAGMENTS.len() as u64) as usize]);
        }
        for _ in 0..len {
            match self.below(12) {
                0 => out.push_str(FRAGMENTS[self.below(FRAGMENTS.len() as u64) as usize]),
                1..=4 => out.push(NASTY[self.below(NASTY.len() as u64) as usize]),
                _ => out.push(char::from(b' ' + self.below(95) as u8)),
            }
        }
        out
    }
}

fn random_findings(seed: u64, n: usize) -> Vec<Finding> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|i| {
            let tags: Vec<String> = (0..rng.below(4))
                .map(|_| match rng.below(4) {
                    0 => "attack.t1190".to_string(),
                    1 => format!("attack.t{:04}.{:03}", rng.below(10_000), rng.below(1000)),
                    2 => "attack.persistence".to_string(),
                    _ => format!("attack.{}", rng.text(12)),
                })
                .collect();
            let mut meta = RuleMeta::new(
                rng.text(40),
                rng.text(80),
                RuleLevel::ALL[rng.below(5) as usize],
                RuleKind::Sigma,
            );
            meta.attack = attack_from_tags(tags.iter().map(String::as_str));
            let mut ev = Event::new(rng.text(60), Position::Line(rng.next()));
            for _ in 0..rng.below(6) {
                let name = match rng.below(3) {
                    0 => "c-ip".to_string(),
                    1 => "Computer".to_string(),
                    _ => rng.text(10),
                };
                ev.push(name, rng.text(100));
            }
            ev.timestamp = match rng.below(4) {
                0 => None,
                1 => chrono::DateTime::from_timestamp(-8_000_000_000_000, 0),
                2 => chrono::DateTime::from_timestamp(8_000_000_000_000, 0),
                _ => chrono::DateTime::from_timestamp(rng.below(2_000_000_000) as i64, 0),
            };
            if i % 7 == 0 {
                ev.raw = Some(rng.text(5_000).into());
            } else if rng.below(2) == 0 {
                ev.raw = Some(rng.text(200).into());
            }
            let mut f = Finding::from_event(Arc::new(meta), &ev);
            f.count = 1 + rng.below(3);
            f
        })
        .collect()
}

fn run(format: OutputFormat, findings: &[Finding], width: usize) -> String {
    let mut out = Vec::new();
    {
        let opts = WriterOptions {
            table: TableOptions {
                color: false,
                width,
            },
            html: HtmlOptions {
                title: "fuzz".into(),
                max_rows: 300,
                ..HtmlOptions::default()
            },
            continuing: false,
        };
        let filter = FindingFilter {
            dedup: true,
            ..Default::default()
        };
        let mut sink = FilterSink::new(writer_for(format, &mut out, &opts), filter);
        for f in findings {
            sink.write(f).expect("write to a Vec");
        }
        sink.finish(&RunSummary::default()).expect("finish");
    }
    String::from_utf8(out).expect("every writer writes UTF-8")
}

#[test]
fn arbitrary_text_through_every_writer() {
    for seed in [1u64, 0x5eed, 0xdead_beef] {
        let findings = random_findings(seed, 400);
        let table = run(OutputFormat::Table, &findings, 90);
        for line in table.lines() {
            assert!(
                !line.chars().any(is_unsafe_for_terminal),
                "seed {seed}: raw control in table: {line:?}"
            );
        }
        for row in table.lines().take_while(|l| !l.starts_with('─')) {
            assert!(row.width() <= 90, "seed {seed}: row too wide: {row:?}");
        }
        let jsonl = run(OutputFormat::Jsonl, &findings, 90);
        let mut lines = 0;
        for line in jsonl.lines() {
            assert!(!line.chars().any(is_unsafe_for_terminal));
            serde_json::from_str::<serde_json::Value>(line).expect("JSON line");
            lines += 1;
        }
        assert!(lines > 1);
        let csv_text = run(OutputFormat::Csv, &findings, 90);
        let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
        let mut rows = 0;
        for record in rdr.records() {
            let record = record.expect("CSV record");
            // No cell may start a spreadsheet formula.
            for cell in record.iter() {
                assert!(
                    !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "seed {seed}: formula start in CSV cell {cell:?}"
                );
            }
            rows += 1;
        }
        assert_eq!(rows, lines - 1, "one CSV row per JSONL finding");
        let html = run(OutputFormat::Html, &findings, 90);
        assert_eq!(html.matches("<script").count(), 2, "seed {seed}");
        assert!(!html.contains("<img") && !html.contains("<svg onload"));
        // Inside the findings table, no tag carries an event handler or a script URL: the
        // hostile fragments stay text.
        let bodies: Vec<&str> = html
            .split("<tbody>")
            .skip(1)
            .filter_map(|b| b.split_once("</tbody>").map(|(b, _)| b))
            .collect();
        assert!(bodies.len() >= 2, "the top lists and the findings table");
        for tag in bodies
            .iter()
            .flat_map(|b| b.split('<').skip(1))
            .filter_map(|t| t.split_once('>').map(|(t, _)| t))
        {
            let t = tag.to_ascii_lowercase();
            assert!(
                !t.contains("onerror") && !t.contains("onmouseover") && !t.contains("javascript:"),
                "seed {seed}: hostile attribute in tag <{tag}>"
            );
        }
        assert!(
            html.contains("&lt;script&gt;alert(1)"),
            "the fragments were generated"
        );
        let nav = run(OutputFormat::Navigator, &findings, 90);
        serde_json::from_str::<serde_json::Value>(&nav).expect("layer JSON");
    }
}
