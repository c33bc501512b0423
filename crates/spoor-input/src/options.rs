//! What the caller decides about a read: forced format, limits, which paths.

use crate::InputFormat;

/// Default cap on one line or record: longer ones are counted as unparsed, not loaded whole.
pub const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;

/// Default size above which a splittable plain text file is read in parallel chunks.
pub const DEFAULT_SPLIT_BYTES: u64 = 64 << 20;

/// Default cap on an EVTX file held in memory because it came out of a compressed stream or an
/// archive (the evtx crate needs to seek; plain `.evtx` files are read from disk, not held).
pub const DEFAULT_MAX_MEMORY_EVTX_BYTES: u64 = 512 << 20;

/// Options of a read. Build with [`ReadOptions::default`] and set what you need.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Force every file to this format instead of sniffing it (`--format-in`).
    pub format: Option<InputFormat>,
    /// Longest line or JSON record read; longer ones are counted unparsed.
    pub max_line_bytes: usize,
    /// Only files whose path matches one of these globs (`--glob`); empty means all.
    pub globs: Vec<String>,
    /// Skip files and folders whose path matches one of these (`--exclude`).
    pub excludes: Vec<String>,
    /// Plain text files at least this big are split into line-aligned chunks read in parallel.
    pub split_bytes: u64,
    /// Largest EVTX held in memory when it cannot be read from disk directly.
    pub max_memory_evtx_bytes: u64,
    /// Year for RFC 3164 syslog lines, which carry none; `None` infers it from the file's
    /// modification time (see the `syslog` module).
    pub syslog_year: Option<i32>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            format: None,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            globs: Vec::new(),
            excludes: Vec::new(),
            split_bytes: DEFAULT_SPLIT_BYTES,
            max_memory_evtx_bytes: DEFAULT_MAX_MEMORY_EVTX_BYTES,
            syslog_year: None,
        }
    }
}
