//! An I/O error in plain words, for every crate that names a file it could not read or write.
//!
//! Why here: readers, rule loaders, indicator lists and the binary's outputs all report I/O
//! failures beside a path, and each once printed the library's text with the operating system's
//! `(os error N)`. One helper in the crate every other crate already depends on keeps the wording
//! the same everywhere (`does not exist`, `permission denied`, `is a directory`).

use std::io::{Error, ErrorKind};

/// The reason an I/O operation failed, in words and without the path (the caller names it):
/// the common kinds plainly, any other as the system's description without its trailing
/// `(os error N)`.
///
/// ```
/// let e = std::io::Error::from(std::io::ErrorKind::NotFound);
/// assert_eq!(spoor_event::io_reason(&e), "does not exist");
/// ```
pub fn io_reason(e: &Error) -> String {
    match e.kind() {
        ErrorKind::NotFound => "does not exist".to_string(),
        ErrorKind::PermissionDenied => "permission denied".to_string(),
        ErrorKind::IsADirectory => "is a directory".to_string(),
        ErrorKind::NotADirectory => "a part of the path is not a directory".to_string(),
        _ => {
            let text = e.to_string();
            let described = match text.rfind(" (os error ") {
                Some(cut) if text.ends_with(')') => text.get(..cut).unwrap_or(&text),
                _ => text.as_str(),
            };
            lower_first(described)
        }
    }
}

/// `No space left on device` -> `no space left on device`, to read on after a colon.
fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) if c.is_uppercase() && !chars.clone().next().is_some_and(char::is_uppercase) => {
            c.to_lowercase().chain(chars).collect()
        }
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_kinds_are_named_plainly() {
        let by_errno = |n| io_reason(&Error::from_raw_os_error(n));
        assert_eq!(by_errno(2), "does not exist");
        assert_eq!(by_errno(13), "permission denied");
        assert_eq!(by_errno(21), "is a directory");
        assert_eq!(by_errno(20), "a part of the path is not a directory");
    }

    #[test]
    fn other_kinds_keep_the_description_but_not_the_error_number() {
        for n in [16, 28, 32, 5] {
            let r = io_reason(&Error::from_raw_os_error(n));
            assert!(!r.contains("os error") && !r.is_empty(), "{n}: {r}");
            assert!(!r.starts_with(char::is_uppercase), "{n}: {r}");
        }
        // Errors made by libraries (no OS number) keep their own text.
        let custom = Error::new(ErrorKind::InvalidData, "stream did not contain valid UTF-8");
        assert_eq!(io_reason(&custom), "stream did not contain valid UTF-8");
        // An acronym stays as written.
        let acronym = Error::other("EVTX header damaged");
        assert_eq!(io_reason(&acronym), "EVTX header damaged");
    }
}
