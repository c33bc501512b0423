//! Writing 100k findings in each format to `io::sink()`: the cost a writer adds to a run.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use spoor_event::{
    attack_from_tags, Event, Finding, Position, RuleKind, RuleLevel, RuleMeta, RunSummary,
};
use spoor_report::{writer_for, OutputFormat, WriterOptions};
use std::io;
use std::sync::Arc;

const N: usize = 100_000;

fn findings() -> Vec<Finding> {
    let rules: Vec<Arc<RuleMeta>> = (0..20)
        .map(|i| {
            let mut m = RuleMeta::new(
                format!("00000000-0000-0000-0000-0000000000{i:02}"),
                format!("Suspicious request pattern {i}"),
                RuleLevel::ALL[i % 5],
                RuleKind::Sigma,
            );
            m.attack =
                attack_from_tags(["attack.initial-access", "attack.t1190", "attack.t1505.003"]);
            Arc::new(m)
        })
        .collect();
    (0..N)
        .map(|i| {
            let mut ev = Event::new("logs/u_ex240708.log", Position::Line(i as u64 + 1))
                .with("c-ip", format!("203.0.113.{}", i % 250))
                .with("cs-method", "POST")
                .with("cs-uri-stem", "/aspnet_client/system_web/error.aspx")
                .with("sc-status", 200i64);
            ev.timestamp = chrono::DateTime::from_timestamp(1_720_400_000 + i as i64 * 7, 0);
            ev.raw = Some(
                format!(
                    "2024-07-08 00:00:{:02} 10.0.0.5 POST /aspnet_client/system_web/error.aspx cmd=whoami 443 - 203.0.113.{} Mozilla/5.0+(Windows+NT+10.0) - 200 0 0 {}",
                    i % 60,
                    i % 250,
                    i % 977
                )
                .into_boxed_str(),
            );
            Finding::from_event(rules[i % rules.len()].clone(), &ev)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let all = findings();
    let summary = RunSummary {
        events: N as u64,
        findings: N as u64,
        ..Default::default()
    };
    let mut group = c.benchmark_group("write_100k");
    group.sample_size(10);
    group.throughput(Throughput::Elements(N as u64));
    for format in OutputFormat::ALL {
        group.bench_function(format.as_str(), |b| {
            b.iter(|| {
                let mut w = writer_for(format, io::sink(), &WriterOptions::default());
                for f in &all {
                    w.write(f).unwrap();
                }
                w.finish(&summary).unwrap();
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
