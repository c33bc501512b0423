//! spoor's Sigma engine: the whole Sigma 2.1 detection language, compiled once so that the cost
//! of matching an event does not grow with the number of rules.
//!
//! # Design
//! - **Load** ([`RuleSetBuilder`]): YAML files and folders, multi-document files and rule
//!   collections. Every rule ends as [`RuleStatus::Ok`], [`RuleStatus::Unsupported`] (valid Sigma
//!   spoor does not run, with the reason) or [`RuleStatus::Invalid`] (with the line and reason);
//!   nothing is dropped silently. Parsing runs on all cores.
//! - **Compile** (`ast2ir`): modifiers are applied to values once (windash permutations, base64
//!   offsets, wildcards turned into prefix/suffix/substring tests or linear-time regexes, values
//!   folded to lower case), field names are interned to dense ids, the condition is resolved to
//!   selection indexes. The result, [`RuleSet`], is immutable and `Sync`.
//! - **Prefilter** (`index`): each rule gets a *requirement*, a set of atoms one of which must hold
//!   on any event it matches. Per event log source, the requirements of all rules of that source
//!   are merged into per-field Aho-Corasick automata, exact-value hash maps and field-presence
//!   lists. An event is scanned once per field it has, independent of the number of rules, and
//!   only the rules whose atoms fired are evaluated. Rules without a requirement (for example a
//!   condition that is only `not x`) are evaluated on every event of their log source, never
//!   skipped.
//! - **Evaluate** ([`Evaluator`]): one per thread, with reusable scratch space: a slot table from
//!   field id to the event's fields (built once per event), folded text of each field, candidate
//!   marks and a per-rule selection memo.
//!
//! Matching semantics: case-insensitive unless `cased`; numbers match by the text written or by
//! value; arrays match element-wise; `null` matches an absent, null or empty field; keywords
//! match as substrings of any field's value or of the raw line; `neq` means the field is present
//! and differs from every value.
//!
//! ```
//! use spoor_event::{Event, LogSource, Position};
//! let mut b = spoor_sigma::RuleSetBuilder::new();
//! b.add_source("example.yml", "title: Whoami\nlogsource: {category: process_creation, product: windows}\ndetection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel\n");
//! let set = b.build();
//! let ev = Event::new("x", Position::Line(1))
//!     .with_logsource(LogSource::new(Some("windows"), Some("process_creation"), Some("sysmon")))
//!     .with("Image", r"C:\Windows\System32\WHOAMI.EXE");
//! assert_eq!(set.evaluator().matching_rules(&ev).len(), 1);
//! ```
#![deny(missing_docs)]

mod anyscan;
mod ast;
mod ast2ir;
mod condition;
mod corr2set;
mod correlation;
mod correlation_view;
mod corrspill;
mod corrstream;
pub mod diagnostic;
mod eval;
mod explain;
mod gate;
mod index;
pub mod ir;
pub mod lazy;
mod logsource;
mod modifier;
mod node2ast;
mod node2corr;
mod pattern;
mod yaml2node;

#[cfg(test)]
mod tests;

pub use ast::{
    ConditionAst, FieldSpec, LogSourceAst, Quantifier, RuleAst, SelectionAst, SigmaValue,
};
pub use ast2ir::Placeholders;
pub use correlation::{CorrelationPartial, CorrelationSet, MAX_WINDOW};
pub use correlation_view::{CorrelationInput, CorrelationView};
pub use diagnostic::{Location, PlaceholderError, RuleParseError, SigmaError};
pub use eval::Evaluator;
pub use explain::{Explanation, SelectionExplanation, TestExplanation};
pub use gate::SigmaLineGates;
pub use logsource::{event_values_satisfying, LogSourcePart, RuleLogSource};
pub use modifier::Modifier;
pub use node2corr::{
    parse_timespan, CorrelationAst, CorrelationType, FilterAst, FilterTargets, MetricCondition,
};
pub use pattern::{StrMatch, StrPattern};

use ast2ir::{compile_rule, CompileError, FieldTable};
use index::{requirement, rule_fields, uses_keywords, Atom, LogSourceIndex};
use ir::CompiledRule;
use node2ast::{documents_to_rules, ParsedDoc};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use spoor_event::{io_reason, Detector, EventMatcher, FilterStat, LogSource, RuleMeta};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

/// Parses YAML text (any number of documents, rule collections applied) into rule ASTs without
/// compiling them: one entry per document, `Err` with the reason for documents that are not a
/// runnable detection rule (a YAML problem is one `Err` for the whole text). For tools and tests
/// that walk the AST themselves.
pub fn parse_rules(yaml: &str) -> Vec<Result<RuleAst, RuleParseError>> {
    match yaml2node::parse_documents(yaml) {
        Err(e) => {
            let (error, at) = e.diagnostic();
            vec![Err(RuleParseError::Invalid { at, error })]
        }
        Ok(docs) => documents_to_rules(docs)
            .into_iter()
            .map(|d| match d {
                ParsedDoc::Rule(ast) => Ok(*ast),
                ParsedDoc::Correlation(_) => Err(RuleParseError::Correlation),
                ParsedDoc::Filter(_) => Err(RuleParseError::Filter),
                ParsedDoc::Invalid { error, at, .. } => Err(RuleParseError::Invalid { at, error }),
            })
            .collect(),
    }
}

/// What became of one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleStatus {
    /// Loaded and runs.
    Ok,
    /// Valid Sigma that spoor does not run; the error says why (a `SIGMA-U…` code).
    Unsupported(SigmaError),
    /// Broken; the error says why (a `SIGMA-E…` code; the place is in [`RuleReport::line`] and
    /// [`RuleReport::column`]).
    Invalid(SigmaError),
}

impl RuleStatus {
    /// `Unsupported` or `Invalid`, as the error's kind decides.
    pub fn from_error(error: SigmaError) -> Self {
        if error.is_unsupported() {
            RuleStatus::Unsupported(error)
        } else {
            RuleStatus::Invalid(error)
        }
    }

    /// The error, `None` for `ok`.
    pub fn error(&self) -> Option<&SigmaError> {
        match self {
            RuleStatus::Ok => None,
            RuleStatus::Unsupported(e) | RuleStatus::Invalid(e) => Some(e),
        }
    }

    /// The stable code of the error (`SIGMA-E005`), `None` for `ok`.
    pub fn code(&self) -> Option<&'static str> {
        self.error().map(SigmaError::code)
    }

    /// `ok`, `unsupported` or `invalid`.
    pub fn name(&self) -> &'static str {
        match self {
            RuleStatus::Ok => "ok",
            RuleStatus::Unsupported(_) => "unsupported",
            RuleStatus::Invalid(_) => "invalid",
        }
    }

    /// The reason, empty for `ok`.
    pub fn reason(&self) -> String {
        self.error().map(ToString::to_string).unwrap_or_default()
    }
}

/// The load report of one rule (or of a file that held no rule because it could not be read or
/// parsed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleReport {
    /// File (or label) the rule came from.
    pub origin: String,
    /// 1-based line of the rule, or of the problem for rules that are not ok.
    pub line: usize,
    /// 1-based column of the problem, where known.
    pub column: Option<usize>,
    /// The rule's id.
    pub id: Option<String>,
    /// The rule's title (empty if unknown).
    pub title: String,
    /// The outcome.
    pub status: RuleStatus,
}

impl RuleReport {
    /// Line and column together (`12:5`, or `12` when the column is unknown).
    pub fn location(&self) -> Location {
        Location {
            line: self.line,
            column: self.column,
        }
    }

    /// The report of a file or document that holds no loadable rule.
    fn problem(origin: String, at: Location, error: SigmaError) -> Self {
        Self {
            origin,
            line: at.line,
            column: at.column,
            id: None,
            title: String::new(),
            status: RuleStatus::from_error(error),
        }
    }
}

/// Collects rule sources and options, then compiles them into a [`RuleSet`].
#[derive(Debug, Default)]
pub struct RuleSetBuilder {
    sources: Vec<(String, String)>,
    reports: Vec<RuleReport>,
    placeholders: Placeholders,
}

impl RuleSetBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Values for `expand` placeholders. Without them, rules that use placeholders are
    /// `unsupported`, as the Sigma specification asks.
    pub fn placeholders(&mut self, values: Placeholders) -> &mut Self {
        self.placeholders = values;
        self
    }

    /// Adds the YAML text of one file (any number of documents); `origin` names it in reports.
    pub fn add_source(&mut self, origin: &str, yaml: &str) -> &mut Self {
        self.sources.push((origin.to_string(), yaml.to_string()));
        self
    }

    /// Adds a file, or every `.yml`/`.yaml` file under a folder (recursively, in name order).
    /// Unreadable files become `invalid` reports.
    pub fn add_path(&mut self, path: &Path) -> &mut Self {
        let mut files: Vec<PathBuf> = Vec::new();
        if path.is_dir() {
            for entry in walkdir::WalkDir::new(path)
                .follow_links(true)
                .sort_by_file_name()
            {
                match entry {
                    Ok(e) if e.file_type().is_file() => {
                        let p = e.path();
                        if matches!(p.extension().and_then(|x| x.to_str()), Some("yml" | "yaml")) {
                            files.push(p.to_path_buf());
                        }
                    }
                    Ok(_) => {}
                    Err(e) => self.reports.push(RuleReport::problem(
                        e.path().map_or_else(
                            || path.display().to_string(),
                            |p| p.display().to_string(),
                        ),
                        Location::line(0),
                        SigmaError::Unreadable(walk_reason(&e)),
                    )),
                }
            }
        } else {
            files.push(path.to_path_buf());
        }
        for f in files {
            match std::fs::read(&f) {
                Ok(bytes) => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    self.sources.push((f.display().to_string(), text));
                }
                Err(e) => self.reports.push(RuleReport::problem(
                    f.display().to_string(),
                    Location::line(0),
                    SigmaError::Unreadable(io_reason(&e)),
                )),
            }
        }
        self
    }

    /// Parses and compiles everything added. Files are parsed and their rules compiled on all
    /// cores, each file with its own field table; the tables are then merged in file order, so
    /// field ids, rules and reports come out as a one-thread build would make them.
    pub fn build(self) -> RuleSet {
        let RuleSetBuilder {
            sources,
            reports,
            placeholders,
        } = self;
        let parsed: Vec<LoadedFile> = sources
            .into_par_iter()
            .map(|(origin, text)| LoadedFile::load(origin, &text, &placeholders))
            .collect();
        let mut fields = FieldTable::default();
        let mut rules = Vec::new();
        let mut names: Vec<Option<String>> = Vec::new();
        let mut reports = reports;
        let mut correlations = Vec::new();
        let mut filter_asts = Vec::new();
        let mut not_loaded = corr2set::NotLoaded::default();
        for LoadedFile {
            origin,
            docs,
            fields: local,
        } in parsed
        {
            let docs = match docs {
                Ok(d) => d,
                Err(e) => {
                    let (error, at) = e.diagnostic();
                    reports.push(RuleReport::problem(origin, at, error));
                    continue;
                }
            };
            if docs.is_empty() {
                reports.push(RuleReport::problem(
                    origin,
                    Location::line(1),
                    SigmaError::NoRule,
                ));
                continue;
            }
            // The file's own field ids -> the set's, interned in the order the file first used
            // them (the order a one-thread build interns them in).
            let ids: Vec<ir::FieldId> = local.names.iter().map(|n| fields.intern(n)).collect();
            for doc in docs {
                let (at, id, title, status) = match doc {
                    LoadedDoc::Rule(ast, compiled) => {
                        let (at, status) = match compiled {
                            Ok(mut rule) => {
                                rule.remap_fields(&ids);
                                rules.push(rule);
                                names.push(ast.name.clone());
                                (Location::line(ast.line), RuleStatus::Ok)
                            }
                            Err(CompileError { at, error }) => (
                                at.unwrap_or(Location::line(ast.line)),
                                RuleStatus::from_error(error),
                            ),
                        };
                        if status != RuleStatus::Ok {
                            for key in ast.id.iter().chain(ast.name.iter()) {
                                not_loaded.insert(key.clone(), status.clone());
                            }
                        }
                        (at, ast.id, ast.title, status)
                    }
                    LoadedDoc::Other(ParsedDoc::Rule(_)) => continue,
                    LoadedDoc::Other(ParsedDoc::Correlation(ast)) => {
                        correlations.push(corr2set::LoadedCorrelation {
                            origin: origin.clone(),
                            ast: *ast,
                        });
                        continue;
                    }
                    LoadedDoc::Other(ParsedDoc::Filter(f)) => {
                        filter_asts.push((origin.clone(), *f));
                        continue;
                    }
                    LoadedDoc::Other(ParsedDoc::Invalid {
                        title,
                        id,
                        at,
                        error,
                    }) => {
                        let status = RuleStatus::from_error(error);
                        if let Some(i) = &id {
                            not_loaded.insert(i.clone(), status.clone());
                        }
                        (at, id, title, status)
                    }
                };
                reports.push(RuleReport {
                    origin: origin.clone(),
                    line: at.line,
                    column: at.column,
                    id,
                    title,
                    status,
                });
            }
        }
        let (filters, filters_of, filter_reports) =
            compile_filters(filter_asts, &rules, &names, &mut fields, &placeholders);
        reports.extend(filter_reports);
        let (correlations, corr_reports) =
            corr2set::build(correlations, &mut rules, &names, &not_loaded);
        reports.extend(corr_reports);
        let reqs = (0..rules.len()).map(|_| OnceLock::new()).collect();
        let mut keywords: Vec<bool> = rules.iter().map(uses_keywords).collect();
        let mut rule_fields: Vec<Vec<ir::FieldId>> = rules.iter().map(rule_fields).collect();
        // A filter reads fields of the events of its rules: the per-event scratch must hold them.
        for (r, fs) in filters_of.iter().enumerate() {
            for &fi in fs {
                if let Some(f) = filters.get(fi as usize) {
                    if let Some(list) = rule_fields.get_mut(r) {
                        list.extend(index::rule_fields(&f.rule));
                        list.sort_unstable();
                        list.dedup();
                    }
                    if let Some(k) = keywords.get_mut(r) {
                        *k |= uses_keywords(&f.rule);
                    }
                }
            }
        }
        let metas = rules.iter().map(|r| r.meta.clone()).collect();
        RuleSet {
            rules: rules.into(),
            metas,
            reqs,
            keywords,
            rule_fields,
            fields,
            reports,
            filters,
            filters_of,
            correlations,
            indexes: RwLock::new(FxHashMap::default()),
            id: NEXT_SET_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }
}

/// One rule file parsed, its detection rules compiled against the file's own field table.
struct LoadedFile {
    origin: String,
    docs: Result<Vec<LoadedDoc>, yaml2node::YamlError>,
    fields: FieldTable,
}

/// A document of a loaded file: a detection rule with its compiled form, or anything else as
/// parsed.
enum LoadedDoc {
    Rule(Box<RuleAst>, Result<CompiledRule, CompileError>),
    Other(ParsedDoc),
}

impl LoadedFile {
    fn load(origin: String, text: &str, placeholders: &Placeholders) -> LoadedFile {
        let mut fields = FieldTable::default();
        let docs = yaml2node::parse_documents(text).map(|nodes| {
            documents_to_rules(nodes)
                .into_iter()
                .map(|doc| match doc {
                    ParsedDoc::Rule(ast) => {
                        let compiled = compile_rule(&ast, &origin, &mut fields, placeholders);
                        LoadedDoc::Rule(ast, compiled)
                    }
                    other => LoadedDoc::Other(other),
                })
                .collect()
        });
        LoadedFile {
            origin,
            docs,
            fields,
        }
    }
}

/// A folder walk error in words (a symlink loop, or the I/O error behind it).
fn walk_reason(e: &walkdir::Error) -> String {
    if e.loop_ancestor().is_some() {
        "symlink loop not followed".to_string()
    } else if let Some(io) = e.io_error() {
        io_reason(io)
    } else {
        e.to_string()
    }
}

/// A compiled filter rule and what it suppressed so far (all threads).
pub(crate) struct CompiledFilter {
    pub(crate) rule: CompiledRule,
    origin: String,
    pub(crate) suppressed: AtomicU64,
}

type Filters = (Vec<CompiledFilter>, Vec<Vec<u32>>, Vec<RuleReport>);

/// Compiles filter rules and attaches each to the rules it names (by id or name).
fn compile_filters(
    asts: Vec<(String, FilterAst)>,
    rules: &[CompiledRule],
    names: &[Option<String>],
    fields: &mut FieldTable,
    placeholders: &Placeholders,
) -> Filters {
    let mut filters = Vec::new();
    let mut filters_of: Vec<Vec<u32>> = vec![Vec::new(); rules.len()];
    let mut reports = Vec::new();
    for (origin, f) in asts {
        let mut report = RuleReport {
            origin: origin.clone(),
            line: f.rule.line,
            column: None,
            id: f.rule.id.clone(),
            title: f.rule.title.clone(),
            status: RuleStatus::Ok,
        };
        let targets: Vec<u32> = match &f.targets {
            FilterTargets::Any => (0..rules.len() as u32).collect(),
            FilterTargets::Rules(list) => {
                let mut out = Vec::new();
                for (name, _) in list {
                    for (i, r) in rules.iter().enumerate() {
                        let by_name = names.get(i).and_then(Option::as_ref) == Some(name);
                        if r.meta.id == *name || by_name {
                            out.push(i as u32);
                        }
                    }
                }
                if out.is_empty() {
                    let at = list
                        .first()
                        .map_or(Location::line(f.rule.line), |(_, at)| *at);
                    report.line = at.line;
                    report.column = at.column;
                    report.status = RuleStatus::Invalid(SigmaError::Filter(
                        "filter: none of the rules it names is loaded".to_string(),
                    ));
                }
                out
            }
        };
        if report.status == RuleStatus::Ok {
            match compile_rule(&f.rule, &origin, fields, placeholders) {
                Ok(rule) => {
                    let fi = filters.len() as u32;
                    for t in targets {
                        if let Some(v) = filters_of.get_mut(t as usize) {
                            v.push(fi);
                        }
                    }
                    filters.push(CompiledFilter {
                        rule,
                        origin: origin.clone(),
                        suppressed: AtomicU64::new(0),
                    });
                }
                Err(CompileError { at, error }) => {
                    if let Some(at) = at {
                        report.line = at.line;
                        report.column = at.column;
                    }
                    report.status = RuleStatus::from_error(error);
                }
            }
        }
        reports.push(report);
    }
    (filters, filters_of, reports)
}

/// A compiled, immutable set of Sigma rules, shared by all threads.
pub struct RuleSet {
    /// Shared with the line gates, which derive their requirements from the rules only when a
    /// log source of theirs is read.
    rules: Arc<[CompiledRule]>,
    metas: Vec<Arc<RuleMeta>>,
    /// Per rule, its prefilter requirement, derived the first time an event of one of its log
    /// sources is seen.
    reqs: Vec<OnceLock<Option<Vec<Atom>>>>,
    keywords: Vec<bool>,
    rule_fields: Vec<Vec<ir::FieldId>>,
    fields: FieldTable,
    reports: Vec<RuleReport>,
    pub(crate) filters: Vec<CompiledFilter>,
    /// Per rule: the filters that apply to it.
    pub(crate) filters_of: Vec<Vec<u32>>,
    correlations: CorrelationSet,
    /// Prefilter per event log source, built the first time a log source is seen.
    indexes: RwLock<FxHashMap<LogSource, Arc<LogSourceIndex>>>,
    /// This set's identity among the sets of the process, for the line gate's hints
    /// (`spoor_event::GateHint::owner`).
    pub(crate) id: u64,
}

/// The identity of the next rule set built.
static NEXT_SET_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet")
            .field("rules", &self.rules.len())
            .field("reports", &self.reports.len())
            .finish()
    }
}

impl RuleSet {
    /// One report per rule, in load order.
    pub fn reports(&self) -> &[RuleReport] {
        &self.reports
    }

    /// The rules that run.
    pub fn rules(&self) -> &[Arc<RuleMeta>] {
        &self.metas
    }

    /// Number of rules that run.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// The compiled rules, in the order of [`RuleSet::rules`]: for backends that translate
    /// rules into another language (the ClickHouse SQL backend) rather than run them, so that
    /// modifiers are applied in one place only.
    pub fn compiled(&self) -> &[ir::CompiledRule] {
        &self.rules
    }

    /// The name behind a field id of [`RuleSet::compiled`].
    pub fn field_name(&self, id: ir::FieldId) -> Option<&str> {
        self.fields.names.get(id as usize).map(|n| &**n)
    }

    /// The filter rules attached to the `i`-th compiled rule (a match of any suppresses it).
    pub fn filters_of(&self, i: usize) -> Vec<&ir::CompiledRule> {
        self.filters_of
            .get(i)
            .map(|fs| {
                fs.iter()
                    .filter_map(|&f| self.filters.get(f as usize).map(|f| &f.rule))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// True if no rule runs.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The line gates of this set's rules: web and proxy lines decided before they are parsed
    /// (see `spoor_event::LineGate`).
    pub fn line_gates(&self) -> SigmaLineGates {
        SigmaLineGates::new(self.rules.clone(), &self.fields.names, self.id)
    }

    /// The correlation rules: a stateful detector over the findings of this set's rules.
    pub fn correlations(&self) -> &CorrelationSet {
        &self.correlations
    }

    /// Every filter rule and how many matches it has suppressed so far.
    pub fn filter_stats(&self) -> Vec<FilterStat> {
        self.filters
            .iter()
            .map(|f| FilterStat {
                id: f.rule.meta.id.clone(),
                title: f.rule.meta.title.clone(),
                origin: f.origin.clone(),
                suppressed: f.suppressed.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// A per-thread evaluator.
    pub fn evaluator(&self) -> Evaluator<'_> {
        Evaluator::new(self)
    }

    /// How many rules have no prefilter requirement (evaluated on every event of their source).
    pub fn unindexed_rules(&self) -> usize {
        (0..self.rules.len())
            .filter(|&r| self.requirement(r).is_none())
            .count()
    }

    /// The prefilter requirement of rule `r`, derived now if not yet.
    fn requirement(&self, r: usize) -> Option<&[Atom]> {
        let (rule, req) = (self.rules.get(r)?, self.reqs.get(r)?);
        req.get_or_init(|| requirement(rule)).as_deref()
    }

    fn index_for(&self, ls: &LogSource) -> Arc<LogSourceIndex> {
        if let Ok(map) = self.indexes.read() {
            if let Some(idx) = map.get(ls) {
                return idx.clone();
            }
        }
        let ids: Vec<u32> = self
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.logsource.accepts(ls))
            .map(|(i, _)| i as u32)
            .collect();
        let idx = Arc::new(LogSourceIndex::build(
            &ids,
            &|r| self.requirement(r as usize),
            &self.keywords,
            &self.rule_fields,
            self.fields.names.len(),
        ));
        if let Ok(mut map) = self.indexes.write() {
            map.entry(ls.clone()).or_insert_with(|| idx.clone());
        }
        idx
    }

    /// Evaluates every rule on `ev` without the prefilter: the slow twin of [`Evaluator`], for
    /// tests and for checking the index.
    pub fn matching_rules_unindexed(&self, ev: &spoor_event::Event) -> Vec<Arc<RuleMeta>> {
        self.rules
            .iter()
            .enumerate()
            .filter(|(i, r)| eval::rule_matches(r, ev, self) && !eval::filtered(self, *i, ev))
            .map(|(_, r)| r.meta.clone())
            .collect()
    }
}

impl Detector for RuleSet {
    fn matcher(&self) -> Box<dyn EventMatcher + Send + '_> {
        Box::new(self.evaluator())
    }
}

/// Reads a placeholder file: a YAML mapping of placeholder names to a value or a list of values
/// (`Servers: [srv01, "srv*"]`).
pub fn parse_placeholders(yaml: &str) -> Result<Placeholders, PlaceholderError> {
    let docs = yaml2node::parse_documents(yaml).map_err(|e| PlaceholderError::Yaml {
        at: Location::at(e.line, e.column),
        message: e.message.clone(),
    })?;
    let mut out = Placeholders::new();
    let Some(doc) = docs.first() else {
        return Ok(out);
    };
    let at = |n: &yaml2node::Node| node2ast::node_location(n);
    let entries = doc
        .as_map()
        .ok_or_else(|| PlaceholderError::NotAMapping { at: at(doc) })?;
    for (k, v) in entries {
        let name = k
            .as_str()
            .ok_or_else(|| PlaceholderError::NameNotText { at: at(k) })?;
        let values = match &v.kind {
            yaml2node::NodeKind::Scalar { text, .. } => vec![text.clone()],
            yaml2node::NodeKind::Seq(items) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| PlaceholderError::ValueNotScalar { at: at(i) })
                })
                .collect::<Result<_, _>>()?,
            yaml2node::NodeKind::Map(_) => {
                return Err(PlaceholderError::ValueNotScalar { at: at(v) })
            }
        };
        out.insert(name.trim_matches('%').to_string(), values);
    }
    Ok(out)
}
