//! Files to Parquet tables under an S3 prefix (feature `s3`). Credentials, region and
//! endpoint come from the standard AWS configuration (`AWS_ENDPOINT_URL` for an
//! S3-compatible server such as `scripts/moto.sh`).
//!
//!     cargo run --example files_to_s3 -- testdata/ s3://my-bucket/jwas

use jwas::run::{find_inputs, open_store, Output, Run};
use jwas::s3::{S3Config, S3};
use jwas::source::WalkFilter;

fn main() -> Result<(), jwas::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((out, inputs)) = args.split_last().filter(|(_, i)| !i.is_empty()) else {
        eprintln!("usage: files_to_s3 INPUT... s3://bucket/prefix");
        std::process::exit(2);
    };
    let s3 = S3::connect(&S3Config::default())?;
    let found = find_inputs(inputs, &WalkFilter::default(), Some(&s3))?;
    let store = open_store(out, Some(&s3), false)?;
    let mut run = Run::new(Default::default());
    run.s3 = Some(&s3);
    let summary = run.run(found.inputs, Output::Store(store))?;
    let files: usize = summary.done.iter().map(|(s, _)| s.files.len()).sum();
    println!(
        "{files} file(s) under {out}; {} input(s) failed",
        summary.failures
    );
    Ok(())
}
