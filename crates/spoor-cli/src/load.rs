//! Loading what a run hunts with: Sigma rules, indicators and YARA rules, from the built-in pack
//! and from the user's files, with every problem counted for the summary.

use anyhow::{bail, Result};
use spoor_ioc::{IocOptions, IocSet, IocSetBuilder, LoadStatus};
use spoor_sigma::{RuleSet, RuleSetBuilder, RuleStatus};
use std::path::{Path, PathBuf};

/// Loads the Sigma rules of a run.
pub fn sigma_rules(
    builtin: bool,
    paths: &[PathBuf],
    placeholders: Option<&Path>,
) -> Result<RuleSet> {
    let mut b = RuleSetBuilder::new();
    if let Some(p) = placeholders {
        let text = std::fs::read_to_string(p).map_err(|e| {
            anyhow::anyhow!(
                "cannot read placeholder file {}: {}",
                p.display(),
                spoor_event::io_reason(&e)
            )
        })?;
        let values = spoor_sigma::parse_placeholders(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
        b.placeholders(values);
    }
    if builtin {
        for (name, text) in spoor_pack::sigma_rules() {
            b.add_source(&spoor_pack::origin(name), text);
        }
    }
    for p in paths {
        if !p.exists() {
            bail!("rule path {} does not exist", p.display());
        }
        b.add_path(p);
    }
    Ok(b.build())
}

/// Counts of rule load outcomes.
#[derive(Debug, Default, Clone, Copy)]
pub struct RuleCounts {
    pub ok: u64,
    pub unsupported: u64,
    pub invalid: u64,
}

impl RuleCounts {
    pub fn add(&mut self, other: RuleCounts) {
        self.ok += other.ok;
        self.unsupported += other.unsupported;
        self.invalid += other.invalid;
    }
}

/// Sigma load counts, and one warning per rule that is not ok.
/// What a hunt (on files, live or in ClickHouse) hunts with: the Sigma rules and indicators its
/// arguments name (the built-in pack's unless `--no-builtin`), with their load counts; problems
/// go to `warnings`.
pub fn hunt_detectors(
    args: &crate::args::HuntArgs,
    warnings: &mut Vec<String>,
) -> Result<(RuleSet, Option<IocSet>, RuleCounts)> {
    let sigma = sigma_rules(!args.no_builtin, &args.rules, args.placeholders.as_deref())?;
    let mut counts = sigma_counts(&sigma, warnings);
    let (iocs, ioc_counts) =
        indicators(!args.no_builtin, &args.iocs, args.ioc_valid_only, warnings)?;
    counts.add(ioc_counts);
    Ok((sigma, iocs, counts))
}

pub fn sigma_counts(set: &RuleSet, warnings: &mut Vec<String>) -> RuleCounts {
    let mut c = RuleCounts::default();
    for r in set.reports() {
        match &r.status {
            RuleStatus::Ok => c.ok += 1,
            RuleStatus::Unsupported(why) => {
                c.unsupported += 1;
                let code = why.code();
                warnings.push(format!(
                    "rule {}:{} unsupported: {code} {why}",
                    r.origin,
                    r.location()
                ));
            }
            RuleStatus::Invalid(why) => {
                c.invalid += 1;
                let code = why.code();
                warnings.push(format!(
                    "rule {}:{} invalid: {code} {why}",
                    r.origin,
                    r.location()
                ));
            }
        }
    }
    c
}

/// Problems named one by one per indicator file; the rest are counted.
const MAX_NAMED_PROBLEMS: u64 = 20;

/// Loads indicators (built-in list and user files). `None` when there are none.
pub fn indicators(
    builtin: bool,
    paths: &[PathBuf],
    valid_only: bool,
    warnings: &mut Vec<String>,
) -> Result<(Option<IocSet>, RuleCounts)> {
    if !builtin && paths.is_empty() {
        return Ok((None, RuleCounts::default()));
    }
    let mut b = IocSetBuilder::new(IocOptions {
        valid_only,
        ..IocOptions::default()
    });
    if builtin {
        for (name, text) in spoor_pack::ioc_lists() {
            b.add_list_str(&spoor_pack::origin(name), text);
        }
    }
    for p in paths {
        b.add_path(p)
            .map_err(|e| anyhow::anyhow!("indicators: {e}"))?;
    }
    let set = b.build().map_err(|e| anyhow::anyhow!("indicators: {e}"))?;
    let mut counts = RuleCounts {
        ok: set.len() as u64,
        ..RuleCounts::default()
    };
    // Every problem is counted; the first few of each file are named (400,000 bad lines must
    // not make a 60 MB summary).
    let mut named: std::collections::HashMap<&str, u64> = std::collections::HashMap::new();
    for r in set.reports() {
        let (what, why) = match &r.status {
            LoadStatus::Ok => continue,
            LoadStatus::Unsupported(why) => {
                counts.unsupported += 1;
                ("unsupported", why)
            }
            LoadStatus::Invalid(why) => {
                counts.invalid += 1;
                ("invalid", why)
            }
        };
        let n = named.entry(r.origin.as_str()).or_default();
        *n += 1;
        if *n <= MAX_NAMED_PROBLEMS {
            warnings.push(format!("indicator {} {} {what}: {why}", r.origin, r.id));
        }
    }
    let mut over: Vec<(&str, u64)> = named
        .into_iter()
        .filter(|(_, n)| *n > MAX_NAMED_PROBLEMS)
        .collect();
    over.sort_unstable();
    for (origin, n) in over {
        warnings.push(format!(
            "indicator {origin}: {} more indicators not loaded (counted, not listed)",
            n - MAX_NAMED_PROBLEMS
        ));
    }
    Ok((if set.is_empty() { None } else { Some(set) }, counts))
}

/// Compiles the YARA rules of a scan (built-in web-shell rules plus user files).
pub fn yara_rules(builtin: bool, paths: &[PathBuf]) -> Result<spoor_yara::YaraRules> {
    let mut b = spoor_yara::YaraRulesBuilder::new();
    if builtin {
        for (name, text) in spoor_pack::yara_rules() {
            b = b.add_builtin(name, text);
        }
    }
    for p in paths {
        let (next, _) = b
            .add_path(p)
            .map_err(|e| anyhow::anyhow!("YARA rules {}: {e}", p.display()))?;
        b = next;
    }
    b.build().map_err(|e| anyhow::anyhow!("YARA rules: {e}"))
}
