//! `spoor explain RULE EVENT`: why a rule fires or stays quiet on one event. The event is read
//! with the ordinary readers and shown as the engine sees it (log source, field names after
//! mapping); the rule is walked by `RuleSet::explain` in spoor-sigma, which uses the
//! evaluator's own tests, so the verdict is the one `hunt` would give.

use crate::args::{ExplainArgs, ExplainFormat};
use crate::load;
use anyhow::{anyhow, bail, Result};
use serde_json::json;
use spoor_event::{Event, Position};
use spoor_input::ReadOptions;
use spoor_report::terminal_safe;
use spoor_sigma::{Explanation, RuleSetBuilder};
use std::io::Write;
use std::path::{Path, PathBuf};

/// `PATH:LINE`, `PATH#RECORD` or `PATH[INDEX]`.
fn parse_event_ref(s: &str) -> Result<(PathBuf, Position)> {
    let bad = || anyhow!("EVENT must be PATH:LINE, PATH#RECORD or PATH[INDEX], got '{s}'");
    if let Some(body) = s.strip_suffix(']') {
        let (p, n) = body.rsplit_once('[').ok_or_else(bad)?;
        return Ok((p.into(), Position::Index(n.parse().map_err(|_| bad())?)));
    }
    for (sep, make) in [
        ('#', Position::Record as fn(u64) -> Position),
        (':', Position::Line as fn(u64) -> Position),
    ] {
        if let Some((p, n)) = s.rsplit_once(sep) {
            if !p.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
                return Ok((p.into(), make(n.parse().map_err(|_| bad())?)));
            }
        }
    }
    Err(bad())
}

/// The event at `pos` in `path`. `#N` also finds a JSON-exported Windows event whose
/// `EventRecordID` is N.
fn find_event(path: &Path, pos: Position, opts: &ReadOptions) -> Result<Event> {
    if !path.is_file() {
        bail!("{} is not a file", path.display());
    }
    let mut found: Option<Event> = None;
    let mut by_record: Option<Event> = None;
    let stats = spoor_input::read_path(path, opts, |ev| {
        if found.is_some() {
            return;
        }
        if ev.origin.position == pos {
            found = Some(ev);
        } else if let Position::Record(n) = pos {
            if by_record.is_none()
                && ev.get("EventRecordID").and_then(|v| v.as_f64()) == Some(n as f64)
            {
                by_record = Some(ev);
            }
        }
    });
    if let Some(e) = stats.iter().find_map(|s| s.error.clone()) {
        if found.is_none() && by_record.is_none() {
            bail!("cannot read {}: {e}", path.display());
        }
    }
    found.or(by_record).ok_or_else(|| {
        anyhow!(
            "no event at {} {} {} (blank, comment and unparsed lines are not events)",
            path.display(),
            match pos {
                Position::Line(_) => "line",
                Position::Record(_) => "record",
                Position::Index(_) => "index",
            },
            pos.number()
        )
    })
}

fn write_text(out: &mut dyn Write, ev: &Event, xs: &[Explanation]) -> std::io::Result<()> {
    let t = |s: &str| terminal_safe(s).into_owned();
    let pos = match ev.origin.position {
        Position::Line(n) => format!(":{n}"),
        Position::Record(n) => format!("#{n}"),
        Position::Index(n) => format!("[{n}]"),
    };
    writeln!(out, "event      {}{pos}", t(&ev.origin.path))?;
    writeln!(
        out,
        "time       {}",
        ev.timestamp.map_or_else(|| "-".into(), |x| x.to_rfc3339())
    )?;
    let ls = &ev.logsource;
    let p = |x: &Option<std::sync::Arc<str>>| x.as_deref().map_or("-".to_string(), t);
    writeln!(
        out,
        "log source product={} category={} service={}",
        p(&ls.product),
        p(&ls.category),
        p(&ls.service)
    )?;
    writeln!(out, "fields (names as rules see them)")?;
    for (k, v) in &ev.fields {
        writeln!(out, "  {} = {}", t(k), t(&v.to_string()))?;
    }
    for x in xs {
        writeln!(out)?;
        writeln!(out, "rule       {} {}", t(&x.rule_id), t(&x.title))?;
        if let Some(o) = &x.origin {
            writeln!(out, "from       {}", t(o))?;
        }
        writeln!(
            out,
            "log source rule {} / event {}: {}",
            t(&x.rule_logsource),
            t(&x.event_logsource),
            if x.logsource_accepted {
                "the rule runs on this event"
            } else {
                "the rule does not run on this log source"
            }
        )?;
        writeln!(
            out,
            "condition  {} -> {}",
            t(&x.condition),
            x.condition_matched
        )?;
        for s in &x.selections {
            writeln!(
                out,
                "  {}: {}",
                t(&s.name),
                if s.matched { "matched" } else { "not matched" }
            )?;
            for (i, b) in s.branches.iter().enumerate() {
                if s.branches.len() > 1 {
                    writeln!(out, "    branch {}:", i + 1)?;
                }
                let ind = if s.branches.len() > 1 {
                    "      "
                } else {
                    "    "
                };
                for test in b {
                    writeln!(
                        out,
                        "{ind}{} {} {}: {}",
                        if test.matched { "+" } else { "-" },
                        t(&test.field),
                        t(&test.expected),
                        test.value
                            .as_deref()
                            .map_or("(absent)".to_string(), |v| format!("'{}'", t(v)))
                    )?;
                }
            }
        }
        if x.filtered {
            writeln!(out, "filter     a filter rule suppresses this match")?;
        }
        writeln!(
            out,
            "verdict    {}",
            if x.fires { "FIRES" } else { "quiet" }
        )?;
    }
    Ok(())
}

fn to_json(ev: &Event, xs: &[Explanation]) -> serde_json::Value {
    let fields: Vec<serde_json::Value> = ev
        .fields
        .iter()
        .map(|(k, v)| json!({"name": &**k, "value": v}))
        .collect();
    let rules: Vec<serde_json::Value> = xs
        .iter()
        .map(|x| {
            json!({
                "id": x.rule_id, "title": x.title, "origin": x.origin,
                "rule_logsource": x.rule_logsource, "event_logsource": x.event_logsource,
                "logsource_accepted": x.logsource_accepted, "condition": x.condition,
                "condition_matched": x.condition_matched, "filtered": x.filtered,
                "fires": x.fires,
                "selections": x.selections.iter().map(|s| json!({
                    "name": s.name, "matched": s.matched,
                    "branches": s.branches.iter().map(|b| b.iter().map(|t| json!({
                        "field": t.field, "expected": t.expected,
                        "matched": t.matched, "value": t.value,
                    })).collect::<Vec<_>>()).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({"event": {"source": ev.origin, "timestamp": ev.timestamp, "logsource": ev.logsource,
        "fields": fields}, "rules": rules})
}

/// Runs `spoor explain`.
pub fn run(args: ExplainArgs) -> Result<i32> {
    let (path, pos) = parse_event_ref(&args.event)?;
    let opts = ReadOptions {
        syslog_year: args.syslog_year,
        format: crate::scan::format_in(args.format_in.as_deref())?,
        ..ReadOptions::default()
    };
    let ev = find_event(&path, pos, &opts)?;
    let rule_file = Path::new(&args.rule);
    let (set, wanted): (_, Vec<String>) = if rule_file.is_file() {
        let mut b = RuleSetBuilder::new();
        b.add_path(rule_file);
        let set = b.build();
        let ids = set
            .rules()
            .iter()
            .map(|m| {
                if m.id.is_empty() {
                    m.title.clone()
                } else {
                    m.id.clone()
                }
            })
            .collect();
        (set, ids)
    } else {
        let set = load::sigma_rules(!args.no_builtin, &args.rules, None)?;
        (set, vec![args.rule.clone()])
    };
    let xs: Vec<Explanation> = wanted.iter().filter_map(|r| set.explain(r, &ev)).collect();
    if xs.is_empty() {
        let why = set
            .reports()
            .iter()
            .find(|r| r.id.as_deref() == Some(args.rule.as_str()) || r.title == args.rule)
            .map(|r| match r.status {
                spoor_sigma::RuleStatus::Ok => format!(
                    " ({} is a correlation or filter rule: explain the detection rules it names)",
                    r.origin
                ),
                _ => format!(" ({} {}: {})", r.status.name(), r.origin, r.status.reason()),
            })
            .unwrap_or_default();
        bail!("no rule '{}' runs{why}", terminal_safe(&args.rule));
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let r = match args.format {
        ExplainFormat::Text => write_text(&mut out, &ev, &xs),
        ExplainFormat::Json => {
            let mut buf = Vec::new();
            let mut ser = serde_json::Serializer::with_formatter(
                &mut buf,
                spoor_report::SafeJsonFormatter::terminal(),
            );
            serde::Serialize::serialize(&to_json(&ev, &xs), &mut ser)
                .map_err(std::io::Error::other)?;
            buf.push(b'\n');
            out.write_all(&buf)
        }
    }
    .and_then(|()| out.flush());
    if !crate::is_broken_pipe(&r) {
        r?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_references() {
        assert_eq!(
            parse_event_ref("a/b.log:12").unwrap(),
            ("a/b.log".into(), Position::Line(12))
        );
        assert_eq!(
            parse_event_ref("C:\\logs\\s.evtx#7").unwrap(),
            ("C:\\logs\\s.evtx".into(), Position::Record(7))
        );
        assert_eq!(
            parse_event_ref("x.json[3]").unwrap(),
            ("x.json".into(), Position::Index(3))
        );
        assert!(parse_event_ref("x.log").is_err());
        assert!(parse_event_ref("x.log:").is_err());
        assert!(parse_event_ref(":5").is_err());
        assert!(parse_event_ref("x.log:99999999999999999999999").is_err());
    }
}
