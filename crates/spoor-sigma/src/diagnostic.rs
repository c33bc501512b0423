//! Why a rule did not load, as a typed error with a stable code.
//!
//! A rule author (or a script around `spoor rules check`) needs more than a sentence: a code that
//! does not change when the wording does, and the place in the file. Every problem the loader and
//! compiler find is a [`SigmaError`]; its [`SigmaError::code`] is stable and
//! [`SigmaError::is_unsupported`] decides whether the rule is `unsupported` (valid Sigma that
//! spoor does not run) or `invalid` (broken). The place is a [`Location`] on the rule's report.
//!
//! The codes, their meaning and an example of each are listed in `docs/sigma-diagnostics.md`;
//! the golden files under `crates/spoor-sigma/tests/diagnostics/` show the exact output of every
//! code. A code, once given, keeps its meaning; a new kind of problem gets a new code.

/// Where a problem is: 1-based line and, where known, 1-based column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Location {
    /// 1-based line (0 when the file could not be read at all).
    pub line: usize,
    /// 1-based column, when known.
    pub column: Option<usize>,
}

impl Location {
    /// A line without a column.
    pub fn line(line: usize) -> Self {
        Self { line, column: None }
    }

    /// A line and a column.
    pub fn at(line: usize, column: usize) -> Self {
        Self {
            line,
            column: Some(column),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.column {
            Some(c) => write!(f, "{}:{c}", self.line),
            None => write!(f, "{}", self.line),
        }
    }
}

/// One problem with a rule file or rule; the text says what, [`SigmaError::code`] says which kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SigmaError {
    /// The file or folder could not be read.
    #[error("cannot read: {0}")]
    Unreadable(String),
    /// The text is not YAML.
    #[error("YAML: {0}")]
    YamlSyntax(String),
    /// The YAML is refused before it is looked at as a rule: nested too deeply, too many
    /// nodes, an alias bomb.
    #[error("YAML: {0}")]
    YamlLimit(String),
    /// The file holds no document at all.
    #[error("no rule in file")]
    NoRule,
    /// The document is not shaped like a rule: not a mapping, a required key missing, a key
    /// of the wrong type, an unknown level.
    #[error("{0}")]
    RuleShape(String),
    /// A rule collection action (`action: global / reset / repeat`) cannot be applied.
    #[error("{0}")]
    Collection(String),
    /// The condition does not parse or names selections that do not exist.
    #[error("{0}")]
    Condition(String),
    /// A search identifier (selection) is empty or shaped wrongly.
    #[error("{0}")]
    Selection(String),
    /// An unknown modifier, or modifiers that exclude each other or do not fit the field.
    #[error("{0}")]
    Modifier(String),
    /// A value the modifiers cannot take: not a number, not a network, a bad regex.
    #[error("{0}")]
    Value(String),
    /// A correlation rule is shaped wrongly (type, rules, timespan, condition, aliases).
    #[error("{0}")]
    Correlation(String),
    /// A correlation rule names rules that are missing, invalid or form a cycle.
    #[error("{0}")]
    CorrelationReference(String),
    /// A filter rule is shaped wrongly or names no loaded rule.
    #[error("{0}")]
    Filter(String),
    /// Valid Sigma that spoor does not run (a backtracking regex, an encoding it cannot apply).
    #[error("{0}")]
    Unsupported(String),
    /// A placeholder (`expand`) with no values given.
    #[error("{0}")]
    Placeholder(String),
    /// A correlation over rules that are valid but not run (unsupported).
    #[error("{0}")]
    UnsupportedReference(String),
}

/// Why [`crate::parse_rules`] gives no detection rule for a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleParseError {
    /// The document is a correlation rule: it has no detection of its own.
    #[error("a correlation rule, not a detection")]
    Correlation,
    /// The document is a filter rule: it tunes other rules.
    #[error("a filter rule, not a detection")]
    Filter,
    /// The document (or, for YAML problems, the whole text) is not a valid rule.
    #[error("{error} (at {at})")]
    Invalid {
        /// Where the problem is.
        at: Location,
        /// What is wrong, with its stable code.
        error: SigmaError,
    },
}

impl RuleParseError {
    /// The Sigma diagnostic behind it, `None` for correlation and filter rules.
    pub fn sigma_error(&self) -> Option<&SigmaError> {
        match self {
            RuleParseError::Invalid { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Why a placeholder file (`--placeholders`) could not be read; each names the place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlaceholderError {
    /// The text is not YAML, or breaks a YAML limit.
    #[error("{}: {message}", place(at))]
    Yaml {
        /// Where the problem is.
        at: Location,
        /// What is wrong.
        message: String,
    },
    /// The document is not a mapping.
    #[error("{}: placeholders must be a mapping of name to values", place(at))]
    NotAMapping {
        /// Where the document is.
        at: Location,
    },
    /// A placeholder's name is not text.
    #[error("{}: placeholder names must be strings", place(at))]
    NameNotText {
        /// Where the name is.
        at: Location,
    },
    /// A value is a mapping (or a list holds one).
    #[error("{}: placeholder values must be scalars", place(at))]
    ValueNotScalar {
        /// Where the value is.
        at: Location,
    },
}

impl PlaceholderError {
    /// Where the problem is.
    pub fn location(&self) -> Location {
        match self {
            PlaceholderError::Yaml { at, .. }
            | PlaceholderError::NotAMapping { at }
            | PlaceholderError::NameNotText { at }
            | PlaceholderError::ValueNotScalar { at } => *at,
        }
    }
}

/// `line 3, column 5` (or `line 3`), to open a message.
fn place(at: &Location) -> String {
    match at.column {
        Some(c) => format!("line {}, column {c}", at.line),
        None => format!("line {}", at.line),
    }
}

/// Every code with a one-line meaning, in code order: the table of `docs/sigma-diagnostics.md`.
pub const CODES: &[(&str, &str)] = &[
    ("SIGMA-E001", "the file or folder cannot be read"),
    ("SIGMA-E002", "the text is not YAML"),
    (
        "SIGMA-E003",
        "YAML refused: nested too deeply, too many nodes or an alias bomb",
    ),
    ("SIGMA-E004", "the file holds no rule"),
    ("SIGMA-E005", "the document is not shaped like a rule"),
    ("SIGMA-E006", "a rule collection action cannot be applied"),
    (
        "SIGMA-E007",
        "the condition does not parse or names missing selections",
    ),
    ("SIGMA-E008", "a selection is empty or shaped wrongly"),
    (
        "SIGMA-E009",
        "an unknown modifier or modifiers that do not fit together",
    ),
    ("SIGMA-E010", "a value the modifiers cannot take"),
    ("SIGMA-E011", "a correlation rule is shaped wrongly"),
    (
        "SIGMA-E012",
        "a correlation names missing or invalid rules, or a cycle",
    ),
    (
        "SIGMA-E013",
        "a filter rule is shaped wrongly or names no loaded rule",
    ),
    ("SIGMA-U001", "valid Sigma that spoor does not run"),
    ("SIGMA-U002", "a placeholder with no values"),
    ("SIGMA-U003", "a correlation over rules that are not run"),
];

impl SigmaError {
    /// The stable code, `SIGMA-E…` for invalid rules and `SIGMA-U…` for unsupported ones.
    pub fn code(&self) -> &'static str {
        match self {
            SigmaError::Unreadable(_) => "SIGMA-E001",
            SigmaError::YamlSyntax(_) => "SIGMA-E002",
            SigmaError::YamlLimit(_) => "SIGMA-E003",
            SigmaError::NoRule => "SIGMA-E004",
            SigmaError::RuleShape(_) => "SIGMA-E005",
            SigmaError::Collection(_) => "SIGMA-E006",
            SigmaError::Condition(_) => "SIGMA-E007",
            SigmaError::Selection(_) => "SIGMA-E008",
            SigmaError::Modifier(_) => "SIGMA-E009",
            SigmaError::Value(_) => "SIGMA-E010",
            SigmaError::Correlation(_) => "SIGMA-E011",
            SigmaError::CorrelationReference(_) => "SIGMA-E012",
            SigmaError::Filter(_) => "SIGMA-E013",
            SigmaError::Unsupported(_) => "SIGMA-U001",
            SigmaError::Placeholder(_) => "SIGMA-U002",
            SigmaError::UnsupportedReference(_) => "SIGMA-U003",
        }
    }

    /// True for valid Sigma that spoor does not run; false for broken rules.
    pub fn is_unsupported(&self) -> bool {
        matches!(
            self,
            SigmaError::Unsupported(_)
                | SigmaError::Placeholder(_)
                | SigmaError::UnsupportedReference(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_listed_and_classified_by_their_letter() {
        let all = [
            SigmaError::Unreadable(String::new()),
            SigmaError::YamlSyntax(String::new()),
            SigmaError::YamlLimit(String::new()),
            SigmaError::NoRule,
            SigmaError::RuleShape(String::new()),
            SigmaError::Collection(String::new()),
            SigmaError::Condition(String::new()),
            SigmaError::Selection(String::new()),
            SigmaError::Modifier(String::new()),
            SigmaError::Value(String::new()),
            SigmaError::Correlation(String::new()),
            SigmaError::CorrelationReference(String::new()),
            SigmaError::Filter(String::new()),
            SigmaError::Unsupported(String::new()),
            SigmaError::Placeholder(String::new()),
            SigmaError::UnsupportedReference(String::new()),
        ];
        let codes: Vec<&str> = all.iter().map(SigmaError::code).collect();
        let listed: Vec<&str> = CODES.iter().map(|(c, _)| *c).collect();
        assert_eq!(codes, listed, "CODES lists every code once, in order");
        for e in &all {
            assert_eq!(e.is_unsupported(), e.code().starts_with("SIGMA-U"), "{e:?}");
        }
    }

    #[test]
    fn locations_print_the_column_only_when_known() {
        assert_eq!(Location::line(4).to_string(), "4");
        assert_eq!(Location::at(4, 7).to_string(), "4:7");
    }
}
