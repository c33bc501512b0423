//! The steps every fixture writer shares: a fixture event, written as its product logs it, is
//! read back by spoor's own reader, must come back as exactly one event, and keeps what the
//! fixture states (its log source parts and field values), so that a fixture cannot rely on a
//! field or log source the reader never gives.

use spoor_event::{field_text, Event, LogSource, Value};
use spoor_input::{read_reader, InputFormat, ReadOptions};

/// Reads `text` as `format` (under the file name `path`, which some readers take the product
/// from) and returns its one event; more, fewer or an unparsed line is an error.
pub fn read_one(path: &str, format: InputFormat, text: &str) -> Result<Event, String> {
    let opts = ReadOptions {
        format: Some(format),
        syslog_year: Some(2024),
        ..ReadOptions::default()
    };
    let mut events = Vec::new();
    let stats = read_reader(path, text.as_bytes(), &opts, |e| events.push(e));
    let unparsed: u64 = stats.iter().map(|s| s.unparsed).sum();
    match (events.pop(), events.is_empty(), unparsed) {
        (Some(ev), true, 0) => Ok(ev),
        _ => Err(format!(
            "the {format:?} reader did not take the text as one event:\n{text}{stats:?}"
        )),
    }
}

/// The text of a field, `None` when absent or null.
pub fn field(ev: &Event, name: &str) -> Option<String> {
    match ev.get(name) {
        None | Some(Value::Null) => None,
        Some(_) => field_text(&ev.fields, name),
    }
}

/// Every log source part the fixture states is the reader's.
pub fn logsource_fits(stated: &LogSource, read: &LogSource) -> Result<(), String> {
    let parts = [
        ("product", &stated.product, &read.product),
        ("category", &stated.category, &read.category),
        ("service", &stated.service, &read.service),
    ];
    for (name, want, got) in parts {
        if want.is_some() && want != got {
            return Err(format!(
                "the reader gives log source {read:?}, the fixture says {stated:?} ({name})"
            ));
        }
    }
    Ok(())
}

/// How a log writes "no value".
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Empty {
    /// Only by leaving the field out (JSON, syslog).
    Absent,
    /// Also as `-` (W3C, Squid and web server logs): a stated `-` is the log's own "no value".
    Dash,
}

/// Every field the fixture states has the same text in the event read back (a stated null,
/// or a stated `-` where the log writes `-` for "no value", must be absent, null or empty
/// there).
pub fn stated_fields_kept(stated: &Event, read: &Event, empty: Empty) -> Result<(), String> {
    for (name, value) in &stated.fields {
        let got = field(read, name).filter(|v| !v.is_empty());
        let want = match value {
            Value::Null => None,
            _ => {
                field(stated, name).filter(|v| !(v.is_empty() || empty == Empty::Dash && v == "-"))
            }
        };
        if got != want {
            return Err(format!(
                "the reader gives {name} = {got:?}, the fixture says {want:?}; read back: {:?}",
                read.fields
            ));
        }
    }
    Ok(())
}
