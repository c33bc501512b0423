//! Writes N synthetic findings (default 1,000,000) in one format to a byte-counting sink, and
//! prints the time and output size: the whole-run figure behind the per-finding benchmark.
//! Findings are generated one at a time, so peak memory is the writer's own (compare with the
//! format `none`, which only generates).
//!
//! `cargo run --release -p spoor-report --example million -- html 1000000`

use spoor_event::{
    attack_from_tags, Event, Finding, FindingSink, Position, RuleKind, RuleLevel, RuleMeta,
    RunSummary,
};
use spoor_report::{writer_for, OutputFormat, WriterOptions};
use std::io::{self, Write};
use std::sync::Arc;
use std::time::Instant;

struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let format = args.next().unwrap_or_else(|| "jsonl".into());
    let n: u64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let rules: Vec<Arc<RuleMeta>> = (0..20)
        .map(|i| {
            let mut m = RuleMeta::new(
                format!("00000000-0000-0000-0000-0000000000{i:02}"),
                format!("Suspicious request pattern {i}"),
                RuleLevel::ALL[i % 5],
                RuleKind::Sigma,
            );
            m.attack = attack_from_tags(["attack.initial-access", "attack.t1190"]);
            Arc::new(m)
        })
        .collect();
    let mut counter = Counter(0);
    let mut sink: Option<Box<dyn FindingSink + '_>> = match format.as_str() {
        "none" => None,
        f => Some(writer_for(
            f.parse::<OutputFormat>().map_err(io::Error::other)?,
            &mut counter,
            &WriterOptions::default(),
        )),
    };
    let start = Instant::now();
    for i in 0..n {
        let mut ev = Event::new("logs/u_ex240708.log", Position::Line(i + 1))
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
        let f = Finding::from_event(rules[(i % 20) as usize].clone(), &ev);
        if let Some(s) = sink.as_mut() {
            s.write(&f)?;
        }
    }
    if let Some(s) = sink.as_mut() {
        s.finish(&RunSummary {
            findings: n,
            ..Default::default()
        })?;
    }
    let elapsed = start.elapsed();
    drop(sink);
    println!(
        "{format}: {n} findings in {:.2} s ({:.0} ns/finding), {} bytes written",
        elapsed.as_secs_f64(),
        elapsed.as_nanos() as f64 / n as f64,
        counter.0
    );
    Ok(())
}
