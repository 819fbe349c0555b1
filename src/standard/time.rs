//! Year inference: syslog timestamps carry no year, so each gets one from a reference time.

use crate::grammar::SyslogTime;
use chrono::{DateTime, NaiveDate, Utc};

const DAY_MS: i64 = 86_400_000;

/// The last year an output partition path (`year=YYYY`) can express.
const MAX_YEAR: i32 = 9999;

/// The time a log was known to exist by: `--reference-time`, else the S3 object's
/// LastModified, else the file's mtime, else now. A timestamp gets the latest year for
/// which it is at most one day after this time (a log is written before its file is last
/// modified; the day allows for clock skew and time zones).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReferenceTime {
    millis: i64,
    year: i32,
}

/// Why a timestamp got no year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImpossibleDate;

impl ReferenceTime {
    /// From a UTC time.
    pub fn new(t: DateTime<Utc>) -> ReferenceTime {
        use chrono::Datelike;
        ReferenceTime {
            millis: t.timestamp_millis(),
            year: t.year(),
        }
    }

    /// `Err` with the reason if `t`'s year is outside 0001-9999: the partition path has four
    /// digits for the year, and events get years up to 8 before or 1 after the reference.
    /// (Events whose inferred year would leave 0000-9999 are rejected, whatever the
    /// reference.)
    pub fn check(t: DateTime<Utc>) -> Result<(), String> {
        use chrono::Datelike;
        let year = t.year();
        if (1..=MAX_YEAR).contains(&year) {
            Ok(())
        } else {
            Err(format!(
                "year {year} is outside 0001-{MAX_YEAR}, the years an output partition path holds"
            ))
        }
    }

    /// Milliseconds since the epoch.
    pub fn millis(self) -> i64 {
        self.millis
    }

    /// The event time in milliseconds since the epoch (UTC): the latest year `Y` for which
    /// the timestamp is at most one day after the reference time (for `Feb 29`, the latest
    /// such leap year). `Err` for a date that exists in no year (`Feb 30`, `Dec 32`, `25:00:00`).
    pub fn resolve(self, t: SyslogTime) -> Result<i64, ImpossibleDate> {
        if t.hour > 23 || t.minute > 59 || t.second > 59 {
            return Err(ImpossibleDate);
        }
        let limit = self.millis + DAY_MS;
        let time_ms =
            (i64::from(t.hour) * 3600 + i64::from(t.minute) * 60 + i64::from(t.second)) * 1000;
        // Leap days repeat every 4 years, except across a skipped century: 8 covers both.
        // Only years the partition path can express (`year=0000` to `year=9999`).
        for year in
            (self.year.saturating_sub(8).max(0)..=self.year.saturating_add(1).min(MAX_YEAR)).rev()
        {
            let Some(date) = NaiveDate::from_ymd_opt(year, u32::from(t.month), u32::from(t.day))
            else {
                continue;
            };
            let ms = date
                .and_hms_opt(0, 0, 0)
                .map(|d| d.and_utc().timestamp_millis());
            if let Some(ms) = ms.map(|d| d + time_ms) {
                if ms <= limit {
                    return Ok(ms);
                }
            }
        }
        Err(ImpossibleDate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_a_partition_path_cannot_hold_are_refused() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert!(ReferenceTime::check(at("0000-03-21T00:00:00Z")).is_err());
        assert!(ReferenceTime::check(at("0001-03-21T00:00:00Z")).is_ok());
        assert!(ReferenceTime::check(at("9999-03-21T00:00:00Z")).is_ok());
        // Whatever the reference, no event gets a year outside 0000-9999.
        let year0 = ReferenceTime::new(at("0000-03-21T00:00:00Z"));
        assert_eq!(year0.resolve(t(12, 5, 0)), Err(ImpossibleDate));
        assert!(year0.resolve(t(3, 20, 0)).is_ok());
        let late = ReferenceTime::new(at("9999-12-31T12:00:00Z"));
        let jan = late.resolve(t(1, 1, 0)).unwrap();
        assert_eq!(
            DateTime::from_timestamp_millis(jan).map(|d| chrono::Datelike::year(&d)),
            Some(9999)
        );
    }

    fn r(s: &str) -> ReferenceTime {
        ReferenceTime::new(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc))
    }

    fn t(month: u8, day: u8, hour: u8) -> SyslogTime {
        SyslogTime {
            month,
            day,
            hour,
            minute: 0,
            second: 0,
        }
    }

    fn iso(ms: i64) -> String {
        DateTime::from_timestamp_millis(ms)
            .unwrap()
            .format("%Y-%m-%d %H")
            .to_string()
    }

    #[test]
    fn years() {
        let cases = [
            // (reference, timestamp, expected)
            ("2024-03-19T12:00:00Z", t(3, 19, 10), "2024-03-19 10"),
            ("2024-03-19T12:00:00Z", t(3, 20, 11), "2024-03-20 11"), // within a day after
            ("2024-03-19T12:00:00Z", t(3, 20, 13), "2023-03-20 13"), // more than a day after
            ("2024-01-01T00:10:00Z", t(12, 31, 23), "2023-12-31 23"), // just before New Year
            ("2023-12-31T23:00:00Z", t(1, 1, 5), "2024-01-01 05"),   // logged after New Year
            ("2024-01-02T00:00:00Z", t(1, 1, 5), "2024-01-01 05"),
            ("2024-01-05T00:00:00Z", t(12, 30, 0), "2023-12-30 00"),
            ("2024-03-01T00:00:00Z", t(2, 29, 12), "2024-02-29 12"),
            ("2024-02-28T00:00:00Z", t(2, 29, 12), "2020-02-29 12"),
            ("2023-06-01T00:00:00Z", t(2, 29, 12), "2020-02-29 12"),
            ("2104-01-01T00:00:00Z", t(2, 29, 0), "2096-02-29 00"), // 2100 is not a leap year
        ];
        for (reference, ts, want) in cases {
            assert_eq!(
                iso(r(reference).resolve(ts).unwrap()),
                want,
                "{reference} {ts:?}"
            );
        }
    }

    #[test]
    fn impossible_dates() {
        let reference = r("2024-03-19T12:00:00Z");
        for ts in [
            t(2, 30, 0),
            t(4, 31, 0),
            t(12, 32, 0),
            t(1, 0, 0),
            t(1, 1, 24),
        ] {
            assert_eq!(reference.resolve(ts), Err(ImpossibleDate), "{ts:?}");
        }
    }
}
