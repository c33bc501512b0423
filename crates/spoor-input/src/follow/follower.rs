//! The watch set of a live hunt: the files under the given paths (with `--glob`/`--exclude`),
//! each followed by identity, so that a rotation loses no line and reads none twice.
//!
//! - **Rename** (`mv x x.1`, then a new `x`): the followed file keeps its inode; it is read to
//!   its end through the handle held open, then followed under its new name if that is still
//!   in the watch set, and the new `x` is a new file read from its start.
//! - **Copy and truncate** (`cp x x.1; : > x`): the same inode got shorter, or its first bytes
//!   changed. The lines written between the last poll and the copy are read from the copy
//!   (a file beside it whose first bytes are the old head), from the old offset; then `x` is
//!   read again from its start and the copy is followed from its end.
//! - **Compressed rotations** (`x.1.gz`): read whole once, unless their decompressed first bytes
//!   are those of a file already read (then only what was never read of it, if anything).
//! - Files that are not line-based (EVTX, CSV, a JSON document, archives) are read once.

use super::cursor::{fnv1a, identity, read_head, FileCursor, HEAD_BYTES, MIN_COPY_HEAD};
use super::tail::{absorb, Tail, TailRead};
use crate::decompress::{fill_head, peel, prefixed, Compression};
use crate::kernel::Ctx;
use crate::lines::LineReader;
use crate::read::{one_line, InputFile, LineParser};
use crate::{discover, InputFormat, ReadOptions};
use spoor_event::{Event, FileStats};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs::{File, Metadata};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

/// Cursors kept of files that left the watch set, to recognise their compressed copies.
const MAX_ORPHANS: usize = 64;

/// Files read once (identity only) remembered, so they are not read again.
const MAX_KNOWN: usize = 4096;

/// Most entries of a folder looked through for a rotated copy.
const MAX_SIBLINGS: usize = 1024;

/// Bytes read from one file in one poll by default (a poll comes back to save state and
/// report before reading on).
pub const DEFAULT_POLL_BUDGET: u64 = 16 << 20;

/// What one poll did.
#[derive(Debug, Default)]
pub struct PollReport {
    /// Bytes read.
    pub bytes: u64,
    /// Files seen for the first time.
    pub new_files: u64,
    /// Rotations handled (rename, copy-truncate, a file gone).
    pub rotations: u64,
    /// What happened to files, for the run's warnings (rotations, copies, files read once).
    pub notes: Vec<String>,
    /// Paths that could not be read at the first poll. Later (a rotation may leave a path
    /// missing for a moment) such a path is a note, once.
    pub problems: Vec<FileStats>,
}

/// A discovered regular file with its metadata.
struct Seen {
    file: InputFile,
    meta: Metadata,
    id: (u64, u64),
    claimed: bool,
}

/// Follows the files under some paths as they grow, rotate and appear.
pub struct Follower {
    roots: Vec<PathBuf>,
    opts: ReadOptions,
    budget: u64,
    tails: Vec<Tail>,
    known: VecDeque<FileCursor>,
    orphans: VecDeque<FileCursor>,
    finished: BTreeMap<String, FileStats>,
    reported: BTreeSet<String>,
    /// Not yet polled and not resumed: every file found is new, none a copy.
    fresh: bool,
    /// Polled at least once.
    polled: bool,
    backlog: u64,
    buf: Vec<u8>,
}

impl Follower {
    /// A follower of `roots` starting from nothing: the first poll reads every file whole.
    pub fn new(roots: Vec<PathBuf>, opts: ReadOptions) -> Self {
        Follower {
            roots,
            opts,
            budget: DEFAULT_POLL_BUDGET,
            tails: Vec::new(),
            known: VecDeque::new(),
            orphans: VecDeque::new(),
            finished: BTreeMap::new(),
            reported: BTreeSet::new(),
            fresh: true,
            polled: false,
            backlog: 0,
            buf: Vec::new(),
        }
    }

    /// A follower resuming from saved cursors (each checked; a bad one is an error).
    pub fn resume(
        roots: Vec<PathBuf>,
        opts: ReadOptions,
        cursors: Vec<FileCursor>,
    ) -> Result<Self, String> {
        let mut f = Follower::new(roots, opts);
        f.fresh = false;
        for c in cursors {
            c.validate()?;
            if c.read_once {
                f.known.push_back(c);
            } else {
                f.tails.push(Tail::new(c, None));
            }
        }
        Ok(f)
    }

    /// Bytes read from one file per poll at most (`u64::MAX`: all there is).
    pub fn with_budget(mut self, budget: u64) -> Self {
        self.budget = budget.max(1);
        self
    }

    /// Where every file was left, for a state file.
    pub fn cursors(&self) -> Vec<FileCursor> {
        let mut out: Vec<FileCursor> = self.tails.iter().map(|t| t.cursor.clone()).collect();
        out.extend(self.known.iter().cloned());
        out
    }

    /// Reading statistics per path, over the whole follow.
    pub fn stats(&self) -> Vec<FileStats> {
        let mut all = self.finished.clone();
        for t in &self.tails {
            absorb(
                all.entry(t.cursor.path.clone()).or_default(),
                t.stats.clone(),
            );
        }
        all.into_values().collect()
    }

    /// Bytes written to followed files and not read yet, at the end of the last poll.
    pub fn backlog(&self) -> u64 {
        self.backlog
    }

    /// Number of files followed.
    pub fn followed(&self) -> usize {
        self.tails.len()
    }

    /// Looks at every file once: reads what was appended, handles rotations, picks up new
    /// files. Events go to `emit` in file order, each file's in line order.
    pub fn poll(&mut self, emit: &mut dyn FnMut(Event)) -> PollReport {
        let mut report = PollReport::default();
        let (files, problems) = discover(&self.roots, &self.opts);
        for p in problems {
            if !self.reported.insert(p.path.clone()) {
                continue;
            }
            if self.polled {
                let why = p.error.as_deref().unwrap_or("cannot be read");
                report.notes.push(format!("{}: {why} (for now)", p.path));
            } else {
                report.problems.push(p);
            }
        }
        self.polled = true;
        let mut seen: Vec<Seen> = files
            .into_iter()
            .filter_map(|file| {
                let meta = std::fs::metadata(&file.path).ok()?;
                meta.is_file().then(|| Seen {
                    id: identity(&meta),
                    file,
                    meta,
                    claimed: false,
                })
            })
            .collect();
        self.follow_known(&mut seen, &mut report, emit);
        self.pick_up_new(&mut seen, &mut report, emit);
        self.fresh = false;
        self.backlog = self
            .tails
            .iter()
            .filter_map(|t| {
                let len = t.file.as_ref()?.metadata().ok()?.len();
                Some(len.saturating_sub(t.cursor.offset))
            })
            .sum();
        report
    }

    /// Reads on in every followed file; handles those rotated or gone.
    fn follow_known(
        &mut self,
        seen: &mut [Seen],
        report: &mut PollReport,
        emit: &mut dyn FnMut(Event),
    ) {
        for s in seen.iter_mut() {
            if self.known.iter().any(|k| k.same_file(s.id)) {
                s.claimed = true;
            }
        }
        let mut i = 0;
        let mut copies = Vec::new();
        while i < self.tails.len() {
            let id = (self.tails[i].cursor.dev, self.tails[i].cursor.ino);
            match seen
                .iter()
                .position(|s| !s.claimed && s.id == id && id != (0, 0))
            {
                Some(k) => {
                    seen[k].claimed = true;
                    let (keep, copy) = self.read_tail(i, &seen[k], seen, report, emit);
                    if let Some(c) = copy {
                        if let Some(s) = seen
                            .iter_mut()
                            .find(|s| s.id == (c.cursor.dev, c.cursor.ino))
                        {
                            s.claimed = true;
                        }
                        copies.push(c);
                    }
                    if keep {
                        i += 1;
                    } else {
                        let t = self.tails.remove(i);
                        self.remember(t);
                    }
                }
                None => {
                    let t = self.tails.remove(i);
                    self.retire(t, report, emit);
                }
            }
        }
        self.tails.extend(copies);
    }

    /// One followed file found in the watch set: checked for truncation, then read. Returns
    /// whether it stays followed, and the copy a copy-truncate rotation made, when that copy
    /// is in the watch set (followed from its end).
    fn read_tail(
        &mut self,
        i: usize,
        at: &Seen,
        seen: &[Seen],
        report: &mut PollReport,
        emit: &mut dyn FnMut(Event),
    ) -> (bool, Option<Tail>) {
        let opts = self.opts.clone();
        let t = &mut self.tails[i];
        if t.cursor.path != at.file.display {
            report.notes.push(format!(
                "{} is now {} (renamed); read on",
                t.cursor.path, at.file.display
            ));
            t.cursor.path = at.file.display.clone();
            t.stats.path = t.cursor.path.clone();
            report.rotations += 1;
        }
        if t.file.is_none() {
            match File::open(&at.file.path) {
                Ok(f) => t.file = Some(f),
                Err(e) => {
                    report.notes.push(format!("{}: {e}", at.file.display));
                    return (true, None);
                }
            }
        }
        let mut copy_tail = None;
        if truncated(t, at.meta.len()) {
            report.rotations += 1;
            let original = t.file.take();
            match find_copy(t, at, seen) {
                Some((path, f, len, id)) => {
                    t.file = Some(f);
                    if let Ok(TailRead::Lines(n)) = t.read_new(&opts, &mut self.buf, u64::MAX, true, emit) {
                        report.bytes += n;
                    }
                    report.notes.push(format!(
                        "{} was truncated; its last lines read from the copy {}",
                        t.cursor.path,
                        path.display()
                    ));
                    if let Some(s) = seen.iter().find(|s| s.id == id) {
                        let mut c = t.cursor.clone();
                        c.path = s.file.display.clone();
                        (c.dev, c.ino) = id;
                        c.offset = len;
                        c.skipping = None;
                        copy_tail = Some(Tail::new(c, t.file.take()));
                    }
                }
                None => report.notes.push(format!(
                    "{} was truncated and no copy was found beside it: lines written since the last poll may be lost",
                    t.cursor.path
                )),
            }
            t.file = original;
            t.restart();
            t.cursor.head_len = 0;
            t.cursor.head_hash = fnv1a(&[]);
        }
        refresh_head(t, at.meta.len());
        match t.read_new(&opts, &mut self.buf, self.budget, false, emit) {
            Ok(TailRead::Lines(n)) => {
                report.bytes += n;
                (true, copy_tail)
            }
            Ok(TailRead::NotLineBased) => {
                t.file = None;
                self.read_whole(i, at, report, emit);
                (false, copy_tail)
            }
            Ok(TailRead::Unrecognised) => {
                if at.file.explicit {
                    t.stats.error = Some("format not recognised".into());
                } else {
                    t.stats.skipped_not_log = true;
                }
                (false, copy_tail)
            }
            Err(e) => {
                report.notes.push(format!("{}: {e}", t.cursor.path));
                (true, copy_tail)
            }
        }
    }

    /// A followed file that left the watch set (renamed away or deleted): read to its end
    /// through the handle still open (or found again beside its old path, after a restart),
    /// then kept as an orphan for its compressed copy.
    fn retire(&mut self, mut t: Tail, report: &mut PollReport, emit: &mut dyn FnMut(Event)) {
        report.rotations += 1;
        if t.file.is_none() {
            t.file = find_inode(&t.cursor).and_then(|p| File::open(p).ok());
        }
        if t.file.is_some() {
            if let Ok(TailRead::Lines(n)) =
                t.read_new(&self.opts, &mut self.buf, u64::MAX, true, emit)
            {
                report.bytes += n;
            }
            report.notes.push(format!(
                "{} left the watch set (rotated away or deleted); read to its end",
                t.cursor.path
            ));
        } else {
            report.notes.push(format!(
                "{} is gone; lines after byte {} are read only if a compressed copy of it appears",
                t.cursor.path, t.cursor.offset
            ));
        }
        absorb(
            self.finished.entry(t.cursor.path.clone()).or_default(),
            t.stats,
        );
        if self.orphans.len() >= MAX_ORPHANS {
            self.orphans.pop_front();
        }
        self.orphans.push_back(t.cursor);
    }

    /// A followed file no longer tailed (read once, or not a log): its identity is kept.
    fn remember(&mut self, mut t: Tail) {
        t.cursor.read_once = true;
        absorb(
            self.finished.entry(t.cursor.path.clone()).or_default(),
            t.stats,
        );
        if self.known.len() >= MAX_KNOWN {
            self.known.pop_front();
        }
        self.known.push_back(t.cursor);
    }

    /// A followed file whose content is not line-based: read whole once, from its start.
    fn read_whole(
        &mut self,
        i: usize,
        at: &Seen,
        report: &mut PollReport,
        emit: &mut dyn FnMut(Event),
    ) {
        let stats = crate::read::read_file(&at.file, &self.opts, emit);
        report.bytes += at.meta.len();
        report.notes.push(format!(
            "{}: not line-based; read once, not followed",
            at.file.display
        ));
        let t = &mut self.tails[i];
        t.cursor.offset = at.meta.len();
        for s in stats {
            absorb(self.finished.entry(s.path.clone()).or_default(), s);
        }
    }

    /// Files in the watch set seen for the first time.
    fn pick_up_new(
        &mut self,
        seen: &mut [Seen],
        report: &mut PollReport,
        emit: &mut dyn FnMut(Event),
    ) {
        for s in seen.iter_mut().filter(|s| !s.claimed) {
            s.claimed = true;
            report.new_files += 1;
            let Ok(mut f) = File::open(&s.file.path) else {
                continue;
            };
            let head = read_head(&mut f, HEAD_BYTES).unwrap_or_default();
            let mut cursor = FileCursor::at_start(&s.file.display, s.id);
            if Compression::detect(&head).is_some() {
                self.compressed(s, cursor, report, emit);
                continue;
            }
            cursor.head_len = head.len() as u32;
            cursor.head_hash = fnv1a(&head);
            if !self.fresh && head.len() >= MIN_COPY_HEAD as usize {
                if let Some(of) = self.tails.iter().find(|t| head_matches(&t.cursor, &head)) {
                    report.notes.push(format!(
                        "{} is a copy of {}; followed from its end",
                        s.file.display, of.cursor.path
                    ));
                    cursor.offset = s.meta.len();
                    cursor.format = of.cursor.format.clone();
                    cursor.ndjson = of.cursor.ndjson;
                    cursor.line = of.cursor.line;
                    self.tails.push(Tail::new(cursor, Some(f)));
                    continue;
                }
            }
            self.tails.push(Tail::new(cursor, Some(f)));
            let i = self.tails.len() - 1;
            let (keep, _) = self.read_tail(i, s, &[], report, emit);
            if !keep {
                let t = self.tails.remove(i);
                self.remember(t);
            }
        }
    }

    /// A compressed file seen for the first time: read whole once, unless it is the rotated
    /// copy of a file already read (then only the part never read, if any).
    fn compressed(
        &mut self,
        s: &Seen,
        mut cursor: FileCursor,
        report: &mut PollReport,
        emit: &mut dyn FnMut(Event),
    ) {
        cursor.read_once = true;
        let head = compressed_head(&s.file.path).unwrap_or_default();
        cursor.head_len = head.len() as u32;
        cursor.head_hash = fnv1a(&head);
        let orphan = self.orphans.iter().position(|o| head_matches(o, &head));
        let known = self.tails.iter().any(|t| head_matches(&t.cursor, &head))
            || self.known.iter().any(|k| head_matches(k, &head));
        if let Some(k) = orphan {
            let o = self.orphans.remove(k).unwrap_or_else(|| cursor.clone());
            match read_rest_compressed(&s.file.path, &o, &self.opts, emit) {
                Ok(st) => {
                    report.notes.push(format!(
                        "{} is the compressed copy of {}: read from byte {} on ({} events)",
                        s.file.display, o.path, o.offset, st.events
                    ));
                    absorb(self.finished.entry(o.path.clone()).or_default(), st);
                }
                Err(e) => report.notes.push(format!("{}: {e}", s.file.display)),
            }
        } else if known && !self.fresh {
            report.notes.push(format!(
                "{} is a compressed copy of a file already read; not read again",
                s.file.display
            ));
        } else {
            for st in crate::read::read_file(&s.file, &self.opts, emit) {
                absorb(self.finished.entry(st.path.clone()).or_default(), st);
            }
            report.bytes += s.meta.len();
        }
        if self.known.len() >= MAX_KNOWN {
            self.known.pop_front();
        }
        self.known.push_back(cursor);
    }
}

/// True when the file was cut back (copy-truncate) or its first bytes changed.
fn truncated(t: &mut Tail, len: u64) -> bool {
    if len < t.cursor.offset {
        return true;
    }
    if t.cursor.head_len == 0 {
        return false;
    }
    let Some(f) = t.file.as_mut() else {
        return false;
    };
    match read_head(f, t.cursor.head_len as usize) {
        Ok(h) => fnv1a(&h) != t.cursor.head_hash || h.len() < t.cursor.head_len as usize,
        Err(_) => false,
    }
}

/// Grows the identifying head of a file still shorter than [`HEAD_BYTES`].
fn refresh_head(t: &mut Tail, len: u64) {
    if (t.cursor.head_len as usize) < HEAD_BYTES && len > u64::from(t.cursor.head_len) {
        if let Some(f) = t.file.as_mut() {
            if let Ok(h) = read_head(f, HEAD_BYTES) {
                t.cursor.head_len = h.len() as u32;
                t.cursor.head_hash = fnv1a(&h);
            }
        }
    }
}

/// Whether `head` starts with the bytes `c` identifies its file by.
fn head_matches(c: &FileCursor, head: &[u8]) -> bool {
    c.head_len >= MIN_COPY_HEAD
        && head.len() >= c.head_len as usize
        && fnv1a(head.get(..c.head_len as usize).unwrap_or_default()) == c.head_hash
}

/// The files beside `path` whose names start with its name (its rotations), at most
/// [`MAX_SIBLINGS`] looked at.
fn siblings(path: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Vec::new();
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let name = name.to_string_lossy().into_owned();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.take(MAX_SIBLINGS)
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(&name))
        .map(|e| e.path())
        .filter(|p| p.as_path() != path)
        .collect()
}

/// The copy a copy-truncate rotation made of the followed file: a plain file beside it (or in
/// the watch set), of another inode, with the old head and at least the bytes read.
fn find_copy(t: &Tail, at: &Seen, seen: &[Seen]) -> Option<(PathBuf, File, u64, (u64, u64))> {
    let mut candidates: Vec<PathBuf> = seen.iter().map(|s| s.file.path.clone()).collect();
    candidates.extend(siblings(&at.file.path));
    for p in candidates {
        let Ok(meta) = std::fs::metadata(&p) else {
            continue;
        };
        let id = identity(&meta);
        if !meta.is_file() || id == at.id || meta.len() < t.cursor.offset {
            continue;
        }
        let Ok(mut f) = File::open(&p) else {
            continue;
        };
        let head = read_head(&mut f, HEAD_BYTES).unwrap_or_default();
        if head_matches(&t.cursor, &head) {
            return Some((p, f, meta.len(), id));
        }
    }
    None
}

/// Where a cursor's file went, when it was renamed beside its old path while spoor was
/// stopped.
fn find_inode(c: &FileCursor) -> Option<PathBuf> {
    siblings(Path::new(&c.path))
        .into_iter()
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && c.same_file(identity(&m))))
}

/// The first [`HEAD_BYTES`] of a compressed file's content.
fn compressed_head(path: &Path) -> io::Result<Vec<u8>> {
    let raw: Box<dyn io::BufRead> = Box::new(BufReader::new(File::open(path)?));
    let (reader, _) = peel(raw, 4)?;
    let mut reader = prefixed(reader, HEAD_BYTES)?;
    fill_head(&mut reader, HEAD_BYTES)
}

/// The part of a compressed copy past the bytes `c` had read of the original, read as its
/// lines (numbered on from `c`).
fn read_rest_compressed(
    path: &Path,
    c: &FileCursor,
    opts: &ReadOptions,
    emit: &mut dyn FnMut(Event),
) -> io::Result<FileStats> {
    let raw: Box<dyn io::BufRead> = Box::new(BufReader::new(File::open(path)?));
    let (mut reader, _) = peel(raw, 4)?;
    io::copy(&mut (&mut reader).take(c.offset), &mut io::sink())?;
    let mut ctx = Ctx::new(&c.path, opts, emit);
    let format = c
        .format
        .as_deref()
        .and_then(|f| f.parse::<InputFormat>().ok());
    let Some(mut parser) = format.and_then(|f| LineParser::new(f, c.ndjson, &ctx)) else {
        return Ok(ctx.finish());
    };
    let mut lines = LineReader::new(reader, opts.max_line_bytes, c.line + 1);
    let mut parse = |l: &[u8], e: Event, cx: &Ctx| parser.parse(l, e, cx);
    while let Some((no, line)) = lines.next_line()? {
        one_line(&mut ctx, no, line, &mut parse);
    }
    Ok(ctx.finish())
}
