//! `spoor rules check` and `spoor rules list`.
//!
//! `check` also says, for each rule that loads, whether one of spoor's readers gives events of
//! its log source (`readable`): a rule can be valid Sigma and still never run here.

use crate::args::{CheckFormat, RulesCheckArgs, RulesListArgs};
use crate::load;
use anyhow::Result;
use serde_json::json;
use spoor_report::terminal_safe;
use spoor_sigma::RuleStatus;
use std::collections::HashMap;
use std::io::{self, BufWriter, Write};
use std::sync::Arc;

/// Whether each loaded detection rule's log source is one some reader gives, by (file, title),
/// in load order (two rules of one file may share a title).
fn readability(set: &spoor_sigma::RuleSet) -> HashMap<(String, String), Vec<bool>> {
    let sources = spoor_input::reader_logsources();
    let mut out: HashMap<(String, String), Vec<bool>> = HashMap::new();
    for rule in set.compiled() {
        let readable = sources.iter().any(|ls| rule.logsource.accepts(ls));
        let key = (
            rule.meta.path.clone().unwrap_or_default(),
            rule.meta.title.clone(),
        );
        out.entry(key).or_default().push(readable);
    }
    for v in out.values_mut() {
        v.reverse(); // popped from the back in load order
    }
    out
}

/// Runs `spoor rules check`: one line per rule, a summary, exit 1 on invalid rules (or on
/// unsupported ones with `--strict`).
pub fn check(args: RulesCheckArgs) -> Result<i32> {
    let set = load::sigma_rules(false, &args.paths, args.placeholders.as_deref())?;
    let mut out = BufWriter::new(io::stdout().lock());
    let (mut ok, mut unsupported, mut invalid) = (0u64, 0u64, 0u64);
    let mut readable_of = readability(&set);
    let mut unreadable = 0u64;
    for r in set.reports() {
        // Detection rules only: correlations and filters have no log source of their own.
        let readable = match r.status {
            RuleStatus::Ok => readable_of
                .get_mut(&(r.origin.clone(), r.title.clone()))
                .and_then(Vec::pop),
            _ => None,
        };
        unreadable += u64::from(readable == Some(false));
        match r.status {
            RuleStatus::Ok => ok += 1,
            RuleStatus::Unsupported(_) => unsupported += 1,
            RuleStatus::Invalid(_) => invalid += 1,
        }
        if args.quiet && r.status == RuleStatus::Ok {
            continue;
        }
        let place = r.location().to_string();
        let written = match args.format {
            CheckFormat::Jsonl => writeln!(
                out,
                "{}",
                json!({
                    "path": r.origin,
                    "line": r.line,
                    "column": r.column,
                    "id": r.id,
                    "title": r.title,
                    "status": r.status.name(),
                    "code": r.status.code(),
                    "reason": r.status.reason(),
                    "readable": readable,
                })
            ),
            CheckFormat::Text => {
                let reason = match (r.status.code(), readable) {
                    (Some(code), _) => format!(": {code} {}", r.status.reason()),
                    (None, Some(false)) => {
                        ": no reader gives events of this log source".to_string()
                    }
                    (None, _) => String::new(),
                };
                writeln!(
                    out,
                    "{:<11} {}:{place} {} {}{}",
                    r.status.name(),
                    terminal_safe(&r.origin),
                    terminal_safe(r.id.as_deref().unwrap_or("-")),
                    terminal_safe(&r.title),
                    terminal_safe(&reason)
                )
            }
        };
        if crate::is_broken_pipe(&written) {
            return Ok(0);
        }
        written?;
    }
    if args.explain && explain_prefilter(&set, args.format, &mut out)? {
        return Ok(0);
    }
    let total = ok + unsupported + invalid;
    let summary = match args.format {
        CheckFormat::Jsonl => writeln!(
            out,
            "{}",
            json!({"summary": {"rules": total, "ok": ok, "unsupported": unsupported, "invalid": invalid, "unreadable": unreadable}})
        ),
        CheckFormat::Text => writeln!(
            out,
            "{total} rules: {ok} ok ({unreadable} of them for logs no reader gives), {unsupported} unsupported, {invalid} invalid"
        ),
    };
    if !crate::is_broken_pipe(&summary) {
        summary?;
        out.flush().ok();
    }
    Ok(if invalid > 0 || (args.strict && unsupported > 0) {
        1
    } else {
        0
    })
}

/// Writes what the line prefilter of web server logs scans for, per rule. True when stdout
/// closed.
fn explain_prefilter(
    set: &spoor_sigma::RuleSet,
    format: CheckFormat,
    out: &mut impl Write,
) -> Result<bool> {
    let gates = set.line_gates();
    let ls = spoor_event::LogSource::new(None, Some("webserver"), None);
    let reqs = gates.requirements(&ls);
    let every_line = gates.tried_on_every_line(&ls);
    let on_every_line =
        |m: &Arc<spoor_event::RuleMeta>| every_line.iter().any(|e| Arc::ptr_eq(e, m));
    if format == CheckFormat::Jsonl {
        let rules: Vec<_> = reqs
            .iter()
            .map(|(m, r)| {
                json!({"id": m.id, "title": m.title, "needs_one_of": r,
                       "tried_on_every_line": r.is_some() && on_every_line(m)})
            })
            .collect();
        let w = writeln!(
            out,
            "{}",
            json!({"prefilter": {"logsource": "webserver", "literals": gates.literals(&ls),
                                 "scanned_literals": gates.scanned_literals(&ls), "rules": rules}})
        );
        if crate::is_broken_pipe(&w) {
            return Ok(true);
        }
        w?;
        return Ok(false);
    }
    let mut lines = vec![format!(
        "line prefilter (web server logs): {} rules, {}",
        reqs.len(),
        match gates.literals(&ls) {
            Some(l) => format!(
                "{} literals, {} of them searched for in every line before parsing",
                l.len(),
                gates.scanned_literals(&ls).map_or(0, |s| s.len())
            ),
            None => "off: some rule has no usable literal, every line is parsed".into(),
        }
    )];
    for (meta, req) in reqs {
        let what = match req {
            Some(atoms) if on_every_line(&meta) => format!(
                "needs one of {} (no rare literal to wake it: tried on every line, on the fields it reads)",
                atoms.join(", ")
            ),
            Some(atoms) => format!("needs one of {}", atoms.join(", ")),
            None => "no usable literal (a negation, exists or time part only): every line".into(),
        };
        lines.push(format!(
            "  {} {}: {}",
            terminal_safe(&meta.id),
            terminal_safe(&meta.title),
            terminal_safe(&what)
        ));
    }
    for l in lines {
        let w = writeln!(out, "{l}");
        if crate::is_broken_pipe(&w) {
            return Ok(true);
        }
        w?;
    }
    Ok(false)
}

/// Runs `spoor rules list`: id, title, level and ATT&CK ids of every rule that would run.
pub fn list(args: RulesListArgs) -> Result<i32> {
    let set = load::sigma_rules(!args.no_builtin, &args.rules, None)?;
    let mut out = BufWriter::new(io::stdout().lock());
    // Detection rules, then correlations; `feeds` marks rules that only feed correlations.
    for meta in set.rules().iter().chain(set.correlations().rules()) {
        let role = match (meta.kind, meta.feeds_only) {
            (_, true) => "feeds",
            (spoor_event::RuleKind::Correlation, false) => "correlation",
            _ => "rule",
        };
        let written = match args.format {
            CheckFormat::Jsonl => writeln!(
                out,
                "{}",
                json!({
                    "id": meta.id,
                    "title": meta.title,
                    "level": meta.level.as_str(),
                    "kind": role,
                    "attack": meta.attack.techniques,
                    "tactics": meta.attack.tactics,
                    "path": meta.path,
                })
            ),
            CheckFormat::Text => writeln!(
                out,
                "{:<36}  {:<13} {:<11} {:<28} {}",
                terminal_safe(&meta.id),
                meta.level.as_str(),
                role,
                meta.attack.techniques.join(","),
                terminal_safe(&meta.title)
            ),
        };
        if crate::is_broken_pipe(&written) {
            return Ok(0);
        }
        written?;
    }
    out.flush().ok();
    Ok(0)
}
