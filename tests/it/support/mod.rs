//! Helpers shared by the integration tests: running the built binary, temporary
//! directories, and reading Parquet output back.
#![allow(dead_code)]

pub mod moto;

use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The reference time that gives the bundled testdata its intended years.
pub const REFERENCE: &str = "2024-03-21T00:00:00Z";

/// The repository's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The six per-type files and the mixed file of testdata/, as paths relative to the root.
pub fn testdata_logs() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("testdata"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".log"))
        .map(|n| format!("testdata/{n}"))
        .collect();
    v.sort();
    v
}

/// The `jwas` command with `args`, in the repository root.
pub fn jwas_cmd(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jwas"));
    c.args(args).current_dir(root());
    c
}

/// Runs `jwas` with `args` in the repository root.
pub fn jwas(args: &[&str]) -> Output {
    jwas_cmd(args).output().unwrap()
}

/// Runs `jwas`, asserting exit code `code`; returns (stdout, stderr).
pub fn jwas_ok(args: &[&str], code: i32) -> (String, String) {
    expect_exit(jwas(args), args, code)
}

/// Asserts a run's exit code; returns (stdout, stderr).
pub fn expect_exit(out: Output, args: &[&str], code: i32) -> (String, String) {
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert_eq!(
        out.status.code(),
        Some(code),
        "jwas {args:?}\nstderr:\n{stderr}"
    );
    (stdout, stderr)
}

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new empty directory under the system's temp dir.
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "jwas-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Its path as a string.
    pub fn str(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every file under `dir`, relative to it, sorted.
pub fn files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

/// Reads one Parquet file: its batches and its key-value metadata.
pub fn read_parquet(path: &Path) -> (Vec<RecordBatch>, BTreeMap<String, String>) {
    let file = std::fs::File::open(path).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let kv = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .map(|k| (k.key.clone(), k.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let batches = builder.build().unwrap().map(|b| b.unwrap()).collect();
    (batches, kv)
}

/// All Parquet output under `dir`, by table directory name, in file name order.
pub fn read_tables(dir: &Path) -> BTreeMap<String, Vec<RecordBatch>> {
    let mut out: BTreeMap<String, Vec<RecordBatch>> = BTreeMap::new();
    for f in files(dir).into_iter().filter(|f| f.ends_with(".parquet")) {
        let table = f.split('/').next().unwrap().to_owned();
        out.entry(table)
            .or_default()
            .extend(read_parquet(&dir.join(&f)).0);
    }
    out
}

/// Every row under `dir` as `table {json}` without `p_parse_time` (which differs from run
/// to run), sorted.
pub fn table_rows(dir: &Path) -> Vec<String> {
    let mut rows = Vec::new();
    for (table, batches) in read_tables(dir) {
        for mut r in as_json(&batches) {
            r.as_object_mut().unwrap().remove("p_parse_time");
            rows.push(format!("{table} {r}"));
        }
    }
    rows.sort();
    rows
}

/// A program of the project's venv, which `scripts/venv.sh` sets up on first use (it
/// needs Python 3 with venv and pip, and PyPI).
pub fn venv_bin(name: &str) -> PathBuf {
    let venv = Command::new("bash")
        .arg(root().join("scripts/venv.sh"))
        .output()
        .expect("running scripts/venv.sh");
    assert!(
        venv.status.success(),
        "scripts/venv.sh failed (it installs moto, cargo-lambda and cfn-lint from PyPI; it \
         needs Python 3 with venv and pip):\n{}",
        String::from_utf8_lossy(&venv.stderr)
    );
    let python = PathBuf::from(String::from_utf8_lossy(&venv.stdout).trim());
    python.with_file_name(name)
}

/// Row count of batches.
pub fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

/// The bundled corpus's expected counts (testdata/EXPECTED.json).
pub fn expected() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(root().join("testdata/EXPECTED.json")).unwrap())
        .unwrap()
}

/// Rows of all batches as NDJSON values (via the library's NDJSON writer).
pub fn as_json(batches: &[RecordBatch]) -> Vec<serde_json::Value> {
    let mut buf = Vec::new();
    for b in batches {
        jwas::sink::ndjson::write_batch(&mut buf, b).unwrap();
    }
    String::from_utf8(buf)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Every rejected record under `dir/_rejected/`.
pub fn read_rejected(dir: &Path) -> Vec<serde_json::Value> {
    files(dir)
        .iter()
        .filter(|f| f.starts_with("_rejected/"))
        .flat_map(|f| {
            std::fs::read_to_string(dir.join(f))
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<_>>()
        })
        .collect()
}
