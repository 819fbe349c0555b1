//! # jwas
//!
//! Turns Juniper WebApp Secure appliance logs into Panther-style tables: six nom grammars
//! (Access, Audit, Firewall, MWS, Postgres, Security), Panther's `p_*` standard fields, and
//! Parquet partitioned by event hour, in a directory or on S3.
//!
//! ## Three levels
//!
//! - **One line → a typed event**: [`grammar::parse_line`] (and [`grammar::parse`] for a
//!   known log type). No I/O, no clock; a rejected line says why ([`grammar::Reject`],
//!   an error). Example: `examples/parse_line.rs`
//!   (`cargo run --example parse_line`).
//! - **A stream → rows**: [`pipeline::run`] frames events (an Access event spans lines),
//!   parses blocks in parallel, adds the `p_*` fields and hands out record batches per
//!   table and hour, in input order; [`job::Batch`] writes them as files of a
//!   [`sink::Store`].
//! - **Inputs → tables**: [`run::find_inputs`] expands files, directories, `-` and
//!   `s3://` prefixes; [`run::Run::run`] parses them into an output opened with
//!   [`run::open_store`], each input all or nothing, as `jwas parse` does. Examples:
//!   `examples/files_to_parquet.rs` (a directory) and `examples/files_to_s3.rs` (feature
//!   `s3`). The worker ([`worker`], feature `sqs`) and the Lambda function ([`lambda`])
//!   write batches of S3 objects with the same pieces.
//!
//! ```
//! use jwas::grammar::{parse_line, Event};
//!
//! let line = "Mar 19 18:42:38 my-jwas [INFO][mws-cluster-services][db-cleanup] Database cleanup completed.";
//! let (header, event) = parse_line(line)?;
//! assert_eq!(header.hostname, "my-jwas");
//! assert!(matches!(event, Event::Mws(_)));
//! # Ok::<(), jwas::grammar::Reject>(())
//! ```
//!
//! ## Features
//!
//! | feature | what it adds | default |
//! |---|---|---|
//! | `s3` | [`s3`]: `s3://` inputs and outputs (aws-sdk-s3 on tokio) | yes |
//! | `sqs` | [`worker`] and [`lambda`]: S3 notifications from SQS | yes |
//! | `cli` | the `jwas` binary's dependencies (clap, indicatif, anyhow) | yes |
//! | `lambda` | the `bootstrap` binary (the Lambda runtime) | no |
//!
//! With `default-features = false` the grammars, the pipeline, the Parquet and NDJSON
//! sinks and [`run`] for local files remain.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod columns;
pub mod compact;
pub mod config;
pub mod error;
pub mod gen;
pub mod grammar;
pub mod job;
#[cfg(feature = "sqs")]
pub mod lambda;
pub mod logtype;
pub mod pipeline;
pub mod run;
#[cfg(feature = "s3")]
pub mod s3;
pub mod sink;
pub mod source;
pub mod standard;
#[cfg(test)]
mod testing;
#[cfg(feature = "sqs")]
pub mod worker;

pub use error::Error;
pub use logtype::LogType;
