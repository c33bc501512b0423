//! YAML nodes -> rule ASTs: the shape checks of the Sigma rule format, rule collections
//! (`action: global / reset / repeat`), and recognition of correlation and filter rules.

use crate::ast::{ConditionAst, FieldSpec, LogSourceAst, RuleAst, SelectionAst, SigmaValue};
use crate::condition::{ident_matches, parse_condition};
use crate::modifier::split_key;
use crate::yaml2node::{is_null_text, Node, NodeKind};
use crate::{Location, SigmaError};

/// What one YAML document turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum ParsedDoc {
    /// A detection rule.
    Rule(Box<RuleAst>),
    /// A correlation rule (resolved against the other rules when the set is built).
    Correlation(Box<crate::node2corr::CorrelationAst>),
    /// A filter rule.
    Filter(Box<crate::node2corr::FilterAst>),
    /// A broken rule.
    Invalid {
        /// Title if known.
        title: String,
        /// Id if known.
        id: Option<String>,
        /// Where the problem is.
        at: Location,
        /// What is wrong.
        error: SigmaError,
    },
}

/// A problem found while reading a document, at the node it concerns.
#[derive(Debug)]
pub(crate) struct Problem {
    pub(crate) at: Location,
    pub(crate) error: SigmaError,
}

/// A problem of the given kind (a [`SigmaError`] variant) at `node`.
pub(crate) fn problem(
    kind: fn(String) -> SigmaError,
    node: &Node,
    reason: impl Into<String>,
) -> Problem {
    Problem {
        at: node_location(node),
        error: kind(reason.into()),
    }
}

/// Where a node starts (the column is unknown for nodes built by merging).
pub(crate) fn node_location(node: &Node) -> Location {
    match node.col {
        0 => Location::line(node.line),
        c => Location::at(node.line, c),
    }
}

/// Turns the documents of one file into rules, applying collection actions.
pub fn documents_to_rules(docs: Vec<Node>) -> Vec<ParsedDoc> {
    let mut out = Vec::new();
    let mut global: Option<Node> = None;
    let mut previous: Option<Node> = None;
    for doc in docs {
        if doc.is_null() {
            continue; // an empty document (e.g. a trailing `---`)
        }
        let action = doc.get("action").and_then(Node::as_str).map(str::to_string);
        let doc = without_key(doc, "action");
        let merged = match action.as_deref() {
            Some("global") => {
                global = Some(match global.take() {
                    Some(g) => deep_merge(g, doc),
                    None => doc,
                });
                continue;
            }
            Some("reset") => {
                global = None;
                continue;
            }
            Some("repeat") => match &previous {
                Some(p) => deep_merge(p.clone(), doc),
                None => {
                    out.push(ParsedDoc::Invalid {
                        title: String::new(),
                        id: None,
                        at: node_location(&doc),
                        error: SigmaError::Collection(
                            "'action: repeat' with no previous rule".into(),
                        ),
                    });
                    continue;
                }
            },
            Some(other) => {
                out.push(ParsedDoc::Invalid {
                    title: String::new(),
                    id: None,
                    at: node_location(&doc),
                    error: SigmaError::Collection(format!("unknown collection action '{other}'")),
                });
                continue;
            }
            None => match &global {
                Some(g) => deep_merge(g.clone(), doc),
                None => doc,
            },
        };
        out.push(document_to_rule(&merged));
        previous = Some(merged);
    }
    out
}

fn without_key(node: Node, key: &str) -> Node {
    match node.kind {
        NodeKind::Map(entries) => Node {
            kind: NodeKind::Map(
                entries
                    .into_iter()
                    .filter(|(k, _)| k.as_str() != Some(key))
                    .collect(),
            ),
            line: node.line,
            col: node.col,
        },
        other => Node {
            kind: other,
            line: node.line,
            col: node.col,
        },
    }
}

fn deep_merge(base: Node, over: Node) -> Node {
    match (base.kind, over.kind) {
        (NodeKind::Map(mut b), NodeKind::Map(o)) => {
            for (k, v) in o {
                match b.iter().position(|(bk, _)| bk.as_str() == k.as_str()) {
                    Some(i) => {
                        let (bk, bv) = b.remove(i);
                        b.insert(i, (bk, deep_merge(bv, v)));
                    }
                    None => b.push((k, v)),
                }
            }
            Node {
                kind: NodeKind::Map(b),
                line: over.line.min(base.line).max(1),
                col: 0,
            }
        }
        (_, kind) => Node {
            kind,
            line: over.line,
            col: over.col,
        },
    }
}

pub(crate) fn text_of(node: Option<&Node>) -> Option<String> {
    node.and_then(Node::as_str).map(str::to_string)
}

/// Classifies and parses one (merged) document.
pub fn document_to_rule(doc: &Node) -> ParsedDoc {
    let title = text_of(doc.get("title")).unwrap_or_default();
    let id = text_of(doc.get("id"));
    if doc.as_map().is_none() {
        return ParsedDoc::Invalid {
            title,
            id,
            at: node_location(doc),
            error: SigmaError::RuleShape("a rule must be a YAML mapping".into()),
        };
    }
    if doc.get("correlation").is_some() {
        return match crate::node2corr::parse_correlation(doc, &title) {
            Ok(c) => ParsedDoc::Correlation(Box::new(c)),
            Err(p) => ParsedDoc::Invalid {
                title,
                id,
                at: p.at,
                error: p.error,
            },
        };
    }
    if doc.get("filter").is_some() && doc.get("detection").is_none() {
        return match crate::node2corr::parse_filter(doc, &title) {
            Ok(f) => ParsedDoc::Filter(Box::new(f)),
            Err(p) => ParsedDoc::Invalid {
                title,
                id,
                at: p.at,
                error: p.error,
            },
        };
    }
    match parse_rule(doc, &title, &id) {
        Ok(rule) => ParsedDoc::Rule(Box::new(rule)),
        Err(p) => ParsedDoc::Invalid {
            title,
            id,
            at: p.at,
            error: p.error,
        },
    }
}

fn parse_rule(doc: &Node, title: &str, id: &Option<String>) -> Result<RuleAst, Problem> {
    if title.trim().is_empty() {
        return Err(problem(SigmaError::RuleShape, doc, "missing 'title'"));
    }
    let logsource = parse_logsource(doc)?;
    let detection = doc
        .get("detection")
        .ok_or_else(|| problem(SigmaError::RuleShape, doc, "missing 'detection'"))?;
    let (selections, conditions, condition_at) = parse_detection(detection, &["timeframe"])?;
    let level = parse_level(doc)?;
    Ok(RuleAst {
        title: title.to_string(),
        id: id.clone(),
        name: text_of(doc.get("name")).filter(|n| !n.trim().is_empty()),
        status: text_of(doc.get("status")),
        level,
        description: text_of(doc.get("description")),
        tags: parse_tags(doc),
        logsource,
        selections,
        conditions,
        condition_at,
        line: doc.line,
    })
}

/// The `logsource` section (mandatory).
pub(crate) fn parse_logsource(doc: &Node) -> Result<LogSourceAst, Problem> {
    let logsource_node = doc
        .get("logsource")
        .ok_or_else(|| problem(SigmaError::RuleShape, doc, "missing 'logsource'"))?;
    if logsource_node.as_map().is_none() {
        return Err(problem(
            SigmaError::RuleShape,
            logsource_node,
            "'logsource' must be a mapping",
        ));
    }
    let lower = |k: &str| {
        logsource_node
            .get(k)
            .and_then(Node::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().to_ascii_lowercase())
    };
    Ok(LogSourceAst {
        product: lower("product"),
        category: lower("category"),
        service: lower("service"),
    })
}

/// `tags`: a list of strings (or one string).
pub(crate) fn parse_tags(doc: &Node) -> Vec<String> {
    match doc.get("tags") {
        None => Vec::new(),
        Some(n) => match &n.kind {
            NodeKind::Seq(items) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
            NodeKind::Scalar { text, .. } if !is_null_text(text) => vec![text.clone()],
            _ => Vec::new(),
        },
    }
}

/// `level`, checked against Sigma's five levels.
pub(crate) fn parse_level(doc: &Node) -> Result<Option<String>, Problem> {
    let level = text_of(doc.get("level"));
    if let Some(l) = &level {
        if l.parse::<spoor_event::RuleLevel>().is_err() {
            let at = doc.get("level").unwrap_or(doc);
            return Err(problem(
                SigmaError::RuleShape,
                at,
                format!("unknown level '{l}'"),
            ));
        }
    }
    Ok(level)
}

/// Search identifiers, conditions, and where each condition is written.
type Detection = (
    Vec<(String, SelectionAst)>,
    Vec<ConditionAst>,
    Vec<Location>,
);

/// A detection mapping (search identifiers and `condition`); keys in `skip` are not search
/// identifiers (`timeframe` of old rules, `rules` of a filter).
pub(crate) fn parse_detection(detection: &Node, skip: &[&str]) -> Result<Detection, Problem> {
    let entries = detection.as_map().ok_or_else(|| {
        problem(
            SigmaError::RuleShape,
            detection,
            "'detection' must be a mapping",
        )
    })?;
    let mut selections = Vec::new();
    let mut condition_node = None;
    for (k, v) in entries {
        let key = k.as_str().ok_or_else(|| {
            problem(
                SigmaError::Selection,
                k,
                "search identifiers must be strings",
            )
        })?;
        match key {
            "condition" => condition_node = Some(v),
            k if skip.contains(&k) => {}
            _ => selections.push((key.to_string(), parse_selection(v)?)),
        }
    }
    let condition_node = condition_node.ok_or_else(|| {
        problem(
            SigmaError::Condition,
            detection,
            "missing 'condition' in detection",
        )
    })?;
    let condition_texts: Vec<(&str, &Node)> = match &condition_node.kind {
        NodeKind::Scalar { text, .. } => vec![(text.as_str(), condition_node)],
        NodeKind::Seq(items) => items
            .iter()
            .map(|n| {
                n.as_str().map(|s| (s, n)).ok_or_else(|| {
                    problem(SigmaError::Condition, n, "a condition must be a string")
                })
            })
            .collect::<Result<_, _>>()?,
        NodeKind::Map(_) => {
            return Err(problem(
                SigmaError::Condition,
                condition_node,
                "a condition must be a string",
            ))
        }
    };
    if condition_texts.is_empty() {
        return Err(problem(
            SigmaError::Condition,
            condition_node,
            "empty condition",
        ));
    }
    let names: Vec<&str> = selections.iter().map(|(n, _)| n.as_str()).collect();
    let mut conditions = Vec::new();
    let mut condition_at = Vec::new();
    for (text, node) in condition_texts {
        let c = parse_condition(text).map_err(|e| problem(SigmaError::Condition, node, e))?;
        check_names(&c, &names).map_err(|e| problem(SigmaError::Condition, node, e))?;
        conditions.push(c);
        condition_at.push(node_location(node));
    }
    Ok((selections, conditions, condition_at))
}

/// Every identifier a condition names exists, and every `x of` pattern matches one, so that the
/// problem is reported on the condition's own line.
fn check_names(c: &ConditionAst, names: &[&str]) -> Result<(), String> {
    let mut stack = vec![c];
    while let Some(c) = stack.pop() {
        match c {
            ConditionAst::Ident(name) => {
                if !names.contains(&name.as_str()) {
                    return Err(format!("condition names missing selection '{name}'"));
                }
            }
            ConditionAst::Of(_, pattern) => {
                let found = names.iter().any(|n| match pattern {
                    None => !n.starts_with('_'),
                    Some(p) => ident_matches(p, n),
                });
                if !found {
                    let what = pattern.as_deref().unwrap_or("them");
                    return Err(format!("condition 'of {what}' matches no selection"));
                }
            }
            ConditionAst::And(items) | ConditionAst::Or(items) => stack.extend(items),
            ConditionAst::Not(inner) => stack.push(inner),
        }
    }
    Ok(())
}

fn parse_selection(node: &Node) -> Result<SelectionAst, Problem> {
    match &node.kind {
        NodeKind::Map(entries) => {
            if entries.is_empty() {
                return Err(problem(
                    SigmaError::Selection,
                    node,
                    "empty search identifier",
                ));
            }
            let mut specs = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                specs.push(parse_field_spec(k, v)?);
            }
            Ok(SelectionAst::And(specs))
        }
        NodeKind::Seq(items) => {
            if items.is_empty() {
                return Err(problem(
                    SigmaError::Selection,
                    node,
                    "empty search identifier",
                ));
            }
            let mut keywords = Vec::new();
            let mut keywords_at = Vec::new();
            let mut branches = Vec::new();
            for item in items {
                match &item.kind {
                    NodeKind::Scalar { .. } => {
                        keywords.push(scalar_value(item));
                        keywords_at.push(node_location(item));
                    }
                    NodeKind::Map(_) => branches.push(parse_selection(item)?),
                    NodeKind::Seq(_) => {
                        return Err(problem(
                            SigmaError::Selection,
                            item,
                            "a list inside a search-identifier list",
                        ))
                    }
                }
            }
            if !keywords.is_empty() {
                let kw = SelectionAst::And(vec![FieldSpec {
                    field: None,
                    modifiers: Vec::new(),
                    values: keywords,
                    at: node_location(node),
                    value_at: keywords_at,
                }]);
                if branches.is_empty() {
                    return Ok(kw);
                }
                branches.insert(0, kw);
            }
            Ok(SelectionAst::Or(branches))
        }
        NodeKind::Scalar { .. } if !node.is_null() => Ok(SelectionAst::And(vec![FieldSpec {
            field: None,
            modifiers: Vec::new(),
            values: vec![scalar_value(node)],
            at: node_location(node),
            value_at: vec![node_location(node)],
        }])),
        NodeKind::Scalar { .. } => Err(problem(
            SigmaError::Selection,
            node,
            "search identifier with no value",
        )),
    }
}

fn parse_field_spec(key: &Node, value: &Node) -> Result<FieldSpec, Problem> {
    let key_text = key
        .as_str()
        .ok_or_else(|| problem(SigmaError::Selection, key, "field names must be strings"))?;
    let (field, modifiers) =
        split_key(key_text).map_err(|e| problem(SigmaError::Modifier, key, e))?;
    let mut value_at = Vec::new();
    let values = match &value.kind {
        NodeKind::Scalar { .. } => {
            value_at.push(node_location(value));
            vec![scalar_value(value)]
        }
        NodeKind::Seq(items) => {
            let mut vals = Vec::with_capacity(items.len());
            for i in items {
                match &i.kind {
                    NodeKind::Scalar { .. } => {
                        vals.push(scalar_value(i));
                        value_at.push(node_location(i));
                    }
                    _ => {
                        return Err(problem(
                            SigmaError::Selection,
                            i,
                            format!("value of '{key_text}' must be a scalar or a list of scalars"),
                        ))
                    }
                }
            }
            if vals.is_empty() {
                return Err(problem(
                    SigmaError::Selection,
                    value,
                    format!("empty value list for '{key_text}'"),
                ));
            }
            vals
        }
        NodeKind::Map(_) => {
            return Err(problem(
                SigmaError::Selection,
                value,
                format!("value of '{key_text}' must be a scalar or a list of scalars"),
            ))
        }
    };
    Ok(FieldSpec {
        field,
        modifiers,
        values,
        at: node_location(key),
        value_at,
    })
}

/// Types a scalar as YAML 1.2's core schema would (plain scalars only; quoted ones are strings).
pub fn scalar_value(node: &Node) -> SigmaValue {
    let NodeKind::Scalar { text, plain } = &node.kind else {
        return SigmaValue::Null;
    };
    if !plain {
        return SigmaValue::Str(text.clone());
    }
    if is_null_text(text) {
        return SigmaValue::Null;
    }
    match text.as_str() {
        "true" | "True" | "TRUE" => return SigmaValue::Bool(true),
        "false" | "False" | "FALSE" => return SigmaValue::Bool(false),
        _ => {}
    }
    if let Some(v) = parse_yaml_number(text) {
        return SigmaValue::Num {
            text: text.clone(),
            value: v,
        };
    }
    SigmaValue::Str(text.clone())
}

fn parse_yaml_number(t: &str) -> Option<f64> {
    let b = t.as_bytes();
    if b.is_empty() {
        return None;
    }
    if let Some(hex) = t.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok().map(|v| v as f64);
    }
    if let Some(oct) = t.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok().map(|v| v as f64);
    }
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    let is_int = !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit());
    if is_int {
        return t.parse::<f64>().ok();
    }
    let is_float = digits.bytes().any(|c| c.is_ascii_digit())
        && digits
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'-' | b'+'))
        && digits.bytes().filter(|&c| c == b'.').count() <= 1;
    if is_float {
        return t.parse::<f64>().ok();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml2node::parse_documents;

    fn parse(y: &str) -> Vec<ParsedDoc> {
        documents_to_rules(parse_documents(y).unwrap())
    }

    const BASE: &str = "title: t\nlogsource:\n  product: windows\ndetection:\n";

    #[test]
    fn typed_scalars() {
        let docs = parse(&format!(
            "{BASE}  sel:\n    a: 4688\n    b: '4688'\n    c: 0x17\n    d: null\n    e: true\n    f: 1.5\n    g: 1.2.3\n  condition: sel\n"
        ));
        let ParsedDoc::Rule(r) = &docs[0] else {
            panic!("{docs:?}")
        };
        let SelectionAst::And(specs) = &r.selections[0].1 else {
            panic!()
        };
        let v: Vec<_> = specs.iter().map(|s| s.values[0].clone()).collect();
        assert_eq!(
            v[0],
            SigmaValue::Num {
                text: "4688".into(),
                value: 4688.0
            }
        );
        assert_eq!(v[1], SigmaValue::Str("4688".into()));
        assert_eq!(
            v[2],
            SigmaValue::Num {
                text: "0x17".into(),
                value: 23.0
            }
        );
        assert_eq!(v[3], SigmaValue::Null);
        assert_eq!(v[4], SigmaValue::Bool(true));
        assert_eq!(
            v[5],
            SigmaValue::Num {
                text: "1.5".into(),
                value: 1.5
            }
        );
        assert_eq!(v[6], SigmaValue::Str("1.2.3".into()));
    }

    #[test]
    fn invalid_rules_have_lines() {
        let docs = parse(&format!("{BASE}  sel:\n    a|nope: x\n  condition: sel\n"));
        match &docs[0] {
            ParsedDoc::Invalid { at, error, .. } => {
                assert_eq!(*at, Location::at(6, 5));
                assert_eq!(error.code(), "SIGMA-E009");
                assert!(
                    error.to_string().contains("unknown modifier 'nope'"),
                    "{error}"
                );
            }
            other => panic!("{other:?}"),
        }
        let docs = parse("title: t\nlogsource: {product: x}\n");
        assert!(
            matches!(&docs[0], ParsedDoc::Invalid { error: SigmaError::RuleShape(r), .. } if r.contains("detection"))
        );
        let docs = parse(&format!("{BASE}  sel:\n    a: x\n"));
        assert!(
            matches!(&docs[0], ParsedDoc::Invalid { error: SigmaError::Condition(r), .. } if r.contains("condition"))
        );
    }

    #[test]
    fn collections() {
        let y = "action: global\ntitle: g\nlogsource:\n  product: windows\ndetection:\n  condition: sel\n---\ndetection:\n  sel:\n    a: 1\n---\ndetection:\n  sel:\n    a: 2\n---\naction: reset\n---\naction: repeat\ndetection:\n  sel:\n    a: 3\n";
        let docs = parse(y);
        assert_eq!(docs.len(), 3);
        for d in &docs {
            let ParsedDoc::Rule(r) = d else {
                panic!("{d:?}")
            };
            assert_eq!(r.title, "g");
            assert_eq!(r.logsource.product.as_deref(), Some("windows"));
        }
    }

    #[test]
    fn correlation_and_filter_documents_are_recognised() {
        let docs = parse(
            "title: c\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {gte: 3}\n---\ntitle: f\nlogsource: {product: windows}\nfilter:\n  rules: [a]\n  sel: {User: x}\n  condition: sel\n---\ntitle: broken\ncorrelation:\n  type: event_count\n",
        );
        assert!(matches!(docs[0], ParsedDoc::Correlation(_)));
        assert!(matches!(docs[1], ParsedDoc::Filter(_)));
        assert!(
            matches!(&docs[2], ParsedDoc::Invalid { error: SigmaError::Correlation(r), .. } if r.contains("rules"))
        );
    }

    #[test]
    fn keywords_and_lists_of_maps() {
        let docs = parse(&format!(
            "{BASE}  kw:\n    - evil\n    - 'bad'\n  lm:\n    - a: 1\n    - b: 2\n  allkw:\n    '|all':\n      - x\n      - y\n  condition: kw or lm or allkw\n"
        ));
        let ParsedDoc::Rule(r) = &docs[0] else {
            panic!("{docs:?}")
        };
        assert!(
            matches!(&r.selections[0].1, SelectionAst::And(s) if s[0].field.is_none() && s[0].values.len() == 2)
        );
        assert!(matches!(&r.selections[1].1, SelectionAst::Or(b) if b.len() == 2));
        assert!(
            matches!(&r.selections[2].1, SelectionAst::And(s) if s[0].field.is_none() && s[0].modifiers == vec![crate::Modifier::All])
        );
    }
}
