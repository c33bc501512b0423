//! The sorted timeline at any size. Findings arrive in no particular order (threads, files,
//! correlations finished after the read); the timeline must come out in report order, identical
//! findings of one file merged, with the same peak memory for ten million findings as for ten
//! thousand. [`TimelineSorter`] buffers findings up to a byte budget, sorts the buffer and
//! spills it to a temporary file when the budget is reached (an external merge sort), then
//! merges the spilled runs and the last buffer back in report order.
//!
//! De-duplication happens on the merged stream: identical findings share their time and file,
//! so they are neighbours in report order up to other findings of the same (time, file); only
//! that run of findings is held for merging, and at most [`MAX_RUN_DISTINCT`] distinct ones of
//! it (past that the run is flushed unmerged and the summary says how often).

use crate::filter::{same_evidence, EvidenceKey};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use spoor_event::{
    CorrelationInfo, Fields, FileInfo, Finding, KWayMerge, LogSource, MatchedValue, Origin,
    RelatedRequest, RuleMeta, SortedSource,
};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::fs::File;
use std::hash::BuildHasher;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::sync::Arc;

/// Default buffer budget: 4 MiB of findings (as estimated) before the first spill. Runs are
/// merged in levels ([`MERGE_FAN_IN`]), so a small budget does not mean many open files.
pub const DEFAULT_SORT_BUDGET: usize = 4 << 20;

/// Runs merged into one at a time. The runs form levels (a merge of [`MERGE_FAN_IN`] runs of
/// one level is a run of the next), so a sort of any size holds at most `MERGE_FAN_IN - 1` runs
/// per level open: about 60 files for a hundred million findings, not one per spill.
pub const MERGE_FAN_IN: usize = 32;

/// Most distinct findings held while merging one (time, file) run.
pub const MAX_RUN_DISTINCT: usize = 100_000;

/// What sorting cost, for the run summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SortStats {
    /// Findings pushed.
    pub received: u64,
    /// Findings merged into an identical earlier one.
    pub merged: u64,
    /// Bytes written to temporary files (spills and the merges of runs).
    pub spilled_bytes: u64,
    /// Temporary runs written by spilling the buffer.
    pub spill_runs: u64,
    /// Runs merged into larger runs before the end (to keep few files open).
    pub runs_merged: u64,
    /// Runs of identical-time findings too large to merge whole.
    pub dedup_capped: u64,
}

/// A finding as spilled: its rule as an index into the sorter's table of rules (shared
/// metadata is not written once per finding).
#[derive(Serialize, Deserialize)]
struct Spilled {
    rule: u32,
    timestamp: Option<DateTime<Utc>>,
    source: Origin,
    logsource: LogSource,
    event: Fields,
    raw: Option<Box<str>>,
    matched: Vec<MatchedValue>,
    file: Option<FileInfo>,
    related: Vec<RelatedRequest>,
    correlation: Option<Box<CorrelationInfo>>,
    count: u64,
}

/// Buffers, sorts and spills findings; [`TimelineSorter::finish`] streams them out in order.
pub struct TimelineSorter {
    budget: usize,
    dedup: bool,
    hasher: std::collections::hash_map::RandomState,
    /// Evidence hash -> positions in `buf` (when de-duplicating).
    index: HashMap<u64, Vec<usize>>,
    buf: Vec<Finding>,
    buf_bytes: usize,
    rules: Vec<Arc<RuleMeta>>,
    rule_index: HashMap<usize, u32>,
    dir: Option<tempfile::TempDir>,
    /// Spilled runs in the order written; levels never increase along the list.
    runs: Vec<Run>,
    stats: SortStats,
}

/// A sorted temporary file and its level (0: a spill; n + 1: a merge of runs of level n).
struct Run {
    file: File,
    level: u32,
}

/// A rough size of a finding in memory.
fn size_of(f: &Finding) -> usize {
    let fields: usize = f
        .event
        .iter()
        .map(|(k, v)| k.len() + text_len(v) + 48)
        .sum();
    256 + fields
        + f.raw.as_ref().map_or(0, |r| r.len())
        + f.related.len() * 160
        + f.correlation
            .as_ref()
            .map_or(0, |c| 200 + c.origins.len() * 48)
}

fn text_len(v: &spoor_event::Value) -> usize {
    match v {
        spoor_event::Value::Str(s) => s.len(),
        spoor_event::Value::Array(a) => a.iter().map(text_len).sum::<usize>() + 16,
        _ => 8,
    }
}

impl TimelineSorter {
    /// A sorter that spills past `budget` bytes of buffered findings; with `dedup`, identical
    /// findings of one file are merged (already while buffering, so that a flood of one line
    /// costs one finding, not a spill).
    pub fn new(budget: usize, dedup: bool) -> Self {
        TimelineSorter {
            budget: budget.max(1),
            dedup,
            hasher: Default::default(),
            index: HashMap::new(),
            buf: Vec::new(),
            buf_bytes: 0,
            rules: Vec::new(),
            rule_index: HashMap::new(),
            dir: None,
            runs: Vec::new(),
            stats: SortStats::default(),
        }
    }

    /// Adds a finding; may spill the buffer to a temporary file.
    pub fn push(&mut self, f: Finding) -> io::Result<()> {
        self.stats.received += 1;
        if self.dedup {
            let key = self.hasher.hash_one(EvidenceKey(&f));
            let slot = self.index.entry(key).or_default();
            for &i in slot.iter() {
                if let Some(kept) = self.buf.get_mut(i) {
                    if same_evidence(kept, &f) {
                        self.stats.merged += 1;
                        let count = kept.count.saturating_add(f.count);
                        // The earliest in report order stands for them.
                        if Finding::report_order(&f, kept) == Ordering::Less {
                            *kept = f;
                        }
                        kept.count = count;
                        return Ok(());
                    }
                }
            }
            slot.push(self.buf.len());
        }
        self.buf_bytes += size_of(&f);
        self.buf.push(f);
        if self.buf_bytes >= self.budget {
            self.spill()?;
        }
        Ok(())
    }

    fn rule_id(&mut self, rule: &Arc<RuleMeta>) -> u32 {
        let key = Arc::as_ptr(rule) as usize;
        if let Some(&i) = self.rule_index.get(&key) {
            return i;
        }
        let i = self.rules.len() as u32;
        self.rules.push(rule.clone());
        self.rule_index.insert(key, i);
        i
    }

    fn spill(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.buf.sort_by(Finding::report_order);
        self.index.clear();
        let mut buf = std::mem::take(&mut self.buf);
        for f in &buf {
            self.rule_id(&f.rule);
        }
        let mut run = RunWriter::create(self.run_dir()?)?;
        for f in buf.drain(..) {
            run.write(&self.rule_index, f)?;
        }
        let file = run.finish(&mut self.stats)?;
        self.runs.push(Run { file, level: 0 });
        self.stats.spill_runs += 1;
        self.buf_bytes = 0;
        self.merge_full_levels()
    }

    /// The directory runs are written to, made on the first spill.
    fn run_dir(&mut self) -> io::Result<&std::path::Path> {
        if self.dir.is_none() {
            self.dir = Some(tempfile::Builder::new().prefix("spoor-sort-").tempdir()?);
        }
        match &self.dir {
            Some(d) => Ok(d.path()),
            None => Err(io::Error::other("no directory for the sort's runs")),
        }
    }

    /// While the last [`MERGE_FAN_IN`] runs share a level, merges them into one run of the
    /// next level. They are the newest runs and next to each other, so the merge keeps the
    /// order the runs were written in (ties in report order stay stable).
    fn merge_full_levels(&mut self) -> io::Result<()> {
        loop {
            let n = self.runs.len();
            if n < MERGE_FAN_IN {
                return Ok(());
            }
            let level = self.runs[n - 1].level;
            if self.runs[n - MERGE_FAN_IN..]
                .iter()
                .any(|r| r.level != level)
            {
                return Ok(());
            }
            let group = self.runs.split_off(n - MERGE_FAN_IN);
            let dir = self.run_dir()?.to_path_buf();
            let sources = group
                .into_iter()
                .map(|r| RunSource::new(r.file, &self.rules))
                .collect();
            let mut merge = KWayMerge::new(sources, Finding::report_order)?;
            let mut out = RunWriter::create(&dir)?;
            while let Some(f) = merge.next_item()? {
                out.write(&self.rule_index, f)?;
            }
            let file = out.finish(&mut self.stats)?;
            self.stats.runs_merged += MERGE_FAN_IN as u64;
            self.runs.push(Run {
                file,
                level: level + 1,
            });
        }
    }

    /// Streams every finding to `out` in report order, identical findings of one file merged
    /// when de-duplicating (their count summed, the earliest standing for them).
    pub fn finish(
        mut self,
        out: &mut dyn FnMut(Finding) -> io::Result<()>,
    ) -> io::Result<SortStats> {
        let dedup = self.dedup;
        let mut buf = std::mem::take(&mut self.buf);
        buf.sort_by(Finding::report_order);
        let mut sources: Vec<Source> = Vec::new();
        for run in std::mem::take(&mut self.runs) {
            sources.push(Source::Run(RunSource::new(run.file, &self.rules)));
        }
        sources.push(Source::Memory(buf.into_iter()));
        let mut merge = KWayMerge::new(sources, Finding::report_order)?;
        let mut run = RunDeduper::default();
        let mut stats = self.stats;
        while let Some(f) = merge.next_item()? {
            if !dedup {
                out(f)?;
                continue;
            }
            run.add(f, &mut stats, out)?;
        }
        run.flush(out)?;
        Ok(stats)
    }
}

/// Writes one sorted run: a temporary file of one JSON record per finding.
struct RunWriter {
    w: BufWriter<File>,
    written: u64,
}

impl RunWriter {
    fn create(dir: &std::path::Path) -> io::Result<Self> {
        Ok(RunWriter {
            w: BufWriter::new(tempfile::tempfile_in(dir)?),
            written: 0,
        })
    }

    /// Writes `f`, its rule named by its number in `rule_index` (every rule of a run is there).
    fn write(&mut self, rule_index: &HashMap<usize, u32>, f: Finding) -> io::Result<()> {
        let rule = rule_index
            .get(&(Arc::as_ptr(&f.rule) as usize))
            .copied()
            .ok_or_else(|| io::Error::other("a finding to spill names an unknown rule"))?;
        let rec = Spilled {
            rule,
            timestamp: f.timestamp,
            source: f.source,
            logsource: f.logsource,
            event: f.event,
            raw: f.raw,
            matched: f.matched,
            file: f.file,
            related: f.related,
            correlation: f.correlation,
            count: f.count,
        };
        let line = serde_json::to_vec(&rec).map_err(io::Error::other)?;
        self.w.write_all(&line)?;
        self.w.write_all(b"\n")?;
        self.written += line.len() as u64 + 1;
        Ok(())
    }

    /// Flushes the run and rewinds it for reading.
    fn finish(self, stats: &mut SortStats) -> io::Result<File> {
        let mut file = self.w.into_inner().map_err(|e| e.into_error())?;
        io::Seek::rewind(&mut file)?;
        stats.spilled_bytes += self.written;
        Ok(file)
    }
}

/// A run read back, one finding at a time.
struct RunSource<'r> {
    reader: BufReader<File>,
    rules: &'r [Arc<RuleMeta>],
    line: String,
}

impl<'r> RunSource<'r> {
    fn new(file: File, rules: &'r [Arc<RuleMeta>]) -> Self {
        RunSource {
            reader: BufReader::new(file),
            rules,
            line: String::new(),
        }
    }
}

impl SortedSource for RunSource<'_> {
    type Item = Finding;
    fn next_item(&mut self) -> io::Result<Option<Finding>> {
        self.line.clear();
        if self.reader.read_line(&mut self.line)? == 0 {
            return Ok(None);
        }
        let rec: Spilled = serde_json::from_str(&self.line).map_err(io::Error::other)?;
        let rule = self
            .rules
            .get(rec.rule as usize)
            .cloned()
            .ok_or_else(|| io::Error::other("spilled finding names an unknown rule"))?;
        Ok(Some(Finding {
            timestamp: rec.timestamp,
            rule,
            source: rec.source,
            logsource: rec.logsource,
            event: rec.event,
            raw: rec.raw,
            matched: rec.matched,
            file: rec.file,
            related: rec.related,
            correlation: rec.correlation,
            count: rec.count,
        }))
    }
}

enum Source<'r> {
    Run(RunSource<'r>),
    Memory(std::vec::IntoIter<Finding>),
}

impl SortedSource for Source<'_> {
    type Item = Finding;
    fn next_item(&mut self) -> io::Result<Option<Finding>> {
        match self {
            Source::Memory(it) => Ok(it.next()),
            Source::Run(r) => r.next_item(),
        }
    }
}

/// The findings of the current (time, file) run, merged as they come.
#[derive(Default)]
struct RunDeduper {
    key: Option<(Option<DateTime<Utc>>, Arc<str>)>,
    held: Vec<Finding>,
}

impl RunDeduper {
    fn add(
        &mut self,
        f: Finding,
        stats: &mut SortStats,
        out: &mut dyn FnMut(Finding) -> io::Result<()>,
    ) -> io::Result<()> {
        let key = (f.timestamp, f.source.path.clone());
        if self.key.as_ref() != Some(&key) {
            self.flush(out)?;
            self.key = Some(key);
        }
        if let Some(kept) = self.held.iter_mut().find(|k| same_evidence(k, &f)) {
            kept.count = kept.count.saturating_add(f.count);
            stats.merged += 1;
            return Ok(());
        }
        if self.held.len() >= MAX_RUN_DISTINCT {
            stats.dedup_capped += 1;
            self.flush(out)?;
        }
        self.held.push(f);
        Ok(())
    }

    fn flush(&mut self, out: &mut dyn FnMut(Finding) -> io::Result<()>) -> io::Result<()> {
        for f in self.held.drain(..) {
            out(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spoor_event::{Event, Position, RuleKind, RuleLevel, Value};

    fn finding(rule: &Arc<RuleMeta>, path: &str, line: u64, sec: i64, raw: &str) -> Finding {
        let mut e = Event::new(path, Position::Line(line)).with("c-ip", "10.0.0.1");
        e.timestamp = DateTime::from_timestamp(1_700_000_000 + sec, 0);
        e.raw = Some(raw.into());
        e.push("n", Value::Int(sec % 7));
        e.push("f", Value::Float(1.5));
        e.push(
            "a",
            Value::Array(vec![Value::str("x"), Value::Null, Value::Bool(true)]),
        );
        Finding::from_event(rule.clone(), &e)
    }

    fn run(budget: usize, findings: Vec<Finding>, dedup: bool) -> (Vec<Finding>, SortStats) {
        let mut s = TimelineSorter::new(budget, dedup);
        for f in findings {
            s.push(f).unwrap();
        }
        drain(s)
    }

    /// What a sorter gives back, in order, and its statistics.
    fn drain(s: TimelineSorter) -> (Vec<Finding>, SortStats) {
        let mut out = Vec::new();
        let stats = s
            .finish(&mut |f| {
                out.push(f);
                Ok(())
            })
            .unwrap();
        (out, stats)
    }

    fn sample() -> Vec<Finding> {
        let a = Arc::new(RuleMeta::new("a", "A", RuleLevel::High, RuleKind::Sigma));
        let b = Arc::new(RuleMeta::new("b", "B", RuleLevel::Low, RuleKind::Sigma));
        let mut v = Vec::new();
        for i in 0..2_000u64 {
            // Groups of five findings share rule, file, time and evidence (on other lines).
            let g = i / 5;
            let sec = ((g * 7919) % 500) as i64;
            let path = if g % 3 == 0 { "x.log" } else { "y.log" };
            let raw = format!("GET /{sec} {g}");
            v.push(finding(
                if g % 2 == 0 { &a } else { &b },
                path,
                i + 1,
                sec,
                &raw,
            ));
        }
        v
    }

    #[test]
    fn spilled_and_in_memory_sorts_are_identical() {
        let (mem, s1) = run(usize::MAX, sample(), true);
        let (disk, s2) = run(4_096, sample(), true);
        assert_eq!(s1.spill_runs, 0);
        assert!(s2.spill_runs > 10, "{s2:?}");
        assert!(s2.spilled_bytes > 0);
        assert_eq!(mem, disk);
        assert_eq!(s1.merged, s2.merged);
        assert_eq!(s1.merged, 1_600, "groups of five merge into one");
        assert!(mem
            .windows(2)
            .all(|w| Finding::report_order(&w[0], &w[1]) != Ordering::Greater));
        let total: u64 = mem.iter().map(|f| f.count).sum();
        assert_eq!(total, 2_000);
    }

    #[test]
    fn identical_findings_merge_only_within_one_file() {
        let r = Arc::new(RuleMeta::new("r", "R", RuleLevel::High, RuleKind::Sigma));
        let same = |path: &str, line| finding(&r, path, line, 0, "GET /shell.php?c=id");
        let input = vec![
            same("b.log", 9),
            same("a.log", 4),
            same("a.log", 2),
            same("b.log", 1),
        ];
        let (out, stats) = run(usize::MAX, input, true);
        let got: Vec<(&str, u64, u64)> = out
            .iter()
            .map(|f| (&*f.source.path, f.source.position.number(), f.count))
            .collect();
        assert_eq!(got, vec![("a.log", 2, 2), ("b.log", 1, 2)]);
        assert_eq!(stats.merged, 2);
        let (all, _) = run(usize::MAX, vec![same("a.log", 1), same("a.log", 2)], false);
        assert_eq!(all.len(), 2);
    }

    #[test]
    fn a_flood_of_one_line_is_one_finding_without_a_spill() {
        let r = Arc::new(RuleMeta::new("r", "R", RuleLevel::High, RuleKind::Sigma));
        let mut s = TimelineSorter::new(4_096, true);
        for line in (1..=50_000u64).rev() {
            s.push(finding(
                &r,
                "bomb.log",
                line,
                0,
                "GET /?x=${jndi:ldap://x/a}",
            ))
            .unwrap();
        }
        let (out, stats) = drain(s);
        assert_eq!(stats.spill_runs, 0);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].count, out[0].source.position.number()), (50_000, 1));
    }

    #[test]
    fn runs_merge_in_levels_and_ties_keep_push_order() {
        // Findings that tie in report order (same time, file, line and rule) but differ in
        // what they hold: only a stable sort and a stable merge give them back in push order.
        let r = Arc::new(RuleMeta::new("r", "R", RuleLevel::High, RuleKind::Sigma));
        let input: Vec<Finding> = (0..5_000u64)
            .map(|i| {
                let sec = ((i * 7919) % 40) as i64;
                finding(&r, "t.log", (sec % 3) as u64 + 1, sec, &format!("GET /{i}"))
            })
            .collect();
        let (mem, _) = run(usize::MAX, input.clone(), false);
        let mut s = TimelineSorter::new(1, false);
        let mut most_open = 0;
        for f in input {
            s.push(f).unwrap();
            most_open = most_open.max(s.runs.len());
        }
        let top = s.runs.iter().map(|r| r.level).max().unwrap_or(0);
        assert!(
            top >= 2,
            "5,000 spills of one finding reach level 2, got {top}"
        );
        assert!(
            most_open < MERGE_FAN_IN * (top as usize + 1),
            "{most_open} runs open"
        );
        let (disk, stats) = drain(s);
        assert_eq!(stats.spill_runs, 5_000);
        assert!(stats.runs_merged >= 4_992, "{stats:?}");
        assert_eq!(mem, disk);
    }

    #[test]
    fn values_round_trip_through_a_spill() {
        let (mem, _) = run(usize::MAX, sample(), false);
        let (disk, _) = run(1, sample(), false);
        assert_eq!(mem, disk);
        assert_eq!(
            disk[0]
                .event
                .iter()
                .find(|(k, _)| &**k == "f")
                .map(|(_, v)| v),
            Some(&Value::Float(1.5))
        );
    }
}
