//! Command-line arguments, as clap parses them. They are turned into validated plans by each
//! subcommand's module; nothing here does any work.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// spoor: hunt web, proxy, Windows and Linux logs and web roots for the APT40 tradecraft
/// (joint advisory AA24-190A) with Sigma rules, indicators (lists, STIX 2.1) and YARA.
#[derive(Debug, Parser)]
#[command(name = "spoor", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Hunt logs with Sigma rules and indicators (the built-in APT40 pack by default).
    Hunt(Box<HuntArgs>),
    /// Scan files (web roots) for web shells with YARA rules and indicator hashes.
    Scan(ScanArgs),
    /// Read logs into a ClickHouse table (for `hunt --clickhouse`).
    Ingest(IngestArgs),
    /// Print rules in another language (ClickHouse SQL).
    Convert(ConvertArgs),
    /// Search logs for a regex, keywords or a field value (the same readers and outputs as hunt).
    Search(SearchArgs),
    /// Summarise logons: per user, source, logon type and host, successes and failures.
    Logons(LogonsArgs),
    /// Describe the evidence: formats, sources, counts, time ranges, gaps and tampering.
    Metrics(MetricsArgs),
    /// Show why a rule fires or stays quiet on one event.
    Explain(ExplainArgs),
    /// Check or list Sigma rules.
    Rules {
        /// What to do with rules.
        #[command(subcommand)]
        command: RulesCommand,
    },
}

/// `spoor rules ...`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Load rules and report each as ok, unsupported or invalid.
    Check(RulesCheckArgs),
    /// List the rules that would run (the built-in pack plus --rules).
    List(RulesListArgs),
}

/// Output format on stdout (or `--output`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Human table (default on a terminal).
    Table,
    /// JSON Lines (default when piped).
    Jsonl,
    /// CSV with Timesketch columns.
    Csv,
    /// Self-contained HTML report.
    Html,
    /// ATT&CK Navigator layer.
    Navigator,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// Colour on a terminal unless NO_COLOR is set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Where findings go and which ones.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format (default: table on a terminal, jsonl otherwise).
    #[arg(long, short = 'f', value_enum)]
    pub format: Option<FormatArg>,
    /// Write to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write an HTML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write an ATT&CK Navigator layer to FILE.
    #[arg(long, value_name = "FILE")]
    pub navigator: Option<PathBuf>,
    /// Also write CSV (Timesketch columns) to FILE.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Also write JSON Lines to FILE.
    #[arg(long, value_name = "FILE")]
    pub jsonl: Option<PathBuf>,
    /// Colour in table output.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorArg,
    /// Only findings at or above this level (informational, low, medium, high, critical).
    #[arg(long, value_name = "LEVEL")]
    pub min_level: Option<String>,
    /// Only findings at or after this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Only findings at or before this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Only findings of this rule id (repeatable).
    #[arg(long = "rule-id", value_name = "ID")]
    pub rule_ids: Vec<String>,
    /// Keep identical findings apart instead of merging them with a count.
    #[arg(long)]
    pub no_dedup: bool,
}

/// Which files to read.
#[derive(Debug, Args)]
pub struct WalkArgs {
    /// Only files matching this glob (repeatable; matches the path or the file name).
    #[arg(long, value_name = "GLOB")]
    pub glob: Vec<String>,
    /// Skip files and folders matching this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,
}

/// `spoor hunt`.
#[derive(Debug, Args)]
pub struct HuntArgs {
    /// Log files or folders (read recursively; compressed files and zip archives too).
    #[arg(required_unless_present = "clickhouse", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Hunt the events of a ClickHouse table (see `spoor ingest`) instead of files.
    #[arg(long, value_name = "URL")]
    pub clickhouse: Option<String>,
    /// The ClickHouse table and connection (with --clickhouse).
    #[command(flatten)]
    pub ch: ClickHouseArgs,
    /// Sigma rule files or folders (repeatable), in addition to the built-in pack.
    #[arg(long, short = 'r', value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Indicator files: plain lists, CSV `type,value,description`, or STIX 2.1 bundles.
    #[arg(long, value_name = "FILE")]
    pub iocs: Vec<PathBuf>,
    /// Do not load the built-in APT40 pack (rules and indicators).
    #[arg(long)]
    pub no_builtin: bool,
    /// Memory for the sorted timeline, in MiB; past it findings spill to temporary files
    /// (the output is the same, only slower).
    #[arg(long = "sort-memory", value_name = "MIB", default_value_t = spoor_report::DEFAULT_SORT_BUDGET >> 20)]
    pub sort_budget_mib: usize,
    /// Build every web line into an event, even those the line prefilter can tell no rule
    /// matches (the findings are the same; for checking the prefilter, and slower).
    #[arg(long)]
    pub no_prefilter: bool,
    /// Drop indicator findings whose event time lies outside the indicator's validity.
    #[arg(long)]
    pub ioc_valid_only: bool,
    /// YAML file of placeholder values for rules using `|expand` (`name: [values]`).
    #[arg(long, value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
    /// Input format for every file instead of detecting it
    /// (evtx, json, access, iis, weberror, syslog, csv, tsv, squid, w3c-proxy).
    #[arg(long, value_name = "FORMAT")]
    pub format_in: Option<String>,
    /// Year for syslog lines that carry none (RFC 3164); default: the year of the run's other
    /// dated evidence, else each file's modification time (wrong for copied logs).
    #[arg(long, value_name = "YEAR")]
    pub syslog_year: Option<i32>,
    /// Also scan this folder (a web root) for web shells and tie them to the requests in the logs.
    #[arg(long, value_name = "PATH")]
    pub scan: Vec<PathBuf>,
    /// The web root(s) that URL paths are relative to (defaults to the --scan folders).
    #[arg(long, value_name = "PATH")]
    pub webroot: Vec<PathBuf>,
    /// Extra YARA rule files or folders for --scan.
    #[arg(long, value_name = "PATH")]
    pub yara: Vec<PathBuf>,
    /// Which files to read.
    #[command(flatten)]
    pub walk: WalkArgs,
    /// Live mode.
    #[command(flatten)]
    pub live: LiveArgs,
    /// Output.
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Live mode of `spoor hunt`: follow files as they grow, resume from a state file.
#[derive(Debug, Args)]
pub struct LiveArgs {
    /// After reading what is there, keep following every file as it grows, through rotations
    /// (rename, copy-truncate), and pick up new files in the given folders; findings are
    /// written as they come, in arrival order (not the sorted timeline). Stop with Ctrl-C.
    #[arg(long)]
    pub follow: bool,
    /// State file: where every file was left, the open correlation windows and the length of
    /// --output, saved atomically every --save-every and at Ctrl-C / SIGTERM. A restart with
    /// the same --state resumes exactly there; without --follow, a run reads only what was
    /// appended since the last one. With --output FILE, FILE holds every finding exactly once
    /// after any stop (even SIGKILL); on stdout the promise is no gap (findings after the last
    /// save may be written again).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// How often files are looked at when nothing is new (e.g. 250ms, 1s).
    #[arg(long, value_name = "DURATION", default_value = "250ms")]
    pub poll: String,
    /// How late (in event time) an event may come and still join correlation windows: they
    /// close when the newest event time minus this passes them. Later events are counted as
    /// late (summary and heartbeat).
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub lateness: String,
    /// How often a heartbeat (events read, findings, late events, backlog, lag) goes to
    /// stderr while following; 0 for none.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub heartbeat: String,
    /// How often the state file is saved while following.
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub save_every: String,
}

/// `spoor scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or folders to scan.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// YARA rule files or folders (repeatable), in addition to the built-in web-shell rules.
    #[arg(long, value_name = "PATH")]
    pub yara: Vec<PathBuf>,
    /// Indicator files (hashes and file names are matched).
    #[arg(long, value_name = "FILE")]
    pub iocs: Vec<PathBuf>,
    /// Do not load the built-in YARA rules and indicators.
    #[arg(long)]
    pub no_builtin: bool,
    /// Files larger than this many MiB are hashed but not YARA-scanned.
    #[arg(long, value_name = "MIB", default_value_t = 16)]
    pub max_size_mib: u64,
    /// Per-file YARA timeout in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub timeout: u64,
    /// Memory for the sorted findings, in MiB; past it findings spill to temporary files
    /// (the output is the same, only slower).
    #[arg(long = "sort-memory", value_name = "MIB", default_value_t = spoor_report::DEFAULT_SORT_BUDGET >> 20)]
    pub sort_budget_mib: usize,
    /// Which files to read.
    #[command(flatten)]
    pub walk: WalkArgs,
    /// Output.
    #[command(flatten)]
    pub out: OutputArgs,
}

/// `spoor rules check`.
#[derive(Debug, Args)]
pub struct RulesCheckArgs {
    /// Rule files or folders.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output: one line per rule as text, or JSON Lines.
    #[arg(long, short = 'f', value_enum, default_value = "text")]
    pub format: CheckFormat,
    /// Fail (exit 1) on unsupported rules too, not only invalid ones.
    #[arg(long)]
    pub strict: bool,
    /// Only print rules that are not ok.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// YAML file of placeholder values for `|expand`.
    #[arg(long, value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
    /// Also say, for each web server rule, what the line prefilter scans for before a line is
    /// parsed, and which rules have no usable literal (they make every line parsed).
    #[arg(long)]
    pub explain: bool,
}

/// `spoor rules check --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// `status path:line[:column] id title: CODE reason`.
    Text,
    /// JSON Lines: path, line, column, id, title, status, code, reason; then a summary object.
    Jsonl,
}

/// `spoor rules list`.
#[derive(Debug, Args)]
pub struct RulesListArgs {
    /// Extra rule files or folders.
    #[arg(long, short = 'r', value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Do not list the built-in pack.
    #[arg(long)]
    pub no_builtin: bool,
    /// Output: a table or JSON Lines.
    #[arg(long, short = 'f', value_enum, default_value = "text")]
    pub format: CheckFormat,
}

/// What the triage views read: paths, format and walking options, as `hunt` does.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Log files or folders (read recursively; compressed files and zip archives too).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Input format for every file instead of detecting it (see `hunt --format-in`).
    #[arg(long, value_name = "FORMAT")]
    pub format_in: Option<String>,
    /// Year for syslog lines that carry none (default: the year of the run's other evidence).
    #[arg(long, value_name = "YEAR")]
    pub syslog_year: Option<i32>,
    /// Which files to read.
    #[command(flatten)]
    pub walk: WalkArgs,
}

/// Output of the triage views (`--format` has no short form: `search -f` is a field query).
#[derive(Debug, Args)]
pub struct TriageOutArgs {
    /// Output format (default: table on a terminal, jsonl otherwise).
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Write to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write CSV to FILE.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Also write JSON Lines to FILE.
    #[arg(long, value_name = "FILE")]
    pub jsonl: Option<PathBuf>,
    /// Also write a self-contained HTML page to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Colour in table output.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorArg,
    /// Only events at or after this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Only events at or before this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
}

/// `spoor search`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("query").required(true).args(["regex", "keywords", "field"])))]
pub struct SearchArgs {
    /// What to read.
    #[command(flatten)]
    pub input: InputArgs,
    /// A regular expression over every field's value and the raw line (linear-time syntax:
    /// no look-around or back-references).
    #[arg(short = 'e', long = "regex", value_name = "REGEX")]
    pub regex: Option<String>,
    /// Keywords (literal substrings of any field or the raw line); any one by default. The
    /// words run to the next option: put the PATHs first, or end the words with `--`.
    #[arg(short = 'k', long = "keyword", value_name = "WORD", num_args = 1..)]
    pub keywords: Vec<String>,
    /// With -k: every keyword must appear.
    #[arg(long, requires = "keywords")]
    pub and: bool,
    /// A field whose whole value is VALUE (`*` a wildcard), e.g. `-f TargetUserName=admin*`.
    #[arg(short = 'f', long = "field", value_name = "FIELD=VALUE")]
    pub field: Option<String>,
    /// Ignore case (the default).
    #[arg(short = 'i', long, conflicts_with = "case_sensitive")]
    pub ignore_case: bool,
    /// Match case exactly.
    #[arg(short = 's', long)]
    pub case_sensitive: bool,
    /// Output.
    #[command(flatten)]
    pub out: TriageOutArgs,
}

/// `spoor logons`.
#[derive(Debug, Args)]
pub struct LogonsArgs {
    /// What to read.
    #[command(flatten)]
    pub input: InputArgs,
    /// Flag a source address seen with at least N accounts.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub many_accounts: usize,
    /// Indicator files (lists, CSV, STIX 2.1): source addresses they name get the flag
    /// `indicator`.
    #[arg(long, value_name = "FILE")]
    pub iocs: Vec<PathBuf>,
    /// Output.
    #[command(flatten)]
    pub out: TriageOutArgs,
}

/// `spoor metrics`.
#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// What to read.
    #[command(flatten)]
    pub input: InputArgs,
    /// Report a log silent for longer than this while other logs are not (e.g. 30m, 6h, 2d).
    #[arg(long, value_name = "DURATION", default_value = "6h")]
    pub gap: String,
    /// Leave out the coverage of the advisory's tradecraft by the built-in pack.
    #[arg(long)]
    pub no_coverage: bool,
    /// Output.
    #[command(flatten)]
    pub out: TriageOutArgs,
}

/// `spoor explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A rule id or title (from the built-in pack or -r rules), or a rule file.
    #[arg(value_name = "RULE")]
    pub rule: String,
    /// The event: `PATH:LINE`, `PATH#RECORD` (EVTX EventRecordID) or `PATH[INDEX]`.
    #[arg(value_name = "EVENT")]
    pub event: String,
    /// Extra Sigma rule files or folders.
    #[arg(long, short = 'r', value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Do not load the built-in pack.
    #[arg(long)]
    pub no_builtin: bool,
    /// Input format instead of detecting it.
    #[arg(long, value_name = "FORMAT")]
    pub format_in: Option<String>,
    /// Year for syslog lines that carry none.
    #[arg(long, value_name = "YEAR")]
    pub syslog_year: Option<i32>,
    /// Output: text, or one JSON object.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ExplainFormat,
}

/// `spoor explain --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    /// Human text.
    Text,
    /// One JSON object.
    Json,
}

/// A ClickHouse table and how to reach it. The password never goes on the command line: it is
/// read from `$SPOOR_CLICKHOUSE_PASSWORD` or from `--password-file`.
#[derive(Debug, Args)]
pub struct ClickHouseArgs {
    /// Table of events.
    #[arg(long, value_name = "NAME", default_value = "spoor_events")]
    pub table: String,
    /// Database.
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub database: String,
    /// User (default: $SPOOR_CLICKHOUSE_USER, else ClickHouse's `default`).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// File whose first line is the password (default: $SPOOR_CLICKHOUSE_PASSWORD).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Seconds a connection, read or write to the server may stall.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub timeout: u64,
}

/// `spoor ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Log files or folders (the same readers as `hunt`).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The server: http(s)://host:port.
    #[arg(long, value_name = "URL", required = true)]
    pub clickhouse: String,
    /// Table and connection.
    #[command(flatten)]
    pub ch: ClickHouseArgs,
    /// A cluster: creates `<table>_local` (ReplicatedReplacingMergeTree) on every shard `ON
    /// CLUSTER` and the Distributed table `<table>` that events are inserted through.
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// Events per insert.
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    pub batch_rows: u64,
    /// Input format for every file instead of detecting it.
    #[arg(long, value_name = "FORMAT")]
    pub format_in: Option<String>,
    /// Year for syslog lines that carry none (default: the year of the run's other dated
    /// evidence, else each file's modification time).
    #[arg(long, value_name = "YEAR")]
    pub syslog_year: Option<i32>,
    /// Which files to read.
    #[command(flatten)]
    pub walk: WalkArgs,
}

/// `spoor convert --to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConvertTarget {
    /// ClickHouse SQL over the table `spoor ingest` writes.
    Clickhouse,
}

/// `spoor convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The language.
    #[arg(long, value_enum)]
    pub to: ConvertTarget,
    /// Sigma rule files or folders (repeatable), in addition to the built-in pack.
    #[arg(long, short = 'r', value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Do not convert the built-in pack.
    #[arg(long)]
    pub no_builtin: bool,
    /// YAML file of placeholder values for rules using `|expand`.
    #[arg(long, value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
    /// Table the SQL reads.
    #[arg(long, value_name = "NAME", default_value = "spoor_events")]
    pub table: String,
    /// Database the SQL reads.
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub database: String,
    /// Indicator files (lists, CSV, STIX 2.1) whose candidate query to print, with the
    /// built-in indicators unless --no-builtin.
    #[arg(long, value_name = "FILE")]
    pub iocs: Vec<PathBuf>,
}
