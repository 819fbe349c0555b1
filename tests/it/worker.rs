//! `jwas worker` and `jwas enqueue` against a real S3 and SQS server (moto, started by the
//! harness on a free loopback port): bucket notifications configured in moto, so uploads
//! produce real S3 event messages.

use crate::support::moto::{moto, Moto};
use crate::support::*;
use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn audit_log() -> Vec<u8> {
    std::fs::read(root().join("testdata/audit.log")).unwrap()
}

/// Rows per copy of testdata/audit.log.
fn audit_rows() -> usize {
    expected()["audit.log"]["events"]["Juniper.Audit"]
        .as_u64()
        .unwrap() as usize
}

/// (rows, distinct p_row_id) of everything under `dir`.
fn row_ids(dir: &Path) -> (usize, usize) {
    let mut rows = 0;
    let mut ids = BTreeSet::new();
    for batches in read_tables(dir).values() {
        for r in as_json(batches) {
            rows += 1;
            ids.insert(r["p_row_id"].as_str().unwrap().to_owned());
        }
    }
    (rows, ids.len())
}

/// Worker arguments: small batch window, exit when idle.
fn worker_args<'a>(queue: &'a str, out: &'a str, idle: &'a str) -> Vec<&'a str> {
    vec![
        "worker",
        "--queue-url",
        queue,
        "--out",
        out,
        "--batch-window",
        "1s",
        "--idle-exit",
        idle,
        "--threads",
        "1",
    ]
}

fn spawn_worker(s3: &Moto, args: &[&str]) -> Child {
    s3.command(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for a worker; asserts exit 0; returns its log.
fn finish(child: Child) -> String {
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{log}");
    log
}

/// A bucket that notifies a new queue (with `attributes`) of each object created, then
/// `n` copies of testdata/audit.log uploaded as `logs/<i> copy.log`; the queue's URL.
fn notified_uploads(s3: &Moto, tag: &str, attributes: &[(&str, &str)], n: usize) -> String {
    let (bucket, queue_name) = (format!("w-{tag}"), format!("q-{tag}"));
    s3.create_bucket(&bucket);
    let queue = s3.create_queue(&queue_name, attributes);
    s3.notify(&bucket, &queue_name);
    for i in 0..n {
        s3.put(&bucket, &format!("logs/{i:03} copy.log"), audit_log());
    }
    queue
}

fn drained(s3: &Moto, queue: &str) {
    assert_eq!(s3.queue_counts(queue), (0, 0), "queue not drained");
}

/// Visibility timeout of the queues that several workers share, in seconds: short, so
/// that [`drained_by`] can wait for messages moto kept in flight.
const SHARED_VISIBILITY: u64 = 4;

/// The message ids the workers logged as deleted (their DeleteMessageBatch succeeded).
fn deleted_ids(logs: &[String]) -> HashSet<String> {
    logs.iter()
        .flat_map(|l| l.lines())
        .filter(|l| l.contains("outcome=\"deleted\""))
        .filter_map(|l| l.split("message_id=").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// Asserts that workers sharing a queue deleted every message: none is visible, and any
/// still in flight is one a worker logged as deleted. moto (5.2.5) can lose a deletion
/// when two workers' DeleteMessageBatch calls overlap (`Queue.delete_message` rebuilds
/// the queue's list without a lock, so one call can put back messages the other just
/// deleted); such a message stays in flight until its visibility timeout, so it is
/// waited for, received, and checked against the workers' logs.
fn drained_by(s3: &Moto, queue: &str, logs: &[String]) {
    let (visible, in_flight) = s3.queue_counts(queue);
    assert_eq!(visible, 0, "messages left visible: {logs:?}");
    if in_flight == 0 {
        return;
    }
    std::thread::sleep(Duration::from_secs(SHARED_VISIBILITY + 2));
    let back = s3.receive_ids(queue);
    assert_eq!(back.len() as u64, in_flight, "{back:?}");
    let deleted = deleted_ids(logs);
    let undeleted: Vec<&String> = back.iter().filter(|id| !deleted.contains(*id)).collect();
    assert!(
        undeleted.is_empty(),
        "messages never deleted by a worker: {undeleted:?}\n{logs:?}"
    );
    eprintln!("moto kept {in_flight} message(s) in flight after a worker deleted them");
}

#[test]
fn uploads_notify_a_worker_and_every_row_lands_once() {
    let s3 = moto();
    let queue = notified_uploads(s3, "a", &[], 50);
    let out = TempDir::new("worker-a");
    let out_s = out.str();
    let log = finish(spawn_worker(s3, &worker_args(&queue, &out_s, "3s")));
    assert_eq!(
        row_ids(out.path()),
        (50 * audit_rows(), 50 * audit_rows()),
        "{log}"
    );
    drained(s3, &queue);
    assert!(log.contains("s3:TestEvent"), "{log}");
}

#[test]
fn sns_and_eventbridge_messages_are_processed_and_test_events_deleted() {
    let s3 = moto();
    s3.create_bucket("w-b");
    s3.create_bucket("w-b-lake");
    let queue = s3.create_queue("q-b", &[]);
    s3.put("w-b", "sns/audit.log", audit_log());
    s3.put("w-b", "eb/audit log.log", audit_log());
    let record = jwas::worker::message::s3_event("w-b", "sns/audit.log", 0, None, None);
    let sns = serde_json::json!({
        "Type": "Notification",
        "MessageId": "11111111-2222-3333-4444-555555555555",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:jwas",
        "Message": record,
    });
    s3.send(&queue, &sns.to_string());
    let eventbridge = serde_json::json!({
        "version": "0",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "time": "2024-03-21T00:00:00Z",
        "detail": {"bucket": {"name": "w-b"}, "object": {"key": "eb/audit log.log"}},
    });
    s3.send(&queue, &eventbridge.to_string());
    s3.send(
        &queue,
        r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-03-21T00:00:00Z","Bucket":"w-b"}"#,
    );
    // Output to S3 this time.
    let log = finish(spawn_worker(
        s3,
        &worker_args(&queue, "s3://w-b-lake/tables", "3s"),
    ));
    let dir = TempDir::new("worker-b");
    s3.download("w-b-lake", "tables/", dir.path());
    assert_eq!(
        row_ids(dir.path()),
        (2 * audit_rows(), 2 * audit_rows()),
        "{log}"
    );
    let sources: BTreeSet<String> = read_tables(dir.path())
        .values()
        .flat_map(|b| as_json(b))
        .map(|r| r["p_source_object"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        sources,
        BTreeSet::from([
            "s3://w-b/eb/audit log.log".to_owned(),
            "s3://w-b/sns/audit.log".to_owned()
        ])
    );
    assert!(log.contains("s3:TestEvent"), "{log}");
    assert!(log.contains("deleted=3"), "{log}");
    drained(s3, &queue);
}

#[test]
fn a_malformed_message_ends_in_the_dead_letter_queue() {
    let s3 = moto();
    let dlq = s3.create_queue("q-d-dlq", &[]);
    let redrive = format!(
        r#"{{"deadLetterTargetArn":"{}","maxReceiveCount":"2"}}"#,
        Moto::queue_arn("q-d-dlq")
    );
    let queue = s3.create_queue(
        "q-d",
        &[("VisibilityTimeout", "1"), ("RedrivePolicy", &redrive)],
    );
    s3.send(&queue, "this is not an S3 notification");
    let out = TempDir::new("worker-d");
    let out_s = out.str();
    let log = finish(spawn_worker(s3, &worker_args(&queue, &out_s, "4s")));
    assert!(log.contains("malformed message left on the queue"), "{log}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while s3.queue_counts(&dlq).0 != 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(s3.queue_counts(&dlq), (1, 0), "{log}");
    drained(s3, &queue);
}

#[test]
fn three_workers_share_a_queue() {
    let s3 = moto();
    let visibility = SHARED_VISIBILITY.to_string();
    let queue = notified_uploads(s3, "e", &[("VisibilityTimeout", &visibility)], 150);
    let out = TempDir::new("worker-e");
    let out_s = out.str();
    // One receive per batch, so no worker can take the whole queue in one batch window.
    let mut args = worker_args(&queue, &out_s, "4s");
    args.extend(["--batch-bytes", "1"]);
    let workers: Vec<Child> = (0..3).map(|_| spawn_worker(s3, &args)).collect();
    let logs: Vec<String> = workers.into_iter().map(finish).collect();
    let (rows, distinct) = row_ids(out.path());
    assert_eq!(distinct, 150 * audit_rows(), "{logs:?}");
    assert!(rows >= distinct);
    drained_by(s3, &queue, &logs);
    // Work was shared: more than one worker wrote a batch.
    let busy = logs.iter().filter(|l| l.contains("batch written")).count();
    assert!(busy >= 2, "{logs:?}");
}

#[test]
fn sigterm_finishes_the_batch_in_hand_and_a_second_worker_the_rest() {
    let s3 = moto();
    let queue = notified_uploads(s3, "f", &[], 60);
    let out = TempDir::new("worker-f");
    let out_s = out.str();
    // Small batches (one object's bytes), so there is work left when it is stopped.
    let mut args = worker_args(&queue, &out_s, "60s");
    args.extend(["--batch-bytes", "1"]);
    let first = spawn_worker(s3, &args);
    let deadline = Instant::now() + Duration::from_secs(60);
    while files(out.path()).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let pid = first.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let log = finish(first);
    assert!(log.contains("signal received"), "{log}");
    assert!(
        files(out.path()).iter().all(|f| !f.contains(".tmp")),
        "partial files left"
    );
    let (_, after_first) = row_ids(out.path());
    assert!(
        after_first < 60 * audit_rows(),
        "stopped before the end: {log}"
    );
    finish(spawn_worker(s3, &worker_args(&queue, &out_s, "3s")));
    assert_eq!(row_ids(out.path()).1, 60 * audit_rows());
    drained(s3, &queue);
}

#[test]
fn enqueue_a_prefix_then_workers_drain_it() {
    let s3 = moto();
    s3.create_bucket("w-g");
    let visibility = SHARED_VISIBILITY.to_string();
    let queue = s3.create_queue("q-g", &[("VisibilityTimeout", &visibility)]);
    for i in 0..30 {
        s3.put("w-g", &format!("backfill/2023/{i:02}.log"), audit_log());
    }
    s3.put("w-g", "elsewhere/x.log", audit_log());
    let args = [
        "enqueue",
        "--bucket",
        "w-g",
        "--prefix",
        "backfill/",
        "--queue-url",
        &queue,
    ];
    let out = s3.jwas(&args);
    let (stdout, _) = expect_exit(out, &args, 0);
    assert!(stdout.contains("queued 30 object(s)"), "{stdout}");
    assert_eq!(s3.queue_counts(&queue).0, 30);
    let dir = TempDir::new("worker-g");
    let dir_s = dir.str();
    let workers: Vec<Child> = (0..2)
        .map(|_| spawn_worker(s3, &worker_args(&queue, &dir_s, "3s")))
        .collect();
    let logs: Vec<String> = workers.into_iter().map(finish).collect();
    // Every row, at least once (a message whose deletion moto lost comes back: see
    // `drained_by`).
    let (rows, distinct) = row_ids(dir.path());
    assert_eq!(distinct, 30 * audit_rows(), "{logs:?}");
    assert!(rows >= distinct);
    drained_by(s3, &queue, &logs);
}

#[test]
fn sources_file_sets_type_and_source_and_skips_the_unmatched() {
    let s3 = moto();
    s3.create_bucket("w-h");
    let queue = s3.create_queue("q-h", &[]);
    s3.notify("w-h", "q-h");
    s3.put("w-h", "audit/a.log", audit_log());
    s3.put("w-h", "other/b.log", audit_log());
    let dir = TempDir::new("worker-h");
    let sources = dir.path().join("sources.toml");
    std::fs::write(
        &sources,
        "[[source]]\nbucket = \"w-h\"\nprefix = \"audit/\"\nlog_type = \"audit\"\nid = \"src-1\"\nlabel = \"Audit logs\"\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let (out_s, sources_s) = (out.display().to_string(), sources.display().to_string());
    let mut args = worker_args(&queue, &out_s, "3s");
    args.extend(["--sources", &sources_s, "--log-format", "json"]);
    let log = finish(spawn_worker(s3, &args));
    let rows: Vec<serde_json::Value> = read_tables(&out)
        .values()
        .flat_map(|b| as_json(b))
        .collect();
    assert_eq!(rows.len(), audit_rows(), "{log}");
    assert!(rows
        .iter()
        .all(|r| r["p_source_id"] == "src-1" && r["p_source_label"] == "Audit logs"));
    assert!(log.contains("\"unmatched\":1"), "{log}");
    // JSON logs: one object per line.
    for line in log.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
    drained(s3, &queue);
}

#[test]
fn a_batch_held_longer_than_the_visibility_timeout_is_not_received_twice() {
    let s3 = moto();
    let queue = notified_uploads(s3, "i", &[("VisibilityTimeout", "2")], 5);
    let out = TempDir::new("worker-i");
    let out_s = out.str();
    // A 6 s batch window holds the first messages three visibility timeouts long: only the
    // heartbeat keeps them from coming back into the same batch.
    let mut args = worker_args(&queue, &out_s, "3s");
    args[6] = "6s";
    let log = finish(spawn_worker(s3, &args));
    assert!(log.contains("messages=6 deleted=6"), "{log}");
    assert_eq!(
        row_ids(out.path()),
        (5 * audit_rows(), 5 * audit_rows()),
        "{log}"
    );
    drained(s3, &queue);
}

#[test]
fn a_vanished_object_is_counted_and_its_message_deleted() {
    let s3 = moto();
    s3.create_bucket("w-j");
    let queue = s3.create_queue("q-j", &[]);
    s3.put("w-j", "here.log", audit_log());
    // Without size and ETag (looked up with HeadObject) and with them (GET If-Match).
    for (key, size, etag) in [("gone-1.log", 0, None), ("gone-2.log", 99, Some("abc"))] {
        s3.send(
            &queue,
            &jwas::worker::message::s3_event("w-j", key, size, etag, None),
        );
    }
    s3.send(
        &queue,
        &jwas::worker::message::s3_event("w-j", "here.log", 0, None, None),
    );
    let out = TempDir::new("worker-j");
    let out_s = out.str();
    let log = finish(spawn_worker(s3, &worker_args(&queue, &out_s, "3s")));
    assert!(log.contains("gone=2"), "{log}");
    assert!(log.contains("deleted=3"), "{log}");
    assert!(log.contains("errors=0"), "{log}");
    assert_eq!(row_ids(out.path()).1, audit_rows());
    drained(s3, &queue);
}

#[test]
fn listing_pages_past_a_thousand_objects() {
    let s3 = moto();
    s3.create_bucket("w-k");
    let queue = s3.create_queue("q-k", &[]);
    for i in 0..1050 {
        s3.put("w-k", &format!("many/{i:04}.log"), b"x\n".to_vec());
    }
    let args = ["enqueue", "--bucket", "w-k", "--queue-url", &queue];
    let (stdout, _) = expect_exit(s3.jwas(&args), &args, 0);
    assert!(stdout.contains("queued 1050 object(s)"), "{stdout}");
}

/// A notification with a key longer than S3 allows (the SDK panics building such a
/// request) is a malformed message: left for the dead-letter queue, the worker unharmed.
#[test]
fn a_key_longer_than_s3_allows_is_a_malformed_message() {
    let s3 = moto();
    s3.create_bucket("w-long");
    let queue = s3.create_queue("q-long", &[("VisibilityTimeout", "30")]);
    let body = jwas::worker::message::s3_event("w-long", &"x".repeat(70_000), 10, None, None);
    s3.send(&queue, &body);
    let out = TempDir::new("worker-long");
    let out_s = out.str();
    let log = finish(spawn_worker(s3, &worker_args(&queue, &out_s, "3s")));
    assert!(log.contains("malformed message left on the queue"), "{log}");
    assert!(log.contains("longer than S3's limit of 1024"), "{log}");
    // Not deleted: it is in flight until its visibility timeout, then back.
    assert_eq!(s3.queue_counts(&queue), (0, 1), "{log}");
}

/// One message naming the same object 10,000 times: parsed once, rows once.
#[test]
fn an_object_named_many_times_in_a_message_is_parsed_once() {
    let s3 = moto();
    s3.create_bucket("w-dup");
    let queue = s3.create_queue("q-dup", &[]);
    s3.put("w-dup", "a.log", audit_log());
    // Records as short as S3 allows, so that 10,000 fit in one SQS message (1 MiB).
    let record = serde_json::json!({
        "eventName": "ObjectCreated:Put",
        "s3": { "bucket": { "name": "w-dup" }, "object": { "key": "a.log", "size": audit_log().len() } },
    });
    let body = serde_json::json!({ "Records": vec![record; 10_000] }).to_string();
    assert!(body.len() < 1 << 20, "{}", body.len());
    s3.send(&queue, &body);
    let out = TempDir::new("worker-dup");
    let out_s = out.str();
    let log = finish(spawn_worker(s3, &worker_args(&queue, &out_s, "3s")));
    assert!(log.contains("objects=1"), "{log}");
    assert_eq!(row_ids(out.path()), (audit_rows(), audit_rows()), "{log}");
    drained(s3, &queue);
}

#[test]
fn the_worker_writes_at_the_partition_level_given() {
    let s3 = moto();
    let queue = notified_uploads(s3, "day", &[], 3);
    let out = TempDir::new("worker-day");
    let out_s = out.str();
    let mut args = worker_args(&queue, &out_s, "3s");
    args.extend(["--partition", "day"]);
    let log = finish(spawn_worker(s3, &args));
    assert_eq!(
        row_ids(out.path()),
        (3 * audit_rows(), 3 * audit_rows()),
        "{log}"
    );
    let parquet: Vec<String> = files(out.path())
        .into_iter()
        .filter(|f| f.ends_with(".parquet"))
        .collect();
    assert!(!parquet.is_empty());
    for f in &parquet {
        let keys: Vec<&str> = f
            .split('/')
            .skip(1)
            .filter_map(|k| k.split_once('=').map(|(k, _)| k))
            .collect();
        assert_eq!(keys, ["year", "month", "day"], "{f}");
    }
    drained(s3, &queue);
}

/// A batch whose upload fails (here a PUT stored but answered 500, on every attempt)
/// leaves its messages on the queue; retried, every row is stored once. (The retried
/// messages come back together, so the retry has the failed batch's name and replaces its
/// files either way; `tests/it/lambda.rs` splits a failed batch's records to show that its
/// files are removed, issue 25 item 3.)
#[test]
fn put_errors_leave_every_row_exactly_once() {
    use crate::support::moto::FaultProxy;
    let s3 = moto();
    let queue = notified_uploads(s3, "puterr", &[("VisibilityTimeout", "3")], 12);
    s3.create_bucket("lake-puterr");
    let proxy = FaultProxy::start();
    // Every attempt of the first PUT of one hour's file is stored but answered 500 (the
    // SDK tries 3 times): its batch fails after writing its other files.
    proxy.set(
        r#"[{"op": "PutObject", "key_contains": "day=30/hour=17", "action": "status_after", "status": 500, "times": 3}]"#,
    );
    let mut args = worker_args(&queue, "s3://lake-puterr/t", "12s");
    args.extend(["--batch-bytes", "4000", "--partition", "hour"]);
    let child = proxy
        .command(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = finish(child);
    assert!(proxy.injected("PutObject") > 0, "{log}");
    assert!(
        log.contains("writing a batch failed"),
        "no batch failed: {log}"
    );
    let out = TempDir::new("worker-puterr");
    s3.download("lake-puterr", "t/", out.path());
    assert_eq!(
        row_ids(out.path()),
        (12 * audit_rows(), 12 * audit_rows()),
        "{log}"
    );
    drained(s3, &queue);
}

/// A GET that was never answered kept the worker's message invisible for as long as the
/// worker lived, so it never reached its dead-letter queue (issue 25, item 4). Now a batch
/// that moves no S3 byte for --stuck-after has its messages' visibility no longer
/// extended: the message comes back while the worker is still stuck.
#[test]
fn a_stuck_batch_is_no_longer_extended() {
    use crate::support::moto::FaultProxy;
    let s3 = moto();
    let queue = notified_uploads(s3, "stuck", &[("VisibilityTimeout", "2")], 0);
    let proxy = FaultProxy::start();
    proxy.set(r#"[{"op": "GetObject", "action": "hang", "seconds": 120}]"#);
    s3.put("w-stuck", "logs/one.log", audit_log());
    let out = TempDir::new("worker-stuck");
    let out_s = out.str();
    let mut args = worker_args(&queue, &out_s, "120s");
    args.extend(["--request-timeout", "110s", "--stuck-after", "3s"]);
    let mut child = proxy
        .command(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The worker takes the message (moto's notification can take a moment), then hangs
    // on its GET; the heartbeat extends the message for 3 s, then stops.
    let deadline = Instant::now() + Duration::from_secs(40);
    let mut back = Vec::new();
    while back.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_secs(2));
        if proxy.seen("GetObject") > 0 {
            back = s3.receive_ids(&queue);
        }
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    // The object's message (and the bucket's s3:TestEvent, if it was held with it).
    assert!(!back.is_empty(), "the message never came back\n{log}");
    assert!(log.contains("no longer extending"), "{log}");
}

/// `jwas enqueue` failing part-way said nothing of the messages it had sent, so a rerun
/// queued them again (issue 25, item 9). Now the error says how many and up to which key,
/// and `--start-after` goes on from there: every object is queued once.
#[test]
fn enqueue_failing_part_way_says_how_far_it_got() {
    use crate::support::moto::FaultProxy;
    let s3 = moto();
    s3.create_bucket("w-enq");
    let queue = s3.create_queue("q-enq", &[]);
    for i in 0..35 {
        s3.put("w-enq", &format!("b/{i:02}.log"), audit_log());
    }
    let proxy = FaultProxy::start();
    // The first two batches of 10 go through; every attempt of the third fails.
    proxy.set(r#"[{"op": "SendMessageBatch", "action": "status", "status": 500, "skip": 2}]"#);
    let args = [
        "enqueue",
        "--bucket",
        "w-enq",
        "--prefix",
        "b/",
        "--queue-url",
        &queue,
    ];
    let (_, stderr) = expect_exit(proxy.command(&args).output().unwrap(), &args, 1);
    assert!(
        stderr.contains("queueing stopped after 20 message(s) (all objects up to b/19.log in key order; go on with --start-after 'b/19.log')"),
        "{stderr}"
    );
    assert_eq!(s3.queue_counts(&queue).0, 20);
    let mut args = args.to_vec();
    args.extend(["--start-after", "b/19.log"]);
    let (stdout, _) = expect_exit(s3.jwas(&args), &args, 0);
    assert!(stdout.contains("queued 15 object(s)"), "{stdout}");
    assert_eq!(s3.queue_counts(&queue).0, 35);
}
