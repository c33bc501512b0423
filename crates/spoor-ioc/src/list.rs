//! Plain indicator lists: one indicator a line (type guessed from its shape) or CSV lines
//! `type,value[,description]`. Defanged values (`hxxp://`, `example[.]com`) are refanged.

use crate::net::{self, Net};
use std::borrow::Cow;
use std::fmt;

/// Indicator types of plain lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IocType {
    /// An IPv4 address.
    Ipv4,
    /// An IPv6 address.
    Ipv6,
    /// A network in CIDR notation (either family).
    Cidr,
    /// A domain; plain lists match it and its subdomains.
    Domain,
    /// A URL; matched as a case-insensitive substring of URL fields.
    Url,
    /// An e-mail address.
    Email,
    /// An MD5 digest.
    Md5,
    /// A SHA-1 digest.
    Sha1,
    /// A SHA-256 digest.
    Sha256,
    /// A file name (its base name is matched, without case).
    FileName,
}

impl IocType {
    /// The CSV name: `ipv4`, `ipv6`, `cidr`, `domain`, `url`, `email`, `md5`, `sha1`, `sha256`,
    /// `filename`.
    pub fn as_str(self) -> &'static str {
        match self {
            IocType::Ipv4 => "ipv4",
            IocType::Ipv6 => "ipv6",
            IocType::Cidr => "cidr",
            IocType::Domain => "domain",
            IocType::Url => "url",
            IocType::Email => "email",
            IocType::Md5 => "md5",
            IocType::Sha1 => "sha1",
            IocType::Sha256 => "sha256",
            IocType::FileName => "filename",
        }
    }

    /// Reads a CSV type name (case-insensitive; `ip`, `hostname` and `file` are accepted too,
    /// and `ip` means either family).
    pub fn from_name(name: &str) -> Option<Option<IocType>> {
        const NAMES: &[(&str, Option<IocType>)] = &[
            ("ip", None),
            ("ip-addr", None),
            ("ipaddress", None),
            ("ipv4", Some(IocType::Ipv4)),
            ("ipv4-addr", Some(IocType::Ipv4)),
            ("ipv6", Some(IocType::Ipv6)),
            ("ipv6-addr", Some(IocType::Ipv6)),
            ("cidr", Some(IocType::Cidr)),
            ("network", Some(IocType::Cidr)),
            ("subnet", Some(IocType::Cidr)),
            ("domain", Some(IocType::Domain)),
            ("hostname", Some(IocType::Domain)),
            ("host", Some(IocType::Domain)),
            ("fqdn", Some(IocType::Domain)),
            ("domain-name", Some(IocType::Domain)),
            ("url", Some(IocType::Url)),
            ("uri", Some(IocType::Url)),
            ("email", Some(IocType::Email)),
            ("email-addr", Some(IocType::Email)),
            ("md5", Some(IocType::Md5)),
            ("sha1", Some(IocType::Sha1)),
            ("sha-1", Some(IocType::Sha1)),
            ("sha256", Some(IocType::Sha256)),
            ("sha-256", Some(IocType::Sha256)),
            ("filename", Some(IocType::FileName)),
            ("file", Some(IocType::FileName)),
            ("file-name", Some(IocType::FileName)),
            ("file_name", Some(IocType::FileName)),
        ];
        let name = name.trim();
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, t)| *t)
    }
}

impl fmt::Display for IocType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One indicator read from a list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ListEntry {
    /// 1-based line.
    pub(crate) line: u32,
    /// Type.
    pub(crate) ioc_type: IocType,
    /// Value, cleaned (refanged; lower case for caseless types; base name for file names).
    pub(crate) value: String,
    /// For addresses and networks, the parsed form.
    pub(crate) net: Option<Net>,
    /// CSV description.
    pub(crate) description: Option<String>,
}

/// A line that is not an indicator.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ListError {
    /// 1-based line.
    pub(crate) line: u32,
    /// Why.
    pub(crate) reason: String,
}

/// Longest line considered.
const MAX_LINE: usize = 16 * 1024;

/// Reads a list. Comments (`#` at the start), blank lines and a CSV header
/// (`type,value,...`) are skipped; every other line is an entry or an error.
pub(crate) fn parse_list(
    text: &str,
    mut entry: impl FnMut(ListEntry),
    mut error: impl FnMut(ListError),
) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (i, raw) in text.lines().enumerate() {
        let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if t.len() > MAX_LINE {
            error(ListError {
                line,
                reason: format!("line longer than {MAX_LINE} bytes"),
            });
            continue;
        }
        match parse_line(t) {
            Ok(Some((ioc_type, value, net, description))) => entry(ListEntry {
                line,
                ioc_type,
                value,
                net,
                description,
            }),
            Ok(None) => {}
            Err(reason) => error(ListError { line, reason }),
        }
    }
}

type Parsed = (IocType, String, Option<Net>, Option<String>);

fn parse_line(t: &str) -> Result<Option<Parsed>, String> {
    if t.contains(',') {
        let cells = split_csv(t);
        if let Some(first) = cells.first() {
            if first.trim().eq_ignore_ascii_case("type") {
                return Ok(None); // header
            }
            if let Some(declared) = IocType::from_name(first) {
                let value = cells.get(1).map(|s| s.trim()).unwrap_or_default();
                if value.is_empty() {
                    return Err(format!("no value after type '{}'", first.trim()));
                }
                let description = match cells.get(2..) {
                    Some([one]) => Some(one.trim().to_string()),
                    Some(rest) if !rest.is_empty() => Some(rest.join(",").trim().to_string()),
                    _ => None,
                }
                .filter(|d| !d.is_empty());
                let (ioc_type, value, net) = classify(value, Some(declared))?;
                return Ok(Some((ioc_type, value, net, description)));
            }
        }
    }
    let (ioc_type, value, net) = classify(t, None)?;
    Ok(Some((ioc_type, value, net, None)))
}

/// Splits a CSV line with double-quote quoting (without copying when there are no quotes).
fn split_csv(line: &str) -> Vec<Cow<'_, str>> {
    if !line.contains('"') {
        return line.split(',').map(Cow::Borrowed).collect();
    }
    let mut cells = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => cells.push(Cow::Owned(std::mem::take(&mut cur))),
            c => cur.push(c),
        }
    }
    cells.push(Cow::Owned(cur));
    cells
}

fn refang(v: &str) -> Cow<'_, str> {
    let v = v.trim();
    let defanged = v.contains(['[', '('])
        || v.get(..2)
            .is_some_and(|p| p.eq_ignore_ascii_case("hx") || p.eq_ignore_ascii_case("fx"));
    if !defanged {
        return Cow::Borrowed(v);
    }
    let mut s = v
        .trim()
        .replace("[.]", ".")
        .replace("(.)", ".")
        .replace("[dot]", ".")
        .replace("[:]", ":")
        .replace("[@]", "@");
    for (from, to) in [
        ("hxxps://", "https://"),
        ("hxxp://", "http://"),
        ("fxp://", "ftp://"),
    ] {
        if s.len() >= from.len()
            && s.get(..from.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(from))
        {
            s = format!("{to}{}", s.get(from.len()..).unwrap_or_default());
        }
    }
    Cow::Owned(s)
}

/// File extensions that make a dotted word a file name rather than a domain.
const FILE_EXTENSIONS: &[&str] = &[
    "exe", "dll", "sys", "jsp", "jspx", "asp", "aspx", "ashx", "asmx", "php", "class", "jar",
    "war", "ps1", "psm1", "bat", "cmd", "vbs", "vbe", "js", "jse", "hta", "lnk", "msi", "scr",
    "cpl", "ocx", "zip", "rar", "7z", "gz", "tar", "doc", "docx", "docm", "xls", "xlsx", "xlsm",
    "ppt", "pptx", "pdf", "rtf", "txt", "log", "tmp", "bin", "dat", "elf", "so", "iso", "img",
    "cfm", "cgi", "ini", "xml", "html", "htm", "config", "dmp", "sh", "py", "pl",
];

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_domain(s: &str) -> bool {
    let s = s.trim_end_matches('.');
    if s.len() > 253 || !s.contains('.') {
        return false;
    }
    let labels: Vec<&str> = s.split('.').collect();
    let tld_ok = labels.last().is_some_and(|t| {
        t.len() >= 2 && t.bytes().all(|b| b.is_ascii_alphabetic()) || t.starts_with("xn--")
    });
    tld_ok
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn has_file_extension(s: &str) -> bool {
    s.rsplit_once('.').is_some_and(|(_, ext)| {
        FILE_EXTENSIONS
            .iter()
            .any(|known| known.eq_ignore_ascii_case(ext))
    })
}

fn basename(s: &str) -> &str {
    s.rsplit(['/', '\\']).next().unwrap_or(s)
}

/// Works out (or checks) the type of a value and cleans it.
fn classify(
    value: &str,
    declared: Option<Option<IocType>>,
) -> Result<(IocType, String, Option<Net>), String> {
    let v = refang(value);
    let v: &str = &v;
    let digest = |len: usize| v.len() == len && is_hex(v);
    let net = net::parse_strict(v);
    let guess = if digest(32) {
        Some(IocType::Md5)
    } else if digest(40) {
        Some(IocType::Sha1)
    } else if digest(64) {
        Some(IocType::Sha256)
    } else if let Some(n) = net {
        Some(match (v.contains('/'), n) {
            (true, _) => IocType::Cidr,
            (false, Net::V4(..)) => IocType::Ipv4,
            (false, Net::V6(..)) => IocType::Ipv6,
        })
    } else if v.contains("://") {
        Some(IocType::Url)
    } else if v
        .split_once('@')
        .is_some_and(|(u, d)| !u.is_empty() && !u.contains(char::is_whitespace) && is_domain(d))
    {
        Some(IocType::Email)
    } else if is_domain(v) && !has_file_extension(v) {
        Some(IocType::Domain)
    } else if !basename(v).is_empty() && has_file_extension(basename(v)) {
        Some(IocType::FileName)
    } else {
        None
    };
    let t = match (declared, guess) {
        (None, Some(g)) => g,
        (None, None) => return Err(format!("cannot tell what kind of indicator '{value}' is")),
        (Some(Some(d)), Some(g)) if d == g => g,
        (Some(None), Some(g @ (IocType::Ipv4 | IocType::Ipv6 | IocType::Cidr))) => g,
        (Some(Some(IocType::Cidr)), Some(IocType::Ipv4 | IocType::Ipv6)) => IocType::Cidr,
        // A declared domain, URL or file name is taken as declared when it has the right shape.
        (Some(Some(IocType::Domain)), _) if is_domain(v) => IocType::Domain,
        (Some(Some(IocType::FileName)), _) if !basename(v).is_empty() => IocType::FileName,
        (Some(Some(IocType::Url)), _) if !v.is_empty() && !v.contains(char::is_whitespace) => {
            IocType::Url
        }
        (Some(d), _) => {
            let name = d.map_or("ip", IocType::as_str);
            return Err(format!("'{value}' is not a valid {name}"));
        }
    };
    let cleaned = match t {
        IocType::Ipv4 | IocType::Ipv6 | IocType::Cidr | IocType::Url => v.to_string(),
        IocType::Domain => v.trim_end_matches('.').to_ascii_lowercase(),
        IocType::FileName => basename(v).to_ascii_lowercase(),
        _ => v.to_ascii_lowercase(),
    };
    Ok((
        t,
        cleaned,
        if matches!(t, IocType::Ipv4 | IocType::Ipv6 | IocType::Cidr) {
            net
        } else {
            None
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Vec<ListEntry>, Vec<ListError>) {
        let (mut e, mut err) = (Vec::new(), Vec::new());
        parse_list(text, |x| e.push(x), |x| err.push(x));
        (e, err)
    }

    fn one(line: &str) -> Result<(IocType, String), String> {
        let (e, err) = parse(line);
        match (e.first(), err.first()) {
            (Some(e), _) => Ok((e.ioc_type, e.value.clone())),
            (_, Some(err)) => Err(err.reason.clone()),
            _ => Err("nothing".into()),
        }
    }

    #[test]
    fn shapes() {
        use IocType::*;
        assert_eq!(one("45.61.136.12").unwrap().0, Ipv4);
        assert_eq!(one("2001:db8::1").unwrap().0, Ipv6);
        assert_eq!(one("10.0.0.0/8").unwrap().0, Cidr);
        assert_eq!(one("2001:db8::/32").unwrap().0, Cidr);
        assert_eq!(
            one("CDN.Example.net").unwrap(),
            (Domain, "cdn.example.net".into())
        );
        assert_eq!(
            one("evil[.]example[.]com").unwrap(),
            (Domain, "evil.example.com".into())
        );
        assert_eq!(
            one("hxxp://evil.example.com/a.jsp").unwrap(),
            (Url, "http://evil.example.com/a.jsp".into())
        );
        assert_eq!(
            one("Bob@Example.com").unwrap(),
            (Email, "bob@example.com".into())
        );
        assert_eq!(one("26A5A7E71A601BE991073C78D513DEE3").unwrap().0, Md5);
        assert_eq!(one(&"a".repeat(40)).unwrap().0, Sha1);
        assert_eq!(one(&"b".repeat(64)).unwrap().0, Sha256);
        assert_eq!(
            one("horizon.jsp").unwrap(),
            (FileName, "horizon.jsp".into())
        );
        assert_eq!(
            one(r"C:\Temp\Evil.EXE").unwrap(),
            (FileName, "evil.exe".into())
        );
        assert!(one("just some words").is_err());
        assert!(one("abc").is_err());
    }

    #[test]
    fn csv_rows() {
        let text = "type,value,description\n# comment\n\nmd5,26a5a7e71a601be991073c78d513dee3,horizon.jsp web shell\nFILENAME,\"Index_jsp$ProxyEndpoint$Attach.class\",\"class, loaded\"\nip,10.1.2.3\nhostname,cdn.example.net\nmd5,nothex\nsha256,\n";
        let (entries, errors) = parse(text);
        assert_eq!(entries.len(), 4, "{entries:?}");
        assert_eq!(entries[0].ioc_type, IocType::Md5);
        assert_eq!(entries[0].line, 4);
        assert_eq!(
            entries[0].description.as_deref(),
            Some("horizon.jsp web shell")
        );
        assert_eq!(entries[1].ioc_type, IocType::FileName);
        assert_eq!(entries[1].value, "index_jsp$proxyendpoint$attach.class");
        assert_eq!(entries[1].description.as_deref(), Some("class, loaded"));
        assert_eq!(entries[2].ioc_type, IocType::Ipv4);
        assert_eq!(entries[3].ioc_type, IocType::Domain);
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].line, 8);
        assert!(
            errors[0].reason.contains("not a valid md5"),
            "{}",
            errors[0].reason
        );
        assert!(errors[1].reason.contains("no value"));
    }

    /// Hostile input: random lines never panic and every non-comment line is accounted for.
    #[test]
    fn random_lines_are_entries_or_errors() {
        const PIECES: &[&str] = &[
            "md5", "ip", ",", "\"", "10.0.0.1", "/", "24", "[.]", "hxxp://", "@", ".", "com",
            "\u{e9}", " ", "::", "ffff", "a", "#", "\\", "exe",
        ];
        let mut x: u64 = 0xdead_beef_cafe_f00d;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut text = String::new();
        for _ in 0..5_000 {
            for _ in 0..next() % 12 {
                let r = next();
                text.push_str(
                    PIECES
                        .get((r % PIECES.len() as u64) as usize)
                        .unwrap_or(&"?"),
                );
            }
            text.push('\n');
        }
        let expected = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim().starts_with('#'))
            .count();
        let (entries, errors) = parse(&text);
        let headers = text
            .lines()
            .filter(|l| {
                split_csv(l.trim())
                    .first()
                    .is_some_and(|c| c.trim().eq_ignore_ascii_case("type"))
            })
            .count();
        assert_eq!(entries.len() + errors.len() + headers, expected);
    }
}
