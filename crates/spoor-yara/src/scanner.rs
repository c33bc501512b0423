//! Scanning one file: read it once (bounded), hash the bytes, run yara-x on them, and say why
//! when a file could not be scanned. Never fails as a whole and never panics on file content.

use crate::hashing::{digest_bytes, digest_reader, Digests};
use crate::{ScanOptions, YaraRules};
use chrono::{DateTime, Utc};
use spoor_event::{FileInfo, RuleMeta};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Why a file was not (fully) scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// Larger than [`ScanOptions::max_file_bytes`]: hashed but not YARA-scanned.
    TooLarge {
        /// The file's size.
        size: u64,
        /// The cap.
        limit: u64,
    },
    /// The YARA scan ran past [`ScanOptions::per_file_timeout`]; hashes are still given.
    Timeout {
        /// The timeout in force.
        after: Duration,
    },
    /// Could not be opened or read (permissions, vanished, I/O error).
    Unreadable {
        /// The operating system's message.
        error: String,
    },
    /// Not a regular file (FIFO, socket, device): never opened, as reading could block.
    NotAFile,
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::TooLarge { size, limit } => {
                write!(
                    f,
                    "too large ({size} bytes, limit {limit}): hashed, not YARA-scanned"
                )
            }
            SkipReason::Timeout { after } => {
                write!(f, "YARA scan timed out after {} s", after.as_secs_f64())
            }
            SkipReason::Unreadable { error } => write!(f, "unreadable: {error}"),
            SkipReason::NotAFile => f.write_str("not a regular file"),
        }
    }
}

/// One matched string of a rule: evidence for the finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedString {
    /// Pattern identifier, e.g. `$eval`.
    pub pattern: String,
    /// Byte offset in the file.
    pub offset: u64,
    /// 1-based line of the offset (newlines counted before it).
    pub line: u64,
    /// The matched bytes, printable: non-printable bytes as `\xNN`, at most 80 bytes.
    pub text: String,
}

/// A rule that matched a file.
#[derive(Debug, Clone, PartialEq)]
pub struct YaraMatch {
    /// The rule's metadata (id, title = rule name, level, tags, ATT&CK, description, file).
    pub rule: Arc<RuleMeta>,
    /// The yara-x namespace (`spoor` for built-ins, the rule file path for user rules).
    pub namespace: String,
    /// The first few matched strings, in file order ([`ScanOptions::max_evidence`]).
    pub strings: Vec<MatchedString>,
}

impl YaraMatch {
    /// The line the match points at: that of its first matched string, or 0 when the rule
    /// matched on its condition alone (no string, e.g. a file-size or hash rule).
    pub fn line(&self) -> u64 {
        self.strings.first().map(|s| s.line).unwrap_or(0)
    }
}

/// The result of scanning one file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileScan {
    /// The path as given (or as found by the walk).
    pub path: PathBuf,
    /// Size, times and hashes; `None` when the file could not be read (then `skipped` says why).
    /// Hashes are empty strings when [`ScanOptions::hash`] is off.
    pub info: Option<FileInfo>,
    /// Rules that matched, sorted by rule id.
    pub matches: Vec<YaraMatch>,
    /// Set when the file was not (fully) YARA-scanned.
    pub skipped: Option<SkipReason>,
}

/// A per-thread scanner: yara-x scanner state plus a reusable read buffer.
pub struct FileScanner<'r> {
    rules: &'r YaraRules,
    scanner: yara_x::Scanner<'r>,
    options: ScanOptions,
    buf: Vec<u8>,
}

impl<'r> FileScanner<'r> {
    pub(crate) fn new(rules: &'r YaraRules, options: ScanOptions) -> Self {
        let mut scanner = yara_x::Scanner::new(rules.inner());
        scanner.set_timeout(options.per_file_timeout);
        scanner.max_matches_per_pattern(options.max_matches_per_pattern.max(1));
        FileScanner {
            rules,
            scanner,
            options,
            buf: Vec::new(),
        }
    }

    /// Scans the file at `path`.
    pub fn scan_file(&mut self, path: &Path) -> FileScan {
        let mut out = FileScan {
            path: path.to_path_buf(),
            info: None,
            matches: Vec::new(),
            skipped: None,
        };
        let unreadable = |e: std::io::Error| SkipReason::Unreadable {
            error: e.to_string(),
        };
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                out.skipped = Some(unreadable(e));
                return out;
            }
        };
        if !meta.is_file() {
            out.skipped = Some(SkipReason::NotAFile);
            return out;
        }
        let (modified, changed) = file_times(&meta);
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) => {
                out.skipped = Some(unreadable(e));
                return out;
            }
        };
        let limit = self.options.max_file_bytes;
        if meta.len() > limit {
            // Hash by streaming, skip YARA.
            let (digests, size) = if self.options.hash {
                match digest_reader(file) {
                    Ok(r) => r,
                    Err(e) => {
                        out.skipped = Some(unreadable(e));
                        return out;
                    }
                }
            } else {
                (Digests::default(), meta.len())
            };
            out.info = Some(file_info(size, modified, changed, digests));
            out.skipped = Some(SkipReason::TooLarge { size, limit });
            return out;
        }
        // Read at most limit + 1 bytes: a file that grew past the cap since `metadata` is
        // handled as too large rather than read without bound.
        self.buf.clear();
        let mut take = file.take(limit.saturating_add(1));
        if let Err(e) = take.read_to_end(&mut self.buf) {
            out.skipped = Some(unreadable(e));
            return out;
        }
        if self.buf.len() as u64 > limit {
            // Grew past the cap since `metadata`: hash what was read plus the rest by streaming.
            let rest = take.into_inner();
            let (digests, size) = if self.options.hash {
                match digest_reader(self.buf.as_slice().chain(rest)) {
                    Ok(r) => r,
                    Err(e) => {
                        out.skipped = Some(unreadable(e));
                        return out;
                    }
                }
            } else {
                (Digests::default(), self.buf.len() as u64)
            };
            out.info = Some(file_info(size, modified, changed, digests));
            out.skipped = Some(SkipReason::TooLarge { size, limit });
            return out;
        }
        let digests = if self.options.hash {
            digest_bytes(&self.buf)
        } else {
            Digests::default()
        };
        out.info = Some(file_info(self.buf.len() as u64, modified, changed, digests));
        let (matches, skipped) =
            scan_buffer(&mut self.scanner, self.rules, &self.buf, &self.options);
        out.matches = matches;
        out.skipped = skipped;
        // Do not keep a huge buffer alive between files.
        if self.buf.capacity() > 8 * 1024 * 1024 {
            self.buf = Vec::new();
        }
        out
    }

    /// Scans bytes that are not a file on disk (archive members, tests). Only matches and a
    /// possible timeout are returned; hashing is the caller's choice.
    pub fn scan_bytes(&mut self, data: &[u8]) -> (Vec<YaraMatch>, Option<SkipReason>) {
        scan_buffer(&mut self.scanner, self.rules, data, &self.options)
    }
}

fn scan_buffer(
    scanner: &mut yara_x::Scanner<'_>,
    rules: &YaraRules,
    data: &[u8],
    options: &ScanOptions,
) -> (Vec<YaraMatch>, Option<SkipReason>) {
    let results = match scanner.scan(data) {
        Ok(r) => r,
        Err(yara_x::ScanError::Timeout) => {
            return (
                Vec::new(),
                Some(SkipReason::Timeout {
                    after: options.per_file_timeout,
                }),
            )
        }
        Err(e) => {
            return (
                Vec::new(),
                Some(SkipReason::Unreadable {
                    error: format!("YARA scan failed: {e}"),
                }),
            )
        }
    };
    let mut matches = Vec::new();
    for rule in results.matching_rules() {
        let Some(meta) = rules.meta(rule.namespace(), rule.identifier()) else {
            continue;
        };
        let mut strings: Vec<MatchedString> = Vec::new();
        for pattern in rule.patterns() {
            // Only the first match of each pattern is evidence enough.
            if let Some(m) = pattern.matches().next() {
                strings.push(MatchedString {
                    pattern: pattern.identifier().to_string(),
                    offset: m.range().start as u64,
                    line: 0,
                    text: printable(m.data(), 80),
                });
            }
        }
        strings.sort_by_key(|s| s.offset);
        strings.truncate(options.max_evidence);
        for s in &mut strings {
            s.line = line_of(data, s.offset);
        }
        matches.push(YaraMatch {
            rule: Arc::clone(meta),
            namespace: rule.namespace().to_string(),
            strings,
        });
    }
    matches.sort_by(|a, b| a.rule.id.cmp(&b.rule.id));
    (matches, None)
}

fn line_of(data: &[u8], offset: u64) -> u64 {
    let end = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(data.len());
    let before = data.get(..end).unwrap_or_default();
    before.iter().filter(|&&b| b == b'\n').count() as u64 + 1
}

/// Escapes bytes for display: printable ASCII as is, the rest as `\xNN`; cut at `max` bytes.
fn printable(bytes: &[u8], max: usize) -> String {
    let mut s = String::with_capacity(bytes.len().min(max) + 8);
    for &b in bytes.iter().take(max) {
        if (0x20..0x7f).contains(&b) && b != b'\\' {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    if bytes.len() > max {
        s.push_str("...");
    }
    s
}

fn file_info(
    size: u64,
    modified: Option<DateTime<Utc>>,
    changed: Option<DateTime<Utc>>,
    d: Digests,
) -> FileInfo {
    FileInfo {
        size,
        modified,
        changed,
        md5: d.md5,
        sha1: d.sha1,
        sha256: d.sha256,
    }
}

/// Modification and status-change times (ctime on Unix; creation time elsewhere).
fn file_times(meta: &std::fs::Metadata) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let modified = meta.modified().ok().map(DateTime::<Utc>::from);
    #[cfg(unix)]
    let changed = {
        use std::os::unix::fs::MetadataExt;
        let nsec = u32::try_from(meta.ctime_nsec()).unwrap_or(0);
        DateTime::<Utc>::from_timestamp(meta.ctime(), nsec)
    };
    #[cfg(not(unix))]
    let changed = meta.created().ok().map(DateTime::<Utc>::from);
    (modified, changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::YaraRulesBuilder;

    fn user_rules(src: &str) -> YaraRules {
        YaraRulesBuilder::new()
            .add_source("t.yar", src)
            .build()
            .unwrap()
    }

    #[test]
    fn matches_with_evidence_and_hashes() {
        let rules = user_rules(
            r#"rule two { meta: level = "high" strings: $a = "alpha" $b = "beta" condition: all of them }
               rule never { strings: $z = "zzzz" condition: $z }"#,
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.txt");
        std::fs::write(&p, "first\nbeta then\x01 alpha\n").unwrap();
        let scan = rules.scanner(&ScanOptions::default()).scan_file(&p);
        assert_eq!(scan.skipped, None);
        let info = scan.info.unwrap();
        assert_eq!(info.size, 23);
        assert_eq!(
            info.sha256,
            digest_bytes(b"first\nbeta then\x01 alpha\n").sha256
        );
        assert!(info.modified.is_some() && info.changed.is_some());
        assert_eq!(scan.matches.len(), 1);
        let m = &scan.matches[0];
        assert_eq!(m.rule.title, "two");
        assert_eq!(m.line(), 2);
        let pats: Vec<_> = m
            .strings
            .iter()
            .map(|s| (s.pattern.as_str(), s.offset))
            .collect();
        assert_eq!(pats, vec![("$b", 6), ("$a", 17)]);
    }

    #[test]
    fn size_cap_hashes_but_skips_yara() {
        let rules = user_rules(r#"rule any_x { strings: $a = "x" condition: $a }"#);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.bin");
        let data = vec![b'x'; 5000];
        std::fs::write(&p, &data).unwrap();
        let opts = ScanOptions {
            max_file_bytes: 4096,
            ..ScanOptions::default()
        };
        let scan = rules.scanner(&opts).scan_file(&p);
        assert_eq!(
            scan.skipped,
            Some(SkipReason::TooLarge {
                size: 5000,
                limit: 4096
            })
        );
        assert!(scan.matches.is_empty());
        assert_eq!(scan.info.unwrap().md5, digest_bytes(&data).md5);
        // At the cap exactly, it is scanned.
        std::fs::write(&p, &data[..4096]).unwrap();
        let scan = rules.scanner(&opts).scan_file(&p);
        assert_eq!(scan.skipped, None);
        assert_eq!(scan.matches.len(), 1);
    }

    #[test]
    fn unreadable_and_special_files_are_reported() {
        let rules = user_rules("rule t { condition: true }");
        let mut s = rules.scanner(&ScanOptions::default());
        let dir = tempfile::tempdir().unwrap();
        let missing = s.scan_file(&dir.path().join("gone"));
        assert!(matches!(
            missing.skipped,
            Some(SkipReason::Unreadable { .. })
        ));
        assert!(missing.info.is_none());
        let d = s.scan_file(dir.path());
        assert_eq!(d.skipped, Some(SkipReason::NotAFile));
        // A condition-only rule matches with line 0.
        let p = dir.path().join("empty");
        std::fs::write(&p, b"").unwrap();
        let e = s.scan_file(&p);
        assert_eq!(e.matches.len(), 1);
        assert_eq!(e.matches[0].line(), 0);
        assert_eq!(
            e.info.unwrap().sha1,
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
    }

    #[test]
    fn timeout_is_reported() {
        // A loop over every byte pair of a 256 KiB buffer cannot finish in a second.
        let rules = user_rules(
            "rule slow { condition: for any i in (0..filesize) : (for any j in (0..filesize) : (uint8(i) == uint8(j) + 1 and i == 0 and j == 1)) }",
        );
        let opts = ScanOptions {
            per_file_timeout: Duration::from_secs(1),
            ..ScanOptions::default()
        };
        let mut s = rules.scanner(&opts);
        let data = vec![7u8; 256 * 1024];
        let (m, skipped) = s.scan_bytes(&data);
        assert!(m.is_empty());
        assert_eq!(
            skipped,
            Some(SkipReason::Timeout {
                after: Duration::from_secs(1)
            })
        );
        // The scanner is usable afterwards.
        let (_, skipped) = s.scan_bytes(b"ab");
        assert_eq!(skipped, None);
    }

    #[test]
    fn printable_escapes() {
        assert_eq!(printable(b"a\\b\x00", 10), "a\\x5cb\\x00");
        assert_eq!(printable(b"abcdef", 3), "abc...");
    }
}
