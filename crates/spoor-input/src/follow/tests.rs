//! The follower against real rotations in a temporary folder: every line read once.

use super::*;
use crate::ReadOptions;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

fn line(n: u32) -> String {
    format!("10.0.0.{} - - [01/Jan/2024:00:{:02}:{:02} +0000] \"GET /p{n} HTTP/1.1\" 200 5 \"-\" \"ua\"\n", n % 250, (n / 60) % 60, n % 60)
}

fn append(path: &Path, from: u32, to: u32) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for n in from..to {
        f.write_all(line(n).as_bytes()).unwrap();
    }
}

/// The `/pN` numbers of the events of one poll.
fn poll(f: &mut Follower) -> Vec<u32> {
    let mut got = Vec::new();
    f.poll(&mut |e| {
        let raw = e.raw.as_deref().unwrap_or("");
        let n = raw
            .split("/p")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .unwrap();
        got.push(n.parse().unwrap());
    });
    got
}

#[test]
fn rename_and_copy_truncate_lose_nothing_and_repeat_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    append(&log, 0, 10);
    let mut f = Follower::new(vec![log.clone()], ReadOptions::default());
    assert_eq!(poll(&mut f), (0..10).collect::<Vec<_>>());
    // A line being written waits for its end.
    let mut w = OpenOptions::new().append(true).open(&log).unwrap();
    w.write_all(b"10.0.0.1 - - [01/Jan/2024:00:00:10 +0000] \"GET /p10 HT")
        .unwrap();
    assert!(poll(&mut f).is_empty());
    w.write_all(b"TP/1.1\" 200 5 \"-\" \"ua\"\n").unwrap();
    append(&log, 11, 15);
    assert_eq!(poll(&mut f), (10..15).collect::<Vec<_>>());
    // Rename: lines written before the rename and not yet read come from the old file.
    append(&log, 15, 18);
    fs::rename(&log, dir.path().join("access.log.1")).unwrap();
    append(&log, 18, 20);
    assert_eq!(poll(&mut f), (15..20).collect::<Vec<_>>());
    // Copy and truncate.
    append(&log, 20, 23);
    fs::copy(&log, dir.path().join("access.log.2")).unwrap();
    fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&log)
        .unwrap();
    append(&log, 23, 25);
    assert_eq!(poll(&mut f), (20..25).collect::<Vec<_>>());
    // Resumed from the cursors: only what came after.
    append(&log, 25, 27);
    let cursors = f.cursors();
    let mut g = Follower::resume(vec![log.clone()], ReadOptions::default(), cursors).unwrap();
    assert_eq!(poll(&mut g), (25..27).collect::<Vec<_>>());
    assert!(poll(&mut g).is_empty());
}

#[test]
fn a_folder_picks_up_new_files_and_reads_compressed_rotations_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    append(&log, 0, 5);
    let mut f = Follower::new(vec![dir.path().to_path_buf()], ReadOptions::default());
    assert_eq!(poll(&mut f), (0..5).collect::<Vec<_>>());
    // Rotated by rename inside the folder: followed under its new name.
    append(&log, 5, 8);
    fs::rename(&log, dir.path().join("access.log.1")).unwrap();
    append(&log, 8, 9);
    let mut got = poll(&mut f);
    got.sort_unstable();
    assert_eq!(got, (5..9).collect::<Vec<_>>());
    // Then compressed (and the plain copy removed): known content, not read again.
    let old = dir.path().join("access.log.1");
    let bytes = fs::read(&old).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&bytes).unwrap();
    fs::write(dir.path().join("access.log.1.gz"), gz.finish().unwrap()).unwrap();
    fs::remove_file(&old).unwrap();
    assert!(poll(&mut f).is_empty());
    // A compressed file never seen before is read once.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(line(100).as_bytes()).unwrap();
    fs::write(dir.path().join("other.log.gz"), gz.finish().unwrap()).unwrap();
    assert_eq!(poll(&mut f), vec![100]);
    assert!(poll(&mut f).is_empty());
}

#[test]
fn over_long_lines_are_counted_as_they_stream() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    append(&log, 0, 1);
    let opts = ReadOptions {
        max_line_bytes: 300,
        ..ReadOptions::default()
    };
    let mut f = Follower::new(vec![log.clone()], opts);
    assert_eq!(poll(&mut f), vec![0]);
    let mut w = OpenOptions::new().append(true).open(&log).unwrap();
    w.write_all(&vec![b'A'; 1000]).unwrap();
    assert!(poll(&mut f).is_empty());
    w.write_all(b"AAAA\n").unwrap();
    append(&log, 1, 2);
    assert_eq!(poll(&mut f), vec![1]);
    let st = &f.stats()[0];
    assert_eq!((st.events, st.unparsed), (2, 1));
    assert!(
        st.unparsed_samples[0].reason.contains("1004 bytes"),
        "{:?}",
        st.unparsed_samples
    );
}
