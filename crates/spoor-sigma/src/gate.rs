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
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
            Check::Regex(r) => regex_cnf(r.as_str()).and_then(|mut c| c.drain(..).next()),
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
            GateAtom::Lit(s) if is_commonplace(s) => 5_000,
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
        1 => 2_000,
        2 => 400,
        3 => 150,
        4 => 20,
        5..=7 => 8,
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
const MAX_SET: usize = 256;
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
                if b - a > 16 {
                    return None;
                }
                chars.extend((a..=b).filter_map(char::from_u32));
            }
        }
        Class::Bytes(bs) => {
            for r in bs.iter() {
                if r.end() - r.start() > 16 {
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
    (!out.is_empty() && out.len() <= 16).then_some(out)
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
        HirKind::Concat(items) => concat_candidates(items, depth)
            .into_iter()
            .min_by_key(|c| set_cost(c)),
        _ => None,
    }
}

/// Clauses all of which hold, each a list of atoms one of which holds (a requirement in
/// conjunctive form: `.php` and one of the upload folders, not just either).
pub(crate) type Cnf = Vec<Vec<GateAtom>>;

/// Most clauses kept per requirement (the cheapest).
const MAX_CLAUSES: usize = 3;

fn clause_cost(c: &[GateAtom]) -> u32 {
    c.iter()
        .map(|a| GateLeaves.cost(a))
        .fold(0u32, u32::saturating_add)
}

fn normalize(mut cnf: Cnf) -> Option<Cnf> {
    for c in &mut cnf {
        c.sort();
        c.dedup();
    }
    if cnf.is_empty() || cnf.iter().any(Vec::is_empty) {
        return None;
    }
    cnf.sort_by_key(|c| clause_cost(c));
    cnf.dedup();
    cnf.truncate(MAX_CLAUSES);
    Some(cnf)
}

/// All of `parts` hold: their clauses together (parts without a requirement add none).
fn and_cnf(parts: impl IntoIterator<Item = Option<Cnf>>) -> Option<Cnf> {
    normalize(parts.into_iter().flatten().flatten().collect())
}

/// One of `parts` holds: the clauses of the distributed product, when small, else the union of
/// each part's cheapest clause.
fn or_cnf(parts: impl IntoIterator<Item = Option<Cnf>>) -> Option<Cnf> {
    let mut acc: Cnf = vec![Vec::new()];
    for part in parts {
        let mut part = part?;
        if acc.len() * part.len() > 9 {
            acc.truncate(1);
            part.truncate(1);
        }
        let mut next = Vec::with_capacity(acc.len() * part.len());
        for c in &acc {
            for d in &part {
                let mut e = c.clone();
                e.extend(d.iter().cloned());
                next.push(e);
            }
        }
        acc = normalize(next)?;
    }
    normalize(acc)
}

fn clause(atoms: Option<Vec<GateAtom>>) -> Option<Cnf> {
    atoms.map(|a| vec![a])
}

fn check_cnf(c: &Check, target: Target) -> Option<Cnf> {
    match c {
        Check::Regex(r) => regex_cnf(r.as_str()),
        _ => clause(GateLeaves.check(c, target)),
    }
}

fn test_cnf(t: &crate::ir::Test) -> Option<Cnf> {
    use crate::ir::{Mode, TestKind};
    match &t.kind {
        TestKind::Exists(_) => None,
        TestKind::Values { mode, groups, fast } => {
            let group = |g: &Vec<Check>| or_cnf(g.iter().map(|c| check_cnf(c, t.target)));
            match mode {
                Mode::NoneOf => None,
                Mode::All => and_cnf(groups.iter().map(group)),
                Mode::Any => {
                    let mut parts: Vec<Option<Cnf>> = if groups.iter().all(Vec::is_empty) {
                        Vec::new()
                    } else {
                        groups.iter().map(group).collect()
                    };
                    if let Some(fast) = fast {
                        parts.extend(fast.equals.iter().map(|e| clause(lit(e))));
                        parts.extend(fast.patterns().iter().map(|p| {
                            clause(GateLeaves.literal(t.target, std::slice::from_ref(p)))
                        }));
                    }
                    if parts.is_empty() {
                        return None;
                    }
                    or_cnf(parts)
                }
            }
        }
    }
}

fn sel_cnf(s: &crate::ir::Sel) -> Option<Cnf> {
    match s {
        crate::ir::Sel::And(tests) => and_cnf(tests.iter().map(test_cnf)),
        crate::ir::Sel::Or(branches) => or_cnf(branches.iter().map(sel_cnf)),
    }
}

fn cond_cnf(c: &crate::ir::Cond, sels: &[Option<Cnf>]) -> Option<Cnf> {
    use crate::ir::Cond;
    match c {
        Cond::Sel(i) => sels.get(*i as usize).cloned().flatten(),
        Cond::And(items) => and_cnf(items.iter().map(|i| cond_cnf(i, sels))),
        Cond::Or(items) | Cond::AtLeast(_, items) => {
            or_cnf(items.iter().map(|i| cond_cnf(i, sels)))
        }
        Cond::Not(_) => None,
    }
}

/// Literal sets each of which every match of a concatenation holds: the exact runs of its items
/// and what its other items require.
fn concat_candidates(items: &[regex_syntax::hir::Hir], depth: usize) -> Vec<Vec<String>> {
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
    candidates
}

/// The gate requirement of a regex check: at the top, each literal run of a concatenation is a
/// clause of its own (all of them are in every match); below, literals one of which holds.
fn regex_cnf(pattern: &str) -> Option<Cnf> {
    use regex_syntax::hir::HirKind;
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let to_atoms = |lits: Vec<String>| -> Option<Vec<GateAtom>> {
        let mut atoms = Vec::new();
        for l in lits {
            atoms.extend(lit(&l)?);
        }
        Some(atoms)
    };
    let sets: Vec<Vec<String>> = match hir.kind() {
        HirKind::Concat(items) if exact_set(&hir, 0).is_none() => concat_candidates(items, 0),
        _ => regex_lits(&hir, 0).into_iter().collect(),
    };
    and_cnf(sets.into_iter().map(|s| clause(to_atoms(s))))
}

/// A rule's gate requirement: `None` when the rule must see every event.
pub(crate) fn gate_requirement(rule: &CompiledRule) -> Option<Cnf> {
    let sels: Vec<Option<Cnf>> = rule.sels.iter().map(sel_cnf).collect();
    cond_cnf(&rule.cond, &sels)
}

/// The gates of a rule set, one per log source, built the first time a log source is asked for.
/// Holds its own copy of what it needs, so readers can keep it (`Arc`) without the rule set.
pub struct SigmaLineGates {
    rules: Vec<(RuleLogSource, Arc<RuleMeta>, Option<Cnf>)>,
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
                let text = req.as_ref().map(|cnf| {
                    cnf.iter()
                        .map(|c| {
                            let atoms: Vec<String> = c.iter().map(|a| self.atom_text(a)).collect();
                            atoms.join(" | ")
                        })
                        .collect()
                });
                (m.clone(), text)
            })
            .collect()
    }

    fn atom_text(&self, a: &GateAtom) -> String {
        match a {
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
        }
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
                .map(|(_, _, req)| req.as_ref()),
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

/// One term of a gate clause: a literal (by index) or a field check (by index).
#[derive(Debug, Clone, Copy)]
enum Term {
    Lit(u32),
    Check(u32),
}

/// The gate of one log source: one automaton over every literal of every rule; a line passes
/// when some rule has every clause held by a literal found or a field check passed.
#[derive(Debug)]
pub(crate) struct SigmaGate {
    /// Over `literals`, ASCII case ignored, all matches reported; `None` when there is none.
    automaton: Option<AhoCorasick>,
    literals: Vec<String>,
    /// Field checks, by field name.
    checks: Vec<(Arc<str>, FieldCheck)>,
    /// Per rule, its clauses.
    rules: Vec<Vec<Vec<Term>>>,
    /// Per literal, the rules that use it.
    users: Vec<Vec<u32>>,
    /// Rules with a field check in some clause: tried on every line.
    checked: Vec<u32>,
}

/// The UTF-8 bytes of the Kelvin sign, the one non-ASCII character that folds to ASCII, and of
/// the long s, which a case-insensitive regex lets stand for `s` (as the Kelvin sign for `k`).
const KELVIN: &[u8] = "\u{212A}".as_bytes();
const LONG_S: &[u8] = "\u{17F}".as_bytes();

/// Per thread: derived texts, which literals a line holds (generation stamps), which rules
/// were tried, and the field checks' answers.
#[derive(Default)]
struct Scratch {
    derived: Vec<u8>,
    /// The text being scanned, lower-cased.
    lower: Vec<u8>,
    gen: u32,
    lit_seen: Vec<u32>,
    found: Vec<u32>,
    rule_seen: Vec<u32>,
    checks: Vec<Option<bool>>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl SigmaGate {
    /// The gate of rules with these requirements; `None` when one has none.
    fn build<'a>(
        reqs: impl Iterator<Item = Option<&'a Cnf>>,
        names: &[Arc<str>],
        extra: &[String],
    ) -> Option<SigmaGate> {
        let mut lit_ids: FxHashMap<String, u32> = FxHashMap::default();
        let mut check_ids: FxHashMap<(Arc<str>, FieldCheck), u32> = FxHashMap::default();
        let mut literals = Vec::new();
        let mut checks = Vec::new();
        let mut rules: Vec<Vec<Vec<Term>>> = Vec::new();
        let mut lit_term = |s: &str, literals: &mut Vec<String>| -> Term {
            let next = lit_ids.len() as u32;
            let id = *lit_ids.entry(s.to_string()).or_insert_with(|| {
                literals.push(s.to_string());
                next
            });
            Term::Lit(id)
        };
        for req in reqs {
            let mut clauses = Vec::new();
            for c in req? {
                let mut terms = Vec::with_capacity(c.len());
                for atom in c {
                    terms.push(match atom {
                        GateAtom::Lit(s) => lit_term(s, &mut literals),
                        GateAtom::Field(f, check) => {
                            let name = names.get(*f as usize)?.clone();
                            let next = check_ids.len() as u32;
                            let id = *check_ids
                                .entry((name.clone(), check.clone()))
                                .or_insert_with(|| {
                                    checks.push((name, check.clone()));
                                    next
                                });
                            Term::Check(id)
                        }
                    });
                }
                clauses.push(terms);
            }
            rules.push(clauses);
        }
        if !extra.is_empty() {
            let terms = extra.iter().map(|s| lit_term(s, &mut literals)).collect();
            rules.push(vec![terms]);
        }
        let mut users = vec![Vec::new(); literals.len()];
        let mut checked = Vec::new();
        for (r, clauses) in rules.iter().enumerate() {
            let mut has_check = false;
            for t in clauses.iter().flatten() {
                match t {
                    Term::Lit(l) => {
                        if let Some(u) = users.get_mut(*l as usize) {
                            if u.last() != Some(&(r as u32)) {
                                u.push(r as u32);
                            }
                        }
                    }
                    Term::Check(_) => has_check = true,
                }
            }
            if has_check {
                checked.push(r as u32);
            }
        }
        let automaton = if literals.is_empty() {
            None
        } else {
            Some(
                // Lines are lower-cased (ASCII) before the scan: a case-sensitive DFA over lower
                // case is several times faster than a case-insensitive automaton.
                AhoCorasickBuilder::new()
                    .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                    .match_kind(MatchKind::Standard)
                    .build(literals.iter().map(|l| l.to_ascii_lowercase()))
                    .ok()?,
            )
        };
        Some(SigmaGate {
            automaton,
            literals,
            checks,
            rules,
            users,
            checked,
        })
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

    /// Marks the literals `text` holds; true when it holds a character the scan cannot judge.
    fn scan(&self, text: &[u8], s: &mut Scratch) -> bool {
        if memchr::memmem::find(text, KELVIN).is_some()
            || memchr::memmem::find(text, LONG_S).is_some()
        {
            return true;
        }
        if let Some(ac) = &self.automaton {
            let mut lower = std::mem::take(&mut s.lower);
            lower.clear();
            lower.extend(text.iter().map(u8::to_ascii_lowercase));
            let mut state = aho_corasick::automaton::OverlappingState::start();
            let input = aho_corasick::Input::new(&lower);
            loop {
                ac.find_overlapping(input.clone(), &mut state);
                let Some(m) = state.get_match() else {
                    break;
                };
                let id = m.pattern().as_usize();
                if let Some(seen) = s.lit_seen.get_mut(id) {
                    if *seen != s.gen {
                        *seen = s.gen;
                        s.found.push(id as u32);
                    }
                }
            }
            s.lower = lower;
        }
        false
    }

    fn rule_holds(&self, r: u32, line: &dyn GateLine, s: &mut Scratch) -> bool {
        let Some(clauses) = self.rules.get(r as usize) else {
            return false;
        };
        clauses.iter().all(|c| {
            c.iter().any(|t| match *t {
                Term::Lit(l) => s.lit_seen.get(l as usize) == Some(&s.gen),
                Term::Check(k) => {
                    let k = k as usize;
                    if let Some(answer) = s.checks.get(k).copied().flatten() {
                        return answer;
                    }
                    let answer = self.checks.get(k).is_some_and(|(name, check)| {
                        line.field(name)
                            .is_some_and(|v| Self::field_passes(&v, check))
                    });
                    if let Some(slot) = s.checks.get_mut(k) {
                        *slot = Some(answer);
                    }
                    answer
                }
            })
        })
    }

    fn decide(&self, line: &dyn GateLine, s: &mut Scratch) -> bool {
        s.gen = s.gen.wrapping_add(1);
        if s.gen == 0
            || s.lit_seen.len() != self.literals.len()
            || s.rule_seen.len() != self.rules.len()
        {
            s.lit_seen = vec![0; self.literals.len()];
            s.rule_seen = vec![0; self.rules.len()];
            s.gen = 1;
        }
        s.found.clear();
        s.checks.clear();
        s.checks.resize(self.checks.len(), None);
        if self.scan(line.raw(), s) {
            return true;
        }
        let mut derived = std::mem::take(&mut s.derived);
        derived.clear();
        line.derived_texts(&mut derived);
        let odd = !derived.is_empty() && self.scan(&derived, s);
        s.derived = derived;
        if odd {
            return true;
        }
        let found = std::mem::take(&mut s.found);
        let mut pass = false;
        'rules: for &l in &found {
            for &r in self
                .users
                .get(l as usize)
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                if let Some(seen) = s.rule_seen.get_mut(r as usize) {
                    if *seen == s.gen {
                        continue;
                    }
                    *seen = s.gen;
                }
                if self.rule_holds(r, line, s) {
                    pass = true;
                    break 'rules;
                }
            }
        }
        s.found = found;
        pass || self
            .checked
            .iter()
            .any(|&r| s.rule_seen.get(r as usize) != Some(&s.gen) && self.rule_holds(r, line, s))
    }
}

impl LineGate for SigmaGate {
    fn may_match(&self, line: &dyn GateLine) -> bool {
        SCRATCH.with(|s| match s.try_borrow_mut() {
            Ok(mut s) => self.decide(line, &mut s),
            // Never reached (the gate does not call itself); letting the line through is safe.
            Err(_) => true,
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
