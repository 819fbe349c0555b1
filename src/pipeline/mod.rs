//! From bytes to record batches: cutting input into blocks at event boundaries, parsing
//! blocks in parallel (rayon), and handing each block's batches, rejected events and line
//! counts to the sink in input order.
//!
//! Events: a line that starts with a timestamp begins an event. When that event is an
//! Access event, the lines that follow it up to the next timestamped line (blank ones too)
//! are its continuation lines. Any other line without a timestamp is a rejected event by
//! itself, and a blank line outside an Access event is just counted.
//!
//! Submodules: `framing` cuts the input into blocks; `block` parses a block into batches.

mod block;
mod framing;

pub use block::parse_block;
use framing::{Chunk, Framer};

use crate::error::Error;
use crate::grammar::common::clip;
use crate::logtype::LogType;
use crate::standard::{InputIdentity, ReferenceTime, RowId};
use arrow_array::RecordBatch;
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
    pub fn rows_in_order(&self) -> impl Iterator<Item = (&HourRows, usize)> + '_ {
        // Each table's hour batches, by where they start in the table's rows.
        let mut by_table: [Vec<&HourRows>; 6] = Default::default();
        for b in &self.hours {
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
pub struct HourRows {
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
    /// The rows, by table and hour.
    pub hours: Vec<HourRows>,
    /// The table of each row written, in input order ([`LogType::index`]): with
    /// [`HourRows::offset`], the rows of all tables in the order of the input.
    pub order: Vec<u8>,
    /// Rejected events, in input order.
    pub rejected: Vec<RejectedEvent>,
    /// Line accounting.
    pub counts: LineCounts,
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
