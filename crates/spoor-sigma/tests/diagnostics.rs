//! Golden tests of the loader's diagnostics, in the YARA-X style: each `diagnostics/NAME.in` is a
//! rule file, `NAME.out` the exact report of every rule in it (status, place, stable code,
//! reason). Compared byte for byte; `SPOOR_BLESS=1` rewrites the `.out` files instead (never
//! by default). Together the cases cover every code of `spoor_sigma::diagnostic::CODES`.

use spoor_sigma::{Placeholders, RuleSetBuilder};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/diagnostics")
}

/// One line per report: `status origin:line[:column] code title: reason`.
fn render(builder: RuleSetBuilder, strip: &str) -> String {
    let set = builder.build();
    let mut out = String::new();
    for r in set.reports() {
        let place = match r.column {
            Some(c) => format!("{}:{c}", r.line),
            None => r.line.to_string(),
        };
        let origin = r.origin.strip_prefix(strip).unwrap_or(&r.origin);
        let _ = writeln!(
            out,
            "{} {origin}:{place} {} {}: {}",
            r.status.name(),
            r.status.code().unwrap_or("-"),
            r.title,
            r.status.reason()
        );
    }
    out
}

/// Compares `got` with the golden file, or rewrites it under `SPOOR_BLESS=1`. Returns a
/// description of the difference, if any.
fn compare(golden: &Path, got: &str) -> Option<String> {
    if std::env::var_os("SPOOR_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(golden, got).expect("write the golden file");
        return None;
    }
    let want = std::fs::read_to_string(golden).unwrap_or_default();
    (want != got).then(|| {
        format!(
            "{} differs (SPOOR_BLESS=1 rewrites it)\n--- want\n{want}--- got\n{got}",
            golden.display()
        )
    })
}

fn codes_in(text: &str) -> impl Iterator<Item = String> + '_ {
    text.lines()
        .filter_map(|l| l.split(' ').nth(2))
        .filter(|c| c.starts_with("SIGMA-"))
        .map(str::to_string)
}

#[test]
fn diagnostics_match_their_golden_files_and_cover_every_code() {
    let dir = dir();
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the diagnostics folder")
        .map(|e| e.expect("a folder entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "in"))
        .collect();
    inputs.sort();
    assert!(
        inputs.len() >= 17,
        "expected at least 17 cases in {}, found {}",
        dir.display(),
        inputs.len()
    );
    let mut failures = Vec::new();
    let mut seen = BTreeSet::new();
    for input in &inputs {
        let name = input.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let text = std::fs::read_to_string(input).expect("read the case");
        let mut b = RuleSetBuilder::new();
        b.placeholders(Placeholders::new());
        b.add_source(name, &text);
        let got = render(b, "");
        assert!(!got.is_empty(), "{name}: no report at all");
        seen.extend(codes_in(&got));
        failures.extend(compare(&input.with_extension("out"), &got));
    }
    // SIGMA-E001: a path that cannot be read (the folder prefix is cut so the file is portable).
    let missing = dir.join("e001_unreadable.yml");
    let mut b = RuleSetBuilder::new();
    b.add_path(&missing);
    let prefix = format!("{}/", dir.display());
    let got = render(b, &prefix);
    seen.extend(codes_in(&got));
    failures.extend(compare(&dir.join("e001_unreadable.out"), &got));

    let all: BTreeSet<String> = spoor_sigma::diagnostic::CODES
        .iter()
        .map(|(c, _)| c.to_string())
        .collect();
    let missing_codes: Vec<_> = all.difference(&seen).collect();
    assert!(
        missing_codes.is_empty(),
        "no golden case shows {missing_codes:?}"
    );
    let unknown: Vec<_> = seen.difference(&all).collect();
    assert!(unknown.is_empty(), "codes not in CODES: {unknown:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_code_is_in_the_documented_table() {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/sigma-diagnostics.md");
    let text = std::fs::read_to_string(&doc).expect("docs/sigma-diagnostics.md");
    for (code, meaning) in spoor_sigma::diagnostic::CODES {
        let row = text
            .lines()
            .find(|l| l.starts_with(&format!("| `{code}`")))
            .unwrap_or_else(|| panic!("{code} has no row in {}", doc.display()));
        assert!(
            row.contains(meaning),
            "{code}: the row does not say '{meaning}'"
        );
    }
}
