//! Events <-> table rows: the schema, the `JSONEachRow` line an event is inserted as, and the
//! parser of the rows a hunt query sends back (hostile input: a broken or malicious server must
//! not make spoor panic).

use crate::Error;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use spoor_event::{Event, LogSource, Origin, Position, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// `CREATE TABLE` for the events table `db.table` (ReplacingMergeTree: a row is keyed by its
/// file and position, so ingesting the same file again replaces rather than adds).
pub fn create_table_sql(database: &str, table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {database}.{table} (\n\
         \x20 event_key UInt64 DEFAULT cityHash64(path, pos_kind, pos),\n\
         \x20 time Nullable(DateTime64(9, 'UTC')),\n\
         \x20 product LowCardinality(String),\n\
         \x20 category LowCardinality(String),\n\
         \x20 service LowCardinality(String),\n\
         \x20 host String,\n\
         \x20 path String,\n\
         \x20 pos_kind LowCardinality(String),\n\
         \x20 pos UInt64,\n\
         \x20 fields Map(String, Array(String)),\n\
         \x20 nulls Array(String),\n\
         \x20 raw Nullable(String) CODEC(ZSTD(3)),\n\
         \x20 event String CODEC(ZSTD(3))\n\
         ) ENGINE = ReplacingMergeTree\n\
         ORDER BY (path, pos_kind, pos)\n\
         SETTINGS non_replicated_deduplication_window = 100000"
    )
}

/// Fields that name the host an event comes from, first found wins.
const HOST_FIELDS: [&str; 6] = [
    "Computer",
    "Hostname",
    "host",
    "hostname",
    "s-computername",
    "dvchost",
];

#[derive(Serialize)]
struct InsertRow<'a> {
    time: Option<String>,
    product: &'a str,
    category: &'a str,
    service: &'a str,
    host: String,
    path: &'a str,
    pos_kind: &'static str,
    pos: u64,
    fields: BTreeMap<&'a str, Vec<String>>,
    nulls: Vec<&'a str>,
    raw: Option<&'a str>,
    event: String,
}

/// The stored form of what a finding needs back exactly: time and fields with their types and
/// order.
#[derive(Serialize, Deserialize)]
struct Blob {
    #[serde(default)]
    t: Option<String>,
    #[serde(default)]
    f: Vec<(String, serde_json::Value)>,
}

fn pos_parts(p: Position) -> (&'static str, u64) {
    match p {
        Position::Line(n) => ("line", n),
        Position::Record(n) => ("record", n),
        Position::Index(n) => ("index", n),
    }
}

/// Every scalar text of a value, as the Sigma engine sees it (numbers and booleans by their
/// canonical text, arrays element-wise at any depth, nulls skipped).
fn texts_into(v: &Value, out: &mut Vec<String>) {
    let mut stack = vec![v];
    while let Some(item) = stack.pop() {
        match item {
            Value::Array(items) => stack.extend(items.iter().rev()),
            Value::Null => {}
            scalar => {
                if let Some(t) = scalar.as_text() {
                    out.push(t.into_owned());
                }
            }
        }
    }
}

fn time_text(t: &DateTime<Utc>) -> Option<String> {
    use chrono::Datelike;
    // DateTime64(9) holds 1900-01-01 to 2262-04-11.
    (1900..=2261)
        .contains(&t.year())
        .then(|| t.format("%Y-%m-%d %H:%M:%S%.9f").to_string())
}

/// Appends the `JSONEachRow` line of `ev` (with its newline) to `out`.
pub fn push_insert_line(ev: &Event, out: &mut Vec<u8>) {
    let mut fields: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut nulls = Vec::new();
    for (name, value) in &ev.fields {
        let texts = fields.entry(&**name).or_default();
        texts_into(value, texts);
        let nullish = match value {
            Value::Null => true,
            Value::Str(s) => s.is_empty(),
            _ => false,
        };
        if nullish && !nulls.contains(&&**name) {
            nulls.push(&**name);
        }
    }
    let host = HOST_FIELDS
        .iter()
        .find_map(|h| ev.get(h).and_then(Value::as_text))
        .map(|c| c.into_owned())
        .unwrap_or_default();
    let blob = Blob {
        t: ev
            .timestamp
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        f: ev
            .fields
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::to_value(v).unwrap_or_default()))
            .collect(),
    };
    let (pos_kind, pos) = pos_parts(ev.origin.position);
    let ls = &ev.logsource;
    let row = InsertRow {
        time: ev.timestamp.as_ref().and_then(time_text),
        product: ls.product.as_deref().unwrap_or(""),
        category: ls.category.as_deref().unwrap_or(""),
        service: ls.service.as_deref().unwrap_or(""),
        host,
        path: &ev.origin.path,
        pos_kind,
        pos,
        fields,
        nulls,
        raw: ev.raw.as_deref(),
        event: serde_json::to_string(&blob).unwrap_or_default(),
    };
    if serde_json::to_writer(&mut *out, &row).is_ok() {
        out.push(b'\n');
    }
}

/// A row of a hunt query's answer.
#[derive(Debug, Deserialize)]
pub struct HitRow {
    path: String,
    pos_kind: String,
    #[serde(deserialize_with = "de_u64")]
    pos: u64,
    #[serde(default)]
    product: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    raw: Option<String>,
    event: String,
    /// 1-based indexes of the query's rules that matched.
    pub hits: Vec<u32>,
}

/// ClickHouse quotes 64-bit integers in JSON by default: accept both forms.
fn de_u64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrText {
        N(u64),
        T(String),
    }
    match NumOrText::deserialize(d)? {
        NumOrText::N(n) => Ok(n),
        NumOrText::T(t) => t.trim().parse().map_err(serde::de::Error::custom),
    }
}

/// A short, printable preview of bytes for error messages.
pub fn preview(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(120)]).into_owned()
}

/// Parses one answer line.
pub fn parse_hit_row(line: &[u8]) -> Result<HitRow, Error> {
    serde_json::from_slice(line)
        .map_err(|e| Error::Response(format!("bad row ({e}): {}", preview(line))))
}

fn opt(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

impl HitRow {
    /// The event the row stands for, as the local readers made it.
    pub fn to_event(&self) -> Result<Event, Error> {
        let position = match self.pos_kind.as_str() {
            "line" => Position::Line(self.pos),
            "record" => Position::Record(self.pos),
            "index" => Position::Index(self.pos),
            other => {
                return Err(Error::Response(format!(
                    "unknown position kind {:?}",
                    preview(other.as_bytes())
                )))
            }
        };
        let blob: Blob = serde_json::from_str(&self.event).map_err(|e| {
            Error::Response(format!(
                "bad event column ({e}): {}",
                preview(self.event.as_bytes())
            ))
        })?;
        let timestamp = match blob.t.as_deref() {
            None => None,
            Some(t) => Some(
                DateTime::parse_from_rfc3339(t)
                    .map_err(|e| Error::Response(format!("bad event time {t:?}: {e}")))?
                    .with_timezone(&Utc),
            ),
        };
        let fields = blob
            .f
            .iter()
            .map(|(k, v)| (Arc::from(k.as_str()), Value::from_json(v)))
            .collect();
        Ok(Event {
            timestamp,
            logsource: LogSource::new(opt(&self.product), opt(&self.category), opt(&self.service)),
            fields,
            origin: Origin {
                path: Arc::from(self.path.as_str()),
                position,
            },
            raw: self.raw.as_deref().map(Box::from),
            gate_hint: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_survives_the_round_trip() {
        let mut ev = Event::new("logs/a.evtx", Position::Record(7)).with_logsource(LogSource::new(
            Some("windows"),
            None,
            Some("security"),
        ));
        ev.timestamp = Some("2024-03-01T10:00:00.123456789Z".parse().unwrap());
        ev.push("EventID", 4625i64);
        ev.push("Computer", "WS1");
        ev.push("Empty", "");
        ev.push("Nothing", Value::Null);
        ev.push(
            "List",
            Value::Array(vec![Value::Int(1), Value::str("x"), Value::Null]),
        );
        ev.push("F", Value::Float(2.5));
        ev.raw = Some("raw \"line\"\\".into());
        let mut line = Vec::new();
        push_insert_line(&ev, &mut line);
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["fields"]["List"], serde_json::json!(["1", "x"]));
        assert_eq!(v["fields"]["EventID"], serde_json::json!(["4625"]));
        assert_eq!(v["fields"]["Nothing"], serde_json::json!([]));
        assert_eq!(v["nulls"], serde_json::json!(["Empty", "Nothing"]));
        assert_eq!(v["host"], "WS1");
        assert_eq!(v["time"], "2024-03-01 10:00:00.123456789");
        // What the server sends back: the stored columns, 64-bit integers quoted.
        let back = serde_json::json!({
            "path": v["path"], "pos_kind": v["pos_kind"], "pos": "7",
            "product": "windows", "category": "", "service": "security",
            "raw": v["raw"], "event": v["event"], "hits": [1, 3]
        });
        let row = parse_hit_row(back.to_string().as_bytes()).unwrap();
        assert_eq!(row.hits, vec![1, 3]);
        assert_eq!(row.to_event().unwrap(), ev);
    }

    #[test]
    fn damaged_rows_never_panic() {
        let mut ev = Event::new("p", Position::Line(3));
        ev.push(
            "a",
            Value::Array(vec![Value::Int(1), Value::str("\u{0}'\\")]),
        );
        ev.raw = Some("r".into());
        let mut line = Vec::new();
        push_insert_line(&ev, &mut line);
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        let good = serde_json::json!({
            "path": "p", "pos_kind": "line", "pos": 3, "event": v["event"], "hits": [1]
        })
        .to_string()
        .into_bytes();
        // Every truncation and every single-byte change: a row or an error, no panic.
        for cut in 0..good.len() {
            let _ = parse_hit_row(&good[..cut]).map(|r| r.to_event());
        }
        for i in 0..good.len() {
            for b in [b'"', b'\\', b'{', b'9', 0xff, b' '] {
                let mut bad = good.clone();
                bad[i] = b;
                let _ = parse_hit_row(&bad).map(|r| r.to_event());
            }
        }
    }

    #[test]
    fn hostile_rows_are_errors() {
        for bad in [
            &b""[..],
            b"{",
            b"[]",
            b"{\"path\":1}",
            b"{\"path\":\"p\",\"pos_kind\":\"line\",\"pos\":\"-1\",\"event\":\"{}\",\"hits\":[]}",
        ] {
            assert!(parse_hit_row(bad).is_err(), "{:?}", preview(bad));
        }
        let row = parse_hit_row(
            b"{\"path\":\"p\",\"pos_kind\":\"page\",\"pos\":1,\"event\":\"{}\",\"hits\":[1]}",
        )
        .unwrap();
        assert!(row.to_event().is_err());
        let row = parse_hit_row(
            b"{\"path\":\"p\",\"pos_kind\":\"line\",\"pos\":1,\"event\":\"{\\\"t\\\":\\\"x\\\"}\",\"hits\":[1]}",
        )
        .unwrap();
        assert!(row.to_event().is_err());
    }
}
