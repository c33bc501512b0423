//! Errors that stop a whole input (one indicator's problems are reports, not errors).

use std::path::PathBuf;

/// Why an indicator file or the set as a whole could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IocError {
    /// The file could not be read; the message says why in words (`does not exist`, `permission
    /// denied`, `is a directory`), not with the operating system's error number.
    #[error("{}: cannot read indicator file: {}", path.display(), spoor_event::io_reason(source))]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a STIX bundle at all (bad JSON, wrong shape).
    #[error("{origin}: not a STIX bundle: {message}")]
    Bundle {
        /// File or origin name.
        origin: String,
        /// What was wrong.
        message: String,
    },
    /// The built-in field mapping table is broken (a bug, caught by the tests).
    #[error("indicator field mapping: {0}")]
    Mapping(String),
}

#[cfg(test)]
mod tests {
    use crate::{IocOptions, IocSetBuilder};

    fn load_error(path: &std::path::Path) -> String {
        let mut b = IocSetBuilder::new(IocOptions::default());
        match b.add_path(path) {
            Err(e) => e.to_string(),
            Ok(()) => panic!("{} loaded", path.display()),
        }
    }

    #[test]
    fn unreadable_files_are_named_with_the_reason_in_words() {
        let dir = std::env::temp_dir().join(format!("spoor-ioc-io-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        let missing = dir.join("gone.csv");
        assert_eq!(
            load_error(&missing),
            format!(
                "{}: cannot read indicator file: does not exist",
                missing.display()
            )
        );
        assert_eq!(
            load_error(&dir),
            format!(
                "{}: cannot read indicator file: is a directory",
                dir.display()
            )
        );
        let _ = std::fs::remove_dir(&dir);
    }
}
