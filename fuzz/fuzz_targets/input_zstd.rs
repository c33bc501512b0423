//! Fuzzes the zstd framing gate and decoder: any bytes after a zstd frame magic (headers,
//! blocks, checksums, concatenated and skippable frames, cut anywhere) give statistics and at
//! most an error naming the damage, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spoor_input::{read_reader, InputFormat, ReadOptions};

fuzz_target!(|data: &[u8]| {
    let mut bytes = vec![0x28, 0xb5, 0x2f, 0xfd];
    bytes.extend_from_slice(data);
    let opts = ReadOptions {
        format: Some(InputFormat::Syslog),
        max_line_bytes: 4096,
        syslog_year: Some(2024),
        ..ReadOptions::default()
    };
    let stats = read_reader("fuzz", &bytes[..], &opts, |_| {});
    assert_eq!(stats.len(), 1);
});
