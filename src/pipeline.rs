//! From bytes to record batches: cutting input into blocks at event boundaries, parsing
//! blocks in parallel (rayon), and handing each block's batches, rejected events and line
//! counts to the sink in input order.
//!
//! Events: a line that starts with a timestamp begins an event. When that event is an
//! Access event, the lines that follow it up to the next timestamped line (blank ones too)
//! are its continuation lines. Any other line without a timestamp is a rejected event by
//! itself, and a blank line outside an Access event is just counted.

use crate::columns::{append_event, ColumnSize, RowScratch, Standard, TableBuilder};
use crate::error::Error;
use crate::grammar::common::{clip, fast_header, first_line};
use crate::grammar::{self, is_event_start, Header, SyslogTime};
use crate::logtype::LogType;
use crate::standard::{InputIdentity, ReferenceTime, RowId};
use arrow_array::RecordBatch;
use std::borrow::Cow;
use std::io::Read;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

/// Default target size of a block handed to one parser thread.
pub const DEFAULT_BLOCK_BYTES: usize = 4 << 20;
/// Default limit on one event's size; longer events are rejected.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 8 << 20;
/// How much of an over-long event's text a rejected record keeps.
pub const REJECTED_RAW_BYTES: usize = 64 << 10;
const HOUR_MS: i64 = 3_600_000;

/// What is known about an input while parsing it.
#[derive(Clone, Debug)]
pub struct ParseContext {
    /// Year inference.
    pub reference: ReferenceTime,
    /// Row ids for this input.
    pub row_id: RowId,
    /// `Some` when `--log-type` fixes the type: events of other types are rejected.
    pub log_type: Option<LogType>,
    /// `p_parse_time`, ms since the epoch.
    pub parse_time: i64,
    /// `p_source_id`.
    pub source_id: Option<String>,
    /// `p_source_label`.
    pub source_label: Option<String>,
    /// `p_source_object`.
    pub source_object: String,
    /// Events longer than this are rejected.
    pub max_event_bytes: usize,
}

impl ParseContext {
    /// A context for text named `source_object` (also its identity for row ids), any log
    /// type, default limits, and `p_parse_time` equal to `reference` (deterministic; set
    /// `parse_time` for another).
    pub fn new(source_object: &str, reference: chrono::DateTime<chrono::Utc>) -> ParseContext {
        ParseContext {
            reference: ReferenceTime::new(reference),
            row_id: RowId::new(&InputIdentity {
                uri: source_object.to_owned(),
                size: None,
                version: None,
            }),
            log_type: None,
            parse_time: reference.timestamp_millis(),
            source_id: None,
            source_label: None,
            source_object: source_object.to_owned(),
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
        }
    }
}

/// An event that was not written, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectedEvent {
    /// 1-based line number of the event's first line.
    pub line: u64,
    /// Byte offset of the event in the input.
    pub byte_offset: u64,
    /// Why it was rejected.
    pub reason: String,
    /// The event's text, without the final newline (at most 64 KiB).
    pub raw: String,
}

/// Where every input line went. `lines == first_lines + continuation_lines + blank_lines
/// + rejected_lines` always holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineCounts {
    /// Input lines.
    pub lines: u64,
    /// First lines of written events (= rows written).
    pub first_lines: u64,
    /// Lines after the first of written (Access) events.
    pub continuation_lines: u64,
    /// Blank lines outside events.
    pub blank_lines: u64,
    /// Lines of rejected events.
    pub rejected_lines: u64,
    /// Rejected events.
    pub rejected_events: u64,
    /// Rows per table, in [`LogType::ALL`] order.
    pub rows: [u64; 6],
}

impl BlockOutput {
    /// Every row of the block in input order, as (hour batch, row in it): tables
    /// interleaved as the events came, whatever their hours.
    pub fn rows_in_order(&self) -> impl Iterator<Item = (&HourBatch, usize)> + '_ {
        // Each table's hour batches, by where they start in the table's rows.
        let mut by_table: [Vec<&HourBatch>; 6] = Default::default();
        for b in &self.batches {
            by_table[b.log_type.index()].push(b);
        }
        for v in &mut by_table {
            v.sort_by_key(|b| b.offset);
        }
        let mut cursor = [(0usize, 0usize); 6]; // (batch, row) per table
        self.order.iter().filter_map(move |&t| {
            let t = usize::from(t);
            let (bi, row) = cursor[t];
            let batch = *by_table[t].get(bi)?;
            cursor[t] = if row + 1 < batch.batch.num_rows() {
                (bi, row + 1)
            } else {
                (bi + 1, 0)
            };
            Some((batch, row))
        })
    }
}

impl LineCounts {
    /// Adds another count to this one.
    pub fn add(&mut self, o: &LineCounts) {
        self.lines += o.lines;
        self.first_lines += o.first_lines;
        self.continuation_lines += o.continuation_lines;
        self.blank_lines += o.blank_lines;
        self.rejected_lines += o.rejected_lines;
        self.rejected_events += o.rejected_events;
        for (a, b) in self.rows.iter_mut().zip(o.rows) {
            *a += b;
        }
    }

    /// Whether the counts account for every line.
    pub fn adds_up(&self) -> bool {
        self.lines
            == self.first_lines + self.continuation_lines + self.blank_lines + self.rejected_lines
    }
}

/// The rows of one table and event hour from one block.
#[derive(Debug)]
pub struct HourBatch {
    /// The table.
    pub log_type: LogType,
    /// Hours since the epoch of the rows' `p_event_time`.
    pub hour: i64,
    /// The rows, in input order.
    pub batch: RecordBatch,
    /// Where the first row is among the block's rows of this table.
    pub offset: usize,
}

/// What parsing one block produced. Line numbers in `rejected` are already absolute.
#[derive(Debug, Default)]
pub struct BlockOutput {
    /// Batches by table and hour.
    pub batches: Vec<HourBatch>,
    /// The table of each row written, in input order ([`LogType::index`]): with
    /// [`HourBatch::offset`], the rows of all tables in the order of the input.
    pub order: Vec<u8>,
    /// Rejected events, in input order.
    pub rejected: Vec<RejectedEvent>,
    /// Line accounting.
    pub counts: LineCounts,
}

/// A piece of input: a block of whole events, or an over-long event already skipped.
#[derive(Debug)]
enum Chunk {
    Block {
        offset: u64,
        data: Vec<u8>,
    },
    TooLong {
        offset: u64,
        lines: u64,
        bytes: u64,
        raw: Vec<u8>,
    },
}

/// Cuts a byte stream into [`Chunk`]s at event boundaries.
struct Framer<R> {
    input: R,
    buf: Vec<u8>,
    offset: u64,
    eof: bool,
    block_bytes: usize,
    max_event_bytes: usize,
}

impl<R: Read> Framer<R> {
    /// Reads until `buf` holds at least `want` bytes or the input ends (into the buffer's
    /// spare capacity: no zero-filling of memory that is read over anyway).
    fn fill(&mut self, want: usize) -> std::io::Result<()> {
        while !self.eof && self.buf.len() < want {
            let step = (want - self.buf.len()).max(64 << 10);
            self.buf.reserve(step);
            let n = (&mut self.input)
                .take(step as u64)
                .read_to_end(&mut self.buf)?;
            if n == 0 {
                self.eof = true;
            }
        }
        Ok(())
    }

    /// Whether `p` starts an event: a line start followed by a timestamp, judged on that
    /// line alone, as [`parse_block`] does. Needs 16 bytes after `p` (or the end of the
    /// input) to tell.
    fn starts_event(&self, p: usize) -> bool {
        if p == 0 || self.buf[p - 1] != b'\n' {
            return false;
        }
        let head = &self.buf[p..(p + 16).min(self.buf.len())];
        let line = memchr::memchr(b'\n', head).map_or(head, |n| &head[..n]);
        is_event_start(line)
    }

    fn take(&mut self, n: usize) -> Chunk {
        let rest = self.buf.split_off(n);
        let data = std::mem::replace(&mut self.buf, rest);
        let offset = self.offset;
        self.offset += n as u64;
        Chunk::Block { offset, data }
    }

    fn next_chunk(&mut self) -> std::io::Result<Option<Chunk>> {
        let limit = self.block_bytes + self.max_event_bytes;
        self.fill(self.block_bytes + 16)?;
        if self.buf.is_empty() {
            return Ok(None);
        }
        if self.eof && self.buf.len() <= self.block_bytes + 16 {
            let n = self.buf.len();
            return Ok(Some(self.take(n)));
        }
        // The last event start at or before the target size...
        let target = self.block_bytes.min(self.buf.len().saturating_sub(16));
        let back = memchr::memrchr_iter(b'\n', &self.buf[..target])
            .map(|n| n + 1)
            .find(|&p| self.starts_event(p));
        if let Some(p) = back {
            return Ok(Some(self.take(p)));
        }
        // ...else the first one after it, reading on up to the event size limit.
        let mut from = 0;
        loop {
            let scan_end = self.buf.len().saturating_sub(16).max(from);
            let found = memchr::memchr_iter(b'\n', &self.buf[from..scan_end])
                .map(|n| from + n + 1)
                .find(|&p| self.starts_event(p));
            if let Some(p) = found {
                return Ok(Some(self.take(p)));
            }
            if self.eof {
                let n = self.buf.len();
                return Ok(Some(self.take(n)));
            }
            if self.buf.len() >= limit {
                break;
            }
            from = scan_end;
            self.fill(self.buf.len() + self.block_bytes)?;
        }
        // No event starts within the limit. Lines that belong to no Access event can be
        // cut anywhere at a line end; an Access event or a single line this long is skipped.
        if !self.starts_access_event() {
            if let Some(n) = memchr::memrchr(b'\n', &self.buf) {
                return Ok(Some(self.take(n + 1)));
            }
        }
        self.skip_too_long()
    }

    fn starts_access_event(&self) -> bool {
        let line_end = memchr::memchr(b'\n', &self.buf).unwrap_or(self.buf.len());
        head_log_type(&self.buf[..line_end]) == Some(LogType::Access)
    }

    /// Skips the event at the start of the buffer, which is longer than the limit: up to the
    /// next event start for an Access event, else to the end of the line.
    fn skip_too_long(&mut self) -> std::io::Result<Option<Chunk>> {
        let access = self.starts_access_event();
        let offset = self.offset;
        let raw = self.buf[..REJECTED_RAW_BYTES.min(self.buf.len())].to_vec();
        let (mut lines, mut bytes, mut newline_at_end) = (0u64, 0u64, false);
        loop {
            let scan_end = if self.eof {
                self.buf.len()
            } else {
                self.buf.len().saturating_sub(16)
            };
            let end = if access {
                memchr::memchr_iter(b'\n', &self.buf[..scan_end])
                    .map(|n| n + 1)
                    .find(|&p| self.starts_event(p))
            } else {
                memchr::memchr(b'\n', &self.buf[..scan_end]).map(|n| n + 1)
            };
            let cut = end.unwrap_or(scan_end);
            lines += memchr::memchr_iter(b'\n', &self.buf[..cut]).count() as u64;
            bytes += cut as u64;
            if cut > 0 {
                newline_at_end = self.buf[cut - 1] == b'\n';
            }
            self.buf.drain(..cut);
            self.offset += cut as u64;
            if end.is_some() || (self.eof && self.buf.is_empty()) {
                if !newline_at_end {
                    lines += 1; // the input's last line, without a newline
                }
                return Ok(Some(Chunk::TooLong {
                    offset,
                    lines,
                    bytes,
                    raw,
                }));
            }
            self.fill(self.buf.len() + self.block_bytes)?;
        }
    }
}

/// Options of a parsing run that are not about the input.
#[derive(Clone, Copy, Debug)]
pub struct PipelineOptions {
    /// Parser threads.
    pub threads: usize,
    /// Target block size.
    pub block_bytes: usize,
    /// Parse on the calling thread, block after block, without a reading thread or a
    /// thread pool (`threads` is then ignored): for small inputs parsed side by side, one
    /// per thread, where handing a block from thread to thread left cores idle.
    pub inline: bool,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            block_bytes: DEFAULT_BLOCK_BYTES,
            inline: false,
        }
    }
}

/// Parses `input` with `ctx`, calling `sink` with each block's output in input order.
/// At most a fixed number of blocks are in flight, so memory does not grow with the input.
pub fn run<R, F>(
    input: R,
    ctx: &ParseContext,
    opts: PipelineOptions,
    input_name: &str,
    mut sink: F,
) -> Result<LineCounts, Error>
where
    R: Read + Send,
    F: FnMut(BlockOutput) -> Result<(), Error>,
{
    let mut framer = Framer {
        input,
        buf: Vec::new(),
        offset: 0,
        eof: false,
        block_bytes: opts.block_bytes.max(64),
        max_event_bytes: ctx.max_event_bytes.max(16),
    };
    let mut total = LineCounts::default();
    if opts.inline {
        while let Some(chunk) = next_chunk(&mut framer, input_name)? {
            let mut out = parse_chunk(chunk, ctx)?;
            absolute_lines(&mut out, &mut total);
            sink(out)?;
        }
        return Ok(total);
    }
    let threads = opts.threads.max(1);
    let in_flight = threads * 2 + 1;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("jwas-parse-{i}"))
        .build()
        .map_err(|e| Error::Worker(e.to_string()))?;
    let ctx = Arc::new(ctx.clone());
    let (token_tx, token_rx) = sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        let _ = token_tx.send(());
    }
    let (result_tx, result_rx) = sync_channel::<(u64, Result<BlockOutput, Error>)>(in_flight);
    std::thread::scope(|scope| -> Result<(), Error> {
        let (framer, pool, ctx) = (&mut framer, &pool, &ctx);
        let reader =
            scope.spawn(move || read_blocks(framer, pool, ctx, &token_rx, result_tx, input_name));
        let mut pending = std::collections::BTreeMap::new();
        let mut next = 0u64;
        let mut failure = None;
        for (seq, out) in result_rx.iter() {
            pending.insert(seq, out);
            while let Some(out) = pending.remove(&next) {
                next += 1;
                let step = out.and_then(|mut out| {
                    absolute_lines(&mut out, &mut total);
                    sink(out)
                });
                if let Err(e) = step {
                    failure.get_or_insert(e);
                }
                let _ = token_tx.send(());
            }
            if failure.is_some() {
                break;
            }
        }
        drop(result_rx);
        drop(token_tx);
        let read = reader
            .join()
            .map_err(|_| Error::Worker("the reader thread panicked".into()))?;
        match failure {
            Some(e) => Err(e),
            None => read,
        }
    })?;
    Ok(total)
}

/// Rejected line numbers are block-relative until the block's place is known.
fn absolute_lines(out: &mut BlockOutput, total: &mut LineCounts) {
    for r in &mut out.rejected {
        r.line += total.lines;
    }
    total.add(&out.counts);
}

fn read_blocks<R: Read>(
    framer: &mut Framer<R>,
    pool: &rayon::ThreadPool,
    ctx: &Arc<ParseContext>,
    tokens: &Receiver<()>,
    results: SyncSender<(u64, Result<BlockOutput, Error>)>,
    input_name: &str,
) -> Result<(), Error> {
    let mut seq = 0;
    loop {
        if tokens.recv().is_err() {
            return Ok(()); // the consumer stopped
        }
        let Some(chunk) = next_chunk(framer, input_name)? else {
            return Ok(());
        };
        let (ctx, results) = (Arc::clone(ctx), results.clone());
        let s = seq;
        pool.spawn(move || {
            let _ = results.send((s, parse_chunk(chunk, &ctx)));
        });
        seq += 1;
    }
}

fn next_chunk<R: Read>(framer: &mut Framer<R>, input_name: &str) -> Result<Option<Chunk>, Error> {
    framer.next_chunk().map_err(|source| Error::Read {
        input: input_name.to_owned(),
        source,
    })
}

fn parse_chunk(chunk: Chunk, ctx: &ParseContext) -> Result<BlockOutput, Error> {
    match chunk {
        Chunk::Block { offset, data } => parse_block(&data, offset, ctx),
        Chunk::TooLong {
            offset,
            lines,
            bytes,
            raw,
        } => Ok(too_long(offset, lines, bytes, &raw, ctx)),
    }
}

fn too_long(offset: u64, lines: u64, bytes: u64, raw: &[u8], ctx: &ParseContext) -> BlockOutput {
    let mut out = BlockOutput::default();
    let raw = String::from_utf8_lossy(raw);
    let raw = clip(raw.trim_end_matches(['\n', '\r']), REJECTED_RAW_BYTES);
    out.rejected.push(RejectedEvent {
        line: 1,
        byte_offset: offset,
        reason: format!(
            "event longer than {} bytes ({bytes} bytes)",
            ctx.max_event_bytes
        ),
        raw: raw.to_owned(),
    });
    out.counts = LineCounts {
        lines,
        rejected_lines: lines,
        rejected_events: 1,
        ..Default::default()
    };
    out
}

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
fn head_log_type(line: &[u8]) -> Option<LogType> {
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
            out.batches.push(HourBatch {
                log_type: t,
                hour: run[0],
                batch: batch.slice(start, run.len()),
                offset: start,
            });
            start += run.len();
        }
    }
    // Hour by hour, as the events came (a stable sort keeps a table's runs in order).
    out.batches.sort_by_key(|b| b.hour);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ParseContext {
        let reference = chrono::DateTime::from_timestamp(1_711_000_000, 0).unwrap_or_default();
        ParseContext::new("test", reference)
    }

    fn counts(data: &[u8], block_bytes: usize) -> (LineCounts, usize) {
        let mut rejected = 0;
        let opts = PipelineOptions {
            threads: 1,
            block_bytes,
            inline: false,
        };
        let c = run(data, &ctx(), opts, "test", |out| {
            rejected += out.rejected.len();
            Ok(())
        });
        (c.unwrap_or_default(), rejected)
    }

    /// Found by the `block` fuzz target: a 15-byte line `Mmm d HH:MM:SS ` is no event start
    /// (too short), and the framer must not cut a block before it either.
    #[test]
    fn block_size_does_not_change_a_short_timestamp_line() {
        let mut data = b"Mar 19 21:11:47 webappsecure [INFO][mws-access][se-request-6] key:k,PHASE_REQUEST_PRE_PROCESS,127.0.0.1,http://h/\nMar 4 16:18:00 \n".to_vec();
        for _ in 0..45 {
            data.extend_from_slice(&[b'x'; 99]);
            data.push(b'\n');
        }
        let whole = counts(&data, DEFAULT_BLOCK_BYTES);
        assert_eq!(whole.0.lines, 47);
        for block in [64, 135, 500, 1000] {
            assert_eq!(counts(&data, block), whole, "block size {block}");
        }
    }
}
