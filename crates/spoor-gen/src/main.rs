//! `spoor-gen`: a developer tool that writes benchmark data (see the `spoor_gen` crate docs).
//! The attack tally goes to stderr and, with `--output FILE`, to `FILE.attacks.json`.

use anyhow::Context;
use clap::{Parser, ValueEnum};
use spoor_gen::{generate, parse_size, DataKind, GenConfig};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Write deterministic web access logs or Windows NDJSON events with a counted sprinkle of attacks.
#[derive(Debug, Parser)]
#[command(name = "spoor-gen", version, about)]
struct Args {
    /// What to write.
    #[arg(value_enum)]
    kind: KindArg,
    /// How much: bytes with an optional k/M/G/T suffix (binary). Whole records; may pass it by one.
    #[arg(long, short = 's', default_value = "100M")]
    size: String,
    /// Seed: the same seed and size give the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// About one record in N is an attack (0: none).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    attack_every: u64,
    /// Write to FILE (and the tally to FILE.attacks.json) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    /// Apache/nginx combined access log.
    Combined,
    /// IIS W3C extended access log.
    Iis,
    /// NDJSON Windows events (Sysmon 1/3/11/13, Security 4624/4688/4769).
    Windows,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if e.downcast_ref::<io::Error>().map(io::Error::kind) == Some(io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            eprintln!("spoor-gen: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<()> {
    let args = Args::parse();
    let kind = match args.kind {
        KindArg::Combined => DataKind::Combined,
        KindArg::Iis => DataKind::Iis,
        KindArg::Windows => DataKind::Windows,
    };
    let cfg = GenConfig {
        kind,
        seed: args.seed,
        bytes: parse_size(&args.size)?,
        attack_every: args.attack_every,
    };
    let tally = match &args.output {
        Some(path) => {
            let file =
                File::create(path).with_context(|| format!("creating {}", path.display()))?;
            let mut w = BufWriter::with_capacity(1 << 20, file);
            let tally =
                generate(&cfg, &mut w).with_context(|| format!("writing {}", path.display()))?;
            let mut side = path.clone().into_os_string();
            side.push(".attacks.json");
            let json = tally.to_json(cfg.seed, kind.name());
            std::fs::write(&side, format!("{json}\n"))
                .with_context(|| format!("writing {}", PathBuf::from(&side).display()))?;
            tally
        }
        None => {
            let stdout = io::stdout();
            let mut w = BufWriter::with_capacity(1 << 20, stdout.lock());
            let tally = generate(&cfg, &mut w).map_err(|e| match e {
                spoor_gen::GenError::Write(io) => anyhow::Error::new(io),
                other => anyhow::Error::new(other),
            })?;
            w.flush()?;
            tally
        }
    };
    eprintln!("{}", tally.to_json(cfg.seed, kind.name()));
    Ok(())
}
