//! Windows events under a second set of names: Security 4688 as Sysmon's process creation
//! (`NewProcessName` also as `Image`, ...), 4657, 5156 and 4663 likewise, read from an embedded
//! table (`data/windows_fields.tsv`).
//!
//! Why: SigmaHQ's `process_creation`, `registry_set`, `network_connection` and `file_access` rules
//! are written with Sysmon's (or ETW's) field names; a host that audits process creation in its
//! Security log and runs no Sysmon would otherwise never be seen by them. The table is data so
//! that the mapping is reviewed at a glance against Microsoft's and Sysmon's schemas; the
//! event's log source gets the matching category from `data/windows_logsource.tsv`.

use crate::windows::{parse_condition, Condition};
use spoor_event::{Fields, Value};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

const TABLE: &str = include_str!("../data/windows_fields.tsv");

/// How a target's value is made from its sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conversion {
    Copy,
    Hex,
    Account,
    Integrity,
    RegPath,
    Initiated,
    NonZero,
}

impl Conversion {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "copy" => Conversion::Copy,
            "hex" => Conversion::Hex,
            "account" => Conversion::Account,
            "integrity" => Conversion::Integrity,
            "regpath" => Conversion::RegPath,
            "initiated" => Conversion::Initiated,
            "nonzero" => Conversion::NonZero,
            _ => return None,
        })
    }
}

#[derive(Debug)]
struct Row {
    target: Arc<str>,
    sources: Vec<String>,
    conversion: Conversion,
    condition: Option<Condition>,
}

/// Key: lower-case channel and event id.
type Table = HashMap<(String, i64), Vec<Row>>;

struct Parsed {
    table: Table,
    /// Line numbers of malformed rows; a unit test requires none (the table is embedded).
    #[cfg_attr(not(test), allow(dead_code))]
    bad_rows: Vec<usize>,
}

fn parsed() -> &'static Parsed {
    static CELL: OnceLock<Parsed> = OnceLock::new();
    CELL.get_or_init(|| parse_table(TABLE))
}

fn parse_row(line: &str) -> Option<((String, i64), Row)> {
    let cols: Vec<&str> = line.split('\t').map(str::trim).collect();
    let (channel, id, target, sources, conversion, condition) = match cols[..] {
        [c, id, t, s, conv] => (c, id, t, s, conv, None),
        [c, id, t, s, conv, cond] => (c, id, t, s, conv, Some(parse_condition(cond)?)),
        _ => return None,
    };
    let id = id.parse::<i64>().ok()?;
    let sources: Vec<String> = sources.split(',').map(|s| s.trim().to_string()).collect();
    if channel.is_empty() || target.is_empty() || sources.iter().any(String::is_empty) {
        return None;
    }
    let conversion = Conversion::parse(conversion)?;
    if conversion == Conversion::RegPath && sources.len() != 2 {
        return None;
    }
    Some((
        (channel.to_ascii_lowercase(), id),
        Row {
            target: Arc::from(target),
            sources,
            conversion,
            condition,
        },
    ))
}

fn parse_table(text: &str) -> Parsed {
    let mut table = Table::new();
    let mut bad_rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_row(line) {
            Some((key, row)) => table.entry(key).or_default().push(row),
            None => bad_rows.push(i + 1),
        }
    }
    Parsed { table, bad_rows }
}

/// The first field called `name`, as text, when it is set: not null, not empty, not `-`.
fn text_of(fields: &Fields, name: &str) -> Option<String> {
    fields
        .iter()
        .find(|(k, _)| &**k == name)
        .and_then(|(_, v)| v.as_text().map(|t| t.trim().to_string()))
        .filter(|t| !t.is_empty() && t != "-")
}

fn hex_or_decimal(s: &str) -> Option<i64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Sysmon's rendering of the accounts that Security events name by the machine account.
fn well_known_account(sid: &str) -> Option<&'static str> {
    match sid {
        "S-1-5-18" => Some("NT AUTHORITY\\SYSTEM"),
        "S-1-5-19" => Some("NT AUTHORITY\\LOCAL SERVICE"),
        "S-1-5-20" => Some("NT AUTHORITY\\NETWORK SERVICE"),
        _ => None,
    }
}

fn account(fields: &Fields, prefix: &str) -> Option<String> {
    let name = text_of(fields, &format!("{prefix}UserName"))?;
    if let Some(known) =
        text_of(fields, &format!("{prefix}UserSid")).and_then(|s| well_known_account(&s))
    {
        return Some(known.to_string());
    }
    Some(match text_of(fields, &format!("{prefix}DomainName")) {
        Some(domain) => format!("{domain}\\{name}"),
        None => name,
    })
}

fn integrity_level(sid: &str) -> Option<&'static str> {
    Some(match sid.to_ascii_uppercase().as_str() {
        "S-1-16-0" => "Untrusted",
        "S-1-16-4096" => "Low",
        "S-1-16-8192" => "Medium",
        "S-1-16-8448" => "MediumPlus",
        "S-1-16-12288" => "High",
        "S-1-16-16384" => "System",
        "S-1-16-20480" => "Protected",
        _ => return None,
    })
}

fn registry_path(key: &str, value_name: Option<String>) -> String {
    let upper = key.to_ascii_uppercase();
    let mut out = [("\\REGISTRY\\MACHINE", "HKLM"), ("\\REGISTRY\\USER", "HKU")]
        .iter()
        .find(|(long, _)| {
            upper.starts_with(long)
                && matches!(upper.as_bytes().get(long.len()), None | Some(b'\\'))
        })
        .map(|(long, short)| format!("{short}{}", key.get(long.len()..).unwrap_or_default()))
        .unwrap_or_else(|| key.to_string());
    if let Some(v) = value_name {
        out.push('\\');
        out.push_str(&v);
    }
    out
}

fn initiated(direction: &str) -> Option<&'static str> {
    match direction.to_ascii_lowercase().as_str() {
        "%%14593" | "outbound" => Some("true"),
        "%%14592" | "inbound" => Some("false"),
        _ => None,
    }
}

/// The value of `row`'s target for an event with `fields`, if its sources are there.
fn value_for(row: &Row, fields: &Fields) -> Option<Value> {
    let first = || row.sources.iter().find_map(|s| text_of(fields, s));
    match row.conversion {
        Conversion::Copy => row.sources.iter().find_map(|s| {
            fields
                .iter()
                .find(|(k, _)| &**k == s.as_str())
                .map(|(_, v)| v.clone())
                .filter(|_| text_of(fields, s).is_some())
        }),
        Conversion::Hex => first().and_then(|t| hex_or_decimal(&t)).map(Value::Int),
        Conversion::Account => row
            .sources
            .iter()
            .find_map(|p| account(fields, p))
            .map(Value::str),
        Conversion::Integrity => first().and_then(|t| integrity_level(&t)).map(Value::str),
        Conversion::RegPath => {
            let key = text_of(fields, row.sources.first()?)?;
            let value_name = row.sources.get(1).and_then(|v| text_of(fields, v));
            Some(Value::str(registry_path(&key, value_name)))
        }
        Conversion::Initiated => first().and_then(|t| initiated(&t)).map(Value::str),
        Conversion::NonZero => row
            .sources
            .iter()
            .filter_map(|s| text_of(fields, s))
            .find(|t| hex_or_decimal(t) != Some(0))
            .map(Value::str),
    }
}

/// Adds the second names of a Windows event of `channel` and `event_id` to `fields`, as the
/// table says. Every value is computed from the fields as they were, then written: a target
/// already present is replaced in place, others are appended in table order.
pub(crate) fn add_sigma_names(channel: &str, event_id: i64, fields: &mut Fields) {
    let key = (channel.trim().to_ascii_lowercase(), event_id);
    let Some(rows) = parsed().table.get(&key) else {
        return;
    };
    let mut computed: Vec<(Arc<str>, Value)> = Vec::new();
    for row in rows {
        if let Some(c) = &row.condition {
            if !text_of(fields, &c.field).is_some_and(|v| c.values.contains(&v)) {
                continue;
            }
        }
        if computed.iter().any(|(k, _)| *k == row.target) {
            continue;
        }
        if let Some(v) = value_for(row, fields) {
            computed.push((row.target.clone(), v));
        }
    }
    for (name, v) in computed {
        match fields.iter_mut().find(|(k, _)| *k == name) {
            Some(slot) => slot.1 = v,
            None => fields.push((name, v)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spoor_event::field_text;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| (Arc::from(*k), Value::str(*v)))
            .collect()
    }

    fn get<'a>(f: &'a Fields, name: &str) -> Option<&'a Value> {
        f.iter().find(|(k, _)| &**k == name).map(|(_, v)| v)
    }

    #[test]
    fn table_has_no_bad_rows() {
        assert!(parsed().bad_rows.is_empty(), "{:?}", parsed().bad_rows);
        assert!(parsed().table.contains_key(&("security".to_string(), 4688)));
    }

    #[test]
    fn malformed_rows_are_reported() {
        let p = parse_table(
            "# c\nSecurity\t1\tA\tB\tcopy\nSecurity\tx\tA\tB\tcopy\nSecurity\t1\tA\tB\tnope\n\
             Security\t1\tA\tB\tregpath\nSecurity\t1\tA\tB,\tcopy\nSecurity\t1\tA\tB\tcopy\tbad\n",
        );
        assert_eq!(p.bad_rows, vec![3, 4, 5, 6, 7]);
        assert_eq!(p.table.len(), 1);
    }

    #[test]
    fn security_4688_gets_sysmon_names() {
        let mut f = fields(&[
            ("SubjectUserSid", "S-1-5-82-1"),
            ("SubjectUserName", "DefaultAppPool"),
            ("SubjectDomainName", "IIS APPPOOL"),
            ("SubjectLogonId", "0x3e7"),
            ("TargetLogonId", "0x0"),
            ("NewProcessId", "0x1fc"),
            ("NewProcessName", "C:\\Windows\\System32\\whoami.exe"),
            ("ProcessId", "0x278"),
            ("CommandLine", "whoami /all"),
            ("TargetUserSid", "S-1-0-0"),
            ("TargetUserName", "-"),
            (
                "ParentProcessName",
                "C:\\Windows\\System32\\inetsrv\\w3wp.exe",
            ),
            ("MandatoryLabel", "S-1-16-12288"),
        ]);
        add_sigma_names("Security", 4688, &mut f);
        let t = |n| field_text(&f, n);
        assert_eq!(
            t("Image").as_deref(),
            Some("C:\\Windows\\System32\\whoami.exe")
        );
        assert_eq!(
            t("ParentImage").as_deref(),
            Some("C:\\Windows\\System32\\inetsrv\\w3wp.exe")
        );
        assert_eq!(get(&f, "ProcessId"), Some(&Value::Int(0x1fc)));
        assert_eq!(get(&f, "ParentProcessId"), Some(&Value::Int(0x278)));
        assert_eq!(f.iter().filter(|(k, _)| &**k == "ProcessId").count(), 1);
        assert_eq!(t("User").as_deref(), Some("IIS APPPOOL\\DefaultAppPool"));
        // TargetLogonId 0x0 (not set): the creator's.
        assert_eq!(t("LogonId").as_deref(), Some("0x3e7"));
        assert_eq!(t("IntegrityLevel").as_deref(), Some("High"));
        // The Security names stay.
        assert_eq!(
            t("NewProcessName").as_deref(),
            Some("C:\\Windows\\System32\\whoami.exe")
        );
        assert_eq!(t("CommandLine").as_deref(), Some("whoami /all"));
        // Another channel or event id: nothing added.
        let mut other = fields(&[("NewProcessName", "x")]);
        add_sigma_names("System", 4688, &mut other);
        add_sigma_names("Security", 4624, &mut other);
        assert_eq!(other.len(), 1);
    }

    #[test]
    fn accounts() {
        let mut f = fields(&[
            ("SubjectUserSid", "S-1-5-18"),
            ("SubjectUserName", "PC01$"),
            ("SubjectDomainName", "EXAMPLE"),
        ]);
        add_sigma_names("Security", 4688, &mut f);
        assert_eq!(
            field_text(&f, "User").as_deref(),
            Some("NT AUTHORITY\\SYSTEM")
        );
        let mut f = fields(&[
            ("SubjectUserName", "PC01$"),
            ("SubjectDomainName", "EXAMPLE"),
            ("TargetUserName", "Administrator"),
            ("TargetDomainName", "WINLAB"),
        ]);
        add_sigma_names("Security", 4688, &mut f);
        assert_eq!(
            field_text(&f, "User").as_deref(),
            Some("WINLAB\\Administrator")
        );
        let mut f = fields(&[("SubjectUserName", "bob")]);
        add_sigma_names("Security", 4688, &mut f);
        assert_eq!(field_text(&f, "User").as_deref(), Some("bob"));
    }

    #[test]
    fn registry_network_and_file_events() {
        let mut f = fields(&[
            (
                "ObjectName",
                "\\REGISTRY\\MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run",
            ),
            ("ObjectValueName", "updater"),
            ("NewValue", "C:\\Users\\Public\\u.exe"),
            ("ProcessId", "0x10"),
            ("ProcessName", "C:\\Windows\\reg.exe"),
        ]);
        add_sigma_names("Security", 4657, &mut f);
        assert_eq!(
            field_text(&f, "TargetObject").as_deref(),
            Some("HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\updater")
        );
        assert_eq!(
            field_text(&f, "Details").as_deref(),
            Some("C:\\Users\\Public\\u.exe")
        );
        assert_eq!(get(&f, "ProcessId"), Some(&Value::Int(16)));
        assert_eq!(
            registry_path("\\REGISTRY\\USER\\S-1-5-21-1\\Run", None),
            "HKU\\S-1-5-21-1\\Run"
        );
        assert_eq!(
            registry_path("\\REGISTRY\\MACHINEX", None),
            "\\REGISTRY\\MACHINEX"
        );

        let mut f = fields(&[
            (
                "Application",
                "\\device\\harddiskvolume1\\windows\\system32\\svchost.exe",
            ),
            ("Direction", "%%14593"),
            ("SourceAddress", "10.0.0.5"),
            ("SourcePort", "50000"),
            ("DestAddress", "203.0.113.9"),
            ("DestPort", "443"),
        ]);
        f.push((Arc::from("ProcessID"), Value::Int(820)));
        add_sigma_names("Security", 5156, &mut f);
        assert!(field_text(&f, "Image").unwrap().ends_with("\\svchost.exe"));
        assert_eq!(field_text(&f, "Initiated").as_deref(), Some("true"));
        assert_eq!(field_text(&f, "SourceIp").as_deref(), Some("10.0.0.5"));
        assert_eq!(
            field_text(&f, "DestinationIp").as_deref(),
            Some("203.0.113.9")
        );
        assert_eq!(field_text(&f, "DestinationPort").as_deref(), Some("443"));
        assert_eq!(get(&f, "ProcessId"), Some(&Value::Int(820)));
        assert_eq!(initiated("%%14592"), Some("false"));

        let file = [
            ("ObjectType", "File"),
            ("ObjectName", "C:\\x\\Login Data"),
            ("ProcessName", "C:\\evil.exe"),
        ];
        let mut f = fields(&file);
        add_sigma_names("Security", 4663, &mut f);
        assert_eq!(
            field_text(&f, "FileName").as_deref(),
            Some("C:\\x\\Login Data")
        );
        assert_eq!(field_text(&f, "Image").as_deref(), Some("C:\\evil.exe"));
        // A registry key access is no file access.
        let mut f = fields(&[
            ("ObjectType", "Key"),
            ("ObjectName", "\\REGISTRY\\MACHINE\\X"),
        ]);
        add_sigma_names("Security", 4663, &mut f);
        assert!(field_text(&f, "FileName").is_none());
    }

    #[test]
    fn hostile_values_do_not_panic() {
        for v in [
            "0x",
            "0xZZ",
            "0xffffffffffffffffffff",
            "",
            "-",
            "\u{feff}",
            "\\REGISTRY\\MACHINE",
        ] {
            let mut f = fields(&[
                ("NewProcessId", v),
                ("ProcessId", v),
                ("ObjectName", v),
                ("MandatoryLabel", v),
                ("Direction", v),
            ]);
            add_sigma_names("Security", 4688, &mut f);
            add_sigma_names("Security", 4657, &mut f);
            add_sigma_names("Security", 5156, &mut f);
        }
        assert_eq!(hex_or_decimal("0xZZ"), None);
        assert_eq!(hex_or_decimal("42"), Some(42));
    }
}
