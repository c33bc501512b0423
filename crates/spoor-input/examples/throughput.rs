//! Measures reading speed: `cargo run --release -p spoor-input --example throughput -- [-j N] PATH...`
//! prints files, events, unparsed records, input bytes, wall time, MB/s and events/s.
use spoor_input::{discover, read_all, ReadOptions};
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut threads = 0;
    if args.first().map(String::as_str) == Some("-j") && args.len() > 1 {
        threads = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(0);
        args.drain(..2);
    }
    let paths: Vec<PathBuf> = args.iter().map(PathBuf::from).collect();
    let opts = ReadOptions::default();
    let pool = match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("thread pool: {e}");
            return;
        }
    };
    let start = Instant::now();
    let (files, problems) = discover(&paths, &opts);
    let bytes: u64 = files.iter().map(|f| f.size).sum();
    let (counts, stats) = pool.install(|| {
        read_all(
            &files,
            &opts,
            || (0u64, 0u64),
            |s, e| {
                s.0 += 1;
                s.1 += e.fields.len() as u64;
            },
        )
    });
    let secs = start.elapsed().as_secs_f64();
    let events: u64 = counts.iter().map(|c| c.0).sum();
    let fields: u64 = counts.iter().map(|c| c.1).sum();
    let unparsed: u64 = stats.iter().map(|s| s.unparsed).sum();
    let errors = stats.iter().filter(|s| s.error.is_some()).count() + problems.len();
    println!(
        "threads={} files={} entries={} events={events} fields={fields} unparsed={unparsed} errors={errors} bytes={bytes} secs={secs:.2} MB/s={:.1} events/s={:.0}",
        pool.current_num_threads(),
        files.len(),
        stats.len(),
        bytes as f64 / 1e6 / secs,
        events as f64 / secs
    );
}
