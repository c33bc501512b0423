//! Triage views over events, the questions an analyst asks before reading a timeline:
//! *where else does this string appear* ([`Searcher`]), *which accounts were used from where*
//! ([`LogonTable`]) and *what evidence is there, and what can it not show* ([`Metrics`],
//! [`coverage`], [`blind_spots`]).
//!
//! Why a crate of its own: each view is an aggregation over [`spoor_event::Event`]s that the CLI
//! feeds from the readers, and each must be testable by building events by hand, without the
//! command line. Like the engines, it depends on `spoor-event` alone; every view follows one
//! lifecycle: `observe` events (per thread), `merge` partial states, then read the result.
//!
//! ```
//! use spoor_event::{Event, Position, Value};
//! use spoor_triage::LogonTable;
//! let ev = Event::new("sec.jsonl", Position::Line(1))
//!     .with("EventID", Value::Int(4625))
//!     .with("Channel", "Security")
//!     .with("Computer", "DC01")
//!     .with("TargetUserName", "admin")
//!     .with("IpAddress", "203.0.113.9")
//!     .with("LogonType", Value::Int(3));
//! let mut t = LogonTable::new(Default::default());
//! t.observe(&ev);
//! let rows = t.rows();
//! assert_eq!(rows[0].failure, 1);
//! assert!(rows[0].flags.iter().any(|f| f == "outside-address"));
//! ```
#![deny(missing_docs)]

mod coverage;
mod logons;
mod metrics;
mod search;

pub use coverage::{
    blind_spots, coverage, parse_coverage_doc, Availability, CoverageRow, DocRule, DocSection,
};
pub use logons::{classify, LogonObservation, LogonOptions, LogonOutcome, LogonRow, LogonTable};
pub use metrics::{
    human_duration, log_family, parse_duration, EvidenceFacts, FileMetrics, Gap, HostMetrics,
    Metrics, MetricsOptions, MetricsReport, Tamper,
};
pub use search::{Hit, Query, SearchError, Searcher};
