//! File scanning for spoor: YARA-X rules (a built-in web-shell pack plus the user's), MD5 /
//! SHA-1 / SHA-256 of every file in the same read, size and time limits, and the tie-back of
//! web-shell findings to the requests that used them.
//!
//! Why a crate of its own: yara-x is a heavy dependency (wasmtime), and file scanning is a
//! different input (files, not log events) from the log engines; the CLI is the only crate that
//! depends on it. It follows YARA-X's own split: [`YaraRulesBuilder`] (mutable) ->
//! [`YaraRules`] (compiled once, immutable, shared by threads) -> [`FileScanner`] (one per
//! thread).
//!
//! ```
//! use spoor_yara::{ScanOptions, YaraRulesBuilder};
//! let rules = YaraRulesBuilder::new()
//!     .add_source("hello.yar", r#"rule hello { strings: $a = "hello world" condition: $a }"#)
//!     .build()
//!     .unwrap();
//! let dir = tempfile::tempdir().unwrap();
//! let page = dir.path().join("index.php");
//! std::fs::write(&page, "<?php echo 'hello'; ?>").unwrap();
//! let scan = rules.scanner(&ScanOptions::default()).scan_file(&page);
//! assert!(scan.matches.is_empty());
//! assert_eq!(scan.info.unwrap().size, 22);
//! ```
//!
//! Findings ([`FileScan::findings`]) carry `rule.kind = yara`, the file as `source.path`, the
//! line of the first matched string as `Position::Line` (0 for condition-only matches), the
//! file's modification time as timestamp and a `file` object with size, times and hashes.
#![deny(missing_docs)]

mod builtin;
mod error;
mod hashing;
mod meta2rule;
mod options;
mod rules;
mod scan2finding;
mod scanner;
mod tieback;
mod urlpath;
mod walk;

pub use builtin::BUILTIN_NAMESPACE;
pub use error::{RuleCompileError, YaraError};
pub use hashing::{digest_bytes, digest_reader, Digests};
pub use options::ScanOptions;
pub use rules::{YaraRules, YaraRulesBuilder};
pub use scanner::{FileScan, FileScanner, MatchedString, SkipReason, YaraMatch};
pub use tieback::{TieBack, TieBackEntry, TieBackHits, WebShellRequests, DEFAULT_MAX_REQUESTS};
pub use urlpath::{tomcat_url_path, url_path};
pub use walk::{scan_paths, ScanReport, ScanStats};
