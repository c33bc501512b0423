//! The correlation engine as a stream: inputs are buffered until the watermark passes them,
//! then fed to the windows in time order; windows that can no longer change are closed and
//! their findings emitted; expired state is dropped. A batch run is this same path with an
//! infinite watermark at the end, so batch and live findings cannot drift apart.
//!
//! # Watermarks, chained
//! Each correlation has a *frontier*: every input older than it is known. For a correlation
//! over detection rules it is the watermark; for one over another correlation it is that
//! correlation's frontier, held back to the first firing of any finding of it still open (an
//! open finding becomes an input at its first firing, but only once it is complete). Inputs
//! older than the frontier are sorted by (time, first origin, slot, group) and fed; a finding
//! whose last window ended more than the timespan before the frontier is complete; inputs that
//! old leave their windows, and a group with an empty window and no open finding is dropped.
//! Live memory is thus bounded by what falls inside the lateness plus one timespan (and
//! [`MAX_WINDOW`](crate::MAX_WINDOW) inputs per group).
//!
//! # Late inputs
//! A match older than a watermark already passed cannot be placed in time order any more: it
//! is counted ([`StatefulDetector::late`]) and takes no part, never silently.

use crate::correlation::{
    exposed, holds, lookup, value_text, value_tuple, BaseMatch, CompiledCorrelation,
    CorrelationPartial, CorrelationSet, Episode, Input, Item, Window,
};
use crate::MAX_WINDOW;
use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use spoor_event::{
    Event, Finding, LogSource, Origin, RestoreError, StatefulDetector, StatefulOutput,
};
use std::io;
use std::sync::Arc;

/// Matches fed to the windows between two prunings when a batch run ends: the windows then
/// hold what one timespan holds, not every input of the run.
const FINISH_STEP: usize = 4096;

/// The run's note when spilled inputs cannot be read back.
fn read_back_failed(e: &io::Error) -> String {
    format!(
        "correlation: inputs written to a temporary file could not be read back ({e}); correlation findings may be missing"
    )
}

/// A group's key: its `group-by` values.
type GroupKey = Vec<Option<Arc<str>>>;

/// The live state of every correlation.
#[derive(Debug, Default)]
pub(crate) struct Stream {
    /// The highest watermark passed (`None`: none yet).
    released: Option<DateTime<Utc>>,
    /// Matches that came older than `released`.
    late: u64,
    corrs: Vec<CorrState>,
}

/// One correlation's live state.
#[derive(Debug, Default)]
struct CorrState {
    /// Inputs not yet fed (newer than the frontier).
    pending: Vec<Item>,
    groups: FxHashMap<GroupKey, Window>,
    /// Sequence number of the next input fed.
    seq: u64,
    /// Inputs a full window pushed out early.
    capped: u64,
}

/// Where each correlation's inputs come from: per fed rule or correlation, the (correlation,
/// slot) pairs that read it.
struct Consumers {
    of_rule: FxHashMap<u32, Vec<(usize, u16)>>,
    of_corr: Vec<Vec<(usize, u16)>>,
}

impl Consumers {
    fn of(set: &CorrelationSet) -> Self {
        let mut of_rule: FxHashMap<u32, Vec<(usize, u16)>> = FxHashMap::default();
        let mut of_corr = vec![Vec::new(); set.corrs.len()];
        for (c, corr) in set.corrs.iter().enumerate() {
            for (slot, input) in corr.inputs.iter().enumerate() {
                match *input {
                    Input::Rule(r) => of_rule.entry(r).or_default().push((c, slot as u16)),
                    Input::Corr(k) => {
                        if let Some(v) = of_corr.get_mut(k as usize) {
                            v.push((c, slot as u16));
                        }
                    }
                }
            }
        }
        Consumers { of_rule, of_corr }
    }
}

/// The input a correlation `c` makes of the fields of a match or a lower finding.
fn make_item(
    c: &CompiledCorrelation,
    slot: u16,
    (time, start): (DateTime<Utc>, DateTime<Utc>),
    fields: &[(Arc<str>, Option<Arc<str>>)],
    origins: Vec<Origin>,
    events: u64,
    logsource: &LogSource,
) -> Item {
    let group_fields = c
        .group_fields
        .get(slot as usize)
        .map_or(&[][..], Vec::as_slice);
    Item {
        time,
        start,
        slot,
        key: group_fields.iter().map(|f| lookup(fields, f)).collect(),
        value: value_tuple(c, fields),
        origins,
        events,
        logsource: logsource.clone(),
        fields: c
            .exposes
            .iter()
            .map(|n| (n.clone(), lookup(fields, n)))
            .collect(),
    }
}

fn item_order(a: &Item, b: &Item) -> std::cmp::Ordering {
    let first = |i: &Item| i.origins.first().map(|o| (o.path.clone(), o.position));
    a.time
        .cmp(&b.time)
        .then_with(|| first(a).cmp(&first(b)))
        .then_with(|| a.slot.cmp(&b.slot))
        .then_with(|| a.key.cmp(&b.key))
}

impl Stream {
    fn ensure(&mut self, n: usize) {
        if self.corrs.len() < n {
            self.corrs.resize_with(n, CorrState::default);
        }
    }

    /// Moves matches into the correlations' pending inputs.
    fn feed(&mut self, set: &CorrelationSet, consumers: &Consumers, matches: Vec<BaseMatch>) {
        for m in matches {
            for &(c, slot) in consumers.of_rule.get(&m.rule).into_iter().flatten() {
                let item = make_item(
                    &set.corrs[c],
                    slot,
                    (m.time, m.time),
                    &m.values,
                    vec![m.origin.clone()],
                    1,
                    &m.logsource,
                );
                self.corrs[c].pending.push(item);
            }
        }
    }

    /// Feeds everything older than `watermark` through every correlation, in dependency order;
    /// returns the visible findings completed.
    fn advance(&mut self, set: &CorrelationSet, watermark: DateTime<Utc>, out: &mut Vec<Finding>) {
        self.ensure(set.corrs.len());
        let consumers = Consumers::of(set);
        // Per correlation: the time before which its findings (as inputs above) are known.
        let mut known: Vec<DateTime<Utc>> = Vec::with_capacity(set.corrs.len());
        for (k, c) in set.corrs.iter().enumerate() {
            let frontier = c
                .inputs
                .iter()
                .map(|i| match *i {
                    Input::Rule(_) => watermark,
                    Input::Corr(j) => known.get(j as usize).copied().unwrap_or(watermark),
                })
                .min()
                .unwrap_or(watermark);
            let mut done = Vec::new();
            self.corrs[k].run_until(c, frontier, &mut done);
            let open_first = self.corrs[k]
                .groups
                .values()
                .filter_map(|w| w.episode.as_ref().map(|e| e.first_fire))
                .min();
            known.push(open_first.map_or(frontier, |f| f.min(frontier)));
            for e in done {
                for &(up, slot) in &consumers.of_corr[k] {
                    let item = make_item(
                        &set.corrs[up],
                        slot,
                        (e.first_fire, e.start),
                        &e.fields,
                        e.origins.clone(),
                        e.events,
                        &e.logsource,
                    );
                    self.corrs[up].pending.push(item);
                }
                if !c.meta.feeds_only {
                    out.push(e.to_finding(c));
                }
            }
        }
    }
}

impl CorrState {
    /// Feeds the pending inputs older than `frontier` in order, then closes what the frontier
    /// has passed by more than the timespan.
    fn run_until(
        &mut self,
        c: &CompiledCorrelation,
        frontier: DateTime<Utc>,
        done: &mut Vec<Episode>,
    ) {
        let (mut ready, rest): (Vec<Item>, Vec<Item>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|i| i.time < frontier);
        self.pending = rest;
        ready.sort_by(item_order);
        for item in ready {
            self.step(c, item, done);
        }
        let Some(horizon) = frontier.checked_sub_signed(c.timespan) else {
            return;
        };
        self.groups.retain(|_, w| {
            if w.episode.as_ref().is_some_and(|e| e.last_fire < horizon) {
                done.extend(w.episode.take());
            }
            while w.items.front().is_some_and(|(_, i)| i.time < horizon) {
                w.pop();
            }
            !w.items.is_empty() || w.episode.is_some()
        });
    }

    /// One input through its group's window.
    fn step(&mut self, c: &CompiledCorrelation, item: Item, done: &mut Vec<Episode>) {
        let n_slots = c.inputs.len();
        let seq = self.seq;
        self.seq += 1;
        let t = item.time;
        let w = self
            .groups
            .entry(item.key.clone())
            .or_insert_with(|| Window::new(n_slots));
        let from = t
            .checked_sub_signed(c.timespan)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        // A finding whose last window can no longer overlap a new one is complete.
        if w.episode.as_ref().is_some_and(|e| e.last_fire < from) {
            done.extend(w.episode.take());
        }
        w.push(seq, item);
        while w.items.front().is_some_and(|(_, i)| i.time < from) {
            w.pop();
        }
        while w.items.len() > MAX_WINDOW {
            w.pop();
            self.capped += 1;
        }
        let Some(agg) = w.aggregate(c.kind, n_slots) else {
            return;
        };
        if !holds(c, agg) {
            return;
        }
        let Window { items, episode, .. } = w;
        // The input just pushed is the window's last (the cap only removes from the front).
        let Some((_, last)) = items.back() else {
            return;
        };
        match episode {
            Some(e) => {
                for (j, i) in items.iter() {
                    if *j > e.last_added {
                        e.add(i);
                        e.last_added = *j;
                    }
                }
                e.last_fire = t;
                e.peak = e.peak.max(agg);
                e.fields = exposed(c, &last.key, &last.fields);
            }
            None => {
                let Some((_, first)) = items.front() else {
                    return;
                };
                let mut e = Episode {
                    key: last.key.clone(),
                    start: first.start,
                    first_fire: t,
                    last_fire: t,
                    last_added: seq,
                    origins: Vec::new(),
                    events: 0,
                    peak: agg,
                    logsource: first.logsource.clone(),
                    fields: exposed(c, &last.key, &last.fields),
                };
                for (_, i) in items.iter() {
                    e.add(i);
                }
                *episode = Some(e);
            }
        }
    }
}

/// What a correlation set's live state looks like in a state file.
#[derive(Serialize, Deserialize)]
struct SavedStream {
    /// Which correlations the state belongs to.
    fingerprint: String,
    released: Option<DateTime<Utc>>,
    late: u64,
    untimed: Vec<(u32, u64)>,
    /// Matches observed but not yet released.
    matches: Vec<SavedMatch>,
    corrs: Vec<SavedCorr>,
}

#[derive(Serialize, Deserialize)]
struct SavedMatch {
    time: DateTime<Utc>,
    origin: Origin,
    logsource: LogSource,
    rule: u32,
    values: Vec<(Arc<str>, Option<Arc<str>>)>,
}

#[derive(Serialize, Deserialize)]
struct SavedCorr {
    pending: Vec<Item>,
    groups: Vec<SavedWindow>,
    seq: u64,
    capped: u64,
}

#[derive(Serialize, Deserialize)]
struct SavedWindow {
    key: GroupKey,
    items: Vec<(u64, Item)>,
    episode: Option<Episode>,
}

impl CorrelationSet {
    /// The end of a batch run: every kept match, merged back in order from memory and the
    /// temporary runs, fed to the windows in steps of [`FINISH_STEP`] with a watermark just
    /// past each step, so that the windows are pruned as the run's time passes (the same path
    /// as live mode's watermarks, hence the same findings as one step over everything).
    fn feed_in_steps(
        &self,
        partial: &mut CorrelationPartial,
        out: &mut Vec<Finding>,
    ) -> io::Result<()> {
        if partial.matches.is_empty() {
            return Ok(());
        }
        partial.stream.ensure(self.corrs.len());
        let consumers = Consumers::of(self);
        let mut sorted = partial.matches.drain_sorted(&self.capture)?;
        let mut step: Vec<BaseMatch> = Vec::with_capacity(FINISH_STEP);
        while let Some(m) = sorted.next_match()? {
            // Every match still to come is at or after `m`, so `m`'s time is a watermark; one
            // at that very time stays pending for the next step.
            if step.len() >= FINISH_STEP {
                let watermark = m.time;
                partial
                    .stream
                    .feed(self, &consumers, std::mem::take(&mut step));
                partial.stream.advance(self, watermark, out);
            }
            step.push(m);
        }
        partial.stream.feed(self, &consumers, step);
        Ok(())
    }

    /// A short text naming the correlations and the rules they read, in order; a state file
    /// saved with other correlations is refused.
    pub fn fingerprint(&self) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = rustc_hash::FxHasher::default();
        for c in &self.corrs {
            c.meta.id.hash(&mut h);
            c.meta.title.hash(&mut h);
            c.timespan.num_milliseconds().hash(&mut h);
            c.inputs.hash(&mut h);
            c.group_names.hash(&mut h);
        }
        let mut rules: Vec<(&u32, &String)> = self.titles.iter().collect();
        rules.sort();
        rules.hash(&mut h);
        format!("{}:{:016x}", self.corrs.len(), h.finish())
    }

    fn check_item(&self, c: usize, item: &Item) -> Result<(), String> {
        let corr = &self.corrs[c];
        if item.slot as usize >= corr.inputs.len() {
            return Err(format!(
                "an input of slot {} (of {})",
                item.slot,
                corr.inputs.len()
            ));
        }
        if item.key.len() != corr.group_names.len() {
            return Err("an input with the wrong number of group-by values".into());
        }
        Ok(())
    }

    fn restore_stream(&self, saved: SavedStream) -> Result<CorrelationPartial, String> {
        if saved.fingerprint != self.fingerprint() {
            return Err("saved with other correlation rules".into());
        }
        if saved.corrs.len() != self.corrs.len() {
            return Err("saved with another number of correlations".into());
        }
        let mut partial = CorrelationPartial::default();
        for m in saved.matches {
            if !self.titles.contains_key(&m.rule) {
                return Err(format!("a match of unknown rule {}", m.rule));
            }
            partial.matches.mem.push(BaseMatch {
                time: m.time,
                origin: m.origin,
                logsource: m.logsource,
                rule: m.rule,
                values: m.values,
            });
        }
        partial.untimed = saved.untimed.into_iter().collect();
        partial.stream.released = saved.released;
        partial.stream.late = saved.late;
        for (c, sc) in saved.corrs.into_iter().enumerate() {
            let mut st = CorrState {
                seq: sc.seq,
                capped: sc.capped,
                ..CorrState::default()
            };
            for i in &sc.pending {
                self.check_item(c, i)?;
            }
            st.pending = sc.pending;
            for g in sc.groups {
                if g.key.len() != self.corrs[c].group_names.len() {
                    return Err("a group with the wrong number of group-by values".into());
                }
                let mut w = Window::new(self.corrs[c].inputs.len());
                if g.items.len() > MAX_WINDOW {
                    return Err("a window over its cap".into());
                }
                for (seq, item) in g.items {
                    self.check_item(c, &item)?;
                    if seq >= st.seq {
                        return Err("an input numbered past the sequence".into());
                    }
                    w.push(seq, item);
                }
                w.episode = g.episode;
                if st.groups.insert(g.key, w).is_some() {
                    return Err("a group saved twice".into());
                }
            }
            partial.stream.corrs.push(st);
        }
        Ok(partial)
    }
}

fn saved_of(set: &CorrelationSet, p: &CorrelationPartial) -> io::Result<SavedStream> {
    let mut untimed: Vec<(u32, u64)> = p.untimed.iter().map(|(a, b)| (*a, *b)).collect();
    untimed.sort_unstable();
    let mut corrs: Vec<SavedCorr> = p
        .stream
        .corrs
        .iter()
        .map(|st| {
            let mut groups: Vec<SavedWindow> = st
                .groups
                .iter()
                .map(|(k, w)| SavedWindow {
                    key: k.clone(),
                    items: w.items.iter().cloned().collect(),
                    episode: w.episode.clone(),
                })
                .collect();
            groups.sort_by(|a, b| a.key.cmp(&b.key));
            SavedCorr {
                pending: st.pending.clone(),
                groups,
                seq: st.seq,
                capped: st.capped,
            }
        })
        .collect();
    corrs.resize_with(set.corrs.len(), || SavedCorr {
        pending: Vec::new(),
        groups: Vec::new(),
        seq: 0,
        capped: 0,
    });
    Ok(SavedStream {
        fingerprint: set.fingerprint(),
        released: p.stream.released,
        late: p.stream.late,
        untimed,
        matches: p
            .matches
            .snapshot(&set.capture)?
            .iter()
            .map(|m| SavedMatch {
                time: m.time,
                origin: m.origin.clone(),
                logsource: m.logsource.clone(),
                rule: m.rule,
                values: m.values.clone(),
            })
            .collect(),
        corrs,
    })
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
            if partial.stream.released.is_some_and(|w| time < w) {
                partial.stream.late += 1;
                continue;
            }
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

    fn seal(&self, partial: &mut CorrelationPartial) {
        partial.matches.seal();
    }

    fn merge(&self, into: &mut CorrelationPartial, from: CorrelationPartial) {
        into.matches.absorb(from.matches);
        for (r, n) in from.untimed {
            *into.untimed.entry(r).or_default() += n;
        }
        into.stream.late += from.stream.late;
    }

    fn finish(&self, mut partial: CorrelationPartial) -> StatefulOutput {
        let mut out = StatefulOutput::default();
        if let Err(e) = self.feed_in_steps(&mut partial, &mut out.findings) {
            out.notes.push(read_back_failed(&e));
        }
        out.extend(self.advance(&mut partial, DateTime::<Utc>::MAX_UTC));
        if let Some(why) = partial.matches.failed.take() {
            out.notes.push(format!("correlation: {why}"));
        }
        let mut untimed: Vec<(u32, u64)> = partial.untimed.into_iter().collect();
        untimed.sort_unstable();
        for (rule, n) in untimed {
            let title = self.titles.get(&rule).map_or("", String::as_str);
            out.notes.push(format!(
                "correlation: {n} matches of rule '{title}' have no timestamp and joined no window"
            ));
        }
        for (c, st) in self.corrs.iter().zip(&partial.stream.corrs) {
            if st.capped > 0 {
                out.notes.push(format!(
                    "correlation '{}': {} inputs left windows early (more than {MAX_WINDOW} in one group's window)",
                    c.meta.title, st.capped
                ));
            }
        }
        if partial.stream.late > 0 {
            out.notes.push(format!(
                "correlation: {} matches came later than the allowed lateness and joined no window",
                partial.stream.late
            ));
        }
        out
    }

    fn advance(
        &self,
        partial: &mut CorrelationPartial,
        watermark: DateTime<Utc>,
    ) -> StatefulOutput {
        let watermark = partial
            .stream
            .released
            .map_or(watermark, |w| w.max(watermark));
        partial.stream.released = Some(watermark);
        partial.stream.ensure(self.corrs.len());
        let consumers = Consumers::of(self);
        let mut out = StatefulOutput::default();
        let matches = match partial.matches.drain_all(&self.capture) {
            Ok(all) => all,
            Err(e) => {
                out.notes.push(read_back_failed(&e));
                Vec::new()
            }
        };
        partial.stream.feed(self, &consumers, matches);
        partial.stream.advance(self, watermark, &mut out.findings);
        out
    }

    fn late(&self, partial: &CorrelationPartial) -> u64 {
        partial.stream.late
    }

    fn save(&self, partial: &CorrelationPartial) -> Option<serde_json::Value> {
        serde_json::to_value(saved_of(self, partial).ok()?).ok()
    }

    fn restore(&self, saved: serde_json::Value) -> Result<CorrelationPartial, RestoreError> {
        let fail = |r: String| RestoreError::new("correlation", r);
        let s: SavedStream = serde_json::from_value(saved).map_err(|e| fail(e.to_string()))?;
        self.restore_stream(s).map_err(fail)
    }
}
