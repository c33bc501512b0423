//! Zip archives, entry by entry: each entry is read like a file of its own (compression peeled,
//! format sniffed) under the path `archive.zip!entry`.
//!
//! macOS `__MACOSX/` folders and `._*` AppleDouble stubs are passed over and counted as skipped
//! on the archive's own statistics line; folders are not counted. An entry that is no log is
//! skipped and counted (`skipped_not_log`), as a file in a walked folder is. When the central directory is
//! unreadable (a truncated download), the local headers are walked from the start instead, and the
//! archive's line says so, with everything read before the fault still counted.

use crate::kernel::{Ctx, BUF_BYTES};
use crate::read::{read_stream_from_start, InputFile};
use crate::{InputError, ReadOptions};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use spoor_event::{Event, FileStats};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};

/// Whether an entry name is a macOS metadata stub.
pub(crate) fn is_mac_stub(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    name.starts_with("__MACOSX/") || name.contains("/__MACOSX/") || base.starts_with("._")
}

fn zip_time(t: Option<zip::DateTime>) -> Option<DateTime<Utc>> {
    let t = t?;
    let d = NaiveDate::from_ymd_opt(
        i32::from(t.year()),
        u32::from(t.month()),
        u32::from(t.day()),
    )?;
    let dt = d.and_hms_opt(
        u32::from(t.hour()),
        u32::from(t.minute()),
        u32::from(t.second()),
    )?;
    Some(Utc.from_utc_datetime(&dt))
}

fn read_entry(
    archive: &str,
    name: &str,
    mtime: Option<DateTime<Utc>>,
    entry: &mut dyn Read,
    opts: &ReadOptions,
    emit: &mut dyn FnMut(Event),
) -> FileStats {
    let path = format!("{archive}!{name}");
    let mut ctx = Ctx::new(&path, opts, emit);
    ctx.mtime = mtime;
    let reader = Box::new(BufReader::with_capacity(BUF_BYTES, entry));
    match read_stream_from_start(reader, &mut ctx) {
        Ok(()) => {}
        // Entries are found in the archive, as files are in a walked folder: one that is no
        // log (a README, a screenshot) is skipped and counted, not an error.
        Err(InputError::Unrecognised) => ctx.stats.skipped_not_log = true,
        Err(e) => ctx.stats.error = Some(e.to_string()),
    }
    ctx.finish()
}

/// Reads every entry of the zip archive `file` (already open as `f`).
pub(crate) fn read_zip(
    file: &InputFile,
    f: File,
    opts: &ReadOptions,
    emit: &mut dyn FnMut(Event),
) -> Vec<FileStats> {
    let mut own = FileStats {
        path: file.display.clone(),
        format: "zip".into(),
        ..FileStats::default()
    };
    let mut out = Vec::new();
    match zip::ZipArchive::new(f) {
        Ok(mut zip) => {
            for i in 0..zip.len() {
                let mut entry = match zip.by_index(i) {
                    Ok(e) => e,
                    Err(e) => {
                        own.error = Some(format!("archive: entry {}: {e}", i + 1));
                        continue;
                    }
                };
                if entry.is_dir() {
                    continue;
                }
                let name = entry.name().to_string();
                if is_mac_stub(&name) {
                    own.skipped += 1;
                    continue;
                }
                let mtime = zip_time(entry.last_modified());
                out.push(read_entry(
                    &file.display,
                    &name,
                    mtime,
                    &mut entry,
                    opts,
                    emit,
                ));
            }
        }
        Err(e) => {
            // No readable central directory: walk the local headers as a stream.
            let why = format!("{e}; ");
            let mut f = match File::open(&file.path) {
                Ok(f) => f,
                Err(e) => {
                    own.error = Some(format!("archive: {why}reopen failed: {e}"));
                    return vec![own];
                }
            };
            if f.seek(SeekFrom::Start(0)).is_err() {
                own.error = Some(format!("archive: {why}seek failed"));
                return vec![own];
            }
            let mut reader = BufReader::with_capacity(BUF_BYTES, f);
            out = walk_local_headers(&file.display, &mut reader, &mut own, &why, opts, emit);
        }
    }
    let mut all = vec![own];
    all.extend(out);
    all
}

/// Reads the entries of a zip archive from a stream, by their local headers (no seeking): for a
/// truncated archive, or one arriving on standard input. `why` says why the central directory
/// was not used; it opens the archive's error when the walk ends early.
fn walk_local_headers<R: Read>(
    display: &str,
    reader: &mut R,
    own: &mut FileStats,
    why: &str,
    opts: &ReadOptions,
    emit: &mut dyn FnMut(Event),
) -> Vec<FileStats> {
    let mut out = Vec::new();
    let mut entries = 0u64;
    loop {
        match zip::read::read_zipfile_from_stream(reader) {
            Ok(Some(mut entry)) => {
                if entry.is_dir() {
                    continue;
                }
                let name = entry.name().to_string();
                if is_mac_stub(&name) {
                    own.skipped += 1;
                    if let Err(e) = std::io::copy(&mut entry, &mut std::io::sink()) {
                        own.error =
                            Some(format!("archive: {why}{entries} entries read before: {e}"));
                        break;
                    }
                    continue;
                }
                entries += 1;
                let mtime = zip_time(entry.last_modified());
                let st = read_entry(display, &name, mtime, &mut entry, opts, emit);
                let broken = st.error.is_some();
                out.push(st);
                if broken {
                    own.error = Some(format!(
                        "archive: {why}{entries} entries read from local headers, the last one cut short"
                    ));
                    break;
                }
            }
            Ok(None) => {
                if !why.is_empty() {
                    own.error = Some(format!(
                        "archive: {why}{entries} entries read from local headers"
                    ));
                }
                break;
            }
            Err(e) => {
                own.error = Some(format!(
                    "archive: {why}{entries} entries read from local headers before: {e}"
                ));
                break;
            }
        }
    }
    out
}

/// Reads a zip archive arriving as a stream (standard input): entry by entry from local headers.
pub(crate) fn read_zip_stream<R: Read>(
    display: &str,
    reader: &mut R,
    opts: &ReadOptions,
    emit: &mut dyn FnMut(Event),
) -> Vec<FileStats> {
    let mut own = FileStats {
        path: display.to_string(),
        format: "zip".into(),
        ..FileStats::default()
    };
    let out = walk_local_headers(display, reader, &mut own, "", opts, emit);
    let mut all = vec![own];
    all.extend(out);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_stubs() {
        assert!(is_mac_stub("__MACOSX/x/._a.json"));
        assert!(is_mac_stub("dir/._a.json"));
        assert!(!is_mac_stub("dir/a.json"));
    }
}
