//! Reads: an object's bytes streamed through a bounded channel, and read-ahead over a
//! sequence of inputs.

use super::*;

impl S3 {
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
