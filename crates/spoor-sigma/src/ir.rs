//! The compiled form of a rule: field names interned to ids, values turned into matchers,
//! the condition into a tree over selection indexes. Immutable and shared by all threads.

use crate::lazy::{LazyLiterals, LazyRegex};
use crate::logsource::RuleLogSource;
use crate::pattern::StrPattern;
use ipnet::IpNet;
use rustc_hash::FxHashSet;
use spoor_event::RuleMeta;
use std::sync::Arc;

/// Dense id of a field name across the whole rule set.
pub type FieldId = u32;

/// What a test looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// One field (every occurrence, arrays element-wise).
    Field(FieldId),
    /// Every field's value and the raw line (keyword search).
    Keyword,
}

/// Numeric comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`.
    Eq,
    /// `lt`.
    Lt,
    /// `lte`.
    Lte,
    /// `gt`.
    Gt,
    /// `gte`.
    Gte,
}

impl CmpOp {
    /// Applies the comparison.
    pub fn apply(self, a: f64, b: f64) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Lt => a < b,
            CmpOp::Lte => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Gte => a >= b,
        }
    }
}

/// The part of a date a time modifier extracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimePart {
    /// 0-59.
    Minute,
    /// 0-23.
    Hour,
    /// 1-31.
    Day,
    /// ISO week 1-53.
    Week,
    /// 1-12.
    Month,
    /// The year.
    Year,
}

/// How a field reference compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefHow {
    /// Equal.
    Equals,
    /// This field contains the other.
    Contains,
    /// This field starts with the other.
    StartsWith,
    /// This field ends with the other.
    EndsWith,
}

/// One way a single value can satisfy a test.
#[derive(Debug, Clone)]
pub enum Check {
    /// Text pattern.
    Str(StrPattern),
    /// A plain number: the folded text as written, or the canonical decimal form.
    NumEq {
        /// As written, folded.
        text: String,
        /// Canonical decimal text.
        canon: String,
    },
    /// `lt`/`lte`/`gt`/`gte`.
    NumCmp(CmpOp, f64),
    /// `re`.
    Regex(LazyRegex),
    /// `cidr`.
    Cidr(IpNet),
    /// Time part, compared.
    TimePart(TimePart, CmpOp, f64),
    /// `fieldref`.
    FieldRef {
        /// The other field.
        other: FieldId,
        /// Comparison.
        how: RefHow,
        /// Case-sensitive.
        cased: bool,
    },
    /// `null`: absent, null or empty.
    Null,
}

/// How the values of a test combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Any value (Sigma's default OR).
    Any,
    /// Every value (`all`).
    All,
    /// No value (`neq`).
    NoneOf,
}

/// Fast paths for long OR-lists of plain values on one field.
#[derive(Debug, Clone, Default)]
pub struct AnyFast {
    /// Folded case-insensitive `contains` literals, in one automaton built on first use.
    pub contains: LazyLiterals,
    /// Folded case-insensitive whole values.
    pub equals: FxHashSet<String>,
}

/// A field (or keyword) test.
#[derive(Debug, Clone)]
pub enum TestKind {
    /// `|exists`.
    Exists(bool),
    /// Value checks. `groups[i]` holds the alternatives one written value expanded to
    /// (windash, base64offset); for `Mode::Any` all are flattened into one group.
    Values {
        /// How groups combine.
        mode: Mode,
        /// Alternatives per written value.
        groups: Vec<Vec<Check>>,
        /// Fast path (only for `Mode::Any`).
        fast: Option<Box<AnyFast>>,
    },
}

/// One entry of a selection.
#[derive(Debug, Clone)]
pub struct Test {
    /// What it looks at.
    pub target: Target,
    /// How.
    pub kind: TestKind,
}

/// A compiled search identifier.
#[derive(Debug, Clone)]
pub enum Sel {
    /// All tests.
    And(Vec<Test>),
    /// Any branch.
    Or(Vec<Sel>),
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub enum Cond {
    /// A selection by index.
    Sel(u32),
    /// All.
    And(Vec<Cond>),
    /// Any.
    Or(Vec<Cond>),
    /// Not.
    Not(Box<Cond>),
    /// At least N of.
    AtLeast(u32, Vec<Cond>),
}

/// A rule ready to evaluate.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// What findings say.
    pub meta: Arc<RuleMeta>,
    /// Which events it runs on.
    pub logsource: RuleLogSource,
    /// The condition.
    pub cond: Cond,
    /// The selections the condition refers to.
    pub sels: Vec<Sel>,
    /// The selections' names, as written (for explanations; the evaluator never reads them).
    pub sel_names: Vec<String>,
}

impl AnyFast {
    /// The `contains` literals of the automaton, for the index.
    pub fn patterns(&self) -> Vec<String> {
        self.contains.literals().to_vec()
    }
}

/// The id `map` gives `id` (ids outside it are kept: a rule compiled against a table only uses
/// that table's ids).
fn remapped(id: FieldId, map: &[FieldId]) -> FieldId {
    map.get(id as usize).copied().unwrap_or(id)
}

impl CompiledRule {
    /// Replaces every field id `f` the rule holds (tests' targets, field references) with
    /// `map[f]`: for rules compiled against a file's own field table, merged into the set's.
    pub(crate) fn remap_fields(&mut self, map: &[FieldId]) {
        for s in &mut self.sels {
            s.remap_fields(map);
        }
    }
}

impl Sel {
    fn remap_fields(&mut self, map: &[FieldId]) {
        match self {
            Sel::And(tests) => {
                for t in tests {
                    if let Target::Field(f) = &mut t.target {
                        *f = remapped(*f, map);
                    }
                    if let TestKind::Values { groups, .. } = &mut t.kind {
                        for c in groups.iter_mut().flatten() {
                            if let Check::FieldRef { other, .. } = c {
                                *other = remapped(*other, map);
                            }
                        }
                    }
                }
            }
            Sel::Or(branches) => branches.iter_mut().for_each(|b| b.remap_fields(map)),
        }
    }
}
