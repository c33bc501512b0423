//! Scans folders with the built-in rules and prints counts: the side-by-side partner of
//! `yr scan` in the throughput comparison (see the crate's report).
//!
//! `scan_dir [--no-hash] [--threads N] PATH...`, or `scan_dir --generate DIR` to write the
//! bench folder.

#[path = "../benches/corpus.rs"]
mod corpus;

use spoor_yara::{scan_paths, ScanOptions, YaraRulesBuilder};
use std::path::PathBuf;

fn main() {
    let mut opts = ScanOptions::default();
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--no-hash" => opts.hash = false,
            "--threads" => opts.threads = args.next().and_then(|n| n.parse().ok()).unwrap_or(0),
            "--generate" => {
                let dir = PathBuf::from(args.next().unwrap_or_else(|| "bench-corpus".into()));
                let bytes = corpus::generate(&dir, 3_000, 24);
                println!("wrote {bytes} bytes under {}", dir.display());
                return;
            }
            _ => paths.push(PathBuf::from(a)),
        }
    }
    let rules = match spoor_pack::yara_rules()
        .iter()
        .fold(YaraRulesBuilder::new(), |b, (n, t)| b.add_builtin(n, t))
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let report = scan_paths(&paths, &rules, &opts);
    let s = &report.stats;
    println!(
        "files={} bytes={} matched_files={} findings={} too_large={} timed_out={} unreadable={}",
        s.files,
        s.bytes_scanned,
        s.matched,
        report.findings().len(),
        s.too_large,
        s.timed_out,
        s.unreadable
    );
}
