//! The parsed form of a Sigma rule, before compilation: close to the YAML, with lines kept.

use crate::modifier::Modifier;
use crate::Location;

/// A value written in a rule's detection.
#[derive(Debug, Clone, PartialEq)]
pub enum SigmaValue {
    /// A string (quoted, or plain text that is not a number, bool or null).
    Str(String),
    /// A plain number; `text` is how it was written (`0x17`, `4688`), `value` its meaning.
    Num {
        /// As written.
        text: String,
        /// Its numeric value.
        value: f64,
    },
    /// `true` or `false`.
    Bool(bool),
    /// `null`, `~` or nothing.
    Null,
}

impl SigmaValue {
    /// The value as text (numbers as written).
    pub fn text(&self) -> Option<&str> {
        match self {
            SigmaValue::Str(s) => Some(s),
            SigmaValue::Num { text, .. } => Some(text),
            SigmaValue::Bool(true) => Some("true"),
            SigmaValue::Bool(false) => Some("false"),
            SigmaValue::Null => None,
        }
    }
}

/// One `field|modifiers: values` entry of a selection; `field: None` is a keyword search
/// (a plain list under a search identifier, or the `'|all'` key).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSpec {
    /// Field name, or `None` for keywords matched against every field.
    pub field: Option<String>,
    /// Modifiers in the order written.
    pub modifiers: Vec<Modifier>,
    /// The values (a scalar is a one-element list).
    pub values: Vec<SigmaValue>,
    /// Where the entry's key is (for keywords, the list): modifier problems are reported here.
    pub at: Location,
    /// Where each value is, in the order of `values`: value problems are reported here.
    pub value_at: Vec<Location>,
}

impl FieldSpec {
    /// Where the `i`-th value is written (the entry's key when unknown).
    pub fn value_location(&self, i: usize) -> Location {
        self.value_at.get(i).copied().unwrap_or(self.at)
    }
}

/// A search identifier's body.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectionAst {
    /// All entries must match (a map).
    And(Vec<FieldSpec>),
    /// Any branch may match (a list of maps or keywords).
    Or(Vec<SelectionAst>),
}

/// How many of a group of search identifiers must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    /// `all of`.
    All,
    /// `N of` (1 for `1 of` / `any of`).
    AtLeast(u32),
}

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub enum ConditionAst {
    /// A search identifier by name.
    Ident(String),
    /// `x of pattern` / `x of them`; `None` pattern means `them`.
    Of(Quantifier, Option<String>),
    /// Conjunction.
    And(Vec<ConditionAst>),
    /// Disjunction.
    Or(Vec<ConditionAst>),
    /// Negation.
    Not(Box<ConditionAst>),
}

/// The `logsource` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSourceAst {
    /// `product`.
    pub product: Option<String>,
    /// `category`.
    pub category: Option<String>,
    /// `service`.
    pub service: Option<String>,
}

/// A rule as parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleAst {
    /// `title`.
    pub title: String,
    /// `id`.
    pub id: Option<String>,
    /// `name`: how correlation rules refer to it.
    pub name: Option<String>,
    /// `status`.
    pub status: Option<String>,
    /// `level`.
    pub level: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `tags`.
    pub tags: Vec<String>,
    /// `logsource`.
    pub logsource: LogSourceAst,
    /// Search identifiers in source order.
    pub selections: Vec<(String, SelectionAst)>,
    /// The condition(s); several are OR-ed.
    pub conditions: Vec<ConditionAst>,
    /// Where each condition is written, in the order of `conditions`.
    pub condition_at: Vec<Location>,
    /// Line of the rule's first key.
    pub line: usize,
}
