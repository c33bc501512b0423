//! Squid's access.log into Sigma `proxy` fields: the native format and Squid's `combined`.
//!
//! Why a reader of its own: an internet proxy's log is where a compromised host's downloads,
//! beacons and tools' user agents show, and SigmaHQ's proxy rules name their fields after the
//! W3C proxy names (`c-uri`, `c-useragent`, `cs-host`), not the web server ones. Proxy events get
//! raw fields only, no decoded companions (the pack's proxy rules spell encodings out).
//!
//! Native format (`logformat squid`, Squid's default): `%ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm
//! %ru %[un %Sh/%<a %mt`, i.e. `time.ms elapsed client code/status bytes method URL rfc931
//! hierarchy/peer type`, separated by runs of spaces. Squid's `combined` format is Apache's
//! combined (`%>a %[ui %[un [%tl] "%rm %ru HTTP/%rv" %>Hs %<st "%{Referer}>h" "%{User-Agent}>h"
//! %Ss:%Sh`), read by [`crate::access::parse`]; sniffing takes it for a proxy log when its
//! requests are absolute URIs or `CONNECT` targets and its lines end in the `%Ss:%Sh` codes
//! (see [`looks_like_proxy`]); `--format-in squid` reads any combined log as a proxy's.
//!
//! Fields: `c-ip`, `cs-username`, `cs-method`, `c-uri` (the URL as logged), `cs-host` and `r-dns`
//! (its host, without port), `c-uri-stem`, `c-uri-query` (without `?`), `c-uri-extension`,
//! `cs-uri-scheme`, `cs-uri-port`, `sc-status`, `sc-bytes`, `time-taken` (ms), `s-action` (the
//! Squid result code, `TCP_MISS`), `s-hierarchy` and `s-supplier-name` (`DIRECT`, the server),
//! `rs-content-type`; from `combined` also `cs-version`, `cs-referrer` and `c-useragent`. A `-`
//! is `null`. Times are UTC (native: a Unix time; combined: the logged offset).

use crate::access::{split_request, AccessLine};
use chrono::DateTime;
use spoor_event::{Event, LogSource, Value};

/// The log source of every Squid event.
pub(crate) fn logsource() -> LogSource {
    LogSource::new(Some("squid"), Some("proxy"), None)
}

fn text(b: &[u8]) -> Value {
    if b.is_empty() || b == b"-" {
        Value::Null
    } else {
        Value::str(String::from_utf8_lossy(b))
    }
}

fn digits(b: &[u8], max: usize) -> Option<i64> {
    if b.is_empty() || b.len() > max || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// `1286536308.779` -> the time (seconds with up to 9 decimal places).
fn unix_time(b: &[u8]) -> Option<DateTime<chrono::Utc>> {
    let (secs, frac) = match memchr::memchr(b'.', b) {
        Some(i) => (b.get(..i)?, b.get(i + 1..)?),
        None => (b, &b""[..]),
    };
    let secs = digits(secs, 12)?;
    let nanos = if frac.is_empty() {
        0
    } else {
        let n = digits(frac, 9)?;
        let scale = 10i64.pow(9 - frac.len() as u32);
        u32::try_from(n * scale).ok()?
    };
    DateTime::from_timestamp(secs, nanos)
}

/// The parts of a proxy request's URL.
#[derive(Debug, Default, PartialEq)]
struct UrlParts<'a> {
    scheme: Option<&'a [u8]>,
    host: Option<&'a [u8]>,
    port: Option<&'a [u8]>,
    stem: Option<&'a [u8]>,
    query: Option<&'a [u8]>,
}

/// `scheme://host[:port]/path?query`, `host:port` (a CONNECT target) or a bare `/path?query`.
fn split_url(url: &[u8]) -> UrlParts<'_> {
    let mut parts = UrlParts::default();
    let rest = match memchr::memmem::find(url, b"://") {
        Some(i)
            if i > 0
                && url
                    .get(..i)
                    .is_some_and(|s| s.iter().all(u8::is_ascii_alphanumeric)) =>
        {
            parts.scheme = url.get(..i);
            url.get(i + 3..).unwrap_or_default()
        }
        _ if url.starts_with(b"/") => {
            split_path(url, &mut parts);
            return parts;
        }
        _ => url,
    };
    let auth_end = rest
        .iter()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let authority = rest.get(..auth_end).unwrap_or_default();
    // Credentials in the URL (user:pass@host) are not the host.
    let hostport = match memchr::memrchr(b'@', authority) {
        Some(i) => authority.get(i + 1..).unwrap_or_default(),
        None => authority,
    };
    let (host, port) = if hostport.starts_with(b"[") {
        // [v6]:port
        match memchr::memchr(b']', hostport) {
            Some(e) => (
                hostport.get(..=e),
                hostport.get(e + 1..).and_then(|p| p.strip_prefix(b":")),
            ),
            None => (Some(hostport), None),
        }
    } else {
        match memchr::memrchr(b':', hostport) {
            Some(c) => (hostport.get(..c), hostport.get(c + 1..)),
            None => (Some(hostport), None),
        }
    };
    parts.host = host.filter(|h| !h.is_empty());
    parts.port = port.filter(|p| !p.is_empty());
    if let Some(path) = rest.get(auth_end..).filter(|p| !p.is_empty()) {
        split_path(path, &mut parts);
    }
    parts
}

fn split_path<'a>(path: &'a [u8], parts: &mut UrlParts<'a>) {
    let path = match memchr::memchr(b'#', path) {
        Some(i) => path.get(..i).unwrap_or_default(),
        None => path,
    };
    match memchr::memchr(b'?', path) {
        Some(q) => {
            parts.stem = path.get(..q);
            parts.query = path.get(q + 1..);
        }
        None => parts.stem = Some(path),
    }
}

/// The extension of the last path segment (`exe` of `/a/b.exe`), if it has one.
fn extension(stem: &[u8]) -> Option<&[u8]> {
    let last = match memchr::memrchr(b'/', stem) {
        Some(i) => stem.get(i + 1..)?,
        None => stem,
    };
    let dot = memchr::memrchr(b'.', last)?;
    last.get(dot + 1..).filter(|e| !e.is_empty())
}

/// Pushes `c-uri` and the fields cut from it.
fn push_url(ev: &mut Event, url: &[u8]) {
    crate::names::push(ev, "c-uri", text(url));
    let p = split_url(url);
    if let Some(s) = p.scheme {
        crate::names::push(ev, "cs-uri-scheme", text(s));
    }
    if let Some(h) = p.host {
        crate::names::push(ev, "cs-host", text(h));
        crate::names::push(ev, "r-dns", text(h));
    }
    if let Some(port) = p.port {
        let v = digits(port, 5)
            .map(Value::Int)
            .unwrap_or_else(|| text(port));
        crate::names::push(ev, "cs-uri-port", v);
    }
    if let Some(stem) = p.stem {
        crate::names::push(ev, "c-uri-stem", text(stem));
        if let Some(ext) = extension(stem) {
            crate::names::push(ev, "c-uri-extension", text(ext));
        }
    }
    if let Some(q) = p.query {
        crate::names::push(ev, "c-uri-query", text(q));
    }
}

/// The space-separated tokens of a native line (Squid pads the elapsed time with spaces).
fn tokens(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|b| *b == b' ' || *b == b'\t')
        .filter(|t| !t.is_empty())
}

/// Whether `line` is a native-format Squid line (for sniffing; cheaper than [`parse`]).
pub(crate) fn is_native(line: &[u8]) -> bool {
    let mut t = tokens(line);
    t.next().and_then(unix_time).is_some()
        && t.next().and_then(|e| digits(e, 12)).is_some()
        && t.nth(1).is_some_and(|c| memchr::memchr(b'/', c).is_some())
}

/// Parses a native-format line into `ev`.
pub(crate) fn parse_native(line: &[u8], ev: &mut Event) -> Result<(), &'static str> {
    let t: Vec<&[u8]> = tokens(line).take(11).collect();
    let [time, elapsed, client, code, bytes, method, url, user, hier, ctype, ..] = t[..] else {
        return Err("not a Squid native line (fewer than 10 fields)");
    };
    if t.len() > 10 {
        return Err("not a Squid native line (more than 10 fields)");
    }
    ev.timestamp = Some(unix_time(time).ok_or("bad Squid time")?);
    let elapsed = digits(elapsed, 12).ok_or("bad elapsed time")?;
    let (action, status) = code
        .iter()
        .position(|b| *b == b'/')
        .map(|i| {
            (
                code.get(..i).unwrap_or_default(),
                code.get(i + 1..).unwrap_or_default(),
            )
        })
        .ok_or("bad result code/status")?;
    let status = digits(status, 3).ok_or("bad HTTP status")?;
    let bytes = digits(bytes, 18).ok_or("bad byte count")?;
    crate::names::push(ev, "c-ip", text(client));
    crate::names::push(ev, "cs-username", text(user));
    crate::names::push(ev, "cs-method", text(method));
    push_url(ev, url);
    crate::names::push(ev, "sc-status", Value::Int(status));
    crate::names::push(ev, "sc-bytes", Value::Int(bytes));
    crate::names::push(ev, "time-taken", Value::Int(elapsed));
    crate::names::push(ev, "s-action", text(action));
    let (h, peer) = match memchr::memchr(b'/', hier) {
        Some(i) => (
            hier.get(..i).unwrap_or_default(),
            hier.get(i + 1..).unwrap_or_default(),
        ),
        None => (hier, &b""[..]),
    };
    crate::names::push(ev, "s-hierarchy", text(h));
    crate::names::push(ev, "s-supplier-name", text(peer));
    crate::names::push(ev, "rs-content-type", text(ctype));
    Ok(())
}

/// Whether an access-log line's request is a proxy request: an absolute URI or a `CONNECT`.
pub(crate) fn is_proxy_request(a: &AccessLine<'_>) -> bool {
    match split_request(a.request) {
        (Some(m), _, _) if m.eq_ignore_ascii_case(b"CONNECT") => true,
        (_, Some(uri), _) => memchr::memmem::find(uri, b"://").is_some_and(|i| i > 0),
        _ => false,
    }
}

/// The `%Ss:%Sh` that Squid's combined format ends with (`TCP_MISS:HIER_DIRECT`), if present.
fn trailing_codes(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let last = line.rsplit(|b| *b == b' ').next()?;
    let c = memchr::memchr(b':', last)?;
    let (a, h) = (last.get(..c)?, last.get(c + 1..)?);
    let code = |s: &[u8]| !s.is_empty() && s.iter().all(|b| b.is_ascii_uppercase() || *b == b'_');
    (code(a) && code(h)).then_some((a, h))
}

/// Fills `ev` with proxy names from a combined-format line.
pub(crate) fn fill_combined(ev: &mut Event, line: &[u8], a: &AccessLine<'_>) {
    crate::access::fill_request(ev, a, push_url);
    if let Some(r) = a.referer {
        crate::names::push(ev, "cs-referrer", text(r));
    }
    if let Some(u) = a.agent {
        crate::names::push(ev, "c-useragent", text(u));
    }
    if let Some((action, hier)) = trailing_codes(line) {
        crate::names::push(ev, "s-action", text(action));
        crate::names::push(ev, "s-hierarchy", text(hier));
    }
}

/// Parses a line of either Squid format into `ev`.
pub(crate) fn parse(line: &[u8], ev: &mut Event) -> Result<(), &'static str> {
    if is_native(line) {
        return parse_native(line, ev);
    }
    match crate::access::parse(line) {
        Ok(a) => {
            fill_combined(ev, line, &a);
            Ok(())
        }
        Err(_) => Err("not a Squid line (native or combined)"),
    }
}

/// How many of the sniffed lines are a Squid proxy's: native lines, or access-log lines with
/// a proxy request (an absolute URI or a `CONNECT`) that end in Squid's `%Ss:%Sh` codes. The
/// codes are required: a web server's log full of open-proxy probes (`GET http://www.yahoo.com/`)
/// is a web server's log.
pub(crate) fn looks_like_proxy(lines: &[&[u8]]) -> usize {
    lines
        .iter()
        .filter(|l| {
            is_native(l)
                || (trailing_codes(l).is_some()
                    && crate::access::parse(l).is_ok_and(|a| is_proxy_request(&a)))
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use spoor_event::{field_text, Position};

    fn ev(line: &str) -> Result<Event, &'static str> {
        let mut e = Event::new("t", Position::Line(1));
        parse(line.as_bytes(), &mut e).map(|()| e)
    }

    #[test]
    fn native_line() {
        let e = ev("1720432800.123    512 10.1.2.3 TCP_MISS/200 4711 GET http://dl.example.net:8080/tools/a.EXE?x=1&y=2 alice HIER_DIRECT/203.0.113.7 application/octet-stream").unwrap();
        let t = |n| field_text(&e.fields, n);
        assert_eq!(
            e.timestamp.unwrap().to_rfc3339(),
            "2024-07-08T10:00:00.123+00:00"
        );
        assert_eq!(t("c-ip").as_deref(), Some("10.1.2.3"));
        assert_eq!(t("cs-method").as_deref(), Some("GET"));
        assert_eq!(
            t("c-uri").as_deref(),
            Some("http://dl.example.net:8080/tools/a.EXE?x=1&y=2")
        );
        assert_eq!(t("cs-host").as_deref(), Some("dl.example.net"));
        assert_eq!(t("r-dns").as_deref(), Some("dl.example.net"));
        assert_eq!(e.get("cs-uri-port"), Some(&Value::Int(8080)));
        assert_eq!(t("c-uri-stem").as_deref(), Some("/tools/a.EXE"));
        assert_eq!(t("c-uri-extension").as_deref(), Some("EXE"));
        assert_eq!(t("c-uri-query").as_deref(), Some("x=1&y=2"));
        assert_eq!(e.get("sc-status"), Some(&Value::Int(200)));
        assert_eq!(e.get("sc-bytes"), Some(&Value::Int(4711)));
        assert_eq!(e.get("time-taken"), Some(&Value::Int(512)));
        assert_eq!(t("cs-username").as_deref(), Some("alice"));
        assert_eq!(t("s-action").as_deref(), Some("TCP_MISS"));
        assert_eq!(t("s-hierarchy").as_deref(), Some("HIER_DIRECT"));
        assert_eq!(t("s-supplier-name").as_deref(), Some("203.0.113.7"));
        assert_eq!(
            t("rs-content-type").as_deref(),
            Some("application/octet-stream")
        );
    }

    #[test]
    fn connect_and_denied() {
        let e = ev("1720432801.000      0 10.1.2.3 TCP_DENIED/403 3900 CONNECT c2.example.org:443 - HIER_NONE/- text/html").unwrap();
        let t = |n| field_text(&e.fields, n);
        assert_eq!(t("cs-host").as_deref(), Some("c2.example.org"));
        assert_eq!(e.get("cs-uri-port"), Some(&Value::Int(443)));
        assert_eq!(e.get("cs-username"), Some(&Value::Null));
        assert_eq!(e.get("s-supplier-name"), Some(&Value::Null));
        assert!(e.get("c-uri-stem").is_none());
        let e =
            ev("1720432801.5 7 ::1 NONE_NONE/000 0 GET http://[2001:db8::1]:81/ - HIER_NONE/- -")
                .unwrap();
        assert_eq!(
            field_text(&e.fields, "cs-host").as_deref(),
            Some("[2001:db8::1]")
        );
        assert_eq!(e.get("sc-status"), Some(&Value::Int(0)));
    }

    #[test]
    fn combined_line() {
        let e = ev(r#"10.1.2.3 - bob [08/Jul/2024:12:00:00 +0200] "GET http://upd.example.com/x/p.ps1 HTTP/1.1" 200 1234 "http://ref.example.com/" "curl/8.4.0" TCP_MISS:HIER_DIRECT"#).unwrap();
        let t = |n| field_text(&e.fields, n);
        assert_eq!(
            e.timestamp.unwrap().to_rfc3339(),
            "2024-07-08T10:00:00+00:00"
        );
        assert_eq!(t("c-useragent").as_deref(), Some("curl/8.4.0"));
        assert_eq!(t("cs-referrer").as_deref(), Some("http://ref.example.com/"));
        assert_eq!(t("cs-host").as_deref(), Some("upd.example.com"));
        assert_eq!(t("c-uri-extension").as_deref(), Some("ps1"));
        assert_eq!(t("cs-version").as_deref(), Some("HTTP/1.1"));
        assert_eq!(t("s-action").as_deref(), Some("TCP_MISS"));
        assert_eq!(t("cs-username").as_deref(), Some("bob"));
        // Webserver names are not given: proxy rules only.
        assert!(e.get("cs-user-agent").is_none());
    }

    #[test]
    fn bad_lines() {
        for l in [
            "",
            "hello world",
            "1720432800.123 512 10.1.2.3 TCP_MISS/200 4711 GET http://x/ - HIER_DIRECT/y text/html extra",
            "1720432800.123 512 10.1.2.3 TCP_MISS/2000 4711 GET http://x/ - HIER_DIRECT/y text/html",
            "1720432800.123 x 10.1.2.3 TCP_MISS/200 4711 GET http://x/ - HIER_DIRECT/y text/html",
            "99999999999999.1 1 10.1.2.3 TCP_MISS/200 1 GET http://x/ - HIER_DIRECT/y text/html",
            "1.1234567891 1 a B/200 1 GET u - H/- t",
        ] {
            assert!(ev(l).is_err(), "{l}");
        }
        assert!(ev("1.5 1 a B/200 1 GET u - H/- t").is_ok());
    }

    #[test]
    fn url_parts() {
        let p = split_url(b"https://u:p@h.example:8443/a/b.tar.gz?q#frag");
        assert_eq!(p.host, Some(&b"h.example"[..]));
        assert_eq!(p.port, Some(&b"8443"[..]));
        assert_eq!(p.stem, Some(&b"/a/b.tar.gz"[..]));
        assert_eq!(p.query, Some(&b"q"[..]));
        assert_eq!(extension(b"/a/b.tar.gz"), Some(&b"gz"[..]));
        assert_eq!(extension(b"/a.d/b"), None);
        assert_eq!(extension(b"/a/b."), None);
        let p = split_url(b"/relative?x");
        assert_eq!((p.host, p.stem), (None, Some(&b"/relative"[..])));
        assert_eq!(split_url(b"://x").scheme, None);
    }

    #[test]
    fn proxy_shape() {
        let native =
            b"1720432800.123 5 10.1.2.3 TCP_MISS/200 1 GET http://x/ - HIER_DIRECT/y text/html";
        let web = br#"10.1.2.3 - - [08/Jul/2024:12:00:00 +0200] "GET /index.html HTTP/1.1" 200 1 "-" "x""#;
        let proxied = br#"10.1.2.3 - - [08/Jul/2024:12:00:00 +0200] "CONNECT a.example:443 HTTP/1.1" 200 1 "-" "x" TCP_TUNNEL:HIER_DIRECT"#;
        let probe = br#"10.1.2.3 - - [08/Jul/2024:12:00:00 +0200] "GET http://www.example.com/ HTTP/1.1" 403 1 "-" "x""#;
        assert_eq!(
            looks_like_proxy(&[&native[..], &web[..], &proxied[..], &probe[..]]),
            2
        );
    }
}
