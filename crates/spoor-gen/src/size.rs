//! Byte sizes as people type them (`10G`, `500M`, `64k`, `1234`), so a bench can ask for "1 GB
//! of logs" without arithmetic.

use crate::GenError;

/// Parse a size: a whole number with an optional binary suffix `k`, `M`, `G`, `T` (powers of
/// 1024; an optional trailing `B`/`iB` is accepted).
pub fn parse_size(text: &str) -> Result<u64, GenError> {
    let bad = || GenError::BadSize(text.to_string());
    let t = text.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, suffix) = t.split_at(digits_end);
    let n: u64 = num.parse().map_err(|_| bad())?;
    let shift = match suffix.to_ascii_lowercase().as_str() {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => return Err(bad()),
    };
    n.checked_mul(1u64 << shift).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn suffixes_and_errors() {
        assert_eq!(parse_size("1234").ok(), Some(1234));
        assert_eq!(parse_size("64k").ok(), Some(65_536));
        assert_eq!(parse_size("500M").ok(), Some(500 << 20));
        assert_eq!(parse_size("1G").ok(), Some(1 << 30));
        assert_eq!(parse_size("10GiB").ok(), Some(10 << 30));
        assert_eq!(parse_size("2GB").ok(), Some(2 << 30));
        assert!(parse_size("").is_err());
        assert!(parse_size("G").is_err());
        assert!(parse_size("1X").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("99999999999T").is_err());
    }
}
