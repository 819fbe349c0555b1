//! A generated 16 MiB mixed file to Parquet (zstd) through `jwas::job::process`, as
//! `jwas parse` runs it, and the same bytes through `jwas::pipeline::run` with a sink that
//! drops the output (parse only). Both use all cores.

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use jwas::gen::{generate_to_vec, GenOptions};
use jwas::job::{self, Destination, JobOptions, RejectedTo};
use jwas::pipeline::{self, ParseContext, PipelineOptions};
use jwas::sink::{LocalStore, Store};
use jwas::standard::{ReferenceTime, RowId};
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const INPUT_BYTES: u64 = 16 << 20;

fn end_to_end(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("jwas-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating the bench directory");
    let (data, stats) = generate_to_vec(&GenOptions {
        seed: 16,
        bytes: INPUT_BYTES,
        ..GenOptions::default()
    });
    let path = dir.join("input.log");
    std::fs::write(&path, &data).expect("writing the input");
    let input = jwas::source::expand(
        &[path.display().to_string()],
        &jwas::source::WalkFilter::default(),
    )
    .expect("finding the input")
    .0
    .remove(0);
    let out_dir = dir.join("out");
    let opts = JobOptions {
        reference_time: Some(stats.last),
        ..JobOptions::default()
    };

    let run_job = |out: &Path| {
        let store: Arc<dyn Store> = Arc::new(LocalStore::new(out));
        let mut dest = Destination::Store(Arc::clone(&store));
        let mut rejected = RejectedTo::Store(store);
        job::process(&input, &opts, &mut dest, &mut rejected).expect("processing the input")
    };
    let summary = run_job(&out_dir);
    assert_eq!(summary.counts.rejected_events, 0);
    assert_eq!(summary.counts.first_lines, stats.total_events());

    let mut group = c.benchmark_group("end_to_end");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Bytes(data.len() as u64));
    group.bench_function("parquet_zstd", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let _ = std::fs::remove_dir_all(&out_dir);
                let start = Instant::now();
                black_box(run_job(&out_dir));
                total += start.elapsed();
            }
            total
        })
    });

    let ctx = ParseContext {
        reference: ReferenceTime::new(stats.last),
        row_id: RowId::new(&input.identity()),
        log_type: None,
        parse_time: 0,
        source_id: None,
        source_label: None,
        source_object: input.name(),
        max_event_bytes: pipeline::DEFAULT_MAX_EVENT_BYTES,
    };
    group.bench_function("parse_only", |b| {
        b.iter(|| {
            let counts = pipeline::run(
                &data[..],
                &ctx,
                PipelineOptions::default(),
                "bench",
                |out| {
                    black_box(out);
                    Ok(())
                },
            )
            .expect("parsing");
            assert_eq!(counts.rejected_events, 0);
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, end_to_end);
criterion_main!(benches);
