//! The rows a correlation query sends back (one per finding) -> the correlation findings the
//! local engine makes. Hostile input like every answer: a broken server makes an error, never a
//! panic.

use crate::row::preview;
use crate::Error;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use spoor_event::{CorrelationInfo, Finding, LogSource, Origin, Position, Value};
use spoor_sigma::CorrelationView;
use std::sync::Arc;

/// One finding of a correlation query, as the server wrote it.
#[derive(Debug, Deserialize)]
pub struct CorrelationRow {
    start: String,
    end: String,
    value: String,
    events: String,
    key: Vec<Option<String>>,
    o_path: Vec<String>,
    o_kind: Vec<String>,
    o_pos: Vec<String>,
    #[serde(default)]
    product: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    service: String,
}

/// Parses one answer line of a correlation query.
pub fn parse_correlation_row(line: &[u8]) -> Result<CorrelationRow, Error> {
    serde_json::from_slice(line)
        .map_err(|e| Error::Response(format!("bad correlation row ({e}): {}", preview(line))))
}

fn bad(what: &str, text: &str) -> Error {
    Error::Response(format!(
        "bad {what} in a correlation row: {:?}",
        preview(text.as_bytes())
    ))
}

fn time_of(ns: &str) -> Result<DateTime<Utc>, Error> {
    let n: i64 = ns.trim().parse().map_err(|_| bad("time", ns))?;
    Ok(DateTime::from_timestamp_nanos(n))
}

fn position(kind: &str, pos: &str) -> Result<Position, Error> {
    let n: u64 = pos.trim().parse().map_err(|_| bad("position", pos))?;
    match kind {
        "line" => Ok(Position::Line(n)),
        "record" => Ok(Position::Record(n)),
        "index" => Ok(Position::Index(n)),
        other => Err(bad("position kind", other)),
    }
}

fn opt(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

impl CorrelationRow {
    /// The finding of correlation `c` the row stands for, built as the local engine builds it.
    pub fn to_finding(&self, c: &CorrelationView) -> Result<Finding, Error> {
        let names = c.group_names();
        if self.key.len() != names.len() {
            return Err(Error::Response(format!(
                "a correlation row with {} group values for {} group fields",
                self.key.len(),
                names.len()
            )));
        }
        if self.o_path.len() != self.o_kind.len() || self.o_path.len() != self.o_pos.len() {
            return Err(Error::Response(
                "a correlation row with origin lists of different lengths".into(),
            ));
        }
        let origins = self
            .o_path
            .iter()
            .zip(&self.o_kind)
            .zip(&self.o_pos)
            .take(CorrelationInfo::MAX_ORIGINS)
            .map(|((p, k), n)| {
                Ok(Origin {
                    path: Arc::from(p.as_str()),
                    position: position(k, n)?,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let start = time_of(&self.start)?;
        let end = time_of(&self.end)?;
        let value: f64 = self
            .value
            .trim()
            .parse()
            .map_err(|_| bad("value", &self.value))?;
        let events: u64 = self
            .events
            .trim()
            .parse()
            .map_err(|_| bad("event count", &self.events))?;
        let group: Vec<(String, Option<String>)> = names
            .iter()
            .zip(&self.key)
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect();
        let event = group
            .iter()
            .map(|(n, v)| {
                (
                    Arc::from(n.as_str()),
                    v.as_ref().map_or(Value::Null, |v| Value::str(v.as_str())),
                )
            })
            .collect();
        let source = origins.first().cloned().unwrap_or(Origin {
            path: Arc::from(""),
            position: Position::Index(0),
        });
        Ok(Finding {
            timestamp: Some(start),
            rule: c.meta().clone(),
            source,
            logsource: LogSource::new(opt(&self.product), opt(&self.category), opt(&self.service)),
            event,
            raw: None,
            matched: Vec::new(),
            file: None,
            related: Vec::new(),
            correlation: Some(Box::new(CorrelationInfo {
                kind: c.kind().name().to_string(),
                group,
                window_start: start,
                window_end: end,
                aggregate: c.kind().aggregate_name().to_string(),
                value,
                origins,
                events,
            })),
            count: 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corr() -> spoor_sigma::RuleSet {
        let mut b = spoor_sigma::RuleSetBuilder::new();
        b.add_source(
            "c.yml",
            "title: base\nname: base\nlogsource: {product: windows}\ndetection:\n  sel:\n    EventID: 4625\n  condition: sel\n---\ntitle: burst\nid: c1\ncorrelation:\n  type: event_count\n  rules: [base]\n  group-by: [IpAddress]\n  timespan: 5m\n  condition: {gte: 2}\n",
        );
        b.build()
    }

    #[test]
    fn a_row_becomes_the_local_finding_shape() {
        let set = corr();
        let view = set.correlations().views().next().unwrap();
        let line = br#"{"start":"1700000000000000000","end":"1700000060000000000","value":"3","events":"3","key":["10.0.0.1"],"o_path":["a.evtx","a.evtx"],"o_kind":["record","record"],"o_pos":["5","9"],"product":"windows","category":"","service":"security"}"#;
        let f = parse_correlation_row(line)
            .unwrap()
            .to_finding(&view)
            .unwrap();
        let info = f.correlation.as_ref().unwrap();
        assert_eq!(info.value, 3.0);
        assert_eq!(
            info.group,
            vec![("IpAddress".into(), Some("10.0.0.1".into()))]
        );
        assert_eq!(f.source.position, Position::Record(5));
        assert_eq!(
            (info.window_end - info.window_start).num_seconds(),
            60,
            "{info:?}"
        );
        assert_eq!(f.rule.id, "c1");
    }

    #[test]
    fn hostile_rows_are_errors_not_panics() {
        let set = corr();
        let view = set.correlations().views().next().unwrap();
        let good = br#"{"start":"1","end":"2","value":"3","events":"3","key":[null],"o_path":["a"],"o_kind":["line"],"o_pos":["5"]}"#.to_vec();
        assert!(parse_correlation_row(&good)
            .unwrap()
            .to_finding(&view)
            .is_ok());
        for bad in [
            &br#"{"start":"x","end":"2","value":"3","events":"3","key":[null],"o_path":[],"o_kind":[],"o_pos":[]}"#[..],
            br#"{"start":"1","end":"2","value":"3","events":"3","key":[],"o_path":[],"o_kind":[],"o_pos":[]}"#,
            br#"{"start":"1","end":"2","value":"3","events":"3","key":[null],"o_path":["a"],"o_kind":[],"o_pos":[]}"#,
            br#"{"start":"1","end":"2","value":"3","events":"3","key":[null],"o_path":["a"],"o_kind":["page"],"o_pos":["1"]}"#,
        ] {
            let r = parse_correlation_row(bad).and_then(|r| r.to_finding(&view));
            assert!(r.is_err(), "{}", preview(bad));
        }
        for cut in 0..good.len() {
            let _ = parse_correlation_row(&good[..cut]).map(|r| r.to_finding(&view));
        }
    }
}
