//! Fuzzes the parser of the rows a ClickHouse hunt query returns: any bytes from a broken or
//! hostile server must give a row and event, or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(row) = spoor_clickhouse::parse_hit_row(data) {
        let _ = row.to_event();
    }
});
