//! A Linux fixture event of a syslog service (`sshd`, `sudo`, `su`, ...) written out as an
//! RFC 3164 syslog line (`Jul 12 00:00:00 host program[pid]: message`) and read back by spoor's
//! syslog reader, which derives the ECS-style fields (`event.action`, `user.name`, `source.ip`,
//! ...) from the message. A fixture that states those fields must state what the reader
//! derives; an sshd login stated by its fields alone (the correlation scenarios) gets the
//! message sshd writes for it.

use crate::readback::{field, logsource_fits, read_one, stated_fields_kept, Empty};
use spoor_event::Event;
use spoor_input::InputFormat;

/// Reads `fixture` back through the syslog reader.
pub fn read_back(fixture: &Event) -> Result<Event, String> {
    let read = read_one("log/auth.log", InputFormat::Syslog, &syslog_line(fixture)?)?;
    logsource_fits(&fixture.logsource, &read.logsource)?;
    stated_fields_kept(fixture, &read, Empty::Absent)?;
    Ok(read)
}

fn syslog_line(ev: &Event) -> Result<String, String> {
    let service = ev.logsource.service.as_deref();
    let program = field(ev, "program")
        .or_else(|| service.map(str::to_string))
        .ok_or("a syslog fixture needs a program or a service")?;
    let message = match field(ev, "message") {
        Some(m) => m,
        None => sshd_message(ev)?,
    };
    if message.contains('\n') || message.contains('\r') {
        return Err("a syslog message is one line".to_string());
    }
    let pid = field(ev, "pid")
        .map(|p| format!("[{p}]"))
        .unwrap_or_default();
    Ok(format!(
        "Jul 12 00:00:00 {} {program}{pid}: {message}\n",
        field(ev, "host").unwrap_or_else(|| "web01".into())
    ))
}

/// The line sshd writes for a login stated by its fields (`event.outcome`, `user.name`,
/// `source.ip`, `ssh.method`).
fn sshd_message(ev: &Event) -> Result<String, String> {
    if field(ev, "event.action").as_deref() != Some("ssh_login") {
        return Err("a syslog fixture without a message must be an ssh_login".to_string());
    }
    let user = field(ev, "user.name").ok_or("an ssh_login needs user.name")?;
    let ip = field(ev, "source.ip").ok_or("an ssh_login needs source.ip")?;
    let method = field(ev, "ssh.method").unwrap_or_else(|| "password".into());
    let verb = match field(ev, "event.outcome").as_deref() {
        Some("success") => "Accepted",
        Some("failure") => "Failed",
        other => {
            return Err(format!(
                "an ssh_login outcome is success or failure, not {other:?}"
            ))
        }
    };
    Ok(format!("{verb} {method} for {user} from {ip} port 22 ssh2"))
}
