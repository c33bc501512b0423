//! Names of ATT&CK techniques and tactics, for reports.
//!
//! Rules carry only ids (`T1190`); an analyst or a manager reading a report needs names, and the
//! matrix needs each technique's tactics. The data is a copy of MITRE ATT&CK Enterprise v18.1
//! (`data/*.tsv`, © The MITRE Corporation, used under the ATT&CK terms of use), embedded at build
//! time so that reports never need the network.

use std::collections::HashMap;
use std::sync::OnceLock;

const TECHNIQUES_TSV: &str = include_str!("../data/techniques.tsv");
const TACTICS_TSV: &str = include_str!("../data/tactics.tsv");

/// The attribution that every report quoting these names carries.
pub const ATTACK_ATTRIBUTION: &str =
    "ATT&CK names: MITRE ATT&CK Enterprise v18.1, \u{a9} The MITRE Corporation, used under the ATT&CK terms of use.";

/// One technique of the embedded table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TechniqueInfo {
    /// e.g. `T1505.003`.
    pub id: &'static str,
    /// e.g. `Web Shell`.
    pub name: &'static str,
    /// Tactic short names, comma-separated, e.g. `persistence`.
    pub tactics: &'static str,
}

/// One tactic of the embedded table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TacticInfo {
    /// e.g. `TA0001`.
    pub id: &'static str,
    /// e.g. `initial-access`.
    pub short_name: &'static str,
    /// e.g. `Initial Access`.
    pub name: &'static str,
}

fn rows(tsv: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    tsv.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .skip(1)
        .map(|l| l.split('\t').collect())
}

fn technique_table() -> &'static HashMap<&'static str, TechniqueInfo> {
    static TABLE: OnceLock<HashMap<&'static str, TechniqueInfo>> = OnceLock::new();
    TABLE.get_or_init(|| {
        rows(TECHNIQUES_TSV)
            .filter_map(|cols| match cols.as_slice() {
                [id, name, tactics, ..] => Some((*id, TechniqueInfo { id, name, tactics })),
                _ => None,
            })
            .collect()
    })
}

/// The tactics in ATT&CK matrix order.
pub fn tactics() -> &'static [TacticInfo] {
    static TABLE: OnceLock<Vec<TacticInfo>> = OnceLock::new();
    TABLE.get_or_init(|| {
        rows(TACTICS_TSV)
            .filter_map(|cols| match cols.as_slice() {
                [id, short_name, name, ..] => Some(TacticInfo {
                    id,
                    short_name,
                    name,
                }),
                _ => None,
            })
            .collect()
    })
}

/// A technique by id (`T1190`, `T1505.003`; case-sensitive, as `spoor_event` normalises ids).
pub fn technique(id: &str) -> Option<TechniqueInfo> {
    technique_table().get(id).copied()
}

/// The display name of a technique: for a sub-technique, `Parent: Sub` (e.g. `Server Software
/// Component: Web Shell`); the id itself when unknown.
pub fn technique_display_name(id: &str) -> String {
    let Some(t) = technique(id) else {
        return id.to_string();
    };
    match id.split_once('.').and_then(|(parent, _)| technique(parent)) {
        Some(parent) => format!("{}: {}", parent.name, t.name),
        None => t.name.to_string(),
    }
}

/// A tactic's display name from its short name (`initial-access` -> `Initial Access`); the short
/// name itself when unknown.
pub fn tactic_display_name(short: &str) -> &str {
    tactics()
        .iter()
        .find(|t| t.short_name == short)
        .map(|t| t.name)
        .unwrap_or(short)
}

/// Position of a tactic in matrix order; unknown tactics sort last.
pub fn tactic_rank(short: &str) -> usize {
    tactics()
        .iter()
        .position(|t| t.short_name == short)
        .unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_complete_and_in_matrix_order() {
        assert_eq!(tactics().len(), spoor_event::TACTICS.len());
        for (t, short) in tactics().iter().zip(spoor_event::TACTICS) {
            assert_eq!(t.short_name, short);
        }
        assert!(technique_table().len() > 600);
    }

    #[test]
    fn names() {
        assert_eq!(
            technique_display_name("T1190"),
            "Exploit Public-Facing Application"
        );
        assert_eq!(
            technique_display_name("T1505.003"),
            "Server Software Component: Web Shell"
        );
        assert_eq!(technique_display_name("T9999"), "T9999");
        assert_eq!(
            technique("T1037").map(|t| t.tactics),
            Some("persistence,privilege-escalation")
        );
        assert_eq!(
            tactic_display_name("command-and-control"),
            "Command and Control"
        );
        assert_eq!(tactic_rank("impact"), 13);
    }
}
