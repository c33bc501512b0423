//! Stateful STIX patterns over the event stream: several observations, `FOLLOWEDBY`, `WITHIN`,
//! `REPEATS` and `START`/`STOP`. Matchers record which observation each event satisfied
//! ([`ObservationHit`]); after the last event the hits of all threads are merged, sorted (so the
//! result does not depend on thread scheduling) and evaluated by time.
//!
//! An observation expression evaluates to match sets: sets of distinct hits that together satisfy
//! it, with the time span they cover. `A AND B` joins disjoint sets of A and B; `A FOLLOWEDBY B`
//! also needs the last time of A's set not after the first time of B's; `WITHIN n SECONDS` keeps
//! sets spanning at most n seconds; `REPEATS n TIMES` joins n time-consecutive disjoint sets;
//! `START s STOP e` keeps sets lying in `[s, e)`. Hits without a time never satisfy a
//! time-bound operator. The number of sets per step is capped ([`MAX_SETS`]); a cap reached is
//! reported in [`Correlation::notes`].

use crate::pattern::ObsExpr;
use chrono::{DateTime, Utc};
use spoor_event::Finding;

/// Most match sets kept per step of one indicator.
pub const MAX_SETS: usize = 10_000;

/// One event that satisfied one observation (`[...]`) of a stateful STIX indicator.
#[derive(Debug, Clone)]
pub struct ObservationHit {
    pub(crate) indicator: u32,
    pub(crate) observation: u32,
    pub(crate) finding: Finding,
}

impl ObservationHit {
    /// The event's time.
    pub fn timestamp(&self) -> Option<DateTime<Utc>> {
        self.finding.timestamp
    }

    /// The STIX id of the indicator.
    pub fn indicator_id(&self) -> &str {
        &self.finding.rule.id
    }

    pub(crate) fn order(a: &ObservationHit, b: &ObservationHit) -> std::cmp::Ordering {
        (a.indicator, a.observation)
            .cmp(&(b.indicator, b.observation))
            .then_with(|| Finding::report_order(&a.finding, &b.finding))
    }
}

/// What correlation produced.
#[derive(Debug, Clone, Default)]
pub struct Correlation {
    /// Findings, in report order.
    pub findings: Vec<Finding>,
    /// Limits reached (per indicator), for the run's warnings.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct MatchSet {
    last: Option<DateTime<Utc>>,
    first: Option<DateTime<Utc>>,
    /// Events (one event satisfies at most one observation of a match).
    events: Vec<u32>,
    /// Hits.
    members: Vec<u32>,
}

/// Merges two sorted lists; `None` when they share an element.
fn merge_disjoint(a: &[u32], b: &[u32]) -> Option<Vec<u32>> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    loop {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => return None,
            (Some(x), Some(y)) if x < y => {
                out.push(*x);
                i += 1;
            }
            (_, Some(y)) => {
                out.push(*y);
                j += 1;
            }
            (Some(x), None) => {
                out.push(*x);
                i += 1;
            }
            (None, None) => return Some(out),
        }
    }
}

type Time = Option<DateTime<Utc>>;

fn both(x: Time, y: Time, f: fn(DateTime<Utc>, DateTime<Utc>) -> DateTime<Utc>) -> Time {
    match (x, y) {
        (Some(x), Some(y)) => Some(f(x, y)),
        _ => None,
    }
}

impl MatchSet {
    /// The union of two sets with no event in common; `None` otherwise.
    fn join(&self, other: &MatchSet) -> Option<MatchSet> {
        Some(MatchSet {
            first: both(self.first, other.first, std::cmp::min),
            last: both(self.last, other.last, std::cmp::max),
            events: merge_disjoint(&self.events, &other.events)?,
            members: merge_disjoint(&self.members, &other.members)?,
        })
    }
}

/// What correlation knows of each hit: its time and which event it came from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HitInfo {
    /// Event time.
    pub(crate) time: Time,
    /// Event number (equal for hits of the same event).
    pub(crate) event: u32,
}

/// Evaluates one indicator's observation tree over its hits (`by_obs[o]` = indexes of the hits
/// of observation `o`, `times[i]` = time of hit `i`). Returns the match sets and whether a cap
/// was reached.
pub(crate) fn evaluate(
    root: &ObsExpr,
    by_obs: &[Vec<u32>],
    times: &[HitInfo],
) -> (Vec<Vec<u32>>, bool) {
    let mut truncated = false;
    let mut sets = eval(root, by_obs, times, &mut truncated);
    sets.sort();
    sets.dedup();
    (sets.into_iter().map(|s| s.members).collect(), truncated)
}

fn cap(v: &mut [MatchSet], truncated: &mut bool) -> bool {
    if v.len() >= MAX_SETS {
        *truncated = true;
        true
    } else {
        false
    }
}

fn eval(
    e: &ObsExpr,
    by_obs: &[Vec<u32>],
    times: &[HitInfo],
    truncated: &mut bool,
) -> Vec<MatchSet> {
    match e {
        ObsExpr::Observation(o) => by_obs
            .get(*o)
            .into_iter()
            .flatten()
            .take(MAX_SETS)
            .filter_map(|&i| {
                let info = times.get(i as usize)?;
                Some(MatchSet {
                    last: info.time,
                    first: info.time,
                    events: vec![info.event],
                    members: vec![i],
                })
            })
            .collect(),
        ObsExpr::Or(items) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(eval(item, by_obs, times, truncated));
            }
            out.sort();
            out.dedup();
            if out.len() > MAX_SETS {
                out.truncate(MAX_SETS);
                *truncated = true;
            }
            out
        }
        ObsExpr::And(items) | ObsExpr::FollowedBy(items) => {
            let ordered = matches!(e, ObsExpr::FollowedBy(_));
            let mut acc: Option<Vec<MatchSet>> = None;
            for item in items {
                let mut next_sets = eval(item, by_obs, times, truncated);
                let Some(prev) = acc.take() else {
                    acc = Some(next_sets);
                    continue;
                };
                next_sets.sort_by(|a, b| a.first.cmp(&b.first).then_with(|| a.cmp(b)));
                let mut out = Vec::new();
                'outer: for a in &prev {
                    for b in &next_sets {
                        if ordered {
                            match (a.last, b.first) {
                                (Some(l), Some(f)) if l <= f => {}
                                _ => continue,
                            }
                        }
                        if let Some(m) = a.join(b) {
                            out.push(m);
                            if cap(&mut out, truncated) {
                                break 'outer;
                            }
                        }
                    }
                }
                out.sort();
                out.dedup();
                acc = Some(out);
            }
            acc.unwrap_or_default()
        }
        ObsExpr::Within(inner, secs) => {
            let limit_ms = secs * 1000.0;
            eval(inner, by_obs, times, truncated)
                .into_iter()
                .filter(|s| match (s.first, s.last) {
                    (Some(f), Some(l)) => ((l - f).num_milliseconds() as f64) <= limit_ms,
                    _ => false,
                })
                .collect()
        }
        ObsExpr::Repeats(inner, n) => {
            let n = *n as usize;
            let mut sets = eval(inner, by_obs, times, truncated);
            sets.sort_by(|a, b| a.first.cmp(&b.first).then_with(|| a.cmp(b)));
            let mut out = Vec::new();
            if n == 0 || sets.len() < n {
                return out;
            }
            for window in sets.windows(n) {
                let Some((head, rest)) = window.split_first() else {
                    continue;
                };
                let mut joined = Some(head.clone());
                for s in rest {
                    joined = joined.and_then(|j| j.join(s));
                }
                if let Some(j) = joined {
                    out.push(j);
                    if cap(&mut out, truncated) {
                        break;
                    }
                }
            }
            out
        }
        ObsExpr::StartStop(inner, start, stop) => eval(inner, by_obs, times, truncated)
            .into_iter()
            .filter(|s| match (s.first, s.last) {
                (Some(f), Some(l)) => f >= *start && l < *stop,
                _ => false,
            })
            .collect(),
    }
}
