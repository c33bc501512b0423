//! The built-in APT40 pack, embedded in the binary.
//!
//! `spoor hunt PATH` with no rule options runs this pack: Sigma rules for the tradecraft of the
//! joint advisory AA24-190A, the advisory's file indicators (as reported by third parties) and
//! whatever YARA rules sit under `rules/yara/`. The files live as plain text under the
//! workspace's `rules/` folder, where they are reviewed and tested like code; `build.rs` lists
//! them and embeds each with `include_str!`, so a user needs no rules folder at run time.
//!
//! This crate only carries text. Parsing belongs to the engines (`spoor-sigma`, `spoor-ioc`,
//! `spoor-yara`); the CLI hands each engine its files under an origin made by [`origin`], so
//! that findings and diagnostics say `builtin:<name>`.
//!
//! ```
//! for (name, yaml) in spoor_pack::sigma_rules() {
//!     assert!(name.ends_with(".yml"));
//!     assert!(yaml.contains("detection:") || yaml.contains("correlation:"));
//! }
//! assert!(spoor_pack::origin("x.yml") == "builtin:x.yml");
//! ```
#![deny(missing_docs)]

include!(concat!(env!("OUT_DIR"), "/pack_files.rs"));

/// The prefix of every origin of a built-in file, e.g. `builtin:web_log4shell_jndi_lookup.yml`.
pub const ORIGIN_PREFIX: &str = "builtin:";

/// The name of the advisory's indicator list among [`ioc_lists`].
pub const APT40_IOC_LIST: &str = "apt40-aa24-190a.csv";

/// The pack's Sigma rules as `(name, yaml)`, sorted by name. The name is the path below
/// `rules/sigma/` with `/` separators; each file may hold several YAML documents.
pub fn sigma_rules() -> &'static [(&'static str, &'static str)] {
    SIGMA
}

/// The pack's indicator lists as `(name, text)`, sorted by name: the files under `rules/iocs/`
/// (`.csv` in the `type,value,description` format with `#` comments; `.txt`, `.json` as found).
pub fn ioc_lists() -> &'static [(&'static str, &'static str)] {
    IOCS
}

/// The pack's YARA rules as `(name, source)`, sorted by name: every `.yar`/`.yara` file under
/// `rules/yara/`. Empty when that folder has none.
pub fn yara_rules() -> &'static [(&'static str, &'static str)] {
    YARA
}

/// The origin under which a built-in file should be loaded: `builtin:<name>`.
pub fn origin(name: &str) -> String {
    format!("{ORIGIN_PREFIX}{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(files: &[(&str, &str)]) -> bool {
        files.windows(2).all(|w| match w {
            [a, b] => a.0 < b.0,
            _ => true,
        })
    }

    #[test]
    fn sigma_rules_are_embedded_sorted_and_exclude_fixtures() {
        let rules = sigma_rules();
        assert!(rules.len() >= 20, "only {} rules embedded", rules.len());
        assert!(sorted(rules));
        for (name, text) in rules {
            assert!(
                !name.starts_with("tests/"),
                "fixture embedded as rule: {name}"
            );
            assert!(name.ends_with(".yml") || name.ends_with(".yaml"), "{name}");
            assert!(
                text.contains("detection:") || text.contains("correlation:"),
                "{name} has neither a detection nor a correlation"
            );
            assert!(
                text.contains("attack.t"),
                "{name} has no ATT&CK technique tag"
            );
        }
    }

    #[test]
    fn the_advisory_indicator_list_is_embedded() {
        let lists = ioc_lists();
        assert!(sorted(lists));
        let (_, text) = lists
            .iter()
            .find(|(name, _)| *name == APT40_IOC_LIST)
            .expect("indicator list missing");
        let md5_rows = text.lines().filter(|l| l.starts_with("md5,")).count();
        let name_rows = text.lines().filter(|l| l.starts_with("filename,")).count();
        assert_eq!(md5_rows, 10);
        assert_eq!(name_rows, 10);
    }

    #[test]
    fn yara_rules_are_yara_files() {
        let rules = yara_rules();
        assert!(sorted(rules));
        for (name, _) in rules {
            assert!(name.ends_with(".yar") || name.ends_with(".yara"), "{name}");
        }
    }

    #[test]
    fn origin_prefixes_names() {
        assert_eq!(origin("a/b.yml"), "builtin:a/b.yml");
    }
}
