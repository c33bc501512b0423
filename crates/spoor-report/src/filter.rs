//! The filters every output shares (`--min-level`, `--from`/`--to`, `--rule-id`, dedup), as a
//! sink adaptor in front of any writer.
//!
//! Filtering in one adaptor rather than in each writer means every format shows the same
//! findings, and the summary's counts describe what was actually written.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use spoor_event::{Finding, FindingSink, RuleLevel, RunSummary, Value};
use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash, Hasher};
use std::io;

/// A filter option the CLI could not turn into a filter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    /// `--from` / `--to` was neither RFC 3339 nor a `YYYY-MM-DD` date.
    #[error("'{0}' is not a time: give RFC 3339 (2024-07-08T10:00:00Z) or a date (2024-07-08)")]
    BadTime(String),
    /// `--from` is after `--to`.
    #[error("--from {from} is after --to {to}")]
    EmptyWindow {
        /// The start given.
        from: String,
        /// The end given.
        to: String,
    },
}

/// Which end of a time window a bound is: a bare date means the start of that day for `From`
/// and its last instant for `To`, so `--from 2024-07-08 --to 2024-07-08` is the whole day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeBound {
    /// `--from`.
    From,
    /// `--to`.
    To,
}

/// Parses `--from` / `--to`: RFC 3339 (`2024-07-08T10:00:00Z`, `...+08:00`), a date and time
/// without zone (`2024-07-08T10:00:00` or with a space, taken as UTC), or a date.
pub fn parse_time_bound(s: &str, bound: TimeBound) -> Result<DateTime<Utc>, FilterError> {
    let t = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(t, fmt) {
            return Ok(naive.and_utc());
        }
    }
    let date =
        NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| FilterError::BadTime(s.into()))?;
    let naive = match bound {
        TimeBound::From => date.and_hms_opt(0, 0, 0),
        TimeBound::To => date.and_hms_nano_opt(23, 59, 59, 999_999_999),
    };
    naive
        .map(|n| n.and_utc())
        .ok_or_else(|| FilterError::BadTime(s.into()))
}

/// What to keep. The default keeps everything and does not de-duplicate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingFilter {
    /// Drop findings of rules below this level.
    pub min_level: Option<RuleLevel>,
    /// Drop findings before this instant (inclusive bound). Findings with no time are dropped
    /// (and counted) when either bound is set: they cannot be placed in the window.
    pub from: Option<DateTime<Utc>>,
    /// Drop findings after this instant (inclusive bound).
    pub to: Option<DateTime<Utc>>,
    /// Keep only these rule ids (exact match); empty keeps all.
    pub rule_ids: Vec<String>,
    /// Merge identical findings into one with a count (see [`FilterSink`]).
    pub dedup: bool,
}

/// Why a finding was not passed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// Below `min_level`.
    Level,
    /// Outside `from`..`to`.
    Time,
    /// No timestamp while a time window is set.
    Undated,
    /// Rule id not asked for.
    RuleId,
}

impl FindingFilter {
    /// Checks the window is not empty.
    pub fn validate(&self) -> Result<(), FilterError> {
        match (self.from, self.to) {
            (Some(from), Some(to)) if from > to => Err(FilterError::EmptyWindow {
                from: crate::evidence::rfc3339(from),
                to: crate::evidence::rfc3339(to),
            }),
            _ => Ok(()),
        }
    }

    /// Whether `f` passes (ignoring dedup), and if not, why.
    pub fn check(&self, f: &Finding) -> Result<(), Rejection> {
        if self.min_level.is_some_and(|min| f.rule.level < min) {
            return Err(Rejection::Level);
        }
        if !self.rule_ids.is_empty() && !self.rule_ids.iter().any(|id| *id == f.rule.id) {
            return Err(Rejection::RuleId);
        }
        if self.from.is_some() || self.to.is_some() {
            let Some(t) = f.timestamp else {
                return Err(Rejection::Undated);
            };
            if self.from.is_some_and(|from| t < from) || self.to.is_some_and(|to| t > to) {
                return Err(Rejection::Time);
            }
        }
        Ok(())
    }

    /// Whether the filter can drop or merge anything.
    pub fn is_active(&self) -> bool {
        *self != FindingFilter::default()
    }
}

/// What the filter did, so that nothing is dropped silently: the CLI prints these.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FilterStats {
    /// Findings received.
    pub received: u64,
    /// Findings written (after merging).
    pub written: u64,
    /// Dropped by `min_level`.
    pub below_level: u64,
    /// Dropped by `from`/`to`.
    pub outside_window: u64,
    /// Dropped because they have no time while a window is set.
    pub undated: u64,
    /// Dropped by `rule_ids`.
    pub other_rule: u64,
    /// Findings merged into an identical earlier one.
    pub merged: u64,
}

/// A [`FindingSink`] adaptor applying a [`FindingFilter`] before `inner`.
///
/// De-duplication merges findings of the same rule (id, title, engine) whose evidence is
/// identical: the same raw line, or, without one, the same event fields in the same order; file
/// findings without fields also need the same path. The first one is kept, with `count` the sum
/// of the merged counts. Since a count is only known at the end, a de-duplicating sink holds the
/// findings until [`FindingSink::finish`] and writes them in first-seen order then.
///
/// At `finish`, the summary passed on has `findings`, `findings_by_level` and
/// `findings_by_tactic` recomputed from the findings actually written, each counting for its
/// `count` (so merged duplicates still count); everything else is passed through.
pub struct FilterSink<S> {
    inner: S,
    filter: FindingFilter,
    stats: FilterStats,
    total: u64,
    by_level: BTreeMap<String, u64>,
    by_tactic: BTreeMap<String, u64>,
    dedup: Deduper,
}

impl<S: FindingSink> FilterSink<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, filter: FindingFilter) -> Self {
        FilterSink {
            inner,
            filter,
            stats: FilterStats::default(),
            total: 0,
            by_level: BTreeMap::new(),
            by_tactic: BTreeMap::new(),
            dedup: Deduper::default(),
        }
    }

    /// What was kept and dropped so far.
    pub fn stats(&self) -> FilterStats {
        self.stats
    }

    /// The wrapped sink.
    pub fn into_inner(self) -> S {
        self.inner
    }

    fn pass(&mut self, f: &Finding) -> io::Result<()> {
        self.stats.written += 1;
        let n = f.count.max(1);
        self.total = self.total.saturating_add(n);
        let level = self
            .by_level
            .entry(f.rule.level.as_str().to_string())
            .or_default();
        *level = level.saturating_add(n);
        for t in &f.rule.attack.tactics {
            let tactic = self.by_tactic.entry(t.clone()).or_default();
            *tactic = tactic.saturating_add(n);
        }
        self.inner.write(f)
    }
}

impl<S: FindingSink> FindingSink for FilterSink<S> {
    fn write(&mut self, f: &Finding) -> io::Result<()> {
        self.stats.received += 1;
        match self.filter.check(f) {
            Err(Rejection::Level) => self.stats.below_level += 1,
            Err(Rejection::Time) => self.stats.outside_window += 1,
            Err(Rejection::Undated) => self.stats.undated += 1,
            Err(Rejection::RuleId) => self.stats.other_rule += 1,
            Ok(()) if self.filter.dedup => {
                if !self.dedup.add(f) {
                    self.stats.merged += 1;
                }
            }
            Ok(()) => self.pass(f)?,
        }
        Ok(())
    }

    fn finish(&mut self, summary: &RunSummary) -> io::Result<()> {
        for f in std::mem::take(&mut self.dedup).into_findings() {
            self.pass(&f)?;
        }
        let mut out = summary.clone();
        out.findings = self.total;
        out.findings_by_level = std::mem::take(&mut self.by_level);
        out.findings_by_tactic = std::mem::take(&mut self.by_tactic);
        self.inner.finish(&out)
    }
}

/// Merges identical findings, keeping first-seen order.
#[derive(Default)]
struct Deduper {
    hasher: RandomState,
    index: HashMap<u64, Vec<usize>>,
    findings: Vec<Finding>,
}

impl Deduper {
    /// Adds `f`; false when it was merged into an earlier one.
    fn add(&mut self, f: &Finding) -> bool {
        let key = self.hasher.hash_one(EvidenceKey(f));
        if self.merge(key, f) {
            return false;
        }
        self.keep(key, f.clone());
        true
    }

    fn keep(&mut self, key: u64, f: Finding) {
        self.index.entry(key).or_default().push(self.findings.len());
        self.findings.push(f);
    }

    /// Adds `f`'s count to an earlier identical finding, if there is one.
    fn merge(&mut self, key: u64, f: &Finding) -> bool {
        let Some(slot) = self.index.get(&key) else {
            return false;
        };
        for &i in slot {
            if let Some(kept) = self.findings.get_mut(i) {
                if same_evidence(kept, f) {
                    kept.count = kept.count.saturating_add(f.count);
                    return true;
                }
            }
        }
        false
    }

    fn into_findings(self) -> Vec<Finding> {
        self.findings
    }
}

fn path_matters(f: &Finding) -> bool {
    f.raw.is_none() && f.event.is_empty()
}

/// Identical evidence from the same rule in the same file. Findings of different files are never
/// merged, so that every file holding the evidence stays in the timeline.
pub(crate) fn same_evidence(a: &Finding, b: &Finding) -> bool {
    a.rule.id == b.rule.id
        && a.rule.title == b.rule.title
        && a.rule.kind == b.rule.kind
        && a.source.path == b.source.path
        && a.raw == b.raw
        && a.event == b.event
        && a.correlation == b.correlation
        && (!path_matters(a) || a.file == b.file)
}

/// Hashes what [`same_evidence`] compares.
pub(crate) struct EvidenceKey<'a>(pub(crate) &'a Finding);

impl Hash for EvidenceKey<'_> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        let f = self.0;
        f.rule.id.hash(h);
        f.rule.title.hash(h);
        f.raw.hash(h);
        f.event.len().hash(h);
        for (k, v) in &f.event {
            k.hash(h);
            hash_value(v, h);
        }
        f.source.path.hash(h);
    }
}

fn hash_value<H: Hasher>(v: &Value, h: &mut H) {
    match v {
        Value::Null => 0u8.hash(h),
        Value::Bool(b) => (1u8, b).hash(h),
        Value::Int(i) => (2u8, i).hash(h),
        Value::Float(x) => (3u8, x.to_bits()).hash(h),
        Value::Str(s) => (4u8, s).hash(h),
        Value::Array(items) => {
            (5u8, items.len()).hash(h);
            // Hash only the length and first elements: arrays are rare, and equality is checked
            // in full afterwards, so the hash only needs to spread, not to be exact.
            for item in items.iter().take(8) {
                if let Some(t) = item.as_text() {
                    t.hash(h);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spoor_event::{attack_from_tags, Event, Position, RuleKind, RuleMeta};
    use std::sync::Arc;

    #[derive(Default)]
    struct Collect {
        got: Vec<Finding>,
        summary: Option<RunSummary>,
    }
    impl FindingSink for Collect {
        fn write(&mut self, f: &Finding) -> io::Result<()> {
            self.got.push(f.clone());
            Ok(())
        }
        fn finish(&mut self, s: &RunSummary) -> io::Result<()> {
            self.summary = Some(s.clone());
            Ok(())
        }
    }

    fn finding(id: &str, level: RuleLevel, time: Option<&str>, raw: &str) -> Finding {
        let mut meta = RuleMeta::new(id, id.to_uppercase(), level, RuleKind::Sigma);
        meta.attack = attack_from_tags(["attack.initial-access", "attack.t1190"]);
        let mut ev = Event::new("a.log", Position::Line(1));
        ev.timestamp = time.map(|t| parse_time_bound(t, TimeBound::From).unwrap());
        ev.raw = Some(raw.into());
        Finding::from_event(Arc::new(meta), &ev)
    }

    #[test]
    fn parses_bounds() {
        let from = parse_time_bound("2024-07-08", TimeBound::From).unwrap();
        let to = parse_time_bound("2024-07-08", TimeBound::To).unwrap();
        assert_eq!(crate::evidence::rfc3339(from), "2024-07-08T00:00:00Z");
        assert_eq!(
            crate::evidence::rfc3339(to),
            "2024-07-08T23:59:59.999999999Z"
        );
        let z = parse_time_bound("2024-07-08T10:00:00+08:00", TimeBound::From).unwrap();
        assert_eq!(crate::evidence::rfc3339(z), "2024-07-08T02:00:00Z");
        let n = parse_time_bound("2024-07-08 10:00:00", TimeBound::To).unwrap();
        assert_eq!(crate::evidence::rfc3339(n), "2024-07-08T10:00:00Z");
        assert!(matches!(
            parse_time_bound("yesterday", TimeBound::From),
            Err(FilterError::BadTime(_))
        ));
        let bad = FindingFilter {
            from: Some(to),
            to: Some(from),
            ..Default::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn filters_and_counts_every_drop() {
        let filter = FindingFilter {
            min_level: Some(RuleLevel::Medium),
            from: Some(parse_time_bound("2024-07-08", TimeBound::From).unwrap()),
            to: Some(parse_time_bound("2024-07-08", TimeBound::To).unwrap()),
            rule_ids: vec!["a".into(), "b".into()],
            dedup: false,
        };
        let mut sink = FilterSink::new(Collect::default(), filter);
        let input = [
            finding("a", RuleLevel::High, Some("2024-07-08T05:00:00Z"), "x"),
            finding("a", RuleLevel::Low, Some("2024-07-08T05:00:00Z"), "x"),
            finding("b", RuleLevel::High, Some("2024-07-09T00:00:00Z"), "x"),
            finding("b", RuleLevel::High, None, "x"),
            finding("c", RuleLevel::High, Some("2024-07-08T05:00:00Z"), "x"),
            finding("b", RuleLevel::Critical, Some("2024-07-08T23:59:59Z"), "y"),
        ];
        for f in &input {
            sink.write(f).unwrap();
        }
        sink.finish(&RunSummary::default()).unwrap();
        let stats = sink.stats();
        assert_eq!(
            stats,
            FilterStats {
                received: 6,
                written: 2,
                below_level: 1,
                outside_window: 1,
                undated: 1,
                other_rule: 1,
                merged: 0
            }
        );
        let inner = sink.into_inner();
        let ids: Vec<_> = inner.got.iter().map(|f| f.rule.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        let s = inner.summary.unwrap();
        assert_eq!(s.findings, 2);
        assert_eq!(s.findings_by_level.get("high"), Some(&1));
        assert_eq!(s.findings_by_level.get("critical"), Some(&1));
        assert_eq!(s.findings_by_tactic.get("initial-access"), Some(&2));
    }

    #[test]
    fn dedup_merges_identical_keeps_order_and_counts() {
        let filter = FindingFilter {
            dedup: true,
            ..Default::default()
        };
        let mut sink = FilterSink::new(Collect::default(), filter);
        let mut later = finding("a", RuleLevel::High, Some("2024-07-08T05:00:00Z"), "x");
        later.count = 3;
        for f in [
            finding("a", RuleLevel::High, Some("2024-07-08T05:00:00Z"), "x"),
            finding("b", RuleLevel::High, Some("2024-07-08T05:00:00Z"), "x"),
            later,
            finding(
                "a",
                RuleLevel::High,
                Some("2024-07-08T05:00:00Z"),
                "other line",
            ),
        ] {
            sink.write(&f).unwrap();
        }
        assert!(
            sink.inner.got.is_empty(),
            "dedup holds findings until finish"
        );
        sink.finish(&RunSummary::default()).unwrap();
        assert_eq!(sink.stats().merged, 1);
        assert_eq!(sink.stats().written, 3);
        let summary = sink.inner.summary.as_ref().unwrap();
        assert_eq!(summary.findings, 6, "merged findings count for their count");
        assert_eq!(summary.findings_by_level.get("high"), Some(&6));
        let got = &sink.inner.got;
        let seen: Vec<_> = got
            .iter()
            .map(|f| (f.rule.id.as_str(), f.raw.as_deref().unwrap_or(""), f.count))
            .collect();
        assert_eq!(seen, [("a", "x", 4), ("b", "x", 1), ("a", "other line", 1)]);
        assert_eq!(dedup_findings(got.clone()).len(), 3);
    }

    /// Merges identical findings as [`FilterSink`] does, keeping first-seen order.
    fn dedup_findings(findings: impl IntoIterator<Item = Finding>) -> Vec<Finding> {
        let mut d = Deduper::default();
        for f in findings {
            d.add(&f);
        }
        d.into_findings()
    }

    #[test]
    fn file_findings_in_different_files_stay_apart() {
        let meta = Arc::new(RuleMeta::new("y", "Y", RuleLevel::High, RuleKind::Yara));
        let a = Finding::from_event(meta.clone(), &Event::new("a.aspx", Position::Index(1)));
        let b = Finding::from_event(meta, &Event::new("b.aspx", Position::Index(2)));
        assert_eq!(dedup_findings([a.clone(), b, a]).len(), 2);
    }
}
