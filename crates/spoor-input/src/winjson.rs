//! Windows events exported as JSON -> the field names SigmaHQ rules use.
//!
//! Three shapes are recognised:
//! - evtx_dump / the `evtx` crate: `Event.System.*`, `Event.EventData.*`, `Event.UserData.*`,
//!   with XML attributes under `#attributes` and element text under `#text`;
//! - Winlogbeat ECS: `winlog.event_id`, `winlog.channel`, `winlog.event_data.*`;
//! - flat Winlogbeat/NXLog: `EventID` and `Channel` at the top level (OTRF data sets).
//!
//! All give `EventID` (an integer), `Channel`, `Computer`, `Provider_Name` and the EventData names
//! as top-level fields, and a log source from the [`crate::windows_logsource`] table.
//!
//! Security events that Sigma also classes by category (4688 process creation, 4657, 5156, 4663
//! on files) get Sysmon's names beside their own (`NewProcessName` also as `Image`, ...): see
//! [`crate::winfields`].
//!
//! EventData names with spaces (Windows Defender's `Threat Name`, `Process Name`) are also given
//! without them (`ThreatName`), the form SigmaHQ rules use.

use crate::flatten::{flatten_object, MAX_DEPTH};
use crate::time::{parse_iso, Stamp};
use serde_json::{Map, Value as Json};
use spoor_event::{Fields, LogSource, Value};
use std::sync::Arc;

/// A Windows event found in a JSON object.
pub(crate) struct WinEvent {
    pub fields: Fields,
    pub logsource: LogSource,
    pub time: Option<Stamp>,
}

/// Maps `root` if it has one of the Windows shapes; `None` otherwise.
pub(crate) fn map_windows(root: &Map<String, Json>) -> Option<WinEvent> {
    if let Some(Json::Object(ev)) = root.get("Event") {
        if let Some(Json::Object(system)) = ev.get("System") {
            return Some(map_evtx_shape(ev, system));
        }
    }
    if let Some(Json::Object(winlog)) = root.get("winlog") {
        if winlog.contains_key("event_id") || winlog.contains_key("channel") {
            return Some(map_ecs_shape(root, winlog));
        }
    }
    if root.contains_key("EventID") && root.contains_key("Channel") {
        return Some(map_flat_shape(root));
    }
    None
}

fn as_int(v: &Json) -> Option<i64> {
    match v {
        Json::Number(n) => n.as_i64(),
        Json::String(s) => s.trim().parse().ok(),
        Json::Object(o) => o.get("#text").and_then(as_int),
        _ => None,
    }
}

fn push(out: &mut Fields, name: &str, v: Value) {
    out.push((Arc::from(name), v));
}

/// `#text` of an element, or the value itself.
fn text_value(v: &Json) -> Value {
    match v {
        Json::Object(o) if o.contains_key("#text") => {
            o.get("#text").map(Value::from_json).unwrap_or(Value::Null)
        }
        other => Value::from_json(other),
    }
}

fn finish(mut fields: Fields, time: Option<Stamp>) -> WinEvent {
    let channel = fields
        .iter()
        .find(|(k, _)| &**k == "Channel")
        .and_then(|(_, v)| v.as_text().map(|c| c.into_owned()));
    let id = fields
        .iter()
        .find(|(k, _)| &**k == "EventID")
        .and_then(|(_, v)| match v {
            Value::Int(i) => Some(*i),
            other => other.as_text().and_then(|t| t.trim().parse().ok()),
        });
    if let (Some(c), Some(id)) = (&channel, id) {
        crate::winfields::add_sigma_names(c, id, &mut fields);
    }
    let logsource = crate::kernel::windows_logsource_of(channel.as_deref(), id, &fields);
    WinEvent {
        fields,
        logsource,
        time,
    }
}

fn map_evtx_shape(ev: &Map<String, Json>, system: &Map<String, Json>) -> WinEvent {
    let mut out = Fields::new();
    let mut time = None;
    for (k, v) in system {
        let attrs = v.get("#attributes").and_then(Json::as_object);
        match k.as_str() {
            "EventID" => {
                let id = as_int(v).map(Value::Int).unwrap_or_else(|| text_value(v));
                push(&mut out, "EventID", id);
            }
            "EventRecordID" => {
                let id = as_int(v).map(Value::Int).unwrap_or_else(|| text_value(v));
                push(&mut out, "EventRecordID", id);
            }
            "TimeCreated" => {
                if let Some(st) = attrs
                    .and_then(|a| a.get("SystemTime"))
                    .and_then(Json::as_str)
                {
                    time = parse_iso(st);
                    push(&mut out, "TimeCreated_SystemTime", Value::str(st));
                }
            }
            _ => {
                if let Some(a) = attrs {
                    for (ak, av) in a {
                        push(&mut out, &format!("{k}_{ak}"), Value::from_json(av));
                    }
                    if let Some(t) = v.get("#text") {
                        push(&mut out, k, Value::from_json(t));
                    }
                } else if !v.is_object() {
                    push(&mut out, k, Value::from_json(v));
                }
            }
        }
    }
    if let Some(Json::Object(data)) = ev.get("EventData") {
        event_data(data, &mut out);
    }
    if let Some(Json::Object(user)) = ev.get("UserData") {
        let from = out.len();
        leaves_by_name(user, &mut out, 0);
        alias_spaced_names(&mut out, from);
    }
    finish(out, time)
}

/// Adds the space-free alias of every field pushed since `from` whose name has spaces.
fn alias_spaced_names(out: &mut Fields, from: usize) {
    let extra: Vec<_> = out
        .get(from..)
        .unwrap_or_default()
        .iter()
        .filter(|(k, _)| k.contains(' '))
        .map(|(k, v)| (Arc::from(k.replace(' ', "")), v.clone()))
        .collect();
    out.extend(extra);
}

/// EventData children become top-level fields; an unnamed `<Data>` list stays `Data`.
fn event_data(data: &Map<String, Json>, out: &mut Fields) {
    let from = out.len();
    event_data_fields(data, out);
    alias_spaced_names(out, from);
}

fn event_data_fields(data: &Map<String, Json>, out: &mut Fields) {
    for (k, v) in data {
        if k == "#attributes" {
            continue;
        }
        match v {
            Json::Object(inner) if inner.contains_key("#text") => {
                push(out, k, text_value(v));
            }
            Json::Object(inner) => flatten_object(inner, k, out),
            other => push(out, k, Value::from_json(other)),
        }
    }
}

/// UserData: every leaf element under its own name, whatever its nesting; attributes skipped.
fn leaves_by_name(obj: &Map<String, Json>, out: &mut Fields, depth: usize) {
    for (k, v) in obj {
        if k == "#attributes" {
            continue;
        }
        match v {
            Json::Object(inner) if inner.contains_key("#text") => push(out, k, text_value(v)),
            Json::Object(inner) if depth < MAX_DEPTH => leaves_by_name(inner, out, depth + 1),
            Json::Object(_) => {}
            other => push(out, k, Value::from_json(other)),
        }
    }
}

fn map_ecs_shape(root: &Map<String, Json>, winlog: &Map<String, Json>) -> WinEvent {
    let mut out = Fields::new();
    const RENAMES: [(&str, &str); 6] = [
        ("channel", "Channel"),
        ("computer_name", "Computer"),
        ("provider_name", "Provider_Name"),
        ("provider_guid", "Provider_Guid"),
        ("record_id", "EventRecordID"),
        ("task", "Task"),
    ];
    if let Some(id) = winlog.get("event_id") {
        let v = as_int(id)
            .map(Value::Int)
            .unwrap_or_else(|| Value::from_json(id));
        push(&mut out, "EventID", v);
    }
    for (from, to) in RENAMES {
        if let Some(v) = winlog.get(from) {
            push(&mut out, to, Value::from_json(v));
        }
    }
    if let Some(Json::Object(data)) = winlog.get("event_data") {
        event_data(data, &mut out);
    }
    if let Some(Json::Object(user)) = winlog.get("user_data") {
        leaves_by_name(user, &mut out, 0);
    }
    // Everything else keeps its ECS name, so ECS-style rules still find it.
    let mut rest = Fields::new();
    flatten_object(root, "", &mut rest);
    rest.retain(|(k, _)| {
        !k.starts_with("winlog.event_data.") && !k.starts_with("winlog.user_data.")
    });
    out.extend(rest);
    let time = root
        .get("@timestamp")
        .and_then(Json::as_str)
        .and_then(parse_iso);
    finish(out, time)
}

fn map_flat_shape(root: &Map<String, Json>) -> WinEvent {
    let mut out = Fields::new();
    flatten_object(root, "", &mut out);
    for (k, v) in out.iter_mut() {
        if &**k == "EventID" {
            if let Some(i) = v.as_text().and_then(|t| t.trim().parse::<i64>().ok()) {
                *v = Value::Int(i);
            }
        }
    }
    // NXLog names for the SigmaHQ ones, added when the SigmaHQ name is absent.
    for (from, to) in [("SourceName", "Provider_Name"), ("Hostname", "Computer")] {
        if !out.iter().any(|(k, _)| &**k == to) {
            if let Some(v) = out
                .iter()
                .find(|(k, _)| &**k == from)
                .map(|(_, v)| v.clone())
            {
                push(&mut out, to, v);
            }
        }
    }
    let time = crate::json::find_time(root);
    finish(out, time)
}

#[cfg(test)]
mod tests {
    use super::*;
    use spoor_event::field_text;

    fn obj(s: &str) -> Map<String, Json> {
        serde_json::from_str::<Json>(s)
            .unwrap()
            .as_object()
            .unwrap()
            .clone()
    }

    #[test]
    fn evtx_dump_shape() {
        let o = obj(
            r##"{"Event":{"#attributes":{"xmlns":"x"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon","Guid":"{5770}"}},"EventID":1,"Level":4,"TimeCreated":{"#attributes":{"SystemTime":"2019-03-19T23:34:35.123456Z"}},"EventRecordID":42,"Execution":{"#attributes":{"ProcessID":1,"ThreadID":2}},"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"PC1","Security":{"#attributes":{"UserID":"S-1-5-18"}}},"EventData":{"Image":"C:\\x.exe","CommandLine":"x -y"}}}"##,
        );
        let w = map_windows(&o).unwrap();
        assert_eq!(w.logsource.category.as_deref(), Some("process_creation"));
        assert_eq!(
            w.fields
                .iter()
                .find(|(k, _)| &**k == "EventRecordID")
                .unwrap()
                .1,
            Value::Int(42)
        );
        assert!(w.time.is_some());
        let f = &w.fields;
        assert_eq!(field_text(f, "EventID").as_deref(), Some("1"));
        assert_eq!(
            field_text(f, "Provider_Name").as_deref(),
            Some("Microsoft-Windows-Sysmon")
        );
        assert_eq!(field_text(f, "Computer").as_deref(), Some("PC1"));
        assert_eq!(
            field_text(f, "Security_UserID").as_deref(),
            Some("S-1-5-18")
        );
        assert_eq!(field_text(f, "Execution_ProcessID").as_deref(), Some("1"));
        assert_eq!(field_text(f, "CommandLine").as_deref(), Some("x -y"));
    }

    #[test]
    fn evtx_qualified_event_id_and_userdata() {
        let o = obj(
            r##"{"Event":{"System":{"EventID":{"#attributes":{"Qualifiers":16384},"#text":7045},"Channel":"System"},"UserData":{"LogFileCleared":{"#attributes":{"xmlns":"y"},"SubjectUserName":"bob"}}}}"##,
        );
        let w = map_windows(&o).unwrap();
        assert_eq!(
            w.fields.iter().find(|(k, _)| &**k == "EventID").unwrap().1,
            Value::Int(7045)
        );
        assert_eq!(
            field_text(&w.fields, "SubjectUserName").as_deref(),
            Some("bob")
        );
        assert_eq!(w.logsource.service.as_deref(), Some("system"));
    }

    #[test]
    fn spaced_eventdata_names_get_sigma_aliases() {
        let o = obj(
            r##"{"Event":{"System":{"EventID":1119,"Channel":"Microsoft-Windows-Windows Defender/Operational"},"EventData":{"Threat Name":"EICAR","Path":"x"}}}"##,
        );
        let w = map_windows(&o).unwrap();
        assert_eq!(
            field_text(&w.fields, "Threat Name").as_deref(),
            Some("EICAR")
        );
        assert_eq!(
            field_text(&w.fields, "ThreatName").as_deref(),
            Some("EICAR")
        );
        assert_eq!(w.fields.iter().filter(|(k, _)| &**k == "Path").count(), 1);
        assert_eq!(w.logsource.service.as_deref(), Some("windefend"));
    }

    #[test]
    fn ecs_shape() {
        let o = obj(
            r#"{"@timestamp":"2024-01-01T00:00:00Z","winlog":{"event_id":"4104","channel":"Microsoft-Windows-PowerShell/Operational","computer_name":"h","event_data":{"ScriptBlockText":"iex x"}},"host":{"name":"h"}}"#,
        );
        let w = map_windows(&o).unwrap();
        assert_eq!(w.logsource.category.as_deref(), Some("ps_script"));
        assert_eq!(
            field_text(&w.fields, "ScriptBlockText").as_deref(),
            Some("iex x")
        );
        assert_eq!(field_text(&w.fields, "host.name").as_deref(), Some("h"));
        assert!(field_text(&w.fields, "winlog.event_data.ScriptBlockText").is_none());
        assert_eq!(w.fields[0].1, Value::Int(4104));
    }

    #[test]
    fn flat_shape() {
        let o = obj(
            r#"{"EventID":"13","Channel":"Microsoft-Windows-Sysmon/Operational","SourceName":"Microsoft-Windows-Sysmon","@timestamp":"2020-06-10T02:50:56.537Z","RecordNumber":7}"#,
        );
        let w = map_windows(&o).unwrap();
        assert_eq!(w.logsource.category.as_deref(), Some("registry_set"));
        assert_eq!(
            field_text(&w.fields, "Provider_Name").as_deref(),
            Some("Microsoft-Windows-Sysmon")
        );
        assert_eq!(w.fields[0].1, Value::Int(13));
        assert!(map_windows(&obj(r#"{"a":1}"#)).is_none());
    }
}
