//! spoor-gen: test data for spoor's benchmarks, at any size and the same bytes for the same seed.
//!
//! A benchmark is only worth comparing across runs and machines when its input is identical, and
//! a detection figure is only meaningful against a known answer. So this crate streams realistic
//! web access logs (Apache combined, IIS W3C) and flat NDJSON Windows events from a seed, with a
//! seeded sprinkle of attacks whose count per kind is returned in a [`Tally`].
//!
//! Memory is constant: records go through a fixed-size buffer to the writer.
//!
//! ```
//! use spoor_gen::{generate, GenConfig, DataKind};
//! let cfg = GenConfig { kind: DataKind::Combined, seed: 7, bytes: 4096, attack_every: 10 };
//! let mut out = Vec::new();
//! let tally = generate(&cfg, &mut out).unwrap();
//! assert_eq!(tally.bytes as usize, out.len());
//! assert!(out.len() >= 4096);
//! ```
#![deny(missing_docs)]

mod clock;
mod json;
mod rng;
mod size;
mod tally;
mod web;
mod winevent;

pub use size::parse_size;
pub use tally::Tally;
pub use web::{WebLayout, WEB_ATTACKS};
pub use winevent::WIN_ATTACKS;

use std::io::Write;

/// Errors of the generator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenError {
    /// A size that is not a number with an optional k/M/G/T suffix.
    #[error("bad size {0:?}: expected a whole number with an optional k, M, G or T suffix")]
    BadSize(String),
    /// Writing the output failed.
    #[error("writing output: {0}")]
    Write(#[from] std::io::Error),
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    /// Apache/nginx combined access log.
    Combined,
    /// IIS W3C extended access log.
    Iis,
    /// NDJSON Windows events (Sysmon and Security, flat fields).
    Windows,
}

impl DataKind {
    /// Name used on the command line and in the tally file.
    pub fn name(self) -> &'static str {
        match self {
            DataKind::Combined => "combined",
            DataKind::Iis => "iis",
            DataKind::Windows => "windows",
        }
    }

    /// The attack kinds this data can contain, in tally order.
    pub fn attack_kinds(self) -> &'static [&'static str] {
        match self {
            DataKind::Combined | DataKind::Iis => &WEB_ATTACKS,
            DataKind::Windows => &WIN_ATTACKS,
        }
    }
}

/// One run of the generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenConfig {
    /// What to write.
    pub kind: DataKind,
    /// Seed: the same seed and size give the same bytes.
    pub seed: u64,
    /// Stop after the record that reaches this many bytes (the output is whole records, so it
    /// may pass this by up to one record).
    pub bytes: u64,
    /// About one record in this many is an attack (0: none).
    pub attack_every: u64,
}

const FLUSH_AT: usize = 256 * 1024;

/// Write the data `cfg` describes to `out`; returns the counts (records, bytes, attacks by
/// kind). Memory use is constant whatever the size.
pub fn generate<W: Write>(cfg: &GenConfig, out: &mut W) -> Result<Tally, GenError> {
    let mut tally = Tally::with_kinds(cfg.kind.attack_kinds());
    let mut buf: Vec<u8> = Vec::with_capacity(FLUSH_AT + 64 * 1024);
    let mut source = Source::new(cfg);
    let mut written: u64 = 0;
    while written + (buf.len() as u64) < cfg.bytes {
        source.next_record(&mut buf, &mut tally);
        if buf.len() >= FLUSH_AT {
            out.write_all(&buf)?;
            written += buf.len() as u64;
            buf.clear();
        }
    }
    out.write_all(&buf)?;
    written += buf.len() as u64;
    out.flush()?;
    tally.bytes = written;
    Ok(tally)
}

/// The record source for one kind of data.
enum Source {
    Web(web::WebGen),
    Win(winevent::WinGen),
}

impl Source {
    fn new(cfg: &GenConfig) -> Self {
        match cfg.kind {
            DataKind::Combined => Source::Web(web::WebGen::new(
                cfg.seed,
                WebLayout::Combined,
                cfg.attack_every,
            )),
            DataKind::Iis => {
                Source::Web(web::WebGen::new(cfg.seed, WebLayout::Iis, cfg.attack_every))
            }
            DataKind::Windows => Source::Win(winevent::WinGen::new(cfg.seed, cfg.attack_every)),
        }
    }

    fn next_record(&mut self, buf: &mut Vec<u8>, tally: &mut Tally) {
        match self {
            Source::Web(g) => g.next_record(buf, tally),
            Source::Win(g) => g.next_record(buf, tally),
        }
    }
}

#[cfg(test)]
mod tests;
