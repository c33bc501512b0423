//! Where findings go: the filters shared by every format, the writers the user asked for (one on
//! stdout or `--output`, more to files), and the short run summary on stderr. Output paths come
//! only from the command line, never from event data.

use crate::args::{ColorArg, FormatArg, OutputArgs};
use anyhow::{Context, Result};
use spoor_event::{Finding, FindingSink, RuleLevel, RunSummary};
use spoor_report::{
    parse_time_bound, terminal_safe, writer_for, ColorChoice, FindingFilter, HtmlAppendix,
    HtmlOptions, MultiSink, OutputFormat, TableOptions, TimeBound, WriterOptions,
};
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};

/// The filters, validated.
pub fn filter_of(args: &OutputArgs) -> Result<FindingFilter> {
    let min_level = args
        .min_level
        .as_deref()
        .map(|l| l.parse::<RuleLevel>().map_err(anyhow::Error::msg))
        .transpose()?;
    let from = args
        .from
        .as_deref()
        .map(|t| parse_time_bound(t, TimeBound::From))
        .transpose()?;
    let to = args
        .to
        .as_deref()
        .map(|t| parse_time_bound(t, TimeBound::To))
        .transpose()?;
    let filter = FindingFilter {
        min_level,
        from,
        to,
        rule_ids: args.rule_ids.clone(),
        dedup: !args.no_dedup,
    };
    filter.validate()?;
    Ok(filter)
}

/// Counts findings by level and tactic into the summary.
pub fn count_findings(findings: &[Finding], summary: &mut RunSummary) {
    summary.findings = 0;
    for f in findings {
        count_finding(f, summary);
    }
}

fn format_of(arg: FormatArg) -> OutputFormat {
    match arg {
        FormatArg::Table => OutputFormat::Table,
        FormatArg::Jsonl => OutputFormat::Jsonl,
        FormatArg::Csv => OutputFormat::Csv,
        FormatArg::Html => OutputFormat::Html,
        FormatArg::Navigator => OutputFormat::Navigator,
    }
}

/// The primary format: `--format`, else a table on a terminal and JSON Lines otherwise.
pub fn primary_format(args: &OutputArgs) -> OutputFormat {
    match args.format {
        Some(f) => format_of(f),
        None if args.output.is_none() && io::stdout().is_terminal() => OutputFormat::Table,
        None => OutputFormat::Jsonl,
    }
}

/// An I/O failure on `path` as one line in words (`cannot create x.html: does not exist`),
/// without the operating system's error number.
fn io_failure(what: &str, path: &std::path::Path) -> impl FnOnce(io::Error) -> anyhow::Error {
    let head = format!("{what} {}", path.display());
    move |e| anyhow::anyhow!("{head}: {}", spoor_event::io_reason(&e))
}

fn create(path: &std::path::Path) -> Result<Box<dyn Write>> {
    let f = File::create(path).map_err(io_failure("cannot create", path))?;
    Ok(Box::new(BufWriter::new(f)))
}

/// Opens `path` to write on at its end (created if missing); whether it already held bytes.
fn append(path: &std::path::Path) -> Result<(Box<dyn Write>, bool)> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io_failure("cannot open", path))?;
    let had = f.metadata().map(|m| m.len() > 0).unwrap_or(false);
    Ok((Box::new(BufWriter::new(f)), had))
}

/// Opens the `--output` of a resumed live hunt: cut back to `len`, the length it had when the
/// state was saved (what came after was written after the save and will be written again), and
/// written on from there.
fn resume_output(path: &std::path::Path, len: u64) -> Result<Box<dyn Write>> {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot open {} to resume it: {}",
                path.display(),
                spoor_event::io_reason(&e)
            )
        })?;
    let now = f.metadata()?.len();
    if now < len {
        anyhow::bail!(
            "{} has {now} bytes, fewer than the {len} the state file recorded: it was changed since;              move it away or start with a new --state",
            path.display()
        );
    }
    f.set_len(len)
        .with_context(|| format!("cannot cut {} back to {len} bytes", path.display()))?;
    drop(f);
    Ok(append(path)?.0)
}

/// How a live hunt opens its outputs.
#[derive(Debug, Clone, Copy, Default)]
pub struct LiveOpen {
    /// Resume `--output` at this length (from the state file).
    pub resume_len: Option<u64>,
    /// `--jsonl` and `--csv` are written on at their end instead of created anew.
    pub append_extras: bool,
}

/// Every output of a run, opened (and so checked) before the first log is read, so that a bad
/// `-o` or `--html` fails at once instead of after the hunt.
pub struct Outputs {
    sinks: MultiSink<'static>,
    /// Where tables known only at the end go, when an HTML report is written.
    appendix: Option<HtmlAppendix>,
    primary: OutputFormat,
    to_terminal: bool,
    /// The name of the output on standard output, if one is (only its closing is quiet).
    stdout_name: Option<String>,
}

impl Outputs {
    /// Creates every output file the arguments name.
    pub fn open(args: &OutputArgs, title: &str) -> Result<Outputs> {
        Outputs::open_live(args, title, LiveOpen::default())
    }

    /// Opens the outputs of a live hunt: `--output` resumed at a saved length, `--jsonl` and
    /// `--csv` appended to (HTML and Navigator are written whole at the end).
    pub fn open_live(args: &OutputArgs, title: &str, live: LiveOpen) -> Result<Outputs> {
        let primary = primary_format(args);
        let to_terminal = args.output.is_none() && io::stdout().is_terminal();
        let color = match args.color {
            ColorArg::Always => ColorChoice::Always,
            ColorArg::Never => ColorChoice::Never,
            ColorArg::Auto => ColorChoice::Auto,
        }
        .resolve_from_env(to_terminal);
        let width = terminal_size::terminal_size()
            .map(|(w, _)| usize::from(w.0))
            .filter(|_| to_terminal)
            .unwrap_or(120);
        let mut opts = WriterOptions {
            table: TableOptions { color, width },
            html: HtmlOptions {
                title: title.to_string(),
                ..HtmlOptions::default()
            },
            continuing: false,
        };
        let appendix = (primary == OutputFormat::Html || args.html.is_some())
            .then(|| opts.html.appendix.clone());
        let mut sinks = MultiSink::new();
        let stdout_name = args.output.is_none().then(|| primary.as_str().to_string());
        let main_out: Box<dyn Write> = match (&args.output, live.resume_len) {
            (Some(p), Some(len)) => {
                opts.continuing = len > 0;
                resume_output(p, len)?
            }
            (Some(p), None) => create(p)?,
            (None, _) => Box::new(BufWriter::new(io::stdout().lock())),
        };
        // A failing `-o` is named by its path; standard output by its format.
        let main_name = match &args.output {
            Some(p) => p.display().to_string(),
            None => primary.as_str().to_string(),
        };
        sinks.push(main_name, writer_for(primary, main_out, &opts));
        for (path, fmt) in [
            (&args.html, OutputFormat::Html),
            (&args.navigator, OutputFormat::Navigator),
            (&args.csv, OutputFormat::Csv),
            (&args.jsonl, OutputFormat::Jsonl),
        ] {
            let Some(p) = path else {
                continue;
            };
            let appendable = matches!(fmt, OutputFormat::Csv | OutputFormat::Jsonl);
            if live.append_extras && appendable {
                let (out, had) = append(p)?;
                let o = WriterOptions {
                    continuing: had,
                    ..opts.clone()
                };
                sinks.push(p.display().to_string(), writer_for(fmt, out, &o));
            } else {
                sinks.push(p.display().to_string(), writer_for(fmt, create(p)?, &opts));
            }
        }
        Ok(Outputs {
            sinks,
            appendix,
            primary,
            to_terminal,
            stdout_name,
        })
    }

    /// The HTML report's appendix, when the run writes one.
    pub fn html_appendix(&self) -> Option<&HtmlAppendix> {
        self.appendix.as_ref()
    }

    /// Writes one finding to every output still working (a failed one is retired and
    /// reported at the end).
    pub fn write(&mut self, f: &Finding) {
        let _ = self.sinks.write(f);
    }

    /// Pushes every output's findings so far to its file (live mode).
    pub fn flush(&mut self) {
        let _ = self.sinks.flush();
    }

    /// True when some output failed (for a live hunt: stdout closed, time to stop).
    pub fn closed(&self) -> bool {
        self.sinks.errors().next().is_some()
    }

    /// The first failure of an output other than a closed stdout, while the run goes on.
    pub fn failure(&self) -> Option<String> {
        self.reportable_failures().next()
    }

    /// Every failed output but a closed standard output (the one failure that is quiet: a
    /// `-o`, `--html` or `--csv` pipe or FIFO that closes early is a failure), in words.
    fn reportable_failures(&self) -> impl Iterator<Item = String> + '_ {
        let stdout = self.stdout_name.as_deref();
        self.sinks
            .errors()
            .filter(move |(name, e)| {
                !(Some(*name) == stdout && e.kind() == io::ErrorKind::BrokenPipe)
            })
            .map(|(name, e)| format!("{name}: {}", spoor_event::io_reason(e)))
    }

    /// Finishes every output with the summary. Returns whether the primary output was a
    /// table on the terminal (which shows the summary). Any failed output other than a
    /// closed stdout is an error, whichever output it is (a file or pipe named by `--html`,
    /// `--csv`, ... that closes early is one too).
    pub fn finish(mut self, summary: &RunSummary) -> Result<bool> {
        let _ = self.sinks.finish(summary);
        if let Some(first) = self.reportable_failures().next() {
            anyhow::bail!("cannot write output {first}");
        }
        Ok(self.primary == OutputFormat::Table && self.to_terminal)
    }
}

/// Writes the findings to every requested output and finishes each with the summary.
/// Returns whether the primary output was a table on the terminal (which shows the summary).
pub fn write_all(
    args: &OutputArgs,
    title: &str,
    findings: &[Finding],
    summary: &RunSummary,
) -> Result<bool> {
    let mut out = Outputs::open(args, title)?;
    for f in findings {
        out.write(f);
    }
    out.finish(summary)
}

/// Counts one written finding into the summary (by level and tactic).
pub fn count_finding(f: &Finding, summary: &mut RunSummary) {
    let n = f.count.max(1);
    summary.findings += n;
    *summary
        .findings_by_level
        .entry(f.rule.level.as_str().to_string())
        .or_default() += n;
    for t in &f.rule.attack.tactics {
        *summary.findings_by_tactic.entry(t.clone()).or_default() += n;
    }
}

/// Peak resident memory of this process so far, in bytes (Linux `VmHWM`; 0 elsewhere).
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// The run summary on stderr, for runs whose main output does not show it. Every text from
/// input files goes through the terminal sanitiser.
pub fn print_summary(summary: &RunSummary) {
    let mut err = io::stderr().lock();
    let _ = writeln!(
        err,
        "spoor: {} files, {} events, {} unparsed, {} rules ({} unsupported, {} invalid), {} findings in {:.2}s",
        summary.files.len(),
        summary.events,
        summary.unparsed,
        summary.rules_loaded,
        summary.rules_unsupported,
        summary.rules_invalid,
        summary.findings,
        summary.elapsed_seconds
    );
    for f in &summary.files {
        if let Some(e) = &f.error {
            let _ = writeln!(
                err,
                "  {}: error: {}",
                terminal_safe(&f.path),
                terminal_safe(e)
            );
        }
        if f.unparsed > 0 {
            let _ = writeln!(
                err,
                "  {}: {} unparsed ({})",
                terminal_safe(&f.path),
                f.unparsed,
                f.format
            );
            for s in &f.unparsed_samples {
                let _ = writeln!(err, "    line {}: {}", s.line, terminal_safe(&s.reason));
            }
        }
        if f.skipped > 0 {
            let _ = writeln!(
                err,
                "  {}: {} records skipped (blank, comments, stubs)",
                terminal_safe(&f.path),
                f.skipped
            );
        }
        if f.skipped_not_log {
            let _ = writeln!(err, "  {}: skipped, not a log", terminal_safe(&f.path));
        }
        if f.timezone_assumed {
            let _ = writeln!(
                err,
                "  {}: times without a zone taken as UTC",
                terminal_safe(&f.path)
            );
        }
    }
    for f in &summary.filters {
        let _ = writeln!(
            err,
            "  filter {}: {} suppressed",
            terminal_safe(&f.title),
            f.suppressed
        );
    }
    for w in summary.warnings.iter().take(20) {
        let _ = writeln!(err, "  warning: {}", terminal_safe(w));
    }
    if summary.warnings.len() > 20 {
        let _ = writeln!(
            err,
            "  ... and {} more warnings",
            summary.warnings.len() - 20
        );
    }
}
