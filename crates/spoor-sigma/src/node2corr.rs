//! YAML nodes -> correlation and filter rule ASTs (Sigma correlation rules 2.x and filter
//! rules), with every shape problem reported on its own line.

use crate::ast::RuleAst;
use crate::node2ast::{
    node_location, parse_detection, parse_level, parse_logsource, parse_tags, problem, text_of,
    Problem,
};
use crate::yaml2node::{Node, NodeKind};
use crate::{Location, SigmaError};

/// The correlation types of the specification (2.0, with the metric types of later drafts).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CorrelationType {
    /// Number of events in the window.
    EventCount,
    /// Number of distinct values of `field` in the window.
    ValueCount,
    /// Every referenced rule matched in the window (any order).
    Temporal,
    /// Every referenced rule matched in the window, in the order listed.
    TemporalOrdered,
    /// Sum of the numeric values of `field`.
    ValueSum,
    /// Mean of the numeric values of `field`.
    ValueAvg,
    /// The given percentile (0-100) of the numeric values of `field`.
    ValuePercentile(f64),
    /// Median of the numeric values of `field`.
    ValueMedian,
}

impl CorrelationType {
    /// The name as written in rules.
    pub fn name(&self) -> &'static str {
        match self {
            CorrelationType::EventCount => "event_count",
            CorrelationType::ValueCount => "value_count",
            CorrelationType::Temporal => "temporal",
            CorrelationType::TemporalOrdered => "temporal_ordered",
            CorrelationType::ValueSum => "value_sum",
            CorrelationType::ValueAvg => "value_avg",
            CorrelationType::ValuePercentile(_) => "value_percentile",
            CorrelationType::ValueMedian => "value_median",
        }
    }

    /// What the condition is tested on, for reports.
    pub fn aggregate_name(&self) -> &'static str {
        match self {
            CorrelationType::EventCount => "count",
            CorrelationType::ValueCount => "distinct_count",
            CorrelationType::Temporal | CorrelationType::TemporalOrdered => "rules",
            CorrelationType::ValueSum => "sum",
            CorrelationType::ValueAvg => "avg",
            CorrelationType::ValuePercentile(_) => "percentile",
            CorrelationType::ValueMedian => "median",
        }
    }

    fn needs_field(&self) -> bool {
        !matches!(
            self,
            CorrelationType::EventCount
                | CorrelationType::Temporal
                | CorrelationType::TemporalOrdered
        )
    }

    fn is_temporal(&self) -> bool {
        matches!(
            self,
            CorrelationType::Temporal | CorrelationType::TemporalOrdered
        )
    }
}

/// A correlation `condition`: every bound given must hold (`gt: 100` and `lte: 200` is a range).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MetricCondition {
    /// `gt`.
    pub gt: Option<f64>,
    /// `gte`.
    pub gte: Option<f64>,
    /// `lt`.
    pub lt: Option<f64>,
    /// `lte`.
    pub lte: Option<f64>,
    /// `eq`.
    pub eq: Option<f64>,
}

impl MetricCondition {
    /// Whether `x` satisfies every bound.
    pub fn holds(&self, x: f64) -> bool {
        self.gt.is_none_or(|v| x > v)
            && self.gte.is_none_or(|v| x >= v)
            && self.lt.is_none_or(|v| x < v)
            && self.lte.is_none_or(|v| x <= v)
            && self.eq.is_none_or(|v| x == v)
    }

    /// True when no bound is given.
    pub fn is_empty(&self) -> bool {
        self.gt.is_none()
            && self.gte.is_none()
            && self.lt.is_none()
            && self.lte.is_none()
            && self.eq.is_none()
    }
}

/// A parsed correlation rule.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationAst {
    /// `title`.
    pub title: String,
    /// `id`.
    pub id: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `level`.
    pub level: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `tags`.
    pub tags: Vec<String>,
    /// `correlation.type`.
    pub kind: CorrelationType,
    /// `correlation.rules`: names or ids, with where each is written.
    pub rules: Vec<(String, Location)>,
    /// `correlation.group-by`.
    pub group_by: Vec<String>,
    /// `correlation.timespan` in seconds.
    pub timespan: i64,
    /// `correlation.condition` bounds (defaults for temporal types: every rule).
    pub condition: Option<MetricCondition>,
    /// `correlation.condition.field`: one field, or several (a tuple of values).
    pub fields: Vec<String>,
    /// `correlation.aliases`: alias -> (rule name -> field).
    pub aliases: Vec<(String, Vec<(String, String)>)>,
    /// `generate`: whether the referenced rules also report on their own.
    pub generate: bool,
    /// Where the document starts (its line is the report's line when the correlation loads).
    pub at: Location,
}

/// Which rules a filter applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterTargets {
    /// `rules: any`: every rule of a compatible log source.
    Any,
    /// Named rules (id or name), with where each is written.
    Rules(Vec<(String, Location)>),
}

/// A parsed filter rule: a detection (as a rule AST) and the rules it applies to.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterAst {
    /// The filter's own detection, log source and identity.
    pub rule: RuleAst,
    /// The rules it tunes.
    pub targets: FilterTargets,
}

/// Parses a `timespan` (`30s`, `5m`, `1h`, `2d`) to seconds.
pub fn parse_timespan(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let unit = t.chars().last().ok_or("empty timespan")?;
    let digits = &t[..t.len() - unit.len_utf8()];
    let mult = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => {
            return Err(format!(
                "bad timespan '{t}': a number and one of s, m, h, d (e.g. 90m)"
            ))
        }
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "bad timespan '{t}': a number and one of s, m, h, d (e.g. 90m)"
        ));
    }
    let n: i64 = digits
        .parse()
        .map_err(|_| format!("bad timespan '{t}': number too large"))?;
    if n == 0 {
        return Err(format!("bad timespan '{t}': must be longer than zero"));
    }
    n.checked_mul(mult)
        .filter(|s| *s <= 3_650 * 86_400)
        .ok_or_else(|| format!("bad timespan '{t}': longer than ten years"))
}

fn string_list(
    kind: fn(String) -> SigmaError,
    node: &Node,
    what: &str,
) -> Result<Vec<(String, Location)>, Problem> {
    match &node.kind {
        NodeKind::Scalar { text, .. } => Ok(vec![(text.clone(), node_location(node))]),
        NodeKind::Seq(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(|s| (s.trim().to_string(), node_location(i)))
                    .filter(|(s, _)| !s.is_empty())
                    .ok_or_else(|| problem(kind, i, format!("{what} must be strings")))
            })
            .collect(),
        NodeKind::Map(_) => Err(problem(kind, node, format!("{what} must be a list"))),
    }
}

fn number(node: &Node, key: &str) -> Result<f64, Problem> {
    node.as_str()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .ok_or_else(|| {
            problem(
                SigmaError::Correlation,
                node,
                format!("condition '{key}' must be a number"),
            )
        })
}

/// Parses a document that has a `correlation` key.
pub fn parse_correlation(doc: &Node, title: &str) -> Result<CorrelationAst, Problem> {
    if title.trim().is_empty() {
        return Err(problem(SigmaError::Correlation, doc, "missing 'title'"));
    }
    let corr = doc
        .get("correlation")
        .filter(|c| c.as_map().is_some())
        .ok_or_else(|| {
            problem(
                SigmaError::Correlation,
                doc,
                "'correlation' must be a mapping",
            )
        })?;
    let type_node = corr
        .get("type")
        .ok_or_else(|| problem(SigmaError::Correlation, corr, "correlation: missing 'type'"))?;
    let type_text = type_node.as_str().unwrap_or_default().trim().to_string();
    let mut kind = match type_text.as_str() {
        "event_count" => CorrelationType::EventCount,
        "value_count" => CorrelationType::ValueCount,
        "temporal" => CorrelationType::Temporal,
        "temporal_ordered" => CorrelationType::TemporalOrdered,
        "value_sum" => CorrelationType::ValueSum,
        "value_avg" => CorrelationType::ValueAvg,
        "value_percentile" => CorrelationType::ValuePercentile(95.0),
        "value_median" => CorrelationType::ValueMedian,
        other => {
            return Err(problem(
                SigmaError::Correlation,
                type_node,
                format!("correlation: unknown type '{other}'"),
            ))
        }
    };
    let rules_node = corr.get("rules").ok_or_else(|| {
        problem(
            SigmaError::Correlation,
            corr,
            "correlation: missing 'rules'",
        )
    })?;
    let rules = string_list(SigmaError::Correlation, rules_node, "correlation: rules")?;
    if rules.is_empty() {
        return Err(problem(
            SigmaError::Correlation,
            rules_node,
            "correlation: 'rules' is empty",
        ));
    }
    let group_by = match corr.get("group-by") {
        None => Vec::new(),
        Some(n) if n.is_null() => Vec::new(),
        Some(n) => string_list(SigmaError::Correlation, n, "correlation: group-by fields")?
            .into_iter()
            .map(|(s, _)| s)
            .collect(),
    };
    let ts_node = corr.get("timespan").ok_or_else(|| {
        problem(
            SigmaError::Correlation,
            corr,
            "correlation: missing 'timespan'",
        )
    })?;
    let timespan = parse_timespan(ts_node.as_str().unwrap_or_default()).map_err(|e| {
        problem(
            SigmaError::Correlation,
            ts_node,
            format!("correlation: {e}"),
        )
    })?;
    let mut condition = None;
    let mut fields = Vec::new();
    if let Some(c) = corr.get("condition") {
        let entries = c.as_map().ok_or_else(|| {
            problem(
                SigmaError::Correlation,
                c,
                "correlation: 'condition' must be a mapping",
            )
        })?;
        let mut mc = MetricCondition::default();
        for (k, v) in entries {
            let key = k.as_str().unwrap_or_default();
            match key {
                "gt" => mc.gt = Some(number(v, key)?),
                "gte" => mc.gte = Some(number(v, key)?),
                "lt" => mc.lt = Some(number(v, key)?),
                "lte" => mc.lte = Some(number(v, key)?),
                "eq" => mc.eq = Some(number(v, key)?),
                "field" => {
                    fields =
                        string_list(SigmaError::Correlation, v, "correlation: condition field")?
                            .into_iter()
                            .map(|(s, _)| s)
                            .collect()
                }
                "percentile" => {
                    let p = number(v, key)?;
                    if !(0.0..=100.0).contains(&p) {
                        return Err(problem(
                            SigmaError::Correlation,
                            v,
                            "correlation: percentile must be 0 to 100",
                        ));
                    }
                    match &mut kind {
                        CorrelationType::ValuePercentile(x) => *x = p,
                        _ => {
                            return Err(problem(
                                SigmaError::Correlation,
                                v,
                                "correlation: 'percentile' belongs to value_percentile",
                            ))
                        }
                    }
                }
                other => {
                    return Err(problem(
                        SigmaError::Correlation,
                        k,
                        format!("correlation: unknown condition key '{other}'"),
                    ))
                }
            }
        }
        if !mc.is_empty() {
            condition = Some(mc);
        }
    }
    let cond_node = corr.get("condition").unwrap_or(corr);
    if condition.is_none() && !kind.is_temporal() {
        return Err(problem(
            SigmaError::Correlation,
            cond_node,
            format!(
                "correlation: {} needs a condition (gt, gte, lt, lte or eq)",
                kind.name()
            ),
        ));
    }
    if kind.needs_field() && fields.is_empty() {
        return Err(problem(
            SigmaError::Correlation,
            cond_node,
            format!(
                "correlation: {} needs 'field' in its condition",
                kind.name()
            ),
        ));
    }
    let mut aliases = Vec::new();
    if let Some(a) = corr.get("aliases") {
        let entries = a.as_map().ok_or_else(|| {
            problem(
                SigmaError::Correlation,
                a,
                "correlation: 'aliases' must be a mapping",
            )
        })?;
        for (k, v) in entries {
            let alias = k.as_str().ok_or_else(|| {
                problem(
                    SigmaError::Correlation,
                    k,
                    "correlation: alias names must be strings",
                )
            })?;
            let per_rule = v.as_map().ok_or_else(|| {
                problem(
                    SigmaError::Correlation,
                    v,
                    format!("correlation: alias '{alias}' must map rule names to fields"),
                )
            })?;
            let mut map = Vec::new();
            for (rk, rv) in per_rule {
                match (rk.as_str(), rv.as_str()) {
                    (Some(r), Some(f)) => map.push((r.to_string(), f.to_string())),
                    _ => {
                        return Err(problem(
                            SigmaError::Correlation,
                            rk,
                            format!("correlation: alias '{alias}' must map rule names to fields"),
                        ))
                    }
                }
            }
            aliases.push((alias.to_string(), map));
        }
    }
    let generate = match doc.get("generate") {
        None => false,
        Some(g) => match g.as_str().map(str::trim) {
            Some("true") => true,
            Some("false") => false,
            _ => {
                return Err(problem(
                    SigmaError::Correlation,
                    g,
                    "'generate' must be true or false",
                ))
            }
        },
    };
    Ok(CorrelationAst {
        title: title.to_string(),
        id: text_of(doc.get("id")),
        name: text_of(doc.get("name")).filter(|n| !n.trim().is_empty()),
        level: parse_level(doc)?,
        description: text_of(doc.get("description")),
        tags: parse_tags(doc),
        kind,
        rules,
        group_by,
        timespan,
        condition,
        fields,
        aliases,
        generate,
        at: node_location(doc),
    })
}

/// Parses a filter rule (a document with `filter` and no `detection`).
pub fn parse_filter(doc: &Node, title: &str) -> Result<FilterAst, Problem> {
    if title.trim().is_empty() {
        return Err(problem(SigmaError::Filter, doc, "missing 'title'"));
    }
    let filter = doc
        .get("filter")
        .filter(|f| f.as_map().is_some())
        .ok_or_else(|| problem(SigmaError::Filter, doc, "'filter' must be a mapping"))?;
    let rules_node = filter
        .get("rules")
        .ok_or_else(|| problem(SigmaError::Filter, filter, "filter: missing 'rules'"))?;
    let targets = match rules_node.as_str().map(str::trim) {
        Some("any") => FilterTargets::Any,
        _ => {
            let list = string_list(SigmaError::Filter, rules_node, "filter: rules")?;
            if list.is_empty() {
                return Err(problem(
                    SigmaError::Filter,
                    rules_node,
                    "filter: 'rules' is empty",
                ));
            }
            FilterTargets::Rules(list)
        }
    };
    let logsource = parse_logsource(doc)?;
    let (selections, conditions, condition_at) = parse_detection(filter, &["rules"])?;
    Ok(FilterAst {
        rule: RuleAst {
            title: title.to_string(),
            id: text_of(doc.get("id")),
            name: text_of(doc.get("name")),
            status: text_of(doc.get("status")),
            level: None,
            description: text_of(doc.get("description")),
            tags: Vec::new(),
            logsource,
            selections,
            conditions,
            condition_at,
            line: doc.line,
        },
        targets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml2node::parse_documents;

    fn corr(yaml: &str) -> Result<CorrelationAst, (usize, String)> {
        let docs = parse_documents(yaml).expect("yaml");
        let d = &docs[0];
        let title = text_of(d.get("title")).unwrap_or_default();
        parse_correlation(d, &title).map_err(|p| (p.at.line, p.error.to_string()))
    }

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("30s"), Ok(30));
        assert_eq!(parse_timespan("90m"), Ok(5_400));
        assert_eq!(parse_timespan("1h"), Ok(3_600));
        assert_eq!(parse_timespan("2d"), Ok(172_800));
        for bad in [
            "",
            "h",
            "5",
            "5y",
            "-5m",
            "1.5h",
            "0m",
            "5 m",
            "99999999999999999999s",
        ] {
            assert!(parse_timespan(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn spec_example_event_count() {
        let c = corr("title: Many failed logins\nid: 0e95725d-7320-415d-80f7-004da920fc11\ncorrelation:\n    type: event_count\n    rules:\n        - 5638f7c0-ac70-491d-8465-2a65075e0d86\n    group-by:\n        - ComputerName\n    timespan: 1h\n    condition:\n        gte: 100\n").unwrap();
        assert_eq!(c.kind, CorrelationType::EventCount);
        assert_eq!(c.group_by, vec!["ComputerName"]);
        assert_eq!(c.timespan, 3600);
        let cond = c.condition.unwrap();
        assert!(cond.holds(100.0) && !cond.holds(99.0));
        assert!(!c.generate);
    }

    #[test]
    fn ranges_and_fields() {
        let c = corr("title: t\ncorrelation:\n  type: value_count\n  rules: [a]\n  group-by: [ComputerName, WorkstationName]\n  timespan: 1d\n  condition:\n    field: User\n    gt: 100\n    lte: 200\n").unwrap();
        assert_eq!(c.fields, vec!["User"]);
        let cond = c.condition.unwrap();
        assert!(!cond.holds(100.0) && cond.holds(101.0) && cond.holds(200.0) && !cond.holds(201.0));
    }

    #[test]
    fn aliases_and_generate() {
        let c = corr("title: t\ngenerate: true\ncorrelation:\n  type: temporal\n  rules: [internal_error, new_network_connection]\n  group-by: [internal_ip]\n  timespan: 10s\n  aliases:\n    internal_ip:\n      internal_error: destination.ip\n      new_network_connection: source.ip\n").unwrap();
        assert!(c.generate);
        assert!(c.condition.is_none());
        assert_eq!(
            c.aliases,
            vec![(
                "internal_ip".to_string(),
                vec![
                    ("internal_error".to_string(), "destination.ip".to_string()),
                    (
                        "new_network_connection".to_string(),
                        "source.ip".to_string()
                    )
                ]
            )]
        );
    }

    #[test]
    fn problems_on_their_lines() {
        let cases = [
            ("title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5x\n  condition: {gte: 2}\n", 5, "timespan"),
            ("title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n", 3, "needs a condition"),
            ("title: t\ncorrelation:\n  type: value_count\n  rules: [a]\n  timespan: 5m\n  condition:\n    gte: 2\n", 7, "needs 'field'"),
            ("title: t\ncorrelation:\n  type: sequence\n  rules: [a]\n", 3, "unknown type"),
            ("title: t\ncorrelation:\n  type: event_count\n  rules: []\n  timespan: 5m\n  condition: {gte: 2}\n", 4, "empty"),
            ("title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition:\n    gte: many\n", 7, "number"),
            ("title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition:\n    above: 3\n", 7, "unknown condition key"),
        ];
        for (yaml, line, what) in cases {
            let (l, reason) = corr(yaml).expect_err(yaml);
            assert_eq!(l, line, "{reason}");
            assert!(reason.contains(what), "{reason}");
        }
    }

    #[test]
    fn percentile_value() {
        let c = corr("title: t\ncorrelation:\n  type: value_percentile\n  rules: [a]\n  timespan: 1d\n  condition:\n    field: bytes\n    percentile: 99\n    gt: 1000\n").unwrap();
        assert_eq!(c.kind, CorrelationType::ValuePercentile(99.0));
    }

    #[test]
    fn filters() {
        let docs = parse_documents("title: Filter admins\nlogsource:\n  category: process_creation\n  product: windows\nfilter:\n  rules:\n    - 6f3e2987-db24-4c78-a860-b4f4095a7095\n    - df0841c0\n  selection:\n    User|startswith: 'adm_'\n  condition: selection\n").unwrap();
        let f = parse_filter(&docs[0], "Filter admins").unwrap();
        assert_eq!(
            f.targets,
            FilterTargets::Rules(vec![
                (
                    "6f3e2987-db24-4c78-a860-b4f4095a7095".into(),
                    Location::at(7, 7)
                ),
                ("df0841c0".into(), Location::at(8, 7))
            ])
        );
        assert_eq!(f.rule.selections.len(), 1);
        let docs = parse_documents("title: f\nlogsource: {product: windows}\nfilter:\n  rules: any\n  sel: {User: x}\n  condition: sel\n").unwrap();
        assert_eq!(
            parse_filter(&docs[0], "f").unwrap().targets,
            FilterTargets::Any
        );
        let docs = parse_documents("title: f\nlogsource: {product: windows}\nfilter:\n  rules: any\n  sel: {User: x}\n  condition: other\n").unwrap();
        assert!(parse_filter(&docs[0], "f").is_err());
    }
}
