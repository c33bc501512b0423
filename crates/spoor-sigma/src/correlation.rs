//! Sigma correlation rules over the event stream: `event_count`, `value_count`, `temporal`,
//! `temporal_ordered` and the metric types `value_sum`, `value_avg`, `value_median`,
//! `value_percentile`, chained correlations, `group-by` with `aliases`, `generate`.
//!
//! # What is kept
//! While logs are read, each work unit keeps one small record per match of a rule some
//! correlation uses: the rule, the event's time and origin, and the values of the fields the
//! correlations need (group-by fields through their aliases, the value field, and what chained
//! correlations above need). Nothing else of the event is kept. Matches without a time cannot
//! join a window; they are counted per rule and reported.
//!
//! # Window semantics
//! After the run the records of all units are merged and sorted by (time, path, position,
//! rule), so the result is the same for any thread count and any order of paths. Each
//! correlation then reads its inputs in that order, per group (the tuple of its `group-by`
//! values; an absent field is a value of its own, `null`, as SQL's `GROUP BY` treats it):
//! - At every input at time `t` the window is every input of the group in `[t - timespan, t]`,
//!   both ends inclusive (a sliding window anchored at each event, never fixed buckets).
//! - The aggregate of the window is computed (count; distinct values; sum, mean, median or
//!   nearest-rank percentile of the numeric values; for `temporal`, the number of referenced
//!   rules present; for `temporal_ordered`, how many of the referenced rules appear in the listed
//!   order, found greedily, which is exact for subsequences) and tested against the condition
//!   (every bound must hold; `temporal` types default to "all referenced rules").
//! - Consecutive windows of a group where the condition holds and whose spans overlap (the new
//!   window starts no later than the last one that held ended) form **one finding**: its window
//!   start is its earliest contributing event, its window end the last time the condition held,
//!   its value the largest aggregate reached, its events the union of those windows. A burst of
//!   36 failed logons is one finding, not 32.
//! - A chained correlation sees each finding of the correlation below it as one input at the
//!   time the condition first held, carrying the group values and its contributing events.

use crate::node2corr::{CorrelationType, MetricCondition};
use chrono::{DateTime, Duration, Utc};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use spoor_event::{CorrelationInfo, Finding, LogSource, Origin, RuleMeta, Value};
use std::collections::VecDeque;
use std::sync::Arc;

/// Most inputs one group's window holds; older ones are dropped (and reported) beyond it.
pub const MAX_WINDOW: usize = 100_000;

/// What a correlation reads: a detection rule or another correlation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Input {
    /// Index of a compiled detection rule.
    Rule(u32),
    /// Index of a correlation (in [`CorrelationSet::corrs`]).
    Corr(u32),
}

/// A correlation resolved against the rule set.
#[derive(Debug)]
pub(crate) struct CompiledCorrelation {
    pub(crate) meta: Arc<RuleMeta>,
    pub(crate) kind: CorrelationType,
    /// What each slot of `rules:` refers to.
    pub(crate) inputs: Vec<Input>,
    /// `group-by` names as written (aliases or fields).
    pub(crate) group_names: Vec<Arc<str>>,
    /// Per slot, per group name: the field to read.
    pub(crate) group_fields: Vec<Vec<Arc<str>>>,
    /// The value field(s) (value_count and the metric types).
    pub(crate) value_fields: Vec<Arc<str>>,
    pub(crate) timespan: Duration,
    pub(crate) condition: Option<MetricCondition>,
    /// Fields correlations above this one need from its findings.
    pub(crate) exposes: Vec<Arc<str>>,
}

/// The correlations of a rule set, in dependency order (a correlation after those it reads).
#[derive(Debug, Default)]
pub struct CorrelationSet {
    pub(crate) corrs: Vec<CompiledCorrelation>,
    /// Detection rules some correlation reads, by the address of their shared metadata.
    pub(crate) feeds: FxHashMap<usize, u32>,
    /// Per fed rule: the fields to keep from its matches.
    pub(crate) capture: FxHashMap<u32, Vec<Arc<str>>>,
    /// Per fed rule: its title, for notes.
    pub(crate) titles: FxHashMap<u32, String>,
}

/// One kept match of a rule some correlation reads.
#[derive(Debug, Clone)]
pub(crate) struct BaseMatch {
    pub(crate) time: DateTime<Utc>,
    pub(crate) origin: Origin,
    pub(crate) logsource: LogSource,
    pub(crate) rule: u32,
    pub(crate) values: Vec<(Arc<str>, Option<Arc<str>>)>,
}

/// The correlation state of one work unit: the kept matches not yet released to the windows
/// (past a budget in temporary files), the untimed ones counted, and (live mode) the windows
/// themselves.
#[derive(Debug, Default)]
pub struct CorrelationPartial {
    pub(crate) matches: crate::corrspill::MatchBuffer,
    pub(crate) untimed: FxHashMap<u32, u64>,
    pub(crate) stream: crate::corrstream::Stream,
}

impl CorrelationPartial {
    /// A partial whose kept matches go to temporary files past `budget` bytes, and past `keep`
    /// bytes once sealed (tests force spilling with small ones).
    #[cfg(test)]
    pub(crate) fn with_spill_budget(budget: usize, keep: usize) -> Self {
        CorrelationPartial {
            matches: crate::corrspill::MatchBuffer::with_budget(budget, keep),
            ..CorrelationPartial::default()
        }
    }
}

impl CorrelationSet {
    /// Number of correlations that run.
    pub fn len(&self) -> usize {
        self.corrs.len()
    }

    /// True when no correlation runs.
    pub fn is_empty(&self) -> bool {
        self.corrs.is_empty()
    }

    /// The correlations' metadata, in dependency order.
    pub fn rules(&self) -> impl Iterator<Item = &Arc<RuleMeta>> {
        self.corrs.iter().map(|c| &c.meta)
    }
}

pub(crate) fn value_text(v: &Value) -> Option<Arc<str>> {
    match v {
        Value::Null => None,
        other => Some(Arc::from(other.to_string())),
    }
}

/// One input of a correlation, in stream order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Item {
    pub(crate) time: DateTime<Utc>,
    /// Time of the earliest event behind it (its own time for an event).
    pub(crate) start: DateTime<Utc>,
    pub(crate) slot: u16,
    pub(crate) key: Vec<Option<Arc<str>>>,
    /// The value tuple for value_count and metrics (`None` when a value field is absent).
    pub(crate) value: Option<Arc<str>>,
    /// Where the evidence is: the event, or the events behind a lower correlation's finding.
    pub(crate) origins: Vec<Origin>,
    pub(crate) events: u64,
    pub(crate) logsource: LogSource,
    /// Values of the fields the correlation exposes upward.
    pub(crate) fields: Vec<(Arc<str>, Option<Arc<str>>)>,
}

pub(crate) fn lookup(fields: &[(Arc<str>, Option<Arc<str>>)], name: &str) -> Option<Arc<str>> {
    fields
        .iter()
        .find(|(n, _)| &**n == name)
        .and_then(|(_, v)| v.clone())
}

pub(crate) fn value_tuple(
    c: &CompiledCorrelation,
    fields: &[(Arc<str>, Option<Arc<str>>)],
) -> Option<Arc<str>> {
    match c.value_fields.as_slice() {
        [] => None,
        [one] => lookup(fields, one),
        many => {
            let parts: Option<Vec<Arc<str>>> = many.iter().map(|f| lookup(fields, f)).collect();
            parts.map(|p| Arc::from(p.join("\u{1f}")))
        }
    }
}

/// One finding of a correlation: a run of overlapping windows where the condition held.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Episode {
    pub(crate) key: Vec<Option<Arc<str>>>,
    pub(crate) start: DateTime<Utc>,
    pub(crate) first_fire: DateTime<Utc>,
    pub(crate) last_fire: DateTime<Utc>,
    /// Highest item sequence number already counted as a contributor.
    pub(crate) last_added: u64,
    pub(crate) origins: Vec<Origin>,
    pub(crate) events: u64,
    pub(crate) peak: f64,
    pub(crate) logsource: LogSource,
    /// The exposed fields (group values, else the latest contributor's).
    pub(crate) fields: Vec<(Arc<str>, Option<Arc<str>>)>,
}

impl Episode {
    pub(crate) fn add(&mut self, item: &Item) {
        self.start = self.start.min(item.start);
        self.events += item.events;
        for o in &item.origins {
            if self.origins.len() < CorrelationInfo::MAX_ORIGINS {
                self.origins.push(o.clone());
            }
        }
    }

    pub(crate) fn to_finding(&self, c: &CompiledCorrelation) -> Finding {
        let group: Vec<(String, Option<String>)> = c
            .group_names
            .iter()
            .zip(&self.key)
            .map(|(n, v)| (n.to_string(), v.as_ref().map(|v| v.to_string())))
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
        let source = self.origins.first().cloned().unwrap_or(Origin {
            path: Arc::from(""),
            position: spoor_event::Position::Index(0),
        });
        Finding {
            timestamp: Some(self.start),
            rule: c.meta.clone(),
            source,
            logsource: self.logsource.clone(),
            event,
            raw: None,
            matched: Vec::new(),
            file: None,
            related: Vec::new(),
            correlation: Some(Box::new(CorrelationInfo {
                kind: c.kind.name().to_string(),
                group,
                window_start: self.start,
                window_end: self.last_fire,
                aggregate: c.kind.aggregate_name().to_string(),
                value: self.peak,
                origins: self.origins.clone(),
                events: self.events,
            })),
            count: 1,
        }
    }
}

/// The sliding window of one group: its inputs (with their sequence numbers) and the running
/// aggregates, rebuilt from the inputs whenever a saved window is restored.
#[derive(Debug, Default)]
pub(crate) struct Window {
    pub(crate) items: VecDeque<(u64, Item)>,
    distinct: FxHashMap<Arc<str>, u32>,
    slots: Vec<u32>,
    sum: f64,
    numeric: u32,
    pub(crate) episode: Option<Episode>,
}

fn number_of(v: &Option<Arc<str>>) -> Option<f64> {
    v.as_deref()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|x| x.is_finite())
}

impl Window {
    /// An empty window for a correlation of `n_slots` inputs.
    pub(crate) fn new(n_slots: usize) -> Self {
        Window {
            slots: vec![0; n_slots],
            ..Window::default()
        }
    }

    pub(crate) fn push(&mut self, seq: u64, item: Item) {
        if let Some(v) = &item.value {
            *self.distinct.entry(v.clone()).or_default() += 1;
        }
        if let Some(s) = self.slots.get_mut(item.slot as usize) {
            *s += 1;
        }
        if let Some(x) = number_of(&item.value) {
            self.sum += x;
            self.numeric += 1;
        }
        self.items.push_back((seq, item));
    }

    pub(crate) fn pop(&mut self) {
        let Some((_, item)) = self.items.pop_front() else {
            return;
        };
        if let Some(v) = &item.value {
            if let Some(n) = self.distinct.get_mut(v) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.distinct.remove(v);
                }
            }
        }
        if let Some(s) = self.slots.get_mut(item.slot as usize) {
            *s = s.saturating_sub(1);
        }
        if let Some(x) = number_of(&item.value) {
            self.sum -= x;
            self.numeric = self.numeric.saturating_sub(1);
        }
    }

    fn sorted_numbers(&self) -> Vec<f64> {
        let mut v: Vec<f64> = self
            .items
            .iter()
            .filter_map(|(_, i)| number_of(&i.value))
            .collect();
        v.sort_by(f64::total_cmp);
        v
    }

    /// The aggregate of the window; `None` when it has no value (a mean of nothing).
    pub(crate) fn aggregate(&self, kind: CorrelationType, n_slots: usize) -> Option<f64> {
        match kind {
            CorrelationType::EventCount => Some(self.items.len() as f64),
            CorrelationType::ValueCount => Some(self.distinct.len() as f64),
            CorrelationType::Temporal => Some(self.slots.iter().filter(|&&n| n > 0).count() as f64),
            CorrelationType::TemporalOrdered => {
                let mut next = 0usize;
                for (_, i) in &self.items {
                    if next < n_slots && i.slot as usize == next {
                        next += 1;
                    }
                }
                Some(next as f64)
            }
            CorrelationType::ValueSum => (self.numeric > 0).then_some(self.sum),
            CorrelationType::ValueAvg => {
                (self.numeric > 0).then(|| self.sum / f64::from(self.numeric))
            }
            CorrelationType::ValueMedian => {
                let v = self.sorted_numbers();
                match v.len() {
                    0 => None,
                    n if n % 2 == 1 => Some(v[n / 2]),
                    n => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
                }
            }
            CorrelationType::ValuePercentile(p) => {
                let v = self.sorted_numbers();
                if v.is_empty() {
                    return None;
                }
                let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
                Some(v[rank.clamp(1, v.len()) - 1])
            }
        }
    }
}

pub(crate) fn holds(c: &CompiledCorrelation, agg: f64) -> bool {
    match &c.condition {
        Some(cond) => cond.holds(agg),
        None => agg >= c.inputs.len() as f64,
    }
}

/// The fields a finding exposes upward: a group value where the name is a group name, else
/// the value of the input at which the condition last held.
pub(crate) fn exposed(
    c: &CompiledCorrelation,
    key: &[Option<Arc<str>>],
    fields: &[(Arc<str>, Option<Arc<str>>)],
) -> Vec<(Arc<str>, Option<Arc<str>>)> {
    c.exposes
        .iter()
        .map(|n| {
            let v = match c.group_names.iter().position(|g| g == n) {
                Some(k) => key.get(k).cloned().flatten(),
                None => lookup(fields, n),
            };
            (n.clone(), v)
        })
        .collect()
}
