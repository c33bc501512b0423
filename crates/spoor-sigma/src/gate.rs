//! The line gate: which raw web and proxy lines can match any rule, decided before they are
//! parsed into events (see `spoor_event::LineGate` for the reader's side).
//!
//! Every rule that runs on a log source gets a *gate requirement*, built by the same walk over
//! the condition tree as the event index's requirement ([`crate::index::Leaves`]): a list of
//! atoms one of which holds on every line the rule matches. Atoms are
//! - **literals**, which every matching line holds (ASCII case ignored) in its raw bytes or in one
//!   of the texts the reader derives from it (decoded companions, a URI joined from stem and
//!   query: `GateLine::derived_texts`). A field value that contains a literal is a slice of one
//!   of those texts, so the line does. Folding is Unicode-aware while the scan is ASCII-only, so
//!   only the longest ASCII run of each folded literal is kept: the ASCII letters of a folded
//!   value come from the same ASCII letters of the original, except the Kelvin sign, which folds
//!   to `k`; a line holding it is always let through (a test walks every `char` to keep this
//!   true);
//! - **field checks** that no literal can stand for (`gte`, `lt`, `cidr`): the reader hands the
//!   field's value (`GateLine::field`), parsed but not built into an event, and the check runs
//!   exactly as the evaluator would run it.
//!
//! A rule without such a requirement (a negation only, `exists`, a time part, a field
//! reference) has to see every event: one such rule on a log source turns its gate off
//! ([`SigmaLineGates::ungated`] says which rules, for `rules check --explain`).

use crate::index::Leaves;
use crate::ir::{Check, CmpOp, CompiledRule, FieldId, Target};
use crate::logsource::RuleLogSource;
use crate::pattern::{fold, StrMatch};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use ipnet::IpNet;
use rustc_hash::FxHashMap;
use spoor_event::{GateLine, LineGate, LineGateSource, LogSource, RuleMeta, Value};
use std::cell::RefCell;
use std::sync::{Arc, RwLock};

/// A check on one field's value, run on the value the reader would store.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum FieldCheck {
    /// A numeric comparison: the operator (as `CmpOp` in order) and the bits of the bound.
    Num(u8, u64),
    /// An address range.
    Cidr(IpNet),
}

/// One necessary condition on a line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum GateAtom {
    /// The line (or a derived text) holds this ASCII text, case ignored.
    Lit(String),
    /// The field's value passes the check.
    Field(FieldId, FieldCheck),
}

const OPS: [CmpOp; 5] = [CmpOp::Eq, CmpOp::Lt, CmpOp::Lte, CmpOp::Gt, CmpOp::Gte];

fn op_code(op: CmpOp) -> u8 {
    OPS.iter().position(|o| *o == op).unwrap_or(0) as u8
}

/// The longest ASCII run of the folded text, as a literal atom.
fn lit(text: &str) -> Option<Vec<GateAtom>> {
    let folded = fold(text);
    let run = folded
        .split(|c: char| !c.is_ascii())
        .max_by_key(|r| r.len())
        .filter(|r| !r.is_empty())?;
    Some(vec![GateAtom::Lit(run.to_string())])
}

struct GateLeaves;

impl Leaves for GateLeaves {
    type Atom = GateAtom;

    fn check(&self, c: &Check, target: Target) -> Option<Vec<GateAtom>> {
        let field = match target {
            Target::Field(f) => Some(f),
            Target::Keyword => None,
        };
        match c {
            Check::Str(p) => match &p.m {
                StrMatch::Equals(s) => lit(s),
                StrMatch::Any => None,
                _ => self.literal(target, &p.literals),
            },
            Check::NumEq { text, canon } => {
                field?;
                let mut atoms = lit(text)?;
                atoms.extend(lit(canon)?);
                Some(atoms)
            }
            Check::Regex(r) => regex_requirement(r.as_str()),
            Check::NumCmp(op, n) => Some(vec![GateAtom::Field(
                field?,
                FieldCheck::Num(op_code(*op), n.to_bits()),
            )]),
            Check::Cidr(net) => Some(vec![GateAtom::Field(field?, FieldCheck::Cidr(*net))]),
            Check::Null | Check::TimePart(..) | Check::FieldRef { .. } => None,
        }
    }

    fn exists(&self, _: Target) -> Option<Vec<GateAtom>> {
        None
    }

    fn fast_equal(&self, _: Target, value: &str) -> Option<Vec<GateAtom>> {
        lit(value)
    }

    fn literal(&self, _: Target, literals: &[String]) -> Option<Vec<GateAtom>> {
        let longest = literals.iter().max_by_key(|l| l.len())?;
        lit(longest)
    }

    fn cost(&self, a: &GateAtom) -> u32 {
        match a {
            GateAtom::Lit(s) if is_commonplace(s) => 1_000,
            GateAtom::Lit(s) => lit_cost(s.len()),
            GateAtom::Field(..) => 10,
        }
    }
}

/// How often a literal of this length is in a benign web line, roughly: a line gate is only as
/// good as its weakest literal, so short ones cost far more than in the event index.
fn lit_cost(len: usize) -> u32 {
    match len {
        0 => 100_000,
        1 => 1_000,
        2 => 100,
        3 => 25,
        4..=7 => 6,
        _ => 3,
    }
}

/// Literals nearly every web line holds whatever their length: status codes and short numbers,
/// request methods, the protocol.
fn is_commonplace(lit: &str) -> bool {
    (lit.len() <= 4 && lit.bytes().all(|b| b.is_ascii_digit()))
        || matches!(
            lit,
            "get" | "post" | "head" | "put" | "options" | "http" | "http/1.1" | "https" | "mozilla"
        )
}

/// Most strings an exact set of a regex part may hold, and the longest.
const MAX_SET: usize = 64;
const MAX_SET_LEN: usize = 64;

/// The one character a class stands for, ASCII case (and the Kelvin sign and long s, which the
/// gate lets through anyway) ignored.
fn gate_class_char(class: &regex_syntax::hir::Class) -> Option<Vec<char>> {
    use regex_syntax::hir::Class;
    let mut chars: Vec<char> = Vec::new();
    match class {
        Class::Unicode(u) => {
            for r in u.iter() {
                let (a, b) = (r.start() as u32, r.end() as u32);
                if b - a > 8 {
                    return None;
                }
                chars.extend((a..=b).filter_map(char::from_u32));
            }
        }
        Class::Bytes(bs) => {
            for r in bs.iter() {
                if r.end() - r.start() > 8 {
                    return None;
                }
                chars.extend((r.start()..=r.end()).filter(u8::is_ascii).map(char::from));
            }
        }
    }
    let mut out: Vec<char> = chars
        .into_iter()
        .filter(|c| !matches!(c, '\u{212A}' | '\u{17F}'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    out.sort_unstable();
    out.dedup();
    (!out.is_empty() && out.len() <= 8).then_some(out)
}

/// Every string a regex part matches (ASCII case folded), when there are few.
fn exact_set(hir: &regex_syntax::hir::Hir, depth: usize) -> Option<Vec<String>> {
    use regex_syntax::hir::HirKind;
    if depth > 32 {
        return None;
    }
    let set = match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => vec![String::new()],
        HirKind::Literal(l) => vec![String::from_utf8(l.0.to_vec()).ok()?.to_ascii_lowercase()],
        HirKind::Class(c) => gate_class_char(c)?.into_iter().map(String::from).collect(),
        HirKind::Capture(c) => exact_set(&c.sub, depth + 1)?,
        HirKind::Concat(items) => {
            let mut acc = vec![String::new()];
            for item in items {
                acc = product(&acc, &exact_set(item, depth + 1)?)?;
            }
            acc
        }
        HirKind::Alternation(branches) => {
            let mut acc = Vec::new();
            for b in branches {
                acc.extend(exact_set(b, depth + 1)?);
                if acc.len() > MAX_SET {
                    return None;
                }
            }
            acc
        }
        HirKind::Repetition(r) if r.max == Some(1) && r.min <= 1 => {
            let mut acc = exact_set(&r.sub, depth + 1)?;
            if r.min == 0 {
                acc.push(String::new());
            }
            acc
        }
        HirKind::Repetition(_) => return None,
    };
    let mut set = set;
    set.sort();
    set.dedup();
    Some(set)
}

fn product(a: &[String], b: &[String]) -> Option<Vec<String>> {
    if a.len().saturating_mul(b.len()) > MAX_SET {
        return None;
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            if x.len() + y.len() > MAX_SET_LEN {
                return None;
            }
            out.push(format!("{x}{y}"));
        }
    }
    Some(out)
}

/// Drops the strings that hold another string of the set: a line holding the longer one holds
/// the shorter, so the shorter alone says as much.
fn minimal(mut set: Vec<String>) -> Vec<String> {
    set.sort_by_key(String::len);
    let mut out: Vec<String> = Vec::with_capacity(set.len());
    for s in set {
        if !out.iter().any(|o| s.contains(o.as_str())) {
            out.push(s);
        }
    }
    out
}

fn set_cost(set: &[String]) -> u32 {
    set.iter()
        .map(|s| lit_cost(s.len()))
        .fold(0u32, u32::saturating_add)
}

/// Literals one of which every match of a regex part holds (ASCII case folded).
fn regex_lits(hir: &regex_syntax::hir::Hir, depth: usize) -> Option<Vec<String>> {
    use regex_syntax::hir::HirKind;
    if depth > 32 {
        return None;
    }
    if let Some(set) = exact_set(hir, depth) {
        return (!set.iter().any(String::is_empty)).then(|| minimal(set));
    }
    match hir.kind() {
        HirKind::Capture(c) => regex_lits(&c.sub, depth + 1),
        HirKind::Repetition(r) if r.min >= 1 => regex_lits(&r.sub, depth + 1),
        HirKind::Alternation(branches) => {
            let mut acc = Vec::new();
            for b in branches {
                acc.extend(regex_lits(b, depth + 1)?);
            }
            Some(acc)
        }
        HirKind::Concat(items) => {
            let mut candidates: Vec<Vec<String>> = Vec::new();
            let mut run: Option<Vec<String>> = None;
            let close = |run: &mut Option<Vec<String>>, candidates: &mut Vec<Vec<String>>| {
                if let Some(r) = run.take() {
                    if !r.iter().any(String::is_empty) {
                        candidates.push(minimal(r));
                    }
                }
            };
            for item in items {
                match exact_set(item, depth + 1) {
                    Some(set) => {
                        let grown = match &run {
                            Some(r) => product(r, &set),
                            None => Some(set.clone()),
                        };
                        match grown {
                            Some(g) => run = Some(g),
                            None => {
                                close(&mut run, &mut candidates);
                                run = Some(set);
                            }
                        }
                    }
                    None => {
                        close(&mut run, &mut candidates);
                        if let Some(inner) = regex_lits(item, depth + 1) {
                            candidates.push(inner);
                        }
                    }
                }
            }
            close(&mut run, &mut candidates);
            candidates.into_iter().min_by_key(|c| set_cost(c))
        }
        _ => None,
    }
}

/// The gate requirement of a regex check: literals one of which every match holds.
fn regex_requirement(pattern: &str) -> Option<Vec<GateAtom>> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let mut atoms = Vec::new();
    for l in regex_lits(&hir, 0)? {
        atoms.extend(lit(&l)?);
    }
    atoms.sort();
    atoms.dedup();
    Some(atoms)
}

/// A rule's gate requirement: `None` when the rule must see every event.
pub(crate) fn gate_requirement(rule: &CompiledRule) -> Option<Vec<GateAtom>> {
    crate::index::requirement_with(rule, &GateLeaves)
}

/// The gates of a rule set, one per log source, built the first time a log source is asked for.
/// Holds its own copy of what it needs, so readers can keep it (`Arc`) without the rule set.
pub struct SigmaLineGates {
    rules: Vec<(RuleLogSource, Arc<RuleMeta>, Option<Vec<GateAtom>>)>,
    names: Vec<Arc<str>>,
    /// Literals of other detectors that share the gate (indicators), scanned as given.
    extra: Vec<String>,
    cache: RwLock<FxHashMap<LogSource, Option<Arc<SigmaGate>>>>,
}

impl std::fmt::Debug for SigmaLineGates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigmaLineGates")
            .field("rules", &self.rules.len())
            .finish()
    }
}

impl SigmaLineGates {
    pub(crate) fn new(rules: &[CompiledRule], names: &[Arc<str>]) -> Self {
        SigmaLineGates {
            rules: rules
                .iter()
                .map(|r| (r.logsource.clone(), r.meta.clone(), gate_requirement(r)))
                .collect(),
            names: names.to_vec(),
            extra: Vec::new(),
            cache: RwLock::new(FxHashMap::default()),
        }
    }

    /// Adds literals of another detector (indicators on web fields): a line holding one of them
    /// (ASCII case ignored) is let through too.
    pub fn with_literals(mut self, literals: Vec<String>) -> Self {
        self.extra.extend(literals);
        self.cache = RwLock::new(FxHashMap::default());
        self
    }

    /// The rules of log source `ls` that have no gate requirement (they turn its gate off).
    pub fn ungated(&self, ls: &LogSource) -> Vec<Arc<RuleMeta>> {
        self.rules
            .iter()
            .filter(|(rls, _, req)| req.is_none() && rls.accepts(ls))
            .map(|(_, m, _)| m.clone())
            .collect()
    }

    /// Each rule of `ls` with its gate requirement, as text (for `rules check --explain`).
    pub fn requirements(&self, ls: &LogSource) -> Vec<(Arc<RuleMeta>, Option<Vec<String>>)> {
        self.rules
            .iter()
            .filter(|(rls, _, _)| rls.accepts(ls))
            .map(|(_, m, req)| {
                let text = req.as_ref().map(|atoms| {
                    atoms
                        .iter()
                        .map(|a| match a {
                            GateAtom::Lit(s) => format!("{s:?}"),
                            GateAtom::Field(f, c) => {
                                let name = self.names.get(*f as usize).map_or("?", |n| &**n);
                                match c {
                                    FieldCheck::Num(op, bits) => format!(
                                        "{name} {} {}",
                                        ["=", "<", "<=", ">", ">="]
                                            .get(*op as usize)
                                            .unwrap_or(&"?"),
                                        f64::from_bits(*bits)
                                    ),
                                    FieldCheck::Cidr(net) => format!("{name} in {net}"),
                                }
                            }
                        })
                        .collect()
                });
                (m.clone(), text)
            })
            .collect()
    }

    /// The literals the gate of `ls` scans for (sorted), or `None` when it has no gate.
    pub fn literals(&self, ls: &LogSource) -> Option<Vec<String>> {
        self.build(ls).map(|g| g.literals.clone())
    }

    fn build(&self, ls: &LogSource) -> Option<Arc<SigmaGate>> {
        if let Ok(map) = self.cache.read() {
            if let Some(g) = map.get(ls) {
                return g.clone();
            }
        }
        let gate = SigmaGate::build(
            self.rules
                .iter()
                .filter(|(rls, _, _)| rls.accepts(ls))
                .map(|(_, _, req)| req.as_deref()),
            &self.names,
            &self.extra,
        )
        .map(Arc::new);
        if let Ok(mut map) = self.cache.write() {
            map.entry(ls.clone()).or_insert_with(|| gate.clone());
        }
        gate
    }
}

impl LineGateSource for SigmaLineGates {
    fn gate_for(&self, ls: &LogSource) -> Option<Arc<dyn LineGate>> {
        self.build(ls).map(|g| g as Arc<dyn LineGate>)
    }
}

/// The gate of one log source.
#[derive(Debug)]
pub(crate) struct SigmaGate {
    /// Over `literals`, ASCII case ignored; `None` when no rule has a literal.
    automaton: Option<AhoCorasick>,
    literals: Vec<String>,
    /// Field checks, by field name.
    checks: Vec<(Arc<str>, FieldCheck)>,
}

/// The UTF-8 bytes of the Kelvin sign, the one non-ASCII character that folds to ASCII, and of
/// the long s, which a case-insensitive regex lets stand for `s` (as the Kelvin sign for `k`).
const KELVIN: &[u8] = "\u{212A}".as_bytes();
const LONG_S: &[u8] = "\u{17F}".as_bytes();

thread_local! {
    static DERIVED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl SigmaGate {
    /// The gate of rules with these requirements; `None` when one has none.
    fn build<'a>(
        reqs: impl Iterator<Item = Option<&'a [GateAtom]>>,
        names: &[Arc<str>],
        extra: &[String],
    ) -> Option<SigmaGate> {
        let mut literals = extra.to_vec();
        let mut checks = Vec::new();
        for req in reqs {
            for atom in req? {
                match atom {
                    GateAtom::Lit(s) => literals.push(s.clone()),
                    GateAtom::Field(f, c) => {
                        let name = names.get(*f as usize)?.clone();
                        checks.push((name, c.clone()));
                    }
                }
            }
        }
        literals.sort();
        literals.dedup();
        checks.sort();
        checks.dedup();
        let automaton = if literals.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::LeftmostFirst)
                    .build(&literals)
                    .ok()?,
            )
        };
        Some(SigmaGate {
            automaton,
            literals,
            checks,
        })
    }

    fn scan(&self, text: &[u8]) -> bool {
        if memchr::memmem::find(text, KELVIN).is_some()
            || memchr::memmem::find(text, LONG_S).is_some()
        {
            return true;
        }
        self.automaton.as_ref().is_some_and(|ac| ac.is_match(text))
    }

    fn field_passes(value: &Value, check: &FieldCheck) -> bool {
        match check {
            FieldCheck::Num(op, bits) => {
                let op = OPS.get(*op as usize).copied().unwrap_or(CmpOp::Eq);
                value
                    .as_f64()
                    .is_some_and(|x| op.apply(x, f64::from_bits(*bits)))
            }
            FieldCheck::Cidr(net) => value.as_text().is_some_and(|t| {
                t.trim()
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| net.contains(&ip))
            }),
        }
    }
}

impl LineGate for SigmaGate {
    fn may_match(&self, line: &dyn GateLine) -> bool {
        if self.scan(line.raw()) {
            return true;
        }
        let derived = DERIVED.with(|buf| {
            let mut buf = buf.borrow_mut();
            buf.clear();
            line.derived_texts(&mut buf);
            !buf.is_empty() && self.scan(&buf)
        });
        if derived {
            return true;
        }
        self.checks.iter().any(|(name, check)| {
            line.field(name)
                .is_some_and(|v| Self::field_passes(&v, check))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_kelvin_sign_folds_from_outside_ascii_into_it() {
        let mut folding_into_ascii = Vec::new();
        for c in (0u32..=0x10FFFF).filter_map(char::from_u32) {
            if c.is_ascii() {
                continue;
            }
            let folded = fold(&c.to_string());
            if folded.chars().any(|f| f.is_ascii()) {
                folding_into_ascii.push(c);
            }
        }
        assert_eq!(folding_into_ascii, vec!['\u{212A}']);
    }

    #[test]
    fn literals_keep_their_longest_ascii_run() {
        assert_eq!(
            lit("ÉcoleJNDI"),
            Some(vec![GateAtom::Lit("colejndi".into())])
        );
        assert_eq!(lit("été"), Some(vec![GateAtom::Lit("t".into())]));
        assert_eq!(lit("éé"), None);
    }
}
