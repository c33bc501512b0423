//! Turns a [`FileScan`] into spoor [`Finding`]s, one per matching rule.
//!
//! Position semantics: a YARA finding is placed at `Position::Line(n)`, the 1-based line of the
//! first matched string in the file (for binary files, the count of `\n` bytes before it plus
//! one); `Line(0)` means the rule matched on its condition alone. The timestamp is the file's
//! modification time, so the timeline places the finding where the file was last written.

use crate::FileScan;
use spoor_event::{Finding, LogSource, MatchedValue, Origin, Position};
use std::sync::Arc;

impl FileScan {
    /// One finding per matching rule, in rule-id order. `rule.kind` is `yara`, `source.path` is
    /// the file path, `file` carries size, times and hashes, `matched` quotes the first matched
    /// strings as `{field: "$pattern@offset", value: text}`.
    pub fn findings(&self) -> Vec<Finding> {
        let path: Arc<str> = Arc::from(self.path.to_string_lossy().as_ref());
        self.matches
            .iter()
            .map(|m| Finding {
                timestamp: self.info.as_ref().and_then(|i| i.modified),
                rule: Arc::clone(&m.rule),
                source: Origin {
                    path: Arc::clone(&path),
                    position: Position::Line(m.line()),
                },
                logsource: LogSource::default(),
                event: Vec::new(),
                raw: None,
                matched: m
                    .strings
                    .iter()
                    .map(|s| MatchedValue {
                        field: format!("{}@{}", s.pattern, s.offset),
                        value: s.text.clone(),
                        in_validity: None,
                    })
                    .collect(),
                file: self.info.clone(),
                related: Vec::new(),
                correlation: None,
                count: 1,
            })
            .collect()
    }
}
