//! The integration tests, one binary (each test binary links the AWS SDK: one link, and
//! one moto server for all): the built `jwas` on `testdata/` with the Parquet read back,
//! S3 and SQS against moto (through a fault-injecting proxy where a test needs faults),
//! and the Lambda function on cargo-lambda's emulator (feature `lambda`). A module per
//! concern; shared helpers in `support`.

mod support;

mod compact;
mod deploy;
mod docs;
mod garbage;
mod hardening;
#[cfg(feature = "lambda")]
mod lambda;
mod linear;
mod parse;
mod partition;
mod s3;
mod schemas;
mod worker;
