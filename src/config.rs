//! One configuration vocabulary: the values a user gives on the command line, in the Lambda
//! function's environment or in `sources.toml` are parsed here ([`std::str::FromStr`]) and
//! shown the same way back ([`std::fmt::Display`]), so that each is spelled once. A value
//! that does not parse is a [`BadValue`] naming it and what is allowed.
//!
//! | type | spellings |
//! |---|---|
//! | [`LogType`] | `access`, `audit`, `firewall`, `mws`, `postgres`, `security` (also `Juniper.Access`, `juniper_access`, any case) |
//! | [`LogTypeChoice`] | `auto` or a log type |
//! | [`Partition`] | `hour`, `day`, `month` |
//! | [`Compression`] | `zstd`, `snappy`, `gzip`, `none` (zstd at [`DEFAULT_ZSTD_LEVEL`]) |
//! | [`Format`] | `parquet`, `ndjson` |
//! | durations ([`parse_duration`]) | `500ms`, `20s`, `5m`, `1h`, or seconds alone (`90`) |

use crate::logtype::LogType;
use crate::sink::{Compression, Format, Partition, DEFAULT_ZSTD_LEVEL};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A value that is not one of those allowed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not {expected}")]
pub struct BadValue {
    /// The value as given.
    pub value: String,
    /// What is allowed, for people (e.g. `hour, day or month`).
    pub expected: &'static str,
}

impl BadValue {
    fn new(value: &str, expected: &'static str) -> BadValue {
        BadValue {
            value: value.to_owned(),
            expected,
        }
    }
}

/// What [`LogType`]'s `FromStr` takes.
pub const LOG_TYPES: &str = "access, audit, firewall, mws, postgres or security";

impl FromStr for LogType {
    type Err = BadValue;

    /// A short name (`access`), Panther name (`Juniper.Access`) or table name
    /// (`juniper_access`), in any case.
    fn from_str(s: &str) -> Result<LogType, BadValue> {
        LogType::from_name(s.trim()).ok_or_else(|| BadValue::new(s, LOG_TYPES))
    }
}

/// `auto` (each event routed by its tag) or one log type (events of others rejected).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogTypeChoice(pub Option<LogType>);

impl FromStr for LogTypeChoice {
    type Err = BadValue;

    fn from_str(s: &str) -> Result<LogTypeChoice, BadValue> {
        if s.trim().eq_ignore_ascii_case("auto") {
            return Ok(LogTypeChoice(None));
        }
        LogType::from_name(s.trim())
            .map(|t| LogTypeChoice(Some(t)))
            .ok_or_else(|| {
                BadValue::new(
                    s,
                    "auto, access, audit, firewall, mws, postgres or security",
                )
            })
    }
}

impl fmt::Display for LogTypeChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.map_or("auto", LogType::short_name))
    }
}

/// The value of `values` whose `name` is `s` (any case), or a [`BadValue`] saying `expected`.
fn one_of<T: Copy>(
    s: &str,
    values: &[T],
    name: impl Fn(T) -> &'static str,
    expected: &'static str,
) -> Result<T, BadValue> {
    values
        .iter()
        .copied()
        .find(|v| s.trim().eq_ignore_ascii_case(name(*v)))
        .ok_or_else(|| BadValue::new(s, expected))
}

impl FromStr for Partition {
    type Err = BadValue;

    fn from_str(s: &str) -> Result<Partition, BadValue> {
        let all = [Partition::Hour, Partition::Day, Partition::Month];
        one_of(s, &all, Partition::name, "hour, day or month")
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Compression {
    /// The codec's name: `zstd`, `snappy`, `gzip` or `none`.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Zstd(_) => "zstd",
            Compression::Snappy => "snappy",
            Compression::Gzip => "gzip",
            Compression::None => "none",
        }
    }

    /// zstd at `level`; other codecs as they are.
    pub fn with_zstd_level(self, level: i32) -> Compression {
        match self {
            Compression::Zstd(_) => Compression::Zstd(level),
            other => other,
        }
    }
}

impl FromStr for Compression {
    type Err = BadValue;

    /// `zstd` (at [`DEFAULT_ZSTD_LEVEL`]: see [`Compression::with_zstd_level`]), `snappy`,
    /// `gzip` or `none`.
    fn from_str(s: &str) -> Result<Compression, BadValue> {
        let all = [
            Compression::Zstd(DEFAULT_ZSTD_LEVEL),
            Compression::Snappy,
            Compression::Gzip,
            Compression::None,
        ];
        one_of(s, &all, Compression::name, "zstd, snappy, gzip or none")
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = BadValue;

    fn from_str(s: &str) -> Result<Format, BadValue> {
        one_of(
            s,
            &[Format::Parquet, Format::Ndjson],
            Format::name,
            "parquet or ndjson",
        )
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A duration: a number with `ms`, `s`, `m` or `h` (`500ms`, `20s`, `1.5m`, `1h`), or
/// seconds alone.
pub fn parse_duration(s: &str) -> Result<Duration, BadValue> {
    const EXPECTED: &str = "a duration such as 20s, 5m or 1h (units ms, s, m, h)";
    let t = s.trim();
    let (num, unit) = match t.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: f64 = num.parse().map_err(|_| BadValue::new(s, EXPECTED))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(BadValue::new(s, EXPECTED)),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| BadValue::new(s, EXPECTED))
}

/// The command line's choices come from the same names (feature `cli`).
#[cfg(feature = "cli")]
mod cli {
    use super::*;
    use clap::builder::PossibleValue;

    impl clap::ValueEnum for Partition {
        fn value_variants<'a>() -> &'a [Self] {
            &[Partition::Hour, Partition::Day, Partition::Month]
        }

        fn to_possible_value(&self) -> Option<PossibleValue> {
            let help = match self {
                Partition::Hour => "year=/month=/day=/hour=/ (Panther's layout)",
                Partition::Day => "year=/month=/day=/",
                Partition::Month => "year=/month=/",
            };
            Some(PossibleValue::new(self.name()).help(help))
        }
    }

    impl clap::ValueEnum for Format {
        fn value_variants<'a>() -> &'a [Self] {
            &[Format::Parquet, Format::Ndjson]
        }

        fn to_possible_value(&self) -> Option<PossibleValue> {
            Some(PossibleValue::new(self.name()))
        }
    }

    impl clap::ValueEnum for Compression {
        fn value_variants<'a>() -> &'a [Self] {
            &[
                Compression::Zstd(DEFAULT_ZSTD_LEVEL),
                Compression::Snappy,
                Compression::Gzip,
                Compression::None,
            ]
        }

        fn to_possible_value(&self) -> Option<PossibleValue> {
            Some(PossibleValue::new(self.name()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_reads_back_what_it_shows() {
        for p in [Partition::Hour, Partition::Day, Partition::Month] {
            assert_eq!(p.to_string().parse::<Partition>(), Ok(p));
        }
        for c in ["zstd", "snappy", "gzip", "none"] {
            assert_eq!(
                c.parse::<Compression>().map(|c| c.to_string()).as_deref(),
                Ok(c)
            );
        }
        for f in [Format::Parquet, Format::Ndjson] {
            assert_eq!(f.to_string().parse::<Format>(), Ok(f));
        }
        for t in LogType::ALL {
            assert_eq!(t.short_name().parse::<LogType>(), Ok(t));
            let choice = LogTypeChoice(Some(t));
            assert_eq!(choice.to_string().parse::<LogTypeChoice>(), Ok(choice));
        }
        assert_eq!("auto".parse::<LogTypeChoice>(), Ok(LogTypeChoice(None)));
    }

    #[test]
    fn bad_values_name_what_is_allowed() {
        let e = "weekly".parse::<Partition>().unwrap_err();
        assert_eq!(e.to_string(), "\"weekly\" is not hour, day or month");
        assert!("lz4".parse::<Compression>().is_err());
        assert!("auto".parse::<LogType>().is_err());
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5m"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("5 days").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("1e400s").is_err());
    }
}
