//! `--partition hour|day|month`: the path stops at the chosen level, every row lies in its
//! partition, and the rows (values and `p_row_id`s) do not depend on the level.

use crate::support::*;
use serde_json::Value;
use std::collections::BTreeSet;

const LEVELS: [(&str, &[&str]); 3] = [
    ("hour", &["year", "month", "day", "hour"]),
    ("day", &["year", "month", "day"]),
    ("month", &["year", "month"]),
];

/// Parses testdata/ at `level`; returns the output's files and its rows (as NDJSON, without
/// `p_parse_time`, sorted).
fn parse_at(level: &str) -> (TempDir, Vec<String>, Vec<String>) {
    let out = TempDir::new(&format!("partition-{level}"));
    let o = out.str();
    let mut args = vec![
        "parse",
        "--out",
        &o,
        "--reference-time",
        REFERENCE,
        "--partition",
        level,
    ];
    let logs = testdata_logs();
    args.extend(logs.iter().map(String::as_str));
    jwas_ok(&args, 0);
    let files: Vec<String> = files(out.path())
        .into_iter()
        .filter(|f| f.ends_with(".parquet"))
        .collect();
    let mut rows = Vec::new();
    for f in &files {
        let (batches, _) = read_parquet(&out.path().join(f));
        let dir: Vec<&str> = f.split('/').collect();
        let (table, keys) = (dir[0], &dir[1..dir.len() - 1]);
        let want_keys = LEVELS.iter().find(|(l, _)| *l == level).unwrap().1;
        let names: Vec<&str> = keys.iter().map(|k| k.split_once('=').unwrap().0).collect();
        assert_eq!(names, want_keys, "{f}");
        for mut row in as_json(&batches) {
            // p_event_time is "YYYY-MM-DDTHH:MM:SS.sssZ": its fields name the partition.
            let time = row["p_event_time"].as_str().unwrap().to_owned();
            let fields = [&time[0..4], &time[5..7], &time[8..10], &time[11..13]];
            for (key, value) in keys.iter().zip(fields) {
                assert_eq!(key.split_once('=').unwrap().1, value, "{f}: {time}");
            }
            row.as_object_mut().unwrap().remove("p_parse_time");
            rows.push(format!("{table} {row}"));
        }
    }
    rows.sort();
    (out, files, rows)
}

#[test]
fn each_level_stops_the_path_there_and_keeps_every_row() {
    let (_h, hour_files, hour_rows) = parse_at("hour");
    let (_d, day_files, day_rows) = parse_at("day");
    let (_m, month_files, month_rows) = parse_at("month");
    let rows: usize = expected()
        .as_object()
        .unwrap()
        .values()
        .flat_map(|e| e["events"].as_object().unwrap().values())
        .map(|n| n.as_u64().unwrap() as usize)
        .sum();
    assert_eq!(hour_rows.len(), rows);
    assert_eq!(day_rows, hour_rows, "same rows and p_row_ids by day");
    assert_eq!(month_rows, hour_rows, "same rows and p_row_ids by month");
    // One file per input, table and partition: coarser levels write fewer files.
    let dirs = |files: &[String]| -> BTreeSet<String> {
        files
            .iter()
            .map(|f| f.rsplit_once('/').unwrap().0.to_owned())
            .collect()
    };
    assert!(day_files.len() < hour_files.len(), "{day_files:?}");
    assert!(month_files.len() < day_files.len(), "{month_files:?}");
    assert!(dirs(&day_files).len() < dirs(&hour_files).len());
    // Every hour directory lies in exactly one day directory, and so on up.
    for (fine, coarse) in [(&hour_files, &day_files), (&day_files, &month_files)] {
        let coarse = dirs(coarse);
        for d in dirs(fine) {
            let parent = d.rsplit_once('/').unwrap().0;
            assert!(coarse.contains(parent), "{d} has no {parent}");
        }
    }
}

#[test]
fn rows_of_a_month_are_in_input_order_in_one_file() {
    // mws.log holds one event per line; by month, all of one month's rows share a file,
    // in the order of the log.
    let out = TempDir::new("partition-order");
    let o = out.str();
    jwas_ok(
        &[
            "parse",
            "testdata/mws.log",
            "--out",
            &o,
            "--reference-time",
            REFERENCE,
            "--partition",
            "month",
        ],
        0,
    );
    let (ndjson, _) = jwas_ok(
        &[
            "parse",
            "testdata/mws.log",
            "--out",
            "-",
            "--format",
            "ndjson",
            "--reference-time",
            REFERENCE,
        ],
        0,
    );
    let input_order: Vec<Value> = ndjson
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["p_row_id"].clone())
        .collect();
    let mut seen = 0;
    for f in files(out.path())
        .into_iter()
        .filter(|f| f.ends_with(".parquet"))
    {
        let ids: Vec<Value> = as_json(&read_parquet(&out.path().join(&f)).0)
            .into_iter()
            .map(|r| r["p_row_id"].clone())
            .collect();
        let positions: Vec<usize> = ids
            .iter()
            .map(|id| input_order.iter().position(|x| x == id).unwrap())
            .collect();
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "{f}: {positions:?}"
        );
        seen += ids.len();
    }
    assert_eq!(seen, input_order.len());
}

#[test]
fn athena_ddl_matches_each_level() {
    for (level, keys) in LEVELS {
        let (ddl, _) = jwas_ok(
            &[
                "schema",
                "--format",
                "athena",
                "--log-type",
                "mws",
                "--location",
                "s3://bucket/prefix/",
                "--partition",
                level,
            ],
            0,
        );
        let partitioned: Vec<String> = keys.iter().map(|k| format!("`{k}` string")).collect();
        assert!(
            ddl.contains(&format!("PARTITIONED BY ({})\n", partitioned.join(", "))),
            "{level}: {ddl}"
        );
        for key in ["year", "month", "day", "hour"] {
            assert_eq!(
                ddl.contains(&format!("'projection.{key}.type' = 'integer'")),
                keys.contains(&key),
                "{level} {key}: {ddl}"
            );
        }
        let template: Vec<String> = keys.iter().map(|k| format!("{k}=${{{k}}}")).collect();
        assert!(
            ddl.contains(&format!(
                "'storage.location.template' = 's3://bucket/prefix/juniper_mws/{}/'\n",
                template.join("/")
            )),
            "{level}: {ddl}"
        );
        assert!(ddl.contains("LOCATION 's3://bucket/prefix/juniper_mws/'"));
    }
}

/// Small inputs are parsed side by side (`--threads 2`) and give exactly the files and rows
/// they give one at a time (`--threads 1`).
#[test]
fn five_hundred_small_inputs_side_by_side_are_the_same_as_one_by_one() {
    let dir = TempDir::new("many-inputs");
    let logs = testdata_logs();
    for i in 0..500 {
        let log = &logs[i % logs.len()];
        let name = format!("{i:03}-{}", log.rsplit('/').next().unwrap());
        std::fs::copy(root().join(log), dir.path().join(name)).unwrap();
    }
    let d = dir.str();
    let run = |threads: &str| {
        let out = TempDir::new(&format!("many-out-{threads}"));
        let o = out.str();
        let (_, err) = jwas_ok(
            &[
                "parse",
                &d,
                "--out",
                &o,
                "--threads",
                threads,
                "--reference-time",
                REFERENCE,
            ],
            0,
        );
        let files = files(out.path());
        let mut rows: Vec<String> = Vec::new();
        for f in files.iter().filter(|f| f.ends_with(".parquet")) {
            for mut row in as_json(&read_parquet(&out.path().join(f)).0) {
                row.as_object_mut().unwrap().remove("p_parse_time");
                rows.push(format!("{f} {row}"));
            }
        }
        let summary: Vec<String> = err
            .lines()
            .filter(|l| l.starts_with(d.as_str()))
            .map(str::to_owned)
            .collect();
        (out, files, rows, summary)
    };
    let (_a, files_1, rows_1, summary_1) = run("1");
    let (_b, files_2, rows_2, summary_2) = run("2");
    assert!(files_1.len() > 1000, "{}", files_1.len());
    assert_eq!(files_2, files_1, "the same file names");
    // Rows per file, in file order: the same rows, in the same order within each file.
    assert_eq!(rows_2, rows_1);
    assert_eq!(summary_2.len(), 500, "one summary line per input");
    assert_eq!(summary_2, summary_1, "the summary in input order");
}
