//! Where output objects go. An object appears whole or not at all: a local file is written
//! under a hidden temporary name and renamed when committed.

use crate::error::Error;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An object being written; nothing is visible until [`ObjectWriter::commit`].
pub trait ObjectWriter: Write + Send {
    /// Makes the object visible, whole.
    fn commit(self: Box<Self>) -> Result<(), Error>;
}

/// An object found by [`Store::list`]: its key (relative to the store's root,
/// `/`-separated) and size.
#[derive(Clone, Debug)]
pub struct Listed {
    /// The key.
    pub key: String,
    /// Bytes.
    pub size: u64,
}

/// An object's bytes, to read (see [`Store::fetch`]): a file or, for a small remote
/// object, the bytes in memory. Both are a `parquet` `ChunkReader`.
pub enum Fetched {
    /// A local file, or an unnamed temporary file the object was copied into.
    File(File),
    /// The whole object in memory.
    Bytes(bytes::Bytes),
}

/// Remote objects up to this size are fetched into memory; larger ones into an unnamed
/// temporary file.
pub const IN_MEMORY_OBJECT_BYTES: u64 = 64 << 20;

/// A place output objects are written to, listed and read back from, by key
/// (`/`-separated). Open one from a path or an `s3://` URI with
/// [`crate::run::open_store`].
pub trait Store: Send + Sync {
    /// Starts writing the object at `key`, replacing any object there when committed.
    fn create(&self, key: &str) -> Result<Box<dyn ObjectWriter>, Error>;
    /// Writes the object at `key` whole, from bytes already in memory, and commits it.
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), Error> {
        let mut object = self.create(key)?;
        object.write_all(bytes).map_err(|source| Error::Write {
            path: self.location(key).into(),
            source,
        })?;
        object.commit()
    }
    /// The object's location, for messages (a path or an `s3://` URI).
    fn location(&self, key: &str) -> String;
    /// Waits until every object committed so far is stored, and returns the first failure.
    /// A store may finish a commit in the background (S3 uploads); local files are in place
    /// when `commit` returns.
    fn sync(&self) -> Result<(), Error> {
        Ok(())
    }
    /// A store writing to the same place whose [`Store::sync`] waits only for the objects
    /// created through it.
    fn scoped(&self) -> Arc<dyn Store>;
    /// Removes the object at `key` (committed earlier); an object that is not there is no
    /// error.
    fn remove(&self, key: &str) -> Result<(), Error>;
    /// The committed objects under `folder` (`""` for the whole store, else a key prefix
    /// ending in `/`), in no set order. Hidden names (starting with `.`: temporaries) and
    /// folders whose names start with `_` (`_rejected`) are left out. A store whose root
    /// does not exist is an error; a missing folder under it lists nothing.
    fn list(&self, folder: &str) -> Result<Vec<Listed>, Error>;
    /// The whole of a small object (a manifest).
    fn read_all(&self, key: &str) -> Result<Vec<u8>, Error>;
    /// An object to read from (a Parquet file): a local file as it is; a remote one in
    /// memory up to [`IN_MEMORY_OBJECT_BYTES`], else copied to an unnamed temporary file.
    fn fetch(&self, object: &Listed) -> Result<Fetched, Error>;
}

/// Whether a listed key is left out of [`Store::list`]: a hidden name, or anything under
/// a folder whose name starts with `_`. (A local store's walk skips them as it goes.)
#[cfg(feature = "s3")]
pub(crate) fn unlisted(key: &str) -> bool {
    let mut parts = key.split('/').peekable();
    while let Some(part) = parts.next() {
        let folder = parts.peek().is_some();
        if part.starts_with('.') || folder && part.starts_with('_') {
            return true;
        }
    }
    false
}

/// A local directory.
///
/// Files are written as `.<name>.tmp-<pid>-<n>` beside their final name and renamed when
/// committed. A process killed mid-write leaves its temporaries behind; the first time a
/// later run writes into a directory that already existed, it removes the temporaries of
/// processes that no longer run (on Linux, where `/proc` tells; elsewhere remove
/// `.*.tmp-*` files by hand when no jwas runs).
#[derive(Clone, Debug)]
pub struct LocalStore {
    root: PathBuf,
    durable: bool,
    /// Directories this process has made or checked, shared by scoped copies.
    known_dirs: Arc<std::sync::Mutex<std::collections::HashSet<PathBuf>>>,
}

impl LocalStore {
    /// Objects under `root`. Committing renames the finished file into place, so readers
    /// see it whole or not at all, but does not wait for the disk: an hourly-partitioned
    /// year of logs is tens of thousands of files, and an fsync each costs more than the
    /// parsing. Use [`LocalStore::durable`] where a commit must survive a power cut.
    pub fn new(root: impl Into<PathBuf>) -> LocalStore {
        LocalStore {
            root: root.into(),
            durable: false,
            known_dirs: Arc::default(),
        }
    }

    /// Objects under `root`, each synced to disk before it is renamed into place.
    pub fn durable(root: impl Into<PathBuf>) -> LocalStore {
        LocalStore {
            root: root.into(),
            durable: true,
            known_dirs: Arc::default(),
        }
    }

    /// Makes `dir` if needed, once per process; a directory that already existed has its
    /// stale temporaries removed.
    fn prepare_dir(&self, dir: &Path) -> std::io::Result<()> {
        let mut known = match self.known_dirs.lock() {
            Ok(k) => k,
            Err(poisoned) => poisoned.into_inner(),
        };
        if known.contains(dir) {
            return Ok(());
        }
        match std::fs::create_dir(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                remove_stale_temporaries(dir)
            }
            Err(_) => std::fs::create_dir_all(dir)?,
        }
        known.insert(dir.to_owned());
        Ok(())
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

struct LocalObject {
    durable: bool,
    file: Option<BufWriter<File>>,
    tmp: PathBuf,
    path: PathBuf,
    committed: bool,
}

impl LocalObject {
    /// The temporary file for the object at `key`, not yet buffered.
    fn open(store: &LocalStore, key: &str) -> Result<(LocalObject, File), Error> {
        let path = store.root.join(key);
        let wrap = |source| Error::Write {
            path: path.clone(),
            source,
        };
        let dir = path.parent().unwrap_or(&store.root);
        store.prepare_dir(dir).map_err(wrap)?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("object");
        // The pid and a number of this process's own: two objects written at once under
        // one key (never by one run, but by a library caller) do not share a temporary.
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.tmp-{}-{seq}", process_id()));
        let file = File::create(&tmp).map_err(wrap)?;
        let object = LocalObject {
            durable: store.durable,
            file: None,
            tmp,
            path,
            committed: false,
        };
        Ok((object, file))
    }

    /// Syncs `file` if durable, closes it and renames it into place.
    fn finish(&mut self, file: File) -> Result<(), Error> {
        let wrap = |source| Error::Write {
            path: self.path.clone(),
            source,
        };
        if self.durable {
            file.sync_data().map_err(wrap)?;
        }
        drop(file);
        std::fs::rename(&self.tmp, &self.path).map_err(wrap)?;
        self.committed = true;
        if self.durable {
            // The rename itself is durable only once the directory is synced.
            if let Some(dir) = self.path.parent() {
                File::open(dir).and_then(|d| d.sync_all()).map_err(wrap)?;
            }
        }
        Ok(())
    }
}

impl Write for LocalObject {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(std::io::Error::other("object already committed")),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.as_mut().map_or(Ok(()), |f| f.flush())
    }
}

impl ObjectWriter for LocalObject {
    fn commit(mut self: Box<Self>) -> Result<(), Error> {
        let wrap = |source| Error::Write {
            path: self.path.clone(),
            source,
        };
        let Some(file) = self.file.take() else {
            return Ok(());
        };
        let file = file.into_inner().map_err(|e| wrap(e.into_error()))?;
        self.finish(file)
    }
}

impl Drop for LocalObject {
    fn drop(&mut self) {
        // Not committed (an error or a panic): leave nothing half-written behind.
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Removes `.<name>.tmp-<pid>[-<n>]` files in `dir` whose process is gone (best effort: any error
/// leaves the file).
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.starts_with('.'))
            .and_then(|n| n.rsplit_once(".tmp-"))
            .and_then(|(_, tail)| tail.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != process_id() && !process_runs(pid) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Whether process `pid` still runs; `true` where that cannot be told.
fn process_runs(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

/// This process's id (asked once: temporary names carry it).
fn process_id() -> u32 {
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *PID.get_or_init(std::process::id)
}

impl Store for LocalStore {
    fn create(&self, key: &str) -> Result<Box<dyn ObjectWriter>, Error> {
        let (mut object, file) = LocalObject::open(self, key)?;
        object.file = Some(BufWriter::with_capacity(64 << 10, file));
        Ok(Box::new(object))
    }

    /// Written with one call, without a buffer in between (a year of hourly partitions is
    /// tens of thousands of small files, each written whole).
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), Error> {
        let (mut object, mut file) = LocalObject::open(self, key)?;
        file.write_all(bytes).map_err(|source| Error::Write {
            path: object.path.clone(),
            source,
        })?;
        object.finish(file)
    }

    fn location(&self, key: &str) -> String {
        self.root.join(key).display().to_string()
    }

    fn scoped(&self) -> Arc<dyn Store> {
        Arc::new(self.clone())
    }

    fn remove(&self, key: &str) -> Result<(), Error> {
        let path = self.root.join(key);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::Write { path, source: e })
            }
            _ => Ok(()),
        }
    }

    fn list(&self, folder: &str) -> Result<Vec<Listed>, Error> {
        let root = &self.root;
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
        let dir = root.join(folder);
        if folder.is_empty() || dir.is_dir() {
            walk(&dir, folder, &mut out)?;
        }
        Ok(out)
    }

    fn read_all(&self, key: &str) -> Result<Vec<u8>, Error> {
        std::fs::read(self.root.join(key)).map_err(|source| Error::Read {
            input: self.location(key),
            source,
        })
    }

    fn fetch(&self, object: &Listed) -> Result<Fetched, Error> {
        File::open(self.root.join(&object.key))
            .map(Fetched::File)
            .map_err(|source| Error::Read {
                input: self.location(&object.key),
                source,
            })
    }
}

/// Collects the files under `dir` (`prefix` is its key), skipping hidden entries and
/// directories whose names start with `_` (`_rejected`). Symbolic links are not followed:
/// the store's own objects are never links.
fn walk(dir: &Path, prefix: &str, out: &mut Vec<Listed>) -> Result<(), Error> {
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
            out.push(Listed { key, size });
        }
    }
    Ok(())
}

/// A read-write temporary file that has no name: nothing is left behind however the
/// process ends.
pub fn anonymous_file() -> std::io::Result<File> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TempDir;

    #[test]
    fn an_object_appears_only_when_committed_and_whole() {
        let dir = TempDir::new("store");
        let store = LocalStore::new(&dir.0);
        let mut a = store.create("t/x/a.parquet").unwrap();
        a.write_all(b"hello").unwrap();
        // Before the commit only a hidden temporary exists, named after this process.
        let files = dir.files();
        assert_eq!(files.len(), 1);
        assert!(files[0].starts_with("t/x/.a.parquet.tmp-"), "{files:?}");
        a.commit().unwrap();
        assert_eq!(dir.files(), ["t/x/a.parquet"]);
        assert_eq!(
            std::fs::read(dir.0.join("t/x/a.parquet")).unwrap(),
            b"hello"
        );
        // Dropped without a commit: nothing is left.
        let mut b = store.create("t/x/b.parquet").unwrap();
        b.write_all(b"half").unwrap();
        drop(b);
        assert_eq!(dir.files(), ["t/x/a.parquet"]);
        // put replaces whole; remove of a missing key is no error.
        store.put("t/x/a.parquet", b"again").unwrap();
        assert_eq!(
            std::fs::read(dir.0.join("t/x/a.parquet")).unwrap(),
            b"again"
        );
        store.remove("t/x/a.parquet").unwrap();
        store.remove("t/x/a.parquet").unwrap();
        assert!(dir.files().is_empty());
    }

    #[test]
    fn a_listing_holds_committed_objects_only() {
        let dir = TempDir::new("store-list");
        let store = LocalStore::new(&dir.0);
        store.put("t/year=2024/a.parquet", b"aa").unwrap();
        store.put("t/year=2024/_x.json", b"{}").unwrap();
        store.put("u/b.parquet", b"b").unwrap();
        store.put("_rejected/r.ndjson", b"r").unwrap();
        let _pending = store.create("t/year=2024/c.parquet").unwrap();
        let keys = |folder: &str| {
            let mut l: Vec<_> = store
                .list(folder)
                .unwrap()
                .into_iter()
                .map(|o| (o.key, o.size))
                .collect();
            l.sort();
            l
        };
        assert_eq!(
            keys(""),
            [
                ("t/year=2024/_x.json".to_owned(), 2),
                ("t/year=2024/a.parquet".to_owned(), 2),
                ("u/b.parquet".to_owned(), 1)
            ]
        );
        assert_eq!(keys("u/"), [("u/b.parquet".to_owned(), 1)]);
        assert!(keys("missing/").is_empty());
        assert_eq!(store.read_all("u/b.parquet").unwrap(), b"b");
        let listed = Listed {
            key: "t/year=2024/a.parquet".into(),
            size: 2,
        };
        let Fetched::File(mut f) = store.fetch(&listed).unwrap() else {
            panic!("a local object is fetched as its file");
        };
        let mut text = String::new();
        std::io::Read::read_to_string(&mut f, &mut text).unwrap();
        assert_eq!(text, "aa");
        assert!(store.read_all("u/none").is_err());
        // A root that is missing or not a directory is an error, not an empty listing.
        assert!(LocalStore::new(dir.0.join("none")).list("").is_err());
        assert!(LocalStore::new(dir.0.join("u/b.parquet")).list("").is_err());
    }

    #[cfg(feature = "s3")]
    #[test]
    fn hidden_names_and_underscore_folders_are_unlisted() {
        assert!(unlisted(".a.parquet.tmp-1-2"));
        assert!(unlisted("t/.x"));
        assert!(unlisted("_rejected/r.ndjson"));
        assert!(unlisted("t/_tmp/a.parquet"));
        assert!(!unlisted("t/year=2024/_jwas-compact-1.json"));
        assert!(!unlisted("t/year=2024/a.parquet"));
    }

    #[test]
    fn two_objects_under_one_key_at_once_do_not_share_a_temporary() {
        let dir = TempDir::new("store-twice");
        let store = LocalStore::new(&dir.0);
        let mut a = store.create("k").unwrap();
        let mut b = store.create("k").unwrap();
        a.write_all(b"a").unwrap();
        b.write_all(b"b").unwrap();
        a.commit().unwrap();
        b.commit().unwrap();
        assert_eq!(std::fs::read(dir.0.join("k")).unwrap(), b"b");
        assert_eq!(dir.files(), ["k"]);
    }
}
