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
mod set;
mod stix;

pub use correlate::{Correlation, ObservationHit, MAX_SETS};
pub use error::IocError;
pub use list::IocType;
pub use set::{
    IocMatcher, IocOptions, IocSet, IocSetBuilder, LoadCounts, LoadReport, LoadStatus,
    MAX_HITS_PER_OBSERVATION,
};
