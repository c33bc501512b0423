//! A proxy fixture event (category `proxy`) written out as the proxy would log it and read back
//! by spoor's own readers: a Squid native `access.log` line for `product: squid`, otherwise a
//! W3C extended proxy log (Blue Coat / Zscaler style) under its `#Fields:` header, each field
//! in its own column. The rules then see the fields the product derives (`cs-host` and
//! `c-uri-extension` from the URL for Squid, `c-uri` from the parts for W3C), and a fixture
//! value the reader would not give fails the test.

use crate::readback::{field, logsource_fits, read_one, stated_fields_kept, Empty};
use spoor_event::Event;
use spoor_input::InputFormat;

/// W3C proxy columns by the Sigma field each carries (the reader maps them back).
const W3C_COLUMNS: &[(&str, &str)] = &[
    ("c-ip", "c-ip"),
    ("cs-username", "cs-username"),
    ("cs-method", "cs-method"),
    ("cs-uri", "c-uri"),
    ("cs-host", "cs-host"),
    ("cs-uri-path", "c-uri-stem"),
    ("cs-uri-query", "c-uri-query"),
    ("cs-uri-extension", "c-uri-extension"),
    ("cs(User-Agent)", "c-useragent"),
    ("cs(Referer)", "cs-referrer"),
    ("sc-status", "sc-status"),
    ("sc-bytes", "sc-bytes"),
    ("s-action", "s-action"),
];

/// What a Squid native line carries (the others are derived from the URL by the reader).
const SQUID_FIELDS: &[&str] = &[
    "c-ip",
    "cs-username",
    "cs-method",
    "c-uri",
    "sc-status",
    "sc-bytes",
    "s-action",
    "cs-host",
    "c-uri-stem",
    "c-uri-query",
    "c-uri-extension",
];

/// Reads `fixture` back through the proxy reader of its product.
pub fn read_back(fixture: &Event) -> Result<Event, String> {
    let read = match fixture.logsource.product.as_deref() {
        Some("squid") => read_one(
            "squid/access.log",
            InputFormat::Squid,
            &squid_line(fixture)?,
        )?,
        _ => read_one(
            "proxy/access.log",
            InputFormat::W3cProxy,
            &w3c_log(fixture)?,
        )?,
    };
    logsource_fits(&fixture.logsource, &read.logsource)?;
    stated_fields_kept(fixture, &read, Empty::Dash)?;
    Ok(read)
}

/// `time.ms elapsed client code/status bytes method URL user hierarchy/peer type`.
fn squid_line(ev: &Event) -> Result<String, String> {
    if let Some((name, _)) = ev
        .fields
        .iter()
        .find(|(n, _)| !SQUID_FIELDS.contains(&&**n))
    {
        return Err(format!(
            "a Squid native line carries only {}; not '{name}'",
            SQUID_FIELDS.join(", ")
        ));
    }
    let uri = field(ev, "c-uri").ok_or("a Squid fixture needs c-uri")?;
    if uri.contains(' ') {
        return Err(format!("a URL has no spaces: {uri:?}"));
    }
    let value = |name: &str, default: &str| field(ev, name).unwrap_or_else(|| default.into());
    Ok(format!(
        "1720742400.000     12 {} {}/{} {} {} {} {} HIER_DIRECT/203.0.113.1 application/octet-stream\n",
        value("c-ip", "192.0.2.1"),
        value("s-action", "TCP_MISS"),
        value("sc-status", "200"),
        value("sc-bytes", "512"),
        value("cs-method", "GET"),
        uri,
        value("cs-username", "-"),
    ))
}

/// A `#Fields:` header naming a column per stated field (and `date time`), then one record.
fn w3c_log(ev: &Event) -> Result<String, String> {
    let mut columns = vec!["date", "time"];
    let mut values = vec!["2024-07-12".to_string(), "00:00:00".to_string()];
    for (name, _) in &ev.fields {
        let (column, _) = W3C_COLUMNS
            .iter()
            .find(|(_, sigma)| *sigma == &**name)
            .ok_or_else(|| format!("no W3C proxy column carries '{name}'"))?;
        let v = field(ev, name).unwrap_or_default();
        if v.contains('"') {
            return Err(format!("{name}: a W3C value holds no quote"));
        }
        columns.push(column);
        values.push(match v.as_str() {
            "" => "-".to_string(),
            v if v.contains(' ') => format!("\"{v}\""),
            v => v.to_string(),
        });
    }
    if !columns.contains(&"s-action") {
        columns.push("s-action");
        values.push("TCP_NC_MISS".to_string());
    }
    Ok(format!(
        "#Software: SGOS 7.3\n#Fields: {}\n{}\n",
        columns.join(" "),
        values.join(" ")
    ))
}
