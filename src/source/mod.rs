//! Inputs: local files, directories (walked recursively, in name order, hidden entries
//! skipped) and standard input; gzip and zstd are detected by magic bytes and decoded while
//! streaming, whatever the name.

use crate::error::Error;
use crate::standard::InputIdentity;
use chrono::{DateTime, Utc};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

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
    /// Standard input (`-`).
    Stdin,
}

impl Input {
    /// `p_source_object`: the path as given, or `-`.
    pub fn name(&self) -> String {
        match self {
            Input::File { path, .. } => path.display().to_string(),
            Input::Stdin => "-".to_owned(),
        }
    }

    /// What identifies this input for row ids and file names.
    pub fn identity(&self) -> InputIdentity {
        match self {
            Input::File { size, mtime, .. } => InputIdentity {
                uri: self.name(),
                size: Some(*size),
                version: mtime.map(|t| t.timestamp_millis().to_string()),
            },
            Input::Stdin => InputIdentity {
                uri: "-".into(),
                size: None,
                version: None,
            },
        }
    }

    /// The input's own time: the file's mtime.
    pub fn modified(&self) -> Option<DateTime<Utc>> {
        match self {
            Input::File { mtime, .. } => *mtime,
            Input::Stdin => None,
        }
    }

    /// Opens the input, decompressing gzip or zstd.
    pub fn open(&self) -> Result<Box<dyn Read + Send>, Error> {
        let name = self.name();
        let raw: Box<dyn Read + Send> = match self {
            Input::File { path, .. } => {
                Box::new(File::open(path).map_err(|source| Error::Read {
                    input: name.clone(),
                    source,
                })?)
            }
            Input::Stdin => Box::new(std::io::stdin()),
        };
        decompress(raw).map_err(|source| Error::Read {
            input: name,
            source,
        })
    }
}

/// Wraps `input` in a gzip (multi-member) or zstd decoder when its first bytes say so.
pub fn decompress(input: Box<dyn Read + Send>) -> std::io::Result<Box<dyn Read + Send>> {
    let mut r = BufReader::with_capacity(1 << 20, input);
    let head = loop {
        match r.fill_buf() {
            Ok(b) => break b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    };
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::MultiGzDecoder::new(r))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Box::new(zstd::stream::read::Decoder::with_buffer(r)?)
    } else {
        Box::new(r)
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

fn walk(dir: &Path, out: &mut Vec<Input>) -> Result<(), Error> {
    let err = |source| Error::Read {
        input: dir.display().to_string(),
        source,
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(err)?
        .collect::<Result<_, _>>()
        .map_err(err)?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = e.path();
        let meta = std::fs::metadata(&path).map_err(|source| Error::Read {
            input: path.display().to_string(),
            source,
        })?;
        if meta.is_dir() {
            walk(&path, out)?;
        } else if meta.is_file() {
            out.push(file_input(path, &meta));
        }
    }
    Ok(())
}

/// Expands the command line's inputs: files as given, directories into their files, `-`.
pub fn expand(args: &[String]) -> Result<Vec<Input>, Error> {
    let mut out = Vec::new();
    for arg in args {
        if arg == "-" {
            out.push(Input::Stdin);
            continue;
        }
        let path = PathBuf::from(arg);
        let meta = std::fs::metadata(&path).map_err(|source| Error::Read {
            input: arg.clone(),
            source,
        })?;
        if meta.is_dir() {
            walk(&path, &mut out)?;
        } else {
            out.push(file_input(path, &meta));
        }
    }
    Ok(out)
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
    fn detects_compression_by_magic() {
        assert_eq!(read_all(b"plain\n".to_vec()), "plain\n");
        let mut gz = Vec::new();
        for part in ["one\n", "two\n"] {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(part.as_bytes()).unwrap();
            gz.extend(e.finish().unwrap());
        }
        assert_eq!(read_all(gz), "one\ntwo\n");
        let zst = zstd::stream::encode_all(&b"zstd\n"[..], 1).unwrap();
        assert_eq!(read_all(zst), "zstd\n");
        assert_eq!(read_all(Vec::new()), "");
    }
}
