//! `jwas compact`: merges the files of each partition of an output tree (a directory or an
//! `s3://` prefix) into as few files as `max_file_rows` allows, rows sorted by
//! `p_event_time` then `p_row_id`, duplicates removed.
//!
//! # What is merged
//! A partition is a directory `<table>/year=…[/month=…[/day=…[/hour=…]]]` under the root,
//! at any of the levels `--partition` writes. Its files are the `*.parquet` files in it
//! (names starting with `.` or `_` are not files of the table). A partition is merged when
//! it has more than one file, unless its files are exactly the output of one earlier
//! compaction (`compacted-<hash>-<seq>.parquet`, split by `max_file_rows`): running compact
//! twice does nothing the second time.
//!
//! A duplicate is a row with the same `p_row_id` and the same `p_event_time` as another: the
//! same event of the same input parsed twice (at-least-once delivery, a rerun under another
//! batch name). One copy is kept.
//!
//! # Crash safety
//! Each merge is written ahead in a manifest, `_jwas-compact-<hash>.json` in the partition
//! (readers skip `_` files): `<hash>` derives from the names of the files merged, and so do
//! the merged files' names. The steps:
//! 1. the manifest, state `writing`, naming the files to merge;
//! 2. the merged files, each whole (renamed into place, or a completed PUT), all stored;
//! 3. the manifest again, state `complete`, naming the merged files too;
//! 4. the merged-away files are removed, then the manifest.
//!
//! A run that finds a manifest first finishes or undoes the merge it describes: `complete`,
//! it removes the merged-away files still there; `writing`, it removes the merged files
//! written so far (the files they came from are all still there). Either way no row is lost
//! or left twice, and the partition is then compacted as usual, to the same names. Two
//! compactions of the same partition must not run at once; parsing into it meanwhile is
//! fine (a file that arrives during a merge is merged next time).
//!
//! # Memory
//! A partition is streamed: its rows are read in batches and sorted in runs of at most
//! [`CompactOptions::memory_bytes`] / threads; a partition larger than one run is spilled
//! to sorted temporary files (in the system's temporary directory, unlinked at once) and
//! merged from them, a batch per run at a time. Memory does not grow with the partition.

use crate::error::Error;
use crate::logtype::LogType;
use crate::sink::encoder::{EncoderState, ParquetFile};
use crate::sink::{Compression, Store, DEFAULT_ROW_GROUP_BYTES, DEFAULT_ROW_GROUP_ROWS};
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMillisecondType;
use arrow_array::{Array, RecordBatch};
use arrow_schema::SchemaRef;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use std::collections::{BTreeMap, BinaryHeap};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Rows per batch read, sorted and written.
const CHUNK_ROWS: usize = 8192;
/// Rows per row group of a spilled run: what the merge holds per run.
const SPILL_GROUP_ROWS: usize = 1024;
/// S3 objects up to this size are read in memory; larger ones are spooled to a temporary
/// file.
#[cfg(feature = "s3")]
const IN_MEMORY_OBJECT_BYTES: u64 = 64 << 20;
/// Default memory for sorting, over all threads.
pub const DEFAULT_MEMORY_BYTES: usize = 192 << 20;
/// Prefix of the names of merged files.
const MERGED_PREFIX: &str = "compacted-";
/// Prefix of the names of manifests.
const MANIFEST_PREFIX: &str = "_jwas-compact-";

/// What to compact and how.
#[derive(Clone, Debug)]
pub struct CompactOptions {
    /// Only this table (default: all).
    pub table: Option<LogType>,
    /// Only partitions whose time range ends after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only partitions whose time range starts before this instant.
    pub until: Option<DateTime<Utc>>,
    /// Rows per merged file at most.
    pub max_file_rows: usize,
    /// Compression of the merged files.
    pub compression: Compression,
    /// Partitions merged at once.
    pub threads: usize,
    /// Memory for sorting, shared by the threads.
    pub memory_bytes: usize,
    /// Plan only: nothing is read, written or removed.
    pub dry_run: bool,
}

impl Default for CompactOptions {
    fn default() -> Self {
        CompactOptions {
            table: None,
            since: None,
            until: None,
            max_file_rows: crate::sink::DEFAULT_MAX_FILE_ROWS,
            compression: Compression::Zstd(crate::sink::DEFAULT_ZSTD_LEVEL),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_bytes: DEFAULT_MEMORY_BYTES,
            dry_run: false,
        }
    }
}

/// An output tree: a local directory or an `s3://` prefix.
pub enum Location {
    /// A directory.
    Local(PathBuf),
    /// Objects under an `s3://bucket/prefix/`.
    #[cfg(feature = "s3")]
    S3 {
        /// The client.
        s3: Arc<crate::s3::S3>,
        /// The prefix.
        uri: crate::source::S3Uri,
    },
}

/// An object under the root: its key (relative, `/`-separated) and size.
#[derive(Clone, Debug)]
struct Object {
    key: String,
    size: u64,
}

/// A file to read Parquet from.
enum Fetched {
    File(File),
    #[cfg(feature = "s3")]
    Bytes(bytes::Bytes),
}

impl Location {
    /// The tree at `out`: `s3://bucket/prefix` (needs `s3`) or a directory.
    #[cfg(feature = "s3")]
    pub fn new(out: &str, s3: Option<&Arc<crate::s3::S3>>) -> Result<Location, Error> {
        match crate::source::S3Uri::parse(out).transpose()? {
            Some(uri) => match s3 {
                Some(s3) => {
                    s3.check_bucket(&uri)?;
                    Ok(Location::S3 {
                        s3: Arc::clone(s3),
                        uri,
                    })
                }
                None => Err(Error::Input {
                    input: out.to_owned(),
                    reason: "an s3:// location needs an S3 client".into(),
                }),
            },
            None => Ok(Location::Local(PathBuf::from(out))),
        }
    }

    /// Where merged files and manifests are written: durable, since files are removed
    /// once they are.
    fn store(&self) -> Arc<dyn Store> {
        match self {
            Location::Local(root) => Arc::new(crate::sink::LocalStore::durable(root)),
            #[cfg(feature = "s3")]
            Location::S3 { s3, uri } => Arc::new(crate::s3::S3Store::new(Arc::clone(s3), uri)),
        }
    }

    fn display(&self, key: &str) -> String {
        match self {
            Location::Local(root) => root.join(key).display().to_string(),
            #[cfg(feature = "s3")]
            Location::S3 { uri, .. } => format!("s3://{}/{}{key}", uri.bucket, uri.folder()),
        }
    }

    /// Every object under the root, or only under its folder `table` (`--table`), keys
    /// relative to the root.
    fn list(&self, table: Option<&str>) -> Result<Vec<Object>, Error> {
        match self {
            Location::Local(root) => {
                let meta = std::fs::metadata(root).map_err(|e| Error::Input {
                    input: root.display().to_string(),
                    reason: e.to_string(),
                })?;
                if !meta.is_dir() {
                    return Err(Error::Input {
                        input: root.display().to_string(),
                        reason: "not a directory".into(),
                    });
                }
                let mut out = Vec::new();
                match table {
                    Some(t) if root.join(t).is_dir() => {
                        walk(&root.join(t), &format!("{t}/"), &mut out)?
                    }
                    Some(_) => {}
                    None => walk(root, "", &mut out)?,
                }
                Ok(out)
            }
            #[cfg(feature = "s3")]
            Location::S3 { s3, uri } => {
                let folder = uri.folder();
                let listed = s3.list(&crate::source::S3Uri {
                    bucket: uri.bucket.clone(),
                    key: match table {
                        Some(t) => format!("{folder}{t}/"),
                        None => folder.clone(),
                    },
                })?;
                Ok(listed
                    .into_iter()
                    .filter_map(|i| match i {
                        crate::source::Input::S3(o) => Some(Object {
                            key: o.key.strip_prefix(&folder)?.to_owned(),
                            size: o.size,
                        }),
                        _ => None,
                    })
                    .collect())
            }
        }
    }

    /// The whole of a small object (a manifest).
    fn read_all(&self, obj: &Object) -> Result<Vec<u8>, Error> {
        let read_err = |source| Error::Read {
            input: self.display(&obj.key),
            source,
        };
        match self {
            Location::Local(root) => std::fs::read(root.join(&obj.key)).map_err(read_err),
            #[cfg(feature = "s3")]
            Location::S3 { s3, uri } => s3.read_all(&self.s3_object(uri, obj)),
        }
    }

    #[cfg(feature = "s3")]
    fn s3_object(&self, uri: &crate::source::S3Uri, obj: &Object) -> crate::source::S3Object {
        crate::source::S3Object {
            bucket: uri.bucket.clone(),
            key: format!("{}{}", uri.folder(), obj.key),
            size: obj.size,
            etag: None,
            modified: None,
        }
    }

    /// A Parquet file to read.
    fn fetch(&self, obj: &Object) -> Result<Fetched, Error> {
        match self {
            Location::Local(root) => {
                File::open(root.join(&obj.key))
                    .map(Fetched::File)
                    .map_err(|source| Error::Read {
                        input: self.display(&obj.key),
                        source,
                    })
            }
            #[cfg(feature = "s3")]
            Location::S3 { s3, uri } => {
                let object = self.s3_object(uri, obj);
                if obj.size <= IN_MEMORY_OBJECT_BYTES {
                    return Ok(Fetched::Bytes(bytes::Bytes::from(s3.read_all(&object)?)));
                }
                let read_err = |source| Error::Read {
                    input: self.display(&obj.key),
                    source,
                };
                let mut file = anonymous_file().map_err(read_err)?;
                std::io::copy(&mut s3.open(&object), &mut file).map_err(read_err)?;
                Ok(Fetched::File(file))
            }
        }
    }
}

/// Collects the files under `dir` (`prefix` is its key), skipping hidden entries and
/// directories whose names start with `_` (`_rejected`).
fn walk(dir: &Path, prefix: &str, out: &mut Vec<Object>) -> Result<(), Error> {
    let io_err = |source| Error::Read {
        input: dir.display().to_string(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let key = format!("{prefix}{name}");
        let kind = entry.file_type().map_err(io_err)?;
        if kind.is_dir() {
            if !name.starts_with('_') {
                walk(&entry.path(), &format!("{key}/"), out)?;
            }
        } else if kind.is_file() {
            let size = entry.metadata().map_err(io_err)?.len();
            out.push(Object { key, size });
        }
    }
    Ok(())
}

/// A read-write temporary file that has no name: nothing is left behind however the
/// process ends.
fn anonymous_file() -> std::io::Result<File> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        ".jwas-compact-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}

/// A partition directory and what is in it.
#[derive(Clone, Debug)]
pub struct PartitionDir {
    /// Its key under the root, e.g. `juniper_access/year=2024/month=03/day=01`.
    pub dir: String,
    /// Its table.
    pub log_type: LogType,
    /// The instant its time range starts.
    pub start: DateTime<Utc>,
    files: Vec<Object>,
    manifests: Vec<Object>,
}

impl PartitionDir {
    /// Parquet files in it now.
    pub fn files(&self) -> usize {
        self.files.len()
    }

    /// True if merging would change it (more than one file, and not the files of one
    /// earlier compaction) or a manifest shows an interrupted run.
    pub fn needs_work(&self) -> bool {
        !self.manifests.is_empty() || needs_merge(&self.files)
    }
}

/// A file of a table: `*.parquet`, not hidden, not `_`, and a plain name (no path).
fn is_parquet_name(name: &str) -> bool {
    name.ends_with(".parquet") && !name.starts_with(['.', '_']) && !name.contains(['/', '\\'])
}

fn file_name(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

/// The `<hash>` of a merged file's name.
fn merged_hash(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(MERGED_PREFIX)?;
    let (hash, _) = rest.split_once('-')?;
    Some(hash)
}

fn needs_merge(files: &[Object]) -> bool {
    if files.len() <= 1 {
        return false;
    }
    let first = merged_hash(file_name(&files[0].key));
    first.is_none()
        || files
            .iter()
            .any(|f| merged_hash(file_name(&f.key)) != first)
}

/// The table and start of a partition directory, from its key; `None` for any other
/// directory.
fn parse_partition(dir: &str) -> Option<(LogType, DateTime<Utc>, DateTime<Utc>)> {
    let mut parts = dir.split('/');
    let table = parts.next()?;
    let log_type = LogType::ALL.into_iter().find(|t| t.table() == table)?;
    let mut values = [None::<u32>; 4];
    for (i, part) in parts.enumerate() {
        let key = crate::sink::Partition::Hour.keys().get(i)?;
        let value = part.strip_prefix(key)?.strip_prefix('=')?;
        values[i] = Some(value.parse().ok()?);
    }
    let year = values[0]? as i32;
    let month = values[1].unwrap_or(1);
    let day = values[2].unwrap_or(1);
    let hour = values[3].unwrap_or(0);
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let start = Utc.from_utc_datetime(&date.and_hms_opt(hour, 0, 0)?);
    let end = match (values[1], values[2], values[3]) {
        (Some(_), Some(_), Some(_)) => start + chrono::Duration::hours(1),
        (Some(_), Some(_), None) => start + chrono::Duration::days(1),
        (Some(_), None, None) => {
            let (y, m) = if month == 12 {
                (year + 1, 1)
            } else {
                (year, month + 1)
            };
            Utc.from_utc_datetime(&NaiveDate::from_ymd_opt(y, m, 1)?.and_hms_opt(0, 0, 0)?)
        }
        _ => return None,
    };
    Some((log_type, start, end))
}

/// The partitions under a root that match the options, found by listing it once.
pub struct Plan {
    location: Location,
    opts: CompactOptions,
    /// The partitions, in key order.
    pub partitions: Vec<PartitionDir>,
}

/// What happened to one partition.
#[derive(Debug)]
pub struct PartitionReport {
    /// The partition's key.
    pub dir: String,
    /// Parquet files before.
    pub files_before: usize,
    /// Parquet files after (before, if left as it was).
    pub files_after: usize,
    /// Bytes of the Parquet files before.
    pub bytes_before: u64,
    /// Rows read (0 if not merged).
    pub rows_before: u64,
    /// Rows written (0 if not merged).
    pub rows_after: u64,
    /// Merged (or would be, on a dry run).
    pub merged: bool,
    /// An interrupted earlier run was finished or undone.
    pub recovered: bool,
    /// Why the partition was left as it was, or (with `unfinished`) why its merge was not
    /// finished.
    pub error: Option<Error>,
    /// The merged files were complete, but removing the merged-away files (or the
    /// manifest) failed: the partition holds both, with a manifest the next run finishes
    /// the merge by.
    pub unfinished: bool,
}

/// Totals over the partitions of a plan.
#[derive(Debug, Default)]
pub struct Summary {
    /// Partitions found.
    pub partitions: usize,
    /// Partitions merged (or that would be, on a dry run).
    pub merged: usize,
    /// Partitions where an interrupted run was finished or undone.
    pub recovered: usize,
    /// Parquet files before, in all partitions found.
    pub files_before: usize,
    /// Parquet files after.
    pub files_after: usize,
    /// Bytes of the Parquet files before.
    pub bytes_before: u64,
    /// Rows read from the merged partitions.
    pub rows_before: u64,
    /// Rows written to them.
    pub rows_after: u64,
    /// The partitions that failed, and why; they are left as they were.
    pub failed: Vec<(String, Error)>,
    /// The partitions merged whose merged-away files could not all be removed, and why:
    /// they hold the merged files and some originals (rows twice) until the next run
    /// finishes the merge from its manifest.
    pub unfinished: Vec<(String, Error)>,
}

impl Summary {
    fn add(&mut self, r: PartitionReport) {
        self.partitions += 1;
        self.merged += usize::from(r.merged);
        self.recovered += usize::from(r.recovered);
        self.files_before += r.files_before;
        self.files_after += r.files_after;
        self.bytes_before += r.bytes_before;
        self.rows_before += r.rows_before;
        self.rows_after += r.rows_after;
        match r.error {
            Some(e) if r.unfinished => self.unfinished.push((r.dir, e)),
            Some(e) => self.failed.push((r.dir, e)),
            None => {}
        }
    }

    /// Duplicate rows removed.
    pub fn duplicates(&self) -> u64 {
        self.rows_before.saturating_sub(self.rows_after)
    }
}

impl Plan {
    /// Lists `location` and finds its partitions that match `opts`.
    pub fn new(location: Location, opts: CompactOptions) -> Result<Plan, Error> {
        let mut dirs: BTreeMap<&str, (Vec<Object>, Vec<Object>)> = BTreeMap::new();
        let objects = location.list(opts.table.map(LogType::table))?;
        for obj in &objects {
            let Some((dir, name)) = obj.key.rsplit_once('/') else {
                continue;
            };
            let entry = dirs.entry(dir).or_default();
            if is_parquet_name(name) {
                entry.0.push(obj.clone());
            } else if name.starts_with(MANIFEST_PREFIX) && name.ends_with(".json") {
                entry.1.push(obj.clone());
            }
        }
        let mut partitions = Vec::new();
        for (dir, (files, manifests)) in dirs {
            if files.is_empty() && manifests.is_empty() {
                continue;
            }
            let Some((log_type, start, end)) = parse_partition(dir) else {
                continue;
            };
            if opts.table.is_some_and(|t| t != log_type)
                || opts.since.is_some_and(|s| end <= s)
                || opts.until.is_some_and(|u| start >= u)
            {
                continue;
            }
            partitions.push(PartitionDir {
                dir: dir.to_owned(),
                log_type,
                start,
                files,
                manifests,
            });
        }
        Ok(Plan {
            location,
            opts,
            partitions,
        })
    }

    /// Where the plan's partitions are, for messages.
    pub fn location(&self, key: &str) -> String {
        self.location.display(key)
    }

    /// Compacts the partitions, [`CompactOptions::threads`] at a time, calling `done` after
    /// each. A partition that fails is left as it was and reported; the others go on.
    pub fn run(&self, done: &(dyn Fn(&PartitionReport) + Sync)) -> Summary {
        let threads = self.opts.threads.max(1);
        let memory = (self.opts.memory_bytes / threads).max(256 << 10);
        let store = self.location.store();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let reports = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(p) = self.partitions.get(i) else {
                        return;
                    };
                    let report = self.partition(p, store.as_ref(), memory);
                    done(&report);
                    if let Ok(mut r) = reports.lock() {
                        r.push((i, report));
                    }
                });
            }
        });
        let mut reports = reports.into_inner().unwrap_or_else(|p| p.into_inner());
        reports.sort_by_key(|(i, _)| *i);
        let mut summary = Summary::default();
        for (_, r) in reports {
            summary.add(r);
        }
        summary
    }

    fn partition(&self, p: &PartitionDir, store: &dyn Store, memory: usize) -> PartitionReport {
        let mut report = PartitionReport {
            dir: p.dir.clone(),
            files_before: p.files.len(),
            files_after: p.files.len(),
            bytes_before: p.files.iter().map(|f| f.size).sum(),
            rows_before: 0,
            rows_after: 0,
            merged: false,
            recovered: !p.manifests.is_empty(),
            error: None,
            unfinished: false,
        };
        if self.opts.dry_run {
            report.merged = needs_merge(&p.files);
            if report.merged {
                report.files_after = 1;
            }
            return report;
        }
        let store = store.scoped();
        if let Err(e) = self.compact(p, store.as_ref(), memory, &mut report) {
            report.error = Some(e);
        }
        report
    }

    fn compact(
        &self,
        p: &PartitionDir,
        store: &dyn Store,
        memory: usize,
        report: &mut PartitionReport,
    ) -> Result<(), Error> {
        let mut files = p.files.clone();
        for m in &p.manifests {
            self.recover(m, &mut files, store)?;
        }
        files.sort_by(|a, b| a.key.cmp(&b.key));
        report.files_after = files.len();
        if !needs_merge(&files) {
            return Ok(());
        }
        let names: Vec<&str> = files.iter().map(|f| file_name(&f.key)).collect();
        let hash = format!(
            "{:016x}",
            xxhash_rust::xxh3::xxh3_64(names.join("\n").as_bytes())
        );
        let manifest_key = format!("{}/{MANIFEST_PREFIX}{hash}.json", p.dir);
        let manifest = |state: &str, parts: &[String]| {
            serde_json::json!({
                "jwas_compact": 1,
                "state": state,
                "replaces": names,
                "parts": parts,
            })
            .to_string()
        };
        put(store, &manifest_key, manifest("writing", &[]).as_bytes())?;
        store.sync()?;

        let mut out = PartWriter::new(
            store,
            format!("{}/{MERGED_PREFIX}{hash}", p.dir),
            p.log_type,
            &self.opts,
        );
        let merged = self
            .merge(p.log_type, &files, memory, &mut out)
            .and_then(|rows| out.finish().and_then(|()| store.sync()).map(|()| rows));
        let rows_before = match merged {
            Ok(rows) => rows,
            Err(e) => {
                // Undone now rather than by the next run: what was written of the merge,
                // then the manifest. Should this fail too, the manifest says what to undo.
                drop(out.open.take());
                let cleaned = out
                    .parts
                    .iter()
                    .try_for_each(|name| store.remove(&format!("{}/{name}", p.dir)))
                    .and_then(|()| store.remove(&manifest_key));
                if let Err(c) = cleaned {
                    tracing::warn!("{}: {c}", self.location.display(&p.dir));
                }
                return Err(e);
            }
        };
        let (parts, rows_after) = (std::mem::take(&mut out.parts), out.rows);
        put(
            store,
            &manifest_key,
            manifest("complete", &parts).as_bytes(),
        )?;
        store.sync()?;
        report.unfinished = true;
        for f in &files {
            if !parts.iter().any(|k| k == file_name(&f.key)) {
                store.remove(&f.key)?;
            }
        }
        store.remove(&manifest_key)?;
        report.unfinished = false;
        report.merged = true;
        report.files_after = parts.len();
        report.rows_before = rows_before;
        report.rows_after = rows_after;
        Ok(())
    }

    /// Finishes or undoes the merge a manifest describes, updating `files`.
    fn recover(&self, m: &Object, files: &mut Vec<Object>, store: &dyn Store) -> Result<(), Error> {
        let bad = |reason: String| Error::Input {
            input: self.location.display(&m.key),
            reason,
        };
        let text = self.location.read_all(m)?;
        let doc: serde_json::Value =
            serde_json::from_slice(&text).map_err(|e| bad(format!("not a manifest: {e}")))?;
        // Only plain file names of the partition's Parquet files: a manifest never makes
        // jwas remove anything else, whatever it says.
        let names = |field: &str| -> Vec<String> {
            doc[field]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str())
                        .filter(|n| is_parquet_name(n))
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let dir = m.key.rsplit_once('/').map_or("", |(d, _)| d);
        let hash = file_name(&m.key)
            .strip_prefix(MANIFEST_PREFIX)
            .and_then(|n| n.strip_suffix(".json"))
            .unwrap_or_default();
        let doomed: Vec<String> = match doc["state"].as_str() {
            // The merged files are all stored: the merged-away ones go.
            Some("complete") => {
                let parts = names("parts");
                // Only if every merged file is there: else removing would lose rows.
                if let Some(missing) = parts
                    .iter()
                    .find(|p| !files.iter().any(|f| file_name(&f.key) == p.as_str()))
                {
                    return Err(bad(format!(
                        "complete, but its merged file {missing} is not there; nothing was removed"
                    )));
                }
                names("replaces")
                    .into_iter()
                    .filter(|r| !parts.contains(r))
                    .collect()
            }
            // Interrupted while writing: what was written of the merge goes; the files it
            // came from are all there.
            Some("writing") => {
                let prefix = format!("{MERGED_PREFIX}{hash}-");
                let replaces = names("replaces");
                files
                    .iter()
                    .map(|f| file_name(&f.key).to_owned())
                    .filter(|n| n.starts_with(&prefix) && !replaces.contains(n))
                    .collect()
            }
            _ => return Err(bad("a manifest in no known state".into())),
        };
        for name in &doomed {
            store.remove(&format!("{dir}/{name}"))?;
        }
        files.retain(|f| !doomed.iter().any(|d| d == file_name(&f.key)));
        store.remove(&m.key)?;
        Ok(())
    }

    /// Reads `files`, sorts and dedups their rows into `out`; returns the rows read.
    fn merge(
        &self,
        log_type: LogType,
        files: &[Object],
        memory: usize,
        out: &mut PartWriter<'_>,
    ) -> Result<u64, Error> {
        let schema = crate::columns::schema(log_type);
        let keys = KeyColumns::of(&schema)?;
        let mut rows = 0u64;
        let mut run = Vec::new();
        let mut run_bytes = 0usize;
        let mut spilled = Vec::new();
        for f in files {
            let reader = self.open(f, log_type, &schema, CHUNK_ROWS)?;
            for batch in reader {
                let batch = batch
                    .and_then(|b| RecordBatch::try_new(Arc::clone(&schema), b.columns().to_vec()))
                    .map_err(|e| self.parquet_error(&f.key, e.into()))?;
                rows += batch.num_rows() as u64;
                run_bytes += batch.get_array_memory_size();
                run.push(batch);
                if run_bytes >= memory {
                    let sorted = SortedRun::new(std::mem::take(&mut run), &keys)?;
                    spilled.push(self.spill(log_type, sorted)?);
                    run_bytes = 0;
                }
            }
        }
        let last = SortedRun::new(run, &keys)?;
        if spilled.is_empty() {
            // A single run is already sorted and free of duplicates.
            for chunk in last.chunks() {
                out.write(chunk.map_err(|e| self.arrow_error(log_type, e))?)?;
            }
            return Ok(rows);
        }
        if last.len() > 0 {
            spilled.push(self.spill(log_type, last)?);
        }
        let mut runs = Vec::with_capacity(spilled.len());
        for file in spilled {
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .and_then(|b| b.with_batch_size(SPILL_GROUP_ROWS).build())
                .map_err(|e| self.parquet_error("a sorted run", e))?;
            runs.push(reader);
        }
        merge_runs(runs, &schema, &keys, out)?;
        Ok(rows)
    }

    /// Opens a file of the partition, checking it has the table's columns.
    fn open(
        &self,
        f: &Object,
        log_type: LogType,
        schema: &SchemaRef,
        batch_rows: usize,
    ) -> Result<ParquetRecordBatchReader, Error> {
        let built = match self.location.fetch(f)? {
            Fetched::File(file) => ParquetRecordBatchReaderBuilder::try_new(file)
                .map(|b| (b.schema().clone(), b.with_batch_size(batch_rows).build())),
            #[cfg(feature = "s3")]
            Fetched::Bytes(bytes) => ParquetRecordBatchReaderBuilder::try_new(bytes)
                .map(|b| (b.schema().clone(), b.with_batch_size(batch_rows).build())),
        };
        let (found, reader) = built.map_err(|e| self.parquet_error(&f.key, e))?;
        if found.fields() != schema.fields() {
            return Err(Error::Input {
                input: self.location.display(&f.key),
                reason: format!(
                    "its columns are not those of {} (schema version {}); the partition is left as it is",
                    log_type.table(),
                    crate::columns::SCHEMA_VERSION
                ),
            });
        }
        reader.map_err(|e| self.parquet_error(&f.key, e))
    }

    /// Writes a sorted run to a nameless temporary file.
    fn spill(&self, log_type: LogType, run: SortedRun) -> Result<File, Error> {
        let write_err = |source| Error::Write {
            path: std::env::temp_dir(),
            source,
        };
        let mut file = anonymous_file().map_err(write_err)?;
        let mut buf = Vec::new();
        let mut state = EncoderState::default();
        let compression = Compression::Zstd(1);
        let mut pq = ParquetFile::new(log_type, compression, &mut buf);
        let mut w = std::io::BufWriter::new(&mut file);
        for chunk in run.chunks_of(SPILL_GROUP_ROWS) {
            let chunk = chunk.map_err(|e| self.arrow_error(log_type, e))?;
            pq.write_row_group(&[chunk], &mut state, &mut buf)
                .map_err(write_err)?;
            w.write_all(&buf).map_err(write_err)?;
            buf.clear();
        }
        pq.finish(&mut buf).map_err(write_err)?;
        w.write_all(&buf).map_err(write_err)?;
        w.flush().map_err(write_err)?;
        drop(w);
        Ok(file)
    }

    fn parquet_error(&self, key: &str, source: parquet::errors::ParquetError) -> Error {
        Error::Parquet {
            path: PathBuf::from(self.location.display(key)),
            source,
        }
    }

    fn arrow_error(&self, log_type: LogType, source: arrow_schema::ArrowError) -> Error {
        Error::Arrow {
            table: log_type.table(),
            source,
        }
    }
}

/// Writes a whole small object.
fn put(store: &dyn Store, key: &str, body: &[u8]) -> Result<(), Error> {
    let mut w = store.create(key)?;
    w.write_all(body).map_err(|source| Error::Write {
        path: PathBuf::from(store.location(key)),
        source,
    })?;
    w.commit()
}

/// The sort key of a row: `p_event_time` (ms; a null first), `p_row_id` as a number (its 32
/// hex digits, so numeric order is the text's order).
type Key = (i64, u128);

/// Where the sort key is in a table's batches.
struct KeyColumns {
    time: usize,
    id: usize,
}

impl KeyColumns {
    fn of(schema: &SchemaRef) -> Result<KeyColumns, Error> {
        let find = |name: &str| {
            schema.index_of(name).map_err(|e| Error::Arrow {
                table: "compact",
                source: e,
            })
        };
        Ok(KeyColumns {
            time: find("p_event_time")?,
            id: find("p_row_id")?,
        })
    }

    /// The key of every row of `batch`.
    fn keys(&self, batch: &RecordBatch) -> Result<Vec<Key>, Error> {
        let times = batch
            .column(self.time)
            .as_primitive_opt::<TimestampMillisecondType>();
        let ids = batch.column(self.id).as_string_opt::<i32>();
        let (Some(times), Some(ids)) = (times, ids) else {
            return Err(Error::Worker(
                "p_event_time or p_row_id has an unexpected type".into(),
            ));
        };
        (0..batch.num_rows())
            .map(|i| {
                let time = if times.is_null(i) {
                    i64::MIN
                } else {
                    times.value(i)
                };
                let id = (!ids.is_null(i))
                    .then(|| ids.value(i))
                    .filter(|s| s.len() == 32)
                    .and_then(|s| u128::from_str_radix(s, 16).ok());
                match id {
                    Some(id) => Ok((time, id)),
                    None => Err(Error::Input {
                        input: "p_row_id".into(),
                        reason: format!(
                            "{:?} is not a jwas row id (32 hex digits); the partition is left as it is",
                            crate::source::Escaped(if ids.is_null(i) { "null" } else { ids.value(i) })
                        ),
                    }),
                }
            })
            .collect()
    }
}

/// Rows held in memory and their order by key, duplicates removed.
struct SortedRun {
    batches: Vec<RecordBatch>,
    order: Vec<(usize, usize)>,
}

impl SortedRun {
    fn new(batches: Vec<RecordBatch>, keys: &KeyColumns) -> Result<SortedRun, Error> {
        let mut all: Vec<(Key, u32, u32)> = Vec::new();
        for (b, batch) in batches.iter().enumerate() {
            for (r, k) in keys.keys(batch)?.into_iter().enumerate() {
                all.push((k, b as u32, r as u32));
            }
        }
        all.sort_unstable();
        all.dedup_by_key(|(k, _, _)| *k);
        let order = all
            .into_iter()
            .map(|(_, b, r)| (b as usize, r as usize))
            .collect();
        Ok(SortedRun { batches, order })
    }

    fn len(&self) -> usize {
        self.order.len()
    }

    fn chunks(&self) -> impl Iterator<Item = Result<RecordBatch, arrow_schema::ArrowError>> + '_ {
        self.chunks_of(CHUNK_ROWS)
    }

    fn chunks_of(
        &self,
        rows: usize,
    ) -> impl Iterator<Item = Result<RecordBatch, arrow_schema::ArrowError>> + '_ {
        let refs: Vec<&RecordBatch> = self.batches.iter().collect();
        self.order
            .chunks(rows)
            .map(move |c| arrow_select::interleave::interleave_record_batch(&refs, c))
    }
}

/// A sorted run being merged: its current batch and position.
struct Cursor {
    reader: ParquetRecordBatchReader,
    keys: Vec<Key>,
    pos: usize,
    /// Index of its current batch in the merge's held batches.
    held: usize,
}

/// Merges sorted runs into `out`, dropping rows whose key equals the last row written.
fn merge_runs(
    readers: Vec<ParquetRecordBatchReader>,
    schema: &SchemaRef,
    keys: &KeyColumns,
    out: &mut PartWriter<'_>,
) -> Result<(), Error> {
    let arrow_err = |source| Error::Arrow {
        table: "compact",
        source,
    };
    let mut held: Vec<RecordBatch> = Vec::new();
    let mut cursors: Vec<Cursor> = Vec::new();
    let mut heap = BinaryHeap::new();
    let next_batch = |reader: &mut ParquetRecordBatchReader| -> Result<Option<RecordBatch>, Error> {
        match reader.next() {
            None => Ok(None),
            Some(b) => {
                let b = b
                    .and_then(|b| RecordBatch::try_new(Arc::clone(schema), b.columns().to_vec()))
                    .map_err(arrow_err)?;
                Ok(Some(b))
            }
        }
    };
    for mut reader in readers {
        while let Some(batch) = next_batch(&mut reader)? {
            if batch.num_rows() == 0 {
                continue;
            }
            let ks = keys.keys(&batch)?;
            heap.push(std::cmp::Reverse((ks[0], cursors.len())));
            held.push(batch);
            cursors.push(Cursor {
                reader,
                keys: ks,
                pos: 0,
                held: held.len() - 1,
            });
            break;
        }
    }
    let mut pending: Vec<(usize, usize)> = Vec::with_capacity(CHUNK_ROWS);
    let mut last: Option<Key> = None;
    let flush = |held: &mut Vec<RecordBatch>,
                 cursors: &mut [Cursor],
                 pending: &mut Vec<(usize, usize)>,
                 out: &mut PartWriter<'_>|
     -> Result<(), Error> {
        if !pending.is_empty() {
            let refs: Vec<&RecordBatch> = held.iter().collect();
            let chunk = arrow_select::interleave::interleave_record_batch(&refs, pending)
                .map_err(arrow_err)?;
            out.write(chunk)?;
            pending.clear();
        }
        // Keep only the batches the cursors are in.
        let mut kept = Vec::with_capacity(cursors.len());
        for c in cursors.iter_mut() {
            if c.pos < c.keys.len() {
                kept.push(held[c.held].clone());
                c.held = kept.len() - 1;
            }
        }
        *held = kept;
        Ok(())
    };
    while let Some(std::cmp::Reverse((key, i))) = heap.pop() {
        let c = &mut cursors[i];
        if last != Some(key) {
            pending.push((c.held, c.pos));
            last = Some(key);
        }
        c.pos += 1;
        if c.pos == c.keys.len() {
            // The batch is done: its rows may still be pending, so it stays held.
            loop {
                match next_batch(&mut c.reader)? {
                    Some(b) if b.num_rows() == 0 => continue,
                    Some(b) => {
                        c.keys = keys.keys(&b)?;
                        c.pos = 0;
                        held.push(b);
                        c.held = held.len() - 1;
                    }
                    None => {}
                }
                break;
            }
        }
        if c.pos < c.keys.len() {
            heap.push(std::cmp::Reverse((c.keys[c.pos], i)));
        }
        if pending.len() >= CHUNK_ROWS {
            flush(&mut held, &mut cursors, &mut pending, out)?;
        }
    }
    flush(&mut held, &mut cursors, &mut pending, out)
}

/// Writes the merged rows of a partition into files of at most `max_file_rows` rows, in
/// row groups of at most [`DEFAULT_ROW_GROUP_ROWS`] rows and about
/// [`DEFAULT_ROW_GROUP_BYTES`].
struct PartWriter<'s> {
    store: &'s dyn Store,
    stem: String,
    log_type: LogType,
    compression: Compression,
    max_file_rows: usize,
    open: Option<(ParquetFile, Box<dyn crate::sink::ObjectWriter>, String)>,
    group: Vec<RecordBatch>,
    group_rows: usize,
    group_bytes: usize,
    state: EncoderState,
    buf: Vec<u8>,
    parts: Vec<String>,
    rows: u64,
}

impl<'s> PartWriter<'s> {
    fn new(
        store: &'s dyn Store,
        stem: String,
        log_type: LogType,
        opts: &CompactOptions,
    ) -> PartWriter<'s> {
        PartWriter {
            store,
            stem,
            log_type,
            compression: opts.compression,
            max_file_rows: opts.max_file_rows.max(1),
            open: None,
            group: Vec::new(),
            group_rows: 0,
            group_bytes: 0,
            state: EncoderState::default(),
            buf: Vec::new(),
            parts: Vec::new(),
            rows: 0,
        }
    }

    fn write(&mut self, mut batch: RecordBatch) -> Result<(), Error> {
        while batch.num_rows() > 0 {
            if self.open.is_none() {
                let key = format!("{}-{:04}.parquet", self.stem, self.parts.len());
                let w = self.store.create(&key)?;
                let file = ParquetFile::new(self.log_type, self.compression, &mut self.buf);
                self.open = Some((file, w, key));
            }
            // Rows of the open file, written or waiting in the row group.
            let in_file =
                self.open.as_ref().map_or(0, |(f, _, _)| f.rows() as usize) + self.group_rows;
            let take = batch
                .num_rows()
                .min(self.max_file_rows - in_file)
                .min(DEFAULT_ROW_GROUP_ROWS - self.group_rows);
            let head = batch.slice(0, take);
            batch = batch.slice(take, batch.num_rows() - take);
            self.group_bytes += head.get_array_memory_size();
            self.group_rows += take;
            self.rows += take as u64;
            self.group.push(head);
            if self.group_rows == DEFAULT_ROW_GROUP_ROWS
                || self.group_bytes >= DEFAULT_ROW_GROUP_BYTES
            {
                self.flush_group()?;
            }
            if in_file + take == self.max_file_rows {
                self.close()?;
            }
        }
        Ok(())
    }

    fn flush_group(&mut self) -> Result<(), Error> {
        let Some((file, w, key)) = self.open.as_mut() else {
            return Ok(());
        };
        let err = |source| Error::Write {
            path: PathBuf::from(self.store.location(key)),
            source,
        };
        file.write_row_group(&self.group, &mut self.state, &mut self.buf)
            .map_err(err)?;
        w.write_all(&self.buf).map_err(err)?;
        self.buf.clear();
        self.group.clear();
        self.group_rows = 0;
        self.group_bytes = 0;
        Ok(())
    }

    fn close(&mut self) -> Result<(), Error> {
        self.flush_group()?;
        let Some((file, mut w, key)) = self.open.take() else {
            return Ok(());
        };
        let err = |source| Error::Write {
            path: PathBuf::from(self.store.location(&key)),
            source,
        };
        file.finish(&mut self.buf).map_err(err)?;
        w.write_all(&self.buf).map_err(err)?;
        self.buf.clear();
        w.commit()?;
        self.parts.push(file_name(&key).to_owned());
        Ok(())
    }

    /// Closes the last file.
    fn finish(&mut self) -> Result<(), Error> {
        self.close()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_keys_at_every_level() {
        let (t, start, end) =
            parse_partition("juniper_access/year=2024/month=02/day=29/hour=23").unwrap();
        assert_eq!(t, LogType::Access);
        assert_eq!(start.to_rfc3339(), "2024-02-29T23:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2024-03-01T00:00:00+00:00");
        let (_, start, end) = parse_partition("juniper_mws/year=2024/month=12/day=31").unwrap();
        assert_eq!(start.to_rfc3339(), "2024-12-31T00:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2025-01-01T00:00:00+00:00");
        let (_, start, end) = parse_partition("juniper_audit/year=2024/month=12").unwrap();
        assert_eq!(start.to_rfc3339(), "2024-12-01T00:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2025-01-01T00:00:00+00:00");
        for not in [
            "_rejected",
            "juniper_access",
            "juniper_access/year=2024",
            "other/year=2024/month=01",
            "juniper_access/month=01/year=2024",
            "juniper_access/year=2024/month=13",
            "juniper_access/year=2024/month=01/day=01/hour=24",
            "juniper_access/year=2024/month=01/day=01/hour=01/x",
        ] {
            assert!(parse_partition(not).is_none(), "{not}");
        }
    }

    #[test]
    fn only_plain_parquet_names_are_files_of_a_table() {
        assert!(is_parquet_name("a-0000.parquet"));
        for not in [
            ".a.parquet.tmp-1",
            "_x.parquet",
            "../../etc/x.parquet",
            "a/b.parquet",
            "a\\b.parquet",
            "a.json",
        ] {
            assert!(!is_parquet_name(not), "{not}");
        }
    }

    #[test]
    fn only_the_files_of_one_compaction_are_left_alone() {
        let objs = |names: &[&str]| -> Vec<Object> {
            names
                .iter()
                .map(|n| Object {
                    key: format!("t/{n}"),
                    size: 1,
                })
                .collect()
        };
        assert!(!needs_merge(&objs(&["a-0000.parquet"])));
        assert!(needs_merge(&objs(&["a-0000.parquet", "b-0000.parquet"])));
        assert!(!needs_merge(&objs(&[
            "compacted-00ff-0000.parquet",
            "compacted-00ff-0001.parquet"
        ])));
        assert!(needs_merge(&objs(&[
            "compacted-00ff-0000.parquet",
            "compacted-0aff-0000.parquet"
        ])));
        assert!(needs_merge(&objs(&[
            "compacted-00ff-0000.parquet",
            "b-0000.parquet"
        ])));
    }
}
