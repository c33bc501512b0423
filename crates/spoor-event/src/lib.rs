//! The common language of spoor: [`Event`] (what readers yield), [`Finding`] (what detectors
//! report) and the [`Detector`] / [`FindingSink`] traits that connect them.
//!
//! Readers, engines and writers each depend on this crate and never on one another, so that data
//! flows one way: read -> normalise -> match -> report. Every type here is deliberately plain
//! data: an engine can be tested by building an [`Event`] by hand.
#![deny(missing_docs)]

mod attack;
mod corpora;
mod event;
mod finding;
mod gate;
mod ioreason;
mod logsource;
mod merge;
mod stateful;
mod summary;
mod value;

pub use attack::{attack_from_tags, AttackRef, TACTICS};
pub use corpora::{corpora_at, shared_corpora};
pub use event::{Event, Fields, Origin, Position};
pub use finding::{
    field_text, CorrelationInfo, Detector, EventMatcher, FileInfo, Finding, FindingSink,
    MatchedValue, RelatedRequest, RuleKind, RuleLevel, RuleMeta,
};
pub use gate::{AllGates, GateHint, GateLine, LineGate, LineGateSource, SharedGates};
pub use ioreason::io_reason;
pub use logsource::LogSource;
pub use merge::{KWayMerge, SortedSource};
pub use stateful::{
    AnyStatefulDetector, Partials, RestoreError, StatefulChain, StatefulDetector, StatefulOutput,
};
pub use summary::{FileStats, FilterStat, RunSummary, UnparsedSample, MAX_UNPARSED_SAMPLES};
pub use value::Value;
