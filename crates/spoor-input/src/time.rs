//! Timestamp parsing shared by the readers; everything ends in UTC.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// A parsed time, and whether its time zone was assumed to be UTC because the text had none.
pub(crate) type Stamp = (DateTime<Utc>, bool);

/// Parses ISO 8601 / RFC 3339 text as written by JSON exporters: `2024-07-08T01:02:03.1234567Z`,
/// `2024-07-08 01:02:03+02:00`, `2024-07-08T01:02:03` (no zone: assumed UTC).
pub(crate) fn parse_iso(text: &str) -> Option<Stamp> {
    let t = text.trim();
    if t.len() < 19 || t.len() > 40 {
        return None;
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some((dt.with_timezone(&Utc), false));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(dt) = DateTime::parse_from_str(t, fmt) {
            return Some((dt.with_timezone(&Utc), false));
        }
    }
    let (body, zulu) = match t.strip_suffix('Z').or_else(|| t.strip_suffix('z')) {
        Some(b) => (b, true),
        None => (t, false),
    };
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(body, fmt) {
            return Some((Utc.from_utc_datetime(&n), !zulu));
        }
    }
    None
}

/// A date and time of day given separately (IIS `date` + `time`), in UTC.
pub(crate) fn parse_date_time(date: &str, time: &str) -> Option<DateTime<Utc>> {
    let d = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").ok()?;
    let t = chrono::NaiveTime::parse_from_str(time.trim(), "%H:%M:%S%.f").ok()?;
    Some(Utc.from_utc_datetime(&d.and_time(t)))
}

/// Month number (1-12) from its English three-letter abbreviation.
pub(crate) fn month_number(abbrev: &[u8]) -> Option<u32> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(abbrev))
        .map(|i| i as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_variants() {
        let (t, assumed) = parse_iso("2024-07-08T01:02:03.1234567Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-07-08T01:02:03.123456700+00:00");
        assert!(!assumed);
        let (t, _) = parse_iso("2024-07-08 03:02:03+02:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-07-08T01:02:03+00:00");
        let (t, assumed) = parse_iso("2024-07-08 01:02:03").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-07-08T01:02:03+00:00");
        assert!(assumed);
        assert!(parse_iso("yesterday").is_none());
        assert!(parse_iso("2024-13-45T99:99:99Z").is_none());
    }

    #[test]
    fn months() {
        assert_eq!(month_number(b"Mar"), Some(3));
        assert_eq!(month_number(b"dec"), Some(12));
        assert_eq!(month_number(b"Foo"), None);
    }
}
