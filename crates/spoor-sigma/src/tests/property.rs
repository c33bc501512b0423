//! Property tests: random rules and random events; the compiled engine (indexed path), its
//! unindexed twin and the reference evaluator must agree on every event.
//!
//! proptest draws a seed per case; a small deterministic generator turns it into one rule (1-4
//! selections, random modifier combinations, a random condition) and 16 events. On a
//! disagreement the rule's YAML and the event are printed, so the case can be replayed as a unit
//! test.

use super::reference;
use crate::{parse_rules, RuleSetBuilder, RuleStatus};
use proptest::prelude::*;
use spoor_event::{Event, LogSource, Position, Value};

const FIELDS: [&str; 4] = ["A", "B", "C", "D"];
/// Characters of random values: wildcards, escapes, dashes (windash), digits, letters of both
/// cases, a space, a dot and a non-ASCII letter.
const ALPHABET: [char; 17] = [
    'a', 'b', 'A', 'B', '0', '1', '2', '-', '/', '\u{2013}', '*', '?', '\\', ' ', '.', 'x', 'é',
];
/// Plain alphabet for base64 values and keywords that must be literal.
const PLAIN: [char; 9] = ['a', 'b', 'A', 'B', '0', '1', ' ', 'x', '-'];
const REGEXES: [&str; 15] = [
    "a.b",
    "^a",
    "b$",
    "[ab]+1",
    "a|B2",
    "^$",
    "A",
    "(a|-)/?x",
    "^[0-9]+$",
    "a\\.b",
    "ab-?x",
    "(?i)ba1",
    "^b[ab]0",
    "x.*ab",
    "(Ab|ba)0?",
];

/// splitmix64, seeded by proptest.
struct Gen(u64);

impl Gen {
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
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn text(&mut self, alphabet: &[char], max: usize) -> String {
        let n = self.below(max + 1);
        (0..n)
            .map(|_| alphabet[self.below(alphabet.len())])
            .collect()
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// A YAML single-quoted scalar.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A plain YAML number: decimal, with a leading zero, negative, hex or a decimal fraction.
fn number(g: &mut Gen) -> String {
    match g.below(6) {
        0 => format!("0{}", g.below(20)),
        1 => format!("-{}", g.below(5)),
        2 => format!("0x{:x}", g.below(40)),
        3 => format!("{}.50", g.below(3)),
        _ => g.below(30).to_string(),
    }
}

fn string_value(g: &mut Gen) -> String {
    let s = g.text(&ALPHABET, 5);
    // A lone trailing backslash is fine in Sigma; keep the windash expansion small.
    quoted(&s)
}

/// One `key: [values]` entry of a selection map.
fn field_entry(g: &mut Gen) -> (String, String) {
    let field = FIELDS[g.below(FIELDS.len())];
    let mut mods: Vec<&str> = Vec::new();
    let values: Vec<String> = match g.below(12) {
        // exists
        0 => {
            mods.push("exists");
            vec![if g.chance(50) { "true" } else { "false" }.to_string()]
        }
        // numeric comparison
        1 => {
            mods.push(g.pick(&["lt", "lte", "gt", "gte"]));
            (0..=g.below(2)).map(|_| g.below(25).to_string()).collect()
        }
        // regular expression
        2 => {
            mods.push("re");
            for f in ["i", "m", "s"] {
                if g.chance(30) {
                    mods.push(f);
                }
            }
            if g.chance(15) {
                mods.push("neq");
            } else if g.chance(20) {
                mods.push("all");
            }
            (0..=g.below(2)).map(|_| quoted(g.pick(&REGEXES))).collect()
        }
        // null, alone or among other values
        3 => {
            let mut v = vec!["null".to_string()];
            if g.chance(40) {
                v.push(string_value(g));
            }
            v
        }
        // base64offset
        4 => {
            if g.chance(30) {
                mods.push("windash");
            }
            mods.push("base64offset");
            mods.push(g.pick(&["contains", "contains", "startswith", "endswith"]));
            (0..=g.below(1))
                .map(|_| quoted(&g.text(&PLAIN, 6)))
                .collect()
        }
        // field reference
        5 => {
            mods.push("fieldref");
            if g.chance(30) {
                mods.push(g.pick(&["contains", "startswith", "endswith"]));
            }
            if g.chance(25) {
                mods.push("cased");
            }
            if g.chance(20) {
                mods.push("neq");
            }
            vec![FIELDS[g.below(FIELDS.len())].to_string()]
        }
        // plain numbers
        6 => {
            if g.chance(20) {
                mods.push("neq");
            }
            (0..=g.below(2)).map(|_| number(g)).collect()
        }
        // strings with any mix of the string modifiers
        _ => {
            if g.chance(60) {
                mods.push(g.pick(&["contains", "startswith", "endswith"]));
            }
            if g.chance(20) {
                mods.push("windash");
            }
            if g.chance(20) {
                mods.push("cased");
            }
            if g.chance(15) {
                mods.push("neq");
            } else if g.chance(25) {
                mods.push("all");
            }
            (0..=g.below(4))
                .map(|_| {
                    if g.chance(15) {
                        number(g)
                    } else {
                        string_value(g)
                    }
                })
                .collect()
        }
    };
    // Shuffle the modifier order a little (re's flags must stay after re).
    if mods.len() > 1 && mods[0] != "re" && g.chance(50) {
        mods.reverse();
    }
    let mut key = field.to_string();
    for m in &mods {
        key.push('|');
        key.push_str(m);
    }
    (key, format!("[{}]", values.join(", ")))
}

fn selection_map(g: &mut Gen) -> String {
    let mut entries: Vec<(String, String)> = Vec::new();
    for _ in 0..=g.below(2) {
        let (k, v) = field_entry(g);
        if !entries.iter().any(|(ek, _)| *ek == k) {
            entries.push((k, v));
        }
    }
    let body: Vec<String> = entries.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    format!("{{{}}}", body.join(", "))
}

fn selection(g: &mut Gen) -> String {
    match g.below(10) {
        0 => {
            let words: Vec<String> = (0..=g.below(2))
                .map(|_| quoted(&g.text(&ALPHABET, 3)))
                .collect();
            if g.chance(40) {
                format!("{{'|all': [{}]}}", words.join(", "))
            } else {
                format!("[{}]", words.join(", "))
            }
        }
        1 => format!("[{}, {}]", selection_map(g), selection_map(g)),
        _ => selection_map(g),
    }
}

fn condition(g: &mut Gen, names: &[String], depth: u32) -> String {
    let leaf = depth >= 3 || g.chance(35);
    if leaf {
        // Identifier patterns that match at least one selection of this rule.
        let mut patterns = vec!["sel*", "them", "*1", "sel1", "s*l*"];
        if names.iter().any(|n| n == "sel2") {
            patterns.push("*2");
        }
        if names.iter().any(|n| n.starts_with('_')) {
            patterns.push("_*");
        }
        return match g.below(8) {
            0 => format!("1 of {}", g.pick(&patterns)),
            1 => format!("all of {}", g.pick(&patterns)),
            2 => format!("{} of {}", 1 + g.below(3), g.pick(&patterns)),
            _ => names[g.below(names.len())].clone(),
        };
    }
    match g.below(3) {
        0 => format!("not ({})", condition(g, names, depth + 1)),
        1 => format!(
            "({} and {})",
            condition(g, names, depth + 1),
            condition(g, names, depth + 1)
        ),
        _ => format!(
            "({} or {})",
            condition(g, names, depth + 1),
            condition(g, names, depth + 1)
        ),
    }
}

fn rule(g: &mut Gen) -> String {
    let n = 1 + g.below(4);
    let mut names: Vec<String> = (1..=n).map(|i| format!("sel{i}")).collect();
    if g.chance(30) {
        names.push("_aux".into());
    }
    let mut y = String::from(
        "title: random\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n",
    );
    for name in &names {
        y.push_str(&format!("  {name}: {}\n", selection(g)));
    }
    if g.chance(15) {
        y.push_str(&format!(
            "  condition:\n    - {}\n    - {}\n",
            condition(g, &names, 0),
            condition(g, &names, 0)
        ));
    } else {
        y.push_str(&format!("  condition: {}\n", condition(g, &names, 0)));
    }
    y
}

fn scalar(g: &mut Gen) -> Value {
    match g.below(10) {
        0..=5 => Value::str(g.text(&ALPHABET, 6)),
        6 | 7 => Value::Int(g.below(34) as i64 - 4),
        8 => Value::Bool(g.chance(50)),
        _ => Value::str(format!("{}", g.below(30))),
    }
}

fn event(g: &mut Gen, values: &[String]) -> Event {
    let mut ev = Event::new("prop", Position::Line(1)).with_logsource(if g.chance(10) {
        LogSource::default()
    } else {
        LogSource::new(Some("windows"), Some("process_creation"), Some("sysmon"))
    });
    for _ in 0..g.below(6) {
        let name = if g.chance(90) {
            FIELDS[g.below(FIELDS.len())]
        } else {
            "E"
        };
        let v = match g.below(12) {
            0 => Value::Null,
            1 => Value::Array((0..g.below(4)).map(|_| scalar(g)).collect()),
            // Reuse text the rules were built from, so that matches are frequent.
            2 | 3 if !values.is_empty() => Value::str(values[g.below(values.len())].clone()),
            _ => scalar(g),
        };
        ev.push(name, v);
    }
    if g.chance(20) {
        ev.raw = Some(g.text(&ALPHABET, 8).into());
    }
    ev
}

/// Unquoted text of the rule's quoted values, so that events can carry them.
fn rule_texts(yaml: &str) -> Vec<String> {
    yaml.split('\'')
        .skip(1)
        .step_by(2)
        .map(|s| s.replace(['*', '?'], "").replace("\\\\", "\\"))
        .collect()
}

fn check_case(seed: u64) -> Result<(), TestCaseError> {
    let mut g = Gen(seed);
    let yaml = rule(&mut g);
    let mut b = RuleSetBuilder::new();
    b.add_source("random.yml", &yaml);
    let set = b.build();
    let status = &set.reports()[0].status;
    prop_assert_eq!(status, &RuleStatus::Ok, "rule did not load:\n{}", yaml);
    let ast = match parse_rules(&yaml).into_iter().next() {
        Some(Ok(ast)) => ast,
        other => return Err(TestCaseError::fail(format!("{other:?}\n{yaml}"))),
    };
    let texts = rule_texts(&yaml);
    let mut evaluator = set.evaluator();
    for _ in 0..16 {
        let ev = event(&mut g, &texts);
        let indexed = !evaluator.matching_rules(&ev).is_empty();
        let unindexed = !set.matching_rules_unindexed(&ev).is_empty();
        let want = reference::rule_matches(&ast, &ev);
        prop_assert_eq!(
            indexed,
            unindexed,
            "indexed vs unindexed\n{}\n{:?}\nraw {:?}",
            yaml,
            ev.fields,
            ev.raw
        );
        prop_assert_eq!(
            indexed,
            want,
            "engine vs reference\n{}\n{:?}\nraw {:?}",
            yaml,
            ev.fields,
            ev.raw
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn engine_agrees_with_the_reference(seed in any::<u64>()) {
        check_case(seed)?;
    }
}

#[test]
fn the_generator_makes_matches_and_misses() {
    // A property test over cases that never match proves little: check the mix.
    let (mut hits, mut total) = (0, 0);
    for seed in 0..300u64 {
        let mut g = Gen(seed);
        let yaml = rule(&mut g);
        let Some(Ok(ast)) = parse_rules(&yaml).into_iter().next() else {
            continue;
        };
        let texts = rule_texts(&yaml);
        for _ in 0..16 {
            total += 1;
            hits += usize::from(reference::rule_matches(&ast, &event(&mut g, &texts)));
        }
    }
    assert!(hits * 10 > total, "{hits} of {total} match");
    assert!(hits * 10 < total * 9, "{hits} of {total} match");
}
