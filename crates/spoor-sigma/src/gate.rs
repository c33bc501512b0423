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
//!   exactly as the evaluator would run it;
//! - **field literals**: a short literal (three characters or fewer, or one nearly every line
//!   holds, such as `get` or `200`) of a check on a field is looked for in that field's value
//!   only. `=`, `|` or `id` are somewhere in most lines, but `|` is in few decoded URIs.
//!
//! A rule without such a requirement (a negation only, `exists`, a time part, a field
//! reference) has to see every event: one such rule on a log source turns its gate off
//! ([`SigmaLineGates::ungated`] says which rules, for `rules check --explain`).

use crate::anyscan::AnyScan;
use crate::index::Leaves;
use crate::ir::{Check, CmpOp, CompiledRule, FieldId, Target};
use crate::pattern::{fold, StrMatch};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use ipnet::IpNet;
use rustc_hash::FxHashMap;
use spoor_event::{GateHint, GateLine, LineGate, LineGateSource, LogSource, RuleMeta, Value};
use std::cell::RefCell;
use std::sync::{Arc, OnceLock, RwLock};

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
    /// The field's value holds this ASCII text, case ignored: a short literal (`=`, `|`, `id`,
    /// `404`), which nearly every line holds somewhere but few hold in the field the rule reads.
    FieldLit(FieldId, String),
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
            Check::Regex(r) => regex_cnf(r.as_str(), target).and_then(|mut c| c.drain(..).next()),
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
            GateAtom::Lit(s) if is_commonplace(s) || is_common_in_urls(s) => 5_000,
            GateAtom::Lit(s) => lit_cost(s.len()),
            GateAtom::Field(..) => 10,
            // Held by far fewer lines in one field than anywhere in the line, but a method or
            // a success status still is in most of them.
            GateAtom::FieldLit(_, s) => field_lit_cost(s),
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

/// A literal too weak to scan the whole line for: it is checked in the value of the field the
/// rule reads instead ([`GateAtom::FieldLit`]).
fn is_short(lit: &str) -> bool {
    lit.len() <= 3 || is_commonplace(lit)
}

/// The requirement of a test on field `f`, with its short literals scoped to that field: the
/// value holds the literal, so the line does too, but a line holding it elsewhere need not be
/// parsed.
fn scope_to_field(cnf: Cnf, target: Target) -> Cnf {
    let Target::Field(f) = target else {
        return cnf;
    };
    cnf.into_iter()
        .map(|clause| {
            clause
                .into_iter()
                .map(|a| match a {
                    GateAtom::Lit(s) if is_short(&s) => GateAtom::FieldLit(f, s),
                    other => other,
                })
                .collect()
        })
        .collect()
}

/// How often a short literal is in the value of the field a rule reads, roughly: a character
/// web values seldom hold (`|`, `` ` ``, `$(`) makes it rare, URL punctuation alone (`=`, `/`)
/// makes it common, and a short word is in many.
fn field_lit_cost(lit: &str) -> u32 {
    const RARE: &[u8] = b"|`;$<>{}()'\"!*^~[]";
    if lit.bytes().any(|b| RARE.contains(&b)) {
        20
    } else if is_commonplace(lit) || !lit.bytes().any(|b| b.is_ascii_alphanumeric()) {
        5_000
    } else {
        lit_cost(lit.len()) / 2
    }
}

/// Whether a field literal is rare enough in whole web lines to wake its rule when found
/// anywhere in the line: two characters or more, one of them a character benign lines seldom
/// hold anywhere (`${`, `~1`, `|`-joined commands). Not `;` or `(`, which every browser's user
/// agent holds, nor a short word (`net` is in many of them).
fn is_rare_in_lines(lit: &str) -> bool {
    const RARE_IN_LINES: &[u8] = b"|`$<>{}^~!";
    lit.len() >= 2 && lit.bytes().any(|b| RARE_IN_LINES.contains(&b))
}

/// Parts of URLs that many benign requests hold (page and asset extensions, asset folders): a
/// clause of them is a poor trigger however long they are.
fn is_common_in_urls(lit: &str) -> bool {
    matches!(
        lit,
        ".html"
            | ".htm"
            | ".php"
            | ".asp"
            | ".aspx"
            | ".jsp"
            | ".js"
            | ".css"
            | ".png"
            | ".jpg"
            | ".gif"
            | ".ico"
            | ".svg"
            | ".woff"
            | ".json"
            | ".xml"
            | "/images/"
            | "/img/"
            | "/js/"
            | "/css/"
            | "/static/"
            | "/assets/"
            | "/fonts/"
            | "/font/"
            | "/media/"
            | "/api/"
            | "/index"
            | "index."
            | "www."
            | ".com"
            | "http://"
            | "https://"
    )
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
    let cnf = match c {
        Check::Regex(r) => regex_cnf(r.as_str(), target),
        _ => clause(GateLeaves.check(c, target)),
    };
    cnf.map(|c| scope_to_field(c, target)).and_then(normalize)
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
                        let scoped = |c: Option<Cnf>| c.map(|c| scope_to_field(c, t.target));
                        parts.extend(fast.equals.iter().map(|e| scoped(clause(lit(e)))));
                        parts.extend(fast.patterns().iter().map(|p| {
                            scoped(clause(
                                GateLeaves.literal(t.target, std::slice::from_ref(p)),
                            ))
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
fn regex_cnf(pattern: &str, target: Target) -> Option<Cnf> {
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
    and_cnf(
        sets.into_iter()
            .map(|s| clause(to_atoms(s)).map(|c| scope_to_field(c, target))),
    )
}

/// A rule's gate requirement: `None` when the rule must see every event.
pub(crate) fn gate_requirement(rule: &CompiledRule) -> Option<Cnf> {
    let sels: Vec<Option<Cnf>> = rule.sels.iter().map(sel_cnf).collect();
    cond_cnf(&rule.cond, &sels)
}

/// The gates of a rule set, one per log source, built the first time a log source is asked for.
/// Shares the compiled rules with the rule set (`Arc`), so readers can keep it without the set.
/// A rule's gate requirement is derived the first time a gate of its log source is built (most
/// runs read no web or proxy line, and deriving all of them was most of loading SigmaHQ).
pub struct SigmaLineGates {
    rules: Arc<[CompiledRule]>,
    /// Per rule, its gate requirement once derived.
    reqs: Vec<OnceLock<Option<Cnf>>>,
    /// The identity of the rule set, which the gates' hints carry.
    owner: u64,
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
    pub(crate) fn new(rules: Arc<[CompiledRule]>, names: &[Arc<str>], owner: u64) -> Self {
        SigmaLineGates {
            owner,
            reqs: (0..rules.len()).map(|_| OnceLock::new()).collect(),
            rules,
            names: names.to_vec(),
            extra: Vec::new(),
            cache: RwLock::new(FxHashMap::default()),
        }
    }

    /// How many rules have their gate requirement derived yet (for tests of the laziness).
    #[cfg(test)]
    pub(crate) fn derived(&self) -> usize {
        self.reqs.iter().filter(|r| r.get().is_some()).count()
    }

    /// The rules that run on `ls`, each with its gate requirement (derived now if not yet).
    fn rules_of<'a>(
        &'a self,
        ls: &'a LogSource,
    ) -> impl Iterator<Item = (u32, &'a CompiledRule, Option<&'a Cnf>)> + 'a {
        self.rules
            .iter()
            .zip(&self.reqs)
            .enumerate()
            .filter(move |(_, (r, _))| r.logsource.accepts(ls))
            .map(|(i, (r, req))| {
                let req = req.get_or_init(|| gate_requirement(r)).as_ref();
                (i as u32, r, req)
            })
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
        self.rules_of(ls)
            .filter(|(_, _, req)| req.is_none())
            .map(|(_, r, _)| r.meta.clone())
            .collect()
    }

    /// Each rule of `ls` with its gate requirement, as text (for `rules check --explain`).
    pub fn requirements(&self, ls: &LogSource) -> Vec<(Arc<RuleMeta>, Option<Vec<String>>)> {
        self.rules_of(ls)
            .map(|(_, r, req)| {
                let text = req.map(|cnf| {
                    cnf.iter()
                        .map(|c| {
                            let atoms: Vec<String> = c.iter().map(|a| self.atom_text(a)).collect();
                            atoms.join(" | ")
                        })
                        .collect()
                });
                (r.meta.clone(), text)
            })
            .collect()
    }

    fn atom_text(&self, a: &GateAtom) -> String {
        match a {
            GateAtom::Lit(s) => format!("{s:?}"),
            GateAtom::FieldLit(f, s) => {
                let name = self.names.get(*f as usize).map_or("?", |n| &**n);
                format!("{name} holds {s:?}")
            }
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

    /// The rules of `ls` that the gate tries on every line, on the fields they read: none of
    /// their clauses is made of literals rare enough to wake them (a status code or a size
    /// only). Empty when `ls` has no gate.
    pub fn tried_on_every_line(&self, ls: &LogSource) -> Vec<Arc<RuleMeta>> {
        let Some(gate) = self.build(ls) else {
            return Vec::new();
        };
        gate.checked
            .iter()
            .filter_map(|&r| gate.set_rules.get(r as usize))
            .filter_map(|&n| self.rules.get(n as usize).map(|r| r.meta.clone()))
            .collect()
    }

    /// The literals the gate of `ls` searches every line for (its automaton's), in the order
    /// of [`SigmaLineGates::literals`]; the others are looked for only in lines that wake a
    /// rule needing them. `None` when `ls` has no gate.
    pub fn scanned_literals(&self, ls: &LogSource) -> Option<Vec<String>> {
        self.build(ls).map(|g| {
            g.literals
                .iter()
                .zip(&g.scanned)
                .filter(|(_, on)| **on)
                .map(|(l, _)| l.clone())
                .collect()
        })
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
            self.rules_of(ls).map(|(i, _, req)| (i, req)),
            &self.names,
            &self.extra,
            self.owner,
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

/// One term of a gate clause: a literal, a field check or a field literal (each by index).
#[derive(Debug, Clone, Copy)]
enum Term {
    Lit(u32),
    Check(u32),
    FieldLit(u32),
}

/// The short literals of one field, scanned in its value when a rule asks.
#[derive(Debug)]
struct FieldScan {
    name: Arc<str>,
    /// Over the literals, lower case, all matches reported.
    automaton: AhoCorasick,
    /// Pattern number to field-literal index.
    ids: Vec<u32>,
}

/// The gate of one log source; a line passes when some rule has every clause held by a literal
/// found, a field check passed or a field literal found in its field.
///
/// Each rule is tried only when its *trigger* holds: the cheapest of its clauses made of
/// literals, and of field literals rare in whole lines (a rule without one is tried on every
/// line). A line let through carries a hint: every rule whose requirement it holds, which the
/// evaluator of the same set runs in place of its event index (a 404 line wakes the one rule
/// that reads the status, not the index over every field). One automaton scans every line for
/// the triggers' literals (and the literals of rules tried on every line); most lines hold none
/// and are done after one search. The other literals are looked for in the line only when a
/// rule that needs them is tried.
#[derive(Debug)]
pub(crate) struct SigmaGate {
    /// The identity of the rule set, for hints.
    owner: u64,
    /// Per rule of the gate, its number in the rule set ([`NOT_A_RULE`] for the literals of
    /// other detectors).
    set_rules: Vec<u32>,
    /// Over the scanned literals, ASCII case ignored, all matches reported; `None` when there
    /// is none.
    automaton: Option<AhoCorasick>,
    /// Over a short piece of each of the same literals: tells most lines that they hold none
    /// of them, faster than `automaton` can.
    quick: Option<AnyScan>,
    /// Pattern number of `automaton` to literal index.
    automaton_ids: Vec<u32>,
    literals: Vec<String>,
    /// Per literal: whether `automaton` scans for it.
    scanned: Vec<bool>,
    /// Per literal the automaton does not scan for, a searcher of its lower-case form.
    finders: Vec<Option<memchr::memmem::Finder<'static>>>,
    /// Field checks, by field name.
    checks: Vec<(Arc<str>, FieldCheck)>,
    /// Per rule, its clauses.
    rules: Vec<Vec<Vec<Term>>>,
    /// Per rule and clause, how many of its terms (they come first) are literals the
    /// automaton scans for: on a line that holds none of those, they are skipped.
    scanned_prefix: Vec<Vec<u32>>,
    /// Per literal, the rules that use it.
    users: Vec<Vec<u32>>,
    /// Rules none of whose clauses is literals only: tried on every line.
    checked: Vec<u32>,
    /// Field literals: per index, the field (an index into `field_scans`).
    field_lits: Vec<u32>,
    field_scans: Vec<FieldScan>,
}

/// The set number of the rule standing for other detectors' literals.
const NOT_A_RULE: u32 = u32::MAX;

/// The UTF-8 bytes of the Kelvin sign, the one non-ASCII character that folds to ASCII, and of
/// the long s, which a case-insensitive regex lets stand for `s` (as the Kelvin sign for `k`).
const KELVIN: &[u8] = "\u{212A}".as_bytes();
const LONG_S: &[u8] = "\u{17F}".as_bytes();

/// Whether `text` holds the Kelvin sign or the long s (found by their lead bytes: most lines
/// hold neither lead byte at all).
fn holds_unjudgeable_char(text: &[u8]) -> bool {
    memchr::memchr2_iter(KELVIN[0], LONG_S[0], text).any(|i| {
        text.get(i..)
            .is_some_and(|t| t.starts_with(KELVIN) || t.starts_with(LONG_S))
    })
}

/// Per thread: derived texts, which literals a line holds (generation stamps), which rules
/// were tried, and the field checks' answers.
#[derive(Default)]
struct Scratch {
    derived: Vec<u8>,
    /// The raw line, lower-cased.
    lower: Vec<u8>,
    /// The derived texts, lower-cased.
    lower_derived: Vec<u8>,
    /// The value of the field being scanned for its literals, lower-cased.
    lower_field: Vec<u8>,
    /// Per literal not scanned for, the generation of the line it was looked for in.
    lit_tried: Vec<u32>,
    gen: u32,
    lit_seen: Vec<u32>,
    found: Vec<u32>,
    /// Whether the line holds no literal the automaton scans for.
    none_found: bool,
    /// The rules whose requirement the line holds.
    holding: Vec<u32>,
    rule_seen: Vec<u32>,
    checks: Vec<Option<bool>>,
    /// Per field literal, the generation of the line whose field holds it.
    field_lit_seen: Vec<u32>,
    /// Per scanned field, the generation of the line it was scanned for.
    field_done: Vec<u32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl SigmaGate {
    /// The gate of rules with these requirements; `None` when one has none.
    fn build<'a>(
        reqs: impl Iterator<Item = (u32, Option<&'a Cnf>)>,
        names: &[Arc<str>],
        extra: &[String],
        owner: u64,
    ) -> Option<SigmaGate> {
        let mut set_rules = Vec::new();
        let mut lit_ids: FxHashMap<String, u32> = FxHashMap::default();
        let mut check_ids: FxHashMap<(Arc<str>, FieldCheck), u32> = FxHashMap::default();
        let mut field_lit_ids: FxHashMap<(FieldId, String), u32> = FxHashMap::default();
        let mut field_lit_list: Vec<(FieldId, String)> = Vec::new();
        let mut literals = Vec::new();
        let mut checks = Vec::new();
        let mut rules: Vec<Vec<Vec<Term>>> = Vec::new();
        let mut lit_id = |s: &str, literals: &mut Vec<String>| -> u32 {
            let next = lit_ids.len() as u32;
            *lit_ids.entry(s.to_string()).or_insert_with(|| {
                literals.push(s.to_string());
                next
            })
        };
        for (number, req) in reqs {
            set_rules.push(number);
            let mut clauses = Vec::new();
            for c in req? {
                let mut terms = Vec::with_capacity(c.len());
                for atom in c {
                    terms.push(match atom {
                        GateAtom::Lit(s) => Term::Lit(lit_id(s, &mut literals)),
                        GateAtom::FieldLit(f, text) => {
                            let next = field_lit_ids.len() as u32;
                            let id =
                                *field_lit_ids.entry((*f, text.clone())).or_insert_with(|| {
                                    field_lit_list.push((*f, text.clone()));
                                    next
                                });
                            Term::FieldLit(id)
                        }
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
            let terms = extra
                .iter()
                .map(|s| Term::Lit(lit_id(s, &mut literals)))
                .collect();
            rules.push(vec![terms]);
            set_rules.push(NOT_A_RULE);
        }
        // A rule is tried when a literal of its *trigger* is found: a clause of literals and
        // field literals, each of which the line must hold somewhere (a field literal is in a
        // field's value, which is a slice of the raw line or of a derived text), so the rule
        // cannot hold on a line that holds none of them. A field literal stands for itself in
        // the trigger only when it is rare in whole lines (`${`, `~1`, `.py`): a status code or
        // a method would wake the rule on nearly every line, where checking its field costs
        // less than a second search. Rules without a trigger are tried on every line.
        let mut triggers: Vec<Option<Vec<u32>>> = Vec::with_capacity(rules.len());
        for clauses in &rules {
            let mut best: Option<(u32, Vec<String>)> = None;
            for c in clauses {
                let texts: Option<Vec<String>> = c
                    .iter()
                    .map(|t| match t {
                        Term::Lit(l) => literals.get(*l as usize).cloned(),
                        Term::FieldLit(k) => field_lit_list
                            .get(*k as usize)
                            .map(|(_, s)| s.clone())
                            .filter(|s| is_rare_in_lines(s)),
                        Term::Check(_) => None,
                    })
                    .collect();
                let Some(texts) = texts.filter(|t| !t.is_empty()) else {
                    continue;
                };
                let cost = texts
                    .iter()
                    .map(|t| GateLeaves.cost(&GateAtom::Lit(t.clone())))
                    .fold(0u32, u32::saturating_add);
                if best.as_ref().is_none_or(|(b, _)| cost < *b) {
                    best = Some((cost, texts));
                }
            }
            triggers.push(
                best.map(|(_, texts)| texts.iter().map(|t| lit_id(t, &mut literals)).collect()),
            );
        }
        let mut users = vec![Vec::new(); literals.len()];
        let mut scanned = vec![false; literals.len()];
        let mut checked = Vec::new();
        for (r, (clauses, trigger)) in rules.iter().zip(&triggers).enumerate() {
            let (lits, tried_always): (Vec<u32>, bool) = match trigger {
                Some(t) => (t.clone(), false),
                // Tried on every line: all its literals are scanned for, so its clauses are
                // judged without a search per literal.
                None => (
                    clauses
                        .iter()
                        .flatten()
                        .filter_map(|t| match t {
                            Term::Lit(l) => Some(*l),
                            _ => None,
                        })
                        .collect(),
                    true,
                ),
            };
            if tried_always {
                checked.push(r as u32);
            }
            for l in lits {
                if let Some(flag) = scanned.get_mut(l as usize) {
                    *flag = true;
                }
                if tried_always {
                    continue;
                }
                if let Some(u) = users.get_mut(l as usize) {
                    if u.last() != Some(&(r as u32)) {
                        u.push(r as u32);
                    }
                }
            }
        }
        let is_scanned =
            |t: &Term| matches!(t, Term::Lit(l) if scanned.get(*l as usize) == Some(&true));
        let mut scanned_prefix = Vec::with_capacity(rules.len());
        for clauses in &mut rules {
            let mut prefix = Vec::with_capacity(clauses.len());
            for c in clauses.iter_mut() {
                c.sort_by_key(|t| !is_scanned(t));
                prefix.push(c.iter().take_while(|t| is_scanned(t)).count() as u32);
            }
            scanned_prefix.push(prefix);
        }
        let automaton_ids: Vec<u32> = (0..literals.len() as u32)
            .filter(|l| scanned.get(*l as usize) == Some(&true))
            .collect();
        let finders = literals
            .iter()
            .zip(&scanned)
            .map(|(l, on)| {
                (!on).then(|| {
                    memchr::memmem::Finder::new(l.to_ascii_lowercase().as_bytes()).into_owned()
                })
            })
            .collect();
        let (field_lits, field_scans) = Self::field_scans(&field_lit_list, names)?;
        let lowered: Vec<String> = automaton_ids
            .iter()
            .filter_map(|l| literals.get(*l as usize))
            .map(|l| l.to_ascii_lowercase())
            .collect();
        let quick = AnyScan::new(lowered.iter().map(String::as_bytes));
        let automaton = if automaton_ids.is_empty() {
            None
        } else {
            Some(
                // Lines are lower-cased (ASCII) before the scan: a case-sensitive DFA over lower
                // case is several times faster than a case-insensitive automaton.
                AhoCorasickBuilder::new()
                    .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                    .match_kind(MatchKind::Standard)
                    .build(&lowered)
                    .ok()?,
            )
        };
        Some(SigmaGate {
            owner,
            set_rules,
            automaton,
            quick,
            automaton_ids,
            literals,
            scanned,
            finders,
            checks,
            rules,
            scanned_prefix,
            users,
            checked,
            field_lits,
            field_scans,
        })
    }

    /// One automaton per field over its short literals.
    fn field_scans(
        list: &[(FieldId, String)],
        names: &[Arc<str>],
    ) -> Option<(Vec<u32>, Vec<FieldScan>)> {
        let mut by_field: Vec<(FieldId, Vec<u32>)> = Vec::new();
        let mut field_of = Vec::with_capacity(list.len());
        for (id, (f, _)) in list.iter().enumerate() {
            let k = match by_field.iter().position(|(g, _)| g == f) {
                Some(k) => k,
                None => {
                    by_field.push((*f, Vec::new()));
                    by_field.len() - 1
                }
            };
            if let Some((_, ids)) = by_field.get_mut(k) {
                ids.push(id as u32);
            }
            field_of.push(k as u32);
        }
        let mut scans = Vec::with_capacity(by_field.len());
        for (f, ids) in by_field {
            let texts = ids
                .iter()
                .filter_map(|i| list.get(*i as usize))
                .map(|(_, t)| t.to_ascii_lowercase());
            let automaton = AhoCorasickBuilder::new()
                .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                .match_kind(MatchKind::Standard)
                .build(texts)
                .ok()?;
            scans.push(FieldScan {
                name: names.get(f as usize)?.clone(),
                automaton,
                ids,
            });
        }
        Some((field_of, scans))
    }

    /// Whether the line's value of the field of field literal `k` holds it, scanning the value
    /// once per line for all the field's literals.
    fn field_lit_holds(&self, k: u32, line: &dyn GateLine, s: &mut Scratch) -> bool {
        let Some(&f) = self.field_lits.get(k as usize) else {
            return true;
        };
        if s.field_done.get(f as usize) != Some(&s.gen) {
            if let Some(done) = s.field_done.get_mut(f as usize) {
                *done = s.gen;
            }
            if let Some(scan) = self.field_scans.get(f as usize) {
                Self::scan_field(scan, line, s);
            }
        }
        s.field_lit_seen.get(k as usize) == Some(&s.gen)
    }

    fn scan_field(scan: &FieldScan, line: &dyn GateLine, s: &mut Scratch) {
        let gen = s.gen;
        let mark_all = |s: &mut Scratch| {
            for &id in &scan.ids {
                if let Some(seen) = s.field_lit_seen.get_mut(id as usize) {
                    *seen = gen;
                }
            }
        };
        let value = match line.field(&scan.name) {
            None | Some(Value::Null) => return,
            // An array is matched item by item: let the line through rather than judge it here.
            Some(Value::Array(_)) => return mark_all(s),
            Some(v) => v,
        };
        let Some(text) = value.as_text() else {
            return mark_all(s);
        };
        let bytes = text.as_bytes();
        if holds_unjudgeable_char(bytes) {
            return mark_all(s);
        }
        // Its own buffer: `s.lower` holds the line, which literals looked for later still need.
        let mut lower = std::mem::take(&mut s.lower_field);
        lower.clear();
        lower.extend(bytes.iter().map(u8::to_ascii_lowercase));
        let mut state = aho_corasick::automaton::OverlappingState::start();
        let input = aho_corasick::Input::new(&lower);
        loop {
            scan.automaton.find_overlapping(input.clone(), &mut state);
            let Some(m) = state.get_match() else {
                break;
            };
            if let Some(&id) = scan.ids.get(m.pattern().as_usize()) {
                if let Some(seen) = s.field_lit_seen.get_mut(id as usize) {
                    *seen = gen;
                }
            }
        }
        s.lower_field = lower;
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

    /// Marks the scanned literals `text` holds, and keeps its lower-case form (in `s.lower`, or
    /// `s.lower_derived` for the derived texts) for the other literals; true when it holds a
    /// character the scan cannot judge.
    fn scan(&self, text: &[u8], derived: bool, s: &mut Scratch) -> bool {
        if holds_unjudgeable_char(text) {
            return true;
        }
        let mut lower = std::mem::take(if derived {
            &mut s.lower_derived
        } else {
            &mut s.lower
        });
        lower.clear();
        lower.extend(text.iter().map(u8::to_ascii_lowercase));
        if let Some(ac) = &self.automaton {
            // Most lines hold no literal: the quick scan says so, and only a line that may
            // hold one is searched for all of them.
            let input = aho_corasick::Input::new(&lower);
            let may_hold = match &self.quick {
                Some(q) => q.may_hold(&lower),
                None => ac.find(input.clone()).is_some(),
            };
            if may_hold {
                let mut state = aho_corasick::automaton::OverlappingState::start();
                loop {
                    ac.find_overlapping(input.clone(), &mut state);
                    let Some(m) = state.get_match() else {
                        break;
                    };
                    let Some(&id) = self.automaton_ids.get(m.pattern().as_usize()) else {
                        continue;
                    };
                    if let Some(seen) = s.lit_seen.get_mut(id as usize) {
                        if *seen != s.gen {
                            *seen = s.gen;
                            s.found.push(id);
                        }
                    }
                }
            }
        }
        if derived {
            s.lower_derived = lower;
        } else {
            s.lower = lower;
        }
        false
    }

    /// Whether the line holds literal `l`: found by the scan, or looked for now.
    fn lit_holds(&self, l: u32, s: &mut Scratch) -> bool {
        let i = l as usize;
        if self.scanned.get(i) != Some(&false) || s.lit_tried.get(i) == Some(&s.gen) {
            return s.lit_seen.get(i) == Some(&s.gen);
        }
        if let Some(t) = s.lit_tried.get_mut(i) {
            *t = s.gen;
        }
        let found = self
            .finders
            .get(i)
            .and_then(Option::as_ref)
            .is_some_and(|f| f.find(&s.lower).is_some() || f.find(&s.lower_derived).is_some());
        if found {
            if let Some(seen) = s.lit_seen.get_mut(i) {
                *seen = s.gen;
            }
        }
        found
    }

    fn rule_holds(&self, r: u32, line: &dyn GateLine, s: &mut Scratch) -> bool {
        let (Some(clauses), Some(prefix)) = (
            self.rules.get(r as usize),
            self.scanned_prefix.get(r as usize),
        ) else {
            return false;
        };
        clauses.iter().zip(prefix).all(|(c, &p)| {
            // No scanned literal in the line: those terms are false, skip to the others.
            let terms = if s.none_found {
                c.get(p as usize..).unwrap_or_default()
            } else {
                c
            };
            terms.iter().any(|t| match *t {
                Term::Lit(l) => self.lit_holds(l, s),
                Term::FieldLit(k) => self.field_lit_holds(k, line, s),
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

    /// Whether the line may match; with `hint`, also which rules of the set may (every rule
    /// whose requirement holds, so every rule is tried rather than stopping at the first that
    /// holds). `hint` is left `None` when the line is let through unjudged.
    fn judge(
        &self,
        line: &dyn GateLine,
        s: &mut Scratch,
        hint: Option<&mut Option<GateHint>>,
    ) -> bool {
        s.gen = s.gen.wrapping_add(1);
        if s.gen == 0
            || s.lit_seen.len() != self.literals.len()
            || s.rule_seen.len() != self.rules.len()
            || s.field_lit_seen.len() != self.field_lits.len()
            || s.field_done.len() != self.field_scans.len()
        {
            s.lit_seen = vec![0; self.literals.len()];
            s.lit_tried = vec![0; self.literals.len()];
            s.rule_seen = vec![0; self.rules.len()];
            s.field_lit_seen = vec![0; self.field_lits.len()];
            s.field_done = vec![0; self.field_scans.len()];
            s.gen = 1;
        }
        s.found.clear();
        s.checks.clear();
        s.checks.resize(self.checks.len(), None);
        if self.scan(line.raw(), false, s) {
            return true;
        }
        let mut derived = std::mem::take(&mut s.derived);
        derived.clear();
        s.lower_derived.clear();
        // The derived texts are only ever searched for literals: with none (status or size
        // checks only), building them would be wasted.
        if !self.literals.is_empty() {
            line.derived_texts(&mut derived);
        }
        let odd = !derived.is_empty() && self.scan(&derived, true, s);
        s.derived = derived;
        if odd {
            return true;
        }
        s.none_found = s.found.is_empty();
        let found = std::mem::take(&mut s.found);
        let mut holding = std::mem::take(&mut s.holding);
        holding.clear();
        let all = hint.is_some();
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
                    holding.push(r);
                    if !all {
                        break 'rules;
                    }
                }
            }
        }
        s.found = found;
        if all || holding.is_empty() {
            for &r in &self.checked {
                if s.rule_seen.get(r as usize) != Some(&s.gen) && self.rule_holds(r, line, s) {
                    holding.push(r);
                    if !all {
                        break;
                    }
                }
            }
        }
        let pass = !holding.is_empty();
        if let (true, Some(hint)) = (pass, hint) {
            let mut rules: Vec<u32> = holding
                .iter()
                .filter_map(|&r| self.set_rules.get(r as usize).copied())
                .filter(|&n| n != NOT_A_RULE)
                .collect();
            rules.sort_unstable();
            rules.dedup();
            *hint = Some(GateHint {
                owner: self.owner,
                rules,
            });
        }
        s.holding = holding;
        pass
    }
}

impl SigmaGate {
    /// [`SigmaGate::judge`] with this thread's scratch.
    fn judge_on_this_thread(
        &self,
        line: &dyn GateLine,
        hint: Option<&mut Option<GateHint>>,
    ) -> bool {
        SCRATCH.with(|s| match s.try_borrow_mut() {
            Ok(mut s) => self.judge(line, &mut s, hint),
            // Never reached (the gate does not call itself); letting the line through is safe.
            Err(_) => true,
        })
    }
}

impl LineGate for SigmaGate {
    fn may_match(&self, line: &dyn GateLine) -> bool {
        self.judge_on_this_thread(line, None)
    }

    fn decide(&self, line: &dyn GateLine, hint: &mut Option<GateHint>) -> bool {
        self.judge_on_this_thread(line, Some(hint))
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
