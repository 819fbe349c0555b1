//! Files (or directories) to Parquet tables in a directory, as `jwas parse` does.
//!
//!     cargo run --example files_to_parquet -- testdata/ out-example

use jwas::run::{find_inputs, open_store, Output, Run};
use jwas::source::WalkFilter;

fn main() -> Result<(), jwas::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (inputs, out) = match args.split_last() {
        Some((out, inputs)) if !inputs.is_empty() => (inputs, out.as_str()),
        _ => (&["testdata/".to_owned()][..], "out-example"),
    };
    let found = find_inputs(inputs, &WalkFilter::default(), None)?;
    let store = open_store(out, None, false)?;
    let summary = Run::new(Default::default()).run(found.inputs, Output::Store(store))?;
    for (input, _) in &summary.done {
        println!(
            "{}: {} file(s), {} rows",
            input.input,
            input.files.len(),
            input.counts.rows.iter().sum::<u64>()
        );
    }
    println!("{} input(s) failed; tables under {out}", summary.failures);
    Ok(())
}
