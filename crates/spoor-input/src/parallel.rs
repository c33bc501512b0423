//! Reading many files at once: one work unit per file, or per line-aligned chunk of a large
//! plain-text file so that both cores work on a single big log. Runs on the caller's rayon pool.
//!
//! Chunk line numbers are exact: the line ends of each chunk (`\n`, `\r\n` or a lone `\r`, as the
//! line reader splits) are counted first (in parallel, with `memchr`), and each chunk starts
//! numbering after those of the chunks before it. Chunks start after a line end, never between
//! the `\r` and `\n` of one.

use crate::json::{looks_like_ndjson, ArrayPiece, ArrayPoint};
use crate::kernel::{Ctx, Resume, BUF_BYTES};
use crate::read::{read_file, read_text, InputFile, TextPlan};
use crate::sniff::sniff;
use crate::{InputFormat, ReadOptions};
use rayon::prelude::*;
use spoor_event::{Event, FileStats, UnparsedSample, MAX_UNPARSED_SAMPLES};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::sync::Arc;

/// One piece of work.
enum Unit<'a> {
    Whole(&'a InputFile),
    Chunk {
        file: &'a InputFile,
        plan: TextPlan,
        start: u64,
        /// What the chunk needs from the text before it.
        resume: Resume,
    },
}

/// What a chunked file looks like before it is read.
struct Split {
    format: InputFormat,
    ndjson: bool,
    bounds: Vec<u64>,
    /// A JSON array: the places between elements where its chunks start (found by one skim of
    /// the file while planning, since no chunk can tell on its own where elements begin).
    array_points: Option<Vec<ArrayPoint>>,
}

/// Decides whether `file` is split, and where.
fn plan_split(file: &InputFile, opts: &ReadOptions) -> Option<Split> {
    if file.size < opts.split_bytes || file.size < 2 * BUF_BYTES as u64 {
        return None;
    }
    let mut f = File::open(&file.path).ok()?;
    let mut head = vec![0u8; BUF_BYTES];
    let n = crate::kernel::read_full(&mut f, &mut head).ok()?;
    head.truncate(n);
    if crate::decompress::Compression::detect(&head).is_some()
        || head.starts_with(b"PK")
        || crate::utf16::detect(&head).is_some()
    {
        // Compressed, archived or UTF-16: chunks of the bytes are no chunks of the text.
        return None;
    }
    let format = opts.format.or_else(|| sniff(&head))?;
    let ndjson = format == InputFormat::Json && looks_like_ndjson(&head);
    let json_stream = format == InputFormat::Json && !ndjson;
    if !(format.splittable() || ndjson || json_stream) {
        return None;
    }
    // At least a few pieces per thread (the pool hands them out as threads free up, so one
    // slow piece does not leave a thread idle), none made smaller than 8 MiB for that.
    let by_size = file.size / opts.split_bytes.max(1);
    let per_thread = (4 * rayon::current_num_threads() as u64).min(file.size / (8 << 20));
    let pieces = by_size.max(per_thread).clamp(2, 256);
    if json_stream {
        let targets: Vec<u64> = (1..pieces).map(|k| file.size / pieces * k).collect();
        f.seek(SeekFrom::Start(0)).ok()?;
        let points: Vec<ArrayPoint> = crate::json::array_points(f, &targets)
            .ok()??
            .into_iter()
            .filter(|p| p.offset < file.size)
            .collect();
        if points.is_empty() {
            return None;
        }
        let bounds = std::iter::once(0)
            .chain(points.iter().map(|p| p.offset))
            .chain([file.size])
            .collect();
        return Some(Split {
            format,
            ndjson,
            bounds,
            array_points: Some(points),
        });
    }
    let mut bounds = vec![0u64];
    for k in 1..pieces {
        let guess = file.size / pieces * k;
        let at = next_line_start(&mut f, guess).ok()?;
        if at > *bounds.last().unwrap_or(&0) && at < file.size {
            bounds.push(at);
        }
    }
    bounds.push(file.size);
    Some(Split {
        format,
        ndjson,
        bounds,
        array_points: None,
    })
}

/// The offset just after the first line end (`\n`, `\r\n` or a lone `\r`) at or after `pos`; an
/// error when none comes within 64 MiB (the file is then not split rather than split inside a
/// line). A `\r\n` is never cut in two.
fn next_line_start(f: &mut File, pos: u64) -> io::Result<u64> {
    f.seek(SeekFrom::Start(pos))?;
    let mut r = BufReader::with_capacity(BUF_BYTES, f);
    let mut skipped = 0u64;
    let mut after_cr = false;
    while skipped < 64 << 20 {
        let buf = r.fill_buf()?;
        if after_cr {
            // The previous buffer ended with `\r`: the line starts after it, or after its `\n`.
            let lf = u64::from(buf.first() == Some(&b'\n'));
            return Ok(pos + skipped + lf);
        }
        if buf.is_empty() {
            break;
        }
        if let Some(i) = memchr::memchr2(b'\n', b'\r', buf) {
            let at = pos + skipped + i as u64 + 1;
            match (buf.get(i), buf.get(i + 1)) {
                (Some(b'\r'), Some(b'\n')) => return Ok(at + 1),
                (Some(b'\r'), None) => after_cr = true,
                _ => return Ok(at),
            }
        }
        let n = buf.len();
        skipped += n as u64;
        r.consume(n);
    }
    Err(io::Error::other("no line end near the split point"))
}

/// Line ends in `[start, end)` of an IIS log, counted as the line reader splits lines, and the
/// last `#Fields:` directive among those lines: a chunk reads its records with the columns of
/// the directive before it.
fn count_iis_lines(file: &InputFile, start: u64, end: u64) -> io::Result<(u64, Option<Arc<[u8]>>)> {
    let mut f = File::open(&file.path)?;
    f.seek(SeekFrom::Start(start))?;
    let mut r = BufReader::with_capacity(BUF_BYTES, f.take(end - start));
    let mut n = 0u64;
    let mut last = None;
    let mut line = Vec::new();
    let mut after_cr = false;
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        n += crate::lines::count_line_ends(&line, after_cr);
        after_cr = line.last() == Some(&b'\r');
        // A lone `\r` ends a line too: look at each piece.
        for piece in line.split(|b| *b == b'\r') {
            let piece = piece.strip_suffix(b"\n").unwrap_or(piece);
            if piece.starts_with(b"#Fields:") {
                last = Some(Arc::from(piece));
            }
        }
    }
    Ok((n, last))
}

/// Line ends in `[start, end)` of the file, counted as the line reader splits lines.
fn count_newlines(file: &InputFile, start: u64, end: u64) -> io::Result<u64> {
    let mut f = File::open(&file.path)?;
    f.seek(SeekFrom::Start(start))?;
    let mut r = f.take(end - start);
    let mut buf = vec![0u8; BUF_BYTES];
    let mut n = 0u64;
    let mut after_cr = false;
    loop {
        let k = r.read(&mut buf)?;
        if k == 0 {
            break;
        }
        let part = buf.get(..k).unwrap_or_default();
        n += crate::lines::count_line_ends(part, after_cr);
        after_cr = part.last() == Some(&b'\r');
    }
    Ok(n)
}

/// What the scan of one chunk found, before any chunk is read.
#[derive(Default)]
struct ChunkScan {
    /// Line ends in the chunk, to number the lines of the next.
    line_ends: u64,
    /// IIS: the last `#Fields:` directive in the chunk.
    last_directive: Option<Arc<[u8]>>,
    /// CSV and TSV: where records start and end in the chunk.
    records: Option<crate::delimited::StretchScan>,
    /// CSV and TSV, the first chunk: the header row.
    header: Option<Arc<[Arc<str>]>>,
}

/// Scans chunk `k` (`[start, end)`) of `file`.
fn scan_chunk(
    file: &InputFile,
    format: InputFormat,
    (k, start, end): (usize, u64, u64),
    opts: &ReadOptions,
) -> ChunkScan {
    if format == InputFormat::Iis {
        let (line_ends, last_directive) = count_iis_lines(file, start, end).unwrap_or((0, None));
        return ChunkScan {
            line_ends,
            last_directive,
            ..ChunkScan::default()
        };
    }
    let Some(sep) = format.separator() else {
        return ChunkScan {
            line_ends: count_newlines(file, start, end).unwrap_or(0),
            ..ChunkScan::default()
        };
    };
    let lines = || -> io::Result<crate::lines::LineReader<BufReader<io::Take<File>>>> {
        let mut f = File::open(&file.path)?;
        f.seek(SeekFrom::Start(start))?;
        let r = BufReader::with_capacity(BUF_BYTES, f.take(end - start));
        // Numbered from 2 past the first chunk: a byte order mark is taken off line 1 only.
        Ok(crate::lines::LineReader::new(
            r,
            opts.max_line_bytes,
            1 + u64::from(k > 0),
        ))
    };
    let cap = opts.max_line_bytes;
    let records = lines()
        .and_then(|l| crate::delimited::scan_stretch(l, sep, k == 0, cap))
        .ok();
    let header = if k == 0 {
        lines()
            .and_then(|l| crate::delimited::header_row(l, sep, cap))
            .ok()
            .flatten()
    } else {
        None
    };
    ChunkScan {
        // The scan reads the chunk's lines as the reader does: no count of its own is needed.
        line_ends: records.map_or(0, |r| r.lines),
        records,
        header,
        ..ChunkScan::default()
    }
}

/// Where one chunk starts, and what it resumes from.
struct ChunkStart {
    offset: u64,
    first_line: u64,
    resume: Resume,
}

/// Where the chunks of a split file start, from the scans of its planned stretches. For CSV and
/// TSV a stretch that starts inside a record (a quoted line break across the planned boundary)
/// starts at its first record instead, one with no record start joins the chunk before, and the
/// split ends where a record carried over a boundary could have hit the size cap.
fn chunk_starts(split: &Split, scans: &[&ChunkScan], cap: usize) -> Vec<ChunkStart> {
    if let Some(points) = &split.array_points {
        return array_chunk_starts(points);
    }
    let mut line_at = Vec::with_capacity(scans.len());
    let mut line = 1u64;
    for scan in scans {
        line_at.push(line);
        line += scan.line_ends;
    }
    let bounds = &split.bounds;
    let mut starts = vec![ChunkStart {
        offset: 0,
        first_line: 1,
        resume: Resume::Start,
    }];
    if split.format.separator().is_none() {
        let mut directive: Option<Arc<[u8]>> = None;
        for (k, scan) in scans.iter().enumerate() {
            if k > 0 {
                starts.push(ChunkStart {
                    offset: bounds.get(k).copied().unwrap_or(u64::MAX),
                    first_line: line_at.get(k).copied().unwrap_or(1),
                    resume: directive
                        .clone()
                        .map_or(Resume::Start, Resume::IisDirective),
                });
            }
            if scan.last_directive.is_some() {
                directive.clone_from(&scan.last_directive);
            }
        }
        return starts;
    }
    use crate::delimited::StretchEnd;
    let Some(header) = scans.first().and_then(|s| s.header.clone()) else {
        return starts;
    };
    let Some(mut state) = scans.first().and_then(|s| s.records).map(|r| r.from_start) else {
        return starts;
    };
    for (k, scan) in scans.iter().enumerate().skip(1) {
        let (Some(&bound), Some(&bound_line), Some(records)) =
            (bounds.get(k), line_at.get(k), scan.records.as_ref())
        else {
            break;
        };
        let resume = Resume::CsvHeader(header.clone());
        match state {
            StretchEnd::Between => {
                starts.push(ChunkStart {
                    offset: bound,
                    first_line: bound_line,
                    resume,
                });
                state = records.from_start;
            }
            StretchEnd::Open { size } => {
                let Some(o) = records.from_open else { break };
                if size.saturating_add(o.size_before) > cap {
                    break;
                }
                match o.first_start {
                    Some((off, ends)) => {
                        let at = bound + off;
                        if bounds.get(k + 1).is_some_and(|next| at < *next) {
                            starts.push(ChunkStart {
                                offset: at,
                                first_line: bound_line + ends,
                                resume,
                            });
                        }
                        state = o.end;
                    }
                    None => {
                        state = StretchEnd::Open {
                            size: size.saturating_add(o.size_before),
                        }
                    }
                }
            }
            StretchEnd::NoHeader => break,
        }
    }
    starts
}

/// The chunks of a split JSON array: the first from the file's start, the others from places
/// between elements; all but the last end inside the array.
fn array_chunk_starts(points: &[ArrayPoint]) -> Vec<ChunkStart> {
    let piece = |after, cut| Resume::JsonArray(ArrayPiece { after, cut });
    let mut starts = vec![ChunkStart {
        offset: 0,
        first_line: 1,
        resume: piece(None, !points.is_empty()),
    }];
    for (k, p) in points.iter().enumerate() {
        starts.push(ChunkStart {
            offset: p.offset,
            first_line: p.line,
            resume: piece(Some(*p), k + 1 < points.len()),
        });
    }
    starts
}

fn read_chunk(
    file: &InputFile,
    plan: TextPlan,
    start: u64,
    resume: Resume,
    opts: &ReadOptions,
    emit: &mut dyn FnMut(Event),
) -> FileStats {
    let mut ctx = Ctx::new(&file.display, opts, emit);
    ctx.resume = resume;
    ctx.stats.format = plan.format.name().into();
    let run = || -> io::Result<File> {
        let mut f = File::open(&file.path)?;
        f.seek(SeekFrom::Start(start))?;
        Ok(f)
    };
    match run() {
        Ok(f) => {
            ctx.mtime = crate::read::file_mtime(&f);
            let r: Box<dyn BufRead> = Box::new(BufReader::with_capacity(BUF_BYTES, f));
            if let Err(e) = read_text(r, plan, &mut ctx) {
                ctx.stats.error = Some(format!("{}: {e}", file.display));
            }
        }
        Err(e) => ctx.stats.error = Some(format!("{}: {e}", file.display)),
    }
    ctx.finish()
}

/// Merges chunk statistics of one file (in chunk order) into one line.
fn merge(parts: Vec<FileStats>) -> FileStats {
    let mut it = parts.into_iter();
    let mut acc = it.next().unwrap_or_default();
    let mut samples: Vec<UnparsedSample> = std::mem::take(&mut acc.unparsed_samples);
    for p in it {
        acc.events += p.events;
        acc.unparsed += p.unparsed;
        acc.skipped += p.skipped;
        acc.merge_prefiltered(&p);
        acc.timezone_assumed |= p.timezone_assumed;
        if acc.error.is_none() {
            acc.error = p.error;
        }
        samples.extend(p.unparsed_samples);
    }
    samples.sort_by_key(|s| s.line);
    samples.truncate(MAX_UNPARSED_SAMPLES);
    acc.unparsed_samples = samples;
    acc
}

/// Reads all `files` in parallel on the current rayon pool. `init` makes the state of one work
/// unit (a file, or a chunk of a large one); `on_event` receives each event with that state. The
/// states come back (one per unit, in path order) for the caller to merge, with one
/// [`FileStats`] per file or archive entry, in path order.
///
/// ```no_run
/// use spoor_input::{discover, read_all, ReadOptions};
/// let opts = ReadOptions::default();
/// let (files, problems) = discover(&["logs".into()], &opts);
/// let (counts, stats) = read_all(&files, &opts, || 0u64, |n, _event| *n += 1);
/// let total: u64 = counts.iter().sum();
/// # let _ = (problems, stats, total);
/// ```
pub fn read_all<S: Send>(
    files: &[InputFile],
    opts: &ReadOptions,
    init: impl Fn() -> S + Sync + Send,
    on_event: impl Fn(&mut S, Event) + Sync + Send,
) -> (Vec<S>, Vec<FileStats>) {
    read_units(files, opts, init, on_event, |s| s)
}

/// [`read_all`], with `end` applied to each unit's state as soon as the unit is read, on the
/// thread that read it. What comes back is `end`'s answer per unit. A state that holds a buffer
/// (an insert batch, say) gives it up in `end`, so at most one unit per thread holds one, however
/// many files there are.
pub fn read_units<S, R: Send>(
    files: &[InputFile],
    opts: &ReadOptions,
    init: impl Fn() -> S + Sync + Send,
    on_event: impl Fn(&mut S, Event) + Sync + Send,
    end: impl Fn(S) -> R + Sync + Send,
) -> (Vec<R>, Vec<FileStats>) {
    // Plan: split large splittable files (the planning itself runs in parallel).
    let mut splits: Vec<Option<Split>> = files.par_iter().map(|f| plan_split(f, opts)).collect();
    // Scan each chunk before any is read: its line ends (to number lines exactly) and what the
    // next chunk needs from it.
    let chunk_jobs: Vec<(usize, usize, u64, u64)> = splits
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.as_ref().map(|s| (i, s)))
        .filter(|(_, s)| s.array_points.is_none())
        .flat_map(|(i, s)| {
            s.bounds
                .windows(2)
                .enumerate()
                .filter_map(move |(k, w)| match w {
                    [a, b] => Some((i, k, *a, *b)),
                    _ => None,
                })
        })
        .collect();
    let scans: Vec<ChunkScan> = chunk_jobs
        .par_iter()
        .map(
            |&(i, k, a, b)| match (files.get(i), splits.get(i).and_then(Option::as_ref)) {
                (Some(f), Some(s)) => scan_chunk(f, s.format, (k, a, b), opts),
                _ => ChunkScan::default(),
            },
        )
        .collect();
    // Per file, in chunk order: the scans, and from them where each chunk starts.
    let mut per_file: Vec<Vec<&ChunkScan>> = vec![Vec::new(); files.len()];
    for ((i, _, _, _), scan) in chunk_jobs.iter().zip(&scans) {
        if let Some(v) = per_file.get_mut(*i) {
            v.push(scan);
        }
    }
    let mut units: Vec<(usize, Unit)> = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let split = splits.get(i).and_then(Option::as_ref);
        let starts = match (split, per_file.get(i)) {
            (Some(s), Some(scans)) => chunk_starts(s, scans, opts.max_line_bytes),
            _ => Vec::new(),
        };
        let Some(split) = split.filter(|_| starts.len() > 1) else {
            if let Some(s) = splits.get_mut(i) {
                *s = None;
            }
            units.push((i, Unit::Whole(file)));
            continue;
        };
        let ends: Vec<u64> = starts
            .iter()
            .skip(1)
            .map(|c| c.offset)
            .chain([file.size])
            .collect();
        for (c, end) in starts.into_iter().zip(ends) {
            let plan = TextPlan {
                format: split.format,
                ndjson: split.ndjson,
                first_line: c.first_line,
                limit: Some(end.saturating_sub(c.offset)),
            };
            units.push((
                i,
                Unit::Chunk {
                    file,
                    plan,
                    start: c.offset,
                    resume: c.resume,
                },
            ));
        }
    }
    let results: Vec<(usize, R, Vec<FileStats>)> = units
        .into_par_iter()
        .map(|(i, unit)| {
            let mut state = init();
            let mut emit = |e: Event| on_event(&mut state, e);
            let stats = match unit {
                Unit::Whole(f) => read_file(f, opts, &mut emit),
                Unit::Chunk {
                    file,
                    plan,
                    start,
                    resume,
                } => {
                    vec![read_chunk(file, plan, start, resume, opts, &mut emit)]
                }
            };
            (i, end(state), stats)
        })
        .collect();
    // Results are in unit order, which is file order; chunks of a file are adjacent.
    let mut states = Vec::with_capacity(results.len());
    let mut stats: Vec<FileStats> = Vec::new();
    let mut pending: Vec<FileStats> = Vec::new();
    let mut pending_file = None;
    for (i, s, st) in results {
        states.push(s);
        let chunked = splits.get(i).is_some_and(Option::is_some);
        if chunked {
            if pending_file != Some(i) && !pending.is_empty() {
                stats.push(merge(std::mem::take(&mut pending)));
            }
            pending_file = Some(i);
            pending.extend(st);
        } else {
            if !pending.is_empty() {
                stats.push(merge(std::mem::take(&mut pending)));
                pending_file = None;
            }
            stats.extend(st);
        }
    }
    if !pending.is_empty() {
        stats.push(merge(pending));
    }
    // Path order whatever order the caller gave (an archive's entries follow the archive).
    stats.sort_by(|a, b| a.path.cmp(&b.path));
    (states, stats)
}
