//! Matchers built the first time an event needs them, not when the rules load.
//!
//! A hunt with all of SigmaHQ reads a few log sources; most rules never see an event, and most
//! of the rest are ruled out by the prefilter before their matchers run. Building every regex
//! and every value-list automaton up front was most of the cost of loading the rules. Each
//! matcher here keeps what it is built from and builds itself once, on first use, shared by all
//! threads (`OnceLock`).
//!
//! Nothing a rule's load report says may depend on that: a matcher is only lazy when its build
//! cannot fail. A `|re` pattern is built once when its rule loads (a bad one is reported there)
//! and dropped, to be built again on first use. Wildcard patterns are built eagerly when they are long enough to approach the
//! regex size limit ([`GLOB_LAZY_MAX`]); a value list's automaton that cannot be built is
//! replaced by a substring search per value, which answers the same.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind};
use regex::{Regex, RegexBuilder};
use std::sync::OnceLock;

/// The regex size limit of a wildcard pattern.
pub(crate) const GLOB_SIZE_LIMIT: usize = 1 << 22;

/// Longest wildcard regex (in bytes of its text) built lazily. Its parts are escaped literal
/// characters, `.` and `.*`, each a few states of the compiled automaton: a pattern of this
/// length stays far below [`GLOB_SIZE_LIMIT`] (a test builds the worst case), so its build
/// cannot fail later. Longer ones are built when the rule loads, so a failure is reported there.
pub(crate) const GLOB_LAZY_MAX: usize = 1024;

/// A regex built on first use.
#[derive(Debug, Clone)]
pub struct LazyRegex {
    pattern: Box<str>,
    size_limit: usize,
    built: OnceLock<Option<Regex>>,
}

impl LazyRegex {
    /// A regex already built (its pattern was checked when the rule loaded).
    pub(crate) fn built(regex: Regex, size_limit: usize) -> Self {
        LazyRegex {
            pattern: regex.as_str().into(),
            size_limit,
            built: OnceLock::from(Some(regex)),
        }
    }

    /// A regex built on first use; the caller has made sure its build cannot fail.
    pub(crate) fn deferred(pattern: String, size_limit: usize) -> Self {
        LazyRegex {
            pattern: pattern.into(),
            size_limit,
            built: OnceLock::new(),
        }
    }

    /// The pattern's text (with its inline flags), as written for the regex engine.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Whether the regex matches somewhere in `text`. A build that fails (which the load-time
    /// checks rule out) matches nothing.
    pub fn is_match(&self, text: &str) -> bool {
        self.regex().is_some_and(|r| r.is_match(text))
    }

    /// Whether it is built yet (for tests of the laziness).
    pub fn is_built(&self) -> bool {
        self.built.get().is_some()
    }

    fn regex(&self) -> Option<&Regex> {
        self.built
            .get_or_init(|| build_regex(&self.pattern, self.size_limit).ok())
            .as_ref()
    }
}

/// Builds a regex the way rules compile them (a size limit, the default syntax).
pub(crate) fn build_regex(pattern: &str, size_limit: usize) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern).size_limit(size_limit).build()
}

/// One automaton over the `contains` literals of a long value list (folded, case-insensitive
/// values), built on first use.
#[derive(Debug, Clone, Default)]
pub struct LazyLiterals {
    literals: Vec<String>,
    built: OnceLock<Option<AhoCorasick>>,
}

impl LazyLiterals {
    /// The automaton to be of `literals`.
    pub(crate) fn new(literals: Vec<String>) -> Self {
        LazyLiterals {
            literals,
            built: OnceLock::new(),
        }
    }

    /// The literals.
    pub fn literals(&self) -> &[String] {
        &self.literals
    }

    /// Whether `text` holds one of the literals. Without an automaton (none could be built),
    /// each literal is searched for in turn: the same answer, slower.
    pub fn is_match(&self, text: &str) -> bool {
        if self.literals.is_empty() {
            return false;
        }
        match self.automaton() {
            Some(ac) => ac.is_match(text),
            None => self
                .literals
                .iter()
                .any(|l| memchr::memmem::find(text.as_bytes(), l.as_bytes()).is_some()),
        }
    }

    /// Whether it is built yet (for tests of the laziness).
    pub fn is_built(&self) -> bool {
        self.built.get().is_some()
    }

    fn automaton(&self) -> Option<&AhoCorasick> {
        self.built
            .get_or_init(|| {
                // A contiguous NFA: these lists are short, and a DFA's build time buys nothing
                // measurable per event.
                AhoCorasickBuilder::new()
                    .kind(Some(AhoCorasickKind::ContiguousNFA))
                    .build(&self.literals)
                    .ok()
            })
            .as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_lazy_wildcard_pattern_builds_within_the_limit() {
        // The parts of a wildcard regex that cost most per byte of text: `.` (any character,
        // a UTF-8 automaton of its own) and a non-ASCII literal; `.*` between them.
        for unit in [".", ".*", "\u{10FFFF}", "\u{00E9}.", "a"] {
            let mut p = String::from("(?s)^");
            while p.len() + unit.len() < GLOB_LAZY_MAX {
                p.push_str(unit);
            }
            p.push('$');
            assert!(p.len() <= GLOB_LAZY_MAX);
            // A quarter of the limit: the bound holds with room to spare.
            let built = build_regex(&p, GLOB_SIZE_LIMIT / 4);
            assert!(built.is_ok(), "{unit:?}: {built:?}");
        }
    }

    #[test]
    fn a_deferred_regex_builds_once_on_first_match() {
        let r = LazyRegex::deferred("(?s)^a.*b$".into(), GLOB_SIZE_LIMIT);
        assert!(!r.is_built());
        assert_eq!(r.as_str(), "(?s)^a.*b$");
        assert!(r.is_match("axxb"));
        assert!(r.is_built());
        assert!(!r.is_match("axxc"));
        let clone = r.clone();
        assert!(clone.is_built() && clone.is_match("ab"));
    }

    #[test]
    fn literals_match_with_and_without_an_automaton() {
        let l = LazyLiterals::new(vec!["mimi".into(), "sekurlsa".into(), "lsass".into()]);
        assert!(!l.is_built());
        assert!(l.is_match("invoke sekurlsa::x"));
        assert!(l.is_built());
        assert!(!l.is_match("benign"));
        // The fallback search answers as the automaton does.
        let none = LazyLiterals {
            literals: l.literals().to_vec(),
            built: OnceLock::from(None),
        };
        for text in ["invoke sekurlsa::x", "benign", "lsas", "xmimix"] {
            assert_eq!(none.is_match(text), l.is_match(text), "{text}");
        }
        assert!(!LazyLiterals::default().is_match("anything"));
    }
}
