//! The pack's proof: every built-in Sigma rule compiles in spoor's engine, carries the metadata
//! reports need (id, level, ATT&CK technique and tactic), and matches every event of its
//! fixture and none of the near misses.

mod fixtures;
mod proxylines;
mod readback;
mod sysloglines;
mod weblines;
mod winevents;

use fixtures::Route;
use std::collections::BTreeMap;

use spoor_event::{attack_from_tags, EventMatcher, Finding, StatefulDetector};
use spoor_sigma::{RuleSet, RuleSetBuilder, RuleStatus};
use std::collections::BTreeSet;
use yaml_rust2::YamlLoader;

const ADVISORY_URL: &str = "https://www.cisa.gov/news-events/cybersecurity-advisories/aa24-190a";

fn pack_set() -> RuleSet {
    let mut builder = RuleSetBuilder::new();
    for (name, yaml) in spoor_pack::sigma_rules() {
        builder.add_source(spoor_pack::origin(name).as_str(), yaml);
    }
    builder.build()
}

/// The `id` of the single rule in a pack file.
fn rule_id(name: &str, yaml: &str) -> String {
    let docs = YamlLoader::load_from_str(yaml).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(docs.len(), 1, "{name}: one rule per file");
    docs[0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{name}: no id"))
        .to_string()
}

#[test]
fn every_builtin_rule_compiles_ok() {
    let set = pack_set();
    let reports = set.reports();
    assert_eq!(reports.len(), spoor_pack::sigma_rules().len());
    let bad: Vec<String> = reports
        .iter()
        .filter(|r| !matches!(r.status, RuleStatus::Ok))
        .map(|r| {
            format!(
                "{:?} line {:?} ({:?}): {:?}",
                r.origin, r.line, r.title, r.status
            )
        })
        .collect();
    assert!(bad.is_empty(), "rules not ok:\n{}", bad.join("\n"));
}

#[test]
fn every_rule_matches_its_fixture_and_no_near_miss() {
    let set = pack_set();
    let mut evaluator = set.evaluator();
    let mut failures = Vec::new();
    let mut checked = 0usize;
    let mut routes = Vec::new();
    for (name, yaml) in spoor_pack::sigma_rules() {
        if is_correlation(yaml) {
            continue;
        }
        let id = rule_id(name, yaml);
        let path = fixtures::rules_dir().join("sigma/tests").join(name);
        let fixture = match fixtures::load(&path) {
            Ok(f) => f,
            Err(e) => {
                failures.push(format!("{name}: no usable fixture: {e}"));
                continue;
            }
        };
        routes.extend(fixture.routes.iter().cloned());
        for (want, events) in [(true, &fixture.matches), (false, &fixture.nomatches)] {
            for event in events {
                checked += 1;
                let hit = evaluator
                    .matching_rules(event)
                    .iter()
                    .any(|meta| meta.id == id);
                if hit != want {
                    let verb = if want { "missed" } else { "wrongly matched" };
                    failures.push(format!(
                        "{name} {verb} {}: {:?}",
                        event.origin.path, event.fields
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} fixture checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let detections = spoor_pack::sigma_rules()
        .iter()
        .filter(|(_, y)| !is_correlation(y))
        .count();
    assert!(
        checked >= 4 * detections,
        "too few fixture events: {checked}"
    );
    assert_eq!(routes.len(), checked, "a route per fixture event");
    let counts = check_routes(&routes, &["web", "proxy", "json", "syslog"]);
    println!("fixture events by route: {counts:?}");
}

/// Log sources (`product/category/service`) that no spoor reader gives: fixture events of these
/// stay as stated. Every other event must have gone through its reader.
const NO_READER: &[&str] = &["-/-/-", "jvm/application/-"];

/// Counts the routes, fails on an event left as stated whose log source has a reader, and
/// returns the counts by route (printed by the tests, so the split is visible).
fn check_routes(routes: &[Route], needs: &[&'static str]) -> BTreeMap<Route, usize> {
    let mut counts = BTreeMap::new();
    for r in routes {
        *counts.entry(r.clone()).or_insert(0) += 1;
    }
    for r in counts.keys() {
        if let Route::AsStated(ls) = r {
            assert!(
                NO_READER.contains(&ls.as_str()),
                "fixture events of log source {ls} were not read back, though a reader gives it"
            );
        }
    }
    for reader in needs {
        assert!(
            counts.contains_key(&Route::Reader(reader)),
            "no fixture event went through the {reader} reader: {counts:?}"
        );
    }
    counts
}

fn is_correlation(yaml: &str) -> bool {
    yaml.lines().any(|l| l.starts_with("correlation:"))
}

/// Every finding of the whole pack over one scenario (single-event rules, then correlations).
fn hunt(set: &RuleSet, events: &[spoor_event::Event]) -> Vec<Finding> {
    let corr = set.correlations();
    let mut p = corr.start();
    let mut ev = set.evaluator();
    let mut out = Vec::new();
    for e in events {
        let mut hits = Vec::new();
        ev.check(e, &mut hits);
        corr.observe(&mut p, e, &hits);
        out.extend(hits.into_iter().filter(|f| !f.rule.feeds_only));
    }
    out.extend(corr.finish(p).findings);
    out
}

#[test]
fn every_correlation_fires_on_its_scenarios_and_not_on_near_misses() {
    let set = pack_set();
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut routes = Vec::new();
    for (name, yaml) in spoor_pack::sigma_rules() {
        if !is_correlation(yaml) {
            continue;
        }
        let id = rule_id(name, yaml);
        let path = fixtures::rules_dir().join("sigma/tests").join(name);
        let sc = match fixtures::load_scenarios(&path) {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("{name}: no usable fixture: {e}"));
                continue;
            }
        };
        routes.extend(sc.routes.iter().cloned());
        let visible = set
            .correlations()
            .rules()
            .any(|m| m.id == id && !m.feeds_only);
        for (want, list) in [(true, &sc.fires), (false, &sc.quiet)] {
            for (i, events) in list.iter().enumerate() {
                checked += 1;
                let findings = hunt(&set, events);
                let hit = if visible {
                    findings.iter().any(|f| f.rule.id == id)
                } else {
                    // A chain step reports nothing itself: it must still fire for its chain,
                    // so check it through a copy of the set where it stands alone.
                    let mut b = RuleSetBuilder::new();
                    for (n, y) in spoor_pack::sigma_rules() {
                        if !is_correlation(y) || *n == *name {
                            b.add_source(n, y);
                        }
                    }
                    hunt(&b.build(), events).iter().any(|f| f.rule.id == id)
                };
                if hit != want {
                    let verb = if want { "missed" } else { "wrongly fired on" };
                    failures.push(format!("{name} {verb} scenario {i}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 2, "too few scenarios: {checked}");
    let counts = check_routes(&routes, &["web", "json", "syslog"]);
    println!("scenario events by route: {counts:?}");
}

#[test]
fn every_fixture_belongs_to_a_rule() {
    let names: BTreeSet<&str> = spoor_pack::sigma_rules().iter().map(|(n, _)| *n).collect();
    let dir = fixtures::rules_dir().join("sigma/tests");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut seen = 0;
    for entry in entries {
        let file = entry.expect("readable fixture folder").file_name();
        let file = file.to_string_lossy();
        assert!(names.contains(file.as_ref()), "fixture {file} has no rule");
        seen += 1;
    }
    assert_eq!(
        seen,
        names.len(),
        "one fixture per rule in {}",
        dir.display()
    );
}

#[test]
fn every_rule_has_the_metadata_reports_need() {
    let mut ids = BTreeSet::new();
    for (name, yaml) in spoor_pack::sigma_rules() {
        let docs = YamlLoader::load_from_str(yaml).unwrap_or_else(|e| panic!("{name}: {e}"));
        let rule = &docs[0];
        let id = rule_id(name, yaml);
        let uuid_shaped = id.len() == 36
            && id.chars().enumerate().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_hexdigit(),
            });
        assert!(uuid_shaped, "{name}: id {id} is not a UUID");
        assert!(ids.insert(id.clone()), "{name}: duplicate id {id}");
        assert!(
            rule["title"].as_str().is_some_and(|t| t.len() > 10),
            "{name}: title"
        );
        assert!(
            rule["description"].as_str().is_some(),
            "{name}: description"
        );
        let level = rule["level"].as_str().unwrap_or_default();
        assert!(
            ["informational", "low", "medium", "high", "critical"].contains(&level),
            "{name}: level {level}"
        );
        let tags: Vec<&str> = rule["tags"]
            .as_vec()
            .map(|v| v.iter().filter_map(|t| t.as_str()).collect())
            .unwrap_or_default();
        let attack = attack_from_tags(tags.iter().copied());
        assert!(
            !attack.techniques.is_empty(),
            "{name}: no ATT&CK technique tag"
        );
        assert!(!attack.tactics.is_empty(), "{name}: no ATT&CK tactic tag");
        let refs: Vec<&str> = rule["references"]
            .as_vec()
            .map(|v| v.iter().filter_map(|t| t.as_str()).collect())
            .unwrap_or_default();
        assert!(
            refs.contains(&ADVISORY_URL),
            "{name}: does not cite the advisory"
        );
    }
}
