//! Helpers for the crate's unit tests.

/// A small deterministic generator (a 64-bit LCG; the high bits are returned).
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// A directory under the system's temp dir, removed when dropped.
pub(crate) struct TempDir(pub(crate) std::path::PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "jwas-unit-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&p);
        let _ = std::fs::create_dir_all(&p);
        TempDir(p)
    }

    /// Every file under the directory, relative to it, sorted.
    pub(crate) fn files(&self) -> Vec<String> {
        fn walk(base: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(base, &p, out);
                } else if let Ok(rel) = p.strip_prefix(base) {
                    out.push(rel.display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.0, &self.0, &mut out);
        out.sort();
        out
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The time testdata/ is parsed at in tests (its years are inferred from it).
pub(crate) fn reference_time() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_710_979_200, 0).unwrap_or_default() // 2024-03-21
}

/// Job options for testdata/: its reference time, the rest default.
pub(crate) fn job_options() -> crate::job::JobOptions {
    crate::job::JobOptions {
        reference_time: Some(reference_time()),
        ..crate::job::JobOptions::default()
    }
}

/// The bundled testdata/ directory.
pub(crate) fn testdata() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}
