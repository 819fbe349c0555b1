//! # jwas
//!
//! Turns Juniper WebApp Secure appliance logs into Panther-style tables: six nom grammars
//! (Access, Audit, Firewall, MWS, Postgres, Security), Panther's `p_*` standard fields, and
//! Parquet partitioned by event hour.
//!
//! ```
//! use jwas::grammar::header;
//! use jwas::logtype::LogType;
//!
//! let line = "Mar 19 18:42:38 my-jwas [INFO][mws-cluster-services][db-cleanup] Database cleanup completed.";
//! let h = header(line).unwrap();
//! assert_eq!(h.hostname, "my-jwas");
//! assert_eq!(LogType::classify(h.rest), Some(LogType::Mws));
//! ```
#![deny(missing_docs)]

pub mod columns;
pub mod compact;
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
