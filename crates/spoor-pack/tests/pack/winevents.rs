//! A Windows fixture event written out as a flat JSON event (Winlogbeat / NXLog style: `Channel`
//! and `EventID` at the top, the event data beside them) and read back by spoor's JSON reader,
//! which gives the log source from the channel and event id and adds the fields Sigma's
//! taxonomy names (4688's `Image` from `NewProcessName`, ...). The channel is the one that
//! logs the fixture's log source: `Security`, Sysmon for `process_creation` (unless the event
//! is a Security 4688), `MSExchange Management`, the Windows Firewall's; a Linux
//! `process_creation` event is one of Sysmon for Linux (`Linux-Sysmon/Operational`, event 1), the
//! one Linux source that logs the parent process beside the new one.

use crate::readback::{logsource_fits, read_one, stated_fields_kept, Empty};
use spoor_event::{Event, Value};
use spoor_input::InputFormat;

/// Reads `fixture` back through the JSON reader.
pub fn read_back(fixture: &Event) -> Result<Event, String> {
    let read = read_one(
        "windows/events.json",
        InputFormat::Json,
        &json_line(fixture)?,
    )?;
    logsource_fits(&fixture.logsource, &read.logsource)?;
    stated_fields_kept(fixture, &read, Empty::Absent)?;
    Ok(read)
}

/// The channel that logs the fixture's log source, and the event id it gets when it states none.
fn channel(ev: &Event) -> Result<(&'static str, i64), String> {
    let ls = &ev.logsource;
    let event_id = match ev.get("EventID") {
        Some(Value::Int(i)) => Some(*i),
        _ => None,
    };
    if ls.product.as_deref() == Some("linux") {
        return match ls.category.as_deref() {
            Some("process_creation") => Ok(("Linux-Sysmon/Operational", 1)),
            _ => Err(format!("no Linux channel written for log source {ls:?}")),
        };
    }
    Ok(
        match (ls.category.as_deref(), ls.service.as_deref(), event_id) {
            (Some("process_creation"), _, Some(4688)) => ("Security", 4688),
            (Some("process_creation"), _, _) => ("Microsoft-Windows-Sysmon/Operational", 1),
            (None, Some("security"), _) => ("Security", 4624),
            (None, Some("msexchange-management"), _) => ("MSExchange Management", 1),
            (None, Some("firewall-as"), _) => (
                "Microsoft-Windows-Windows Firewall With Advanced Security/Firewall",
                2004,
            ),
            _ => return Err(format!("no Windows channel written for log source {ls:?}")),
        },
    )
}

fn json_value(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => (*b).into(),
        Value::Int(i) => (*i).into(),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        Value::Str(s) => serde_json::Value::String(s.to_string()),
        Value::Array(items) => serde_json::Value::Array(items.iter().map(json_value).collect()),
    }
}

fn json_line(ev: &Event) -> Result<String, String> {
    let (channel, default_id) = channel(ev)?;
    let mut object = serde_json::Map::new();
    object.insert("Channel".into(), channel.into());
    object.insert("EventID".into(), default_id.into());
    for (name, value) in &ev.fields {
        object.insert(name.to_string(), json_value(value));
    }
    Ok(format!("{}\n", serde_json::Value::Object(object)))
}
