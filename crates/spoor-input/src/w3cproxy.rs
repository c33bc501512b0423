//! W3C extended logs of web proxies (Blue Coat / Symantec ProxySG, Zscaler and others' W3C
//! exports) into Sigma `proxy` fields.
//!
//! Why apart from IIS: the same `#Fields:` layout, but the columns are a proxy's
//! (`cs-uri-scheme`, `cs-uri-path`, `s-action`, `sc-filter-result`, ...) and SigmaHQ's proxy
//! rules name them differently from webserver rules (`c-useragent`, not `cs-user-agent`).
//! A file is such a log when its `#Fields:` name proxy columns ([`is_proxy_fields`]); sniffing
//! decides from the first `#Fields:` line. Values are separated by a space; a value may be
//! quoted (`"Mozilla/5.0 (Windows NT 10.0)"`), `-` is empty. `date` + `time` are UTC.
//!
//! Fields: `cs(User-Agent)` -> `c-useragent`, `cs(Referer)` -> `cs-referrer`, `cs(Cookie)` ->
//! `cs-cookie`, `cs(Host)` -> `cs-host` (also `r-dns`), `cs-uri-path` or `cs-uri-stem` ->
//! `c-uri-stem`, `cs-uri-query` -> `c-uri-query` (without `?`), `cs-uri-extension` ->
//! `c-uri-extension`, `cs-uri` -> `c-uri`, `rs(Content-Type)` -> `rs-content-type`; other
//! columns keep their W3C names (`c-ip`, `cs-method`, `sc-status`, `sc-bytes`, `cs-bytes`,
//! `cs-username`, `s-action`, `time-taken`, ...). Without a `cs-uri` column, `c-uri` is built
//! from scheme, host, port, path and query as the client asked for it.

use crate::time::parse_date_time;
use spoor_event::{Event, LogSource, Value};
use std::sync::Arc;

/// Columns only a proxy's W3C log has.
const PROXY_COLUMNS: [&str; 9] = [
    "s-action",
    "cs-uri-scheme",
    "cs-uri-path",
    "sc-filter-result",
    "x-exception-id",
    "s-hierarchy",
    "s-supplier-name",
    "cs-categories",
    "rs(content-type)",
];

/// Whether the columns of a `#Fields:` directive (the text after it) are a proxy's.
pub(crate) fn is_proxy_fields(fields: &[u8]) -> bool {
    String::from_utf8_lossy(fields)
        .split_ascii_whitespace()
        .any(|c| PROXY_COLUMNS.contains(&c.to_ascii_lowercase().as_str()))
}

/// Whether the first `#Fields:` line of `head` names proxy columns.
pub(crate) fn head_is_proxy(head: &[u8]) -> bool {
    head.split(|b| *b == b'\n')
        .take(64)
        .find_map(|l| l.trim_ascii_start().strip_prefix(b"#Fields:"))
        .is_some_and(is_proxy_fields)
}

/// The log source of every event.
pub(crate) fn logsource() -> LogSource {
    LogSource::new(None, Some("proxy"), None)
}

/// What one line is.
pub(crate) enum ProxyLine {
    /// A `#` directive; not a record.
    Directive,
    /// A record.
    Record(Event),
    /// A record that could not be read.
    Bad(String),
}

/// Reading state: the current columns, as W3C names (lower case) and as event field names.
#[derive(Default)]
pub(crate) struct W3cProxyParser {
    columns: Vec<String>,
    names: Vec<Arc<str>>,
}

fn sigma_name(w3c: &str) -> Arc<str> {
    match w3c {
        "cs(user-agent)" => "c-useragent".into(),
        "cs(referer)" | "cs(referrer)" => "cs-referrer".into(),
        "cs(cookie)" => "cs-cookie".into(),
        "cs(host)" | "cs-host" => "cs-host".into(),
        "cs-uri-path" | "cs-uri-stem" => "c-uri-stem".into(),
        "cs-uri-query" => "c-uri-query".into(),
        "cs-uri-extension" => "c-uri-extension".into(),
        "cs-uri" => "c-uri".into(),
        "rs(content-type)" => "rs-content-type".into(),
        other => other.into(),
    }
}

/// Splits a record into values: separated by spaces, a value starting with `"` runs to the
/// next `"` followed by a space or the end of the line (the quotes are dropped).
fn values(line: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = line;
    loop {
        while let Some(r) = rest.strip_prefix(b" ") {
            rest = r;
        }
        if rest.is_empty() {
            return out;
        }
        if let Some(body) = rest.strip_prefix(b"\"") {
            let end = (0..body.len()).find(|&i| {
                body.get(i) == Some(&b'"') && matches!(body.get(i + 1), None | Some(b' '))
            });
            match end {
                Some(i) => {
                    out.push(body.get(..i).unwrap_or_default());
                    rest = body.get(i + 1..).unwrap_or_default();
                }
                None => {
                    out.push(body);
                    return out;
                }
            }
        } else {
            let end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
            out.push(rest.get(..end).unwrap_or_default());
            rest = rest.get(end..).unwrap_or_default();
        }
    }
}

fn text(b: &[u8]) -> Value {
    if b.is_empty() || b == b"-" {
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

impl W3cProxyParser {
    /// Parses one line; `ev` is a fresh event at the line's position.
    pub(crate) fn line(&mut self, line: &[u8], mut ev: Event) -> ProxyLine {
        if let Some(d) = line.strip_prefix(b"#") {
            if let Some(f) = d.strip_prefix(b"Fields:") {
                self.columns = String::from_utf8_lossy(f)
                    .split_ascii_whitespace()
                    .map(str::to_ascii_lowercase)
                    .collect();
                self.names = self.columns.iter().map(|c| sigma_name(c)).collect();
            }
            return ProxyLine::Directive;
        }
        if self.columns.is_empty() {
            return ProxyLine::Bad("record before any #Fields: directive".into());
        }
        let vals = values(line);
        if vals.len() != self.columns.len() {
            return ProxyLine::Bad(format!(
                "{} values for {} #Fields columns",
                vals.len(),
                self.columns.len()
            ));
        }
        let get = |col: &str| {
            self.columns
                .iter()
                .position(|c| c == col)
                .and_then(|i| vals.get(i).copied())
                .filter(|v| !v.is_empty() && *v != b"-")
        };
        if let (Some(d), Some(t)) = (get("date"), get("time")) {
            ev.timestamp =
                parse_date_time(&String::from_utf8_lossy(d), &String::from_utf8_lossy(t));
            if ev.timestamp.is_none() {
                return ProxyLine::Bad("bad date or time".into());
            }
        }
        for (name, raw) in self.names.iter().zip(&vals) {
            let v = match &**name {
                "c-uri-query" => text(raw.strip_prefix(b"?").unwrap_or(raw)),
                "sc-status" | "sc-bytes" | "cs-bytes" | "time-taken" | "cs-uri-port" | "s-port" => {
                    number(raw)
                }
                _ => text(raw),
            };
            ev.fields.push((name.clone(), v));
        }
        let host = get("cs-host").or_else(|| get("cs(host)"));
        if let Some(h) = host {
            crate::names::push(&mut ev, "r-dns", text(h));
        }
        if get("cs-uri").is_none() {
            if let Some(uri) = build_uri(&get, host) {
                crate::names::push(&mut ev, "c-uri", Value::str(String::from_utf8_lossy(&uri)));
            }
        }
        ProxyLine::Record(ev)
    }
}

/// `scheme://host[:port]path[?query]` from the columns there are; `None` with neither host nor
/// path. The port is left out when it is the scheme's default.
fn build_uri<'a>(get: &dyn Fn(&str) -> Option<&'a [u8]>, host: Option<&[u8]>) -> Option<Vec<u8>> {
    let path = get("cs-uri-path").or_else(|| get("cs-uri-stem"));
    if host.is_none() && path.is_none() {
        return None;
    }
    let mut uri = Vec::new();
    let scheme = get("cs-uri-scheme");
    if let (Some(s), Some(_)) = (scheme, host) {
        uri.extend_from_slice(s);
        uri.extend_from_slice(b"://");
    }
    if let Some(h) = host {
        uri.extend_from_slice(h);
        let port = get("cs-uri-port");
        let default = matches!(
            (scheme.map(<[u8]>::to_ascii_lowercase).as_deref(), port),
            (Some(b"http"), Some(b"80")) | (Some(b"https"), Some(b"443"))
        );
        if let Some(p) = port.filter(|_| !default) {
            uri.push(b':');
            uri.extend_from_slice(p);
        }
    }
    if let Some(p) = path {
        uri.extend_from_slice(p);
    }
    if let Some(q) = get("cs-uri-query") {
        let q = q.strip_prefix(b"?").unwrap_or(q);
        if !q.is_empty() {
            uri.push(b'?');
            uri.extend_from_slice(q);
        }
    }
    Some(uri)
}

#[cfg(test)]
mod tests {
    use super::*;
    use spoor_event::{field_text, Position};

    const FIELDS: &[u8] = b"#Fields: date time time-taken c-ip cs-username s-action sc-status cs-method cs-uri-scheme cs-host cs-uri-port cs-uri-path cs-uri-query cs-uri-extension cs(User-Agent) cs(Referer) rs(Content-Type) sc-bytes cs-bytes";

    fn fresh() -> Event {
        Event::new("t", Position::Line(1))
    }

    fn rec(p: &mut W3cProxyParser, line: &str) -> Event {
        match p.line(line.as_bytes(), fresh()) {
            ProxyLine::Record(e) => e,
            ProxyLine::Bad(r) => panic!("bad: {r}"),
            ProxyLine::Directive => panic!("directive"),
        }
    }

    #[test]
    fn blue_coat_style_record() {
        assert!(is_proxy_fields(FIELDS.strip_prefix(b"#Fields:").unwrap()));
        assert!(!is_proxy_fields(
            b" date time c-ip cs-method cs-uri-stem cs-host sc-status"
        ));
        let mut p = W3cProxyParser::default();
        assert!(matches!(
            p.line(b"#Software: SGOS 6.7.5.3", fresh()),
            ProxyLine::Directive
        ));
        assert!(matches!(p.line(FIELDS, fresh()), ProxyLine::Directive));
        let e = rec(
            &mut p,
            r#"2024-07-08 10:00:00 35 10.1.2.3 alice TCP_NC_MISS 200 GET http dl.example.net 80 /tools/a.exe ?id=7 exe "Mozilla/5.0 (Windows NT 10.0; Win64; x64)" - application/octet-stream 48213 412"#,
        );
        let t = |n| field_text(&e.fields, n);
        assert_eq!(
            e.timestamp.unwrap().to_rfc3339(),
            "2024-07-08T10:00:00+00:00"
        );
        assert_eq!(
            t("c-uri").as_deref(),
            Some("http://dl.example.net/tools/a.exe?id=7")
        );
        assert_eq!(t("c-uri-stem").as_deref(), Some("/tools/a.exe"));
        assert_eq!(t("c-uri-query").as_deref(), Some("id=7"));
        assert_eq!(t("c-uri-extension").as_deref(), Some("exe"));
        assert_eq!(t("cs-host").as_deref(), Some("dl.example.net"));
        assert_eq!(t("r-dns").as_deref(), Some("dl.example.net"));
        assert_eq!(
            t("c-useragent").as_deref(),
            Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64)")
        );
        assert_eq!(e.get("cs-referrer"), Some(&Value::Null));
        assert_eq!(t("s-action").as_deref(), Some("TCP_NC_MISS"));
        assert_eq!(e.get("sc-status"), Some(&Value::Int(200)));
        assert_eq!(e.get("cs-bytes"), Some(&Value::Int(412)));
        assert_eq!(t("cs-method").as_deref(), Some("GET"));
        assert_eq!(t("c-ip").as_deref(), Some("10.1.2.3"));
        // A non-default port is kept in the URI.
        let e = rec(&mut p, "2024-07-08 10:00:01 1 10.1.2.3 - TCP_TUNNELED 200 CONNECT tcp c2.example.org 8443 / - - - - - 0 0");
        assert_eq!(
            field_text(&e.fields, "c-uri").as_deref(),
            Some("tcp://c2.example.org:8443/")
        );
        assert_eq!(e.get("c-uri-query"), Some(&Value::Null));
    }

    #[test]
    fn bad_records_and_quotes() {
        let mut p = W3cProxyParser::default();
        assert!(matches!(
            p.line(b"2024-07-08 10:00:00 x", fresh()),
            ProxyLine::Bad(_)
        ));
        p.line(b"#Fields: date time s-action cs(User-Agent)", fresh());
        assert!(matches!(
            p.line(b"2024-07-08 10:00:00 X", fresh()),
            ProxyLine::Bad(_)
        ));
        assert!(matches!(
            p.line(b"2024-13-08 10:00:00 X a", fresh()),
            ProxyLine::Bad(_)
        ));
        assert_eq!(values(br#"a "b c" "d"#), vec![&b"a"[..], b"b c", b"d"]);
        assert_eq!(values(br#""x"y" z"#), vec![&br#"x"y"#[..], b"z"]);
        assert_eq!(values(b"  "), Vec::<&[u8]>::new());
        assert!(head_is_proxy(
            b"#Software: SGOS\n#Version: 1.0\n#Fields: date time s-action\n"
        ));
        assert!(!head_is_proxy(b"#Software: Microsoft Internet Information Services 10.0\n#Fields: date time cs-uri-stem\n"));
    }
}
