//! Starts the chdb-backed ClickHouse HTTP front (`../chdb_server.py`) for a test and stops it
//! when dropped. Shared by spoor-clickhouse's and spoor-cli's tests (`#[path]`).
//!
//! The interpreter is `$SPOOR_CHDB_PYTHON` (set by `.ci/run`), else the workspace's
//! `.venv-ci/bin/python`. Without one, a test prints one line and returns on a developer's box,
//! and fails under CI (`CI` or `SPOOR_REQUIRE_CORPORA=1`).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub struct ChServer {
    child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Drop for ChServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("workspace root")
        .to_path_buf()
}

fn required() -> bool {
    std::env::var("SPOOR_REQUIRE_CORPORA").is_ok_and(|v| v == "1")
        || std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
}

fn python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SPOOR_CHDB_PYTHON").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let venv = workspace().join(".venv-ci/bin/python");
    venv.exists().then_some(venv)
}

/// Starts a server (with a login when `login` is given), or `None` (after one line on stderr)
/// when chdb is not installed and the run does not require it.
pub fn start(test: &str, login: Option<(&str, &str)>) -> Option<ChServer> {
    let unavailable = |why: String| -> Option<ChServer> {
        if required() {
            panic!("{test}: the chdb ClickHouse front is required here but {why}");
        }
        eprintln!("{test}: skipped, {why} (run .ci/run or set SPOOR_CHDB_PYTHON)");
        None
    };
    let Some(py) = python() else {
        return unavailable("no Python with chdb (SPOOR_CHDB_PYTHON unset, no .venv-ci)".into());
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let script = workspace().join("crates/spoor-clickhouse/tests/chdb_server.py");
    let mut cmd = Command::new(&py);
    cmd.arg(&script).arg("--data").arg(dir.path().join("db"));
    if let Some((u, p)) = login {
        cmd.args(["--user", u, "--password", p]);
    }
    let mut child = match cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return unavailable(format!("{} cannot start: {e}", py.display())),
    };
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let port = rx
        .recv_timeout(Duration::from_secs(120))
        .ok()
        .and_then(|l| l.strip_prefix("LISTENING ").map(|p| p.trim().to_string()));
    match port {
        Some(p) => Some(ChServer {
            child,
            url: format!("http://127.0.0.1:{p}"),
            _dir: dir,
        }),
        None => {
            let _ = child.kill();
            let out = child.wait_with_output().ok();
            let err = out
                .map(|o| {
                    String::from_utf8_lossy(&o.stderr)
                        .lines()
                        .last()
                        .unwrap_or("")
                        .to_string()
                })
                .unwrap_or_default();
            unavailable(format!(
                "{} {} did not start: {err}",
                py.display(),
                script.display()
            ))
        }
    }
}
