//! The output layout: `<table>/year=YYYY/month=MM/day=DD/hour=HH/` by `p_event_time`
//! (Hive style, so Athena, Spark and DuckDB's `hive_partitioning` read it as is).

use crate::logtype::LogType;
use chrono::{DateTime, Datelike, Timelike};

/// The partition directory of a table's rows in `hour` (hours since the epoch).
pub fn partition_dir(t: LogType, hour: i64) -> String {
    match DateTime::from_timestamp(hour.saturating_mul(3600), 0) {
        Some(d) => format!(
            "{}/year={:04}/month={:02}/day={:02}/hour={:02}",
            t.table(),
            d.year(),
            d.month(),
            d.day(),
            d.hour()
        ),
        None => format!("{}/hour={hour}", t.table()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let hour = 1_710_882_707 / 3600; // 2024-03-19T21:11:47Z
        assert_eq!(
            partition_dir(LogType::Access, hour),
            "juniper_access/year=2024/month=03/day=19/hour=21"
        );
    }
}
