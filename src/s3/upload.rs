//! Uploads: the [`S3Store`], whose objects are one PUT or a multipart upload, sent in the
//! background under a byte budget.

use super::*;
use crate::sink::store::{Fetched, Listed, IN_MEMORY_OBJECT_BYTES};

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

    fn list(&self, folder: &str) -> Result<Vec<Listed>, Error> {
        let listed = self.s3.list(&S3Uri {
            bucket: self.bucket.clone(),
            key: format!("{}{folder}", self.prefix),
        })?;
        Ok(listed
            .into_iter()
            .filter_map(|i| match i {
                Input::S3(o) => Some(Listed {
                    key: o.key.strip_prefix(&self.prefix)?.to_owned(),
                    size: o.size,
                }),
                _ => None,
            })
            .filter(|o| !crate::sink::store::unlisted(&o.key))
            .collect())
    }

    fn read_all(&self, key: &str) -> Result<Vec<u8>, Error> {
        self.s3.read_all(&self.object(&Listed {
            key: key.to_owned(),
            size: 0,
        }))
    }

    fn fetch(&self, object: &Listed) -> Result<Fetched, Error> {
        let s3_object = self.object(object);
        if object.size <= IN_MEMORY_OBJECT_BYTES {
            return Ok(Fetched::Bytes(Bytes::from(self.s3.read_all(&s3_object)?)));
        }
        let read_err = |source| Error::Read {
            input: self.location(&object.key),
            source,
        };
        let mut file = crate::sink::store::anonymous_file().map_err(read_err)?;
        std::io::copy(&mut self.s3.open(&s3_object), &mut file).map_err(read_err)?;
        Ok(Fetched::File(file))
    }
}

impl S3Store {
    /// The S3 object of a key in this store.
    fn object(&self, object: &Listed) -> S3Object {
        S3Object {
            bucket: self.bucket.clone(),
            key: format!("{}{}", self.prefix, object.key),
            size: object.size,
            etag: None,
            modified: None,
        }
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
