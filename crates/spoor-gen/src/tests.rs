//! Determinism and the answer key: the tally must equal what an independent reading of the
//! output finds.

use super::*;

fn run(kind: DataKind, seed: u64, bytes: u64, attack_every: u64) -> (Vec<u8>, Tally) {
    let cfg = GenConfig {
        kind,
        seed,
        bytes,
        attack_every,
    };
    let mut out = Vec::new();
    let tally = generate(&cfg, &mut out).expect("writing to a Vec cannot fail");
    (out, tally)
}

/// Classify a web line by its attack marker, without using the generator's tables.
fn web_kind(line: &str) -> Option<&'static str> {
    if line.contains("autodiscover.json") {
        return Some("proxyshell_autodiscover");
    }
    if line.contains("ServletActionContext")
        || line.contains("entervariables.action")
        || line.contains("doenterpagevariables.action")
    {
        return Some("confluence_ognl");
    }
    let has_lookup = |s: &str| s.contains("${") || s.contains("%24%7B");
    if has_lookup(line) {
        // The User-Agent is the last field in both layouts.
        let combined_agent = line
            .trim_end()
            .trim_end_matches('"')
            .rsplit('"')
            .next()
            .unwrap_or("");
        let iis_agent_has = line.split(' ').nth(9).is_some_and(has_lookup);
        if (line.ends_with('"') && has_lookup(combined_agent))
            || (!line.ends_with('"') && iis_agent_has)
        {
            return Some("log4shell_user_agent");
        }
        return Some("log4shell_query");
    }
    for p in ["?cmd=", "?exec=", " cmd=", " exec="] {
        if line.contains(p) {
            return Some("webshell_command");
        }
    }
    None
}

fn check_web(kind: DataKind) {
    let (out, tally) = run(kind, 42, 2 << 20, 40);
    let text = String::from_utf8(out).expect("utf-8");
    let mut found = Tally::with_kinds(kind.attack_kinds());
    let mut records = 0;
    for line in text.lines() {
        if line.starts_with('#') {
            assert_eq!(kind, DataKind::Iis, "header in a combined log");
            continue;
        }
        records += 1;
        if let Some(k) = web_kind(line) {
            found.bump(k);
        }
    }
    assert_eq!(records, tally.records);
    assert_eq!(found.attacks, tally.attacks, "tally differs from the lines");
    // One in 40 over ~10,000 lines: every kind must occur, and the rate must be near 1/40.
    assert!(
        tally.attacks.iter().all(|(_, n)| *n > 10),
        "{:?}",
        tally.attacks
    );
    let rate = tally.total_attacks() as f64 / tally.records as f64;
    assert!((0.015..0.035).contains(&rate), "rate {rate}");
}

#[test]
fn combined_attack_counts_match_the_lines() {
    check_web(DataKind::Combined);
}

#[test]
fn iis_attack_counts_match_the_lines() {
    check_web(DataKind::Iis);
}

#[test]
fn combined_lines_have_the_combined_shape() {
    let (out, _) = run(DataKind::Combined, 3, 256 << 10, 20);
    let text = String::from_utf8(out).expect("utf-8");
    for line in text.lines() {
        // ip - user [time] "request" status size "referer" "agent"
        let (head, rest) = line.split_once(" [").expect("time bracket");
        assert_eq!(head.split(' ').count(), 3, "{line}");
        let (time, rest) = rest.split_once("] \"").expect("request quote");
        assert_eq!(time.len(), 26, "{time}");
        assert!(time.ends_with(" +0000"));
        let (request, rest) = rest.split_once("\" ").expect("request end");
        assert!(!request.contains('"'), "{request}");
        assert_eq!(request.split(' ').count(), 3, "{request}");
        let mut parts = rest.splitn(3, ' ');
        let status: u16 = parts.next().and_then(|s| s.parse().ok()).expect("status");
        assert!((200..600).contains(&status));
        assert!(parts.next().and_then(|s| s.parse::<u64>().ok()).is_some());
        assert!(line.ends_with('"'));
    }
}

#[test]
fn iis_lines_have_fifteen_fields() {
    let (out, _) = run(DataKind::Iis, 3, 256 << 10, 20);
    let text = String::from_utf8(out).expect("utf-8");
    let mut lines = text.lines();
    assert!(lines.next().is_some_and(|l| l.starts_with("#Software:")));
    let fields = text
        .lines()
        .find(|l| l.starts_with("#Fields: "))
        .expect("fields header")
        .split(' ')
        .count()
        - 1;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        assert_eq!(line.split(' ').count(), fields, "{line}");
    }
}

#[test]
fn windows_events_are_flat_json_with_counts_matching() {
    let (out, tally) = run(DataKind::Windows, 9, 2 << 20, 30);
    let text = String::from_utf8(out).expect("utf-8");
    let mut found = Tally::with_kinds(&WIN_ATTACKS);
    let mut ids = std::collections::BTreeSet::new();
    let mut records = 0;
    for line in text.lines() {
        records += 1;
        let v: serde_json::Value = serde_json::from_str(line).expect("valid JSON");
        let obj = v.as_object().expect("object");
        assert!(
            obj.values().all(|x| !x.is_object() && !x.is_array()),
            "flat: {line}"
        );
        let id = obj
            .get("EventID")
            .and_then(|x| x.as_u64())
            .expect("EventID");
        let channel = obj
            .get("Channel")
            .and_then(|x| x.as_str())
            .expect("Channel");
        assert_eq!(channel == "Security", id >= 4000, "{line}");
        ids.insert(id);
        let field = |k: &str| obj.get(k).and_then(|x| x.as_str()).unwrap_or("");
        if id == 4769 && field("TicketEncryptionType") == "0x17" {
            found.bump("kerberoast_rc4");
        } else if field("CommandLine").contains("ntdsutil") {
            found.bump("ntds_dump");
        } else if field("ParentImage").ends_with("\\w3wp.exe") {
            found.bump("webshell_spawn");
        }
    }
    assert_eq!(records, tally.records);
    assert_eq!(found.attacks, tally.attacks);
    assert!(
        tally.attacks.iter().all(|(_, n)| *n > 10),
        "{:?}",
        tally.attacks
    );
    assert_eq!(
        ids.into_iter().collect::<Vec<_>>(),
        vec![1, 3, 11, 13, 4624, 4688, 4769]
    );
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    for kind in [DataKind::Combined, DataKind::Iis, DataKind::Windows] {
        let (a, ta) = run(kind, 11, 600_000, 100);
        let (b, tb) = run(kind, 11, 600_000, 100);
        let (c, _) = run(kind, 12, 600_000, 100);
        assert_eq!(a, b, "{kind:?}");
        assert_eq!(ta, tb);
        assert_ne!(a, c, "{kind:?}");
        // A bigger size with the same seed starts with the same bytes (a prefix).
        let (long, _) = run(kind, 11, 1_200_000, 100);
        assert_eq!(long.get(..a.len()), Some(&a[..]), "{kind:?}");
    }
}

#[test]
fn size_is_met_by_whole_records_and_zero_rate_means_no_attacks() {
    for kind in [DataKind::Combined, DataKind::Iis, DataKind::Windows] {
        let (out, tally) = run(kind, 5, 300_000, 0);
        assert!(out.len() >= 300_000);
        assert!(out.len() < 300_000 + 4096, "{}", out.len());
        assert_eq!(out.last(), Some(&b'\n'));
        assert_eq!(tally.bytes as usize, out.len());
        assert_eq!(tally.total_attacks(), 0);
        let text = String::from_utf8(out).expect("utf-8");
        if kind != DataKind::Windows {
            assert!(text.lines().all(|l| web_kind(l).is_none()));
        }
    }
    let (empty, t) = run(DataKind::Combined, 5, 0, 10);
    assert!(empty.is_empty());
    assert_eq!(t.records, 0);
}

#[test]
fn failing_writer_is_an_error_not_a_panic() {
    struct Full;
    impl std::io::Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let cfg = GenConfig {
        kind: DataKind::Windows,
        seed: 1,
        bytes: 1 << 20,
        attack_every: 10,
    };
    assert!(matches!(generate(&cfg, &mut Full), Err(GenError::Write(_))));
}
