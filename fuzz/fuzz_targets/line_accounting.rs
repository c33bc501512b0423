//! Shared by the line-based fuzz targets: read any bytes forced to one format; the reader must
//! never panic, and every line must be accounted for (event, unparsed or skipped). A small line
//! cap exercises the over-long path too.

use spoor_input::{read_reader, InputFormat, ReadOptions};

/// Whether the bytes open with a zip, gzip, zstd, bzip2 or xz signature or a UTF-16 byte order
/// mark (then lines differ).
fn container(data: &[u8]) -> bool {
    [
        &b"PK\x03\x04"[..],
        b"\x1f\x8b",
        b"\x28\xb5\x2f\xfd",
        b"BZh",
        b"\xfd7zXZ\x00",
        b"\xff\xfe",
        b"\xfe\xff",
    ]
    .iter()
    .any(|m| data.starts_with(m))
}

/// Reads `data` as `format` and checks the line accounting.
pub fn check(format: InputFormat, data: &[u8]) {
    let opts = ReadOptions {
        format: Some(format),
        max_line_bytes: 4096,
        syslog_year: Some(2024),
        ..ReadOptions::default()
    };
    let stats = read_reader("fuzz", data, &opts, |_| {});
    assert!(!stats.is_empty());
    if !container(data) {
        assert_eq!(stats.len(), 1);
        let s = &stats[0];
        // A line ends at `\n`, `\r\n` (one end) or a lone `\r`.
        let ends = data
            .iter()
            .enumerate()
            .filter(|(i, b)| {
                **b == b'\r' || (**b == b'\n' && (*i == 0 || data.get(i - 1) != Some(&b'\r')))
            })
            .count() as u64;
        let lines = ends + u64::from(data.last().is_some_and(|b| *b != b'\n' && *b != b'\r'));
        assert_eq!(s.events + s.unparsed + s.skipped, lines, "{s:?}");
    }
}
