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
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression as ParquetCompression, GzipLevel, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use std::collections::HashMap;
use std::sync::Arc;
pub use store::{LocalStore, ObjectWriter, Store};

/// Rows per Parquet row group, at most.
pub const DEFAULT_ROW_GROUP_ROWS: usize = 128 * 1024;
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// zstd at [`DEFAULT_ZSTD_LEVEL`].
    Zstd,
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
            Compression::Zstd => {
                ParquetCompression::ZSTD(ZstdLevel::try_new(DEFAULT_ZSTD_LEVEL).unwrap_or_default())
            }
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
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            format: Format::Parquet,
            compression: Compression::Zstd,
            max_file_rows: DEFAULT_MAX_FILE_ROWS,
            max_open_files: DEFAULT_MAX_OPEN_FILES,
        }
    }
}

/// Parquet writer settings: codec, row groups of at most 128 Ki rows, statistics and
/// dictionary encoding on (the defaults), and the `jwas.*` key-value metadata.
pub fn writer_properties(log_type: LogType, compression: Compression) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(compression.parquet())
        .set_max_row_group_row_count(Some(DEFAULT_ROW_GROUP_ROWS))
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

struct OpenFile {
    writer: FileWriter,
    key: String,
    rows: usize,
    last_used: u64,
}

/// Writes the batches of one run (one input, or one batch of inputs) into hourly
/// partitions. File names are `<name>-<seq>.<ext>`: `name` comes from the identity of
/// the inputs, and `seq` counts the files of one partition in the order they are opened, so
/// running the same input again writes the same keys.
pub struct TableSink {
    store: Arc<dyn Store>,
    opts: TableOptions,
    name: String,
    open: HashMap<(LogType, i64), OpenFile>,
    seq: HashMap<(LogType, i64), u32>,
    tick: u64,
    written: Vec<WrittenFile>,
}

impl TableSink {
    /// A sink writing files named after `name` into `store`.
    pub fn new(store: Arc<dyn Store>, opts: TableOptions, name: String) -> TableSink {
        TableSink {
            store,
            opts,
            name,
            open: HashMap::new(),
            seq: HashMap::new(),
            tick: 0,
            written: Vec::new(),
        }
    }

    /// Appends a block's rows of one table and hour.
    pub fn write(&mut self, hb: &HourBatch) -> Result<(), Error> {
        let mut batch = hb.batch.clone();
        while batch.num_rows() > 0 {
            let part = (hb.log_type, hb.hour);
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
            write_batch(file, &head)?;
            file.rows += n;
            if file.rows >= self.opts.max_file_rows {
                self.close(part)?;
            }
        }
        Ok(())
    }

    fn open_file(&mut self, part: (LogType, i64)) -> Result<(), Error> {
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
        let object = self.store.create(&key)?;
        let writer = match self.opts.format {
            Format::Parquet => {
                let props = writer_properties(part.0, self.opts.compression);
                let w = ArrowWriter::try_new(object, crate::columns::schema(part.0), Some(props))
                    .map_err(|source| Error::Parquet {
                    path: key.clone().into(),
                    source,
                })?;
                FileWriter::Parquet(Box::new(w))
            }
            Format::Ndjson => FileWriter::Ndjson(object),
        };
        self.open.insert(
            part,
            OpenFile {
                writer,
                key,
                rows: 0,
                last_used: self.tick,
            },
        );
        Ok(())
    }

    fn close(&mut self, part: (LogType, i64)) -> Result<(), Error> {
        let Some(file) = self.open.remove(&part) else {
            return Ok(());
        };
        let object = match file.writer {
            FileWriter::Parquet(w) => w.into_inner().map_err(|source| Error::Parquet {
                path: file.key.clone().into(),
                source,
            })?,
            FileWriter::Ndjson(o) => o,
        };
        object.commit()?;
        self.written.push(WrittenFile {
            key: file.key,
            log_type: part.0,
            rows: file.rows as u64,
        });
        Ok(())
    }

    /// Closes every file; returns the files written, in the order they were completed.
    pub fn finish(mut self) -> Result<Vec<WrittenFile>, Error> {
        let mut parts: Vec<_> = self.open.keys().copied().collect();
        parts.sort();
        for part in parts {
            self.close(part)?;
        }
        Ok(self.written)
    }
}

fn write_batch(file: &mut OpenFile, batch: &RecordBatch) -> Result<(), Error> {
    match &mut file.writer {
        FileWriter::Parquet(w) => w.write(batch).map_err(|source| Error::Parquet {
            path: file.key.clone().into(),
            source,
        }),
        FileWriter::Ndjson(o) => ndjson::write_batch(o, batch).map_err(|source| Error::Write {
            path: file.key.clone().into(),
            source,
        }),
    }
}
