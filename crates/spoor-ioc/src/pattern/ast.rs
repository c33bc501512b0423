//! The syntax tree of a STIX pattern. Chains of one operator are kept flat (n-ary), so that a
//! long chain never makes a deep tree.

use chrono::{DateTime, Utc};

/// A whole pattern: an observation expression over numbered observations (`[...]`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pattern {
    /// The observation-level tree; leaves index `observations`.
    pub(crate) root: ObsExpr,
    /// The comparison expression of each `[...]`, in text order.
    pub(crate) observations: Vec<CompareExpr>,
}

/// Observation expressions and their operators and qualifiers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ObsExpr {
    /// One `[...]`, by index.
    Observation(usize),
    /// All must match (each by other observations).
    And(Vec<ObsExpr>),
    /// Any must match.
    Or(Vec<ObsExpr>),
    /// Each must match after the one before.
    FollowedBy(Vec<ObsExpr>),
    /// `WITHIN n SECONDS`.
    Within(Box<ObsExpr>, f64),
    /// `REPEATS n TIMES`.
    Repeats(Box<ObsExpr>, u32),
    /// `START t STOP t`.
    StartStop(Box<ObsExpr>, DateTime<Utc>, DateTime<Utc>),
}

/// Comparison expressions inside one observation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CompareExpr {
    /// All hold.
    And(Vec<CompareExpr>),
    /// Any holds.
    Or(Vec<CompareExpr>),
    /// One comparison.
    Test(Comparison),
}

/// `path [NOT] op literal`, or `EXISTS path`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Comparison {
    /// Object path.
    pub(crate) path: ObjectPath,
    /// `NOT` before the operator.
    pub(crate) negated: bool,
    /// Operator.
    pub(crate) op: CompOp,
    /// Right-hand side (`Literal::None` for `EXISTS`).
    pub(crate) literal: Literal,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CompOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `IN (...)`
    In,
    /// `LIKE`
    Like,
    /// `MATCHES`
    Matches,
    /// `ISSUBSET`
    IsSubset,
    /// `ISSUPERSET`
    IsSuperset,
    /// `EXISTS`
    Exists,
}

/// Constants.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    /// `'text'`
    Str(String),
    /// `42`
    Int(i64),
    /// `4.2`
    Float(f64),
    /// `true` / `false`
    Bool(bool),
    /// `t'2016-01-01T00:00:00Z'`
    Time(DateTime<Utc>),
    /// `b'base64'` or `h'hex'`, decoded.
    Bytes(Vec<u8>),
    /// `(a, b, c)` after `IN`.
    Set(Vec<Literal>),
    /// Nothing (`EXISTS`).
    None,
}

/// `type:prop.prop[*]...`
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ObjectPath {
    /// Object type, e.g. `file`.
    pub(crate) object_type: String,
    /// Property steps.
    pub(crate) parts: Vec<PathPart>,
}

/// One step of an object path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PathPart {
    /// A property name.
    Prop(String),
    /// A list index (`[3]`) or any index (`[*]`, `None`).
    Index(Option<i64>),
}

impl ObjectPath {
    /// The canonical text used by the mapping table: quotes dropped, list indexes as `[*]`, and
    /// hash names in lower case with their dash (`hashes.'SHA256'` -> `hashes.sha-256`).
    pub(crate) fn canonical(&self) -> String {
        let mut out = format!("{}:", self.object_type);
        let mut prev_hashes = false;
        for (i, part) in self.parts.iter().enumerate() {
            match part {
                PathPart::Prop(name) => {
                    if i > 0 {
                        out.push('.');
                    }
                    if prev_hashes {
                        out.push_str(&canonical_hash_name(name));
                    } else {
                        out.push_str(name);
                    }
                    prev_hashes = name == "hashes";
                }
                PathPart::Index(_) => {
                    out.push_str("[*]");
                    prev_hashes = false;
                }
            }
        }
        out
    }
}

fn canonical_hash_name(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "sha1" => "sha-1".into(),
        "sha224" => "sha-224".into(),
        "sha256" => "sha-256".into(),
        "sha384" => "sha-384".into(),
        "sha512" => "sha-512".into(),
        _ => lower,
    }
}
