//! The terminal table: one line per finding, fitted to the terminal, then a summary block.
//!
//! Every cell goes through [`terminal_safe`] before it is measured and printed, so log data can
//! neither move the cursor nor recolour the screen; the only escape sequences written are this
//! module's own colours, and only when colour is on.

use crate::attack_names::tactic_display_name;
use crate::evidence::{evidence_text, source_text};
use crate::terminal_safe;
use spoor_event::{Finding, FindingSink, RuleLevel, RunSummary};
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::{self, Write};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// `--color`: whether the table uses ANSI colours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ColorChoice {
    /// Always colour, even into a pipe or with `NO_COLOR` set.
    Always,
    /// Never colour.
    Never,
    /// Colour when the output is a terminal and `NO_COLOR` is unset or empty.
    #[default]
    Auto,
}

impl std::str::FromStr for ColorChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Ok(ColorChoice::Always),
            "never" => Ok(ColorChoice::Never),
            "auto" => Ok(ColorChoice::Auto),
            other => Err(format!(
                "unknown colour choice '{other}' (always, never, auto)"
            )),
        }
    }
}

impl ColorChoice {
    /// Decides, given whether the output is a terminal and the value of `NO_COLOR`
    /// (<https://no-color.org>: present and non-empty disables colour unless forced).
    pub fn resolve(self, is_terminal: bool, no_color: Option<&OsStr>) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_terminal && no_color.is_none_or(OsStr::is_empty),
        }
    }

    /// [`ColorChoice::resolve`] with `NO_COLOR` read from the environment.
    pub fn resolve_from_env(self, is_terminal: bool) -> bool {
        self.resolve(is_terminal, std::env::var_os("NO_COLOR").as_deref())
    }
}

/// How the table is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableOptions {
    /// Use ANSI colours (see [`ColorChoice::resolve`]).
    pub color: bool,
    /// Terminal width in columns; lines are cut to fit (minimum 60 is used when smaller).
    pub width: usize,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            color: false,
            width: 120,
        }
    }
}

const TIME_W: usize = 20;
const LEVEL_W: usize = 8;
const GAP: &str = "  ";
const MIN_WIDTH: usize = 60;
const RESET: &str = "\x1b[0m";

fn level_color(level: RuleLevel) -> &'static str {
    match level {
        RuleLevel::Critical => "\x1b[1;97;41m",
        RuleLevel::High => "\x1b[1;31m",
        RuleLevel::Medium => "\x1b[33m",
        RuleLevel::Low => "\x1b[36m",
        RuleLevel::Informational => "\x1b[2m",
    }
}

/// Cuts `s` (already terminal-safe) to at most `width` columns, ending in `…` when cut, and pads
/// it with spaces to exactly `width` when `pad`.
fn fit(s: &str, width: usize, pad: bool) -> String {
    let mut out = String::with_capacity(width + 4);
    if s.width() <= width {
        out.push_str(s);
    } else {
        let mut used = 0;
        for c in s.chars() {
            let w = c.width().unwrap_or(0);
            if used + w + 1 > width {
                break;
            }
            out.push(c);
            used += w;
        }
        if width > 0 {
            out.push('…');
        }
    }
    if pad {
        let w = out.width();
        out.extend(std::iter::repeat_n(' ', width.saturating_sub(w)));
    }
    out
}

/// Writes findings as a table fitted to [`TableOptions::width`], then the summary block.
pub struct TableWriter<W: Write> {
    out: W,
    opts: TableOptions,
    rule_w: usize,
    source_w: usize,
    evidence_w: usize,
    header_written: bool,
}

impl<W: Write> TableWriter<W> {
    /// A writer that goes on after rows already written (a resumed live hunt): no header.
    pub fn continuing(mut self) -> Self {
        self.header_written = true;
        self
    }

    /// A writer to `out` (the CLI's stdout or the `--output` file; never a path from data).
    pub fn new(out: W, opts: TableOptions) -> Self {
        let width = opts.width.max(MIN_WIDTH);
        let flexible = width - TIME_W - LEVEL_W - 4 * GAP.len();
        let rule_w = flexible * 3 / 10;
        let source_w = flexible / 4;
        let evidence_w = flexible - rule_w - source_w;
        TableWriter {
            out,
            opts,
            rule_w,
            source_w,
            evidence_w,
            header_written: false,
        }
    }

    fn paint(&self, s: &str, code: &str) -> String {
        if self.opts.color {
            format!("{code}{s}{RESET}")
        } else {
            s.to_string()
        }
    }

    fn header(&mut self) -> io::Result<()> {
        if self.header_written {
            return Ok(());
        }
        self.header_written = true;
        let line = [
            fit("TIME (UTC)", TIME_W, true),
            fit("LEVEL", LEVEL_W, true),
            fit("RULE", self.rule_w, true),
            fit("SOURCE", self.source_w, true),
            fit("EVIDENCE", self.evidence_w, false),
        ]
        .join(GAP);
        let line = self.paint(&line, "\x1b[1m");
        writeln!(self.out, "{line}")
    }

    fn summary_block(&self, s: &RunSummary) -> String {
        let mut b = String::new();
        let rule = "─".repeat(self.opts.width.clamp(MIN_WIDTH, 100));
        let _ = writeln!(b, "{rule}");
        let files_failed = s.files.iter().filter(|f| f.error.is_some()).count();
        let _ = write!(b, "files      {}", s.files.len());
        if files_failed > 0 {
            let _ = write!(b, " ({files_failed} stopped early)");
        }
        let _ = writeln!(b);
        let _ = writeln!(b, "events     {}", s.events);
        let _ = writeln!(b, "unparsed   {}", s.unparsed);
        let _ = writeln!(
            b,
            "rules      {} loaded, {} unsupported, {} invalid",
            s.rules_loaded, s.rules_unsupported, s.rules_invalid
        );
        let mut levels = Vec::new();
        for level in RuleLevel::ALL.iter().rev() {
            if let Some(n) = s.findings_by_level.get(level.as_str()) {
                let text = format!("{} {n}", level.as_str());
                levels.push(self.paint(&text, level_color(*level)));
            }
        }
        let _ = write!(b, "findings   {}", s.findings);
        if !levels.is_empty() {
            let _ = write!(b, " ({})", levels.join(", "));
        }
        let _ = writeln!(b);
        if !s.findings_by_tactic.is_empty() {
            let mut tactics: Vec<_> = s.findings_by_tactic.iter().collect();
            tactics.sort_by_key(|(t, _)| (crate::attack_names::tactic_rank(t), t.as_str()));
            let list: Vec<String> = tactics
                .iter()
                .map(|(t, n)| format!("{} {n}", terminal_safe(tactic_display_name(t))))
                .collect();
            let _ = writeln!(b, "by tactic  {}", list.join(", "));
        }
        for flt in &s.filters {
            let _ = writeln!(
                b,
                "filter     {}: {} suppressed",
                terminal_safe(&flt.title),
                flt.suppressed
            );
        }
        let _ = writeln!(b, "elapsed    {:.2} s", s.elapsed_seconds);
        for f in s.files.iter().filter(|f| f.error.is_some()) {
            let _ = writeln!(
                b,
                "stopped    {}: {}",
                terminal_safe(&f.path),
                terminal_safe(f.error.as_deref().unwrap_or_default())
            );
        }
        for w in &s.warnings {
            let _ = writeln!(b, "warning    {}", terminal_safe(w));
        }
        b
    }
}

impl<W: Write> FindingSink for TableWriter<W> {
    fn write(&mut self, f: &Finding) -> io::Result<()> {
        self.header()?;
        let time = f
            .timestamp
            .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_else(|| "-".into());
        let level = fit(f.rule.level.as_str(), LEVEL_W, true);
        let level = self.paint(&level, level_color(f.rule.level));
        let title = if f.count > 1 {
            format!("(x{}) {}", f.count, f.rule.title)
        } else {
            f.rule.title.clone()
        };
        let evidence = evidence_text(f);
        writeln!(
            self.out,
            "{}{GAP}{}{GAP}{}{GAP}{}{GAP}{}",
            fit(&time, TIME_W, true),
            level,
            fit(&terminal_safe(&title), self.rule_w, true),
            fit(&terminal_safe(&source_text(f)), self.source_w, true),
            fit(&terminal_safe(&evidence), self.evidence_w, false).trim_end(),
        )
    }

    fn finish(&mut self, summary: &RunSummary) -> io::Result<()> {
        if !self.header_written {
            writeln!(self.out, "no findings")?;
        }
        let block = self.summary_block(summary);
        self.out.write_all(block.as_bytes())?;
        self.out.flush()
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_choice() {
        let empty = OsStr::new("");
        let set = OsStr::new("1");
        assert!(ColorChoice::Auto.resolve(true, None));
        assert!(ColorChoice::Auto.resolve(true, Some(empty)));
        assert!(!ColorChoice::Auto.resolve(true, Some(set)));
        assert!(!ColorChoice::Auto.resolve(false, None));
        assert!(ColorChoice::Always.resolve(false, Some(set)));
        assert!(!ColorChoice::Never.resolve(true, None));
        assert_eq!("ALWAYS".parse(), Ok(ColorChoice::Always));
    }

    #[test]
    fn fit_cuts_by_display_width() {
        assert_eq!(fit("abcdef", 4, true), "abc…");
        assert_eq!(fit("ab", 4, true), "ab  ");
        assert_eq!(fit("日本語です", 5, false), "日本…");
        assert_eq!(fit("日本語です", 5, true).width(), 5);
    }
}
