//! Linux syslog and auth logs: RFC 3164 (`Mar 13 04:05:47 host sshd[123]: ...`, optionally with
//! a `<PRI>` prefix) and RFC 5424 (`<34>1 2024-01-02T03:04:05Z host app 123 ID [sd] msg`).
//!
//! Fields: `host`, `program`, `pid`, `message` (5424 also `msgid`, `facility`, `severity`),
//! plus ECS-style extras from sshd, sudo and su lines (see [`crate::authlog`]).
//!
//! **RFC 3164 carries no year.** It is inferred per line, without state, so that a large file can
//! be read in parallel chunks: the line gets the year of the file's modification time, unless its
//! month and day fall more than one day after the modification date, in which case it is from the
//! year before (a log is not written after its file was last modified). This is right for files
//! that span less than a year, which rotated logs do: a December line in a file modified in
//! January is from the year before, and so lines going back in month across such a file start
//! a new year. The modification time is the end of the file, so a file spanning more than a
//! year cannot be told apart in one streaming pass, and a copy or a fresh clone resets it.
//!
//! Better: [`crate::ReadOptions::syslog_year_hint`], the span of the run's other dated
//! evidence. The first line takes the year that puts it in or nearest to that span, and each
//! later line the year that puts it nearest after the line before it (a January line after a
//! December one is the next year; lines a little out of order stay in their year).
//! [`crate::ReadOptions::syslog_year`] (`--syslog-year`) wins over both. The time has no zone either: it is taken as UTC and the file flagged
//! `timezone_assumed`.
//!
//! Log source: product `linux`; service `sshd`, `sudo`, `su`, `cron`, `vsftpd` for those
//! programs, `auth` for other authentication programs (`login`, `passwd`, `useradd`,
//! `systemd-logind`, ...), else `syslog`.

use crate::authlog::auth_extras;
use crate::time::month_number;
use crate::EvidenceSpan;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use regex::bytes::Regex;
use spoor_event::{Event, LogSource, Value};
use std::sync::OnceLock;

/// Programs whose lines are the `auth` service (beside sshd, sudo and su, which have their own).
const AUTH_PROGRAMS: [&str; 16] = [
    "login",
    "systemd-logind",
    "passwd",
    "useradd",
    "userdel",
    "usermod",
    "groupadd",
    "groupdel",
    "chpasswd",
    "chage",
    "unix_chkpwd",
    "polkitd",
    "gdm-password",
    "pam",
    "gpasswd",
    "newgrp",
];

/// Programs that are their own service in SigmaHQ rules.
pub(crate) const OWN_SERVICE: [&str; 5] = ["sshd", "sudo", "su", "cron", "vsftpd"];

fn re3164() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?-u)^(?:<(\d{1,3})>)?([A-Z][a-z]{2}) +(\d{1,2}) (\d\d:\d\d:\d\d) (\S+) ?(.*)$",
        )
        .unwrap_or_else(|_| unreachable!("constant regex"))
    })
}

fn re5424() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?-u)^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (.*))?$")
            .unwrap_or_else(|_| unreachable!("constant regex"))
    })
}

fn tag_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?-u)^([^:\[\s]{1,64})(?:\[(\d{1,10})\])?: ?(.*)$")
            .unwrap_or_else(|_| unreachable!("constant regex"))
    })
}

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The year a RFC 3164 line of `month`/`day` belongs to, given the file's modification time.
pub(crate) fn infer_year(month: u32, day: u32, mtime: DateTime<Utc>) -> i32 {
    let year = mtime.year();
    let limit = mtime.date_naive().succ_opt().unwrap_or(mtime.date_naive());
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(d) if d > limit => year - 1,
        Some(_) => year,
        // 29 February in a non-leap year: the previous leap year is the only candidate.
        None => year - 1,
    }
}

/// The log source for a program name.
pub(crate) fn logsource_for(program: Option<&str>) -> LogSource {
    let p = crate::authlog::base_program(program.unwrap_or(""));
    let service = if OWN_SERVICE.contains(&p.as_str()) {
        p.as_str()
    } else if AUTH_PROGRAMS.contains(&p.as_str()) || p.starts_with("pam_") {
        "auth"
    } else {
        "syslog"
    };
    LogSource::new(Some("linux"), None, Some(service))
}

/// How the year of RFC 3164 lines is found.
#[derive(Clone, Copy)]
pub(crate) enum YearRule {
    Fixed(i32),
    FromMtime(DateTime<Utc>),
    FromEvidence(EvidenceSpan),
}

/// The date of `month`/`day` at `time` in `year`, if there is one (29 February).
fn date_in(year: i32, month: u32, day: u32, time: NaiveTime) -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(year, month, day).map(|d| d.and_time(time))
}

/// How far `t` lies outside `span` (zero inside it), in seconds.
fn distance(t: NaiveDateTime, span: EvidenceSpan) -> i64 {
    let t = t.and_utc().timestamp();
    let (first, last) = (span.first.timestamp(), span.last.timestamp());
    if t < first {
        first - t
    } else {
        t.saturating_sub(last).max(0)
    }
}

/// The year that puts `month`/`day` in the evidence span or nearest to it: the latest year
/// whose date is not after the span's end (plus a day), unless the year after lies nearer.
pub(crate) fn evidence_year(month: u32, day: u32, time: NaiveTime, span: EvidenceSpan) -> i32 {
    let y0 = infer_year(month, day, span.last);
    let best = [y0 - 1, y0, y0 + 1]
        .into_iter()
        .filter_map(|y| date_in(y, month, day, time).map(|d| (distance(d, span), y)))
        // Nearest; among equals (inside the span) the latest, as the mtime rule does.
        .min_by_key(|(dist, y)| (*dist, std::cmp::Reverse(*y)));
    best.map(|(_, y)| y).unwrap_or(y0)
}

/// The year of a line that follows one dated `prev`: the one that puts it nearest after (or
/// slightly before) `prev`, so that a January line after December is the next year while
/// lines a little out of order stay in the same year.
fn following_year(month: u32, day: u32, time: NaiveTime, prev: NaiveDateTime) -> Option<i32> {
    let y = prev.year();
    [y, y + 1, y - 1]
        .into_iter()
        .filter_map(|y| date_in(y, month, day, time).map(|d| (d, y)))
        .min_by_key(|(d, _)| (d.signed_duration_since(prev).num_seconds()).abs())
        .map(|(_, y)| y)
}

/// The year state of one stream of RFC 3164 lines. With a fixed year or the file's time the
/// year of each line depends on that line alone (so chunks of a file read in parallel agree);
/// with an evidence span the first line is placed by the span and each later one follows on
/// from the line before it (a new chunk starts afresh from the span).
#[derive(Clone)]
pub(crate) struct YearTracker {
    rule: YearRule,
    prev: Option<NaiveDateTime>,
}

impl YearTracker {
    pub(crate) fn new(rule: YearRule) -> Self {
        YearTracker { rule, prev: None }
    }

    /// The date and time of a line's `month`, `day` and `time`; `None` when no year makes it a
    /// date (29 February of a year that is not a leap year).
    pub(crate) fn date(&mut self, month: u32, day: u32, time: NaiveTime) -> Option<NaiveDateTime> {
        let year = match self.rule {
            YearRule::Fixed(y) => y,
            YearRule::FromMtime(m) => infer_year(month, day, m),
            YearRule::FromEvidence(span) => self
                .prev
                .and_then(|p| following_year(month, day, time, p))
                .unwrap_or_else(|| evidence_year(month, day, time, span)),
        };
        let at = date_in(year, month, day, time)?;
        if matches!(self.rule, YearRule::FromEvidence(_)) {
            self.prev = Some(at);
        }
        Some(at)
    }
}

/// Parses one syslog line into `ev`; `Ok(true)` when the time zone was assumed.
pub(crate) fn parse(
    line: &[u8],
    ev: &mut Event,
    years: &mut YearTracker,
) -> Result<bool, &'static str> {
    if let Some(c) = re5424().captures(line) {
        let pri: Option<u32> = c.get(1).and_then(|m| s(m.as_bytes()).parse().ok());
        let ts = c.get(2).map(|m| s(m.as_bytes())).unwrap_or_default();
        let mut assumed = false;
        if ts != "-" {
            let (t, a) = crate::time::parse_iso(&ts).ok_or("bad RFC 5424 timestamp")?;
            ev.timestamp = Some(t);
            assumed = a;
        }
        let nil = |i: usize| c.get(i).map(|m| m.as_bytes()).filter(|b| *b != b"-");
        if let Some(h) = nil(3) {
            crate::names::push(ev, "host", s(h));
        }
        let program = nil(4).map(s);
        if let Some(p) = &program {
            crate::names::push(ev, "program", p.as_str());
        }
        if let Some(p) = nil(5) {
            crate::names::push(ev, "pid", pid_value(p));
        }
        if let Some(m) = nil(6) {
            crate::names::push(ev, "msgid", s(m));
        }
        if let Some(p) = pri.filter(|p| *p <= 191) {
            crate::names::push(ev, "facility", Value::Int(i64::from(p / 8)));
            crate::names::push(ev, "severity", Value::Int(i64::from(p % 8)));
        }
        let msg = c.get(8).map(|m| m.as_bytes()).unwrap_or_default();
        let msg = msg.strip_prefix("\u{feff}".as_bytes()).unwrap_or(msg);
        let msg = s(msg);
        ev.logsource = logsource_for(program.as_deref());
        auth_extras(program.as_deref(), &msg, ev);
        crate::names::push(ev, "message", msg);
        return Ok(assumed);
    }
    let c = re3164().captures(line).ok_or("not a syslog line")?;
    let month = c
        .get(2)
        .and_then(|m| month_number(m.as_bytes()))
        .ok_or("bad month")?;
    let day: u32 = c
        .get(3)
        .and_then(|m| s(m.as_bytes()).parse().ok())
        .ok_or("bad day")?;
    let time = c
        .get(4)
        .and_then(|m| NaiveTime::parse_from_str(&s(m.as_bytes()), "%H:%M:%S").ok())
        .ok_or("bad time")?;
    let at = years.date(month, day, time).ok_or("bad date")?;
    ev.timestamp = Some(Utc.from_utc_datetime(&at));
    if let Some(h) = c.get(5) {
        crate::names::push(ev, "host", s(h.as_bytes()));
    }
    let rest = c.get(6).map(|m| m.as_bytes()).unwrap_or_default();
    let (program, msg) = match tag_re().captures(rest) {
        Some(t) => {
            let program = t.get(1).map(|m| s(m.as_bytes()));
            if let Some(p) = &program {
                crate::names::push(ev, "program", p.as_str());
            }
            if let Some(p) = t.get(2) {
                crate::names::push(ev, "pid", pid_value(p.as_bytes()));
            }
            (
                program,
                t.get(3).map(|m| s(m.as_bytes())).unwrap_or_default(),
            )
        }
        None => (None, s(rest)),
    };
    ev.logsource = logsource_for(program.as_deref());
    auth_extras(program.as_deref(), &msg, ev);
    crate::names::push(ev, "message", msg);
    Ok(true)
}

fn pid_value(p: &[u8]) -> Value {
    s(p).parse::<i64>()
        .map(Value::Int)
        .unwrap_or_else(|_| Value::str(s(p)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use spoor_event::{field_text, Position};

    fn mtime(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn year_rolls_back_past_mtime() {
        let m = mtime("2025-02-10T00:00:00Z");
        assert_eq!(infer_year(1, 31, m), 2025);
        assert_eq!(infer_year(2, 11, m), 2025);
        assert_eq!(infer_year(2, 12, m), 2024);
        assert_eq!(infer_year(12, 31, m), 2024);
        assert_eq!(infer_year(2, 29, m), 2024);
    }

    fn span(a: &str, b: &str) -> EvidenceSpan {
        EvidenceSpan::new(mtime(a), mtime(b))
    }

    fn noon() -> NaiveTime {
        NaiveTime::from_hms_opt(12, 0, 0).unwrap()
    }

    #[test]
    fn evidence_year_is_nearest_the_span() {
        let july = span("2024-06-30T00:00:00Z", "2024-07-08T23:00:00Z");
        assert_eq!(evidence_year(7, 1, noon(), july), 2024);
        assert_eq!(evidence_year(6, 1, noon(), july), 2024);
        // Five months after the span is nearer than seven months before it, and conversely.
        assert_eq!(evidence_year(12, 20, noon(), july), 2024);
        assert_eq!(evidence_year(1, 5, noon(), july), 2024);
        assert_eq!(evidence_year(2, 1, noon(), july), 2024);
        assert_eq!(evidence_year(2, 29, noon(), july), 2024);
        let new_year = span("2023-12-28T00:00:00Z", "2024-01-03T00:00:00Z");
        assert_eq!(evidence_year(12, 30, noon(), new_year), 2023);
        assert_eq!(evidence_year(1, 2, noon(), new_year), 2024);
        // A span of many years (an outlier in the evidence): the latest year inside it.
        let wide = span("1601-01-01T00:00:00Z", "2024-07-08T00:00:00Z");
        assert_eq!(evidence_year(3, 1, noon(), wide), 2024);
        assert_eq!(evidence_year(9, 1, noon(), wide), 2023);
    }

    #[test]
    fn lines_after_the_first_follow_on() {
        let nov = span("2024-11-01T00:00:00Z", "2024-11-30T00:00:00Z");
        let mut years = YearTracker::new(YearRule::FromEvidence(nov));
        let mut at = |m, d, h| {
            years
                .date(m, d, NaiveTime::from_hms_opt(h, 0, 0).unwrap())
                .map(|t| t.format("%Y-%m-%d %H").to_string())
        };
        assert_eq!(at(11, 28, 1).as_deref(), Some("2024-11-28 01"));
        assert_eq!(at(12, 31, 23).as_deref(), Some("2024-12-31 23"));
        assert_eq!(at(1, 1, 0).as_deref(), Some("2025-01-01 00"));
        // A little out of order across the new year: still the year before.
        assert_eq!(at(12, 31, 22).as_deref(), Some("2024-12-31 22"));
        assert_eq!(at(3, 3, 0).as_deref(), Some("2025-03-03 00"));
        // 29 February: the nearest year that has one.
        assert_eq!(at(2, 29, 0).as_deref(), Some("2024-02-29 00"));
        let mut odd = YearTracker::new(YearRule::Fixed(2023));
        assert_eq!(odd.date(2, 29, noon()), None);
        // The mtime rule is per line: a fresh clone's time puts each line on its own.
        let mut clone = YearTracker::new(YearRule::FromMtime(mtime("2026-12-01T00:00:00Z")));
        let d = clone.date(12, 31, noon()).unwrap();
        assert_eq!(d.year(), 2025);
        assert_eq!(clone.date(1, 1, noon()).unwrap().year(), 2026);
        // A fixed year is fixed.
        let mut fixed = YearTracker::new(YearRule::Fixed(2019));
        assert_eq!(fixed.date(12, 31, noon()).unwrap().year(), 2019);
        assert_eq!(fixed.date(1, 1, noon()).unwrap().year(), 2019);
    }

    #[test]
    fn extreme_spans_do_not_panic() {
        let (min, max) = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
        for s in [
            EvidenceSpan::new(min, max),
            EvidenceSpan::new(min, min),
            EvidenceSpan::new(max, max),
        ] {
            let mut t = YearTracker::new(YearRule::FromEvidence(s));
            for (m, d) in [(1, 1), (12, 31), (2, 29), (6, 15)] {
                let _ = t.date(m, d, noon());
            }
            let mut t = YearTracker::new(YearRule::FromMtime(s.first));
            let _ = t.date(12, 31, noon());
        }
    }

    #[test]
    fn rfc3164_line() {
        let mut e = Event::new("t", Position::Line(1));
        let assumed = parse(
            b"Mar 13 04:05:47 combo sshd(pam_unix)[19929]: session opened",
            &mut e,
            &mut YearTracker::new(YearRule::Fixed(2005)),
        )
        .unwrap();
        assert!(assumed);
        assert_eq!(
            e.timestamp.unwrap().to_rfc3339(),
            "2005-03-13T04:05:47+00:00"
        );
        assert_eq!(field_text(&e.fields, "host").as_deref(), Some("combo"));
        assert_eq!(
            field_text(&e.fields, "program").as_deref(),
            Some("sshd(pam_unix)")
        );
        assert_eq!(e.get("pid"), Some(&Value::Int(19929)));
        let mut e = Event::new("t", Position::Line(1));
        parse(
            b"Jan  2 03:04:05 h kernel: Linux version",
            &mut e,
            &mut YearTracker::new(YearRule::Fixed(2024)),
        )
        .unwrap();
        assert_eq!(e.logsource.service.as_deref(), Some("syslog"));
        assert_eq!(
            field_text(&e.fields, "message").as_deref(),
            Some("Linux version")
        );
        assert!(parse(
            b"Foo 2 03:04:05 h x",
            &mut Event::new("t", Position::Line(1)),
            &mut YearTracker::new(YearRule::Fixed(2024))
        )
        .is_err());
        assert!(parse(
            b"Feb 31 03:04:05 h x",
            &mut Event::new("t", Position::Line(1)),
            &mut YearTracker::new(YearRule::Fixed(2024))
        )
        .is_err());
    }

    #[test]
    fn invalid_utf8_and_control_bytes_kept_lossily() {
        let mut e = Event::new("t", Position::Line(1));
        parse(b"Mar 16 05:39:05 combo rpc.statd[1601]: gethostbyname error for \x18\xf7\xff\xbf%8x%hn\x1b[0m", &mut e, &mut YearTracker::new(YearRule::Fixed(2005))).unwrap();
        assert_eq!(
            field_text(&e.fields, "program").as_deref(),
            Some("rpc.statd")
        );
        let msg = field_text(&e.fields, "message").unwrap();
        assert!(
            msg.starts_with("gethostbyname error for \u{18}\u{fffd}"),
            "{msg:?}"
        );
        assert!(msg.ends_with("%8x%hn\u{1b}[0m"));
    }

    #[test]
    fn rfc5424_line() {
        let mut e = Event::new("t", Position::Line(1));
        let assumed = parse(br#"<38>1 2024-01-02T03:04:05.5+01:00 web1 sshd 4321 - [x@1 a="\]b"] Accepted password for root from 10.1.1.1 port 5022 ssh2"#, &mut e, &mut YearTracker::new(YearRule::Fixed(2000))).unwrap();
        assert!(!assumed);
        assert_eq!(
            e.timestamp.unwrap().to_rfc3339(),
            "2024-01-02T02:04:05.500+00:00"
        );
        assert_eq!(e.logsource.service.as_deref(), Some("sshd"));
        assert_eq!(e.get("facility"), Some(&Value::Int(4)));
        assert_eq!(
            field_text(&e.fields, "event.outcome").as_deref(),
            Some("success")
        );
        assert_eq!(
            field_text(&e.fields, "source.ip").as_deref(),
            Some("10.1.1.1")
        );
    }

    #[test]
    fn services() {
        assert_eq!(logsource_for(Some("sudo")).service.as_deref(), Some("sudo"));
        assert_eq!(
            logsource_for(Some("/usr/sbin/cron")).service.as_deref(),
            Some("cron")
        );
        assert_eq!(
            logsource_for(Some("useradd")).service.as_deref(),
            Some("auth")
        );
        assert_eq!(
            logsource_for(Some("named")).service.as_deref(),
            Some("syslog")
        );
        assert_eq!(logsource_for(None).product.as_deref(), Some("linux"));
    }
}
