//! Correlation inputs at any size. A batch run cannot feed a correlation before every work unit
//! is read (the windows need all inputs in time order, and units are read in parallel), so the
//! matches of the rules correlations read wait until the end. [`MatchBuffer`] keeps them in
//! memory up to a byte budget, then sorts them and writes them to a temporary file (a *run*); at
//! the end the runs and what is left in memory are merged back in input order, one match at a
//! time, so the windows can be fed and pruned as the merge goes. Peak memory is then the budget
//! per unit being read plus the live windows, not the number of matches: a 10 GB web log keeps
//! the same footprint as a 1 GB one.
//!
//! A run is a temporary file of one JSON record per line; it is deleted when the buffer that
//! wrote it is dropped. When a temporary file cannot be written the matches stay in memory and
//! the run's notes say why (the findings are the same, only the memory bound is lost).

use crate::correlation::BaseMatch;
use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use spoor_event::{KWayMerge, LogSource, Origin, Position, SortedSource};
use std::cmp::Ordering;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::sync::Arc;

/// Bytes of matches (as estimated) a buffer holds before it writes a run.
pub(crate) const SPILL_BUDGET: usize = 8 << 20;

/// A unit whose reading is done keeps at most this many bytes of matches in memory; more is
/// written out, since the unit may wait long for the others.
pub(crate) const SEALED_KEEP: usize = 256 << 10;

/// Runs merged into one when a buffer holds this many, so that few files are open at the end.
pub(crate) const MERGE_FAN_IN: usize = 32;

/// The order correlation inputs are fed in: time, then where the event is, then the rule, then
/// the values kept. Matches equal in this order are equal in what a correlation reads, so runs
/// can be merged in any grouping and the end merge gives the same sequence.
pub(crate) fn match_order(a: &BaseMatch, b: &BaseMatch) -> Ordering {
    a.time
        .cmp(&b.time)
        .then_with(|| a.origin.path.cmp(&b.origin.path))
        .then_with(|| a.origin.position.cmp(&b.origin.position))
        .then_with(|| a.rule.cmp(&b.rule))
        .then_with(|| a.values.cmp(&b.values))
}

/// [`match_order`] on records as read from a run (a rule's field names are the same for all
/// its matches, so comparing values alone agrees with it).
fn spilled_order(a: &Spilled, b: &Spilled) -> Ordering {
    (a.secs, a.nanos)
        .cmp(&(b.secs, b.nanos))
        .then_with(|| a.path.cmp(&b.path))
        .then_with(|| a.position.cmp(&b.position))
        .then_with(|| a.rule.cmp(&b.rule))
        .then_with(|| a.values.cmp(&b.values))
}

/// A rough size of a kept match in memory.
fn size_of(m: &BaseMatch) -> usize {
    160 + m
        .values
        .iter()
        .map(|(_, v)| 48 + v.as_ref().map_or(0, |v| v.len()))
        .sum::<usize>()
}

/// The matches of one unit (or of several, once merged): some in memory, the rest in runs.
#[derive(Debug)]
pub(crate) struct MatchBuffer {
    pub(crate) mem: Vec<BaseMatch>,
    bytes: usize,
    /// [`SPILL_BUDGET`] and [`SEALED_KEEP`], smaller in tests.
    budget: usize,
    keep: usize,
    runs: Vec<RunFile>,
    /// Matches written to runs so far.
    pub(crate) spilled: u64,
    /// Why a run could not be written (the matches stayed in memory); no further run is tried.
    pub(crate) failed: Option<String>,
}

/// A match as written to a run. The field names are not written: they are the rule's capture
/// list, which the reader has.
#[derive(Serialize)]
struct SpilledRef<'a> {
    secs: i64,
    nanos: u32,
    path: &'a str,
    position: Position,
    logsource: &'a LogSource,
    rule: u32,
    values: Vec<Option<&'a str>>,
}

/// A run: a temporary file (deleted when dropped) and how many matches it holds.
#[derive(Debug)]
struct RunFile {
    path: tempfile::TempPath,
    matches: u64,
}

#[derive(Deserialize)]
struct Spilled {
    secs: i64,
    nanos: u32,
    path: String,
    position: Position,
    logsource: LogSource,
    rule: u32,
    values: Vec<Option<String>>,
}

impl Default for MatchBuffer {
    fn default() -> Self {
        MatchBuffer::with_budget(SPILL_BUDGET, SEALED_KEEP)
    }
}

impl MatchBuffer {
    /// A buffer that writes a run past `budget` bytes, and on [`Self::seal`] past `keep`.
    pub(crate) fn with_budget(budget: usize, keep: usize) -> Self {
        MatchBuffer {
            mem: Vec::new(),
            bytes: 0,
            budget: budget.max(1),
            keep,
            runs: Vec::new(),
            spilled: 0,
            failed: None,
        }
    }

    /// True when no match is held, in memory or in a run.
    pub(crate) fn is_empty(&self) -> bool {
        self.mem.is_empty() && self.runs.is_empty()
    }

    /// Keeps one match; writes a run when the budget is reached.
    pub(crate) fn push(&mut self, m: BaseMatch) {
        self.bytes += size_of(&m);
        self.mem.push(m);
        if self.bytes >= self.budget {
            self.spill();
        }
    }

    /// The unit is read: what it holds beyond [`SEALED_KEEP`] goes to a run.
    pub(crate) fn seal(&mut self) {
        if self.bytes > self.keep {
            self.spill();
        }
    }

    /// Takes over another buffer's matches and runs.
    pub(crate) fn absorb(&mut self, other: MatchBuffer) {
        self.runs.extend(other.runs);
        self.spilled += other.spilled;
        if self.failed.is_none() {
            self.failed = other.failed;
        }
        self.bytes += other.bytes;
        self.mem.extend(other.mem);
        if self.bytes >= self.budget {
            self.spill();
        }
        self.merge_smallest_runs();
    }

    /// While [`MERGE_FAN_IN`] runs or more are held, merges the smallest of them into one.
    /// Taking the smallest keeps the bytes rewritten near `n log n`; [`match_order`] being a
    /// total order on what is kept makes the grouping irrelevant to the result.
    fn merge_smallest_runs(&mut self) {
        while self.runs.len() >= MERGE_FAN_IN && self.failed.is_none() {
            self.runs.sort_by_key(|r| std::cmp::Reverse(r.matches));
            let group = self.runs.split_off(self.runs.len() - MERGE_FAN_IN);
            match merge_runs(&group) {
                Ok(run) => self.runs.push(run),
                Err(e) => {
                    self.runs.extend(group);
                    self.failed = Some(format!(
                        "correlation input runs could not be merged ({e}); later inputs were kept in memory"
                    ));
                }
            }
        }
    }

    fn spill(&mut self) {
        if self.mem.is_empty() || self.failed.is_some() {
            // After a failure the matches stay in memory; counting on stops the retries.
            self.bytes = 0;
            return;
        }
        self.mem.sort_by(match_order);
        match write_run(self.mem.iter().map(spilled_ref)) {
            Ok(run) => {
                self.runs.push(run);
                self.spilled += self.mem.len() as u64;
                self.mem = Vec::new();
            }
            Err(e) => {
                self.failed = Some(format!(
                    "correlation inputs could not be written to a temporary file ({e}); they were kept in memory"
                ));
            }
        }
        self.bytes = 0;
        self.merge_smallest_runs();
    }

    /// Every match in [`match_order`], the runs read back one record at a time. `names` gives,
    /// per rule, the names of the fields kept of its matches.
    pub(crate) fn drain_sorted<'n>(
        &mut self,
        names: &'n FxHashMap<u32, Vec<Arc<str>>>,
    ) -> io::Result<SortedMatches<'n>> {
        let mut mem = std::mem::take(&mut self.mem);
        mem.sort_by(match_order);
        self.bytes = 0;
        let mut sources = Vec::with_capacity(self.runs.len() + 1);
        // Runs keep their files until the merge is done: the reader holds them.
        for run in std::mem::take(&mut self.runs) {
            let reader = RunReader::open(&run.path)?;
            sources.push(Source::Run {
                reader,
                names,
                _file: run.path,
            });
        }
        sources.push(Source::Memory(mem.into_iter()));
        Ok(SortedMatches(KWayMerge::new(sources, match_order)?))
    }

    /// Every match in [`match_order`], read back at once (live mode's watermark steps, which
    /// hold little).
    pub(crate) fn drain_all(
        &mut self,
        names: &FxHashMap<u32, Vec<Arc<str>>>,
    ) -> io::Result<Vec<BaseMatch>> {
        let mut sorted = self.drain_sorted(names)?;
        let mut all = Vec::new();
        while let Some(m) = sorted.next_match()? {
            all.push(m);
        }
        Ok(all)
    }

    /// Every match, in [`match_order`], without giving them up (for a state file).
    pub(crate) fn snapshot(
        &self,
        names: &FxHashMap<u32, Vec<Arc<str>>>,
    ) -> io::Result<Vec<BaseMatch>> {
        let mut out = self.mem.clone();
        for run in &self.runs {
            let mut reader = RunReader::open(&run.path)?;
            while let Some(m) = reader.next(names)? {
                out.push(m);
            }
        }
        out.sort_by(match_order);
        Ok(out)
    }
}

fn spilled_ref(m: &BaseMatch) -> SpilledRef<'_> {
    SpilledRef {
        secs: m.time.timestamp(),
        nanos: m.time.timestamp_subsec_nanos(),
        path: &m.origin.path,
        position: m.origin.position,
        logsource: &m.logsource,
        rule: m.rule,
        values: m.values.iter().map(|(_, v)| v.as_deref()).collect(),
    }
}

/// Writes records, already in order, to a new run.
fn write_run<'a>(records: impl Iterator<Item = SpilledRef<'a>>) -> io::Result<RunFile> {
    let mut run = RunWriter::create()?;
    for rec in records {
        run.write(&rec)?;
    }
    run.finish()
}

/// A run being written.
struct RunWriter {
    w: BufWriter<File>,
    path: tempfile::TempPath,
    matches: u64,
}

impl RunWriter {
    fn create() -> io::Result<Self> {
        let file = tempfile::Builder::new().prefix("spoor-corr-").tempfile()?;
        let (file, path) = file.into_parts();
        Ok(RunWriter {
            w: BufWriter::with_capacity(1 << 16, file),
            path,
            matches: 0,
        })
    }

    fn write(&mut self, rec: &SpilledRef<'_>) -> io::Result<()> {
        serde_json::to_writer(&mut self.w, rec).map_err(io::Error::other)?;
        self.w.write_all(b"\n")?;
        self.matches += 1;
        Ok(())
    }

    fn finish(mut self) -> io::Result<RunFile> {
        self.w.flush()?;
        Ok(RunFile {
            path: self.path,
            matches: self.matches,
        })
    }
}

/// Merges runs into one, record by record (the field names are not needed for that).
fn merge_runs(group: &[RunFile]) -> io::Result<RunFile> {
    let sources = group
        .iter()
        .map(|r| RunReader::open(&r.path).map(RawRecords))
        .collect::<io::Result<Vec<_>>>()?;
    let mut merge = KWayMerge::new(sources, spilled_order)?;
    let mut out = RunWriter::create()?;
    while let Some(rec) = merge.next_item()? {
        out.write(&SpilledRef {
            secs: rec.secs,
            nanos: rec.nanos,
            path: &rec.path,
            position: rec.position,
            logsource: &rec.logsource,
            rule: rec.rule,
            values: rec.values.iter().map(|v| v.as_deref()).collect(),
        })?;
    }
    out.finish()
}

/// A run's records as written, for merging runs.
struct RawRecords(RunReader);

impl SortedSource for RawRecords {
    type Item = Spilled;
    fn next_item(&mut self) -> io::Result<Option<Spilled>> {
        self.0.next_record()
    }
}

/// Reads a run back, one record at a time.
struct RunReader {
    reader: BufReader<File>,
    line: String,
    /// The path and log source of the last record, shared with the next when equal.
    last_path: Option<Arc<str>>,
    last_logsource: Option<LogSource>,
}

impl RunReader {
    fn open(path: &std::path::Path) -> io::Result<Self> {
        Ok(RunReader {
            // Small: a run per work unit is open at once while they are merged.
            reader: BufReader::with_capacity(8 << 10, File::open(path)?),
            line: String::new(),
            last_path: None,
            last_logsource: None,
        })
    }

    fn next_record(&mut self) -> io::Result<Option<Spilled>> {
        self.line.clear();
        if self.reader.read_line(&mut self.line)? == 0 {
            return Ok(None);
        }
        serde_json::from_str(&self.line)
            .map(Some)
            .map_err(io::Error::other)
    }

    fn next(&mut self, names: &FxHashMap<u32, Vec<Arc<str>>>) -> io::Result<Option<BaseMatch>> {
        let Some(rec) = self.next_record()? else {
            return Ok(None);
        };
        let time = DateTime::<Utc>::from_timestamp(rec.secs, rec.nanos)
            .ok_or_else(|| io::Error::other("a spilled correlation input with a bad time"))?;
        let path = match &self.last_path {
            Some(p) if **p == *rec.path => p.clone(),
            _ => {
                let p: Arc<str> = Arc::from(rec.path);
                self.last_path = Some(p.clone());
                p
            }
        };
        let logsource = match &self.last_logsource {
            Some(l) if *l == rec.logsource => l.clone(),
            _ => {
                self.last_logsource = Some(rec.logsource.clone());
                rec.logsource
            }
        };
        let no_names = Vec::new();
        let field_names = names.get(&rec.rule).unwrap_or(&no_names);
        if field_names.len() != rec.values.len() {
            return Err(io::Error::other(
                "a spilled correlation input with another number of fields than its rule keeps",
            ));
        }
        let values = field_names
            .iter()
            .cloned()
            .zip(rec.values.into_iter().map(|v| v.map(Arc::from)))
            .collect();
        Ok(Some(BaseMatch {
            time,
            origin: Origin {
                path,
                position: rec.position,
            },
            logsource,
            rule: rec.rule,
            values,
        }))
    }
}

enum Source<'n> {
    /// A run being read, the names of its rules' fields, and its file (deleted when the merge
    /// is done).
    Run {
        reader: RunReader,
        names: &'n FxHashMap<u32, Vec<Arc<str>>>,
        _file: tempfile::TempPath,
    },
    Memory(std::vec::IntoIter<BaseMatch>),
}

impl SortedSource for Source<'_> {
    type Item = BaseMatch;
    fn next_item(&mut self) -> io::Result<Option<BaseMatch>> {
        match self {
            Source::Run { reader, names, .. } => reader.next(names),
            Source::Memory(it) => Ok(it.next()),
        }
    }
}

/// The merge of a buffer's runs and memory, in [`match_order`] (ties: the earlier run).
pub(crate) struct SortedMatches<'n>(KWayMerge<Source<'n>>);

impl SortedMatches<'_> {
    /// The next match, or `None` at the end.
    pub(crate) fn next_match(&mut self) -> io::Result<Option<BaseMatch>> {
        self.0.next_item()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn m(sec: i64, line: u64, rule: u32, v: &str) -> BaseMatch {
        BaseMatch {
            time: Utc
                .timestamp_opt(1_700_000_000 + sec, 7)
                .single()
                .expect("time"),
            origin: Origin {
                path: Arc::from(if line.is_multiple_of(3) {
                    "b.log"
                } else {
                    "a.log"
                }),
                position: Position::Line(line),
            },
            logsource: LogSource::new(Some("apache"), Some("webserver"), None),
            rule,
            values: vec![
                (Arc::from("c-ip"), Some(Arc::from(v))),
                (Arc::from("cs-uri-stem"), None),
            ],
        }
    }

    fn names() -> FxHashMap<u32, Vec<Arc<str>>> {
        (0..3)
            .map(|r| (r, vec![Arc::from("c-ip"), Arc::from("cs-uri-stem")]))
            .collect()
    }

    fn key(m: &BaseMatch) -> String {
        format!("{:?}", (m.time, &m.origin, &m.logsource, m.rule, &m.values))
    }

    /// The keys of `all` in match order: what a buffer of them must give back.
    fn in_order(all: &[BaseMatch]) -> Vec<String> {
        let mut sorted = all.to_vec();
        sorted.sort_by(match_order);
        sorted.iter().map(key).collect()
    }

    fn drained(b: &mut MatchBuffer) -> Vec<String> {
        let all = b.drain_all(&names()).expect("runs read back");
        all.iter().map(key).collect()
    }

    #[test]
    fn many_runs_are_merged_and_few_stay_open() {
        // Ties in time, file and line across units (the same line read twice) and runs of
        // one match each: merging them in any grouping must give one sequence.
        let all: Vec<BaseMatch> = (0..3_000u64)
            .map(|i| {
                m(
                    (i * 7919 % 50) as i64,
                    i % 40,
                    (i % 2) as u32,
                    &format!("v{}", i % 7),
                )
            })
            .collect();
        let expected = in_order(&all);
        let mut units: Vec<MatchBuffer> = (0..25).map(|_| MatchBuffer::with_budget(1, 0)).collect();
        for (i, x) in all.into_iter().enumerate() {
            let unit = &mut units[i % 25];
            unit.push(x);
            assert!(unit.runs.len() < MERGE_FAN_IN, "{} runs", unit.runs.len());
        }
        let mut merged = MatchBuffer::with_budget(1 << 30, 0);
        for u in units {
            merged.absorb(u);
            assert!(
                merged.runs.len() < MERGE_FAN_IN,
                "{} runs",
                merged.runs.len()
            );
        }
        assert!(merged.failed.is_none(), "{:?}", merged.failed);
        assert_eq!(drained(&mut merged), expected);
    }

    #[test]
    fn spilled_and_kept_matches_come_back_alike_and_in_order() {
        let all: Vec<BaseMatch> = (0..2_000u64)
            .map(|i| {
                m(
                    (i * 7919 % 600) as i64,
                    i,
                    (i % 3) as u32,
                    &format!("192.0.2.{}", i % 17),
                )
            })
            .collect();
        let expected = in_order(&all);

        // Three units: one spills many runs, one is sealed into a run, one stays in memory.
        let mut units = [
            MatchBuffer::with_budget(4 << 10, 0),
            MatchBuffer::with_budget(1 << 30, 0),
            MatchBuffer::with_budget(1 << 30, 1 << 30),
        ];
        for (i, x) in all.into_iter().enumerate() {
            units[i % 3].push(x);
        }
        assert!(units[0].runs.len() > 1, "{}", units[0].runs.len());
        assert!(units[0].spilled > 600, "{}", units[0].spilled);
        for u in &mut units {
            u.seal();
        }
        assert_eq!(units[1].runs.len(), 1);
        assert!(units[2].runs.is_empty());
        let [a, b, c] = units;
        let mut merged = MatchBuffer::with_budget(1 << 30, 0);
        for u in [a, b, c] {
            merged.absorb(u);
        }
        assert_eq!(
            merged
                .snapshot(&names())
                .expect("snapshot")
                .iter()
                .map(key)
                .collect::<Vec<_>>(),
            expected
        );
        assert_eq!(drained(&mut merged), expected);
        assert!(merged.is_empty());
    }

    #[test]
    fn a_damaged_run_is_an_error_not_a_panic() {
        let mut b = MatchBuffer::with_budget(1, 0);
        b.push(m(1, 1, 0, "x"));
        assert_eq!(b.runs.len(), 1);
        let path = b.runs[0].path.to_path_buf();
        std::fs::write(&path, b"{\"secs\": 1, \"nanos\": 99999999999}\nnot json\n").expect("write");
        let names = names();
        assert!(b.drain_sorted(&names).is_err());
        // A record with another number of values than its rule keeps.
        let mut b = MatchBuffer::with_budget(1, 0);
        b.push(m(1, 1, 0, "x"));
        let path = b.runs[0].path.to_path_buf();
        std::fs::write(&path, b"{\"secs\":1,\"nanos\":0,\"path\":\"a\",\"position\":{\"line\":1},\"logsource\":{},\"rule\":0,\"values\":[]}\n").expect("write");
        assert!(b.drain_sorted(&names).is_err());
    }
}
