//! Locating the shared reference corpora (`../shared/corpora` beside the repository) from tests
//! and benches, with one rule for all of them: when the folder is absent a test says so in one
//! line and does not run, unless `SPOOR_REQUIRE_CORPORA=1` (as CI sets), when it fails.
//! The product itself never reads the corpora.

use std::path::{Path, PathBuf};

/// `../shared/corpora` beside the workspace, or `None` after printing why `test` did not run.
/// Panics when it is absent and `SPOOR_REQUIRE_CORPORA=1`.
pub fn shared_corpora(test: &str) -> Option<PathBuf> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap_or(Path::new("."));
    let require = std::env::var("SPOOR_REQUIRE_CORPORA").as_deref() == Ok("1");
    corpora_at(test, workspace.join("../shared/corpora"), require)
}

/// [`shared_corpora`] for an explicit folder and requirement (testable without the real one).
pub fn corpora_at(test: &str, dir: PathBuf, require: bool) -> Option<PathBuf> {
    if dir.is_dir() {
        return Some(dir);
    }
    if require {
        panic!(
            "{test}: corpora folder {} is missing and SPOOR_REQUIRE_CORPORA=1",
            dir.display()
        );
    }
    println!(
        "{test}: did not run: corpora folder {} is absent",
        dir.display()
    );
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_corpora_skip_or_fail_as_required() {
        let missing = std::env::temp_dir().join("spoor-no-such-corpora-folder");
        assert!(corpora_at("t", missing.clone(), false).is_none());
        let failed = std::panic::catch_unwind(|| corpora_at("t", missing, true));
        assert!(failed.is_err());
        assert!(corpora_at("t", std::env::temp_dir(), true).is_some());
    }
}
