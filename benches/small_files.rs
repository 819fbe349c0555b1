//! The cost of one small Parquet file: a quiet appliance's year is tens of thousands of
//! hourly files of a few rows. Each iteration writes six files of 5 rows, one per table
//! (realistic rows from `jwas::gen`, as the pipeline builds them), and the time is reported
//! per file (`encode_70_rows` does the same with 70 rows, the shared quiet-year corpus's
//! average file):
//! - `encode`: jwas's encoder into memory (the CPU cost of a file);
//! - `local_store`: the same, written through `LocalStore` (a new hour directory per file,
//!   temporary name, rename), as `jwas parse` writes them; this adds the file system's cost,
//!   which depends on the machine;
//! - `parquet_rs_arrow_writer`: parquet-rs's `ArrowWriter` into memory with jwas's former
//!   settings, for comparison.

use arrow_array::RecordBatch;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use jwas::gen::{generate_to_vec, GenOptions};
use jwas::pipeline::{parse_block, ParseContext};
use jwas::sink::encoder::{EncoderState, ParquetFile};
use jwas::sink::{Compression, LocalStore, Store};
use jwas::LogType;
use std::hint::black_box;
use std::time::Duration;

const ROWS: usize = 5;
/// Rows per table and hour of the shared quiet-year corpus, on average.
const QUIET_ROWS: usize = 70;
const COMPRESSION: Compression = Compression::Zstd(1);

/// A batch of `rows` rows of each table.
fn batches_of(rows: usize) -> Vec<(LogType, RecordBatch)> {
    let (data, stats) = generate_to_vec(&GenOptions {
        seed: 5,
        bytes: 2 << 20,
        ..GenOptions::default()
    });
    let ctx = ParseContext::new("bench.log", stats.last);
    let out = parse_block(&data, 0, &ctx).expect("parsing generated logs");
    LogType::ALL
        .into_iter()
        .map(|t| {
            let b = out
                .hours
                .iter()
                .find(|b| b.log_type == t && b.batch.num_rows() >= rows)
                .expect("every table has an hour of enough rows");
            (t, b.batch.slice(0, rows))
        })
        .collect()
}

fn encode(t: LogType, batch: &RecordBatch, state: &mut EncoderState, out: &mut Vec<u8>) {
    out.clear();
    let mut file = ParquetFile::new(t, COMPRESSION, out);
    file.write_row_group(std::slice::from_ref(batch), state, out)
        .expect("encoding");
    file.finish(out).expect("encoding");
}

fn small_files(c: &mut Criterion) {
    let batches = batches_of(ROWS);
    let mut group = c.benchmark_group("small_files");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(batches.len() as u64));

    let mut state = EncoderState::default();
    let mut out = Vec::new();
    group.bench_function("encode", |b| {
        b.iter(|| {
            for (t, batch) in &batches {
                encode(*t, batch, &mut state, &mut out);
                black_box(&out);
            }
        })
    });

    let quiet = batches_of(QUIET_ROWS);
    group.bench_function("encode_70_rows", |b| {
        b.iter(|| {
            for (t, batch) in &quiet {
                encode(*t, batch, &mut state, &mut out);
                black_box(&out);
            }
        })
    });

    let dir = std::env::temp_dir().join(format!("jwas-small-files-{}", std::process::id()));
    let store = LocalStore::new(&dir);
    let mut n = 0u64;
    group.bench_function("local_store", |b| {
        b.iter(|| {
            for (t, batch) in &batches {
                encode(*t, batch, &mut state, &mut out);
                n += 1;
                let key = format!("{}/h={n}/f.parquet", t.table());
                // As the sink writes a small file: whole, with one call.
                store.put(&key, &out).expect("writing");
            }
        })
    });
    let _ = std::fs::remove_dir_all(&dir);

    group.bench_function("parquet_rs_arrow_writer", |b| {
        b.iter(|| {
            for (t, batch) in &batches {
                let props = jwas::sink::writer_properties(*t, COMPRESSION);
                let mut w =
                    parquet::arrow::ArrowWriter::try_new(Vec::new(), batch.schema(), Some(props))
                        .expect("writer");
                w.write(batch).expect("writing");
                black_box(w.into_inner().expect("closing"));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, small_files);
criterion_main!(benches);
