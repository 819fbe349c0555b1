//! The Lambda function (`bootstrap`, feature `lambda`) on a real Lambda runtime API: the
//! cargo-lambda emulator (`cargo lambda watch --only-lambda-apis`, from the project's venv),
//! invoked with `cargo lambda invoke`, reading and writing a real S3 server (moto).

use crate::support::moto::{isolate, moto};
use crate::support::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The emulator and the function started against it; both stop when dropped.
struct Lambda {
    port: u16,
    emulator: Child,
    function: Child,
    log: PathBuf,
    _dir: TempDir,
}

impl Lambda {
    /// Starts the emulator on a free port and `bootstrap` with `env` (and moto's endpoint
    /// and credentials).
    fn start(env: &[(&str, &str)]) -> Lambda {
        let s3 = moto();
        let port = free_port();
        let emulator = Command::new(venv_bin("cargo-lambda"))
            .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1"])
            .args(["-P", &port.to_string()])
            .current_dir(root())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting cargo lambda watch");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the cargo-lambda emulator did not listen on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let dir = TempDir::new("lambda-log");
        let log = dir.path().join("function.log");
        let mut c = Command::new(env!("CARGO_BIN_EXE_bootstrap"));
        isolate(&mut c);
        c.env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", &s3.url)
            .env("AWS_LAMBDA_FUNCTION_NAME", "_")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{port}/.rt"),
            );
        for (k, v) in env {
            c.env(k, v);
        }
        let function = c
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting bootstrap");
        Lambda {
            port,
            emulator,
            function,
            log,
            _dir: dir,
        }
    }

    /// Invokes the function with `event`; its response.
    fn invoke(&self, event: &Value) -> Value {
        let dir = TempDir::new("lambda-event");
        let file = dir.path().join("event.json");
        std::fs::write(&file, event.to_string()).unwrap();
        let out = Command::new(venv_bin("cargo-lambda"))
            .args(["lambda", "invoke", "-A", "127.0.0.1"])
            .args(["-P", &self.port.to_string()])
            .arg("--data-file")
            .arg(&file)
            .arg("_")
            .current_dir(root())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "cargo lambda invoke failed: {stdout}\n{}\nfunction log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\n{}", self.log()))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Lambda {
    fn drop(&mut self) {
        let _ = self.function.kill();
        let _ = self.function.wait();
        let _ = self.emulator.kill();
        let _ = self.emulator.wait();
    }
}

/// An SQS record whose body is an S3 notification of `bucket`/`key` (SNS-enveloped if
/// `sns`), event time [`REFERENCE`].
fn record(id: &str, bucket: &str, key: &str, sns: bool) -> Value {
    let notification = json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "eventTime": REFERENCE, "awsRegion": "us-east-1",
        "s3": {"bucket": {"name": bucket}, "object": {"key": key}}
    }]});
    let body = if sns {
        json!({"Type": "Notification", "MessageId": "sns-1", "Message": notification.to_string()})
    } else {
        notification
    };
    raw_record(id, &body.to_string())
}

fn raw_record(id: &str, body: &str) -> Value {
    json!({
        "messageId": id, "receiptHandle": format!("rh-{id}"), "body": body,
        "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
        "awsRegion": "us-east-1"
    })
}

fn failures(response: &Value) -> Vec<String> {
    response["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("no batchItemFailures in {response}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
        .collect()
}

/// Rows per `p_source_object` under `dir`.
fn rows_by_object(dir: &Path) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for batches in read_tables(dir).values() {
        for r in as_json(batches) {
            *out.entry(r["p_source_object"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    out
}

#[test]
fn three_notifications_one_in_sns_write_what_a_local_run_writes() {
    let s3 = moto();
    s3.create_bucket("l-raw");
    s3.create_bucket("l-lake");
    for name in ["access", "audit", "mws"] {
        let body = std::fs::read(root().join(format!("testdata/{name}.log"))).unwrap();
        s3.put("l-raw", &format!("jwas/{name}.log"), body);
    }
    let lambda = Lambda::start(&[("JWAS_OUT", "s3://l-lake/tables/")]);
    let event = json!({"Records": [
        record("m1", "l-raw", "jwas/access.log", false),
        record("m2", "l-raw", "jwas/audit.log", false),
        record("m3", "l-raw", "jwas/mws.log", true),
    ]});
    let response = lambda.invoke(&event);
    assert_eq!(
        failures(&response),
        Vec::<String>::new(),
        "{}",
        lambda.log()
    );
    let got = TempDir::new("lambda-got");
    s3.download("l-lake", "tables/", got.path());

    // The same objects parsed by `jwas parse` with the notification's time as reference.
    let want = TempDir::new("lambda-want");
    let w = want.str();
    let mut args = vec!["parse", "--out", &w, "--reference-time", REFERENCE];
    let uris: Vec<String> = ["access", "audit", "mws"]
        .iter()
        .map(|n| format!("s3://l-raw/jwas/{n}.log"))
        .collect();
    args.extend(uris.iter().map(String::as_str));
    expect_exit(s3.jwas(&args), &args, 0);
    let (got_rows, want_rows) = (table_rows(got.path()), table_rows(want.path()));
    assert!(!want_rows.is_empty());
    assert_eq!(got_rows, want_rows);
    // One set of files for the invocation: one file per table and hour.
    let mut per_partition: BTreeMap<String, usize> = BTreeMap::new();
    for f in files(got.path()).iter().filter(|f| f.ends_with(".parquet")) {
        *per_partition
            .entry(f.rsplit_once('/').unwrap().0.to_owned())
            .or_default() += 1;
    }
    assert!(per_partition.values().all(|n| *n == 1), "{per_partition:?}");
    let log = lambda.log();
    let stats = log
        .lines()
        .find(|l| l.contains("\"target\":\"jwas::stats\""))
        .unwrap_or_else(|| panic!("no stats line: {log}"));
    let stats: Value = serde_json::from_str(stats).unwrap();
    assert_eq!(stats["fields"]["objects"], 3, "{stats}");
    assert!(
        stats["span"]["request_id"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "no request id: {stats}"
    );
}

#[test]
fn a_vanished_object_and_a_malformed_record_are_exactly_the_failures() {
    let s3 = moto();
    s3.create_bucket("l-raw2");
    s3.create_bucket("l-lake2");
    s3.put(
        "l-raw2",
        "jwas/audit.log",
        std::fs::read(root().join("testdata/audit.log")).unwrap(),
    );
    let lambda = Lambda::start(&[("JWAS_OUT", "s3://l-lake2/t/")]);
    let event = json!({"Records": [
        record("ok", "l-raw2", "jwas/audit.log", false),
        record("gone", "l-raw2", "jwas/deleted-before-we-came.log", false),
        raw_record("bad", "{\"this is\": \"not an S3 notification\"}"),
        raw_record("test", &json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "l-raw2"}).to_string()),
    ]});
    let mut failed = failures(&lambda.invoke(&event));
    failed.sort();
    assert_eq!(failed, ["bad", "gone"], "{}", lambda.log());
    let got = TempDir::new("lambda-got2");
    s3.download("l-lake2", "t/", got.path());
    let audit_rows = expected()["audit.log"]["events"]["Juniper.Audit"]
        .as_u64()
        .unwrap() as usize;
    assert_eq!(
        rows_by_object(got.path()),
        BTreeMap::from([("s3://l-raw2/jwas/audit.log".to_owned(), audit_rows)])
    );
}

#[test]
fn a_test_event_alone_is_no_failure_and_writes_nothing() {
    let s3 = moto();
    s3.create_bucket("l-lake3");
    let lambda = Lambda::start(&[("JWAS_OUT", "s3://l-lake3/t/")]);
    let body = json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "l-lake3"});
    let response = lambda.invoke(&json!({"Records": [raw_record("t1", &body.to_string())]}));
    assert_eq!(failures(&response), Vec::<String>::new());
    assert!(s3.list("l-lake3", "t/").is_empty());
}

#[test]
fn a_deadline_shorter_than_the_work_reports_the_untouched_and_writes_the_rest_whole() {
    let s3 = moto();
    s3.create_bucket("l-raw4");
    s3.create_bucket("l-lake4");
    // Eight objects of about 6 MB: a second or more of work each for the debug build on
    // one thread.
    let dir = TempDir::new("lambda-big");
    let mut records = Vec::new();
    let mut expected_rows = BTreeMap::new();
    for i in 0..8 {
        let file = dir.path().join(format!("{i}.log"));
        let f = file.display().to_string();
        let seed = (100 + i).to_string();
        let (_, said) = jwas_ok(&["gen", "--mb", "6", "--seed", &seed, "--out", &f], 0);
        // "jwas gen: N bytes, L lines, E events (...)": every event is a row.
        let events: usize = said
            .split(" events")
            .next()
            .and_then(|s| s.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no event count in {said}"));
        let key = format!("big/{i}.log");
        s3.put("l-raw4", &key, std::fs::read(&file).unwrap());
        records.push(record(&format!("m{i}"), "l-raw4", &key, false));
        expected_rows.insert(format!("s3://l-raw4/{key}"), events);
    }
    // The emulator's invocations have 600 s; a margin of 598 s leaves two to start objects.
    let lambda = Lambda::start(&[
        ("JWAS_OUT", "s3://l-lake4/t/"),
        ("JWAS_DEADLINE_MARGIN_SECS", "598"),
        ("JWAS_THREADS", "1"),
    ]);
    let failed = failures(&lambda.invoke(&json!({"Records": records})));
    assert!(
        !failed.is_empty() && failed.len() < 8,
        "failed {failed:?}\n{}",
        lambda.log()
    );
    // The untouched are the last ones; every object written is written whole.
    let done = 8 - failed.len();
    let want_failed: Vec<String> = (done..8).map(|i| format!("m{i}")).collect();
    assert_eq!(failed, want_failed);
    let got = TempDir::new("lambda-got4");
    s3.download("l-lake4", "t/", got.path());
    let want: BTreeMap<String, usize> = expected_rows
        .into_iter()
        .filter(|(k, _)| {
            let i: usize = k
                .rsplit('/')
                .next()
                .unwrap()
                .trim_end_matches(".log")
                .parse()
                .unwrap();
            i < done
        })
        .collect();
    assert_eq!(rows_by_object(got.path()), want);
    assert!(
        lambda.log().contains("time is nearly up"),
        "{}",
        lambda.log()
    );
}

#[test]
fn a_bad_configuration_stops_the_function_at_cold_start_with_one_clear_line() {
    let mut lambda = Lambda::start(&[("JWAS_OUT", "s3://l-lake/t/"), ("JWAS_PARTITION", "week")]);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = lambda.function.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the function did not stop: {}",
            lambda.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!status.success());
    let log = lambda.log();
    let line: Value =
        serde_json::from_str(log.trim()).unwrap_or_else(|_| panic!("not one JSON line: {log}"));
    assert_eq!(line["level"], "ERROR");
    let error = line["fields"]["error"].as_str().unwrap();
    assert_eq!(
        error, "JWAS_PARTITION: \"week\" is not hour, day or month",
        "{log}"
    );
}

/// An invocation whose upload failed left its other files in S3; its records, retried in
/// other invocations (batched differently), wrote the rows again (issue 25, item 3). Now
/// the failed invocation removes its files, the one stored despite its 500 too.
#[test]
fn a_failed_upload_leaves_nothing_and_retries_store_each_row_once() {
    use crate::support::moto::FaultProxy;
    let s3 = moto();
    s3.create_bucket("l-raw-f");
    s3.create_bucket("l-lake-f");
    let audit = std::fs::read(root().join("testdata/audit.log")).unwrap();
    s3.put("l-raw-f", "a.log", audit.clone());
    s3.put("l-raw-f", "b.log", audit);
    let proxy = FaultProxy::start();
    // Every attempt (the SDK makes 3) of one hour's file is stored, but answered 500.
    proxy.set(
        r#"[{"op": "PutObject", "key_contains": "day=30/hour=17", "action": "status_after", "status": 500, "times": 3}]"#,
    );
    let lambda = Lambda::start(&[
        ("JWAS_OUT", "s3://l-lake-f/t/"),
        ("AWS_ENDPOINT_URL", &proxy.url),
    ]);
    let both = json!({"Records": [
        record("m1", "l-raw-f", "a.log", false),
        record("m2", "l-raw-f", "b.log", false),
    ]});
    let mut failed = failures(&lambda.invoke(&both));
    failed.sort();
    assert_eq!(failed, ["m1", "m2"], "{}", lambda.log());
    assert_eq!(proxy.injected("PutObject"), 3);
    assert!(proxy.seen("DeleteObject") > 0, "{}", lambda.log());
    assert_eq!(s3.list("l-lake-f", "t/"), Vec::new(), "{}", lambda.log());
    // The queue hands the two records back in two invocations.
    for (id, key) in [("m1", "a.log"), ("m2", "b.log")] {
        let one = json!({"Records": [record(id, "l-raw-f", key, false)]});
        assert_eq!(
            failures(&lambda.invoke(&one)),
            Vec::<String>::new(),
            "{}",
            lambda.log()
        );
    }
    let got = TempDir::new("lambda-failed-upload");
    s3.download("l-lake-f", "t/", got.path());
    let rows = rows_by_object(got.path());
    let per_copy = expected()["audit.log"]["events"]["Juniper.Audit"]
        .as_u64()
        .unwrap() as usize;
    assert_eq!(rows.get("s3://l-raw-f/a.log"), Some(&per_copy), "{rows:?}");
    assert_eq!(rows.get("s3://l-raw-f/b.log"), Some(&per_copy), "{rows:?}");
}

/// A GET that is never answered fails its record within the request timeout, so the
/// invocation answers (with the record to retry) before Lambda's own deadline (issue 25,
/// item 4).
#[test]
fn a_get_that_never_answers_fails_its_record_in_time() {
    use crate::support::moto::FaultProxy;
    let s3 = moto();
    s3.create_bucket("l-raw-h");
    s3.create_bucket("l-lake-h");
    s3.put(
        "l-raw-h",
        "a.log",
        std::fs::read(root().join("testdata/audit.log")).unwrap(),
    );
    s3.put(
        "l-raw-h",
        "b.log",
        std::fs::read(root().join("testdata/mws.log")).unwrap(),
    );
    let proxy = FaultProxy::start();
    proxy
        .set(r#"[{"op": "GetObject", "key_contains": "a.log", "action": "hang", "seconds": 120}]"#);
    let lambda = Lambda::start(&[
        ("JWAS_OUT", "s3://l-lake-h/t/"),
        ("JWAS_REQUEST_TIMEOUT_SECS", "2"),
        ("AWS_ENDPOINT_URL", &proxy.url),
    ]);
    let event = json!({"Records": [
        record("m1", "l-raw-h", "a.log", false),
        record("m2", "l-raw-h", "b.log", false),
    ]});
    let started = Instant::now();
    let response = lambda.invoke(&event);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{}",
        lambda.log()
    );
    assert_eq!(failures(&response), ["m1"], "{}", lambda.log());
    let got = TempDir::new("lambda-hang");
    s3.download("l-lake-h", "t/", got.path());
    assert_eq!(
        rows_by_object(got.path()).keys().collect::<Vec<_>>(),
        ["s3://l-raw-h/b.log"]
    );
}
