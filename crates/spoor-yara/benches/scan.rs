//! Scan throughput (MB/s) of the built-in rules on a generated web-application folder, with and
//! without hashing. Run briefly: `cargo bench -p spoor-yara --bench scan -- --measurement-time 5`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use spoor_yara::{scan_paths, ScanOptions, YaraRulesBuilder};

mod corpus;

fn bench_scan(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let bytes = corpus::generate(dir.path(), 3_000, 24);
    let rules = spoor_pack::yara_rules()
        .iter()
        .fold(YaraRulesBuilder::new(), |b, (n, t)| b.add_builtin(n, t))
        .build()
        .expect("rules");
    let paths = vec![dir.path().to_path_buf()];
    let mut g = c.benchmark_group("scan_folder");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(10);
    for (name, hash) in [("yara+hashes", true), ("yara_only", false)] {
        let opts = ScanOptions {
            hash,
            ..ScanOptions::default()
        };
        g.bench_function(name, |b| {
            b.iter(|| {
                let report = scan_paths(&paths, &rules, &opts);
                assert!(report.stats.matched > 0);
                report.stats.bytes_scanned
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_scan);
criterion_main!(benches);
