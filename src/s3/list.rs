//! Listing: the objects an `s3://` input names.

use super::*;

impl S3 {
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
}

fn unquote(etag: &str) -> String {
    etag.trim_matches('"').to_owned()
}

fn to_chrono(t: &aws_sdk_s3::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}
