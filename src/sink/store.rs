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

/// A place output objects are written to, by key (`/`-separated).
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
