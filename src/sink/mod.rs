//! Writing tables: Hive partitions by event hour (or day, or month), Parquet or NDJSON files, atomic objects,
//! and rejected events.

pub mod encoder;
pub mod ndjson;
pub mod partition;
pub mod rejected;
pub mod store;

use crate::error::Error;
use crate::logtype::LogType;
use crate::pipeline::HourRows;
use arrow_array::RecordBatch;
use encoder::{EncoderState, ParquetOutput};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
pub use partition::Partition;
use std::collections::HashMap;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
pub use store::{Listed, LocalStore, ObjectWriter, Store};

/// Rows per Parquet row group, at most.
pub const DEFAULT_ROW_GROUP_ROWS: usize = 128 * 1024;
/// Arrow bytes of the rows of a Parquet row group, at most: bounds the memory of an open
/// file whatever its rows are like.
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
    /// The format's name, also its files' extension: `parquet` or `ndjson`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Ndjson => "ndjson",
        }
    }

    fn extension(self) -> &'static str {
        self.name()
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
    /// This codec in parquet-rs's terms (for readers of jwas's files that use it).
    pub fn parquet(self) -> parquet::basic::Compression {
        use parquet::basic::{Compression as P, GzipLevel, ZstdLevel};
        match self {
            Compression::Zstd(level) => P::ZSTD(
                ZstdLevel::try_new(level)
                    .or_else(|_| ZstdLevel::try_new(DEFAULT_ZSTD_LEVEL))
                    .unwrap_or_default(),
            ),
            Compression::Snappy => P::SNAPPY,
            Compression::Gzip => P::GZIP(GzipLevel::default()),
            Compression::None => P::UNCOMPRESSED,
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
    /// Threads encoding and writing files (default: all cores); 0 encodes and writes them
    /// on the thread writing to the sink (for many small inputs side by side, each on a
    /// thread of its own).
    pub writers: usize,
    /// How deep the partition path goes (default: the hour).
    pub partition: Partition,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            format: Format::Parquet,
            compression: Compression::Zstd(DEFAULT_ZSTD_LEVEL),
            max_file_rows: DEFAULT_MAX_FILE_ROWS,
            max_open_files: DEFAULT_MAX_OPEN_FILES,
            writers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            partition: Partition::Hour,
        }
    }
}

/// The settings of jwas's Parquet files in parquet-rs's terms: codec, row groups of at
/// most 128 Ki rows and 32 MiB, statistics per column chunk (min, max, null count; no
/// page-level column index, which costs more than it saves on files of a few thousand
/// rows), and the `jwas.*` key-value metadata. jwas writes its files with its own encoder
/// ([`parquet`]); this is for writing files like them with parquet-rs.
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

/// A table and the first hour (hours since the epoch) of a partition.
type TablePart = (LogType, i64);

/// What the sink knows of a file it opened: the work on it happens in a writer thread.
struct OpenFile {
    key: String,
    rows: usize,
    last_used: u64,
}

/// Work for a writer thread. Each file belongs to exactly one writer thread, and its
/// commands arrive in order, so rows keep their input order.
enum Command {
    Open { part: TablePart, key: String },
    Write { part: TablePart, batch: RecordBatch },
    Close { part: TablePart },
}

/// Lists of commands queued per writer thread (about one list per parsed block): bounds
/// the memory of batches not yet encoded.
const WRITER_QUEUE: usize = 8;
/// Commands gathered for a writer thread before they are handed over (at the latest at
/// the end of each block, see [`TableSink::flush`]): one wake-up per list, not per
/// command, which mattered for inputs of many small files.
const MAX_GATHERED: usize = 256;

struct WriterThread {
    tx: Option<SyncSender<Vec<Command>>>,
    handle: Option<JoinHandle<Result<(), Error>>>,
    gathered: Vec<Command>,
}

impl WriterThread {
    /// Hands the gathered commands to the thread; false if it has stopped.
    fn hand_over(&mut self) -> bool {
        if self.gathered.is_empty() {
            return true;
        }
        let cmds = std::mem::take(&mut self.gathered);
        match &self.tx {
            Some(tx) => tx.send(cmds).is_ok(),
            None => false,
        }
    }

    /// Hangs up and waits for the thread: its result, or why it has none.
    fn stop(&mut self) -> Result<(), Error> {
        self.gathered.clear();
        self.tx = None;
        match self.handle.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(Error::Worker("a writer thread panicked".into())),
            None => Err(Error::Worker("a writer thread stopped".into())),
        }
    }
}

/// Writes the batches of one run (one input, or one batch of inputs) into partitions by
/// hour, day or month ([`TableOptions::partition`]); a file holds its rows in input order. File names are `<name>-<seq>.<ext>`: `name` comes from the identity of
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
    open: HashMap<TablePart, OpenFile>,
    seq: HashMap<TablePart, u32>,
    tick: u64,
    written: Vec<WrittenFile>,
    writers: Vec<WriterThread>,
    /// Without writer threads: the files, encoded and written by the caller's thread.
    inline: Option<ThreadFiles>,
    store: Arc<dyn Store>,
}

impl TableSink {
    /// A sink writing files named after `name` into `store`.
    pub fn new(store: Arc<dyn Store>, opts: TableOptions, name: String) -> TableSink {
        let inline = (opts.writers == 0).then(|| ThreadFiles::new(Arc::clone(&store), opts));
        let writers = (0..opts.writers)
            .map(|i| {
                let (tx, rx) = sync_channel(WRITER_QUEUE);
                let store = Arc::clone(&store);
                let handle = std::thread::Builder::new()
                    .name(format!("jwas-write-{i}"))
                    .spawn(move || writer_loop(store, opts, rx));
                match handle {
                    Ok(h) => WriterThread {
                        tx: Some(tx),
                        handle: Some(h),
                        gathered: Vec::new(),
                    },
                    // No thread: the first command to it reports the failure.
                    Err(_) => WriterThread {
                        tx: None,
                        handle: None,
                        gathered: Vec::new(),
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
            inline,
            store,
        }
    }

    /// Appends a block's rows of one table and hour.
    pub fn write(&mut self, hb: &HourRows) -> Result<(), Error> {
        let mut batch = hb.batch.clone();
        let part = (hb.log_type, self.opts.partition.start(hb.hour));
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

    fn open_file(&mut self, part: TablePart) -> Result<(), Error> {
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
            self.opts.partition.dir(part.0, part.1),
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

    fn close(&mut self, part: TablePart) -> Result<(), Error> {
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
    fn send(&mut self, part: TablePart, cmd: Command) -> Result<(), Error> {
        if let Some(w) = &mut self.inline {
            return w.apply(cmd);
        }
        let i = writer_of(part, self.writers.len());
        let Some(w) = self.writers.get_mut(i) else {
            return Err(Error::Worker("no writer thread".into()));
        };
        w.gathered.push(cmd);
        if w.gathered.len() < MAX_GATHERED || w.hand_over() {
            return Ok(());
        }
        w.stop()?;
        Err(Error::Worker("a writer thread stopped".into()))
    }

    /// Hands every command gathered so far to the writer threads (call it after each
    /// block's batches); if a thread has stopped, returns the error that stopped it.
    pub fn flush(&mut self) -> Result<(), Error> {
        for w in &mut self.writers {
            if !w.hand_over() {
                w.stop()?;
                return Err(Error::Worker("a writer thread stopped".into()));
            }
        }
        Ok(())
    }

    /// Closes every file and waits for the writer threads; returns the files written,
    /// sorted by key. If any file fails, none is left: those committed are removed.
    pub fn finish(mut self) -> Result<Vec<WrittenFile>, Error> {
        let mut parts: Vec<_> = self.open.keys().copied().collect();
        parts.sort();
        let mut first_error = None;
        for part in parts {
            if let Err(e) = self.close(part) {
                first_error = Some(e);
                break;
            }
        }
        if first_error.is_none() {
            first_error = self.flush().err();
        }
        for w in &mut self.writers {
            if let (Err(e), None) = (w.stop(), &first_error) {
                first_error = Some(e);
            }
        }
        if let Some(e) = first_error {
            self.remove_written();
            return Err(e);
        }
        let mut written = std::mem::take(&mut self.written);
        written.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(written)
    }

    /// Removes the files closed so far (once their uploads are done), so that what failed
    /// leaves nothing behind. Removal failures are logged.
    fn remove_written(&mut self) {
        let _ = self.store.sync();
        for f in std::mem::take(&mut self.written) {
            if let Err(e) = self.store.remove(&f.key) {
                tracing::error!(
                    "removing {} after a failure: {e}",
                    self.store.location(&f.key)
                );
            }
        }
    }
}

impl TableSink {
    /// Gives up: the open files are dropped, never committed, and those closed before
    /// (to bound open files, or at `--max-file-rows`) are removed again, so that a failed
    /// input leaves no output.
    pub fn abort(mut self) {
        self.inline = None;
        for w in &mut self.writers {
            w.gathered.clear();
            w.tx = None;
        }
        for w in &mut self.writers {
            if let Some(h) = w.handle.take() {
                let _ = h.join();
            }
        }
        self.remove_written();
    }

    /// Removes files this sink wrote and [`TableSink::finish`] returned (when what should
    /// have been written with them failed).
    pub fn remove(store: &dyn Store, files: &[WrittenFile]) {
        let _ = store.sync();
        for f in files {
            if let Err(e) = store.remove(&f.key) {
                tracing::error!("removing {} after a failure: {e}", store.location(&f.key));
            }
        }
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
fn writer_of(part: TablePart, writers: usize) -> usize {
    let h = (part.1 as u64)
        .wrapping_mul(LogType::ALL.len() as u64)
        .wrapping_add(part.0.index() as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((h >> 32) % writers.max(1) as u64) as usize
}

/// Arrow bytes a writer thread holds in rows not yet encoded; beyond this, the file with
/// the most pending rows writes them as a row group.
const PENDING_BYTES: usize = 64 << 20;

/// A file being written by a writer thread. Rows wait as Arrow batches (slices of the
/// parsed blocks) until a row group is complete, the file closes, or the thread holds too
/// much: most hourly files of a long input are small, and are encoded in one go and
/// written with one call when they close. A Parquet file's object is created when its
/// first row group is written.
struct FileState {
    key: String,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    pending_bytes: usize,
    /// A Parquet file with row groups written to its object.
    parquet: Option<ParquetOutput<Box<dyn ObjectWriter>>>,
    /// An NDJSON file's object.
    ndjson: Option<Box<dyn ObjectWriter>>,
}

/// What a writer thread reuses from file to file.
struct FileOutput {
    store: Arc<dyn Store>,
    compression: Compression,
    encoder: EncoderState,
    /// The bytes of a file not yet written to its object.
    out: Vec<u8>,
}

impl FileOutput {
    /// Encodes `batches` as a row group of `file` (starting the file if needed) and writes
    /// it out.
    fn row_group(
        &mut self,
        part: TablePart,
        file: &mut FileState,
        batches: &[RecordBatch],
    ) -> Result<(), Error> {
        let store = &*self.store;
        let wrap = |key: &str, source| Error::Write {
            path: store.location(key).into(),
            source,
        };
        self.out.clear();
        let pq = match &mut file.parquet {
            Some(p) => p,
            None => {
                let object = self.store.create(&file.key)?;
                file.parquet.insert(ParquetOutput::new(
                    part.0,
                    self.compression,
                    object,
                    &mut self.out,
                ))
            }
        };
        pq.row_group(batches, &mut self.encoder, &mut self.out)
            .map_err(|e| wrap(&file.key, e))
    }

    /// Writes the pending rows of `file` as row groups of at most
    /// [`DEFAULT_ROW_GROUP_ROWS`] rows; with `keep_partial`, rows that do not fill a
    /// whole row group stay pending.
    fn drain(
        &mut self,
        part: TablePart,
        file: &mut FileState,
        keep_partial: bool,
    ) -> Result<(), Error> {
        let mut batches = std::mem::take(&mut file.pending);
        file.pending_rows = 0;
        file.pending_bytes = 0;
        let mut group: Vec<RecordBatch> = Vec::new();
        let mut group_rows = 0;
        for batch in batches.drain(..) {
            let mut batch = batch;
            while group_rows + batch.num_rows() >= DEFAULT_ROW_GROUP_ROWS {
                let take = DEFAULT_ROW_GROUP_ROWS - group_rows;
                group.push(batch.slice(0, take));
                batch = batch.slice(take, batch.num_rows() - take);
                self.row_group(part, file, &group)?;
                group.clear();
                group_rows = 0;
            }
            if batch.num_rows() > 0 {
                group_rows += batch.num_rows();
                group.push(batch);
            }
        }
        if keep_partial {
            file.pending_rows = group_rows;
            file.pending_bytes = group.iter().map(slice_bytes).sum();
            file.pending = group;
        } else if group_rows > 0 {
            self.row_group(part, file, &group)?;
        }
        Ok(())
    }

    /// Completes `file` and commits its object.
    fn close(&mut self, part: TablePart, mut file: FileState) -> Result<(), Error> {
        if let Some(object) = file.ndjson.take() {
            return object.commit();
        }
        let store = Arc::clone(&self.store);
        let wrap = |key: &str, source| Error::Write {
            path: store.location(key).into(),
            source,
        };
        if file.parquet.is_none() && file.pending_rows < DEFAULT_ROW_GROUP_ROWS {
            // A small file: encoded whole, then written with one call.
            self.out.clear();
            encoder::encode_whole(
                part.0,
                self.compression,
                &file.pending,
                &mut self.encoder,
                &mut self.out,
            )
            .map_err(|e| wrap(&file.key, e))?;
            return self.store.put(&file.key, &self.out);
        }
        self.drain(part, &mut file, false)?;
        let Some(pq) = file.parquet.take() else {
            return Ok(());
        };
        self.out.clear();
        pq.finish(&mut self.out)
            .map_err(|e| wrap(&file.key, e))?
            .commit()
    }
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
fn writer_loop(
    store: Arc<dyn Store>,
    opts: TableOptions,
    rx: Receiver<Vec<Command>>,
) -> Result<(), Error> {
    let mut writer = ThreadFiles::new(store, opts);
    for cmd in rx.into_iter().flatten() {
        writer.apply(cmd)?;
    }
    Ok(())
}

thread_local! {
    /// The encoder (zstd context and buffers) of the last [`ThreadFiles`] of this thread,
    /// for the next: a thread parsing small inputs one after another with inline sinks
    /// sets it up once, not per input.
    static SPARE_ENCODER: std::cell::RefCell<Option<EncoderState>> =
        const { std::cell::RefCell::new(None) };
}

/// Fills, encodes and commits the files of some partitions as the sink's commands say: on
/// a writer thread, or on the thread writing to the sink when it has no writer threads
/// ([`TableOptions::writers`] 0).
struct ThreadFiles {
    format: Format,
    files: HashMap<TablePart, FileState>,
    state: FileOutput,
    /// Arrow bytes pending in all files.
    pending_bytes: usize,
}

impl ThreadFiles {
    fn new(store: Arc<dyn Store>, opts: TableOptions) -> ThreadFiles {
        let encoder = SPARE_ENCODER
            .with(|spare| spare.borrow_mut().take())
            .unwrap_or_default();
        ThreadFiles {
            format: opts.format,
            files: HashMap::new(),
            state: FileOutput {
                store,
                compression: opts.compression,
                encoder,
                out: Vec::new(),
            },
            pending_bytes: 0,
        }
    }

    fn apply(&mut self, cmd: Command) -> Result<(), Error> {
        let ThreadFiles {
            format,
            files,
            state,
            pending_bytes,
        } = self;
        match cmd {
            Command::Open { part, key } => {
                let ndjson = match format {
                    Format::Ndjson => Some(state.store.create(&key)?),
                    Format::Parquet => None,
                };
                files.insert(
                    part,
                    FileState {
                        key,
                        pending: Vec::new(),
                        pending_rows: 0,
                        pending_bytes: 0,
                        parquet: None,
                        ndjson,
                    },
                );
            }
            Command::Write { part, batch } => {
                let Some(file) = files.get_mut(&part) else {
                    return Ok(());
                };
                if let Some(o) = file.ndjson.as_mut() {
                    return ndjson::write_batch(o, &batch).map_err(|source| Error::Write {
                        path: state.store.location(&file.key).into(),
                        source,
                    });
                }
                let bytes = slice_bytes(&batch);
                file.pending_rows += batch.num_rows();
                file.pending_bytes += bytes;
                file.pending.push(batch);
                *pending_bytes += bytes;
                if file.pending_rows >= DEFAULT_ROW_GROUP_ROWS
                    || file.pending_bytes >= DEFAULT_ROW_GROUP_BYTES
                {
                    let before = file.pending_bytes;
                    let full = file.pending_bytes >= DEFAULT_ROW_GROUP_BYTES;
                    state.drain(part, file, !full)?;
                    *pending_bytes -= before - file.pending_bytes;
                }
                while *pending_bytes > PENDING_BYTES {
                    let Some((&big, _)) = files.iter().max_by_key(|(_, f)| f.pending_bytes) else {
                        break;
                    };
                    let Some(file) = files.get_mut(&big) else {
                        break;
                    };
                    *pending_bytes -= file.pending_bytes;
                    state.drain(big, file, false)?;
                }
            }
            Command::Close { part } => {
                let Some(file) = files.remove(&part) else {
                    return Ok(());
                };
                *pending_bytes -= file.pending_bytes;
                state.close(part, file)?;
            }
        }
        Ok(())
    }
}

impl Drop for ThreadFiles {
    /// Files still open are dropped uncommitted; the encoder is kept for the thread's next
    /// writer.
    fn drop(&mut self) {
        let encoder = std::mem::take(&mut self.state.encoder);
        let _ = SPARE_ENCODER.try_with(|spare| *spare.borrow_mut() = Some(encoder));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{parse_block, ParseContext};
    use crate::testing::TempDir;

    /// The rows of testdata/mixed.log, by table and hour.
    fn rows() -> Vec<HourRows> {
        let data =
            std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/mixed.log")).unwrap();
        let t = chrono::DateTime::parse_from_rfc3339("2024-03-21T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        parse_block(&data, 0, &ParseContext::new("mixed.log", t))
            .unwrap()
            .hours
    }

    fn options(writers: usize) -> TableOptions {
        TableOptions {
            max_file_rows: 2,
            writers,
            ..TableOptions::default()
        }
    }

    /// Writes the rows into `dir` and returns the files with their bytes.
    fn write(dir: &TempDir, opts: TableOptions) -> Vec<(WrittenFile, Vec<u8>)> {
        let store: Arc<dyn Store> = Arc::new(LocalStore::new(&dir.0));
        let mut sink = TableSink::new(Arc::clone(&store), opts, "m".into());
        for hb in &rows() {
            sink.write(hb).unwrap();
            sink.flush().unwrap();
        }
        let files = sink.finish().unwrap();
        files
            .into_iter()
            .map(|f| {
                let bytes = std::fs::read(dir.0.join(&f.key)).unwrap();
                (f, bytes)
            })
            .collect()
    }

    #[test]
    fn files_roll_over_and_do_not_depend_on_the_writer_threads() {
        let (a, b) = (TempDir::new("sink-inline"), TempDir::new("sink-threads"));
        let inline = write(&a, options(0));
        let threads = write(&b, options(3));
        assert_eq!(inline, threads);
        let rows: usize = rows().iter().map(|hb| hb.batch.num_rows()).sum();
        assert_eq!(inline.iter().map(|(f, _)| f.rows).sum::<u64>(), rows as u64);
        for (f, bytes) in &inline {
            assert!(f.rows <= 2, "{f:?}");
            // Read back: a whole Parquet file with the rows it says.
            let reader =
                parquet::file::reader::SerializedFileReader::new(bytes::Bytes::from(bytes.clone()))
                    .unwrap();
            let meta = parquet::file::reader::FileReader::metadata(&reader);
            assert_eq!(meta.file_metadata().num_rows() as u64, f.rows);
            assert!(f.key.starts_with(f.log_type.table()), "{}", f.key);
            assert!(f.key.contains("/m-"), "{}", f.key);
        }
        // A partition holding more rows than a file takes has several, numbered.
        assert!(inline.iter().any(|(f, _)| f.key.ends_with("-0001.parquet")));
    }

    #[test]
    fn an_aborted_sink_leaves_nothing() {
        let dir = TempDir::new("sink-abort");
        let store: Arc<dyn Store> = Arc::new(LocalStore::new(&dir.0));
        let mut sink = TableSink::new(store, options(2), "m".into());
        for hb in &rows() {
            sink.write(hb).unwrap();
        }
        sink.flush().unwrap();
        sink.abort();
        assert_eq!(dir.files(), Vec::<String>::new());
    }
}
