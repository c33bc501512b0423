//! Evidence metrics: what the logs are, what they cover, and where they have holes.
//!
//! Per file and per host: log sources, event count, first and last event, events per EventID,
//! channel and HTTP status. Then two kinds of warning:
//! - **gaps**: a log silent for longer than [`MetricsOptions::gap`] while other logs of the
//!   run are not (a stopped agent, a rotated-away file, deleted records);
//! - **tampering**: Security 1102 (audit log cleared), System 104 (an event log cleared), and a
//!   log whose last event lies more than the gap before the last event of the logs beside it (its recent part
//!   is missing: not collected, or cleared without a trace). "Beside it" means the logs whose
//!   time range overlaps this one's, so logs of other periods do not count.
//!
//! A log is a file with its rotations ([`log_family`]): `messages`, `messages.1` and
//! `messages.2.gz` are one log for gaps and early ends.

use chrono::{DateTime, Duration, Utc};
use spoor_event::{field_text, Event, LogSource, Position, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Options of a metrics run.
#[derive(Debug, Clone)]
pub struct MetricsOptions {
    /// Silence longer than this is a gap (and a log ending this long before the logs beside it, too).
    pub gap: Duration,
    /// Only events at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only events at or before this time.
    pub to: Option<DateTime<Utc>>,
}

impl Default for MetricsOptions {
    fn default() -> Self {
        MetricsOptions {
            gap: Duration::hours(6),
            from: None,
            to: None,
        }
    }
}

/// Field names that hold the host an event is about, in order of preference.
/// `node` (an audit record's host, with `name_format` set) comes before `hostname`, which in
/// audit records is the remote peer (`hostname=?` when unknown).
const HOST_FIELDS: [&str; 6] = [
    "Computer",
    "node",
    "host",
    "hostname",
    "host.name",
    "s-computername",
];
/// Field names of an HTTP status.
const STATUS_FIELDS: [&str; 3] = ["sc-status", "status", "http.response.status_code"];

#[derive(Debug, Clone, Default)]
struct FileAcc {
    logsources: BTreeSet<String>,
    events: u64,
    undated: u64,
    times: Vec<i64>,
    event_ids: BTreeMap<String, u64>,
    channels: BTreeMap<String, u64>,
    statuses: BTreeMap<String, u64>,
    hosts: BTreeSet<String>,
}

#[derive(Debug, Clone, Default)]
struct HostAcc {
    events: u64,
    event_ids: BTreeMap<String, u64>,
    channels: BTreeMap<String, u64>,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    files: BTreeSet<String>,
    logsources: BTreeSet<String>,
}

/// Counts that tell what the evidence can show (see [`crate::blind_spots`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EvidenceFacts {
    /// Events counted.
    pub events: u64,
    /// Proxy log events (category `proxy`).
    pub proxy: u64,
    /// Web server events (category `webserver`).
    pub web: u64,
    /// Web server events with a response size (`sc-bytes`).
    pub web_with_bytes: u64,
    /// Process creation events (Sysmon 1, Security 4688, ...).
    pub process_creation: u64,
    /// Security 4688 events.
    pub security_4688: u64,
    /// Security 4688 events with a command line.
    pub security_4688_command_line: u64,
    /// Security 4624/4625 events.
    pub windows_logons: u64,
    /// sshd login lines.
    pub ssh_logins: u64,
    /// Cleared-log events (Security 1102, System 104).
    pub cleared: u64,
}

impl EvidenceFacts {
    fn add(&mut self, o: &EvidenceFacts) {
        self.events += o.events;
        self.proxy += o.proxy;
        self.web += o.web;
        self.web_with_bytes += o.web_with_bytes;
        self.process_creation += o.process_creation;
        self.security_4688 += o.security_4688;
        self.security_4688_command_line += o.security_4688_command_line;
        self.windows_logons += o.windows_logons;
        self.ssh_logins += o.ssh_logins;
        self.cleared += o.cleared;
    }
}

/// Metrics under construction: observe events (one per thread), merge, then [`Metrics::report`].
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    opts: MetricsOptions,
    files: BTreeMap<String, FileAcc>,
    hosts: BTreeMap<String, HostAcc>,
    tampering: Vec<Tamper>,
    facts: EvidenceFacts,
    logsources: BTreeMap<String, LogSource>,
}

/// What one file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMetrics {
    /// The file (as events name it).
    pub path: String,
    /// Log sources of its events (`product/category/service`).
    pub logsources: Vec<String>,
    /// Events counted (inside the time bounds).
    pub events: u64,
    /// Events without a time.
    pub undated: u64,
    /// Earliest event.
    pub first: Option<DateTime<Utc>>,
    /// Latest event.
    pub last: Option<DateTime<Utc>>,
    /// Hosts its events name.
    pub hosts: Vec<String>,
    /// Events per EventID.
    pub event_ids: BTreeMap<String, u64>,
    /// Events per Windows channel.
    pub channels: BTreeMap<String, u64>,
    /// Events per HTTP status.
    pub statuses: BTreeMap<String, u64>,
}

/// What one host logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostMetrics {
    /// The host name as logged.
    pub host: String,
    /// Events.
    pub events: u64,
    /// Earliest event.
    pub first: Option<DateTime<Utc>>,
    /// Latest event.
    pub last: Option<DateTime<Utc>>,
    /// Files holding its events.
    pub files: Vec<String>,
    /// Log sources of its events.
    pub logsources: Vec<String>,
    /// Events per EventID.
    pub event_ids: BTreeMap<String, u64>,
    /// Events per Windows channel.
    pub channels: BTreeMap<String, u64>,
}

/// A silence in one log while others went on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// The silent log.
    pub path: String,
    /// Its last event before the silence.
    pub from: DateTime<Utc>,
    /// Its first event after it.
    pub to: DateTime<Utc>,
    /// Events the other logs recorded meanwhile.
    pub others_meanwhile: u64,
}

/// A sign that a log was tampered with or is incomplete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tamper {
    /// The log.
    pub path: String,
    /// `security-log-cleared` (1102), `event-log-cleared` (System 104) or `ends-early`.
    pub kind: String,
    /// When (the event's time, or the log's last event for `ends-early`).
    pub time: Option<DateTime<Utc>>,
    /// The host, when known.
    pub host: Option<String>,
    /// Where: the event's line or record; `None` for `ends-early`.
    pub position: Option<Position>,
    /// Details (the account that cleared the log, the channel, how early the log ends).
    pub detail: String,
}

/// The finished metrics.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetricsReport {
    /// Per file, in path order.
    pub files: Vec<FileMetrics>,
    /// Per host, in name order.
    pub hosts: Vec<HostMetrics>,
    /// Gaps, by file then time.
    pub gaps: Vec<Gap>,
    /// Tampering signs, by file then time.
    pub tampering: Vec<Tamper>,
    /// What the evidence can show.
    pub facts: EvidenceFacts,
    /// The distinct log sources of the events (entirely unknown ones left out), by name.
    pub logsources: Vec<LogSource>,
}

fn logsource_text(ev: &Event) -> String {
    let ls = &ev.logsource;
    let p = |x: &Option<std::sync::Arc<str>>| x.as_deref().unwrap_or("-").to_string();
    format!("{}/{}/{}", p(&ls.product), p(&ls.category), p(&ls.service))
}

fn event_id(ev: &Event) -> Option<String> {
    match ev.get("EventID")? {
        Value::Int(i) => Some(i.to_string()),
        v => v.as_text().map(|t| t.trim().to_string()),
    }
}

fn first_text(ev: &Event, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| {
        field_text(&ev.fields, n)
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty() && t != "-")
    })
}

impl Metrics {
    /// Empty metrics.
    pub fn new(opts: MetricsOptions) -> Self {
        Metrics {
            opts,
            ..Metrics::default()
        }
    }

    /// Counts one event (inside the time bounds).
    pub fn observe(&mut self, ev: &Event) {
        match ev.timestamp {
            Some(t) if self.opts.from.is_some_and(|f| t < f) => return,
            Some(t) if self.opts.to.is_some_and(|e| t > e) => return,
            None if self.opts.from.is_some() || self.opts.to.is_some() => return,
            _ => {}
        }
        let path = ev.origin.path.to_string();
        let ls = logsource_text(ev);
        let host = first_text(ev, &HOST_FIELDS);
        let id = event_id(ev);
        let channel = first_text(ev, &["Channel"]);
        let f = self.files.entry(path.clone()).or_default();
        f.events += 1;
        if !f.logsources.contains(&ls) {
            f.logsources.insert(ls.clone());
        }
        match ev.timestamp {
            Some(t) => f.times.push(t.timestamp()),
            None => f.undated += 1,
        }
        if let Some(id) = &id {
            *f.event_ids.entry(id.clone()).or_default() += 1;
        }
        if let Some(c) = &channel {
            *f.channels.entry(c.clone()).or_default() += 1;
        }
        if let Some(s) = first_text(ev, &STATUS_FIELDS) {
            *f.statuses.entry(s).or_default() += 1;
        }
        if let Some(h) = &host {
            if !f.hosts.contains(h) {
                f.hosts.insert(h.clone());
            }
            let acc = self.hosts.entry(h.clone()).or_default();
            acc.events += 1;
            if let Some(id) = &id {
                *acc.event_ids.entry(id.clone()).or_default() += 1;
            }
            if let Some(c) = &channel {
                *acc.channels.entry(c.clone()).or_default() += 1;
            }
            if let Some(t) = ev.timestamp {
                acc.first = Some(acc.first.map_or(t, |x| x.min(t)));
                acc.last = Some(acc.last.map_or(t, |x| x.max(t)));
            }
            if !acc.files.contains(&path) {
                acc.files.insert(path.clone());
            }
            if !acc.logsources.contains(&ls) {
                acc.logsources.insert(ls.clone());
            }
        }
        if !ev.logsource.is_unknown() && !self.logsources.contains_key(&ls) {
            self.logsources.insert(ls.clone(), ev.logsource.clone());
        }
        let channel_lc = channel.as_deref().map(str::to_ascii_lowercase);
        let facts = &mut self.facts;
        facts.events += 1;
        match ev.logsource.category.as_deref() {
            Some("proxy") => facts.proxy += 1,
            Some("webserver") => {
                facts.web += 1;
                if first_text(ev, &["sc-bytes"]).is_some() {
                    facts.web_with_bytes += 1;
                }
            }
            Some("process_creation") => facts.process_creation += 1,
            _ => {}
        }
        if channel_lc.as_deref() == Some("security") {
            match id.as_deref() {
                Some("4688") => {
                    facts.security_4688 += 1;
                    if first_text(ev, &["CommandLine"]).is_some() {
                        facts.security_4688_command_line += 1;
                    }
                }
                Some("4624" | "4625") => facts.windows_logons += 1,
                _ => {}
            }
        }
        if field_text(&ev.fields, "event.action").as_deref() == Some("ssh_login") {
            facts.ssh_logins += 1;
        }
        let cleared = match (channel_lc.as_deref(), id.as_deref()) {
            (Some("security"), Some("1102")) => Some("security-log-cleared"),
            (Some("system"), Some("104")) => Some("event-log-cleared"),
            _ => None,
        };
        if let Some(kind) = cleared {
            self.facts.cleared += 1;
            let who = first_text(ev, &["SubjectUserName", "Security_UserID"]);
            let which = first_text(ev, &["Channel_", "param1", "Param1"]);
            let mut detail = Vec::new();
            if let Some(w) = who {
                detail.push(format!("by {w}"));
            }
            if let Some(c) = which {
                detail.push(format!("log {c}"));
            }
            self.tampering.push(Tamper {
                path,
                kind: kind.into(),
                time: ev.timestamp,
                host,
                position: Some(ev.origin.position),
                detail: detail.join(", "),
            });
        }
    }

    /// Adds another thread's metrics.
    pub fn merge(&mut self, other: Metrics) {
        for (k, o) in other.files {
            let f = self.files.entry(k).or_default();
            f.logsources.extend(o.logsources);
            f.events += o.events;
            f.undated += o.undated;
            f.times.extend(o.times);
            for (m, src) in [
                (&mut f.event_ids, o.event_ids),
                (&mut f.channels, o.channels),
                (&mut f.statuses, o.statuses),
            ] {
                for (key, n) in src {
                    *m.entry(key).or_default() += n;
                }
            }
            f.hosts.extend(o.hosts);
        }
        for (k, o) in other.hosts {
            let h = self.hosts.entry(k).or_default();
            h.events += o.events;
            for (m, src) in [
                (&mut h.event_ids, o.event_ids),
                (&mut h.channels, o.channels),
            ] {
                for (key, n) in src {
                    *m.entry(key).or_default() += n;
                }
            }
            h.first = match (h.first, o.first) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            h.last = match (h.last, o.last) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            h.files.extend(o.files);
            h.logsources.extend(o.logsources);
        }
        self.tampering.extend(other.tampering);
        self.facts.add(&other.facts);
        for (k, v) in other.logsources {
            self.logsources.entry(k).or_insert(v);
        }
    }

    /// The finished metrics: per file and host, gaps and tampering signs.
    pub fn report(mut self) -> MetricsReport {
        let to_time = |s: i64| DateTime::<Utc>::from_timestamp(s, 0);
        let gap = self.opts.gap.num_seconds().max(1);
        // Gaps and early ends are about a log, and a log rotated into `x.log.1`, `x.log.2.gz`
        // or `x-20240712` is one log: its files are taken together.
        let mut families: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for (path, f) in self.files.iter_mut() {
            f.times.sort_unstable();
            families
                .entry(log_family(path))
                .or_default()
                .extend(f.times.iter().copied());
        }
        // Every dated event of the run with its log, sorted: to count what the others logged
        // during one log's silence.
        let mut all: Vec<(i64, usize)> = Vec::new();
        for (i, times) in families.values_mut().enumerate() {
            times.sort_unstable();
            all.extend(times.iter().map(|t| (*t, i)));
        }
        all.sort_unstable();
        // Each log's time range, for "ends early": a log whose overlapping neighbours go on
        // long after its last event.
        let ranges: Vec<Option<(i64, i64)>> = families
            .values()
            .map(|t| Some((*t.first()?, *t.last()?)))
            .collect();
        let neighbours_end = |i: usize| -> Option<i64> {
            let (first, last) = ranges.get(i).copied().flatten()?;
            ranges
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .filter_map(|(_, r)| *r)
                .filter(|(f, l)| *f <= last && *l >= first)
                .map(|(_, l)| l)
                .max()
        };
        let mut gaps = Vec::new();
        let mut tampering = std::mem::take(&mut self.tampering);
        for (i, (log, times)) in families.iter().enumerate() {
            for w in times.windows(2) {
                let (a, b) = (w[0], w[1]);
                if b - a <= gap {
                    continue;
                }
                let lo = all.partition_point(|(t, _)| *t <= a);
                let hi = all.partition_point(|(t, _)| *t < b);
                let others = all
                    .get(lo..hi)
                    .map_or(0, |s| s.iter().filter(|(_, j)| *j != i).count())
                    as u64;
                if others > 0 {
                    if let (Some(from), Some(to)) = (to_time(a), to_time(b)) {
                        gaps.push(Gap {
                            path: log.clone(),
                            from,
                            to,
                            others_meanwhile: others,
                        });
                    }
                }
            }
            if let (Some(l), Some(end)) = (times.last().copied(), neighbours_end(i)) {
                if end - l > gap {
                    tampering.push(Tamper {
                        path: log.clone(),
                        kind: "ends-early".into(),
                        time: to_time(l),
                        host: None,
                        position: None,
                        detail: format!(
                            "last event {} before that of the logs beside it",
                            human_duration(end - l)
                        ),
                    });
                }
            }
        }
        let mut files = Vec::new();
        for (path, f) in self.files.iter() {
            let (first, last) = (f.times.first().copied(), f.times.last().copied());
            files.push(FileMetrics {
                path: path.clone(),
                logsources: f.logsources.iter().cloned().collect(),
                events: f.events,
                undated: f.undated,
                first: first.and_then(to_time),
                last: last.and_then(to_time),
                hosts: f.hosts.iter().cloned().collect(),
                event_ids: f.event_ids.clone(),
                channels: f.channels.clone(),
                statuses: f.statuses.clone(),
            });
        }
        tampering.sort_by(|a, b| {
            (&a.path, a.time, a.position, &a.kind).cmp(&(&b.path, b.time, b.position, &b.kind))
        });
        let hosts = self
            .hosts
            .into_iter()
            .map(|(host, h)| HostMetrics {
                host,
                events: h.events,
                first: h.first,
                last: h.last,
                files: h.files.into_iter().collect(),
                logsources: h.logsources.into_iter().collect(),
                event_ids: h.event_ids,
                channels: h.channels,
            })
            .collect();
        MetricsReport {
            files,
            hosts,
            gaps,
            tampering,
            facts: self.facts,
            logsources: self.logsources.into_values().collect(),
        }
    }
}

/// The log a file belongs to: its path without a compression suffix, a rotation number
/// (`.1` to `.999`) or a rotation date (`-YYYYMMDD`), so that `messages`, `messages.1` and
/// `messages.2.gz` are one log.
pub fn log_family(path: &str) -> String {
    let mut p = path;
    for ext in [".gz", ".bz2", ".xz", ".zst"] {
        if let Some(s) = p.strip_suffix(ext) {
            p = s;
            break;
        }
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some((head, tail)) = p.rsplit_once('.') {
        if tail.len() <= 3 && digits(tail) && !head.is_empty() && !head.ends_with('/') {
            p = head;
        }
    }
    if let Some((head, tail)) = p.rsplit_once('-') {
        if tail.len() == 8 && digits(tail) && !head.is_empty() && !head.ends_with('/') {
            p = head;
        }
    }
    p.to_string()
}

/// `3d4h`, `2h5m`, `40m`, `12s`: the two largest units.
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{sec}s"),
        (0, 0, _) => format!("{m}m{sec:02}s"),
        (0, _, _) => format!("{h}h{m:02}m"),
        _ => format!("{d}d{h:02}h"),
    }
}

/// Parses `90s`, `30m`, `6h`, `2d`, `1w` (or a plain number of seconds).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: i64 = n.parse().ok()?;
    let mult = match unit.trim() {
        "" | "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return None,
    };
    let secs = n.checked_mul(mult)?;
    (secs > 0).then(|| Duration::try_seconds(secs)).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn ev(path: &str, line: u64, time: &str) -> Event {
        let mut e = Event::new(path, Position::Line(line)).with("host", "web01");
        e.timestamp = Some(at(time));
        e
    }

    #[test]
    fn planted_gap_is_found_only_when_others_speak() {
        let mut m = Metrics::new(MetricsOptions {
            gap: Duration::hours(1),
            ..MetricsOptions::default()
        });
        // a.log: hourly-ish until 02:00, then silent until 06:00; b.log goes on meanwhile.
        for (i, t) in ["00:00", "00:30", "01:00", "02:00", "06:00", "06:30"]
            .iter()
            .enumerate()
        {
            m.observe(&ev("a.log", i as u64 + 1, &format!("2024-07-12T{t}:00Z")));
        }
        for (i, t) in ["00:10", "03:00", "04:00", "05:00", "05:50", "06:40"]
            .iter()
            .enumerate()
        {
            m.observe(&ev("b.log", i as u64 + 1, &format!("2024-07-12T{t}:00Z")));
        }
        let r = m.report();
        assert_eq!(r.gaps.len(), 2, "{:?}", r.gaps);
        let a = &r.gaps[0];
        assert_eq!(a.path, "a.log");
        assert_eq!(
            (a.from, a.to),
            (at("2024-07-12T02:00:00Z"), at("2024-07-12T06:00:00Z"))
        );
        assert_eq!(a.others_meanwhile, 4);
        // b.log's silence from 00:10 to 03:00 has a.log's 00:30, 01:00, 02:00 beside it.
        assert_eq!(r.gaps[1].path, "b.log");
        assert_eq!(r.gaps[1].others_meanwhile, 3);
        assert_eq!(r.files[0].events, 6);
        assert_eq!(r.hosts[0].events, 12);
    }

    #[test]
    fn rotated_files_are_one_log() {
        for (p, f) in [
            ("/var/log/messages.1", "/var/log/messages"),
            ("/var/log/messages.12.gz", "/var/log/messages"),
            ("secure-20240712", "secure"),
            ("access_log", "access_log"),
            ("Security.evtx", "Security.evtx"),
            ("u_ex240712.log", "u_ex240712.log"),
            ("logs/.1", "logs/.1"),
        ] {
            assert_eq!(log_family(p), f, "{p}");
        }
        let mut m = Metrics::new(MetricsOptions {
            gap: Duration::hours(1),
            ..MetricsOptions::default()
        });
        // a.log.1 then a.log: one log from 00:00 to 04:00; b.log beside it throughout.
        for (i, t) in ["00:00", "00:30", "01:00", "01:30", "02:00"]
            .iter()
            .enumerate()
        {
            m.observe(&ev("a.log.1", i as u64 + 1, &format!("2024-07-12T{t}:00Z")));
        }
        for (i, t) in ["02:30", "03:00", "03:30", "04:00"].iter().enumerate() {
            m.observe(&ev("a.log", i as u64 + 1, &format!("2024-07-12T{t}:00Z")));
        }
        for (i, t) in ["00:00", "00:50", "01:40", "02:30", "03:20", "04:00"]
            .iter()
            .enumerate()
        {
            m.observe(&ev("b.log", i as u64 + 1, &format!("2024-07-12T{t}:00Z")));
        }
        let r = m.report();
        assert!(r.gaps.is_empty(), "{:?}", r.gaps);
        assert!(r.tampering.is_empty(), "{:?}", r.tampering);
        assert_eq!(r.files.len(), 3);
    }

    #[test]
    fn silence_of_every_log_is_no_gap() {
        let mut m = Metrics::new(MetricsOptions {
            gap: Duration::hours(1),
            ..MetricsOptions::default()
        });
        m.observe(&ev("a.log", 1, "2024-07-12T00:00:00Z"));
        m.observe(&ev("a.log", 2, "2024-07-12T05:00:00Z"));
        m.observe(&ev("b.log", 1, "2024-07-12T00:00:00Z"));
        m.observe(&ev("b.log", 2, "2024-07-12T05:00:00Z"));
        assert!(m.report().gaps.is_empty());
    }

    #[test]
    fn cleared_logs_and_early_end() {
        let mut m = Metrics::new(MetricsOptions::default());
        let mut clear = Event::new("sec.evtx", Position::Record(9))
            .with("EventID", Value::Int(1102))
            .with("Channel", "Security")
            .with("Computer", "DC01")
            .with("SubjectUserName", "mallory");
        clear.timestamp = Some(at("2024-07-10T00:00:00Z"));
        m.observe(&clear);
        let mut sys = Event::new("sys.evtx", Position::Record(3))
            .with("EventID", Value::Int(104))
            .with("Channel", "System");
        sys.timestamp = Some(at("2024-07-12T00:00:00Z"));
        m.observe(&sys);
        // sec.evtx runs from 07-09 to 07-10, sys.evtx from 07-09 to 07-12: sec ends early.
        let mut early = clear.clone();
        early.timestamp = Some(at("2024-07-09T00:00:00Z"));
        early.fields.retain(|(k, _)| &**k != "EventID");
        m.observe(&early);
        let mut s0 = sys.clone();
        s0.timestamp = Some(at("2024-07-09T01:00:00Z"));
        s0.fields.retain(|(k, _)| &**k != "EventID");
        m.observe(&s0);
        // A log of another period ending long before is not "early".
        m.observe(&ev("old.log", 1, "2020-01-01T00:00:00Z"));
        m.observe(&ev("old.log", 2, "2020-01-02T00:00:00Z"));
        let r = m.report();
        let kinds: Vec<&str> = r.tampering.iter().map(|t| t.kind.as_str()).collect();
        assert_eq!(
            kinds,
            vec!["ends-early", "security-log-cleared", "event-log-cleared"]
        );
        assert_eq!(r.tampering[1].detail, "by mallory");
        assert_eq!(r.tampering[1].position, Some(Position::Record(9)));
        assert_eq!(r.tampering[0].path, "sec.evtx");
        let dc = r.hosts.iter().find(|h| h.host == "DC01").unwrap();
        assert_eq!(dc.event_ids.get("1102"), Some(&1));
        assert_eq!(dc.channels.get("Security"), Some(&2));
        let sec = r.files.iter().find(|f| f.path == "sec.evtx").unwrap();
        assert_eq!(sec.event_ids.get("1102"), Some(&1));
        assert_eq!(sec.channels.get("Security"), Some(&2));
    }

    #[test]
    fn merge_equals_one_pass() {
        let evs: Vec<Event> = (0..20)
            .map(|i| {
                ev(
                    if i % 3 == 0 { "a" } else { "b" },
                    i,
                    &format!("2024-07-12T{:02}:00:00Z", i),
                )
            })
            .collect();
        let mut one = Metrics::new(MetricsOptions::default());
        evs.iter().for_each(|e| one.observe(e));
        let mut x = Metrics::new(MetricsOptions::default());
        let mut y = Metrics::new(MetricsOptions::default());
        for (i, e) in evs.iter().enumerate() {
            if i % 2 == 0 {
                x.observe(e)
            } else {
                y.observe(e)
            }
        }
        x.merge(y);
        assert_eq!(one.report(), x.report());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("6h"), Some(Duration::hours(6)));
        assert_eq!(parse_duration("90"), Some(Duration::seconds(90)));
        assert_eq!(parse_duration("2d"), Some(Duration::days(2)));
        assert_eq!(parse_duration("0h"), None);
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("5y"), None);
        assert_eq!(parse_duration("99999999999999999999d"), None);
        assert_eq!(parse_duration("9999999999999999d"), None);
        assert_eq!(human_duration(3 * 86_400 + 4 * 3600), "3d04h");
        assert_eq!(human_duration(125), "2m05s");
    }
}
