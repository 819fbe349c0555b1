//! Where compaction reads and writes: a local directory or an S3 prefix, listed once,
//! small objects read whole and large ones spilled to an unnamed temporary file.

use super::*;

/// An output tree: a local directory or an `s3://` prefix.
pub enum Location {
    /// A directory.
    Local(PathBuf),
    /// Objects under an `s3://bucket/prefix/`.
    #[cfg(feature = "s3")]
    S3 {
        /// The client.
        s3: Arc<crate::s3::S3>,
        /// The prefix.
        uri: crate::source::S3Uri,
    },
}

/// An object under the root: its key (relative, `/`-separated) and size.
#[derive(Clone, Debug)]
pub(super) struct Object {
    pub(super) key: String,
    pub(super) size: u64,
}

/// A file to read Parquet from.
pub(super) enum Fetched {
    File(File),
    #[cfg(feature = "s3")]
    Bytes(bytes::Bytes),
}

impl Location {
    /// The tree at `out`: `s3://bucket/prefix` (needs `s3`) or a directory.
    #[cfg(feature = "s3")]
    pub fn new(out: &str, s3: Option<&Arc<crate::s3::S3>>) -> Result<Location, Error> {
        match crate::source::S3Uri::parse(out).transpose()? {
            Some(uri) => match s3 {
                Some(s3) => {
                    s3.check_bucket(&uri)?;
                    Ok(Location::S3 {
                        s3: Arc::clone(s3),
                        uri,
                    })
                }
                None => Err(Error::Input {
                    input: out.to_owned(),
                    reason: "an s3:// location needs an S3 client".into(),
                }),
            },
            None => Ok(Location::Local(PathBuf::from(out))),
        }
    }

    /// Where merged files and manifests are written: durable, since files are removed
    /// once they are.
    pub(super) fn store(&self) -> Arc<dyn Store> {
        match self {
            Location::Local(root) => Arc::new(crate::sink::LocalStore::durable(root)),
            #[cfg(feature = "s3")]
            Location::S3 { s3, uri } => Arc::new(crate::s3::S3Store::new(Arc::clone(s3), uri)),
        }
    }

    pub(super) fn display(&self, key: &str) -> String {
        match self {
            Location::Local(root) => root.join(key).display().to_string(),
            #[cfg(feature = "s3")]
            Location::S3 { uri, .. } => format!("s3://{}/{}{key}", uri.bucket, uri.folder()),
        }
    }

    /// Every object under the root, or only under its folder `table` (`--table`), keys
    /// relative to the root.
    pub(super) fn list(&self, table: Option<&str>) -> Result<Vec<Object>, Error> {
        match self {
            Location::Local(root) => {
                let meta = std::fs::metadata(root).map_err(|e| Error::Input {
                    input: root.display().to_string(),
                    reason: e.to_string(),
                })?;
                if !meta.is_dir() {
                    return Err(Error::Input {
                        input: root.display().to_string(),
                        reason: "not a directory".into(),
                    });
                }
                let mut out = Vec::new();
                match table {
                    Some(t) if root.join(t).is_dir() => {
                        walk(&root.join(t), &format!("{t}/"), &mut out)?
                    }
                    Some(_) => {}
                    None => walk(root, "", &mut out)?,
                }
                Ok(out)
            }
            #[cfg(feature = "s3")]
            Location::S3 { s3, uri } => {
                let folder = uri.folder();
                let listed = s3.list(&crate::source::S3Uri {
                    bucket: uri.bucket.clone(),
                    key: match table {
                        Some(t) => format!("{folder}{t}/"),
                        None => folder.clone(),
                    },
                })?;
                Ok(listed
                    .into_iter()
                    .filter_map(|i| match i {
                        crate::source::Input::S3(o) => Some(Object {
                            key: o.key.strip_prefix(&folder)?.to_owned(),
                            size: o.size,
                        }),
                        _ => None,
                    })
                    .collect())
            }
        }
    }

    /// The whole of a small object (a manifest).
    pub(super) fn read_all(&self, obj: &Object) -> Result<Vec<u8>, Error> {
        let read_err = |source| Error::Read {
            input: self.display(&obj.key),
            source,
        };
        match self {
            Location::Local(root) => std::fs::read(root.join(&obj.key)).map_err(read_err),
            #[cfg(feature = "s3")]
            Location::S3 { s3, uri } => s3.read_all(&self.s3_object(uri, obj)),
        }
    }

    #[cfg(feature = "s3")]
    pub(super) fn s3_object(
        &self,
        uri: &crate::source::S3Uri,
        obj: &Object,
    ) -> crate::source::S3Object {
        crate::source::S3Object {
            bucket: uri.bucket.clone(),
            key: format!("{}{}", uri.folder(), obj.key),
            size: obj.size,
            etag: None,
            modified: None,
        }
    }

    /// A Parquet file to read.
    pub(super) fn fetch(&self, obj: &Object) -> Result<Fetched, Error> {
        match self {
            Location::Local(root) => {
                File::open(root.join(&obj.key))
                    .map(Fetched::File)
                    .map_err(|source| Error::Read {
                        input: self.display(&obj.key),
                        source,
                    })
            }
            #[cfg(feature = "s3")]
            Location::S3 { s3, uri } => {
                let object = self.s3_object(uri, obj);
                if obj.size <= IN_MEMORY_OBJECT_BYTES {
                    return Ok(Fetched::Bytes(bytes::Bytes::from(s3.read_all(&object)?)));
                }
                let read_err = |source| Error::Read {
                    input: self.display(&obj.key),
                    source,
                };
                let mut file = anonymous_file().map_err(read_err)?;
                std::io::copy(&mut s3.open(&object), &mut file).map_err(read_err)?;
                Ok(Fetched::File(file))
            }
        }
    }
}

/// Collects the files under `dir` (`prefix` is its key), skipping hidden entries and
/// directories whose names start with `_` (`_rejected`).
pub(super) fn walk(dir: &Path, prefix: &str, out: &mut Vec<Object>) -> Result<(), Error> {
    let io_err = |source| Error::Read {
        input: dir.display().to_string(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let key = format!("{prefix}{name}");
        let kind = entry.file_type().map_err(io_err)?;
        if kind.is_dir() {
            if !name.starts_with('_') {
                walk(&entry.path(), &format!("{key}/"), out)?;
            }
        } else if kind.is_file() {
            let size = entry.metadata().map_err(io_err)?.len();
            out.push(Object { key, size });
        }
    }
    Ok(())
}

/// A read-write temporary file that has no name: nothing is left behind however the
/// process ends.
pub(super) fn anonymous_file() -> std::io::Result<File> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        ".jwas-compact-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}
