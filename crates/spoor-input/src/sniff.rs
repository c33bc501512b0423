//! Format sniffing from content: the first bytes of the (decompressed) stream decide, not the
//! file name. Line formats are tried on up to 20 lines; the one that parses most of them wins.

use crate::InputFormat;
use chrono::{TimeZone, Utc};
use spoor_event::{Event, Position};

/// The EVTX file magic.
pub(crate) const EVTX_MAGIC: &[u8] = b"ElfFile\0";

/// Guesses the format of a stream from its first bytes; `None` if nothing fits.
pub(crate) fn sniff(head: &[u8]) -> Option<InputFormat> {
    if head.starts_with(EVTX_MAGIC) {
        return Some(InputFormat::Evtx);
    }
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let trimmed = head.trim_ascii_start();
    if trimmed.starts_with(b"{")
        || trimmed.starts_with(b"[{")
        || trimmed.starts_with(b"[\n")
        || trimmed.starts_with(b"[\r")
        || trimmed.starts_with(b"[ ")
        || trimmed == b"["
        || trimmed.starts_with(b"[]")
    {
        return Some(InputFormat::Json);
    }
    if trimmed.starts_with(b"#Software:")
        || trimmed.starts_with(b"#Version:")
        || trimmed.starts_with(b"#Fields:")
    {
        if crate::w3cproxy::head_is_proxy(trimmed) {
            return Some(InputFormat::W3cProxy);
        }
        return Some(InputFormat::Iis);
    }
    let mut lines: Vec<&[u8]> = head.split(|b| *b == b'\n').collect();
    if head.len() >= 4096 && lines.len() > 1 {
        lines.pop(); // possibly cut short
    }
    let lines: Vec<&[u8]> = lines
        .into_iter()
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.trim_ascii().is_empty())
        .take(20)
        .collect();
    if lines.is_empty() {
        return None;
    }
    let count = |f: &dyn Fn(&[u8]) -> bool| lines.iter().filter(|l| f(l)).count();
    let scratch = || Event::new("", Position::Line(0));
    let year =
        crate::syslog::YearRule::FromMtime(Utc.timestamp_opt(0, 0).single().unwrap_or_default());
    let years = crate::syslog::YearTracker::new(year);
    let candidates = [
        (
            InputFormat::WebAccess,
            count(&|l| crate::access::parse(l).is_ok()),
        ),
        (
            InputFormat::Syslog,
            count(&|l| crate::syslog::parse(l, &mut scratch(), &mut years.clone()).is_ok()),
        ),
        (
            InputFormat::WebError,
            count(&|l| crate::weberror::parse(l, &mut scratch()).is_ok()),
        ),
    ];
    let (best, n) = candidates
        .iter()
        .copied()
        .max_by_key(|(_, n)| *n)
        .unwrap_or((InputFormat::WebAccess, 0));
    // A proxy's log: native Squid lines, or Squid's combined format (access-log lines with
    // proxy requests and Squid's result codes); these beat a web server's reading of them.
    let proxy = crate::squid::looks_like_proxy(&lines);
    if proxy > 0 && proxy * 2 >= lines.len() && (best == InputFormat::WebAccess || proxy > n) {
        return Some(InputFormat::Squid);
    }
    if n * 2 >= lines.len() && n > 0 {
        return Some(best);
    }
    delimited(&lines)
}

/// A header row with at least two columns, and following rows with as many separators.
fn delimited(lines: &[&[u8]]) -> Option<InputFormat> {
    let first = lines.first()?;
    for (sep, fmt) in [(b'\t', InputFormat::Tsv), (b',', InputFormat::Csv)] {
        let cols = memchr::memchr_iter(sep, first).count();
        if cols == 0 {
            continue;
        }
        let rest = lines.get(1..).unwrap_or_default();
        let agree = rest
            .iter()
            .filter(|l| memchr::memchr_iter(sep, l).count() >= cols)
            .count();
        if rest.is_empty() || agree * 2 >= rest.len() {
            return Some(fmt);
        }
    }
    None
}

/// The web server product a path names, for access logs whose content cannot say.
pub(crate) fn web_product_from_path(path: &str) -> Option<&'static str> {
    let p = path.to_ascii_lowercase();
    if p.contains("nginx") {
        Some("nginx")
    } else if p.contains("apache") || p.contains("httpd") {
        Some("apache")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_each_format() {
        assert_eq!(sniff(b"ElfFile\0rest"), Some(InputFormat::Evtx));
        assert_eq!(sniff(b"  {\"a\":1}\n"), Some(InputFormat::Json));
        assert_eq!(sniff(b"[{\"a\":1}]"), Some(InputFormat::Json));
        assert_eq!(
            sniff(b"#Software: Microsoft Internet Information Services 10.0\n"),
            Some(InputFormat::Iis)
        );
        assert_eq!(
            sniff(
                b"1.2.3.4 - - [13/Mar/2005:04:05:47 -0500] \"GET / HTTP/1.1\" 200 5 \"-\" \"x\"\n"
            ),
            Some(InputFormat::WebAccess)
        );
        assert_eq!(
            sniff(b"Mar 13 04:05:47 host sshd[1]: x\n"),
            Some(InputFormat::Syslog)
        );
        assert_eq!(
            sniff(b"[Sun Mar 13 04:05:47 2005] [error] x\n"),
            Some(InputFormat::WebError)
        );
        assert_eq!(
            sniff(b"1720432800.123    512 10.1.2.3 TCP_MISS/200 4711 GET http://a.example/ - HIER_DIRECT/203.0.113.7 text/html\n"),
            Some(InputFormat::Squid)
        );
        let squid_combined = b"10.1.2.3 - - [08/Jul/2024:12:00:00 +0200] \"GET http://a.example/ HTTP/1.1\" 200 5 \"-\" \"x\" TCP_MISS:HIER_DIRECT\n\
10.1.2.3 - - [08/Jul/2024:12:00:01 +0200] \"CONNECT a.example:443 HTTP/1.1\" 200 5 \"-\" \"x\" TCP_TUNNEL:HIER_DIRECT\n";
        assert_eq!(sniff(squid_combined), Some(InputFormat::Squid));
        // A web server that saw one proxy probe among its requests is still a web server.
        let web = b"1.2.3.4 - - [13/Mar/2005:04:05:47 -0500] \"GET http://probe.example/ HTTP/1.1\" 400 5 \"-\" \"x\"\n\
1.2.3.4 - - [13/Mar/2005:04:05:48 -0500] \"GET / HTTP/1.1\" 200 5 \"-\" \"x\"\n\
1.2.3.4 - - [13/Mar/2005:04:05:49 -0500] \"GET /a HTTP/1.1\" 200 5 \"-\" \"x\"\n";
        assert_eq!(sniff(web), Some(InputFormat::WebAccess));
        assert_eq!(
            sniff(b"#Software: SGOS 6.7.5.3\n#Version: 1.0\n#Fields: date time c-ip s-action cs-host\n"),
            Some(InputFormat::W3cProxy)
        );
        assert_eq!(sniff(b"a,b,c\n1,2,3\n"), Some(InputFormat::Csv));
        assert_eq!(sniff(b"a\tb\n1\t2\n"), Some(InputFormat::Tsv));
        assert_eq!(sniff(b"just some words\nand more\n"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"\x00\x01\x02\xff"), None);
    }

    #[test]
    fn product_from_path() {
        assert_eq!(
            web_product_from_path("/var/log/nginx/access.log"),
            Some("nginx")
        );
        assert_eq!(
            web_product_from_path("/var/log/httpd/access_log"),
            Some("apache")
        );
        assert_eq!(web_product_from_path("logs/access.log"), None);
    }
}
