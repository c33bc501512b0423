//! Batched inserts of events.

use crate::{row, Client, Error};
use sha2::{Digest, Sha256};
use spoor_event::Event;
use std::time::Duration;

/// How many times a failed batch is sent again (safe: each batch carries a de-duplication token
/// derived from its content, so a batch the server did take is not taken twice).
const RETRIES: u32 = 3;

/// What an inserter wrote and failed to write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InsertStats {
    /// Events the server took.
    pub written: u64,
    /// Bytes of `JSONEachRow` the server took.
    pub bytes: u64,
    /// Events of batches that failed after the retries.
    pub failed: u64,
    /// The errors of those batches.
    pub errors: Vec<String>,
}

impl InsertStats {
    /// Adds another inserter's figures.
    pub fn add(&mut self, o: InsertStats) {
        self.written += o.written;
        self.bytes += o.bytes;
        self.failed += o.failed;
        self.errors.extend(o.errors);
    }
}

/// Collects events into `JSONEachRow` batches and sends each when it is full. One per thread.
#[derive(Debug)]
pub struct Inserter {
    client: Client,
    target: String,
    buf: Vec<u8>,
    rows: u64,
    max_rows: u64,
    max_bytes: usize,
    /// What was written so far.
    pub stats: InsertStats,
}

impl Inserter {
    /// An inserter into `database.table` (names checked by the caller) sending batches of at
    /// most `max_rows` events or `max_bytes` bytes.
    pub fn new(client: Client, table: &str, max_rows: u64, max_bytes: usize) -> Inserter {
        let target = format!("{}.{table}", client.config().database);
        Inserter {
            client,
            target,
            buf: Vec::new(),
            rows: 0,
            max_rows: max_rows.max(1),
            max_bytes: max_bytes.max(1 << 10),
            stats: InsertStats::default(),
        }
    }

    /// Adds an event, sending the batch when full.
    pub fn push(&mut self, ev: &Event) {
        row::push_insert_line(ev, &mut self.buf);
        self.rows += 1;
        if self.rows >= self.max_rows || self.buf.len() >= self.max_bytes {
            self.flush();
        }
    }

    /// Sends what is buffered.
    pub fn flush(&mut self) {
        if self.rows == 0 {
            return;
        }
        let token: String = Sha256::digest(&self.buf)
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect();
        let sql = format!(
            "INSERT INTO {} SETTINGS insert_deduplication_token = '{token}' FORMAT JSONEachRow",
            self.target
        );
        let mut last: Option<Error> = None;
        for attempt in 0..=RETRIES {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(200 << attempt));
            }
            match self.client.insert(&sql, &self.buf) {
                Ok(()) => {
                    last = None;
                    break;
                }
                Err(e) => {
                    let again = e.is_transient();
                    last = Some(e);
                    if !again {
                        break;
                    }
                }
            }
        }
        match last {
            None => {
                self.stats.written += self.rows;
                self.stats.bytes += self.buf.len() as u64;
            }
            Some(e) => {
                self.stats.failed += self.rows;
                self.stats.errors.push(e.to_string());
            }
        }
        self.buf.clear();
        self.rows = 0;
    }

    /// Sends the rest and returns the figures.
    pub fn finish(mut self) -> InsertStats {
        self.flush();
        std::mem::take(&mut self.stats)
    }
}
