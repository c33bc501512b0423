//! The HTML report: one self-contained file to read offline or hand on.
//!
//! Log data is hostile and the report is opened in the analyst's browser, so: every value is
//! escaped for its context ([`escape::push_text`]); the only data inside a `<script>` element is
//! the run summary as JSON in a `type="application/json"` block, written with `<`, `>`, `&`,
//! U+2028 and U+2029 escaped; and a Content-Security-Policy forbids every script but the
//! report's own, identified by its SHA-256 hash, as well as any network access.
//!
//! The summary comes first in the file but is only known at the end, so the writer keeps, per
//! finding, its pre-rendered table row (up to [`HtmlOptions::max_rows`] rows; the evidence cut
//! to [`MAX_EVIDENCE_CHARS`]) plus a few counters, and writes the document in `finish`.

mod escape;
mod timeline;

use crate::attack_names::{self, tactic_display_name, technique, technique_display_name};
use crate::evidence::{client_ip_of, evidence_text, host_of, rfc3339, source_text};
use crate::json_safe::{write_json, SafeJsonFormatter};
use crate::navigator::level_colour;
use base64::Engine as _;
use escape::{push_num, push_text};
use sha2::{Digest, Sha256};
use spoor_event::{Finding, FindingSink, RuleLevel, RunSummary};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, Write};
use std::sync::OnceLock;

const SCRIPT: &str = include_str!("report.js");
const STYLE: &str = include_str!("report.css");

/// Evidence longer than this many characters is cut in the HTML table (with a note saying how
/// much was cut); JSONL and CSV keep it whole.
pub const MAX_EVIDENCE_CHARS: usize = 2_000;

/// How many distinct hosts, addresses, files or rules are tallied for the "top" lists; beyond
/// it, findings are counted as "not tallied" (shown in the report).
const MAX_DISTINCT: usize = 100_000;

/// How many entries each "top" list shows.
const TOP_N: usize = 15;

/// A table a run adds to its report after the findings (the `logons` view of `spoor hunt`, say);
/// every cell is text, escaped like the rest of the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HtmlTable {
    /// Section heading.
    pub title: String,
    /// Column headings.
    pub columns: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
}

/// Tables known only at the end of a run, handed to a writer made before the run started.
#[derive(Debug, Clone, Default)]
pub struct HtmlAppendix(std::sync::Arc<std::sync::Mutex<Vec<HtmlTable>>>);

impl HtmlAppendix {
    /// Adds a table (shown in the order added).
    pub fn push(&self, table: HtmlTable) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(table);
    }

    fn tables(&self) -> Vec<HtmlTable> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl PartialEq for HtmlAppendix {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}
impl Eq for HtmlAppendix {}

/// HTML report settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlOptions {
    /// The report's title.
    pub title: String,
    /// How many findings the table lists (in arrival order); the rest are counted in the charts
    /// and lists, and the report says how many rows were left out. A browser copes with tens of
    /// thousands of rows; the JSONL and CSV outputs carry everything.
    pub max_rows: usize,
    /// Tables added at the end of the run, shown after the findings.
    pub appendix: HtmlAppendix,
}

impl Default for HtmlOptions {
    fn default() -> Self {
        HtmlOptions {
            title: "spoor report".into(),
            max_rows: 50_000,
            appendix: HtmlAppendix::default(),
        }
    }
}

/// `'sha256-...'` CSP sources of the report's one script and one style sheet, computed once.
fn csp_hashes() -> &'static (String, String) {
    static HASHES: OnceLock<(String, String)> = OnceLock::new();
    HASHES.get_or_init(|| {
        let h = |s: &str| {
            let digest = Sha256::digest(s.as_bytes());
            format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            )
        };
        (h(SCRIPT), h(STYLE))
    })
}

/// The Content-Security-Policy of every report: nothing may load, only the report's own script
/// and style (by hash) may run, no form may submit and no base URL may be set.
pub fn content_security_policy() -> String {
    let (script, style) = csp_hashes();
    format!(
        "default-src 'none'; script-src {script}; style-src {style}; img-src 'none'; \
         base-uri 'none'; form-action 'none'"
    )
}

fn level_rank(level: RuleLevel) -> u8 {
    match level {
        RuleLevel::Informational => 0,
        RuleLevel::Low => 1,
        RuleLevel::Medium => 2,
        RuleLevel::High => 3,
        RuleLevel::Critical => 4,
    }
}

/// Counts per distinct value, with a bound on how many values are kept.
#[derive(Default)]
struct Tally {
    counts: HashMap<String, u64>,
    not_tallied: u64,
}

impl Tally {
    fn add(&mut self, key: String, n: u64) {
        if let Some(c) = self.counts.get_mut(&key) {
            *c = c.saturating_add(n);
        } else if self.counts.len() < MAX_DISTINCT {
            self.counts.insert(key, n);
        } else {
            self.not_tallied = self.not_tallied.saturating_add(n);
        }
    }

    /// Largest first, ties by name.
    fn top(&self) -> Vec<(&str, u64)> {
        let mut v: Vec<(&str, u64)> = self.counts.iter().map(|(k, n)| (k.as_str(), *n)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        v.truncate(TOP_N);
        v
    }
}

#[derive(Default)]
struct TechniqueTally {
    count: u64,
    max_level: u8,
    tactics: BTreeSet<String>,
}

/// Writes the HTML report at `finish`; see the module docs.
pub struct HtmlWriter<W: Write> {
    out: W,
    opts: HtmlOptions,
    rows: String,
    rows_listed: usize,
    rows_left_out: u64,
    times: Vec<(i64, u8, u64)>,
    undated: u64,
    received: u64,
    rules: HashMap<(String, String), (u8, u64)>,
    hosts: Tally,
    client_ips: Tally,
    files: Tally,
    techniques: BTreeMap<String, TechniqueTally>,
}

impl<W: Write> HtmlWriter<W> {
    /// A writer to `out` (the CLI's stdout or the `--output` file; never a path from data).
    pub fn new(out: W, opts: HtmlOptions) -> Self {
        HtmlWriter {
            out,
            opts,
            rows: String::new(),
            rows_listed: 0,
            rows_left_out: 0,
            times: Vec::new(),
            undated: 0,
            received: 0,
            rules: HashMap::new(),
            hosts: Tally::default(),
            client_ips: Tally::default(),
            files: Tally::default(),
            techniques: BTreeMap::new(),
        }
    }

    fn tally(&mut self, f: &Finding, host: Option<&String>, ip: Option<&String>) {
        let rank = level_rank(f.rule.level);
        let n = f.count;
        self.received = self.received.saturating_add(n);
        match f.timestamp {
            Some(t) => self.times.push((t.timestamp(), rank, n)),
            None => self.undated = self.undated.saturating_add(n),
        }
        let key = (f.rule.id.clone(), f.rule.title.clone());
        if let Some(e) = self.rules.get_mut(&key) {
            e.1 = e.1.saturating_add(n);
        } else if self.rules.len() < MAX_DISTINCT {
            self.rules.insert(key, (rank, n));
        }
        if let Some(h) = host {
            self.hosts.add(h.clone(), n);
        }
        if let Some(ip) = ip {
            self.client_ips.add(ip.clone(), n);
        }
        self.files.add(f.source.path.to_string(), n);
        for id in &f.rule.attack.techniques {
            let known: Vec<&str> = technique(id)
                .map(|t| t.tactics.split(',').collect())
                .unwrap_or_default();
            let tagged = &f.rule.attack.tactics;
            let both: Vec<&str> = known
                .iter()
                .copied()
                .filter(|k| tagged.iter().any(|t| t == k))
                .collect();
            let chosen: Vec<String> = if !both.is_empty() {
                both.iter().map(|s| s.to_string()).collect()
            } else if !known.is_empty() {
                known.iter().map(|s| s.to_string()).collect()
            } else if !tagged.is_empty() {
                tagged.clone()
            } else {
                vec![String::new()]
            };
            let t = self.techniques.entry(id.clone()).or_default();
            t.count = t.count.saturating_add(n);
            t.max_level = t.max_level.max(rank);
            t.tactics.extend(chosen);
        }
    }

    fn row(&mut self, f: &Finding, host: Option<&String>, ip: Option<&String>) {
        let r = &mut self.rows;
        let rank = level_rank(f.rule.level);
        r.push_str("<tr data-level=\"");
        push_num(r, u64::from(rank));
        r.push_str("\"><td data-sort=\"");
        let time = f.timestamp.map(rfc3339);
        push_text(r, time.as_deref().unwrap_or("~"));
        r.push_str("\">");
        push_text(r, time.as_deref().unwrap_or("-"));
        r.push_str("</td><td data-sort=\"");
        push_num(r, u64::from(rank));
        r.push_str("\"><span class=\"badge lvl-");
        push_num(r, u64::from(rank));
        r.push_str("\">");
        r.push_str(f.rule.level.as_str());
        r.push_str("</span></td><td>");
        push_text(r, &f.rule.title);
        if !f.rule.id.is_empty() {
            r.push_str("<span class=\"id\">");
            push_text(r, &f.rule.id);
            r.push_str("</span>");
        }
        r.push_str("</td><td>");
        push_text(r, &f.rule.attack.techniques.join(" "));
        r.push_str("</td><td>");
        push_text(r, &source_text(f));
        r.push_str("</td><td>");
        push_text(r, host.map(String::as_str).unwrap_or(""));
        r.push_str("</td><td>");
        push_text(r, ip.map(String::as_str).unwrap_or(""));
        r.push_str("</td><td class=\"ev\">");
        let evidence = evidence_text(f);
        if let Some(c) = &f.correlation {
            // One row that expands to the events behind it.
            r.push_str("<details><summary>");
            push_text(r, &evidence);
            r.push_str("</summary><ol class=\"origins\">");
            for o in &c.origins {
                r.push_str("<li>");
                push_text(r, &crate::evidence::origin_text(o));
                r.push_str("</li>");
            }
            r.push_str("</ol>");
            let more = c.events.saturating_sub(c.origins.len() as u64);
            if more > 0 {
                r.push_str("<span class=\"muted\">and ");
                push_num(r, more);
                r.push_str(" more events</span>");
            }
            r.push_str("</details>");
        } else {
            match evidence.char_indices().nth(MAX_EVIDENCE_CHARS) {
                Some((cut, _)) => {
                    push_text(r, evidence.get(..cut).unwrap_or_default());
                    r.push_str("<span class=\"muted\"> … [");
                    push_num(
                        r,
                        evidence.get(cut..).unwrap_or_default().chars().count() as u64,
                    );
                    r.push_str(" more characters]</span>");
                }
                None => push_text(r, &evidence),
            }
        }
        r.push_str("</td><td class=\"n\" data-sort=\"");
        push_num(r, f.count);
        r.push_str("\">");
        push_num(r, f.count);
        r.push_str("</td></tr>\n");
    }

    /// The document up to the findings rows; then come the rows and [`Self::tail`].
    fn head(&self, summary: &RunSummary) -> String {
        let mut d = String::with_capacity(64 * 1024);
        d.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        d.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"");
        // Our own constant: single quotes are fine inside this double-quoted attribute.
        d.push_str(&content_security_policy());
        d.push_str("\">\n<meta name=\"referrer\" content=\"no-referrer\">\n");
        d.push_str(
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
        );
        push_text(&mut d, &self.opts.title);
        d.push_str("</title>\n<style>");
        d.push_str(STYLE);
        d.push_str("</style>\n</head>\n<body>\n<header><h1>");
        push_text(&mut d, &self.opts.title);
        d.push_str("</h1><p>");
        push_num(&mut d, summary.findings);
        d.push_str(" finding(s) in ");
        push_num(&mut d, summary.events);
        d.push_str(" event(s) from ");
        push_num(&mut d, summary.files.len() as u64);
        d.push_str(" file(s)</p></header>\n<main>\n");
        self.summary_section(&mut d, summary);
        d.push_str("<section><h2>Findings over time</h2>\n");
        let colours = RuleLevel::ALL.map(level_colour);
        d.push_str(&timeline::svg(&self.times, colours));
        if self.undated > 0 {
            d.push_str("<p class=\"muted\">");
            push_num(&mut d, self.undated);
            d.push_str(" finding(s) without a time are not in the chart.</p>");
        }
        d.push_str("</section>\n");
        self.matrix_section(&mut d);
        self.tops_section(&mut d);
        self.findings_head(&mut d);
        d
    }

    /// The document after the findings rows.
    fn tail(&self, summary: &RunSummary) -> String {
        let mut d = String::with_capacity(8 * 1024);
        d.push_str("</tbody></table></section>\n");
        for t in self.opts.appendix.tables() {
            d.push_str("<section><h2>");
            push_text(&mut d, &t.title);
            d.push_str("</h2><table class=\"appendix\"><thead><tr>");
            for c in &t.columns {
                d.push_str("<th>");
                push_text(&mut d, c);
                d.push_str("</th>");
            }
            d.push_str("</tr></thead><tbody>");
            for row in &t.rows {
                d.push_str("<tr>");
                for cell in row {
                    d.push_str("<td>");
                    push_text(&mut d, cell);
                    d.push_str("</td>");
                }
                d.push_str("</tr>");
            }
            d.push_str("</tbody></table></section>\n");
        }
        d.push_str("</main>\n<footer>Generated by spoor. ");
        push_text(&mut d, attack_names::ATTACK_ATTRIBUTION);
        d.push_str("</footer>\n<script type=\"application/json\" id=\"spoor-summary\">");
        let mut json = Vec::new();
        // Writing to a Vec only fails on a serialisation error, which the summary cannot raise;
        // if it ever did, the block is left empty rather than broken.
        if write_json(&mut json, summary, SafeJsonFormatter::html()).is_ok() {
            d.push_str(&String::from_utf8_lossy(&json));
        }
        d.push_str("</script>\n<script>");
        d.push_str(SCRIPT);
        d.push_str("</script>\n</body>\n</html>\n");
        d
    }

    fn summary_section(&self, d: &mut String, s: &RunSummary) {
        d.push_str("<section><h2>Summary</h2><div class=\"cards\">");
        let mut card = |label: &str, value: String| {
            d.push_str("<div class=\"card\"><b>");
            push_text(d, &value);
            d.push_str("</b>");
            push_text(d, label);
            d.push_str("</div>");
        };
        card("findings", s.findings.to_string());
        for level in RuleLevel::ALL.iter().rev() {
            if let Some(n) = s.findings_by_level.get(level.as_str()) {
                card(level.as_str(), n.to_string());
            }
        }
        card("files", s.files.len().to_string());
        card("events", s.events.to_string());
        card("unparsed records", s.unparsed.to_string());
        card("rules loaded", s.rules_loaded.to_string());
        card("rules unsupported", s.rules_unsupported.to_string());
        card("rules invalid", s.rules_invalid.to_string());
        card("elapsed", format!("{:.2} s", s.elapsed_seconds));
        d.push_str("</div>");
        if !s.findings_by_tactic.is_empty() {
            let mut tactics: Vec<_> = s.findings_by_tactic.iter().collect();
            tactics.sort_by_key(|(t, _)| (attack_names::tactic_rank(t), t.as_str()));
            d.push_str("<p>By tactic: ");
            for (i, (t, n)) in tactics.iter().enumerate() {
                if i > 0 {
                    d.push_str(", ");
                }
                push_text(d, tactic_display_name(t));
                d.push(' ');
                push_num(d, **n);
            }
            d.push_str("</p>");
        }
        if !s.filters.is_empty() {
            d.push_str("<p>Filter rules: ");
            for (i, flt) in s.filters.iter().enumerate() {
                if i > 0 {
                    d.push_str(", ");
                }
                push_text(d, &flt.title);
                d.push_str(" suppressed ");
                push_num(d, flt.suppressed);
            }
            d.push_str("</p>");
        }
        let failed: Vec<_> = s.files.iter().filter(|f| f.error.is_some()).collect();
        if !s.warnings.is_empty() || !failed.is_empty() {
            d.push_str("<ul class=\"warn\">");
            for f in failed {
                d.push_str("<li>");
                push_text(d, &f.path);
                d.push_str(": ");
                push_text(d, f.error.as_deref().unwrap_or_default());
                d.push_str("</li>");
            }
            for w in &s.warnings {
                d.push_str("<li>");
                push_text(d, w);
                d.push_str("</li>");
            }
            d.push_str("</ul>");
        }
        d.push_str("</section>\n");
    }

    fn matrix_section(&self, d: &mut String) {
        d.push_str("<section><h2>ATT&amp;CK techniques seen</h2>\n");
        if self.techniques.is_empty() {
            d.push_str("<p class=\"muted\">No finding is tagged with an ATT&amp;CK technique.</p></section>\n");
            return;
        }
        let mut columns: Vec<(String, String)> = attack_names::tactics()
            .iter()
            .map(|t| (t.short_name.to_string(), t.name.to_string()))
            .collect();
        let extra: BTreeSet<&str> = self
            .techniques
            .values()
            .flat_map(|t| t.tactics.iter().map(String::as_str))
            .filter(|t| attack_names::tactic_rank(t) == usize::MAX)
            .collect();
        for t in extra {
            let label = if t.is_empty() { "(no tactic)" } else { t };
            columns.push((t.to_string(), label.to_string()));
        }
        d.push_str("<div class=\"matrix\">");
        for (short, name) in &columns {
            d.push_str("<div><h3>");
            push_text(d, name);
            d.push_str("</h3>");
            for (id, t) in self
                .techniques
                .iter()
                .filter(|(_, t)| t.tactics.contains(short))
            {
                d.push_str("<div class=\"tech lvl-");
                push_num(d, u64::from(t.max_level));
                d.push_str("\"><b>");
                push_text(d, id);
                d.push_str("</b>");
                push_text(d, &technique_display_name(id));
                d.push_str(" (");
                push_num(d, t.count);
                d.push_str(")</div>");
            }
            d.push_str("</div>");
        }
        d.push_str("</div><p class=\"muted\">Colour: most severe level among the technique's findings; number: findings.</p></section>\n");
    }

    fn tops_section(&self, d: &mut String) {
        d.push_str(
            "<section><h2>Top rules, hosts, client addresses and files</h2><div class=\"tops\">",
        );
        let mut rules: Vec<_> = self.rules.iter().collect();
        rules.sort_by(|a, b| b.1 .1.cmp(&a.1 .1).then_with(|| a.0.cmp(b.0)));
        rules.truncate(TOP_N);
        d.push_str(
            "<div><table><thead><tr><th>Rule</th><th class=\"n\">Findings</th></tr></thead><tbody>",
        );
        for ((id, title), (rank, n)) in rules {
            d.push_str("<tr><td><span class=\"badge lvl-");
            push_num(d, u64::from(*rank));
            d.push_str("\">");
            push_text(
                d,
                RuleLevel::ALL
                    .get(usize::from(*rank))
                    .map_or("", |l| l.as_str()),
            );
            d.push_str("</span> ");
            push_text(d, title);
            d.push_str("<span class=\"id\">");
            push_text(d, id);
            d.push_str("</span></td><td class=\"n\">");
            push_num(d, *n);
            d.push_str("</td></tr>");
        }
        d.push_str("</tbody></table></div>");
        for (label, tally) in [
            ("Host", &self.hosts),
            ("Client address", &self.client_ips),
            ("File", &self.files),
        ] {
            d.push_str("<div><table><thead><tr><th>");
            d.push_str(label);
            d.push_str("</th><th class=\"n\">Findings</th></tr></thead><tbody>");
            let top = tally.top();
            if top.is_empty() {
                d.push_str("<tr><td class=\"muted\">none recorded</td><td></td></tr>");
            }
            for (k, n) in top {
                d.push_str("<tr><td>");
                push_text(d, k);
                d.push_str("</td><td class=\"n\">");
                push_num(d, n);
                d.push_str("</td></tr>");
            }
            if tally.not_tallied > 0 {
                d.push_str("<tr><td class=\"muted\">findings with values beyond the first ");
                push_num(d, MAX_DISTINCT as u64);
                d.push_str(" distinct ones</td><td class=\"n\">");
                push_num(d, tally.not_tallied);
                d.push_str("</td></tr>");
            }
            d.push_str("</tbody></table></div>");
        }
        d.push_str("</div></section>\n");
    }

    fn findings_head(&self, d: &mut String) {
        d.push_str("<section><h2>Findings</h2>\n<div class=\"controls\">\
            <input id=\"search\" type=\"search\" placeholder=\"Search findings\" aria-label=\"Search findings\">\
            <label>Minimum level <select id=\"level-filter\">\
            <option value=\"0\">informational</option><option value=\"1\">low</option>\
            <option value=\"2\">medium</option><option value=\"3\">high</option>\
            <option value=\"4\">critical</option></select></label>\
            <span><span id=\"shown\">");
        push_num(d, self.rows_listed as u64);
        d.push_str("</span> of ");
        push_num(d, self.rows_listed as u64);
        d.push_str(" rows shown</span></div>\n");
        if self.rows_left_out > 0 {
            d.push_str("<p class=\"warn\">The table lists the first ");
            push_num(d, self.rows_listed as u64);
            d.push_str(" findings; ");
            push_num(d, self.rows_left_out);
            d.push_str(" more are counted above but not listed. The JSONL and CSV outputs hold every finding.</p>\n");
        }
        d.push_str(
            "<table id=\"findings\"><thead><tr>\
            <th data-type=\"text\">Time (UTC)</th><th data-type=\"num\">Level</th>\
            <th data-type=\"text\">Rule</th><th data-type=\"text\">ATT&amp;CK</th>\
            <th data-type=\"text\">Source</th><th data-type=\"text\">Host</th>\
            <th data-type=\"text\">Client</th><th data-type=\"text\">Evidence</th>\
            <th data-type=\"num\" class=\"n\">Count</th></tr></thead>\n<tbody>\n",
        );
    }
}

impl<W: Write> FindingSink for HtmlWriter<W> {
    fn write(&mut self, f: &Finding) -> io::Result<()> {
        let host = host_of(f);
        let ip = client_ip_of(f);
        self.tally(f, host.as_ref(), ip.as_ref());
        if self.rows_listed < self.opts.max_rows {
            self.rows_listed += 1;
            self.row(f, host.as_ref(), ip.as_ref());
        } else {
            self.rows_left_out = self.rows_left_out.saturating_add(1);
        }
        Ok(())
    }

    fn finish(&mut self, summary: &RunSummary) -> io::Result<()> {
        let head = self.head(summary);
        self.out.write_all(head.as_bytes())?;
        self.out.write_all(self.rows.as_bytes())?;
        self.rows = String::new();
        let tail = self.tail(summary);
        self.out.write_all(tail.as_bytes())?;
        self.out.flush()
    }
}

/// Writes a whole HTML report of `findings` (in the order given) and `summary` to `w`.
pub fn write_html_report(
    findings: &[Finding],
    summary: &RunSummary,
    w: impl Write,
    opts: HtmlOptions,
) -> io::Result<()> {
    let mut writer = HtmlWriter::new(w, opts);
    for f in findings {
        writer.write(f)?;
    }
    writer.finish(summary)
}
