//! Rule AST -> compiled rule: modifiers applied to values, field names interned, the condition
//! resolved against the selections. Problems come out as `unsupported` (valid Sigma that spoor
//! cannot run, such as a placeholder with no values) or `invalid` (broken rules).

use crate::ast::{ConditionAst, FieldSpec, Quantifier, RuleAst, SelectionAst, SigmaValue};
use crate::condition::ident_matches;
use crate::ir::{
    AnyFast, Check, CmpOp, CompiledRule, Cond, FieldId, Mode, RefHow, Sel, Target, Test, TestKind,
    TimePart,
};
use crate::lazy::{build_regex, LazyLiterals, LazyRegex};
use crate::logsource::RuleLogSource;
use crate::modifier::Modifier;
use crate::pattern::{
    base64_offsets, base64_plain, encode_text, escape_wildcards, fold, parse_wildcards,
    windash_variants, Piece, StrMatch, StrPattern, TextEncoding,
};
use crate::{Location, SigmaError};
use rustc_hash::FxHashMap;
use spoor_event::{attack_from_tags, RuleKind, RuleLevel, RuleMeta};
use std::collections::HashMap;
use std::sync::Arc;

/// Why a rule did not compile, and where the YAML node at fault is when it is known (a
/// modifier at its key, a value at the value; otherwise the rule's own line is reported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    /// The place of the problem.
    pub at: Option<Location>,
    /// What is wrong (its kind says whether the rule is unsupported or invalid).
    pub error: SigmaError,
}

impl CompileError {
    fn at(at: Location, error: SigmaError) -> Self {
        Self {
            at: Some(at),
            error,
        }
    }

    fn anywhere(error: SigmaError) -> Self {
        Self { at: None, error }
    }
}

/// Interns field names to dense ids.
#[derive(Debug, Default)]
pub struct FieldTable {
    /// Names by id.
    pub names: Vec<Arc<str>>,
    /// Ids by name.
    pub ids: FxHashMap<Arc<str>, FieldId>,
}

impl FieldTable {
    /// The id of `name`, adding it if new.
    pub fn intern(&mut self, name: &str) -> FieldId {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as FieldId;
        let name: Arc<str> = Arc::from(name);
        self.names.push(name.clone());
        self.ids.insert(name, id);
        id
    }
}

/// The regex size limit of a `re` value.
const RE_SIZE_LIMIT: usize = 1 << 24;

/// Values for `expand` placeholders (`%Servers%` -> list), from the user's file.
pub type Placeholders = HashMap<String, Vec<String>>;

struct Ctx<'a> {
    fields: &'a mut FieldTable,
    placeholders: &'a Placeholders,
}

/// Compiles a parsed rule.
pub fn compile_rule(
    ast: &RuleAst,
    origin: &str,
    fields: &mut FieldTable,
    placeholders: &Placeholders,
) -> Result<CompiledRule, CompileError> {
    let mut ctx = Ctx {
        fields,
        placeholders,
    };
    let mut sels = Vec::with_capacity(ast.selections.len());
    for (_, sel) in &ast.selections {
        sels.push(compile_selection(sel, &mut ctx)?);
    }
    let names: Vec<&str> = ast.selections.iter().map(|(n, _)| n.as_str()).collect();
    let conds = ast
        .conditions
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let at = ast
                .condition_at
                .get(i)
                .copied()
                .unwrap_or(Location::line(ast.line));
            compile_cond(c, &names, at)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let cond = if conds.len() == 1 {
        conds.into_iter().next().unwrap_or(Cond::Or(Vec::new()))
    } else {
        Cond::Or(conds)
    };
    let level = ast
        .level
        .as_deref()
        .and_then(|l| l.parse::<RuleLevel>().ok())
        .unwrap_or_default();
    let mut meta = RuleMeta::new(
        ast.id.clone().unwrap_or_default(),
        ast.title.clone(),
        level,
        RuleKind::Sigma,
    );
    meta.description = ast.description.clone();
    meta.attack = attack_from_tags(ast.tags.iter().map(String::as_str));
    meta.tags = ast.tags.clone();
    meta.path = Some(origin.to_string());
    let ls = |s: &Option<String>| s.as_deref().map(Arc::from);
    Ok(CompiledRule {
        meta: Arc::new(meta),
        logsource: RuleLogSource {
            product: ls(&ast.logsource.product),
            category: ls(&ast.logsource.category),
            service: ls(&ast.logsource.service),
        },
        cond,
        sels,
        sel_names: ast.selections.iter().map(|(n, _)| n.clone()).collect(),
    })
}

fn compile_cond(c: &ConditionAst, names: &[&str], at: Location) -> Result<Cond, CompileError> {
    Ok(match c {
        ConditionAst::Ident(name) => {
            let i = names.iter().position(|n| n == name).ok_or_else(|| {
                CompileError::at(
                    at,
                    SigmaError::Condition(format!("condition names missing selection '{name}'")),
                )
            })?;
            Cond::Sel(i as u32)
        }
        ConditionAst::And(items) => Cond::And(
            items
                .iter()
                .map(|i| compile_cond(i, names, at))
                .collect::<Result<_, _>>()?,
        ),
        ConditionAst::Or(items) => Cond::Or(
            items
                .iter()
                .map(|i| compile_cond(i, names, at))
                .collect::<Result<_, _>>()?,
        ),
        ConditionAst::Not(inner) => Cond::Not(Box::new(compile_cond(inner, names, at)?)),
        ConditionAst::Of(q, pattern) => {
            let members: Vec<Cond> = names
                .iter()
                .enumerate()
                .filter(|(_, n)| match pattern {
                    None => !n.starts_with('_'),
                    Some(p) => ident_matches(p, n),
                })
                .map(|(i, _)| Cond::Sel(i as u32))
                .collect();
            if members.is_empty() {
                let what = pattern.as_deref().unwrap_or("them");
                return Err(CompileError::at(
                    at,
                    SigmaError::Condition(format!("condition 'of {what}' matches no selection")),
                ));
            }
            match q {
                Quantifier::All => Cond::And(members),
                Quantifier::AtLeast(0) => {
                    return Err(CompileError::at(
                        at,
                        SigmaError::Condition("'0 of' is meaningless".into()),
                    ))
                }
                Quantifier::AtLeast(1) => Cond::Or(members),
                Quantifier::AtLeast(n) => Cond::AtLeast(*n, members),
            }
        }
    })
}

fn compile_selection(sel: &SelectionAst, ctx: &mut Ctx) -> Result<Sel, CompileError> {
    Ok(match sel {
        SelectionAst::And(specs) => Sel::And(
            specs
                .iter()
                .map(|s| compile_spec(s, ctx))
                .collect::<Result<_, _>>()?,
        ),
        SelectionAst::Or(branches) => Sel::Or(
            branches
                .iter()
                .map(|b| compile_selection(b, ctx))
                .collect::<Result<_, _>>()?,
        ),
    })
}

#[derive(Default)]
struct Flags {
    contains: bool,
    starts: bool,
    ends: bool,
    all: bool,
    exists: bool,
    cased: bool,
    neq: bool,
    windash: bool,
    re: bool,
    re_i: bool,
    re_m: bool,
    re_s: bool,
    base64: bool,
    base64offset: bool,
    encoding: Option<TextEncoding>,
    cmp: Option<CmpOp>,
    cidr: bool,
    expand: bool,
    fieldref: bool,
    time: Option<TimePart>,
}

fn flags_of(spec: &FieldSpec) -> Result<Flags, CompileError> {
    let mut f = Flags::default();
    let bad = |m: &str| CompileError::at(spec.at, SigmaError::Modifier(m.to_string()));
    for m in &spec.modifiers {
        use Modifier::*;
        match m {
            Contains => f.contains = true,
            StartsWith => f.starts = true,
            EndsWith => f.ends = true,
            All => f.all = true,
            Exists => f.exists = true,
            Cased => f.cased = true,
            Neq => f.neq = true,
            Windash => f.windash = true,
            Re => f.re = true,
            ReI => f.re_i = true,
            ReM => f.re_m = true,
            ReS => f.re_s = true,
            Base64 => f.base64 = true,
            Base64Offset => f.base64offset = true,
            Utf16Le | Wide => f.encoding = Some(TextEncoding::Utf16Le),
            Utf16Be => f.encoding = Some(TextEncoding::Utf16Be),
            Utf16 => f.encoding = Some(TextEncoding::Utf16Bom),
            Lt => f.cmp = Some(CmpOp::Lt),
            Lte => f.cmp = Some(CmpOp::Lte),
            Gt => f.cmp = Some(CmpOp::Gt),
            Gte => f.cmp = Some(CmpOp::Gte),
            Cidr => f.cidr = true,
            Expand => f.expand = true,
            FieldRef => f.fieldref = true,
            Minute => f.time = Some(TimePart::Minute),
            Hour => f.time = Some(TimePart::Hour),
            Day => f.time = Some(TimePart::Day),
            Week => f.time = Some(TimePart::Week),
            Month => f.time = Some(TimePart::Month),
            Year => f.time = Some(TimePart::Year),
        }
    }
    let position = [f.contains, f.starts, f.ends]
        .iter()
        .filter(|&&b| b)
        .count();
    if position > 1 {
        return Err(bad("contains, startswith and endswith exclude each other"));
    }
    let kinds = [
        f.re,
        f.cidr,
        f.cmp.is_some() && f.time.is_none(),
        f.fieldref,
        f.exists,
    ]
    .iter()
    .filter(|&&b| b)
    .count();
    if kinds > 1 {
        return Err(bad(
            "conflicting modifiers (re, cidr, lt/gt, fieldref, exists)",
        ));
    }
    let string_mods =
        position > 0 || f.windash || f.base64 || f.base64offset || f.encoding.is_some();
    if (f.re || f.cidr || f.cmp.is_some() || f.time.is_some() || f.exists) && string_mods {
        return Err(bad(
            "string modifiers cannot combine with re, cidr, lt/gt, time or exists",
        ));
    }
    if f.base64 && f.base64offset {
        return Err(bad("base64 and base64offset exclude each other"));
    }
    if f.encoding.is_some() && !(f.base64 || f.base64offset) {
        return Err(CompileError::at(
            spec.at,
            SigmaError::Unsupported("utf16/wide without base64 cannot match text fields".into()),
        ));
    }
    if f.all && spec.values.len() < 2 && !f.exists {
        // The spec forbids `all` on a single value; it is harmless, so accept it.
    }
    Ok(f)
}

fn compile_spec(spec: &FieldSpec, ctx: &mut Ctx) -> Result<Test, CompileError> {
    let f = flags_of(spec)?;
    let bad = |kind: fn(String) -> SigmaError, m: &str| CompileError::at(spec.at, kind(m.into()));
    let target = match &spec.field {
        Some(name) => Target::Field(ctx.fields.intern(name)),
        None => Target::Keyword,
    };
    if f.exists {
        if target == Target::Keyword {
            return Err(bad(SigmaError::Modifier, "'exists' needs a field"));
        }
        return match spec.values.as_slice() {
            [SigmaValue::Bool(b)] => Ok(Test {
                target,
                kind: TestKind::Exists(*b),
            }),
            [SigmaValue::Str(s)]
                if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") =>
            {
                Ok(Test {
                    target,
                    kind: TestKind::Exists(s.eq_ignore_ascii_case("true")),
                })
            }
            _ => Err(bad(SigmaError::Value, "'exists' takes one boolean value")),
        };
    }
    let mut groups = Vec::with_capacity(spec.values.len());
    for (i, value) in spec.values.iter().enumerate() {
        let value = Written {
            value,
            at: spec.value_location(i),
        };
        groups.push(compile_value(value, &f, target, ctx)?);
    }
    let mode = if f.neq {
        Mode::NoneOf
    } else if f.all {
        Mode::All
    } else {
        Mode::Any
    };
    let (groups, fast) = if mode == Mode::Any {
        let flat: Vec<Check> = groups.into_iter().flatten().collect();
        let (fast, rest) = split_fast(flat);
        (vec![rest], fast)
    } else {
        (groups, None)
    };
    Ok(Test {
        target,
        kind: TestKind::Values { mode, groups, fast },
    })
}

/// Moves long lists of plain case-insensitive `contains` and equality checks into one automaton
/// and one hash set.
fn split_fast(checks: Vec<Check>) -> (Option<Box<AnyFast>>, Vec<Check>) {
    let plain = |c: &Check, want_contains: bool| match c {
        Check::Str(p) if !p.cased => matches!(
            (&p.m, want_contains),
            (StrMatch::Contains(_), true) | (StrMatch::Equals(_), false)
        ),
        _ => false,
    };
    let n_contains = checks.iter().filter(|c| plain(c, true)).count();
    let n_equals = checks.iter().filter(|c| plain(c, false)).count();
    if n_contains < 4 && n_equals < 4 {
        return (None, checks);
    }
    let mut fast = AnyFast::default();
    let mut needles = Vec::new();
    let mut rest = Vec::new();
    for c in checks {
        match &c {
            Check::Str(p) if n_contains >= 4 && plain(&c, true) => {
                if let StrMatch::Contains(s) = &p.m {
                    needles.push(s.clone());
                }
            }
            Check::Str(p) if n_equals >= 4 && plain(&c, false) => {
                if let StrMatch::Equals(s) = &p.m {
                    fast.equals.insert(s.clone());
                }
            }
            _ => rest.push(c),
        }
    }
    // The automaton is built the first time an event needs it (`LazyLiterals`).
    fast.contains = LazyLiterals::new(needles);
    (Some(Box::new(fast)), rest)
}

fn canonical_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// A value and where it is written (its problems are reported there).
#[derive(Clone, Copy)]
struct Written<'a> {
    value: &'a SigmaValue,
    at: Location,
}

fn compile_value(
    written: Written<'_>,
    f: &Flags,
    target: Target,
    ctx: &mut Ctx,
) -> Result<Vec<Check>, CompileError> {
    let Written { value, at } = written;
    let bad = |kind: fn(String) -> SigmaError, m: String| CompileError::at(at, kind(m));
    let value_err = |m: String| bad(SigmaError::Value, m);
    let has_string_mods =
        f.contains || f.starts || f.ends || f.windash || f.base64 || f.base64offset;
    if let SigmaValue::Null = value {
        if has_string_mods || f.re || f.cidr || f.cmp.is_some() || f.fieldref || f.time.is_some() {
            return Err(bad(
                SigmaError::Modifier,
                "null cannot take value modifiers".into(),
            ));
        }
        if target == Target::Keyword {
            return Err(bad(SigmaError::Selection, "null is not a keyword".into()));
        }
        return Ok(vec![Check::Null]);
    }
    let text = value.text().unwrap_or_default().to_string();
    if let Some(part) = f.time {
        let n = number_of(value)
            .ok_or_else(|| value_err(format!("time modifier needs a number, got '{text}'")))?;
        return Ok(vec![Check::TimePart(part, f.cmp.unwrap_or(CmpOp::Eq), n)]);
    }
    if let Some(op) = f.cmp {
        let n = number_of(value).ok_or_else(|| value_err(format!("'{text}' is not a number")))?;
        return Ok(vec![Check::NumCmp(op, n)]);
    }
    if f.cidr {
        let net = parse_cidr(&text)
            .ok_or_else(|| value_err(format!("'{text}' is not a CIDR network")))?;
        return Ok(vec![Check::Cidr(net)]);
    }
    if f.re {
        // The flags are written inline, so that the pattern's text (`Regex::as_str`) says all
        // of it to a backend that translates rules (RE2 reads the same `(?ims)` prefix).
        let flags: String = [(f.re_i, 'i'), (f.re_m, 'm'), (f.re_s, 's')]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, c)| *c)
            .collect();
        let text = if flags.is_empty() {
            text
        } else {
            format!("(?{flags}){text}")
        };
        // Built once here so that a bad pattern is reported when the rule loads, then dropped:
        // most rules never see an event, and the built regexes of all SigmaHQ were a fifth of
        // the memory of loading it. The same pattern and limit build again on first use.
        build_regex(&text, RE_SIZE_LIMIT).map_err(|e| {
            let msg = e.to_string();
            let last = msg.lines().last().unwrap_or("").trim();
            let first = last.strip_prefix("error: ").unwrap_or(last).to_string();
            if msg.contains("look-around") || msg.contains("backreferences") {
                bad(
                    SigmaError::Unsupported,
                    format!(
                        "regex needs backtracking, which spoor refuses (linear time only): {first}"
                    ),
                )
            } else {
                value_err(format!("bad regex: {first}"))
            }
        })?;
        return Ok(vec![Check::Regex(LazyRegex::deferred(text, RE_SIZE_LIMIT))]);
    }
    if f.fieldref {
        let Target::Field(_) = target else {
            return Err(bad(SigmaError::Modifier, "'fieldref' needs a field".into()));
        };
        let how = if f.contains {
            RefHow::Contains
        } else if f.starts {
            RefHow::StartsWith
        } else if f.ends {
            RefHow::EndsWith
        } else {
            RefHow::Equals
        };
        return Ok(vec![Check::FieldRef {
            other: ctx.fields.intern(&text),
            how,
            cased: f.cased,
        }]);
    }
    if let SigmaValue::Num { text, value: v } = value {
        if !has_string_mods && target != Target::Keyword && !f.cased {
            return Ok(vec![Check::NumEq {
                text: fold(text),
                canon: canonical_number(*v),
            }]);
        }
    }
    // The string pipeline: expand -> windash -> encoding/base64 -> position -> wildcards.
    let expanded = if f.expand {
        expand_placeholders(&text, ctx.placeholders).map_err(|e| CompileError {
            at: e.at.or(Some(at)),
            error: e.error,
        })?
    } else {
        vec![text]
    };
    let mut variants = Vec::new();
    for v in expanded {
        if f.windash {
            variants.extend(windash_variants(&v).map_err(value_err)?);
        } else {
            variants.push(v);
        }
    }
    if f.base64 || f.base64offset {
        let mut encoded = Vec::new();
        for v in variants {
            let pieces = parse_wildcards(&v);
            let plain = match pieces.as_slice() {
                [] => String::new(),
                [Piece::Lit(s)] => s.clone(),
                _ => {
                    return Err(bad(
                        SigmaError::Modifier,
                        "wildcards cannot be base64-encoded".into(),
                    ))
                }
            };
            let bytes = encode_text(&plain, f.encoding.unwrap_or(TextEncoding::Utf8));
            if f.base64 {
                encoded.push(escape_wildcards(&base64_plain(&bytes)));
            } else {
                encoded.extend(base64_offsets(&bytes).iter().map(|s| escape_wildcards(s)));
            }
        }
        variants = encoded;
    }
    let keyword_default = target == Target::Keyword && !(f.starts || f.ends);
    let mut checks = Vec::with_capacity(variants.len());
    for v in variants {
        // Wildcards are added to the parsed pieces, never to the text: a value ending in a
        // backslash must not turn the added `*` into an escaped literal star.
        let mut pieces = parse_wildcards(&v);
        if f.contains || keyword_default || f.ends {
            pieces.insert(0, Piece::Star);
        }
        if f.contains || keyword_default || f.starts {
            pieces.push(Piece::Star);
        }
        pieces.dedup_by(|a, b| *a == Piece::Star && *b == Piece::Star);
        let p = StrPattern::compile(&pieces, f.cased).map_err(value_err)?;
        checks.push(Check::Str(p));
    }
    Ok(checks)
}

fn number_of(v: &SigmaValue) -> Option<f64> {
    match v {
        SigmaValue::Num { value, .. } => Some(*value),
        SigmaValue::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn parse_cidr(s: &str) -> Option<ipnet::IpNet> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .ok()
        .map(|n| n.trunc())
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

/// Replaces `%name%` placeholders (not `\%`-escaped) with every combination of their values.
fn expand_placeholders(text: &str, values: &Placeholders) -> Result<Vec<String>, CompileError> {
    let mut out = vec![String::new()];
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("\\%") {
            out.iter_mut().for_each(|o| o.push('%'));
            rest = after;
            continue;
        }
        if let Some(after) = rest.strip_prefix('%') {
            if let Some(end) = after.find('%') {
                let name = &after[..end];
                if !name.is_empty() && !name.contains(char::is_whitespace) {
                    let list = values.get(name).filter(|l| !l.is_empty()).ok_or_else(|| {
                        CompileError::anywhere(SigmaError::Placeholder(format!(
                            "placeholder %{name}% has no values (pass them with --placeholders FILE)"
                        )))
                    })?;
                    if out.len() * list.len() > 4096 {
                        return Err(CompileError::anywhere(SigmaError::Placeholder(format!(
                            "placeholder %{name}% expands to too many values"
                        ))));
                    }
                    out = out
                        .iter()
                        .flat_map(|o| list.iter().map(move |v| format!("{o}{v}")))
                        .collect();
                    rest = &after[end + 1..];
                    continue;
                }
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.iter_mut().for_each(|o| o.push(c));
        rest = &rest[c.len_utf8()..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_placeholders() {
        let mut p = Placeholders::new();
        p.insert("Admins".into(), vec!["root".into(), "adm*".into()]);
        assert_eq!(
            expand_placeholders("x-%Admins%-y", &p).unwrap(),
            vec!["x-root-y".to_string(), "x-adm*-y".to_string()]
        );
        assert_eq!(
            expand_placeholders(r"\%Admins%", &p).unwrap(),
            vec!["%Admins%".to_string()]
        );
        assert!(matches!(
            expand_placeholders("%Servers%", &p),
            Err(CompileError {
                error: SigmaError::Placeholder(_),
                ..
            })
        ));
        assert_eq!(
            expand_placeholders("100%", &p).unwrap(),
            vec!["100%".to_string()]
        );
    }

    #[test]
    fn a_trailing_backslash_stays_literal_under_contains() {
        // Regression: `TargetObject|contains: '\Policies\'` once became `*\Policies\*` text,
        // whose `\*` read as an escaped star.
        let mut b = crate::RuleSetBuilder::new();
        b.add_source(
            "t.yml",
            "title: t\nlogsource: {product: windows}\ndetection:\n  sel:\n    TargetObject|contains: '\\Policies\\'\n    Other|endswith: 'x\\'\n  condition: sel\n",
        );
        let set = b.build();
        let ev = spoor_event::Event::new("e", spoor_event::Position::Line(1))
            .with_logsource(spoor_event::LogSource::new(Some("windows"), None, None))
            .with("TargetObject", r"HKLM\Software\Policies\Microsoft")
            .with("Other", r"abcx\");
        assert_eq!(set.evaluator().matching_rules(&ev).len(), 1);
        assert_eq!(set.matching_rules_unindexed(&ev).len(), 1);
    }

    #[test]
    fn canonical_numbers() {
        assert_eq!(canonical_number(4688.0), "4688");
        assert_eq!(canonical_number(1.5), "1.5");
    }
}
