//! The event: one log record, normalised.

use crate::{GateHint, LogSource, Value};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Where an event came from, so that every finding points back to the original.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The path as given on the command line (plus `!entry` for an archive member).
    pub path: Arc<str>,
    /// Line, record or element number within the file.
    #[serde(flatten)]
    pub position: Position,
}

/// The position of a record within its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Position {
    /// 1-based line number in a text file.
    Line(u64),
    /// EVTX `EventRecordID`.
    Record(u64),
    /// 1-based index of an element in a JSON array or of a file in a scan.
    Index(u64),
}

impl Position {
    /// The number, whatever its kind.
    pub fn number(&self) -> u64 {
        match *self {
            Position::Line(n) | Position::Record(n) | Position::Index(n) => n,
        }
    }
}

/// Field names and values in the order the reader produced them.
///
/// A vector, not a map: events have a few to a few dozen fields, lookups by the engine go through
/// a per-event slot table built once, and order is kept for display.
pub type Fields = Vec<(Arc<str>, Value)>;

/// One normalised log record.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// When it happened, in UTC, if the record says.
    pub timestamp: Option<DateTime<Utc>>,
    /// Which Sigma log source it belongs to.
    pub logsource: LogSource,
    /// Its fields, under the names Sigma rules use.
    pub fields: Fields,
    /// Where it came from.
    pub origin: Origin,
    /// The original text line, when the source is line-based (evidence for reports).
    pub raw: Option<Box<str>>,
    /// What the line gate learnt of the line, when one let it through (see [`GateHint`]).
    pub gate_hint: Option<Box<GateHint>>,
}

impl Event {
    /// An event with no time, unknown log source and no fields, at `path` line `line`.
    pub fn new(path: impl Into<Arc<str>>, position: Position) -> Self {
        Event {
            timestamp: None,
            logsource: LogSource::default(),
            fields: Vec::new(),
            origin: Origin {
                path: path.into(),
                position,
            },
            raw: None,
            gate_hint: None,
        }
    }

    /// Appends a field.
    pub fn push(&mut self, name: impl Into<Arc<str>>, value: impl Into<Value>) {
        self.fields.push((name.into(), value.into()));
    }

    /// Builder form of [`Event::push`].
    pub fn with(mut self, name: impl Into<Arc<str>>, value: impl Into<Value>) -> Self {
        self.push(name, value);
        self
    }

    /// Builder: sets the log source.
    pub fn with_logsource(mut self, logsource: LogSource) -> Self {
        self.logsource = logsource;
        self
    }

    /// The first field called `name` (exact, case-sensitive).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|(k, _)| &**k == name)
            .map(|(_, v)| v)
    }
}
