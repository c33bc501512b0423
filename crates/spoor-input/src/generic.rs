//! Finishing touches for generic events (CSV rows): a time from the usual columns, and the
//! Windows log source when the row has `EventID` and `Channel`.

use crate::kernel::{windows_logsource_of, Ctx, TIME_FIELDS};
use crate::time::parse_iso;
use spoor_event::{Event, Value};

/// Sets the time and, for Windows-shaped rows, `EventID` as a number and the log source.
pub(crate) fn finish_generic(ev: &mut Event, ctx: &Ctx) {
    for name in TIME_FIELDS {
        if let Some((t, assumed)) = ev
            .get(name)
            .and_then(|v| v.as_text())
            .and_then(|t| parse_iso(&t))
        {
            ev.timestamp = Some(t);
            ctx.note_tz_assumed(assumed);
            break;
        }
    }
    let channel = ev
        .get("Channel")
        .and_then(|v| v.as_text())
        .map(|c| c.into_owned());
    let Some(channel) = channel else { return };
    let mut id = None;
    for (k, v) in ev.fields.iter_mut() {
        if &**k == "EventID" {
            if let Some(i) = v.as_text().and_then(|t| t.trim().parse::<i64>().ok()) {
                *v = Value::Int(i);
                id = Some(i);
            }
        }
    }
    if id.is_some() {
        ev.logsource = windows_logsource_of(Some(&channel), id, &ev.fields);
    }
}
