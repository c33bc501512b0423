//! Apache and nginx error logs as generic events: time, level, module, pid, client and message.
//!
//! Apache: `[Wed Oct 11 14:32:52 2000] [error] [client 1.2.3.4] msg` (2.2) and
//! `[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 12:tid 34] [client 1.2.3.4:5] msg` (2.4).
//! nginx: `2024/01/02 03:04:05 [error] 12#34: *5 msg, client: 1.2.3.4, server: x`.
//! Both write local time without a zone: it is taken as UTC and the file is flagged
//! `timezone_assumed`. Log source: product and service `apache` or `nginx` (SigmaHQ's error log
//! rules say `service: apache` / `service: nginx`).

use chrono::{NaiveDateTime, TimeZone, Utc};
use regex::bytes::Regex;
use spoor_event::{Event, LogSource, Value};
use std::sync::OnceLock;

fn apache_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?-u)^\[(?:[A-Z][a-z]{2}) ([A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d(?:\.\d+)? \d{4})\] \[(?:([A-Za-z0-9_\-]+):)?([a-z]+\d?)\] (.*)$")
            .unwrap_or_else(|_| unreachable!("constant regex"))
    })
}

fn nginx_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?-u)^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[([a-z]+)\] (\d+)#(\d+): (.*)$")
            .unwrap_or_else(|_| unreachable!("constant regex"))
    })
}

fn client_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"\[client ([0-9A-Fa-f.:]+?)(?::(\d+))?\]|, client: ([0-9A-Fa-f.:]+)")
            .unwrap_or_else(|_| unreachable!("constant regex"))
    })
}

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Parses an error log line into `ev`; `Err` if it is neither kind.
pub(crate) fn parse(line: &[u8], ev: &mut Event) -> Result<(), &'static str> {
    if let Some(c) = apache_re().captures(line) {
        let when = c.get(1).map(|m| s(m.as_bytes())).unwrap_or_default();
        let when = when.split_ascii_whitespace().collect::<Vec<_>>().join(" ");
        let t =
            NaiveDateTime::parse_from_str(&when, "%b %d %H:%M:%S%.f %Y").map_err(|_| "bad time")?;
        ev.timestamp = Some(Utc.from_utc_datetime(&t));
        ev.logsource = LogSource::new(Some("apache"), None, Some("apache"));
        if let Some(m) = c.get(2) {
            crate::names::push(ev, "module", s(m.as_bytes()));
        }
        ev.push(
            "level",
            c.get(3).map(|m| s(m.as_bytes())).unwrap_or_default(),
        );
        let msg = c.get(4).map(|m| m.as_bytes()).unwrap_or_default();
        if let Some(cc) = client_re().captures(msg) {
            if let Some(ip) = cc.get(1) {
                crate::names::push(ev, "c-ip", s(ip.as_bytes()));
            }
        }
        crate::names::push(ev, "message", s(msg));
        return Ok(());
    }
    if let Some(c) = nginx_re().captures(line) {
        let when = c.get(1).map(|m| s(m.as_bytes())).unwrap_or_default();
        let t =
            NaiveDateTime::parse_from_str(&when, "%Y/%m/%d %H:%M:%S").map_err(|_| "bad time")?;
        ev.timestamp = Some(Utc.from_utc_datetime(&t));
        ev.logsource = LogSource::new(Some("nginx"), None, Some("nginx"));
        ev.push(
            "level",
            c.get(2).map(|m| s(m.as_bytes())).unwrap_or_default(),
        );
        let pid = c.get(3).and_then(|m| s(m.as_bytes()).parse::<i64>().ok());
        crate::names::push(ev, "pid", pid.map(Value::Int).unwrap_or(Value::Null));
        let msg = c.get(5).map(|m| m.as_bytes()).unwrap_or_default();
        if let Some(cc) = client_re().captures(msg) {
            if let Some(ip) = cc.get(3) {
                crate::names::push(ev, "c-ip", s(ip.as_bytes()));
            }
        }
        crate::names::push(ev, "message", s(msg));
        return Ok(());
    }
    Err("not an Apache or nginx error log line")
}

#[cfg(test)]
mod tests {
    use super::*;
    use spoor_event::{field_text, Position};

    #[test]
    fn apache_22_and_24_and_nginx() {
        let mut e = Event::new("t", Position::Line(1));
        parse(b"[Sun Mar 13 04:05:47 2005] [error] [client 210.116.59.164] File does not exist: /var/www/html/x", &mut e).unwrap();
        assert_eq!(field_text(&e.fields, "level").as_deref(), Some("error"));
        assert_eq!(
            field_text(&e.fields, "c-ip").as_deref(),
            Some("210.116.59.164")
        );
        assert_eq!(e.logsource.service.as_deref(), Some("apache"));
        assert_eq!(
            e.timestamp.unwrap().to_rfc3339(),
            "2005-03-13T04:05:47+00:00"
        );
        let mut e = Event::new("t", Position::Line(1));
        parse(b"[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 12:tid 34] [client 1.2.3.4:5678] AH00037: x", &mut e).unwrap();
        assert_eq!(field_text(&e.fields, "module").as_deref(), Some("core"));
        assert_eq!(field_text(&e.fields, "c-ip").as_deref(), Some("1.2.3.4"));
        let mut e = Event::new("t", Position::Line(1));
        parse(
            b"2024/01/02 03:04:05 [crit] 12#0: *5 open() failed, client: 9.8.7.6, server: x",
            &mut e,
        )
        .unwrap();
        assert_eq!(e.logsource.product.as_deref(), Some("nginx"));
        assert_eq!(field_text(&e.fields, "c-ip").as_deref(), Some("9.8.7.6"));
        assert!(parse(b"random text", &mut Event::new("t", Position::Line(1))).is_err());
        let mut e = Event::new("t", Position::Line(1));
        parse(
            b"[Sun Mar 13 04:05:47 2005] [error] [client 1.2.3.4] bad \xff\xfe request",
            &mut e,
        )
        .unwrap();
        assert_eq!(
            field_text(&e.fields, "message").as_deref(),
            Some("[client 1.2.3.4] bad \u{fffd}\u{fffd} request")
        );
    }
}
