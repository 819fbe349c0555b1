//! jwas's own Parquet encoder, made for the few column types of its tables and for files of
//! any size from two rows to millions.
//!
//! Why not parquet-rs's `ArrowWriter`: it sets up an encoder, a dictionary interner, a
//! statistics accumulator and a compressor per leaf column for every file, and interns
//! every string in a dictionary whatever its cardinality. A year of hourly partitions is
//! tens of thousands of small files of 30–45 columns, and a busy day is mostly unique
//! strings (row ids, URLs, messages): both spent most of their time there. Here a file is
//! encoded in one pass over its Arrow arrays when a row group is complete, with buffers and
//! a compression context reused across files, dictionaries only where they pay (see
//! `chunk`), and the footer written directly in Thrift's compact protocol.
//!
//! What is written: Parquet format 1 files with data pages V1, levels RLE-encoded, values
//! PLAIN or dictionary (RLE_DICTIONARY) encoded, chunk statistics (min, max, null count;
//! strings cut to 64 bytes), the column order, the table's key-value metadata and the
//! Arrow schema (`ARROW:schema`), with the Parquet schema parquet-rs derives from the same
//! Arrow schema. Files are read by parquet-rs, pyarrow, DuckDB, Spark and Athena alike.

mod chunk;
mod rle;
mod thrift;

pub use chunk::{
    MAX_DICT_BYTES, MAX_DICT_ENTRIES, PAGE_BYTES, SMALL_CHUNK_BYTES, SMALL_INDEX_PAGE_BYTES,
};

use super::Compression;
use crate::logtype::LogType;
use arrow_array::RecordBatch;
use parquet::basic::{LogicalType, Repetition, TimeUnit, Type as PhysicalType};
use parquet::errors::ParquetError;
use parquet::schema::types::Type;
use std::io::{self, Write};
use std::sync::OnceLock;

/// The four magic bytes at both ends of a Parquet file.
const MAGIC: &[u8; 4] = b"PAR1";
/// `created_by`, in the `<app> version <x.y.z> (build <b>)` form readers parse.
const CREATED_BY: &str = concat!("jwas version ", env!("CARGO_PKG_VERSION"), " (build jwas)");

/// Physical types used by the tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Physical {
    Boolean,
    Int32,
    Int64,
    ByteArray,
}

impl Physical {
    /// The four physical types jwas's tables use; any other is an error.
    fn of(physical: PhysicalType) -> Result<Physical, ParquetError> {
        match physical {
            PhysicalType::BOOLEAN => Ok(Physical::Boolean),
            PhysicalType::INT32 => Ok(Physical::Int32),
            PhysicalType::INT64 => Ok(Physical::Int64),
            PhysicalType::BYTE_ARRAY => Ok(Physical::ByteArray),
            other => Err(ParquetError::General(format!(
                "unexpected physical type {other}"
            ))),
        }
    }

    fn id(self) -> i32 {
        match self {
            Physical::Boolean => 0,
            Physical::Int32 => 1,
            Physical::Int64 => 2,
            Physical::ByteArray => 6,
        }
    }
}

/// Where a leaf column's values sit in its Arrow column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// The column itself.
    Scalar,
    /// The items of a `List<Utf8>`.
    ListItem,
    /// The keys of a `Map<Utf8, Utf8>`.
    MapKey,
    /// The values of a `Map<Utf8, Utf8>`.
    MapValue,
}

/// A leaf column of the Parquet schema.
#[derive(Debug)]
struct Leaf {
    /// Index of its Arrow column.
    column: usize,
    shape: Shape,
    physical: Physical,
    max_def: u8,
    max_rep: u8,
    /// Whether a dictionary is tried: not for `p_row_id`, unique by construction (in a
    /// small file, whose chunk never reaches the point where a dictionary of unique values
    /// is given up, it would only add an index page).
    dictionary: bool,
    /// `path_in_schema`.
    path: Vec<String>,
}

/// What is the same for every file of a table: the leaves, and the footer's schema,
/// key-value metadata and column orders, already encoded.
#[derive(Debug)]
struct Layout {
    leaves: Vec<Leaf>,
    /// FileMetaData fields 2 (schema), encoded after field 1.
    schema: Vec<u8>,
    /// FileMetaData fields 5 (key_value_metadata), 6 (created_by) and 7 (column_orders),
    /// encoded after field 4.
    tail: Vec<u8>,
}

fn layout(log_type: LogType) -> Result<&'static Layout, ParquetError> {
    static LAYOUTS: OnceLock<Vec<Result<Layout, String>>> = OnceLock::new();
    let all = LAYOUTS.get_or_init(|| {
        LogType::ALL
            .into_iter()
            .map(|t| build_layout(t).map_err(|e| e.to_string()))
            .collect()
    });
    match &all[log_type.index()] {
        Ok(l) => Ok(l),
        Err(e) => Err(ParquetError::General(e.clone())),
    }
}

fn build_layout(log_type: LogType) -> Result<Layout, ParquetError> {
    let schema = crate::columns::schema(log_type);
    let mut props = super::writer_properties(log_type, Compression::None);
    parquet::arrow::add_encoded_arrow_schema_to_metadata(&schema, &mut props);
    let descr = parquet::arrow::ArrowSchemaConverter::new().convert(&schema)?;

    let mut leaves = Vec::new();
    for (i, col) in descr.columns().iter().enumerate() {
        let column = descr.get_column_root_idx(i);
        let path = col.path().parts().to_vec();
        let data_type = schema.fields().get(column).map(|f| f.data_type());
        let first_leaf_of_column = leaves.last().is_none_or(|l: &Leaf| l.column != column);
        let shape = match (path.len(), data_type) {
            (1, _) => Shape::Scalar,
            (3, Some(arrow_schema::DataType::List(_))) => Shape::ListItem,
            // The map's entries are (key, value), in that order.
            (3, Some(arrow_schema::DataType::Map(..))) if first_leaf_of_column => Shape::MapKey,
            (3, Some(arrow_schema::DataType::Map(..))) => Shape::MapValue,
            _ => {
                return Err(ParquetError::General(format!(
                    "unexpected column shape {}",
                    path.join(".")
                )))
            }
        };
        let physical = Physical::of(col.physical_type())?;
        leaves.push(Leaf {
            column,
            shape,
            physical,
            max_def: col.max_def_level() as u8,
            max_rep: col.max_rep_level() as u8,
            dictionary: physical == Physical::ByteArray
                && path.first().map(String::as_str) != Some("p_row_id"),
            path,
        });
    }

    let mut elements = Vec::new();
    schema_elements(descr.root_schema(), true, &mut elements)?;
    let mut schema_bytes = Vec::new();
    let mut w = thrift::Writer::continuing(&mut schema_bytes, 1);
    w.list(2, thrift::Ty::Struct, elements.len());
    for e in &elements {
        e.write(&mut w);
    }

    let mut tail = Vec::new();
    let kvs = props.key_value_metadata().cloned().unwrap_or_default();
    let mut w = thrift::Writer::continuing(&mut tail, 4);
    w.list(5, thrift::Ty::Struct, kvs.len());
    for kv in &kvs {
        w.begin(None);
        w.binary(1, kv.key.as_bytes());
        if let Some(v) = &kv.value {
            w.binary(2, v.as_bytes());
        }
        w.end();
    }
    w.binary(6, CREATED_BY.as_bytes());
    w.list(7, thrift::Ty::Struct, leaves.len());
    for _ in &leaves {
        w.begin(None); // ColumnOrder union
        w.begin(Some(1)); // TYPE_ORDER: TypeDefinedOrder {}
        w.end();
        w.end();
    }
    Ok(Layout {
        leaves,
        schema: schema_bytes,
        tail,
    })
}

/// A `SchemaElement` of the footer.
struct Element {
    name: String,
    physical: Option<i32>,
    repetition: Option<i32>,
    children: Option<i32>,
    converted: Option<i32>,
    logical: Option<LogicalType>,
}

impl Element {
    fn write(&self, w: &mut thrift::Writer<'_>) {
        w.begin(None);
        if let Some(p) = self.physical {
            w.i32(1, p);
        }
        if let Some(r) = self.repetition {
            w.i32(3, r);
        }
        w.binary(4, self.name.as_bytes());
        if let Some(n) = self.children {
            w.i32(5, n);
        }
        if let Some(c) = self.converted {
            w.i32(6, c);
        }
        if let Some(l) = &self.logical {
            w.begin(Some(10));
            match l {
                LogicalType::String => empty(w, 1),
                LogicalType::Map => empty(w, 2),
                LogicalType::List => empty(w, 3),
                LogicalType::Timestamp(t) => {
                    w.begin(Some(8));
                    w.bool(1, t.is_adjusted_to_u_t_c);
                    w.begin(Some(2));
                    let unit = match t.unit {
                        TimeUnit::MILLIS => 1,
                        TimeUnit::MICROS => 2,
                        TimeUnit::NANOS => 3,
                    };
                    empty(w, unit);
                    w.end();
                    w.end();
                }
                LogicalType::Integer(i) => {
                    w.begin(Some(10));
                    w.i8(1, i.bit_width);
                    w.bool(2, i.is_signed);
                    w.end();
                }
                // Not produced for jwas's tables (build_layout refuses them).
                _ => {}
            }
            w.end();
        }
        w.end();
    }
}

/// An empty struct as field `id` (the members of Thrift unions of empty structs).
fn empty(w: &mut thrift::Writer<'_>, id: i16) {
    w.begin(Some(id));
    w.end();
}

fn schema_elements(t: &Type, root: bool, out: &mut Vec<Element>) -> Result<(), ParquetError> {
    let info = t.get_basic_info();
    let logical = info.logical_type_ref().cloned();
    if let Some(l) = &logical {
        let known = matches!(
            l,
            LogicalType::String
                | LogicalType::Map
                | LogicalType::List
                | LogicalType::Timestamp(_)
                | LogicalType::Integer(_)
        );
        if !known {
            return Err(ParquetError::General(format!(
                "unexpected logical type {l:?}"
            )));
        }
    }
    let converted = info.converted_type() as i32;
    let repetition = (!root && info.has_repetition()).then(|| match info.repetition() {
        Repetition::REQUIRED => 0,
        Repetition::OPTIONAL => 1,
        Repetition::REPEATED => 2,
    });
    if t.is_group() {
        out.push(Element {
            name: info.name().to_owned(),
            physical: None,
            repetition,
            children: Some(t.get_fields().len() as i32),
            converted: (converted >= 0).then_some(converted),
            logical,
        });
        for f in t.get_fields() {
            schema_elements(f, false, out)?;
        }
    } else {
        let physical = Physical::of(t.get_physical_type())?;
        out.push(Element {
            name: info.name().to_owned(),
            physical: Some(physical.id()),
            repetition,
            children: None,
            converted: (converted >= 0).then_some(converted),
            logical,
        });
    }
    Ok(())
}

/// A zstd frame's magic number, little-endian.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];
/// The largest block of a zstd frame (`Block_Maximum_Size`).
const ZSTD_RAW_BLOCK: usize = 128 << 10;

/// A page compressor: one per writer thread, its context reused from page to page.
pub(super) enum Codec {
    None,
    Zstd(i32, Box<zstd::bulk::Compressor<'static>>),
    Snappy(Box<snap::raw::Encoder>),
    Gzip,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Codec::None => "none",
            Codec::Zstd(..) => "zstd",
            Codec::Snappy(_) => "snappy",
            Codec::Gzip => "gzip",
        })
    }
}

impl Codec {
    /// A compressor for `compression`.
    pub(super) fn new(compression: Compression) -> io::Result<Codec> {
        Ok(match compression {
            Compression::None => Codec::None,
            Compression::Zstd(level) => {
                Codec::Zstd(level, Box::new(zstd::bulk::Compressor::new(level)?))
            }
            Compression::Snappy => Codec::Snappy(Box::new(snap::raw::Encoder::new())),
            Compression::Gzip => Codec::Gzip,
        })
    }

    /// Whether this compressor is the one for `compression`.
    pub(super) fn is(&self, compression: Compression) -> bool {
        match (self, compression) {
            (Codec::None, Compression::None)
            | (Codec::Snappy(_), Compression::Snappy)
            | (Codec::Gzip, Compression::Gzip) => true,
            (Codec::Zstd(a, _), Compression::Zstd(b)) => *a == b,
            _ => false,
        }
    }

    /// `CompressionCodec` in the footer.
    fn id(&self) -> i32 {
        match self {
            Codec::None => 0,
            Codec::Snappy(_) => 1,
            Codec::Gzip => 2,
            Codec::Zstd(..) => 6,
        }
    }

    /// `input` as this codec stores it without trying to compress it, where that is cheap:
    /// a zstd frame of raw blocks (RFC 8878, 3.1), or `input` itself without compression.
    /// `None` for codecs that have no such form (compress with [`Codec::compress`]).
    fn store<'a>(&self, input: &'a [u8], buf: &'a mut Vec<u8>) -> Option<&'a [u8]> {
        match self {
            Codec::None => Some(input),
            Codec::Zstd(..) => {
                let size = u32::try_from(input.len()).ok()?;
                buf.clear();
                buf.reserve(input.len() + 9 + 3 * (input.len() / ZSTD_RAW_BLOCK + 1));
                buf.extend_from_slice(&ZSTD_MAGIC);
                // Frame header descriptor: a 4-byte content size, single segment (no
                // window descriptor), no checksum, no dictionary.
                buf.push(0b1010_0000);
                buf.extend_from_slice(&size.to_le_bytes());
                let mut blocks = input.chunks(ZSTD_RAW_BLOCK).peekable();
                if blocks.peek().is_none() {
                    buf.extend_from_slice(&[1, 0, 0]); // one empty raw block, the last
                }
                while let Some(block) = blocks.next() {
                    // Block header: last-block bit, type 0 (raw), size.
                    let last = u32::from(blocks.peek().is_none());
                    let header = last | ((block.len() as u32) << 3);
                    buf.extend_from_slice(&header.to_le_bytes()[..3]);
                    buf.extend_from_slice(block);
                }
                Some(buf)
            }
            Codec::Snappy(_) | Codec::Gzip => None,
        }
    }

    /// `input` compressed (into `buf`, or `input` itself without compression).
    fn compress<'a>(&mut self, input: &'a [u8], buf: &'a mut Vec<u8>) -> io::Result<&'a [u8]> {
        buf.clear();
        match self {
            Codec::None => return Ok(input),
            Codec::Zstd(_, z) => {
                buf.reserve(zstd::zstd_safe::compress_bound(input.len()));
                z.compress_to_buffer(input, buf)?;
            }
            Codec::Snappy(s) => {
                buf.resize(snap::raw::max_compress_len(input.len()), 0);
                let n = s.compress(input, buf).map_err(io::Error::other)?;
                buf.truncate(n);
            }
            Codec::Gzip => {
                let mut e = flate2::write::GzEncoder::new(
                    std::mem::take(buf),
                    flate2::Compression::default(),
                );
                e.write_all(input)?;
                *buf = e.finish()?;
            }
        }
        Ok(buf)
    }
}

/// What a writer thread keeps from file to file: the compressor and encoding buffers.
#[derive(Debug, Default)]
pub struct EncoderState {
    codec: Option<Codec>,
    scratch: chunk::Scratch,
}

/// A Parquet file being written: its row groups are encoded as they come and appended to
/// a byte buffer that the caller writes out (all at once for a small file, after each row
/// group for a large one).
#[derive(Debug)]
pub struct ParquetFile {
    log_type: LogType,
    compression: Compression,
    /// Bytes of the file produced so far (including the leading magic).
    written: u64,
    rows: i64,
    row_groups: usize,
    /// The footer's `RowGroup` structs, encoded.
    row_group_meta: Vec<u8>,
}

impl ParquetFile {
    /// Starts a file of `log_type`'s table; its first bytes go to `out`.
    pub fn new(log_type: LogType, compression: Compression, out: &mut Vec<u8>) -> ParquetFile {
        out.extend_from_slice(MAGIC);
        ParquetFile {
            log_type,
            compression,
            written: MAGIC.len() as u64,
            rows: 0,
            row_groups: 0,
            row_group_meta: Vec::new(),
        }
    }

    /// Rows written so far.
    pub fn rows(&self) -> i64 {
        self.rows
    }

    /// Encodes `batches` (the table's schema) as one row group, appended to `out`.
    pub fn write_row_group(
        &mut self,
        batches: &[RecordBatch],
        state: &mut EncoderState,
        out: &mut Vec<u8>,
    ) -> io::Result<()> {
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        if rows == 0 {
            return Ok(());
        }
        let layout = layout(self.log_type).map_err(io::Error::other)?;
        let base = self.written - out.len() as u64;
        let start = self.written;
        let EncoderState { codec, scratch } = state;
        let codec = match codec {
            Some(c) if c.is(self.compression) => c,
            _ => codec.insert(Codec::new(self.compression)?),
        };
        let mut arrays = Vec::with_capacity(batches.len());
        let mut meta = std::mem::take(&mut self.row_group_meta);
        let mut w = thrift::Writer::new(&mut meta);
        w.begin(None); // RowGroup
        w.list(1, thrift::Ty::Struct, layout.leaves.len());
        let (mut total_uncompressed, mut total_compressed) = (0i64, 0i64);
        for leaf in &layout.leaves {
            arrays.clear();
            arrays.extend(batches.iter().map(|b| b.column(leaf.column)));
            let chunk_start = out.len() as u64 + base;
            let m = chunk::encode(leaf, &arrays, codec, scratch, out)?;
            let chunk_start = chunk_start as i64;
            total_uncompressed += m.uncompressed;
            total_compressed += m.compressed;
            w.begin(None); // ColumnChunk
            w.i64(2, chunk_start);
            w.begin(Some(3)); // ColumnMetaData
            w.i32(1, leaf.physical.id());
            w.list_i32(2, m.encodings());
            w.list_binary(3, leaf.path.iter().map(|p| p.as_bytes()));
            w.i32(4, m.codec);
            w.i64(5, m.num_values);
            w.i64(6, m.uncompressed);
            w.i64(7, m.compressed);
            w.i64(9, chunk_start + m.data_page);
            if let Some(d) = m.dict_page {
                w.i64(11, chunk_start + d);
            }
            m.write_statistics(&mut w, 12, leaf.physical);
            w.end();
            w.end();
        }
        w.i64(2, total_uncompressed);
        w.i64(3, rows as i64);
        w.i64(5, start as i64);
        w.i64(6, total_compressed);
        w.i16(7, self.row_groups as i16);
        w.end();
        self.row_group_meta = meta;
        self.row_groups += 1;
        self.rows += rows as i64;
        self.written = base + out.len() as u64;
        Ok(())
    }

    /// Appends the footer to `out`: the file is complete once `out` is written.
    pub fn finish(self, out: &mut Vec<u8>) -> io::Result<()> {
        let layout = layout(self.log_type).map_err(io::Error::other)?;
        let footer_start = out.len();
        let mut w = thrift::Writer::new(out);
        w.i32(1, 1); // version
        w.raw(&layout.schema, Some(2));
        w.i64(3, self.rows);
        w.list(4, thrift::Ty::Struct, self.row_groups);
        w.raw(&self.row_group_meta, None);
        w.raw(&layout.tail, Some(7));
        w.end();
        let len = (out.len() - footer_start) as u32;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(MAGIC);
        Ok(())
    }
}

/// A Parquet file written out row group by row group to `W` (an object of a store, a
/// file): each row group is encoded into `out` and written at once, and
/// [`ParquetOutput::finish`] writes the footer and gives `W` back, to be committed. The
/// one loop behind the sink's files and compact's merged files and sorted runs; when to
/// cut a row group or start a new file is theirs to say. `out` is empty after each call.
#[derive(Debug)]
pub struct ParquetOutput<W> {
    file: ParquetFile,
    dest: W,
}

impl<W: Write> ParquetOutput<W> {
    /// Starts a file of `log_type`'s table in `dest`; its first bytes wait in `out` and go
    /// out with the first row group (or the footer).
    pub fn new(
        log_type: LogType,
        compression: Compression,
        dest: W,
        out: &mut Vec<u8>,
    ) -> ParquetOutput<W> {
        ParquetOutput {
            file: ParquetFile::new(log_type, compression, out),
            dest,
        }
    }

    /// Rows written so far.
    pub fn rows(&self) -> i64 {
        self.file.rows()
    }

    /// Encodes `batches` as one row group and writes it out.
    pub fn row_group(
        &mut self,
        batches: &[RecordBatch],
        state: &mut EncoderState,
        out: &mut Vec<u8>,
    ) -> io::Result<()> {
        self.file.write_row_group(batches, state, out)?;
        self.dest.write_all(out)?;
        out.clear();
        Ok(())
    }

    /// Writes the footer; the file is whole in what is returned.
    pub fn finish(mut self, out: &mut Vec<u8>) -> io::Result<W> {
        self.file.finish(out)?;
        self.dest.write_all(out)?;
        out.clear();
        Ok(self.dest)
    }
}

/// A small file encoded whole into `out` (one row group and the footer), to be written
/// with one call.
pub fn encode_whole(
    log_type: LogType,
    compression: Compression,
    batches: &[RecordBatch],
    state: &mut EncoderState,
    out: &mut Vec<u8>,
) -> io::Result<()> {
    let mut file = ParquetFile::new(log_type, compression, out);
    file.write_row_group(batches, state, out)?;
    file.finish(out)
}

#[cfg(test)]
mod tests;
