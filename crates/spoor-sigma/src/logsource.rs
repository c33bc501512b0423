//! Which events a rule runs on. The implications between log sources (an `sshd` event is also
//! an `auth` and a `syslog` event) are data, in `logsource.yaml`, read once.

use crate::yaml2node::{parse_documents, Node, NodeKind};
use rustc_hash::FxHashMap;
use spoor_event::LogSource;
use std::sync::{Arc, OnceLock};

/// A rule's `logsource`, lower-cased.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RuleLogSource {
    /// `product`.
    pub product: Option<Arc<str>>,
    /// `category`.
    pub category: Option<Arc<str>>,
    /// `service`.
    pub service: Option<Arc<str>>,
}

#[derive(Default)]
struct Implications {
    services: FxHashMap<String, Vec<String>>,
    categories: FxHashMap<String, Vec<String>>,
    products: FxHashMap<String, Vec<String>>,
}

fn implications() -> &'static Implications {
    static TABLE: OnceLock<Implications> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = Implications::default();
        let Ok(docs) = parse_documents(include_str!("logsource.yaml")) else {
            return table;
        };
        let Some(doc) = docs.first() else {
            return table;
        };
        let read = |key: &str| -> FxHashMap<String, Vec<String>> {
            let mut m = FxHashMap::default();
            for (k, v) in doc.get(key).and_then(Node::as_map).unwrap_or_default() {
                let (Some(k), NodeKind::Seq(items)) = (k.as_str(), &v.kind) else {
                    continue;
                };
                m.insert(
                    k.to_ascii_lowercase(),
                    items
                        .iter()
                        .filter_map(Node::as_str)
                        .map(str::to_ascii_lowercase)
                        .collect(),
                );
            }
            m
        };
        table.services = read("services");
        table.categories = read("categories");
        table.products = read("products");
        table
    })
}

fn part_ok(
    rule: &Option<Arc<str>>,
    event: &Option<Arc<str>>,
    table: &FxHashMap<String, Vec<String>>,
) -> bool {
    let Some(want) = rule else { return true };
    let Some(have) = event else { return false };
    if have.eq_ignore_ascii_case(want) {
        return true;
    }
    table
        .get(&have.to_ascii_lowercase())
        .is_some_and(|also| also.iter().any(|a| a.as_str() == &**want))
}

/// One part of a log source triple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogSourcePart {
    /// `product`.
    Product,
    /// `category`.
    Category,
    /// `service`.
    Service,
}

/// The lower-case event values of `part` that satisfy a rule asking for `want`: `want` itself
/// and every value the implication table lists it under. For backends that test log sources
/// in another language (SQL); [`RuleLogSource::accepts`] is the same test on one event.
pub fn event_values_satisfying(part: LogSourcePart, want: &str) -> Vec<String> {
    let t = implications();
    let table = match part {
        LogSourcePart::Product => &t.products,
        LogSourcePart::Category => &t.categories,
        LogSourcePart::Service => &t.services,
    };
    let want = want.to_ascii_lowercase();
    let mut out: Vec<String> = table
        .iter()
        .filter(|(_, also)| also.contains(&want))
        .map(|(k, _)| k.clone())
        .collect();
    out.push(want);
    out.sort();
    out.dedup();
    out
}

impl RuleLogSource {
    /// Whether a rule with this log source runs on an event with `event`'s log source.
    /// Events whose log source is entirely unknown run every rule.
    pub fn accepts(&self, event: &LogSource) -> bool {
        if event.is_unknown() {
            return true;
        }
        let t = implications();
        part_ok(&self.product, &event.product, &t.products)
            && part_ok(&self.category, &event.category, &t.categories)
            && part_ok(&self.service, &event.service, &t.services)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(p: Option<&str>, c: Option<&str>, s: Option<&str>) -> RuleLogSource {
        RuleLogSource {
            product: p.map(Arc::from),
            category: c.map(Arc::from),
            service: s.map(Arc::from),
        }
    }

    #[test]
    fn table_loads() {
        assert!(implications().services.contains_key("sshd"));
    }

    #[test]
    fn compatibility() {
        let sysmon1 = LogSource::new(Some("windows"), Some("process_creation"), Some("sysmon"));
        assert!(rule(Some("windows"), Some("process_creation"), None).accepts(&sysmon1));
        assert!(rule(Some("windows"), None, None).accepts(&sysmon1));
        assert!(!rule(Some("windows"), None, Some("security")).accepts(&sysmon1));
        assert!(!rule(Some("linux"), Some("process_creation"), None).accepts(&sysmon1));
        let sshd = LogSource::new(Some("linux"), None, Some("sshd"));
        assert!(rule(Some("linux"), None, Some("auth")).accepts(&sshd));
        assert!(rule(Some("linux"), None, Some("syslog")).accepts(&sshd));
        assert!(!rule(Some("linux"), None, Some("sudo")).accepts(&sshd));
        let web = LogSource::new(Some("apache"), Some("webserver"), None);
        assert!(rule(None, Some("webserver"), None).accepts(&web));
        assert!(!rule(Some("windows"), None, None).accepts(&web));
        assert!(rule(Some("windows"), None, Some("security")).accepts(&LogSource::default()));
        let reg = LogSource::new(Some("windows"), Some("registry_set"), Some("sysmon"));
        assert!(rule(Some("windows"), Some("registry_event"), None).accepts(&reg));
        // Security 4688 as spoor-input classes it: process_creation rules and Security rules
        // both run on it, Sysmon-only rules do not.
        let sec4688 = LogSource::new(Some("windows"), Some("process_creation"), Some("security"));
        assert!(rule(Some("windows"), Some("process_creation"), None).accepts(&sec4688));
        assert!(rule(Some("windows"), None, Some("security")).accepts(&sec4688));
        assert!(!rule(Some("windows"), Some("process_creation"), Some("sysmon")).accepts(&sec4688));
        assert!(!rule(Some("windows"), Some("network_connection"), None).accepts(&sec4688));
        // Squid and W3C proxy logs: category proxy, whatever the product.
        let squid = LogSource::new(Some("squid"), Some("proxy"), None);
        assert!(rule(None, Some("proxy"), None).accepts(&squid));
        assert!(rule(None, Some("proxy"), None).accepts(&LogSource::new(
            None,
            Some("proxy"),
            None
        )));
        assert!(!rule(Some("windows"), Some("proxy"), None).accepts(&squid));
    }
}
