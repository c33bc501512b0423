//! The built-in rule pack, embedded at build time so that the binary needs no rule files.

/// Built-in YARA sources: (file name, text). Compiled in the namespace [`BUILTIN_NAMESPACE`],
/// with origin `builtin:<file name>`.
pub const BUILTIN_RULES: &[(&str, &str)] = &[(
    "webshells.yar",
    include_str!("../../../rules/yara/webshells.yar"),
)];

/// The namespace built-in rules compile into.
pub const BUILTIN_NAMESPACE: &str = "spoor";
