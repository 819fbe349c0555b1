//! The block parser and the whole pipeline: `jwas::pipeline::parse_block` on the input as
//! one block, and `jwas::pipeline::run` over it with small and default block sizes.
//!
//! Checked: no panic; the line counts add up and count the input's lines (every `\n`, plus
//! a last line without one); rows and rejected events agree with the counts; rejected
//! events point at line starts with the right line numbers; and the output (line counts,
//! rejected events, rows by table and hour) does not depend on the block size.
#![no_main]

use jwas::grammar::header;
use jwas::pipeline::{
    self, BlockOutput, LineCounts, ParseContext, PipelineOptions, RejectedEvent,
    DEFAULT_BLOCK_BYTES, DEFAULT_MAX_EVENT_BYTES, REJECTED_RAW_BYTES,
};
use jwas::standard::{InputIdentity, ReferenceTime, RowId};
use jwas::LogType;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io::{Cursor, Read};

/// The `--reference-time` of the tests, 2024-03-21T00:00:00Z, in seconds.
const REFERENCE_SECS: i64 = 1_710_979_200;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // Run settings come from a hash of the input, so that seeds stay plain log text.
    let h = fnv1a(data);
    let small_block = 64 + (h % 4033) as usize;
    let log_type = match (h >> 16) % 12 {
        n @ 0..=5 => Some(LogType::ALL[n as usize]),
        _ => None,
    };
    let small_event = 16 + ((h >> 32) % 1024) as usize;
    // Reads of at most this many bytes, some of them interrupted, as from a network stream.
    let read_bytes = 64 + ((h >> 42) % 1985) as usize;

    let input = Input::new(data);
    let ctx = context(data, log_type, DEFAULT_MAX_EVENT_BYTES);
    let one = summarize(&input, parse_block(data, &ctx));
    let default = summarize(&input, run(Cursor::new(data), &ctx, DEFAULT_BLOCK_BYTES));
    let small = summarize(
        &input,
        run(Trickle::new(data, read_bytes), &ctx, small_block),
    );
    same(
        &one,
        &default,
        "parse_block vs run with the default block size",
    );
    same(
        &small,
        &default,
        &format!("block size {small_block} vs the default block size"),
    );

    // Events longer than a small limit: rejected whole, whether by the block parser or
    // skipped by the framer (short reads make the framer skip them even in small inputs).
    // The line accounting must not depend on the block size.
    let ctx = context(data, log_type, small_event);
    let one = summarize(&input, parse_block(data, &ctx));
    let tiny = summarize(&input, run(Trickle::new(data, read_bytes), &ctx, 64));
    if !(skip_known() && known_issue_long_access_head(&input, 64 + small_event)) {
        assert_eq!(
            one.counts, tiny.counts,
            "max event {small_event}: parse_block vs run with 64-byte blocks"
        );
    }
});

/// Whether to skip the comparison that the known limitation fails (`JWAS_FUZZ_SKIP_KNOWN=1`),
/// so that fuzzing can look for other failures.
fn skip_known() -> bool {
    static SKIP: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SKIP.get_or_init(|| std::env::var_os("JWAS_FUZZ_SKIP_KNOWN").is_some_and(|v| v == "1"))
}

/// Known issue: when an over-long Access event's tags lie beyond the first `limit` bytes of
/// its first line, the framer skips only that line, and each following line becomes a
/// rejected event of its own.
fn known_issue_long_access_head(input: &Input<'_>, limit: usize) -> bool {
    let access = |line: &[u8]| {
        let text = String::from_utf8_lossy(line);
        header(&text).and_then(|h| LogType::classify(h.rest)) == Some(LogType::Access)
    };
    input
        .lines()
        .any(|line| line.len() > limit && access(line) && !access(&line[..limit]))
}

fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn context(data: &[u8], log_type: Option<LogType>, max_event_bytes: usize) -> ParseContext {
    let reference = chrono::DateTime::from_timestamp(REFERENCE_SECS, 0).expect("valid time");
    ParseContext {
        reference: ReferenceTime::new(reference),
        row_id: RowId::new(&InputIdentity {
            uri: "fuzz.log".into(),
            size: Some(data.len() as u64),
            version: None,
        }),
        log_type,
        parse_time: REFERENCE_SECS * 1000,
        source_id: Some("fuzz".into()),
        source_label: None,
        source_object: "fuzz.log".into(),
        max_event_bytes,
    }
}

/// What a run produced: rows are grouped by table and hour (a block groups its rows so,
/// and keeps input order within a group).
#[derive(Debug, PartialEq)]
struct Summary<B> {
    counts: LineCounts,
    rejected: Vec<RejectedEvent>,
    rows: BTreeMap<(LogType, i64), Vec<B>>,
}

/// Asserts that two runs gave the same output, showing the first difference.
fn same<B: Debug + PartialEq>(a: &Summary<B>, b: &Summary<B>, what: &str) {
    assert_eq!(a.counts, b.counts, "{what}: line counts");
    for (x, y) in a.rejected.iter().zip(&b.rejected) {
        assert_eq!(x, y, "{what}: rejected events");
    }
    assert_eq!(
        a.rejected.len(),
        b.rejected.len(),
        "{what}: rejected events"
    );
    let keys = |s: &Summary<B>| s.rows.keys().copied().collect::<Vec<_>>();
    assert_eq!(keys(a), keys(b), "{what}: tables and hours");
    for (key, rows) in &a.rows {
        assert_eq!(rows.len(), b.rows[key].len(), "{what}: rows of {key:?}");
        for (i, (x, y)) in rows.iter().zip(&b.rows[key]).enumerate() {
            assert_eq!(x, y, "{what}: row {i} of {key:?}");
        }
    }
}

/// `parse_block` on the whole input as one block.
fn parse_block(data: &[u8], ctx: &ParseContext) -> (LineCounts, Vec<BlockOutput>) {
    let out = pipeline::parse_block(data, 0, ctx).expect("parse_block");
    (out.counts, vec![out])
}

/// `run` over the input with one parser thread.
fn run(
    input: impl Read + Send,
    ctx: &ParseContext,
    block_bytes: usize,
) -> (LineCounts, Vec<BlockOutput>) {
    let mut outs = Vec::new();
    let opts = PipelineOptions {
        threads: 1,
        block_bytes,
        inline: false,
    };
    let counts = pipeline::run(input, ctx, opts, "fuzz.log", |out| {
        outs.push(out);
        Ok(())
    })
    .expect("reading from memory does not fail");
    (counts, outs)
}

/// A reader that returns at most `max` bytes per read, and fails every fifth read with
/// `Interrupted` (which the framer must retry).
struct Trickle<'a> {
    data: &'a [u8],
    max: usize,
    reads: usize,
}

impl<'a> Trickle<'a> {
    fn new(data: &'a [u8], max: usize) -> Trickle<'a> {
        Trickle {
            data,
            max,
            reads: 0,
        }
    }
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.reads += 1;
        if self.reads.is_multiple_of(5) {
            return Err(std::io::ErrorKind::Interrupted.into());
        }
        let n = buf.len().min(self.max).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// The input and where its lines start.
struct Input<'a> {
    data: &'a [u8],
    /// Byte offsets of the lines' starts.
    line_starts: Vec<usize>,
    /// Every `\n`, plus one for a last line without one.
    lines: u64,
}

impl<'a> Input<'a> {
    fn lines(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        let data = self.data;
        self.line_starts.iter().map(move |&start| {
            let end = data[start..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(data.len(), |n| start + n);
            &data[start..end]
        })
    }

    fn new(data: &'a [u8]) -> Input<'a> {
        let newlines: Vec<usize> = (0..data.len()).filter(|&i| data[i] == b'\n').collect();
        let last_unterminated = data.last().is_some_and(|&b| b != b'\n');
        let line_starts = std::iter::once(0)
            .chain(newlines.iter().map(|&i| i + 1))
            .filter(|&i| i < data.len())
            .collect();
        Input {
            data,
            line_starts,
            lines: (newlines.len() + usize::from(last_unterminated)) as u64,
        }
    }
}

/// Checks what the pipeline promises about one run's output, and sums it up.
fn summarize(
    input: &Input<'_>,
    (counts, outs): (LineCounts, Vec<BlockOutput>),
) -> Summary<impl Debug + PartialEq> {
    assert!(counts.adds_up(), "line counts do not add up: {counts:?}");
    assert_eq!(counts.lines, input.lines, "input lines: {counts:?}");

    let mut sum = LineCounts::default();
    let mut rejected = Vec::new();
    let mut rows = BTreeMap::<_, Vec<_>>::new();
    let mut table_rows = [0u64; 6];
    for out in outs {
        assert!(out.counts.adds_up(), "block counts: {:?}", out.counts);
        assert_eq!(out.counts.rejected_events, out.rejected.len() as u64);
        sum.add(&out.counts);
        rejected.extend(out.rejected);
        for b in out.hours {
            assert!(b.batch.num_rows() > 0, "empty batch");
            table_rows[b.log_type.index()] += b.batch.num_rows() as u64;
            let group = rows.entry((b.log_type, b.hour)).or_default();
            group.extend((0..b.batch.num_rows()).map(|i| b.batch.slice(i, 1)));
        }
    }
    assert_eq!(sum, counts, "block counts do not sum to the run's counts");
    assert_eq!(table_rows, counts.rows, "rows per table");
    assert_eq!(counts.rows.iter().sum::<u64>(), counts.first_lines);
    assert_eq!(counts.rejected_events, rejected.len() as u64);
    assert!(counts.rejected_events <= counts.rejected_lines);

    let mut last: Option<&RejectedEvent> = None;
    for r in &rejected {
        let offset = r.byte_offset as usize;
        assert!(offset < input.data.len(), "offset past the end: {r:?}");
        let Ok(i) = input.line_starts.binary_search(&offset) else {
            panic!("rejected event not at a line start: {r:?}");
        };
        assert_eq!(r.line, i as u64 + 1, "line number of {r:?}");
        assert!(!r.reason.is_empty());
        assert!(r.raw.len() <= REJECTED_RAW_BYTES);
        if let Some(prev) = last {
            assert!(prev.line < r.line && prev.byte_offset < r.byte_offset);
        }
        last = Some(r);
    }
    Summary {
        counts,
        rejected,
        rows,
    }
}
