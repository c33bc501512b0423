//! Apache/nginx access logs, combined and common format, into Sigma webserver fields.
//!
//! Accepted line shape: `[vhost] client ident user [time] "request" status bytes
//! ["referer" "user-agent"] [anything else]`. The parser is hand-written rather than one regex so
//! that hostile lines degrade gracefully: a raw `"` inside the request is found by looking for the
//! quote that is followed by a status and a byte count; a quoted field ends at a quote followed by
//! a space or the end of the line; escapes (`\"`, `\xHH`) are kept in the fields as logged and
//! undone in the `*-decoded` companions (see [`crate::webdecode`]).
//!
//! Fields: `cs-host` (virtual host, when present), `c-ip`, `cs-username`, `cs-method`,
//! `cs-uri-stem`, `cs-uri-query` (without `?`), `cs-uri` (as requested), `cs-version`,
//! `sc-status`, `sc-bytes`, `cs-referer`, `cs-user-agent`, and `cs-uri-decoded`,
//! `cs-referer-decoded`, `cs-user-agent-decoded`. A `-` field is `null`. The combined format alone
//! cannot tell Apache from nginx, so the product is set only when the path says (`apache`,
//! `httpd`, `nginx`); the category is always `webserver`.

use crate::names::intern;
use crate::webdecode::{decode, Kind};
use chrono::{DateTime, Utc};
use spoor_event::{Event, Value};
use std::sync::Arc;

/// One access log line, cut into its parts (slices of the line).
#[derive(Debug, Default, PartialEq)]
pub(crate) struct AccessLine<'a> {
    pub vhost: Option<&'a [u8]>,
    pub client: &'a [u8],
    pub user: &'a [u8],
    pub time: DateTime<Utc>,
    pub request: &'a [u8],
    pub status: Option<i64>,
    pub bytes: Option<i64>,
    pub referer: Option<&'a [u8]>,
    pub agent: Option<&'a [u8]>,
}

pub(crate) fn text(b: &[u8]) -> Value {
    if b == b"-" || b.is_empty() {
        Value::Null
    } else {
        Value::str(String::from_utf8_lossy(b))
    }
}

/// Parses one line, or says why it is not an access log line.
pub(crate) fn parse(line: &[u8]) -> Result<AccessLine<'_>, &'static str> {
    let open = memchr::memchr(b'[', line).ok_or("no [time] field")?;
    let head = line.get(..open).unwrap_or_default();
    let toks: Vec<&[u8]> = head
        .split(|b| *b == b' ')
        .filter(|t| !t.is_empty())
        .collect();
    let (vhost, client, user) = match toks[..] {
        [c, _ident, u] => (None, c, u),
        [v, c, _ident, u] => (Some(v), c, u),
        _ => return Err("expected 3 or 4 fields before [time]"),
    };
    let after_open = line.get(open + 1..).unwrap_or_default();
    let close = memchr::memchr(b']', after_open).ok_or("unterminated [time]")?;
    let time = parse_clf_time(after_open.get(..close).unwrap_or_default()).ok_or("bad time")?;
    let rest = after_open.get(close + 1..).unwrap_or_default();
    let rest = rest.strip_prefix(b" \"").ok_or("no quoted request")?;
    // The request ends at the quote followed by ` status bytes`.
    let mut end = None;
    for q in memchr::memchr_iter(b'"', rest) {
        let tail = rest.get(q + 1..).unwrap_or_default();
        if let Some(parsed) = status_and_bytes(tail) {
            end = Some((q, parsed));
            break;
        }
    }
    let (q, (status, bytes, tail)) = end.ok_or("no status and size after the request")?;
    let request = rest.get(..q).unwrap_or_default();
    let tail = tail.trim_ascii_start();
    let (referer, agent) = if tail.first() == Some(&b'"') {
        let (referer, after) = quoted(tail);
        let after = after.trim_ascii_start();
        if after.first() == Some(&b'"') {
            let (agent, _extra) = quoted(after);
            (Some(referer), Some(agent))
        } else {
            (Some(referer), None)
        }
    } else {
        (None, None)
    };
    Ok(AccessLine {
        vhost,
        client,
        user,
        time,
        request,
        status,
        bytes,
        referer,
        agent,
    })
}

/// `10/Oct/2000:13:55:36 -0700` (Apache's `%t`) in UTC. Hand-written: it runs once per line and
/// a format-string parser was a tenth of the reading time.
pub(crate) fn parse_clf_time(t: &[u8]) -> Option<DateTime<Utc>> {
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let d = t.get(r)?;
        if d.is_empty() || !d.iter().all(u8::is_ascii_digit) {
            return None;
        }
        d.iter().try_fold(0u32, |acc, c| {
            acc.checked_mul(10)?.checked_add(u32::from(c - b'0'))
        })
    };
    if t.len() != 26
        || t.get(2) != Some(&b'/')
        || t.get(6) != Some(&b'/')
        || t.get(11) != Some(&b':')
        || t.get(20) != Some(&b' ')
    {
        return None;
    }
    let day = num(0..2)?;
    let month = crate::time::month_number(t.get(3..6)?)?;
    let year = i32::try_from(num(7..11)?).ok()?;
    let (h, m, s) = (num(12..14)?, num(15..17)?, num(18..20)?);
    if t.get(14) != Some(&b':') || t.get(17) != Some(&b':') {
        return None;
    }
    let sign = match t.get(21)? {
        b'+' => 1i64,
        b'-' => -1i64,
        _ => return None,
    };
    let (oh, om) = (num(22..24)?, num(24..26)?);
    if om > 59 || oh > 23 {
        return None;
    }
    let local = chrono::NaiveDate::from_ymd_opt(year, month, day)?.and_hms_opt(h, m, s)?;
    let offset = sign * (i64::from(oh) * 3600 + i64::from(om) * 60);
    let utc = local.checked_sub_signed(chrono::TimeDelta::try_seconds(offset)?)?;
    Some(utc.and_utc())
}

/// ` 200 1234` (or `-` for either) at the start of `tail`, then a space or the end.
fn status_and_bytes(tail: &[u8]) -> Option<(Option<i64>, Option<i64>, &[u8])> {
    let tail = tail.strip_prefix(b" ")?;
    let sp = memchr::memchr(b' ', tail)?;
    let status = tail.get(..sp)?;
    let after = tail.get(sp + 1..)?;
    let bend = memchr::memchr(b' ', after).unwrap_or(after.len());
    let bytes = after.get(..bend)?;
    let num = |t: &[u8], max: usize| -> Option<Option<i64>> {
        if t == b"-" {
            Some(None)
        } else if !t.is_empty() && t.len() <= max && t.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(t).ok()?.parse().ok().map(Some)
        } else {
            None
        }
    };
    let status = num(status, 3)?;
    let bytes = num(bytes, 18)?;
    Some((status, bytes, after.get(bend..).unwrap_or_default()))
}

/// A quoted field at the start of `s` (which begins with `"`): its content and what follows.
/// It ends at a quote (not escaped by `\`) followed by a space or the end of the line; a line
/// that ends inside the quotes gives the rest of the line.
fn quoted(s: &[u8]) -> (&[u8], &[u8]) {
    let body = s.get(1..).unwrap_or_default();
    let mut i = 0;
    // Only quotes and backslashes matter: jump from one to the next.
    while let Some(k) = body
        .get(i..)
        .and_then(|rest| memchr::memchr2(b'\\', b'"', rest))
    {
        i += k;
        if body.get(i) == Some(&b'\\') {
            i += 2;
            continue;
        }
        if matches!(body.get(i + 1), None | Some(b' ')) {
            return (
                body.get(..i).unwrap_or_default(),
                body.get(i + 1..).unwrap_or_default(),
            );
        }
        i += 1;
    }
    (body, &[])
}

/// The parts of a request line: method, URI, version; `None` for parts it lacks.
type RequestParts<'a> = (Option<&'a [u8]>, Option<&'a [u8]>, Option<&'a [u8]>);

/// Request line `METHOD URI VERSION` into its parts.
pub(crate) fn split_request(req: &[u8]) -> RequestParts<'_> {
    if req.is_empty() || req == b"-" {
        return (None, None, None);
    }
    let first_sp = memchr::memchr(b' ', req);
    let Some(sp) = first_sp else {
        return (Some(req), None, None);
    };
    let method = req.get(..sp);
    let rest = req.get(sp + 1..).unwrap_or_default();
    match memchr::memrchr(b' ', rest) {
        Some(v) if rest.get(v + 1..).is_some_and(|p| p.starts_with(b"HTTP/")) => {
            (method, rest.get(..v), rest.get(v + 1..))
        }
        _ => (method, Some(rest), None),
    }
}

/// Pushes the URI fields (`cs-uri`, `cs-uri-stem`, `cs-uri-query`, `cs-uri-decoded`) of a URI.
pub(crate) fn push_uri(ev: &mut Event, uri: &[u8]) {
    let (stem, query) = match memchr::memchr(b'?', uri) {
        Some(q) => (uri.get(..q).unwrap_or_default(), uri.get(q + 1..)),
        None => (uri, None),
    };
    crate::names::push(ev, "cs-uri-stem", text(stem));
    crate::names::push(ev, "cs-uri-query", query.map(text).unwrap_or(Value::Null));
    crate::names::push(ev, "cs-uri", text(uri));
    crate::names::push(ev, "cs-uri-decoded", Value::str(decode(uri, Kind::Uri)));
}

/// Pushes a header field and its decoded companion (`null` both when the log says `-`).
pub(crate) fn push_header(ev: &mut Event, name: Arc<str>, decoded_name: Arc<str>, raw: &[u8]) {
    let v = text(raw);
    let d = if v.is_null() {
        Value::Null
    } else {
        Value::str(decode(raw, Kind::Header))
    };
    ev.fields.push((name, v));
    ev.fields.push((decoded_name, d));
}

/// Pushes what every combined-format reader names alike: client, user, method, the URI (through
/// `push_uri`, as web servers and proxies name it differently), version, status and bytes.
pub(crate) fn fill_request(
    ev: &mut Event,
    a: &AccessLine<'_>,
    push_uri: impl FnOnce(&mut Event, &[u8]),
) {
    ev.timestamp = Some(a.time);
    crate::names::push(ev, "c-ip", text(a.client));
    crate::names::push(ev, "cs-username", text(a.user));
    let (method, uri, version) = split_request(a.request);
    if let Some(m) = method {
        crate::names::push(ev, "cs-method", text(m));
    }
    if let Some(u) = uri {
        push_uri(ev, u);
    }
    if let Some(v) = version {
        crate::names::push(ev, "cs-version", text(v));
    }
    crate::names::push(
        ev,
        "sc-status",
        a.status.map(Value::Int).unwrap_or(Value::Null),
    );
    crate::names::push(
        ev,
        "sc-bytes",
        a.bytes.map(Value::Int).unwrap_or(Value::Null),
    );
}

/// Fills `ev` from a parsed line.
pub(crate) fn fill(ev: &mut Event, a: &AccessLine<'_>) {
    if let Some(v) = a.vhost {
        crate::names::push(ev, "cs-host", text(v));
    }
    fill_request(ev, a, push_uri);
    if let Some(r) = a.referer {
        push_header(ev, intern("cs-referer"), intern("cs-referer-decoded"), r);
    }
    if let Some(u) = a.agent {
        push_header(
            ev,
            intern("cs-user-agent"),
            intern("cs-user-agent-decoded"),
            u,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spoor_event::{field_text, Position};

    fn ev(line: &str) -> Event {
        let a = parse(line.as_bytes()).unwrap();
        let mut e = Event::new("t", Position::Line(1));
        fill(&mut e, &a);
        e
    }

    #[test]
    fn combined() {
        let e = ev(
            r#"10.0.0.1 - bob [13/Mar/2005:04:05:47 -0500] "GET /a/b.php?x=1&y=%2524 HTTP/1.1" 200 1063 "http://r/" "Mozilla/5.0 (X)""#,
        );
        let t = |n| field_text(&e.fields, n);
        assert_eq!(t("c-ip").as_deref(), Some("10.0.0.1"));
        assert_eq!(t("cs-username").as_deref(), Some("bob"));
        assert_eq!(t("cs-method").as_deref(), Some("GET"));
        assert_eq!(t("cs-uri-stem").as_deref(), Some("/a/b.php"));
        assert_eq!(t("cs-uri-query").as_deref(), Some("x=1&y=%2524"));
        assert_eq!(t("cs-uri").as_deref(), Some("/a/b.php?x=1&y=%2524"));
        assert_eq!(t("cs-uri-decoded").as_deref(), Some("/a/b.php?x=1&y=$"));
        assert_eq!(t("cs-version").as_deref(), Some("HTTP/1.1"));
        assert_eq!(e.get("sc-status"), Some(&Value::Int(200)));
        assert_eq!(e.get("sc-bytes"), Some(&Value::Int(1063)));
        assert_eq!(t("cs-referer").as_deref(), Some("http://r/"));
        assert_eq!(t("cs-user-agent").as_deref(), Some("Mozilla/5.0 (X)"));
        assert_eq!(
            e.timestamp.unwrap().to_rfc3339(),
            "2005-03-13T09:05:47+00:00"
        );
    }

    #[test]
    fn clf_times() {
        let t = |s: &str| parse_clf_time(s.as_bytes()).map(|t| t.to_rfc3339());
        assert_eq!(
            t("10/Oct/2000:13:55:36 -0700").as_deref(),
            Some("2000-10-10T20:55:36+00:00")
        );
        assert_eq!(
            t("01/Jan/2024:00:30:00 +0100").as_deref(),
            Some("2023-12-31T23:30:00+00:00")
        );
        for bad in [
            "10/Oct/2000:13:55:36",
            "32/Oct/2000:13:55:36 -0700",
            "10/Foo/2000:13:55:36 -0700",
            "10/Oct/2000:25:55:36 -0700",
            "10/Oct/2000:13:55:36 x0700",
            "1a/Oct/2000:13:55:36 -0700",
            "10/Oct/2000:13:55:36 -0799",
        ] {
            assert!(t(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn common_vhost_and_dashes() {
        let e = ev(r#"www.x.org:443 1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "-" 408 -"#);
        assert_eq!(
            field_text(&e.fields, "cs-host").as_deref(),
            Some("www.x.org:443")
        );
        assert_eq!(e.get("cs-username"), Some(&Value::Null));
        assert_eq!(e.get("sc-bytes"), Some(&Value::Null));
        assert!(e.get("cs-method").is_none());
        assert!(e.get("cs-user-agent").is_none());
    }

    #[test]
    fn hostile_quotes_and_escapes() {
        let e = ev(
            r#"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET /"evil" HTTP/1.1" 404 5 "-" "curl \"x\" \x1B[0m ${jndi}" extra 0.1"#,
        );
        assert_eq!(
            field_text(&e.fields, "cs-uri").as_deref(),
            Some("/\"evil\"")
        );
        assert_eq!(e.get("cs-referer"), Some(&Value::Null));
        assert_eq!(e.get("cs-referer-decoded"), Some(&Value::Null));
        assert_eq!(
            field_text(&e.fields, "cs-user-agent").as_deref(),
            Some(r#"curl \"x\" \x1B[0m ${jndi}"#)
        );
        assert_eq!(
            field_text(&e.fields, "cs-user-agent-decoded").as_deref(),
            Some("curl \"x\" \u{1b}[0m ${jndi}")
        );
        // A raw quote inside the user agent is kept, not a parse failure.
        let e = ev(
            r#"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.0" 200 5 "-" "Mozilla "evil"x""#,
        );
        assert_eq!(
            field_text(&e.fields, "cs-user-agent").as_deref(),
            Some(r#"Mozilla "evil"x"#)
        );
        // TLS handshake bytes sent to a plain HTTP port.
        let e = ev(
            "1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] \"\\x16\\x03\\x01\\x00\" 400 226 \"-\" \"-\"",
        );
        assert_eq!(
            field_text(&e.fields, "cs-method").as_deref(),
            Some(r"\x16\x03\x01\x00")
        );
    }

    #[test]
    fn rejects_other_lines() {
        for bad in [
            "",
            "hello world",
            "[Sat Mar 12 04:05:47 2005] [error] x",
            "1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] GET / 200 5",
            "1.2.3.4 - - [99/Foo/2024:00:00:00 +0000] \"GET /\" 200 5",
            "1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] \"GET /\" abc 5",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
