//! The log sources spoor's readers give their events, as one list: so that `spoor rules check`
//! can say which rules have a log spoor reads (a rule for `product: aws` loads but never runs),
//! without the rule engine knowing any reader.
//!
//! Generic JSON and CSV events whose log source is unknown are not listed: they run every rule,
//! which says nothing about which rules spoor can feed.

use spoor_event::LogSource;

/// Every log source some reader gives its events: web servers (combined, IIS, error logs),
/// proxies (Squid, W3C), syslog services, Linux audit records and their joined exec events,
/// and the Windows channel table (EVTX and Windows JSON/CSV exports). Sorted, no duplicates.
pub fn reader_logsources() -> Vec<LogSource> {
    let mut out = vec![
        LogSource::new(None, Some("webserver"), None),
        LogSource::new(Some("apache"), Some("webserver"), None),
        LogSource::new(Some("nginx"), Some("webserver"), None),
        LogSource::new(Some("iis"), Some("webserver"), None),
        LogSource::new(Some("apache"), None, Some("apache")),
        LogSource::new(Some("nginx"), None, Some("nginx")),
        crate::squid::logsource(),
        crate::w3cproxy::logsource(),
        crate::auditlog::record_logsource(),
        crate::auditlog::process_logsource(),
        LogSource::new(Some("linux"), None, Some("syslog")),
        LogSource::new(Some("linux"), None, Some("auth")),
    ];
    out.extend(
        crate::syslog::OWN_SERVICE
            .iter()
            .map(|s| crate::syslog::logsource_for(Some(s))),
    );
    out.extend(crate::windows::all_logsources());
    out.sort_by_key(key);
    out.dedup();
    out
}

fn key(ls: &LogSource) -> (String, String, String) {
    let part = |p: &Option<std::sync::Arc<str>>| p.as_deref().unwrap_or("").to_string();
    (part(&ls.product), part(&ls.category), part(&ls.service))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_each_reader_family() {
        let all = reader_logsources();
        let has = |p: Option<&str>, c: Option<&str>, s: Option<&str>| {
            all.contains(&LogSource::new(p, c, s))
        };
        assert!(has(Some("linux"), None, Some("auditd")));
        assert!(has(Some("linux"), Some("process_creation"), None));
        assert!(has(Some("squid"), Some("proxy"), None));
        assert!(has(None, Some("proxy"), None));
        assert!(has(Some("linux"), None, Some("sshd")));
        assert!(has(Some("linux"), None, Some("syslog")));
        assert!(has(
            Some("windows"),
            Some("process_creation"),
            Some("sysmon")
        ));
        assert!(all.iter().all(|l| !l.is_unknown()));
    }
}
