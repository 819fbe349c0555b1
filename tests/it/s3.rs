//! `jwas parse` with s3:// inputs and outputs, against a real S3 server (moto, started by
//! the harness on a free loopback port; see tests/it/support/moto.rs).

use crate::support::moto::{isolate, moto};
use crate::support::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

/// Columns that name where a row came from or when it was parsed; everything else must be
/// the same whether a log is read from S3 or from disk. (`p_row_id` hashes the input's
/// identity: its URI, size and ETag or mtime, so it differs between the two too.)
const PROVENANCE: [&str; 3] = ["p_source_object", "p_parse_time", "p_row_id"];

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(root().join(path)).unwrap()
}

/// Rows per table without the provenance columns, sorted (files are named by input, so
/// the order of rows across files differs between runs over different inputs).
fn comparable(dir: &std::path::Path) -> BTreeMap<String, Vec<String>> {
    read_tables(dir)
        .into_iter()
        .map(|(table, batches)| {
            let mut rows: Vec<String> = as_json(&batches)
                .into_iter()
                .map(|mut r| {
                    if let Value::Object(m) = &mut r {
                        for c in PROVENANCE {
                            m.remove(c);
                        }
                    }
                    r.to_string()
                })
                .collect();
            rows.sort();
            (table, rows)
        })
        .collect()
}

fn table_column(dir: &std::path::Path, column: &str) -> Vec<Value> {
    read_tables(dir)
        .values()
        .flat_map(|b| as_json(b))
        .map(|r| r[column].clone())
        .collect()
}

#[test]
fn s3_to_s3_matches_the_local_run_and_reruns_replace_the_same_keys() {
    let s3 = moto();
    s3.create_bucket("raw-a");
    s3.create_bucket("lake-a");
    // The seven testdata logs, stored every way an appliance export may be.
    s3.put("raw-a", "jwas/access.log", read("testdata/access.log"));
    s3.put(
        "raw-a",
        "jwas/audit.log.gz",
        gzip(&read("testdata/audit.log")),
    );
    let fw = read("testdata/firewall.log");
    let (a, b) = fw.split_at(fw.len() / 2);
    let mut multi = gzip(a);
    multi.extend(gzip(b));
    s3.put("raw-a", "jwas/firewall.log.gz", multi);
    s3.put(
        "raw-a",
        "jwas/mws-no-suffix",
        gzip(&read("testdata/mws.log")),
    );
    s3.put(
        "raw-a",
        "jwas/nested/postgres.log.zst",
        zstd::stream::encode_all(&read("testdata/postgres.log")[..], 3).unwrap(),
    );
    s3.put("raw-a", "jwas/security.log", read("testdata/security.log"));
    s3.put("raw-a", "jwas/mixed.log", read("testdata/mixed.log"));
    // Skipped: an empty object, a folder marker; not listed: a sibling prefix.
    s3.put("raw-a", "jwas/empty.log", Vec::new());
    s3.put("raw-a", "jwas/folder/", Vec::new());
    s3.put("raw-a", "jwas-other/mws.log", read("testdata/mws.log"));

    let args = [
        "parse",
        "s3://raw-a/jwas",
        "--out",
        "s3://lake-a/panther/",
        "--reference-time",
        REFERENCE,
        "--concurrency",
        "3",
    ];
    let (_, stderr) = expect_exit(s3.jwas(&args), &args, 0);
    let listed: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("s3://"))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        listed,
        [
            "s3://raw-a/jwas/access.log",
            "s3://raw-a/jwas/audit.log.gz",
            "s3://raw-a/jwas/firewall.log.gz",
            "s3://raw-a/jwas/mixed.log",
            "s3://raw-a/jwas/mws-no-suffix",
            "s3://raw-a/jwas/nested/postgres.log.zst",
            "s3://raw-a/jwas/security.log",
        ],
        "{stderr}"
    );
    assert!(stderr.contains("(adds up)"), "{stderr}");

    let local = TempDir::new("s3-local");
    let mut local_args = vec!["parse", "--out"];
    let local_out = local.str();
    local_args.push(&local_out);
    local_args.extend(["--reference-time", REFERENCE]);
    let logs = testdata_logs();
    local_args.extend(logs.iter().map(String::as_str));
    jwas_ok(&local_args, 0);

    let from_s3 = TempDir::new("s3-down");
    s3.download("lake-a", "panther/", from_s3.path());
    let (remote_rows, local_rows) = (comparable(from_s3.path()), comparable(local.path()));
    assert_eq!(remote_rows.len(), 6);
    for (table, rows) in &local_rows {
        assert_eq!(rows.len(), remote_rows[table].len(), "{table}");
        assert!(rows == &remote_rows[table], "{table}: rows differ");
    }
    let sources: BTreeSet<String> = table_column(from_s3.path(), "p_source_object")
        .into_iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert!(
        sources.contains("s3://raw-a/jwas/mws-no-suffix"),
        "{sources:?}"
    );
    assert!(sources.iter().all(|s| s.starts_with("s3://raw-a/jwas/")));
    // The seven bad lines of mixed.log, in S3 beside the tables.
    let rejected = read_rejected(from_s3.path());
    assert_eq!(rejected.len(), 7);
    assert!(rejected
        .iter()
        .all(|r| r["p_source_object"] == "s3://raw-a/jwas/mixed.log"));

    // Again: the same keys, replaced, nothing added.
    let before = s3.list("lake-a", "panther/");
    expect_exit(s3.jwas(&args), &args, 0);
    let after = s3.list("lake-a", "panther/");
    assert_eq!(before, after);
    assert_eq!(s3.open_uploads("lake-a"), 0);
}

#[test]
fn two_hundred_small_objects_read_with_concurrency() {
    let s3 = moto();
    s3.create_bucket("raw-b");
    s3.create_bucket("lake-b");
    let audit = read("testdata/audit.log");
    for i in 0..200 {
        s3.put("raw-b", &format!("many/{i:03}.log"), audit.clone());
    }
    let args = [
        "parse",
        "s3://raw-b/many/",
        "--out",
        "s3://lake-b/out",
        "--reference-time",
        REFERENCE,
        "--concurrency",
        "16",
    ];
    let (_, stderr) = expect_exit(s3.jwas(&args), &args, 0);
    let per_object = expected()["audit.log"]["events"]["Juniper.Audit"]
        .as_u64()
        .unwrap();
    let total = 200 * per_object;
    assert!(
        stderr.contains(&format!("rows: juniper_audit {total}\n")),
        "{stderr}"
    );
    let dir = TempDir::new("s3-many");
    s3.download("lake-b", "out/", dir.path());
    let ids: BTreeSet<String> = table_column(dir.path(), "p_row_id")
        .into_iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len() as u64, total, "every row once, distinct row ids");
}

#[test]
fn one_object_to_a_local_directory_uses_last_modified_for_the_year() {
    let s3 = moto();
    s3.create_bucket("raw-c");
    s3.put("raw-c", "logs/mws.log", read("testdata/mws.log"));
    let out = TempDir::new("s3-one");
    let out_s = out.str();
    let args = ["parse", "s3://raw-c/logs/mws.log", "--out", &out_s];
    expect_exit(s3.jwas(&args), &args, 0);
    let sources: BTreeSet<String> = table_column(out.path(), "p_source_object")
        .into_iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        sources,
        BTreeSet::from(["s3://raw-c/logs/mws.log".to_owned()])
    );
    // LastModified is now: every event is at most a day after it, in the last year.
    let now = chrono::Utc::now();
    for t in table_column(out.path(), "p_event_time") {
        let t = chrono::DateTime::parse_from_rfc3339(t.as_str().unwrap()).unwrap();
        assert!(t <= now + chrono::Duration::days(1), "{t}");
        assert!(t > now - chrono::Duration::days(367), "{t}");
    }
}

/// Writes about 12 MiB of audit events in under an hour to `path`: one output file of
/// that hour is larger than PART_BYTES (a multipart upload).
fn dense_audit(path: &std::path::Path) {
    let p = path.display().to_string();
    jwas_ok(
        &[
            "gen",
            "--mb",
            "12",
            "--log-type",
            "audit",
            "--events-per-second",
            "50",
            "--start",
            "2024-03-20T10:00:00Z",
            "--out",
            &p,
        ],
        0,
    );
}

#[test]
fn a_large_file_is_a_multipart_upload_and_appears_whole() {
    let s3 = moto();
    s3.create_bucket("raw-d");
    s3.create_bucket("lake-d");
    let dir = TempDir::new("s3-large");
    let log = dir.path().join("dense.log");
    // About 12 MiB of audit events in under an hour: one NDJSON file over PART_BYTES.
    dense_audit(&log);
    s3.put("raw-d", "dense.log.gz", gzip(&std::fs::read(&log).unwrap()));
    let args = [
        "parse",
        "s3://raw-d/dense.log.gz",
        "--out",
        "s3://lake-d/nd",
        "--format",
        "ndjson",
        "--reference-time",
        REFERENCE,
    ];
    let (_, stderr) = expect_exit(s3.jwas(&args), &args, 0);
    let events: usize = stderr
        .lines()
        .find_map(|l| l.strip_prefix("rows: juniper_audit "))
        .unwrap()
        .parse()
        .unwrap();
    let objects = s3.list("lake-d", "nd/");
    assert!(
        objects
            .iter()
            .any(|(_, size)| *size as usize > jwas::s3::PART_BYTES),
        "{objects:?}"
    );
    let lines: usize = objects
        .iter()
        .map(|(k, _)| s3.get("lake-d", k).iter().filter(|&&b| b == b'\n').count())
        .sum();
    assert_eq!(lines, events);
    assert_eq!(s3.open_uploads("lake-d"), 0);
}

/// A failure is one line on stderr, exit code 1, no panic and no SDK dump.
fn one_clear_line(out: std::process::Output, args: &[&str], says: &str) {
    let (_, stderr) = expect_exit(out, args, 1);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("jwas: error"))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains(says), "{stderr}");
    for noise in [
        "panicked",
        "SdkError",
        "DispatchFailure",
        "ServiceError",
        "{",
    ] {
        assert!(!stderr.contains(noise), "{stderr}");
    }
}

#[test]
fn unknown_buckets_are_one_clear_line() {
    let s3 = moto();
    s3.create_bucket("lake-e");
    s3.create_bucket("raw-e");
    s3.put("raw-e", "x.log", read("testdata/mws.log"));
    let args = ["parse", "s3://no-such-bucket/x/", "--out", "s3://lake-e/o"];
    one_clear_line(
        s3.jwas(&args),
        &args,
        "s3://no-such-bucket/x/: no such bucket",
    );
    let args = ["parse", "s3://raw-e/x.log", "--out", "s3://no-such-lake/o"];
    one_clear_line(s3.jwas(&args), &args, "s3://no-such-lake");
    assert!(s3.list("lake-e", "").is_empty());
}

#[test]
fn no_credentials_and_an_unreachable_endpoint_are_one_clear_line() {
    let s3 = moto();
    let args = ["parse", "s3://raw-f/x/", "--out", "out-unused"];
    let mut c = jwas_cmd(&args);
    isolate(&mut c);
    c.env("AWS_ENDPOINT_URL", &s3.url)
        .env("AWS_REGION", "us-east-1");
    one_clear_line(c.output().unwrap(), &args, "no AWS credentials");

    let mut c = s3.command(&args);
    c.env("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    one_clear_line(c.output().unwrap(), &args, "cannot reach");
}

/// A key with a control character (ESC) used to make the whole listing unreadable; keys
/// are now listed URL-encoded and decoded. A key longer than S3 allows is one clear line.
#[test]
fn odd_keys_neither_fail_a_prefix_nor_panic() {
    let s3 = moto();
    s3.create_bucket("raw-odd");
    s3.create_bucket("lake-odd");
    s3.put("raw-odd", "in/a\u{1b}b.log", read("testdata/mws.log"));
    s3.put("raw-odd", "in/plain.log", read("testdata/mws.log"));
    s3.put("raw-odd", "in/caf\u{e9} n.log", read("testdata/mws.log"));
    let out = TempDir::new("odd-keys");
    let args = [
        "parse",
        "s3://raw-odd/in/",
        "--out",
        &out.str(),
        "--reference-time",
        REFERENCE,
    ];
    let (_, stderr) = expect_exit(s3.jwas(&args), &args, 0);
    assert!(stderr.contains("s3://raw-odd/in/a\\u{1b}b.log"), "{stderr}");
    assert!(stderr.contains("s3://raw-odd/in/café n.log"), "{stderr}");
    let got: usize = read_tables(out.path()).values().map(|b| rows(b)).sum();
    let one: usize = {
        let single = TempDir::new("odd-keys-one");
        jwas_ok(
            &[
                "parse",
                "testdata/mws.log",
                "--out",
                &single.str(),
                "--reference-time",
                REFERENCE,
            ],
            0,
        );
        read_tables(single.path()).values().map(|b| rows(b)).sum()
    };
    assert_eq!(got, 3 * one, "{stderr}");

    let long = format!("s3://raw-odd/{}", "x".repeat(70_000));
    let args = ["parse", long.as_str(), "--out", &out.str()];
    one_clear_line(s3.jwas(&args), &args, "longer than S3's limit of 1024");
}

/// A log of many hours (so that one input writes many files), as bytes.
fn many_hours(bytes: u64) -> Vec<u8> {
    jwas::gen::generate_to_vec(&jwas::gen::GenOptions {
        seed: 5,
        bytes,
        events_per_second: 0.05,
        ..jwas::gen::GenOptions::default()
    })
    .0
}

/// Every key under `prefix` in `bucket`.
fn keys(bucket: &str, prefix: &str) -> Vec<String> {
    moto()
        .list(bucket, prefix)
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

/// An upload that fails surfaced only when it was waited for, and that error path left
/// the input's other files in S3 (issue 25, item 3): with PUTs failing after the first
/// few, with PUTs stored but answered 500, and with every CompleteMultipartUpload
/// failing, the failed input leaves nothing under the prefix, and the summary counts no
/// file.
#[test]
fn a_failed_upload_leaves_none_of_the_inputs_files() {
    use crate::support::moto::FaultProxy;
    let s3 = moto();
    s3.create_bucket("lake-fail");
    let dir = TempDir::new("s3-fail");
    let log = dir.path().join("hours.log");
    std::fs::write(&log, many_hours(400 << 10)).unwrap();
    let log_s = log.display().to_string();
    let cases = [
        (
            "put",
            r#"[{"op": "PutObject", "action": "status", "status": 500, "skip": 3}]"#,
        ),
        (
            "stored",
            r#"[{"op": "PutObject", "action": "status_after", "status": 500, "skip": 3}]"#,
        ),
    ];
    for (tag, rules) in cases {
        let proxy = FaultProxy::start();
        proxy.set(rules);
        let out = format!("s3://lake-fail/{tag}");
        let args = [
            "parse",
            &log_s,
            "--out",
            &out,
            "--threads",
            "2",
            "--reference-time",
            REFERENCE,
        ];
        let (_, stderr) = expect_exit(proxy.command(&args).output().unwrap(), &args, 1);
        assert!(stderr.contains("1 input(s) failed"), "{stderr}");
        assert!(stderr.contains("rows: none"), "{stderr}");
        assert!(proxy.injected("PutObject") > 0, "{stderr}");
        assert!(
            proxy.seen("DeleteObject") > 0,
            "{tag}: nothing removed\n{stderr}"
        );
        assert_eq!(
            keys("lake-fail", &format!("{tag}/")),
            Vec::<String>::new(),
            "{tag}\n{stderr}"
        );
    }

    // One file over PART_BYTES (a multipart upload) among files of other hours.
    let dense = dir.path().join("dense.log");
    let dense_s = dense.display().to_string();
    dense_audit(&dense);
    let mut both = std::fs::read(&dense).unwrap();
    both.extend(std::fs::read(root().join("testdata/mixed.log")).unwrap());
    std::fs::write(&dense, both).unwrap();
    let proxy = FaultProxy::start();
    proxy.set(r#"[{"op": "CompleteMultipartUpload", "action": "status", "status": 500}]"#);
    let args = [
        "parse",
        &dense_s,
        "--out",
        "s3://lake-fail/multipart",
        "--format",
        "ndjson",
        "--reference-time",
        REFERENCE,
    ];
    let (_, stderr) = expect_exit(proxy.command(&args).output().unwrap(), &args, 1);
    assert!(stderr.contains("wrote 0 file(s)"), "{stderr}");
    assert!(proxy.injected("CompleteMultipartUpload") > 0, "{stderr}");
    assert_eq!(
        keys("lake-fail", "multipart/"),
        Vec::<String>::new(),
        "{stderr}"
    );
    assert_eq!(s3.open_uploads("lake-fail"), 0);
}

/// A GET or PUT that is never answered hung `jwas parse` until it was killed (issue 25,
/// item 4); a body that stalls midway said only "streaming error" (item 9). Now each
/// fails its input within the request timeout's attempts, with the cause.
#[test]
fn a_request_that_never_answers_fails_its_input() {
    use crate::support::moto::FaultProxy;
    let s3 = moto();
    s3.create_bucket("raw-hang");
    s3.create_bucket("lake-hang");
    s3.put("raw-hang", "a.log", read("testdata/mixed.log"));
    let dir = TempDir::new("s3-hang");
    let cases = [
        (
            "get",
            r#"[{"op": "GetObject", "action": "hang", "seconds": 120}]"#,
            "s3://raw-hang/a.log",
            dir.str(),
            "timed out",
        ),
        (
            "body",
            r#"[{"op": "GetObject", "action": "hang_body", "bytes": 100, "seconds": 120}]"#,
            "s3://raw-hang/a.log",
            dir.str(),
            "minimum throughput",
        ),
        (
            "put",
            r#"[{"op": "PutObject", "action": "hang", "seconds": 120}]"#,
            "testdata/mixed.log",
            "s3://lake-hang/put".to_owned(),
            "timed out",
        ),
    ];
    for (tag, rules, input, out, says) in cases {
        let proxy = FaultProxy::start();
        proxy.set(rules);
        let args = [
            "parse",
            input,
            "--out",
            &out,
            "--request-timeout",
            "2s",
            "--reference-time",
            REFERENCE,
        ];
        let started = std::time::Instant::now();
        let (_, stderr) = expect_exit(proxy.command(&args).output().unwrap(), &args, 1);
        let took = started.elapsed();
        assert!(
            took < std::time::Duration::from_secs(60),
            "{tag}: took {took:?}\n{stderr}"
        );
        assert!(stderr.contains("1 input(s) failed"), "{tag}: {stderr}");
        assert!(stderr.contains(says), "{tag}: {stderr}");
    }
    assert_eq!(keys("lake-hang", "put/"), Vec::<String>::new());
}

/// Faults that pass are retried and leave the same rows as a clean run: a 503 on the
/// first LIST, GET and PUTs, a connection reset on a GET, a slow answer.
#[test]
fn passing_faults_are_retried_and_change_nothing() {
    use crate::support::moto::FaultProxy;
    let s3 = moto();
    s3.create_bucket("raw-retry");
    s3.create_bucket("lake-retry");
    for name in ["access", "mws", "security"] {
        s3.put(
            "raw-retry",
            &format!("l/{name}.log"),
            read(&format!("testdata/{name}.log")),
        );
    }
    let clean = [
        "parse",
        "s3://raw-retry/l/",
        "--out",
        "s3://lake-retry/clean",
        "--reference-time",
        REFERENCE,
    ];
    expect_exit(s3.jwas(&clean), &clean, 0);
    let proxy = FaultProxy::start();
    proxy.set(
        r#"[{"op": "ListObjectsV2", "action": "status", "status": 503, "times": 1},
            {"op": "GetObject", "action": "status", "status": 503, "times": 1},
            {"op": "GetObject", "action": "reset", "times": 1},
            {"op": "PutObject", "action": "status", "status": 500, "times": 2},
            {"op": "PutObject", "action": "delay", "seconds": 0.5, "times": 3}]"#,
    );
    let args = [
        "parse",
        "s3://raw-retry/l/",
        "--out",
        "s3://lake-retry/faulty",
        "--reference-time",
        REFERENCE,
    ];
    let (_, stderr) = expect_exit(proxy.command(&args).output().unwrap(), &args, 0);
    for op in ["ListObjectsV2", "GetObject", "PutObject"] {
        assert!(proxy.injected(op) > 0, "{op}: {}", proxy.stats());
    }
    let (a, b) = (TempDir::new("retry-clean"), TempDir::new("retry-faulty"));
    s3.download("lake-retry", "clean/", a.path());
    s3.download("lake-retry", "faulty/", b.path());
    assert_eq!(files(a.path()), files(b.path()), "{stderr}");
    assert_eq!(table_rows(a.path()), table_rows(b.path()));
}
