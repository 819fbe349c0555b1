//! Bad input never panics: clear errors or rejected records, and the accounting adds up.

use crate::support::*;

fn summary_lines(stderr: &str) -> u64 {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("lines "))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(line.ends_with("(adds up)"), "{line}");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn random_bytes_empty_files_and_huge_lines() {
    let dir = TempDir::new("garbage-in");
    // Deterministic pseudo-random bytes, with newlines and some timestamp-like lines.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut random = Vec::new();
    for i in 0..200_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        random.push((x >> 24) as u8);
        if i % 5000 == 0 {
            random.extend_from_slice(b"\nMar 19 18:42:38 h [INFO][mws-access][t] key:k,PHASE_REQUEST_PRE_PROCESS,1.2.3.4,http://h/\n");
        }
    }
    std::fs::write(dir.path().join("random.bin"), &random).unwrap();
    std::fs::write(dir.path().join("empty.log"), b"").unwrap();
    let mut huge = b"Mar 19 18:42:38 h [INFO][mws-ui] ".to_vec();
    huge.resize(10 << 20, b'a');
    std::fs::write(dir.path().join("huge-line.log"), &huge).unwrap();
    let mut huge_access = b"Mar 19 18:42:38 h [INFO][mws-access][t] key:k,PHASE_REQUEST_PRE_PROCESS,1.2.3.4,http://h/\n".to_vec();
    for _ in 0..200_000 {
        huge_access.extend_from_slice(b"x-header: some value that repeats\n");
    }
    huge_access.extend_from_slice(b"Mar 19 18:42:39 h [INFO][mws-ui] after the long event\n");
    std::fs::write(dir.path().join("huge-access.log"), &huge_access).unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::copy(
        root().join("testdata/mixed.log"),
        dir.path().join("sub/mixed.log"),
    )
    .unwrap();

    let out = TempDir::new("garbage-out");
    let (_, stderr) = jwas_ok(
        &[
            "parse",
            "--out",
            &out.str(),
            "--max-event-bytes",
            "1000000",
            "--reference-time",
            REFERENCE,
            &dir.str(),
        ],
        0,
    );
    let lines = summary_lines(&stderr);
    let newlines = |b: &[u8]| b.iter().filter(|&&c| c == b'\n').count() as u64;
    let want =
        newlines(&random) + u64::from(!random.ends_with(b"\n")) + 1 + newlines(&huge_access) + 77;
    assert_eq!(lines, want, "{stderr}");

    let rejected: Vec<serde_json::Value> = read_rejected(out.path());
    let too_long: Vec<_> = rejected
        .iter()
        .filter(|r| r["reason"].as_str().unwrap().contains("longer than"))
        .collect();
    assert_eq!(too_long.len(), 2, "the huge line and the huge Access event");
    assert!(too_long
        .iter()
        .all(|r| r["raw"].as_str().unwrap().len() <= 64 << 10));
    // The event after the huge Access event is kept.
    let mws = as_json(read_tables(out.path()).get("juniper_mws").unwrap());
    assert!(mws
        .iter()
        .any(|r| r["log_message"] == "after the long event"));
}

#[test]
fn empty_input_writes_nothing() {
    let dir = TempDir::new("empty-in");
    std::fs::write(dir.path().join("empty.log"), b"").unwrap();
    let out = TempDir::new("empty-out");
    let (_, stderr) = jwas_ok(
        &[
            "parse",
            "--out",
            &out.str(),
            &dir.path().join("empty.log").display().to_string(),
        ],
        0,
    );
    assert_eq!(summary_lines(&stderr), 0);
    assert!(files(out.path()).is_empty());
}

#[test]
fn compressed_input_is_decoded() {
    use std::io::Write;
    let dir = TempDir::new("gz-in");
    let raw = std::fs::read(root().join("testdata/audit.log")).unwrap();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&raw).unwrap();
    std::fs::write(dir.path().join("audit-no-suffix"), e.finish().unwrap()).unwrap();
    std::fs::write(
        dir.path().join("audit.zst"),
        zstd::stream::encode_all(&raw[..], 3).unwrap(),
    )
    .unwrap();
    let out = TempDir::new("gz-out");
    let (_, stderr) = jwas_ok(
        &[
            "parse",
            "--out",
            &out.str(),
            "--reference-time",
            REFERENCE,
            &dir.str(),
        ],
        0,
    );
    assert_eq!(summary_lines(&stderr), 34);
    assert_eq!(
        rows(read_tables(out.path()).get("juniper_audit").unwrap()),
        34
    );
}
