//! Windows event log channel and event id -> Sigma log source, read from an embedded table.
//!
//! The table (`data/windows_logsource.tsv`) is data, not code, so that a new channel is one line
//! and the mapping can be reviewed against Sigma's taxonomy at a glance. It is parsed once.

use spoor_event::LogSource;
use std::collections::HashMap;
use std::sync::OnceLock;

const TABLE: &str = include_str!("../data/windows_logsource.tsv");

/// Key: lower-case channel and event id (`None` for the channel's default row).
type Table = HashMap<(String, Option<i64>), LogSource>;

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

fn parse_table(text: &str) -> Parsed {
    let mut table = Table::new();
    let mut bad_rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').map(str::trim).collect();
        let [channel, id, product, category, service] = cols[..] else {
            bad_rows.push(i + 1);
            continue;
        };
        let id = match id {
            "*" => None,
            n => match n.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    bad_rows.push(i + 1);
                    continue;
                }
            },
        };
        let opt = |s: &str| (s != "-" && !s.is_empty()).then(|| s.to_string());
        let ls = LogSource::new(
            opt(product).as_deref(),
            opt(category).as_deref(),
            opt(service).as_deref(),
        );
        table.insert((channel.to_ascii_lowercase(), id), ls);
    }
    Parsed { table, bad_rows }
}

/// The Sigma log source of a Windows event from its `Channel` and `EventID`: the row for the
/// channel and id if there is one, else the channel's default row. `None` for an unknown channel.
///
/// ```
/// let ls = spoor_input::windows_logsource("Microsoft-Windows-Sysmon/Operational", Some(1)).unwrap();
/// assert_eq!(ls.category.as_deref(), Some("process_creation"));
/// assert_eq!(ls.service.as_deref(), Some("sysmon"));
/// ```
pub fn windows_logsource(channel: &str, event_id: Option<i64>) -> Option<LogSource> {
    let table = &parsed().table;
    let key = channel.trim().to_ascii_lowercase();
    if let Some(id) = event_id {
        if let Some(ls) = table.get(&(key.clone(), Some(id))) {
            return Some(ls.clone());
        }
    }
    table.get(&(key, None)).cloned()
}

/// A Windows log source for an event whose channel is not in the table: product `windows` only.
pub(crate) fn windows_default() -> LogSource {
    LogSource::new(Some("windows"), None, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_no_bad_rows() {
        assert!(parsed().bad_rows.is_empty(), "{:?}", parsed().bad_rows);
        assert!(parsed().table.len() > 60);
    }

    #[test]
    fn sysmon_and_powershell() {
        let s = "Microsoft-Windows-Sysmon/Operational";
        let cat =
            |id| windows_logsource(s, Some(id)).and_then(|l| l.category.map(|c| c.to_string()));
        assert_eq!(cat(1).as_deref(), Some("process_creation"));
        assert_eq!(cat(13).as_deref(), Some("registry_set"));
        assert_eq!(cat(22).as_deref(), Some("dns_query"));
        assert_eq!(cat(9999), None);
        assert_eq!(
            windows_logsource(s, Some(9999)).unwrap().service.as_deref(),
            Some("sysmon")
        );
        let ps = windows_logsource("microsoft-windows-powershell/operational", Some(4104)).unwrap();
        assert_eq!(ps.category.as_deref(), Some("ps_script"));
        let classic = windows_logsource("Windows PowerShell", Some(400)).unwrap();
        assert_eq!(classic.category.as_deref(), Some("ps_classic_start"));
        assert_eq!(classic.service.as_deref(), Some("powershell-classic"));
    }

    #[test]
    fn security_and_unknown() {
        let sec = windows_logsource("Security", Some(4624)).unwrap();
        assert_eq!(sec.service.as_deref(), Some("security"));
        assert_eq!(sec.product.as_deref(), Some("windows"));
        assert!(sec.category.is_none());
        assert!(windows_logsource("Made-Up/Channel", Some(1)).is_none());
    }

    #[test]
    fn malformed_rows_are_reported() {
        let p = parse_table("Security\t*\twindows\n\nX\tabc\twindows\t-\tx\n");
        assert_eq!(p.bad_rows, vec![1, 3]);
    }
}
