//! Hostile events: huge fields, deep and wide arrays, text from invalid UTF-8, and wildcard
//! patterns that would take exponential time in a backtracking matcher. No panic, bounded time.

use super::{arr, compile_with, matches};
use spoor_event::Value;
use std::time::{Duration, Instant};

/// Generous: the point is "not exponential", on a debug build of a shared machine.
const FAST: Duration = Duration::from_secs(5);

#[test]
fn ten_megabyte_fields() {
    let big = "A".repeat(10 << 20);
    let mut tail = big.clone();
    tail.push_str("mimikatz");
    let set = compile_with(
        &["sel: {CommandLine|contains: 'MIMIKATZ'}", "condition: sel"],
        None,
    );
    let start = Instant::now();
    assert!(!matches(&set, &ev! {"CommandLine" => big.as_str()}));
    assert!(matches(&set, &ev! {"CommandLine" => tail.as_str()}));
    let wild = compile_with(&["sel: {CommandLine: '*a*k*z'}", "condition: sel"], None);
    assert!(matches(&wild, &ev! {"CommandLine" => tail.as_str()}));
    let kw = compile_with(&["kw: [sekurlsa]", "condition: kw"], None);
    assert!(!matches(
        &kw,
        &ev! {"CommandLine" => big.as_str(), "Other" => big.as_str()}
    ));
    let re = compile_with(
        &["sel: {CommandLine|re: 'A{5}mimi'}", "condition: sel"],
        None,
    );
    assert!(matches(&re, &ev! {"CommandLine" => tail.as_str()}));
    assert!(start.elapsed() < FAST * 4, "{:?}", start.elapsed());
}

#[test]
fn pathological_wildcards_run_in_linear_time() {
    let text = "a".repeat(100_000);
    for pattern in ["*a*a*a*a*a*b", "*a?a*a?a*a*a*a*a*a*a*a*a*b*"] {
        let sel = format!("sel: {{F: '{pattern}'}}");
        let set = compile_with(&[&sel, "condition: sel"], None);
        let start = Instant::now();
        assert!(!matches(&set, &ev! {"F" => text.as_str()}));
        assert!(start.elapsed() < FAST, "{pattern}: {:?}", start.elapsed());
    }
    // The same shape as keywords and with contains.
    let set = compile_with(&["kw: ['a*a*a*a*a*b']", "condition: kw"], None);
    let start = Instant::now();
    assert!(!matches(
        &set,
        &ev! {"F" => text.as_str(), "G" => text.as_str()}
    ));
    assert!(start.elapsed() < FAST, "{:?}", start.elapsed());
    // And it still matches when it should.
    let mut hit = text.clone();
    hit.push('b');
    let set = compile_with(&["sel: {F: '*a*a*a*a*a*b'}", "condition: sel"], None);
    assert!(matches(&set, &ev! {"F" => hit.as_str()}));
}

#[test]
fn wide_and_deep_arrays() {
    let wide = arr((0..200_000).map(|i| Value::str(format!("item{i}"))));
    let set = compile_with(&["sel: {L: item199999}", "condition: sel"], None);
    assert!(matches(&set, &ev! {"L" => wide.clone()}));
    let set = compile_with(&["sel: {L|contains: nothere}", "condition: sel"], None);
    assert!(!matches(&set, &ev! {"L" => wide}));

    // Nesting a reader could never produce (JSON readers stop at 128), built by hand, far
    // deeper than a recursive walk could follow on a 2 MiB test thread.
    let mut deep = Value::str("payload");
    for _ in 0..200_000 {
        deep = Value::Array(vec![deep]);
    }
    let ev = ev! {"L" => deep, "N" => arr([arr([Value::Int(7)])])};
    let set = compile_with(&["sel: {L: payload}", "condition: sel"], None);
    assert!(matches(&set, &ev));
    let kw = compile_with(&["kw: [payload]", "condition: kw"], None);
    assert!(matches(&kw, &ev));
    let num = compile_with(&["sel: {L|gt: 1}", "condition: sel"], None);
    assert!(!matches(&num, &ev));
    let nested_num = compile_with(&["sel: {N|gt: 6}", "condition: sel"], None);
    assert!(matches(&nested_num, &ev));
    // Dropping the value would recurse in Rust's own drop code (spoor-event's `Value` is a plain
    // enum); readers never build such depth, so the test leaks it instead of crashing there.
    std::mem::forget(ev);
}

#[test]
fn text_from_invalid_utf8() {
    let bytes: &[u8] = b"\xff\xfeC:\\Users\\Public\\\xc3\x28evil\xe2\x82.exe\x00\x80";
    let text = String::from_utf8_lossy(bytes).into_owned();
    assert!(text.contains('\u{FFFD}'));
    sigma_match!([r"sel: {Image|contains: 'evil?.exe'}", "condition: sel"], ev!{"Image" => text.as_str()} => true);
    sigma_match!([r"sel: {Image|contains: '\Public\'}", "condition: sel"], ev!{"Image" => text.as_str()} => true);
    sigma_match!(["kw: ['\u{FFFD}(evil']", "condition: kw"], ev!{"Image" => text.as_str()} => true);
    // Characters whose lower case is longer than they are (İ -> i̇) must not break `?` or slicing.
    let odd = "\u{130}\u{130}\u{130}x\u{1E9E}";
    sigma_match!(["sel: {F: '???x?'}", "condition: sel"], ev!{"F" => odd} => true);
    sigma_match!(["sel: {F|contains: 'x'}", "condition: sel"], ev!{"F" => odd} => true);
    sigma_match!(["sel: {F|startswith: '\u{130}'}", "condition: sel"], ev!{"F" => odd} => true);
    // A rule file that is not UTF-8 is read lossily and reported, not a crash.
    let dir = std::env::temp_dir().join(format!("spoor-sigma-utf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let path = dir.join("bad.yml");
    let mut rule = super::rule_yaml(&["sel: {Image: 'x\u{FFFD}'}", "condition: sel"]).into_bytes();
    rule.extend_from_slice(b"\n# \xff\xfe\n");
    std::fs::write(&path, rule).expect("the rule file is written");
    let mut b = crate::RuleSetBuilder::new();
    b.add_path(&path);
    let set = b.build();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(set.reports().len(), 1);
    assert_eq!(set.reports()[0].status, crate::RuleStatus::Ok);
    let e = ev! {"Image" => "x\u{FFFD}"};
    assert_eq!(set.evaluator().matching_rules(&e).len(), 1);
}

#[test]
fn many_fields_and_many_rules() {
    // 5,000 fields, some repeated (F7 is both v7 and v2507); a rule on the last.
    let mut e = ev! {};
    for i in 0..5_000 {
        e.push(format!("F{}", i % 2_500), format!("v{i}"));
    }
    e.push("Image", "x");
    sigma_match!(["sel: {Image: x, F7: v2507}", "condition: sel"], e => true);
    // 600 rules in one set, each on another field: the even ones ask for the field's second
    // value and match, the odd ones for a value it does not have.
    let yaml: String = (0..600)
        .map(|j| {
            let want = if j % 2 == 0 { format!("v{}", j + 2_500) } else { format!("nope{j}") };
            format!("---\ntitle: r{j}\nlogsource: {{product: windows, category: process_creation}}\ndetection:\n  sel: {{F{j}: {want}}}\n  condition: sel\n")
        })
        .collect();
    let set = crate::tests::load(&[("many.yml", &yaml)]);
    assert_eq!(set.len(), 600);
    let mut titles: Vec<String> = set
        .evaluator()
        .matching_rules(&e)
        .iter()
        .map(|m| m.title.clone())
        .collect();
    titles.sort_by_key(|t| t[1..].parse::<u32>().unwrap_or(0));
    let want: Vec<String> = (0..600).step_by(2).map(|j| format!("r{j}")).collect();
    assert_eq!(titles, want);
    assert_eq!(set.matching_rules_unindexed(&e).len(), 300);
}
