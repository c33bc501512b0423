//! Broken rules: each is reported `invalid` with its line and a one-line reason, and the good
//! rules around it (in the same file, or in other files) still load and run.

use super::{base_event, load};
use crate::{parse_rules, RuleParseError, RuleReport, RuleStatus, SigmaError};

const MIXED: &str = "\
title: good one
logsource: {product: windows}
detection:
  sel: {A: 1}
  condition: sel
---
title: bad modifier
logsource: {product: windows}
detection:
  sel:
    A|containz: x
  condition: sel
---
title: bad regex
logsource: {product: windows}
detection:
  sel:
    A|re: '(unclosed'
  condition: sel
---
title: missing selection
logsource: {product: windows}
detection:
  sel: {A: 1}
  condition: sel and other
---
title: no detection
logsource: {product: windows}
---
title: bad of
logsource: {product: windows}
detection:
  sel: {A: 1}
  condition:
    - sel
    - 1 of filter_*
---
title: good two
logsource: {product: windows}
detection:
  sel: {B: 1}
  condition: sel
";

fn invalid<'a>(reports: &'a [RuleReport], title: &str) -> (&'a RuleReport, String) {
    let r = reports
        .iter()
        .find(|r| r.title == title)
        .unwrap_or_else(|| panic!("no report for {title}: {reports:?}"));
    match &r.status {
        RuleStatus::Invalid(error) => {
            let reason = error.to_string();
            assert!(!reason.trim().is_empty(), "{title}: empty reason");
            assert!(
                !reason.contains('\n'),
                "{title}: reason spans lines: {reason:?}"
            );
            (r, reason)
        }
        other => panic!("{title}: expected invalid, got {other:?}"),
    }
}

#[test]
fn each_broken_rule_has_its_line_and_reason_and_the_rest_loads() {
    let set = load(&[("mixed.yml", MIXED)]);
    let reports = set.reports();
    assert_eq!(reports.len(), 7, "{reports:?}");

    let (r, why) = invalid(reports, "bad modifier");
    assert_eq!((r.line, r.origin.as_str()), (11, "mixed.yml"));
    assert!(why.contains("unknown modifier 'containz'"), "{why}");

    let (r, why) = invalid(reports, "bad regex");
    assert_eq!(r.line, 18);
    assert!(why.starts_with("bad regex"), "{why}");

    let (r, why) = invalid(reports, "missing selection");
    assert_eq!(r.line, 25, "the line of the condition");
    assert!(why.contains("'other'"), "{why}");

    let (r, why) = invalid(reports, "no detection");
    assert_eq!(r.line, 27);
    assert!(why.contains("detection"), "{why}");

    let (r, why) = invalid(reports, "bad of");
    assert_eq!(r.line, 36, "the line of the failing condition in the list");
    assert!(why.contains("filter_*"), "{why}");

    let ok: Vec<&str> = reports
        .iter()
        .filter(|r| r.status == RuleStatus::Ok)
        .map(|r| r.title.as_str())
        .collect();
    assert_eq!(ok, ["good one", "good two"]);
    assert_eq!(set.len(), 2);
    let ev = base_event().with("A", 1i64).with("B", 1i64);
    assert_eq!(
        crate::tests::matching_titles(&set, &ev),
        ["good one", "good two"]
    );
}

#[test]
fn invalid_yaml_fails_its_file_only() {
    let broken = "title: broken\nlogsource: {product: windows\ndetection:\n  sel: {A: 1}\n  condition: sel\n";
    let good =
        "title: fine\nlogsource: {product: windows}\ndetection:\n  sel: {A: 1}\n  condition: sel\n";
    let set = load(&[("broken.yml", broken), ("good.yml", good)]);
    let reports = set.reports();
    assert_eq!(reports.len(), 2, "{reports:?}");
    let bad = &reports[0];
    assert_eq!(bad.origin, "broken.yml");
    let RuleStatus::Invalid(reason) = &bad.status else {
        panic!("{bad:?}")
    };
    let reason = reason.to_string();
    assert!(reason.starts_with("YAML"), "{reason}");
    assert!(!reason.contains('\n'));
    assert!((2..=3).contains(&bad.line), "line {}", bad.line);
    assert_eq!(reports[1].status, RuleStatus::Ok);
    assert_eq!(set.len(), 1);
}

#[test]
fn other_shape_errors() {
    let cases: [(&str, &str, usize, &str); 8] = [
        ("no title", "logsource: {product: windows}\ndetection:\n  s: {A: 1}\n  condition: s\n", 1, "title"),
        ("no condition", "title: t\nlogsource: {product: windows}\ndetection:\n  s: {A: 1}\n", 4, "condition"),
        ("bad condition", "title: t\nlogsource: {product: windows}\ndetection:\n  s: {A: 1}\n  condition: s and (\n", 5, "condition"),
        ("aggregation", "title: t\nlogsource: {product: windows}\ndetection:\n  s: {A: 1}\n  condition: s | count() > 5\n", 5, "aggregation"),
        ("conflicting modifiers", "title: t\nlogsource: {product: windows}\ndetection:\n  s:\n    A|re|contains: x\n  condition: s\n", 5, "modifiers"),
        ("bad cidr", "title: t\nlogsource: {product: windows}\ndetection:\n  s:\n    A|cidr: 10.0.0.0/99\n  condition: s\n", 5, "CIDR"),
        ("lt on text", "title: t\nlogsource: {product: windows}\ndetection:\n  s:\n    A|lt: ten\n  condition: s\n", 5, "not a number"),
        ("bad level", "title: t\nlogsource: {product: windows}\nlevel: apocalyptic\ndetection:\n  s: {A: 1}\n  condition: s\n", 3, "level"),
    ];
    for (name, yaml, line, word) in cases {
        let set = load(&[("x.yml", yaml)]);
        let r = &set.reports()[0];
        let RuleStatus::Invalid(reason) = &r.status else {
            panic!("{name}: {r:?}")
        };
        let reason = reason.to_string();
        assert_eq!(r.line, line, "{name}: {reason}");
        assert!(reason.contains(word), "{name}: {reason}");
        assert!(!reason.contains('\n'), "{name}: {reason:?}");
    }
}

#[test]
fn backtracking_regexes_are_refused_as_unsupported() {
    let yaml = "title: t\nlogsource: {product: windows}\ndetection:\n  s:\n    A|re: '(a)\\1'\n  condition: s\n";
    let set = load(&[("x.yml", yaml)]);
    assert!(
        matches!(&set.reports()[0].status, RuleStatus::Unsupported(r) if r.to_string().contains("linear")),
        "{:?}",
        set.reports()
    );
}

#[test]
fn parse_rules_gives_the_ast_or_the_reason() {
    let parsed = parse_rules(MIXED);
    assert_eq!(parsed.len(), 7);
    // Problems found while parsing are reported here; those found while compiling (a bad regex)
    // are not, since parse_rules does not compile.
    let oks: Vec<&str> = parsed
        .iter()
        .filter_map(|p| p.as_ref().ok())
        .map(|a| a.title.as_str())
        .collect();
    assert_eq!(oks, ["good one", "bad regex", "good two"]);
    // The others are typed: the stable code and the place of the node at fault.
    let errors: Vec<(&str, String)> = parsed
        .iter()
        .filter_map(|p| p.as_ref().err())
        .map(|e| {
            let code = e.sigma_error().map_or("-", SigmaError::code);
            let RuleParseError::Invalid { at, .. } = e else {
                panic!("{e:?}")
            };
            (code, at.to_string())
        })
        .collect();
    assert_eq!(
        errors,
        [
            ("SIGMA-E009", "11:5".to_string()),
            ("SIGMA-E007", "25:14".to_string()),
            ("SIGMA-E005", "27:1".to_string()),
            ("SIGMA-E007", "36:7".to_string()),
        ]
    );
    let yaml = parse_rules("a: [");
    assert!(
        matches!(&yaml[..], [Err(RuleParseError::Invalid { error: SigmaError::YamlSyntax(_), at })] if at.line >= 1 && at.column.is_some()),
        "{yaml:?}"
    );
    let others = parse_rules(
        "title: c\ncorrelation: {type: event_count, rules: [a], timespan: 5m, condition: {gte: 2}}\n---\ntitle: f\nlogsource: {product: windows}\nfilter:\n  rules: [a]\n  sel: {A: 1}\n  condition: sel\n",
    );
    assert_eq!(
        others,
        [
            Err(RuleParseError::Correlation),
            Err(RuleParseError::Filter)
        ]
    );
}

#[test]
fn placeholder_files_give_typed_errors_at_their_place() {
    use crate::{parse_placeholders, PlaceholderError};
    let ok = parse_placeholders("Admins: [root, 'adm*']\n'%Servers%': srv01\n").unwrap();
    assert_eq!(ok["Admins"], ["root", "adm*"]);
    assert_eq!(ok["Servers"], ["srv01"]);
    let at = |text: &str| parse_placeholders(text).map(|_| ()).unwrap_err();
    let e = at("- a\n- b\n");
    assert!(matches!(e, PlaceholderError::NotAMapping { .. }), "{e:?}");
    assert_eq!(e.location(), crate::Location::at(1, 1));
    let e = at("Admins:\n  - root\n  - {x: 1}\n");
    assert!(
        matches!(e, PlaceholderError::ValueNotScalar { .. }),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "line 3, column 5: placeholder values must be scalars"
    );
    let e = at("? [a, b]\n: x\n");
    assert!(matches!(e, PlaceholderError::NameNotText { .. }), "{e:?}");
    let e = at("Admins: [root\n");
    assert!(matches!(e, PlaceholderError::Yaml { .. }), "{e:?}");
    assert!(e.to_string().starts_with("line "), "{e}");
}
