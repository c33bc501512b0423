//! Why a rule fires or stays quiet on one event: each selection's result with the value that
//! decided it, the condition, the log source check and the filters.
//!
//! This walks the compiled rule with the evaluator's own test functions (so an explanation can
//! never disagree with a hunt), but on its own scratch space and outside the indexed hot path:
//! it is for one event at a time, asked for by an analyst.

use crate::eval::{
    any_keyword_text, any_text, check_text, eval_cond, eval_sel, eval_test, fast_text, filtered,
    Ctx, Scratch,
};
use crate::ir::{Check, CompiledRule, Cond, Mode, Sel, Target, Test, TestKind};
use crate::pattern::StrMatch;
use crate::RuleSet;
use spoor_event::{Event, LogSource};

/// Most values listed when describing what a test expects.
const MAX_LISTED: usize = 6;
/// Longest text of a value shown in an explanation (longer is cut with `…`).
const MAX_VALUE_CHARS: usize = 200;

/// One field (or keyword) test of a selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestExplanation {
    /// The field name after mapping, or `keywords` for a keyword search.
    pub field: String,
    /// What the test asks, e.g. `any of: endswith '\whoami.exe'`.
    pub expected: String,
    /// Its result on the event.
    pub matched: bool,
    /// The value that decided it: the matching value, else the event's value that failed,
    /// else `None` when the field is absent.
    pub value: Option<String>,
}

/// One search identifier (selection) of the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectionExplanation {
    /// Its name in the rule.
    pub name: String,
    /// Its result on the event.
    pub matched: bool,
    /// Its tests; a selection written as a list of maps has several branches, any of which
    /// must hold (all tests of one branch).
    pub branches: Vec<Vec<TestExplanation>>,
}

/// Why a rule fires or not on one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The rule's id.
    pub rule_id: String,
    /// The rule's title.
    pub title: String,
    /// Where the rule was loaded from.
    pub origin: Option<String>,
    /// The rule's log source as `product/category/service` (`*` for a part it leaves open).
    pub rule_logsource: String,
    /// The event's log source as the readers set it.
    pub event_logsource: String,
    /// Whether the rule runs on events of that log source at all.
    pub logsource_accepted: bool,
    /// The condition, with selection names.
    pub condition: String,
    /// The condition's result (whatever the log source).
    pub condition_matched: bool,
    /// A filter rule suppresses the match.
    pub filtered: bool,
    /// The rule fires: log source accepted, condition true, not filtered.
    pub fires: bool,
    /// Each selection.
    pub selections: Vec<SelectionExplanation>,
}

fn part(p: &Option<std::sync::Arc<str>>) -> &str {
    p.as_deref().unwrap_or("*")
}

fn logsource_text(ls: &LogSource) -> String {
    format!(
        "{}/{}/{}",
        part(&ls.product),
        part(&ls.category),
        part(&ls.service)
    )
}

fn short(s: &str) -> String {
    if s.chars().count() > MAX_VALUE_CHARS {
        let mut t: String = s.chars().take(MAX_VALUE_CHARS - 1).collect();
        t.push('…');
        t
    } else {
        s.to_string()
    }
}

fn describe_check(c: &Check, set: &RuleSet) -> String {
    match c {
        Check::Str(p) => {
            let cased = if p.cased { " (cased)" } else { "" };
            let body = match &p.m {
                StrMatch::Equals(s) => format!("'{s}'"),
                StrMatch::Contains(s) => format!("contains '{s}'"),
                StrMatch::StartsWith(s) => format!("startswith '{s}'"),
                StrMatch::EndsWith(s) => format!("endswith '{s}'"),
                StrMatch::Any => "any value".into(),
                StrMatch::Glob(r) => format!("like /{}/", r.as_str()),
            };
            format!("{body}{cased}")
        }
        Check::NumEq { text, .. } => text.clone(),
        Check::NumCmp(op, n) => format!("{op:?} {n}").to_lowercase(),
        Check::Regex(r) => format!("re /{}/", r.as_str()),
        Check::Cidr(net) => format!("cidr {net}"),
        Check::TimePart(p, op, n) => format!("{p:?} {op:?} {n}").to_lowercase(),
        Check::FieldRef { other, how, .. } => {
            let name = set.fields.names.get(*other as usize).map_or("?", |n| &**n);
            format!("{how:?} field {name}").to_lowercase()
        }
        Check::Null => "null (absent or empty)".into(),
    }
}

fn describe_test(t: &Test, set: &RuleSet) -> String {
    match &t.kind {
        TestKind::Exists(true) => "exists".into(),
        TestKind::Exists(false) => "does not exist".into(),
        TestKind::Values { mode, groups, fast } => {
            let mut items: Vec<String> = Vec::new();
            if let Some(f) = fast {
                let mut eq: Vec<&String> = f.equals.iter().collect();
                eq.sort();
                items.extend(eq.into_iter().map(|e| format!("'{e}'")));
                items.extend(
                    f.contains
                        .literals()
                        .iter()
                        .map(|c| format!("contains '{c}'")),
                );
            }
            for g in groups {
                let alts: Vec<String> = g.iter().map(|c| describe_check(c, set)).collect();
                if *mode == Mode::Any {
                    // One flat OR-list: every alternative is an item.
                    items.extend(alts);
                } else if alts.len() > 1 {
                    items.push(format!("({})", alts.join(" | ")));
                } else if !alts.is_empty() {
                    items.push(alts.concat());
                }
            }
            let n = items.len();
            items.truncate(MAX_LISTED);
            let more = if n > MAX_LISTED {
                format!(", … ({} more)", n - MAX_LISTED)
            } else {
                String::new()
            };
            let head = match mode {
                Mode::Any if n == 1 => "",
                Mode::Any => "any of: ",
                Mode::All => "all of: ",
                Mode::NoneOf => "none of: ",
            };
            format!("{head}{}{more}", items.join(", "))
        }
    }
}

/// The value that decided a test, best effort: a value that satisfies one of its checks, else
/// the first value the event has there.
fn deciding_value(t: &Test, ctx: &Ctx) -> Option<String> {
    let (groups, fast) = match &t.kind {
        TestKind::Values { groups, fast, .. } => (groups.as_slice(), fast.as_deref()),
        TestKind::Exists(_) => (&[][..], None),
    };
    match t.target {
        Target::Field(f) => {
            let mut first = None;
            for i in ctx.occurrences(f) {
                let (v, folded) = ctx.value(i);
                let hit = fast
                    .is_some_and(|fa| any_text(v, folded, &mut |_, fo| fast_text(fa, fo)))
                    || groups.iter().flatten().any(|c| ctx.check_at(c, i));
                if hit {
                    return Some(short(&v.to_string()));
                }
                first.get_or_insert_with(|| short(&v.to_string()));
            }
            first
        }
        Target::Keyword => {
            let mut found = None;
            any_keyword_text(ctx, &mut |orig, folded| {
                let hit = fast.is_some_and(|fa| fast_text(fa, folded))
                    || groups.iter().flatten().any(|c| check_text(c, orig, folded));
                if hit {
                    found = Some(short(orig));
                }
                hit
            });
            found
        }
    }
}

fn explain_branch(tests: &[Test], ctx: &Ctx, set: &RuleSet) -> Vec<TestExplanation> {
    tests
        .iter()
        .map(|t| TestExplanation {
            field: match t.target {
                Target::Field(f) => set
                    .fields
                    .names
                    .get(f as usize)
                    .map_or_else(|| "?".into(), |n| n.to_string()),
                Target::Keyword => "keywords".into(),
            },
            expected: describe_test(t, set),
            matched: eval_test(t, ctx),
            value: deciding_value(t, ctx),
        })
        .collect()
}

fn branches(s: &Sel, ctx: &Ctx, set: &RuleSet, out: &mut Vec<Vec<TestExplanation>>) {
    match s {
        Sel::And(tests) => out.push(explain_branch(tests, ctx, set)),
        Sel::Or(bs) => bs.iter().for_each(|b| branches(b, ctx, set, out)),
    }
}

fn cond_text(c: &Cond, names: &[String], top: bool) -> String {
    let join = |items: &[Cond], op: &str| {
        let parts: Vec<String> = items.iter().map(|i| cond_text(i, names, false)).collect();
        let s = parts.join(op);
        if top || items.len() < 2 {
            s
        } else {
            format!("({s})")
        }
    };
    match c {
        Cond::Sel(i) => names
            .get(*i as usize)
            .cloned()
            .unwrap_or_else(|| format!("#{i}")),
        Cond::And(items) => join(items, " and "),
        Cond::Or(items) => join(items, " or "),
        Cond::Not(inner) => format!("not {}", cond_text(inner, names, false)),
        Cond::AtLeast(n, items) => {
            let parts: Vec<String> = items.iter().map(|i| cond_text(i, names, true)).collect();
            format!("{n} of ({})", parts.join(", "))
        }
    }
}

impl RuleSet {
    /// Each rule that runs, with whether it runs on events of at least one of the log sources
    /// in `present` (what evidence coverage asks: can this rule see anything in these logs?).
    /// An entirely unknown log source runs every rule, as in evaluation.
    pub fn runs_on_any(
        &self,
        present: &[LogSource],
    ) -> Vec<(std::sync::Arc<spoor_event::RuleMeta>, bool)> {
        self.rules
            .iter()
            .map(|r| {
                (
                    r.meta.clone(),
                    present.iter().any(|ls| r.logsource.accepts(ls)),
                )
            })
            .collect()
    }

    /// The rule (that runs) whose id, title or `name` is `rule`; ids are compared ignoring
    /// ASCII case, titles exactly.
    fn find_rule(&self, rule: &str) -> Option<usize> {
        self.rules
            .iter()
            .position(|r| !r.meta.id.is_empty() && r.meta.id.eq_ignore_ascii_case(rule))
            .or_else(|| self.rules.iter().position(|r| r.meta.title == rule))
    }

    /// Explains rule `rule` (id or title) on `ev`; `None` when no rule of that id or title runs.
    /// The verdict ([`Explanation::fires`]) agrees with the evaluator by construction: the same
    /// test functions decide, here without the prefilter.
    pub fn explain(&self, rule: &str, ev: &Event) -> Option<Explanation> {
        let r = self.find_rule(rule)?;
        let compiled: &CompiledRule = self.rules.get(r)?;
        let mut s = Scratch::default();
        s.prepare(self, ev, true, None);
        let ctx = Ctx { ev, s: &s };
        let selections = compiled
            .sels
            .iter()
            .enumerate()
            .map(|(i, sel)| {
                let mut bs = Vec::new();
                branches(sel, &ctx, self, &mut bs);
                SelectionExplanation {
                    name: compiled
                        .sel_names
                        .get(i)
                        .cloned()
                        .unwrap_or_else(|| format!("#{i}")),
                    matched: eval_sel(sel, &ctx),
                    branches: bs,
                }
            })
            .collect();
        let mut memo = vec![2u8; compiled.sels.len()];
        let condition_matched = eval_cond(&compiled.cond, compiled, &ctx, &mut memo);
        let logsource_accepted = compiled.logsource.accepts(&ev.logsource);
        let filtered = logsource_accepted && condition_matched && filtered(self, r, ev);
        let rls = &compiled.logsource;
        Some(Explanation {
            rule_id: compiled.meta.id.clone(),
            title: compiled.meta.title.clone(),
            origin: compiled.meta.path.clone(),
            rule_logsource: format!(
                "{}/{}/{}",
                part(&rls.product),
                part(&rls.category),
                part(&rls.service)
            ),
            event_logsource: logsource_text(&ev.logsource),
            logsource_accepted,
            condition: cond_text(&compiled.cond, &compiled.sel_names, true),
            condition_matched,
            filtered,
            fires: logsource_accepted && condition_matched && !filtered,
            selections,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::RuleSetBuilder;
    use spoor_event::{Event, LogSource, Position, Value};

    const RULE: &str = "title: Whoami by a service\nid: 11111111-2222-3333-4444-555555555555\nlogsource: {category: process_creation, product: windows}\ndetection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n  user:\n    - User|startswith: 'NT AUTHORITY'\n    - User: svc_web\n  quiet:\n    CommandLine|contains: '/all'\n  condition: sel and user and not quiet\n";

    fn ev(user: &str, cmd: &str) -> Event {
        Event::new("x.jsonl", Position::Line(4))
            .with_logsource(LogSource::new(
                Some("windows"),
                Some("process_creation"),
                Some("sysmon"),
            ))
            .with("Image", r"C:\Windows\System32\WHOAMI.EXE")
            .with("User", user)
            .with("CommandLine", cmd)
            .with("EventID", Value::Int(1))
    }

    fn set() -> crate::RuleSet {
        let mut b = RuleSetBuilder::new();
        b.add_source("r.yml", RULE);
        b.build()
    }

    #[test]
    fn explains_a_firing_rule_with_deciding_values() {
        let set = set();
        let e = ev("NT AUTHORITY\\SYSTEM", "whoami");
        let x = set
            .explain("11111111-2222-3333-4444-555555555555", &e)
            .unwrap();
        assert!(x.fires && x.logsource_accepted && x.condition_matched);
        assert_eq!(x.condition, "sel and user and not quiet");
        assert_eq!(x.selections.len(), 3);
        let sel = &x.selections[0];
        assert_eq!((sel.name.as_str(), sel.matched), ("sel", true));
        let t = &sel.branches[0][0];
        assert_eq!(t.field, "Image");
        assert_eq!(t.value.as_deref(), Some(r"C:\Windows\System32\WHOAMI.EXE"));
        assert!(t.expected.contains("endswith"), "{}", t.expected);
        let user = &x.selections[1];
        assert_eq!(user.branches.len(), 2);
        assert!(user.branches[0][0].matched && !user.branches[1][0].matched);
        assert!(!x.selections[2].matched);
        // The verdict is the evaluator's.
        assert_eq!(set.evaluator().matching_rules(&e).len(), 1);
    }

    #[test]
    fn explains_a_quiet_rule() {
        let set = set();
        let e = ev("alice", "whoami /all");
        let x = set.explain("Whoami by a service", &e).unwrap();
        assert!(!x.fires && !x.condition_matched);
        assert!(!x.selections[1].matched);
        assert_eq!(
            x.selections[1].branches[1][0].value.as_deref(),
            Some("alice")
        );
        assert!(x.selections[2].matched);
        assert_eq!(
            x.selections[2].branches[0][0].value.as_deref(),
            Some("whoami /all")
        );
        assert!(set.evaluator().matching_rules(&e).is_empty());
        // Another log source: the condition may hold, the rule does not run.
        let mut web = ev("NT AUTHORITY\\SYSTEM", "whoami");
        web.logsource = LogSource::new(None, Some("webserver"), None);
        let x = set
            .explain("11111111-2222-3333-4444-555555555555", &web)
            .unwrap();
        assert!(x.condition_matched && !x.logsource_accepted && !x.fires);
        assert!(set.explain("no-such-rule", &web).is_none());
    }

    #[test]
    fn runs_on_any_follows_the_log_source() {
        let set = set();
        let web = LogSource::new(None, Some("webserver"), None);
        let proc = LogSource::new(Some("windows"), Some("process_creation"), Some("sysmon"));
        assert!(!set.runs_on_any(std::slice::from_ref(&web))[0].1);
        assert!(set.runs_on_any(&[web, proc])[0].1);
        assert!(!set.runs_on_any(&[])[0].1);
    }

    #[test]
    fn absent_field_has_no_value() {
        let set = set();
        let e = Event::new("x", Position::Line(1)).with_logsource(LogSource::new(
            Some("windows"),
            Some("process_creation"),
            None,
        ));
        let x = set.explain("Whoami by a service", &e).unwrap();
        assert_eq!(x.selections[0].branches[0][0].value, None);
        assert!(!x.fires);
    }
}
