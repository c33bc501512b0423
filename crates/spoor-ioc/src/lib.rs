//! Indicators of compromise, hunted in every event: plain lists (text or CSV) and STIX 2.1
//! bundles with the full patterning language.
//!
//! Why a crate of its own: advisories ship indicators as STIX bundles and CSV lists, and an
//! indicator must be matched the way an analyst means it, not as a substring. An IP matches as an
//! address (`45.61.136.12` never matches `45.61.136.121`), networks by prefix, domains exactly
//! (plain lists: with their subdomains, never a longer lookalike), hashes and file names without
//! case. Which event fields hold which STIX object path is data (`mapping.yml`).
//!
//! Matching cost does not grow with the number of indicators: values are found through hash
//! sets, prefix tables and one Aho-Corasick automaton, and each mapped field of an event is
//! looked up once. STIX patterns with several observations or qualifiers are stateful: matchers
//! record hits and [`IocSet::correlate`] evaluates them by time after the last event.
//!
//! # Semantics
//! - **Addresses** compare as addresses: `45.61.136.12` never matches `45.61.136.121`. Field
//!   values are read loosely: `10.0.0.1:443` and `[2001:db8::1]:80` are the address before the
//!   port, a zone (`fe80::1%eth0`) is dropped, `::ffff:10.0.0.1` is `10.0.0.1`. CIDR list entries
//!   and STIX `ISSUBSET` match every address inside the network (IPv4 and IPv6); STIX `=` with a
//!   network literal means the same network (`'198.51.100.1/32'` is that address).
//! - **Domains**: STIX `=` matches the domain exactly; a plain-list domain also matches its
//!   subdomains (`a.cdn.example.net` for `cdn.example.net`), never a longer lookalike
//!   (`xcdn.example.net`). Without case, ignoring a trailing dot and a `:port`. Hosts of URL
//!   fields (`cs-referer`, `url.full`) count as domain values.
//! - **Hashes** compare without case, also inside Sysmon's `Hashes` list; **file names** compare
//!   by base name without case (`Image`, `TargetFilename`).
//! - **URLs** in plain lists match as case-insensitive substrings of URL fields; STIX `url:value`
//!   comparisons are exact.
//! - **Plain lists**: one indicator a line, type from its shape, or CSV `type,value[,description]`
//!   (`ipv4, ipv6, cidr, domain, url, email, md5, sha1, sha256, filename`; also `ip`, `hostname`,
//!   `file`). Defanged values (`hxxp://`, `[.]`) are refanged. A dotted word ending in a common
//!   file extension (`horizon.jsp`) is a file name, not a domain; use CSV to say otherwise.
//! - **STIX comparisons** are existential: true when some value of the path satisfies the
//!   operator; a path the event lacks makes every comparison false, `NOT` and `!=` included.
//!   `MATCHES` uses the `regex` crate (linear time); patterns it cannot compile, object paths not
//!   in the mapping, and pattern types other than `stix` are reported per indicator.
//! - **Validity**: each matched value says whether the event time lay inside
//!   `valid_from`/`valid_until` (`None` when the event has no time or the indicator no window);
//!   [`IocOptions::valid_only`] drops the `Some(false)` ones.
//! - **Cost**: equality, `IN` and `ISSUBSET` comparisons (and plain-list entries) are found through
//!   the index; observations with no such comparison (only `LIKE`, `MATCHES`, `NOT`, `EXISTS`,
//!   ordering) are tried on every event, so their cost grows with their number.
//!
//! ```
//! use spoor_event::{Event, EventMatcher, Position};
//! use spoor_ioc::{IocOptions, IocSetBuilder};
//!
//! let mut b = IocSetBuilder::new(IocOptions::default());
//! b.add_list_str("apt40.csv", "type,value,description\nipv4,45.61.136.12,C2\n");
//! let set = b.build().unwrap();
//! let mut m = set.ioc_matcher();
//! let mut findings = Vec::new();
//! m.check(&Event::new("a.log", Position::Line(1)).with("c-ip", "45.61.136.121"), &mut findings);
//! assert!(findings.is_empty());
//! m.check(&Event::new("a.log", Position::Line(2)).with("c-ip", "45.61.136.12"), &mut findings);
//! assert_eq!(findings[0].matched[0].field, "c-ip");
//! ```
#![deny(missing_docs)]

mod ast2test;
mod correlate;
mod error;
mod eval;
mod index;
mod list;
mod mapping;
mod net;
mod pattern;
mod prefilter;
mod set;
mod stix;

pub use correlate::{Correlation, ObservationHit, MAX_SETS};
pub use error::IocError;
pub use list::IocType;
pub use prefilter::Prefilter;
pub use set::{
    IocMatcher, IocOptions, IocPartial, IocSet, IocSetBuilder, LoadCounts, LoadReport, LoadStatus,
    MAX_HITS_PER_OBSERVATION,
};
