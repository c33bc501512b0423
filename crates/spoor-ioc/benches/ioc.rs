//! Load time and matching throughput with 10, 10k and 1M indicators over ~10k realistic events
//! (web access, Sysmon process and network, DNS). Matching cost should not grow with the number
//! of indicators.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use spoor_event::{Event, EventMatcher, Position, Value};
use spoor_ioc::{IocOptions, IocSetBuilder};
use std::hint::black_box;

/// A small deterministic generator (xorshift), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn hex(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from(b"0123456789abcdef"[self.below(16) as usize]))
            .collect()
    }
    fn ip(&mut self) -> String {
        let v = self.next();
        format!(
            "{}.{}.{}.{}",
            1 + v % 223,
            (v >> 8) & 255,
            (v >> 16) & 255,
            (v >> 24) & 255
        )
    }
    fn word(&mut self) -> String {
        (0..4 + self.below(6))
            .map(|_| char::from(b'a' + self.below(26) as u8))
            .collect()
    }
}

/// A list of `n` indicators of mixed types.
fn indicator_list(n: usize) -> String {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = String::with_capacity(n * 48);
    out.push_str("type,value,description\n");
    for i in 0..n {
        let line = match i % 8 {
            0 | 1 => format!("ipv4,{},c2", r.ip()),
            2 => format!("cidr,{}/{},range", r.ip(), 16 + r.below(13)),
            3 => format!("domain,{}.{}.net,c2 domain", r.word(), r.word()),
            4 => format!("md5,{},sample", r.hex(32)),
            5 => format!("sha256,{},sample", r.hex(64)),
            6 => format!("filename,{}.jsp,web shell", r.word()),
            _ => format!(
                "url,http://{}.example.org/{}.php,download",
                r.word(),
                r.word()
            ),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// ~10k events of four common shapes.
fn events(n: usize) -> Vec<Event> {
    let mut r = Rng(0x2545_f491_4f6c_dd1d);
    (0..n)
        .map(|i| {
            let mut e = Event::new("bench.log", Position::Line(i as u64 + 1));
            match i % 4 {
                0 => {
                    e.push("c-ip", r.ip());
                    e.push("cs-method", "GET");
                    e.push("cs-host", format!("www.{}.com", r.word()));
                    e.push("cs-uri-stem", format!("/app/{}.jsp", r.word()));
                    e.push("cs-uri-query", format!("id={}", r.below(1000)));
                    e.push("sc-status", Value::Int(200));
                    e.push(
                        "cs(User-Agent)",
                        "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
                    );
                }
                1 => {
                    e.push("EventID", Value::Int(1));
                    e.push("Image", format!(r"C:\Windows\System32\{}.exe", r.word()));
                    e.push(
                        "CommandLine",
                        format!("{} /c {} {}", r.word(), r.word(), r.word()),
                    );
                    e.push("User", format!(r"CORP\{}", r.word()));
                    e.push(
                        "Hashes",
                        format!(
                            "SHA1={},MD5={},SHA256={},IMPHASH={}",
                            r.hex(40),
                            r.hex(32),
                            r.hex(64),
                            r.hex(32)
                        ),
                    );
                    e.push("ParentImage", r"C:\Windows\explorer.exe");
                }
                2 => {
                    e.push("EventID", Value::Int(3));
                    e.push("SourceIp", r.ip());
                    e.push("DestinationIp", r.ip());
                    e.push("DestinationPort", Value::Int(443));
                    e.push(
                        "DestinationHostname",
                        format!("{}.{}.net", r.word(), r.word()),
                    );
                }
                _ => {
                    e.push("EventID", Value::Int(22));
                    e.push("QueryName", format!("{}.{}.net", r.word(), r.word()));
                    e.push("Image", r"C:\Program Files\app\app.exe");
                }
            }
            e
        })
        .collect()
}

/// A STIX bundle of `n` single-observation indicators with relationships.
fn stix_bundle(n: usize) -> String {
    let mut r = Rng(0x51ed_270b_2a3e_4f1d);
    let mut objs = Vec::with_capacity(n * 2 + 1);
    objs.push(r#"{"type":"attack-pattern","id":"attack-pattern--1","name":"Web Shell","external_references":[{"source_name":"mitre-attack","external_id":"T1505.003"}]}"#.to_string());
    for i in 0..n {
        let pattern = match i % 4 {
            0 => format!("[ipv4-addr:value = '{}']", r.ip()),
            1 => format!("[file:hashes.'SHA-256' = '{}']", r.hex(64)),
            2 => format!("[domain-name:value = '{}.{}.net']", r.word(), r.word()),
            _ => format!(
                "[file:name = '{}.jsp' AND file:hashes.MD5 = '{}']",
                r.word(),
                r.hex(32)
            ),
        };
        objs.push(format!(
            r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--{i}","name":"i{i}","pattern_type":"stix","pattern":"{pattern}","valid_from":"2024-07-08T00:00:00Z"}}"#
        ));
        objs.push(format!(
            r#"{{"type":"relationship","id":"relationship--{i}","relationship_type":"indicates","source_ref":"indicator--{i}","target_ref":"attack-pattern--1"}}"#
        ));
    }
    format!(
        r#"{{"type":"bundle","id":"bundle--b","objects":[{}]}}"#,
        objs.join(",")
    )
}

fn bench(c: &mut Criterion) {
    let evs = events(10_000);
    let mut load = c.benchmark_group("load_list");
    load.sample_size(10);
    for n in [10usize, 10_000, 1_000_000] {
        let text = indicator_list(n);
        load.throughput(Throughput::Elements(n as u64));
        load.bench_with_input(BenchmarkId::from_parameter(n), &text, |b, text| {
            // The set is dropped outside the timing: freeing a million entries is not loading.
            b.iter_with_large_drop(|| {
                let mut builder = IocSetBuilder::new(IocOptions::default());
                builder.add_list_str("bench.csv", text);
                black_box(builder.build())
            })
        });
    }
    for n in [10_000usize, 100_000] {
        let json = stix_bundle(n);
        load.throughput(Throughput::Elements(n as u64));
        load.bench_with_input(BenchmarkId::new("stix", n), &json, |b, json| {
            b.iter_with_large_drop(|| {
                let mut builder = IocSetBuilder::new(IocOptions::default());
                let _ = builder.add_stix_str("bench.json", json);
                black_box(builder.build())
            })
        });
    }
    load.finish();

    let mut matching = c.benchmark_group("match_10k_events");
    matching.sample_size(10);
    matching.throughput(Throughput::Elements(evs.len() as u64));
    for n in [10usize, 10_000, 1_000_000] {
        let mut builder = IocSetBuilder::new(IocOptions::default());
        builder.add_list_str("bench.csv", &indicator_list(n));
        let Ok(set) = builder.build() else { return };
        let mut m = set.ioc_matcher();
        let mut found = Vec::new();
        for e in &evs {
            m.check(e, &mut found);
        }
        drop(m);
        eprintln!(
            "{n} indicators: {} findings over {} events",
            found.len(),
            evs.len()
        );
        matching.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                let mut m = set.ioc_matcher();
                let mut out = Vec::new();
                for e in &evs {
                    m.check(e, &mut out);
                }
                black_box(out.len())
            })
        });
    }
    matching.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
