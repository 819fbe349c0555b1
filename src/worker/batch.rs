//! What the worker and the Lambda function share: the objects named by a batch of
//! messages, parsed into one set of files, and which messages must come back.

use super::message::{Body, ObjectRef};
use super::sources::{self, Sources};
use super::{is_gone, Stats};
use crate::error::Error;
use crate::job::{Batch, Destination, JobOptions, RejectedTo};
use crate::logtype::LogType;
use crate::pipeline::LineCounts;
use crate::run::Readers;
use crate::s3::S3;
use crate::sink::Store;
use crate::source::{Input, S3Object, S3Uri};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tracing::{error, info, warn};

/// What became of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Its work is done (written, or nothing to do): delete it.
    Done,
    /// Not a message jwas understands: let it come back, so the queue's redrive policy
    /// moves it to the dead-letter queue.
    Malformed,
    /// An object of it failed: it must come back.
    Failed,
    /// Not started (the time was up): it must come back.
    Untouched,
}

impl Outcome {
    /// True if the message must come back (not be deleted).
    pub fn retry(self) -> bool {
        self != Outcome::Done
    }
}

/// Parses the objects that batches of messages name into one set of files per batch.
pub struct Batches {
    s3: Arc<S3>,
    store: Arc<dyn Store>,
    job: JobOptions,
    sources: Sources,
    concurrency: usize,
    retry_gone: bool,
    /// Counts so far.
    pub stats: Stats,
}

impl Batches {
    /// Writes into `store`, with `job`'s options, each object as its source in `sources`
    /// says; S3 objects are downloaded `concurrency` ahead of the one being parsed.
    pub fn new(
        s3: Arc<S3>,
        store: Arc<dyn Store>,
        job: JobOptions,
        sources: Sources,
        concurrency: usize,
    ) -> Batches {
        Batches {
            s3,
            store,
            job,
            sources,
            concurrency,
            retry_gone: false,
            stats: Stats::default(),
        }
    }

    /// With `true`, a message naming an object that no longer exists fails (comes back,
    /// and ends in the dead-letter queue) instead of being done. The Lambda function does
    /// this: its logs are seldom read, and a vanished object is then visible in the DLQ.
    pub fn retry_gone(mut self, retry: bool) -> Batches {
        self.retry_gone = retry;
        self
    }

    /// Parses every object the messages (id, parsed body) name into one batch, stores it,
    /// and says what became of each message. With `stop_by`, no object is started after
    /// that instant: the messages not reached are [`Outcome::Untouched`], and what was
    /// parsed is still written and stored.
    pub fn write(
        &mut self,
        messages: &[(&str, &Result<Body, String>)],
        stop_by: Option<Instant>,
    ) -> Vec<Outcome> {
        // Objects to parse, with the index of the message that named them.
        let mut work: Vec<(usize, ObjectRef, sources::Source)> = Vec::new();
        let mut outcomes = vec![Outcome::Done; messages.len()];
        for (i, (id, body)) in messages.iter().enumerate() {
            match body {
                Err(reason) => {
                    self.stats.malformed += 1;
                    outcomes[i] = Outcome::Malformed;
                    warn!(message_id = %id, %reason, outcome = "left", "malformed message left on the queue for its redrive policy");
                }
                Ok(Body::Test) => {
                    info!(message_id = %id, "s3:TestEvent: nothing to do");
                }
                Ok(Body::Objects(objects)) => {
                    for o in objects {
                        match self.sources.find(&o.bucket, &o.key) {
                            Some(src) => work.push((i, o.clone(), src)),
                            None => {
                                self.stats.unmatched += 1;
                                info!(message_id = %id, object = %format!("s3://{}/{}", o.bucket, o.key), "object matches no source; skipped");
                            }
                        }
                    }
                }
            }
        }
        if !work.is_empty() {
            for (i, outcome) in self.write_objects(&work, stop_by) {
                // A failure outweighs not being reached.
                if outcomes[i] != Outcome::Failed {
                    outcomes[i] = outcome;
                }
            }
        }
        outcomes
    }

    /// Parses the objects into one batch and stores it; returns the indexes of the
    /// messages whose work failed or was not reached, and which.
    /// An object named again (in the same message or another one of the batch) is
    /// processed once; its messages share its fate.
    fn write_objects(
        &mut self,
        all_work: &[(usize, ObjectRef, sources::Source)],
        stop_by: Option<Instant>,
    ) -> Vec<(usize, Outcome)> {
        // (bucket, key, ETag, size): what tells one version of an object from another.
        type Identity<'o> = (&'o str, &'o str, Option<&'o str>, Option<u64>);
        let mut first: HashMap<Identity<'_>, usize> = HashMap::new();
        let mut repeats: Vec<(usize, usize)> = Vec::new(); // (message, index in `work`)
        let mut work = Vec::with_capacity(all_work.len());
        for (i, o, src) in all_work {
            let id = (o.bucket.as_str(), o.key.as_str(), o.etag.as_deref(), o.size);
            match first.get(&id) {
                Some(&w) => repeats.push((*i, w)),
                None => {
                    first.insert(id, work.len());
                    work.push((*i, o.clone(), src.clone()));
                }
            }
        }
        let mut failed = self.write_distinct(&work, stop_by);
        for (message, w) in repeats {
            let shared: Vec<Outcome> = failed
                .iter()
                .filter(|(i, _)| *i == work[w].0)
                .map(|(_, o)| *o)
                .collect();
            failed.extend(shared.into_iter().map(|o| (message, o)));
        }
        failed
    }

    fn write_distinct(
        &mut self,
        work: &[(usize, ObjectRef, sources::Source)],
        stop_by: Option<Instant>,
    ) -> Vec<(usize, Outcome)> {
        let mut failed = Vec::new();
        let mut inputs = Vec::with_capacity(work.len());
        for (i, o, _) in work {
            match self.describe(o) {
                Ok(Some(obj)) => inputs.push(Some(obj)),
                Ok(None) => {
                    self.stats.gone += 1;
                    self.gone(*i, &format!("s3://{}/{}", o.bucket, o.key), &mut failed);
                    inputs.push(None);
                }
                Err(e) => {
                    self.stats.errors += 1;
                    error!(error = %e, "looking up an object failed");
                    failed.push((*i, Outcome::Failed));
                    inputs.push(None);
                }
            }
        }
        let name = batch_name(inputs.iter().flatten());
        let mut dest = Destination::Store(Arc::clone(&self.store));
        let mut rejected = RejectedTo::Store(Arc::clone(&self.store));
        let mut batch = Batch::new(&name, &self.job, &mut dest, &mut rejected);
        let found: Vec<Input> = inputs.iter().flatten().cloned().map(Input::S3).collect();
        let mut readers = Readers::new(Some(&self.s3), &found, self.concurrency);
        let mut batch_counts = LineCounts::default();
        let mut parsed = Vec::new();
        for (n, ((i, _, src), obj)) in work.iter().zip(&inputs).enumerate() {
            if stop_by.is_some_and(|t| Instant::now() >= t) {
                let left = &work[n..];
                warn!(
                    objects = left.len(),
                    "time is nearly up: the objects not started are left for their messages to come back"
                );
                failed.extend(left.iter().map(|(i, _, _)| (*i, Outcome::Untouched)));
                break;
            }
            let Some(obj) = obj else {
                continue;
            };
            let input = Input::S3(obj.clone());
            let opts = JobOptions {
                log_type: src.log_type,
                source_id: src.id.clone(),
                source_label: src.label.clone(),
                ..self.job.clone()
            };
            let result = readers
                .open(&input)
                .and_then(|(r, _)| batch.add(&input, r, &opts));
            match result {
                Ok(counts) => {
                    batch_counts.add(&counts);
                    self.stats.bytes += obj.size;
                    parsed.push(input.name());
                }
                Err(e) if is_gone(&e) => {
                    self.stats.gone += 1;
                    self.gone(*i, &input.name(), &mut failed);
                }
                Err(e) => {
                    self.stats.errors += 1;
                    error!(object = %input.name(), error = %crate::error::chain(&e), "parsing an object failed");
                    failed.push((*i, Outcome::Failed));
                }
            }
        }
        match batch.finish() {
            Ok((files, _)) => {
                self.stats.batches += 1;
                self.stats.objects += parsed.len() as u64;
                for t in LogType::ALL {
                    self.stats.rows[t.index()] += batch_counts.rows[t.index()];
                }
                self.stats.rejected += batch_counts.rejected_events;
                info!(batch = %name, objects = parsed.len(), files = files.len(), rows = batch_counts.rows.iter().sum::<u64>(), rejected = batch_counts.rejected_events, "batch written");
            }
            Err(e) => {
                self.stats.errors += 1;
                error!(batch = %name, error = %crate::error::chain(&e), "writing a batch failed; its messages stay on the queue");
                failed.extend(work.iter().map(|(i, _, _)| (*i, Outcome::Failed)));
            }
        }
        failed
    }

    /// An object that no longer exists: skipped, or (with [`Batches::retry_gone`]) its
    /// message failed.
    fn gone(&self, message: usize, object: &str, failed: &mut Vec<(usize, Outcome)>) {
        if self.retry_gone {
            warn!(object = %object, "object no longer exists; its message will come back");
            failed.push((message, Outcome::Failed));
        } else {
            info!(object = %object, "object no longer exists; skipped");
        }
    }

    /// The object as an input: size and ETag from the message, else from HeadObject;
    /// `None` if it no longer exists.
    fn describe(&self, o: &ObjectRef) -> Result<Option<S3Object>, Error> {
        if let (Some(size), Some(etag)) = (o.size, &o.etag) {
            return Ok(Some(S3Object {
                bucket: o.bucket.clone(),
                key: o.key.clone(),
                size,
                etag: Some(etag.clone()),
                modified: o.time,
            }));
        }
        let uri = S3Uri::new(&o.bucket, &o.key)?;
        match self.s3.head(&uri) {
            Ok(obj) => Ok(Some(S3Object {
                modified: o.time.or(obj.modified),
                ..obj
            })),
            Err(e) if is_gone(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// 16 hex digits of the batch's objects' identities.
fn batch_name<'a>(objects: impl Iterator<Item = &'a S3Object>) -> String {
    let mut text = Vec::new();
    for o in objects {
        text.extend_from_slice(&Input::S3(o.clone()).identity().digest().to_le_bytes());
    }
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&text))
}
