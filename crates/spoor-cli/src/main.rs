//! The `spoor` binary: arguments -> a validated plan -> the pipeline (read -> normalise ->
//! match -> report). Each subcommand lives in its own module; the engines know nothing of the
//! command line.
//!
//! Exit codes: 0 the run finished; 1 `rules check` found invalid rules (or unsupported ones with
//! `--strict`); 2 a fatal error (bad arguments, unreadable rules, output not writable);
//! 3 the run finished but some inputs or rules could not be read (see the summary).

mod args;
mod clickhouse;
mod explain;
mod hunt;
mod live;
mod load;
mod logons;
mod metrics;
mod output;
mod pipeline;
mod progress;
mod rows;
mod rules_cmd;
mod scan;
mod search;
mod triage_input;

use args::{Cli, Command, RulesCommand};
use clap::Parser;
use std::process::ExitCode;

/// mimalloc: readers and the engine allocate many small strings per event; the system
/// allocator spent a quarter of rule loading and a fifth of JSON reading in malloc and free.
/// Built with `no_thp` (workspace Cargo.toml): mimalloc otherwise asks for transparent huge
/// pages on its arena, and each 2 MiB page then counts whole in the resident set however little
/// of it is in use (EVTX hunt with the Windows rules: 175-185 MiB peak RSS for 34 MiB of live
/// heap; 110-115 MiB without). And mimalloc v2 (`v2`), not v3: v3's per-thread pages left that
/// run at 104-106 MiB, v2 at 93-96 MiB (86 MiB with `-j 1`), with CPU time the same or lower
/// there and on the 512 MB web log (8.2 s user+sys with v2, 8.5 s with v3).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A rayon pool with `threads` workers (all cores by default).
pub(crate) fn thread_pool(threads: Option<usize>) -> anyhow::Result<rayon::ThreadPool> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        b = b.num_threads(n.max(1));
    }
    Ok(b.build()?)
}

pub(crate) fn is_broken_pipe<T>(r: &std::io::Result<T>) -> bool {
    matches!(r, Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Hunt(a) => hunt::run(*a),
        Command::Scan(a) => scan::run(a),
        Command::Search(a) => search::run(a),
        Command::Logons(a) => logons::run(a),
        Command::Metrics(a) => metrics::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Ingest(a) => clickhouse::ingest(a),
        Command::Convert(a) => clickhouse::convert(a),
        Command::Rules {
            command: RulesCommand::Check(a),
        } => rules_cmd::check(a),
        Command::Rules {
            command: RulesCommand::List(a),
        } => rules_cmd::list(a),
    };
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(2)),
        Err(e) => {
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!(
                "spoor: error: {}",
                spoor_report::terminal_safe(&format!("{e:#}"))
            );
            ExitCode::from(2)
        }
    }
}
