//! The AWS Lambda function: the worker's job ([`crate::worker::Batches`]) for the
//! records of an SQS-triggered invocation, with the failures named for a partial batch
//! response. The `bootstrap` binary (feature `lambda`) runs it on the Lambda runtime; this
//! module is the part that does not depend on the runtime.
//!
//! Configuration comes from environment variables, read once at cold start
//! ([`LambdaConfig::from_env`]):
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `JWAS_OUT` | where the tables go: `s3://bucket/prefix` (or a directory) | required |
//! | `JWAS_SOURCES` | a `sources.toml` (its text, or `s3://bucket/key` of one) | every object, `JWAS_LOG_TYPE` |
//! | `JWAS_LOG_TYPE` | `auto` or a log type, without `JWAS_SOURCES` | `auto` |
//! | `JWAS_COMPRESSION` | `zstd`, `snappy`, `gzip` or `none` | `zstd` |
//! | `JWAS_ZSTD_LEVEL` | 1–22 | 1 |
//! | `JWAS_PARTITION` | `hour`, `day` or `month` | `hour` |
//! | `JWAS_MAX_FILE_ROWS` | rows per file | 1,000,000 |
//! | `JWAS_THREADS` | parsing threads | all cores |
//! | `JWAS_CONCURRENCY` | objects downloaded ahead | 8 |
//! | `JWAS_DEADLINE_MARGIN_SECS` | no object is started with less time left than this | 30 |
//! | `JWAS_REQUEST_TIMEOUT_SECS` | one S3 request's time to answer, and a transfer's without progress ([`crate::s3::Timeouts`]) | 60 |
//!
//! An invocation parses every object its records name into one set of files per table and
//! partition, stores them, and reports as `batchItemFailures` exactly the records that
//! must come back: malformed ones, those with an object that failed or no longer exists
//! (unlike `jwas worker`, which logs and deletes those: here the dead-letter queue shows
//! them), and those not reached before the deadline margin. What was parsed is always written and stored before the
//! function returns.

use crate::error::Error;
use crate::job::JobOptions;
use crate::s3::{S3Config, S3};
use crate::sink::{Compression, Partition};
use crate::source::S3Uri;
use crate::worker::message;
use crate::worker::sources::Sources;
use crate::worker::{Batches, Outcome, Stats};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tracing::{info, warn};

/// Default `JWAS_DEADLINE_MARGIN_SECS`.
pub const DEFAULT_DEADLINE_MARGIN: Duration = Duration::from_secs(30);

/// The function's configuration.
#[derive(Debug)]
pub struct LambdaConfig {
    /// `JWAS_OUT`.
    pub out: String,
    /// `JWAS_SOURCES`: `sources.toml` text or the `s3://` location of one.
    pub sources: Option<String>,
    /// Parsing and table options (`JWAS_LOG_TYPE`, `JWAS_COMPRESSION`, ...).
    pub job: JobOptions,
    /// `JWAS_CONCURRENCY`.
    pub concurrency: usize,
    /// `JWAS_DEADLINE_MARGIN_SECS`.
    pub margin: Duration,
    /// `JWAS_REQUEST_TIMEOUT_SECS`: see [`crate::s3::Timeouts::request`].
    pub request_timeout: Duration,
}

fn bad(variable: &str, value: &str, expected: &str) -> Error {
    Error::Input {
        input: variable.to_owned(),
        reason: format!("{value:?} is not {expected}"),
    }
}

impl LambdaConfig {
    /// Reads the configuration through `var` (`std::env::var` in the function); a missing
    /// `JWAS_OUT` or a value that does not parse is an error naming the variable.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<LambdaConfig, Error> {
        let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let number = |name: &str, default: usize| -> Result<usize, Error> {
            match get(name) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| bad(name, &v, "a positive whole number")),
            }
        };
        let out = get("JWAS_OUT").ok_or_else(|| Error::Input {
            input: "JWAS_OUT".into(),
            reason: "not set: the function needs to know where to write (s3://bucket/prefix)"
                .into(),
        })?;
        if let Some(uri) = S3Uri::parse(&out) {
            uri?;
        }
        let sources = get("JWAS_SOURCES");
        // A value that does not parse is an error naming the variable and what it takes.
        fn parsed<T: std::str::FromStr<Err = crate::config::BadValue>>(
            name: &str,
            value: Option<String>,
        ) -> Result<Option<T>, Error> {
            value
                .map(|v| {
                    v.trim().parse::<T>().map_err(|e| Error::Input {
                        input: name.to_owned(),
                        reason: e.to_string(),
                    })
                })
                .transpose()
        }
        let log_type =
            parsed::<crate::config::LogTypeChoice>("JWAS_LOG_TYPE", get("JWAS_LOG_TYPE"))?
                .and_then(|c| c.0);
        if log_type.is_some() && sources.is_some() {
            return Err(Error::Input {
                input: "JWAS_LOG_TYPE".into(),
                reason: "set together with JWAS_SOURCES: give the log type in the sources file"
                    .into(),
            });
        }
        let level = get("JWAS_ZSTD_LEVEL")
            .map(|v| {
                v.trim()
                    .parse::<i32>()
                    .ok()
                    .filter(|l| (1..=22).contains(l))
                    .ok_or_else(|| bad("JWAS_ZSTD_LEVEL", &v, "a level from 1 to 22"))
            })
            .transpose()?
            .unwrap_or(crate::sink::DEFAULT_ZSTD_LEVEL);
        let compression = parsed::<Compression>("JWAS_COMPRESSION", get("JWAS_COMPRESSION"))?
            .unwrap_or(Compression::Zstd(level))
            .with_zstd_level(level);
        let partition =
            parsed::<Partition>("JWAS_PARTITION", get("JWAS_PARTITION"))?.unwrap_or_default();
        let mut job = JobOptions {
            log_type,
            ..JobOptions::default()
        };
        job.pipeline.threads = number("JWAS_THREADS", job.pipeline.threads)?;
        job.tables.writers = job.pipeline.threads;
        job.tables.compression = compression;
        job.tables.partition = partition;
        job.tables.max_file_rows = number("JWAS_MAX_FILE_ROWS", job.tables.max_file_rows)?;
        let margin = match get("JWAS_DEADLINE_MARGIN_SECS") {
            None => DEFAULT_DEADLINE_MARGIN,
            Some(v) => Duration::from_secs(
                v.trim()
                    .parse()
                    .map_err(|_| bad("JWAS_DEADLINE_MARGIN_SECS", &v, "a number of seconds"))?,
            ),
        };
        let request_timeout = Duration::from_secs(number(
            "JWAS_REQUEST_TIMEOUT_SECS",
            crate::s3::DEFAULT_REQUEST_TIMEOUT.as_secs() as usize,
        )? as u64);
        Ok(LambdaConfig {
            out,
            sources,
            job,
            concurrency: number("JWAS_CONCURRENCY", 8)?,
            margin,
            request_timeout,
        })
    }
}

/// One SQS record of an invocation.
#[derive(Clone, Debug)]
pub struct Record {
    /// `messageId`.
    pub message_id: String,
    /// `body`.
    pub body: Option<String>,
}

/// The function, from cold start on: the S3 client, the output and the sources.
pub struct Function {
    writer: Batches,
    margin: Duration,
}

impl Function {
    /// Connects to S3 (the standard AWS configuration; `AWS_ENDPOINT_URL` honoured),
    /// checks the output bucket, and reads the sources file.
    pub fn new(config: LambdaConfig) -> Result<Function, Error> {
        let s3 = S3::connect(&S3Config {
            timeouts: crate::s3::Timeouts {
                request: config.request_timeout,
                ..crate::s3::Timeouts::default()
            },
            ..S3Config::default()
        })?;
        let store = crate::run::open_store(&config.out, Some(&s3), true)?;
        let sources = match config.sources.as_deref() {
            None => Sources::any_as(config.job.log_type),
            Some(text) => {
                let (text, from) = match S3Uri::parse(text).transpose()? {
                    Some(uri) => {
                        let bytes = s3.read_all(&s3.head(&uri)?)?;
                        // A sources file that is not text is a bad configuration, not
                        // one to read with replacement characters.
                        let text = String::from_utf8(bytes).map_err(|e| Error::Input {
                            input: uri.to_string(),
                            reason: format!("a sources file must be UTF-8 text: {e}"),
                        })?;
                        (text, uri.to_string())
                    }
                    None => (text.to_owned(), "JWAS_SOURCES".to_owned()),
                };
                Sources::parse(&text).map_err(|reason| Error::Input {
                    input: from,
                    reason,
                })?
            }
        };
        Ok(Function {
            writer: Batches::new(s3, store, config.job, sources, config.concurrency)
                .retry_gone(true),
            margin: config.margin,
        })
    }

    /// Handles an invocation's records, with `deadline` (milliseconds since the epoch, from
    /// the runtime) to finish by; returns the message ids to retry.
    ///
    /// A deadline below 10^12 (before 2001) cannot be an instant: the cargo-lambda
    /// emulator sends the function's timeout in milliseconds there, and it is read as such,
    /// from now.
    pub fn handle(&mut self, records: &[Record], deadline_ms: u64) -> Vec<String> {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let left = if deadline_ms < 1_000_000_000_000 {
            Duration::from_millis(deadline_ms)
        } else {
            Duration::from_millis(deadline_ms.saturating_sub(now_ms))
        };
        if left <= self.margin {
            warn!(
                left_ms = left.as_millis() as u64,
                margin_s = self.margin.as_secs(),
                "less time left than JWAS_DEADLINE_MARGIN_SECS: no object will be started (raise the function's timeout or lower the margin)"
            );
        }
        let stop_by = Instant::now() + left.saturating_sub(self.margin);
        self.writer.stats = Stats::default();
        self.writer.stats.messages = records.len() as u64;
        let bodies: Vec<Result<message::Body, String>> = records
            .iter()
            .map(|r| match &r.body {
                Some(b) => message::parse(b),
                None => Err("a record without a body".to_owned()),
            })
            .collect();
        let messages: Vec<(&str, &Result<message::Body, String>)> = records
            .iter()
            .zip(&bodies)
            .map(|(r, b)| (r.message_id.as_str(), b))
            .collect();
        let outcomes = self.writer.write(&messages, Some(stop_by));
        let mut failures = Vec::new();
        for (r, o) in records.iter().zip(&outcomes) {
            match o {
                Outcome::Done => self.writer.stats.deleted += 1,
                _ => {
                    info!(message_id = %r.message_id, outcome = ?o, "reported as a batch item failure");
                    failures.push(r.message_id.clone());
                }
            }
        }
        self.writer.stats.log();
        failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<LambdaConfig, Error> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        LambdaConfig::from_env(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_and_every_variable() {
        let c = config(&[("JWAS_OUT", "s3://lake/p")]).unwrap();
        assert_eq!(c.out, "s3://lake/p");
        assert!(c.job.log_type.is_none() && c.sources.is_none());
        assert_eq!(c.margin, DEFAULT_DEADLINE_MARGIN);
        assert_eq!(c.job.tables.partition, Partition::Hour);
        let c = config(&[
            ("JWAS_OUT", "s3://lake/p"),
            ("JWAS_LOG_TYPE", "firewall"),
            ("JWAS_COMPRESSION", "snappy"),
            ("JWAS_PARTITION", "day"),
            ("JWAS_MAX_FILE_ROWS", "5000"),
            ("JWAS_THREADS", "3"),
            ("JWAS_CONCURRENCY", "2"),
            ("JWAS_DEADLINE_MARGIN_SECS", "90"),
        ])
        .unwrap();
        assert_eq!(c.job.log_type, Some(crate::LogType::Firewall));
        assert!(matches!(c.job.tables.compression, Compression::Snappy));
        assert_eq!(c.job.tables.partition, Partition::Day);
        assert_eq!(c.job.tables.max_file_rows, 5000);
        assert_eq!((c.job.pipeline.threads, c.job.tables.writers), (3, 3));
        assert_eq!(c.concurrency, 2);
        assert_eq!(c.margin, Duration::from_secs(90));
    }

    #[test]
    fn a_bad_configuration_names_the_variable() {
        for (vars, says) in [
            (vec![], "JWAS_OUT: not set"),
            (
                vec![("JWAS_OUT", "s3://lake/p"), ("JWAS_PARTITION", "week")],
                "JWAS_PARTITION: \"week\" is not hour, day or month",
            ),
            (
                vec![("JWAS_OUT", "s3://lake/p"), ("JWAS_LOG_TYPE", "nginx")],
                "JWAS_LOG_TYPE: \"nginx\" is not auto",
            ),
            (
                vec![("JWAS_OUT", "s3://lake/p"), ("JWAS_THREADS", "0")],
                "JWAS_THREADS: \"0\" is not a positive whole number",
            ),
            (
                vec![
                    ("JWAS_OUT", "s3://lake/p"),
                    ("JWAS_LOG_TYPE", "mws"),
                    ("JWAS_SOURCES", "[[source]]"),
                ],
                "JWAS_LOG_TYPE: set together with JWAS_SOURCES",
            ),
            (
                vec![("JWAS_OUT", "s3://lake/p"), ("JWAS_COMPRESSION", "lz4")],
                "JWAS_COMPRESSION: \"lz4\" is not zstd",
            ),
        ] {
            let e = config(&vars).unwrap_err().to_string();
            assert!(e.starts_with(says), "{e}");
        }
    }
}
