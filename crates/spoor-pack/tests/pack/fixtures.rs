//! Rule fixtures (`rules/sigma/tests/<rule file name>`): lists of events a rule must match
//! (`match:`) and near misses it must not (`nomatch:`), each `{logsource: {...}, fields: {...}}`.
//! Every event whose log source a spoor reader gives is written out as that product logs it and
//! read back by the reader, so fields, derived fields and log source are the product's, not a
//! copy's: web events as Apache or IIS lines ([`crate::weblines`]), proxy events as Squid or
//! W3C proxy lines ([`crate::proxylines`]), Windows and Sysmon for Linux events as flat JSON
//! ([`crate::winevents`]), Linux service events as syslog lines ([`crate::sysloglines`]).
//! Events of other log sources stay as stated; [`Route`] says which way each went, so that a
//! test can count them.

use spoor_event::{Event, LogSource, Position, Value};
use std::path::{Path, PathBuf};
use yaml_rust2::{Yaml, YamlLoader};

/// One rule's fixture.
pub struct Fixture {
    /// Events the rule must match.
    pub matches: Vec<Event>,
    /// Events the rule must not match.
    pub nomatches: Vec<Event>,
    /// How each event (matches, then near misses) came to be.
    pub routes: Vec<Route>,
}

/// How a fixture event reached the rules.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Route {
    /// Written as a log and read back by the reader named.
    Reader(&'static str),
    /// As the fixture states it: no reader gives its log source (shown as `product/category/service`).
    AsStated(String),
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
    let list = |key: &str| -> Result<Vec<(Event, Route)>, String> {
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
    let (matches, mut routes): (Vec<Event>, Vec<Route>) = list("match")?.into_iter().unzip();
    let (nomatches, more): (Vec<Event>, Vec<Route>) = list("nomatch")?.into_iter().unzip();
    routes.extend(more);
    let fixture = Fixture {
        matches,
        nomatches,
        routes,
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
    /// How each event of every scenario came to be.
    pub routes: Vec<Route>,
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
    let mut routes = Vec::new();
    let mut scenarios = |key: &str| -> Result<Vec<Vec<Event>>, String> {
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
                    let (mut ev, route) = through_reader(ev, &what)?;
                    routes.push(route);
                    ev.timestamp = Some(base + chrono::Duration::seconds(at + k * every));
                    events.push(ev);
                }
            }
            out.push(events);
        }
        Ok(out)
    };
    let fires = scenarios("fires")?;
    let quiet = scenarios("quiet")?;
    let s = Scenarios {
        fires,
        quiet,
        routes,
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

/// A writer-and-reader pair: the event as the reader gives it back.
type ReadBack = fn(&Event) -> Result<Event, String>;

/// An event read back through spoor's reader of its log source, or as it is when no reader
/// gives that log source.
fn through_reader(ev: Event, what: &str) -> Result<(Event, Route), String> {
    let ls = &ev.logsource;
    let (product, category) = (ls.product.as_deref(), ls.category.as_deref());
    let (reader, read): (&'static str, ReadBack) = match (product, category, ls.service.is_some()) {
        (_, Some("webserver"), _) => ("web", crate::weblines::read_back),
        (_, Some("proxy"), _) => ("proxy", crate::proxylines::read_back),
        (Some("windows"), _, _) | (Some("linux"), Some("process_creation"), _) => {
            ("json", crate::winevents::read_back)
        }
        (Some("linux"), None, true) => ("syslog", crate::sysloglines::read_back),
        _ => {
            let part = |p: &Option<std::sync::Arc<str>>| p.as_deref().unwrap_or("-").to_string();
            let name = format!(
                "{}/{}/{}",
                part(&ls.product),
                part(&ls.category),
                part(&ls.service)
            );
            return Ok((ev, Route::AsStated(name)));
        }
    };
    let read = read(&ev).map_err(|e| format!("{what}: {e}"))?;
    Ok((read, Route::Reader(reader)))
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
