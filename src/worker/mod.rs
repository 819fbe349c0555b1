//! `jwas worker`: S3 object notifications from an SQS queue in, Parquet out (feature `sqs`).
//!
//! The loop: long-poll the queue (20 s, 10 messages), gather the messages received within
//! the batch window (or up to the batch's bytes), parse every object they name into one
//! [`crate::job::Batch`] (one file per table and hour for the whole batch: fewer, larger files for
//! Athena), wait until the batch's files are stored, then delete its messages. While a
//! message is held, a heartbeat task extends its visibility timeout, so a long batch is
//! not handed to a second worker. Any number of workers can share a queue: SQS hands each
//! message to one of them at a time, and that is the only coordination.
//!
//! What is deleted, and when:
//! - a message whose objects were all written (or no longer exist, or match no source):
//!   after the batch's files are stored;
//! - `s3:TestEvent`: at once, nothing to do;
//! - a malformed body: never. It is logged with its message id and left to come back
//!   after the visibility timeout, so the queue's redrive policy moves it to the
//!   dead-letter queue;
//! - a message with an object that failed: not; it comes back and is tried again.
//!
//! Delivery is at least once: after a crash, messages come back and their objects are
//! written again, under the same `p_row_id`s, so duplicates can be removed by key.
//!
//! `jwas enqueue` ([`enqueue`]) sends one S3-event-shaped message per existing object, so
//! the same workers share a backfill.

mod batch;
pub mod message;
pub mod sources;

pub use batch::{Batches, Outcome};

use crate::error::{Error, S3ErrorKind};
use crate::job::JobOptions;
use crate::logtype::LogType;
use crate::s3::S3;
use crate::sink::Store;
use crate::source::{Input, S3Uri};
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use aws_sdk_sqs::Client;
use message::Body;
use sources::Sources;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tracing::{error, info, warn};

/// On a stop, how long a receive in progress may still take to bring its messages in.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// What a worker does.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// The queue.
    pub queue_url: String,
    /// Messages received within this time of a batch's first are written together.
    pub batch_window: Duration,
    /// A batch is written as soon as its objects add up to this many bytes.
    pub batch_bytes: u64,
    /// Objects downloaded ahead of the one being parsed.
    pub concurrency: usize,
    /// Exit after this long without a message (`None`: run until stopped).
    pub idle_exit: Option<Duration>,
    /// How often the stats line is logged.
    pub stats_every: Duration,
    /// A batch whose S3 reads and writes make no progress for this long is stuck: the
    /// heartbeat stops extending its messages' visibility (see [`default_stuck_after`]).
    pub stuck_after: Duration,
    /// Parsing and table options; log type and source come from `sources`.
    pub job: JobOptions,
    /// Which objects, as what.
    pub sources: Sources,
}

/// The default [`WorkerOptions::stuck_after`]: twice the time a request may take with its
/// retries ([`crate::s3::Timeouts::operation`]), as every S3 request ends (or fails)
/// within that.
pub fn default_stuck_after(timeouts: &crate::s3::Timeouts) -> Duration {
    timeouts.operation().saturating_mul(2)
}

/// Counts since the worker started.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Messages received (a message received twice counts twice).
    pub messages: u64,
    /// Messages deleted after their work was done.
    pub deleted: u64,
    /// Malformed messages left for the dead-letter queue.
    pub malformed: u64,
    /// Objects parsed.
    pub objects: u64,
    /// Objects that no longer existed.
    pub gone: u64,
    /// Objects that matched no source.
    pub unmatched: u64,
    /// Rows written, per table.
    pub rows: [u64; 6],
    /// Rejected events.
    pub rejected: u64,
    /// Bytes of the objects parsed (as stored, before decompression).
    pub bytes: u64,
    /// Failures: objects, batches, deletes, receives.
    pub errors: u64,
    /// Batches written.
    pub batches: u64,
}

impl Stats {
    /// Logs the counts as one `jwas::stats` line.
    pub fn log(&self) {
        let rows: Vec<String> = LogType::ALL
            .iter()
            .map(|t| format!("{}={}", t.short_name(), self.rows[t.index()]))
            .collect();
        info!(
            target: "jwas::stats",
            messages = self.messages,
            deleted = self.deleted,
            malformed = self.malformed,
            batches = self.batches,
            objects = self.objects,
            gone = self.gone,
            unmatched = self.unmatched,
            rows = %rows.join(","),
            rejected = self.rejected,
            bytes = self.bytes,
            errors = self.errors,
            "stats"
        );
    }
}

/// A message held by this worker.
struct Held {
    id: String,
    receipt: String,
    body: Result<Body, String>,
}

/// Receipt handles whose visibility the heartbeat extends.
type InFlight = Arc<Mutex<BTreeMap<String, String>>>;

/// The worker.
pub struct Worker {
    s3: Arc<S3>,
    sqs: Client,
    writer: Batches,
    opts: WorkerOptions,
    in_flight: InFlight,
    stop: watch::Receiver<bool>,
}

/// An SQS client with the same configuration (credentials, region, endpoint) as `s3`.
pub fn sqs_client(s3: &S3) -> Client {
    // A receive's long poll takes up to 20 s before its answer begins.
    let config = aws_sdk_sqs::config::Builder::from(s3.sdk_config())
        .timeout_config(s3.timeouts().sdk(crate::s3::LONG_POLL))
        .build();
    Client::from_conf(config)
}

fn sqs_error<E>(what: &str, e: SdkError<E, aws_sdk_sqs::config::http::HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (kind, message) = match &e {
        SdkError::ServiceError(s) => {
            let code = s.err().code().unwrap_or("error");
            let msg = s.err().message().unwrap_or("");
            let kind = if code.contains("AccessDenied") {
                S3ErrorKind::AccessDenied
            } else if code.contains("NonExistentQueue") || code.contains("QueueDoesNotExist") {
                S3ErrorKind::NoSuchBucket
            } else {
                S3ErrorKind::Other
            };
            let text = match kind {
                S3ErrorKind::NoSuchBucket => "no such queue".to_owned(),
                _ => format!("{code}: {msg}"),
            };
            (kind, text)
        }
        // Connection and credential failures are the same as for S3.
        _ => crate::s3::describe(&e, "SQS"),
    };
    Error::S3 {
        uri: what.to_owned(),
        kind,
        message,
    }
}

/// Whether an input failed because its object no longer exists (or changed since the
/// message was sent).
fn is_gone(e: &Error) -> bool {
    match e {
        Error::S3 { kind, .. } => *kind == S3ErrorKind::NoSuchKey,
        Error::Read { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
        _ => false,
    }
}

impl Worker {
    /// A worker writing to `store`; it stops receiving when `stop` becomes true (see
    /// [`stop_on_signals`]). [`Worker::run`] checks the queue first.
    pub fn new(
        s3: Arc<S3>,
        store: Arc<dyn Store>,
        opts: WorkerOptions,
        stop: watch::Receiver<bool>,
    ) -> Worker {
        let sqs = sqs_client(&s3);
        let writer = Batches::new(
            Arc::clone(&s3),
            store,
            opts.job.clone(),
            opts.sources.clone(),
            opts.concurrency,
        );
        Worker {
            s3,
            sqs,
            writer,
            opts,
            in_flight: Arc::default(),
            stop,
        }
    }

    fn visibility_timeout(&self) -> Result<i32, Error> {
        let out = self
            .s3
            .block_on(
                self.sqs
                    .get_queue_attributes()
                    .queue_url(&self.opts.queue_url)
                    .attribute_names(QueueAttributeName::VisibilityTimeout)
                    .send(),
            )?
            .map_err(|e| sqs_error(&self.opts.queue_url, e))?;
        Ok(out
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::VisibilityTimeout))
            .and_then(|v| v.parse().ok())
            .unwrap_or(30))
    }

    /// Runs until stopped (or idle for `idle_exit`); returns the counts.
    pub fn run(mut self) -> Result<Stats, Error> {
        let visibility = self.visibility_timeout()?;
        info!(queue = %self.opts.queue_url, visibility_timeout = visibility, "worker started");
        let heartbeat = self.s3.runtime().spawn(heartbeat(
            self.sqs.clone(),
            self.opts.queue_url.clone(),
            Arc::clone(&self.in_flight),
            visibility,
            Arc::clone(&self.s3),
            self.opts.stuck_after,
        ));
        let mut last_message = Instant::now();
        let mut last_stats = Instant::now();
        while !*self.stop.borrow() {
            // Wait at most until the idle exit is due.
            let first_wait = self.opts.idle_exit.map_or(20, |idle| {
                idle.saturating_sub(last_message.elapsed())
                    .as_secs()
                    .clamp(1, 20) as i32
            });
            let batch = self.collect(first_wait);
            if batch.is_empty() {
                if self
                    .opts
                    .idle_exit
                    .is_some_and(|idle| last_message.elapsed() >= idle)
                {
                    info!("queue idle, exiting");
                    break;
                }
            } else {
                last_message = Instant::now();
                self.process(batch);
            }
            if last_stats.elapsed() >= self.opts.stats_every {
                self.writer.stats.log();
                last_stats = Instant::now();
            }
        }
        heartbeat.abort();
        self.writer.stats.log();
        info!("worker stopped");
        Ok(self.writer.stats)
    }

    /// Receives one batch: messages until the window closes, the bytes are reached, or a
    /// receive comes back empty with nothing held; empty when stopping or idle.
    fn collect(&mut self, first_wait: i32) -> Vec<Held> {
        let mut held = Vec::new();
        let mut bytes = 0u64;
        let mut first: Option<Instant> = None;
        loop {
            let wait = match first {
                None => first_wait,
                Some(t) => {
                    let left = self.opts.batch_window.saturating_sub(t.elapsed());
                    if left.is_zero() {
                        break;
                    }
                    left.as_secs().clamp(1, 20) as i32
                }
            };
            let receive = self
                .sqs
                .receive_message()
                .queue_url(&self.opts.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(wait)
                .send();
            let mut stop = self.stop.clone();
            let got = self.s3.block_on(async {
                tokio::pin!(receive);
                tokio::select! {
                    biased;
                    r = &mut receive => Some(r),
                    _ = stop.wait_for(|s| *s) => {
                        // The server may be answering this receive already: its messages
                        // would stay invisible until their visibility timeout if it were
                        // dropped now, so give it a moment. (A long poll cancelled on an
                        // empty queue can still take a message that arrives before the
                        // poll's 20 s end; that message comes back after the timeout.)
                        tokio::time::timeout(STOP_GRACE, &mut receive).await.ok()
                    }
                }
            });
            let got = got.map_err(|e| e.to_string()).and_then(|g| {
                g.map(|r| r.map_err(|e| sqs_error(&self.opts.queue_url, e).to_string()))
                    .transpose()
            });
            let out = match got {
                Ok(None) => break,
                Ok(Some(out)) => out,
                Err(e) => {
                    self.writer.stats.errors += 1;
                    error!(error = %e, "receiving messages failed; retrying in 5 s");
                    if !*self.stop.borrow() {
                        std::thread::sleep(Duration::from_secs(5));
                    }
                    break;
                }
            };
            let messages = out.messages();
            if messages.is_empty() && held.is_empty() {
                break;
            }
            for m in messages {
                let (Some(id), Some(receipt)) = (m.message_id(), m.receipt_handle()) else {
                    continue;
                };
                self.writer.stats.messages += 1;
                let body = message::parse(m.body().unwrap_or(""));
                if let Ok(Body::Objects(objects)) = &body {
                    bytes += objects.iter().filter_map(|o| o.size).sum::<u64>();
                }
                if body.is_ok() {
                    if let Ok(mut f) = self.in_flight.lock() {
                        f.insert(id.to_owned(), receipt.to_owned());
                    }
                }
                held.push(Held {
                    id: id.to_owned(),
                    receipt: receipt.to_owned(),
                    body,
                });
            }
            first.get_or_insert_with(Instant::now);
            if bytes >= self.opts.batch_bytes || *self.stop.borrow() {
                break;
            }
        }
        held
    }

    /// Writes a batch's objects and deletes the messages whose work is done.
    fn process(&mut self, held: Vec<Held>) {
        let messages: Vec<(&str, &Result<Body, String>)> =
            held.iter().map(|m| (m.id.as_str(), &m.body)).collect();
        let outcomes = self.writer.write(&messages, None);
        let delete: Vec<&Held> = held
            .iter()
            .zip(&outcomes)
            .filter(|(_, o)| !o.retry())
            .map(|(m, _)| m)
            .collect();
        self.delete(&delete);
        for (m, o) in held.iter().zip(&outcomes) {
            if o.retry() && m.body.is_ok() {
                warn!(message_id = %m.id, outcome = "left", "message left on the queue to be retried");
            }
        }
        if let Ok(mut f) = self.in_flight.lock() {
            for m in &held {
                f.remove(&m.id);
            }
        }
    }

    /// Deletes messages in batches of 10; reports the ones that could not be deleted.
    fn delete(&mut self, messages: &[&Held]) {
        for chunk in messages.chunks(10) {
            let entries: Vec<DeleteMessageBatchRequestEntry> = chunk
                .iter()
                .enumerate()
                .filter_map(|(n, m)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(n.to_string())
                        .receipt_handle(&m.receipt)
                        .build()
                        .ok()
                })
                .collect();
            let out = self.s3.block_on(
                self.sqs
                    .delete_message_batch()
                    .queue_url(&self.opts.queue_url)
                    .set_entries(Some(entries))
                    .send(),
            );
            let out = out
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| sqs_error(&self.opts.queue_url, e).to_string()));
            match out {
                Ok(out) => {
                    let failed: Vec<usize> = out
                        .failed()
                        .iter()
                        .filter_map(|f| f.id().parse().ok())
                        .collect();
                    for (n, m) in chunk.iter().enumerate() {
                        if failed.contains(&n) {
                            self.writer.stats.errors += 1;
                            error!(message_id = %m.id, "deleting the message failed; it will come back and be written again (same p_row_id)");
                        } else {
                            self.writer.stats.deleted += 1;
                            info!(message_id = %m.id, outcome = "deleted", "message done");
                        }
                    }
                }
                Err(e) => {
                    self.writer.stats.errors += chunk.len() as u64;
                    error!(error = %e, "deleting messages failed; they will come back and be written again (same p_row_id)");
                }
            }
        }
    }
}

/// Extends the visibility timeout of held messages every third of it.
/// Work that moves no S3 byte for `stuck_after` ([`S3::progress`] unchanged) is stuck: its
/// messages are no longer extended, so they come back after their visibility timeout (and
/// end in the dead-letter queue if they keep getting stuck) instead of staying invisible
/// for as long as the worker lives.
async fn heartbeat(
    sqs: Client,
    queue_url: String,
    in_flight: InFlight,
    visibility: i32,
    s3: Arc<S3>,
    stuck_after: Duration,
) {
    let every = Duration::from_secs((visibility.max(3) / 3) as u64)
        .min(stuck_after.max(Duration::from_secs(1)));
    let mut last = (s3.progress(), Instant::now());
    let mut warned = false;
    loop {
        tokio::time::sleep(every).await;
        let held: Vec<(String, String)> = match in_flight.lock() {
            Ok(f) => f.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Err(_) => return,
        };
        let progress = s3.progress();
        if held.is_empty() || progress != last.0 {
            last = (progress, Instant::now());
            warned = false;
        }
        if last.1.elapsed() >= stuck_after {
            if !warned {
                warn!(
                    messages = held.len(),
                    stuck_for = ?last.1.elapsed(),
                    "the batch in hand moved no S3 byte for too long: no longer extending its messages' visibility, so they come back to be retried"
                );
                warned = true;
            }
            continue;
        }
        for chunk in held.chunks(10) {
            let entries: Vec<_> = chunk
                .iter()
                .enumerate()
                .filter_map(|(n, (_, receipt))| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(n.to_string())
                        .receipt_handle(receipt)
                        .visibility_timeout(visibility)
                        .build()
                        .ok()
                })
                .collect();
            let r = sqs
                .change_message_visibility_batch()
                .queue_url(&queue_url)
                .set_entries(Some(entries))
                .send()
                .await;
            if let Err(e) = r {
                warn!(error = %sqs_error(&queue_url, e), "extending visibility failed");
            }
        }
    }
}

/// A stop flag set on SIGTERM or SIGINT (Ctrl-C).
pub fn stop_on_signals(s3: &S3) -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    s3.runtime().spawn(async move {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = term => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        info!("signal received: finishing the batch in hand, then exiting");
        let _ = tx.send(true);
    });
    rx
}

/// Sends one S3-event-shaped message per object under `s3://bucket/prefix` (as
/// `jwas parse` lists it, in key order), after the key `start_after` if given, in batches
/// of 10; returns how many were queued. A failure part-way is an [`Error::Enqueue`] that
/// says how many were queued and the last key up to which all were, to go on from with
/// `start_after`.
pub fn enqueue(
    s3: &S3,
    uri: &S3Uri,
    queue_url: &str,
    start_after: Option<&str>,
) -> Result<u64, Error> {
    let sqs = sqs_client(s3);
    let mut objects = s3.list(uri)?;
    if let Some(after) = start_after {
        objects.retain(|i| matches!(i, Input::S3(o) if o.key.as_str() > after));
    }
    let mut sent = 0u64;
    // The last key up to which every message was queued.
    let mut through: Option<String> = None;
    for chunk in objects.chunks(10) {
        if let Err(e) = enqueue_chunk(s3, &sqs, queue_url, chunk, &mut sent, &mut through) {
            let done = match &through {
                Some(key) => format!(
                    "all objects up to {key} in key order; go on with --start-after '{key}'"
                ),
                None => "none in full".to_owned(),
            };
            return Err(Error::Enqueue {
                sent,
                done,
                source: Box::new(e),
            });
        }
    }
    Ok(sent)
}

/// Queues one message per object of `chunk` (at most 10), retrying those SQS did not
/// take; counts them into `sent` and moves `through` to the last key up to which all were
/// queued.
fn enqueue_chunk(
    s3: &S3,
    sqs: &Client,
    queue_url: &str,
    chunk: &[Input],
    sent: &mut u64,
    through: &mut Option<String>,
) -> Result<(), Error> {
    let key = |n: usize| match chunk.get(n) {
        Some(Input::S3(o)) => Some(o.key.clone()),
        _ => None,
    };
    {
        let mut entries: Vec<SendMessageBatchRequestEntry> = chunk
            .iter()
            .enumerate()
            .filter_map(|(n, input)| {
                let Input::S3(o) = input else { return None };
                SendMessageBatchRequestEntry::builder()
                    .id(n.to_string())
                    .message_body(message::s3_event(
                        &o.bucket,
                        &o.key,
                        o.size,
                        o.etag.as_deref(),
                        o.modified,
                    ))
                    .build()
                    .ok()
            })
            .collect();
        for attempt in 0..3 {
            let out = s3
                .block_on(
                    sqs.send_message_batch()
                        .queue_url(queue_url)
                        .set_entries(Some(entries.clone()))
                        .send(),
                )?
                .map_err(|e| sqs_error(queue_url, e))?;
            let failed: Vec<String> = out.failed().iter().map(|f| f.id().to_owned()).collect();
            *sent += (entries.len() - failed.len()) as u64;
            entries.retain(|e| failed.iter().any(|f| f == e.id()));
            // Entry ids are positions in the chunk: all before the first unsent are queued.
            let first_unsent = entries
                .iter()
                .filter_map(|e| e.id().parse::<usize>().ok())
                .min()
                .unwrap_or(chunk.len());
            if let Some(k) = first_unsent.checked_sub(1).and_then(key) {
                *through = Some(k);
            }
            if entries.is_empty() {
                break;
            }
            if attempt == 2 {
                return Err(Error::S3 {
                    uri: queue_url.to_owned(),
                    kind: S3ErrorKind::Other,
                    message: format!("{} message(s) could not be sent", entries.len()),
                });
            }
        }
    }
    Ok(())
}
