//! S3 inputs and outputs (feature `s3`): listing a prefix, streaming objects in, and a
//! [`Store`] that writes objects whole or not at all.
//!
//! The rest of jwas is synchronous (threads and rayon); this module owns a small tokio
//! runtime and bridges to it. Reading an object runs in a task that pushes body chunks
//! into a bounded channel, so an object is never held whole in memory and several can be
//! fetched ahead while one is parsed. Uploads are handed to tasks too, under a byte budget,
//! and [`Store::sync`] waits for them: a writer thread does not wait for each PUT.
//!
//! Configuration is the standard AWS chain (environment, profile, SSO, role, instance
//! metadata). An endpoint override (`AWS_ENDPOINT_URL` or [`S3Config::endpoint_url`])
//! switches to path-style addressing, as S3-compatible servers expect. Without a
//! configured region, `us-east-1` is used.

use crate::error::{Error, S3ErrorKind};
use crate::sink::{ObjectWriter, Store};
use crate::source::{Input, S3Object, S3Uri};
use aws_config::BehaviorVersion;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::Region;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use std::io::Read;
use std::sync::{Arc, Condvar, Mutex};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;

/// Objects up to this size are one PUT; larger ones are multipart uploads of parts this size.
pub const PART_BYTES: usize = 8 << 20;
/// Upload bytes in flight at most, in KiB (each request counts at least [`REQUEST_KIB`]).
const UPLOAD_BUDGET_KIB: u32 = 256 << 10;
/// The least a request counts against the budget: at most 64 requests in flight (each
/// has a connection with its buffers).
const REQUEST_KIB: u32 = 4 << 10;
/// Body chunks buffered per object being read.
const READ_AHEAD_CHUNKS: usize = 64;

/// How to reach S3.
#[derive(Clone, Debug, Default)]
pub struct S3Config {
    /// An S3-compatible endpoint (e.g. `http://127.0.0.1:5000`); else `AWS_ENDPOINT_URL`,
    /// else AWS.
    pub endpoint_url: Option<String>,
    /// How long S3 and SQS requests may take.
    pub timeouts: Timeouts,
}

/// How long S3 and SQS requests may take, so that a server that never answers fails the
/// work in hand like any other failure instead of hanging it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Connecting to the endpoint.
    pub connect: std::time::Duration,
    /// One attempt of a request: from sending it to the end of the response's headers
    /// (an upload's body is sent within it). It is also how long a download or upload
    /// may go without moving a byte. SQS receives wait 20 s longer (their long poll).
    /// A request is tried 3 times (the SDK's standard retries), all within
    /// [`Timeouts::operation`].
    pub request: std::time::Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: std::time::Duration::from_secs(10),
            request: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// The default [`Timeouts::request`].
pub const DEFAULT_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The longest an SQS receive waits for messages (its long poll).
pub const LONG_POLL: std::time::Duration = std::time::Duration::from_secs(20);

impl Timeouts {
    /// All attempts of a request, with the backoff between them.
    pub fn operation(&self) -> std::time::Duration {
        self.request
            .saturating_mul(3)
            .saturating_add(std::time::Duration::from_secs(10))
    }

    /// The SDK's timeout configuration, with `extra` added to each attempt (an SQS
    /// long poll's wait).
    pub fn sdk(&self, extra: std::time::Duration) -> aws_config::timeout::TimeoutConfig {
        aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .read_timeout(self.request.saturating_add(extra))
            .operation_attempt_timeout(self.request.saturating_add(extra))
            .operation_timeout(self.operation().saturating_add(extra.saturating_mul(3)))
            .build()
    }
}

/// An S3 client with the runtime it runs on.
pub struct S3 {
    rt: Runtime,
    sdk: aws_config::SdkConfig,
    timeouts: Timeouts,
    progress: Arc<std::sync::atomic::AtomicU64>,
    client: Client,
    uploads: Arc<Semaphore>,
}

impl std::fmt::Debug for S3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3").finish_non_exhaustive()
    }
}

impl S3 {
    /// Loads the AWS configuration and makes a client. Does not contact S3.
    pub fn connect(config: &S3Config) -> Result<Arc<S3>, Error> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("jwas-s3")
            .enable_all()
            .build()
            .map_err(|e| Error::Worker(format!("starting the S3 runtime: {e}")))?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(config.timeouts.sdk(std::time::Duration::ZERO))
            .stalled_stream_protection(
                aws_config::stalled_stream_protection::StalledStreamProtectionConfig::enabled()
                    .grace_period(config.timeouts.request)
                    .build(),
            );
        if let Some(url) = &config.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let sdk = rt.block_on(loader.load());
        let mut builder = aws_sdk_s3::config::Builder::from(&sdk);
        if sdk.endpoint_url().is_some() {
            builder = builder.force_path_style(true);
        }
        if sdk.region().is_none() {
            builder = builder.region(Region::from_static("us-east-1"));
        }
        Ok(Arc::new(S3 {
            client: Client::from_conf(builder.build()),
            sdk,
            timeouts: config.timeouts,
            progress: Arc::default(),
            rt,
            uploads: Arc::new(Semaphore::new(UPLOAD_BUDGET_KIB as usize)),
        }))
    }

    /// The SDK client, for callers that need more than jwas does (tests, tools).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Runs a future on this client's runtime, from a thread outside it (it panics when
    /// called from async code: use `spawn_blocking` there).
    ///
    /// A panic inside the AWS SDK (it has some on request building from odd input) is an
    /// error here, not the end of the process.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> Result<F::Output, Error> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.rt.block_on(f))).map_err(
            |p| {
                let what = p
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| p.downcast_ref::<&str>().copied())
                    .unwrap_or("a panic");
                Error::Worker(format!("the AWS SDK failed: {what}"))
            },
        )
    }

    /// The runtime, to spawn background tasks on (e.g. an SQS heartbeat).
    pub fn runtime(&self) -> &Runtime {
        &self.rt
    }

    /// The loaded AWS configuration, to make clients of other services with.
    pub fn sdk_config(&self) -> &aws_config::SdkConfig {
        &self.sdk
    }

    /// The timeouts its requests run with.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// A count that grows whenever a download receives bytes or an upload finishes
    /// (whether it succeeded or not): work that reads or writes S3 and leaves it unchanged
    /// for long is stuck. The worker's heartbeat watches it.
    pub fn progress(&self) -> u64 {
        self.progress.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Counts a step of progress (see [`S3::progress`]).
    fn advance(progress: &std::sync::atomic::AtomicU64) {
        progress.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The objects an `s3://` input names: the object itself if the key names one, else
    /// every object under `key/` (the whole bucket for an empty key), in key order, without
    /// zero-size objects and keys ending in `/`.
    pub fn list(&self, uri: &S3Uri) -> Result<Vec<Input>, Error> {
        self.block_on(async {
            let whole = uri.to_string();
            if !uri.key.is_empty() && !uri.key.ends_with('/') {
                match self.head_async(uri).await {
                    Ok(o) if o.size == 0 => return Ok(Vec::new()),
                    Ok(o) => return Ok(vec![Input::S3(o)]),
                    // Not an object: a folder (or a missing bucket, which listing reports).
                    Err(Error::S3 {
                        kind: S3ErrorKind::NoSuchKey,
                        ..
                    }) => {}
                    Err(e) => return Err(e),
                }
            }
            // Keys come URL-encoded: a key with a control character would otherwise make
            // the XML response unreadable, and the whole listing fail.
            let mut pages = self
                .client
                .list_objects_v2()
                .bucket(&uri.bucket)
                .prefix(uri.folder())
                .encoding_type(aws_sdk_s3::types::EncodingType::Url)
                .into_paginator()
                .send();
            let mut out = Vec::new();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| s3_error(&whole, e))?;
                for o in page.contents() {
                    let (Some(encoded), Some(size)) = (o.key(), o.size()) else {
                        continue;
                    };
                    let Some(key) = crate::source::s3_url_decode(encoded) else {
                        tracing::warn!(
                            "{whole}: skipped a key S3 listed in a form that does not decode: {}",
                            crate::source::Escaped(encoded)
                        );
                        continue;
                    };
                    let key = key.as_str();
                    if size <= 0 || key.ends_with('/') {
                        continue;
                    }
                    out.push(Input::S3(S3Object {
                        bucket: uri.bucket.clone(),
                        key: key.to_owned(),
                        size: size as u64,
                        etag: o.e_tag().map(unquote),
                        modified: o.last_modified().and_then(to_chrono),
                    }));
                }
            }
            Ok(out)
        })?
    }

    /// The object at `uri` (HeadObject); an error of kind [`S3ErrorKind::NoSuchKey`] if
    /// there is none.
    pub fn head(&self, uri: &S3Uri) -> Result<S3Object, Error> {
        self.block_on(self.head_async(uri))?
    }

    async fn head_async(&self, uri: &S3Uri) -> Result<S3Object, Error> {
        let head = self
            .client
            .head_object()
            .bucket(&uri.bucket)
            .key(&uri.key)
            .send()
            .await;
        match head {
            Ok(h) => Ok(S3Object {
                bucket: uri.bucket.clone(),
                key: uri.key.clone(),
                size: h.content_length().unwrap_or(0).max(0) as u64,
                etag: h.e_tag().map(unquote),
                modified: h.last_modified().and_then(to_chrono),
            }),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {
                Err(Error::S3 {
                    uri: uri.to_string(),
                    kind: S3ErrorKind::NoSuchKey,
                    message: "no such object".into(),
                })
            }
            Err(e) => Err(s3_error(&uri.to_string(), e)),
        }
    }

    /// Starts reading an object and returns its bytes as they arrive (not decompressed).
    /// The GET asks for the listed ETag, so an object replaced since the listing is an
    /// error rather than rows under the old version's identity. Errors, such as an object
    /// deleted since the listing ([`std::io::ErrorKind::NotFound`]), come from `read`.
    pub fn open(&self, object: &S3Object) -> Box<dyn Read + Send> {
        let (tx, rx) = mpsc::channel(READ_AHEAD_CHUNKS);
        let mut request = self
            .client
            .get_object()
            .bucket(&object.bucket)
            .key(&object.key);
        if let Some(etag) = &object.etag {
            request = request.if_match(format!("\"{etag}\""));
        }
        let uri = object.uri();
        let progress = Arc::clone(&self.progress);
        self.rt.spawn(async move {
            let mut body = match request.send().await {
                Ok(out) => out.body,
                Err(e) => {
                    let _ = tx.send(Err(io_error(s3_error(&uri, e)))).await;
                    return;
                }
            };
            loop {
                let next = body.next().await;
                S3::advance(&progress);
                let chunk = match next {
                    // The end, said explicitly: a task that stops any other way (a panic)
                    // is an error for the reader, never a silently shorter object.
                    None => {
                        let _ = tx.send(Ok(Bytes::new())).await;
                        return;
                    }
                    Some(Ok(b)) if b.is_empty() => continue,
                    Some(Ok(b)) => Ok(b),
                    // The SDK's error says only "streaming error": its sources say why.
                    Some(Err(e)) => Err(std::io::Error::other(format!(
                        "{uri}: reading the object failed: {}",
                        chain(&e)
                    ))),
                };
                let stop = chunk.is_err();
                if tx.send(chunk).await.is_err() || stop {
                    return;
                }
            }
        });
        Box::new(ChannelReader {
            rx,
            chunk: Bytes::new(),
            done: false,
            uri: object.uri(),
        })
    }

    /// The whole of an object, in memory (a manifest, a sources file, a small Parquet file).
    pub fn read_all(&self, object: &S3Object) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(object.size.min(64 << 20) as usize);
        std::io::Read::read_to_end(&mut self.open(object), &mut out).map_err(|source| {
            Error::Read {
                input: object.uri(),
                source,
            }
        })?;
        Ok(out)
    }

    /// Fails with a clear error unless the bucket exists and is reachable.
    pub fn check_bucket(&self, uri: &S3Uri) -> Result<(), Error> {
        self.block_on(self.client.head_bucket().bucket(&uri.bucket).send())?
            .map(|_| ())
            .map_err(|e| s3_error(&format!("s3://{}", uri.bucket), e))
    }
}

/// Readers for a sequence of inputs taken in order, with the S3 objects among them opened
/// up to `ahead` positions early, so their downloads overlap the parsing of earlier ones.
pub struct ReadAhead<'a> {
    s3: &'a S3,
    objects: Vec<Option<S3Object>>,
    next_open: usize,
    taken: usize,
    opened: std::collections::VecDeque<Option<Box<dyn Read + Send>>>,
    ahead: usize,
}

impl<'a> ReadAhead<'a> {
    /// `objects[i]` is `Some` for each input that is an S3 object.
    pub fn new(s3: &'a S3, objects: Vec<Option<S3Object>>, ahead: usize) -> ReadAhead<'a> {
        ReadAhead {
            s3,
            objects,
            next_open: 0,
            taken: 0,
            opened: Default::default(),
            ahead: ahead.max(1),
        }
    }

    /// The next input's reader (`None` if it is not an S3 object), opening the following
    /// ones ahead.
    pub fn next_reader(&mut self) -> Option<Box<dyn Read + Send>> {
        while self.next_open < self.objects.len() && self.next_open < self.taken + self.ahead {
            let r = self.objects[self.next_open]
                .take()
                .map(|o| self.s3.open(&o));
            self.opened.push_back(r);
            self.next_open += 1;
        }
        self.taken += 1;
        self.opened.pop_front().flatten()
    }
}

/// Bytes of an object from the task that downloads it.
/// An object's bytes as the download task sends them; an empty chunk is the end.
struct ChannelReader {
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
    chunk: Bytes,
    done: bool,
    uri: String,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            if self.done {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                None => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        format!("{}: the download stopped before the end", self.uri),
                    ))
                }
                Some(Ok(chunk)) if chunk.is_empty() => self.done = true,
                Some(chunk) => self.chunk = chunk?,
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

fn unquote(etag: &str) -> String {
    etag.trim_matches('"').to_owned()
}

fn to_chrono(t: &aws_sdk_s3::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// An I/O error carrying an S3 error's message (the caller names the object).
fn io_error(e: Error) -> std::io::Error {
    let kind = match &e {
        Error::S3 {
            kind: S3ErrorKind::NoSuchKey,
            ..
        } => std::io::ErrorKind::NotFound,
        Error::S3 {
            kind: S3ErrorKind::AccessDenied,
            ..
        } => std::io::ErrorKind::PermissionDenied,
        _ => std::io::ErrorKind::Other,
    };
    match e {
        Error::S3 { message, .. } => std::io::Error::new(kind, message),
        e => std::io::Error::new(kind, e),
    }
}

/// One line for a failed request: what went wrong in the user's terms, not an SDK dump.
pub fn s3_error<E>(uri: &str, e: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (kind, message) = describe(&e, "S3");
    Error::S3 {
        uri: uri.to_owned(),
        kind,
        message,
    }
}

/// The kind and one-line message of a failed AWS request; `service` names the endpoint
/// in connection errors ("S3", "SQS"). Service error codes are S3's.
pub(crate) fn describe<E>(e: &SdkError<E, HttpResponse>, service: &str) -> (S3ErrorKind, String)
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    use S3ErrorKind::*;
    match e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            let code = err.code().unwrap_or("");
            let detail = err.message().map(|m| format!(": {m}")).unwrap_or_default();
            match code {
                // HeadBucket's 404 has no body, only the code "NotFound".
                "NoSuchBucket" | "NotFound" => (NoSuchBucket, "no such bucket".into()),
                "NoSuchKey" => (
                    NoSuchKey,
                    "no such object (deleted since it was listed?)".into(),
                ),
                "PreconditionFailed" => {
                    (NoSuchKey, "the object changed since it was listed".into())
                }
                "AccessDenied" | "AllAccessDisabled" | "Forbidden" => {
                    let detail = if detail.eq_ignore_ascii_case(": access denied") {
                        String::new()
                    } else {
                        detail
                    };
                    (AccessDenied, format!("access denied{detail}"))
                }
                "InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
                | "ExpiredToken"
                | "InvalidToken"
                | "TokenRefreshRequired" => (
                    Credentials,
                    format!("the AWS credentials were refused ({code}){detail}"),
                ),
                "PermanentRedirect" | "AuthorizationHeaderMalformed" => (
                    Other,
                    format!("the bucket is in another region: set AWS_REGION ({code}){detail}"),
                ),
                "" => match e.raw_response().map(|r| r.status().as_u16()) {
                    Some(404) => (NoSuchBucket, "not found (no such bucket?)".into()),
                    Some(403) => (AccessDenied, "access denied (HTTP 403)".into()),
                    Some(301) => (
                        Other,
                        "the bucket is in another region: set AWS_REGION".into(),
                    ),
                    Some(s) => (Other, format!("the request failed with HTTP {s}")),
                    None => (Other, "the request failed".into()),
                },
                _ => (Other, format!("{code}{detail}")),
            }
        }
        SdkError::DispatchFailure(d) => {
            let text = chain(e);
            if text.contains("credentials") || d.is_user() && text.contains("identity") {
                (
                    Credentials,
                    "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
                     or AWS_PROFILE, or run with an IAM role"
                        .into(),
                )
            } else if d.is_timeout() {
                (
                    Unreachable,
                    format!("the {service} endpoint timed out ({})", innermost(e)),
                )
            } else if d.is_io() {
                (
                    Unreachable,
                    format!("cannot reach the {service} endpoint ({})", innermost(e)),
                )
            } else {
                (Other, text)
            }
        }
        SdkError::TimeoutError(_) => (Unreachable, "the request timed out".into()),
        _ => {
            let text = chain(e);
            if text.contains("credentials") {
                (Credentials, format!("no usable AWS credentials: {text}"))
            } else {
                (Other, text)
            }
        }
    }
}

/// The innermost cause's message (e.g. "Connection refused (os error 111)").
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

pub use crate::error::chain;

/// Uploads in flight and the first failure among them. Upload tasks are detached: a
/// finished task's memory (the SDK's request future is large) is freed at once, rather
/// than kept by a join handle until [`Store::sync`]; a year of hourly files is tens of
/// thousands of uploads.
#[derive(Default)]
struct Uploads {
    state: Mutex<UploadState>,
    done: Condvar,
}

#[derive(Default)]
struct UploadState {
    in_flight: usize,
    failure: Option<Error>,
}

impl Uploads {
    /// Registers an upload; the ticket reports its result when dropped.
    fn ticket(self: &Arc<Self>) -> Ticket {
        if let Ok(mut s) = self.state.lock() {
            s.in_flight += 1;
        }
        Ticket {
            uploads: Arc::clone(self),
            result: None,
        }
    }

    /// Waits until no upload is in flight; returns (and clears) the first failure.
    fn wait(&self) -> Result<(), Error> {
        let poisoned = || Error::Worker("an upload task panicked".into());
        let mut s = self.state.lock().map_err(|_| poisoned())?;
        while s.in_flight > 0 {
            s = self.done.wait(s).map_err(|_| poisoned())?;
        }
        s.failure.take().map_or(Ok(()), Err)
    }
}

/// One upload in flight. Dropped without a result (a task that panicked or was cancelled
/// when the runtime shut down), it counts as failed.
struct Ticket {
    uploads: Arc<Uploads>,
    result: Option<Result<(), Error>>,
}

impl Ticket {
    fn finish(mut self, result: Result<(), Error>) {
        self.result = Some(result);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let result = self
            .result
            .take()
            .unwrap_or_else(|| Err(Error::Worker("an upload was interrupted".into())));
        if let Ok(mut s) = self.uploads.state.lock() {
            s.in_flight = s.in_flight.saturating_sub(1);
            if let Err(e) = result {
                s.failure.get_or_insert(e);
            }
        }
        self.uploads.done.notify_all();
    }
}

/// Objects under `s3://bucket/prefix/`. A committed object is uploaded in the background;
/// [`Store::sync`] waits for every upload and reports the first failure.
pub struct S3Store {
    s3: Arc<S3>,
    bucket: String,
    prefix: String,
    uploads: Arc<Uploads>,
}

impl S3Store {
    /// Objects under `uri` (its key is a folder: `s3://b/p` and `s3://b/p/` are the same).
    pub fn new(s3: Arc<S3>, uri: &S3Uri) -> S3Store {
        S3Store {
            s3,
            bucket: uri.bucket.clone(),
            prefix: uri.folder(),
            uploads: Arc::default(),
        }
    }
}

impl Store for S3Store {
    fn create(&self, key: &str) -> Result<Box<dyn ObjectWriter>, Error> {
        Ok(Box::new(S3Upload {
            s3: Arc::clone(&self.s3),
            bucket: self.bucket.clone(),
            key: format!("{}{key}", self.prefix),
            buf: Vec::new(),
            multipart: None,
            uploads: Arc::clone(&self.uploads),
            committed: false,
        }))
    }

    fn location(&self, key: &str) -> String {
        format!("s3://{}/{}{key}", self.bucket, self.prefix)
    }

    fn sync(&self) -> Result<(), Error> {
        self.uploads.wait()
    }

    fn scoped(&self) -> Arc<dyn Store> {
        Arc::new(S3Store {
            s3: Arc::clone(&self.s3),
            bucket: self.bucket.clone(),
            prefix: self.prefix.clone(),
            uploads: Arc::default(),
        })
    }

    fn remove(&self, key: &str) -> Result<(), Error> {
        let full = format!("{}{key}", self.prefix);
        self.s3
            .block_on(
                self.s3
                    .client
                    .delete_object()
                    .bucket(&self.bucket)
                    .key(&full)
                    .send(),
            )?
            .map(|_| ())
            .map_err(|e| s3_error(&self.location(key), e))
    }
}

struct Multipart {
    upload_id: String,
    parts: Vec<JoinHandle<Result<CompletedPart, Error>>>,
}

/// An object being written: buffered until it is a part's size, then a multipart upload.
struct S3Upload {
    s3: Arc<S3>,
    bucket: String,
    key: String,
    buf: Vec<u8>,
    multipart: Option<Multipart>,
    uploads: Arc<Uploads>,
    committed: bool,
}

impl S3Upload {
    fn uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// Waits for room in the upload budget for `bytes`.
    fn permit(&self, bytes: usize) -> Result<tokio::sync::OwnedSemaphorePermit, Error> {
        let kib = ((bytes >> 10) as u32).clamp(REQUEST_KIB, UPLOAD_BUDGET_KIB);
        self.s3
            .block_on(Arc::clone(&self.s3.uploads).acquire_many_owned(kib))?
            .map_err(|e| Error::Worker(e.to_string()))
    }

    /// Sends the buffer as the next part, starting the multipart upload if needed.
    fn send_part(&mut self) -> Result<(), Error> {
        let uri = self.uri();
        let client = self.s3.client.clone();
        if self.multipart.is_none() {
            let out = self
                .s3
                .block_on(
                    client
                        .create_multipart_upload()
                        .bucket(&self.bucket)
                        .key(&self.key)
                        .send(),
                )?
                .map_err(|e| s3_error(&uri, e))?;
            let upload_id = out.upload_id().unwrap_or_default().to_owned();
            self.multipart = Some(Multipart {
                upload_id,
                parts: Vec::new(),
            });
        }
        let permit = self.permit(self.buf.len())?;
        let body = std::mem::take(&mut self.buf);
        let Some(mp) = self.multipart.as_mut() else {
            return Ok(());
        };
        let number = mp.parts.len() as i32 + 1;
        let request = client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&mp.upload_id)
            .part_number(number)
            .body(ByteStream::from(body));
        let progress = Arc::clone(&self.s3.progress);
        mp.parts.push(self.s3.rt.spawn(async move {
            let out = request.send().await.map_err(|e| s3_error(&uri, e));
            S3::advance(&progress);
            drop(permit);
            let out = out?;
            Ok(CompletedPart::builder()
                .set_e_tag(out.e_tag().map(str::to_owned))
                .part_number(number)
                .build())
        }));
        Ok(())
    }

    /// Runs an upload task in the background, counted until it ends.
    fn detach<F>(&self, task: F)
    where
        F: std::future::Future<Output = Result<(), Error>> + Send + 'static,
    {
        let ticket = self.uploads.ticket();
        let progress = Arc::clone(&self.s3.progress);
        self.s3.rt.spawn(async move {
            let result = task.await;
            S3::advance(&progress);
            ticket.finish(result)
        });
    }
}

impl std::io::Write for S3Upload {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.capacity() == 0 {
            self.buf.reserve(data.len().max(64 << 10));
        }
        self.buf.extend_from_slice(data);
        if self.buf.len() >= PART_BYTES {
            self.send_part().map_err(io_error)?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl ObjectWriter for S3Upload {
    fn commit(mut self: Box<Self>) -> Result<(), Error> {
        self.committed = true;
        let uri = self.uri();
        let client = self.s3.client.clone();
        let Some(mut mp) = self.multipart.take() else {
            let permit = self.permit(self.buf.len())?;
            let request = client
                .put_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .body(ByteStream::from(std::mem::take(&mut self.buf)));
            self.detach(async move {
                let out = request.send().await.map_err(|e| s3_error(&uri, e));
                drop(permit);
                out.map(|_| ())
            });
            return Ok(());
        };
        if !self.buf.is_empty() {
            self.multipart = Some(mp);
            self.send_part()?;
            let Some(m) = self.multipart.take() else {
                return Ok(());
            };
            mp = m;
        }
        let (bucket, key) = (self.bucket.clone(), self.key.clone());
        self.detach(async move {
            let mut parts = Vec::with_capacity(mp.parts.len());
            let mut failure = None;
            for p in mp.parts {
                match p.await {
                    Ok(Ok(part)) => parts.push(part),
                    Ok(Err(e)) => failure = failure.or(Some(e)),
                    Err(e) => failure = failure.or(Some(Error::Worker(e.to_string()))),
                }
            }
            if failure.is_none() {
                let done = client
                    .complete_multipart_upload()
                    .bucket(&bucket)
                    .key(&key)
                    .upload_id(&mp.upload_id)
                    .multipart_upload(
                        CompletedMultipartUpload::builder()
                            .set_parts(Some(parts))
                            .build(),
                    )
                    .send()
                    .await;
                match done {
                    Ok(_) => return Ok(()),
                    Err(e) => failure = Some(s3_error(&uri, e)),
                }
            }
            abort(&client, &bucket, &key, &mp.upload_id).await;
            Err(failure.unwrap_or_else(|| Error::Worker("upload failed".into())))
        });
        Ok(())
    }
}

async fn abort(client: &Client, bucket: &str, key: &str, upload_id: &str) {
    let _ = client
        .abort_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .send()
        .await;
}

impl Drop for S3Upload {
    fn drop(&mut self) {
        // Not committed (an error upstream): abort a started multipart upload, so no part
        // of the object is kept or billed. A single PUT was never sent.
        if self.committed {
            return;
        }
        if let Some(mp) = self.multipart.take() {
            let client = self.s3.client.clone();
            let (bucket, key) = (self.bucket.clone(), self.key.clone());
            self.detach(async move {
                for p in mp.parts {
                    let _ = p.await;
                }
                abort(&client, &bucket, &key, &mp.upload_id).await;
                Ok(())
            });
        }
    }
}
