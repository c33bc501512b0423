//! ATT&CK references from Sigma-style tags (`attack.t1190`, `attack.initial-access`).

use serde::Serialize;

/// The ATT&CK techniques and tactics a rule or indicator is tagged with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AttackRef {
    /// Technique ids in upper case, e.g. `T1190`, `T1505.003`.
    pub techniques: Vec<String>,
    /// Tactic short names, e.g. `initial-access`, `persistence`.
    pub tactics: Vec<String>,
}

/// The ATT&CK tactic short names, in matrix order (ATT&CK Enterprise v18.1).
pub const TACTICS: [&str; 14] = [
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
];

/// Reads `attack.*` tags: `attack.t1059.001` gives technique `T1059.001`, `attack.execution`
/// gives tactic `execution`; group (`attack.g0065`), software and other tags are ignored.
/// Duplicates are dropped, order kept.
pub fn attack_from_tags<'a>(tags: impl IntoIterator<Item = &'a str>) -> AttackRef {
    let mut out = AttackRef::default();
    for tag in tags {
        let Some(rest) = tag
            .strip_prefix("attack.")
            .or_else(|| tag.strip_prefix("ATTACK."))
        else {
            continue;
        };
        let lower = rest.to_ascii_lowercase();
        if is_technique(&lower) {
            let id = lower.to_ascii_uppercase();
            if !out.techniques.contains(&id) {
                out.techniques.push(id);
            }
        } else {
            let tactic = lower.replace('_', "-");
            if TACTICS.contains(&tactic.as_str()) && !out.tactics.contains(&tactic) {
                out.tactics.push(tactic);
            }
        }
    }
    out
}

fn is_technique(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || b[0] != b't' || !b[1..5].iter().all(u8::is_ascii_digit) {
        return false;
    }
    match &b[5..] {
        [] => true,
        [b'.', d @ ..] => d.len() == 3 && d.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_techniques_and_tactics() {
        let a = attack_from_tags([
            "attack.initial-access",
            "attack.t1190",
            "attack.t1505.003",
            "attack.g0065",
            "cve.2021-44228",
            "attack.t1190",
            "attack.defense_evasion",
        ]);
        assert_eq!(a.techniques, vec!["T1190", "T1505.003"]);
        assert_eq!(a.tactics, vec!["initial-access", "defense-evasion"]);
    }

    #[test]
    fn rejects_lookalikes() {
        let a = attack_from_tags(["attack.t119", "attack.t1190.1", "attack.s0002", "t1190"]);
        assert!(a.techniques.is_empty());
    }
}
