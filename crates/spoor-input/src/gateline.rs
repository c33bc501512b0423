//! What a line gate (`spoor_event::LineGate`) sees of a web line before its event is built: the
//! raw bytes, the texts the reader would store that are not slices of them, and single field
//! values on demand.
//!
//! The contract is exactness: every field value the reader would store must be a slice of the
//! raw line or of one of the derived texts (up to lossy UTF-8 replacement, which only ever turns
//! non-ASCII bytes into U+FFFD), and [`GateLine::field`] must give the value the event would
//! hold. Cheap fields are answered from the slices; anything else by building the event once
//! into a scratch event with the reader's own code, so the two can never disagree.

use crate::access::{self, AccessLine};
use crate::iis::IisColumns;
use crate::webdecode::{decode, Kind};
use spoor_event::{Event, GateLine, Position, Value};

fn needs_decoding(b: &[u8]) -> bool {
    b.iter().any(|c| matches!(c, b'%' | b'\\' | b'+'))
}

/// Pushes `text` and a separating newline.
fn push(out: &mut Vec<u8>, text: &[u8]) {
    out.extend_from_slice(text);
    out.push(b'\n');
}

fn lookup(ev: &Event, name: &str) -> Option<Value> {
    ev.fields
        .iter()
        .find(|(n, _)| &**n == name)
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_null())
}

/// An Apache/nginx combined-format line, cut but not built.
pub(crate) struct AccessGateLine<'a> {
    pub raw: &'a [u8],
    pub line: &'a AccessLine<'a>,
}

impl GateLine for AccessGateLine<'_> {
    fn raw(&self) -> &[u8] {
        self.raw
    }

    fn derived_texts(&self, out: &mut Vec<u8>) {
        // Every field is a slice of the line except the decoded companions (and the status and
        // size, whose decimal form is a slice of the digits logged: no sign, leading zeros
        // dropped).
        if !needs_decoding(self.raw) {
            return;
        }
        let (_, uri, _) = access::split_request(self.line.request);
        if let Some(u) = uri {
            push(out, decode(u, Kind::Uri).as_bytes());
        }
        for h in [self.line.referer, self.line.agent].into_iter().flatten() {
            push(out, decode(h, Kind::Header).as_bytes());
        }
    }

    fn field(&self, name: &str) -> Option<Value> {
        let text =
            |b: &[u8]| (b != b"-" && !b.is_empty()).then(|| Value::str(String::from_utf8_lossy(b)));
        match name {
            "sc-status" => self.line.status.map(Value::Int),
            "sc-bytes" => self.line.bytes.map(Value::Int),
            "c-ip" => text(self.line.client),
            _ => {
                let mut ev = Event::new("", Position::Line(0));
                access::fill(&mut ev, self.line);
                lookup(&ev, name)
            }
        }
    }
}

/// An IIS W3C line, split into columns but not built.
pub(crate) struct IisGateLine<'a> {
    pub raw: &'a [u8],
    pub cols: &'a IisColumns<'a>,
}

impl GateLine for IisGateLine<'_> {
    fn raw(&self) -> &[u8] {
        self.raw
    }

    fn derived_texts(&self, out: &mut Vec<u8>) {
        self.cols.derived_texts(out);
    }

    fn field(&self, name: &str) -> Option<Value> {
        self.cols.value(name)
    }
}
