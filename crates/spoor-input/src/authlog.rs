//! ECS-style extras from authentication lines (sshd, sudo, su), so that hunts for logins and
//! privilege changes do not each re-parse the message: `event.action` (`ssh_login`, `sudo`,
//! `su`), `event.outcome` (`success` / `failure`), `user.name`, `source.ip`, `source.port`,
//! `ssh.method`, `sudo.target_user`, `sudo.command`.

use regex::Regex;
use spoor_event::{Event, Value};
use std::sync::OnceLock;

struct Patterns {
    ssh_ok: Regex,
    ssh_fail: Regex,
    ssh_invalid: Regex,
    sudo_cmd: Regex,
    sudo_fail: Regex,
    su_ok: Regex,
    su_fail: Regex,
    su_pam: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let r = |s: &str| Regex::new(s).unwrap_or_else(|_| unreachable!("constant regex"));
        Patterns {
            ssh_ok: r(r"^Accepted (\S+) for (\S+) from (\S+) port (\d+)"),
            ssh_fail: r(r"^Failed (\S+) for (?:invalid user )?(\S*) from (\S+) port (\d+)"),
            ssh_invalid: r(r"^[Ii]nvalid user (\S*) from (\S+)(?: port (\d+))?"),
            sudo_cmd: r(r"^\s*(\S+) : (?:(.*?) ; )?TTY=.*? ; PWD=.*? ; USER=(\S+) ; (?:.*? ; )?COMMAND=(.*)$"),
            sudo_fail: r(r"(?:authentication failure|incorrect password attempts?|user NOT in sudoers|command not allowed)"),
            su_ok: r(r"^(?:\(to (\S+)\) (\S+) on|Successful su for (\S+) by (\S+))"),
            su_fail: r(r"^(?:FAILED SU \(to (\S+)\) (\S+) on|FAILED su for (\S+) by (\S+))"),
            su_pam: r(r"session opened for user (\S+?)(?:\(uid=\d+\))? by (\S*?)(?:\(uid=\d+\))?$"),
        }
    })
}

/// The program name without path, `(pam_unix)`-style suffix or case (`sshd-session` -> `sshd`).
pub(crate) fn base_program(program: &str) -> String {
    let p = program.rsplit('/').next().unwrap_or(program);
    let p = p.split('(').next().unwrap_or(p);
    let p = p.to_ascii_lowercase();
    if p == "sshd-session" {
        "sshd".into()
    } else {
        p
    }
}

fn port(v: Option<regex::Match<'_>>) -> Option<Value> {
    v.and_then(|m| m.as_str().parse::<i64>().ok())
        .map(Value::Int)
}

/// Adds the extras for an sshd, sudo or su `message` to `ev`; other programs are left alone.
pub(crate) fn auth_extras(program: Option<&str>, message: &str, ev: &mut Event) {
    let Some(program) = program else { return };
    let p = patterns();
    match base_program(program).as_str() {
        "sshd" => {
            let (c, outcome, user_i, ip_i, port_i, method) =
                if let Some(c) = p.ssh_ok.captures(message) {
                    (c, "success", 2, 3, 4, true)
                } else if let Some(c) = p.ssh_fail.captures(message) {
                    (c, "failure", 2, 3, 4, true)
                } else if let Some(c) = p.ssh_invalid.captures(message) {
                    (c, "failure", 1, 2, 3, false)
                } else {
                    return;
                };
            crate::names::push(ev, "event.action", "ssh_login");
            crate::names::push(ev, "event.outcome", outcome);
            if let Some(u) = c.get(user_i) {
                crate::names::push(ev, "user.name", u.as_str());
            }
            if let Some(ip) = c.get(ip_i) {
                crate::names::push(ev, "source.ip", ip.as_str());
            }
            if let Some(pt) = port(c.get(port_i)) {
                crate::names::push(ev, "source.port", pt);
            }
            if method {
                if let Some(m) = c.get(1) {
                    crate::names::push(ev, "ssh.method", m.as_str());
                }
            }
        }
        "sudo" => {
            if let Some(c) = p.sudo_cmd.captures(message) {
                let failed = c.get(2).is_some_and(|m| p.sudo_fail.is_match(m.as_str()));
                crate::names::push(ev, "event.action", "sudo");
                crate::names::push(
                    ev,
                    "event.outcome",
                    if failed { "failure" } else { "success" },
                );
                if let Some(u) = c.get(1) {
                    crate::names::push(ev, "user.name", u.as_str());
                }
                if let Some(t) = c.get(3) {
                    crate::names::push(ev, "sudo.target_user", t.as_str());
                }
                if let Some(cmd) = c.get(4) {
                    crate::names::push(ev, "sudo.command", cmd.as_str());
                }
            } else if p.sudo_fail.is_match(message) {
                crate::names::push(ev, "event.action", "sudo");
                crate::names::push(ev, "event.outcome", "failure");
            }
        }
        "su" => {
            let (c, outcome) = if let Some(c) = p.su_fail.captures(message) {
                (c, "failure")
            } else if let Some(c) = p.su_ok.captures(message) {
                (c, "success")
            } else if let Some(c) = p.su_pam.captures(message) {
                crate::names::push(ev, "event.action", "su");
                crate::names::push(ev, "event.outcome", "success");
                if let Some(by) = c.get(2).filter(|m| !m.as_str().is_empty()) {
                    crate::names::push(ev, "user.name", by.as_str());
                }
                if let Some(t) = c.get(1) {
                    crate::names::push(ev, "sudo.target_user", t.as_str());
                }
                return;
            } else {
                return;
            };
            crate::names::push(ev, "event.action", "su");
            crate::names::push(ev, "event.outcome", outcome);
            // Either "(to target) user" or "for target by user".
            let (target, user) = match (c.get(1), c.get(2), c.get(3), c.get(4)) {
                (Some(t), Some(u), _, _) | (_, _, Some(t), Some(u)) => (t.as_str(), u.as_str()),
                _ => return,
            };
            crate::names::push(ev, "user.name", user);
            crate::names::push(ev, "sudo.target_user", target);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spoor_event::{field_text, Position};

    fn run(program: &str, msg: &str) -> Event {
        let mut e = Event::new("t", Position::Line(1));
        auth_extras(Some(program), msg, &mut e);
        e
    }

    #[test]
    fn sshd() {
        let e = run(
            "sshd",
            "Failed password for invalid user admin from 1.2.3.4 port 4444 ssh2",
        );
        assert_eq!(
            field_text(&e.fields, "event.outcome").as_deref(),
            Some("failure")
        );
        assert_eq!(field_text(&e.fields, "user.name").as_deref(), Some("admin"));
        assert_eq!(e.get("source.port"), Some(&Value::Int(4444)));
        assert_eq!(
            field_text(&e.fields, "ssh.method").as_deref(),
            Some("password")
        );
        let e = run(
            "sshd",
            "Accepted publickey for alice from ::1 port 22 ssh2: RSA SHA256:x",
        );
        assert_eq!(
            field_text(&e.fields, "event.outcome").as_deref(),
            Some("success")
        );
        assert_eq!(field_text(&e.fields, "source.ip").as_deref(), Some("::1"));
        let e = run("sshd", "Illegal user x from 1.2.3.4");
        assert!(e.fields.is_empty());
        let e = run("sshd", "Invalid user  from 1.2.3.4 port 1");
        assert_eq!(field_text(&e.fields, "user.name").as_deref(), Some(""));
    }

    #[test]
    fn sudo_and_su() {
        let e = run(
            "sudo",
            "   bob : TTY=pts/0 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/cat /etc/shadow",
        );
        assert_eq!(field_text(&e.fields, "user.name").as_deref(), Some("bob"));
        assert_eq!(
            field_text(&e.fields, "sudo.target_user").as_deref(),
            Some("root")
        );
        assert_eq!(
            field_text(&e.fields, "sudo.command").as_deref(),
            Some("/bin/cat /etc/shadow")
        );
        assert_eq!(
            field_text(&e.fields, "event.outcome").as_deref(),
            Some("success")
        );
        let e = run(
            "sudo",
            "bob : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/sh",
        );
        assert_eq!(
            field_text(&e.fields, "event.outcome").as_deref(),
            Some("failure")
        );
        let e = run("su", "FAILED su for root by mallory");
        assert_eq!(
            field_text(&e.fields, "event.outcome").as_deref(),
            Some("failure")
        );
        assert_eq!(
            field_text(&e.fields, "user.name").as_deref(),
            Some("mallory")
        );
        let e = run(
            "su",
            "pam_unix(su:session): session opened for user root by alice(uid=1000)",
        );
        assert_eq!(field_text(&e.fields, "user.name").as_deref(), Some("alice"));
        let e = run("cron", "FAILED su for root by x");
        assert!(e.fields.is_empty());
    }
}
