//! The cross-rule prefilter: why spoor's cost does not grow with the number of rules.
//!
//! For every rule we derive a *requirement*: a set of atoms (`field contains "x"`, `field equals
//! "y"`, `field present`) such that the rule can only match an event on which at least one atom
//! holds. It is computed from the condition tree: a conjunction needs only its most selective
//! child, a disjunction needs the union of its children, and `not` (or a `null` test) gives no
//! requirement at all, so such rules are evaluated on every event of their log source.
//!
//! Per log source seen in the input, the requirements of the rules that run on it are gathered
//! into one index: per field an Aho-Corasick automaton over all required substrings, a hash map
//! of required exact values, and a list of rules that only need the field present; plus one
//! automaton for keyword substrings scanned over every field. An event is scanned once per field
//! it has, whatever the number of rules; only the rules whose atoms fired are evaluated.

use crate::ir::{Check, CompiledRule, Cond, FieldId, Mode, Sel, Target, Test, TestKind};
use crate::pattern::{fold, StrMatch};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use rustc_hash::FxHashMap;

/// One necessary condition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Atom {
    /// The field occurs in the event.
    Present(FieldId),
    /// A value of the field, folded, equals the text.
    Exact(FieldId, String),
    /// A value of the target (a field, or any field and the raw line), folded, contains the text.
    Substr(Target, String),
}

type Req = Option<Vec<Atom>>;

/// How a requirement is made of a rule's leaves. Two kinds of requirement share the walk over the
/// condition tree: the event index's [`Atom`]s (here) and the line gate's atoms
/// ([`crate::gate`]), which must hold on the raw line before any event is built.
pub(crate) trait Leaves {
    /// One necessary condition.
    type Atom: Clone + Ord;
    /// The atoms one of which holds whenever check `c` holds on `target`.
    fn check(&self, c: &Check, target: Target) -> Option<Vec<Self::Atom>>;
    /// The atoms one of which holds whenever `target` exists.
    fn exists(&self, target: Target) -> Option<Vec<Self::Atom>>;
    /// The atoms for a whole (folded) value of the `Any` fast path.
    fn fast_equal(&self, target: Target, value: &str) -> Option<Vec<Self::Atom>>;
    /// The atoms for one of the literals of a value.
    fn literal(&self, target: Target, literals: &[String]) -> Option<Vec<Self::Atom>>;
    /// How often the atom holds, roughly: conjunctions keep their cheapest child.
    fn cost(&self, atom: &Self::Atom) -> u32;
}

/// The event index's leaves.
pub(crate) struct FieldLeaves;

impl Leaves for FieldLeaves {
    type Atom = Atom;
    fn check(&self, c: &Check, target: Target) -> Req {
        check_req(c, target)
    }
    fn exists(&self, target: Target) -> Req {
        match target {
            Target::Field(f) => Some(vec![Atom::Present(f)]),
            Target::Keyword => None,
        }
    }
    fn fast_equal(&self, target: Target, value: &str) -> Req {
        match target {
            Target::Field(f) => Some(vec![Atom::Exact(f, value.to_string())]),
            Target::Keyword => None,
        }
    }
    fn literal(&self, target: Target, literals: &[String]) -> Req {
        literal_atom(target, literals)
    }
    fn cost(&self, a: &Atom) -> u32 {
        atom_cost(a)
    }
}

fn atom_cost(a: &Atom) -> u32 {
    match a {
        // Short whole values (`true`, `3`, `0x0`, `4688`) are common in logs, nearly as common
        // as the field itself: a list of long substrings is the better filter.
        Atom::Exact(_, s) if s.len() >= 5 => 2,
        Atom::Exact(..) => 30,
        Atom::Substr(_, s) if s.len() >= 8 => 3,
        Atom::Substr(_, s) if s.len() >= 4 => 6,
        Atom::Substr(_, s) if s.len() >= 2 => 20,
        Atom::Substr(..) => 60,
        Atom::Present(_) => 40,
    }
}

fn union<A: Ord>(reqs: impl IntoIterator<Item = Option<Vec<A>>>) -> Option<Vec<A>> {
    let mut out = Vec::new();
    for r in reqs {
        out.extend(r?);
    }
    out.sort();
    out.dedup();
    if out.is_empty() {
        None
    } else {
        Some(out)
    }
}

fn best<L: Leaves>(
    leaves: &L,
    reqs: impl IntoIterator<Item = Option<Vec<L::Atom>>>,
) -> Option<Vec<L::Atom>> {
    let cost = |r: &[L::Atom]| {
        r.iter()
            .map(|a| leaves.cost(a))
            .fold(0u32, u32::saturating_add)
    };
    reqs.into_iter().flatten().min_by_key(|r| cost(r))
}

fn literal_atom(target: Target, literals: &[String]) -> Req {
    // `fold` works character by character, so a value that contains a literal has a folded form
    // that contains the folded literal, whatever its script.
    let lit = literals
        .iter()
        .map(|l| fold(l))
        .filter(|l| !l.is_empty())
        .max_by_key(String::len);
    match (lit, target) {
        (Some(l), t) => Some(vec![Atom::Substr(t, l)]),
        (None, Target::Field(f)) => Some(vec![Atom::Present(f)]),
        (None, Target::Keyword) => None,
    }
}

fn check_req(c: &Check, target: Target) -> Req {
    let present = FieldLeaves.exists(target);
    match c {
        Check::Null => None,
        Check::Str(p) => match (&p.m, target) {
            (StrMatch::Equals(s), Target::Field(f)) => Some(vec![Atom::Exact(f, fold(s))]),
            (StrMatch::Any, _) => present,
            _ => literal_atom(target, &p.literals),
        },
        Check::NumEq { text, canon } => match target {
            Target::Field(f) => Some(vec![
                Atom::Exact(f, text.clone()),
                Atom::Exact(f, canon.clone()),
            ]),
            Target::Keyword => None,
        },
        Check::Regex(r) => best(
            &FieldLeaves,
            [
                regex_atoms(r.as_str(), target),
                regex_inner_atom(r.as_str(), target),
            ],
        )
        .or(present),
        Check::NumCmp(..) | Check::Cidr(_) | Check::TimePart(..) | Check::FieldRef { .. } => {
            present
        }
    }
}

/// Substrings one of which every match of a regex contains: its prefix literals, folded. Only
/// the longest run of ASCII characters other than `k` and `s` of each is kept: under `(?i)` the
/// regex engine also lets `k` match the Kelvin sign and `s` the long s, which folding does not
/// do, and the flags are not known here. `None` when the regex has no such literals.
pub(crate) fn regex_atoms(pattern: &str, target: Target) -> Req {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let seq = Extractor::new().kind(ExtractKind::Prefix).extract(&hir);
    let literals = seq.literals()?;
    if literals.is_empty() {
        return None;
    }
    let mut atoms = Vec::with_capacity(literals.len());
    for lit in literals {
        let text = std::str::from_utf8(lit.as_bytes()).ok()?;
        let folded = fold(text);
        let run = folded
            .split(|c: char| !c.is_ascii() || c == 'k' || c == 's')
            .max_by_key(|r| r.len())
            .filter(|r| r.len() >= 2)?;
        atoms.push(Atom::Substr(target, run.to_string()));
    }
    atoms.sort();
    atoms.dedup();
    Some(atoms)
}

/// One substring every match of a regex contains, from anywhere in it (not only its prefix):
/// the longest run of literal characters in a concatenation that every match passes through
/// (`\.exe\s+[^"]{0,64}werfaultsecure\.exe` gives `werfaultsecure.exe`). Kept under the same
/// rules as [`regex_atoms`]: folded, ASCII, no `k` or `s`, at least three characters.
pub(crate) fn regex_inner_atom(pattern: &str, target: Target) -> Req {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let run = required_literal(&hir, 0)?;
    let folded = fold(&run);
    let best = folded
        .split(|c: char| !c.is_ascii() || c == 'k' || c == 's')
        .max_by_key(|r| r.len())
        .filter(|r| r.len() >= 3)?;
    Some(vec![Atom::Substr(target, best.to_string())])
}

/// The character a class stands for when it is one character, or one ASCII letter in both cases.
fn class_char(class: &regex_syntax::hir::Class) -> Option<char> {
    use regex_syntax::hir::Class;
    match class {
        Class::Unicode(u) => {
            let ranges: Vec<(char, char)> = u.iter().map(|r| (r.start(), r.end())).collect();
            match ranges.as_slice() {
                [(a, b)] if a == b => Some(*a),
                [(a, b), (c, d)]
                    if a == b
                        && c == d
                        && a.is_ascii_alphabetic()
                        && a.to_ascii_lowercase() == *c =>
                {
                    Some(a.to_ascii_lowercase())
                }
                _ => None,
            }
        }
        Class::Bytes(b) => {
            let ranges: Vec<(u8, u8)> = b.iter().map(|r| (r.start(), r.end())).collect();
            match ranges.as_slice() {
                [(a, b)] if a == b && a.is_ascii() => Some(*a as char),
                [(a, b), (c, d)]
                    if a == b
                        && c == d
                        && a.is_ascii_alphabetic()
                        && a.to_ascii_lowercase() == *c =>
                {
                    Some(a.to_ascii_lowercase() as char)
                }
                _ => None,
            }
        }
    }
}

/// The exact text a node always matches, if it is a literal or a one-character class.
fn exact_text(hir: &regex_syntax::hir::Hir) -> Option<String> {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Literal(l) => std::str::from_utf8(&l.0).ok().map(str::to_string),
        HirKind::Class(c) => class_char(c).map(String::from),
        HirKind::Capture(c) => exact_text(&c.sub),
        HirKind::Concat(items) => items.iter().map(exact_text).collect(),
        _ => None,
    }
}

/// The longest text every match of `hir` contains, if any.
fn required_literal(hir: &regex_syntax::hir::Hir, depth: usize) -> Option<String> {
    use regex_syntax::hir::HirKind;
    if depth > 32 {
        return None;
    }
    match hir.kind() {
        HirKind::Literal(_) | HirKind::Class(_) => exact_text(hir),
        HirKind::Capture(c) => required_literal(&c.sub, depth + 1),
        HirKind::Repetition(r) if r.min >= 1 => required_literal(&r.sub, depth + 1),
        HirKind::Concat(items) => {
            let mut best: Option<String> = None;
            let mut run = String::new();
            let keep = |cand: String, best: &mut Option<String>| {
                if best.as_ref().is_none_or(|b| cand.len() > b.len()) {
                    *best = Some(cand);
                }
            };
            for item in items {
                match exact_text(item) {
                    Some(t) => run.push_str(&t),
                    None => {
                        if !run.is_empty() {
                            keep(std::mem::take(&mut run), &mut best);
                        }
                        if let Some(inner) = required_literal(item, depth + 1) {
                            keep(inner, &mut best);
                        }
                    }
                }
            }
            if !run.is_empty() {
                keep(run, &mut best);
            }
            best
        }
        _ => None,
    }
}

fn test_req<L: Leaves>(leaves: &L, t: &Test) -> Option<Vec<L::Atom>> {
    match &t.kind {
        TestKind::Exists(true) => leaves.exists(t.target),
        TestKind::Exists(false) => None,
        TestKind::Values { mode, groups, fast } => {
            let group_req = |g: &Vec<Check>| union(g.iter().map(|c| leaves.check(c, t.target)));
            match mode {
                Mode::NoneOf => None,
                Mode::All => best(leaves, groups.iter().map(group_req)),
                Mode::Any => {
                    let mut parts: Vec<Option<Vec<L::Atom>>> =
                        groups.iter().map(group_req).collect();
                    if groups.iter().all(Vec::is_empty) {
                        parts.clear();
                    }
                    if let Some(fast) = fast {
                        for e in &fast.equals {
                            parts.push(leaves.fast_equal(t.target, e));
                        }
                        for p in fast.patterns() {
                            parts.push(leaves.literal(t.target, std::slice::from_ref(&p)));
                        }
                    }
                    union(parts)
                }
            }
        }
    }
}

fn sel_req<L: Leaves>(leaves: &L, s: &Sel) -> Option<Vec<L::Atom>> {
    match s {
        Sel::And(tests) => best(leaves, tests.iter().map(|t| test_req(leaves, t))),
        Sel::Or(branches) => union(branches.iter().map(|b| sel_req(leaves, b))),
    }
}

fn cond_req<L: Leaves>(
    leaves: &L,
    c: &Cond,
    sels: &[Option<Vec<L::Atom>>],
) -> Option<Vec<L::Atom>> {
    match c {
        Cond::Sel(i) => sels.get(*i as usize).cloned().flatten(),
        Cond::And(items) => best(leaves, items.iter().map(|i| cond_req(leaves, i, sels))),
        Cond::Or(items) | Cond::AtLeast(_, items) => {
            union(items.iter().map(|i| cond_req(leaves, i, sels)))
        }
        Cond::Not(_) => None,
    }
}

/// A rule's requirement made of `leaves`' atoms: `None` when the rule must be evaluated on
/// every event.
pub(crate) fn requirement_with<L: Leaves>(rule: &CompiledRule, leaves: &L) -> Option<Vec<L::Atom>> {
    let sels: Vec<Option<Vec<L::Atom>>> = rule.sels.iter().map(|s| sel_req(leaves, s)).collect();
    cond_req(leaves, &rule.cond, &sels)
}

/// The requirement of a rule: `None` when the rule must be evaluated on every event.
pub fn requirement(rule: &CompiledRule) -> Option<Vec<Atom>> {
    requirement_with(rule, &FieldLeaves)
}

/// Whether a rule looks at every field (keyword tests), so events need all fields folded.
pub fn uses_keywords(rule: &CompiledRule) -> bool {
    fn sel(s: &Sel) -> bool {
        match s {
            Sel::And(tests) => tests.iter().any(|t| t.target == Target::Keyword),
            Sel::Or(b) => b.iter().any(sel),
        }
    }
    rule.sels.iter().any(sel)
}

/// The fields a rule reads (tests' targets and field references), so that events only get the
/// text of those fields folded.
pub fn rule_fields(rule: &CompiledRule) -> Vec<FieldId> {
    fn sel(s: &Sel, out: &mut Vec<FieldId>) {
        match s {
            Sel::And(tests) => {
                for t in tests {
                    if let Target::Field(f) = t.target {
                        out.push(f);
                    }
                    if let TestKind::Values { groups, .. } = &t.kind {
                        for c in groups.iter().flatten() {
                            if let Check::FieldRef { other, .. } = c {
                                out.push(*other);
                            }
                        }
                    }
                }
            }
            Sel::Or(branches) => branches.iter().for_each(|b| sel(b, out)),
        }
    }
    let mut out = Vec::new();
    rule.sels.iter().for_each(|s| sel(s, &mut out));
    out.sort_unstable();
    out.dedup();
    out
}

/// Per-field part of an index.
#[derive(Debug, Default)]
pub struct FieldIndex {
    /// Rules that only need the field present.
    pub present: Vec<u32>,
    /// Exact folded values -> rules.
    pub exact: FxHashMap<String, Vec<u32>>,
    /// Substring automaton and the rules of each of its patterns.
    pub substr: Option<(AhoCorasick, Vec<Vec<u32>>)>,
}

/// The prefilter for one event log source.
#[derive(Debug, Default)]
pub struct LogSourceIndex {
    /// Rules without a requirement: evaluated on every event.
    pub always: Vec<u32>,
    /// By field id (dense).
    pub fields: Vec<Option<Box<FieldIndex>>>,
    /// Keyword substrings, scanned over every field and the raw line.
    pub keyword: Option<(AhoCorasick, Vec<Vec<u32>>)>,
    /// Some rule of this log source uses keyword tests.
    pub needs_all_text: bool,
    /// Number of rules that run on this log source.
    pub rules: usize,
    /// By field id: some rule of this log source reads the field (only those are folded).
    pub needed: Vec<bool>,
}

fn automaton(needles: FxHashMap<String, Vec<u32>>) -> Option<(AhoCorasick, Vec<Vec<u32>>)> {
    if needles.is_empty() {
        return None;
    }
    let mut pairs: Vec<(String, Vec<u32>)> = needles.into_iter().collect();
    pairs.sort();
    let ac = AhoCorasickBuilder::new()
        .match_kind(MatchKind::Standard)
        .build(pairs.iter().map(|(n, _)| n.as_bytes()))
        .ok()?;
    Some((ac, pairs.into_iter().map(|(_, r)| r).collect()))
}

impl LogSourceIndex {
    /// Builds the index of the rules `ids` (which run on one log source).
    pub fn build<'a>(
        ids: &[u32],
        reqs: &dyn Fn(u32) -> Option<&'a [Atom]>,
        keywords: &[bool],
        rule_fields: &[Vec<FieldId>],
        field_count: usize,
    ) -> LogSourceIndex {
        let mut idx = LogSourceIndex {
            fields: (0..field_count).map(|_| None).collect(),
            rules: ids.len(),
            needed: vec![false; field_count],
            ..LogSourceIndex::default()
        };
        for &r in ids {
            for &f in &rule_fields[r as usize] {
                idx.needed[f as usize] = true;
            }
        }
        let mut substr: FxHashMap<FieldId, FxHashMap<String, Vec<u32>>> = FxHashMap::default();
        let mut keyword: FxHashMap<String, Vec<u32>> = FxHashMap::default();
        for &r in ids {
            idx.needs_all_text |= keywords[r as usize];
            let Some(atoms) = reqs(r) else {
                idx.always.push(r);
                continue;
            };
            for a in atoms {
                match a {
                    Atom::Present(f) => idx.field(*f).present.push(r),
                    Atom::Exact(f, v) => idx.field(*f).exact.entry(v.clone()).or_default().push(r),
                    Atom::Substr(Target::Field(f), s) => substr
                        .entry(*f)
                        .or_default()
                        .entry(s.clone())
                        .or_default()
                        .push(r),
                    Atom::Substr(Target::Keyword, s) => {
                        keyword.entry(s.clone()).or_default().push(r)
                    }
                }
            }
        }
        for (f, needles) in substr {
            let built = automaton(needles);
            idx.field(f).substr = built;
        }
        idx.keyword = automaton(keyword);
        idx.needs_all_text |= idx.keyword.is_some();
        idx
    }

    fn field(&mut self, f: FieldId) -> &mut FieldIndex {
        let slot = &mut self.fields[f as usize];
        slot.get_or_insert_with(Box::default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inner(p: &str) -> Option<String> {
        match regex_inner_atom(p, Target::Keyword)?.as_slice() {
            [Atom::Substr(_, s)] => Some(s.clone()),
            _ => None,
        }
    }

    #[test]
    fn regex_inner_literals() {
        assert_eq!(
            inner(r#"(?i)\.exe["']?\s+[^"]{0,64}werfaultsecure\.exe"#).as_deref(),
            Some("ecure.exe")
        );
        assert_eq!(inner(r"foo(bar)+bazz").as_deref(), Some("bazz"));
        assert_eq!(inner(r"a|bcdef"), None, "alternation requires nothing");
        assert_eq!(
            inner(r"x(abcdef)?y"),
            None,
            "an optional group requires nothing"
        );
        assert_eq!(
            inner(r"(?i)MIMIKATZ").as_deref(),
            Some("mimi"),
            "k breaks the run"
        );
    }
}
