//! What a line gate (`spoor_event::LineGate`) sees of a web line before its event is built: the
//! raw bytes, the texts the reader would store that are not slices of them, and single field
//! values on demand.
//!
//! The contract is exactness: every field value the reader would store must be a slice of the
//! raw line or of one of the derived texts (up to lossy UTF-8 replacement, which only ever turns
//! non-ASCII bytes into U+FFFD), and [`GateLine::field`] must give the value the event would
//! hold. Cheap fields are answered from the slices; anything else by building the event once
//! into a scratch event with the reader's own code, so the two can never disagree.

use crate::access::{self, AccessLine};
use crate::iis::IisColumns;
use crate::webdecode::{decode, may_be_encoded, Kind};
use spoor_event::{Event, GateLine, Position, Value};

/// Pushes `text` and a separating newline.
fn push(out: &mut Vec<u8>, text: &[u8]) {
    out.extend_from_slice(text);
    out.push(b'\n');
}

fn lookup(ev: &Event, name: &str) -> Option<Value> {
    ev.fields
        .iter()
        .find(|(n, _)| &**n == name)
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_null())
}

/// An Apache/nginx combined-format line, cut but not built.
pub(crate) struct AccessGateLine<'a> {
    pub raw: &'a [u8],
    pub line: &'a AccessLine<'a>,
}

impl GateLine for AccessGateLine<'_> {
    fn raw(&self) -> &[u8] {
        self.raw
    }

    fn derived_texts(&self, out: &mut Vec<u8>) {
        // Every field is a slice of the line except the decoded companions (and the status and
        // size, whose decimal form is a slice of the digits logged: no sign, leading zeros
        // dropped). A value with nothing to decode is its own companion (up to the lossy
        // UTF-8 replacement, which leaves ASCII alone), so only the others are added.
        let (_, uri, _) = access::split_request(self.line.request);
        if let Some(u) = uri.filter(|u| may_be_encoded(u)) {
            push(out, decode(u, Kind::Uri).as_bytes());
        }
        for h in [self.line.referer, self.line.agent]
            .into_iter()
            .flatten()
            .filter(|h| may_be_encoded(h))
        {
            push(out, decode(h, Kind::Header).as_bytes());
        }
    }

    fn field(&self, name: &str) -> Option<Value> {
        // The request's fields, as `access::fill_request` and `access::push_uri` store them
        // (a test holds every name equal to the built event's).
        let stored = |v: Value| (!v.is_null()).then_some(v);
        let request = || access::split_request(self.line.request);
        let uri = || request().1;
        match name {
            "sc-status" => self.line.status.map(Value::Int),
            "sc-bytes" => self.line.bytes.map(Value::Int),
            "c-ip" => stored(access::text(self.line.client)),
            "cs-method" => request().0.and_then(|m| stored(access::text(m))),
            "cs-version" => request().2.and_then(|v| stored(access::text(v))),
            "cs-uri" => uri().and_then(|u| stored(access::text(u))),
            "cs-uri-decoded" => uri().map(|u| Value::str(decode(u, Kind::Uri))),
            "cs-uri-stem" | "cs-uri-query" => {
                let u = uri()?;
                let (stem, query) = match memchr::memchr(b'?', u) {
                    Some(q) => (u.get(..q).unwrap_or_default(), u.get(q + 1..)),
                    None => (u, None),
                };
                if name == "cs-uri-stem" {
                    stored(access::text(stem))
                } else {
                    query.and_then(|q| stored(access::text(q)))
                }
            }
            "cs-username" => stored(access::text(self.line.user)),
            "cs-host" => self.line.vhost.and_then(|v| stored(access::text(v))),
            "cs-referer" | "cs-user-agent" | "cs-referer-decoded" | "cs-user-agent-decoded" => {
                let raw = if name.starts_with("cs-referer") {
                    self.line.referer
                } else {
                    self.line.agent
                }?;
                let v = stored(access::text(raw))?;
                if name.ends_with("-decoded") {
                    Some(Value::str(decode(raw, Kind::Header)))
                } else {
                    Some(v)
                }
            }
            _ => {
                let mut ev = Event::new("", Position::Line(0));
                access::fill(&mut ev, self.line);
                lookup(&ev, name)
            }
        }
    }
}

/// An IIS W3C line, split into columns but not built.
pub(crate) struct IisGateLine<'a> {
    pub raw: &'a [u8],
    pub cols: &'a IisColumns<'a>,
}

impl GateLine for IisGateLine<'_> {
    fn raw(&self) -> &[u8] {
        self.raw
    }

    fn derived_texts(&self, out: &mut Vec<u8>) {
        self.cols.derived_texts(out);
    }

    fn field(&self, name: &str) -> Option<Value> {
        self.cols.value(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field the gate answers without building the event is the built event's value.
    #[test]
    fn access_fields_answered_from_slices_equal_the_built_event() {
        let lines = [
            r#"10.0.0.1 - bob [13/Mar/2005:04:05:47 -0500] "GET /a/b.php?x=1&y=%2524+z HTTP/1.1" 200 1063 "http://r/" "Mozilla/5.0 (X)""#,
            r#"10.0.0.2 - - [13/Mar/2005:04:05:47 -0500] "GET /plain HTTP/1.0" 404 - "-" "-""#,
            r#"10.0.0.3 - - [13/Mar/2005:04:05:47 -0500] "-" 400 0 "-" "-""#,
            r#"10.0.0.4 - - [13/Mar/2005:04:05:47 -0500] "POST" 400 0 "-" "-""#,
            r#"10.0.0.5 - - [13/Mar/2005:04:05:47 -0500] "GET /a?x=%7C%20id&q= HTTP/1.1 trailing" 200 5 "-" "-""#,
            r#"10.0.0.6 - - [13/Mar/2005:04:05:47 -0500] "GET ? HTTP/1.1" 200 5 "-" "-""#,
            r#"10.0.0.7 - - [13/Mar/2005:04:05:47 -0500] "GET  HTTP/1.1" 200 5 "-" "-""#,
            r#"vhost 10.0.0.8 - - [13/Mar/2005:04:05:47 -0500] "GET /x?%u0041$ HTTP/1.1" 200 5 "-" "-""#,
            r#"10.0.0.9 - u [13/Mar/2005:04:05:47 -0500] "GET / HTTP/1.1" 200 5 "http://a/?q=%3Cx%3E+y" "Mozilla/5.0+(%24{jndi})""#,
            r#"10.0.0.10 - - [13/Mar/2005:04:05:47 -0500] "GET / HTTP/1.1" 200 5 "" """#,
            r#"10.0.0.11 - - [13/Mar/2005:04:05:47 -0500] "GET / HTTP/1.1" 200 5"#,
        ];
        let names = [
            "c-ip",
            "cs-method",
            "cs-version",
            "cs-uri",
            "cs-uri-decoded",
            "cs-uri-stem",
            "cs-uri-query",
            "sc-status",
            "sc-bytes",
            "cs-host",
            "cs-user-agent",
            "cs-referer-decoded",
            "cs-referer",
            "cs-user-agent-decoded",
            "cs-username",
            "nope",
        ];
        for raw in lines {
            let line = access::parse(raw.as_bytes()).expect(raw);
            let gate = AccessGateLine {
                raw: raw.as_bytes(),
                line: &line,
            };
            let mut ev = Event::new("", Position::Line(0));
            access::fill(&mut ev, &line);
            for name in names {
                assert_eq!(gate.field(name), lookup(&ev, name), "{name} of {raw}");
            }
        }
    }
}
