//! One `jwas parse` run over inputs: each input is parsed by the pipeline and written to the
//! destination, with its rejected events and line counts.

use crate::error::Error;
use crate::logtype::LogType;
use crate::pipeline::{self, BlockOutput, LineCounts, ParseContext, PipelineOptions};
use crate::sink::{
    ndjson, rejected::write_rejected, ObjectWriter, Store, TableOptions, TableSink, WrittenFile,
};
use crate::source::Input;
use crate::standard::{ReferenceTime, RowId};
use chrono::{DateTime, Utc};
use std::io::{Read, Write};
use std::sync::Arc;

/// Options of a run.
#[derive(Clone, Debug)]
pub struct JobOptions {
    /// `Some` rejects events of other types.
    pub log_type: Option<LogType>,
    /// Fixed reference time for year inference; else the input's modification time, else now.
    pub reference_time: Option<DateTime<Utc>>,
    /// `p_source_id`.
    pub source_id: Option<String>,
    /// `p_source_label`.
    pub source_label: Option<String>,
    /// Longer events are rejected.
    pub max_event_bytes: usize,
    /// Threads and block size.
    pub pipeline: PipelineOptions,
    /// File format and sizes.
    pub tables: TableOptions,
}

impl Default for JobOptions {
    fn default() -> Self {
        JobOptions {
            log_type: None,
            reference_time: None,
            source_id: None,
            source_label: None,
            max_event_bytes: pipeline::DEFAULT_MAX_EVENT_BYTES,
            pipeline: PipelineOptions::default(),
            tables: TableOptions::default(),
        }
    }
}

/// Where rows go.
pub enum Destination<'w> {
    /// Partitioned files in a store.
    Store(Arc<dyn Store>),
    /// NDJSON rows on a stream (standard output), and its name for messages.
    Stream(&'w mut dyn Write, &'w str),
}

/// Where rejected events go.
pub enum RejectedTo<'w> {
    /// `_rejected/<name>.ndjson` in the store, one object per input.
    Store(Arc<dyn Store>),
    /// One stream for all inputs (standard error or `--rejected FILE`), and its name for
    /// messages.
    Stream(&'w mut dyn Write, &'w str),
}

/// What one input produced.
#[derive(Clone, Debug)]
pub struct InputSummary {
    /// `p_source_object`.
    pub input: String,
    /// Line accounting.
    pub counts: LineCounts,
    /// Table files written.
    pub files: Vec<WrittenFile>,
    /// Where its rejected events were written, if any were and they went to a store.
    pub rejected_file: Option<String>,
    /// A local file truncated while it was read: its size afterwards ([`Input::shrank`]).
    pub shrank_to: Option<u64>,
    /// The key of its rejected-events object, if it wrote one to the store.
    pub rejected_key: Option<String>,
}

/// Removes what an input committed (its table files and rejected-events object), once the
/// store's uploads are done: for an input whose upload failed after its files were
/// committed ([`Wait::Committed`], then a failed [`Store::sync`]), so that a failed input
/// leaves nothing, in S3 as locally. An object stored although its request failed (a PUT
/// answered 500) is removed as well. Removal failures are logged.
pub fn discard(store: &dyn Store, summary: &InputSummary) {
    remove_committed(
        Some(store),
        &summary.files,
        summary.rejected_key.as_deref().map(|k| (store, k)),
    );
}

/// Removes committed table files (from `tables`) and a rejected-events object, once their
/// stores' uploads are done; failures are logged.
fn remove_committed(
    tables: Option<&dyn Store>,
    files: &[WrittenFile],
    rejected: Option<(&dyn Store, &str)>,
) {
    if let Some(t) = tables {
        TableSink::remove(t, files);
    }
    if let Some((store, key)) = rejected {
        let _ = store.sync();
        if let Err(e) = store.remove(key) {
            tracing::error!("removing {} after a failure: {e}", store.location(key));
        }
    }
}

/// The base of output file names for an input: 16 hex digits of its identity.
pub fn output_name(input: &Input) -> String {
    format!("{:016x}", (input.identity().digest() >> 64) as u64)
}

/// Parses one local input (or standard input, read to its end first: see
/// [`Input::spooled`]) and writes its rows and rejected events.
pub fn process(
    input: &Input,
    opts: &JobOptions,
    dest: &mut Destination<'_>,
    rejected: &mut RejectedTo<'_>,
) -> Result<InputSummary, Error> {
    let input = input.clone().spooled()?;
    process_reader(&input, input.open()?, opts, dest, rejected, Wait::Stored)
}

/// When [`process_reader`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// Once every file it wrote is stored ([`Store::sync`]), also when it fails, so a
    /// failure is reported for the input that caused it.
    Stored,
    /// Once its files are committed: a store that uploads in the background may still be
    /// storing them, and the caller calls [`Store::sync`] later (e.g. after parsing the
    /// next input, so that uploads overlap parsing; give each input its own
    /// [`Store::scoped`] store to tell their failures apart).
    Committed,
}

/// Parses `reader`, the (decompressed) bytes of `input`, and writes its rows and rejected
/// events.
pub fn process_reader(
    input: &Input,
    reader: Box<dyn Read + Send>,
    opts: &JobOptions,
    dest: &mut Destination<'_>,
    rejected: &mut RejectedTo<'_>,
    wait: Wait,
) -> Result<InputSummary, Error> {
    let mut batch = Batch::new(&output_name(input), opts, dest, rejected);
    let counts = match batch.add(input, reader, opts) {
        Ok(c) => c,
        Err(e) => {
            // An input's output is all or nothing.
            batch.abort();
            return Err(e);
        }
    };
    let shrank_to = input.shrank();
    if let Some(now) = shrank_to {
        tracing::warn!(
            "{}: the file shrank to {now} bytes while it was read (was {}): rows past that may be missing",
            crate::source::Escaped(&input.name()),
            input.stored_size().unwrap_or_default()
        );
    }
    let rejected_key = batch.rejected_key().map(str::to_owned);
    let (files, rejected_file) = match wait {
        Wait::Stored => batch.finish(),
        Wait::Committed => batch.close(),
    }?;
    Ok(InputSummary {
        input: input.name(),
        counts,
        files,
        rejected_file,
        shrank_to,
        rejected_key,
    })
}

/// Inputs written together: one set of files per table and hour, named after the batch,
/// and one rejected-events object. `jwas parse` makes a batch of each input; the worker
/// makes one of the objects its messages name.
pub struct Batch<'a, 'd, 'r> {
    dest: &'a mut Destination<'d>,
    rejected: &'a mut RejectedTo<'r>,
    tables: Option<TableSink>,
    rejected_key: String,
    rejected_object: Option<Box<dyn ObjectWriter>>,
}

impl<'a, 'd, 'r> Batch<'a, 'd, 'r> {
    /// A batch whose files are named `name-<seq>` (see [`output_name`]).
    pub fn new(
        name: &str,
        opts: &JobOptions,
        dest: &'a mut Destination<'d>,
        rejected: &'a mut RejectedTo<'r>,
    ) -> Batch<'a, 'd, 'r> {
        let tables = match dest {
            Destination::Store(store) => Some(TableSink::new(
                Arc::clone(store),
                opts.tables,
                name.to_owned(),
            )),
            Destination::Stream(..) => None,
        };
        Batch {
            dest,
            rejected,
            tables,
            rejected_key: format!("_rejected/{name}.ndjson"),
            rejected_object: None,
        }
    }

    /// Parses one input into the batch. `opts` gives its log type, source id and label,
    /// reference time and pipeline options (its table options are the batch's).
    pub fn add(
        &mut self,
        input: &Input,
        reader: Box<dyn Read + Send>,
        opts: &JobOptions,
    ) -> Result<LineCounts, Error> {
        let source_object = input.name();
        let now = Utc::now();
        let reference = opts.reference_time.or(input.modified()).unwrap_or(now);
        let ctx = ParseContext {
            reference: ReferenceTime::new(reference),
            row_id: RowId::new(&input.identity()),
            log_type: opts.log_type,
            parse_time: now.timestamp_millis(),
            source_id: opts.source_id.clone(),
            source_label: opts.source_label.clone(),
            source_object: source_object.clone(),
            max_event_bytes: opts.max_event_bytes,
        };
        let Batch {
            dest,
            rejected,
            tables,
            rejected_key,
            rejected_object,
        } = self;
        pipeline::run(
            reader,
            &ctx,
            opts.pipeline,
            &source_object,
            |out: BlockOutput| {
                match (&mut *tables, &mut **dest) {
                    (Some(t), _) => {
                        for hb in &out.hours {
                            t.write(hb)?;
                        }
                        t.flush()?;
                    }
                    // A stream gets the rows in input order, tables interleaved.
                    (None, Destination::Stream(w, name)) => {
                        let mut line = Vec::new();
                        for (hb, row) in out.rows_in_order() {
                            ndjson::write_row(*w, &hb.batch, row, &mut line).map_err(|source| {
                                Error::Write {
                                    path: (*name).into(),
                                    source,
                                }
                            })?;
                        }
                    }
                    (None, Destination::Store(_)) => {}
                }
                for r in &out.rejected {
                    let (w, path): (&mut dyn Write, &str) = match &mut **rejected {
                        RejectedTo::Stream(w, name) => (*w, *name),
                        RejectedTo::Store(store) => {
                            if rejected_object.is_none() {
                                *rejected_object = Some(store.create(rejected_key)?);
                            }
                            match rejected_object.as_mut() {
                                Some(o) => (o.as_mut(), rejected_key.as_str()),
                                None => continue,
                            }
                        }
                    };
                    write_rejected(w, &source_object, r).map_err(|source| Error::Write {
                        path: path.into(),
                        source,
                    })?;
                }
                Ok(())
            },
        )
    }

    /// Gives up the batch: files not closed yet are never committed, and those that were
    /// (closed early to bound open files, or rolled over at `--max-file-rows`) are removed
    /// again once their uploads are done. Neither the table files nor the rejected events
    /// of a failed input are left behind. Removal failures are logged.
    pub fn abort(self) {
        if let Some(t) = self.tables {
            t.abort();
        }
        drop(self.rejected_object);
    }

    /// The key of the batch's rejected-events object in the store, if it has one.
    pub fn rejected_key(&self) -> Option<&str> {
        match (&self.rejected_object, &*self.rejected) {
            (Some(_), RejectedTo::Store(_)) => Some(&self.rejected_key),
            _ => None,
        }
    }

    /// Closes the batch's files and waits until they are stored ([`Store::sync`], also
    /// after a failure, which is then returned). Gives the table files and where the
    /// rejected events went, if any were rejected and they went to a store. If a file
    /// fails to be stored, every file of the batch is removed again: none is left.
    pub fn finish(self) -> Result<(Vec<WrittenFile>, Option<String>), Error> {
        let tables = match &*self.dest {
            Destination::Store(store) => Some(Arc::clone(store)),
            Destination::Stream(..) => None,
        };
        let rejected = match &*self.rejected {
            RejectedTo::Store(store) => Some(Arc::clone(store)),
            RejectedTo::Stream(..) => None,
        };
        let rejected_key = self.rejected_key().map(str::to_owned);
        let written = self.close();
        let synced: Vec<_> = [&tables, &rejected]
            .into_iter()
            .flatten()
            .map(|s| s.sync())
            .collect();
        let (files, rejected_file) = written?;
        if let Some(e) = synced.into_iter().find_map(Result::err) {
            let rejected = rejected.as_deref().zip(rejected_key.as_deref());
            remove_committed(tables.as_deref(), &files, rejected);
            return Err(e);
        }
        Ok((files, rejected_file))
    }

    /// Closes and commits the batch's files without waiting for a background store
    /// (see [`Wait::Committed`]).
    /// If anything fails, nothing of the batch is left (see [`Batch::abort`]).
    pub fn close(self) -> Result<(Vec<WrittenFile>, Option<String>), Error> {
        let files = match self.tables {
            Some(t) => t.finish()?,
            None => Vec::new(),
        };
        let rejected_file = match (self.rejected_object, &*self.rejected) {
            (Some(o), RejectedTo::Store(store)) => {
                if let Err(e) = o.commit() {
                    if let Destination::Store(tables) = &*self.dest {
                        TableSink::remove(tables.as_ref(), &files);
                    }
                    return Err(e);
                }
                Some(store.location(&self.rejected_key))
            }
            _ => None,
        };
        Ok((files, rejected_file))
    }
}

/// Inputs of at most this many bytes (as stored, before decompression) are parsed side by
/// side by [`process_side_by_side`]: they fit one block, so the block-parallel pipeline
/// would parse each with one thread anyway.
pub fn is_small(input: &Input, opts: &JobOptions) -> bool {
    input
        .stored_size()
        .is_some_and(|n| n <= opts.pipeline.block_bytes as u64)
}

/// An input to parse, its position among the run's inputs, and its opened (decompressed)
/// bytes or why they could not be opened.
pub type Opened = (usize, Input, Result<Box<dyn Read + Send>, Error>);

/// Parses small inputs side by side, `opts.pipeline.threads` at a time, each parsed and written
/// on one thread, into `store` (table files and rejected events). Each
/// input gets exactly the files, names and rows it gets alone (names and row ids come
/// from its identity; which file a row goes to does not depend on the threads). Inputs
/// are taken from `next` in order (so read-ahead of S3 objects keeps working), and at most
/// `threads` are open at once, so memory does not grow with their number. `done` gets each
/// input's position and result as it finishes (not in order), with its files stored.
pub fn process_side_by_side(
    mut next: impl FnMut() -> Option<Opened>,
    opts: &JobOptions,
    store: &Arc<dyn Store>,
    mut done: impl FnMut(usize, &Input, Result<InputSummary, Error>),
) {
    let threads = opts.pipeline.threads.max(1);
    let one = JobOptions {
        pipeline: PipelineOptions {
            threads: 1,
            inline: true,
            ..opts.pipeline
        },
        tables: TableOptions {
            writers: 0,
            ..opts.tables
        },
        ..opts.clone()
    };
    let (work_tx, work_rx) = std::sync::mpsc::sync_channel::<Opened>(threads);
    let work_rx = std::sync::Mutex::new(work_rx);
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let (work_rx, done_tx, one) = (&work_rx, done_tx.clone(), &one);
            scope.spawn(move || loop {
                let item = match work_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok((i, input, reader)) = item else {
                    return;
                };
                let scoped = store.scoped();
                let mut dest = Destination::Store(Arc::clone(&scoped));
                let mut rejected = RejectedTo::Store(scoped);
                let result = reader.and_then(|r| {
                    process_reader(&input, r, one, &mut dest, &mut rejected, Wait::Stored)
                });
                if done_tx.send((i, input, result)).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);
        while let Some(item) = next() {
            // Report what has finished while waiting for room.
            for (i, input, result) in done_rx.try_iter() {
                done(i, &input, result);
            }
            if work_tx.send(item).is_err() {
                break;
            }
        }
        drop(work_tx);
        for (i, input, result) in done_rx.iter() {
            done(i, &input, result);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::{LocalStore, ObjectWriter};
    use crate::testing::{job_options as opts, TempDir};

    fn testdata(name: &str) -> Input {
        let path = crate::testing::testdata().join(name);
        let size = std::fs::metadata(&path).unwrap().len();
        Input::File {
            path,
            size,
            mtime: None,
        }
    }

    /// A local directory whose uploads "fail": `sync` reports an error after the objects
    /// were committed, as an S3 store does when a background PUT fails.
    struct FailingSync(LocalStore);

    impl Store for FailingSync {
        fn create(&self, key: &str) -> Result<Box<dyn ObjectWriter>, Error> {
            self.0.create(key)
        }
        fn location(&self, key: &str) -> String {
            self.0.location(key)
        }
        fn sync(&self) -> Result<(), Error> {
            Err(Error::Worker("an upload failed".into()))
        }
        fn scoped(&self) -> Arc<dyn Store> {
            Arc::new(FailingSync(self.0.clone()))
        }
        fn remove(&self, key: &str) -> Result<(), Error> {
            self.0.remove(key)
        }
        fn list(&self, folder: &str) -> Result<Vec<crate::sink::Listed>, Error> {
            self.0.list(folder)
        }
        fn read_all(&self, key: &str) -> Result<Vec<u8>, Error> {
            self.0.read_all(key)
        }
        fn fetch(&self, o: &crate::sink::Listed) -> Result<crate::sink::store::Fetched, Error> {
            self.0.fetch(o)
        }
    }

    /// Two inputs into one batch: `(files, rejected key, rows)`, or the error.
    fn batch_of_two(
        store: Arc<dyn Store>,
    ) -> Result<(Vec<WrittenFile>, Option<String>, u64), Error> {
        let mut dest = Destination::Store(Arc::clone(&store));
        let mut rejected = RejectedTo::Store(store);
        let mut batch = Batch::new("b", &opts(), &mut dest, &mut rejected);
        let mut rows = 0;
        for name in ["access.log", "mixed.log"] {
            let input = testdata(name);
            let counts = batch.add(&input, input.open()?, &opts())?;
            rows += counts.rows.iter().sum::<u64>();
        }
        let key = batch.rejected_key().map(str::to_owned);
        let (files, _) = batch.finish()?;
        Ok((files, key, rows))
    }

    #[test]
    fn a_batch_is_one_set_of_files_named_after_it() {
        let dir = TempDir::new("job-batch");
        let (files, rejected_key, rows) = batch_of_two(Arc::new(LocalStore::new(&dir.0))).unwrap();
        assert_eq!(files.iter().map(|f| f.rows).sum::<u64>(), rows);
        // One file per table and hour for both inputs: no key twice, all named "b-…".
        let mut keys: Vec<&str> = files.iter().map(|f| f.key.as_str()).collect();
        keys.dedup();
        assert_eq!(keys.len(), files.len());
        assert!(keys.iter().all(|k| k.contains("/b-")), "{keys:?}");
        let mut on_disk = dir.files();
        if let Some(k) = &rejected_key {
            assert_eq!(k, "_rejected/b.ndjson");
            on_disk.retain(|f| f != k);
        }
        assert_eq!(on_disk, keys);
    }

    #[test]
    fn a_batch_whose_uploads_fail_leaves_nothing() {
        let dir = TempDir::new("job-batch-fail");
        let err = batch_of_two(Arc::new(FailingSync(LocalStore::new(&dir.0))));
        assert!(matches!(err, Err(Error::Worker(_))), "{err:?}");
        assert_eq!(dir.files(), Vec::<String>::new());
    }

    #[test]
    fn discard_removes_what_an_input_committed() {
        let dir = TempDir::new("job-discard");
        let store: Arc<dyn Store> = Arc::new(LocalStore::new(&dir.0));
        let mut dest = Destination::Store(Arc::clone(&store));
        let mut rejected = RejectedTo::Store(Arc::clone(&store));
        let input = testdata("mixed.log");
        let summary = process(&input, &opts(), &mut dest, &mut rejected).unwrap();
        assert!(!summary.files.is_empty());
        assert!(!dir.files().is_empty());
        discard(store.as_ref(), &summary);
        assert_eq!(dir.files(), Vec::<String>::new());
    }
}
