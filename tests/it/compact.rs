//! `jwas compact`: partitions of many files become few, rows sorted by (`p_event_time`,
//! `p_row_id`), duplicates removed, nothing else changed; crash-safe and idempotent; on a
//! directory and on S3 (moto, started by the harness on a free loopback port).

use crate::support::moto::moto;
use crate::support::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

/// Parses `copies` copies of testdata/*.log (each under its own name, so each has its own
/// row ids and output files) into `out`: `copies` files per table and hour.
fn parse_copies(out: &Path, copies: usize) {
    let inputs = TempDir::new("compact-in");
    for i in 0..copies {
        for log in testdata_logs() {
            let name = Path::new(&log).file_name().unwrap().to_str().unwrap();
            std::fs::copy(&log, inputs.path().join(format!("{i:02}-{name}"))).unwrap();
        }
    }
    let (o, i) = (out.display().to_string(), inputs.str());
    jwas_ok(
        &["parse", &i, "--out", &o, "--reference-time", REFERENCE],
        0,
    );
}

/// Parquet files per partition directory.
fn partitions(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in files(dir).into_iter().filter(|f| f.ends_with(".parquet")) {
        let (d, name) = f.rsplit_once('/').unwrap();
        out.entry(d.to_owned()).or_default().push(name.to_owned());
    }
    out
}

/// Asserts that every compacted file's rows are strictly increasing by (time, row id) and
/// that its key-value metadata is that of a file jwas parse writes.
fn assert_sorted_with_metadata(dir: &Path) {
    let mut checked = 0;
    for f in files(dir) {
        if !f.contains("/compacted-") {
            continue;
        }
        let (batches, kv) = read_parquet(&dir.join(&f));
        let table = f.split('/').next().unwrap();
        let t = jwas::LogType::from_name(table).unwrap();
        assert_eq!(kv["jwas.log_type"], t.name(), "{f}");
        assert_eq!(
            kv["jwas.schema_version"],
            jwas::columns::SCHEMA_VERSION,
            "{f}"
        );
        assert!(kv.contains_key("ARROW:schema"), "{f}");
        let keys: Vec<(String, String)> = as_json(&batches)
            .iter()
            .map(|r| {
                (
                    r["p_event_time"].as_str().unwrap().to_owned(),
                    r["p_row_id"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{f}: not sorted");
        checked += 1;
    }
    assert!(checked > 0, "no compacted file under {}", dir.display());
}

fn compact(dir: &Path, extra: &[&str]) -> String {
    let d = dir.display().to_string();
    let mut args = vec!["compact", &d];
    args.extend_from_slice(extra);
    jwas_ok(&args, 0).1
}

#[test]
fn thirty_files_an_hour_become_one_and_a_rerun_does_nothing() {
    let out = TempDir::new("compact-30");
    parse_copies(out.path(), 30);
    let before = table_rows(out.path());
    let parts = partitions(out.path());
    assert!(
        parts.values().all(|f| f.len() % 30 == 0),
        "not 30 files an hour"
    );

    let dry = compact(out.path(), &["--dry-run"]);
    assert!(
        dry.contains("nothing was read, written or removed"),
        "{dry}"
    );
    assert_eq!(partitions(out.path()), parts, "a dry run changed files");

    let said = compact(out.path(), &[]);
    let after = partitions(out.path());
    assert_eq!(after.len(), parts.len());
    assert!(after.values().all(|f| f.len() == 1), "{after:?}");
    assert_eq!(table_rows(out.path()), before, "rows changed");
    let ids: BTreeSet<&str> = before
        .iter()
        .map(|r| r.split("\"p_row_id\":\"").nth(1).unwrap())
        .collect();
    assert_eq!(ids.len(), before.len(), "row ids not distinct");
    assert_sorted_with_metadata(out.path());
    let n = parts.len();
    assert!(
        said.contains(&format!("{n} found, {n} needing work, {n} merged")),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "{} before",
            parts.values().map(Vec::len).sum::<usize>()
        )) && said.contains(&format!("{n} after"))
            && said.contains("0 duplicate(s) removed"),
        "{said}"
    );

    let again = compact(out.path(), &[]);
    assert!(again.contains("0 needing work, 0 merged"), "{again}");
    assert_eq!(partitions(out.path()), after);
}

#[test]
fn the_same_input_written_twice_under_other_names_compacts_to_one_copy() {
    let out = TempDir::new("compact-dup");
    parse_copies(out.path(), 2);
    let before = table_rows(out.path());
    // What a worker does when an object comes back in another batch: the same rows, the
    // same row ids, in a file of another name.
    for f in files(out.path()) {
        if f.ends_with(".parquet") {
            let (d, name) = f.rsplit_once('/').unwrap();
            let from = out.path().join(&f);
            std::fs::copy(&from, out.path().join(d).join(format!("batch-x-{name}"))).unwrap();
        }
    }
    assert_eq!(table_rows(out.path()).len(), 2 * before.len());
    let said = compact(out.path(), &[]);
    assert_eq!(table_rows(out.path()), before);
    assert!(
        said.contains(&format!("{} duplicate(s) removed", before.len())),
        "{said}"
    );
}

#[test]
fn table_and_time_range_pick_the_partitions() {
    let out = TempDir::new("compact-filter");
    parse_copies(out.path(), 2);
    let parts = partitions(out.path());
    compact(
        out.path(),
        &[
            "--table",
            "audit",
            "--since",
            "2024-02-01",
            "--until",
            "2024-02-29",
        ],
    );
    for (dir, before) in &parts {
        let after = &partitions(out.path())[dir];
        let month = dir.split("month=").nth(1).unwrap();
        let chosen = dir.starts_with("juniper_audit/") && month.starts_with("02");
        assert_eq!(after.len(), if chosen { 1 } else { before.len() }, "{dir}");
    }
    assert!(parts
        .keys()
        .any(|d| d.starts_with("juniper_audit/year=2024/month=02")));
}

#[test]
fn a_partition_larger_than_memory_is_merged_from_sorted_runs() {
    let inputs = TempDir::new("compact-big-in");
    let corpus = inputs.path().join("corpus.log");
    let c = corpus.display().to_string();
    jwas_ok(&["gen", "--mb", "4", "--out", &c], 0);
    // Five inputs, each spread over the same month.
    let text = std::fs::read_to_string(&corpus).unwrap();
    std::fs::remove_file(&corpus).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for part in 0..5 {
        let mine: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| (i / 50) % 5 == part)
            .map(|(_, l)| *l)
            .collect();
        std::fs::write(inputs.path().join(format!("{part}.log")), mine.join("\n")).unwrap();
    }
    let out = TempDir::new("compact-big");
    let (i, o) = (inputs.str(), out.str());
    jwas_ok(
        &[
            "parse",
            &i,
            "--out",
            &o,
            "--partition",
            "month",
            "--reference-time",
            REFERENCE,
        ],
        0,
    );
    let before = table_rows(out.path());
    let said = compact(
        out.path(),
        &[
            "--memory-mib",
            "1",
            "--threads",
            "1",
            "--max-file-rows",
            "3000",
        ],
    );
    assert_eq!(table_rows(out.path()), before, "{said}");
    assert_sorted_with_metadata(out.path());
    let parts = partitions(out.path());
    assert!(parts.values().any(|f| f.len() >= 2), "{parts:?}");
    for (dir, names) in &parts {
        let mut total = 0;
        for (k, n) in names.iter().enumerate() {
            let rows = rows(&read_parquet(&out.path().join(dir).join(n)).0);
            total += rows;
            if k + 1 < names.len() {
                assert_eq!(rows, 3000, "{dir}/{n}");
            } else {
                assert!(rows <= 3000, "{dir}/{n}");
            }
        }
        assert!(total > 0);
    }
}

/// The manifest of a merge of `replaces` in `dir`, in `state`.
fn manifest(dir: &Path, hash: &str, state: &str, replaces: &[String], parts: &[String]) {
    let body = serde_json::json!({
        "jwas_compact": 1, "state": state, "replaces": replaces, "parts": parts,
    });
    std::fs::write(
        dir.join(format!("_jwas-compact-{hash}.json")),
        body.to_string(),
    )
    .unwrap();
}

#[test]
fn an_interrupted_merge_is_finished_or_undone_by_the_next_run() {
    // The result of an uninterrupted run, to compare with. (Copies of one parsed tree: a
    // parse of other paths would have other names and row ids.)
    let template = TempDir::new("compact-interrupted");
    parse_copies(template.path(), 3);
    let clean = TempDir::new("compact-clean");
    copy_tree(template.path(), clean.path());
    let rows = table_rows(clean.path());
    let original = partitions(clean.path());
    compact(clean.path(), &["--max-file-rows", "2"]);
    let merged = partitions(clean.path());
    let (dir, parts) = merged
        .iter()
        .find(|(_, p)| p.len() >= 2)
        .expect("a partition of two merged files");
    let hash = parts[0].split('-').nth(1).unwrap();

    // Crashed after the merged files were stored: originals, merged files and a complete
    // manifest. The next run removes the originals.
    let after_write = TempDir::new("compact-complete");
    copy_tree(template.path(), after_write.path());
    let d = after_write.path().join(dir);
    for p in parts {
        std::fs::copy(clean.path().join(dir).join(p), d.join(p)).unwrap();
    }
    manifest(&d, hash, "complete", &original[dir], parts);
    let said = compact(after_write.path(), &["--max-file-rows", "2"]);
    assert!(said.contains("1 recovered"), "{said}");
    assert_eq!(partitions(after_write.path()), merged);
    assert_eq!(table_rows(after_write.path()), rows);

    // Crashed while writing: one merged file of two, the manifest still `writing`. The next
    // run removes it and merges again, to the same names.
    let mid_write = TempDir::new("compact-writing");
    copy_tree(template.path(), mid_write.path());
    let d = mid_write.path().join(dir);
    std::fs::copy(clean.path().join(dir).join(&parts[0]), d.join(&parts[0])).unwrap();
    manifest(&d, hash, "writing", &original[dir], &[]);
    let said = compact(mid_write.path(), &["--max-file-rows", "2"]);
    assert!(said.contains("1 recovered"), "{said}");
    assert_eq!(partitions(mid_write.path()), merged);
    assert_eq!(table_rows(mid_write.path()), rows);
    assert!(!files(mid_write.path())
        .iter()
        .any(|f| f.contains("_jwas-compact-")));

    // A manifest that says complete while a merged file is missing, or that names files
    // outside the partition, makes compact remove nothing there: the partition fails.
    let forged = TempDir::new("compact-forged");
    let lake = forged.path().join("lake");
    copy_tree(template.path(), &lake);
    let d = lake.join(dir);
    let outside = forged.path().join("outside.parquet");
    std::fs::write(&outside, b"kept").unwrap();
    let mut replaces = original[dir].clone();
    // From <lake>/<table>/year=/month=/day=/hour=/ up to beside <lake>.
    replaces.push("../../../../../../outside.parquet".to_owned());
    manifest(&d, hash, "complete", &replaces, parts);
    let l = lake.display().to_string();
    let (_, said) = jwas_ok(&["compact", &l, "--max-file-rows", "2"], 1);
    assert!(said.contains("is not there; nothing was removed"), "{said}");
    assert_eq!(partitions(&lake)[dir], original[dir]);
    assert!(outside.exists());
    assert_eq!(table_rows(&lake), rows);
    // With the merged files there, the merge is finished; the path outside is ignored.
    for p in parts {
        std::fs::copy(clean.path().join(dir).join(p), d.join(p)).unwrap();
    }
    let said = compact(&lake, &["--max-file-rows", "2"]);
    assert!(said.contains("1 recovered"), "{said}");
    assert_eq!(partitions(&lake), merged);
    assert!(outside.exists());
    assert_eq!(table_rows(&lake), rows);
}

#[test]
fn killed_at_any_moment_and_rerun_loses_and_duplicates_nothing() {
    let template = TempDir::new("compact-kill-template");
    parse_copies(template.path(), 12);
    let rows = table_rows(template.path());
    let parts = partitions(template.path()).len();
    // Time a whole run, then kill runs at points spread over it.
    let timing = TempDir::new("compact-kill-timing");
    copy_tree(template.path(), timing.path());
    let started = Instant::now();
    compact(timing.path(), &["--threads", "1"]);
    let whole = started.elapsed();
    let mut interrupted = 0;
    for k in 1..=6u32 {
        let dir = TempDir::new(&format!("compact-kill-{k}"));
        copy_tree(template.path(), dir.path());
        let d = dir.str();
        let mut child = jwas_cmd(&["compact", &d, "--threads", "1"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(whole * k / 7);
        let running = child.try_wait().unwrap().is_none();
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let left = partitions(dir.path());
        // Mid-run: some partitions merged and some not, or a merge in progress.
        let merged = left.values().filter(|f| f.len() == 1).count();
        let manifests = files(dir.path())
            .iter()
            .filter(|f| f.contains("_jwas-compact-"))
            .count();
        if running && ((merged > 0 && merged < parts) || manifests > 0) {
            interrupted += 1;
        }
        compact(dir.path(), &["--threads", "1"]);
        assert_eq!(
            table_rows(dir.path()),
            rows,
            "kill {k}: rows lost or doubled"
        );
        let after = partitions(dir.path());
        assert!(after.values().all(|f| f.len() == 1), "kill {k}: {after:?}");
        assert!(
            !files(dir.path())
                .iter()
                .any(|f| f.contains("_jwas-compact-")),
            "kill {k}: a manifest left"
        );
    }
    assert!(
        interrupted >= 2,
        "only {interrupted} of 6 kills landed mid-run (a whole run took {whole:?})"
    );
}

fn copy_tree(from: &Path, to: &Path) {
    for f in files(from) {
        let target = to.join(&f);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(from.join(&f), target).unwrap();
    }
}

#[test]
fn worker_batches_on_s3_compact_to_one_file_an_hour_without_duplicates() {
    let s3 = moto();
    s3.create_bucket("c-raw");
    s3.create_bucket("c-lake");
    let audit = std::fs::read(root().join("testdata/audit.log")).unwrap();
    for i in 0..30 {
        s3.put("c-raw", &format!("logs/{i:02}.log"), audit.clone());
    }
    // One file per object in each hour...
    let args = ["parse", "s3://c-raw/logs/", "--out", "s3://c-lake/t/"];
    expect_exit(s3.jwas(&args), &args, 0);
    // ...and the same objects again, by workers, under batch names.
    let queue = s3.create_queue("c-q", &[]);
    let args = [
        "enqueue",
        "--bucket",
        "c-raw",
        "--prefix",
        "logs/",
        "--queue-url",
        &queue,
    ];
    expect_exit(s3.jwas(&args), &args, 0);
    let args = [
        "worker",
        "--queue-url",
        &queue,
        "--out",
        "s3://c-lake/t/",
        "--batch-window",
        "1s",
        "--idle-exit",
        "3s",
        "--threads",
        "1",
    ];
    expect_exit(s3.jwas(&args), &args, 0);

    let before = TempDir::new("compact-s3-before");
    s3.download("c-lake", "t/", before.path());
    let files_before = partitions(before.path());
    assert!(
        files_before.values().all(|f| f.len() > 30),
        "{files_before:?}"
    );
    let rows_before = table_rows(before.path());
    let distinct: BTreeSet<&String> = rows_before.iter().collect();
    let audit_rows = expected()["audit.log"]["events"]["Juniper.Audit"]
        .as_u64()
        .unwrap() as usize;
    assert_eq!(distinct.len(), 30 * audit_rows);
    assert!(
        rows_before.len() > distinct.len(),
        "no duplicates to remove"
    );

    let args = ["compact", "s3://c-lake/t/"];
    let (_, said) = expect_exit(s3.jwas(&args), &args, 0);
    let after = TempDir::new("compact-s3-after");
    s3.download("c-lake", "t/", after.path());
    let files_after = partitions(after.path());
    assert_eq!(files_after.len(), files_before.len());
    assert!(
        files_after.values().all(|f| f.len() == 1),
        "{files_after:?}"
    );
    let rows_after = table_rows(after.path());
    assert_eq!(
        rows_after,
        distinct.into_iter().cloned().collect::<Vec<_>>(),
        "{said}"
    );
    assert_sorted_with_metadata(after.path());
    assert!(
        !s3.list("c-lake", "t/")
            .iter()
            .any(|(k, _)| k.contains("_jwas-compact-")),
        "a manifest left"
    );
    assert_eq!(s3.open_uploads("c-lake"), 0);

    let (_, again) = expect_exit(s3.jwas(&args), &args, 0);
    assert!(again.contains("0 merged"), "{again}");
}

/// With DeleteObject failing, compact said "left as it was" while the partition held the
/// merged file and the originals (issue 25, item 9). Now it says what is there and that
/// the next run finishes the merge, which it does.
#[test]
fn a_failed_removal_says_what_is_left_and_the_next_run_finishes() {
    use crate::support::moto::FaultProxy;
    let s3 = moto();
    s3.create_bucket("c-del");
    let audit = std::fs::read(root().join("testdata/audit.log")).unwrap();
    s3.create_bucket("c-del-raw");
    for i in 0..3 {
        s3.put("c-del-raw", &format!("logs/{i}.log"), audit.clone());
    }
    let args = ["parse", "s3://c-del-raw/logs/", "--out", "s3://c-del/t/"];
    expect_exit(s3.jwas(&args), &args, 0);
    let proxy = FaultProxy::start();
    // Only the merged-away Parquet files: the merge itself goes through.
    proxy.set(r#"[{"op": "DeleteObject", "key_contains": ".parquet", "action": "status", "status": 500}]"#);
    let args = ["compact", "s3://c-del/t/", "--threads", "1"];
    let (_, said) = expect_exit(proxy.command(&args).output().unwrap(), &args, 1);
    assert!(
        said.contains("merged, but not every merged-away file could be removed"),
        "{said}"
    );
    assert!(
        said.contains("until the next jwas compact, which finishes the merge"),
        "{said}"
    );
    assert!(!said.contains("left as it was"), "{said}");
    let (_, again) = expect_exit(s3.jwas(&args), &args, 0);
    assert!(
        again.contains("recovered from an interrupted run"),
        "{again}"
    );
    assert!(!again.contains(", 0 recovered from"), "{again}");
    let after = TempDir::new("compact-del-after");
    s3.download("c-del", "t/", after.path());
    let rows = table_rows(after.path());
    let distinct: BTreeSet<&String> = rows.iter().collect();
    assert_eq!(rows.len(), distinct.len());
    assert!(partitions(after.path()).values().all(|f| f.len() == 1));
}

/// Parsing an input again after `jwas compact` adds a second copy of its rows next to the
/// merged file (its files are named as before, and the merged file is not); the next
/// compact removes it (same `p_row_id`s). This is the documented behaviour (docs/guide.md,
/// "Reruns"; issue 25, item 10): the merged file does not say which inputs it holds.
#[test]
fn a_rerun_after_compaction_adds_a_copy_that_the_next_compaction_removes() {
    let out = TempDir::new("compact-rerun");
    let o = out.str();
    let parse = || {
        jwas_ok(
            &[
                "parse",
                "testdata/mixed.log",
                "--out",
                &o,
                "--reference-time",
                REFERENCE,
            ],
            0,
        )
    };
    parse();
    let once = table_rows(out.path());
    // One file an hour, not yet merged: nothing to do; a second set of inputs makes work.
    parse_copies(out.path(), 1);
    let with_copies = table_rows(out.path());
    compact(out.path(), &[]);
    assert_eq!(table_rows(out.path()), with_copies);
    parse();
    let twice = table_rows(out.path());
    assert_eq!(
        twice.len(),
        with_copies.len() + once.len(),
        "the rerun added a copy"
    );
    compact(out.path(), &[]);
    assert_eq!(
        table_rows(out.path()),
        with_copies,
        "the next compact removed it"
    );
}
