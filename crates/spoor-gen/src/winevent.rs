//! Windows events as NDJSON, flat like the Winlogbeat/NXLog exports in the shared OTRF corpus
//! (`EventID`, `Channel`, `Hostname` and the event data fields at the top level): Sysmon 1, 3, 11
//! and 13, Security 4624, 4688 and 4769. A seeded one-in-N sprinkle of APT40-style activity
//! (Kerberoasting with RC4 tickets, NTDS.dit copies with ntdsutil, a web server spawning a shell)
//! is tallied per kind.

use crate::clock::Clock;
use crate::json::JsonObject;
use crate::rng::Rng;
use crate::tally::Tally;
use std::io::Write;

/// Attack kinds, in the order the tally reports them.
pub const WIN_ATTACKS: [&str; 3] = ["kerberoast_rc4", "ntds_dump", "webshell_spawn"];

const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";
const SYSMON_GUID: &str = "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}";
const SECURITY: &str = "Security";
const SECURITY_GUID: &str = "{54849625-5478-4994-A5BA-3E3B0328C30D}";
const DOMAIN: &str = "CORP";

const USERS: [&str; 6] = ["alice", "bob", "carol", "dave", "erin", "frank"];

/// `(image, command line, parent image, original file name)` of everyday processes.
const PROCESSES: [(&str, &str, &str, &str); 8] = [
    (
        "C:\\Windows\\System32\\svchost.exe",
        "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule",
        "C:\\Windows\\System32\\services.exe",
        "svchost.exe",
    ),
    (
        "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
        "\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\" --type=renderer --lang=en-US --renderer-client-id=7",
        "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
        "chrome.exe",
    ),
    (
        "C:\\Windows\\System32\\SearchProtocolHost.exe",
        "\"C:\\Windows\\system32\\SearchProtocolHost.exe\" Global\\UsGthrFltPipeMssGthrPipe5_ Global\\UsGthrCtrlFltPipeMssGthrPipe5 1 -2147483646 \"Software\\Microsoft\\Windows Search\"",
        "C:\\Windows\\System32\\SearchIndexer.exe",
        "SearchProtocolHost.exe",
    ),
    (
        "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE",
        "\"C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE\" /recycle",
        "C:\\Windows\\explorer.exe",
        "Outlook.exe",
    ),
    (
        "C:\\Windows\\System32\\taskhostw.exe",
        "taskhostw.exe USER",
        "C:\\Windows\\System32\\svchost.exe",
        "taskhostw.exe",
    ),
    (
        "C:\\Windows\\System32\\backgroundTaskHost.exe",
        "\"C:\\Windows\\system32\\backgroundTaskHost.exe\" -ServerName:App.AppXmtcan0h2tfbfy7k9kn8hbxb6dmzz1zh0.mca",
        "C:\\Windows\\System32\\svchost.exe",
        "backgroundTaskHost.exe",
    ),
    (
        "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
        "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding",
        "C:\\Windows\\System32\\svchost.exe",
        "Wmiprvse.exe",
    ),
    (
        "C:\\Program Files\\Microsoft OneDrive\\OneDrive.exe",
        "\"C:\\Program Files\\Microsoft OneDrive\\OneDrive.exe\" /background",
        "C:\\Windows\\explorer.exe",
        "OneDrive.exe",
    ),
];

const FILES: [&str; 5] = [
    "C:\\Users\\{u}\\AppData\\Local\\Temp\\~DF{n}.TMP",
    "C:\\Users\\{u}\\Downloads\\invoice-{n}.pdf",
    "C:\\Windows\\Prefetch\\CHROME.EXE-{n}.pf",
    "C:\\Users\\{u}\\AppData\\Local\\Microsoft\\Outlook\\RoamCache\\Stream_{n}.dat",
    "C:\\ProgramData\\Microsoft\\Windows Defender\\Scans\\History\\{n}.log",
];

const KEYS: [&str; 4] = [
    "HKU\\S-1-5-21-1004336348-1177238915-682003330-{n}\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\RecentDocs\\.pdf",
    "HKLM\\System\\CurrentControlSet\\Services\\bam\\State\\UserSettings\\S-1-5-21-1004336348-1177238915-682003330-{n}\\\\Device\\HarddiskVolume3\\Windows\\explorer.exe",
    "HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Signature Updates\\SignaturesLastUpdated",
    "HKU\\S-1-5-21-1004336348-1177238915-682003330-{n}\\Software\\Microsoft\\Office\\16.0\\Common\\Roaming\\Identities",
];

const SERVICES: [&str; 4] = [
    "HTTP/intranet.corp.example",
    "cifs/FS01.corp.example",
    "MSSQLSvc/SQL01.corp.example:1433",
    "host/WS07.corp.example",
];

/// Streams Windows events for one seed.
#[derive(Debug)]
pub struct WinGen {
    rng: Rng,
    clock: Clock,
    attack_every: u64,
    record_sysmon: u64,
    record_security: u64,
    scratch: Vec<u8>,
    message: Vec<u8>,
}

/// One process for a process-creation event.
struct Proc<'a> {
    image: &'a str,
    command_line: &'a str,
    parent: &'a str,
    original: &'a str,
}

impl WinGen {
    /// A generator; about one event in `attack_every` is an attack (0: none).
    pub fn new(seed: u64, attack_every: u64) -> Self {
        WinGen {
            rng: Rng::new(seed),
            clock: Clock::new(),
            attack_every,
            record_sysmon: 1_000_000,
            record_security: 400_000,
            scratch: Vec::new(),
            message: Vec::new(),
        }
    }

    /// Append the next event (one NDJSON line) to `out`.
    pub fn next_record(&mut self, out: &mut Vec<u8>, tally: &mut Tally) {
        let step = self.rng.below(60);
        self.clock.advance(step);
        tally.records += 1;
        if self.rng.one_in(self.attack_every) {
            let kind = self.rng.below(WIN_ATTACKS.len() as u64) as usize;
            match kind {
                0 => {
                    self.security_4769(out, "0x17", "MSSQLSvc/SQL01.corp.example:1433");
                }
                1 => {
                    let cmd = if self.rng.one_in(2) {
                        "ntdsutil.exe \"ac i ntds\" \"ifm\" \"create full c:\\windows\\temp\\ntds\" q q"
                    } else {
                        "ntdsutil  \"activate instance ntds\" ifm \"create full C:\\ProgramData\\x\" quit quit"
                    };
                    let p = Proc {
                        image: "C:\\Windows\\System32\\ntdsutil.exe",
                        command_line: cmd,
                        parent: "C:\\Windows\\System32\\cmd.exe",
                        original: "ntdsutil.exe",
                    };
                    if self.rng.one_in(2) {
                        self.sysmon_1(out, &p, "DC01.corp.example");
                    } else {
                        self.security_4688(out, &p, "DC01.corp.example");
                    }
                }
                _ => {
                    let cmd = self
                        .rng
                        .pick(&[
                            "cmd.exe /c whoami",
                            "cmd.exe /c \"cd /d C:\\inetpub\\wwwroot&net user\"",
                            "cmd.exe /c ipconfig /all",
                        ])
                        .copied()
                        .unwrap_or("cmd.exe /c whoami");
                    let p = Proc {
                        image: "C:\\Windows\\System32\\cmd.exe",
                        command_line: cmd,
                        parent: "C:\\Windows\\System32\\inetsrv\\w3wp.exe",
                        original: "Cmd.Exe",
                    };
                    self.sysmon_1(out, &p, "WEB01.corp.example");
                }
            }
            if let Some(k) = WIN_ATTACKS.get(kind) {
                tally.bump(k);
            }
            return;
        }
        let host = self.workstation();
        match self.rng.below(20) {
            0..=2 => {
                let (image, command_line, parent, original) =
                    self.rng.pick(&PROCESSES).copied().unwrap_or(PROCESSES[0]);
                let p = Proc {
                    image,
                    command_line,
                    parent,
                    original,
                };
                self.sysmon_1(out, &p, &host);
            }
            3..=7 => self.sysmon_3(out, &host),
            8..=10 => self.sysmon_11(out, &host),
            11..=14 => self.sysmon_13(out, &host),
            15..=16 => self.security_4624(out, &host),
            17..=18 => {
                let (image, command_line, parent, original) =
                    self.rng.pick(&PROCESSES).copied().unwrap_or(PROCESSES[0]);
                let p = Proc {
                    image,
                    command_line,
                    parent,
                    original,
                };
                self.security_4688(out, &p, &host);
            }
            _ => {
                let svc = self
                    .rng
                    .pick(&SERVICES)
                    .copied()
                    .unwrap_or("host/WS07.corp.example");
                self.security_4769(out, "0x12", svc);
            }
        }
    }

    fn workstation(&mut self) -> String {
        format!("WS{:02}.corp.example", self.rng.range(1, 40))
    }

    fn user(&mut self) -> &'static str {
        self.rng.pick(&USERS).copied().unwrap_or("alice")
    }

    fn guid(&mut self) -> String {
        let a = self.rng.next_u64();
        let b = self.rng.next_u64();
        format!(
            "{{{:08x}-{:04x}-{:04x}-{:04x}-{:012x}}}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }

    /// Common header fields. `utc` is left in `self.scratch` as `YYYY-MM-DD HH:MM:SS.mmm`.
    fn header(&mut self, o: &mut JsonObject<'_>, event_id: u64, sysmon: bool, host: &str) {
        self.scratch.clear();
        self.scratch.extend_from_slice(self.clock.iso_seconds());
        let _ = write!(self.scratch, ".{:03}Z", self.clock.millis_part());
        o.bytes("@timestamp", &self.scratch);
        self.scratch.clear();
        self.scratch.extend_from_slice(self.clock.iis_date());
        self.scratch.push(b' ');
        self.scratch.extend_from_slice(self.clock.iis_time());
        o.bytes("EventTime", &self.scratch);
        o.str("Hostname", host).num("EventID", event_id);
        if sysmon {
            self.record_sysmon += 1;
            o.str("Channel", SYSMON)
                .str("SourceName", "Microsoft-Windows-Sysmon")
                .str("ProviderGuid", SYSMON_GUID)
                .num("RecordNumber", self.record_sysmon)
                .str("UserID", "S-1-5-18");
        } else {
            self.record_security += 1;
            o.str("Channel", SECURITY)
                .str("SourceName", "Microsoft-Windows-Security-Auditing")
                .str("ProviderGuid", SECURITY_GUID)
                .num("RecordNumber", self.record_security);
        }
        o.str("Severity", "INFO")
            .str("SourceModuleType", "im_msvistalog");
        let _ = write!(self.scratch, ".{:03}", self.clock.millis_part());
    }

    fn sysmon_1(&mut self, out: &mut Vec<u8>, p: &Proc<'_>, host: &str) {
        let user = self.user();
        let guid = self.guid();
        let parent_guid = self.guid();
        let pid = self.rng.range(400, 20_000);
        let ppid = self.rng.range(400, 20_000);
        let hash = self.rng.next_u64();
        let mut o = JsonObject::open(out);
        self.header(&mut o, 1, true, host);
        o.bytes("UtcTime", &self.scratch)
            .str("RuleName", "-")
            .str("ProcessGuid", &guid)
            .num("ProcessId", pid)
            .str("Image", p.image)
            .str("OriginalFileName", p.original)
            .str("CommandLine", p.command_line)
            .str("CurrentDirectory", "C:\\Windows\\system32\\")
            .str("User", &format!("{DOMAIN}\\{user}"))
            .str("IntegrityLevel", "Medium")
            .str(
                "Hashes",
                &format!("SHA256={hash:016X}{hash:016X}{hash:016X}{hash:016X}"),
            )
            .str("ParentProcessGuid", &parent_guid)
            .num("ParentProcessId", ppid)
            .str("ParentImage", p.parent)
            .str("ParentCommandLine", p.parent);
        self.message.clear();
        let _ = write!(
            self.message,
            "Process Create:\r\nRuleName: -\r\nProcessId: {pid}\r\nImage: {}\r\nCommandLine: {}\r\nUser: {DOMAIN}\\{user}\r\nParentImage: {}",
            p.image, p.command_line, p.parent
        );
        o.bytes("Message", &self.message);
        o.close();
    }

    fn sysmon_3(&mut self, out: &mut Vec<u8>, host: &str) {
        let (image, _, _, _) = self.rng.pick(&PROCESSES).copied().unwrap_or(PROCESSES[0]);
        let user = self.user();
        let guid = self.guid();
        let sport = self.rng.range(49_152, 65_535);
        let dport = self
            .rng
            .pick(&[443u64, 443, 80, 445, 53, 389])
            .copied()
            .unwrap_or(443);
        let dst = self.rng.next_u64();
        let src = self.rng.range(2, 250);
        let mut o = JsonObject::open(out);
        self.header(&mut o, 3, true, host);
        o.bytes("UtcTime", &self.scratch)
            .str("RuleName", "-")
            .str("ProcessGuid", &guid)
            .num("ProcessId", sport % 9000 + 400)
            .str("Image", image)
            .str("User", &format!("{DOMAIN}\\{user}"))
            .str("Protocol", "tcp")
            .str("Initiated", "true")
            .str("SourceIsIpv6", "false")
            .str("SourceIp", &format!("10.1.2.{src}"))
            .str("SourceHostname", host)
            .num("SourcePort", sport)
            .str("DestinationIsIpv6", "false")
            .str(
                "DestinationIp",
                &format!(
                    "{}.{}.{}.{}",
                    13 + (dst & 0x3f),
                    (dst >> 8) & 0xff,
                    (dst >> 16) & 0xff,
                    ((dst >> 24) & 0xfd) + 1
                ),
            )
            .num("DestinationPort", dport);
        o.close();
    }

    fn sysmon_11(&mut self, out: &mut Vec<u8>, host: &str) {
        let (image, _, _, _) = self.rng.pick(&PROCESSES).copied().unwrap_or(PROCESSES[0]);
        let user = self.user();
        let n = self.rng.range(1000, 999_999);
        let target = self
            .rng
            .pick(&FILES)
            .copied()
            .unwrap_or(FILES[0])
            .replace("{u}", user)
            .replace("{n}", &n.to_string());
        let guid = self.guid();
        let mut o = JsonObject::open(out);
        self.header(&mut o, 11, true, host);
        o.bytes("UtcTime", &self.scratch)
            .bytes("CreationUtcTime", &self.scratch)
            .str("RuleName", "-")
            .str("ProcessGuid", &guid)
            .num("ProcessId", n % 9000 + 400)
            .str("Image", image)
            .str("TargetFilename", &target);
        o.close();
    }

    fn sysmon_13(&mut self, out: &mut Vec<u8>, host: &str) {
        let (image, _, _, _) = self.rng.pick(&PROCESSES).copied().unwrap_or(PROCESSES[0]);
        let n = self.rng.range(1100, 1199);
        let key = self
            .rng
            .pick(&KEYS)
            .copied()
            .unwrap_or(KEYS[0])
            .replace("{n}", &n.to_string());
        let guid = self.guid();
        let details = format!("DWORD (0x{:08x})", self.rng.below(1 << 20));
        let mut o = JsonObject::open(out);
        self.header(&mut o, 13, true, host);
        o.bytes("UtcTime", &self.scratch)
            .str("RuleName", "-")
            .str("EventType", "SetValue")
            .str("ProcessGuid", &guid)
            .num("ProcessId", n * 3)
            .str("Image", image)
            .str("TargetObject", &key)
            .str("Details", &details);
        o.close();
    }

    fn security_4624(&mut self, out: &mut Vec<u8>, host: &str) {
        let user = self.user();
        let logon_type = self.rng.pick(&[2u64, 3, 3, 3, 5, 10]).copied().unwrap_or(3);
        let logon_id = self.rng.below(1 << 28);
        let src = self.rng.range(2, 250);
        let mut o = JsonObject::open(out);
        self.header(&mut o, 4624, false, host);
        o.str("SubjectUserSid", "S-1-5-18")
            .str("SubjectUserName", "-")
            .str("SubjectDomainName", "-")
            .str("SubjectLogonId", "0x0")
            .str(
                "TargetUserSid",
                "S-1-5-21-1004336348-1177238915-682003330-1105",
            )
            .str("TargetUserName", user)
            .str("TargetDomainName", DOMAIN)
            .str("TargetLogonId", &format!("0x{logon_id:x}"))
            .num("LogonType", logon_type)
            .str(
                "LogonProcessName",
                if logon_type == 3 {
                    "NtLmSsp "
                } else {
                    "User32 "
                },
            )
            .str(
                "AuthenticationPackageName",
                if logon_type == 3 { "NTLM" } else { "Negotiate" },
            )
            .str("WorkstationName", host)
            .str("IpAddress", &format!("10.1.2.{src}"))
            .str("IpPort", "0")
            .str("ProcessName", "C:\\Windows\\System32\\lsass.exe");
        self.message.clear();
        let _ = write!(
            self.message,
            "An account was successfully logged on.\r\n\r\nLogon Information:\r\n\tLogon Type:\t\t{logon_type}\r\n\r\nNew Logon:\r\n\tAccount Name:\t\t{user}\r\n\tAccount Domain:\t\t{DOMAIN}"
        );
        o.bytes("Message", &self.message);
        o.close();
    }

    fn security_4688(&mut self, out: &mut Vec<u8>, p: &Proc<'_>, host: &str) {
        let user = self.user();
        let pid = self.rng.range(400, 20_000);
        let mut o = JsonObject::open(out);
        self.header(&mut o, 4688, false, host);
        o.str(
            "SubjectUserSid",
            "S-1-5-21-1004336348-1177238915-682003330-1105",
        )
        .str("SubjectUserName", user)
        .str("SubjectDomainName", DOMAIN)
        .str("NewProcessId", &format!("0x{pid:x}"))
        .str("NewProcessName", p.image)
        .str("TokenElevationType", "%%1938")
        .str("CommandLine", p.command_line)
        .str("ParentProcessName", p.parent)
        .str("MandatoryLabel", "S-1-16-8192");
        o.close();
    }

    fn security_4769(&mut self, out: &mut Vec<u8>, encryption: &str, service: &str) {
        let user = self.user();
        let src = self.rng.range(2, 250);
        let service_name = service
            .split(['/', ':', '.'])
            .nth(1)
            .unwrap_or("svc")
            .to_string();
        let mut o = JsonObject::open(out);
        self.header(&mut o, 4769, false, "DC01.corp.example");
        o.str("TargetUserName", &format!("{user}@CORP.EXAMPLE"))
            .str("TargetDomainName", "CORP.EXAMPLE")
            .str(
                "ServiceName",
                &format!("svc_{}", service_name.to_ascii_lowercase()),
            )
            .str(
                "ServiceSid",
                "S-1-5-21-1004336348-1177238915-682003330-1603",
            )
            .str("TicketOptions", "0x40810000")
            .str("TicketEncryptionType", encryption)
            .str("IpAddress", &format!("::ffff:10.1.2.{src}"))
            .str("IpPort", "50112")
            .str("Status", "0x0")
            .str("LogonGuid", "{00000000-0000-0000-0000-000000000000}")
            .str("TransmittedServices", "-");
        o.close();
    }
}
