//! Compiled Sigma rules -> ClickHouse SQL over the events table.
//!
//! The translation starts from spoor-sigma's compiled form, not from the YAML: windash
//! permutations, base64 offsets, wildcards and case folding are applied once, by the engine the
//! local hunt uses, and this module only says in SQL what each compiled check already means.
//! Every check is a predicate over the texts of one field (`fields['Name']`, an array: arrays
//! element-wise, repeated fields together) or, for keywords, over every field's texts and the raw
//! line (`kw`); a check holds when any text satisfies it, as in the local evaluator.
//!
//! Every literal goes through [`lit`]; no text from a rule or an event is written into SQL any
//! other way.

use chrono::{DateTime, Utc};
use spoor_event::RuleMeta;
use spoor_sigma::ir::{
    Check, CmpOp, CompiledRule, Cond, Mode, RefHow, Sel, Target, Test, TestKind,
};
use spoor_sigma::{event_values_satisfying, LogSourcePart, RuleLogSource, RuleSet, StrMatch};
use std::fmt::Write as _;
use std::sync::Arc;

/// A ClickHouse string literal: single quotes, with backslash, quote and control characters
/// escaped.
pub fn lit(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn lits<'a>(items: impl IntoIterator<Item = &'a String>) -> String {
    let v: Vec<String> = items.into_iter().map(|s| lit(s)).collect();
    format!("[{}]", v.join(", "))
}

/// A float literal ClickHouse reads back as the same number.
fn num(n: f64) -> String {
    if n.is_nan() {
        "(0 / 0)".into()
    } else if n.is_infinite() {
        if n > 0.0 {
            "(1 / 0)".into()
        } else {
            "(-1 / 0)".into()
        }
    } else {
        format!("toFloat64({n:?})")
    }
}

/// Rust's `f64` grammar (what the local engine's `parse::<f64>()` accepts), so that text the
/// local engine does not read as a number is not one in SQL either.
const FLOAT_RE: &str =
    r"^[+-]?((?i:inf|infinity|nan)|([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?)$";
/// What `str::trim` removes (the ASCII part of it).
fn trimmed(x: &str) -> String {
    format!("replaceRegexpAll({x}, '^[\\\\t\\\\n\\\\x0B\\\\f\\\\r ]+|[\\\\t\\\\n\\\\x0B\\\\f\\\\r ]+$', '')")
}
/// A dotted quad as Rust's `Ipv4Addr` parser takes it (no leading zeros).
const IPV4_RE: &str = r"^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$";

/// The number a text holds, or NULL.
pub(crate) fn number_of(x: &str) -> String {
    // ClickHouse's parser takes no `inf` or `nan`; Rust's does, in any case.
    let t = format!("lower({})", trimmed(x));
    format!(
        "if(match({t}, {}), multiIf({t} IN ('inf', '+inf', 'infinity', '+infinity'), 1 / 0, \
         {t} IN ('-inf', '-infinity'), -1 / 0, {t} IN ('nan', '+nan', '-nan'), 0 / 0, \
         toFloat64OrNull({t})), NULL)",
        lit(FLOAT_RE)
    )
}

fn cmp_sym(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "=",
        CmpOp::Lt => "<",
        CmpOp::Lte => "<=",
        CmpOp::Gt => ">",
        CmpOp::Gte => ">=",
    }
}

/// The predicate of a check on one text `x` (a lambda parameter), or `None` for checks that are
/// not about one text (null, field references).
fn text_pred(c: &Check, x: &str) -> Result<Option<String>, String> {
    let folded = format!("lowerUTF8({x})");
    Ok(Some(match c {
        Check::Str(p) => {
            let t = if p.cased { x } else { folded.as_str() };
            match &p.m {
                StrMatch::Equals(s) => format!("{t} = {}", lit(s)),
                StrMatch::Contains(s) => format!("position({t}, {}) > 0", lit(s)),
                StrMatch::StartsWith(s) => format!("startsWith({t}, {})", lit(s)),
                StrMatch::EndsWith(s) => format!("endsWith({t}, {})", lit(s)),
                StrMatch::Any => "1".into(),
                StrMatch::Glob(r) => format!("match({t}, {})", lit(r.as_str())),
            }
        }
        Check::NumEq { text, canon } => format!("{folded} IN ({}, {})", lit(text), lit(canon)),
        Check::Regex(r) => format!("match({x}, {})", lit(r.as_str())),
        Check::NumCmp(op, n) => format!("ifNull({} {} {}, 0)", number_of(x), cmp_sym(*op), num(*n)),
        Check::Cidr(net) => {
            let t = trimmed(x);
            let net = net.trunc();
            let (guard, dummy) = match net {
                ipnet::IpNet::V4(_) => (format!("match({t}, {})", lit(IPV4_RE)), "0.0.0.0"),
                ipnet::IpNet::V6(_) => (
                    format!(
                        "(NOT match({t}, {}) AND position({t}, ':') > 0 AND isNotNull(toIPv6OrNull({t})))",
                        lit(IPV4_RE)
                    ),
                    "::",
                ),
            };
            // The dummy address keeps isIPAddressInRange from ever seeing a non-address,
            // whatever order the server evaluates the two sides in.
            format!(
                "({guard} AND isIPAddressInRange(if({guard}, {t}, '{dummy}'), {}))",
                lit(&net.to_string())
            )
        }
        Check::TimePart(..) => {
            return Err(
                "time-part modifiers (minute, hour, day, week, month, year) are not \
                        expressed in SQL yet"
                    .into(),
            )
        }
        Check::Null | Check::FieldRef { .. } => return Ok(None),
    }))
}

/// Splits needles into lists `multiSearchAny` takes (at most 255 each).
fn multi_search(t: &str, needles: &[String]) -> Vec<String> {
    needles
        .chunks(200)
        .map(|ch| format!("multiSearchAny({t}, {})", lits(ch)))
        .collect()
}

struct Tr<'a> {
    set: &'a RuleSet,
    uses_keywords: bool,
}

impl Tr<'_> {
    fn name(&self, id: u32) -> Result<&str, String> {
        self.set
            .field_name(id)
            .ok_or_else(|| format!("unknown field id {id}"))
    }

    /// Checks that hold on any text of `arr`, OR-ed, plus the non-text checks.
    fn any_of(&self, checks: &[&Check], target: Target) -> Result<Vec<String>, String> {
        let (arr, field) = match target {
            Target::Field(f) => {
                let n = self.name(f)?;
                (format!("fields[{}]", lit(n)), Some(n))
            }
            Target::Keyword => ("kw".to_string(), None),
        };
        let mut preds = Vec::new();
        let mut terms = Vec::new();
        for c in checks {
            match (c, field) {
                (Check::Null, Some(n)) => terms.push(format!(
                    "(NOT mapContains(fields, {0}) OR has(nulls, {0}))",
                    lit(n)
                )),
                (Check::FieldRef { other, how, cased }, Some(_)) => {
                    let o = format!("fields[{}]", lit(self.name(*other)?));
                    let (a, b) = if *cased {
                        ("x".to_string(), "y".to_string())
                    } else {
                        ("lowerUTF8(x)".to_string(), "lowerUTF8(y)".to_string())
                    };
                    let p = match how {
                        RefHow::Equals => format!("{a} = {b}"),
                        RefHow::Contains => format!("position({a}, {b}) > 0"),
                        RefHow::StartsWith => format!("startsWith({a}, {b})"),
                        RefHow::EndsWith => format!("endsWith({a}, {b})"),
                    };
                    terms.push(format!(
                        "arrayExists(x -> arrayExists(y -> {p}, {o}), {arr})"
                    ));
                }
                (Check::Null | Check::FieldRef { .. }, None) => {}
                _ => {
                    if let Some(p) = text_pred(c, "x")? {
                        preds.push(p);
                    }
                }
            }
        }
        if !preds.is_empty() {
            terms.insert(
                0,
                format!("arrayExists(x -> {}, {arr})", preds.join(" OR ")),
            );
        }
        Ok(terms)
    }

    fn test(&mut self, t: &Test) -> Result<String, String> {
        if t.target == Target::Keyword {
            self.uses_keywords = true;
        }
        let present = match t.target {
            Target::Field(f) => Some(format!("mapContains(fields, {})", lit(self.name(f)?))),
            Target::Keyword => None,
        };
        match &t.kind {
            TestKind::Exists(want) => Ok(match (present, want) {
                (Some(p), true) => p,
                (Some(p), false) => format!("NOT {p}"),
                (None, _) => "0".into(),
            }),
            TestKind::Values { mode, groups, fast } => {
                let or = |v: Vec<String>| {
                    if v.is_empty() {
                        "0".to_string()
                    } else {
                        format!("({})", v.join(" OR "))
                    }
                };
                let all: Vec<&Check> = groups.iter().flatten().collect();
                match mode {
                    Mode::Any => {
                        let mut terms = self.any_of(&all, t.target)?;
                        if let Some(fa) = fast {
                            let arr = match t.target {
                                Target::Field(f) => format!("fields[{}]", lit(self.name(f)?)),
                                Target::Keyword => "kw".into(),
                            };
                            let mut fp = Vec::new();
                            if !fa.equals.is_empty() {
                                let mut eq: Vec<&String> = fa.equals.iter().collect();
                                eq.sort();
                                fp.push(format!("has({}, lowerUTF8(x))", lits(eq)));
                            }
                            fp.extend(multi_search("lowerUTF8(x)", fa.contains.literals()));
                            if !fp.is_empty() {
                                terms.push(format!("arrayExists(x -> {}, {arr})", fp.join(" OR ")));
                            }
                        }
                        Ok(or(terms))
                    }
                    Mode::All => {
                        let mut parts = Vec::new();
                        for g in groups {
                            let g: Vec<&Check> = g.iter().collect();
                            parts.push(or(self.any_of(&g, t.target)?));
                        }
                        Ok(if parts.is_empty() {
                            "1".into()
                        } else {
                            format!("({})", parts.join(" AND "))
                        })
                    }
                    Mode::NoneOf => {
                        let any = or(self.any_of(&all, t.target)?);
                        Ok(match present {
                            Some(p) => format!("({p} AND NOT {any})"),
                            None => format!("(NOT {any})"),
                        })
                    }
                }
            }
        }
    }

    fn sel(&mut self, s: &Sel) -> Result<String, String> {
        match s {
            Sel::And(tests) => {
                let v = tests
                    .iter()
                    .map(|t| self.test(t))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(if v.is_empty() {
                    "1".into()
                } else {
                    format!("({})", v.join(" AND "))
                })
            }
            Sel::Or(branches) => {
                let v = branches
                    .iter()
                    .map(|b| self.sel(b))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(if v.is_empty() {
                    "0".into()
                } else {
                    format!("({})", v.join(" OR "))
                })
            }
        }
    }

    fn cond(&mut self, c: &Cond, rule: &CompiledRule) -> Result<String, String> {
        let list = |tr: &mut Self, items: &[Cond]| {
            items
                .iter()
                .map(|i| tr.cond(i, rule))
                .collect::<Result<Vec<_>, String>>()
        };
        Ok(match c {
            Cond::Sel(i) => match rule.sels.get(*i as usize) {
                Some(s) => self.sel(s)?,
                None => "0".into(),
            },
            Cond::And(items) => {
                let v = list(self, items)?;
                if v.is_empty() {
                    "1".into()
                } else {
                    format!("({})", v.join(" AND "))
                }
            }
            Cond::Or(items) => {
                let v = list(self, items)?;
                if v.is_empty() {
                    "0".into()
                } else {
                    format!("({})", v.join(" OR "))
                }
            }
            Cond::Not(inner) => format!("(NOT {})", self.cond(inner, rule)?),
            Cond::AtLeast(n, items) => {
                let v = list(self, items)?;
                if v.is_empty() {
                    "0".into()
                } else {
                    format!("(({}) >= {n})", v.join(" + "))
                }
            }
        })
    }
}

/// The SQL test that an event's log source (columns `product`, `category`, `service`) runs a
/// rule of log source `ls`: the same as [`RuleLogSource::accepts`].
pub fn logsource_sql(ls: &RuleLogSource) -> String {
    let parts = [
        ("product", LogSourcePart::Product, &ls.product),
        ("category", LogSourcePart::Category, &ls.category),
        ("service", LogSourcePart::Service, &ls.service),
    ];
    let named: Vec<String> = parts
        .iter()
        .filter_map(|(col, part, want)| {
            want.as_ref().map(|w| {
                let vals = event_values_satisfying(*part, w);
                format!(
                    "lower({col}) IN ({})",
                    vals.iter().map(|v| lit(v)).collect::<Vec<_>>().join(", ")
                )
            })
        })
        .collect();
    if named.is_empty() {
        return "1".into();
    }
    format!(
        "((product = '' AND category = '' AND service = '') OR ({}))",
        named.join(" AND ")
    )
}

/// One rule's whole test (its condition, less its filters), and whether it reads `kw`.
pub fn rule_sql(set: &RuleSet, index: usize) -> Result<(String, bool), String> {
    let rule = set
        .compiled()
        .get(index)
        .ok_or_else(|| format!("no rule {index}"))?;
    let mut tr = Tr {
        set,
        uses_keywords: false,
    };
    let mut sql = tr.cond(&rule.cond, rule)?;
    for f in set.filters_of(index) {
        let fc = tr.cond(&f.cond, f)?;
        sql = format!("({sql} AND NOT ({} AND {fc}))", logsource_sql(&f.logsource));
    }
    Ok((sql, tr.uses_keywords))
}

/// One query of a plan: the rules of one log source that it tests, and the SQL.
#[derive(Debug, Clone)]
pub struct Query {
    /// The rules' log source, for humans (`product=windows category=process_creation`).
    pub logsource: String,
    /// The rules, by index into [`RuleSet::compiled`]; hit tag `i + 1` is `rules[i]`.
    pub rules: Vec<usize>,
    /// The statement, ending in `FORMAT JSONEachRow`.
    pub sql: String,
}

/// A rule that the plan does not run, and why.
#[derive(Debug, Clone)]
pub struct Skipped {
    /// The rule.
    pub rule: Arc<RuleMeta>,
    /// Why.
    pub reason: String,
}

/// The queries that run a rule set inside ClickHouse, and what they leave out.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// One or more queries per rule log source.
    pub queries: Vec<Query>,
    /// Rules not expressed, with the reason; none is dropped silently.
    pub skipped: Vec<Skipped>,
    /// Correlations as window queries, run in the server.
    pub correlations: Vec<crate::CorrelationQuery>,
    /// Correlations not expressed in SQL, with the reason: spoor runs their windows over the
    /// rows the queries return (the matches of their base rules), with the local engine's code.
    pub correlations_local: Vec<Skipped>,
}

/// SQL text per query beyond which rules go to a further query of the same log source (the
/// server's `max_query_size` is 256 KiB by default; AST limits bite earlier).
const MAX_QUERY_TEXT: usize = 60_000;

fn ls_label(ls: &RuleLogSource) -> String {
    let mut parts = Vec::new();
    for (k, v) in [
        ("product", &ls.product),
        ("category", &ls.category),
        ("service", &ls.service),
    ] {
        if let Some(v) = v {
            parts.push(format!("{k}={v}"));
        }
    }
    if parts.is_empty() {
        "any".into()
    } else {
        parts.join(" ")
    }
}

/// The rules of one log source: (rule index, its SQL), and whether any reads `kw`.
type Group = (RuleLogSource, Vec<(usize, String)>, bool);

/// The time span of a hunt (`--from`/`--to`), pushed down into the queries' `WHERE`: rows
/// outside it are not read by the single-event queries, and correlation findings are kept by
/// their start (their windows still see every event, as in the local hunt, where the span
/// filters findings).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// Earliest time kept (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Latest time kept (inclusive).
    pub to: Option<DateTime<Utc>>,
}

impl TimeRange {
    /// The condition on a `DateTime64(9)` column `col`, or `None` when the range is open.
    pub fn on_time_column(&self, col: &str) -> Option<String> {
        let lit = |t: &DateTime<Utc>| {
            format!(
                "toDateTime64('{}', 9, 'UTC')",
                t.format("%Y-%m-%d %H:%M:%S%.9f")
            )
        };
        let mut parts = Vec::new();
        if let Some(f) = &self.from {
            parts.push(format!("{col} >= {}", lit(f)));
        }
        if let Some(t) = &self.to {
            parts.push(format!("{col} <= {}", lit(t)));
        }
        (!parts.is_empty()).then(|| format!("(isNotNull({col}) AND {})", parts.join(" AND ")))
    }

    /// The condition on an `Int64` nanosecond column `col`, or `None` when the range is open.
    pub fn on_nanos(&self, col: &str) -> Option<String> {
        // Outside the nanosecond range (years 1677-2262) a bound keeps everything or nothing.
        let ns = |t: &DateTime<Utc>| {
            t.timestamp_nanos_opt().unwrap_or(if t.timestamp() < 0 {
                i64::MIN
            } else {
                i64::MAX
            })
        };
        let mut parts = Vec::new();
        if let Some(f) = &self.from {
            parts.push(format!("{col} >= {}", ns(f)));
        }
        if let Some(t) = &self.to {
            parts.push(format!("{col} <= {}", ns(t)));
        }
        (!parts.is_empty()).then(|| parts.join(" AND "))
    }
}

/// Builds the plan of `set` over `database.table` (names checked by the caller).
pub fn plan(set: &RuleSet, database: &str, table: &str) -> Plan {
    plan_in(set, database, table, TimeRange::default())
}

/// [`plan`] for the events of `range` only.
pub fn plan_in(set: &RuleSet, database: &str, table: &str, range: TimeRange) -> Plan {
    let mut out = Plan::default();
    // Group rules by log source, in first-seen order.
    let mut groups: Vec<Group> = Vec::new();
    for (i, rule) in set.compiled().iter().enumerate() {
        match rule_sql(set, i) {
            Ok((sql, kw)) => match groups.iter_mut().find(|(ls, _, _)| *ls == rule.logsource) {
                Some(g) => {
                    g.1.push((i, sql));
                    g.2 |= kw;
                }
                None => groups.push((rule.logsource.clone(), vec![(i, sql)], kw)),
            },
            Err(reason) => out.skipped.push(Skipped {
                rule: rule.meta.clone(),
                reason,
            }),
        }
    }
    let (queries, local) = crate::corr2sql::correlation_queries(set, database, table, range);
    out.correlations = queries;
    out.correlations_local = local
        .into_iter()
        .map(|(rule, reason)| Skipped { rule, reason })
        .collect();
    for (ls, rules, kw) in groups {
        let mut chunk: Vec<&(usize, String)> = Vec::new();
        let mut size = 0;
        let flush = |chunk: &mut Vec<&(usize, String)>, out: &mut Plan| {
            if chunk.is_empty() {
                return;
            }
            out.queries.push(Query {
                logsource: ls_label(&ls),
                rules: chunk.iter().map(|(i, _)| *i).collect(),
                sql: query_sql(database, table, &ls, chunk, kw, range),
            });
            chunk.clear();
        };
        for r in &rules {
            if size + r.1.len() > MAX_QUERY_TEXT {
                flush(&mut chunk, &mut out);
                size = 0;
            }
            size += r.1.len();
            chunk.push(r);
        }
        flush(&mut chunk, &mut out);
    }
    out
}

fn query_sql(
    database: &str,
    table: &str,
    ls: &RuleLogSource,
    rules: &[&(usize, String)],
    kw: bool,
    range: TimeRange,
) -> String {
    // Each rule's condition is written once: the inner query tags the rows of the log source,
    // the outer keeps those with a tag.
    let mut sql = String::from(
        "SELECT path, pos_kind, pos, product, category, service, raw, event, hits FROM (\n",
    );
    if kw {
        sql.push_str(
            "WITH arrayConcat(arrayFlatten(mapValues(fields)), \
             if(isNull(raw), [], [assumeNotNull(raw)])) AS kw\n",
        );
    }
    let tags: Vec<String> = rules
        .iter()
        .enumerate()
        .map(|(n, (_, s))| format!("  if({s}, {}, 0)", n + 1))
        .collect();
    let _ = write!(
        sql,
        "SELECT path, pos_kind, pos, product, category, service, raw, event,\n\
         arrayFilter(i -> i > 0, [\n{}\n]) AS hits\n\
         FROM {database}.{table} FINAL\n\
         WHERE {}{}\n\
         ) WHERE notEmpty(hits)\n\
         FORMAT JSONEachRow",
        tags.join(",\n"),
        logsource_sql(ls),
        range
            .on_time_column("time")
            .map(|c| format!(" AND {c}"))
            .unwrap_or_default(),
    );
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_escaped() {
        assert_eq!(lit("a'b"), r"'a\'b'");
        assert_eq!(lit(r"C:\x"), r"'C:\\x'");
        assert_eq!(lit("a\nb\0\u{1}"), r"'a\nb\0\x01'");
        assert_eq!(lit("'); DROP TABLE t; --"), r"'\'); DROP TABLE t; --'");
    }

    fn set(yaml: &str) -> RuleSet {
        let mut b = spoor_sigma::RuleSetBuilder::new();
        b.add_source("t.yml", yaml);
        b.build()
    }

    #[test]
    fn time_parts_are_listed_not_dropped() {
        let s = set("title: T\nid: t1\nlogsource: {product: windows}\ndetection:\n  sel:\n    UtcTime|hour: 3\n  condition: sel\n");
        let p = plan(&s, "default", "events");
        assert!(p.queries.is_empty());
        assert_eq!(p.skipped.len(), 1);
        assert!(p.skipped[0].reason.contains("time-part"));
    }

    #[test]
    fn logsources_follow_the_implication_table() {
        let s = set("title: T\nlogsource: {product: linux, service: auth}\ndetection:\n  sel:\n    a: b\n  condition: sel\n");
        let sql = logsource_sql(&s.compiled()[0].logsource);
        assert!(sql.contains("'sshd'"), "{sql}");
        assert!(sql.contains("lower(product) IN ('linux')"), "{sql}");
    }
}
