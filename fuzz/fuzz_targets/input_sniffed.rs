//! Fuzzes sniffing and the whole stream path (compression layers, zip by local headers, EVTX in
//! memory, every text format): any bytes must give statistics, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spoor_input::{read_reader, ReadOptions};

fuzz_target!(|data: &[u8]| {
    let opts = ReadOptions {
        max_line_bytes: 4096,
        max_memory_evtx_bytes: 1 << 20,
        syslog_year: Some(2024),
        ..ReadOptions::default()
    };
    let stats = read_reader("fuzz", data, &opts, |_| {});
    assert!(!stats.is_empty());
});
