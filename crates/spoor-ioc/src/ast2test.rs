//! Turns a parsed observation (`[...]`) into a test over event fields: object paths become
//! mapping slots, constants are normalised for the slot's kind, LIKE and MATCHES become linear-time
//! regexes. Whatever cannot run is collected as a reason, so the indicator is reported, not dropped.

use crate::mapping::{Mapping, SlotId, ValueKind};
use crate::net::{self, Net};
use crate::pattern::{CompOp, CompareExpr, Comparison, Literal};
use chrono::{DateTime, Utc};
use regex::{Regex, RegexBuilder};
use std::borrow::Cow;

/// Largest compiled regex accepted from a pattern (bytes of automaton).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A compiled observation.
#[derive(Debug, Clone)]
pub(crate) enum Test {
    /// All hold.
    And(Vec<Test>),
    /// Any holds.
    Or(Vec<Test>),
    /// One comparison.
    Leaf(Leaf),
}

/// A compiled comparison.
#[derive(Debug, Clone)]
pub(crate) struct Leaf {
    /// Which event values it reads.
    pub(crate) slot: SlotId,
    /// How they compare.
    pub(crate) kind: ValueKind,
    /// `NOT`.
    pub(crate) negated: bool,
    /// What it checks.
    pub(crate) op: Op,
}

/// Ordering operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A compiled operator with its constant.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    /// `=`
    Eq(Operand),
    /// `!=`
    Ne(Operand),
    /// `<`, `<=`, `>`, `>=`
    Cmp(Order, Operand),
    /// `IN`
    In(Vec<Operand>),
    /// `LIKE` or `MATCHES`
    Regex(Regex),
    /// `ISSUBSET`
    Subset(Net),
    /// `ISSUPERSET`
    Superset(Net),
    /// `EXISTS`
    Exists,
}

/// A constant, normalised for the slot's kind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    /// Text, already normalised (see [`normalize`]).
    Text(String),
    /// A number.
    Num(f64),
    /// An address or network.
    Net(Net),
    /// A boolean.
    Bool(bool),
    /// A time.
    Time(DateTime<Utc>),
    /// Bytes (`b'..'`, `h'..'`), compared with the value's UTF-8 bytes.
    Bytes(Vec<u8>),
}

/// Key under which a test can be found in the index: a value that must be present for it to hold.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Key {
    /// Normalised text.
    Text(String),
    /// Address or network (matches every address inside).
    Net(Net),
}

/// Normalises text of a kind: domains lose case, a trailing dot and a `:port`; other caseless
/// kinds lose case.
pub(crate) fn normalize(kind: ValueKind, text: &str) -> Cow<'_, str> {
    let text = text.trim();
    match kind {
        ValueKind::Domain => {
            let t = text.trim_end_matches('.');
            let t = match t.rsplit_once(':') {
                Some((host, port))
                    if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    host
                }
                _ => t,
            };
            lower(t)
        }
        k if k.caseless() => lower(text),
        _ => Cow::Borrowed(text),
    }
}

fn lower(t: &str) -> Cow<'_, str> {
    if t.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(t.to_ascii_lowercase())
    } else {
        Cow::Borrowed(t)
    }
}

/// Compiles one observation; on failure, the reasons (unsupported paths, bad regexes, ...).
pub(crate) fn compile(expr: &CompareExpr, mapping: &Mapping) -> Result<Test, Vec<String>> {
    let mut problems = Vec::new();
    let test = compile_expr(expr, mapping, &mut problems);
    match test {
        Some(t) if problems.is_empty() => Ok(t),
        _ => Err(problems),
    }
}

fn compile_expr(expr: &CompareExpr, mapping: &Mapping, problems: &mut Vec<String>) -> Option<Test> {
    match expr {
        CompareExpr::And(items) | CompareExpr::Or(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                if let Some(t) = compile_expr(item, mapping, problems) {
                    out.push(t);
                }
            }
            if out.len() != items.len() {
                return None;
            }
            Some(if matches!(expr, CompareExpr::And(_)) {
                Test::And(out)
            } else {
                Test::Or(out)
            })
        }
        CompareExpr::Test(c) => compile_leaf(c, mapping)
            .map_err(|p| {
                if !problems.contains(&p) {
                    problems.push(p);
                }
            })
            .ok()
            .map(Test::Leaf),
    }
}

fn compile_leaf(c: &Comparison, mapping: &Mapping) -> Result<Leaf, String> {
    let path = c.path.canonical();
    let slot_id = mapping
        .slot(&path)
        .ok_or_else(|| format!("object path '{path}' is not mapped to any event field"))?;
    let kind = mapping
        .get(slot_id)
        .map(|s| s.kind)
        .ok_or_else(|| format!("object path '{path}' has no slot"))?;
    let op = match c.op {
        CompOp::Eq => Op::Eq(operand(kind, &c.literal, &path)?),
        CompOp::Ne => Op::Ne(operand(kind, &c.literal, &path)?),
        CompOp::Lt | CompOp::Le | CompOp::Gt | CompOp::Ge => {
            let o = operand(kind, &c.literal, &path)?;
            if matches!(o, Operand::Net(_)) {
                return Err(format!(
                    "ordering comparison on addresses ('{path}') is not defined"
                ));
            }
            let order = match c.op {
                CompOp::Lt => Order::Lt,
                CompOp::Le => Order::Le,
                CompOp::Gt => Order::Gt,
                _ => Order::Ge,
            };
            Op::Cmp(order, o)
        }
        CompOp::In => {
            let Literal::Set(items) = &c.literal else {
                return Err("IN needs a set".into());
            };
            Op::In(
                items
                    .iter()
                    .map(|l| operand(kind, l, &path))
                    .collect::<Result<_, _>>()?,
            )
        }
        CompOp::Like => {
            let Literal::Str(s) = &c.literal else {
                return Err("LIKE needs a string".into());
            };
            Op::Regex(build_regex(&like_to_regex(s), kind.caseless())?)
        }
        CompOp::Matches => {
            let Literal::Str(s) = &c.literal else {
                return Err("MATCHES needs a string".into());
            };
            Op::Regex(build_regex(s, false)?)
        }
        CompOp::IsSubset | CompOp::IsSuperset => {
            let Literal::Str(s) = &c.literal else {
                return Err("ISSUBSET/ISSUPERSET need a string".into());
            };
            if kind != ValueKind::Ip {
                return Err(format!(
                    "ISSUBSET/ISSUPERSET on '{path}', which is not an address"
                ));
            }
            let net = net::parse_strict(s)
                .ok_or_else(|| format!("'{s}' is not an address or network"))?;
            if c.op == CompOp::IsSubset {
                Op::Subset(net)
            } else {
                Op::Superset(net)
            }
        }
        CompOp::Exists => Op::Exists,
    };
    Ok(Leaf {
        slot: slot_id,
        kind,
        negated: c.negated,
        op,
    })
}

fn operand(kind: ValueKind, lit: &Literal, path: &str) -> Result<Operand, String> {
    Ok(match lit {
        Literal::Str(s) => match kind {
            ValueKind::Ip => Operand::Net(
                net::parse_strict(s).ok_or_else(|| format!("'{s}' is not an address ({path})"))?,
            ),
            ValueKind::Number => match s.trim().parse::<f64>() {
                Ok(n) => Operand::Num(n),
                Err(_) => Operand::Text(s.clone()),
            },
            _ => Operand::Text(normalize(kind, s).into_owned()),
        },
        Literal::Int(i) => Operand::Num(*i as f64),
        Literal::Float(f) => Operand::Num(*f),
        Literal::Bool(b) => Operand::Bool(*b),
        Literal::Time(t) => Operand::Time(*t),
        Literal::Bytes(b) => Operand::Bytes(b.clone()),
        Literal::Set(_) | Literal::None => return Err("a set is only allowed after IN".into()),
    })
}

/// LIKE: `%` any run, `_` one character, everything else literal; whole value.
fn like_to_regex(like: &str) -> String {
    let mut out = String::from("^");
    for ch in like.chars() {
        match ch {
            '%' => out.push_str("(?s:.*)"),
            '_' => out.push_str("(?s:.)"),
            c => out.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
        }
    }
    out.push('$');
    out
}

fn build_regex(pattern: &str, caseless: bool) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .case_insensitive(caseless)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| format!("regex '{pattern}' is not supported by the linear-time engine: {e}"))
}

/// Values that must be present for the test to hold, when the test is simple enough to know:
/// equality, IN and ISSUBSET (not negated); the keys of one conjunct of an AND; the keys of every
/// branch of an OR. `None` means the test must be tried on every event.
pub(crate) fn index_keys(test: &Test) -> Option<Vec<(SlotId, Key)>> {
    match test {
        Test::Leaf(leaf) if !leaf.negated => {
            let key = |o: &Operand| match (leaf.kind, o) {
                (ValueKind::Ip, Operand::Net(n)) => Some(Key::Net(*n)),
                (ValueKind::Number, Operand::Num(n)) if n.fract() == 0.0 && n.abs() < 1e15 => {
                    Some(Key::Text(format!("{}", *n as i64)))
                }
                (ValueKind::Number, _) => None,
                (_, Operand::Text(t)) => Some(Key::Text(t.clone())),
                _ => None,
            };
            match &leaf.op {
                Op::Eq(o) => Some(vec![(leaf.slot, key(o)?)]),
                Op::In(items) => items
                    .iter()
                    .map(|o| key(o).map(|k| (leaf.slot, k)))
                    .collect(),
                Op::Subset(n) if leaf.kind == ValueKind::Ip => {
                    Some(vec![(leaf.slot, Key::Net(*n))])
                }
                _ => None,
            }
        }
        Test::Leaf(_) => None,
        Test::And(items) => items.iter().find_map(index_keys),
        Test::Or(items) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(index_keys(item)?);
            }
            Some(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::parse;

    fn compiled(p: &str) -> Result<Test, Vec<String>> {
        let m = Mapping::builtin().unwrap();
        let pat = parse(p).unwrap();
        compile(&pat.observations[0], &m)
    }

    #[test]
    fn unsupported_paths_are_named() {
        let e = compiled("[email-message:body_multipart[*].body_raw_ref.name MATCHES '^x']")
            .unwrap_err();
        assert!(
            e[0].contains("email-message:body_multipart[*].body_raw_ref.name"),
            "{e:?}"
        );
        let e = compiled("[file:name = 'a' AND x-custom:thing = 1]").unwrap_err();
        assert_eq!(e.len(), 1);
        assert!(e[0].contains("x-custom:thing"));
    }

    #[test]
    fn bad_constants_and_regexes_are_reasons() {
        assert!(
            compiled("[ipv4-addr:value = 'not-an-ip']").unwrap_err()[0].contains("not an address")
        );
        assert!(compiled("[file:name MATCHES '(a)\\\\1']").unwrap_err()[0].contains("linear-time"));
        assert!(
            compiled("[file:name ISSUBSET '10.0.0.0/8']").unwrap_err()[0]
                .contains("not an address")
        );
        assert!(compiled("[ipv4-addr:value > '10.0.0.1']").unwrap_err()[0].contains("ordering"));
    }

    #[test]
    fn keys_for_the_index() {
        let t = compiled(
            "[domain-name:value = 'Example.COM.' OR domain-name:value IN ('a.net', 'b.net')]",
        )
        .unwrap();
        let keys = index_keys(&t).unwrap();
        let texts: Vec<_> = keys.iter().map(|(_, k)| k.clone()).collect();
        assert_eq!(
            texts,
            vec![
                Key::Text("example.com".into()),
                Key::Text("a.net".into()),
                Key::Text("b.net".into())
            ]
        );
        let t = compiled("[file:name LIKE 'a%' AND file:hashes.MD5 = 'AB']").unwrap();
        assert_eq!(index_keys(&t).unwrap()[0].1, Key::Text("ab".into()));
        let t = compiled("[file:name LIKE 'a%' OR file:hashes.MD5 = 'AB']").unwrap();
        assert!(index_keys(&t).is_none());
        let t = compiled("[ipv4-addr:value ISSUBSET '10.0.0.0/8']").unwrap();
        assert!(matches!(
            index_keys(&t).unwrap()[0].1,
            Key::Net(Net::V4(_, 8))
        ));
        let t = compiled("[network-traffic:dst_port = 443]").unwrap();
        assert_eq!(index_keys(&t).unwrap()[0].1, Key::Text("443".into()));
        let t = compiled("[file:name NOT = 'a']").unwrap();
        assert!(index_keys(&t).is_none());
    }

    #[test]
    fn like_translation_is_literal_apart_from_wildcards() {
        let r = build_regex(&like_to_regex("C:\\\\Win_ows\\\\%.exe"), true).unwrap();
        assert!(r.is_match("c:\\\\windows\\\\a\\b.EXE"));
        assert!(!r.is_match("C:\\\\Windows\\\\a.exe.bak"));
        let r = build_regex(&like_to_regex("a.c"), false).unwrap();
        assert!(!r.is_match("abc"));
    }
}
