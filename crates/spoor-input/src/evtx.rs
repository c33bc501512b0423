//! Windows `.evtx` files through the `evtx` crate, rendered to JSON and mapped with the same code
//! as evtx_dump JSON ([`crate::winjson`]), so both give identical events: `EventID` (integer),
//! `Channel`, `Provider_Name`, `Computer`, `EventRecordID`, `Level`, `Task`, ..., EventData
//! `<Data Name="X">` as `X`, UserData leaves by name. Times come from `TimeCreated/@SystemTime`.
//!
//! Positions ([`Position::Record`]) are the events' own `System/EventRecordID`s, the number
//! Event Viewer shows, not the record header's number: they differ in exported or cut logs
//! (a sample whose first record is EventRecordID 3139859). A record without an EventRecordID
//! falls back to the header's number; unparsed records are counted under the header's number.
//!
//! A record the crate cannot render is counted unparsed with its error; a file whose header is
//! unreadable is a file error, and so is a file shorter than the chunks its header announces
//! (the crate would otherwise stop quietly at the last whole chunk). The crate reads one 64 KiB
//! chunk at a time.
//!
//! A chunk the crate cannot read at all (its header magic broken, its tables damaged, cut
//! short) loses all its records, not one: they are counted unparsed, as many as the record range
//! in the chunk's header says when that range is plausible; when it is not, the chunk is counted
//! as one and the file gets an error, so that a run never reports less damage than there is.

use crate::kernel::Ctx;
use crate::winjson::map_windows;
use evtx::err::EvtxError;
use evtx::{EvtxParser, ParserSettings};
use serde_json::Value as Json;
use spoor_event::{Event, Position};
use std::io::{Read, Seek, SeekFrom};

/// Reads all records of an EVTX stream. Returns `Err` when the file cannot be opened as EVTX at
/// all, or when the parser panicked on a corrupt file (a third-party parser: its panic is caught
/// here and becomes the file's error, with the events read before it kept).
pub(crate) fn read_evtx<T: Read + Seek>(source: T, ctx: &mut Ctx) -> Result<(), String> {
    let run = std::panic::AssertUnwindSafe(|| read_records(source, &mut *ctx));
    match std::panic::catch_unwind(run) {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(format!("the EVTX parser failed on this file: {msg}"))
        }
    }
}

/// The event's own `System/EventRecordID`, which is what an analyst looks up in Event Viewer
/// or `wevtutil`; the record header's number (`fallback`) only when the event has none (or a
/// negative one). The two differ in exported or cut logs.
fn event_record_id(fields: &spoor_event::Fields, fallback: u64) -> u64 {
    fields
        .iter()
        .find(|(k, _)| &**k == "EventRecordID")
        .and_then(|(_, v)| match v {
            spoor_event::Value::Int(i) => u64::try_from(*i).ok(),
            other => other.as_text().and_then(|t| t.trim().parse().ok()),
        })
        .unwrap_or(fallback)
}

/// EVTX chunk size.
const CHUNK_BYTES: u64 = 65536;

fn read_records<T: Read + Seek>(mut source: T, ctx: &mut Ctx) -> Result<(), String> {
    let len = source
        .seek(SeekFrom::End(0))
        .and_then(|n| source.seek(SeekFrom::Start(0)).map(|_| n))
        .map_err(|e| e.to_string())?;
    let ranges = chunk_ranges(&mut source, len, 4096);
    source.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    let settings = ParserSettings::new()
        .separate_json_attributes(false)
        .indent(false);
    let mut parser = EvtxParser::from_read_seek(source)
        .map_err(|e| e.to_string())?
        .with_configuration(settings);
    let header = parser.header();
    let announced = u64::from(header.chunk_count);
    let whole = len.saturating_sub(u64::from(header.header_block_size)) / CHUNK_BYTES;
    let truncated = (announced > whole).then(|| {
        format!(
            "file holds {whole} whole chunks of the {announced} its header announces (truncated?); \
             the records of the missing chunks were not read"
        )
    });
    let mut n = 0u64;
    let mut uncounted: Vec<u64> = Vec::new();
    for rec in parser.records_json_value() {
        n += 1;
        match rec {
            Ok(r) => {
                let id = r.event_record_id;
                let Json::Object(root) = &r.data else {
                    ctx.unparsed(id, "record is not a JSON object");
                    continue;
                };
                let mut ev = Event::new(ctx.path.clone(), Position::Record(id));
                match map_windows(root) {
                    Some(w) => {
                        ev.origin.position = Position::Record(event_record_id(&w.fields, id));
                        ev.fields = w.fields;
                        ev.logsource = w.logsource;
                        ev.timestamp = w.time.map(|(t, _)| t);
                    }
                    None => {
                        ctx.unparsed(id, "record has no Event/System element");
                        continue;
                    }
                }
                if ev.timestamp.is_none() {
                    let secs = r.timestamp.as_second();
                    let nanos = r.timestamp.subsec_nanosecond();
                    ev.timestamp = chrono::DateTime::from_timestamp(secs, nanos.max(0) as u32);
                }
                ctx.event(ev);
            }
            Err(EvtxError::FailedToParseChunk { chunk_id, source }) => {
                match ranges.get(chunk_id as usize).copied().flatten() {
                    Some(lost) => {
                        ctx.unparsed(
                            lost.first_id,
                            format!(
                                "chunk {chunk_id} unreadable ({source}): its {} records \
                                 (EventRecordID {}-{}, by the chunk header) were not read",
                                lost.count, lost.first_id, lost.last_id
                            ),
                        );
                        ctx.stats.unparsed += lost.count - 1;
                    }
                    None => {
                        ctx.unparsed(
                            n,
                            format!(
                                "chunk {chunk_id} unreadable ({source}): its records were not \
                                 read, and how many is unknown"
                            ),
                        );
                        uncounted.push(chunk_id);
                    }
                }
            }
            Err(e) => ctx.unparsed(n, format!("record {n} (sequence): {e}")),
        }
    }
    let mut errors: Vec<String> = truncated.into_iter().collect();
    if !uncounted.is_empty() {
        let list: Vec<String> = uncounted.iter().map(u64::to_string).collect();
        errors.push(format!(
            "damaged chunk(s) {} lost records that could not be counted (each counted as one)",
            list.join(", ")
        ));
    }
    if !errors.is_empty() {
        ctx.stats.error = Some(errors.join("; "));
    }
    Ok(())
}

/// The records a chunk's header says it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ChunkRange {
    first_id: u64,
    last_id: u64,
    count: u64,
}

/// Most records a 64 KiB chunk can hold (a record takes at least 28 bytes after the 512-byte
/// chunk header): a larger range in a header is damage, not a count.
const MAX_RECORDS_PER_CHUNK: u64 = (CHUNK_BYTES - 512) / 28;

/// The record range of each chunk's header (read raw, so a header whose magic is broken still
/// says what it held), `None` where the range is not plausible. Reads 48 bytes per chunk.
fn chunk_ranges<T: Read + Seek>(
    source: &mut T,
    len: u64,
    header_bytes: u64,
) -> Vec<Option<ChunkRange>> {
    let mut out = Vec::new();
    let mut raw = [0u8; 40];
    let mut at = header_bytes;
    while at + raw.len() as u64 <= len {
        let read = source
            .seek(SeekFrom::Start(at))
            .and_then(|_| source.read_exact(&mut raw));
        if read.is_err() {
            break;
        }
        out.push(plausible_range(&raw));
        at += CHUNK_BYTES;
    }
    out
}

/// The range a raw chunk header (its first 40 bytes) names, if it is plausible: record numbers
/// and EventRecordIDs each ascending, within [`MAX_RECORDS_PER_CHUNK`]; the larger of the two
/// counts when both are.
fn plausible_range(raw: &[u8; 40]) -> Option<ChunkRange> {
    let word = |at: usize| -> u64 {
        let mut b = [0u8; 8];
        if let Some(s) = raw.get(at..at + 8) {
            b.copy_from_slice(s);
        }
        u64::from_le_bytes(b)
    };
    let span = |first: u64, last: u64| {
        last.checked_sub(first)
            .map(|d| d + 1)
            .filter(|n| (1..=MAX_RECORDS_PER_CHUNK).contains(n) && first > 0)
    };
    let by_number = span(word(8), word(16));
    let (first_id, last_id) = (word(24), word(32));
    let by_id = span(first_id, last_id);
    let count = match (by_number, by_id) {
        (Some(a), Some(b)) => a.max(b),
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (None, None) => return None,
    };
    Some(ChunkRange {
        first_id,
        last_id,
        count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(numbers: (u64, u64), ids: (u64, u64)) -> [u8; 40] {
        let mut r = [0u8; 40];
        r[..8].copy_from_slice(b"XXXXXXXX"); // a broken magic does not matter
        for (at, v) in [(8, numbers.0), (16, numbers.1), (24, ids.0), (32, ids.1)] {
            r[at..at + 8].copy_from_slice(&v.to_le_bytes());
        }
        r
    }

    #[test]
    fn chunk_header_ranges_are_taken_only_when_plausible() {
        let r = plausible_range(&raw((190, 369), (190, 369))).unwrap();
        assert_eq!((r.first_id, r.last_id, r.count), (190, 369, 180));
        // The larger count when the two ranges disagree, either when one is damaged.
        assert_eq!(plausible_range(&raw((1, 10), (5, 30))).unwrap().count, 26);
        assert_eq!(plausible_range(&raw((1, 10), (30, 5))).unwrap().count, 10);
        assert_eq!(plausible_range(&raw((9, 1), (7, 7))).unwrap().count, 1);
        assert_eq!(plausible_range(&raw((9, 1), (0, 0))), None);
        assert_eq!(plausible_range(&raw((1, 1 << 40), (1, u64::MAX))), None);
        assert_eq!(plausible_range(&raw((0, 0), (0, 0))), None);
    }
}
