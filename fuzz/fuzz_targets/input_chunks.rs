//! Fuzzes the split of one large file between threads: any bytes, grown past the size at which
//! files are split, read as CSV, TSV, NDJSON, a JSON array, access or IIS, must give the same
//! events and counts split into chunks as read whole. The first byte picks the format and the
//! chunk size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spoor_event::Event;
use spoor_input::{read_all, InputFile, InputFormat, ReadOptions};

/// The formats read; the last is JSON again, the input then made the elements of one array.
const FORMATS: [InputFormat; 6] = [
    InputFormat::Csv,
    InputFormat::Tsv,
    InputFormat::Json,
    InputFormat::WebAccess,
    InputFormat::Iis,
    InputFormat::Json,
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    if rest.is_empty() {
        return;
    }
    // Files under 128 KiB are never split: repeat the input past that.
    let array = usize::from(pick) % FORMATS.len() == FORMATS.len() - 1;
    let mut body = Vec::with_capacity(200_000);
    if array {
        body.push(b'[');
    }
    while body.len() < 160_000 {
        body.extend_from_slice(rest);
        if array {
            body.push(b',');
        }
    }
    let path = std::env::temp_dir().join(format!("spoor-fuzz-chunks-{}", std::process::id()));
    if std::fs::write(&path, &body).is_err() {
        return;
    }
    let files = vec![InputFile::new(&path)];
    let format = FORMATS[usize::from(pick) % FORMATS.len()];
    let read = |split_bytes: u64| {
        let opts = ReadOptions {
            format: Some(format),
            max_line_bytes: 2048,
            syslog_year: Some(2024),
            split_bytes,
            ..ReadOptions::default()
        };
        let (states, stats) = read_all(&files, &opts, Vec::new, |v: &mut Vec<Event>, e| v.push(e));
        (states.into_iter().flatten().collect::<Vec<_>>(), stats)
    };
    let whole = read(u64::MAX);
    let split = read(20_000 + u64::from(pick) * 150);
    assert_eq!(whole, split, "{format}");
    let _ = std::fs::remove_file(&path);
});
