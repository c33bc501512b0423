//! Reader throughput per format: MB/s and events/s of one thread turning bytes into events,
//! on generated data held in memory (no disk in the measurement), plus the EVTX attack samples
//! when the shared corpora are present.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use spoor_input::{read_path, read_reader, InputFormat, ReadOptions};
use std::fmt::Write as _;
use std::hint::black_box;

const LINES: usize = 20_000;

fn combined() -> String {
    let mut s = String::new();
    for i in 0..LINES {
        let _ = writeln!(
            s,
            "10.0.{}.{} - - [12/Jul/2024:04:{:02}:{:02} +0000] \"GET /shop/item.php?id={i}&ref=home HTTP/1.1\" 200 {} \"https://example.com/shop/\" \"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36\"",
            i % 250,
            i % 200,
            (i / 60) % 60,
            i % 60,
            500 + i % 9000
        );
    }
    s
}

fn iis() -> String {
    let mut s = String::from("#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n");
    for i in 0..LINES {
        let _ = writeln!(
            s,
            "2024-07-12 04:{:02}:{:02} 10.1.1.5 GET /owa/service.svc action=GetItem&id={i} 443 CONTOSO\\user{} 10.2.{}.{} Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64) - 200 0 0 {}",
            (i / 60) % 60,
            i % 60,
            i % 50,
            i % 250,
            i % 200,
            i % 900
        );
    }
    s
}

fn syslog() -> String {
    let mut s = String::new();
    for i in 0..LINES {
        let line = if i % 3 == 0 {
            format!(
                "Failed password for invalid user admin{} from 203.0.113.{} port {} ssh2",
                i % 40,
                i % 250,
                40000 + i % 20000
            )
        } else if i % 3 == 1 {
            format!(
                "Accepted publickey for deploy from 10.0.0.{} port {} ssh2: ED25519 SHA256:abcdef",
                i % 250,
                40000 + i % 20000
            )
        } else {
            "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)".to_string()
        };
        let _ = writeln!(
            s,
            "Jul 12 04:{:02}:{:02} web01 sshd[{}]: {line}",
            (i / 60) % 60,
            i % 60,
            1000 + i % 30000
        );
    }
    s
}

fn ndjson() -> String {
    let mut s = String::new();
    for i in 0..LINES {
        let _ = writeln!(
            s,
            r#"{{"@timestamp":"2024-07-12T04:{:02}:{:02}Z","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Computer":"ws{}.contoso.local","Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c dir C:\\Users\\user{}\\Documents","ParentImage":"C:\\Windows\\explorer.exe","User":"CONTOSO\\user{}","Hashes":"SHA256=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","event":{{"outcome":"success"}}}}"#,
            (i / 60) % 60,
            i % 60,
            i % 100,
            i % 50,
            i % 50
        );
    }
    s
}

fn csv() -> String {
    let mut s = String::from("time,host,user,action,src_ip,detail\n");
    for i in 0..LINES {
        let _ = writeln!(
            s,
            "2024-07-12T04:{:02}:{:02}Z,host{},user{},login,10.0.0.{},\"ok, via vpn\"",
            (i / 60) % 60,
            i % 60,
            i % 20,
            i % 50,
            i % 250
        );
    }
    s
}

fn bench_text(c: &mut Criterion) {
    let mut group = c.benchmark_group("read_20k_lines");
    group.sample_size(10);
    for (name, format, data) in [
        ("combined", InputFormat::WebAccess, combined()),
        ("iis", InputFormat::Iis, iis()),
        ("syslog", InputFormat::Syslog, syslog()),
        ("ndjson", InputFormat::Json, ndjson()),
        ("csv", InputFormat::Csv, csv()),
    ] {
        let opts = ReadOptions {
            format: Some(format),
            syslog_year: Some(2024),
            ..ReadOptions::default()
        };
        let mut events = 0u64;
        read_reader(name, data.as_bytes(), &opts, |_| events += 1);
        assert_eq!(events, LINES as u64, "{name}: every line is an event");
        group.throughput(Throughput::Bytes(data.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut n = 0u64;
                read_reader(name, data.as_bytes(), &opts, |e| {
                    black_box(&e);
                    n += 1
                });
                n
            })
        });
    }
    group.finish();
}

fn bench_evtx(c: &mut Criterion) {
    let Some(root) = spoor_event::shared_corpora("readers bench") else {
        return;
    };
    let file = root.join("evtx-attack-samples/UACME_59_Sysmon.evtx");
    let Ok(meta) = std::fs::metadata(&file) else {
        return;
    };
    let opts = ReadOptions::default();
    let mut group = c.benchmark_group("read_evtx");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(meta.len()));
    group.bench_function("UACME_59_Sysmon.evtx", |b| {
        b.iter(|| {
            let mut n = 0u64;
            read_path(file.clone(), &opts, |e| {
                black_box(&e);
                n += 1
            });
            n
        })
    });
    group.finish();
}

criterion_group!(readers, bench_text, bench_evtx);
criterion_main!(readers);
