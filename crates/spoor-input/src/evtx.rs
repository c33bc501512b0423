//! Windows `.evtx` files through the `evtx` crate, rendered to JSON and mapped with the same code
//! as evtx_dump JSON ([`crate::winjson`]), so both give identical events: `EventID` (integer),
//! `Channel`, `Provider_Name`, `Computer`, `EventRecordID`, `Level`, `Task`, ..., EventData
//! `<Data Name="X">` as `X`, UserData leaves by name. Positions are `EventRecordID`s and times come
//! from `TimeCreated/@SystemTime`.
//!
//! A record the crate cannot render is counted unparsed with its error; a file whose header is
//! unreadable is a file error. The crate reads one 64 KiB chunk at a time.

use crate::read::Ctx;
use crate::winjson::map_windows;
use evtx::{EvtxParser, ParserSettings};
use serde_json::Value as Json;
use spoor_event::{Event, Position};
use std::io::{Read, Seek};

/// Reads all records of an EVTX stream. Returns `Err` only when the file cannot be opened as
/// EVTX at all.
pub(crate) fn read_evtx<T: Read + Seek>(source: T, ctx: &mut Ctx) -> Result<(), String> {
    let settings = ParserSettings::new()
        .separate_json_attributes(false)
        .indent(false);
    let mut parser = EvtxParser::from_read_seek(source)
        .map_err(|e| e.to_string())?
        .with_configuration(settings);
    let mut n = 0u64;
    for rec in parser.records_json_value() {
        n += 1;
        match rec {
            Ok(r) => {
                let id = r.event_record_id;
                let pos = Position::Record(id);
                let Json::Object(root) = &r.data else {
                    ctx.unparsed(id, "record is not a JSON object");
                    continue;
                };
                let mut ev = Event::new(ctx.path.clone(), pos);
                match map_windows(root) {
                    Some(w) => {
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
    Ok(())
}
