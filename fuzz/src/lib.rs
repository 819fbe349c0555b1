//! Code shared by the fuzz targets in `fuzz_targets/`.

use jwas::columns::{append_event, Event, RowScratch, Standard, TableBuilder};
use jwas::grammar::{self, header, is_event_start, Reject};
use jwas::LogType;
use std::borrow::Cow;

/// The header put before an input to make a whole line of it.
pub const HEADER: &str = "Mar 19 18:42:38 fuzz-host ";

/// `p_event_time` and `p_parse_time` of the rows built here (2024-03-19T18:42:38Z).
const EVENT_TIME_MS: i64 = 1_710_873_758_000;

/// The texts a grammar target tries for `data`: its lossy UTF-8 conversion and, when the
/// bytes are not valid UTF-8, also their valid prefix (which has no U+FFFD in it).
pub fn texts(data: &[u8]) -> Vec<Cow<'_, str>> {
    match std::str::from_utf8(data) {
        Ok(s) => vec![Cow::Borrowed(s)],
        Err(e) => {
            let valid = std::str::from_utf8(&data[..e.valid_up_to()]).expect("valid prefix");
            vec![String::from_utf8_lossy(data), Cow::Borrowed(valid)]
        }
    }
}

/// Parses `rest` (the text after `<timestamp> <hostname> `) with the grammar of `t`.
pub fn parse(t: LogType, rest: &str) -> Result<Event<'_>, Reject> {
    grammar::parse(t, rest)
}

/// Parses `rest` with the grammar of `t`; a parsed event is also appended as a row of its
/// table, which must then build a valid one-row record batch.
pub fn parse_and_append<'a>(t: LogType, hostname: &str, rest: &'a str) -> Option<Event<'a>> {
    match parse(t, rest) {
        Ok(ev) => {
            assert_eq!(ev.log_type(), t);
            let mut table = TableBuilder::new(t);
            let std = Standard {
                row_id: "0123456789abcdef0123456789abcdef",
                event_time: EVENT_TIME_MS,
                parse_time: EVENT_TIME_MS,
                source_id: Some("fuzz"),
                source_label: None,
                source_object: "fuzz.log",
            };
            append_event(&mut table, hostname, &ev, &std, &mut RowScratch::default());
            assert_eq!(table.len(), 1);
            let batch = table
                .finish()
                .unwrap_or_else(|e| panic!("{t}: a parsed event made an invalid row: {e}"));
            assert_eq!(batch.num_rows(), 1);
            assert!(table.is_empty());
            Some(ev)
        }
        Err(reason) => {
            assert!(!reason.to_string().is_empty(), "{t}: empty reject reason");
            None
        }
    }
}

/// The body of a grammar target: every text of `data` as the text after the hostname, as
/// a whole line behind [`HEADER`], and as a line that may carry its own header.
pub fn grammar_target(t: LogType, data: &[u8]) {
    for text in texts(data) {
        check_text(t, &text);
    }
}

/// See [`grammar_target`].
pub fn check_text(t: LogType, text: &str) {
    // As the text after `<timestamp> <hostname> `.
    parse_and_append(t, "fuzz-host", text);

    // Behind a header: the header must give back exactly this text as `rest`, and the event
    // is parsed by the grammar that its tag picks.
    let line = format!("{HEADER}{text}");
    let h = header(&line).expect("HEADER followed by any text is a header");
    assert_eq!(h.hostname, "fuzz-host");
    assert_eq!(h.rest, text);
    assert_eq!(
        (
            h.time.month,
            h.time.day,
            h.time.hour,
            h.time.minute,
            h.time.second
        ),
        (3, 19, 18, 42, 38)
    );
    assert!(is_event_start(line.as_bytes()));
    if let Some(c) = LogType::classify(h.rest) {
        if c != t {
            parse_and_append(c, h.hostname, h.rest);
        }
    }

    // As a line that may start with its own header.
    let _ = is_event_start(text.as_bytes());
    if let Some(h) = header(text) {
        assert!(text.ends_with(h.rest), "rest is not the end of the text");
        assert!(!h.hostname.is_empty() && !h.hostname.contains([' ', '\n']));
        assert!((1..=12).contains(&h.time.month));
        parse_and_append(t, h.hostname, h.rest);
        if let Some(c) = LogType::classify(h.rest) {
            if c != t {
                parse_and_append(c, h.hostname, h.rest);
            }
        }
    }
}

/// The line starts of each type's events, up to where repeated fields begin.
const STARTS: [&str; 6] = [
    "[INFO][mws-access][t] key:k,PHASE_REQUEST_PRE_PROCESS,127.0.0.1,http://h/\nGET / HTTP/1.1\n",
    "[mws-audit][INFO] [user] [10.0.0.1] ",
    "kernel: [ 1.0] IPTABLES Dropped: ",
    "[INFO][mws-ui][c] ",
    "postgres[1]: [1-1] 00000 5.1 LOG: ",
    "[INFO][mws-security-alert][traffic-info] ",
];

/// The body of the `linear` target: catches per-event work that is not linear in the
/// event's size (a map builder that rescanned its keys took 32 s on one 1.4 MB line). The
/// input is a fragment (a key, a header line, a word); the first byte picks the log type.
/// The event is the type's line start followed by the fragment repeated until about 1 MiB,
/// each `#` in it replaced by a counter when the second byte is even (distinct keys) and
/// removed when it is odd (the same key again). Run with `-timeout=20`: linear code parses
/// such an event in a fraction of a second, even in a fuzzing build; quadratic code takes
/// minutes.
pub fn linear_target(data: &[u8]) {
    let (Some(&kind), Some(&vary)) = (data.first(), data.get(1)) else {
        return;
    };
    let t = LogType::ALL[usize::from(kind) % 6];
    let mut fragment = String::from_utf8_lossy(&data[2..]).into_owned();
    // Access events take the HTTP lines that follow; other types stay one line.
    if t != LogType::Access {
        fragment.retain(|c| c != '\n');
    }
    if fragment.is_empty() {
        return;
    }
    let mut event = format!("{HEADER}{}", STARTS[t.index()]);
    let mut i = 0u64;
    while event.len() < 1 << 20 {
        if vary % 2 == 0 {
            event.push_str(&fragment.replace('#', &i.to_string()));
        } else {
            event.push_str(&fragment.replace('#', ""));
        }
        i += 1;
    }
    let reference = chrono::DateTime::from_timestamp(1_711_000_000, 0).unwrap_or_default();
    let ctx = jwas::pipeline::ParseContext::new("linear", reference);
    let out = jwas::pipeline::parse_block(event.as_bytes(), 0, &ctx).expect("parse_block");
    assert!(out.counts.adds_up());
}
