//! spoor's hunt inside ClickHouse: events go into a table ([`Inserter`]), Sigma rules become
//! SQL ([`plan`]), and the rows the queries return become the same findings the local engine
//! makes ([`run_plan`]).
//!
//! # Why it is built this way
//! - **One meaning of a rule.** SQL is written from spoor-sigma's *compiled* rules, after
//!   modifiers, wildcards and case folding were applied by the code the local hunt runs; so the
//!   two can only differ where SQL functions differ from Rust's (documented in
//!   `docs/clickhouse.md`), and a differential test holds them equal on the corpora.
//! - **Plain ClickHouse HTTP.** Statements go in the body, inserts as `JSONEachRow` with a
//!   content-derived `insert_deduplication_token`; answers are read a line at a time. Nothing is
//!   specific to one server build.
//! - **Idempotent ingest.** A row's key is its file and position (`ORDER BY (path, pos_kind,
//!   pos)` of a `ReplacingMergeTree`, read with `FINAL`), so a file ingested twice is there once.
//!
//! ```
//! let mut b = spoor_sigma::RuleSetBuilder::new();
//! b.add_source("r.yml", "title: Whoami\nlogsource: {category: process_creation, product: windows}\ndetection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel\n");
//! let set = b.build();
//! let plan = spoor_clickhouse::plan(&set, "default", "spoor_events");
//! assert_eq!(plan.queries.len(), 1);
//! assert!(plan.queries[0].sql.contains("endsWith(lowerUTF8(x), '\\\\whoami.exe')"));
//! ```
#![deny(missing_docs)]

mod client;
mod cluster;
mod convert;
mod corr2sql;
mod corr_row;
mod ingest;
mod ioc2sql;
mod row;

pub use client::{valid_identifier, Client, Config, MAX_ROW_BYTES};
pub use cluster::cluster_table_sql;
pub use convert::{lit, logsource_sql, plan, plan_in, rule_sql, Plan, Query, Skipped, TimeRange};
pub use corr2sql::CorrelationQuery;
pub use corr_row::{parse_correlation_row, CorrelationRow};
pub use ingest::{InsertStats, Inserter};
pub use ioc2sql::{ioc_query, IocTerms};
pub use row::{create_table_sql, parse_hit_row, push_insert_line, HitRow};

use spoor_event::Finding;
use spoor_sigma::RuleSet;

/// What can go wrong talking to ClickHouse.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is wrong (URL, names); nothing was sent.
    #[error("{0}")]
    Config(String),
    /// No connection (server down, wrong port, TLS failure, timeout).
    #[error("cannot reach ClickHouse at {url} ({reason}): is the server up and the URL right?")]
    Unreachable {
        /// The URL.
        url: String,
        /// What the transport said.
        reason: String,
    },
    /// The server refused the credentials.
    #[error("ClickHouse refused the login of user '{user}' (set SPOOR_CLICKHOUSE_USER and SPOOR_CLICKHOUSE_PASSWORD or --password-file): {message}")]
    Login {
        /// The user.
        user: String,
        /// The server's text.
        message: String,
    },
    /// The server lacks a function spoor's SQL uses (an old release).
    #[error("the ClickHouse server lacks a function spoor's SQL needs (spoor needs a current release): {0}")]
    MissingFunction(String),
    /// Any other error the server reported.
    #[error("ClickHouse error (HTTP {status}): {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// ClickHouse's error code.
        code: Option<u32>,
        /// The server's text.
        message: String,
    },
    /// The answer was not what the query asks for.
    #[error("unexpected answer from ClickHouse: {0}")]
    Response(String),
}

impl Error {
    /// Worth a retry: the connection failed or the server had a passing problem.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Unreachable { .. } => true,
            // TOO_MANY_SIMULTANEOUS_QUERIES, TIMEOUT_EXCEEDED, NETWORK_ERROR, TOO_MANY_PARTS.
            Error::Server { code, status, .. } => {
                matches!(code, Some(202 | 159 | 210 | 252)) || *status == 503
            }
            _ => false,
        }
    }
}

/// Creates `database.table` when missing.
pub fn create_table(client: &Client, table: &str) -> Result<(), Error> {
    check_table(table)?;
    client.execute(&create_table_sql(&client.config().database, table))?;
    Ok(())
}

/// Creates the events table on `cluster` when missing (see [`cluster_table_sql`]); inserts and
/// hunts then go through the Distributed table `table`.
pub fn create_cluster_table(client: &Client, table: &str, cluster: &str) -> Result<(), Error> {
    for sql in cluster_table_sql(&client.config().database, table, cluster)? {
        client.execute(&sql)?;
    }
    Ok(())
}

fn check_table(table: &str) -> Result<(), Error> {
    if valid_identifier(table) {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "table name '{table}': letters, digits and '_' only"
        )))
    }
}

/// Events in the table (after de-duplication).
pub fn count_events(client: &Client, table: &str) -> Result<u64, Error> {
    check_table(table)?;
    let db = &client.config().database;
    let text = client.execute(&format!("SELECT count() FROM {db}.{table} FINAL"))?;
    text.trim().parse().map_err(|_| {
        Error::Response(format!(
            "count() answered {:?}",
            row::preview(text.as_bytes())
        ))
    })
}

/// What a hunt inside ClickHouse returned besides its findings.
#[derive(Debug, Default)]
pub struct RunStats {
    /// Queries run.
    pub queries: usize,
    /// Rows the queries returned.
    pub rows: u64,
    /// Queries the server refused (a rule it cannot run), with the error: the other queries
    /// still ran.
    pub failed: Vec<(usize, Error)>,
}

impl RunStats {
    /// Counts query `qi`'s outcome: its rows, or a refusal by the server (the other queries
    /// still run); any other error stops the run.
    fn record(&mut self, qi: usize, got: Result<u64, Error>) -> Result<(), Error> {
        match got {
            Ok(rows) => {
                self.rows += rows;
                self.queries += 1;
            }
            Err(e @ (Error::Server { .. } | Error::MissingFunction(_))) => {
                self.failed.push((qi, e))
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }
}

/// Runs every query of `plan` and hands each matching event, with the findings of the rules
/// that matched it, to `sink` as its row arrives (findings of rules that only feed correlations
/// included: they are for a [`spoor_event::StatefulChain`], not for output).
pub fn run_plan(
    client: &Client,
    set: &RuleSet,
    plan: &Plan,
    mut sink: impl FnMut(&spoor_event::Event, Vec<Finding>),
) -> Result<RunStats, Error> {
    let mut stats = RunStats::default();
    let rules = set.compiled();
    for (qi, q) in plan.queries.iter().enumerate() {
        let got = client.query_lines(&q.sql, |line| {
            let row = parse_hit_row(line)?;
            let ev = row.to_event()?;
            let mut found = Vec::with_capacity(row.hits.len());
            for &h in &row.hits {
                let meta = h
                    .checked_sub(1)
                    .and_then(|i| q.rules.get(i as usize))
                    .and_then(|&r| rules.get(r))
                    .ok_or_else(|| Error::Response(format!("hit tag {h} names no rule")))?;
                found.push(Finding::from_event(meta.meta.clone(), &ev));
            }
            sink(&ev, found);
            Ok(())
        });
        stats.record(qi, got)?;
    }
    Ok(stats)
}

/// Runs the correlation queries of `plan` and hands each finding to `sink` as its row arrives
/// (those of correlations that only feed others included: their `feeds_only` flag says so).
/// A query the server refuses is recorded in `failed` (by index into `plan.correlations`).
pub fn run_correlations(
    client: &Client,
    set: &RuleSet,
    plan: &Plan,
    mut sink: impl FnMut(Finding),
) -> Result<RunStats, Error> {
    let mut stats = RunStats::default();
    let views: Vec<_> = set.correlations().views().collect();
    for (qi, q) in plan.correlations.iter().enumerate() {
        let view = views
            .get(q.index)
            .ok_or_else(|| Error::Response(format!("no correlation {}", q.index)))?;
        let got = client.query_lines(&q.sql, |line| {
            sink(parse_correlation_row(line)?.to_finding(view)?);
            Ok(())
        });
        stats.record(qi, got)?;
    }
    Ok(stats)
}

/// Runs a query of the rule queries' row shape (such as [`ioc_query`]'s) and hands each row's
/// event to `sink` as it arrives. Returns the number of rows.
pub fn stream_events(
    client: &Client,
    sql: &str,
    mut sink: impl FnMut(spoor_event::Event),
) -> Result<u64, Error> {
    client.query_lines(sql, |line| {
        sink(parse_hit_row(line)?.to_event()?);
        Ok(())
    })
}
