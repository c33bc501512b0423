//! spoor's readers: every log a victim has (web server, IIS, EVTX, syslog, Linux audit, Squid, JSON, CSV), turned into
//! [`spoor_event::Event`]s under the field names Sigma rules use, streaming and in parallel.
//!
//! Why one crate: the readers share sniffing, decompression, line capping and the accounting
//! that makes sure every line is either an event or counted as unparsed ([`FileStats`]); the
//! engines never see a format. Formats are recognised from content ([`InputFormat`] forces one),
//! gzip/zstd/bzip2/xz are peeled by magic bytes, UTF-16 text (with a byte order mark) is decoded
//! as it streams, and zip archives are read entry by entry.
//!
//! ```no_run
//! use spoor_input::{discover, read_all, ReadOptions};
//! let opts = ReadOptions::default();
//! let (files, unreadable) = discover(&["/var/log".into()], &opts);
//! let (events, stats) = read_all(&files, &opts, Vec::new, |v, e| v.push(e));
//! # let _ = (unreadable, events, stats);
//! ```
//!
//! [`FileStats`]: spoor_event::FileStats
#![deny(missing_docs)]

mod access;
mod archive;
mod auditd;
mod auditlog;
mod authlog;
mod decompress;
mod delimited;
mod error;
mod evtx;
mod flatten;
mod follow;
mod format;
mod gateline;
mod generic;
mod iis;
mod json;
mod kernel;
mod lines;
mod logsources;
mod names;
mod options;
mod parallel;
mod read;
mod sniff;
mod squid;
mod syslog;
mod time;
mod utf16;
mod w3cproxy;
mod walk;
mod webdecode;
mod weberror;
mod windows;
mod winfields;
mod winjson;
mod zstd;

pub use error::InputError;
pub use follow::{
    Checkpoint, CheckpointError, FileCursor, Follower, OutputMark, PollReport, CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION, DEFAULT_POLL_BUDGET, HEAD_BYTES, MAX_CHECKPOINT_BYTES,
};
pub use format::InputFormat;
pub use logsources::reader_logsources;
pub use options::{
    EvidenceSpan, ReadOptions, DEFAULT_MAX_LINE_BYTES, DEFAULT_MAX_MEMORY_EVTX_BYTES,
    DEFAULT_SPLIT_BYTES,
};
pub use parallel::{read_all, read_units};
pub use read::{sniff_file, InputFile};
pub use walk::discover;
pub use windows::{windows_logsource, windows_logsource_for};

/// Reads one file on the calling thread, calling `on_event` for each event; the statistics of
/// the file (one per entry, plus the archive's own, for a zip). For tests and small tools; the
/// CLI uses [`read_all`].
pub fn read_path(
    path: impl Into<std::path::PathBuf>,
    opts: &ReadOptions,
    mut on_event: impl FnMut(spoor_event::Event),
) -> Vec<spoor_event::FileStats> {
    let file = InputFile::new(path);
    read::read_file(&file, opts, &mut on_event)
}

/// Reads a stream that is not a file (standard input), named `name` in events and statistics.
/// Compression is peeled and the format sniffed as for files; a zip archive is read entry by
/// entry from its local headers; an EVTX stream is held in memory up to
/// [`ReadOptions::max_memory_evtx_bytes`]. RFC 3164 syslog years come from
/// [`ReadOptions::syslog_year`], else [`ReadOptions::syslog_year_hint`], else the current date.
pub fn read_reader(
    name: &str,
    reader: impl std::io::Read,
    opts: &ReadOptions,
    mut on_event: impl FnMut(spoor_event::Event),
) -> Vec<spoor_event::FileStats> {
    read::read_any_stream(name, reader, opts, &mut on_event)
}
