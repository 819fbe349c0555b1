//! Inputs: local files, directories (walked recursively, in name order, hidden entries
//! skipped), standard input and S3 objects; gzip and zstd are detected by magic bytes and
//! decoded while streaming, whatever the name. S3 objects are listed and opened through
//! `jwas::s3` (feature `s3`).

use crate::error::Error;
use crate::standard::InputIdentity;
use chrono::{DateTime, Utc};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// A name (a path, a key, a message) for a terminal: control characters (ESC, newlines,
/// C1 controls) are shown escaped (`\u{1b}`, `\n`), so that a file name can neither move
/// the cursor nor split a line of the summary.
#[derive(Clone, Copy, Debug)]
pub struct Escaped<'a>(pub &'a str);

impl std::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(char::is_control) {
            f.write_str(&rest[..i])?;
            let c = rest[i..].chars().next().unwrap_or_default();
            write!(f, "{}", c.escape_default())?;
            rest = &rest[i + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

impl Escaped<'_> {
    /// The escaped text.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        if self.0.contains(char::is_control) {
            std::borrow::Cow::Owned(self.to_string())
        } else {
            std::borrow::Cow::Borrowed(self.0)
        }
    }
}

/// One input to parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A local file.
    File {
        /// The path as given, or as found under a given directory (`p_source_object`).
        path: PathBuf,
        /// Size in bytes.
        size: u64,
        /// Last modification time, the default reference time for year inference.
        mtime: Option<DateTime<Utc>>,
    },
    /// Standard input (`-`), as named on the command line: [`Input::spooled`] reads it
    /// before it is parsed, so that its identity comes from its bytes.
    Stdin,
    /// Standard input read to its end ([`Input::spooled`]).
    Spooled(Spooled),
    /// An S3 object, as listed.
    S3(S3Object),
}

/// Standard input read to its end into an unnamed temporary file (under the system's
/// temporary directory, `TMPDIR`; removed from the directory at once, so nothing is left
/// even after a crash), with the size and a 128-bit hash (xxh3) of its bytes. Its identity
/// is those, so two different streams never share row ids or file names, and the same
/// bytes piped twice replace the same files. The cost: the stream is stored once on disk
/// (usually the page cache) and rows appear only after it ends.
#[derive(Clone, Debug)]
pub struct Spooled {
    /// Bytes read.
    pub size: u64,
    /// xxh3-128 of the bytes.
    pub digest: u128,
    file: std::sync::Arc<File>,
}

impl PartialEq for Spooled {
    fn eq(&self, other: &Self) -> bool {
        (self.size, self.digest) == (other.size, other.digest)
    }
}

impl Eq for Spooled {}

impl Spooled {
    /// Reads `r` to its end into a temporary file.
    pub fn read(mut r: impl Read) -> std::io::Result<Spooled> {
        use std::io::Write;
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(".jwas-stdin-{}-{seq}", std::process::id()));
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        // Unnamed from here on: the data lives as long as the handle.
        let _ = std::fs::remove_file(&path);
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut size = 0u64;
        loop {
            let n = match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            hasher.update(&buf[..n]);
            file.write_all(&buf[..n])?;
            size += n as u64;
        }
        Ok(Spooled {
            size,
            digest: hasher.digest128(),
            file: std::sync::Arc::new(file),
        })
    }

    /// Its bytes from the start.
    fn reader(&self) -> SpooledReader {
        SpooledReader {
            file: std::sync::Arc::clone(&self.file),
            at: 0,
        }
    }
}

/// Reads a [`Spooled`] file at its own offset (`pread`), whatever other readers do.
struct SpooledReader {
    file: std::sync::Arc<File>,
    at: u64,
}

impl Read for SpooledReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = std::os::unix::fs::FileExt::read_at(&*self.file, buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

/// An S3 object: where it is and what identifies this version of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Object {
    /// The bucket.
    pub bucket: String,
    /// The key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// The ETag, without quotes.
    pub etag: Option<String>,
    /// LastModified, the reference time for year inference.
    pub modified: Option<DateTime<Utc>>,
}

impl S3Object {
    /// `s3://bucket/key`.
    pub fn uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

/// An `s3://bucket/prefix` location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Uri {
    /// The bucket.
    pub bucket: String,
    /// The key or key prefix, without a leading `/` (may be empty).
    pub key: String,
}

/// S3's limit on the length of a key, in bytes.
pub const MAX_S3_KEY_BYTES: usize = 1024;

/// Why `bucket` and `key` cannot name an S3 object or prefix, if they cannot: a bucket of 1 to
/// 255 letters, digits, `.`, `-` and `_` (S3 itself allows 3 to 63 lower-case ones; other
/// S3-compatible stores a little more), a key of at most 1024 bytes. Requests are built
/// only from names that pass (the SDK panics on some that do not).
pub fn s3_name_problem(bucket: &str, key: &str) -> Option<String> {
    if bucket.is_empty() {
        return Some("no bucket name (expected s3://bucket/prefix)".into());
    }
    let bucket_ok = bucket.len() <= 255
        && bucket
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if !bucket_ok {
        return Some(format!(
            "not a bucket name: '{}' (letters, digits, '.', '-' and '_', at most 255)",
            Escaped(crate::grammar::common::clip(bucket, 80))
        ));
    }
    if key.len() > MAX_S3_KEY_BYTES {
        return Some(format!(
            "a key of {} bytes, longer than S3's limit of {MAX_S3_KEY_BYTES}",
            key.len()
        ));
    }
    None
}

/// Decodes a key as S3 URL-encodes it (in notifications, and in listings asked for with
/// `encoding-type=url`): `+` is a space, `%XX` a byte; `None` if malformed or not UTF-8.
pub fn s3_url_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b.get(i + 1..i + 3)?;
                let digit = |c: u8| char::from(c).to_digit(16);
                out.push((digit(hex[0])? * 16 + digit(hex[1])?) as u8);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

impl S3Uri {
    /// Parses `s3://bucket[/key]`; `None` if `s` does not start with `s3://`.
    pub fn parse(s: &str) -> Option<Result<S3Uri, Error>> {
        let rest = s.strip_prefix("s3://")?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        Some(
            S3Uri::new(bucket, key.trim_start_matches('/')).map_err(|e| match e {
                Error::Input { reason, .. } => Error::Input {
                    input: crate::grammar::common::clip(s, 200).to_owned(),
                    reason,
                },
                e => e,
            }),
        )
    }

    /// `s3://bucket/key`, if these can name an S3 location (see [`s3_name_problem`]).
    pub fn new(bucket: &str, key: &str) -> Result<S3Uri, Error> {
        match s3_name_problem(bucket, key) {
            Some(reason) => Err(Error::Input {
                input: format!("s3://{}/{}", bucket, crate::grammar::common::clip(key, 200)),
                reason,
            }),
            None => Ok(S3Uri {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
            }),
        }
    }

    /// The key prefix with a final `/` when not empty: a "folder".
    pub fn folder(&self) -> String {
        if self.key.is_empty() || self.key.ends_with('/') {
            self.key.clone()
        } else {
            format!("{}/", self.key)
        }
    }
}

impl std::fmt::Display for S3Uri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

impl Input {
    /// `p_source_object`: the path as given, or `-`.
    pub fn name(&self) -> String {
        match self {
            Input::File { path, .. } => path.display().to_string(),
            Input::Stdin | Input::Spooled(_) => "-".to_owned(),
            Input::S3(o) => o.uri(),
        }
    }

    /// What identifies this input for row ids and file names.
    pub fn identity(&self) -> InputIdentity {
        match self {
            // The file's canonical path (absolute, symbolic links resolved), so that
            // `a.log`, `./a.log` and `$PWD/a.log` are one input with one set of row ids
            // and file names; the path as given if it cannot be resolved.
            Input::File { path, size, mtime } => InputIdentity {
                uri: std::fs::canonicalize(path)
                    .unwrap_or_else(|_| path.clone())
                    .display()
                    .to_string(),
                size: Some(*size),
                version: mtime.map(|t| t.timestamp_millis().to_string()),
            },
            Input::Stdin => InputIdentity {
                uri: "-".into(),
                size: None,
                version: None,
            },
            Input::Spooled(s) => InputIdentity {
                uri: "-".into(),
                size: Some(s.size),
                version: Some(format!("xxh3:{:032x}", s.digest)),
            },
            Input::S3(o) => InputIdentity {
                uri: o.uri(),
                size: Some(o.size),
                version: o.etag.clone(),
            },
        }
    }

    /// A local file's size now, if it is smaller than when it was listed: the file was
    /// truncated while it was read (logrotate's `copytruncate`), so rows may be missing.
    pub fn shrank(&self) -> Option<u64> {
        match self {
            Input::File { path, size, .. } => std::fs::metadata(path)
                .ok()
                .map(|m| m.len())
                .filter(|now| now < size),
            _ => None,
        }
    }

    /// Standard input read to its end ([`Spooled`]), so that its identity comes from its
    /// bytes; any other input as it is.
    pub fn spooled(self) -> Result<Input, Error> {
        match self {
            Input::Stdin => Spooled::read(std::io::stdin().lock())
                .map(Input::Spooled)
                .map_err(|source| Error::Read {
                    input: "- (reading standard input into a temporary file)".into(),
                    source,
                }),
            other => Ok(other),
        }
    }

    /// Its size as stored (compressed, if it is), when known: not for standard input.
    pub fn stored_size(&self) -> Option<u64> {
        match self {
            Input::File { size, .. } => Some(*size),
            Input::Stdin => None,
            Input::Spooled(s) => Some(s.size),
            Input::S3(o) => Some(o.size),
        }
    }

    /// The input's own time: the file's mtime or the object's LastModified.
    pub fn modified(&self) -> Option<DateTime<Utc>> {
        match self {
            Input::File { mtime, .. } => *mtime,
            Input::Stdin | Input::Spooled(_) => None,
            Input::S3(o) => o.modified,
        }
    }

    /// Opens a local input or standard input, decompressing gzip or zstd. S3 objects are
    /// opened with `jwas::s3::S3::open`, then [`open_decompressed`].
    pub fn open(&self) -> Result<Box<dyn Read + Send>, Error> {
        open_decompressed(self, self.open_raw()?)
    }

    /// Opens a local input or standard input as stored (not decompressed).
    pub fn open_raw(&self) -> Result<Box<dyn Read + Send>, Error> {
        Ok(match self {
            Input::File { path, .. } => {
                Box::new(File::open(path).map_err(|source| Error::Read {
                    input: self.name(),
                    source,
                })?)
            }
            Input::Stdin => Box::new(std::io::stdin()),
            Input::Spooled(s) => Box::new(s.reader()),
            Input::S3(o) => {
                return Err(Error::Input {
                    input: o.uri(),
                    reason: "S3 objects are read through an S3 client (jwas::s3)".into(),
                })
            }
        })
    }
}

/// A reader that adds the bytes it reads to a shared count (progress displays, and the
/// throughput in a summary).
pub struct Counted<R> {
    inner: R,
    count: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Counted<R> {
    /// Counts `inner`'s bytes into `count`.
    pub fn new(inner: R, count: std::sync::Arc<std::sync::atomic::AtomicU64>) -> Counted<R> {
        Counted { inner, count }
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// A reader that fails (with an error saying so) once `stop` is set: an input in hand is
/// given up when the run is stopped (SIGINT, SIGTERM), and, as for any failed input, none
/// of its files is left.
pub struct Stoppable<R> {
    inner: R,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl<R: Read> Stoppable<R> {
    /// `inner`, until `stop` is set.
    pub fn new(inner: R, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) -> Stoppable<R> {
        Stoppable { inner, stop }
    }
}

impl<R: Read> Read for Stoppable<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.stop.load(std::sync::atomic::Ordering::Relaxed) {
            // Not ErrorKind::Interrupted: readers retry that.
            return Err(std::io::Error::other("stopped by a signal"));
        }
        self.inner.read(buf)
    }
}

/// [`decompress`] with the input's name on errors and warnings.
pub fn open_decompressed(
    input: &Input,
    raw: Box<dyn Read + Send>,
) -> Result<Box<dyn Read + Send>, Error> {
    open_detected(input, raw).map(|(r, _)| r)
}

/// [`open_decompressed`], also saying what its first bytes showed: `"gzip"`, `"zstd"` or
/// `"plain"`.
pub fn open_detected(
    input: &Input,
    raw: Box<dyn Read + Send>,
) -> Result<(Box<dyn Read + Send>, &'static str), Error> {
    decompress_named(raw, &input.name()).map_err(|source| Error::Read {
        input: input.name(),
        source,
    })
}

/// Wraps `input` in a gzip (multi-member) or zstd decoder when its first bytes say so.
pub fn decompress(input: Box<dyn Read + Send>) -> std::io::Result<Box<dyn Read + Send>> {
    decompress_named(input, "input").map(|(r, _)| r)
}

/// gzip members one after another, as `gzip -dc` reads them. Bytes after a member that do
/// not start another member (padding, a truncated copy, garbage) end the input: what came
/// before is kept, and a warning says how many bytes were ignored.
struct GzMembers<R: BufRead> {
    decoder: Option<flate2::bufread::GzDecoder<R>>,
    name: String,
}

impl<R: BufRead> Read for GzMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let Some(d) = self.decoder.as_mut() else {
                return Ok(0);
            };
            let n = d.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            // The member ended: another one follows, or nothing, or trailing bytes.
            let Some(mut inner) = self
                .decoder
                .take()
                .map(flate2::bufread::GzDecoder::into_inner)
            else {
                return Ok(0);
            };
            let next = loop {
                match inner.fill_buf() {
                    Ok(b) => break b,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            if next.is_empty() {
                return Ok(0);
            }
            if next.starts_with(&[0x1f, 0x8b]) {
                self.decoder = Some(flate2::bufread::GzDecoder::new(inner));
                continue;
            }
            let ignored = std::io::copy(&mut inner, &mut std::io::sink())?;
            tracing::warn!(
                "{}: {ignored} byte(s) after the last gzip member are not gzip data and were ignored",
                Escaped(&self.name)
            );
            return Ok(0);
        }
    }
}

/// Reads the first bytes of `input` to tell its format. A plain input is then read
/// unbuffered (its reader takes blocks of 64 KiB and more): a buffer of its own would be
/// allocated and zero-filled for every input, which showed for directories of many small
/// files. Decoders get a buffered reader of 1 MiB.
fn decompress_named(
    mut input: Box<dyn Read + Send>,
    name: &str,
) -> std::io::Result<(Box<dyn Read + Send>, &'static str)> {
    let mut magic = [0u8; 4];
    let mut n = 0;
    while n < magic.len() {
        match input.read(&mut magic[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    let head = magic.get(..n).unwrap_or_default();
    let (is_gzip, is_zstd) = (
        head.starts_with(&[0x1f, 0x8b]),
        head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]),
    );
    let whole = std::io::Cursor::new(head.to_vec()).chain(input);
    if !is_gzip && !is_zstd {
        return Ok((Box::new(whole), "plain"));
    }
    let r = BufReader::with_capacity(1 << 20, whole);
    Ok(if is_gzip {
        let gz = GzMembers {
            decoder: Some(flate2::bufread::GzDecoder::new(r)),
            name: name.to_owned(),
        };
        (Box::new(gz), "gzip")
    } else {
        (
            Box::new(zstd::stream::read::Decoder::with_buffer(r)?),
            "zstd",
        )
    })
}

fn file_input(path: PathBuf, meta: &std::fs::Metadata) -> Input {
    let mtime = meta.modified().ok().map(DateTime::<Utc>::from);
    Input::File {
        path,
        size: meta.len(),
        mtime,
    }
}

/// File names a directory walk leaves out unless told otherwise: documentation, data and
/// jwas's own outputs, which are not logs (an appliance's log files have any name, so
/// nothing else is assumed).
pub const DEFAULT_EXCLUDE: &[&str] = &[
    "*.md",
    "*.json",
    "*.ndjson",
    "*.parquet",
    "*.yml",
    "*.yaml",
    "*.toml",
    "*.csv",
    "*.html",
];

/// Which files a directory walk takes, by file name (not path): a file is taken when it
/// matches an `include` pattern (any file, if there are none) and no `exclude` pattern.
/// Patterns are globs: `*` any run of characters, `?` one character, anything else itself
/// (case-sensitive). Files named on the command line are always taken.
#[derive(Clone, Debug)]
pub struct WalkFilter {
    /// Patterns a file name must match one of (none: every name).
    pub include: Vec<String>,
    /// Patterns no file name may match.
    pub exclude: Vec<String>,
}

impl Default for WalkFilter {
    fn default() -> Self {
        WalkFilter {
            include: Vec::new(),
            exclude: DEFAULT_EXCLUDE.iter().map(|p| (*p).to_owned()).collect(),
        }
    }
}

impl WalkFilter {
    /// Why a file of this name is left out, or `None` if it is taken.
    pub fn skip_reason(&self, name: &str) -> Option<String> {
        if !self.include.is_empty() && !self.include.iter().any(|p| glob_match(p, name)) {
            return Some(format!("not --include {}", self.include.join(", ")));
        }
        self.exclude
            .iter()
            .find(|p| glob_match(p, name))
            .map(|p| format!("--exclude {p}"))
    }
}

/// A file a directory walk left out, and why.
#[derive(Clone, Debug)]
pub struct Skipped {
    /// Its path.
    pub path: PathBuf,
    /// Why (the pattern, or what was wrong with the entry).
    pub reason: String,
    /// Left out by its name ([`WalkFilter`]), not because it could not be read (a
    /// dangling symbolic link, a loop of links, an entry whose metadata cannot be read).
    pub by_name: bool,
}

/// Whether `name` matches the glob `pattern` (`*`, `?`), in O(len(pattern) * len(name)).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    // Where the last `*` was, and the name position it is matched up to.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Walks `dir`, whose canonical path is `here` and is in `seen` with those of the
/// directories walked before: a symbolic link to a directory holding `here` (a loop) or to
/// one walked already (a second way to it) is skipped, and so are entries whose metadata cannot be read (a dangling
/// link), so that one bad entry does not stop the run.
fn walk(
    dir: &Path,
    here: &Path,
    filter: &WalkFilter,
    out: &mut Vec<Input>,
    skipped: &mut Vec<Skipped>,
    seen: &mut std::collections::HashSet<PathBuf>,
) -> Result<(), Error> {
    let err = |source| Error::Read {
        input: dir.display().to_string(),
        source,
    };
    let unreadable = |path: PathBuf, reason: String| Skipped {
        path,
        reason,
        by_name: false,
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(err)?
        .collect::<Result<_, _>>()
        .map_err(err)?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let path = e.path();
        let meta = match std::fs::metadata(&path) {
            Ok(meta) => meta,
            Err(e) => {
                let dangling = std::fs::symlink_metadata(&path)
                    .is_ok_and(|m| m.file_type().is_symlink())
                    && e.kind() == std::io::ErrorKind::NotFound;
                let reason = if dangling {
                    "a symbolic link to nothing".to_owned()
                } else {
                    format!("cannot be read: {e}")
                };
                skipped.push(unreadable(path, reason));
                continue;
            }
        };
        if meta.is_dir() {
            match std::fs::canonicalize(&path) {
                Ok(real) if here.starts_with(&real) => skipped.push(unreadable(
                    path,
                    format!(
                        "a symbolic link loop (to {}, which holds it)",
                        real.display()
                    ),
                )),
                Ok(real) if seen.insert(real.clone()) => {
                    walk(&path, &real, filter, out, skipped, seen)?
                }
                Ok(real) => skipped.push(unreadable(
                    path,
                    format!(
                        "a symbolic link to {}, a directory already walked",
                        real.display()
                    ),
                )),
                Err(e) => skipped.push(unreadable(path, format!("cannot be read: {e}"))),
            }
        } else if meta.is_file() {
            match filter.skip_reason(&name) {
                Some(reason) => skipped.push(Skipped {
                    path,
                    reason,
                    by_name: true,
                }),
                None => out.push(file_input(path, &meta)),
            }
        }
    }
    Ok(())
}

/// Expands the command line's local inputs: files as given, directories into their files
/// (those `filter` takes; the others are returned as skipped), `-`. (`s3://` inputs are
/// listed by `jwas::s3::S3::list`.) Paths need not be UTF-8; `p_source_object` shows such
/// bytes as U+FFFD.
pub fn expand<A: AsRef<std::ffi::OsStr>>(
    args: &[A],
    filter: &WalkFilter,
) -> Result<(Vec<Input>, Vec<Skipped>), Error> {
    let (mut out, mut skipped) = (Vec::new(), Vec::new());
    for arg in args {
        expand_one(arg.as_ref(), filter, &mut out, &mut skipped)?;
    }
    Ok((out, skipped))
}

/// An input named again in a run, and the input it is the same as.
#[derive(Clone, Debug)]
pub struct Repeat {
    /// The input as named again (e.g. `./a.log`, or a link to `a.log`).
    pub input: Input,
    /// The earlier input with the same identity (e.g. `a.log`), which is parsed.
    pub same_as: Input,
}

/// The inputs with one identity ([`Input::identity`]: the canonical path, size and mtime
/// of a file; the URI, size and ETag of an S3 object; standard input) kept once, at their
/// first place, and the repeats that were dropped. Two spellings of one file would be
/// parsed into the same file names side by side, one replacing the other.
pub fn distinct(inputs: Vec<Input>) -> (Vec<Input>, Vec<Repeat>) {
    let mut first: std::collections::HashMap<u128, usize> = std::collections::HashMap::new();
    let mut kept: Vec<Input> = Vec::with_capacity(inputs.len());
    let mut repeats = Vec::new();
    for input in inputs {
        match first.entry(input.identity().digest()) {
            std::collections::hash_map::Entry::Occupied(e) => repeats.push(Repeat {
                same_as: kept[*e.get()].clone(),
                input,
            }),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(kept.len());
                kept.push(input);
            }
        }
    }
    (kept, repeats)
}

/// Expands one local input, appending to `out` (and files a directory walk left out to
/// `skipped`).
pub fn expand_one(
    arg: &std::ffi::OsStr,
    filter: &WalkFilter,
    out: &mut Vec<Input>,
    skipped: &mut Vec<Skipped>,
) -> Result<(), Error> {
    if arg == "-" {
        out.push(Input::Stdin);
        return Ok(());
    }
    let path = PathBuf::from(arg);
    let meta = std::fs::metadata(&path).map_err(|source| Error::Read {
        input: path.display().to_string(),
        source,
    })?;
    if meta.is_dir() {
        let here = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        let mut seen = std::collections::HashSet::from([here.clone()]);
        walk(&path, &here, filter, out, skipped, &mut seen)?;
    } else {
        out.push(file_input(path, &meta));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn read_all(bytes: Vec<u8>) -> String {
        let mut s = String::new();
        decompress(Box::new(std::io::Cursor::new(bytes)))
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        s
    }

    #[test]
    fn globs() {
        for (p, n, want) in [
            ("*.md", "README.md", true),
            ("*.md", "README.md.gz", false),
            ("*.log*", "a.log.1.gz", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*", "", true),
            ("", "x", false),
            ("*a*b*", "xxaxxbxx", true),
            ("*a*b", "xxaxxbxxc", false),
            ("é*", "été.log", true),
        ] {
            assert_eq!(glob_match(p, n), want, "{p} {n}");
        }
        // Linear-ish: a long name against many stars does not take long.
        let name = "a".repeat(10_000);
        assert!(!glob_match("*a*a*a*a*b", &name));
        let f = WalkFilter::default();
        assert!(f.skip_reason("EXPECTED.json").is_some());
        assert!(f.skip_reason("messages.1").is_none());
        let f = WalkFilter {
            include: vec!["*.log".into()],
            exclude: Vec::new(),
        };
        assert!(f.skip_reason("x.gz").is_some());
        assert!(f.skip_reason("x.log").is_none());
    }

    #[test]
    fn s3_uris() {
        let uri = |s: &str| {
            S3Uri::parse(s).map(|r| {
                r.ok()
                    .map(|u| (u.bucket.clone(), u.key.clone(), u.folder()))
            })
        };
        let ok = |b: &str, k: &str, f: &str| Some(Some((b.to_owned(), k.to_owned(), f.to_owned())));
        assert_eq!(uri("/tmp/x"), None);
        assert_eq!(uri("s3:/b"), None);
        assert_eq!(uri("s3://"), Some(None));
        assert_eq!(uri("s3:///key"), Some(None));
        assert_eq!(uri("s3://b"), ok("b", "", ""));
        assert_eq!(uri("s3://b/"), ok("b", "", ""));
        assert_eq!(uri("s3://b/jwas"), ok("b", "jwas", "jwas/"));
        assert_eq!(uri("s3://b/a/b/"), ok("b", "a/b/", "a/b/"));
        assert_eq!(
            uri(&format!("s3://b/{}", "x".repeat(1024))).map(|r| r.is_some()),
            Some(true)
        );
        assert_eq!(uri(&format!("s3://b/{}", "x".repeat(1025))), Some(None));
        assert_eq!(uri("s3://b\u{1b}/k"), Some(None));
        assert_eq!(uri(&format!("s3://{}/k", "b".repeat(256))), Some(None));
        let o = S3Object {
            bucket: "b".into(),
            key: "k 1.log".into(),
            size: 3,
            etag: Some("e".into()),
            modified: None,
        };
        assert_eq!(Input::S3(o.clone()).name(), "s3://b/k 1.log");
        let id = Input::S3(o).identity();
        assert_eq!((id.size, id.version.as_deref()), (Some(3), Some("e")));
    }

    #[test]
    fn names_are_escaped_for_terminals() {
        assert_eq!(
            Escaped("a\u{1b}[31mb\nc\u{9b}d").to_string(),
            "a\\u{1b}[31mb\\nc\\u{9b}d"
        );
        assert_eq!(Escaped("plain é").text(), "plain é");
    }

    #[test]
    fn detects_compression_by_magic() {
        assert_eq!(read_all(b"plain\n".to_vec()), "plain\n");
        let mut gz = Vec::new();
        for part in ["one\n", "two\n"] {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(part.as_bytes()).unwrap();
            gz.extend(e.finish().unwrap());
        }
        assert_eq!(read_all(gz.clone()), "one\ntwo\n");
        // Trailing bytes that are not another member: what came before is kept.
        let mut trailing = gz.clone();
        trailing.extend_from_slice(b"garbage\0\0\0");
        assert_eq!(read_all(trailing), "one\ntwo\n");
        let mut zeros = gz;
        zeros.extend_from_slice(&[0; 512]);
        assert_eq!(read_all(zeros), "one\ntwo\n");
        let zst = zstd::stream::encode_all(&b"zstd\n"[..], 1).unwrap();
        assert_eq!(read_all(zst), "zstd\n");
        assert_eq!(read_all(Vec::new()), "");
    }
}
