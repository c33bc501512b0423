//! Search: which events hold a string. Every query is compiled to the `regex` crate's
//! finite-automaton regexes, whose matching time is linear in the text whatever the pattern
//! (no backtracking, no look-around), so a hostile pattern or log line cannot stall a search.

use regex::{Regex, RegexBuilder};
use spoor_event::{Event, Value};
use std::fmt;

/// Compiled-program size limit of one regex (10 MiB, the crate's own default made explicit).
const REGEX_SIZE_LIMIT: usize = 10 << 20;
/// Most hits reported per event (the rest are counted in the event, not listed).
const MAX_HITS: usize = 8;

/// What to look for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// A regular expression (the `regex` crate's syntax) over every field's value and the raw line.
    Regex(String),
    /// Words found as substrings of any field's value or of the raw line; `all` asks for every
    /// word (in any field each), else any one.
    Keywords {
        /// The words.
        words: Vec<String>,
        /// Every word must appear.
        all: bool,
    },
    /// A field whose whole value equals `value`; `*` in `value` stands for any text.
    Field {
        /// Field name (compared ignoring ASCII case).
        name: String,
        /// The value, `*` a wildcard.
        value: String,
    },
}

/// A query that cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchError(pub String);

impl fmt::Display for SearchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SearchError {}

/// Where a query matched: a field name (`raw` for the original line) and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The field, or `raw`.
    pub field: String,
    /// The field's whole value.
    pub value: String,
}

#[derive(Debug)]
enum Compiled {
    Any(Vec<Regex>),
    All(Vec<Regex>),
    Field(String, Regex),
}

/// A compiled query; immutable and shared by the reading threads.
#[derive(Debug)]
pub struct Searcher {
    compiled: Compiled,
}

fn build(pattern: &str, ignore_case: bool) -> Result<Regex, SearchError> {
    RegexBuilder::new(pattern)
        .case_insensitive(ignore_case)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| SearchError(format!("bad pattern: {e}")))
}

/// `*` as any text, the rest literal, anchored.
fn wildcard(value: &str) -> String {
    let parts: Vec<String> = value.split('*').map(regex::escape).collect();
    format!("(?s)^{}$", parts.join(".*"))
}

impl Searcher {
    /// Compiles `query`; `ignore_case` folds case on both sides (Unicode simple case folding).
    pub fn new(query: &Query, ignore_case: bool) -> Result<Searcher, SearchError> {
        let compiled = match query {
            Query::Regex(p) => {
                if p.is_empty() {
                    return Err(SearchError("empty pattern".into()));
                }
                Compiled::Any(vec![build(p, ignore_case)?])
            }
            Query::Keywords { words, all } => {
                let words: Vec<&String> = words.iter().filter(|w| !w.is_empty()).collect();
                if words.is_empty() {
                    return Err(SearchError("no keyword given".into()));
                }
                let res = words
                    .iter()
                    .map(|w| build(&regex::escape(w), ignore_case))
                    .collect::<Result<Vec<_>, _>>()?;
                if *all {
                    Compiled::All(res)
                } else {
                    Compiled::Any(res)
                }
            }
            Query::Field { name, value } => {
                if name.is_empty() {
                    return Err(SearchError("field search needs FIELD=VALUE".into()));
                }
                Compiled::Field(name.clone(), build(&wildcard(value), ignore_case)?)
            }
        };
        Ok(Searcher { compiled })
    }

    /// The places `ev` matches (at most a few), or an empty list when it does not.
    pub fn find(&self, ev: &Event) -> Vec<Hit> {
        let mut hits = Vec::new();
        match &self.compiled {
            Compiled::Any(res) => {
                for_each_text(ev, &mut |field, text| {
                    if res.iter().any(|r| r.is_match(text)) {
                        push_hit(&mut hits, field, text);
                    }
                });
            }
            Compiled::All(res) => {
                let mut seen = vec![false; res.len()];
                for_each_text(ev, &mut |field, text| {
                    let mut any = false;
                    for (i, r) in res.iter().enumerate() {
                        if r.is_match(text) {
                            seen[i] = true;
                            any = true;
                        }
                    }
                    if any {
                        push_hit(&mut hits, field, text);
                    }
                });
                if !seen.iter().all(|s| *s) {
                    hits.clear();
                }
            }
            Compiled::Field(name, re) => {
                for (k, v) in &ev.fields {
                    if k.eq_ignore_ascii_case(name) {
                        for_each_scalar(v, &mut |text| {
                            if re.is_match(text) {
                                push_hit(&mut hits, k, text);
                            }
                        });
                    }
                }
            }
        }
        hits
    }
}

fn push_hit(hits: &mut Vec<Hit>, field: &str, text: &str) {
    if hits.len() < MAX_HITS && !hits.iter().any(|h| h.field == field && h.value == text) {
        hits.push(Hit {
            field: field.to_string(),
            value: text.to_string(),
        });
    }
}

fn for_each_scalar(v: &Value, f: &mut dyn FnMut(&str)) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| for_each_scalar(i, f)),
        other => {
            if let Some(t) = other.as_text() {
                f(&t);
            }
        }
    }
}

/// Every field's text, then the raw line (when the source has one).
fn for_each_text(ev: &Event, f: &mut dyn FnMut(&str, &str)) {
    for (k, v) in &ev.fields {
        for_each_scalar(v, &mut |t| f(k, t));
    }
    if let Some(raw) = ev.raw.as_deref() {
        f("raw", raw);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spoor_event::Position;

    fn ev() -> Event {
        let mut e = Event::new("a.log", Position::Line(3))
            .with("user.name", "Admin")
            .with("EventID", Value::Int(4625))
            .with("tags", Value::Array(vec!["x".into(), "evil.exe".into()]));
        e.raw = Some("sshd: Failed password for Admin from 203.0.113.5".into());
        e
    }

    #[test]
    fn regex_matches_fields_and_raw_with_case_options() {
        let s = Searcher::new(&Query::Regex("admin".into()), true).unwrap();
        let hits = s.find(&ev());
        assert_eq!(hits.len(), 2);
        assert_eq!(hits[0].field, "user.name");
        assert_eq!(hits[1].field, "raw");
        let s = Searcher::new(&Query::Regex("admin".into()), false).unwrap();
        assert!(s.find(&ev()).is_empty());
        let s = Searcher::new(&Query::Regex(r"203\.0\.113\.\d+$".into()), false).unwrap();
        assert_eq!(s.find(&ev()).len(), 1);
    }

    #[test]
    fn keywords_any_and_all() {
        let any = Query::Keywords {
            words: vec!["evil.exe".into(), "nothing-here".into()],
            all: false,
        };
        let hits = Searcher::new(&any, true).unwrap().find(&ev());
        assert_eq!(
            hits,
            vec![Hit {
                field: "tags".into(),
                value: "evil.exe".into()
            }]
        );
        let all = Query::Keywords {
            words: vec!["evil.exe".into(), "nothing-here".into()],
            all: true,
        };
        assert!(Searcher::new(&all, true).unwrap().find(&ev()).is_empty());
        // Keywords are literal: regex syntax has no meaning.
        let dot = Query::Keywords {
            words: vec!["evil.ex.".into()],
            all: false,
        };
        assert!(Searcher::new(&dot, true).unwrap().find(&ev()).is_empty());
    }

    #[test]
    fn field_value_is_whole_with_wildcards() {
        let q = |name: &str, value: &str| Query::Field {
            name: name.into(),
            value: value.into(),
        };
        assert_eq!(
            Searcher::new(&q("eventid", "4625"), true)
                .unwrap()
                .find(&ev())
                .len(),
            1
        );
        assert!(Searcher::new(&q("EventID", "462"), true)
            .unwrap()
            .find(&ev())
            .is_empty());
        assert_eq!(
            Searcher::new(&q("user.name", "ad*"), true)
                .unwrap()
                .find(&ev())
                .len(),
            1
        );
        assert!(Searcher::new(&q("user.name", "ad*"), false)
            .unwrap()
            .find(&ev())
            .is_empty());
        // A literal regex metacharacter in the value is not special.
        assert!(Searcher::new(&q("user.name", "A.min"), true)
            .unwrap()
            .find(&ev())
            .is_empty());
    }

    #[test]
    fn bad_and_empty_queries_are_errors_not_panics() {
        assert!(Searcher::new(&Query::Regex("(".into()), true).is_err());
        assert!(Searcher::new(&Query::Regex(String::new()), true).is_err());
        // Look-around and back-references need backtracking: refused.
        assert!(Searcher::new(&Query::Regex("(a)\\1".into()), true).is_err());
        assert!(Searcher::new(&Query::Regex("a(?=b)".into()), true).is_err());
        let none = Query::Keywords {
            words: vec![String::new()],
            all: false,
        };
        assert!(Searcher::new(&none, true).is_err());
    }

    #[test]
    fn pathological_pattern_is_linear() {
        // (a*)*b against a long run of a's is exponential for a backtracking engine.
        let s = Searcher::new(&Query::Regex("(a*)*b".into()), false).unwrap();
        let mut e = Event::new("x", Position::Line(1));
        e.raw = Some("a".repeat(100_000).into());
        let t = std::time::Instant::now();
        assert!(s.find(&e).is_empty());
        assert!(t.elapsed().as_secs() < 5);
    }
}
