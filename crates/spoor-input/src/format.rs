//! The input formats spoor reads, and their names for `--format-in`.
//!
//! One enum for the whole crate so that sniffing, the CLI override and the per-file statistics
//! all speak of formats the same way.

use crate::InputError;
use std::fmt;
use std::str::FromStr;

/// A log format spoor can read. Compression and zip archives are handled beneath this level and
/// are not formats: a `.log.gz` is a web log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InputFormat {
    /// Windows XML event log (binary `.evtx`).
    Evtx,
    /// JSON: one object per line (NDJSON), a JSON array of objects, or a single object.
    Json,
    /// Apache/nginx access log, combined or common format.
    WebAccess,
    /// IIS W3C extended log (`#Fields:` header).
    Iis,
    /// Apache or nginx error log.
    WebError,
    /// Syslog, RFC 3164 or RFC 5424 (including `auth.log` and `secure`).
    Syslog,
    /// Comma-separated values with a header row.
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
    /// Squid proxy access.log: native format, or Squid's combined with proxy requests.
    Squid,
    /// W3C extended log of a web proxy (Blue Coat ProxySG, Zscaler exports): `#Fields:` with
    /// proxy columns (`s-action`, `cs-uri-scheme`, ...).
    W3cProxy,
    /// Linux audit log (`audit.log`: `type=... msg=audit(...)` records).
    Auditd,
}

impl InputFormat {
    /// Every format, in the order the CLI lists them.
    pub const ALL: [InputFormat; 11] = [
        InputFormat::Evtx,
        InputFormat::Json,
        InputFormat::WebAccess,
        InputFormat::Iis,
        InputFormat::WebError,
        InputFormat::Syslog,
        InputFormat::Csv,
        InputFormat::Tsv,
        InputFormat::Squid,
        InputFormat::W3cProxy,
        InputFormat::Auditd,
    ];

    /// The name used by `--format-in` and in [`spoor_event::FileStats::format`].
    pub fn name(self) -> &'static str {
        match self {
            InputFormat::Evtx => "evtx",
            InputFormat::Json => "json",
            InputFormat::WebAccess => "access",
            InputFormat::Iis => "iis",
            InputFormat::WebError => "weberror",
            InputFormat::Syslog => "syslog",
            InputFormat::Csv => "csv",
            InputFormat::Tsv => "tsv",
            InputFormat::Squid => "squid",
            InputFormat::W3cProxy => "w3c-proxy",
            InputFormat::Auditd => "auditd",
        }
    }

    /// Whether a large file can be split into line-aligned chunks read in parallel: records are
    /// lines, or (CSV and TSV) lines joined by quoted line breaks that a scan finds, and what a
    /// chunk needs from before it fits in a [`crate::kernel::Resume`].
    pub(crate) fn splittable(self) -> bool {
        matches!(
            self,
            InputFormat::WebAccess
                | InputFormat::Iis
                | InputFormat::Syslog
                | InputFormat::WebError
                | InputFormat::Squid
                | InputFormat::Csv
                | InputFormat::Tsv
        )
    }

    /// The separator of a delimited format.
    pub(crate) fn separator(self) -> Option<u8> {
        match self {
            InputFormat::Csv => Some(b','),
            InputFormat::Tsv => Some(b'\t'),
            _ => None,
        }
    }
}

impl fmt::Display for InputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for InputFormat {
    type Err = InputError;

    /// Accepts the canonical names plus common aliases (`ndjson`, `jsonl`, `combined`,
    /// `common`, `apache`, `nginx`, `w3c`, `auth`, `proxy`, `bluecoat`, `audit`), case-insensitively.
    fn from_str(s: &str) -> Result<Self, InputError> {
        let f = match s.trim().to_ascii_lowercase().as_str() {
            "evtx" => InputFormat::Evtx,
            "json" | "ndjson" | "jsonl" => InputFormat::Json,
            "access" | "combined" | "common" | "apache" | "nginx" | "clf" => InputFormat::WebAccess,
            "iis" | "w3c" => InputFormat::Iis,
            "weberror" | "error" | "errorlog" => InputFormat::WebError,
            "syslog" | "auth" | "authlog" => InputFormat::Syslog,
            "csv" => InputFormat::Csv,
            "tsv" => InputFormat::Tsv,
            "squid" | "proxy" => InputFormat::Squid,
            "w3c-proxy" | "w3cproxy" | "bluecoat" | "proxysg" => InputFormat::W3cProxy,
            "auditd" | "audit" | "linux-audit" => InputFormat::Auditd,
            _ => return Err(InputError::UnknownFormat(s.to_string())),
        };
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in InputFormat::ALL {
            assert_eq!(f.name().parse::<InputFormat>().unwrap(), f);
        }
        assert_eq!("NDJSON".parse::<InputFormat>().unwrap(), InputFormat::Json);
        assert!("pcap".parse::<InputFormat>().is_err());
    }
}
