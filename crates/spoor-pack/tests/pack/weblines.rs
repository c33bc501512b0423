//! A web fixture event written out as the server would log it and read back by spoor's own
//! readers: an Apache/nginx combined line (the product taken from the log's path, as the
//! reader does) or an IIS W3C line under a `#Fields:` header. The rules then see exactly the
//! fields, decoded companions and log source the product gives them; a fixture cannot rely
//! on a field no log line carries.

use crate::readback::{field, read_one};
use spoor_event::Event;
use spoor_input::InputFormat;

/// The fields a web fixture may state: what an access or IIS line carries.
const WEB_FIELDS: &[&str] = &[
    "c-ip",
    "cs-username",
    "cs-method",
    "cs-uri-stem",
    "cs-uri-query",
    "sc-status",
    "sc-bytes",
    "cs-referer",
    "cs-user-agent",
];

/// The IIS columns written, in order (Sigma names map back to W3C ones).
const IIS_COLUMNS: &[(&str, &str)] = &[
    ("date", ""),
    ("time", ""),
    ("cs-method", "cs-method"),
    ("cs-uri-stem", "cs-uri-stem"),
    ("cs-uri-query", "cs-uri-query"),
    ("cs-username", "cs-username"),
    ("c-ip", "c-ip"),
    ("cs(User-Agent)", "cs-user-agent"),
    ("cs(Referer)", "cs-referer"),
    ("sc-status", "sc-status"),
    ("sc-bytes", "sc-bytes"),
];

/// Reads `fixture` (an event with raw web fields and the fixture's log source) back through
/// the reader of its product; the result has the reader's fields and log source.
pub fn read_back(fixture: &Event) -> Result<Event, String> {
    if let Some((name, _)) = fixture
        .fields
        .iter()
        .find(|(n, _)| !WEB_FIELDS.contains(&&**n))
    {
        return Err(format!(
            "web fixtures state only what a log line carries ({}); not '{name}'",
            WEB_FIELDS.join(", ")
        ));
    }
    let product = fixture.logsource.product.as_deref();
    let (path, format, text) = match product {
        Some("iis") => (
            "iis/u_ex240712.log".to_string(),
            InputFormat::Iis,
            iis_log(fixture)?,
        ),
        _ => (
            format!("{}/access.log", product.unwrap_or("www")),
            InputFormat::WebAccess,
            access_line(fixture)?,
        ),
    };
    let ev = read_one(&path, format, &text)?;
    if ev.logsource != fixture.logsource {
        return Err(format!(
            "the reader gives log source {:?}, the fixture says {:?}",
            ev.logsource, fixture.logsource
        ));
    }
    Ok(ev)
}

/// `c-ip - user [time] "METHOD uri HTTP/1.1" status bytes "referer" "agent"`. Values are
/// written as the log holds them (a fixture states Apache's own escapes, such as `\x24`); a
/// bare `"` is refused, since Apache never writes one inside a quoted field.
fn access_line(ev: &Event) -> Result<String, String> {
    let quoted = |name: &str| -> Result<String, String> {
        let v = field(ev, name).unwrap_or_else(|| "-".to_string());
        match v.contains('"') {
            true => Err(format!("{name}: write a quote as Apache logs it (\\\")")),
            false => Ok(v),
        }
    };
    let (referer, agent) = (quoted("cs-referer")?, quoted("cs-user-agent")?);
    let stem = field(ev, "cs-uri-stem").ok_or("a web fixture needs cs-uri-stem")?;
    let uri = match field(ev, "cs-uri-query") {
        Some(q) if !q.is_empty() && q != "-" => format!("{stem}?{q}"),
        _ => stem,
    };
    if uri.contains(' ') {
        return Err(format!("a request URI has no spaces: {uri:?}"));
    }
    Ok(format!(
        "{} - {} [12/Jul/2024:00:00:00 +0000] \"{} {} HTTP/1.1\" {} {} \"{}\" \"{}\"\n",
        field(ev, "c-ip").unwrap_or_else(|| "192.0.2.1".into()),
        field(ev, "cs-username").unwrap_or_else(|| "-".into()),
        field(ev, "cs-method").unwrap_or_else(|| "GET".into()),
        uri.replace('"', "%22"),
        field(ev, "sc-status").unwrap_or_else(|| "200".into()),
        field(ev, "sc-bytes").unwrap_or_else(|| "-".into()),
        referer,
        agent,
    ))
}

/// A `#Fields:` header and one record; IIS writes spaces in headers as `+`, so a value with a
/// space is refused.
fn iis_log(ev: &Event) -> Result<String, String> {
    let mut values = Vec::new();
    for (_, name) in IIS_COLUMNS {
        let v = match *name {
            "" if values.is_empty() => "2024-07-12".to_string(),
            "" => "00:00:00".to_string(),
            n => field(ev, n)
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "-".into()),
        };
        if v.contains(' ') {
            return Err(format!("IIS values have no spaces (write +): {v:?}"));
        }
        values.push(v);
    }
    let columns: Vec<&str> = IIS_COLUMNS.iter().map(|(w3c, _)| *w3c).collect();
    Ok(format!(
        "#Software: Microsoft Internet Information Services 10.0\n#Fields: {}\n{}\n",
        columns.join(" "),
        values.join(" ")
    ))
}
