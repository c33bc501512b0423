//! Logon summary: who logged on where from, how often it worked and how often it failed.
//!
//! Each authentication event is reduced to a [`LogonObservation`] ([`classify`]), and
//! observations are counted per (target user, source address or host, logon type, target host)
//! in a [`LogonTable`]. Rows carry the flags the APT40 advisory (valid accounts, T1078) calls
//! out: logons from outside addresses, service or machine accounts logging on interactively,
//! and one address trying many accounts.
//!
//! Windows events are recognised by `Channel` and `EventID` (the readers' field names for EVTX
//! and exported JSON alike); sshd lines by the syslog reader's `event.action: ssh_login`.

use chrono::{DateTime, Utc};
use spoor_event::{field_text, Event, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

const SECURITY: &str = "security";
const LSM: &str = "microsoft-windows-terminalservices-localsessionmanager/operational";
const RCM: &str = "microsoft-windows-terminalservices-remoteconnectionmanager/operational";

/// How an authentication event ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogonOutcome {
    /// A logon, ticket or credential check that worked.
    Success,
    /// One that failed.
    Failure,
    /// A logoff or session disconnect.
    Logoff,
    /// Anything else worth counting: an sshd "Failed password for invalid user" line, which
    /// repeats the failure its "Invalid user" line already counted.
    Other,
}

/// One authentication event, reduced to what the summary counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogonObservation {
    /// When.
    pub time: Option<DateTime<Utc>>,
    /// Target account (`-` when the event names none).
    pub user: String,
    /// Source address, else source workstation, else `-`.
    pub source: String,
    /// Windows logon type number, or `explicit`, `special`, `kerberos`, `ntlm`, `rdp`, `ssh`.
    pub logon_type: String,
    /// The host that logged it.
    pub host: String,
    /// How it ended.
    pub outcome: LogonOutcome,
    /// EventID, or `sshd`.
    pub event: String,
}

fn text(ev: &Event, name: &str) -> Option<String> {
    field_text(&ev.fields, name)
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty() && t != "-")
}

fn first_of(ev: &Event, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| text(ev, n))
}

fn event_id(ev: &Event) -> Option<i64> {
    match ev.get("EventID")? {
        Value::Int(i) => Some(*i),
        v => v.as_f64().map(|f| f as i64),
    }
}

/// Windows status codes: `0x0` (and `0`) is success.
fn status_ok(ev: &Event, name: &str) -> bool {
    match text(ev, name) {
        None => true,
        Some(s) => {
            let s = s.to_ascii_lowercase();
            let digits = s.strip_prefix("0x").unwrap_or(&s);
            digits.chars().all(|c| c == '0')
        }
    }
}

/// `user` without a leading `DOMAIN\`.
fn bare_user(user: &str) -> String {
    user.rsplit('\\').next().unwrap_or(user).to_string()
}

/// The observation an event makes, or `None` for events that are not authentication.
pub fn classify(ev: &Event) -> Option<LogonObservation> {
    if field_text(&ev.fields, "event.action").as_deref() == Some("ssh_login") {
        return classify_ssh(ev);
    }
    if let Some(o) = classify_old_sshd(ev) {
        return Some(o);
    }
    let id = event_id(ev)?;
    let channel = field_text(&ev.fields, "Channel")?.to_ascii_lowercase();
    let host = text(ev, "Computer").unwrap_or_else(|| "-".into());
    let (user, source, logon_type, outcome) = match (channel.as_str(), id) {
        (SECURITY, 4624 | 4625 | 4634 | 4647) => {
            let outcome = match id {
                4624 => LogonOutcome::Success,
                4625 => LogonOutcome::Failure,
                _ => LogonOutcome::Logoff,
            };
            (
                text(ev, "TargetUserName"),
                first_of(ev, &["IpAddress", "WorkstationName"]),
                text(ev, "LogonType").unwrap_or_else(|| "-".into()),
                outcome,
            )
        }
        (SECURITY, 4648) => (
            text(ev, "TargetUserName"),
            first_of(ev, &["IpAddress", "SubjectUserName"]),
            "explicit".into(),
            LogonOutcome::Success,
        ),
        (SECURITY, 4672) => (
            text(ev, "SubjectUserName"),
            None,
            "special".into(),
            LogonOutcome::Success,
        ),
        (SECURITY, 4768 | 4769 | 4771) => {
            let ok = id != 4771 && status_ok(ev, "Status");
            (
                text(ev, "TargetUserName"),
                text(ev, "IpAddress").map(|a| a.trim_start_matches("::ffff:").to_string()),
                "kerberos".into(),
                if ok {
                    LogonOutcome::Success
                } else {
                    LogonOutcome::Failure
                },
            )
        }
        (SECURITY, 4776) => (
            text(ev, "TargetUserName"),
            text(ev, "Workstation"),
            "ntlm".into(),
            if status_ok(ev, "Status") {
                LogonOutcome::Success
            } else {
                LogonOutcome::Failure
            },
        ),
        (LSM, 21 | 22 | 24 | 25) => (
            text(ev, "User").map(|u| bare_user(&u)),
            text(ev, "Address"),
            "rdp".into(),
            if id == 24 {
                LogonOutcome::Logoff
            } else {
                LogonOutcome::Success
            },
        ),
        (RCM, 1149) => (
            text(ev, "Param1"),
            text(ev, "Param3"),
            "rdp".into(),
            LogonOutcome::Success,
        ),
        _ => return None,
    };
    Some(LogonObservation {
        time: ev.timestamp,
        user: user.unwrap_or_else(|| "-".into()),
        source: source.unwrap_or_else(|| "-".into()),
        logon_type,
        host,
        outcome,
        event: id.to_string(),
    })
}

/// OpenSSH before 3.9 wrote "Illegal user X from A" where later ones write "Invalid user"; the
/// syslog reader marks only the later form, so the older one is read from the message here.
fn classify_old_sshd(ev: &Event) -> Option<LogonObservation> {
    let program = field_text(&ev.fields, "program")?;
    if !program.eq_ignore_ascii_case("sshd") {
        return None;
    }
    let message = field_text(&ev.fields, "message")?;
    let rest = message.trim_start().strip_prefix("Illegal user ")?;
    let (user, after) = rest.split_once(" from ")?;
    let source = after.split_whitespace().next()?;
    Some(LogonObservation {
        time: ev.timestamp,
        user: if user.trim().is_empty() {
            "-".into()
        } else {
            user.trim().to_string()
        },
        source: source.to_string(),
        logon_type: "ssh".into(),
        host: text(ev, "host").unwrap_or_else(|| "-".into()),
        outcome: LogonOutcome::Failure,
        event: "sshd".into(),
    })
}

fn classify_ssh(ev: &Event) -> Option<LogonObservation> {
    let message = field_text(&ev.fields, "message").unwrap_or_default();
    let m = message.trim_start().to_ascii_lowercase();
    // OpenSSH logs "Invalid user X from A" once per connection, then one "Failed password for
    // invalid user X" per password tried (none when the client gives up first): the first is
    // the attempt, the repeats are counted apart so that no attempt counts twice.
    let invalid_line = m.starts_with("invalid user") || m.starts_with("illegal user");
    let repeat = m.starts_with("failed")
        && (m.contains(" for invalid user ") || m.contains(" for illegal user "));
    let outcome = match field_text(&ev.fields, "event.outcome").as_deref() {
        _ if invalid_line => LogonOutcome::Failure,
        _ if repeat => LogonOutcome::Other,
        Some("success") => LogonOutcome::Success,
        Some("failure") => LogonOutcome::Failure,
        _ => return None,
    };
    // Old sshd wrote "Failed password for illegal user X": the reader's pattern knows only
    // "invalid user", so the account is taken from the message here.
    let user = match message.find(" for illegal user ") {
        Some(i) => message[i + " for illegal user ".len()..]
            .split_whitespace()
            .next()
            .map(str::to_string),
        None => text(ev, "user.name"),
    };
    Some(LogonObservation {
        time: ev.timestamp,
        user: user.unwrap_or_else(|| "-".into()),
        source: text(ev, "source.ip").unwrap_or_else(|| "-".into()),
        logon_type: "ssh".into(),
        host: text(ev, "host").unwrap_or_else(|| "-".into()),
        outcome,
        event: "sshd".into(),
    })
}

/// Options of a logon summary.
#[derive(Debug, Clone)]
pub struct LogonOptions {
    /// Only events at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only events at or before this time.
    pub to: Option<DateTime<Utc>>,
    /// A source address seen with at least this many accounts is flagged.
    pub many_accounts: usize,
}

impl Default for LogonOptions {
    fn default() -> Self {
        LogonOptions {
            from: None,
            to: None,
            many_accounts: 5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    user: String,
    source: String,
    logon_type: String,
    host: String,
}

#[derive(Debug, Clone, Default)]
struct Counts {
    success: u64,
    failure: u64,
    logoff: u64,
    other: u64,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    events: BTreeSet<String>,
}

/// One row of the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogonRow {
    /// Target account.
    pub user: String,
    /// Source address or workstation.
    pub source: String,
    /// Logon type (see [`LogonObservation::logon_type`]).
    pub logon_type: String,
    /// Host that logged it.
    pub host: String,
    /// Successful logons.
    pub success: u64,
    /// Failed logons.
    pub failure: u64,
    /// Logoffs and disconnects.
    pub logoff: u64,
    /// Other events (sshd failures for an invalid user already counted by its "Invalid user" line).
    pub other: u64,
    /// Earliest event.
    pub first: Option<DateTime<Utc>>,
    /// Latest event.
    pub last: Option<DateTime<Utc>>,
    /// The event ids behind the row, sorted.
    pub events: Vec<String>,
    /// `outside-address`, `service-account-interactive`, `one-address-many-accounts`.
    pub flags: Vec<String>,
}

/// The summary under construction: observe events (one table per thread), merge, read rows.
#[derive(Debug, Clone, Default)]
pub struct LogonTable {
    opts: LogonOptions,
    rows: BTreeMap<Key, Counts>,
}

impl LogonTable {
    /// An empty table.
    pub fn new(opts: LogonOptions) -> Self {
        LogonTable {
            opts,
            rows: BTreeMap::new(),
        }
    }

    /// Counts `ev` if it is an authentication event inside the time bounds.
    pub fn observe(&mut self, ev: &Event) {
        if let Some(o) = classify(ev) {
            self.add(o);
        }
    }

    /// Counts one observation inside the time bounds.
    pub fn add(&mut self, o: LogonObservation) {
        if let Some(t) = o.time {
            if self.opts.from.is_some_and(|f| t < f) || self.opts.to.is_some_and(|to| t > to) {
                return;
            }
        } else if self.opts.from.is_some() || self.opts.to.is_some() {
            return;
        }
        let c = self
            .rows
            .entry(Key {
                user: o.user,
                source: o.source,
                logon_type: o.logon_type,
                host: o.host,
            })
            .or_default();
        match o.outcome {
            LogonOutcome::Success => c.success += 1,
            LogonOutcome::Failure => c.failure += 1,
            LogonOutcome::Logoff => c.logoff += 1,
            LogonOutcome::Other => c.other += 1,
        }
        if let Some(t) = o.time {
            c.first = Some(c.first.map_or(t, |f| f.min(t)));
            c.last = Some(c.last.map_or(t, |l| l.max(t)));
        }
        c.events.insert(o.event);
    }

    /// Adds another table's counts (from another thread).
    pub fn merge(&mut self, other: LogonTable) {
        for (k, o) in other.rows {
            let c = self.rows.entry(k).or_default();
            c.success += o.success;
            c.failure += o.failure;
            c.logoff += o.logoff;
            c.other += o.other;
            c.first = match (c.first, o.first) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            c.last = match (c.last, o.last) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            c.events.extend(o.events);
        }
    }

    /// True when nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The rows with their flags, most events first (then by host, user, source, type).
    pub fn rows(&self) -> Vec<LogonRow> {
        let mut users_per_source: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for k in self.rows.keys() {
            if k.source != "-" && k.user != "-" {
                users_per_source
                    .entry(&k.source)
                    .or_default()
                    .insert(&k.user);
            }
        }
        let mut out: Vec<LogonRow> = self
            .rows
            .iter()
            .map(|(k, c)| {
                let mut flags = Vec::new();
                if is_outside(&k.source) {
                    flags.push("outside-address".to_string());
                }
                if is_interactive(&k.logon_type) && is_service_account(&k.user) {
                    flags.push("service-account-interactive".to_string());
                }
                if users_per_source
                    .get(k.source.as_str())
                    .is_some_and(|u| u.len() >= self.opts.many_accounts.max(2))
                {
                    flags.push("one-address-many-accounts".to_string());
                }
                LogonRow {
                    user: k.user.clone(),
                    source: k.source.clone(),
                    logon_type: k.logon_type.clone(),
                    host: k.host.clone(),
                    success: c.success,
                    failure: c.failure,
                    logoff: c.logoff,
                    other: c.other,
                    first: c.first,
                    last: c.last,
                    events: c.events.iter().cloned().collect(),
                    flags,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            let total = |r: &LogonRow| r.success + r.failure + r.logoff + r.other;
            total(b)
                .cmp(&total(a))
                .then_with(|| a.host.cmp(&b.host))
                .then_with(|| a.user.cmp(&b.user))
                .then_with(|| a.source.cmp(&b.source))
                .then_with(|| a.logon_type.cmp(&b.logon_type))
        });
        out
    }
}

/// Logon types where a person sits at the session: interactive (2), remote interactive (10),
/// cached interactive (11), and RDP session events.
fn is_interactive(logon_type: &str) -> bool {
    matches!(logon_type, "2" | "10" | "11" | "rdp")
}

/// Machine accounts (`NAME$`) and accounts named like services (`svc...`, `*service*`).
fn is_service_account(user: &str) -> bool {
    let u = user.to_ascii_lowercase();
    u.ends_with('$')
        || u.starts_with("svc")
        || u.starts_with("srv_")
        || u.starts_with("sa_")
        || u.contains("service")
}

/// A routable address: not private, loopback, link-local, unspecified, CGNAT or unique-local.
/// Documentation ranges (TEST-NET) count as outside: they stand for outside addresses in
/// examples and are not on any internal network.
pub(crate) fn is_outside(source: &str) -> bool {
    let Ok(ip) = source.trim().parse::<IpAddr>() else {
        return false;
    };
    let v4 = match ip {
        IpAddr::V4(v) => v,
        IpAddr::V6(v) => match v.to_ipv4_mapped() {
            Some(m) => m,
            None => {
                let s = v.segments();
                return !(v.is_loopback()
                    || v.is_unspecified()
                    || (s[0] & 0xfe00) == 0xfc00
                    || (s[0] & 0xffc0) == 0xfe80);
            }
        },
    };
    let o = v4.octets();
    !(v4.is_private()
        || v4.is_loopback()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || (o[0] == 100 && (o[1] & 0xc0) == 64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use spoor_event::Position;

    fn win(id: i64, fields: &[(&str, &str)]) -> Event {
        let mut e = Event::new("s.evtx", Position::Record(1))
            .with("EventID", Value::Int(id))
            .with("Channel", "Security")
            .with("Computer", "DC01");
        for (k, v) in fields {
            e.push(*k, *v);
        }
        e.timestamp = Some(
            DateTime::parse_from_rfc3339("2024-07-12T07:10:00Z")
                .unwrap()
                .with_timezone(&Utc),
        );
        e
    }

    #[test]
    fn windows_events_are_classified() {
        let o = classify(&win(
            4625,
            &[
                ("TargetUserName", "bob"),
                ("IpAddress", "10.0.0.5"),
                ("LogonType", "3"),
            ],
        ))
        .unwrap();
        assert_eq!(
            (o.outcome, o.logon_type.as_str()),
            (LogonOutcome::Failure, "3")
        );
        assert_eq!((o.user.as_str(), o.source.as_str()), ("bob", "10.0.0.5"));
        // No address: the workstation stands for the source.
        let o = classify(&win(
            4624,
            &[
                ("TargetUserName", "bob"),
                ("IpAddress", "-"),
                ("WorkstationName", "WS7"),
            ],
        ))
        .unwrap();
        assert_eq!(o.source, "WS7");
        let k = classify(&win(4768, &[("TargetUserName", "bob"), ("Status", "0x6")])).unwrap();
        assert_eq!(k.outcome, LogonOutcome::Failure);
        let k = classify(&win(4768, &[("TargetUserName", "bob"), ("Status", "0x0")])).unwrap();
        assert_eq!(k.outcome, LogonOutcome::Success);
        assert_eq!(
            classify(&win(
                4776,
                &[("TargetUserName", "b"), ("Status", "0xc000006a")]
            ))
            .unwrap()
            .outcome,
            LogonOutcome::Failure
        );
        assert_eq!(
            classify(&win(4634, &[])).unwrap().outcome,
            LogonOutcome::Logoff
        );
        assert!(classify(&win(4688, &[])).is_none());
        let rdp = Event::new("r.evtx", Position::Record(2))
            .with("EventID", Value::Int(1149))
            .with("Channel", RCM)
            .with("Param1", "alice")
            .with("Param3", "198.51.100.7");
        let o = classify(&rdp).unwrap();
        assert_eq!((o.user.as_str(), o.logon_type.as_str()), ("alice", "rdp"));
    }

    #[test]
    fn ssh_lines_count_once_per_attempt() {
        let ssh = |outcome: &str, msg: &str| {
            Event::new("auth.log", Position::Line(1))
                .with("host", "web01")
                .with("message", msg)
                .with("event.action", "ssh_login")
                .with("event.outcome", outcome)
                .with("user.name", "root")
                .with("source.ip", "203.0.113.80")
        };
        let mut t = LogonTable::new(LogonOptions::default());
        t.observe(&ssh(
            "failure",
            "Invalid user root from 203.0.113.80 port 1",
        ));
        t.observe(&ssh(
            "failure",
            "Failed password for invalid user root from 203.0.113.80",
        ));
        t.observe(&ssh(
            "success",
            "Accepted password for root from 203.0.113.80",
        ));
        let rows = t.rows();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].success, rows[0].failure, rows[0].other), (1, 1, 1));
        let mut old = ssh(
            "failure",
            "Failed password for illegal user jordan from 203.0.113.80 port 3 ssh2",
        );
        old.fields.retain(|(k, _)| &**k != "user.name");
        old.push("user.name", "illegal");
        let o = classify(&old).unwrap();
        assert_eq!(
            (o.user.as_str(), o.outcome),
            ("jordan", LogonOutcome::Other)
        );
        let illegal = Event::new("secure", Position::Line(9))
            .with("host", "combo")
            .with("program", "sshd")
            .with("message", "Illegal user jordan from 211.1.2.3");
        let o = classify(&illegal).unwrap();
        assert_eq!(
            (o.user.as_str(), o.source.as_str(), o.outcome),
            ("jordan", "211.1.2.3", LogonOutcome::Failure)
        );
        // An invalid user without a password tried is still a failed attempt.
        t.observe(&ssh(
            "failure",
            "Invalid user oracle from 203.0.113.80 port 2",
        ));
        assert_eq!(t.rows().iter().map(|r| r.failure).sum::<u64>(), 2);
        assert_eq!(rows[0].flags, vec!["outside-address"]);
    }

    #[test]
    fn flags_and_merge() {
        let opts = LogonOptions {
            many_accounts: 3,
            ..LogonOptions::default()
        };
        let mut a = LogonTable::new(opts.clone());
        let mut b = LogonTable::new(opts);
        for (i, u) in ["u1", "u2", "u3"].iter().enumerate() {
            let t = if i == 0 { &mut a } else { &mut b };
            t.observe(&win(
                4625,
                &[
                    ("TargetUserName", u),
                    ("IpAddress", "10.1.1.1"),
                    ("LogonType", "3"),
                ],
            ));
        }
        a.observe(&win(
            4624,
            &[
                ("TargetUserName", "WS01$"),
                ("IpAddress", "127.0.0.1"),
                ("LogonType", "10"),
            ],
        ));
        a.merge(b);
        let rows = a.rows();
        assert_eq!(rows.len(), 4);
        let machine = rows.iter().find(|r| r.user == "WS01$").unwrap();
        assert_eq!(machine.flags, vec!["service-account-interactive"]);
        for r in rows.iter().filter(|r| r.source == "10.1.1.1") {
            assert_eq!(r.flags, vec!["one-address-many-accounts"]);
            assert_eq!(r.failure, 1);
        }
    }

    #[test]
    fn time_bounds_drop_outside_and_undated() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let mut t = LogonTable::new(LogonOptions {
            from: Some(at("2024-07-12T08:00:00Z")),
            ..LogonOptions::default()
        });
        t.observe(&win(4624, &[("TargetUserName", "bob")]));
        assert!(t.is_empty());
    }

    #[test]
    fn outside_addresses() {
        for a in [
            "203.0.113.5",
            "8.8.8.8",
            "2001:db8::1",
            "::ffff:198.51.100.1",
        ] {
            assert!(is_outside(a), "{a}");
        }
        for a in [
            "10.0.0.1",
            "192.168.1.1",
            "172.16.0.1",
            "127.0.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "100.64.0.1",
            "WS01",
            "-",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_outside(a), "{a}");
        }
    }
}
