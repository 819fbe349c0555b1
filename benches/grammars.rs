//! Grammar throughput: the header and the log type's grammar over realistic events of each
//! type (from `jwas::gen`), split into events before timing. Reported as bytes/s and as
//! events/s (two groups over the same inputs).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use jwas::gen::{generate_to_vec, GenOptions};
use jwas::grammar::{self, header, is_event_start};
use jwas::LogType;
use std::hint::black_box;
use std::time::Duration;

/// Generated events of one type, each as the pipeline hands it to the grammar: its lines
/// without the final newline.
fn events(t: LogType) -> Vec<String> {
    let opts = GenOptions {
        seed: 1,
        bytes: 512 << 10,
        log_type: Some(t),
        ..GenOptions::default()
    };
    let text = String::from_utf8(generate_to_vec(&opts).0).expect("generated text is UTF-8");
    let mut out: Vec<String> = Vec::new();
    for line in text.split_inclusive('\n') {
        if is_event_start(line.as_bytes()) || out.is_empty() {
            out.push(String::new());
        }
        if let Some(ev) = out.last_mut() {
            ev.push_str(line);
        }
    }
    for ev in &mut out {
        ev.pop(); // the final newline
    }
    out
}

/// What the pipeline runs per event once it knows the type.
fn parse(t: LogType, ev: &str) {
    let h = header(ev).expect("generated events have a header");
    let ok = match t {
        LogType::Access => black_box(grammar::access::parse(h.rest)).is_ok(),
        LogType::Audit => black_box(grammar::audit::parse(h.rest)).is_ok(),
        LogType::Firewall => black_box(grammar::firewall::parse(h.rest)).is_ok(),
        LogType::Mws => black_box(grammar::mws::parse(h.rest)).is_ok(),
        LogType::Postgres => black_box(grammar::postgres::parse(h.rest)).is_ok(),
        LogType::Security => black_box(grammar::security::parse(h.rest)).is_ok(),
    };
    debug_assert!(ok);
}

fn grammars(c: &mut Criterion) {
    let inputs: Vec<(LogType, Vec<String>)> =
        LogType::ALL.iter().map(|&t| (t, events(t))).collect();
    for (t, evs) in &inputs {
        for ev in evs {
            let h = header(ev).expect("header");
            assert_eq!(LogType::classify(h.rest), Some(*t), "{ev}");
        }
    }
    for (name, bytes) in [("grammar_bytes", true), ("grammar_events", false)] {
        let mut group = c.benchmark_group(name);
        for (t, evs) in &inputs {
            group.throughput(if bytes {
                Throughput::Bytes(evs.iter().map(|e| e.len() as u64 + 1).sum())
            } else {
                Throughput::Elements(evs.len() as u64)
            });
            group.bench_function(t.short_name(), |b| {
                b.iter(|| {
                    for ev in evs {
                        parse(*t, ev);
                    }
                })
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = grammars
}
criterion_main!(benches);
