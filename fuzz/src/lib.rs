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
    match t {
        LogType::Access => grammar::access::parse(rest).map(Event::Access),
        LogType::Audit => grammar::audit::parse(rest).map(Event::Audit),
        LogType::Firewall => grammar::firewall::parse(rest).map(Event::Firewall),
        LogType::Mws => grammar::mws::parse(rest).map(Event::Mws),
        LogType::Postgres => grammar::postgres::parse(rest).map(Event::Postgres),
        LogType::Security => grammar::security::parse(rest).map(Event::Security),
    }
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
