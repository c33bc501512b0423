//! STIX 2.1 bundles: indicator objects with their patterns, validity and level, and the ATT&CK
//! techniques they indicate (through `indicates` relationships to `attack-pattern` objects).
//! Every indicator that cannot be used gets a reason naming its id; one bad object never stops
//! the rest of the bundle.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value as Json};
use spoor_event::{AttackRef, RuleLevel, TACTICS};
use std::collections::HashMap;

/// An indicator object, read but not yet compiled.
#[derive(Debug, Clone)]
pub(crate) struct StixIndicator {
    /// `id`.
    pub(crate) id: String,
    /// `name`, or the id.
    pub(crate) name: String,
    /// `description`.
    pub(crate) description: Option<String>,
    /// `pattern`.
    pub(crate) pattern: String,
    /// `valid_from`.
    pub(crate) valid_from: Option<DateTime<Utc>>,
    /// `valid_until`.
    pub(crate) valid_until: Option<DateTime<Utc>>,
    /// From `x_level`, a label naming a level, or `high`.
    pub(crate) level: RuleLevel,
    /// `labels` and `indicator_types`.
    pub(crate) tags: Vec<String>,
    /// From relationships.
    pub(crate) attack: AttackRef,
}

/// An object that could not be used: its id (or position) and why.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rejected {
    /// Object id, or `objects[N]` when it has none.
    pub(crate) id: String,
    /// Indicator name, when known.
    pub(crate) name: Option<String>,
    /// True when the object is valid but uses something not run (pattern type, revoked).
    pub(crate) unsupported: bool,
    /// Why.
    pub(crate) reason: String,
}

/// Reads a bundle (or a bare array of objects, or one object).
pub(crate) fn read_bundle(json: &str) -> Result<(Vec<StixIndicator>, Vec<Rejected>), String> {
    let doc: Json = serde_json::from_str(json).map_err(|e| format!("not valid JSON: {e}"))?;
    let objects: Vec<&Json> = match &doc {
        Json::Object(o) if o.get("type").and_then(Json::as_str) == Some("bundle") => o
            .get("objects")
            .and_then(Json::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default(),
        Json::Object(_) => vec![&doc],
        Json::Array(a) => a.iter().collect(),
        _ => return Err("not a STIX bundle, object or array of objects".into()),
    };

    // Pass 1: ATT&CK techniques of attack-pattern objects, and `indicates` relationships.
    let mut techniques: HashMap<&str, (Vec<String>, Vec<String>)> = HashMap::new();
    let mut indicates: HashMap<&str, Vec<&str>> = HashMap::new();
    for obj in objects.iter().filter_map(|o| o.as_object()) {
        let ty = obj.get("type").and_then(Json::as_str).unwrap_or_default();
        let Some(id) = obj.get("id").and_then(Json::as_str) else {
            continue;
        };
        match ty {
            "attack-pattern" => {
                techniques.insert(id, attack_ids(obj));
            }
            "relationship"
                if obj.get("relationship_type").and_then(Json::as_str) == Some("indicates") =>
            {
                if let (Some(src), Some(dst)) = (
                    obj.get("source_ref").and_then(Json::as_str),
                    obj.get("target_ref").and_then(Json::as_str),
                ) {
                    indicates.entry(src).or_default().push(dst);
                }
            }
            _ => {}
        }
    }

    // Pass 2: indicators.
    let mut out = Vec::new();
    let mut rejected = Vec::new();
    for (i, obj) in objects.iter().enumerate() {
        let Some(obj) = obj.as_object() else {
            rejected.push(Rejected {
                id: format!("objects[{i}]"),
                name: None,
                unsupported: false,
                reason: "not a JSON object".into(),
            });
            continue;
        };
        if obj.get("type").and_then(Json::as_str) != Some("indicator") {
            continue;
        }
        match read_indicator(obj, i, &techniques, &indicates) {
            Ok(ind) => out.push(ind),
            Err(r) => rejected.push(r),
        }
    }
    Ok((out, rejected))
}

fn attack_ids(obj: &Map<String, Json>) -> (Vec<String>, Vec<String>) {
    let mut ids = Vec::new();
    for r in obj
        .get("external_references")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        let source = r
            .get("source_name")
            .and_then(Json::as_str)
            .unwrap_or_default();
        if source.eq_ignore_ascii_case("mitre-attack") {
            if let Some(id) = r.get("external_id").and_then(Json::as_str) {
                let id = id.trim().to_ascii_uppercase();
                if id.starts_with('T') && !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
    }
    let mut tactics = Vec::new();
    for p in obj
        .get("kill_chain_phases")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        if p.get("kill_chain_name").and_then(Json::as_str) == Some("mitre-attack") {
            if let Some(phase) = p.get("phase_name").and_then(Json::as_str) {
                if TACTICS.contains(&phase) && !tactics.iter().any(|t| t == phase) {
                    tactics.push(phase.to_string());
                }
            }
        }
    }
    (ids, tactics)
}

fn time_field(obj: &Map<String, Json>, key: &str) -> Result<Option<DateTime<Utc>>, String> {
    match obj.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|e| format!("{key} '{s}' is not an RFC 3339 time: {e}")),
        Some(_) => Err(format!("{key} is not a string")),
    }
}

fn read_indicator(
    obj: &Map<String, Json>,
    index: usize,
    techniques: &HashMap<&str, (Vec<String>, Vec<String>)>,
    indicates: &HashMap<&str, Vec<&str>>,
) -> Result<StixIndicator, Rejected> {
    let id = obj.get("id").and_then(Json::as_str);
    let name = obj.get("name").and_then(Json::as_str).map(str::to_string);
    let reject = |unsupported: bool, reason: String| Rejected {
        id: id.map_or_else(|| format!("objects[{index}]"), str::to_string),
        name: name.clone(),
        unsupported,
        reason,
    };
    let Some(id) = id else {
        return Err(reject(false, "indicator has no id".into()));
    };
    if obj.get("revoked").and_then(Json::as_bool) == Some(true) {
        return Err(reject(true, "indicator is revoked".into()));
    }
    let pattern_type = obj
        .get("pattern_type")
        .and_then(Json::as_str)
        .unwrap_or("stix");
    if pattern_type != "stix" {
        return Err(reject(
            true,
            format!(
                "pattern_type '{pattern_type}' is not run by the indicator engine (only 'stix')"
            ),
        ));
    }
    let pattern = match obj.get("pattern") {
        Some(Json::String(p)) => p.clone(),
        Some(_) => return Err(reject(false, "pattern is not a string".into())),
        None => return Err(reject(false, "indicator has no pattern".into())),
    };
    let valid_from = time_field(obj, "valid_from").map_err(|e| reject(false, e))?;
    let valid_until = time_field(obj, "valid_until").map_err(|e| reject(false, e))?;
    if let (Some(f), Some(u)) = (valid_from, valid_until) {
        if u <= f {
            return Err(reject(
                false,
                "valid_until is not later than valid_from".into(),
            ));
        }
    }
    let strings = |key: &str| -> Vec<String> {
        obj.get(key)
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(Json::as_str)
            .map(str::to_string)
            .collect()
    };
    let mut tags = strings("labels");
    tags.extend(strings("indicator_types"));
    let level = obj
        .get("x_level")
        .and_then(Json::as_str)
        .and_then(|l| l.parse().ok())
        .or_else(|| tags.iter().find_map(|t| t.parse().ok()))
        .unwrap_or(RuleLevel::High);
    let mut attack = AttackRef::default();
    for target in indicates.get(id).into_iter().flatten() {
        if let Some((ids, tactics)) = techniques.get(target) {
            for t in ids {
                if !attack.techniques.contains(t) {
                    attack.techniques.push(t.clone());
                }
            }
            for t in tactics {
                if !attack.tactics.contains(t) {
                    attack.tactics.push(t.clone());
                }
            }
        }
    }
    Ok(StixIndicator {
        id: id.to_string(),
        name: name.clone().unwrap_or_else(|| id.to_string()),
        description: obj
            .get("description")
            .and_then(Json::as_str)
            .map(str::to_string),
        pattern,
        valid_from,
        valid_until,
        level,
        tags,
        attack,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUNDLE: &str = r#"{"type":"bundle","id":"bundle--1","objects":[
      {"type":"relationship","id":"relationship--1","relationship_type":"indicates",
       "source_ref":"indicator--a","target_ref":"attack-pattern--w"},
      {"type":"indicator","id":"indicator--a","name":"Web shell","pattern_type":"stix",
       "pattern":"[file:name = 'horizon.jsp']","valid_from":"2024-07-08T00:00:00Z",
       "labels":["critical"]},
      {"type":"attack-pattern","id":"attack-pattern--w","name":"Web Shell",
       "external_references":[{"source_name":"capec","external_id":"CAPEC-650"},
         {"source_name":"mitre-attack","external_id":"T1505.003"}],
       "kill_chain_phases":[{"kill_chain_name":"mitre-attack","phase_name":"persistence"}]},
      {"type":"indicator","id":"indicator--b","pattern_type":"sigma","pattern":"title: x"},
      {"type":"indicator","id":"indicator--c","pattern_type":"stix"},
      {"type":"indicator","id":"indicator--d","pattern":"[a:b = 1]","valid_from":"yesterday"},
      "garbage",
      {"type":"indicator","name":"no id","pattern":"[a:b = 1]"},
      {"type":"malware","id":"malware--1","name":"context only"}
    ]}"#;

    #[test]
    fn reads_indicators_relationships_and_rejects() {
        let (inds, rej) = read_bundle(BUNDLE).unwrap();
        assert_eq!(inds.len(), 1);
        let a = &inds[0];
        assert_eq!(a.id, "indicator--a");
        assert_eq!(a.level, RuleLevel::Critical);
        assert_eq!(a.attack.techniques, vec!["T1505.003"]);
        assert_eq!(a.attack.tactics, vec!["persistence"]);
        assert!(a.valid_from.is_some() && a.valid_until.is_none());
        let ids: Vec<_> = rej.iter().map(|r| (r.id.as_str(), r.unsupported)).collect();
        assert_eq!(
            ids,
            vec![
                ("indicator--b", true),
                ("indicator--c", false),
                ("indicator--d", false),
                ("objects[6]", false),
                ("objects[7]", false)
            ]
        );
        assert!(rej[0].reason.contains("sigma"));
        assert!(rej[1].reason.contains("no pattern"));
        assert!(rej[2].reason.contains("valid_from"));
    }

    #[test]
    fn whole_file_errors() {
        assert!(read_bundle("{not json")
            .unwrap_err()
            .contains("not valid JSON"));
        assert!(read_bundle("42").is_err());
    }
}
