//! The generated folder shared by the bench and the `scan_dir` example: ordinary web-app files
//! from the tests' generator, a few larger files, and the stored web-shell samples.

use base64::Engine;
use std::path::Path;

#[path = "../tests/benign/mod.rs"]
mod benign;

/// Writes `small` generated files plus `large` files of about 1 MiB under `root`; returns the
/// total bytes written.
pub fn generate(root: &Path, small: usize, large: usize) -> u64 {
    let mut files = benign::generated_webapp(small, 0xbe4c);
    let mut r = benign::Rng::new(99);
    for i in 0..large {
        let mut big = Vec::with_capacity(1 << 20);
        while big.len() < (1 << 20) {
            if i % 2 == 0 {
                big.extend_from_slice(b"!function(e,t){var n=/^(?:\\s*(<[\\w\\W]+>)[^>]*)$/.exec(t);e.fn.find=function(q){return q}}(window,document);");
            } else {
                big.extend_from_slice(&r.next().to_le_bytes());
            }
        }
        files.push((
            format!("large/blob{i}.{}", if i % 2 == 0 { "js" } else { "bin" }),
            big,
        ));
    }
    for line in include_str!("../tests/samples/webshells.b64").lines() {
        let mut parts = line.split('\t');
        if let (Some(path), Some(_), Some(b64)) = (parts.next(), parts.next(), parts.next()) {
            if let Ok(data) = base64::engine::general_purpose::STANDARD.decode(b64) {
                files.push((format!("shells/{path}"), data));
            }
        }
    }
    let mut total = 0;
    for (rel, data) in files {
        let p = root.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("create folder");
        }
        std::fs::write(&p, &data).expect("write file");
        total += data.len() as u64;
    }
    total
}
