//! A whole run, as `jwas parse` does it, in two calls: [`find_inputs`] turns what a user
//! names (files, directories, `-`, `s3://` prefixes) into inputs, and [`Run::run`] parses
//! them into an output (a directory or S3 prefix, or NDJSON on a stream), one input after
//! another (small ones side by side), each all or nothing.
//!
//! ```no_run
//! use jwas::run::{find_inputs, Output, Run};
//! use jwas::sink::LocalStore;
//! use jwas::source::WalkFilter;
//! use std::sync::Arc;
//!
//! let found = find_inputs(&["testdata/"], &WalkFilter::default(), None)?;
//! let out = Output::Store(Arc::new(LocalStore::new("out")));
//! let summary = Run::new(Default::default()).run(found.inputs, out)?;
//! println!("{} input(s) parsed, {} failed", summary.done.len(), summary.failures);
//! # Ok::<(), jwas::Error>(())
//! ```

use crate::error::Error;
use crate::job::{self, Destination, InputSummary, JobOptions, RejectedTo, Wait};
use crate::sink::Store;
use crate::source::{self, Input, Repeat, S3Uri, Skipped, WalkFilter};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// The S3 client `s3://` inputs are listed and read with.
#[cfg(feature = "s3")]
pub use crate::s3::S3 as S3Client;

/// The S3 client `s3://` inputs are listed and read with: none can exist without the
/// `s3` feature.
#[cfg(not(feature = "s3"))]
#[derive(Debug)]
pub enum S3Client {}

/// What a user named, as inputs.
#[derive(Debug, Default)]
pub struct Found {
    /// The inputs, in the order named (a directory's files in name order, an S3 prefix's
    /// objects in key order), each identity once.
    pub inputs: Vec<Input>,
    /// Inputs named again (another spelling or a link of an earlier one): not parsed.
    pub repeats: Vec<Repeat>,
    /// Files directory walks left out: by name, or unreadable (see [`Skipped::by_name`]).
    pub skipped: Vec<Skipped>,
    /// `s3://` arguments under which no object was found.
    pub empty: Vec<String>,
}

/// Expands `args`: local files as given, directories walked (files `filter` takes), `-`
/// for standard input, `s3://bucket/prefix` listed with `s3`. Inputs with one identity
/// are kept once ([`source::distinct`]).
pub fn find_inputs<A: AsRef<std::ffi::OsStr>>(
    args: &[A],
    filter: &WalkFilter,
    s3: Option<&S3Client>,
) -> Result<Found, Error> {
    let mut found = Found::default();
    let mut inputs = Vec::new();
    for arg in args {
        let arg = arg.as_ref();
        match arg.to_str().and_then(S3Uri::parse).transpose()? {
            Some(uri) => {
                let Some(s3) = s3 else {
                    return Err(Error::Input {
                        input: uri.to_string(),
                        reason: "s3:// inputs need an S3 client (feature s3)".into(),
                    });
                };
                let listed = list(s3, &uri)?;
                if listed.is_empty() {
                    found.empty.push(uri.to_string());
                }
                inputs.extend(listed);
            }
            None => source::expand_one(arg, filter, &mut inputs, &mut found.skipped)?,
        }
    }
    (found.inputs, found.repeats) = source::distinct(inputs);
    Ok(found)
}

#[cfg(feature = "s3")]
fn list(s3: &S3Client, uri: &S3Uri) -> Result<Vec<Input>, Error> {
    s3.list(uri)
}

#[cfg(not(feature = "s3"))]
fn list(s3: &S3Client, _: &S3Uri) -> Result<Vec<Input>, Error> {
    match *s3 {}
}

/// Where a run's rows go.
pub enum Output<'w> {
    /// Tables under a store (see [`open_store`]); rejected events to
    /// `_rejected/<name>.ndjson` in it unless [`Run::rejected_to`] says otherwise.
    Store(Arc<dyn Store>),
    /// NDJSON rows on a stream, in input order, and its name for messages; rejected
    /// events go to [`Run::rejected_to`] (which must then be set).
    Stream(&'w mut dyn Write, &'w str),
}

/// What a run tells as it goes (a progress display). Every method has a default that
/// does nothing.
pub trait Observer: Sync {
    /// An input is being parsed.
    fn input(&self, _input: &Input) {}
    /// An input failed (and left no files), and why; not called for inputs given up
    /// because the run was stopped.
    fn failed(&self, _input: &Input, _error: Error) {}
}

/// An [`Observer`] that says nothing.
pub struct Quiet;

impl Observer for Quiet {}

/// What a run did.
#[derive(Debug, Default)]
pub struct RunSummary {
    /// The inputs parsed and kept, in input order, with how each was stored (`gzip`,
    /// `zstd`, `plain`).
    pub done: Vec<(InputSummary, &'static str)>,
    /// Inputs that failed (none of their files is left), those given up included.
    pub failures: usize,
    /// Inputs given up because the run was stopped ([`Run::stop`]), not failed.
    pub given_up: usize,
    /// Inputs not started because the run was stopped.
    pub not_started: usize,
}

/// A run's settings: the job's options, S3, where rejected events go, and the flags a
/// caller shares with it.
pub struct Run<'a> {
    /// Parsing and table options.
    pub job: JobOptions,
    /// The client for `s3://` inputs (and outputs, through the store).
    pub s3: Option<&'a S3Client>,
    /// S3 objects downloaded ahead of the one being parsed.
    pub concurrency: usize,
    /// Once set (e.g. by a signal handler), no input starts and the inputs in hand are
    /// given up: their readers fail, so their files are removed as for any failure.
    pub stop: Arc<AtomicBool>,
    /// Bytes of the inputs read so far, as stored (for progress displays).
    pub read: Arc<AtomicU64>,
    rejected_to: Option<(&'a mut dyn Write, &'a str)>,
}

impl<'a> Run<'a> {
    /// A run with `job`'s options, no S3 client, 8 objects read ahead.
    pub fn new(job: JobOptions) -> Run<'a> {
        Run {
            job,
            s3: None,
            concurrency: 8,
            stop: Arc::default(),
            read: Arc::default(),
            rejected_to: None,
        }
    }

    /// Rejected events go to this stream (and its name, for messages), all inputs' in one,
    /// instead of the store's `_rejected/`. Inputs are then parsed one at a time, in order.
    pub fn rejected_to(mut self, w: &'a mut dyn Write, name: &'a str) -> Run<'a> {
        self.rejected_to = Some((w, name));
        self
    }

    /// Parses `inputs` (standard input is read to its end first: see
    /// [`Input::spooled`]) into `output`. Each input is all or nothing; a failed input is
    /// told to `observer` and counted, and the run goes on. Returns early only when the
    /// output stream breaks (a closed pipe) or standard input cannot be read.
    pub fn run(self, inputs: Vec<Input>, output: Output<'_>) -> Result<RunSummary, Error> {
        self.run_observed(inputs, output, &Quiet)
    }

    /// [`Run::run`], telling `observer` as it goes.
    pub fn run_observed(
        self,
        inputs: Vec<Input>,
        output: Output<'_>,
        observer: &dyn Observer,
    ) -> Result<RunSummary, Error> {
        let inputs = inputs
            .into_iter()
            .map(Input::spooled)
            .collect::<Result<Vec<_>, _>>()?;
        let Run {
            job: opts,
            s3,
            concurrency,
            stop,
            read,
            rejected_to,
        } = self;
        let (store, mut dest) = match output {
            Output::Store(store) => (Some(Arc::clone(&store)), Destination::Store(store)),
            Output::Stream(w, name) => (None, Destination::Stream(w, name)),
        };
        let side_by_side_ok = rejected_to.is_none();
        let mut rejected = match (rejected_to, &store) {
            (Some((w, name)), _) => RejectedTo::Stream(w, name),
            (None, Some(store)) => RejectedTo::Store(Arc::clone(store)),
            (None, None) => {
                return Err(Error::Input {
                    input: "rejected events".into(),
                    reason: "an output stream needs a stream for rejected events too \
                             (Run::rejected_to)"
                        .into(),
                })
            }
        };
        let mut readers = Readers::new(s3, &inputs, concurrency)
            .counted(Arc::clone(&read))
            .stoppable(Arc::clone(&stop));
        let fail = |input: &Input, e: Error, given_up: &mut bool| {
            *given_up = stop.load(Ordering::SeqCst);
            if !*given_up {
                observer.failed(input, e);
            }
        };
        // Waits for an input's uploads; a failure fails the input, and what it
        // committed is removed again.
        let settle = |pending: Option<(usize, Arc<dyn Store>)>,
                      failed: &mut [bool],
                      outcomes: &[Option<InputSummary>]| {
            if let Some((j, s)) = pending {
                if let Err(e) = s.sync() {
                    if let Some(summary) = &outcomes[j] {
                        job::discard(s.as_ref(), summary);
                    }
                    observer.failed(&inputs[j], e);
                    failed[j] = true;
                }
            }
        };
        // Each input writes through its own scoped store, and its uploads are waited for
        // only after the next input has been parsed: uploads overlap parsing, and a failed
        // upload is still reported against its input.
        let mut unsynced: Option<(usize, Arc<dyn Store>)> = None;
        let mut failed = vec![false; inputs.len()];
        let mut given_up = vec![false; inputs.len()];
        let mut outcomes: Vec<Option<InputSummary>> = vec![None; inputs.len()];
        // How each input was stored (gzip, zstd, plain), for the summary.
        let mut compressions: Vec<&'static str> = vec!["plain"; inputs.len()];
        // Consecutive small inputs are parsed side by side when they go to a store (a
        // stream of rows or of rejected events keeps one input at a time, in order).
        let side_by_side = store.is_some() && side_by_side_ok && opts.pipeline.threads > 1;
        let small = |i: usize| side_by_side && i < inputs.len() && job::is_small(&inputs[i], &opts);
        let mut i = 0;
        while i < inputs.len() && !stop.load(Ordering::SeqCst) {
            let mut end = i;
            while small(end) {
                end += 1;
            }
            if let (true, Some(store)) = (end - i >= 2, &store) {
                settle(unsynced.take(), &mut failed, &outcomes);
                let mut at = i;
                let mut next = || {
                    if stop.load(Ordering::SeqCst) {
                        return None;
                    }
                    let input = inputs.get(at).filter(|_| at < end)?.clone();
                    let raw = readers.open(&input).map(|(r, c)| {
                        compressions[at] = c;
                        r
                    });
                    at += 1;
                    Some((at - 1, input, raw))
                };
                job::process_side_by_side(&mut next, &opts, store, |j, input, result| {
                    match result {
                        Ok(s) => outcomes[j] = Some(s),
                        Err(e) => {
                            fail(input, e, &mut given_up[j]);
                            failed[j] = true;
                        }
                    }
                    observer.input(input);
                });
                i = end;
                continue;
            }
            let input = &inputs[i];
            observer.input(input);
            let scoped = store.as_ref().map(|s| s.scoped());
            if let Some(s) = &scoped {
                dest = Destination::Store(Arc::clone(s));
                if let RejectedTo::Store(_) = rejected {
                    rejected = RejectedTo::Store(Arc::clone(s));
                }
            }
            let raw = readers.open(input).map(|(r, c)| {
                compressions[i] = c;
                r
            });
            let result = raw.and_then(|r| {
                job::process_reader(input, r, &opts, &mut dest, &mut rejected, Wait::Committed)
            });
            settle(unsynced.take(), &mut failed, &outcomes);
            match (result, scoped) {
                (Ok(s), scoped) => {
                    outcomes[i] = Some(s);
                    unsynced = scoped.map(|s| (i, s));
                }
                (Err(e @ Error::Write { .. }), _) if is_pipe(&e) => return Err(e),
                (Err(e), scoped) => {
                    // What it committed before failing is waited for now, not blamed later.
                    if let Some(s) = scoped {
                        let _ = s.sync();
                    }
                    fail(input, e, &mut given_up[i]);
                    failed[i] = true;
                }
            }
            i += 1;
        }
        settle(unsynced.take(), &mut failed, &outcomes);
        let failures = failed.iter().filter(|f| **f).count();
        let done: Vec<(InputSummary, &'static str)> = outcomes
            .into_iter()
            .zip(&failed)
            .zip(&compressions)
            .filter(|((_, f), _)| !**f)
            .filter_map(|((s, _), c)| s.map(|s| (s, *c)))
            .collect();
        let not_started = inputs.len() - done.len() - failures;
        Ok(RunSummary {
            given_up: given_up.iter().filter(|g| **g).count(),
            not_started,
            failures,
            done,
        })
    }
}

/// A broken pipe on the output stream (`jwas parse ... --out - | head`).
pub fn is_pipe(e: &Error) -> bool {
    matches!(e, Error::Write { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Readers for a sequence of inputs, taken in order: S3 objects are opened `concurrency`
/// ahead (their downloads run while earlier inputs are parsed, each buffering a bounded
/// number of chunks), files and standard input when their turn comes; each is
/// decompressed as its first bytes say. [`Run`] reads its inputs through it, and so does
/// the worker's batch.
pub struct Readers<'a> {
    ahead: Ahead<'a>,
    read: Option<Arc<AtomicU64>>,
    stop: Option<Arc<AtomicBool>>,
}

impl<'a> Readers<'a> {
    /// Readers for `inputs`, S3 objects read with `s3`.
    pub fn new(s3: Option<&'a S3Client>, inputs: &[Input], concurrency: usize) -> Readers<'a> {
        Readers {
            ahead: Ahead::new(s3, inputs, concurrency),
            read: None,
            stop: None,
        }
    }

    /// Counts the bytes read, as stored (before decompression), into `read`.
    pub fn counted(mut self, read: Arc<AtomicU64>) -> Readers<'a> {
        self.read = Some(read);
        self
    }

    /// Fails every read once `stop` is set, so the input in hand is given up.
    pub fn stoppable(mut self, stop: Arc<AtomicBool>) -> Readers<'a> {
        self.stop = Some(stop);
        self
    }

    /// The reader of `input`, which must be the next of the inputs given to
    /// [`Readers::new`], decompressed, and what its first bytes showed (`"gzip"`,
    /// `"zstd"`, `"plain"`).
    pub fn open(&mut self, input: &Input) -> Result<(Box<dyn Read + Send>, &'static str), Error> {
        let mut raw = match self.ahead.next_reader() {
            Some(raw) => raw,
            None => input.open_raw()?,
        };
        if let Some(stop) = &self.stop {
            raw = Box::new(source::Stoppable::new(raw, Arc::clone(stop)));
        }
        if let Some(read) = &self.read {
            raw = Box::new(source::Counted::new(raw, Arc::clone(read)));
        }
        source::open_detected(input, raw)
    }
}

/// S3 objects opened ahead, or nothing to open ahead.
enum Ahead<'a> {
    #[cfg(feature = "s3")]
    S3(crate::s3::ReadAhead<'a>),
    None(std::marker::PhantomData<&'a ()>),
}

impl<'a> Ahead<'a> {
    #[cfg(feature = "s3")]
    fn new(s3: Option<&'a S3Client>, inputs: &[Input], concurrency: usize) -> Ahead<'a> {
        let Some(s3) = s3 else {
            return Ahead::None(std::marker::PhantomData);
        };
        let objects = inputs
            .iter()
            .map(|i| match i {
                Input::S3(o) => Some(o.clone()),
                _ => None,
            })
            .collect();
        Ahead::S3(crate::s3::ReadAhead::new(s3, objects, concurrency))
    }

    #[cfg(not(feature = "s3"))]
    fn new(_: Option<&'a S3Client>, _: &[Input], _: usize) -> Ahead<'a> {
        Ahead::None(std::marker::PhantomData)
    }

    /// The next input's reader if it is an S3 object.
    fn next_reader(&mut self) -> Option<Box<dyn Read + Send>> {
        match self {
            #[cfg(feature = "s3")]
            Ahead::S3(a) => a.next_reader(),
            Ahead::None(_) => None,
        }
    }
}

/// Opens where tables go, from what a user gives: `s3://bucket/prefix` (the bucket is
/// checked first, so a wrong name fails before any work) or a directory, which must not be
/// an existing file. A directory's commits are synced to disk if `durable` (the worker and
/// the Lambda function delete messages once their files are committed).
pub fn open_store(
    out: &str,
    s3: Option<&Arc<S3Client>>,
    durable: bool,
) -> Result<Arc<dyn Store>, Error> {
    if let Some(uri) = S3Uri::parse(out).transpose()? {
        return match s3 {
            Some(s3) => s3_store(s3, &uri),
            None => Err(Error::Input {
                input: uri.to_string(),
                reason: "an s3:// output needs an S3 client (feature s3)".into(),
            }),
        };
    }
    let path = std::path::Path::new(out);
    if path.exists() && !path.is_dir() {
        return Err(Error::Input {
            input: format!("--out {}", source::Escaped(out)),
            reason: "exists and is not a directory".into(),
        });
    }
    Ok(if durable {
        Arc::new(crate::sink::LocalStore::durable(out))
    } else {
        Arc::new(crate::sink::LocalStore::new(out))
    })
}

#[cfg(feature = "s3")]
fn s3_store(s3: &Arc<S3Client>, uri: &S3Uri) -> Result<Arc<dyn Store>, Error> {
    s3.check_bucket(uri)?;
    Ok(Arc::new(crate::s3::S3Store::new(Arc::clone(s3), uri)))
}

#[cfg(not(feature = "s3"))]
fn s3_store(s3: &Arc<S3Client>, _: &S3Uri) -> Result<Arc<dyn Store>, Error> {
    match **s3 {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::LocalStore;
    use crate::testing::{job_options as job, testdata, TempDir};

    #[test]
    fn a_directory_becomes_tables_and_a_summary() {
        let out = TempDir::new("run-dir");
        let found = find_inputs(&[testdata()], &WalkFilter::default(), None).unwrap();
        assert_eq!(found.inputs.len(), 7, "{:?}", found.inputs);
        assert_eq!(
            found.skipped.len(),
            2,
            "README.md and EXPECTED.json by name"
        );
        let store = open_store(&out.0.display().to_string(), None, false).unwrap();
        let summary = Run::new(job())
            .run(found.inputs, Output::Store(store))
            .unwrap();
        assert_eq!((summary.done.len(), summary.failures), (7, 0));
        let written: usize = summary.done.iter().map(|(s, _)| s.files.len()).sum();
        let parquet = out
            .files()
            .iter()
            .filter(|f| f.ends_with(".parquet"))
            .count();
        assert_eq!(written, parquet);
        assert!(out.files().iter().any(|f| f.starts_with("_rejected/")));
    }

    #[test]
    fn a_failed_input_leaves_nothing_and_the_others_go_on() {
        let dir = TempDir::new("run-bad-in");
        let bad = dir.0.join("bad.log.gz");
        // A gzip header and then nothing: the input fails when read.
        std::fs::write(&bad, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2]).unwrap();
        let out = TempDir::new("run-bad-out");
        let found = find_inputs(
            &[bad, testdata().join("mws.log")],
            &WalkFilter::default(),
            None,
        )
        .unwrap();
        let store: Arc<dyn Store> = Arc::new(LocalStore::new(&out.0));
        let summary = Run::new(job())
            .run(found.inputs, Output::Store(store))
            .unwrap();
        assert_eq!((summary.done.len(), summary.failures), (1, 1));
        assert!(
            out.files().iter().all(|f| f.starts_with("juniper_mws/")),
            "{:?}",
            out.files()
        );
    }

    #[test]
    fn a_stopped_run_starts_nothing() {
        let out = TempDir::new("run-stopped");
        let found = find_inputs(&[testdata()], &WalkFilter::default(), None).unwrap();
        let run = Run::new(job());
        run.stop.store(true, Ordering::SeqCst);
        let store: Arc<dyn Store> = Arc::new(LocalStore::new(&out.0));
        let summary = run.run(found.inputs, Output::Store(store)).unwrap();
        assert_eq!((summary.done.len(), summary.not_started), (0, 7));
        assert!(out.files().is_empty());
    }

    #[test]
    fn a_stream_needs_a_place_for_rejected_events_and_gets_rows_in_order() {
        let found = find_inputs(
            &[testdata().join("audit.log")],
            &WalkFilter::default(),
            None,
        )
        .unwrap();
        let mut rows = Vec::new();
        let err = Run::new(job()).run(found.inputs.clone(), Output::Stream(&mut rows, "rows"));
        assert!(err.is_err());
        let mut rejected = Vec::new();
        let summary = Run::new(job())
            .rejected_to(&mut rejected, "rejected")
            .run(found.inputs, Output::Stream(&mut rows, "rows"))
            .unwrap();
        let n = rows.iter().filter(|b| **b == b'\n').count() as u64;
        assert_eq!(n, summary.done[0].0.counts.rows.iter().sum::<u64>());
    }

    #[test]
    fn an_output_that_is_a_file_or_an_s3_uri_without_a_client_is_refused() {
        let dir = TempDir::new("run-out-file");
        let file = dir.0.join("f");
        std::fs::write(&file, b"x").unwrap();
        assert!(open_store(&file.display().to_string(), None, false).is_err());
        assert!(open_store("s3://bucket/prefix", None, false).is_err());
        assert!(find_inputs(&["s3://bucket/p"], &WalkFilter::default(), None).is_err());
    }
}
