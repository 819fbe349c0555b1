//! The library's errors. Each names the input or output it concerns; the cause is its
//! `source()` (print the chain, e.g. with anyhow's `{:#}`).

use std::path::PathBuf;

/// Something that stopped an input or an output from being processed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading an input failed.
    #[error("reading {input}")]
    Read {
        /// The input, as given.
        input: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing output failed.
    #[error("writing {path}")]
    Write {
        /// The file or object being written.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Encoding Parquet failed.
    #[error("writing Parquet {path}")]
    Parquet {
        /// The file being written.
        path: PathBuf,
        /// The cause.
        source: parquet::errors::ParquetError,
    },
    /// Building a record batch failed (a bug in jwas).
    #[error("building a {table} batch")]
    Arrow {
        /// The table.
        table: &'static str,
        /// The cause.
        source: arrow_schema::ArrowError,
    },
    /// An input that does not exist or is not usable.
    #[error("{input}: {reason}")]
    Input {
        /// The input, as given.
        input: String,
        /// What is wrong.
        reason: String,
    },
    /// An S3 request failed.
    #[error("{uri}: {message}")]
    S3 {
        /// The bucket, prefix or object concerned (`s3://...`).
        uri: String,
        /// What kind of failure, for callers that treat some differently.
        kind: S3ErrorKind,
        /// One line for the user.
        message: String,
    },
    /// `jwas enqueue` stopped part-way: some messages were queued before the failure.
    #[error("queueing stopped after {sent} message(s) ({done})")]
    Enqueue {
        /// Messages queued before the failure.
        sent: u64,
        /// Which objects' messages were all queued, and how to go on from there.
        done: String,
        /// The failure.
        source: Box<Error>,
    },
    /// A worker thread panicked (a bug in jwas).
    #[error("a worker thread failed: {0}")]
    Worker(String),
}

/// The kinds of S3 failure a user meets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum S3ErrorKind {
    /// The bucket does not exist.
    NoSuchBucket,
    /// The object does not exist (any more), or changed since it was listed.
    NoSuchKey,
    /// The credentials are not allowed to do this.
    AccessDenied,
    /// No credentials were found, or they are not valid.
    Credentials,
    /// The endpoint could not be reached.
    Unreachable,
    /// Anything else.
    Other,
}

/// The error's causes, innermost last, on one line.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        let s = c.to_string();
        if !s.is_empty() && parts.last() != Some(&s) {
            parts.push(s);
        }
        cur = c.source();
    }
    parts.join(": ")
}
