//! Fuzzes the Linux audit log reader (records and the exec join): any bytes, forced to that
//! format, give events or counted unparsed lines, never a panic, and every line is accounted
//! for (see `line_accounting.rs`; joined exec events are counted apart).
#![no_main]

#[path = "line_accounting.rs"]
mod line_accounting;

use libfuzzer_sys::fuzz_target;
use spoor_input::InputFormat;

fuzz_target!(|data: &[u8]| line_accounting::check(InputFormat::Auditd, data));
