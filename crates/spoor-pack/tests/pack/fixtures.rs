//! Rule fixtures (`rules/sigma/tests/<rule file name>`): lists of events a rule must match
//! (`match:`) and near misses it must not (`nomatch:`), each `{logsource: {...}, fields: {...}}`.
//! Web events give the raw fields as a server logs them; they are written out as the log line
//! (see [`crate::weblines`]) and read back by spoor's own readers, so `cs-uri`, the decoded
//! companions and the log source are the product's, not a copy's.

use spoor_event::{Event, LogSource, Position, Value};
use std::path::{Path, PathBuf};
use yaml_rust2::{Yaml, YamlLoader};

/// One rule's fixture.
pub struct Fixture {
    /// Events the rule must match.
    pub matches: Vec<Event>,
    /// Events the rule must not match.
    pub nomatches: Vec<Event>,
}

/// The workspace's `rules/` folder.
pub fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules")
}

/// Reads and converts the fixture at `path`; an error names the file and what is wrong.
pub fn load(path: &Path) -> Result<Fixture, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let docs = YamlLoader::load_from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc = docs
        .first()
        .ok_or_else(|| format!("{}: empty fixture", path.display()))?;
    let origin = path.display().to_string();
    let list = |key: &str| -> Result<Vec<Event>, String> {
        let items = doc[key]
            .as_vec()
            .ok_or_else(|| format!("{origin}: `{key}` is not a list"))?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let what = format!("{origin} {key}[{i}]");
                through_reader(event(item, &what, i)?, &what)
            })
            .collect()
    };
    let fixture = Fixture {
        matches: list("match")?,
        nomatches: list("nomatch")?,
    };
    if fixture.matches.is_empty() || fixture.nomatches.is_empty() {
        return Err(format!(
            "{origin}: needs at least one match and one nomatch"
        ));
    }
    Ok(fixture)
}

/// A correlation rule's fixture (`fires:` and `quiet:`): scenarios, each a list of timed
/// events. An item is `{at: SECONDS, logsource, fields}` with optional `repeat: N` copies
/// `every: SECONDS` apart and `each: {field: [values...]}` cycling through values per copy.
pub struct Scenarios {
    /// Scenarios in which the correlation must report.
    pub fires: Vec<Vec<Event>>,
    /// Near misses in which it must stay quiet.
    pub quiet: Vec<Vec<Event>>,
}

/// Reads a correlation fixture.
pub fn load_scenarios(path: &Path) -> Result<Scenarios, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let docs = YamlLoader::load_from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc = docs
        .first()
        .ok_or_else(|| format!("{}: empty fixture", path.display()))?;
    let origin = path.display().to_string();
    let base = chrono::DateTime::parse_from_rfc3339("2024-07-12T00:00:00Z")
        .map_err(|e| e.to_string())?
        .with_timezone(&chrono::Utc);
    let scenarios = |key: &str| -> Result<Vec<Vec<Event>>, String> {
        let list = doc[key]
            .as_vec()
            .ok_or_else(|| format!("{origin}: `{key}` is not a list of scenarios"))?;
        let mut out = Vec::new();
        for (si, sc) in list.iter().enumerate() {
            let items = sc
                .as_vec()
                .ok_or_else(|| format!("{origin} {key}[{si}]: a scenario is a list of events"))?;
            let mut events = Vec::new();
            for (ii, item) in items.iter().enumerate() {
                let what = format!("{origin} {key}[{si}][{ii}]");
                let at = item["at"]
                    .as_i64()
                    .ok_or_else(|| format!("{what}: no `at`"))?;
                let repeat = item["repeat"].as_i64().unwrap_or(1).max(1);
                let every = item["every"].as_i64().unwrap_or(1);
                for k in 0..repeat {
                    let mut ev = event(item, &what, events.len())?;
                    if let Some(each) = item["each"].as_hash() {
                        for (name, values) in each {
                            let (Some(name), Some(values)) = (name.as_str(), values.as_vec())
                            else {
                                return Err(format!("{what}: `each` maps fields to lists"));
                            };
                            let v = values
                                .get(k as usize % values.len().max(1))
                                .ok_or_else(|| format!("{what}: empty `each` list"))?;
                            ev.fields.retain(|(n, _)| &**n != name);
                            ev.push(name, value(v, &what)?);
                        }
                    }
                    let mut ev = through_reader(ev, &what)?;
                    ev.timestamp = Some(base + chrono::Duration::seconds(at + k * every));
                    events.push(ev);
                }
            }
            out.push(events);
        }
        Ok(out)
    };
    let s = Scenarios {
        fires: scenarios("fires")?,
        quiet: scenarios("quiet")?,
    };
    if s.fires.is_empty() || s.quiet.is_empty() {
        return Err(format!(
            "{origin}: needs at least one `fires` and one `quiet` scenario"
        ));
    }
    Ok(s)
}

fn event(item: &Yaml, what: &str, index: usize) -> Result<Event, String> {
    let ls = &item["logsource"];
    let part = |k: &str| ls[k].as_str();
    let logsource = LogSource::new(part("product"), part("category"), part("service"));
    let mut ev =
        Event::new(what.to_string(), Position::Index(index as u64 + 1)).with_logsource(logsource);
    let fields = item["fields"]
        .as_hash()
        .ok_or_else(|| format!("{what}: `fields` is not a map"))?;
    for (k, v) in fields {
        let name = k
            .as_str()
            .ok_or_else(|| format!("{what}: field name is not text"))?;
        ev.push(name, value(v, what)?);
    }
    Ok(ev)
}

/// A web event (category `webserver`) read back through spoor's reader of its product; other
/// events as they are.
fn through_reader(ev: Event, what: &str) -> Result<Event, String> {
    if ev.logsource.category.as_deref() == Some("webserver") {
        return crate::weblines::read_back(&ev).map_err(|e| format!("{what}: {e}"));
    }
    Ok(ev)
}

fn value(v: &Yaml, what: &str) -> Result<Value, String> {
    Ok(match v {
        Yaml::String(s) => Value::str(s.as_str()),
        Yaml::Integer(i) => Value::Int(*i),
        Yaml::Real(r) => Value::Float(r.parse().map_err(|_| format!("{what}: bad number {r}"))?),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Null => Value::Null,
        Yaml::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| value(i, what))
                .collect::<Result<_, _>>()?,
        ),
        _ => return Err(format!("{what}: unsupported field value {v:?}")),
    })
}
