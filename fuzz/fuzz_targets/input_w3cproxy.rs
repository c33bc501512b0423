//! Fuzzes the W3C proxy log reader (Blue Coat style `#Fields:`, quoted values): any bytes,
//! forced to that format, give events, skipped directives or counted unparsed lines, never a
//! panic, and every line is accounted for (see `line_accounting.rs`).
#![no_main]

#[path = "line_accounting.rs"]
mod line_accounting;

use libfuzzer_sys::fuzz_target;
use spoor_input::InputFormat;

fuzz_target!(|data: &[u8]| line_accounting::check(InputFormat::W3cProxy, data));
