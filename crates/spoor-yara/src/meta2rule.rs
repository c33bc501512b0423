//! Turns a compiled YARA rule's identifier, tags and metadata into spoor's [`RuleMeta`], once
//! per rule when the rule set is built (findings then share it through an `Arc`).
//!
//! Conventions read here (all optional):
//! - `level` / `severity` / `threat_level`: a level name, or a 0-100 score
//!   (>= 90 critical, >= 70 high, >= 40 medium, >= 20 low, below informational); default medium.
//! - `attack` / `mitre_attack` / `technique(s)` / `tactic(s)`: ATT&CK technique ids (`T1505.003`)
//!   and tactic names (`persistence`), separated by spaces, commas or semicolons.
//! - tags `T1505_003`, `attack_t1505_003`, `attack_persistence` (YARA tags cannot hold dots).
//! - `id`: the finding's rule id; otherwise `<namespace>:<rule name>`.
//! - `description`.

use spoor_event::{attack_from_tags, RuleKind, RuleLevel, RuleMeta};
use yara_x::MetaValue;

const LEVEL_KEYS: &[&str] = &["level", "severity", "threat_level"];
const ATTACK_KEYS: &[&str] = &[
    "attack",
    "mitre_attack",
    "technique",
    "techniques",
    "tactic",
    "tactics",
];

/// Builds the metadata of one rule. `origin` is the rule file (or `builtin:<name>`).
pub(crate) fn rule_meta(rule: &yara_x::Rule<'_, '_>, origin: Option<&str>) -> RuleMeta {
    let namespace = rule.namespace();
    let ident = rule.identifier();
    let mut level = None;
    let mut id = None;
    let mut description = None;
    let mut attack_tags: Vec<String> = Vec::new();
    for (key, value) in rule.metadata() {
        let key = key.to_ascii_lowercase();
        if LEVEL_KEYS.contains(&key.as_str()) && level.is_none() {
            level = level_of(&value);
        } else if ATTACK_KEYS.contains(&key.as_str()) {
            if let MetaValue::String(s) = value {
                attack_tags.extend(attack_tokens(s));
            }
        } else if key == "id" && id.is_none() {
            id = meta_text(&value);
        } else if key == "description" && description.is_none() {
            description = meta_text(&value);
        }
    }
    let tags: Vec<String> = rule.tags().map(|t| t.identifier().to_string()).collect();
    for tag in &tags {
        if let Some(t) = attack_tag(tag) {
            attack_tags.push(t);
        }
    }
    let mut meta = RuleMeta::new(
        id.unwrap_or_else(|| format!("{namespace}:{ident}")),
        ident,
        level.unwrap_or_default(),
        RuleKind::Yara,
    );
    meta.description = description;
    meta.attack = attack_from_tags(attack_tags.iter().map(String::as_str));
    meta.tags = tags;
    meta.path = origin.map(str::to_string);
    meta
}

fn meta_text(v: &MetaValue<'_>) -> Option<String> {
    match v {
        MetaValue::String(s) => Some((*s).to_string()),
        MetaValue::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        MetaValue::Integer(i) => Some(i.to_string()),
        MetaValue::Float(f) => Some(f.to_string()),
        MetaValue::Bool(b) => Some(b.to_string()),
    }
}

fn level_of(v: &MetaValue<'_>) -> Option<RuleLevel> {
    match v {
        MetaValue::String(s) => s
            .parse::<RuleLevel>()
            .ok()
            .or_else(|| s.trim().parse::<i64>().ok().map(level_from_score)),
        MetaValue::Integer(i) => Some(level_from_score(*i)),
        MetaValue::Float(f) if f.is_finite() => Some(level_from_score(*f as i64)),
        _ => None,
    }
}

fn level_from_score(score: i64) -> RuleLevel {
    match score {
        s if s >= 90 => RuleLevel::Critical,
        s if s >= 70 => RuleLevel::High,
        s if s >= 40 => RuleLevel::Medium,
        s if s >= 20 => RuleLevel::Low,
        _ => RuleLevel::Informational,
    }
}

/// `"T1505.003, persistence"` -> `["attack.t1505.003", "attack.persistence"]`.
fn attack_tokens(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(|t| {
            let t = t.to_ascii_lowercase();
            let t = t.strip_prefix("attack.").unwrap_or(&t);
            format!("attack.{}", t.replace('_', "-"))
        })
}

/// YARA tag -> Sigma-style ATT&CK tag, for tags that look like one.
fn attack_tag(tag: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let rest = lower.strip_prefix("attack_").unwrap_or(&lower);
    let b = rest.as_bytes();
    let is_technique = b.len() >= 5 && b[0] == b't' && b[1..5].iter().all(u8::is_ascii_digit);
    if is_technique {
        // t1505_003 -> t1505.003
        return Some(format!("attack.{}", rest.replacen('_', ".", 1)));
    }
    if lower.starts_with("attack_") {
        return Some(format!("attack.{}", rest.replace('_', "-")));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta_of(src: &str) -> RuleMeta {
        let rules = yara_x::compile(src).unwrap();
        let rule = rules.iter().next().unwrap();
        rule_meta(&rule, Some("x.yar"))
    }

    #[test]
    fn reads_level_attack_and_tags() {
        let m = meta_of(
            r#"rule r1 : web T1059_001 attack_lateral_movement {
                meta: description = "d" level = "critical" attack = "T1505.003, persistence"
                condition: true }"#,
        );
        assert_eq!(m.title, "r1");
        assert_eq!(m.id, "default:r1");
        assert_eq!(m.level, RuleLevel::Critical);
        assert_eq!(m.kind, RuleKind::Yara);
        assert_eq!(m.description.as_deref(), Some("d"));
        assert_eq!(m.attack.techniques, vec!["T1505.003", "T1059.001"]);
        assert_eq!(m.attack.tactics, vec!["persistence", "lateral-movement"]);
        assert_eq!(m.tags, vec!["web", "T1059_001", "attack_lateral_movement"]);
        assert_eq!(m.path.as_deref(), Some("x.yar"));
    }

    #[test]
    fn score_levels_and_defaults() {
        let m = meta_of(r#"rule r { meta: score = 75 id = "abc" condition: true }"#);
        assert_eq!(m.level, RuleLevel::Medium, "score is not a level key");
        assert_eq!(m.id, "abc");
        let m = meta_of(r#"rule r { meta: severity = 95 condition: true }"#);
        assert_eq!(m.level, RuleLevel::Critical);
        let m = meta_of(r#"rule r { meta: level = "loud" condition: true }"#);
        assert_eq!(m.level, RuleLevel::Medium);
        assert!(m.attack.techniques.is_empty());
        let m = meta_of(r#"rule r { meta: threat_level = "10" condition: true }"#);
        assert_eq!(m.level, RuleLevel::Informational);
    }
}
