//! Indicator extraction (`p_any_*`) on the values the pipeline feeds it, taken from a
//! generated mixed corpus: free text (MWS, Audit and Postgres messages), IP fields
//! (firewall SRC/DST, X-Forwarded-For entries, proxy and source IPs), hosts (hostnames,
//! Host headers), URLs (Access and Security) and firewall MAC fields.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use jwas::gen::{generate_to_vec, GenOptions};
use jwas::grammar::{self, header, is_event_start};
use jwas::standard::Indicators;
use jwas::LogType;
use std::hint::black_box;
use std::time::Duration;

#[derive(Default)]
struct Inputs {
    free_text: Vec<String>,
    ip: Vec<String>,
    host: Vec<String>,
    url: Vec<String>,
    mac: Vec<String>,
}

fn inputs() -> Inputs {
    let opts = GenOptions {
        seed: 2,
        bytes: 4 << 20,
        ..GenOptions::default()
    };
    let text = String::from_utf8(generate_to_vec(&opts).0).expect("generated text is UTF-8");
    let mut events: Vec<String> = Vec::new();
    for line in text.split_inclusive('\n') {
        if is_event_start(line.as_bytes()) || events.is_empty() {
            events.push(String::new());
        }
        if let Some(ev) = events.last_mut() {
            ev.push_str(line);
        }
    }
    let mut inp = Inputs::default();
    let own = |s: &str| s.to_owned();
    for ev in &events {
        let ev = ev.trim_end_matches('\n');
        let Some(h) = header(ev) else { continue };
        inp.host.push(own(h.hostname));
        match LogType::classify(h.rest) {
            Some(LogType::Access) => {
                let Ok(e) = grammar::access::parse(h.rest) else {
                    continue;
                };
                inp.ip.extend(e.proxy_client_ip.map(own));
                inp.url.extend(e.url.map(own));
                for (name, value) in e.http.headers() {
                    if name.eq_ignore_ascii_case("host") {
                        inp.host.push(own(value));
                    } else if name.eq_ignore_ascii_case("x-forwarded-for") {
                        inp.ip.extend(value.split(',').map(|a| own(a.trim())));
                    }
                }
            }
            Some(LogType::Audit) => {
                let Ok(e) = grammar::audit::parse(h.rest) else {
                    continue;
                };
                inp.free_text.extend(e.message.map(own));
                inp.ip.extend(e.login_ip.map(own));
            }
            Some(LogType::Firewall) => {
                let Ok(e) = grammar::firewall::parse(h.rest) else {
                    continue;
                };
                inp.ip.extend(e.src.map(own));
                inp.ip.extend(e.dst.map(own));
                inp.mac.extend(e.mac.map(own));
            }
            Some(LogType::Mws) => {
                let Ok(e) = grammar::mws::parse(h.rest) else {
                    continue;
                };
                inp.free_text.extend(e.log_message.map(own));
            }
            Some(LogType::Postgres) => {
                let Ok(e) = grammar::postgres::parse(h.rest) else {
                    continue;
                };
                inp.free_text.extend(e.message.map(own));
            }
            Some(LogType::Security) => {
                let Ok(e) = grammar::security::parse(h.rest) else {
                    continue;
                };
                inp.ip.extend(e.source_ip.as_deref().map(own));
                inp.url.extend(e.url.as_deref().map(own));
            }
            None => {}
        }
    }
    inp
}

fn indicators(c: &mut Criterion) {
    let inp = inputs();
    type Extract = fn(&mut Indicators, &str);
    let cases: [(&str, &[String], Extract); 5] = [
        ("free_text", &inp.free_text, |i, s| i.free_text(s)),
        ("ip", &inp.ip, |i, s| {
            i.ip(s);
        }),
        ("host", &inp.host, |i, s| i.host(s)),
        ("url", &inp.url, |i, s| i.url(s)),
        ("mac_pair", &inp.mac, |i, s| i.mac_pair(s)),
    ];
    let mut group = c.benchmark_group("indicators");
    for (name, values, extract) in cases {
        assert!(!values.is_empty(), "no inputs for {name}");
        group.throughput(Throughput::Bytes(
            values.iter().map(|v| v.len() as u64).sum(),
        ));
        let mut ind = Indicators::default();
        group.bench_function(name, |b| {
            b.iter(|| {
                for v in values {
                    ind.clear();
                    extract(&mut ind, v);
                    black_box(&ind);
                }
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = indicators
}
criterion_main!(benches);
