//! A blocking client of ClickHouse's HTTP interface: statements, inserts with a body, and
//! queries whose `JSONEachRow` answer is read line by line (never held whole).

use crate::Error;
use std::io::{BufRead, BufReader, Read};
use std::time::Duration;

/// Longest answer kept whole (statements, counts, error texts).
const MAX_SMALL_ANSWER: u64 = 16 << 20;
/// Longest row of a streamed answer: a row holds one event and its raw line.
pub const MAX_ROW_BYTES: usize = 256 << 20;

/// Where the server is and how to talk to it. Credentials come from the environment or a file
/// (see the CLI); they are sent as ClickHouse's `X-ClickHouse-User`/`X-ClickHouse-Key` headers,
/// never in the URL.
#[derive(Debug, Clone)]
pub struct Config {
    /// `http://host:8123` or `https://host:8443` (a path prefix is kept; no credentials).
    pub url: String,
    /// Database of every statement.
    pub database: String,
    /// User name (`default` when `None`).
    pub user: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// Time to connect.
    pub connect_timeout: Duration,
    /// Time a single read or write may stall.
    pub io_timeout: Duration,
}

impl Config {
    /// A configuration for `url` with database `default`, no credentials and 10 s / 300 s
    /// timeouts.
    pub fn new(url: impl Into<String>) -> Config {
        Config {
            url: url.into(),
            database: "default".into(),
            user: None,
            password: None,
            connect_timeout: Duration::from_secs(10),
            io_timeout: Duration::from_secs(300),
        }
    }
}

/// A connection pool to one server.
#[derive(Debug, Clone)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
    cfg: Config,
}

impl Client {
    /// Checks the URL and builds the client (no request is sent).
    pub fn new(cfg: Config) -> Result<Client, Error> {
        let url = cfg.url.trim().trim_end_matches('/').to_string();
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .ok_or_else(|| {
                Error::Config(format!(
                    "'{url}': the URL must start with http:// or https://"
                ))
            })?;
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.contains('@') {
            return Err(Error::Config(
                "credentials in the URL would show in process lists: use SPOOR_CLICKHOUSE_USER and \
                 SPOOR_CLICKHOUSE_PASSWORD (or --password-file)"
                    .into(),
            ));
        }
        if authority.is_empty() || rest.contains(['?', '#']) {
            return Err(Error::Config(format!(
                "'{url}': expected http(s)://host[:port][/path]"
            )));
        }
        if !valid_identifier(&cfg.database) {
            return Err(Error::Config(format!(
                "database name '{}': letters, digits and '_' only",
                cfg.database
            )));
        }
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(cfg.connect_timeout)
            .timeout_read(cfg.io_timeout)
            .timeout_write(cfg.io_timeout)
            .build();
        Ok(Client {
            agent,
            base: format!("{url}/"),
            cfg,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    fn send(&self, query: Option<&str>, body: &[u8]) -> Result<ureq::Response, Error> {
        self.send_with(query, body, &[])
    }

    fn send_with(
        &self,
        query: Option<&str>,
        body: &[u8],
        settings: &[(&str, &str)],
    ) -> Result<ureq::Response, Error> {
        let mut req = self
            .agent
            .post(&self.base)
            .query("database", &self.cfg.database)
            .set("Content-Type", "text/plain; charset=UTF-8");
        for (k, v) in settings {
            req = req.query(k, v);
        }
        if let Some(q) = query {
            req = req.query("query", q);
        }
        if let Some(u) = &self.cfg.user {
            req = req.set("X-ClickHouse-User", u);
        }
        if let Some(p) = &self.cfg.password {
            req = req.set("X-ClickHouse-Key", p);
        }
        match req.send_bytes(body) {
            Ok(resp) => {
                // A real server may report an error that happened after the headers.
                if let Some(code) = resp.header("X-ClickHouse-Exception-Code") {
                    let code = code.to_string();
                    let text = read_small(resp);
                    return Err(server_error(500, Some(&code), &text, self.user()));
                }
                Ok(resp)
            }
            Err(ureq::Error::Status(status, resp)) => {
                let code = resp
                    .header("X-ClickHouse-Exception-Code")
                    .map(str::to_string);
                let text = read_small(resp);
                Err(server_error(status, code.as_deref(), &text, self.user()))
            }
            Err(ureq::Error::Transport(t)) => Err(Error::Unreachable {
                url: self.cfg.url.clone(),
                reason: t.to_string(),
            }),
        }
    }

    fn user(&self) -> &str {
        self.cfg.user.as_deref().unwrap_or("default")
    }

    /// Runs a statement and returns its (small) answer as text.
    pub fn execute(&self, sql: &str) -> Result<String, Error> {
        let resp = self.send(None, sql.as_bytes())?;
        let text = read_small(resp);
        check_inline_exception(&text)?;
        Ok(text)
    }

    /// `SELECT 1`: is the server there and does it take the login?
    pub fn ping(&self) -> Result<(), Error> {
        let answer = self.execute("SELECT 1")?;
        if answer.trim() == "1" {
            Ok(())
        } else {
            Err(Error::Response(format!(
                "'SELECT 1' answered {:?}: is this a ClickHouse server?",
                crate::row::preview(answer.as_bytes())
            )))
        }
    }

    /// Sends an `INSERT ... FORMAT ...` statement with its data as the body.
    pub fn insert(&self, sql: &str, data: &[u8]) -> Result<(), Error> {
        let resp = self.send(Some(sql), data)?;
        let text = read_small(resp);
        check_inline_exception(&text)
    }

    /// Runs a query whose answer is one row per line (`FORMAT JSONEachRow`) and calls `f` with
    /// each line as it arrives. Returns the number of rows. Rule sets make long queries: the
    /// parser limits are raised for this query (a user with `readonly=1` cannot; see the docs).
    pub fn query_lines(
        &self,
        sql: &str,
        mut f: impl FnMut(&[u8]) -> Result<(), Error>,
    ) -> Result<u64, Error> {
        let resp = self.send_with(
            None,
            sql.as_bytes(),
            &[
                ("max_query_size", "67108864"),
                ("max_ast_elements", "10000000"),
                ("max_expanded_ast_elements", "10000000"),
            ],
        )?;
        let mut reader = BufReader::with_capacity(1 << 16, resp.into_reader());
        let mut line = Vec::new();
        let mut rows = 0u64;
        loop {
            line.clear();
            let n = (&mut reader)
                .take(MAX_ROW_BYTES as u64 + 1)
                .read_until(b'\n', &mut line)
                .map_err(|e| Error::Response(format!("reading the answer: {e}")))?;
            if n == 0 {
                return Ok(rows);
            }
            if line.len() > MAX_ROW_BYTES {
                return Err(Error::Response(format!(
                    "a row longer than {MAX_ROW_BYTES} bytes"
                )));
            }
            let l = trim_eol(&line);
            if l.is_empty() {
                continue;
            }
            if l.starts_with(b"Code: ") {
                // An exception written into the body after rows were sent.
                return Err(server_error(
                    500,
                    None,
                    &String::from_utf8_lossy(l),
                    self.user(),
                ));
            }
            f(l)?;
            rows += 1;
        }
    }
}

fn trim_eol(l: &[u8]) -> &[u8] {
    let l = l.strip_suffix(b"\n").unwrap_or(l);
    l.strip_suffix(b"\r").unwrap_or(l)
}

fn read_small(resp: ureq::Response) -> String {
    let mut buf = Vec::new();
    let _ = resp
        .into_reader()
        .take(MAX_SMALL_ANSWER)
        .read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

fn check_inline_exception(text: &str) -> Result<(), Error> {
    if text.starts_with("Code: ") && text.contains("DB::Exception") {
        return Err(server_error(500, None, text, "default"));
    }
    Ok(())
}

/// ClickHouse's error code from `Code: N. DB::Exception: ...`.
fn code_in(text: &str) -> Option<u32> {
    let rest = text.trim_start().strip_prefix("Code: ")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn server_error(status: u16, header_code: Option<&str>, text: &str, user: &str) -> Error {
    let code = header_code
        .and_then(|c| c.trim().parse().ok())
        .or_else(|| code_in(text));
    let message: String = text.trim().chars().take(2000).collect();
    match code {
        Some(516) | Some(192) | Some(193) | Some(194) => Error::Login {
            user: user.to_string(),
            message,
        },
        _ if status == 401 || status == 403 => Error::Login {
            user: user.to_string(),
            message,
        },
        Some(46) => Error::MissingFunction(message),
        _ => Error::Server {
            status,
            code,
            message,
        },
    }
}

/// Table, database and format names spoor accepts: they are written into SQL unquoted.
pub fn valid_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 128
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        assert!(Client::new(Config::new("http://127.0.0.1:8123")).is_ok());
        assert!(Client::new(Config::new("https://ch.example:8443/prefix/")).is_ok());
        assert!(matches!(
            Client::new(Config::new("ftp://x")),
            Err(Error::Config(_))
        ));
        let e = Client::new(Config::new("http://u:secret@host:8123")).unwrap_err();
        assert!(e.to_string().contains("SPOOR_CLICKHOUSE_PASSWORD"), "{e}");
        let mut c = Config::new("http://h");
        c.database = "x; DROP".into();
        assert!(Client::new(c).is_err());
    }

    #[test]
    fn errors_are_classified() {
        let e = server_error(
            500,
            None,
            "Code: 46. DB::Exception: Unknown function foo",
            "u",
        );
        assert!(matches!(e, Error::MissingFunction(_)));
        let e = server_error(
            401,
            None,
            "Code: 516. DB::Exception: u: Authentication failed",
            "u",
        );
        assert!(matches!(e, Error::Login { .. }));
        let e = server_error(500, Some("62"), "syntax", "u");
        assert!(matches!(e, Error::Server { code: Some(62), .. }));
        assert_eq!(code_in("Code: 60. DB::Exception"), Some(60));
        assert_eq!(code_in("garbage"), None);
    }

    #[test]
    fn identifiers() {
        assert!(valid_identifier("spoor_events"));
        assert!(!valid_identifier("1x"));
        assert!(!valid_identifier("a.b"));
        assert!(!valid_identifier(""));
        assert!(!valid_identifier("a`b"));
    }
}
