//! Fuzzes the UTF-16 path: any bytes after a UTF-16LE byte order mark are decoded as they
//! stream (lone surrogates, odd lengths), sniffed and read, never a panic; forced to a line
//! format, every line of the decoded text is accounted for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spoor_input::{read_reader, InputFormat, ReadOptions};

fuzz_target!(|data: &[u8]| {
    let mut bytes = vec![0xff, 0xfe];
    bytes.extend_from_slice(data);
    let sniffed = ReadOptions {
        max_line_bytes: 4096,
        syslog_year: Some(2024),
        ..ReadOptions::default()
    };
    assert!(!read_reader("fuzz", &bytes[..], &sniffed, |_| {}).is_empty());
    let forced = ReadOptions {
        format: Some(InputFormat::Syslog),
        ..sniffed
    };
    let stats = read_reader("fuzz", &bytes[..], &forced, |_| {});
    assert_eq!(stats.len(), 1);
    let s = &stats[0];
    assert!(s.format.starts_with("utf16le+"), "{s:?}");
    // The decoded text, as std decodes it (a lone surrogate or an odd last byte is U+FFFD).
    let units = data
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p.get(1).copied().unwrap_or(0)]));
    let mut text: String = char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    if data.len() % 2 == 1 {
        text.push(char::REPLACEMENT_CHARACTER);
    }
    let t = text.as_bytes();
    let ends = t
        .iter()
        .enumerate()
        .filter(|(i, b)| **b == b'\r' || (**b == b'\n' && (*i == 0 || t[i - 1] != b'\r')))
        .count() as u64;
    let lines = ends + u64::from(t.last().is_some_and(|b| *b != b'\n' && *b != b'\r'));
    assert_eq!(s.events + s.unparsed + s.skipped, lines, "{s:?}");
});
