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

use crate::read::Ctx;
use crate::winjson::map_windows;
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
            Err(e) => ctx.unparsed(n, format!("record {n} (sequence): {e}")),
        }
    }
    if truncated.is_some() {
        ctx.stats.error = truncated;
    }
    Ok(())
}
