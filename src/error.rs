//! The library's errors. Each names the input or output it concerns.

use std::path::PathBuf;

/// Something that stopped an input or an output from being processed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading an input failed.
    #[error("reading {input}: {source}")]
    Read {
        /// The input, as given.
        input: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing output failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file or object being written.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Encoding Parquet failed.
    #[error("writing Parquet {path}: {source}")]
    Parquet {
        /// The file being written.
        path: PathBuf,
        /// The cause.
        source: parquet::errors::ParquetError,
    },
    /// Building a record batch failed (a bug in jwas).
    #[error("building a {table} batch: {source}")]
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
    /// A worker thread panicked (a bug in jwas).
    #[error("a worker thread failed: {0}")]
    Worker(String),
}
