//! Writing tables: Hive partitions by event hour, Parquet or NDJSON files, atomic objects,
//! and rejected events.

pub mod ndjson;
pub mod partition;
pub mod rejected;
pub mod store;

use crate::error::Error;
use crate::logtype::LogType;
use crate::pipeline::HourBatch;
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::arrow::{add_encoded_arrow_schema_to_metadata, ArrowSchemaConverter, ArrowWriter};
use parquet::basic::{Compression as ParquetCompression, GzipLevel, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::SchemaDescriptor;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
pub use store::{LocalStore, ObjectWriter, Store};

/// Rows per Parquet row group, at most.
pub const DEFAULT_ROW_GROUP_ROWS: usize = 128 * 1024;
/// Encoded bytes per Parquet row group, at most (estimated while encoding): bounds the
/// memory of an open file whatever its rows are like.
pub const DEFAULT_ROW_GROUP_BYTES: usize = 32 << 20;
/// Rows per output file before it rolls over to the next sequence number.
pub const DEFAULT_MAX_FILE_ROWS: usize = 1_000_000;
/// Output files open at once; the least recently used is closed beyond this.
pub const DEFAULT_MAX_OPEN_FILES: usize = 48;
/// zstd level: level 1 compresses nearly as well as 3 on these logs, and faster.
pub const DEFAULT_ZSTD_LEVEL: i32 = 1;

/// The file format of the tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Apache Parquet.
    Parquet,
    /// One JSON object per row.
    Ndjson,
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Ndjson => "ndjson",
        }
    }
}

/// Parquet compression codec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Compression {
    /// zstd at a level (1–22; [`DEFAULT_ZSTD_LEVEL`] by default).
    Zstd(i32),
    /// Snappy.
    Snappy,
    /// gzip at the default level.
    Gzip,
    /// None.
    None,
}

impl Compression {
    fn parquet(self) -> ParquetCompression {
        match self {
            Compression::Zstd(level) => ParquetCompression::ZSTD(
                ZstdLevel::try_new(level)
                    .or_else(|_| ZstdLevel::try_new(DEFAULT_ZSTD_LEVEL))
                    .unwrap_or_default(),
            ),
            Compression::Snappy => ParquetCompression::SNAPPY,
            Compression::Gzip => ParquetCompression::GZIP(GzipLevel::default()),
            Compression::None => ParquetCompression::UNCOMPRESSED,
        }
    }
}

/// How table files are written.
#[derive(Clone, Copy, Debug)]
pub struct TableOptions {
    /// File format.
    pub format: Format,
    /// Parquet compression.
    pub compression: Compression,
    /// Rows per file before rolling over.
    pub max_file_rows: usize,
    /// Files open at once.
    pub max_open_files: usize,
    /// Threads encoding and writing files (default: all cores).
    pub writers: usize,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            format: Format::Parquet,
            compression: Compression::Zstd(DEFAULT_ZSTD_LEVEL),
            max_file_rows: DEFAULT_MAX_FILE_ROWS,
            max_open_files: DEFAULT_MAX_OPEN_FILES,
            writers: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// Parquet writer settings: codec, row groups of at most 128 Ki rows and 32 MiB, dictionary encoding
/// on, statistics per column chunk (min, max, null count; no page-level column index,
/// which costs more than it saves on files of a few thousand rows), and the `jwas.*`
/// key-value metadata.
pub fn writer_properties(log_type: LogType, compression: Compression) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(compression.parquet())
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_max_row_group_row_count(Some(DEFAULT_ROW_GROUP_ROWS))
        .set_max_row_group_bytes(Some(DEFAULT_ROW_GROUP_BYTES))
        .set_key_value_metadata(Some(vec![
            KeyValue::new("jwas.log_type".to_owned(), log_type.name().to_owned()),
            KeyValue::new(
                "jwas.schema_version".to_owned(),
                crate::columns::SCHEMA_VERSION.to_owned(),
            ),
        ]))
        .build()
}

/// A file that was written whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenFile {
    /// Its key under the output root, e.g. `juniper_access/year=2024/.../x.parquet`.
    pub key: String,
    /// The table.
    pub log_type: LogType,
    /// Rows in it.
    pub rows: u64,
}

enum FileWriter {
    Parquet(Box<ArrowWriter<Box<dyn ObjectWriter>>>),
    Ndjson(Box<dyn ObjectWriter>),
}

/// A table and an hour (hours since the epoch).
type Part = (LogType, i64);

/// What the sink knows of a file it opened: the work on it happens in a writer thread.
struct OpenFile {
    key: String,
    rows: usize,
    last_used: u64,
}

/// Work for a writer thread. Each file belongs to exactly one writer thread, and its
/// commands arrive in order, so rows keep their input order.
enum Command {
    Open { part: Part, key: String },
    Write { part: Part, batch: RecordBatch },
    Close { part: Part },
}

/// Commands queued per writer thread: bounds the memory of batches not yet encoded.
const WRITER_QUEUE: usize = 8;

struct Writer {
    tx: Option<SyncSender<Command>>,
    handle: Option<JoinHandle<Result<(), Error>>>,
}

impl Writer {
    /// Hangs up and waits for the thread: its result, or why it has none.
    fn stop(&mut self) -> Result<(), Error> {
        self.tx = None;
        match self.handle.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(Error::Worker("a writer thread panicked".into())),
            None => Err(Error::Worker("a writer thread stopped".into())),
        }
    }
}

/// Writes the batches of one run (one input, or one batch of inputs) into hourly
/// partitions. File names are `<name>-<seq>.<ext>`: `name` comes from the identity of
/// the inputs, and `seq` counts the files of one partition in the order they are opened, so
/// running the same input again writes the same keys.
///
/// Which file a batch goes to, and when a file is closed, is decided here in input order;
/// encoding and writing the files is spread over [`TableOptions::writers`] threads, each
/// owning the files of some partitions. The decisions do not depend on the number of
/// writer threads, so neither do the files written.
pub struct TableSink {
    opts: TableOptions,
    name: String,
    open: HashMap<Part, OpenFile>,
    seq: HashMap<Part, u32>,
    tick: u64,
    written: Vec<WrittenFile>,
    writers: Vec<Writer>,
}

impl TableSink {
    /// A sink writing files named after `name` into `store`.
    pub fn new(store: Arc<dyn Store>, opts: TableOptions, name: String) -> TableSink {
        let writers = (0..opts.writers.max(1))
            .map(|i| {
                let (tx, rx) = sync_channel(WRITER_QUEUE);
                let store = Arc::clone(&store);
                let handle = std::thread::Builder::new()
                    .name(format!("jwas-write-{i}"))
                    .spawn(move || writer_loop(store.as_ref(), opts, rx));
                match handle {
                    Ok(h) => Writer {
                        tx: Some(tx),
                        handle: Some(h),
                    },
                    // No thread: the first command to it reports the failure.
                    Err(_) => Writer {
                        tx: None,
                        handle: None,
                    },
                }
            })
            .collect();
        TableSink {
            opts,
            name,
            open: HashMap::new(),
            seq: HashMap::new(),
            tick: 0,
            written: Vec::new(),
            writers,
        }
    }

    /// Appends a block's rows of one table and hour.
    pub fn write(&mut self, hb: &HourBatch) -> Result<(), Error> {
        let mut batch = hb.batch.clone();
        let part = (hb.log_type, hb.hour);
        while batch.num_rows() > 0 {
            if !self.open.contains_key(&part) {
                self.open_file(part)?;
            }
            self.tick += 1;
            let Some(file) = self.open.get_mut(&part) else {
                continue;
            };
            file.last_used = self.tick;
            let room = self.opts.max_file_rows.max(1) - file.rows;
            let n = room.min(batch.num_rows());
            let head = batch.slice(0, n);
            batch = batch.slice(n, batch.num_rows() - n);
            file.rows += n;
            let full = file.rows >= self.opts.max_file_rows;
            self.send(part, Command::Write { part, batch: head })?;
            if full {
                self.close(part)?;
            }
        }
        Ok(())
    }

    fn open_file(&mut self, part: Part) -> Result<(), Error> {
        if self.open.len() >= self.opts.max_open_files.max(1) {
            if let Some(oldest) = self
                .open
                .iter()
                .min_by_key(|(_, f)| f.last_used)
                .map(|(k, _)| *k)
            {
                self.close(oldest)?;
            }
        }
        let seq = self.seq.entry(part).or_insert(0);
        let key = format!(
            "{}/{}-{:04}.{}",
            partition::partition_dir(part.0, part.1),
            self.name,
            seq,
            self.opts.format.extension()
        );
        *seq += 1;
        self.open.insert(
            part,
            OpenFile {
                key: key.clone(),
                rows: 0,
                last_used: self.tick,
            },
        );
        self.send(part, Command::Open { part, key })
    }

    fn close(&mut self, part: Part) -> Result<(), Error> {
        let Some(file) = self.open.remove(&part) else {
            return Ok(());
        };
        self.send(part, Command::Close { part })?;
        self.written.push(WrittenFile {
            key: file.key,
            log_type: part.0,
            rows: file.rows as u64,
        });
        Ok(())
    }

    /// Queues `cmd` for the writer thread owning `part`; if that thread has stopped, returns
    /// the error that stopped it.
    fn send(&mut self, part: Part, cmd: Command) -> Result<(), Error> {
        let i = writer_of(part, self.writers.len());
        let Some(w) = self.writers.get_mut(i) else {
            return Err(Error::Worker("no writer thread".into()));
        };
        let sent = match &w.tx {
            Some(tx) => tx.send(cmd).is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        w.stop()?;
        Err(Error::Worker("a writer thread stopped".into()))
    }

    /// Closes every file and waits for the writer threads; returns the files written,
    /// sorted by key.
    pub fn finish(mut self) -> Result<Vec<WrittenFile>, Error> {
        let mut parts: Vec<_> = self.open.keys().copied().collect();
        parts.sort();
        for part in parts {
            self.close(part)?;
        }
        let mut first_error = None;
        for w in &mut self.writers {
            if let (Err(e), None) = (w.stop(), &first_error) {
                first_error = Some(e);
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        let mut written = std::mem::take(&mut self.written);
        written.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(written)
    }
}

impl Drop for TableSink {
    /// Without [`TableSink::finish`] (an error elsewhere): the writer threads stop, and the
    /// files they had open are dropped uncommitted, so nothing half-written appears.
    fn drop(&mut self) {
        for w in &mut self.writers {
            w.tx = None;
        }
        for w in &mut self.writers {
            if let Some(h) = w.handle.take() {
                let _ = h.join();
            }
        }
    }
}

/// The writer thread owning a partition's files: a hash of table and hour, so the tables
/// of one hour, and consecutive hours, spread over the threads.
fn writer_of(part: Part, writers: usize) -> usize {
    let h = (part.1 as u64)
        .wrapping_mul(LogType::ALL.len() as u64)
        .wrapping_add(part.0.index() as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((h >> 32) % writers.max(1) as u64) as usize
}

/// Arrow bytes a writer thread holds in batches not yet handed to a Parquet encoder;
/// beyond this, the file with the most pending rows starts its encoder.
const PENDING_BYTES: usize = 32 << 20;

/// A file being written by a writer thread. A Parquet file keeps its rows as Arrow
/// batches and is encoded in one go when it closes: most hourly files of a long input are
/// small, and an open Parquet encoder holds a zstd context pair and buffers per column.
/// Only files that grow large (see [`PENDING_BYTES`]) get their encoder early.
struct FileState {
    key: String,
    writer: Option<FileWriter>,
    pending: Vec<RecordBatch>,
    pending_bytes: usize,
}

impl FileState {
    /// Starts the encoder if needed and hands it the pending batches.
    fn drain(&mut self, part: Part, store: &dyn Store, opts: &TableOptions) -> Result<(), Error> {
        let writer = match &mut self.writer {
            Some(w) => w,
            None => self
                .writer
                .insert(new_file_writer(part, &self.key, store, opts)?),
        };
        for batch in self.pending.drain(..) {
            write_batch(&self.key, writer, &batch)?;
        }
        self.pending_bytes = 0;
        Ok(())
    }
}

fn new_file_writer(
    part: Part,
    key: &str,
    store: &dyn Store,
    opts: &TableOptions,
) -> Result<FileWriter, Error> {
    let object = store.create(key)?;
    Ok(match opts.format {
        Format::Parquet => {
            let wrap = |source| Error::Parquet {
                path: key.into(),
                source,
            };
            let (schema, options) = parquet_layout(part.0, opts.compression).map_err(wrap)?;
            let w = ArrowWriter::try_new_with_options(object, schema, options).map_err(wrap)?;
            FileWriter::Parquet(Box::new(w))
        }
        Format::Ndjson => FileWriter::Ndjson(object),
    })
}

/// The Arrow schema and the writer options of a table's Parquet files. The Parquet schema
/// and the encoded Arrow schema (`ARROW:schema`) are computed once per thread and table,
/// not for every file: a year of hourly files is tens of thousands of them.
fn parquet_layout(
    log_type: LogType,
    compression: Compression,
) -> Result<(SchemaRef, ArrowWriterOptions), ParquetError> {
    type Layout = (SchemaRef, WriterProperties, SchemaDescriptor);
    thread_local! {
        static LAYOUTS: RefCell<HashMap<(LogType, Compression), Arc<Layout>>> =
            RefCell::new(HashMap::new());
    }
    let layout = match LAYOUTS.with(|l| l.borrow().get(&(log_type, compression)).cloned()) {
        Some(l) => l,
        None => {
            let schema = crate::columns::schema(log_type);
            let mut props = writer_properties(log_type, compression);
            add_encoded_arrow_schema_to_metadata(&schema, &mut props);
            let descr = ArrowSchemaConverter::new()
                .with_coerce_types(props.coerce_types())
                .convert(&schema)?;
            let l = Arc::new((schema, props, descr));
            LAYOUTS.with(|c| {
                c.borrow_mut()
                    .insert((log_type, compression), Arc::clone(&l))
            });
            l
        }
    };
    let (schema, props, descr) = layout.as_ref();
    let options = ArrowWriterOptions::new()
        .with_properties(props.clone())
        .with_skip_arrow_metadata(true)
        .with_parquet_schema(descr.clone());
    Ok((Arc::clone(schema), options))
}

/// The memory a batch holds, counting a slice as its share of the buffers it shares with
/// the rest of its block (an over-estimate for all but a block's last slice).
fn slice_bytes(batch: &RecordBatch) -> usize {
    let rows = batch
        .columns()
        .iter()
        .map(|c| c.offset() + c.len())
        .max()
        .unwrap_or(0);
    batch.get_array_memory_size() * batch.num_rows() / rows.max(1)
}

/// A writer thread: fills, encodes and commits the files it is told to, until the sink
/// hangs up. Stops at the first error, which the sink reports.
fn writer_loop(store: &dyn Store, opts: TableOptions, rx: Receiver<Command>) -> Result<(), Error> {
    let mut files: HashMap<Part, FileState> = HashMap::new();
    let mut pending_bytes = 0usize;
    for cmd in rx {
        match cmd {
            Command::Open { part, key } => {
                let writer = match opts.format {
                    Format::Parquet => None,
                    Format::Ndjson => Some(new_file_writer(part, &key, store, &opts)?),
                };
                files.insert(
                    part,
                    FileState {
                        key,
                        writer,
                        pending: Vec::new(),
                        pending_bytes: 0,
                    },
                );
            }
            Command::Write { part, batch } => {
                let Some(file) = files.get_mut(&part) else {
                    continue;
                };
                if let (Format::Ndjson, Some(w)) = (opts.format, file.writer.as_mut()) {
                    write_batch(&file.key, w, &batch)?;
                    continue;
                }
                let bytes = slice_bytes(&batch);
                file.pending.push(batch);
                file.pending_bytes += bytes;
                pending_bytes += bytes;
                while pending_bytes > PENDING_BYTES {
                    let Some((&big, _)) = files.iter().max_by_key(|(_, f)| f.pending_bytes) else {
                        break;
                    };
                    let Some(file) = files.get_mut(&big) else {
                        break;
                    };
                    pending_bytes -= file.pending_bytes;
                    file.drain(big, store, &opts)?;
                }
            }
            Command::Close { part } => {
                let Some(mut file) = files.remove(&part) else {
                    continue;
                };
                pending_bytes -= file.pending_bytes;
                file.drain(part, store, &opts)?;
                let object = match file.writer {
                    Some(FileWriter::Parquet(w)) => {
                        w.into_inner().map_err(|source| Error::Parquet {
                            path: file.key.clone().into(),
                            source,
                        })?
                    }
                    Some(FileWriter::Ndjson(o)) => o,
                    None => continue,
                };
                object.commit()?;
            }
        }
    }
    Ok(())
}

fn write_batch(key: &str, writer: &mut FileWriter, batch: &RecordBatch) -> Result<(), Error> {
    match writer {
        FileWriter::Parquet(w) => w.write(batch).map_err(|source| Error::Parquet {
            path: key.into(),
            source,
        }),
        FileWriter::Ndjson(o) => ndjson::write_batch(o, batch).map_err(|source| Error::Write {
            path: key.into(),
            source,
        }),
    }
}
