//! What a store can test to find the events an indicator set may match: every text that must
//! appear (case aside) in some mapped field for an indicator to match, every network an
//! address must lie in, and the fields they are read from. A backend that holds the events
//! (spoor-clickhouse) selects the rows holding one of them and hands only those to the
//! [`crate::IocMatcher`], which decides as it does locally; so the store needs no copy of
//! spoor's address, domain and hash rules, only a test that never misses a match.
//!
//! Indicators with an observation the index cannot key (only `LIKE`, `MATCHES`, `NOT`,
//! `EXISTS`, ordering) could match any event: they are listed in `unfiltered`, not hidden.

use crate::ast2test::Key;
use crate::mapping::{SlotId, ValueKind};
use crate::net::Net;
use spoor_event::RuleMeta;
use std::collections::BTreeSet;
use std::sync::Arc;

/// The candidate test of an indicator set (see the module doc).
#[derive(Debug, Clone, Default)]
pub struct Prefilter {
    /// Every event field some indicator reads (transforms such as `|host` dropped).
    pub fields: Vec<String>,
    /// The fields that hold addresses.
    pub ip_fields: Vec<String>,
    /// Lower-case texts: an indicator of a text kind matches only a field value containing one.
    pub needles: Vec<String>,
    /// Networks (`a.b.c.d/n`, `x::/n`): an address indicator matches only an address in one.
    pub networks: Vec<String>,
    /// Indicators that no such test bounds, with the reason: they cannot be pre-selected.
    pub unfiltered: Vec<(Arc<RuleMeta>, String)>,
}

/// The terms collected while indicators are added.
#[derive(Debug, Default)]
pub(crate) struct Terms {
    pub(crate) keys: Vec<(SlotId, Key)>,
}

fn net_text(n: &Net) -> String {
    match *n {
        Net::V4(a, len) => format!("{}/{len}", std::net::Ipv4Addr::from(a)),
        Net::V6(a, len) => format!("{}/{len}", std::net::Ipv6Addr::from(a)),
    }
}

pub(crate) fn build(
    terms: &Terms,
    mapping: &crate::mapping::Mapping,
    unfiltered: Vec<(Arc<RuleMeta>, String)>,
) -> Prefilter {
    let mut fields = BTreeSet::new();
    let mut ip_fields = BTreeSet::new();
    for (name, roles) in &mapping.by_field {
        fields.insert(name.to_string());
        if roles
            .iter()
            .any(|(s, _)| mapping.slots.get(*s as usize).map(|s| s.kind) == Some(ValueKind::Ip))
        {
            ip_fields.insert(name.to_string());
        }
    }
    let mut needles = BTreeSet::new();
    let mut networks = BTreeSet::new();
    for (_, key) in &terms.keys {
        match key {
            Key::Text(t) => {
                needles.insert(t.to_lowercase());
            }
            Key::Net(n) => {
                networks.insert(net_text(n));
            }
        }
    }
    Prefilter {
        fields: fields.into_iter().collect(),
        ip_fields: ip_fields.into_iter().collect(),
        needles: needles.into_iter().collect(),
        networks: networks.into_iter().collect(),
        unfiltered,
    }
}
