//! Helpers shared by the CLI test files.

use assert_cmd::Command;
use serde_json::Value;

/// The `spoor` binary, colour off.
pub fn spoor() -> Command {
    let mut c = Command::cargo_bin("spoor").expect("binary");
    c.env("NO_COLOR", "1");
    c
}

/// Each line of JSONL output, parsed.
pub fn jsonl(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

/// The run exited 0 (its standard error shown when not).
#[allow(dead_code)] // not every test file runs the binary to success
pub fn assert_exit_0(out: &std::process::Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
