//! A plain reference evaluator, written from the specification and independent of the engine's
//! IR, index and pattern code: it walks the public AST ([`RuleAst`], [`SelectionAst`],
//! [`FieldSpec`], [`SigmaValue`], [`ConditionAst`]) and matches naively, with its own wildcard
//! matcher (a dynamic programme over characters), its own case folding (`char::to_lowercase`,
//! one character at a time) and its own windash, base64 and base64offset transforms. Slow and
//! simple on purpose.
//!
//! Semantics it states (and the engine must agree with):
//! - a field test looks at every occurrence of the field, arrays element-wise;
//! - case-insensitive unless `cased`; `re` is case-sensitive unless `i`, and sees the original;
//! - a plain number matches a value whose text is the number as written or in canonical form;
//! - `null` matches a missing field, a null value or an empty string;
//! - `neq`: the field is present and no value matches; `all`: every value matches;
//! - keywords match any field's text or the raw line, as substrings.

use crate::{ConditionAst, FieldSpec, Modifier, Quantifier, RuleAst, SelectionAst, SigmaValue};
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;
use spoor_event::{Event, Value};

/// Does `rule` match `ev`? (Log sources are not considered: callers give matching ones.)
pub(crate) fn rule_matches(rule: &RuleAst, ev: &Event) -> bool {
    rule.conditions.iter().any(|c| condition(c, rule, ev))
}

fn condition(c: &ConditionAst, rule: &RuleAst, ev: &Event) -> bool {
    match c {
        ConditionAst::Ident(name) => rule
            .selections
            .iter()
            .find(|(n, _)| n == name)
            .is_some_and(|(_, s)| selection(s, ev)),
        ConditionAst::And(items) => items.iter().all(|i| condition(i, rule, ev)),
        ConditionAst::Or(items) => items.iter().any(|i| condition(i, rule, ev)),
        ConditionAst::Not(inner) => !condition(inner, rule, ev),
        ConditionAst::Of(q, pattern) => {
            let members: Vec<&SelectionAst> = rule
                .selections
                .iter()
                .filter(|(n, _)| match pattern {
                    None => !n.starts_with('_'),
                    Some(p) => ident_glob(p, n),
                })
                .map(|(_, s)| s)
                .collect();
            let hits = members.iter().filter(|s| selection(s, ev)).count();
            match q {
                Quantifier::All => hits == members.len(),
                Quantifier::AtLeast(n) => hits >= *n as usize,
            }
        }
    }
}

/// `*` in an identifier pattern is any run of characters.
fn ident_glob(pattern: &str, name: &str) -> bool {
    let toks: Vec<Tok> = pattern
        .chars()
        .map(|c| if c == '*' { Tok::Star } else { Tok::Ch(c) })
        .collect();
    let text: Vec<char> = name.chars().collect();
    dp_match(&toks, &text)
}

fn selection(s: &SelectionAst, ev: &Event) -> bool {
    match s {
        SelectionAst::And(specs) => specs.iter().all(|sp| spec(sp, ev)),
        SelectionAst::Or(branches) => branches.iter().any(|b| selection(b, ev)),
    }
}

struct Mods {
    list: Vec<Modifier>,
}

impl Mods {
    fn has(&self, m: Modifier) -> bool {
        self.list.contains(&m)
    }
    fn string_transform(&self) -> bool {
        use Modifier::*;
        [
            Contains,
            StartsWith,
            EndsWith,
            Windash,
            Base64,
            Base64Offset,
        ]
        .iter()
        .any(|m| self.has(*m))
    }
}

fn spec(s: &FieldSpec, ev: &Event) -> bool {
    let mods = Mods {
        list: s.modifiers.clone(),
    };
    let Some(name) = &s.field else {
        return keyword(s, &mods, ev);
    };
    let occurrences: Vec<&Value> = ev
        .fields
        .iter()
        .filter(|(k, _)| &**k == name.as_str())
        .map(|(_, v)| v)
        .collect();
    let present = !occurrences.is_empty();
    if mods.has(Modifier::Exists) {
        let want = match s.values.first() {
            Some(SigmaValue::Bool(b)) => *b,
            Some(SigmaValue::Str(t)) => t.eq_ignore_ascii_case("true"),
            _ => return false,
        };
        return present == want;
    }
    let scalars = flatten(&occurrences);
    let one = |v: &SigmaValue| value_matches(v, &mods, &occurrences, &scalars, ev);
    if mods.has(Modifier::Neq) {
        present && !s.values.iter().any(one)
    } else if mods.has(Modifier::All) {
        s.values.iter().all(one)
    } else {
        s.values.iter().any(one)
    }
}

/// Every scalar inside the values, arrays opened at any depth (with an explicit stack).
fn flatten<'a>(values: &[&'a Value]) -> Vec<&'a Value> {
    let mut out = Vec::new();
    let mut stack: Vec<&Value> = values.iter().rev().copied().collect();
    while let Some(v) = stack.pop() {
        match v {
            Value::Array(items) => stack.extend(items.iter().rev()),
            other => out.push(other),
        }
    }
    out
}

/// Text of a scalar: numbers in decimal, booleans as words, nothing for null.
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Str(s) => Some(s.to_string()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(number_text(*f)),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) => None,
    }
}

fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

fn number_of(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn value_matches(
    v: &SigmaValue,
    mods: &Mods,
    occurrences: &[&Value],
    scalars: &[&Value],
    ev: &Event,
) -> bool {
    let cased = mods.has(Modifier::Cased);
    if let SigmaValue::Null = v {
        return occurrences.is_empty()
            || occurrences
                .iter()
                .any(|o| matches!(o, Value::Null) || matches!(o, Value::Str(s) if s.is_empty()));
    }
    let text = match v {
        SigmaValue::Str(s) => s.clone(),
        SigmaValue::Num { text, .. } => text.clone(),
        SigmaValue::Bool(b) => b.to_string(),
        SigmaValue::Null => String::new(),
    };
    let cmp = [
        (Modifier::Lt, 0u8),
        (Modifier::Lte, 1),
        (Modifier::Gt, 2),
        (Modifier::Gte, 3),
    ]
    .into_iter()
    .find(|(m, _)| mods.has(*m));
    if let Some((_, op)) = cmp {
        let Some(want) = (match v {
            SigmaValue::Num { value, .. } => Some(*value),
            _ => text.trim().parse::<f64>().ok(),
        }) else {
            return false;
        };
        return scalars
            .iter()
            .filter_map(|s| number_of(s))
            .any(|x| match op {
                0 => x < want,
                1 => x <= want,
                2 => x > want,
                _ => x >= want,
            });
    }
    if mods.has(Modifier::Re) {
        let mut flags = String::new();
        for (m, f) in [
            (Modifier::ReI, 'i'),
            (Modifier::ReM, 'm'),
            (Modifier::ReS, 's'),
        ] {
            if mods.has(m) {
                flags.push(f);
            }
        }
        let pattern = if flags.is_empty() {
            text.clone()
        } else {
            format!("(?{flags}){text}")
        };
        let Ok(re) = regex::Regex::new(&pattern) else {
            return false;
        };
        return scalars
            .iter()
            .filter_map(|s| text_of(s))
            .any(|t| re.is_match(&t));
    }
    if mods.has(Modifier::FieldRef) {
        let others: Vec<&Value> = ev
            .fields
            .iter()
            .filter(|(k, _)| **k == *text)
            .map(|(_, v)| v)
            .collect();
        let theirs: Vec<String> = flatten(&others).iter().filter_map(|s| text_of(s)).collect();
        let fold = |s: &str| {
            if cased {
                s.to_string()
            } else {
                fold_text(s)
            }
        };
        return scalars.iter().filter_map(|s| text_of(s)).any(|mine| {
            let mine = fold(&mine);
            theirs.iter().any(|t| {
                let t = fold(t);
                if mods.has(Modifier::Contains) {
                    mine.contains(&t)
                } else if mods.has(Modifier::StartsWith) {
                    mine.starts_with(&t)
                } else if mods.has(Modifier::EndsWith) {
                    mine.ends_with(&t)
                } else {
                    mine == t
                }
            })
        });
    }
    if let SigmaValue::Num { text, value } = v {
        if !mods.string_transform() && !cased {
            let written = fold_text(text);
            let canonical = number_text(*value);
            return scalars
                .iter()
                .filter_map(|s| text_of(s))
                .map(|t| fold_text(&t))
                .any(|t| t == written || t == canonical);
        }
    }
    let patterns = string_patterns(&text, mods, false);
    scalars
        .iter()
        .filter_map(|s| text_of(s))
        .any(|t| patterns.iter().any(|p| wildcard_match(p, &t, cased)))
}

/// The wildcard patterns one string value stands for after windash, base64 / base64offset and
/// the position modifiers (keywords are substrings unless told otherwise).
fn string_patterns(text: &str, mods: &Mods, keyword: bool) -> Vec<Vec<Tok>> {
    let mut variants = if mods.has(Modifier::Windash) {
        windash(text)
    } else {
        vec![text.to_string()]
    };
    if mods.has(Modifier::Base64) {
        variants = variants
            .iter()
            .map(|v| base64::engine::general_purpose::STANDARD.encode(v.as_bytes()))
            .collect();
    } else if mods.has(Modifier::Base64Offset) {
        variants = variants
            .iter()
            .flat_map(|v| base64_offsets(v.as_bytes()))
            .collect();
    }
    // Base64 text is literal; other values are wildcard patterns. The position modifiers add
    // wildcards around the parsed value: a trailing backslash in the value stays a backslash.
    let encoded = mods.has(Modifier::Base64) || mods.has(Modifier::Base64Offset);
    let around = mods.has(Modifier::Contains)
        || (keyword && !mods.has(Modifier::StartsWith) && !mods.has(Modifier::EndsWith));
    let front = around || mods.has(Modifier::EndsWith);
    let back = around || mods.has(Modifier::StartsWith);
    variants
        .into_iter()
        .map(|v| {
            let mut toks = if encoded {
                v.chars().map(Tok::Ch).collect()
            } else {
                tokens(&v)
            };
            if front {
                toks.insert(0, Tok::Star);
            }
            if back {
                toks.push(Tok::Star);
            }
            toks
        })
        .collect()
}

const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// Every way of writing the dashes of `text` with any of the five dash characters.
fn windash(text: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    for c in text.chars() {
        if DASHES.contains(&c) {
            out = out
                .iter()
                .flat_map(|prefix| DASHES.iter().map(move |d| format!("{prefix}{d}")))
                .collect();
        } else {
            out.iter_mut().for_each(|o| o.push(c));
        }
    }
    out
}

/// The stable middle of `bytes` encoded after 0, 1 and 2 leading bytes: the characters touched
/// by the unknown neighbours are dropped at both ends.
fn base64_offsets(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for lead in 0..3usize {
        let mut buf = vec![0u8; lead];
        buf.extend_from_slice(bytes);
        let enc = STANDARD_NO_PAD.encode(&buf);
        // Leading bytes fill 8*lead bits: chars wholly or partly theirs are dropped.
        let skip = (lead * 8).div_ceil(6);
        // The last char is partly padding unless the byte count is a multiple of 3.
        let keep_end = if buf.len() % 3 == 0 {
            enc.len()
        } else {
            enc.len().saturating_sub(1)
        };
        if skip < keep_end {
            out.push(enc[skip..keep_end].to_string());
        }
    }
    out
}

fn keyword(s: &FieldSpec, mods: &Mods, ev: &Event) -> bool {
    let mut texts: Vec<String> = Vec::new();
    for (_, v) in &ev.fields {
        texts.extend(flatten(&[v]).iter().filter_map(|s| text_of(s)));
    }
    if let Some(raw) = &ev.raw {
        texts.push(raw.to_string());
    }
    let cased = mods.has(Modifier::Cased);
    let one = |v: &SigmaValue| {
        let text = match v {
            SigmaValue::Str(s) => s.clone(),
            SigmaValue::Num { text, .. } => text.clone(),
            SigmaValue::Bool(b) => b.to_string(),
            SigmaValue::Null => return false,
        };
        let patterns = string_patterns(&text, mods, true);
        texts
            .iter()
            .any(|t| patterns.iter().any(|p| wildcard_match(p, t, cased)))
    };
    if mods.has(Modifier::All) {
        s.values.iter().all(one)
    } else {
        s.values.iter().any(one)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    Ch(char),
    One,
    Star,
}

/// Sigma's wildcard syntax: `*`, `?`; a backslash escapes `*`, `?` and itself, and is a plain
/// character before anything else.
fn tokens(pattern: &str) -> Vec<Tok> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if matches!(chars.get(i + 1), Some('*' | '?' | '\\')) => {
                out.push(Tok::Ch(chars[i + 1]));
                i += 2;
                continue;
            }
            '*' => out.push(Tok::Star),
            '?' => out.push(Tok::One),
            _ => out.push(Tok::Ch(c)),
        }
        i += 1;
    }
    out
}

/// Case folding, one character at a time: a character whose lower case is a single character
/// becomes it; others (`İ`, whose lower case is two characters) stay as they are, so that `?`
/// still stands for one character of the original.
fn fold_char(c: char) -> char {
    let lower: Vec<char> = c.to_lowercase().collect();
    if lower.len() == 1 {
        lower[0]
    } else {
        c
    }
}

fn fold_text(s: &str) -> String {
    s.chars().map(fold_char).collect()
}

fn wildcard_match(pattern: &[Tok], text: &str, cased: bool) -> bool {
    let chars: Vec<char> = if cased {
        text.chars().collect()
    } else {
        text.chars().map(fold_char).collect()
    };
    if cased {
        return dp_match(pattern, &chars);
    }
    let folded: Vec<Tok> = pattern
        .iter()
        .map(|t| match t {
            Tok::Ch(c) => Tok::Ch(fold_char(*c)),
            other => *other,
        })
        .collect();
    dp_match(&folded, &chars)
}

/// `reach[j]`: the first `i` tokens can produce the first `j` characters.
fn dp_match(toks: &[Tok], text: &[char]) -> bool {
    let mut reach = vec![false; text.len() + 1];
    reach[0] = true;
    for t in toks {
        let mut next = vec![false; text.len() + 1];
        for j in 0..=text.len() {
            match t {
                Tok::Star => next[j] = reach[j] || (j > 0 && next[j - 1]),
                Tok::One => next[j] = j > 0 && reach[j - 1],
                Tok::Ch(c) => next[j] = j > 0 && reach[j - 1] && text[j - 1] == *c,
            }
        }
        reach = next;
    }
    reach[text.len()]
}

#[test]
fn the_reference_itself() {
    let w = |p: &str, t: &str, cased: bool| wildcard_match(&tokens(p), t, cased);
    assert!(w("a*b?c", "AxxBzC", false));
    assert!(!w("a*b?c", "AxxBC", false));
    assert!(w(r"a\*b", "a*b", false));
    assert!(!w(r"a\*b", "axb", false));
    assert!(w(r"c:\windows\\*", r"C:\Windows\x", false));
    assert!(!w(r"c:\windows\*", r"C:\Windows\x", false));
    assert!(!w("Evil", "evil", true));
    // A value ending in a backslash, with contains: the added star is not escaped.
    let mods = Mods {
        list: vec![Modifier::Contains],
    };
    let p = string_patterns(r"\Run\", &mods, false);
    assert!(wildcard_match(&p[0], r"HKU\x\Run\u", false));
    assert_eq!(windash("-a/").len(), 25);
    assert!(ident_glob("sel*", "selection") && !ident_glob("sel*", "filter"));
    // base64 of "xhttp" is eGh0dHA; "http" at offset 1 is stable as "aHR0c" minus edges.
    let offs = base64_offsets(b"http");
    let whole = base64::engine::general_purpose::STANDARD.encode(b"xhttpx");
    assert!(
        offs.iter().any(|o| whole.contains(o.as_str())),
        "{offs:?} {whole}"
    );
}
