//! Linux audit logs (`/var/log/audit/audit.log`): each record an event with the field names of
//! SigmaHQ's `product: linux, service: auditd` rules.
//!
//! Why a reader of its own: on a Linux server the kernel's audit trail is where an exploited
//! Java service (Log4j, Confluence) shows the shell it spawned (`EXECVE`, `SYSCALL`, `PATH`
//! records), and syslog does not carry it.
//!
//! Layout (Red Hat's and linux-audit's documentation): `[node=NAME ]type=TYPE
//! msg=audit(SECONDS.MILLIS:SERIAL): key=value ...`. Values are bare, `"double quoted"` (taken
//! literally) or, for the `msg='...'` of user-space records, `'single quoted'` holding more
//! pairs (read as fields too). Fields that auditd *encodes* (strings a user controls: `exe`,
//! `comm`, `name`, `cwd`, `proctitle`, `key`, the `a0`.. of `EXECVE`, ...) are written quoted
//! when plain and as bare hexadecimal otherwise; bare hex of those fields is decoded (`proctitle`
//! NULs become spaces, `key`s joined by `\x01` become a list), bare values of other fields (the
//! hex numbers `a0=7ffd...` of `SYSCALL`) stay as written. `EXECVE` arguments split into pieces
//! (`a2_len=...` `a2[0]=...` `a2[1]=...`) are joined back into `a2`. With `log_format=ENRICHED`
//! a `\x1d` separates the raw fields from the interpreted ones (`ARCH=x86_64 SYSCALL=execve
//! AUID="root"`), kept under their upper-case names. Without them, `SYSCALL` is filled from the
//! x86_64 syscall number for the calls SigmaHQ's rules name.
//!
//! The time is the record's `audit(...)` stamp (UTC); `type` is the record type. Records of one
//! event share the serial; [`crate::auditjoin`] combines them into `process_creation` events.

use chrono::{DateTime, Utc};
use spoor_event::Value;

/// The raw record, cut into its parts.
#[derive(Debug, PartialEq)]
pub(crate) struct AuditRecord<'a> {
    /// `node=` of a forwarded record.
    pub node: Option<&'a [u8]>,
    /// `SYSCALL`, `EXECVE`, ...
    pub record_type: &'a [u8],
    /// The `audit(...)` time.
    pub time: DateTime<Utc>,
    /// The `audit(...)` serial: records of one event share it.
    pub serial: u64,
    /// The fields after the header, in order, decoded.
    pub fields: Vec<(String, Value)>,
}

/// Most fields taken from one record (a hostile line of a million `a=b` pairs stops here).
const MAX_FIELDS: usize = 512;

/// Most pieces (`a2[N]`) joined into one `EXECVE` argument.
const MAX_PIECES: usize = 4096;

/// Fields auditd writes as bare hex when their text needs encoding (linux-audit's
/// "escaped" fields), besides the `a0`.. of `EXECVE`.
const ENCODED: [&str; 17] = [
    "acct",
    "cmd",
    "comm",
    "cwd",
    "data",
    "dir",
    "exe",
    "file",
    "key",
    "name",
    "ocomm",
    "path",
    "proctitle",
    "root_dir",
    "sw",
    "vm",
    "watch",
];

/// x86_64 system call numbers of the calls SigmaHQ's auditd rules name by `SYSCALL`, for
/// logs written without `log_format=ENRICHED`.
const X86_64_SYSCALLS: [(i64, &str); 14] = [
    (2, "open"),
    (59, "execve"),
    (62, "kill"),
    (90, "chmod"),
    (99, "sysinfo"),
    (101, "ptrace"),
    (133, "mknod"),
    (165, "mount"),
    (175, "init_module"),
    (257, "openat"),
    (259, "mknodat"),
    (313, "finit_module"),
    (319, "memfd_create"),
    (322, "execveat"),
];

/// `arch=` of x86_64 records.
const ARCH_X86_64: &str = "c000003e";

/// Whether a line looks like an audit record (for sniffing; cheaper than [`parse`]).
pub(crate) fn looks_like_record(line: &[u8]) -> bool {
    let body = strip_node(line).1;
    body.starts_with(b"type=") && memchr::memmem::find(body, b" msg=audit(").is_some()
}

/// Splits off a leading `node=NAME ` prefix.
fn strip_node(line: &[u8]) -> (Option<&[u8]>, &[u8]) {
    let Some(rest) = line.strip_prefix(b"node=") else {
        return (None, line);
    };
    match memchr::memchr(b' ', rest) {
        Some(i) => (
            rest.get(..i),
            rest.get(i + 1..).unwrap_or_default().trim_ascii_start(),
        ),
        None => (Some(rest), &b""[..]),
    }
}

fn digits(b: &[u8], max: usize) -> Option<u64> {
    if b.is_empty() || b.len() > max || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// `1700000000.123:456` -> the time and the serial.
fn stamp(b: &[u8]) -> Option<(DateTime<Utc>, u64)> {
    let colon = memchr::memchr(b':', b)?;
    let (time, serial) = (b.get(..colon)?, b.get(colon + 1..)?);
    let serial = digits(serial, 20)?;
    let (secs, frac) = match memchr::memchr(b'.', time) {
        Some(i) => (time.get(..i)?, time.get(i + 1..)?),
        None => (time, &b""[..]),
    };
    let secs = i64::try_from(digits(secs, 12)?).ok()?;
    let nanos = if frac.is_empty() {
        0
    } else {
        let n = digits(frac, 9)?;
        let scale = 10u64.pow(9 - frac.len() as u32);
        u32::try_from(n * scale).ok()?
    };
    Some((DateTime::from_timestamp(secs, nanos)?, serial))
}

/// How a value was written.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Quoting {
    Bare,
    Double,
    Single,
}

/// One `key=value` of a record's body.
struct Pair<'a> {
    key: &'a [u8],
    value: &'a [u8],
    quoting: Quoting,
    /// After the `\x1d` of an enriched record: interpreted, never decoded.
    interpreted: bool,
}

fn is_separator(b: u8) -> bool {
    b == b' ' || b == b'\t' || b == 0x1d
}

/// The pairs of a record's body. Tokens without `=` are passed over.
fn pairs(body: &[u8]) -> Vec<Pair<'_>> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut interpreted = false;
    while i < body.len() && out.len() < MAX_FIELDS {
        let Some(&b) = body.get(i) else { break };
        if is_separator(b) {
            interpreted |= b == 0x1d;
            i += 1;
            continue;
        }
        let start = i;
        while body.get(i).is_some_and(|&c| c != b'=' && !is_separator(c)) {
            i += 1;
        }
        if body.get(i) != Some(&b'=') {
            continue; // a bare word
        }
        let key = body.get(start..i).unwrap_or_default();
        i += 1;
        let (quoting, close) = match body.get(i) {
            Some(b'"') => (Quoting::Double, Some(b'"')),
            Some(b'\'') => (Quoting::Single, Some(b'\'')),
            _ => (Quoting::Bare, None),
        };
        let value = match close {
            Some(q) => {
                let from = i + 1;
                let len = memchr::memchr(q, body.get(from..).unwrap_or_default())
                    .unwrap_or(body.len().saturating_sub(from));
                i = from + len + 1;
                body.get(from..from + len).unwrap_or_default()
            }
            None => {
                let from = i;
                while body.get(i).is_some_and(|&c| !is_separator(c)) {
                    i += 1;
                }
                body.get(from..i).unwrap_or_default()
            }
        };
        if !key.is_empty() {
            out.push(Pair {
                key,
                value,
                quoting,
                interpreted,
            });
        }
    }
    out
}

/// Bare hex (even length, not empty) decoded; `None` if it is not hex.
fn unhex(b: &[u8]) -> Option<Vec<u8>> {
    if b.is_empty() || !b.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| char::from(c).to_digit(16);
    b.chunks_exact(2)
        .map(|p| match p {
            [h, l] => Some((nibble(*h)? * 16 + nibble(*l)?) as u8),
            _ => None,
        })
        .collect()
}

/// Whether `key` is an `EXECVE` argument (`a0`, `a12`) or a piece of one (`a2[3]`).
fn execve_arg(key: &str) -> Option<(&str, bool)> {
    let rest = key.strip_prefix('a')?;
    match rest.split_once('[') {
        Some((n, piece)) => {
            let ok = !n.is_empty()
                && n.bytes().all(|c| c.is_ascii_digit())
                && piece
                    .strip_suffix(']')
                    .is_some_and(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()));
            ok.then(|| (key.get(..n.len() + 1).unwrap_or(key), true))
        }
        None => {
            (!rest.is_empty() && rest.bytes().all(|c| c.is_ascii_digit())).then_some((key, false))
        }
    }
}

/// The value of one field as Sigma rules see it.
fn decode(key: &str, record_type: &[u8], p: &Pair<'_>) -> Value {
    if p.quoting != Quoting::Bare || p.interpreted {
        return Value::str(String::from_utf8_lossy(p.value));
    }
    if p.value == b"(null)" {
        return Value::Null;
    }
    let encoded = ENCODED.contains(&key) || (record_type == b"EXECVE" && execve_arg(key).is_some());
    let Some(bytes) = encoded.then(|| unhex(p.value)).flatten() else {
        return Value::str(String::from_utf8_lossy(p.value));
    };
    match key {
        "proctitle" => {
            let text: Vec<u8> = bytes
                .iter()
                .map(|&b| if b == 0 { b' ' } else { b })
                .collect();
            Value::str(String::from_utf8_lossy(text.trim_ascii_end()))
        }
        "key" if bytes.contains(&1) => Value::Array(
            bytes
                .split(|&b| b == 1)
                .map(|k| Value::str(String::from_utf8_lossy(k)))
                .collect(),
        ),
        _ => Value::str(String::from_utf8_lossy(&bytes)),
    }
}

/// Parses one audit record.
pub(crate) fn parse(line: &[u8]) -> Result<AuditRecord<'_>, &'static str> {
    let (node, rest) = strip_node(line.trim_ascii_end());
    let rest = rest
        .strip_prefix(b"type=")
        .ok_or("no type= (not an audit record)")?;
    let sp = memchr::memchr(b' ', rest).ok_or("no msg=audit(...) after type=")?;
    let record_type = rest.get(..sp).unwrap_or_default();
    if record_type.is_empty() {
        return Err("empty record type");
    }
    let rest = rest.get(sp + 1..).unwrap_or_default().trim_ascii_start();
    let rest = rest
        .strip_prefix(b"msg=audit(")
        .ok_or("no msg=audit(...) after type=")?;
    let close = memchr::memchr(b')', rest).ok_or("unclosed audit(...)")?;
    let (time, serial) =
        stamp(rest.get(..close).unwrap_or_default()).ok_or("bad audit(time:serial)")?;
    let body = rest.get(close + 1..).unwrap_or_default();
    let body = body.strip_prefix(b":").unwrap_or(body);
    let mut fields = fields_of(record_type, body);
    fill_syscall_name(&mut fields);
    Ok(AuditRecord {
        node,
        record_type,
        time,
        serial,
        fields,
    })
}

/// The decoded fields of a body; a `msg='...'` is kept and its pairs are read too.
fn fields_of(record_type: &[u8], body: &[u8]) -> Vec<(String, Value)> {
    let mut fields: Vec<(String, Value)> = Vec::new();
    let mut pieces: Vec<(String, Vec<u8>, usize)> = Vec::new();
    for p in pairs(body) {
        let key = String::from_utf8_lossy(p.key).into_owned();
        if p.quoting == Quoting::Single && key == "msg" {
            fields.push((key, Value::str(String::from_utf8_lossy(p.value))));
            for inner in pairs(p.value) {
                let k = String::from_utf8_lossy(inner.key).into_owned();
                let v = decode(&k, record_type, &inner);
                if fields.len() < MAX_FIELDS {
                    fields.push((k, v));
                }
            }
            continue;
        }
        if record_type == b"EXECVE" {
            if let Some((arg, true)) = execve_arg(&key) {
                let v = decode(arg, record_type, &p);
                let text = match &v {
                    Value::Str(s) => s.as_bytes().to_vec(),
                    _ => Vec::new(),
                };
                match pieces.iter_mut().find(|(a, _, _)| a == arg) {
                    Some((_, joined, n)) if *n < MAX_PIECES => {
                        joined.extend_from_slice(&text);
                        *n += 1;
                    }
                    Some(_) => {}
                    None => pieces.push((arg.to_string(), text, 1)),
                }
                continue;
            }
        }
        let v = decode(&key, record_type, &p);
        fields.push((key, v));
    }
    for (arg, joined, _) in pieces {
        if fields.len() < MAX_FIELDS {
            fields.push((arg, Value::str(String::from_utf8_lossy(&joined))));
        }
    }
    fields
}

/// Adds `SYSCALL` (the call's name) to an x86_64 record that has only its number.
fn fill_syscall_name(fields: &mut Vec<(String, Value)>) {
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| match v {
                Value::Str(s) => Some(s.to_string()),
                _ => None,
            })
    };
    if get("SYSCALL").is_some() || get("arch").as_deref() != Some(ARCH_X86_64) {
        return;
    }
    let Some(n) = get("syscall").and_then(|s| s.parse::<i64>().ok()) else {
        return;
    };
    if let Some((_, name)) = X86_64_SYSCALLS.iter().find(|(k, _)| *k == n) {
        fields.push(("SYSCALL".into(), Value::str(*name)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field<'a>(r: &'a AuditRecord<'_>, k: &str) -> Option<&'a Value> {
        r.fields.iter().find(|(n, _)| n == k).map(|(_, v)| v)
    }

    fn s(v: &str) -> Value {
        Value::str(v)
    }

    #[test]
    fn syscall_record() {
        let line = br#"type=SYSCALL msg=audit(1364481363.243:24287): arch=c000003e syscall=2 success=no exit=-13 a0=7fffd19c5592 a1=0 a2=7fffd19c4b50 a3=a items=1 ppid=2686 pid=3538 auid=1000 uid=1000 gid=1000 euid=1000 tty=pts0 ses=1 comm="cat" exe="/bin/cat" subj=unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023 key="sshd_config""#;
        let r = parse(line).unwrap();
        assert_eq!(r.record_type, b"SYSCALL");
        assert_eq!(r.serial, 24287);
        assert_eq!(r.time.timestamp_millis(), 1_364_481_363_243);
        assert_eq!(field(&r, "exe"), Some(&s("/bin/cat")));
        // Bare hex numbers of SYSCALL stay as written.
        assert_eq!(field(&r, "a0"), Some(&s("7fffd19c5592")));
        assert_eq!(field(&r, "a3"), Some(&s("a")));
        assert_eq!(field(&r, "key"), Some(&s("sshd_config")));
        assert_eq!(field(&r, "SYSCALL"), Some(&s("open")));
        assert_eq!(r.node, None);
    }

    #[test]
    fn execve_hex_and_pieces() {
        // a1 is hex ("-c" would be quoted; this one holds a space), a2 in pieces.
        let line = b"node=web01 type=EXECVE msg=audit(1700000000.5:9): argc=3 a0=\"/bin/sh\" a1=2D632078 a2_len=8 a2[0]=6375 a2[1]=726C2078";
        let r = parse(line).unwrap();
        assert_eq!(r.node, Some(&b"web01"[..]));
        assert_eq!(field(&r, "a0"), Some(&s("/bin/sh")));
        assert_eq!(field(&r, "a1"), Some(&s("-c x")));
        assert_eq!(field(&r, "a2"), Some(&s("curl x")));
        assert_eq!(field(&r, "argc"), Some(&s("3")));
        // A quoted value that looks like hex is literal.
        let r = parse(b"type=EXECVE msg=audit(1.0:1): argc=1 a0=\"41\"").unwrap();
        assert_eq!(field(&r, "a0"), Some(&s("41")));
    }

    #[test]
    fn proctitle_keys_user_msg_and_enriched() {
        let r = parse(b"type=PROCTITLE msg=audit(1.0:2): proctitle=2F62696E2F7368002D6300696400")
            .unwrap();
        assert_eq!(field(&r, "proctitle"), Some(&s("/bin/sh -c id")));
        let r = parse(b"type=SYSCALL msg=audit(1.0:3): key=6B31016B32").unwrap();
        assert_eq!(
            field(&r, "key"),
            Some(&Value::Array(vec![s("k1"), s("k2")]))
        );
        let r = parse(b"type=USER_LOGIN msg=audit(1.0:4): pid=1 uid=0 msg='op=login acct=\"root\" exe=\"/usr/sbin/sshd\" res=failed'").unwrap();
        assert_eq!(field(&r, "acct"), Some(&s("root")));
        assert_eq!(field(&r, "res"), Some(&s("failed")));
        let r = parse(b"type=SYSCALL msg=audit(1.0:5): arch=c000003e syscall=59 auid=1000 key=(null)\x1dARCH=x86_64 SYSCALL=execve AUID=\"alice\"").unwrap();
        assert_eq!(field(&r, "SYSCALL"), Some(&s("execve")));
        assert_eq!(field(&r, "AUID"), Some(&s("alice")));
        assert_eq!(field(&r, "key"), Some(&Value::Null));
        assert_eq!(r.fields.iter().filter(|(k, _)| k == "SYSCALL").count(), 1);
    }

    #[test]
    fn hostile_lines_are_errors_not_panics() {
        for bad in [
            &b""[..],
            b"type=",
            b"type=X",
            b"type=X msg=audit(",
            b"type=X msg=audit(abc:1):",
            b"type=X msg=audit(99999999999999999999.1:1):",
            b"node=",
            b"type=X msg=audit(1.1234567890:1):",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let r = parse(b"type=X msg=audit(1.0:1): a=\"open k='x =y=z \x1d\x1d").unwrap();
        assert!(!r.fields.is_empty());
        let many = [b"type=X msg=audit(1.0:1):".to_vec(), b" a=b".repeat(10_000)].concat();
        assert!(parse(&many).unwrap().fields.len() <= MAX_FIELDS);
        assert!(looks_like_record(
            b"node=a type=SYSCALL msg=audit(1.0:1): x=y"
        ));
        assert!(!looks_like_record(b"Mar 1 host type=SYSCALL"));
    }
}
