//! Correlation ASTs -> a [`CorrelationSet`]: references resolved by name or id across every
//! file and document, cycles and dangling references reported on their lines, aliases turned
//! into per-rule field names, and the fields each fed rule must keep computed once.

use crate::correlation::{CompiledCorrelation, CorrelationSet, Input};
use crate::ir::CompiledRule;
use crate::node2corr::CorrelationAst;
use crate::{Location, RuleReport, RuleStatus, SigmaError};
use chrono::Duration;
use rustc_hash::{FxHashMap, FxHashSet};
use spoor_event::{attack_from_tags, RuleKind, RuleLevel, RuleMeta};
use std::sync::Arc;

/// A correlation as loaded, with the file it came from.
pub(crate) struct LoadedCorrelation {
    pub(crate) origin: String,
    pub(crate) ast: CorrelationAst,
}

/// Names and ids of documents that did not load, so a reference to one says why.
pub(crate) type NotLoaded = FxHashMap<String, RuleStatus>;

enum Target {
    Rule(u32),
    Corr(usize),
}

/// A reference resolved: what it names, the name as written, and where it is written.
type Reference = (Target, String, Location);

/// A correlation's references resolved, or the place and status of the first that is not.
type Resolved = Result<Vec<Reference>, (Location, RuleStatus)>;

/// Resolves the correlations against the compiled rules (whose `feeds_only` flags it sets).
/// `names[i]` is the `name` of rule `i`.
pub(crate) fn build(
    loaded: Vec<LoadedCorrelation>,
    rules: &mut [CompiledRule],
    names: &[Option<String>],
    not_loaded: &NotLoaded,
) -> (CorrelationSet, Vec<RuleReport>) {
    // Lookup table: id or name -> targets (several = ambiguous).
    let mut table: FxHashMap<String, Vec<Target>> = FxHashMap::default();
    for (i, r) in rules.iter().enumerate() {
        if !r.meta.id.is_empty() {
            table
                .entry(r.meta.id.clone())
                .or_default()
                .push(Target::Rule(i as u32));
        }
        if let Some(n) = names.get(i).and_then(Option::as_ref) {
            if Some(n) != Some(&r.meta.id) {
                table
                    .entry(n.clone())
                    .or_default()
                    .push(Target::Rule(i as u32));
            }
        }
    }
    for (k, c) in loaded.iter().enumerate() {
        if let Some(id) = &c.ast.id {
            table.entry(id.clone()).or_default().push(Target::Corr(k));
        }
        if let Some(n) = &c.ast.name {
            if c.ast.id.as_ref() != Some(n) {
                table.entry(n.clone()).or_default().push(Target::Corr(k));
            }
        }
    }
    // Resolve each correlation's references.
    let mut resolved: Vec<Resolved> = Vec::new();
    for c in &loaded {
        let mut refs = Vec::new();
        let mut err = None;
        for (name, at) in &c.ast.rules {
            match table.get(name).map(Vec::as_slice) {
                Some([one]) => refs.push((
                    match one {
                        Target::Rule(r) => Target::Rule(*r),
                        Target::Corr(k) => Target::Corr(*k),
                    },
                    name.clone(),
                    *at,
                )),
                Some(many) if many.len() > 1 => {
                    err = Some((
                        *at,
                        RuleStatus::Invalid(SigmaError::CorrelationReference(format!(
                            "correlation: '{name}' names {} rules (names and ids must be unique)",
                            many.len()
                        ))),
                    ));
                    break;
                }
                _ => {
                    let status = match not_loaded.get(name) {
                        Some(RuleStatus::Unsupported(why)) => {
                            RuleStatus::Unsupported(SigmaError::UnsupportedReference(format!(
                                "correlation: rule '{name}' is unsupported ({why})"
                            )))
                        }
                        Some(RuleStatus::Invalid(_)) => {
                            RuleStatus::Invalid(SigmaError::CorrelationReference(format!(
                                "correlation: rule '{name}' is invalid"
                            )))
                        }
                        _ => RuleStatus::Invalid(SigmaError::CorrelationReference(format!(
                            "correlation: no rule has the name or id '{name}'"
                        ))),
                    };
                    err = Some((*at, status));
                    break;
                }
            }
        }
        resolved.push(match err {
            Some(e) => Err(e),
            None => Ok(refs),
        });
    }
    // Order: depth-first, children first; a cycle or a broken child breaks the parent.
    let n = loaded.len();
    let mut state = vec![0u8; n]; // 0 new, 1 on stack, 2 done
    let mut order = Vec::new();
    let mut broken: Vec<Option<(Location, RuleStatus)>> = vec![None; n];
    for (k, r) in resolved.iter().enumerate() {
        if let Err(e) = r {
            broken[k] = Some(e.clone());
        }
    }
    fn visit(
        k: usize,
        loaded: &[LoadedCorrelation],
        resolved: &[Resolved],
        state: &mut [u8],
        broken: &mut [Option<(Location, RuleStatus)>],
        order: &mut Vec<usize>,
        depth: usize,
    ) {
        if state[k] != 0 {
            return;
        }
        state[k] = 1;
        if depth > 64 {
            broken[k] = Some((
                loaded[k].ast.at,
                RuleStatus::Invalid(SigmaError::CorrelationReference(
                    "correlation: chain deeper than 64".into(),
                )),
            ));
        } else if let Ok(refs) = &resolved[k] {
            for (t, name, at) in refs {
                if let Target::Corr(j) = t {
                    if state[*j] == 1 {
                        broken[k] = Some((
                            *at,
                            RuleStatus::Invalid(SigmaError::CorrelationReference(format!(
                                "correlation: cycle through '{name}'"
                            ))),
                        ));
                        continue;
                    }
                    visit(*j, loaded, resolved, state, broken, order, depth + 1);
                    if broken[*j].is_some() && broken[k].is_none() {
                        broken[k] = Some((
                            *at,
                            RuleStatus::Invalid(SigmaError::CorrelationReference(format!(
                                "correlation: correlation '{name}' does not load"
                            ))),
                        ));
                    }
                }
            }
        }
        state[k] = 2;
        order.push(k);
    }
    for k in 0..n {
        visit(
            k,
            &loaded,
            &resolved,
            &mut state,
            &mut broken,
            &mut order,
            0,
        );
    }
    // A cycle marks only the correlation that closed it; spread to everything that reads a
    // broken one (in dependency order, so one pass suffices).
    for &k in &order {
        if broken[k].is_some() {
            continue;
        }
        if let Ok(refs) = &resolved[k] {
            if let Some((_, name, at)) = refs
                .iter()
                .find(|(t, _, _)| matches!(t, Target::Corr(j) if broken[*j].is_some()))
            {
                broken[k] = Some((
                    *at,
                    RuleStatus::Invalid(SigmaError::CorrelationReference(format!(
                        "correlation: correlation '{name}' does not load"
                    ))),
                ));
            }
        }
    }
    let mut reports = Vec::new();
    let mut set = CorrelationSet::default();
    let mut index_of: FxHashMap<usize, u32> = FxHashMap::default();
    let mut visible_rule: FxHashSet<u32> = FxHashSet::default();
    let mut fed_rule: FxHashSet<u32> = FxHashSet::default();
    let mut visible_corr: FxHashSet<usize> = FxHashSet::default();
    let mut fed_corr: FxHashSet<usize> = FxHashSet::default();
    for &k in &order {
        let c = &loaded[k];
        let (at, status) = match &broken[k] {
            Some((at, status)) => (*at, status.clone()),
            None => (Location::line(c.ast.at.line), RuleStatus::Ok),
        };
        reports.push(RuleReport {
            origin: c.origin.clone(),
            line: at.line,
            column: at.column,
            id: c.ast.id.clone(),
            title: c.ast.title.clone(),
            status: status.clone(),
        });
        let (RuleStatus::Ok, Ok(refs)) = (&status, &resolved[k]) else {
            continue;
        };
        let mut inputs = Vec::new();
        let mut group_fields = Vec::new();
        for (t, name, _) in refs {
            let (input, rule_name) = match t {
                Target::Rule(r) => {
                    fed_rule.insert(*r);
                    if c.ast.generate {
                        visible_rule.insert(*r);
                    }
                    (Input::Rule(*r), names.get(*r as usize).cloned().flatten())
                }
                Target::Corr(j) => {
                    fed_corr.insert(*j);
                    if c.ast.generate {
                        visible_corr.insert(*j);
                    }
                    (
                        Input::Corr(index_of.get(j).copied().unwrap_or(0)),
                        loaded[*j].ast.name.clone(),
                    )
                }
            };
            inputs.push(input);
            // An alias maps the rule's `name` (or the name used in `rules:`) to its field.
            let fields: Vec<Arc<str>> = c
                .ast
                .group_by
                .iter()
                .map(|g| {
                    let mapped = c
                        .ast
                        .aliases
                        .iter()
                        .find(|(a, _)| a == g)
                        .and_then(|(_, m)| {
                            m.iter()
                                .find(|(r, _)| Some(r) == rule_name.as_ref() || r == name)
                                .map(|(_, f)| f.clone())
                        });
                    Arc::from(mapped.unwrap_or_else(|| g.clone()).as_str())
                })
                .collect();
            group_fields.push(fields);
        }
        let level = c
            .ast
            .level
            .as_deref()
            .and_then(|l| l.parse::<RuleLevel>().ok())
            .unwrap_or_default();
        let mut meta = RuleMeta::new(
            c.ast.id.clone().unwrap_or_default(),
            c.ast.title.clone(),
            level,
            RuleKind::Correlation,
        );
        meta.description = c.ast.description.clone();
        meta.attack = attack_from_tags(c.ast.tags.iter().map(String::as_str));
        meta.tags = c.ast.tags.clone();
        meta.path = Some(c.origin.clone());
        index_of.insert(k, set.corrs.len() as u32);
        set.corrs.push(CompiledCorrelation {
            meta: Arc::new(meta),
            kind: c.ast.kind,
            inputs,
            group_names: c
                .ast
                .group_by
                .iter()
                .map(|g| Arc::from(g.as_str()))
                .collect(),
            group_fields,
            value_fields: c.ast.fields.iter().map(|f| Arc::from(f.as_str())).collect(),
            timespan: Duration::seconds(c.ast.timespan),
            condition: c.ast.condition,
            exposes: Vec::new(),
        });
    }
    // Correlations read by others without `generate: true` make no findings of their own;
    // neither do the rules they read (Sigma's default).
    let order_of: FxHashMap<u32, usize> = index_of.iter().map(|(k, v)| (*v, *k)).collect();
    for (ci, c) in set.corrs.iter_mut().enumerate() {
        let k = order_of.get(&(ci as u32)).copied().unwrap_or(usize::MAX);
        if fed_corr.contains(&k) && !visible_corr.contains(&k) {
            Arc::make_mut(&mut c.meta).feeds_only = true;
        }
    }
    for &r in &fed_rule {
        if !visible_rule.contains(&r) {
            if let Some(rule) = rules.get_mut(r as usize) {
                Arc::make_mut(&mut rule.meta).feeds_only = true;
            }
        }
    }
    // What each input must keep: parents first (reverse dependency order).
    let mut needs: Vec<FxHashSet<Arc<str>>> = vec![FxHashSet::default(); set.corrs.len()];
    let mut rule_needs: FxHashMap<u32, FxHashSet<Arc<str>>> = FxHashMap::default();
    for ci in (0..set.corrs.len()).rev() {
        let c = &set.corrs[ci];
        let up: Vec<Arc<str>> = needs[ci].iter().cloned().collect();
        let mut per_input = Vec::new();
        for (slot, input) in c.inputs.iter().enumerate() {
            let mut f: Vec<Arc<str>> = c.group_fields[slot].clone();
            f.extend(c.value_fields.iter().cloned());
            f.extend(up.iter().cloned());
            per_input.push((*input, f));
        }
        for (input, f) in per_input {
            match input {
                Input::Rule(r) => rule_needs.entry(r).or_default().extend(f),
                Input::Corr(j) => {
                    if let Some(n) = needs.get_mut(j as usize) {
                        n.extend(f);
                    }
                }
            }
        }
    }
    for (c, n) in set.corrs.iter_mut().zip(needs) {
        let mut v: Vec<Arc<str>> = n.into_iter().collect();
        v.sort();
        c.exposes = v;
    }
    for (r, n) in rule_needs {
        let mut v: Vec<Arc<str>> = n.into_iter().collect();
        v.sort();
        set.capture.insert(r, v);
        if let Some(rule) = rules.get(r as usize) {
            set.titles.insert(r, rule.meta.title.clone());
        }
    }
    // The rules' metadata is final now: index the fed ones by address.
    for &r in &fed_rule {
        if let Some(rule) = rules.get(r as usize) {
            set.feeds.insert(Arc::as_ptr(&rule.meta) as usize, r);
        }
    }
    (set, reports)
}
