//! A progress line on stderr for long runs on a terminal: events read so far and the rate.
//! Nothing is drawn when stderr is not a terminal (pipes, CI) or the run ends within a second.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counts events from many threads and shows them.
pub struct Progress {
    events: AtomicU64,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A progress display for `files` input files (hidden unless stderr is a terminal).
    pub fn new(files: usize) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_message(format!("reading {files} files"));
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        });
        Progress {
            events: AtomicU64::new(0),
            bar,
        }
    }

    /// Counts one event; refreshes the message every 65,536 events.
    pub fn event(&self) {
        let n = self.events.fetch_add(1, Ordering::Relaxed) + 1;
        if n & 0xFFFF == 0 {
            if let Some(bar) = &self.bar {
                let secs = bar.elapsed().as_secs_f64().max(1e-3);
                bar.set_message(format!("{n} events ({:.0}/s)", n as f64 / secs));
            }
        }
    }

    /// Removes the line.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
