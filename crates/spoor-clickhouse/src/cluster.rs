//! The events table on a cluster: one `ReplicatedReplacingMergeTree` per shard (`<table>_local`,
//! created `ON CLUSTER`) and a `Distributed` table (`<table>`) that inserts and hunts go
//! through. Rows are sharded by file (`cityHash64(path)`), so every copy of a row lands on the
//! same shard and the shard's replacing merge (read with `FINAL`) keeps re-ingest idempotent.
//!
//! Not exercised against a live cluster here (the test engine, chdb, runs no cluster): the
//! statements are tested for their text and parsed by the real engine's parser.

use crate::row::create_table_sql;
use crate::{valid_identifier, Error};

/// The statements that create the events table `database.table` on `cluster`, in order.
pub fn cluster_table_sql(database: &str, table: &str, cluster: &str) -> Result<Vec<String>, Error> {
    for (what, name) in [
        ("database", database),
        ("table", table),
        ("cluster", cluster),
    ] {
        if !valid_identifier(name) {
            return Err(Error::Config(format!(
                "{what} name '{name}': letters, digits and '_' only"
            )));
        }
    }
    let local = format!("{table}_local");
    let single = create_table_sql(database, &local);
    // The single-server statement with the cluster clause and the replicated engine; the
    // `{shard}` and `{replica}` macros come from each server's configuration.
    let replicated = single
        .replacen(
            &format!("{database}.{local} ("),
            &format!("{database}.{local} ON CLUSTER {cluster} ("),
            1,
        )
        .replacen(
            "ENGINE = ReplacingMergeTree",
            &format!(
                "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{{shard}}/{database}/{local}', '{{replica}}')"
            ),
            1,
        )
        .replace(
            "SETTINGS non_replicated_deduplication_window = 100000",
            "SETTINGS replicated_deduplication_window = 100000",
        );
    let distributed = format!(
        "CREATE TABLE IF NOT EXISTS {database}.{table} ON CLUSTER {cluster} AS {database}.{local}\n\
         ENGINE = Distributed({cluster}, {database}, {local}, cityHash64(path))"
    );
    Ok(vec![replicated, distributed])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_statements_replicated_then_distributed() {
        let s = cluster_table_sql("logs", "ev", "hunt2").unwrap();
        assert_eq!(s.len(), 2);
        assert!(
            s[0].starts_with("CREATE TABLE IF NOT EXISTS logs.ev_local ON CLUSTER hunt2 ("),
            "{}",
            s[0]
        );
        assert!(s[0].contains("ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/logs/ev_local', '{replica}')"), "{}", s[0]);
        assert!(s[0].contains("ORDER BY (path, pos_kind, pos)"), "{}", s[0]);
        assert!(s[0].contains("replicated_deduplication_window"), "{}", s[0]);
        assert!(!s[0].contains("non_replicated"), "{}", s[0]);
        assert!(
            s[1].contains("ENGINE = Distributed(hunt2, logs, ev_local, cityHash64(path))"),
            "{}",
            s[1]
        );
        assert!(cluster_table_sql("logs", "ev", "a;b").is_err());
    }
}
