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
use spoor_event::{
    CorrelationInfo, Event, Finding, LogSource, Origin, RuleMeta, StatefulDetector, StatefulOutput,
    Value,
};
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
struct BaseMatch {
    time: DateTime<Utc>,
    origin: Origin,
    logsource: LogSource,
    rule: u32,
    values: Vec<(Arc<str>, Option<Arc<str>>)>,
}

/// The correlation state of one work unit: the kept matches, and the untimed ones counted.
#[derive(Debug, Default)]
pub struct CorrelationPartial {
    matches: Vec<BaseMatch>,
    untimed: FxHashMap<u32, u64>,
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

fn value_text(v: &Value) -> Option<Arc<str>> {
    match v {
        Value::Null => None,
        other => Some(Arc::from(other.to_string())),
    }
}

impl StatefulDetector for CorrelationSet {
    type Partial = CorrelationPartial;

    fn start(&self) -> CorrelationPartial {
        CorrelationPartial::default()
    }

    fn observe(&self, partial: &mut CorrelationPartial, event: &Event, findings: &[Finding]) {
        for f in findings {
            let key = Arc::as_ptr(&f.rule) as usize;
            let Some(&rule) = self.feeds.get(&key) else {
                continue;
            };
            let Some(time) = event.timestamp else {
                *partial.untimed.entry(rule).or_default() += 1;
                continue;
            };
            let values = self
                .capture
                .get(&rule)
                .map(|names| {
                    names
                        .iter()
                        .map(|n| (n.clone(), event.get(n).and_then(value_text)))
                        .collect()
                })
                .unwrap_or_default();
            partial.matches.push(BaseMatch {
                time,
                origin: event.origin.clone(),
                logsource: event.logsource.clone(),
                rule,
                values,
            });
        }
    }

    fn merge(&self, into: &mut CorrelationPartial, from: CorrelationPartial) {
        into.matches.extend(from.matches);
        for (r, n) in from.untimed {
            *into.untimed.entry(r).or_default() += n;
        }
    }

    fn finish(&self, mut partial: CorrelationPartial) -> StatefulOutput {
        let mut out = StatefulOutput::default();
        let mut untimed: Vec<(u32, u64)> = partial.untimed.into_iter().collect();
        untimed.sort_unstable();
        for (rule, n) in untimed {
            let title = self.titles.get(&rule).map_or("", String::as_str);
            out.notes.push(format!(
                "correlation: {n} matches of rule '{title}' have no timestamp and joined no window"
            ));
        }
        partial.matches.sort_by(|a, b| {
            a.time
                .cmp(&b.time)
                .then_with(|| a.origin.path.cmp(&b.origin.path))
                .then_with(|| a.origin.position.cmp(&b.origin.position))
                .then_with(|| a.rule.cmp(&b.rule))
        });
        let matches = partial.matches;
        // Findings of each correlation, as inputs for the ones above it.
        let mut produced: Vec<Vec<Episode>> = Vec::with_capacity(self.corrs.len());
        for c in &self.corrs {
            let items = inputs_of(c, &matches, &produced);
            let (episodes, capped) = run_windows(c, &items);
            if capped > 0 {
                out.notes.push(format!(
                    "correlation '{}': {capped} inputs left windows early (more than {MAX_WINDOW} in one group's window)",
                    c.meta.title
                ));
            }
            if !c.meta.feeds_only {
                out.findings
                    .extend(episodes.iter().map(|e| e.to_finding(c)));
            }
            produced.push(episodes);
        }
        out
    }
}

/// One input of a correlation, in stream order.
struct Item {
    time: DateTime<Utc>,
    /// Time of the earliest event behind it (its own time for an event).
    start: DateTime<Utc>,
    slot: u16,
    key: Vec<Option<Arc<str>>>,
    /// The value tuple for value_count and metrics (`None` when a value field is absent).
    value: Option<Arc<str>>,
    /// Where the evidence is: the event, or the events behind a lower correlation's finding.
    origins: Vec<Origin>,
    events: u64,
    logsource: LogSource,
    /// Values of the fields the correlation exposes upward.
    fields: Vec<(Arc<str>, Option<Arc<str>>)>,
}

fn lookup(fields: &[(Arc<str>, Option<Arc<str>>)], name: &str) -> Option<Arc<str>> {
    fields
        .iter()
        .find(|(n, _)| &**n == name)
        .and_then(|(_, v)| v.clone())
}

fn value_tuple(
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

fn inputs_of(
    c: &CompiledCorrelation,
    matches: &[BaseMatch],
    produced: &[Vec<Episode>],
) -> Vec<Item> {
    let mut items = Vec::new();
    for (slot, input) in c.inputs.iter().enumerate() {
        let group_fields = &c.group_fields[slot];
        let make = |time,
                    start,
                    fields: &[(Arc<str>, Option<Arc<str>>)],
                    origins,
                    events,
                    ls: &LogSource| Item {
            time,
            start,
            slot: slot as u16,
            key: group_fields.iter().map(|f| lookup(fields, f)).collect(),
            value: value_tuple(c, fields),
            origins,
            events,
            logsource: ls.clone(),
            fields: c
                .exposes
                .iter()
                .map(|n| (n.clone(), lookup(fields, n)))
                .collect(),
        };
        match *input {
            Input::Rule(r) => {
                for m in matches.iter().filter(|m| m.rule == r) {
                    items.push(make(
                        m.time,
                        m.time,
                        &m.values,
                        vec![m.origin.clone()],
                        1,
                        &m.logsource,
                    ));
                }
            }
            Input::Corr(k) => {
                for e in produced.get(k as usize).into_iter().flatten() {
                    items.push(make(
                        e.first_fire,
                        e.start,
                        &e.fields,
                        e.origins.clone(),
                        e.events,
                        &e.logsource,
                    ));
                }
            }
        }
    }
    items.sort_by(|a, b| {
        a.time
            .cmp(&b.time)
            .then_with(|| first_origin(a).cmp(&first_origin(b)))
            .then_with(|| a.slot.cmp(&b.slot))
    });
    items
}

fn first_origin(i: &Item) -> Option<(&str, spoor_event::Position)> {
    i.origins.first().map(|o| (&*o.path, o.position))
}

/// One finding of a correlation: a run of overlapping windows where the condition held.
#[derive(Debug, Clone)]
struct Episode {
    key: Vec<Option<Arc<str>>>,
    start: DateTime<Utc>,
    first_fire: DateTime<Utc>,
    last_fire: DateTime<Utc>,
    /// Highest item index already counted as a contributor.
    last_added: usize,
    origins: Vec<Origin>,
    events: u64,
    peak: f64,
    logsource: LogSource,
    /// The exposed fields (group values, else the latest contributor's).
    fields: Vec<(Arc<str>, Option<Arc<str>>)>,
}

impl Episode {
    fn add(&mut self, item: &Item) {
        self.start = self.start.min(item.start);
        self.events += item.events;
        for o in &item.origins {
            if self.origins.len() < CorrelationInfo::MAX_ORIGINS {
                self.origins.push(o.clone());
            }
        }
    }

    fn to_finding(&self, c: &CompiledCorrelation) -> Finding {
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

/// The sliding window of one group.
#[derive(Default)]
struct Window {
    items: VecDeque<usize>,
    distinct: FxHashMap<Arc<str>, u32>,
    slots: Vec<u32>,
    sum: f64,
    numeric: u32,
    episode: Option<Episode>,
}

fn number_of(v: &Option<Arc<str>>) -> Option<f64> {
    v.as_deref()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|x| x.is_finite())
}

impl Window {
    fn push(&mut self, i: usize, item: &Item) {
        self.items.push_back(i);
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
    }

    fn pop(&mut self, items: &[Item]) {
        let Some(i) = self.items.pop_front() else {
            return;
        };
        let item = &items[i];
        if let Some(v) = &item.value {
            if let Some(n) = self.distinct.get_mut(v) {
                *n -= 1;
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
            self.numeric -= 1;
        }
    }

    fn sorted_numbers(&self, items: &[Item]) -> Vec<f64> {
        let mut v: Vec<f64> = self
            .items
            .iter()
            .filter_map(|&i| number_of(&items[i].value))
            .collect();
        v.sort_by(f64::total_cmp);
        v
    }

    /// The aggregate of the window; `None` when it has no value (a mean of nothing).
    fn aggregate(&self, kind: CorrelationType, n_slots: usize, items: &[Item]) -> Option<f64> {
        match kind {
            CorrelationType::EventCount => Some(self.items.len() as f64),
            CorrelationType::ValueCount => Some(self.distinct.len() as f64),
            CorrelationType::Temporal => Some(self.slots.iter().filter(|&&n| n > 0).count() as f64),
            CorrelationType::TemporalOrdered => {
                let mut next = 0usize;
                for &i in &self.items {
                    if next < n_slots && items[i].slot as usize == next {
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
                let v = self.sorted_numbers(items);
                match v.len() {
                    0 => None,
                    n if n % 2 == 1 => Some(v[n / 2]),
                    n => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
                }
            }
            CorrelationType::ValuePercentile(p) => {
                let v = self.sorted_numbers(items);
                if v.is_empty() {
                    return None;
                }
                let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
                Some(v[rank.clamp(1, v.len()) - 1])
            }
        }
    }
}

fn holds(c: &CompiledCorrelation, agg: f64) -> bool {
    match &c.condition {
        Some(cond) => cond.holds(agg),
        None => agg >= c.inputs.len() as f64,
    }
}

/// Runs one correlation over its sorted inputs: its findings, and how many inputs a full
/// window pushed out early.
fn run_windows(c: &CompiledCorrelation, items: &[Item]) -> (Vec<Episode>, u64) {
    let mut groups: FxHashMap<Vec<Option<Arc<str>>>, Window> = FxHashMap::default();
    let mut done = Vec::new();
    let mut capped = 0u64;
    let n_slots = c.inputs.len();
    for (i, item) in items.iter().enumerate() {
        let w = groups.entry(item.key.clone()).or_insert_with(|| Window {
            slots: vec![0; n_slots],
            ..Window::default()
        });
        let t = item.time;
        let from = t - c.timespan;
        // A finding whose last window can no longer overlap a new one is complete.
        if w.episode.as_ref().is_some_and(|e| e.last_fire < from) {
            done.extend(w.episode.take());
        }
        w.push(i, item);
        while w.items.front().is_some_and(|&f| items[f].time < from) {
            w.pop(items);
        }
        while w.items.len() > MAX_WINDOW {
            w.pop(items);
            capped += 1;
        }
        let Some(agg) = w.aggregate(c.kind, n_slots, items) else {
            continue;
        };
        if !holds(c, agg) {
            continue;
        }
        match &mut w.episode {
            Some(e) => {
                for &j in &w.items {
                    if j > e.last_added {
                        e.add(&items[j]);
                        e.last_added = j;
                    }
                }
                e.last_fire = t;
                e.peak = e.peak.max(agg);
                e.fields = exposed(c, &item.key, &item.fields);
            }
            None => {
                let first = w.items.front().map_or(i, |&f| f);
                let mut e = Episode {
                    key: item.key.clone(),
                    start: items[first].start,
                    first_fire: t,
                    last_fire: t,
                    last_added: i,
                    origins: Vec::new(),
                    events: 0,
                    peak: agg,
                    logsource: items[first].logsource.clone(),
                    fields: exposed(c, &item.key, &item.fields),
                };
                for &j in &w.items {
                    e.add(&items[j]);
                }
                w.episode = Some(e);
            }
        }
    }
    done.extend(groups.into_values().filter_map(|w| w.episode));
    done.sort_by(|a, b| {
        a.first_fire
            .cmp(&b.first_fire)
            .then_with(|| {
                let oa = a.origins.first().map(|o| (&*o.path, o.position));
                let ob = b.origins.first().map(|o| (&*o.path, o.position));
                oa.cmp(&ob)
            })
            .then_with(|| a.key.cmp(&b.key))
    });
    (done, capped)
}

/// The fields a finding exposes upward: a group value where the name is a group name, else
/// the value of the input at which the condition last held.
fn exposed(
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
