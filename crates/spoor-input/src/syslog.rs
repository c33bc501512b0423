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
//! that span less than a year, which rotated logs do; [`crate::ReadOptions::syslog_year`]
//! overrides it. The time has no zone either: it is taken as UTC and the file flagged
//! `timezone_assumed`.
//!
//! Log source: product `linux`; service `sshd`, `sudo`, `su`, `cron`, `vsftpd` for those
//! programs, `auth` for other authentication programs (`login`, `passwd`, `useradd`,
//! `systemd-logind`, ...), else `syslog`.

use crate::authlog::auth_extras;
use crate::time::month_number;
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Utc};
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
const OWN_SERVICE: [&str; 5] = ["sshd", "sudo", "su", "cron", "vsftpd"];

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
}

/// Parses one syslog line into `ev`; `Ok(true)` when the time zone was assumed.
pub(crate) fn parse(line: &[u8], ev: &mut Event, year: YearRule) -> Result<bool, &'static str> {
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
    let y = match year {
        YearRule::Fixed(y) => y,
        YearRule::FromMtime(m) => infer_year(month, day, m),
    };
    let date = NaiveDate::from_ymd_opt(y, month, day).ok_or("bad date")?;
    ev.timestamp = Some(Utc.from_utc_datetime(&date.and_time(time)));
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

    #[test]
    fn rfc3164_line() {
        let mut e = Event::new("t", Position::Line(1));
        let assumed = parse(
            b"Mar 13 04:05:47 combo sshd(pam_unix)[19929]: session opened",
            &mut e,
            YearRule::Fixed(2005),
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
            YearRule::Fixed(2024),
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
            YearRule::Fixed(2024)
        )
        .is_err());
        assert!(parse(
            b"Feb 31 03:04:05 h x",
            &mut Event::new("t", Position::Line(1)),
            YearRule::Fixed(2024)
        )
        .is_err());
    }

    #[test]
    fn invalid_utf8_and_control_bytes_kept_lossily() {
        let mut e = Event::new("t", Position::Line(1));
        parse(b"Mar 16 05:39:05 combo rpc.statd[1601]: gethostbyname error for \x18\xf7\xff\xbf%8x%hn\x1b[0m", &mut e, YearRule::Fixed(2005)).unwrap();
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
        let assumed = parse(br#"<38>1 2024-01-02T03:04:05.5+01:00 web1 sshd 4321 - [x@1 a="\]b"] Accepted password for root from 10.1.1.1 port 5022 ssh2"#, &mut e, YearRule::Fixed(2000)).unwrap();
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
