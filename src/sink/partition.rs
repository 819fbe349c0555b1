//! The output layout: `<table>/year=YYYY/month=MM/day=DD/hour=HH/` by `p_event_time`
//! (Hive style, so Athena, Spark and DuckDB's `hive_partitioning` read it as is), or the
//! same path stopped at the day or the month ([`Partition`]).

use crate::logtype::LogType;
use chrono::{DateTime, Datelike, NaiveDate, Timelike};
use std::fmt::Write;

/// How deep the partition path goes. `Hour` is Panther's layout and the default; `Day` and
/// `Month` put fewer, larger files into fewer directories, for logs with few events per
/// hour (see docs/guide.md, "Choosing a partition level").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Partition {
    /// `year=/month=/day=/hour=/`
    #[default]
    Hour,
    /// `year=/month=/day=/`
    Day,
    /// `year=/month=/`
    Month,
}

/// The Hive keys of the full path, outermost first.
const KEYS: [&str; 4] = ["year", "month", "day", "hour"];

impl Partition {
    /// The level's name, as the command line spells it.
    pub fn name(self) -> &'static str {
        match self {
            Partition::Hour => "hour",
            Partition::Day => "day",
            Partition::Month => "month",
        }
    }

    /// The Hive keys of this level's path, outermost first.
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            Partition::Hour => &KEYS,
            Partition::Day => &KEYS[..3],
            Partition::Month => &KEYS[..2],
        }
    }

    /// The first hour (hours since the epoch, UTC) of the partition holding `hour`: rows of
    /// hours with the same start go to the same files.
    pub fn start(self, hour: i64) -> i64 {
        match self {
            Partition::Hour => hour,
            Partition::Day => hour - hour.rem_euclid(24),
            Partition::Month => DateTime::from_timestamp(hour.saturating_mul(3600), 0)
                .and_then(|d| NaiveDate::from_ymd_opt(d.year(), d.month(), 1))
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map_or(hour, |d| d.and_utc().timestamp().div_euclid(3600)),
        }
    }

    /// The directory of a table's rows of `hour` (hours since the epoch) at this level.
    pub fn dir(self, t: LogType, hour: i64) -> String {
        let Some(d) = DateTime::from_timestamp(hour.saturating_mul(3600), 0) else {
            return format!("{}/hour={hour}", t.table());
        };
        let values = [d.year() as u32, d.month(), d.day(), d.hour()];
        let mut out = t.table().to_owned();
        for (i, key) in self.keys().iter().enumerate() {
            let width = if i == 0 { 4 } else { 2 };
            let _ = write!(out, "/{key}={:0width$}", values[i]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 1_710_882_707 / 3600; // 2024-03-19T21:11:47Z

    #[test]
    fn layout() {
        assert_eq!(
            Partition::Hour.dir(LogType::Access, HOUR),
            "juniper_access/year=2024/month=03/day=19/hour=21"
        );
        assert_eq!(
            Partition::Day.dir(LogType::Access, HOUR),
            "juniper_access/year=2024/month=03/day=19"
        );
        assert_eq!(
            Partition::Month.dir(LogType::Audit, HOUR),
            "juniper_audit/year=2024/month=03"
        );
    }

    #[test]
    fn starts() {
        let day = 1_710_806_400 / 3600; // 2024-03-19T00:00:00Z
        let month = 1_709_251_200 / 3600; // 2024-03-01T00:00:00Z
        assert_eq!(Partition::Hour.start(HOUR), HOUR);
        assert_eq!(Partition::Day.start(HOUR), day);
        assert_eq!(Partition::Month.start(HOUR), month);
        for level in [Partition::Hour, Partition::Day, Partition::Month] {
            let start = level.start(HOUR);
            assert_eq!(
                level.dir(LogType::Mws, start),
                level.dir(LogType::Mws, HOUR)
            );
            assert_eq!(level.start(start), start);
        }
        // Before 1970: still the start of the day and month.
        let old = -1;
        assert_eq!(Partition::Day.start(old), -24);
        assert_eq!(Partition::Month.start(old), -24 * 31);
        // Out of chrono's range: no panic, the hour itself.
        assert_eq!(Partition::Month.start(i64::MAX), i64::MAX);
        assert_eq!(
            Partition::Day.dir(LogType::Mws, i64::MAX),
            format!("juniper_mws/hour={}", i64::MAX)
        );
    }
}
