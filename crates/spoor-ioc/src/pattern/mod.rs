//! The STIX 2.1 patterning language: text -> syntax tree, written by hand (recursive descent with
//! a nesting limit), because patterns come from outside and must never crash or exhaust the stack.

mod ast;
mod lexer;
mod text2ast;

pub(crate) use ast::{CompOp, CompareExpr, Comparison, Literal, ObsExpr};
pub(crate) use text2ast::parse;

/// A syntax error with the byte offset where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PatternError {
    /// Byte offset into the pattern.
    pub(crate) offset: usize,
    /// What was wrong.
    pub(crate) message: String,
}

impl std::fmt::Display for PatternError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pattern error at offset {}: {}",
            self.offset, self.message
        )
    }
}
