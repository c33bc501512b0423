//! An ATT&CK Navigator layer (layer format 4.5) of the techniques seen.
//!
//! The Navigator is how many teams brief and compare coverage; a layer lets them drop a run's
//! results straight onto the matrix. Each technique is scored by its number of findings and
//! coloured by the most severe level among them; the comment lists the rules behind it.

use crate::json_safe::{write_json, SafeJsonFormatter};
use serde::Serialize;
use spoor_event::{Finding, FindingSink, RuleLevel, RunSummary};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

/// How many rule titles a technique's comment names before saying "and N more".
const MAX_RULES_NAMED: usize = 10;

/// The colour of a level, shared by the Navigator layer and the HTML report.
pub fn level_colour(level: RuleLevel) -> &'static str {
    match level {
        RuleLevel::Critical => "#b2182b",
        RuleLevel::High => "#ef6548",
        RuleLevel::Medium => "#fdae61",
        RuleLevel::Low => "#fee08b",
        RuleLevel::Informational => "#d9ef8b",
    }
}

#[derive(Default)]
struct TechniqueTally {
    count: u64,
    max_level: RuleLevel,
    rules: BTreeSet<String>,
}

/// Writes one Navigator layer JSON document at `finish`.
pub struct NavigatorWriter<W: Write> {
    out: W,
    name: String,
    seen: BTreeMap<String, TechniqueTally>,
}

impl<W: Write> NavigatorWriter<W> {
    /// A writer to `out` (the CLI's stdout or the `--output` file; never a path from data); the
    /// layer is called `name`.
    pub fn new(out: W, name: impl Into<String>) -> Self {
        NavigatorWriter {
            out,
            name: name.into(),
            seen: BTreeMap::new(),
        }
    }
}

#[derive(Serialize)]
struct Layer<'a> {
    name: &'a str,
    versions: Versions,
    domain: &'static str,
    description: String,
    sorting: u8,
    layout: Layout,
    #[serde(rename = "hideDisabled")]
    hide_disabled: bool,
    techniques: Vec<TechniqueOut>,
    gradient: Gradient,
    #[serde(rename = "legendItems")]
    legend_items: Vec<LegendItem>,
    #[serde(rename = "showTacticRowBackground")]
    show_tactic_row_background: bool,
    #[serde(rename = "selectTechniquesAcrossTactics")]
    select_techniques_across_tactics: bool,
    #[serde(rename = "selectSubtechniquesWithParent")]
    select_subtechniques_with_parent: bool,
    metadata: Vec<Metadata>,
}

#[derive(Serialize)]
struct Versions {
    attack: &'static str,
    navigator: &'static str,
    layer: &'static str,
}

#[derive(Serialize)]
struct Layout {
    layout: &'static str,
    #[serde(rename = "aggregateFunction")]
    aggregate_function: &'static str,
    #[serde(rename = "showID")]
    show_id: bool,
    #[serde(rename = "showName")]
    show_name: bool,
    #[serde(rename = "showAggregateScores")]
    show_aggregate_scores: bool,
    #[serde(rename = "countUnscored")]
    count_unscored: bool,
    #[serde(rename = "expandedSubtechniques")]
    expanded_subtechniques: &'static str,
}

#[derive(Serialize)]
struct TechniqueOut {
    #[serde(rename = "techniqueID")]
    technique_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<u64>,
    #[serde(skip_serializing_if = "String::is_empty")]
    comment: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    color: Option<&'static str>,
    enabled: bool,
    #[serde(rename = "showSubtechniques")]
    show_subtechniques: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    metadata: Vec<Metadata>,
}

#[derive(Serialize)]
struct Metadata {
    name: &'static str,
    value: String,
}

#[derive(Serialize)]
struct Gradient {
    colors: [&'static str; 2],
    #[serde(rename = "minValue")]
    min_value: u64,
    #[serde(rename = "maxValue")]
    max_value: u64,
}

#[derive(Serialize)]
struct LegendItem {
    label: String,
    color: &'static str,
}

impl<W: Write> FindingSink for NavigatorWriter<W> {
    fn write(&mut self, f: &Finding) -> io::Result<()> {
        for t in &f.rule.attack.techniques {
            let tally = self.seen.entry(t.clone()).or_default();
            tally.count = tally.count.saturating_add(f.count);
            tally.max_level = tally.max_level.max(f.rule.level);
            if tally.rules.len() <= MAX_RULES_NAMED {
                tally.rules.insert(f.rule.title.clone());
            }
        }
        Ok(())
    }

    fn finish(&mut self, summary: &RunSummary) -> io::Result<()> {
        let mut techniques = Vec::new();
        let mut parents_shown = BTreeSet::new();
        for (id, tally) in &self.seen {
            let mut rules: Vec<&str> = tally.rules.iter().map(String::as_str).collect();
            let more = rules.len() > MAX_RULES_NAMED;
            rules.truncate(MAX_RULES_NAMED);
            let mut comment = format!(
                "{} finding(s), most severe: {}; rules: {}",
                tally.count,
                tally.max_level.as_str(),
                rules.join("; ")
            );
            if more {
                comment.push_str("; and more");
            }
            techniques.push(TechniqueOut {
                technique_id: id.clone(),
                score: Some(tally.count),
                comment,
                color: Some(level_colour(tally.max_level)),
                enabled: true,
                show_subtechniques: false,
                metadata: vec![Metadata {
                    name: "max level",
                    value: tally.max_level.as_str().to_string(),
                }],
            });
            if let Some((parent, _)) = id.split_once('.') {
                if !self.seen.contains_key(parent) {
                    parents_shown.insert(parent.to_string());
                }
            }
        }
        // A parent must have `showSubtechniques` for the Navigator to unfold its scored
        // sub-techniques.
        for parent in parents_shown {
            techniques.push(TechniqueOut {
                technique_id: parent,
                score: None,
                comment: String::new(),
                color: None,
                enabled: true,
                show_subtechniques: true,
                metadata: Vec::new(),
            });
        }
        for t in techniques.iter_mut() {
            if t.technique_id.contains('.') {
                continue;
            }
            let prefix = format!("{}.", t.technique_id);
            t.show_subtechniques |= self.seen.keys().any(|k| k.starts_with(&prefix));
        }
        let max_value = self
            .seen
            .values()
            .map(|t| t.count)
            .max()
            .unwrap_or(1)
            .max(1);
        let layer = Layer {
            name: &self.name,
            versions: Versions {
                attack: "18",
                navigator: "5.1",
                layer: "4.5",
            },
            domain: "enterprise-attack",
            description: format!(
                "spoor: {} finding(s) over {} event(s) in {} file(s); score = number of findings, colour = most severe level",
                summary.findings,
                summary.events,
                summary.files.len()
            ),
            sorting: 3,
            layout: Layout {
                layout: "side",
                aggregate_function: "max",
                show_id: true,
                show_name: true,
                show_aggregate_scores: false,
                count_unscored: false,
                expanded_subtechniques: "annotated",
            },
            hide_disabled: false,
            techniques,
            gradient: Gradient {
                colors: ["#ffffff", "#ef6548"],
                min_value: 0,
                max_value,
            },
            legend_items: RuleLevel::ALL
                .iter()
                .rev()
                .map(|l| LegendItem {
                    label: format!("most severe: {}", l.as_str()),
                    color: level_colour(*l),
                })
                .collect(),
            show_tactic_row_background: false,
            select_techniques_across_tactics: true,
            select_subtechniques_with_parent: false,
            metadata: vec![Metadata {
                name: "generated by",
                value: "spoor".into(),
            }],
        };
        write_json(&mut self.out, &layer, SafeJsonFormatter::terminal())?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}
