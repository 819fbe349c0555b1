//! One column chunk: a leaf column's values in a row group, as Parquet pages (levels, PLAIN
//! or dictionary-encoded values, compression) with the chunk's statistics.
//!
//! Strings start dictionary-encoded. A column whose values turn out to be mostly distinct
//! (row ids, URLs, messages) gives the dictionary up after a few hundred values and is
//! written PLAIN from the start; one that keeps few distinct values (host names, levels,
//! phases, the `p_source_*` columns) keeps it, up to [`MAX_DICT_ENTRIES`] entries or
//! [`MAX_DICT_BYTES`], after which later pages are PLAIN. A dictionary is cheap to try (a
//! hash per value), halves the bytes zstd has to compress on a busy day, and makes
//! files smaller.

use super::rle::{bit_width, RleEncoder};
use super::thrift;
use super::{Codec, Leaf, Physical, Shape};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int16Type, Int32Type, Int64Type, TimestampMillisecondType};
use arrow_array::{Array, ArrayRef, MapArray, StringArray};
use std::io;
use xxhash_rust::xxh3::xxh3_64;

/// Uncompressed bytes of values in a data page before the next page starts.
pub const PAGE_BYTES: usize = 1 << 20;
/// A dictionary holds at most this many values...
pub const MAX_DICT_ENTRIES: usize = 1 << 14;
/// ... and at most this many bytes (PLAIN-encoded).
pub const MAX_DICT_BYTES: usize = 1 << 20;
/// A dictionary is given up when, after `n` values, it holds more than `max` of them:
/// mostly unique values (row ids, URLs, messages) are told apart after a few hundred.
const DICT_PROBES: [(usize, usize); 2] = [(256, 192), (4096, 2048)];
/// A column chunk whose only data page (and dictionary) is smaller than this is stored
/// uncompressed: zstd builds its entropy tables for every page, which costs more than the
/// few hundred bytes it saves on a chunk this small. Measured with `benches/small_files.rs`
/// on files of 70 rows (the shared quiet-year corpus's average): 233 µs per file with a
/// limit of 256 bytes, 148 µs with 1 KiB, 103 µs with 4 KiB; the files of a quiet week
/// grew by 3%, 10% and 32%. The codec is recorded per column chunk, as Parquet allows.
pub const SMALL_CHUNK_BYTES: usize = 1024;
/// A data page of dictionary indices smaller than this is stored without compression (in
/// a chunk that is compressed, as a zstd frame of raw blocks): bit-packed indices of a
/// small file's dictionary are a few hundred bytes that zstd hardly shrinks, at the cost of
/// a frame's entropy tables. Measured with callgrind on 20 MB of the shared quiet-year
/// corpus (1,050 files of 70 rows on average): 5.4% fewer instructions for the whole run,
/// files 0.15% larger; on a busy day's 20 MB (6 files, pages of a MiB) 0.1% and 0.3%.
pub const SMALL_INDEX_PAGE_BYTES: usize = 4096;
/// Statistics of strings keep at most this many bytes (as parquet-rs does).
const STATS_BYTES: usize = 64;

// Parquet enum values.
const PLAIN: i32 = 0;
const RLE: i32 = 3;
const RLE_DICTIONARY: i32 = 8;
const DATA_PAGE: i32 = 0;
const DICTIONARY_PAGE: i32 = 2;

/// Minimum and maximum of the values written.
#[derive(Debug, Default)]
enum MinMax {
    #[default]
    None,
    Int(i64, i64),
    Bool(bool, bool),
    Bytes(Vec<u8>, Vec<u8>),
}

impl MinMax {
    fn int(&mut self, v: i64) {
        match self {
            MinMax::Int(lo, hi) => {
                *lo = (*lo).min(v);
                *hi = (*hi).max(v);
            }
            _ => *self = MinMax::Int(v, v),
        }
    }

    fn bool(&mut self, v: bool) {
        match self {
            MinMax::Bool(lo, hi) => {
                *lo &= v;
                *hi |= v;
            }
            _ => *self = MinMax::Bool(v, v),
        }
    }

    #[inline]
    fn bytes(&mut self, v: &[u8]) {
        match self {
            MinMax::Bytes(lo, hi) => {
                if less(v, lo) {
                    lo.clear();
                    lo.extend_from_slice(v);
                } else if less(hi, v) {
                    hi.clear();
                    hi.extend_from_slice(v);
                }
            }
            _ => *self = MinMax::Bytes(v.to_vec(), v.to_vec()),
        }
    }
}

/// `a < b` by bytes; most pairs differ in their first 8 bytes, which are compared as one
/// number before falling back to `memcmp`.
#[inline]
fn less(a: &[u8], b: &[u8]) -> bool {
    if let (Some(x), Some(y)) = (a.first_chunk::<8>(), b.first_chunk::<8>()) {
        let (x, y) = (u64::from_be_bytes(*x), u64::from_be_bytes(*y));
        if x != y {
            return x < y;
        }
    }
    a < b
}

/// A dictionary of byte strings, PLAIN-encoded as the dictionary page holds them.
#[derive(Debug, Default)]
struct Dict {
    /// The dictionary page's values: 4-byte length, bytes.
    plain: Vec<u8>,
    /// Where each entry's bytes start in `plain`, and their length.
    entries: Vec<(u32, u32)>,
    /// Open addressing: entry index + 1 (0 = free) and the hash's high bits.
    table: Vec<(u32, u32)>,
}

impl Dict {
    fn clear(&mut self) {
        self.plain.clear();
        self.entries.clear();
        self.table.clear();
    }

    #[inline]
    fn entry(&self, i: usize) -> &[u8] {
        let (start, len) = self.entries[i];
        self.plain
            .get(start as usize..(start + len) as usize)
            .unwrap_or_default()
    }

    /// The entry of `v`, and whether it was added.
    #[inline]
    fn index(&mut self, v: &[u8]) -> (u32, bool) {
        if self.table.is_empty() {
            self.grow();
        }
        let h = xxh3_64(v);
        let tag = (h >> 32) as u32;
        let mask = self.table.len() - 1;
        let mut slot = h as usize & mask;
        loop {
            let (e, t) = self.table[slot];
            if e == 0 {
                let i = self.entries.len() as u32;
                let start = self.plain.len() as u32 + 4;
                self.plain
                    .extend_from_slice(&(v.len() as u32).to_le_bytes());
                self.plain.extend_from_slice(v);
                self.entries.push((start, v.len() as u32));
                self.table[slot] = (i + 1, tag);
                if self.table.len() < 2 * (self.entries.len() + 1) {
                    self.grow();
                }
                return (i, true);
            }
            if t == tag && self.entry(e as usize - 1) == v {
                return (e - 1, false);
            }
            slot = (slot + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let size = (self.table.len() * 2).max(64);
        self.table.clear();
        self.table.resize(size, (0, 0));
        let mask = size - 1;
        for i in 0..self.entries.len() {
            let v = self.entry(i);
            let h = xxh3_64(v);
            let mut slot = h as usize & mask;
            while self.table[slot].0 != 0 {
                slot = (slot + 1) & mask;
            }
            self.table[slot] = (i as u32 + 1, (h >> 32) as u32);
        }
    }
}

/// Buffers reused from chunk to chunk (one set per writer thread).
#[derive(Debug)]
pub(super) struct Scratch {
    rep: RleEncoder,
    def: RleEncoder,
    idx: RleEncoder,
    values: Vec<u8>,
    indices: Vec<u32>,
    page: Vec<u8>,
    compressed: Vec<u8>,
    pages: Vec<u8>,
    bits: BitWriter,
    dict: Dict,
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch {
            rep: RleEncoder::new(1),
            def: RleEncoder::new(1),
            idx: RleEncoder::new(1),
            values: Vec::new(),
            indices: Vec::new(),
            page: Vec::new(),
            compressed: Vec::new(),
            pages: Vec::new(),
            bits: BitWriter::default(),
            dict: Dict::default(),
        }
    }
}

/// What the footer says of a chunk.
#[derive(Debug)]
pub(super) struct ChunkMeta {
    pub num_values: i64,
    pub uncompressed: i64,
    pub compressed: i64,
    /// Offsets relative to the chunk's start.
    pub dict_page: Option<i64>,
    pub data_page: i64,
    pub plain: bool,
    pub dictionary: bool,
    pub codec: i32,
    null_count: i64,
    min_max: MinMax,
}

impl ChunkMeta {
    /// Encodings used, for `ColumnMetaData.encodings` (the dictionary page is PLAIN).
    pub fn encodings(&self) -> &'static [i32] {
        if self.dictionary {
            &[PLAIN, RLE, RLE_DICTIONARY]
        } else {
            &[PLAIN, RLE]
        }
    }

    /// Writes the `Statistics` struct as field `id`.
    pub fn write_statistics(&self, w: &mut thrift::Writer<'_>, id: i16, physical: Physical) {
        w.begin(Some(id));
        w.i64(3, self.null_count);
        let enc_int = |v: i64| -> Vec<u8> {
            match physical {
                Physical::Int32 => (v as i32).to_le_bytes().to_vec(),
                _ => v.to_le_bytes().to_vec(),
            }
        };
        match &self.min_max {
            MinMax::None => {}
            MinMax::Int(lo, hi) => {
                w.binary(5, &enc_int(*hi));
                w.binary(6, &enc_int(*lo));
                w.bool(7, true);
                w.bool(8, true);
            }
            MinMax::Bool(lo, hi) => {
                w.binary(5, &[u8::from(*hi)]);
                w.binary(6, &[u8::from(*lo)]);
                w.bool(7, true);
                w.bool(8, true);
            }
            MinMax::Bytes(lo, hi) => {
                let max = truncated_max(hi);
                let min = truncated_min(lo);
                if let Some(max) = &max {
                    w.binary(5, max);
                }
                w.binary(6, min);
                if max.is_some() {
                    w.bool(7, max.as_deref() == Some(hi.as_slice()));
                }
                w.bool(8, min.len() == lo.len());
            }
        }
        w.end();
    }
}

/// At most [`STATS_BYTES`] of a minimum, cut at a character boundary (still a lower bound).
fn truncated_min(v: &[u8]) -> &[u8] {
    if v.len() <= STATS_BYTES {
        return v;
    }
    let mut end = STATS_BYTES;
    while end > 0 && (v[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    &v[..end]
}

/// At most [`STATS_BYTES`] of a maximum, still an upper bound: the prefix with its last
/// character incremented (`None` if no character can be).
fn truncated_max(v: &[u8]) -> Option<Vec<u8>> {
    if v.len() <= STATS_BYTES {
        return Some(v.to_vec());
    }
    let prefix = std::str::from_utf8(truncated_min(v)).ok()?;
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(c) = chars.pop() {
        let next = (u32::from(c) + 1..=0x10FFFF).find_map(char::from_u32);
        if let Some(n) = next {
            chars.push(n);
            return Some(chars.into_iter().collect::<String>().into_bytes());
        }
    }
    None
}

/// The encoder of one chunk.
struct Chunk<'s> {
    s: &'s mut Scratch,
    codec: &'s mut Codec,
    physical: Physical,
    max_def: u8,
    max_rep: u8,
    /// Values go through the dictionary.
    dict_mode: bool,
    /// Whether a data page with dictionary indices has been written.
    dict_pages: bool,
    /// Values seen while in dictionary mode (to judge whether it pays).
    dict_seen: usize,
    page_entries: usize,
    meta: ChunkMeta,
}

impl Chunk<'_> {
    #[inline]
    fn level(&mut self, rep: u8, def: u8) {
        if self.max_rep > 0 {
            self.s.rep.put(u32::from(rep));
        }
        if self.max_def > 0 {
            self.s.def.put(u32::from(def));
        }
        self.page_entries += 1;
        if def < self.max_def {
            self.meta.null_count += 1;
        }
    }

    /// `n` rows that are null (level 0 for both kinds of levels), without values.
    fn null_run(&mut self, n: usize) {
        if self.max_rep > 0 {
            self.s.rep.put_run(0, n);
        }
        if self.max_def > 0 {
            self.s.def.put_run(0, n);
        }
        self.page_entries += n;
        if self.max_def > 0 {
            self.meta.null_count += n as i64;
        }
    }

    /// Called before each row: starts a new page when the current one is full.
    #[inline]
    fn row(&mut self) -> io::Result<()> {
        if self.s.values.len() + self.s.indices.len() * 2 + self.s.bits.bytes.len() >= PAGE_BYTES {
            self.flush_page(false)?;
        }
        Ok(())
    }

    #[inline]
    fn bytes(&mut self, v: &[u8]) -> io::Result<()> {
        if self.dict_mode {
            // Runs of one value (constant columns, a host's burst) skip the hash table.
            let (i, added) = match self.s.indices.last() {
                Some(&last) if self.s.dict.entry(last as usize) == v => (last, false),
                _ => self.s.dict.index(v),
            };
            self.s.indices.push(i);
            self.dict_seen += 1;
            let full = added
                && (self.s.dict.entries.len() > MAX_DICT_ENTRIES
                    || self.s.dict.plain.len() > MAX_DICT_BYTES);
            if full || self.dict_seen == DICT_PROBES[0].0 || self.dict_seen == DICT_PROBES[1].0 {
                self.judge_dict(full)?;
            }
            return Ok(());
        }
        self.meta.min_max.bytes(v);
        self.s
            .values
            .extend_from_slice(&(v.len() as u32).to_le_bytes());
        self.s.values.extend_from_slice(v);
        Ok(())
    }

    /// Gives the dictionary up if it is `full` (past [`MAX_DICT_ENTRIES`] or
    /// [`MAX_DICT_BYTES`]), or if it holds too many distinct values at a probe.
    #[inline(never)]
    fn judge_dict(&mut self, full: bool) -> io::Result<()> {
        let entries = self.s.dict.entries.len();
        let hopeless = match self.dict_seen {
            n if n == DICT_PROBES[0].0 => entries > DICT_PROBES[0].1,
            n if n == DICT_PROBES[1].0 => entries > DICT_PROBES[1].1,
            _ => false,
        };
        if full || hopeless {
            self.give_up_dict()?;
        }
        Ok(())
    }

    /// Leaves dictionary mode: later values are PLAIN. If no page used the dictionary
    /// yet, the pending indices become PLAIN values and the chunk has no dictionary at
    /// all; else the page in progress is written with its indices first.
    fn give_up_dict(&mut self) -> io::Result<()> {
        self.dict_mode = false;
        let dict = &self.s.dict;
        for i in 0..dict.entries.len() {
            self.meta.min_max.bytes(dict.entry(i));
        }
        if self.dict_pages {
            return self.flush_page(false);
        }
        for &i in &self.s.indices {
            let v = dict.entry(i as usize);
            self.s
                .values
                .extend_from_slice(&(v.len() as u32).to_le_bytes());
            self.s.values.extend_from_slice(v);
        }
        self.s.indices.clear();
        self.s.dict.clear();
        Ok(())
    }

    #[inline]
    fn boolean(&mut self, v: bool) {
        self.meta.min_max.bool(v);
        self.s.bits.push(v);
    }

    #[inline]
    fn int(&mut self, v: i64) {
        self.meta.min_max.int(v);
        match self.physical {
            Physical::Int32 => self.s.values.extend_from_slice(&(v as i32).to_le_bytes()),
            _ => self.s.values.extend_from_slice(&v.to_le_bytes()),
        }
    }

    /// Writes the page in progress; `last` when no value follows in this chunk.
    fn flush_page(&mut self, last: bool) -> io::Result<()> {
        if self.page_entries == 0 {
            return Ok(());
        }
        let s = &mut *self.s;
        s.page.clear();
        if self.max_rep > 0 {
            let rep = s.rep.finish();
            s.page.extend_from_slice(&(rep.len() as u32).to_le_bytes());
            s.page.extend_from_slice(rep);
            s.rep.reset(bit_width(u32::from(self.max_rep)));
        }
        if self.max_def > 0 {
            let def = s.def.finish();
            s.page.extend_from_slice(&(def.len() as u32).to_le_bytes());
            s.page.extend_from_slice(def);
            s.def.reset(bit_width(u32::from(self.max_def)));
        }
        let encoding = if !s.indices.is_empty() {
            let width = bit_width(s.dict.entries.len().saturating_sub(1) as u32).max(1);
            s.idx.reset(width);
            for &i in &s.indices {
                s.idx.put(i);
            }
            s.page.push(width);
            s.page.extend_from_slice(s.idx.finish());
            s.indices.clear();
            self.dict_pages = true;
            self.meta.dictionary = true;
            RLE_DICTIONARY
        } else {
            // PLAIN booleans are bit-packed over the whole page.
            s.bits.finish_into(&mut s.values);
            s.page.extend_from_slice(&s.values);
            self.meta.plain = true;
            PLAIN
        };
        s.values.clear();
        let entries = self.page_entries;
        self.page_entries = 0;
        if self.meta.data_page < 0 {
            self.meta.data_page = s.pages.len() as i64;
            if last && s.page.len() + s.dict.plain.len() < SMALL_CHUNK_BYTES {
                self.meta.codec = 0;
            }
        }
        let kind = PageKind::Data { entries, encoding };
        let codec = if self.meta.codec == 0 {
            &mut Codec::None
        } else {
            &mut *self.codec
        };
        let (u, c) = write_page(&mut s.pages, codec, &s.page, &mut s.compressed, kind)?;
        self.meta.uncompressed += u;
        self.meta.compressed += c;
        self.meta.num_values += entries as i64;
        Ok(())
    }
}

/// The page header's type-specific part.
#[derive(Clone, Copy)]
enum PageKind {
    Data { entries: usize, encoding: i32 },
    Dictionary { entries: usize },
}

/// Appends a page (header and compressed body) to `out`; gives its uncompressed and
/// compressed sizes, header included, as the footer counts them.
fn write_page(
    out: &mut Vec<u8>,
    codec: &mut Codec,
    body: &[u8],
    buf: &mut Vec<u8>,
    kind: PageKind,
) -> io::Result<(i64, i64)> {
    let small_index = matches!(kind, PageKind::Data { encoding, .. }
        if encoding == RLE_DICTIONARY && body.len() < SMALL_INDEX_PAGE_BYTES);
    let compressed = match small_index.then(|| codec.store(body, buf)).flatten() {
        Some(stored) => stored,
        None => codec.compress(body, buf)?,
    };
    let start = out.len();
    let mut w = thrift::Writer::new(out);
    match kind {
        PageKind::Data { .. } => w.i32(1, DATA_PAGE),
        PageKind::Dictionary { .. } => w.i32(1, DICTIONARY_PAGE),
    }
    w.i32(2, body.len() as i32);
    w.i32(3, compressed.len() as i32);
    match kind {
        PageKind::Data { entries, encoding } => {
            w.begin(Some(5));
            w.i32(1, entries as i32);
            w.i32(2, encoding);
            w.i32(3, RLE);
            w.i32(4, RLE);
            w.end();
        }
        PageKind::Dictionary { entries } => {
            w.begin(Some(7));
            w.i32(1, entries as i32);
            w.i32(2, PLAIN);
            w.end();
        }
    }
    w.end();
    let header = out.len() - start;
    out.extend_from_slice(compressed);
    Ok((
        (header + body.len()) as i64,
        (header + compressed.len()) as i64,
    ))
}

/// Encodes one leaf column of a row group (the column's arrays, one per batch) and
/// appends its pages to `out`. The returned offsets are relative to where the chunk starts
/// in `out`.
pub(super) fn encode(
    leaf: &Leaf,
    arrays: &[&ArrayRef],
    codec: &mut Codec,
    s: &mut Scratch,
    out: &mut Vec<u8>,
) -> io::Result<ChunkMeta> {
    s.rep.reset(bit_width(u32::from(leaf.max_rep)));
    s.def.reset(bit_width(u32::from(leaf.max_def)));
    s.values.clear();
    s.indices.clear();
    s.pages.clear();
    s.bits.finish_into(&mut s.values);
    s.values.clear();
    s.dict.clear();
    let codec_id = codec.id();
    let mut c = Chunk {
        s,
        codec,
        physical: leaf.physical,
        max_def: leaf.max_def,
        max_rep: leaf.max_rep,
        dict_mode: leaf.dictionary,
        dict_pages: false,
        dict_seen: 0,
        page_entries: 0,
        meta: ChunkMeta {
            num_values: 0,
            uncompressed: 0,
            compressed: 0,
            dict_page: None,
            data_page: -1,
            plain: false,
            dictionary: false,
            codec: codec_id,
            null_count: 0,
            min_max: MinMax::None,
        },
    };
    for array in arrays {
        match leaf.shape {
            Shape::Scalar => scalar(&mut c, array.as_ref())?,
            Shape::ListItem => {
                let list = array.as_list::<i32>();
                nested(&mut c, list, list.value_offsets(), list.values().as_ref())?;
            }
            Shape::MapKey | Shape::MapValue => {
                let map: &MapArray = array.as_map();
                let child = if leaf.shape == Shape::MapKey {
                    map.keys()
                } else {
                    map.values()
                };
                nested(&mut c, map, map.value_offsets(), child.as_ref())?;
            }
        }
    }
    c.flush_page(true)?;
    if c.dict_mode {
        for i in 0..c.s.dict.entries.len() {
            c.meta.min_max.bytes(c.s.dict.entry(i));
        }
    }
    let mut meta = c.meta;
    if meta.dictionary {
        let kind = PageKind::Dictionary {
            entries: s.dict.entries.len(),
        };
        let codec = if meta.codec == 0 {
            &mut Codec::None
        } else {
            codec
        };
        let (u, c) = write_page(out, codec, &s.dict.plain, &mut s.compressed, kind)?;
        meta.dict_page = Some(0);
        meta.data_page += c;
        meta.uncompressed += u;
        meta.compressed += c;
    }
    out.extend_from_slice(&s.pages);
    if meta.data_page < 0 {
        meta.data_page = 0;
    }
    Ok(meta)
}

/// A column of scalars: strings, integers, booleans, timestamps.
fn scalar(c: &mut Chunk<'_>, array: &dyn Array) -> io::Result<()> {
    let max_def = c.max_def;
    let nulls = array.logical_nulls();
    let valid = |i: usize| nulls.as_ref().is_none_or(|n| n.is_valid(i));
    let n = array.len();
    // Calls `$put` for each value; a run of nulls adds its levels at once.
    macro_rules! each {
        ($value:expr, $put:ident $(, $q:tt)?) => {
            let mut i = 0;
            while i < n {
                c.row()?;
                if valid(i) {
                    c.level(0, max_def);
                    c.$put($value(i))$($q)?;
                    i += 1;
                } else {
                    let run = run_len(i, n, |r| !valid(r));
                    c.null_run(run);
                    i += run;
                }
            }
        };
    }
    match array.data_type() {
        arrow_schema::DataType::Utf8 => {
            let a: &StringArray = array.as_string::<i32>();
            let offsets = a.value_offsets();
            let data = a.values().as_slice();
            if !c.dict_mode {
                let bytes = (offsets[offsets.len() - 1] - offsets[0]) as usize;
                c.s.values.reserve(bytes + 4 * a.len());
            }
            let value = |i: usize| &data[offsets[i] as usize..offsets[i + 1] as usize];
            each!(value, bytes, ?);
        }
        arrow_schema::DataType::Int16 => {
            let a = array.as_primitive::<Int16Type>();
            each!(|i| i64::from(a.value(i)), int);
        }
        arrow_schema::DataType::Int32 => {
            let a = array.as_primitive::<Int32Type>();
            each!(|i| i64::from(a.value(i)), int);
        }
        arrow_schema::DataType::Int64 => {
            let a = array.as_primitive::<Int64Type>();
            each!(|i| a.value(i), int);
        }
        arrow_schema::DataType::Timestamp(..) => {
            let a = array.as_primitive::<TimestampMillisecondType>();
            each!(|i| a.value(i), int);
        }
        arrow_schema::DataType::Boolean => {
            let a = array.as_boolean();
            each!(|i| a.value(i), boolean);
        }
        other => {
            return Err(io::Error::other(format!(
                "no Parquet encoding for Arrow type {other}"
            )))
        }
    }
    Ok(())
}

/// How many positions from `start` (which is in the run) up to `end` satisfy `in_run`
/// before the first that does not.
fn run_len(start: usize, end: usize, in_run: impl Fn(usize) -> bool) -> usize {
    (start + 1..end).find(|&r| !in_run(r)).unwrap_or(end) - start
}

/// Booleans packed 8 to a byte, least significant bit first.
#[derive(Debug, Default)]
struct BitWriter {
    bytes: Vec<u8>,
    n: usize,
}

impl BitWriter {
    fn push(&mut self, v: bool) {
        if self.n % 8 == 0 {
            self.bytes.push(0);
        }
        if v {
            if let Some(last) = self.bytes.last_mut() {
                *last |= 1 << (self.n % 8);
            }
        }
        self.n += 1;
    }

    fn finish_into(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.bytes);
        self.n = 0;
    }
}

/// The leaf of a list or map column: `parent` gives the rows (null, empty, or entries
/// `offsets[i]..offsets[i + 1]` of `child`), `child` the strings.
fn nested(
    c: &mut Chunk<'_>,
    parent: &dyn Array,
    offsets: &[i32],
    child: &dyn Array,
) -> io::Result<()> {
    let Some(strings) = child.as_string_opt::<i32>() else {
        return Err(io::Error::other(
            "a list or map of something else than strings",
        ));
    };
    let max_def = c.max_def;
    let child_nulls = strings.nulls();
    let value_offsets = strings.value_offsets();
    let data = strings.values().as_slice();
    let parent_nulls = parent.nulls();
    if parent.null_count() == parent.len() {
        // No list or map at all here (the usual case of most indicator columns).
        c.null_run(parent.len());
        return Ok(());
    }
    let rows = parent.len();
    let is_null = |row: usize| parent_nulls.is_some_and(|n| n.is_null(row));
    let mut row = 0;
    while row < rows {
        c.row()?;
        if is_null(row) {
            // A run of null rows (most rows of most indicator lists) adds levels only.
            let run = run_len(row, rows, is_null);
            c.null_run(run);
            row += run;
            continue;
        }
        let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
        row += 1;
        if start == end {
            c.level(0, 1);
            continue;
        }
        for j in start..end {
            let rep = u8::from(j > start) * c.max_rep;
            if child_nulls.is_some_and(|n| n.is_null(j)) {
                c.level(rep, max_def - 1);
            } else {
                c.level(rep, max_def);
                c.bytes(&data[value_offsets[j] as usize..value_offsets[j + 1] as usize])?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
pub(super) mod tests_support {
    /// The minimum as written.
    pub fn min(v: &[u8]) -> Vec<u8> {
        super::truncated_min(v).to_vec()
    }
    /// The maximum as written.
    pub fn max(v: &[u8]) -> Option<Vec<u8>> {
        super::truncated_max(v)
    }
}
