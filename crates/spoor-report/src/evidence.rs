//! What a finding shows as its evidence, and which of its fields name a host or a client.
//!
//! Every writer needs the same few facts from a finding in text form; deriving them in one place
//! keeps the table, CSV and HTML in agreement.

use chrono::{DateTime, SecondsFormat, Utc};
use spoor_event::{CorrelationInfo, Finding, Origin, Position, Value};
use std::fmt::Write as _;

/// Event fields that name the host that logged the event, first present wins. Sigma / Windows
/// names first, then web server and common JSON names.
pub const HOST_FIELDS: &[&str] = &[
    "Computer",
    "ComputerName",
    "Hostname",
    "hostname",
    "host",
    "host.name",
    "s-computername",
    "cs-host",
];

/// Event fields that name the remote client, first present wins.
pub const CLIENT_IP_FIELDS: &[&str] = &[
    "c-ip",
    "ClientIP",
    "client_ip",
    "clientip",
    "src_ip",
    "source.ip",
    "SourceIp",
    "SourceAddress",
    "IpAddress",
    "remote_addr",
];

/// The evidence of a finding as one line of text: the original log line when there is one;
/// otherwise the event's fields as `name=value` separated by spaces; for a file finding with no
/// fields, the file's size and hashes. Not sanitised: each writer escapes for its own context.
pub fn evidence_text(f: &Finding) -> String {
    if let Some(c) = &f.correlation {
        return correlation_text(c);
    }
    if let Some(raw) = &f.raw {
        return raw.to_string();
    }
    let mut out = String::new();
    for (k, v) in &f.event {
        if matches!(v, Value::Null) {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        let _ = write!(out, "{k}={v}");
    }
    if out.is_empty() {
        if let Some(file) = &f.file {
            let _ = write!(
                out,
                "size={} md5={} sha1={} sha256={}",
                file.size, file.md5, file.sha1, file.sha256
            );
        }
    }
    out
}

/// A correlation finding in one line: the aggregate, the events, the window and the group.
fn correlation_text(c: &CorrelationInfo) -> String {
    let ts = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    let mut out = format!(
        "{}: {}={} over {} events, {} .. {}",
        c.kind,
        c.aggregate,
        c.value,
        c.events,
        ts(&c.window_start),
        ts(&c.window_end)
    );
    for (k, v) in &c.group {
        let _ = write!(out, " {k}={}", v.as_deref().unwrap_or("(none)"));
    }
    out
}

/// Where a contributing event is, as `path:line` (`#record`, `[index]`).
pub fn origin_text(o: &Origin) -> String {
    match o.position {
        Position::Line(n) => format!("{}:{n}", o.path),
        Position::Record(n) => format!("{}#{n}", o.path),
        Position::Index(n) => format!("{}[{n}]", o.path),
    }
}

fn first_field(f: &Finding, names: &[&str]) -> Option<String> {
    names.iter().find_map(|name| {
        f.event
            .iter()
            .find(|(k, _)| &**k == *name)
            .and_then(|(_, v)| v.as_text())
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty() && t != "-")
    })
}

/// The host named by the finding's event (see [`HOST_FIELDS`]).
pub fn host_of(f: &Finding) -> Option<String> {
    first_field(f, HOST_FIELDS)
}

/// The client address named by the finding's event (see [`CLIENT_IP_FIELDS`]).
pub fn client_ip_of(f: &Finding) -> Option<String> {
    first_field(f, CLIENT_IP_FIELDS)
}

/// RFC 3339 in UTC with the fractional seconds the value has, e.g. `2024-07-08T10:00:00Z`.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Timesketch's `timestamp_desc`: what the time of a finding means.
pub fn timestamp_desc(f: &Finding) -> &'static str {
    if f.file.is_some() && f.event.is_empty() {
        "File Modified"
    } else {
        "Event Time"
    }
}

/// `path:line` (or `path#record`, `path[index]`) for display.
pub fn source_text(f: &Finding) -> String {
    use spoor_event::Position;
    match f.source.position {
        Position::Line(n) => format!("{}:{n}", f.source.path),
        Position::Record(n) => format!("{}#{n}", f.source.path),
        Position::Index(n) => format!("{}[{n}]", f.source.path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spoor_event::{Event, FileInfo, Position, RuleKind, RuleLevel, RuleMeta};
    use std::sync::Arc;

    fn rule() -> Arc<RuleMeta> {
        Arc::new(RuleMeta::new("r", "R", RuleLevel::High, RuleKind::Sigma))
    }

    #[test]
    fn raw_line_wins_then_fields_then_file() {
        let ev = Event::new("a.log", Position::Line(2))
            .with("c-ip", "10.0.0.9")
            .with("sc-status", 200i64);
        let mut f = Finding::from_event(rule(), &ev);
        assert_eq!(evidence_text(&f), "c-ip=10.0.0.9 sc-status=200");
        assert_eq!(client_ip_of(&f).as_deref(), Some("10.0.0.9"));
        assert_eq!(host_of(&f), None);
        f.raw = Some("10.0.0.9 - - GET /".into());
        assert_eq!(evidence_text(&f), "10.0.0.9 - - GET /");
        let mut g = Finding::from_event(rule(), &Event::new("x.aspx", Position::Index(1)));
        g.file = Some(FileInfo {
            size: 3,
            modified: None,
            changed: None,
            md5: "m".into(),
            sha1: "s".into(),
            sha256: "h".into(),
        });
        assert_eq!(evidence_text(&g), "size=3 md5=m sha1=s sha256=h");
        assert_eq!(timestamp_desc(&g), "File Modified");
        assert_eq!(source_text(&g), "x.aspx[1]");
    }
}
