//! CSV and TSV with a header row: generic events whose field names are the header's columns.
//!
//! Quoting follows RFC 4180 (`"a ""b"" c"`, separators and line breaks inside quotes); a record
//! may span lines but not more than the line cap in total. A row with a different number of
//! values than the header is counted unparsed. If the columns include `EventID` and `Channel` the
//! row is treated as a Windows event (log source from the channel table).

use crate::kernel::Ctx;
use crate::lines::{Line, LineReader};
use spoor_event::{Event, Position, Value};
use std::io::{self, BufRead};
use std::sync::Arc;

/// Splits `line` into fields, continuing a quoted field from `open` (carried across lines).
/// Returns true when the record is complete (not inside quotes at the end).
fn split_into(line: &[u8], sep: u8, fields: &mut Vec<Vec<u8>>, open: &mut bool) -> bool {
    if fields.is_empty() {
        fields.push(Vec::new());
    }
    let mut i = 0;
    while let Some(&b) = line.get(i) {
        let Some(cur) = fields.last_mut() else { break };
        if *open {
            if b == b'"' {
                if line.get(i + 1) == Some(&b'"') {
                    cur.push(b'"');
                    i += 2;
                    continue;
                }
                *open = false;
            } else {
                cur.push(b);
            }
        } else if b == sep {
            fields.push(Vec::new());
        } else if b == b'"' && cur.is_empty() {
            *open = true;
        } else {
            cur.push(b);
        }
        i += 1;
    }
    if *open {
        if let Some(cur) = fields.last_mut() {
            cur.push(b'\n');
        }
        return false;
    }
    true
}

/// Reads a delimited file with a header row.
pub(crate) fn read_delimited<R: BufRead>(
    mut lines: LineReader<R>,
    sep: u8,
    ctx: &mut Ctx,
) -> io::Result<()> {
    let mut header: Option<Vec<Arc<str>>> = None;
    let mut fields: Vec<Vec<u8>> = Vec::new();
    let mut open = false;
    let mut start = 0u64;
    let mut size = 0usize;
    while let Some((no, line)) = lines.next_line()? {
        let text = match line {
            Line::TooLong(n) => {
                ctx.unparsed(no, ctx.too_long(n));
                fields.clear();
                open = false;
                continue;
            }
            Line::Text(t) => t,
        };
        if fields.is_empty() {
            if text.trim_ascii().is_empty() {
                ctx.skip();
                continue;
            }
            if header.is_none()
                && (crate::kernel::is_filler(text) || text.len() > crate::kernel::SNIFF_WINDOW)
            {
                // Junk before the header (NUL padding, an over-long line): not the header.
                ctx.unparsed(no, "not a header row: NUL padding or a line over 64 KiB");
                continue;
            }
            start = no;
            size = 0;
        }
        size += text.len();
        if !split_into(text, sep, &mut fields, &mut open) {
            if size > ctx.opts.max_line_bytes {
                ctx.unparsed(start, "quoted field runs past the size cap");
                fields.clear();
                open = false;
            }
            continue;
        }
        let row = std::mem::take(&mut fields);
        let Some(names) = &header else {
            header = Some(
                row.iter()
                    .map(|f| Arc::from(String::from_utf8_lossy(f.trim_ascii()).as_ref()))
                    .collect(),
            );
            ctx.skip();
            continue;
        };
        if row.len() != names.len() {
            ctx.unparsed(
                start,
                format!("{} values for {} header columns", row.len(), names.len()),
            );
            continue;
        }
        let mut ev = Event::new(ctx.path.clone(), Position::Line(start));
        for (name, v) in names.iter().zip(row) {
            ev.fields
                .push((name.clone(), Value::str(String::from_utf8_lossy(&v))));
        }
        crate::generic::finish_generic(&mut ev, ctx);
        ctx.event(ev);
    }
    if open && !fields.is_empty() {
        ctx.unparsed(start, "file ends inside a quoted field");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::read::tests::run_text;
    use crate::InputFormat;
    use spoor_event::{field_text, Position, Value};

    #[test]
    fn csv_with_quotes_and_bad_rows() {
        let text = b"time,user,cmd\n2024-01-01T00:00:00Z,bob,\"a, \"\"b\"\"\"\n2024-01-01T00:00:01Z,eve\n2024-01-01T00:00:02Z,al,\"multi\nline\"\n";
        let (evs, st) = run_text(text, Some(InputFormat::Csv));
        assert_eq!((st.events, st.unparsed), (2, 1));
        assert_eq!(
            field_text(&evs[0].fields, "cmd").as_deref(),
            Some("a, \"b\"")
        );
        assert_eq!(
            field_text(&evs[1].fields, "cmd").as_deref(),
            Some("multi\nline")
        );
        assert_eq!(evs[1].origin.position, Position::Line(4));
        assert!(evs[0].timestamp.is_some());
    }

    #[test]
    fn junk_before_the_header_is_counted_not_taken_as_the_header() {
        let mut text = vec![0u8; 70_000];
        text.extend_from_slice(b"\n");
        text.extend(std::iter::repeat_n(b'z', 70_000));
        text.extend_from_slice(b"\n\0\0user,cmd\nbob,whoami\n");
        let (evs, st) = run_text(&text, None);
        assert_eq!(st.format, "csv");
        assert_eq!((st.events, st.unparsed, st.skipped), (1, 2, 1), "{st:?}");
        assert_eq!(field_text(&evs[0].fields, "cmd").as_deref(), Some("whoami"));
    }

    #[test]
    fn tsv_sniffed_and_windows_columns() {
        let text = b"EventID\tChannel\tCommandLine\n4104\tMicrosoft-Windows-PowerShell/Operational\tiex x\n";
        let (evs, st) = run_text(text, None);
        assert_eq!(st.format, "tsv");
        assert_eq!(st.events, 1);
        assert_eq!(evs[0].get("EventID"), Some(&Value::Int(4104)));
        assert_eq!(evs[0].logsource.category.as_deref(), Some("ps_script"));
    }
}
