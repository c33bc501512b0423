//! spoor's outputs: writers implementing [`spoor_event::FindingSink`] for each `--format`, the
//! filters they share, and the sanitising that keeps attacker-written log data inert in the
//! analyst's terminal, spreadsheet and browser.
//!
//! Every writer takes only the [`std::io::Write`] the CLI gives it (stdout or the `--output`
//! file). No writer opens a file, and no path is ever taken from event data.
//!
//! # Formats
//!
//! - **table** ([`TableWriter`]): one line per finding, `TIME (UTC)`, `LEVEL`, `RULE` (led by
//!   `(xN)` for merged duplicates), `SOURCE` (`path:line`, `path#record`, `path[index]`) and
//!   `EVIDENCE`, cut with `…` to fit [`TableOptions::width`]; colour by level when
//!   [`ColorChoice::resolve`] says so (`NO_COLOR` honoured). Ends with a summary block: files,
//!   events, unparsed, rules loaded / unsupported / invalid, findings by level and by ATT&CK
//!   tactic, elapsed time, files that stopped early and warnings. Every cell passes through
//!   [`terminal_safe`].
//! - **jsonl** ([`JsonlWriter`]): one finding per line in the schema of `Finding`'s
//!   `Serialize` impl (`timestamp`, `rule` {`id`, `title`, `level`, `kind`, `tags`}, `attack`,
//!   `tactics`, `source` {`path`, `line`|`record`|`index`}, `logsource`, `event`, `raw`?,
//!   `matched`?, `file`?, `related`?, `count`), then one line `{"summary": RunSummary}`. Strings
//!   are JSON-escaped and, beyond that, DEL, C1 controls, bidi controls and U+2028/9 are written
//!   as `\uXXXX` ([`SafeJsonFormatter`]).
//! - **csv** ([`CsvWriter`]): header [`CSV_COLUMNS`]: `datetime` (RFC 3339, UTC; empty when the
//!   finding has no time), `timestamp_desc` (`Event Time`, or `File Modified` for file-scan
//!   findings), `message` (the evidence: the raw line, else the event fields as `name=value`,
//!   else the file's size and hashes), `rule_id`, `rule_title`, `level`, `kind`, `attack` and
//!   `tactics` (`;`-separated), `source_path`, `source_line` (line, record or index number),
//!   `count`. RFC 4180 quoting, CRLF line ends; cells that a spreadsheet would take as a formula
//!   get a leading `'`, and controls other than tab/CR/LF are shown escaped ([`csv_cell_safe`]).
//!   This is what Timesketch imports.
//! - **html** ([`HtmlWriter`], [`write_html_report`]): one self-contained file: summary, a
//!   timeline of findings (inline SVG), the ATT&CK techniques seen laid out by tactic in matrix
//!   order with MITRE's names, top rules / hosts / client addresses / files, and a searchable,
//!   sortable findings table with each finding's evidence (a view can be linked with
//!   `report.html#q=<search>&level=<0-4>&sort=<column, 1-based; negative descends>`). No
//!   network access; a
//!   Content-Security-Policy ([`content_security_policy`]) allows only the report's own script
//!   and style, by SHA-256 hash.
//! - **navigator** ([`NavigatorWriter`]): an ATT&CK Navigator layer (format 4.5, ATT&CK 18,
//!   Navigator 5.1, `enterprise-attack`): each technique seen has `score` = its number of
//!   findings, `color` = the colour of its most severe level (see `legendItems`), and a
//!   `comment` naming the rules.
//!
//! # Filters and several outputs
//!
//! [`FilterSink`] applies a [`FindingFilter`] (`--min-level`, `--from`/`--to`, `--rule-id`,
//! dedup) in front of any writer and counts what it drops ([`FilterStats`]); [`MultiSink`]
//! feeds several writers at once.
//!
//! ```
//! use spoor_event::{Event, Finding, FindingSink, Position, RuleKind, RuleLevel, RuleMeta, RunSummary};
//! use spoor_report::{FilterSink, FindingFilter, JsonlWriter, MultiSink, TableOptions, TableWriter};
//! use std::sync::Arc;
//!
//! let mut table_out = Vec::new();
//! let mut jsonl_out = Vec::new();
//! let outputs = MultiSink::new()
//!     .with("table", Box::new(TableWriter::new(&mut table_out, TableOptions::default())))
//!     .with("jsonl", Box::new(JsonlWriter::new(&mut jsonl_out)));
//! let filter = FindingFilter { min_level: Some(RuleLevel::High), ..Default::default() };
//! let mut sink = FilterSink::new(outputs, filter);
//!
//! let rule = Arc::new(RuleMeta::new("r1", "Web shell request", RuleLevel::High, RuleKind::Sigma));
//! let event = Event::new("access.log", Position::Line(7)).with("c-ip", "203.0.113.5");
//! sink.write(&Finding::from_event(rule, &event)).unwrap();
//! sink.finish(&RunSummary::default()).unwrap();
//! assert_eq!(sink.stats().written, 1);
//! drop(sink);
//! assert!(String::from_utf8(jsonl_out).unwrap().lines().last().unwrap().starts_with("{\"summary\""));
//! ```
#![deny(missing_docs)]

mod attack_names;
mod evidence;
mod filter;
mod html;
mod json_safe;
mod jsonl;
mod multi;
mod navigator;
mod sorter;
mod table;
mod terminal;
mod timesketch;

pub use attack_names::{
    tactic_display_name, technique, technique_display_name, TacticInfo, TechniqueInfo,
    ATTACK_ATTRIBUTION,
};
pub use evidence::{client_ip_of, evidence_text, host_of, CLIENT_IP_FIELDS, HOST_FIELDS};
pub use filter::{
    parse_time_bound, FilterError, FilterSink, FilterStats, FindingFilter, Rejection, TimeBound,
};
pub use html::{
    content_security_policy, write_html_report, HtmlAppendix, HtmlOptions, HtmlTable, HtmlWriter,
    MAX_EVIDENCE_CHARS,
};
pub use json_safe::SafeJsonFormatter;
pub use jsonl::JsonlWriter;
pub use multi::MultiSink;
pub use navigator::NavigatorWriter;
pub use sorter::{SortStats, TimelineSorter, DEFAULT_SORT_BUDGET, MAX_RUN_DISTINCT};
pub use table::{ColorChoice, TableOptions, TableWriter};
pub use terminal::{is_unsafe_for_terminal, terminal_safe};
pub use timesketch::{csv_cell_safe, CsvWriter, CSV_COLUMNS};

use spoor_event::{FindingSink, RuleKind};
use std::io::Write;

/// `--format`: the output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    /// Terminal table.
    Table,
    /// JSON Lines.
    Jsonl,
    /// CSV (Timesketch columns).
    Csv,
    /// Self-contained HTML report.
    Html,
    /// ATT&CK Navigator layer.
    Navigator,
}

impl OutputFormat {
    /// All formats, in the order the help lists them.
    pub const ALL: [OutputFormat; 5] = [
        OutputFormat::Table,
        OutputFormat::Jsonl,
        OutputFormat::Csv,
        OutputFormat::Html,
        OutputFormat::Navigator,
    ];

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Table => "table",
            OutputFormat::Jsonl => "jsonl",
            OutputFormat::Csv => "csv",
            OutputFormat::Html => "html",
            OutputFormat::Navigator => "navigator",
        }
    }
}

impl std::str::FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        OutputFormat::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown format '{s}' (table, jsonl, csv, html, navigator)"))
    }
}

/// Settings for [`writer_for`]; each writer uses the part that concerns it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WriterOptions {
    /// For `table`.
    pub table: TableOptions,
    /// For `html` (its title also names the Navigator layer).
    pub html: HtmlOptions,
    /// The output already holds rows (a resumed live hunt): CSV and table write no header.
    pub continuing: bool,
}

/// The writer for `format`, writing to `out` (stdout or the `--output` file the CLI opened;
/// never a path from data).
pub fn writer_for<'a, W: Write + 'a>(
    format: OutputFormat,
    out: W,
    opts: &WriterOptions,
) -> Box<dyn FindingSink + 'a> {
    match format {
        OutputFormat::Table if opts.continuing => {
            Box::new(TableWriter::new(out, opts.table).continuing())
        }
        OutputFormat::Table => Box::new(TableWriter::new(out, opts.table)),
        OutputFormat::Jsonl => Box::new(JsonlWriter::new(out)),
        OutputFormat::Csv if opts.continuing => Box::new(CsvWriter::new(out).continuing()),
        OutputFormat::Csv => Box::new(CsvWriter::new(out)),
        OutputFormat::Html => Box::new(HtmlWriter::new(out, opts.html.clone())),
        OutputFormat::Navigator => Box::new(NavigatorWriter::new(out, opts.html.title.clone())),
    }
}

/// The engine name as written in outputs.
pub(crate) fn kind_name(kind: RuleKind) -> &'static str {
    match kind {
        RuleKind::Sigma => "sigma",
        RuleKind::Indicator => "indicator",
        RuleKind::Yara => "yara",
        RuleKind::Correlation => "correlation",
        RuleKind::Search => "search",
    }
}
