//! Where the built-in pack's rules go. The pack itself (`rules/yara/`) is embedded by
//! `spoor-pack`, like its Sigma rules and indicators; the CLI hands it to
//! [`crate::YaraRulesBuilder::add_builtin`], so a second file in `rules/yara/` runs too.

/// The namespace built-in rules compile into.
pub const BUILTIN_NAMESPACE: &str = "spoor";
