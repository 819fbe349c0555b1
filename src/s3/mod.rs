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
//!
//! The client and its configuration are here; `list` finds the objects an input names,
//! `read` streams them in, `upload` holds the [`S3Store`] and `error` puts failures in
//! the user's terms.

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

mod error;
mod list;
mod read;
mod upload;

pub use crate::error::chain;
pub(crate) use error::describe;
use error::io_error;
pub use error::s3_error;
pub use read::ReadAhead;
pub use upload::S3Store;

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

    /// Fails with a clear error unless the bucket exists and is reachable.
    pub fn check_bucket(&self, uri: &S3Uri) -> Result<(), Error> {
        self.block_on(self.client.head_bucket().bucket(&uri.bucket).send())?
            .map(|_| ())
            .map_err(|e| s3_error(&format!("s3://{}", uri.bucket), e))
    }
}
