//! Fuzzes the csv reader: any bytes, forced to that format, must give events or counted
//! unparsed lines, never a panic. A small line cap exercises the over-long path too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spoor_input::{read_reader, InputFormat, ReadOptions};

fuzz_target!(|data: &[u8]| {
    let opts = ReadOptions {
        format: Some(InputFormat::Csv),
        max_line_bytes: 4096,
        syslog_year: Some(2024),
        ..ReadOptions::default()
    };
    let stats = read_reader("fuzz", data, &opts, |_| {});
    assert!(!stats.is_empty());
});
