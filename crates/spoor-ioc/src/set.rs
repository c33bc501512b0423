//! [`IocSetBuilder`] (mutable, collects lists and bundles) -> [`IocSet`] (immutable, shared by
//! all threads) -> [`IocMatcher`] (one per thread, holds scratch space and stateful hits).

use crate::ast2test::{self, index_keys, Key, Test};
use crate::correlate::{self, Correlation, ObservationHit};
use crate::error::IocError;
use crate::eval::{holds, EventView};
use crate::index::{Index, Target};
use crate::list::{parse_list, IocType, ListEntry};
use crate::mapping::{Mapping, SlotId, ValueKind};
use crate::net::Net;
use crate::pattern::{self, ObsExpr};
use crate::stix::{read_bundle, StixIndicator};
use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
use spoor_event::{
    Detector, Event, EventMatcher, Finding, MatchedValue, Position, RuleKind, RuleLevel, RuleMeta,
    StatefulDetector, StatefulOutput,
};
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// Most hits one matcher keeps per observation of a stateful indicator; more are counted.
pub const MAX_HITS_PER_OBSERVATION: usize = 10_000;

/// Options of the indicator engine (no CLI types: the CLI fills this).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IocOptions {
    /// Level of plain-list indicators (default `high`).
    pub list_level: RuleLevel,
    /// Drop findings whose event time lies outside the indicator's validity (`--ioc-valid-only`).
    /// Events without a time, and indicators without a validity, are kept.
    pub valid_only: bool,
}

impl Default for IocOptions {
    fn default() -> Self {
        IocOptions {
            list_level: RuleLevel::High,
            valid_only: false,
        }
    }
}

/// Whether an indicator loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadStatus {
    /// Loaded and hunted.
    Ok,
    /// Valid, but uses something this engine does not run (reason given); not hunted.
    Unsupported(String),
    /// Broken (reason given); not hunted.
    Invalid(String),
}

/// The load status of one indicator (every STIX indicator, and every list line that failed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadReport {
    /// File (or origin name) it came from.
    pub origin: String,
    /// STIX object id (or `objects[N]`), or `line N` for lists.
    pub id: String,
    /// Indicator name, when known.
    pub name: Option<String>,
    /// Status.
    pub status: LoadStatus,
}

/// How many indicators loaded, and how many did not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadCounts {
    /// Loaded.
    pub ok: u64,
    /// Not run (unsupported).
    pub unsupported: u64,
    /// Broken.
    pub invalid: u64,
}

#[derive(Debug)]
struct StixBody {
    id: String,
    name: String,
    description: Option<String>,
    tags: Vec<String>,
    attack: spoor_event::AttackRef,
    root: ObsExpr,
    tests: Vec<Test>,
    stateless: bool,
}

#[derive(Debug)]
enum Body {
    List {
        line: u32,
        ioc_type: IocType,
        value: Box<str>,
        description: Option<Box<str>>,
    },
    Stix(Box<StixBody>),
}

#[derive(Debug)]
struct Indicator {
    origin: u32,
    level: RuleLevel,
    valid_from: Option<DateTime<Utc>>,
    valid_until: Option<DateTime<Utc>>,
    body: Body,
    meta: OnceLock<Arc<RuleMeta>>,
}

/// Collects indicators from lists and bundles.
#[derive(Debug)]
pub struct IocSetBuilder {
    options: IocOptions,
    mapping: Result<Mapping, String>,
    indicators: Vec<Indicator>,
    index: Index,
    scan: Vec<(u32, u32)>,
    origins: Vec<Arc<str>>,
    reports: Vec<LoadReport>,
    counts: LoadCounts,
    terms: crate::prefilter::Terms,
}

impl Default for IocSetBuilder {
    fn default() -> Self {
        IocSetBuilder::new(IocOptions::default())
    }
}

fn looks_like_json(text: &str) -> bool {
    matches!(
        text.trim_start_matches('\u{feff}')
            .trim_start()
            .as_bytes()
            .first(),
        Some(b'{' | b'[')
    )
}

impl IocSetBuilder {
    /// A builder with `options`.
    pub fn new(options: IocOptions) -> Self {
        IocSetBuilder {
            options,
            mapping: Mapping::builtin(),
            indicators: Vec::new(),
            index: Index::default(),
            scan: Vec::new(),
            terms: Default::default(),
            origins: Vec::new(),
            reports: Vec::new(),
            counts: LoadCounts::default(),
        }
    }

    fn origin(&mut self, origin: &str) -> u32 {
        if let Some(i) = self.origins.iter().position(|o| &**o == origin) {
            return i as u32;
        }
        self.origins.push(origin.into());
        (self.origins.len() - 1) as u32
    }

    fn slot(&self, path: &str) -> Option<SlotId> {
        self.mapping.as_ref().ok().and_then(|m| m.slot(path))
    }

    fn next_id(&self) -> u32 {
        u32::try_from(self.indicators.len()).unwrap_or(u32::MAX)
    }

    /// Adds a plain list (text or CSV lines). Lines that are not indicators are reported
    /// ([`IocSet::reports`]) and counted as invalid.
    pub fn add_list_str(&mut self, origin: &str, text: &str) {
        let o = self.origin(origin);
        let mut errors = Vec::new();
        parse_list(text, |e| self.add_entry(o, origin, e), |e| errors.push(e));
        for e in errors {
            self.counts.invalid += 1;
            self.reports.push(LoadReport {
                origin: origin.to_string(),
                id: format!("line {}", e.line),
                name: None,
                status: LoadStatus::Invalid(e.reason),
            });
        }
    }

    fn add_entry(&mut self, o: u32, origin: &str, e: ListEntry) {
        let id = self.next_id();
        let t = Target::List(id);
        let path = match (e.ioc_type, e.net) {
            (IocType::Ipv4 | IocType::Ipv6 | IocType::Cidr, Some(Net::V4(..))) => "ipv4-addr:value",
            (IocType::Ipv4 | IocType::Ipv6 | IocType::Cidr, _) => "ipv6-addr:value",
            (IocType::Domain, _) => "domain-name:value",
            (IocType::Url, _) => "url:value",
            (IocType::Email, _) => "email-addr:value",
            (IocType::Md5, _) => "file:hashes.md5",
            (IocType::Sha1, _) => "file:hashes.sha-1",
            (IocType::Sha256, _) => "file:hashes.sha-256",
            (IocType::FileName, _) => "file:name",
        };
        let Some(slot) = self.slot(path) else {
            self.counts.unsupported += 1;
            self.reports.push(LoadReport {
                origin: origin.to_string(),
                id: format!("line {}", e.line),
                name: None,
                status: LoadStatus::Unsupported(format!("no fields are mapped for {path}")),
            });
            return;
        };
        self.terms.keys.push((
            slot,
            match e.net {
                Some(net) => Key::Net(net),
                None => Key::Text(e.value.clone()),
            },
        ));
        match (e.ioc_type, e.net) {
            (_, Some(net)) => self.index.add_net(slot, net, t),
            (IocType::Domain, _) => self.index.add_suffix(slot, &e.value, t),
            (IocType::Url, _) => self.index.add_needle(slot, &e.value, t),
            _ => self.index.add_exact(slot, &e.value, t),
        }
        self.counts.ok += 1;
        self.indicators.push(Indicator {
            origin: o,
            level: self.options.list_level,
            valid_from: None,
            valid_until: None,
            body: Body::List {
                line: e.line,
                ioc_type: e.ioc_type,
                value: e.value.into_boxed_str(),
                description: e.description.map(String::into_boxed_str),
            },
            meta: OnceLock::new(),
        });
    }

    /// Adds a STIX 2.1 bundle. Errors only when the text is not a bundle at all; each indicator's
    /// problems are reported per indicator and the rest still loads.
    pub fn add_stix_str(&mut self, origin: &str, json: &str) -> Result<(), IocError> {
        let (inds, rejected) = read_bundle(json).map_err(|message| IocError::Bundle {
            origin: origin.to_string(),
            message,
        })?;
        let o = self.origin(origin);
        for r in rejected {
            let status = if r.unsupported {
                self.counts.unsupported += 1;
                LoadStatus::Unsupported(r.reason)
            } else {
                self.counts.invalid += 1;
                LoadStatus::Invalid(r.reason)
            };
            self.reports.push(LoadReport {
                origin: origin.to_string(),
                id: r.id,
                name: r.name,
                status,
            });
        }
        for ind in inds {
            let status = self.add_stix_indicator(o, ind.clone());
            match &status {
                LoadStatus::Ok => self.counts.ok += 1,
                LoadStatus::Unsupported(_) => self.counts.unsupported += 1,
                LoadStatus::Invalid(_) => self.counts.invalid += 1,
            }
            self.reports.push(LoadReport {
                origin: origin.to_string(),
                id: ind.id,
                name: Some(ind.name),
                status,
            });
        }
        Ok(())
    }

    fn add_stix_indicator(&mut self, o: u32, ind: StixIndicator) -> LoadStatus {
        let parsed = match pattern::parse(&ind.pattern) {
            Ok(p) => p,
            Err(e) => return LoadStatus::Invalid(e.to_string()),
        };
        let Ok(mapping) = self.mapping.as_ref() else {
            return LoadStatus::Unsupported("field mapping table unavailable".into());
        };
        let mut tests = Vec::with_capacity(parsed.observations.len());
        let mut problems = Vec::new();
        for obs in &parsed.observations {
            match ast2test::compile(obs, mapping) {
                Ok(t) => tests.push(t),
                Err(p) => problems.extend(p),
            }
        }
        if !problems.is_empty() {
            problems.dedup();
            return LoadStatus::Unsupported(problems.join("; "));
        }
        let id = self.next_id();
        for (j, test) in tests.iter().enumerate() {
            let t = Target::Obs(id, j as u32);
            match index_keys(test) {
                Some(keys) => {
                    for (slot, key) in keys {
                        self.terms.keys.push((slot, key.clone()));
                        match key {
                            Key::Text(text) => self.index.add_exact(slot, &text, t),
                            Key::Net(net) => self.index.add_net(slot, net, t),
                        }
                    }
                }
                None => self.scan.push((id, j as u32)),
            }
        }
        let stateless = match &parsed.root {
            ObsExpr::Observation(_) => true,
            ObsExpr::Or(items) => items.iter().all(|i| matches!(i, ObsExpr::Observation(_))),
            _ => false,
        };
        self.indicators.push(Indicator {
            origin: o,
            level: ind.level,
            valid_from: ind.valid_from,
            valid_until: ind.valid_until,
            body: Body::Stix(Box::new(StixBody {
                id: ind.id,
                name: ind.name,
                description: ind.description,
                tags: ind.tags,
                attack: ind.attack,
                root: parsed.root,
                tests,
                stateless,
            })),
            meta: OnceLock::new(),
        });
        LoadStatus::Ok
    }

    /// Adds a file: a STIX bundle when its first non-blank character is `{` or `[`, otherwise a
    /// plain list.
    pub fn add_path(&mut self, path: &Path) -> Result<(), IocError> {
        let bytes = std::fs::read(path).map_err(|source| IocError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let text = String::from_utf8_lossy(&bytes);
        let origin = path.display().to_string();
        if looks_like_json(&text) {
            self.add_stix_str(&origin, &text)
        } else {
            self.add_list_str(&origin, &text);
            Ok(())
        }
    }

    /// Freezes the set.
    pub fn build(mut self) -> Result<IocSet, IocError> {
        let mapping = self.mapping.map_err(IocError::Mapping)?;
        self.index.finish().map_err(IocError::Mapping)?;
        let stateful = self
            .indicators
            .iter()
            .any(|i| matches!(&i.body, Body::Stix(s) if !s.stateless));
        Ok(IocSet {
            options: self.options,
            mapping,
            indicators: self.indicators,
            index: self.index,
            scan: self.scan,
            terms: self.terms,
            origins: self.origins,
            reports: self.reports,
            counts: self.counts,
            stateful,
        })
    }
}

/// Whether a field name is one a W3C extended log (and so a web or proxy reader) can give: a
/// `c-`, `s-`, `r-`, `cs-`, `sc-`, `sr-`, `rs-` or `x-` name, a `prefix(header)` name, or one of
/// the prefix-less fields.
fn is_w3c_field(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ["c", "s", "r", "cs", "sc", "sr", "rs", "x"]
        .iter()
        .any(|p| {
            lower
                .strip_prefix(p)
                .is_some_and(|rest| rest.starts_with('-') || rest.starts_with('('))
        })
        || matches!(
            lower.as_str(),
            "date" | "time" | "time-taken" | "bytes" | "cached" | "comment"
        )
}

/// An immutable, thread-shared set of indicators.
#[derive(Debug)]
pub struct IocSet {
    options: IocOptions,
    mapping: Mapping,
    indicators: Vec<Indicator>,
    index: Index,
    scan: Vec<(u32, u32)>,
    terms: crate::prefilter::Terms,
    origins: Vec<Arc<str>>,
    reports: Vec<LoadReport>,
    counts: LoadCounts,
    /// Whether any indicator has a stateful pattern (computed once).
    stateful: bool,
}

impl IocSet {
    /// Load statuses: every STIX indicator (loaded or not) and every list line that was not an
    /// indicator. Loaded list lines are only counted ([`IocSet::counts`]), so that a list of a
    /// million lines does not make a million reports.
    pub fn reports(&self) -> &[LoadReport] {
        &self.reports
    }

    /// Counts of loaded and rejected indicators.
    pub fn counts(&self) -> LoadCounts {
        self.counts
    }

    /// Number of loaded indicators.
    pub fn len(&self) -> usize {
        self.indicators.len()
    }

    /// True when nothing loaded.
    pub fn is_empty(&self) -> bool {
        self.indicators.is_empty()
    }

    /// Whether any indicator needs [`IocSet::correlate`] after the events (several
    /// observations, `FOLLOWEDBY` or qualifiers).
    pub fn has_stateful(&self) -> bool {
        self.stateful
    }

    /// Every text one of which a web server log line must hold (ASCII case ignored) for some
    /// indicator to match an event it yields: for line gates (`spoor_event::LineGate`). `None`
    /// when that cannot be told from text: an address or network indicator on a web field,
    /// an indicator that is checked by scanning, or a stateful pattern (those see every event).
    ///
    /// Web fields are told by their W3C names (`c-ip`, `cs-uri`, `cs(Referer)`, `sc-status`,
    /// `date`...), the names spoor's web readers use; indicators on other fields (file hashes,
    /// process images) cannot match a web line.
    pub fn web_line_literals(&self) -> Option<Vec<String>> {
        if self.stateful || !self.scan.is_empty() {
            return None;
        }
        let mut out = Vec::new();
        for (field, feeds) in &self.mapping.by_field {
            if !is_w3c_field(field) {
                continue;
            }
            for (slot, _) in feeds {
                out.extend(self.index.literals_of(*slot)?);
            }
        }
        out.sort();
        out.dedup();
        Some(out)
    }

    /// The candidate test for a store that holds the events (see [`crate::Prefilter`]).
    pub fn prefilter(&self) -> crate::Prefilter {
        let mut ids: Vec<u32> = self.scan.iter().map(|&(i, _)| i).collect();
        ids.dedup();
        let unfiltered = ids
            .into_iter()
            .filter_map(|i| self.meta(i))
            .map(|m| {
                (
                    m,
                    "an observation with no value to look up (only LIKE, MATCHES, NOT, EXISTS or \
                     ordering): it could match any event"
                        .to_string(),
                )
            })
            .collect();
        crate::prefilter::build(&self.terms, &self.mapping, unfiltered)
    }

    /// A matcher for one thread. Its stateful hits stay with it ([`IocMatcher::take_hits`]).
    pub fn ioc_matcher(&self) -> IocMatcher<'_> {
        IocMatcher {
            set: self,
            cands: Vec::new(),
            matched: Vec::new(),
            hits: Vec::new(),
            hit_counts: FxHashMap::default(),
            dropped: 0,
            mode: MatchMode::Both,
        }
    }

    fn meta(&self, id: u32) -> Option<Arc<RuleMeta>> {
        let ind = self.indicators.get(id as usize)?;
        Some(
            ind.meta
                .get_or_init(|| {
                    let origin = self.origins.get(ind.origin as usize).map(|o| o.to_string());
                    let mut m = match &ind.body {
                        Body::List {
                            line,
                            ioc_type,
                            value,
                            description,
                        } => {
                            let mut m = RuleMeta::new(
                                format!("{}:{line}", origin.as_deref().unwrap_or("list")),
                                format!("Indicator {ioc_type} {value}"),
                                ind.level,
                                RuleKind::Indicator,
                            );
                            m.description = description.as_deref().map(str::to_string);
                            m.tags = vec![format!("ioc.{ioc_type}")];
                            m
                        }
                        Body::Stix(s) => {
                            let mut m =
                                RuleMeta::new(&s.id, &s.name, ind.level, RuleKind::Indicator);
                            m.description = s.description.clone();
                            m.tags = s.tags.clone();
                            m.attack = s.attack.clone();
                            m
                        }
                    };
                    m.path = origin;
                    Arc::new(m)
                })
                .clone(),
        )
    }

    fn validity(&self, id: u32, t: Option<DateTime<Utc>>) -> Option<bool> {
        let ind = self.indicators.get(id as usize)?;
        if ind.valid_from.is_none() && ind.valid_until.is_none() {
            return None;
        }
        let t = t?;
        Some(ind.valid_from.is_none_or(|f| t >= f) && ind.valid_until.is_none_or(|u| t < u))
    }

    fn kind(&self, slot: SlotId) -> ValueKind {
        self.mapping.get(slot).map_or(ValueKind::Text, |s| s.kind)
    }

    /// Indicators matching a scanned file (by base name, case-insensitive, and by digests; pass
    /// an empty string for a digest not computed), one entry per indicator. Only
    /// single-observation STIX indicators apply to files; stateful ones are for event streams.
    pub fn match_file(
        &self,
        name: &str,
        md5: &str,
        sha1: &str,
        sha256: &str,
    ) -> Vec<(Arc<RuleMeta>, MatchedValue)> {
        let mut ev = Event::new("file", Position::Index(0));
        for (field, value) in [
            ("file.name", name),
            ("file.hash.md5", md5),
            ("file.hash.sha1", sha1),
            ("file.hash.sha256", sha256),
        ] {
            if !value.trim().is_empty() {
                ev.push(field, value);
            }
        }
        let mut m = self.ioc_matcher();
        let mut out = Vec::new();
        m.check(&ev, &mut out);
        // One entry per indicator (a STIX indicator over name and hash matches both): the
        // digest when one matched, as it is the stronger evidence, else the name.
        out.into_iter()
            .filter_map(|f| {
                let mut matched = f.matched;
                let pick = matched
                    .iter()
                    .position(|m| m.field.starts_with("file.hash."))
                    .unwrap_or(0);
                (pick < matched.len()).then(|| (f.rule, matched.swap_remove(pick)))
            })
            .collect()
    }

    /// Evaluates stateful indicators over the hits of all matchers (in any order, from any number
    /// of threads): the result is sorted and does not depend on how hits were split.
    pub fn correlate(&self, mut hits: Vec<ObservationHit>) -> Correlation {
        hits.sort_by(ObservationHit::order);
        let mut out = Correlation::default();
        for group in hits.chunk_by(|a, b| a.indicator == b.indicator) {
            let Some(ind) = group.first().map(|h| h.indicator) else {
                continue;
            };
            let Some(Indicator {
                body: Body::Stix(body),
                ..
            }) = self.indicators.get(ind as usize)
            else {
                continue;
            };
            let mut by_obs = vec![Vec::new(); body.tests.len()];
            let mut kept = 0usize;
            for (i, h) in group.iter().enumerate() {
                if let Some(v) = by_obs.get_mut(h.observation as usize) {
                    if v.len() < MAX_HITS_PER_OBSERVATION {
                        v.push(i as u32);
                        kept += 1;
                    }
                }
            }
            if kept < group.len() {
                out.notes.push(format!(
                    "indicator {}: {} hits over the cap of {MAX_HITS_PER_OBSERVATION} per observation were not correlated",
                    body.id,
                    group.len() - kept
                ));
            }
            // Hits are sorted by observation, then report order; number the events they came from.
            let mut event_ids: std::collections::BTreeMap<(&str, Position), u32> =
                std::collections::BTreeMap::new();
            let times: Vec<correlate::HitInfo> = group
                .iter()
                .map(|h| {
                    let n = event_ids.len() as u32;
                    let event = *event_ids
                        .entry((&*h.finding.source.path, h.finding.source.position))
                        .or_insert(n);
                    correlate::HitInfo {
                        time: h.finding.timestamp,
                        event,
                    }
                })
                .collect();
            let (sets, truncated) = correlate::evaluate(&body.root, &by_obs, &times);
            if truncated {
                out.notes.push(format!(
                    "indicator {}: more than {} partial matches; some combinations were not tried",
                    body.id,
                    correlate::MAX_SETS
                ));
            }
            let mut seen = rustc_hash::FxHashSet::default();
            for members in sets {
                // The finding is the event that completed the match (the latest one).
                let Some(&last) = members.iter().max_by(|a, b| {
                    match (group.get(**a as usize), group.get(**b as usize)) {
                        (Some(ha), Some(hb)) => Finding::report_order(&ha.finding, &hb.finding),
                        _ => a.cmp(b),
                    }
                }) else {
                    continue;
                };
                if !seen.insert(last) {
                    continue;
                }
                let Some(h) = group.get(last as usize) else {
                    continue;
                };
                let mut f = h.finding.clone();
                f.matched.clear();
                for m in &members {
                    if let Some(h) = group.get(*m as usize) {
                        for mv in &h.finding.matched {
                            if !f.matched.contains(mv) {
                                f.matched.push(mv.clone());
                            }
                        }
                    }
                }
                out.findings.push(f);
            }
        }
        out.findings.sort_by(Finding::report_order);
        out
    }
}

/// Per-thread matcher of an [`IocSet`].
#[derive(Debug)]
pub struct IocMatcher<'a> {
    set: &'a IocSet,
    cands: Vec<(Target, usize)>,
    matched: Vec<usize>,
    hits: Vec<ObservationHit>,
    hit_counts: FxHashMap<(u32, u32), usize>,
    dropped: u64,
    mode: MatchMode,
}

/// What a matcher looks at: [`IocSet::ioc_matcher`] does both; as a [`Detector`] the set's
/// matcher makes the single-event findings and, as a [`StatefulDetector`], the set records the
/// observations of its stateful patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MatchMode {
    Both,
    Stateless,
    Stateful,
}

impl IocMatcher<'_> {
    /// The stateful hits recorded so far (taken out); pass those of every thread to
    /// [`IocSet::correlate`].
    pub fn take_hits(&mut self) -> Vec<ObservationHit> {
        self.hit_counts.clear();
        std::mem::take(&mut self.hits)
    }

    /// Hits not kept because an observation reached [`MAX_HITS_PER_OBSERVATION`] in this matcher.
    pub fn dropped_hits(&self) -> u64 {
        self.dropped
    }

    fn matched_value(
        &self,
        event: &Event,
        view: &EventView<'_>,
        vi: usize,
        in_validity: Option<bool>,
    ) -> Option<MatchedValue> {
        let v = view.values.get(vi)?;
        let (name, _) = event.fields.get(v.field)?;
        Some(MatchedValue {
            field: name.to_string(),
            value: v.text.to_string(),
            in_validity,
        })
    }
}

impl EventMatcher for IocMatcher<'_> {
    fn check(&mut self, event: &Event, out: &mut Vec<Finding>) {
        let set = self.set;
        let view = EventView::new(&set.mapping, event);
        let mut cands = std::mem::take(&mut self.cands);
        cands.clear();
        for (vi, v) in view.values.iter().enumerate() {
            set.index
                .lookup(v.slot, set.kind(v.slot), &v.text, &mut |t| {
                    cands.push((t, vi))
                });
        }
        for &(i, j) in &set.scan {
            cands.push((Target::Obs(i, j), usize::MAX));
        }
        cands.sort_unstable();
        cands.dedup();

        let mut current: Option<(u32, Finding)> = None;
        let flush = |current: &mut Option<(u32, Finding)>, out: &mut Vec<Finding>| {
            if let Some((_, f)) = current.take() {
                out.push(f);
            }
        };
        for chunk in cands.chunk_by(|a, b| a.0 == b.0) {
            let Some(&(target, _)) = chunk.first() else {
                continue;
            };
            let group: Vec<usize> = chunk.iter().map(|c| c.1).collect();
            let (ind, obs) = match target {
                Target::List(i) => (i, None),
                Target::Obs(i, j) => (i, Some(j)),
            };
            if self.mode != MatchMode::Both {
                let stateful = obs.is_some()
                    && matches!(
                        set.indicators.get(ind as usize),
                        Some(Indicator { body: Body::Stix(b), .. }) if !b.stateless
                    );
                if stateful != (self.mode == MatchMode::Stateful) {
                    continue;
                }
            }
            let validity = set.validity(ind, event.timestamp);
            if set.options.valid_only && validity == Some(false) {
                continue;
            }
            let matched: Vec<usize> = match obs {
                None => group,
                Some(j) => {
                    let Some(Indicator {
                        body: Body::Stix(body),
                        ..
                    }) = set.indicators.get(ind as usize)
                    else {
                        continue;
                    };
                    let Some(test) = body.tests.get(j as usize) else {
                        continue;
                    };
                    self.matched.clear();
                    if !holds(test, &view, &mut self.matched) {
                        continue;
                    }
                    if !body.stateless {
                        let n = self.hit_counts.entry((ind, j)).or_insert(0);
                        if *n >= MAX_HITS_PER_OBSERVATION {
                            self.dropped += 1;
                            continue;
                        }
                        *n += 1;
                        let Some(meta) = set.meta(ind) else { continue };
                        let mut f = Finding::from_event(meta, event);
                        f.matched = self
                            .matched
                            .iter()
                            .filter_map(|&vi| self.matched_value(event, &view, vi, validity))
                            .collect();
                        self.hits.push(ObservationHit {
                            indicator: ind,
                            observation: j,
                            finding: f,
                        });
                        continue;
                    }
                    self.matched.clone()
                }
            };
            let values: Vec<MatchedValue> = matched
                .iter()
                .filter_map(|&vi| self.matched_value(event, &view, vi, validity))
                .collect();
            match &mut current {
                Some((ci, f)) if *ci == ind => {
                    for v in values {
                        if !f.matched.contains(&v) {
                            f.matched.push(v);
                        }
                    }
                }
                _ => {
                    flush(&mut current, out);
                    let Some(meta) = set.meta(ind) else { continue };
                    let mut f = Finding::from_event(meta, event);
                    f.matched = values;
                    current = Some((ind, f));
                }
            }
        }
        flush(&mut current, out);
        self.cands = cands;
    }
}

impl Detector for IocSet {
    /// A matcher for the single-event indicators; the stateful patterns are the
    /// [`StatefulDetector`] side of the set.
    fn matcher(&self) -> Box<dyn EventMatcher + Send + '_> {
        let mut m = self.ioc_matcher();
        m.mode = MatchMode::Stateless;
        Box::new(m)
    }
}

/// The observations one work unit recorded for the set's stateful patterns.
#[derive(Debug, Default)]
pub struct IocPartial {
    hits: Vec<ObservationHit>,
    hit_counts: FxHashMap<(u32, u32), usize>,
    dropped: u64,
    cands: Vec<(Target, usize)>,
    matched: Vec<usize>,
}

impl StatefulDetector for IocSet {
    type Partial = IocPartial;

    fn start(&self) -> IocPartial {
        IocPartial::default()
    }

    fn observe(&self, p: &mut IocPartial, event: &Event, _findings: &[Finding]) {
        if !self.has_stateful() {
            return;
        }
        let mut m = IocMatcher {
            set: self,
            cands: std::mem::take(&mut p.cands),
            matched: std::mem::take(&mut p.matched),
            hits: std::mem::take(&mut p.hits),
            hit_counts: std::mem::take(&mut p.hit_counts),
            dropped: p.dropped,
            mode: MatchMode::Stateful,
        };
        let mut none = Vec::new();
        m.check(event, &mut none);
        p.cands = m.cands;
        p.matched = m.matched;
        p.hits = m.hits;
        p.hit_counts = m.hit_counts;
        p.dropped = m.dropped;
    }

    fn merge(&self, into: &mut IocPartial, from: IocPartial) {
        into.hits.extend(from.hits);
        into.dropped += from.dropped;
    }

    fn finish(&self, p: IocPartial) -> StatefulOutput {
        let c = self.correlate(p.hits);
        let mut notes = c.notes;
        if p.dropped > 0 {
            notes.push(format!(
                "{} observation hits over the cap of {MAX_HITS_PER_OBSERVATION} per observation were not correlated",
                p.dropped
            ));
        }
        StatefulOutput {
            findings: c.findings,
            notes,
        }
    }
}
