//! Windows event log channel and event id -> Sigma log source, read from an embedded table.
//!
//! The table (`data/windows_logsource.tsv`) is data, not code, so that a new channel is one line
//! and the mapping can be reviewed against Sigma's taxonomy at a glance. It is parsed once.

use spoor_event::{Fields, LogSource};
use std::collections::HashMap;
use std::sync::OnceLock;

const TABLE: &str = include_str!("../data/windows_logsource.tsv");

/// A row's condition: a field of the event and the values that satisfy it.
#[derive(Debug)]
pub(crate) struct Condition {
    pub(crate) field: String,
    pub(crate) values: Vec<String>,
}

/// Key: lower-case channel and event id (`None` for the channel's default row). Value: the rows,
/// those with a condition first.
type Table = HashMap<(String, Option<i64>), Vec<(Option<Condition>, LogSource)>>;

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

pub(crate) fn parse_condition(text: &str) -> Option<Condition> {
    let (field, values) = text.split_once('=')?;
    let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
    (!field.trim().is_empty() && values.iter().all(|v| !v.is_empty())).then(|| Condition {
        field: field.trim().to_string(),
        values,
    })
}

fn parse_table(text: &str) -> Parsed {
    let mut table = Table::new();
    let mut bad_rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').map(str::trim).collect();
        let (channel, id, product, category, service, cond) = match cols[..] {
            [c, id, p, cat, s] => (c, id, p, cat, s, None),
            [c, id, p, cat, s, cond] => match parse_condition(cond) {
                Some(cond) => (c, id, p, cat, s, Some(cond)),
                None => {
                    bad_rows.push(i + 1);
                    continue;
                }
            },
            _ => {
                bad_rows.push(i + 1);
                continue;
            }
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
        let rows = table.entry((channel.to_ascii_lowercase(), id)).or_default();
        rows.push((cond, ls));
        rows.sort_by_key(|(c, _)| c.is_none());
    }
    Parsed { table, bad_rows }
}

fn lookup(
    channel: &str,
    event_id: Option<i64>,
    field: &dyn Fn(&str) -> Option<String>,
) -> Option<LogSource> {
    let table = &parsed().table;
    let key = channel.trim().to_ascii_lowercase();
    let pick = |rows: &Vec<(Option<Condition>, LogSource)>| {
        rows.iter()
            .find(|(cond, _)| match cond {
                None => true,
                Some(c) => field(&c.field).is_some_and(|v| c.values.contains(&v)),
            })
            .map(|(_, ls)| ls.clone())
    };
    if let Some(id) = event_id {
        if let Some(ls) = table.get(&(key.clone(), Some(id))).and_then(pick) {
            return Some(ls);
        }
    }
    table.get(&(key, None)).and_then(pick)
}

/// The Sigma log source of a Windows event from its `Channel` and `EventID`: the row for the
/// channel and id if there is one, else the channel's default row. `None` for an unknown channel.
/// Rows that depend on other fields (Sysmon 12 deletions) are not considered: use
/// [`windows_logsource_for`] when the event's fields are at hand.
///
/// ```
/// let ls = spoor_input::windows_logsource("Microsoft-Windows-Sysmon/Operational", Some(1)).unwrap();
/// assert_eq!(ls.category.as_deref(), Some("process_creation"));
/// assert_eq!(ls.service.as_deref(), Some("sysmon"));
/// ```
pub fn windows_logsource(channel: &str, event_id: Option<i64>) -> Option<LogSource> {
    lookup(channel, event_id, &|_| None)
}

/// Like [`windows_logsource`], also applying the table's conditions on the event's own fields
/// (e.g. Sysmon 12 with `EventType` `DeleteKey` is `registry_delete`).
pub fn windows_logsource_for(
    channel: &str,
    event_id: Option<i64>,
    fields: &Fields,
) -> Option<LogSource> {
    lookup(channel, event_id, &|name| {
        fields
            .iter()
            .find(|(k, _)| &**k == name)
            .and_then(|(_, v)| v.as_text().map(|t| t.into_owned()))
    })
}

/// A Windows log source for an event whose channel is not in the table: product `windows` only.
/// Every log source the table gives, plus the default of unknown channels.
pub(crate) fn all_logsources() -> Vec<LogSource> {
    let mut out: Vec<LogSource> = parsed()
        .table
        .values()
        .flat_map(|rows| rows.iter().map(|(_, ls)| ls.clone()))
        .collect();
    out.push(windows_default());
    out
}

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
        let p = parse_table(
            "Security\t*\twindows\n\nX\tabc\twindows\t-\tx\nY\t1\twindows\t-\tx\tnocondition\n",
        );
        assert_eq!(p.bad_rows, vec![1, 3, 4]);
    }

    #[test]
    fn conditional_rows() {
        let s = "Microsoft-Windows-Sysmon/Operational";
        let del: Fields = vec![("EventType".into(), spoor_event::Value::str("DeleteKey"))];
        let add: Fields = vec![("EventType".into(), spoor_event::Value::str("CreateKey"))];
        let cat = |f: &Fields| {
            windows_logsource_for(s, Some(12), f).and_then(|l| l.category.map(|c| c.to_string()))
        };
        assert_eq!(cat(&del).as_deref(), Some("registry_delete"));
        assert_eq!(cat(&add).as_deref(), Some("registry_add"));
        assert_eq!(cat(&Fields::new()).as_deref(), Some("registry_add"));
        assert_eq!(
            windows_logsource(s, Some(12)).unwrap().category.as_deref(),
            Some("registry_add")
        );
    }
}
