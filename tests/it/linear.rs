//! Every per-event step is linear in the event's size: events built to make quadratic code
//! take minutes (hundreds of thousands of map keys, addresses, header lines, all well under
//! the 8 MiB event limit) are parsed in about a second. The time bound is generous (a
//! minute, in the debug build); the quadratic code these tests were written against took
//! 32 s for a third of the first event and minutes for the others.

use jwas::pipeline::{parse_block, ParseContext};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(60);

fn ctx() -> ParseContext {
    let reference = chrono::DateTime::parse_from_rfc3339("2024-03-21T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    ParseContext::new("hostile.log", reference)
}

/// Parses one event; returns its single row's batch and how long it took.
fn parse_one(event: &str) -> (arrow_array::RecordBatch, Duration) {
    assert!(event.len() < 8 << 20, "{} bytes", event.len());
    let start = Instant::now();
    let out = parse_block(event.as_bytes(), 0, &ctx()).unwrap();
    let took = start.elapsed();
    assert!(
        out.rejected.is_empty(),
        "{:?}",
        out.rejected.first().map(|r| &r.reason)
    );
    assert_eq!(out.hours.len(), 1);
    (out.hours[0].batch.clone(), took)
}

fn map_len(batch: &arrow_array::RecordBatch, column: &str) -> usize {
    use arrow_array::Array;
    let col = batch.column_by_name(column).unwrap();
    let map = col
        .as_any()
        .downcast_ref::<arrow_array::MapArray>()
        .unwrap();
    map.value_length(0) as usize
}

#[test]
fn a_firewall_line_with_400k_distinct_keys() {
    let mut line = String::from("Mar 19 18:42:38 h kernel: IPTABLES Dropped: IN=eth0");
    for i in 0..400_000 {
        line.push_str(&format!(" K{i}={i}"));
    }
    // And repeats of one key, joined under its first position.
    for i in 0..50_000 {
        line.push_str(&format!(" R={i}"));
    }
    let (batch, took) = parse_one(&line);
    assert_eq!(map_len(&batch, "extra"), 400_001);
    assert!(took < LIMIT, "{took:?}");
}

#[test]
fn a_security_line_with_200k_extra_keys() {
    let mut line = String::from(
        "Mar 19 18:42:38 h [INFO][mws-security-alert][traffic-info] MKS_Category=\"Security Incident\"",
    );
    for i in 0..200_000 {
        line.push_str(&format!(" MKS_Extra{i}=\"v{i}\""));
    }
    let (batch, took) = parse_one(&line);
    assert_eq!(map_len(&batch, "extra"), 200_000);
    assert!(took < LIMIT, "{took:?}");
}

#[test]
fn an_access_event_with_300k_distinct_headers_and_forwarded_addresses() {
    let mut event = String::from(
        "Mar 19 18:42:38 h [INFO][mws-access][t] key:k,PHASE_REQUEST_PRE_PROCESS,127.0.0.1,http://h/\nGET / HTTP/1.1\n",
    );
    for i in 0..300_000 {
        event.push_str(&format!("x-h{i}: {i}\n"));
    }
    event.push_str("x-forwarded-for: ");
    for i in 0..100_000u32 {
        let [a, b, c, d] = i.to_be_bytes();
        event.push_str(&format!("{}.{b}.{c}.{d}, ", a + 10));
    }
    event.push('\n');
    let (batch, took) = parse_one(&event);
    assert_eq!(map_len(&batch, "http_headers"), 300_001);
    assert!(took < LIMIT, "{took:?}");
}

#[test]
fn free_text_with_100k_addresses_and_hashes() {
    let mut line = String::from("Mar 19 18:42:38 h [INFO][mws-ui] ");
    for i in 0..100_000u32 {
        let [_, b, c, d] = i.to_be_bytes();
        line.push_str(&format!("10.{b}.{c}.{d} {i:032x} "));
    }
    let (batch, took) = parse_one(&line);
    assert_eq!(batch.num_rows(), 1);
    assert!(took < LIMIT, "{took:?}");
}
