//! What is built late must answer as if it had been built when the rules loaded: wildcard
//! regexes, value-list automata, prefilter and line-gate requirements (built per log source on
//! first use), and rules compiled file by file on several threads (field ids merged after).

use super::{base_event, load};
use crate::ir::{Check, Sel, TestKind};
use crate::pattern::StrMatch;
use crate::{RuleSet, RuleStatus};
use spoor_event::{Event, LogSource, Position};

const PROCESS_RULE: &str = "title: lazy process rule
id: 0b5d6c1e-0000-4000-8000-000000000001
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|endswith: '\\tool.exe'
    CommandLine: 'x*-enc?d*'
  list:
    CommandLine|contains: [alpha, bravo, charlie, delta, echo]
  condition: sel or list
";

const WEB_RULE: &str = "title: lazy web rule
id: 0b5d6c1e-0000-4000-8000-000000000002
logsource: {category: webserver}
detection:
  sel:
    cs-uri-query|contains: ['/etc/passwd', 'cmd.exe']
  condition: sel
";

/// Whether each wildcard regex and value-list automaton of the set is built yet.
fn built(set: &RuleSet) -> Vec<bool> {
    fn walk(s: &Sel, out: &mut Vec<bool>) {
        match s {
            Sel::And(tests) => {
                for t in tests {
                    if let TestKind::Values { groups, fast, .. } = &t.kind {
                        for c in groups.iter().flatten() {
                            match c {
                                Check::Str(p) => {
                                    if let StrMatch::Glob(r) = &p.m {
                                        out.push(r.is_built());
                                    }
                                }
                                Check::Regex(r) => out.push(r.is_built()),
                                _ => {}
                            }
                        }
                        if let Some(f) = fast {
                            out.push(f.contains.is_built());
                        }
                    }
                }
            }
            Sel::Or(b) => b.iter().for_each(|s| walk(s, out)),
        }
    }
    let mut out = Vec::new();
    for r in set.compiled() {
        r.sels.iter().for_each(|s| walk(s, &mut out));
    }
    out
}

fn process_event(image: &str, cmd: &str) -> Event {
    let mut e = base_event();
    e.push("Image", image);
    e.push("CommandLine", cmd);
    e
}

#[test]
fn matchers_are_built_when_an_event_first_needs_them() {
    let set = load(&[("p.yml", PROCESS_RULE), ("w.yml", WEB_RULE)]);
    assert!(set.reports().iter().all(|r| r.status == RuleStatus::Ok));
    assert_eq!(built(&set), [false, false], "nothing is built at load");

    // An event of another log source builds none of the process rule's matchers.
    let web = Event::new("access.log", Position::Line(1))
        .with_logsource(LogSource::new(None, Some("webserver"), None))
        .with("cs-uri-query", "/x?f=/etc/passwd");
    assert_eq!(set.evaluator().matching_rules(&web).len(), 1);
    assert_eq!(built(&set), [false, false]);

    // The first event that reaches the value list builds its automaton, and both paths agree
    // on every answer, built or not.
    let cases = [
        (r"C:\t\tool.exe", "x -encod y", true),
        (r"C:\t\tool.exe", "x -enc y", false),
        (r"C:\other.exe", "run charlie now", true),
        (r"C:\other.exe", "benign", false),
        (r"C:\T\TOOL.EXE", "X -ENCODED", true),
    ];
    for (image, cmd, want) in cases {
        let ev = process_event(image, cmd);
        let indexed = set.evaluator().matching_rules(&ev).len() == 1;
        let unindexed = set.matching_rules_unindexed(&ev).len() == 1;
        assert_eq!((indexed, unindexed), (want, want), "{image} {cmd}");
    }
    assert_eq!(built(&set), [true, true]);
}

#[test]
fn regexes_are_checked_at_load_and_built_on_first_use() {
    let rule = |re: &str| {
        format!(
            "title: lazy regex rule
logsource: {{product: windows, category: process_creation}}
detection:
  sel:
    CommandLine|re: '{re}'
  condition: sel
"
        )
    };
    // A pattern the engine refuses is reported when the rules load, not when first used.
    for bad in ["(unclosed", "a(?=b)", "(a)\\1"] {
        let set = load(&[("bad.yml", &rule(bad))]);
        assert_ne!(set.reports()[0].status, RuleStatus::Ok, "{bad}");
    }
    let set = load(&[(
        "re.yml",
        &rule("(?i)-e(nc|ncodedcommand)\\s+[a-z0-9+/=]{8}"),
    )]);
    assert_eq!(set.reports()[0].status, RuleStatus::Ok);
    assert_eq!(built(&set), [false], "checked, then dropped");
    let hit = process_event(r"C:\p.exe", "powershell -ENC SQBFAFgA");
    let miss = process_event(r"C:\p.exe", "powershell -enc x");
    assert_eq!(set.evaluator().matching_rules(&hit).len(), 1);
    assert_eq!(built(&set), [true]);
    assert!(set.evaluator().matching_rules(&miss).is_empty());
}

#[test]
fn gate_requirements_are_derived_for_the_log_sources_asked_for() {
    let set = load(&[("p.yml", PROCESS_RULE), ("w.yml", WEB_RULE)]);
    let gates = set.line_gates();
    assert_eq!(gates.derived(), 0, "nothing is derived at load");
    let web = LogSource::new(None, Some("webserver"), None);
    let lits = gates.literals(&web).expect("the web rule has a gate");
    assert_eq!(lits, ["/etc/passwd", "cmd.exe"]);
    assert_eq!(gates.derived(), 1, "only the web rule's requirement");
    // Asking again reuses the gate; another log source derives its own rules'.
    assert_eq!(gates.literals(&web), Some(lits));
    assert_eq!(gates.derived(), 1);
    let process = LogSource::new(Some("windows"), Some("process_creation"), None);
    let _ = gates.literals(&process);
    assert_eq!(gates.derived(), 2);
}

/// Three files: a field used in several, a field reference, and a rule that fails after its
/// first field was interned (its fields still get ids, as a one-thread build gives them).
const FILES: [(&str, &str); 3] = [
    (
        "a.yml",
        "title: a
logsource: {product: windows}
detection:
  sel:
    Zeta: one
    Alpha|fieldref: Beta
  condition: sel
",
    ),
    (
        "b.yml",
        "title: b
logsource: {product: windows}
detection:
  sel:
    Gamma: two
    Delta|re: '(unclosed'
  condition: sel
---
title: c
logsource: {product: windows}
detection:
  sel:
    Alpha: three
    Epsilon|startswith: four
  condition: sel
",
    ),
    (
        "c.yml",
        "title: d
logsource: {product: windows}
detection:
  sel:
    Beta|contains: five
    Zeta: six
  condition: sel
",
    ),
];

fn field_names(set: &RuleSet) -> Vec<String> {
    (0..)
        .map_while(|id| set.field_name(id).map(str::to_string))
        .collect()
}

#[test]
fn field_ids_do_not_depend_on_how_rules_are_split_into_files() {
    let split = load(&FILES);
    let joined_text: String = FILES
        .iter()
        .map(|(_, y)| format!("---\n{y}"))
        .collect::<String>();
    let joined = load(&[("all.yml", &joined_text)]);
    assert_eq!(
        field_names(&split),
        ["Zeta", "Alpha", "Beta", "Gamma", "Delta", "Epsilon"]
    );
    assert_eq!(field_names(&split), field_names(&joined));
    let statuses = |s: &RuleSet| -> Vec<(String, &'static str)> {
        s.reports()
            .iter()
            .map(|r| (r.title.clone(), r.status.name()))
            .collect()
    };
    assert_eq!(statuses(&split), statuses(&joined));
    assert_eq!(
        statuses(&split).iter().map(|(_, s)| *s).collect::<Vec<_>>(),
        ["ok", "invalid", "ok", "ok"]
    );
    // The rules read the fields they name, whichever file they came from.
    let ev = Event::new("x", Position::Line(1))
        .with_logsource(LogSource::new(Some("windows"), None, None))
        .with("Zeta", "six")
        .with("Beta", "a five b")
        .with("Alpha", "three")
        .with("Epsilon", "fourteen");
    for set in [&split, &joined] {
        assert_eq!(crate::tests::matching_titles(set, &ev), ["c", "d"]);
        assert_eq!(set.matching_rules_unindexed(&ev).len(), 2);
    }
}
