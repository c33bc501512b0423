//! A read-only view of the compiled correlations, for backends that run the windows somewhere
//! else (spoor-clickhouse writes them as SQL): the inputs, group fields through their aliases,
//! value fields and timespan exactly as the local engine resolved them, so both read one meaning.

use crate::correlation::{CompiledCorrelation, CorrelationSet, Input};
use crate::node2corr::{CorrelationType, MetricCondition};
use spoor_event::RuleMeta;
use std::sync::Arc;

/// What one slot of a correlation's `rules:` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrelationInput {
    /// A detection rule, by index into [`crate::RuleSet::compiled`].
    Rule(usize),
    /// Another correlation, by index into [`CorrelationSet::views`] (always a lower index).
    Correlation(usize),
}

/// One compiled correlation, as the local engine runs it.
#[derive(Debug, Clone, Copy)]
pub struct CorrelationView<'a> {
    c: &'a CompiledCorrelation,
}

impl<'a> CorrelationView<'a> {
    /// The rule's metadata (the findings' rule).
    pub fn meta(&self) -> &'a Arc<RuleMeta> {
        &self.c.meta
    }

    /// The type.
    pub fn kind(&self) -> CorrelationType {
        self.c.kind
    }

    /// What each slot of `rules:` reads, in order (slot numbers are these positions).
    pub fn inputs(&self) -> Vec<CorrelationInput> {
        self.c
            .inputs
            .iter()
            .map(|i| match *i {
                Input::Rule(r) => CorrelationInput::Rule(r as usize),
                Input::Corr(k) => CorrelationInput::Correlation(k as usize),
            })
            .collect()
    }

    /// The `group-by` names as written (the finding's group labels).
    pub fn group_names(&self) -> &'a [Arc<str>] {
        &self.c.group_names
    }

    /// The field each group name reads in slot `slot` (an alias resolved), or nothing for a
    /// slot that does not exist.
    pub fn group_fields(&self, slot: usize) -> &'a [Arc<str>] {
        self.c.group_fields.get(slot).map_or(&[], Vec::as_slice)
    }

    /// The value field(s) of `value_count` and the metric types (several are joined with
    /// U+001F into one value, present only when all are).
    pub fn value_fields(&self) -> &'a [Arc<str>] {
        &self.c.value_fields
    }

    /// The window length.
    pub fn timespan(&self) -> chrono::Duration {
        self.c.timespan
    }

    /// The condition; `None` means "every referenced rule" (the temporal default).
    pub fn condition(&self) -> Option<MetricCondition> {
        self.c.condition
    }

    /// Fields the correlations above this one read from its findings: a group value where the
    /// name is a group name, else the value of the input at which the condition last held.
    pub fn exposes(&self) -> &'a [Arc<str>] {
        &self.c.exposes
    }
}

impl CorrelationSet {
    /// The correlations, in dependency order (one reads only lower indices).
    pub fn views(&self) -> impl Iterator<Item = CorrelationView<'_>> {
        self.corrs.iter().map(|c| CorrelationView { c })
    }
}
