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
use crate::sink::encoder::{EncoderState, ParquetOutput};
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
use std::path::PathBuf;
use std::sync::Arc;

/// Rows per batch read, sorted and written.
const CHUNK_ROWS: usize = 8192;
/// Rows per row group of a spilled run: what the merge holds per run.
const SPILL_GROUP_ROWS: usize = 1024;
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

/// A merge written ahead (`_jwas-compact-<hash>.json`); the fields are in alphabetical
/// order, as they have always been written.
#[derive(serde::Deserialize, serde::Serialize)]
struct Manifest {
    /// The manifest format: 1.
    #[serde(default)]
    jwas_compact: u32,
    /// The merged files written (names in the partition); empty while writing.
    #[serde(default)]
    #[serde(rename = "parts")]
    merged: Vec<String>,
    /// The files the merge replaces.
    #[serde(default)]
    replaces: Vec<String>,
    state: State,
}

/// How far a merge got.
#[derive(serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum State {
    /// The merged files are being written: undo by removing them.
    Writing,
    /// The merged files are all stored: finish by removing the merged-away files.
    Complete,
    /// Anything else: the manifest is left alone and the partition reported.
    #[serde(other, skip_serializing)]
    Unknown,
}

impl Manifest {
    fn to_json(&self) -> String {
        // Strings and numbers into a String: cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The partitions under a root that match the options, found by listing it once.
pub struct Plan {
    store: Arc<dyn Store>,
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
    /// Lists `store` (see [`crate::run::open_store`], durable for a local directory: files
    /// are removed once the merged ones are written) and finds its partitions that match
    /// `opts`.
    pub fn new(store: Arc<dyn Store>, opts: CompactOptions) -> Result<Plan, Error> {
        let mut dirs: BTreeMap<&str, (Vec<Object>, Vec<Object>)> = BTreeMap::new();
        let folder = opts.table.map(|t| format!("{}/", t.table()));
        let objects = store.list(folder.as_deref().unwrap_or(""))?;
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
            store,
            opts,
            partitions,
        })
    }

    /// Where the plan's partitions are, for messages.
    pub fn location(&self, key: &str) -> String {
        self.store.location(key)
    }

    /// Compacts the partitions, [`CompactOptions::threads`] at a time, calling `done` after
    /// each. A partition that fails is left as it was and reported; the others go on.
    pub fn run(&self, done: &(dyn Fn(&PartitionReport) + Sync)) -> Summary {
        let threads = self.opts.threads.max(1);
        let memory = (self.opts.memory_bytes / threads).max(256 << 10);
        let store = &self.store;
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
        let manifest = |state: State, merged: &[String]| {
            Manifest {
                jwas_compact: 1,
                merged: merged.to_vec(),
                replaces: names.iter().map(|&n| n.to_owned()).collect(),
                state,
            }
            .to_json()
        };
        store.put(&manifest_key, manifest(State::Writing, &[]).as_bytes())?;
        store.sync()?;

        let mut out = MergedFiles::new(
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
                    .merged
                    .iter()
                    .try_for_each(|name| store.remove(&format!("{}/{name}", p.dir)))
                    .and_then(|()| store.remove(&manifest_key));
                if let Err(c) = cleaned {
                    tracing::warn!("{}: {c}", self.store.location(&p.dir));
                }
                return Err(e);
            }
        };
        let (merged, rows_after) = (std::mem::take(&mut out.merged), out.rows);
        store.put(&manifest_key, manifest(State::Complete, &merged).as_bytes())?;
        store.sync()?;
        report.unfinished = true;
        for f in &files {
            if !merged.iter().any(|k| k == file_name(&f.key)) {
                store.remove(&f.key)?;
            }
        }
        store.remove(&manifest_key)?;
        report.unfinished = false;
        report.merged = true;
        report.files_after = merged.len();
        report.rows_before = rows_before;
        report.rows_after = rows_after;
        Ok(())
    }

    /// Finishes or undoes the merge a manifest describes, updating `files`.
    fn recover(&self, m: &Object, files: &mut Vec<Object>, store: &dyn Store) -> Result<(), Error> {
        let bad = |reason: String| Error::Input {
            input: self.store.location(&m.key),
            reason,
        };
        let text = self.store.read_all(&m.key)?;
        let doc: Manifest =
            serde_json::from_slice(&text).map_err(|e| bad(format!("not a manifest: {e}")))?;
        // Only plain file names of the partition's Parquet files: a manifest never makes
        // jwas remove anything else, whatever it says.
        let names = |names: &[String]| -> Vec<String> {
            names
                .iter()
                .filter(|n| is_parquet_name(n))
                .cloned()
                .collect()
        };
        let dir = m.key.rsplit_once('/').map_or("", |(d, _)| d);
        let hash = file_name(&m.key)
            .strip_prefix(MANIFEST_PREFIX)
            .and_then(|n| n.strip_suffix(".json"))
            .unwrap_or_default();
        let doomed: Vec<String> = match doc.state {
            // The merged files are all stored: the merged-away ones go.
            State::Complete => {
                let merged = names(&doc.merged);
                // Only if every merged file is there: else removing would lose rows.
                if let Some(missing) = merged
                    .iter()
                    .find(|p| !files.iter().any(|f| file_name(&f.key) == p.as_str()))
                {
                    return Err(bad(format!(
                        "complete, but its merged file {missing} is not there; nothing was removed"
                    )));
                }
                names(&doc.replaces)
                    .into_iter()
                    .filter(|r| !merged.contains(r))
                    .collect()
            }
            // Interrupted while writing: what was written of the merge goes; the files it
            // came from are all there.
            State::Writing => {
                let prefix = format!("{MERGED_PREFIX}{hash}-");
                let replaces = names(&doc.replaces);
                files
                    .iter()
                    .map(|f| file_name(&f.key).to_owned())
                    .filter(|n| n.starts_with(&prefix) && !replaces.contains(n))
                    .collect()
            }
            State::Unknown => return Err(bad("a manifest in no known state".into())),
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
        out: &mut MergedFiles<'_>,
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
        let built = match self.store.fetch(f)? {
            Fetched::File(file) => ParquetRecordBatchReaderBuilder::try_new(file)
                .map(|b| (b.schema().clone(), b.with_batch_size(batch_rows).build())),
            Fetched::Bytes(bytes) => ParquetRecordBatchReaderBuilder::try_new(bytes)
                .map(|b| (b.schema().clone(), b.with_batch_size(batch_rows).build())),
        };
        let (found, reader) = built.map_err(|e| self.parquet_error(&f.key, e))?;
        if found.fields() != schema.fields() {
            return Err(Error::Input {
                input: self.store.location(&f.key),
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
        let w = std::io::BufWriter::new(&mut file);
        let mut pq = ParquetOutput::new(log_type, compression, w, &mut buf);
        for chunk in run.chunks_of(SPILL_GROUP_ROWS) {
            let chunk = chunk.map_err(|e| self.arrow_error(log_type, e))?;
            pq.row_group(&[chunk], &mut state, &mut buf)
                .map_err(write_err)?;
        }
        pq.finish(&mut buf)
            .and_then(|mut w| w.flush())
            .map_err(write_err)?;
        Ok(file)
    }

    fn parquet_error(&self, key: &str, source: parquet::errors::ParquetError) -> Error {
        Error::Parquet {
            path: PathBuf::from(self.store.location(key)),
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

mod sort;
mod writer;

use crate::sink::store::{anonymous_file, Fetched, Listed as Object};
use sort::{merge_runs, KeyColumns, SortedRun};
use writer::MergedFiles;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_are_written_as_before_and_read_back() {
        let m = Manifest {
            jwas_compact: 1,
            merged: vec!["merged-1-0.parquet".into()],
            replaces: vec!["a.parquet".into(), "b.parquet".into()],
            state: State::Complete,
        };
        let text = m.to_json();
        assert_eq!(
            text,
            r#"{"jwas_compact":1,"parts":["merged-1-0.parquet"],"replaces":["a.parquet","b.parquet"],"state":"complete"}"#
        );
        let back: Manifest = serde_json::from_str(&text).unwrap();
        assert!(matches!(back.state, State::Complete));
        assert_eq!(back.replaces, m.replaces);
        let odd: Manifest = serde_json::from_str(r#"{"state":"halfway"}"#).unwrap();
        assert!(matches!(odd.state, State::Unknown));
        assert!(serde_json::from_str::<Manifest>(r#"{"replaces":5}"#).is_err());
    }

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
