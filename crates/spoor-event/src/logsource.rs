//! The Sigma log source an event belongs to.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Sigma's `logsource` triple. Readers fill it from data tables (EVTX channel and event id, web
/// server kind, syslog program); the Sigma engine runs a rule only on events whose log source
/// agrees with the rule's.
///
/// A field left `None` means "not known": a rule that names a product, category or service the
/// event does not state does not run on it. An event whose log source is entirely unknown (a
/// generic JSON or CSV file) is the one exception: see [`LogSource::is_unknown`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct LogSource {
    /// e.g. `windows`, `linux`, `apache`, `iis`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<Arc<str>>,
    /// e.g. `process_creation`, `webserver`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<Arc<str>>,
    /// e.g. `security`, `sysmon`, `auth`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<Arc<str>>,
}

impl LogSource {
    /// A log source from optional parts.
    pub fn new(product: Option<&str>, category: Option<&str>, service: Option<&str>) -> Self {
        LogSource {
            product: product.map(Arc::from),
            category: category.map(Arc::from),
            service: service.map(Arc::from),
        }
    }

    /// True when the reader could not tell anything about the source (generic JSON, CSV).
    /// The Sigma engine matches such events against every rule, as Zircolite and Chainsaw do
    /// with unmapped input; readers that know better always say so.
    pub fn is_unknown(&self) -> bool {
        self.product.is_none() && self.category.is_none() && self.service.is_none()
    }
}
