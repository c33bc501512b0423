//! Sigma correlations -> ClickHouse window queries with the local engine's window semantics
//! (spoor-sigma's `correlation.rs`), so that `hunt --clickhouse` can run them in the server.
//!
//! Every correlation becomes a chain of common table expressions over its inputs (the base
//! rules' matching rows, or the episodes of a lower correlation):
//! 1. `in_K`: one row per input with its time `t` (ns), the time of the earliest event behind it,
//!    its slot, origin, group key and value, in the local engine's order (time, path, position,
//!    slot).
//! 2. `r_K`: `row_number()` per group and the size of the local window: a `RANGE BETWEEN
//!    timespan PRECEDING AND CURRENT ROW` frame holds every input of `[t - timespan, t]`, and
//!    also the inputs of the same instant that come *after* the current one; the local engine
//!    has not seen those yet, so they are subtracted (`ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED
//!    FOLLOWING` within the instant) or filtered out (`rn <= current rn`) of the frame.
//! 3. `a_K`: the aggregate per input (count, distinct count, sum, mean, median, nearest-rank
//!    percentile, rules present, rules in order found greedily with `arrayFold`).
//! 4. `f_K`/`i_K`: the inputs where the condition holds; gaps and islands: a firing input opens a
//!    new finding when the previous one of its group fired before `t - timespan`.
//! 5. `e_K`/`ep_K`: per island, the first window's start row to the last firing row are its
//!    contributors (contiguous, see the module tests): start, events, origins, peak value.
//!
//! Two things the SQL cannot see as the local engine does are documented in `docs/clickhouse.md`:
//! a group or value field holding an array or repeated in one event (the table keeps texts
//! only), and the local engine's cap of [`spoor_sigma::MAX_WINDOW`] inputs per window.

use crate::convert::{lit, logsource_sql, number_of, rule_sql, TimeRange};
use spoor_event::RuleMeta;
use spoor_sigma::{CorrelationInput, CorrelationType, CorrelationView, MetricCondition, RuleSet};
use std::fmt::Write as _;
use std::sync::Arc;

/// Most origins a correlation finding lists (as the local engine).
const MAX_ORIGINS: usize = spoor_event::CorrelationInfo::MAX_ORIGINS;

/// A correlation as one query, run in the server.
#[derive(Debug, Clone)]
pub struct CorrelationQuery {
    /// Index into [`spoor_sigma::CorrelationSet::views`].
    pub index: usize,
    /// The correlation.
    pub rule: Arc<RuleMeta>,
    /// The statement, ending in `FORMAT JSONEachRow`; one row per finding.
    pub sql: String,
}

/// Writes the query of every correlation of `set`; those that cannot be written come back with
/// the reason (they run in spoor over the base matches instead).
pub fn correlation_queries(
    set: &RuleSet,
    database: &str,
    table: &str,
    range: TimeRange,
) -> (Vec<CorrelationQuery>, Vec<(Arc<RuleMeta>, String)>) {
    let views: Vec<CorrelationView> = set.correlations().views().collect();
    let mut ctes: Vec<Option<String>> = Vec::with_capacity(views.len());
    let mut deps: Vec<Vec<usize>> = Vec::with_capacity(views.len());
    let mut done = Vec::new();
    let mut local = Vec::new();
    for (k, c) in views.iter().enumerate() {
        let mut my_deps = Vec::new();
        let cte = correlation_ctes(set, &views, k, database, table, &ctes, &mut my_deps);
        match cte {
            Ok(text) => {
                // Every lower correlation this one reads, transitively, in index order.
                let mut all: Vec<usize> = my_deps
                    .iter()
                    .flat_map(|&d| deps[d].iter().copied().chain([d]))
                    .collect();
                all.sort_unstable();
                all.dedup();
                let mut sql = String::from("WITH\n");
                for &d in &all {
                    sql.push_str(ctes[d].as_deref().unwrap_or_default());
                    sql.push_str(",\n");
                }
                sql.push_str(&text);
                let _ = write!(
                    sql,
                    "\nSELECT toString(start) AS start, toString(last_fire) AS end, \
                     toString(peak) AS value, toString(events) AS events, key, \
                     arrayMap(o -> o.1, origins) AS o_path, arrayMap(o -> o.2, origins) AS o_kind, \
                     arrayMap(o -> toString(o.3), origins) AS o_pos, product, category, service\n\
                     FROM ep_{k}{}\nFORMAT JSONEachRow",
                    range
                        .on_nanos("start")
                        .map(|c| format!(" WHERE {c}"))
                        .unwrap_or_default()
                );
                done.push(CorrelationQuery {
                    index: k,
                    rule: c.meta().clone(),
                    sql,
                });
                ctes.push(Some(text));
                deps.push(all);
            }
            Err(reason) => {
                local.push((c.meta().clone(), reason));
                ctes.push(None);
                deps.push(Vec::new());
            }
        }
    }
    (done, local)
}

/// The value of field `name` in the table's row as the local engine's `value_text` gives it: the
/// text of a scalar, NULL for null or absent; a flat array as `[a, b]`.
fn field_value(name: &str) -> String {
    let n = lit(name);
    format!(
        "if(NOT mapContains(fields, {n}), CAST(NULL AS Nullable(String)), \
         multiIf(length(fields[{n}]) = 1, toNullable(fields[{n}][1]), \
         empty(fields[{n}]) AND has(nulls, {n}), CAST(NULL AS Nullable(String)), \
         toNullable(concat('[', arrayStringConcat(fields[{n}], ', '), ']'))))"
    )
}

fn nullable_array(items: &[String]) -> String {
    if items.is_empty() {
        "CAST([], 'Array(Nullable(String))')".into()
    } else {
        format!("CAST([{}], 'Array(Nullable(String))')", items.join(", "))
    }
}

/// The value tuple of `value_fields` from a lookup: one field, or several joined with U+001F
/// (NULL unless all are present).
fn value_tuple(fields: &[Arc<str>], lookup: impl Fn(&str) -> String) -> String {
    match fields {
        [] => "CAST(NULL AS Nullable(String))".into(),
        [one] => lookup(one),
        many => {
            let parts: Vec<String> = many.iter().map(|f| lookup(f)).collect();
            format!("arrayStringConcat([{}], '\\x1F')", parts.join(", "))
        }
    }
}

/// `correlation_queries`'s CTEs of correlation `k` (without the leading `WITH`), listing the
/// lower correlations it reads into `deps`.
fn correlation_ctes(
    set: &RuleSet,
    views: &[CorrelationView],
    k: usize,
    database: &str,
    table: &str,
    lower: &[Option<String>],
    deps: &mut Vec<usize>,
) -> Result<String, String> {
    let c = &views[k];
    let ns = c
        .timespan()
        .num_nanoseconds()
        .ok_or("a timespan longer than 292 years")?;
    let group_names = c.group_names();
    // An exposed field: a group value where the name is a group name, else the input's own.
    let exposed = |key: &[String], own: &dyn Fn(&str) -> String| -> Vec<String> {
        c.exposes()
            .iter()
            .map(|n| match group_names.iter().position(|g| g == n) {
                Some(g) => key[g].clone(),
                None => own(n),
            })
            .collect()
    };
    let mut branches = Vec::new();
    for (slot, input) in c.inputs().into_iter().enumerate() {
        let gf = c.group_fields(slot);
        match input {
            CorrelationInput::Rule(r) => {
                let rule = set.compiled().get(r).ok_or("unknown base rule")?;
                let (pred, kw) = rule_sql(set, r).map_err(|e| {
                    format!(
                        "its rule '{}' is not expressed in SQL: {e}",
                        rule.meta.title
                    )
                })?;
                let key: Vec<String> = gf.iter().map(|f| field_value(f)).collect();
                let xs = exposed(&key, &|n| field_value(n));
                let from = if kw {
                    format!(
                        "(SELECT *, arrayConcat(arrayFlatten(mapValues(fields)), \
                         if(isNull(raw), [], [assumeNotNull(raw)])) AS kw FROM {database}.{table} FINAL)"
                    )
                } else {
                    format!("{database}.{table} FINAL")
                };
                branches.push(format!(
                    "SELECT toUnixTimestamp64Nano(assumeNotNull(time)) AS t, t AS st, toUInt64({slot}) AS slot, \
                     path AS o_path, toUInt8(multiIf(pos_kind = 'line', 0, pos_kind = 'record', 1, 2)) AS o_ord, \
                     pos AS o_pos, [(path, toString(pos_kind), pos)] AS origins, toUInt64(1) AS events, \
                     toString(product) AS product, toString(category) AS category, toString(service) AS service, \
                     {} AS key, {} AS v, {} AS xs\n  FROM {from}\n  WHERE isNotNull(time) AND {} AND {pred}",
                    nullable_array(&key),
                    value_tuple(c.value_fields(), field_value),
                    nullable_array(&xs),
                    logsource_sql(&rule.logsource),
                ));
            }
            CorrelationInput::Correlation(j) => {
                if lower.get(j).and_then(Option::as_ref).is_none() {
                    return Err(format!(
                        "the correlation it reads ('{}') runs in spoor",
                        views.get(j).map_or("?", |v| v.meta().title.as_str())
                    ));
                }
                deps.push(j);
                let lexp = views[j].exposes();
                let from_lower = |n: &str| match lexp.iter().position(|e| &**e == n) {
                    Some(i) => format!("ep_xs[{}]", i + 1),
                    None => "CAST(NULL AS Nullable(String))".into(),
                };
                let key: Vec<String> = gf.iter().map(|f| from_lower(f)).collect();
                let xs = exposed(&key, &from_lower);
                branches.push(format!(
                    "SELECT first_fire AS t, start AS st, toUInt64({slot}) AS slot, origins[1].1 AS o_path, \
                     toUInt8(multiIf(origins[1].2 = 'line', 0, origins[1].2 = 'record', 1, 2)) AS o_ord, \
                     origins[1].3 AS o_pos, origins, events, product, category, service, \
                     {} AS key, {} AS v, {} AS xs\n  FROM ep_{j}",
                    nullable_array(&key),
                    value_tuple(c.value_fields(), from_lower),
                    nullable_array(&xs),
                ));
            }
        }
    }
    let n_slots = branches.len();
    let secs = c.timespan().num_seconds();
    if !(0..=i64::from(i32::MAX)).contains(&secs) {
        return Err("a timespan beyond 68 years (ClickHouse frames take 32-bit offsets)".into());
    }
    let order = "o_path, o_ord, o_pos, slot";
    // The frame over whole seconds holds every input of the local window and maybe a few more
    // (a 32-bit offset cannot count nanoseconds); the filter keeps exactly the local window: the
    // inputs of [t - timespan, t] up to the current one in the local order (`rn`), so inputs of
    // the same instant that come later are not in it yet.
    let frame = format!(
        "arrayFilter(p -> p.1 <= rn AND p.2 >= t - {ns}, groupArray((rn, t, slot, v, num)) \
         OVER (PARTITION BY gk ORDER BY t_sec RANGE BETWEEN {secs} PRECEDING AND CURRENT ROW))"
    );
    let numbers = "arrayMap(p -> assumeNotNull(p.5), arrayFilter(p -> isNotNull(p.5), fr))";
    let sorted = format!("arraySort({numbers})");
    let agg = match c.kind() {
        CorrelationType::EventCount => "toNullable(toFloat64(length(fr)))".to_string(),
        CorrelationType::ValueCount => "toNullable(toFloat64(length(arrayDistinct(\
             arrayMap(p -> assumeNotNull(p.4), arrayFilter(p -> isNotNull(p.4), fr))))))"
            .to_string(),
        CorrelationType::Temporal => {
            "toNullable(toFloat64(length(arrayDistinct(arrayMap(p -> p.3, fr)))))".to_string()
        }
        // The local engine finds the listed order greedily over the window, in its order.
        CorrelationType::TemporalOrdered => format!(
            "toNullable(toFloat64(arrayFold((acc, s) -> if(acc < {n_slots} AND s = acc, acc + 1, acc), \
             arrayMap(p -> p.3, fr), toUInt64(0))))"
        ),
        CorrelationType::ValueSum => format!(
            "if(empty(({numbers}) AS _m), NULL, toNullable(arraySum(_m)))"
        ),
        CorrelationType::ValueAvg => format!(
            "if(empty(({numbers}) AS _m), NULL, toNullable(arraySum(_m) / length(_m)))"
        ),
        CorrelationType::ValueMedian => format!(
            "if(empty(({sorted}) AS _m), NULL, toNullable(if(length(_m) % 2 = 1, \
             _m[intDiv(length(_m), 2) + 1], (_m[intDiv(length(_m), 2)] + _m[intDiv(length(_m), 2) + 1]) / 2)))"
        ),
        // Nearest rank, as the local engine: quantileExact takes element floor(p * n) instead,
        // which differs whenever p * n is a whole number.
        CorrelationType::ValuePercentile(p) => format!(
            "if(empty(({sorted}) AS _m), NULL, toNullable(_m[greatest(1, least(length(_m), \
             toInt64(ceil(({p:?} / 100.) * toFloat64(length(_m))))))]))"
        ),
    };
    let cond = condition_sql(c.condition(), n_slots);
    let mut sql = String::new();
    let inputs = branches.join("\n  UNION ALL\n  ");
    let _ = write!(
        sql,
        "in_{k} AS (\n  {inputs}\n),\n\
         r_{k} AS (SELECT *, row_number() OVER (PARTITION BY gk ORDER BY t, {order}) AS rn\n  \
         FROM (SELECT *, toString(key) AS gk, \
         intDiv(t, 1000000000) - toInt64(t % 1000000000 < 0) AS t_sec, \
         if(isFinite(ifNull({num}, nan)), {num}, NULL) AS num FROM in_{k})),\n\
         a_{k} AS (SELECT gk, rn, t, xs, length(fr) AS cnt, {agg} AS agg FROM (SELECT *, {frame} AS fr FROM r_{k})),\n\
         f_{k} AS (SELECT *, lagInFrame(t, 1) OVER (PARTITION BY gk ORDER BY rn ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS prev_t,\n  \
         row_number() OVER (PARTITION BY gk ORDER BY rn) AS fire_n FROM a_{k} WHERE {cond}),\n\
         i_{k} AS (SELECT *, sum(toUInt64(fire_n = 1 OR prev_t < t - {ns})) OVER (PARTITION BY gk ORDER BY rn ROWS UNBOUNDED PRECEDING) AS island FROM f_{k}),\n\
         e_{k} AS (SELECT gk AS e_gk, island, min(rn - cnt + 1) AS lo, max(rn) AS hi, min(t) AS first_fire, max(t) AS last_fire,\n  \
         max(assumeNotNull(agg)) AS peak, argMax(xs, rn) AS e_xs FROM i_{k} GROUP BY gk, island),\n\
         ep_{k} AS (SELECT any(first_fire) AS first_fire, any(last_fire) AS last_fire, any(peak) AS peak, any(e_xs) AS ep_xs,\n  \
         min(st) AS start, sum(events) AS events,\n  \
         arraySlice(arrayFlatten(arrayMap(p -> p.2, arraySort(p -> p.1, groupArray((rn, origins))))), 1, {MAX_ORIGINS}) AS origins,\n  \
         argMin(product, rn) AS product, argMin(category, rn) AS category, argMin(service, rn) AS service, any(key) AS key\n  \
         FROM e_{k} INNER JOIN r_{k} ON r_{k}.gk = e_{k}.e_gk\n  \
         WHERE rn >= lo AND rn <= hi GROUP BY e_gk, island)",
        num = number_of("v"),
    );
    Ok(sql)
}

/// The condition on `agg` (every bound must hold; none means every referenced rule).
fn condition_sql(cond: Option<MetricCondition>, n_slots: usize) -> String {
    let num = |x: f64| format!("{x:?}");
    let Some(c) = cond else {
        return format!("agg >= {n_slots}");
    };
    let mut parts = vec!["isNotNull(agg)".to_string()];
    for (op, v) in [
        (">", c.gt),
        (">=", c.gte),
        ("<", c.lt),
        ("<=", c.lte),
        ("=", c.eq),
    ] {
        if let Some(v) = v {
            parts.push(format!("agg {op} {}", num(v)));
        }
    }
    parts.join(" AND ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(yaml: &str) -> RuleSet {
        let mut b = spoor_sigma::RuleSetBuilder::new();
        b.add_source("t.yml", yaml);
        b.build()
    }

    const BASES: &str = "title: hourly\nname: hourly\nlogsource: {product: windows}\ndetection:\n  sel:\n    UtcTime|hour: 3\n  condition: sel\n---\ntitle: plain\nname: plain\nlogsource: {product: windows}\ndetection:\n  sel:\n    EventID: 1\n  condition: sel\n";

    #[test]
    fn a_correlation_over_an_inexpressible_rule_falls_back_with_its_reason() {
        let s = set(&format!(
            "{BASES}---\ntitle: night burst\nid: c-night\nname: night\ncorrelation: {{type: event_count, rules: [hourly], timespan: 5m, condition: {{gte: 2}}}}\n---\ntitle: chained\nid: c-up\ncorrelation: {{type: temporal, rules: [night, plain], timespan: 1h}}\n---\ntitle: fine\nid: c-fine\ncorrelation: {{type: value_percentile, rules: [plain], group-by: [Computer], timespan: 1h, condition: {{field: n, percentile: 90, gte: 3}}}}\n"
        ));
        let (sql, local) = correlation_queries(&s, "db", "ev", TimeRange::default());
        let ids: Vec<&str> = local.iter().map(|(m, _)| m.id.as_str()).collect();
        assert_eq!(ids, ["c-night", "c-up"], "{local:?}");
        assert!(local[0].1.contains("time-part"), "{}", local[0].1);
        assert!(local[1].1.contains("runs in spoor"), "{}", local[1].1);
        assert_eq!(sql.len(), 1);
        let q = &sql[0].sql;
        assert_eq!(sql[0].rule.id, "c-fine");
        // Nearest rank, not quantileExact; the frame over whole seconds, cut to nanoseconds.
        assert!(q.contains("ceil((90.0 / 100.)"), "{q}");
        assert!(!q.contains("quantile"), "{q}");
        assert!(
            q.contains("RANGE BETWEEN 3600 PRECEDING AND CURRENT ROW"),
            "{q}"
        );
        assert!(q.contains("p.2 >= t - 3600000000000"), "{q}");
        assert!(q.ends_with("FORMAT JSONEachRow"), "{q}");
    }

    #[test]
    fn the_time_range_keeps_correlation_findings_by_start() {
        let s = set(&format!(
            "{BASES}---\ntitle: c\nid: c1\ncorrelation: {{type: event_count, rules: [plain], timespan: 5m, condition: {{gte: 2}}}}\n"
        ));
        let from = chrono::DateTime::from_timestamp(1_700_000_000, 0);
        let range = TimeRange { from, to: None };
        let (sql, _) = correlation_queries(&s, "db", "ev", range);
        assert!(
            sql[0]
                .sql
                .contains("FROM ep_0 WHERE start >= 1700000000000000000"),
            "{}",
            sql[0].sql
        );
        // The inputs are not cut: the windows see every event, as locally.
        assert!(!sql[0].sql.contains("toDateTime64("), "{}", sql[0].sql);
    }
}
