//! Runs the built binary on testdata/ and reads the Parquet back.

use crate::support::*;
use arrow_array::RecordBatch;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

fn parse_testdata(out: &TempDir) -> String {
    let mut args = vec![
        "parse",
        "--out",
        &*Box::leak(out.str().into_boxed_str()),
        "--reference-time",
        REFERENCE,
    ];
    let logs = testdata_logs();
    args.extend(logs.iter().map(String::as_str));
    jwas_ok(&args, 0).1
}

/// Rows of a table as JSON objects keyed by column.
fn table_rows(tables: &BTreeMap<String, Vec<RecordBatch>>, table: &str) -> Vec<Value> {
    as_json(tables.get(table).map(Vec::as_slice).unwrap_or(&[]))
}

/// The first row with `col == value` from the per-type files (mixed.log repeats some).
fn find<'a>(rows: &'a [Value], col: &str, value: Value) -> &'a Value {
    rows.iter()
        .find(|r| r[col] == value && r["p_source_object"] != "testdata/mixed.log")
        .unwrap_or_else(|| panic!("no row with {col} = {value}"))
}

#[test]
fn testdata_tables_counts_and_rejects_match_expected() {
    let out = TempDir::new("counts");
    let stderr = parse_testdata(&out);
    let expected = expected();
    let mut want_rows: BTreeMap<String, u64> = BTreeMap::new();
    let (mut lines, mut want_rejected) = (0, Vec::new());
    for (file, e) in expected.as_object().unwrap() {
        lines += e["lines"].as_u64().unwrap();
        for (t, n) in e["events"].as_object().unwrap() {
            *want_rows.entry(t.clone()).or_default() += n.as_u64().unwrap();
        }
        for r in e["rejected"].as_array().unwrap() {
            want_rejected.push((
                format!("testdata/{file}"),
                r["line"].as_u64().unwrap(),
                r["raw"].as_str().unwrap().to_owned(),
            ));
        }
    }
    let tables = read_tables(out.path());
    let got_rows: BTreeMap<String, u64> = tables
        .iter()
        .map(|(table, b)| {
            let t = jwas::LogType::from_name(table).unwrap();
            (t.name().to_owned(), rows(b) as u64)
        })
        .collect();
    assert_eq!(got_rows, want_rows);
    assert_eq!(tables.len(), 6, "all six tables written");

    // Hive partitions by event hour.
    for f in files(out.path()).iter().filter(|f| f.ends_with(".parquet")) {
        let parts: Vec<&str> = f.split('/').collect();
        assert_eq!(parts.len(), 6, "{f}");
        for (p, key) in parts[1..5].iter().zip(["year=", "month=", "day=", "hour="]) {
            assert!(p.starts_with(key), "{f}");
        }
    }

    // The rejected file holds exactly the deliberately bad lines, each with a reason.
    let rejected: Vec<Value> = read_rejected(out.path());
    let mut got_rejected: Vec<_> = rejected
        .iter()
        .map(|r| {
            assert!(!r["reason"].as_str().unwrap().is_empty());
            assert!(r["byte_offset"].is_u64());
            (
                r["p_source_object"].as_str().unwrap().to_owned(),
                r["line"].as_u64().unwrap(),
                r["raw"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    got_rejected.sort();
    want_rejected.sort();
    assert_eq!(got_rejected, want_rejected);

    // The summary accounts for every line.
    assert!(
        stderr.contains(&format!("lines {lines} = events")),
        "{stderr}"
    );
    assert!(stderr.contains("(adds up)"), "{stderr}");
}

#[test]
fn parquet_schema_types_and_metadata() {
    let out = TempDir::new("schema");
    parse_testdata(&out);
    for f in files(out.path()).iter().filter(|f| f.ends_with(".parquet")) {
        let table = f.split('/').next().unwrap();
        let t = jwas::LogType::from_name(table).unwrap();
        let (batches, kv) = read_parquet(&out.path().join(f));
        assert_eq!(kv.get("jwas.log_type").map(String::as_str), Some(t.name()));
        assert_eq!(kv.get("jwas.schema_version").map(String::as_str), Some("1"));
        let want = jwas::columns::schema(t);
        for b in &batches {
            assert_eq!(b.schema().fields(), want.fields(), "{f}");
        }
    }
}

#[test]
fn vendor_example_values() {
    let out = TempDir::new("values");
    parse_testdata(&out);
    let tables = read_tables(out.path());

    let fw = table_rows(&tables, "juniper_firewall");
    let r = find(&fw, "ID", json!(51749));
    assert_eq!(r["timestamp"], json!("2024-03-19T18:49:32.000Z"));
    assert_eq!(r["p_event_time"], r["timestamp"]);
    assert_eq!(
        (&r["DPT"], &r["SPT"], &r["LEN"], &r["TTL"]),
        (&json!(5000), &json!(51093), &json!(40), &json!(63))
    );
    assert_eq!(
        (&r["RST"], &r["SYN"], &r["DF"]),
        (&json!(true), &json!(false), &json!(true))
    );
    assert_eq!(r["OUT"], Value::Null);
    assert_eq!(r["tcp_flags"], json!(["RST"]));
    assert_eq!(r["URGP"], json!(0));
    assert_eq!(r["extra"], Value::Null);
    assert_eq!(
        r["p_any_mac_addresses"],
        json!(["00:0c:29:cf:4d:c8", "2c:21:72:c6:99:08"])
    );
    assert_eq!(
        r["p_any_ip_addresses"],
        json!(["10.10.0.117", "10.20.0.53"])
    );
    assert_eq!(r["p_any_domain_names"], json!(["myjwas"]));
    assert_eq!(r["p_log_type"], json!("Juniper.Firewall"));
    assert_eq!(r["p_source_object"], json!("testdata/firewall.log"));
    assert_eq!(r["p_source_id"], Value::Null);
    assert!(r["p_row_id"].as_str().unwrap().len() == 32);
    // Long IPv6 kept as logged in the column, canonical in the indicators.
    let v6 = find(&fw, "SRC", json!("2001:0db8:0000:0000:0000:0000:0000:0001"));
    assert_eq!(
        v6["p_any_ip_addresses"],
        json!(["2001:db8::1", "2001:db8::53"])
    );
    assert_eq!(v6["extra"]["HOPLIMIT"], json!("64"));

    let access = table_rows(&tables, "juniper_access");
    let r = find(
        &access,
        "unique_request_key",
        json!("12521298-13f1-4019-8e21-c6046cf2dac7"),
    );
    assert_eq!(
        (&r["type"], &r["stage"]),
        (&json!("REQUEST"), &json!("POST"))
    );
    assert_eq!(
        (&r["http_method"], &r["http_target"], &r["http_version"]),
        (&json!("GET"), &json!("/"), &json!("HTTP/1.1"))
    );
    assert_eq!(
        r["http_headers"]["x-forwarded-for"],
        json!("213.85.244.190, 10.20.1.23")
    );
    assert_eq!(r["http_headers"]["x-myk-appid"], json!("default"));
    assert_eq!(
        r["p_any_ip_addresses"],
        json!(["10.20.0.53", "10.20.1.23", "127.0.0.1", "213.85.244.190"])
    );
    assert_eq!(
        r["p_any_trace_ids"],
        json!(["12521298-13f1-4019-8e21-c6046cf2dac7"])
    );
    assert_eq!(r["http_body"], Value::Null);
    let r = find(
        &access,
        "unique_request_key",
        json!("da5a23dd-8367-476e-97ca-d734ab56244d"),
    );
    assert_eq!(
        r["p_any_domain_names"],
        json!(["webappsecure", "zach-vm.jwas.jsec.net"])
    );
    assert_eq!(r["http_headers"], Value::Null);
    assert!(
        access.iter().any(|r| r["http_status"].is_i64()),
        "a response status"
    );
    assert!(access.iter().any(|r| r["http_body"].is_string()), "a body");

    let audit = table_rows(&tables, "juniper_audit");
    let r = find(
        &audit,
        "message",
        json!("Deactivate response 1832840420318015488"),
    );
    assert_eq!(
        (&r["api_key"], &r["username"], &r["login_ip"]),
        (
            &json!("ea77722a8516b0d1135abb19b1982852"),
            &Value::Null,
            &Value::Null
        )
    );
    assert_eq!(
        r["p_any_md5_hashes"],
        Value::Null,
        "an api key is not an MD5"
    );
    assert_eq!(r["timestamp"], json!("2024-01-23T19:16:22.000Z"));
    let r = find(&audit, "login_ip", json!("10.10.0.117"));
    assert_eq!(r["username"], json!("mykonos"));
    assert_eq!(r["p_any_usernames"], json!(["mykonos"]));

    let pg = table_rows(&tables, "juniper_postgres");
    let r = find(&pg, "pid", json!(13931));
    assert_eq!(r["timestamp"], json!("2024-03-04T16:18:00.000Z"));
    assert_eq!(
        (
            &r["group_id_major"],
            &r["group_id_minor"],
            &r["message_type"]
        ),
        (&json!(743), &json!(1), &json!("WARNING"))
    );
    assert!(
        pg.iter()
            .any(|r| r["timestamp"].as_str().unwrap().starts_with("2024-02-29")),
        "Feb 29 in a leap year"
    );

    let sec = table_rows(&tables, "juniper_security");
    let r = find(&sec, "response_code", json!("BL"));
    assert_eq!(r["expiration_date"], Value::Null);
    assert!(r["created_date"]
        .as_str()
        .unwrap()
        .starts_with("2014-10-13T16:33:54"));
    assert_eq!(r["silent_running"], json!(true));
    let r = find(&sec, "incident", json!("Apache Configuration Requested"));
    assert_eq!(
        (&r["severity"], &r["count"], &r["fake_response"]),
        (&json!(2), &json!(1), &json!(true))
    );
    assert_eq!(r["p_any_domain_names"], json!(["jwas1", "jwas1.jsec.net"]));
    assert_eq!(r["p_any_ip_addresses"], json!(["10.10.0.117"]));
    assert!(
        sec.iter()
            .any(|r| r["user_agent"].as_str().is_some_and(|u| u.contains('"'))),
        "unescaped quote"
    );

    let mws = table_rows(&tables, "juniper_mws");
    assert!(
        mws.iter().any(|r| r["log_message"]
            .as_str()
            .is_some_and(|m| m.contains('\u{FFFD}'))),
        "invalid UTF-8 replaced"
    );
    assert!(mws.iter().any(|r| r["p_any_sha256_hashes"].is_array()));
    assert!(mws.iter().any(|r| r["p_any_sha1_hashes"].is_array()));
}

#[test]
fn same_input_twice_gives_same_files_and_row_ids() {
    let (a, b) = (TempDir::new("twice-a"), TempDir::new("twice-b"));
    parse_testdata(&a);
    parse_testdata(&b);
    assert_eq!(files(a.path()), files(b.path()));
    let ids = |d: &TempDir| -> Vec<Value> {
        read_tables(d.path())
            .values()
            .flat_map(|b| as_json(b))
            .map(|r| r["p_row_id"].clone())
            .collect()
    };
    let (ia, ib) = (ids(&a), ids(&b));
    assert_eq!(ia, ib);
    let unique: BTreeSet<_> = ia.iter().map(Value::to_string).collect();
    assert_eq!(unique.len(), ia.len(), "row ids are unique");
    // Running again into the same directory replaces the files: no duplicates.
    parse_testdata(&a);
    assert_eq!(files(a.path()), files(b.path()));
}

#[test]
fn ndjson_on_stdout_has_the_parquet_values() {
    let out = TempDir::new("ndjson");
    let o = out.str();
    jwas_ok(
        &[
            "parse",
            "--out",
            &o,
            "--reference-time",
            REFERENCE,
            "testdata/access.log",
        ],
        0,
    );
    let (stdout, _) = jwas_ok(
        &[
            "parse",
            "--format",
            "ndjson",
            "--out",
            "-",
            "--reference-time",
            REFERENCE,
            "testdata/access.log",
        ],
        0,
    );
    let strip = |mut v: Value| {
        v.as_object_mut().unwrap().remove("p_parse_time");
        v
    };
    let ndjson: Vec<Value> = stdout
        .lines()
        .map(|l| strip(serde_json::from_str(l).unwrap()))
        .collect();
    let parquet: Vec<Value> = read_tables(out.path())
        .values()
        .flat_map(|b| as_json(b))
        .map(strip)
        .collect();
    let key = |v: &Value| v["p_row_id"].as_str().unwrap().to_owned();
    let a: BTreeMap<_, _> = ndjson.into_iter().map(|v| (key(&v), v)).collect();
    let b: BTreeMap<_, _> = parquet.into_iter().map(|v| (key(&v), v)).collect();
    assert_eq!(a.len(), 20);
    assert_eq!(a, b);
}

#[test]
fn fixed_log_type_rejects_other_types_with_their_type() {
    let (_, stderr) = jwas_ok(
        &[
            "parse",
            "--format",
            "ndjson",
            "--out",
            "-",
            "--log-type",
            "audit",
            "--reference-time",
            REFERENCE,
            "testdata/firewall.log",
        ],
        0,
    );
    let rejected: Vec<Value> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rejected.len(), 17);
    assert!(
        rejected[0]["reason"]
            .as_str()
            .unwrap()
            .contains("Juniper.Firewall"),
        "{}",
        rejected[0]
    );
}

#[test]
fn fail_on_reject_writes_everything_then_exits_3() {
    let out = TempDir::new("fail");
    let o = out.str();
    jwas_ok(
        &[
            "parse",
            "--out",
            &o,
            "--fail-on-reject",
            "--reference-time",
            REFERENCE,
            "testdata/mixed.log",
        ],
        3,
    );
    assert_eq!(
        read_tables(out.path())
            .values()
            .map(|b| rows(b))
            .sum::<usize>(),
        41
    );
    jwas_ok(
        &[
            "parse",
            "--out",
            &o,
            "--fail-on-reject",
            "--reference-time",
            REFERENCE,
            "testdata/audit.log",
        ],
        0,
    );
}

/// `--out -` alone means NDJSON on standard output, as `--help` says; Parquet asked for
/// explicitly is a usage error.
#[test]
fn out_dash_alone_writes_ndjson() {
    let args = ["parse", "--out", "-", "--reference-time", REFERENCE];
    let (alone, _) = jwas_ok(&[&args[..], &["testdata/audit.log"]].concat(), 0);
    let (explicit, _) = jwas_ok(
        &[&args[..], &["--format", "ndjson", "testdata/audit.log"]].concat(),
        0,
    );
    assert_eq!(alone.lines().count(), 17, "{alone}");
    let strip = |s: &str| -> Vec<Value> {
        s.lines()
            .map(|l| {
                let mut v: Value = serde_json::from_str(l).unwrap();
                v.as_object_mut().unwrap().remove("p_parse_time");
                v
            })
            .collect()
    };
    assert_eq!(strip(&alone), strip(&explicit));
}

#[test]
fn usage_errors_exit_2() {
    jwas_ok(
        &[
            "parse",
            "--out",
            "-",
            "--format",
            "parquet",
            "testdata/audit.log",
        ],
        2,
    );
    jwas_ok(&["parse", "--bogus", "testdata/audit.log"], 2);
    let (_, err) = jwas_ok(
        &[
            "parse",
            "--out",
            "x",
            "--log-type",
            "nope",
            "testdata/audit.log",
        ],
        2,
    );
    assert!(
        err.contains("\"nope\" is not auto, access, audit, firewall, mws, postgres or security"),
        "{err}"
    );
    let (_, err) = jwas_ok(&["schema", "--format", "athena", "--location", "/tmp/x"], 2);
    assert!(err.contains("s3://"), "{err}");
    jwas_ok(
        &[
            "parse",
            "--out",
            "x",
            "--reference-time",
            "yesterday",
            "testdata/audit.log",
        ],
        2,
    );
}

#[test]
fn missing_input_is_a_clear_error() {
    let out = TempDir::new("missing");
    let (_, stderr) = jwas_ok(&["parse", "--out", &out.str(), "no/such/file.log"], 1);
    assert!(stderr.contains("no/such/file.log"), "{stderr}");
}

/// A file's identity does not depend on how its path is spelled: the same rows, row ids
/// and file names, so a rerun replaces the files instead of adding copies.
#[test]
fn one_file_spelled_three_ways_is_one_input() {
    let out = TempDir::new("spellings");
    let o = out.str();
    let absolute = root().join("testdata/audit.log").display().to_string();
    for path in ["testdata/audit.log", "./testdata/audit.log", &absolute] {
        jwas_ok(
            &["parse", path, "--out", &o, "--reference-time", REFERENCE],
            0,
        );
    }
    let tables = read_tables(out.path());
    let rows = table_rows(&tables, "juniper_audit");
    assert_eq!(rows.len(), 17, "three spellings, one set of files");
    let ids: BTreeSet<String> = rows.iter().map(|r| r["p_row_id"].to_string()).collect();
    assert_eq!(ids.len(), 17);
}

/// A directory walk leaves out files that are not logs by name (testdata/README.md and
/// EXPECTED.json), says so in the summary, and takes --include / --exclude globs.
#[test]
fn directory_walks_skip_non_log_files_and_say_so() {
    let out = TempDir::new("walk");
    let o = out.str();
    let (_, err) = jwas_ok(
        &[
            "parse",
            "testdata/",
            "--out",
            &o,
            "--reference-time",
            REFERENCE,
        ],
        0,
    );
    assert!(
        err.contains("skipped 2 file(s) in directories by name: testdata/EXPECTED.json (--exclude *.json), testdata/README.md (--exclude *.md)"),
        "{err}"
    );
    // Only mixed.log's deliberate rejects.
    assert_eq!(read_rejected(out.path()).len(), 7, "{err}");
    // The summary ends with the time taken and the throughput.
    let last = err.lines().last().unwrap();
    assert!(
        last.starts_with("done in ") && last.ends_with(" MB/s"),
        "{err}"
    );
    let out = TempDir::new("walk-globs");
    let o = out.str();
    let (_, err) = jwas_ok(
        &[
            "parse",
            "testdata",
            "--out",
            &o,
            "--include",
            "*.log",
            "--exclude",
            "mixed*,security.*",
            "--reference-time",
            REFERENCE,
        ],
        0,
    );
    assert!(err.contains("skipped 4 file(s)"), "{err}");
    assert!(
        err.contains("testdata/mixed.log (--exclude mixed*)"),
        "{err}"
    );
    assert!(read_rejected(out.path()).is_empty());
    let tables = read_tables(out.path());
    assert!(!tables.contains_key("juniper_security"));
    assert_eq!(rows(&tables["juniper_audit"]), 17);
}

/// The summary says how each input was stored (gzip, zstd or plain), as detected.
#[test]
fn the_summary_shows_each_input_s_compression() {
    let dir = TempDir::new("stored");
    let audit = std::fs::read(root().join("testdata/audit.log")).unwrap();
    // gzip, without a .gz suffix
    std::fs::write(dir.path().join("audit.log"), flate2_gzip(&audit)).unwrap();
    std::fs::write(dir.path().join("plain.log"), &audit).unwrap();
    let out = TempDir::new("stored-out");
    let (_, err) = jwas_ok(
        &[
            "parse",
            &dir.path().join("audit.log").display().to_string(),
            &dir.path().join("plain.log").display().to_string(),
            "--out",
            &out.str(),
            "--reference-time",
            REFERENCE,
        ],
        0,
    );
    let stored: Vec<&str> = err
        .lines()
        .filter(|l| l.contains(".log "))
        .map(|l| l.rsplit(' ').next().unwrap())
        .collect();
    assert_eq!(stored, ["gzip", "plain"], "{err}");
}

fn flate2_gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}
