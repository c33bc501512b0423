//! Typed errors of the crate: rule loading and compiling. Scanning never fails as a whole; a
//! file that cannot be scanned is reported in its [`crate::FileScan`] instead.

use std::path::PathBuf;

/// One YARA compile error, located in its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleCompileError {
    /// The rule file (`builtin:<name>` for built-in rules).
    pub origin: String,
    /// 1-based line of the error, 0 when yara-x gave no location.
    pub line: usize,
    /// 1-based column (in bytes), 0 when unknown.
    pub column: usize,
    /// yara-x's stable error code, e.g. `E001`.
    pub code: String,
    /// yara-x's one-line title, e.g. `syntax error`.
    pub title: String,
    /// What the error's first label says at the location, e.g. ``expecting identifier, found `any` ``.
    pub message: String,
    /// The full rendered report (several lines, with the source snippet).
    pub report: String,
}

impl std::fmt::Display for RuleCompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: error[{}]: {}",
            self.origin, self.line, self.column, self.code, self.title
        )?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

/// Why a rule set could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum YaraError {
    /// A rule file or folder could not be read.
    #[error("cannot read YARA rules at {path}: {source}")]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A folder given as rules held no `.yar` / `.yara` file.
    #[error("no .yar or .yara file under {path}")]
    NoRuleFiles {
        /// The folder.
        path: PathBuf,
    },
    /// One or more rules did not compile; every error is listed, one per line.
    #[error("{} YARA compile error(s):\n{}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Compile(Vec<RuleCompileError>),
    /// Nothing to scan with: no built-in and no user rules.
    #[error("no YARA rules to scan with")]
    NoRules,
}
