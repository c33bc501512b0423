//! Findings (what detectors report), and the traits that connect detectors and writers.

use crate::{AttackRef, Event, Fields, LogSource, Origin, RunSummary, Value};
use chrono::{DateTime, Utc};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use std::io;
use std::str::FromStr;
use std::sync::Arc;

/// Sigma's `level`, ordered from least to most severe.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleLevel {
    /// Informational.
    Informational,
    /// Low.
    Low,
    /// Medium (Sigma's default when a rule gives none).
    #[default]
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl RuleLevel {
    /// All levels, least severe first.
    pub const ALL: [RuleLevel; 5] = [
        RuleLevel::Informational,
        RuleLevel::Low,
        RuleLevel::Medium,
        RuleLevel::High,
        RuleLevel::Critical,
    ];

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleLevel::Informational => "informational",
            RuleLevel::Low => "low",
            RuleLevel::Medium => "medium",
            RuleLevel::High => "high",
            RuleLevel::Critical => "critical",
        }
    }
}

impl FromStr for RuleLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "informational" | "info" => Ok(RuleLevel::Informational),
            "low" => Ok(RuleLevel::Low),
            "medium" => Ok(RuleLevel::Medium),
            "high" => Ok(RuleLevel::High),
            "critical" => Ok(RuleLevel::Critical),
            other => Err(format!("unknown level '{other}'")),
        }
    }
}

/// Which engine produced a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleKind {
    /// A Sigma rule.
    Sigma,
    /// An indicator (plain list or STIX).
    Indicator,
    /// A YARA rule over a file.
    Yara,
    /// A Sigma correlation rule: a finding over several events.
    Correlation,
    /// A `spoor search` hit: the "rule" is the query.
    Search,
}

/// What a finding says about the rule (or indicator) behind it. Shared by all findings of the
/// rule through an `Arc`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleMeta {
    /// Rule id (a UUID for Sigma, the STIX id for an indicator); empty if the rule has none.
    pub id: String,
    /// Human title.
    pub title: String,
    /// Severity.
    pub level: RuleLevel,
    /// Engine.
    pub kind: RuleKind,
    /// Free-text description, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The rule's tags as written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// ATT&CK techniques and tactics from the tags.
    #[serde(skip)]
    pub attack: AttackRef,
    /// The file the rule was loaded from (`builtin:...` for embedded rules).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// True for rules that only feed correlations (Sigma's `generate: false`, the default):
    /// their matches are shown to stateful detectors but make no finding of their own.
    #[serde(skip)]
    pub feeds_only: bool,
}

impl RuleMeta {
    /// Minimal metadata; tags and description empty.
    pub fn new(
        id: impl Into<String>,
        title: impl Into<String>,
        level: RuleLevel,
        kind: RuleKind,
    ) -> Self {
        RuleMeta {
            id: id.into(),
            title: title.into(),
            level,
            kind,
            description: None,
            tags: Vec::new(),
            attack: AttackRef::default(),
            path: None,
            feeds_only: false,
        }
    }
}

/// A field and value that made an indicator (or rule) fire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchedValue {
    /// Event field name.
    pub field: String,
    /// The event's value.
    pub value: String,
    /// For indicators: whether the event time lay inside the indicator's validity window
    /// (`None` when either is unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_validity: Option<bool>,
}

/// A file behind a file-scan finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileInfo {
    /// Size in bytes.
    pub size: u64,
    /// Last modification time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<DateTime<Utc>>,
    /// Last status change time (ctime on Unix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<DateTime<Utc>>,
    /// MD5, lower-case hex.
    pub md5: String,
    /// SHA-1, lower-case hex.
    pub sha1: String,
    /// SHA-256, lower-case hex.
    pub sha256: String,
}

/// A web request tied back to a file finding (who used the web shell).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelatedRequest {
    /// Request time.
    pub timestamp: Option<DateTime<Utc>>,
    /// Client address.
    pub client_ip: Option<String>,
    /// HTTP method.
    pub method: Option<String>,
    /// URI as logged.
    pub uri: Option<String>,
    /// HTTP status.
    pub status: Option<String>,
    /// Where the request was logged.
    pub source: Origin,
}

/// What a correlation finding adds: the group, the window and the aggregate, and the events
/// behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrelationInfo {
    /// The correlation type (`event_count`, `value_count`, `temporal`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// The `group-by` fields and this group's values (`None`: the field was absent).
    pub group: Vec<(String, Option<String>)>,
    /// Time of the earliest contributing event.
    pub window_start: DateTime<Utc>,
    /// Time of the last event at which the condition held.
    pub window_end: DateTime<Utc>,
    /// What the condition was tested on (`count`, `distinct_count`, `sum`, `rules`, ...).
    pub aggregate: String,
    /// Its largest value over the finding's windows.
    pub value: f64,
    /// The contributing events, earliest first (at most [`CorrelationInfo::MAX_ORIGINS`]).
    pub origins: Vec<Origin>,
    /// How many events contributed in all.
    pub events: u64,
}

impl CorrelationInfo {
    /// Most contributing events listed on one finding.
    pub const MAX_ORIGINS: usize = 100;
}

/// One detection: a rule (or indicator) that matched an event or a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The event's time (or the file's modification time).
    pub timestamp: Option<DateTime<Utc>>,
    /// The rule behind it.
    pub rule: Arc<RuleMeta>,
    /// Where the evidence is.
    pub source: Origin,
    /// The event's log source.
    pub logsource: LogSource,
    /// The event's fields (empty for file findings).
    pub event: Fields,
    /// The original line, when there is one.
    pub raw: Option<Box<str>>,
    /// The values that matched, where the engine records them.
    pub matched: Vec<MatchedValue>,
    /// The file, for scan findings.
    pub file: Option<FileInfo>,
    /// Requests that used the file, for web-shell findings.
    pub related: Vec<RelatedRequest>,
    /// For correlation findings: the group, window, aggregate and contributing events.
    pub correlation: Option<Box<CorrelationInfo>>,
    /// How many identical findings this one stands for (after de-duplication); 1 by default.
    pub count: u64,
}

impl Finding {
    /// A finding of `rule` on `event`, copying what it needs from the event.
    pub fn from_event(rule: Arc<RuleMeta>, event: &Event) -> Self {
        Finding {
            timestamp: event.timestamp,
            rule,
            source: event.origin.clone(),
            logsource: event.logsource.clone(),
            event: event.fields.clone(),
            raw: event.raw.clone(),
            matched: Vec::new(),
            file: None,
            related: Vec::new(),
            correlation: None,
            count: 1,
        }
    }

    /// The ordering findings are reported in: time (unknown last), then path, then position,
    /// then rule id. Deterministic whatever the thread count.
    pub fn report_order(a: &Finding, b: &Finding) -> std::cmp::Ordering {
        let ta = a.timestamp.map(|t| (0, t));
        let tb = b.timestamp.map(|t| (0, t));
        let time = match (ta, tb) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        time.then_with(|| a.source.path.cmp(&b.source.path))
            .then_with(|| a.source.position.cmp(&b.source.position))
            .then_with(|| a.rule.id.cmp(&b.rule.id))
            .then_with(|| a.rule.title.cmp(&b.rule.title))
    }
}

struct EventFields<'a>(&'a Fields);

impl Serialize for EventFields<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(&**k, v)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct RuleOut<'a> {
    id: &'a str,
    title: &'a str,
    level: RuleLevel,
    kind: RuleKind,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    tags: &'a [String],
}

struct CorrelationOut<'a>(&'a CorrelationInfo);

impl Serialize for CorrelationOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("type", &c.kind)?;
        let group: serde_json::Map<String, serde_json::Value> = c
            .group
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_ref()
                        .map_or(serde_json::Value::Null, |v| v.clone().into()),
                )
            })
            .collect();
        map.serialize_entry("group", &group)?;
        let t = |d: &DateTime<Utc>| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        map.serialize_entry("window_start", &t(&c.window_start))?;
        map.serialize_entry("window_end", &t(&c.window_end))?;
        map.serialize_entry("aggregate", &c.aggregate)?;
        map.serialize_entry("value", &c.value)?;
        map.serialize_entry("events", &c.events)?;
        map.serialize_entry("origins", &c.origins)?;
        map.end()
    }
}

/// The JSONL finding schema (documented in the README). Field order is stable.
impl Serialize for Finding {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry(
            "timestamp",
            &self
                .timestamp
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        )?;
        map.serialize_entry(
            "rule",
            &RuleOut {
                id: &self.rule.id,
                title: &self.rule.title,
                level: self.rule.level,
                kind: self.rule.kind,
                tags: &self.rule.tags,
            },
        )?;
        map.serialize_entry("attack", &self.rule.attack.techniques)?;
        map.serialize_entry("tactics", &self.rule.attack.tactics)?;
        map.serialize_entry("source", &self.source)?;
        map.serialize_entry("logsource", &self.logsource)?;
        map.serialize_entry("event", &EventFields(&self.event))?;
        if let Some(raw) = &self.raw {
            map.serialize_entry("raw", raw)?;
        }
        if !self.matched.is_empty() {
            map.serialize_entry("matched", &self.matched)?;
        }
        if let Some(file) = &self.file {
            map.serialize_entry("file", file)?;
        }
        if !self.related.is_empty() {
            map.serialize_entry("related", &self.related)?;
        }
        if let Some(c) = &self.correlation {
            map.serialize_entry("correlation", &CorrelationOut(c))?;
        }
        map.serialize_entry("count", &self.count)?;
        map.end()
    }
}

/// An engine that turns events into findings. Immutable and shared by all threads; each thread
/// asks it for its own [`EventMatcher`], which holds the per-thread scratch space.
pub trait Detector: Send + Sync {
    /// A fresh per-thread matcher.
    fn matcher(&self) -> Box<dyn EventMatcher + Send + '_>;
}

/// Per-thread matching state of a [`Detector`].
pub trait EventMatcher {
    /// Checks one event, appending any findings to `out`.
    fn check(&mut self, event: &Event, out: &mut Vec<Finding>);
}

/// Where findings go: a writer for one output format.
pub trait FindingSink {
    /// Writes one finding.
    fn write(&mut self, finding: &Finding) -> io::Result<()>;
    /// Called once after the last finding, with the run's summary.
    fn finish(&mut self, summary: &RunSummary) -> io::Result<()>;
    /// Pushes what was written so far to its destination (live mode writes findings as they
    /// come). Sinks that can only write at the end (HTML, Navigator) keep the default.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A boxed sink is a sink, so that adaptors (filters, fan-out) can wrap `Box<dyn FindingSink>`.
impl<S: FindingSink + ?Sized> FindingSink for Box<S> {
    fn write(&mut self, finding: &Finding) -> io::Result<()> {
        (**self).write(finding)
    }
    fn finish(&mut self, summary: &RunSummary) -> io::Result<()> {
        (**self).finish(summary)
    }
    fn flush(&mut self) -> io::Result<()> {
        (**self).flush()
    }
}

/// A borrowed sink is a sink, so that a caller can keep ownership while an adaptor writes.
impl<S: FindingSink + ?Sized> FindingSink for &mut S {
    fn write(&mut self, finding: &Finding) -> io::Result<()> {
        (**self).write(finding)
    }
    fn finish(&mut self, summary: &RunSummary) -> io::Result<()> {
        (**self).finish(summary)
    }
    fn flush(&mut self) -> io::Result<()> {
        (**self).flush()
    }
}

/// Convenience for tests and writers: a field's value as display text.
pub fn field_text(fields: &Fields, name: &str) -> Option<String> {
    fields
        .iter()
        .find(|(k, _)| &**k == name)
        .map(|(_, v): &(Arc<str>, Value)| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Position;

    #[test]
    fn serialises_schema() {
        let mut meta = RuleMeta::new("r1", "Test", RuleLevel::High, RuleKind::Sigma);
        meta.attack = crate::attack_from_tags(["attack.t1190", "attack.initial-access"]);
        let ev = Event::new("a.log", Position::Line(3)).with("c-ip", "10.0.0.1");
        let f = Finding::from_event(Arc::new(meta), &ev);
        let j = serde_json::to_string(&f).unwrap();
        assert_eq!(
            j,
            r#"{"timestamp":null,"rule":{"id":"r1","title":"Test","level":"high","kind":"sigma"},"attack":["T1190"],"tactics":["initial-access"],"source":{"path":"a.log","line":3},"logsource":{},"event":{"c-ip":"10.0.0.1"},"count":1}"#
        );
    }

    #[test]
    fn levels_order_and_parse() {
        assert!(RuleLevel::Critical > RuleLevel::High);
        assert_eq!("HIGH".parse::<RuleLevel>(), Ok(RuleLevel::High));
        assert!("severe".parse::<RuleLevel>().is_err());
    }
}
