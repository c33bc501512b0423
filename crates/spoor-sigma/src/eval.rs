//! Per-thread evaluation: the scratch space an event needs (field slots, folded text, candidate
//! marks), the prefilter scan, and the evaluation of candidate rules.

use crate::index::LogSourceIndex;
use crate::ir::{
    Check, CompiledRule, Cond, FieldId, Mode, RefHow, Sel, Target, Test, TestKind, TimePart,
};
use crate::pattern::fold_into;
use crate::RuleSet;
use chrono::{DateTime, Datelike, NaiveDateTime, Timelike};
use spoor_event::{Event, EventMatcher, Finding, LogSource, RuleMeta, Value};
use std::sync::Arc;

const NONE: u32 = u32::MAX;

/// Matches events against a [`RuleSet`]. One per thread; reuses its buffers across events.
pub struct Evaluator<'s> {
    set: &'s RuleSet,
    scratch: Scratch,
    cand_gen: Vec<u32>,
    cands: Vec<u32>,
    gen: u32,
    memo: Vec<u8>,
    filter_memo: Vec<u8>,
    last: Option<(LogSource, Arc<LogSourceIndex>)>,
}

/// What the matchers read about the current event.
#[derive(Default)]
pub(crate) struct Scratch {
    gen: u32,
    slot_gen: Vec<u32>,
    slot_head: Vec<u32>,
    next_same: Vec<u32>,
    /// Field id of each event field (`NONE` when no rule names it), found once per event.
    fids: Vec<u32>,
    folded: Vec<String>,
    /// The raw line folded, when keyword rules need it (buffer reused across events).
    raw_folded: String,
    has_raw_folded: bool,
}

impl Scratch {
    /// Builds the slot table and folds the text of the fields `needed` marks (all fields when
    /// `needed` is `None` or `all_text`).
    pub(crate) fn prepare(
        &mut self,
        set: &RuleSet,
        ev: &Event,
        all_text: bool,
        needed: Option<&[bool]>,
    ) {
        self.gen = self.gen.wrapping_add(1);
        if self.gen == 0 {
            self.slot_gen.iter_mut().for_each(|g| *g = 0);
            self.gen = 1;
        }
        let n_fields = set.fields.names.len();
        if self.slot_gen.len() < n_fields {
            self.slot_gen.resize(n_fields, 0);
            self.slot_head.resize(n_fields, NONE);
        }
        let n = ev.fields.len();
        self.next_same.clear();
        self.next_same.resize(n, NONE);
        self.fids.clear();
        self.fids.resize(n, NONE);
        if self.folded.len() < n {
            self.folded.resize_with(n, String::new);
        }
        // Walk backwards so each slot's list comes out in event order.
        for i in (0..n).rev() {
            let (name, value) = &ev.fields[i];
            let fid = set.fields.ids.get(&**name).copied();
            self.fids[i] = fid.unwrap_or(NONE);
            let buf = &mut self.folded[i];
            buf.clear();
            if let Some(f) = fid {
                let f = f as usize;
                if self.slot_gen[f] == self.gen {
                    self.next_same[i] = self.slot_head[f];
                } else {
                    self.slot_gen[f] = self.gen;
                }
                self.slot_head[f] = i as u32;
            }
            let wanted = match (fid, needed) {
                _ if all_text => true,
                (Some(f), Some(n)) => n.get(f as usize).copied().unwrap_or(true),
                (Some(_), None) => true,
                (None, _) => false,
            };
            if wanted {
                fold_value_into(value, buf);
            }
        }
        self.raw_folded.clear();
        self.has_raw_folded = false;
        if let (true, Some(raw)) = (all_text, ev.raw.as_deref()) {
            fold_into(raw, &mut self.raw_folded);
            self.has_raw_folded = true;
        }
    }

    fn raw_folded(&self) -> Option<&str> {
        self.has_raw_folded.then_some(self.raw_folded.as_str())
    }

    pub(crate) fn head(&self, f: FieldId) -> u32 {
        let f = f as usize;
        if self.slot_gen.get(f) == Some(&self.gen) {
            self.slot_head[f]
        } else {
            NONE
        }
    }
}

fn fold_value_into(v: &Value, buf: &mut String) {
    match v {
        Value::Str(s) => fold_into(s, buf),
        Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
            if let Some(t) = v.as_text() {
                buf.push_str(&t);
            }
        }
        Value::Null | Value::Array(_) => {}
    }
}

/// Calls `f(original, folded)` for each scalar text of a value (arrays element-wise, at any
/// depth, with an explicit stack: a hostile event may nest arrays far deeper than the call stack
/// could follow); stops at the first `true`.
pub(crate) fn any_text(v: &Value, folded: &str, f: &mut dyn FnMut(&str, &str) -> bool) -> bool {
    match v {
        Value::Str(s) => f(s, folded),
        Value::Int(_) | Value::Float(_) | Value::Bool(_) => f(folded, folded),
        Value::Null => false,
        Value::Array(items) => {
            let mut stack: Vec<&Value> = items.iter().rev().collect();
            let mut buf = String::new();
            while let Some(item) = stack.pop() {
                match item {
                    Value::Array(inner) => stack.extend(inner.iter().rev()),
                    Value::Null => {}
                    scalar => {
                        buf.clear();
                        fold_value_into(scalar, &mut buf);
                        let orig = match scalar {
                            Value::Str(s) => &**s,
                            _ => buf.as_str(),
                        };
                        if f(orig, &buf) {
                            return true;
                        }
                    }
                }
            }
            false
        }
    }
}

/// Calls `f` with each number of a value (arrays element-wise at any depth, without recursion).
fn any_number(v: &Value, f: &mut dyn FnMut(f64) -> bool) -> bool {
    let mut stack = vec![v];
    while let Some(item) = stack.pop() {
        match item {
            Value::Array(inner) => stack.extend(inner.iter().rev()),
            other => {
                if other.as_f64().is_some_and(&mut *f) {
                    return true;
                }
            }
        }
    }
    false
}

fn is_nullish(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Str(s) => s.is_empty(),
        _ => false,
    }
}

pub(crate) struct Ctx<'a> {
    pub(crate) ev: &'a Event,
    pub(crate) s: &'a Scratch,
}

impl Ctx<'_> {
    pub(crate) fn occurrences(&self, f: FieldId) -> impl Iterator<Item = usize> + '_ {
        let mut i = self.s.head(f);
        std::iter::from_fn(move || {
            if i == NONE {
                return None;
            }
            let cur = i as usize;
            i = self.s.next_same[cur];
            Some(cur)
        })
    }

    pub(crate) fn value(&self, i: usize) -> (&Value, &str) {
        (&self.ev.fields[i].1, &self.s.folded[i])
    }

    /// Does the value at field index `i` satisfy `c`?
    pub(crate) fn check_at(&self, c: &Check, i: usize) -> bool {
        let (v, folded) = self.value(i);
        check_value(c, v, folded, self)
    }
}

fn check_value(c: &Check, v: &Value, folded: &str, ctx: &Ctx) -> bool {
    match c {
        Check::Null => is_nullish(v),
        Check::NumCmp(op, n) => any_number(v, &mut |x| op.apply(x, *n)),
        Check::FieldRef { other, how, cased } => any_text(v, folded, &mut |o, f| {
            let mine = if *cased { o } else { f };
            ctx.occurrences(*other).any(|j| {
                let (ov, of) = ctx.value(j);
                any_text(ov, of, &mut |oo, ff| {
                    let theirs = if *cased { oo } else { ff };
                    match how {
                        RefHow::Equals => mine == theirs,
                        RefHow::Contains => mine.contains(theirs),
                        RefHow::StartsWith => mine.starts_with(theirs),
                        RefHow::EndsWith => mine.ends_with(theirs),
                    }
                })
            })
        }),
        _ => any_text(v, folded, &mut |o, f| check_text(c, o, f)),
    }
}

/// Extracts a part of a date written as RFC 3339 or `YYYY-MM-DD HH:MM:SS[.fff]`.
pub(crate) fn time_part(text: &str, part: TimePart) -> Option<u32> {
    let t = text.trim();
    let naive = DateTime::parse_from_rfc3339(t)
        .map(|d| d.naive_utc())
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f"))
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f"))
        .ok()?;
    Some(match part {
        TimePart::Minute => naive.minute(),
        TimePart::Hour => naive.hour(),
        TimePart::Day => naive.day(),
        TimePart::Week => naive.iso_week().week(),
        TimePart::Month => naive.month(),
        TimePart::Year => u32::try_from(naive.year()).ok()?,
    })
}

/// Calls `f(original, folded)` for every text a keyword search sees: each field's values and
/// the raw line. Stops at the first `true`.
pub(crate) fn any_keyword_text(ctx: &Ctx, f: &mut dyn FnMut(&str, &str) -> bool) -> bool {
    for (i, (_, v)) in ctx.ev.fields.iter().enumerate() {
        if any_text(v, &ctx.s.folded[i], f) {
            return true;
        }
    }
    match (ctx.ev.raw.as_deref(), ctx.s.raw_folded()) {
        (Some(raw), Some(folded)) => f(raw, folded),
        _ => false,
    }
}

/// A check on one text (keyword searches have no field types).
pub(crate) fn check_text(c: &Check, orig: &str, folded: &str) -> bool {
    match c {
        Check::Str(p) => p.is_match(orig, folded),
        Check::NumEq { text, canon } => folded == text || folded == canon,
        Check::Regex(r) => r.is_match(orig),
        Check::NumCmp(op, n) => orig.trim().parse::<f64>().is_ok_and(|x| op.apply(x, *n)),
        Check::Cidr(net) => orig
            .trim()
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| net.contains(&ip)),
        Check::TimePart(part, op, n) => {
            time_part(orig, *part).is_some_and(|x| op.apply(x as f64, *n))
        }
        Check::Null | Check::FieldRef { .. } => false,
    }
}

pub(crate) fn fast_text(fast: &crate::ir::AnyFast, folded: &str) -> bool {
    fast.equals.contains(folded) || fast.contains.is_match(folded)
}

pub(crate) fn eval_test(t: &Test, ctx: &Ctx) -> bool {
    match (&t.kind, t.target) {
        (TestKind::Exists(want), Target::Field(f)) => (ctx.s.head(f) != NONE) == *want,
        (TestKind::Exists(_), Target::Keyword) => false,
        (TestKind::Values { mode, groups, fast }, Target::Field(f)) => {
            let present = ctx.s.head(f) != NONE;
            let satisfied = |c: &Check| match c {
                Check::Null => !present || ctx.occurrences(f).any(|i| ctx.check_at(c, i)),
                _ => ctx.occurrences(f).any(|i| ctx.check_at(c, i)),
            };
            match mode {
                Mode::Any => {
                    fast.as_ref().is_some_and(|fa| {
                        ctx.occurrences(f).any(|i| {
                            let (v, fo) = ctx.value(i);
                            any_text(v, fo, &mut |_, f| fast_text(fa, f))
                        })
                    }) || groups.iter().flatten().any(satisfied)
                }
                Mode::All => groups.iter().all(|g| g.iter().any(satisfied)),
                Mode::NoneOf => present && !groups.iter().flatten().any(satisfied),
            }
        }
        (TestKind::Values { mode, groups, fast }, Target::Keyword) => {
            let satisfied = |c: &Check| any_keyword_text(ctx, &mut |o, f| check_text(c, o, f));
            match mode {
                Mode::Any => {
                    fast.as_ref()
                        .is_some_and(|fa| any_keyword_text(ctx, &mut |_, f| fast_text(fa, f)))
                        || groups.iter().flatten().any(satisfied)
                }
                Mode::All => groups.iter().all(|g| g.iter().any(satisfied)),
                Mode::NoneOf => !groups.iter().flatten().any(satisfied),
            }
        }
    }
}

pub(crate) fn eval_sel(s: &Sel, ctx: &Ctx) -> bool {
    match s {
        Sel::And(tests) => tests.iter().all(|t| eval_test(t, ctx)),
        Sel::Or(branches) => branches.iter().any(|b| eval_sel(b, ctx)),
    }
}

pub(crate) fn eval_cond(c: &Cond, rule: &CompiledRule, ctx: &Ctx, memo: &mut [u8]) -> bool {
    match c {
        Cond::Sel(i) => {
            let i = *i as usize;
            match memo.get(i) {
                Some(0) => false,
                Some(1) => true,
                _ => {
                    let r = rule.sels.get(i).is_some_and(|s| eval_sel(s, ctx));
                    if let Some(m) = memo.get_mut(i) {
                        *m = u8::from(r);
                    }
                    r
                }
            }
        }
        Cond::And(items) => items.iter().all(|i| eval_cond(i, rule, ctx, memo)),
        Cond::Or(items) => items.iter().any(|i| eval_cond(i, rule, ctx, memo)),
        Cond::Not(inner) => !eval_cond(inner, rule, ctx, memo),
        Cond::AtLeast(n, items) => {
            let mut count = 0;
            for i in items {
                if eval_cond(i, rule, ctx, memo) {
                    count += 1;
                    if count >= *n {
                        return true;
                    }
                }
            }
            false
        }
    }
}

/// Evaluates one compiled rule on an event, without any prefilter (used by the engine after
/// the prefilter, and by tests as the slow twin of the indexed path).
pub(crate) fn rule_matches(rule: &CompiledRule, ev: &Event, set: &RuleSet) -> bool {
    let mut s = Scratch::default();
    s.prepare(set, ev, true, None);
    let ctx = Ctx { ev, s: &s };
    let mut memo = vec![2u8; rule.sels.len()];
    rule.logsource.accepts(&ev.logsource) && eval_cond(&rule.cond, rule, &ctx, &mut memo)
}

/// True when a filter rule attached to rule `r` holds on the event; `count` adds it to the
/// filter's suppression count.
fn suppressed(set: &RuleSet, r: usize, ctx: &Ctx, memo: &mut Vec<u8>, count: bool) -> bool {
    let Some(fs) = set.filters_of.get(r) else {
        return false;
    };
    for &fi in fs {
        let Some(f) = set.filters.get(fi as usize) else {
            continue;
        };
        if !f.rule.logsource.accepts(&ctx.ev.logsource) {
            continue;
        }
        memo.clear();
        memo.resize(f.rule.sels.len(), 2);
        if eval_cond(&f.rule.cond, &f.rule, ctx, memo) {
            if count {
                f.suppressed
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            return true;
        }
    }
    false
}

/// The slow twin's filter check (no counting).
pub(crate) fn filtered(set: &RuleSet, r: usize, ev: &Event) -> bool {
    if set.filters_of.get(r).is_none_or(Vec::is_empty) {
        return false;
    }
    let mut s = Scratch::default();
    s.prepare(set, ev, true, None);
    let ctx = Ctx { ev, s: &s };
    suppressed(set, r, &ctx, &mut Vec::new(), false)
}

impl<'s> Evaluator<'s> {
    pub(crate) fn new(set: &'s RuleSet) -> Self {
        Evaluator {
            set,
            scratch: Scratch::default(),
            cand_gen: vec![0; set.rules.len()],
            cands: Vec::new(),
            gen: 0,
            memo: Vec::new(),
            filter_memo: Vec::new(),
            last: None,
        }
    }

    fn index_for(&mut self, ls: &LogSource) -> Arc<LogSourceIndex> {
        if let Some((k, idx)) = &self.last {
            if k == ls {
                return idx.clone();
            }
        }
        let idx = self.set.index_for(ls);
        self.last = Some((ls.clone(), idx.clone()));
        idx
    }

    /// Calls `f` with each rule that matches `ev`, in rule-set order.
    pub fn for_each_match(&mut self, ev: &Event, mut f: impl FnMut(&'s Arc<RuleMeta>)) {
        let idx = self.index_for(&ev.logsource);
        if idx.rules == 0 {
            return;
        }
        self.scratch
            .prepare(self.set, ev, idx.needs_all_text, Some(&idx.needed));
        self.gen = self.gen.wrapping_add(1);
        if self.gen == 0 {
            self.cand_gen.iter_mut().for_each(|g| *g = 0);
            self.gen = 1;
        }
        self.cands.clear();
        // The line gate of this set already proved which rules may match: evaluate those and
        // skip the event index (a hint of another set is ignored).
        // (Its rules are those of the log source the gate was built for; one the event's log
        // source does not take is left out, should the event have been changed since.)
        if let Some(hint) = ev.gate_hint.as_deref().filter(|h| h.owner == self.set.id) {
            let rules = &self.set.rules;
            self.cands.extend(hint.rules.iter().copied().filter(|&r| {
                rules
                    .get(r as usize)
                    .is_some_and(|rule| rule.logsource.accepts(&ev.logsource))
            }));
            self.evaluate_candidates(ev, &mut f);
            return;
        }
        self.cands.extend_from_slice(&idx.always);
        for &r in &idx.always {
            self.cand_gen[r as usize] = self.gen;
        }
        let (gen, cand_gen, cands) = (self.gen, &mut self.cand_gen, &mut self.cands);
        let mut mark = |rules: &[u32]| {
            for &r in rules {
                let slot = &mut cand_gen[r as usize];
                if *slot != gen {
                    *slot = gen;
                    cands.push(r);
                }
            }
        };
        for (i, (_, value)) in ev.fields.iter().enumerate() {
            let folded = self.scratch.folded[i].as_str();
            let fid = self.scratch.fids[i];
            if let Some(Some(fx)) = idx.fields.get(fid as usize) {
                mark(&fx.present);
                if !fx.exact.is_empty() || fx.substr.is_some() {
                    any_text(value, folded, &mut |_, fo| {
                        if let Some(rules) = fx.exact.get(fo) {
                            mark(rules);
                        }
                        if let Some((ac, rules)) = &fx.substr {
                            for m in ac.find_overlapping_iter(fo) {
                                mark(&rules[m.pattern().as_usize()]);
                            }
                        }
                        false
                    });
                }
            }
            if let Some((ac, rules)) = &idx.keyword {
                any_text(value, folded, &mut |_, fo| {
                    for m in ac.find_overlapping_iter(fo) {
                        mark(&rules[m.pattern().as_usize()]);
                    }
                    false
                });
            }
        }
        if let (Some((ac, rules)), Some(raw)) = (&idx.keyword, self.scratch.raw_folded()) {
            for m in ac.find_overlapping_iter(raw) {
                mark(&rules[m.pattern().as_usize()]);
            }
        }
        self.cands.sort_unstable();
        self.evaluate_candidates(ev, &mut f);
    }

    /// Evaluates the candidate rules (ascending) on the prepared event.
    fn evaluate_candidates(&mut self, ev: &Event, f: &mut impl FnMut(&'s Arc<RuleMeta>)) {
        let ctx = Ctx {
            ev,
            s: &self.scratch,
        };
        for &r in &self.cands {
            let Some(rule) = self.set.rules.get(r as usize) else {
                continue;
            };
            self.memo.clear();
            self.memo.resize(rule.sels.len(), 2);
            if eval_cond(&rule.cond, rule, &ctx, &mut self.memo)
                && !suppressed(self.set, r as usize, &ctx, &mut self.filter_memo, true)
            {
                f(&rule.meta);
            }
        }
    }

    /// The rules that match `ev`.
    pub fn matching_rules(&mut self, ev: &Event) -> Vec<Arc<RuleMeta>> {
        let mut out = Vec::new();
        self.for_each_match(ev, |m| out.push(m.clone()));
        out
    }

    /// How many rules the prefilter let through for the last event (for benchmarks).
    pub fn last_candidates(&self) -> usize {
        self.cands.len()
    }

    /// The rules the prefilter let through for the last event, matched or not (for benchmarks
    /// and for finding rules whose prefilter requirement is weak).
    pub fn last_candidate_rules(&self) -> impl Iterator<Item = &'s Arc<RuleMeta>> + '_ {
        let set = self.set;
        self.cands
            .iter()
            .filter_map(move |&r| set.rules.get(r as usize).map(|rule| &rule.meta))
    }
}

impl EventMatcher for Evaluator<'_> {
    fn check(&mut self, event: &Event, out: &mut Vec<Finding>) {
        self.for_each_match(event, |meta| {
            out.push(Finding::from_event(meta.clone(), event))
        });
    }
}
