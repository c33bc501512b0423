//! A simulated wall clock that moves forward by small seeded steps, and the three timestamp
//! shapes the generated logs need (Apache `[10/Oct/2024:13:55:36 +0000]`, IIS `2024-10-10
//! 13:55:36`, ISO `2024-10-10T13:55:36.123Z`). Formatting is cached per second because it runs
//! once per line of a multi-gigabyte file.

use std::io::Write;

/// 2024-03-01T00:00:00Z: the generated logs start here.
pub const START_UNIX: i64 = 1_709_251_200;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Calendar date and time of day (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    /// Year.
    pub year: i64,
    /// Month, 1..=12.
    pub month: u32,
    /// Day, 1..=31.
    pub day: u32,
    /// Hour, 0..=23.
    pub hour: u32,
    /// Minute.
    pub minute: u32,
    /// Second.
    pub second: u32,
}

/// Unix seconds to a UTC calendar time (proleptic Gregorian; era arithmetic on days).
pub fn civil(unix: i64) -> Civil {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        hour: (secs / 3600) as u32,
        minute: ((secs % 3600) / 60) as u32,
        second: (secs % 60) as u32,
    }
}

/// A forward-moving clock with millisecond resolution and cached formatted seconds.
#[derive(Debug, Clone)]
pub struct Clock {
    millis: i64,
    cached_second: i64,
    apache: Vec<u8>,
    iis_date: Vec<u8>,
    iis_time: Vec<u8>,
    iso: Vec<u8>,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    /// A clock at [`START_UNIX`].
    pub fn new() -> Self {
        let mut c = Clock {
            millis: START_UNIX * 1000,
            cached_second: i64::MIN,
            apache: Vec::new(),
            iis_date: Vec::new(),
            iis_time: Vec::new(),
            iso: Vec::new(),
        };
        c.refresh();
        c
    }

    /// Move forward by `ms` milliseconds.
    pub fn advance(&mut self, ms: u64) {
        self.millis = self.millis.saturating_add(ms as i64);
        self.refresh();
    }

    /// Milliseconds within the current second.
    pub fn millis_part(&self) -> u32 {
        self.millis.rem_euclid(1000) as u32
    }

    fn refresh(&mut self) {
        let sec = self.millis.div_euclid(1000);
        if sec == self.cached_second {
            return;
        }
        self.cached_second = sec;
        let c = civil(sec);
        let month = MONTHS
            .get(c.month.saturating_sub(1) as usize)
            .copied()
            .unwrap_or("Jan");
        self.apache.clear();
        let _ = write!(
            self.apache,
            "{:02}/{}/{}:{:02}:{:02}:{:02} +0000",
            c.day, month, c.year, c.hour, c.minute, c.second
        );
        self.iis_date.clear();
        let _ = write!(self.iis_date, "{}-{:02}-{:02}", c.year, c.month, c.day);
        self.iis_time.clear();
        let _ = write!(
            self.iis_time,
            "{:02}:{:02}:{:02}",
            c.hour, c.minute, c.second
        );
        self.iso.clear();
        let _ = write!(
            self.iso,
            "{}-{:02}-{:02}T{:02}:{:02}:{:02}",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        );
    }

    /// `10/Oct/2024:13:55:36 +0000` (without brackets).
    pub fn apache(&self) -> &[u8] {
        &self.apache
    }

    /// `2024-10-10`.
    pub fn iis_date(&self) -> &[u8] {
        &self.iis_date
    }

    /// `13:55:36`.
    pub fn iis_time(&self) -> &[u8] {
        &self.iis_time
    }

    /// `2024-10-10T13:55:36` (callers add milliseconds and `Z`).
    pub fn iso_seconds(&self) -> &[u8] {
        &self.iso
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_known_dates() {
        assert_eq!(
            civil(0),
            Civil {
                year: 1970,
                month: 1,
                day: 1,
                hour: 0,
                minute: 0,
                second: 0
            }
        );
        // 2024-02-29T23:59:59Z (leap day), then the start of March.
        let leap = civil(START_UNIX - 1);
        assert_eq!(
            (leap.year, leap.month, leap.day, leap.hour),
            (2024, 2, 29, 23)
        );
        let c = civil(START_UNIX);
        assert_eq!((c.year, c.month, c.day), (2024, 3, 1));
        // 2000-03-01 and 2100-03-01 around century leap rules.
        assert_eq!(civil(951_868_800).month, 3);
        assert_eq!(civil(951_868_800 - 86_400).day, 29);
        let c2100 = civil(4_107_542_400 - 86_400);
        assert_eq!((c2100.year, c2100.month, c2100.day), (2100, 2, 28));
    }

    #[test]
    fn clock_formats_and_advances() {
        let mut c = Clock::new();
        assert_eq!(c.apache(), b"01/Mar/2024:00:00:00 +0000");
        assert_eq!(c.iis_date(), b"2024-03-01");
        c.advance(3_661_250);
        assert_eq!(c.iis_time(), b"01:01:01");
        assert_eq!(c.iso_seconds(), b"2024-03-01T01:01:01");
        assert_eq!(c.millis_part(), 250);
    }
}
