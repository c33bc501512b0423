//! Coverage against the advisory: for each tradecraft item of the pack's coverage document
//! (`docs/apt40.md`, section "Coverage"), whether the logs at hand can show it, with the rules
//! that can run and those that cannot for want of a log source; and the blind spots of the
//! evidence as a whole (no proxy logs, 4688 without command lines, ...).
//!
//! The document is data: each `###` heading under `## Coverage` is one item, each table row
//! names rule files (in backticks) and, in its last cell, the log they need.

use crate::metrics::EvidenceFacts;

/// One rule row of the coverage document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocRule {
    /// Rule file names (`web_log4shell_jndi_lookup.yml`).
    pub files: Vec<String>,
    /// The "log needed" cell.
    pub log_needed: String,
}

/// One tradecraft item of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocSection {
    /// Its heading (`Initial access: Log4Shell (CVE-2021-44228) — T1190`).
    pub title: String,
    /// Its rule rows.
    pub rules: Vec<DocRule>,
}

/// Reads the `## Coverage` part of the document: its `###` items and their rule tables.
pub fn parse_coverage_doc(markdown: &str) -> Vec<DocSection> {
    let mut out: Vec<DocSection> = Vec::new();
    let mut inside = false;
    for line in markdown.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            inside = h.trim_start().starts_with("Coverage");
            continue;
        }
        if !inside {
            continue;
        }
        if let Some(h) = line.strip_prefix("### ") {
            out.push(DocSection {
                title: h.trim().to_string(),
                rules: Vec::new(),
            });
            continue;
        }
        let Some(section) = out.last_mut() else {
            continue;
        };
        let row = line.trim();
        if !row.starts_with('|') || row.starts_with("|---") {
            continue;
        }
        let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
        let (Some(first), Some(last)) = (cells.first(), cells.last()) else {
            continue;
        };
        let files: Vec<String> = first
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|n| n.ends_with(".yml") || n.ends_with(".yaml"))
            .map(str::to_string)
            .collect();
        if !files.is_empty() && cells.len() >= 2 {
            section.rules.push(DocRule {
                files,
                log_needed: last.to_string(),
            });
        }
    }
    out
}

/// What a rule file can do on the logs at hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    /// A detection rule of the file runs on some event's log source.
    Runs,
    /// No event has a log source the file's rules run on.
    CannotRun,
    /// A correlation (or filter) file: it runs when its base rules do.
    Correlation,
    /// The file is not among the loaded rules.
    NotLoaded,
}

/// One item's coverage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageRow {
    /// The item's heading.
    pub tradecraft: String,
    /// `yes` (every rule can run), `partly`, or `no`.
    pub can_show: &'static str,
    /// Files whose rules can run (correlations whose base rules in the item can).
    pub runs: Vec<String>,
    /// Files whose rules cannot run here.
    pub cannot: Vec<String>,
    /// The logs those would need, from the document, without repeats.
    pub logs_needed: Vec<String>,
}

/// Coverage of each item, given what each rule file can do. A correlation file counts as
/// running when a detection rule of the same item runs (the document lists base rules beside
/// their correlations).
pub fn coverage(
    sections: &[DocSection],
    availability: &dyn Fn(&str) -> Availability,
) -> Vec<CoverageRow> {
    sections
        .iter()
        .filter(|s| !s.rules.is_empty())
        .map(|s| {
            let any_runs = s
                .rules
                .iter()
                .flat_map(|r| &r.files)
                .any(|f| availability(f) == Availability::Runs);
            let mut row = CoverageRow {
                tradecraft: s.title.clone(),
                can_show: "no",
                runs: Vec::new(),
                cannot: Vec::new(),
                logs_needed: Vec::new(),
            };
            for r in &s.rules {
                for f in &r.files {
                    let ok = match availability(f) {
                        Availability::Runs => true,
                        Availability::Correlation => any_runs,
                        Availability::CannotRun | Availability::NotLoaded => false,
                    };
                    if ok {
                        row.runs.push(f.clone());
                    } else {
                        row.cannot.push(f.clone());
                        if !row.logs_needed.contains(&r.log_needed) {
                            row.logs_needed.push(r.log_needed.clone());
                        }
                    }
                }
            }
            row.can_show = match (row.runs.is_empty(), row.cannot.is_empty()) {
                (false, true) => "yes",
                (false, false) => "partly",
                _ => "no",
            };
            row
        })
        .collect()
}

/// What the evidence as a whole cannot show, in the advisory's terms.
pub fn blind_spots(f: &EvidenceFacts) -> Vec<String> {
    let mut out = Vec::new();
    if f.events == 0 {
        out.push("no events: nothing can be seen".to_string());
        return out;
    }
    if f.proxy == 0 {
        out.push("no proxy logs: traffic to compromised SOHO routers used as relays (T1584.008) and other outbound channels cannot be seen here".into());
    }
    if f.web == 0 {
        out.push("no web server logs: exploitation of public-facing applications (T1190) and web shell requests (T1505.003) cannot be seen here".into());
    } else if f.web_with_bytes == 0 {
        out.push(
            "web logs without response sizes: large transfers to one client (T1041) cannot be seen"
                .into(),
        );
    }
    if f.process_creation == 0 {
        out.push("no process creation events (Sysmon 1, Security 4688): commands run by web shells and firewall changes (T1562.004) by command line cannot be seen here".into());
    } else if f.security_4688 > 0 && f.security_4688_command_line == 0 {
        out.push("Security 4688 without command line: process rules see only image names".into());
    }
    if f.windows_logons == 0 && f.ssh_logins == 0 {
        out.push("no logon events (Security 4624/4625, sshd): use of valid accounts (T1078) and password guessing (T1110) cannot be seen here".into());
    } else if f.windows_logons == 0 {
        out.push("no Windows logon events (Security 4624/4625): valid-account use on Windows (T1078) cannot be seen here".into());
    }
    if f.cleared > 0 {
        out.push(format!(
            "{} cleared event log(s): events before the clearing are missing",
            f.cleared
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "# Pack\n\n## Coverage: advisory item, rules, logs needed\n\nintro\n\n### Initial access: Log4Shell — T1190\n\n| rule | level | what it sees | log needed |\n|---|---|---|---|\n| `web_a.yml` | high | x | web access log |\n| `proxy_b.yml` | high | y | internet proxy log |\n\n### Valid accounts — T1078\n\n| rule | level | what | log needed |\n|---|---|---|---|\n| `win_base.yml`, `win_base2.yml` | feeds only | 4625 | Security log |\n| `corr_c.yml` | medium | burst | Security log |\n\n## What the pack cannot see\n\n### Not an item\n| `x.yml` | a | b | c |\n";

    #[test]
    fn document_items_and_rules() {
        let s = parse_coverage_doc(DOC);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].title, "Initial access: Log4Shell — T1190");
        assert_eq!(s[0].rules[1].files, vec!["proxy_b.yml"]);
        assert_eq!(s[0].rules[1].log_needed, "internet proxy log");
        assert_eq!(s[1].rules[0].files, vec!["win_base.yml", "win_base2.yml"]);
    }

    #[test]
    fn coverage_follows_availability() {
        let s = parse_coverage_doc(DOC);
        let avail = |f: &str| match f {
            "web_a.yml" => Availability::Runs,
            "corr_c.yml" => Availability::Correlation,
            "win_base2.yml" => Availability::NotLoaded,
            _ => Availability::CannotRun,
        };
        let rows = coverage(&s, &avail);
        assert_eq!(rows[0].can_show, "partly");
        assert_eq!(rows[0].runs, vec!["web_a.yml"]);
        assert_eq!(rows[0].logs_needed, vec!["internet proxy log"]);
        // No base rule runs: the correlation cannot either.
        assert_eq!(rows[1].can_show, "no");
        assert_eq!(rows[1].cannot.len(), 3);
        assert_eq!(rows[1].logs_needed, vec!["Security log"]);
        let all = coverage(&s, &|f: &str| {
            if f.starts_with("corr") {
                Availability::Correlation
            } else {
                Availability::Runs
            }
        });
        assert!(all.iter().all(|r| r.can_show == "yes"));
    }

    #[test]
    fn blind_spots_name_missing_logs() {
        let f = EvidenceFacts {
            events: 10,
            web: 5,
            web_with_bytes: 5,
            process_creation: 3,
            security_4688: 3,
            security_4688_command_line: 0,
            ..EvidenceFacts::default()
        };
        let b = blind_spots(&f);
        assert!(b.iter().any(|s| s.starts_with("no proxy logs")));
        assert!(b
            .iter()
            .any(|s| s.starts_with("Security 4688 without command line")));
        assert!(b.iter().any(|s| s.starts_with("no logon events")));
        assert!(!b.iter().any(|s| s.starts_with("no web server logs")));
    }
}
