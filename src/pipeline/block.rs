//! Parsing one block of whole events: its lines grouped into events, each event's header
//! read once, its grammar run, and its row appended to its table, split by event hour.

use super::{BlockOutput, HourRows, ParseContext, RejectedEvent, HOUR_MS, REJECTED_RAW_BYTES};
use crate::columns::{append_event, ColumnSize, RowScratch, Standard, TableBuilder};
use crate::error::Error;
use crate::grammar::common::{clip, fast_header, first_line};
use crate::grammar::{self, is_event_start, Header, SyslogTime};
use crate::logtype::LogType;
use std::borrow::Cow;

/// One builder per table for a block, and the event hour of each row appended.
struct Builders {
    tables: [Option<(TableBuilder, Vec<i64>)>; 6],
}

thread_local! {
    /// The column sizes of the last block this thread parsed, per table: the next block's
    /// builders start that big.
    static SIZES: std::cell::RefCell<[Vec<ColumnSize>; 6]> = Default::default();
}

impl Builders {
    fn get(&mut self, t: LogType, hour: i64) -> &mut TableBuilder {
        let (b, hours) = self.tables[t.index()].get_or_insert_with(|| {
            let b = SIZES.with(|s| TableBuilder::with_sizes(t, &s.borrow()[t.index()]));
            (b, Vec::new())
        });
        hours.push(hour);
        b
    }
}

/// The log type of an event's first line, by its tag (`None`: no header or unknown tag).
/// It decides whether the following lines belong to the event (Access) or not.
pub(super) fn head_log_type(line: &[u8]) -> Option<LogType> {
    let text = utf8(line);
    fast_header(&text).and_then(|h| LogType::classify(h.rest))
}

/// Where an event's first line puts its header fields, as byte offsets into the event's
/// text (the same in the line and in the event, which starts with it).
#[derive(Clone, Copy)]
struct Head {
    time: SyslogTime,
    hostname: (usize, usize),
    rest: usize,
    log_type: Option<LogType>,
}

impl Head {
    fn of(line: &str) -> Option<Head> {
        let h = fast_header(line)?;
        let offset = |s: &str| s.as_ptr() as usize - line.as_ptr() as usize;
        let host = offset(h.hostname);
        Some(Head {
            time: h.time,
            hostname: (host, host + h.hostname.len()),
            rest: offset(h.rest),
            log_type: LogType::classify(h.rest),
        })
    }
}

/// `bytes` as text, invalid UTF-8 replaced by U+FFFD. `str::from_utf8` checks ASCII a word
/// at a time, several times faster than the lossy decoder on the valid text logs are.
fn utf8(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Lines of a block: `(start, end)` byte ranges without the newline.
fn line_ranges(data: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut start = 0;
    let mut ends = memchr::memchr_iter(b'\n', data);
    std::iter::from_fn(move || {
        if start >= data.len() {
            return None;
        }
        let end = ends.next().unwrap_or(data.len());
        let range = (start, end);
        start = end + 1;
        Some(range)
    })
}

fn is_blank(line: &[u8]) -> bool {
    line.is_empty() || line == b"\r"
}

/// Parses one block of whole events.
pub fn parse_block(data: &[u8], offset: u64, ctx: &ParseContext) -> Result<BlockOutput, Error> {
    let mut out = BlockOutput::default();
    let mut builders = Builders {
        tables: Default::default(),
    };
    let mut scratch = RowScratch::default();
    // A block of valid UTF-8 (the usual case) is checked once; its lines are then slices
    // of it (a line ends at a `\n`, always a character boundary).
    let valid = std::str::from_utf8(data).ok();
    let text_of = |start: usize, end: usize| match valid.and_then(|t| t.get(start..end)) {
        Some(t) => Cow::Borrowed(t),
        None => utf8(&data[start..end]),
    };
    let mut lines = line_ranges(data).peekable();
    let mut line_no = 0u64;
    while let Some((start, end)) = lines.next() {
        line_no += 1;
        let first_line_no = line_no;
        let line = &data[start..end];
        if is_blank(line) {
            out.counts.blank_lines += 1;
            continue;
        }
        if !is_event_start(line) {
            out.counts.rejected_lines += 1;
            reject(
                &mut out,
                first_line_no,
                offset + start as u64,
                "line does not start with a timestamp (Mmm dd HH:MM:SS)".into(),
                line,
            );
            continue;
        }
        // An Access event takes the lines up to the next event start.
        let line_text = text_of(start, end);
        let head = Head::of(&line_text);
        let access = head.and_then(|h| h.log_type) == Some(LogType::Access);
        let mut event_end = end;
        let mut event_lines = 1;
        if access {
            while let Some(&(s, e)) = lines.peek() {
                if is_event_start(&data[s..e]) {
                    break;
                }
                lines.next();
                event_end = e;
                event_lines += 1;
            }
        }
        line_no += event_lines - 1;
        let raw = &data[start..event_end];
        let event_offset = offset + start as u64;
        // The event's text: its first line's, unless it has more lines.
        let text = if event_lines == 1 {
            line_text
        } else {
            text_of(start, event_end)
        };
        // Lossy decoding moves offsets: then the header is read again from the event.
        let head = match (&text, head) {
            (Cow::Borrowed(_), h) => h,
            (Cow::Owned(t), _) => Head::of(first_line(t)),
        };
        match event(&text, head, event_offset, ctx, &mut builders, &mut scratch)? {
            Ok(t) => {
                out.counts.first_lines += 1;
                out.counts.continuation_lines += event_lines - 1;
                out.order.push(t.index() as u8);
            }
            Err(reason) => {
                out.counts.rejected_lines += event_lines;
                reject(&mut out, first_line_no, event_offset, reason, raw);
            }
        }
    }
    out.counts.lines = line_no;
    out.counts.rejected_events = out.rejected.len() as u64;
    for (t, slot) in LogType::ALL.into_iter().zip(builders.tables) {
        let Some((mut b, hours)) = slot else {
            continue;
        };
        out.counts.rows[t.index()] += b.len() as u64;
        let (batch, sizes) = b.finish_with_sizes().map_err(|source| Error::Arrow {
            table: t.table(),
            source,
        })?;
        SIZES.with(|s| s.borrow_mut()[t.index()] = sizes);
        // Logs run forward in time, so each hour is one run of rows: zero-copy slices.
        let mut start = 0;
        for run in hours.chunk_by(|a, b| a == b) {
            out.hours.push(HourRows {
                log_type: t,
                hour: run[0],
                batch: batch.slice(start, run.len()),
                offset: start,
            });
            start += run.len();
        }
    }
    // Hour by hour, as the events came (a stable sort keeps a table's runs in order).
    out.hours.sort_by_key(|b| b.hour);
    Ok(out)
}

fn reject(out: &mut BlockOutput, line: u64, byte_offset: u64, reason: String, raw: &[u8]) {
    let raw = &raw[..raw.len().min(REJECTED_RAW_BYTES + 4)];
    let text = String::from_utf8_lossy(raw);
    let text = clip(text.trim_end_matches(['\n', '\r']), REJECTED_RAW_BYTES);
    out.rejected.push(RejectedEvent {
        line,
        byte_offset,
        reason,
        raw: text.to_owned(),
    });
}

/// Parses one event (its text and its first line's header) and appends it to its table,
/// which it gives. The inner `Err` is a rejection reason.
fn event(
    text: &str,
    head: Option<Head>,
    offset: u64,
    ctx: &ParseContext,
    builders: &mut Builders,
    scratch: &mut RowScratch,
) -> Result<Result<LogType, String>, Error> {
    if text.len() > ctx.max_event_bytes {
        return Ok(Err(format!(
            "event longer than {} bytes ({} bytes)",
            ctx.max_event_bytes,
            text.len()
        )));
    }
    let text = text.strip_suffix('\r').unwrap_or(text);
    let Some(head) = head.filter(|h| h.rest <= text.len()) else {
        return Ok(Err(grammar::MALFORMED_START.into()));
    };
    let h = Header {
        time: head.time,
        hostname: &text[head.hostname.0..head.hostname.1],
        rest: &text[head.rest..],
    };
    let Some(t) = head.log_type else {
        return Ok(Err(grammar::unknown_type(h.rest).0));
    };
    if let Some(fixed) = ctx.log_type {
        if fixed != t {
            return Ok(Err(format!(
                "event of type {t}, not {fixed} (--log-type {})",
                fixed.short_name()
            )));
        }
    }
    let Ok(time) = ctx.reference.resolve(h.time) else {
        let ts = &text[..text.len() - h.rest.len() - h.hostname.len() - 1];
        return Ok(Err(format!("impossible date '{}'", ts.trim_end())));
    };
    let ev = match grammar::parse(t, h.rest) {
        Ok(ev) => ev,
        Err(r) => return Ok(Err(format!("{t}: {r}"))),
    };
    let row_id = ctx.row_id.at(offset);
    let std = Standard {
        row_id: std::str::from_utf8(&row_id).unwrap_or_default(),
        event_time: time,
        parse_time: ctx.parse_time,
        source_id: ctx.source_id.as_deref(),
        source_label: ctx.source_label.as_deref(),
        source_object: &ctx.source_object,
    };
    let table = builders.get(t, time.div_euclid(HOUR_MS));
    append_event(table, h.hostname, &ev, &std, scratch);
    Ok(Ok(t))
}
