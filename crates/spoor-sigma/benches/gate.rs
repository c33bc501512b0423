//! The line prefilter on its own: lines per second through one web server gate built from 1,
//! 100 and 1,000 rules (one `contains` literal each), over generated benign combined-format
//! lines that match none of them. The gate is the first thing every web line meets, so its cost
//! per line bounds how fast a web log can be hunted.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use spoor_event::{GateLine, LineGateSource, LogSource, Value};
use spoor_sigma::RuleSetBuilder;

struct Raw<'a>(&'a [u8]);

impl GateLine for Raw<'_> {
    fn raw(&self) -> &[u8] {
        self.0
    }
    fn derived_texts(&self, _: &mut Vec<u8>) {}
    fn field(&self, _: &str) -> Option<Value> {
        None
    }
}

/// Deterministic pseudo-words (an LCG), so that literals are distinct and absent from lines.
fn word(seed: &mut u64, len: usize) -> String {
    (0..len)
        .map(|_| {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (b'a' + ((*seed >> 33) % 26) as u8) as char
        })
        .collect()
}

fn lines(n: usize) -> Vec<String> {
    let mut seed = 7;
    (0..n)
        .map(|i| {
            format!(
                "10.0.{}.{} - - [12/Jul/2024:10:00:00 +0000] \"GET /{}/{}.html?id={} HTTP/1.1\" 200 {} \"https://example.org/{}\" \"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36\"",
                i % 250,
                i % 200,
                word(&mut seed, 6),
                word(&mut seed, 8),
                i,
                1000 + i % 50000,
                word(&mut seed, 5)
            )
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let lines = lines(10_000);
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    let mut group = c.benchmark_group("line_gate");
    for rules in [1usize, 100, 1000] {
        let mut seed = 99;
        let mut b = RuleSetBuilder::new();
        for i in 0..rules {
            let lit = format!("q{}zx", word(&mut seed, 7));
            b.add_source(
                &format!("r{i}.yml"),
                &format!(
                    "title: r{i}\nlogsource:\n  category: webserver\ndetection:\n  sel:\n    cs-uri-query|contains: '{lit}'\n  condition: sel\nlevel: high\n"
                ),
            );
        }
        let gates = b.build().line_gates();
        let gate = gates
            .gate_for(&LogSource::new(None, Some("webserver"), None))
            .expect("every rule has a literal");
        group.throughput(Throughput::Elements(lines.len() as u64));
        group.bench_with_input(BenchmarkId::new("lines", rules), &lines, |bch, lines| {
            bch.iter(|| {
                lines
                    .iter()
                    .filter(|l| gate.may_match(&Raw(l.as_bytes())))
                    .count()
            })
        });
        eprintln!("line_gate/{rules}: {bytes} bytes per iteration");
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
