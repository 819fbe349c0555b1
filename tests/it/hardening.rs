//! Hostile and careless input, each case found once and kept: partial output, compressed
//! input with trailing bytes, names with control characters, file names that are not
//! UTF-8, closed standard error, stale temporaries, rows on standard output in input order.

use crate::support::*;
use std::io::Write;
use std::process::Stdio;

/// A generated log spanning many hours (so that files close, and are committed, while the
/// input is still being read), gzipped.
fn many_hours_gz(bytes: u64) -> Vec<u8> {
    let (data, _) = jwas::gen::generate_to_vec(&jwas::gen::GenOptions {
        seed: 9,
        bytes,
        events_per_second: 0.02,
        ..jwas::gen::GenOptions::default()
    });
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&data).unwrap();
    gz.finish().unwrap()
}

fn all_files(dir: &std::path::Path) -> Vec<String> {
    fn walk(d: &std::path::Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                walk(&e.path(), out);
            } else {
                out.push(e.path().display().to_string());
            }
        }
    }
    let mut v = Vec::new();
    walk(dir, &mut v);
    v.sort();
    v
}

#[test]
fn a_failed_input_leaves_no_output() {
    let dir = TempDir::new("partial-in");
    // Larger than a few 4 MiB blocks before the cut: blocks are parsed and written before
    // the input turns out to be truncated.
    let gz = many_hours_gz(24 << 20);
    let truncated = &gz[..gz.len() * 3 / 4];
    std::fs::write(dir.path().join("cut.log.gz"), truncated).unwrap();
    std::fs::write(dir.path().join("whole.log.gz"), &gz).unwrap();
    let out = TempDir::new("partial-out");
    // Files roll over every 50 rows and at most 4 are open: many are committed before the
    // input turns out to be truncated.
    let cut = dir.path().join("cut.log.gz").display().to_string();
    let (_, stderr) = jwas_ok(
        &[
            "parse",
            &cut,
            "--out",
            &out.str(),
            "--max-file-rows",
            "50",
            "--reference-time",
            REFERENCE,
        ],
        1,
    );
    assert!(stderr.contains("cut.log.gz"), "{stderr}");
    assert!(stderr.contains("rows: none"), "{stderr}");
    assert!(stderr.contains("wrote 0 file(s)"), "{stderr}");
    assert_eq!(all_files(out.path()), Vec::<String>::new(), "{stderr}");

    // With a good input next to it: only the good input's files remain.
    let whole = dir.path().join("whole.log.gz").display().to_string();
    let (_, stderr) = jwas_ok(
        &[
            "parse",
            &cut,
            &whole,
            "--out",
            &out.str(),
            "--max-file-rows",
            "50",
            "--reference-time",
            REFERENCE,
        ],
        1,
    );
    let wrote: usize = stderr
        .lines()
        .find_map(|l| l.strip_prefix("wrote ")?.split(' ').next()?.parse().ok())
        .unwrap();
    let parquet: Vec<_> = all_files(out.path())
        .into_iter()
        .filter(|f| f.ends_with(".parquet"))
        .collect();
    assert!(wrote > 10);
    assert_eq!(parquet.len(), wrote, "{stderr}");
}

/// Small inputs side by side (`--threads 2`) are written on their lanes' own threads: a
/// small input that fails after some of its files were committed (rolled over at
/// `--max-file-rows`) leaves none of them, and the good inputs next to it keep theirs.
#[test]
fn a_failed_small_input_side_by_side_leaves_no_output() {
    let dir = TempDir::new("partial-small-in");
    // Several 4 MiB blocks once decompressed, but small as stored: parsed side by side.
    let gz = many_hours_gz(16 << 20);
    let truncated = &gz[..gz.len() * 3 / 4];
    assert!(truncated.len() < 4 << 20, "{}", truncated.len());
    std::fs::write(dir.path().join("cut.log.gz"), truncated).unwrap();
    for t in ["audit", "mws", "security"] {
        std::fs::copy(
            root().join(format!("testdata/{t}.log")),
            dir.path().join(format!("{t}.log")),
        )
        .unwrap();
    }
    let args = |out: &str, inputs: &[&str]| {
        let mut a: Vec<String> = vec!["parse".into()];
        a.extend(
            inputs
                .iter()
                .map(|i| dir.path().join(i).display().to_string()),
        );
        for x in ["--out", out, "--threads", "2", "--max-file-rows", "50"] {
            a.push(x.into());
        }
        a.extend(["--reference-time".into(), REFERENCE.into()]);
        a
    };
    let relative = |out: &TempDir| -> Vec<String> {
        let root = out.path().display().to_string();
        all_files(out.path())
            .into_iter()
            .map(|f| f.trim_start_matches(&root).to_owned())
            .collect()
    };
    let good = ["audit.log", "mws.log", "security.log"];
    let both = TempDir::new("partial-small-out");
    let a = args(
        &both.str(),
        &["audit.log", "cut.log.gz", "mws.log", "security.log"],
    );
    let (_, stderr) = jwas_ok(&a.iter().map(String::as_str).collect::<Vec<_>>(), 1);
    assert!(stderr.contains("cut.log.gz"), "{stderr}");
    let alone = TempDir::new("partial-small-good");
    let a = args(&alone.str(), &good);
    jwas_ok(&a.iter().map(String::as_str).collect::<Vec<_>>(), 0);
    let (files, expected) = (relative(&both), relative(&alone));
    assert!(expected.len() > 3, "{expected:?}");
    let extra: Vec<_> = files.iter().filter(|f| !expected.contains(f)).collect();
    assert!(
        extra.is_empty(),
        "{} extra, e.g. {:?}",
        extra.len(),
        &extra[..3.min(extra.len())]
    );
    assert_eq!(files, expected, "{stderr}");
}

#[test]
fn trailing_bytes_after_gzip_are_ignored_with_a_warning() {
    let dir = TempDir::new("gz-trailing");
    let mut gz = Vec::new();
    let mut e = flate2::write::GzEncoder::new(&mut gz, flate2::Compression::fast());
    e.write_all(&std::fs::read(root().join("testdata/audit.log")).unwrap())
        .unwrap();
    e.finish().unwrap();
    gz.extend_from_slice(b"not gzip at all\n");
    let path = dir.path().join("audit.log.gz");
    std::fs::write(&path, &gz).unwrap();
    let out = TempDir::new("gz-trailing-out");
    let (_, stderr) = jwas_ok(
        &[
            "parse",
            &path.display().to_string(),
            "--out",
            &out.str(),
            "--reference-time",
            REFERENCE,
        ],
        0,
    );
    assert!(
        stderr.contains("16 byte(s) after the last gzip member are not gzip data and were ignored"),
        "{stderr}"
    );
    let direct = TempDir::new("gz-trailing-direct");
    let (_, plain) = jwas_ok(
        &[
            "parse",
            "testdata/audit.log",
            "--out",
            &direct.str(),
            "--reference-time",
            REFERENCE,
        ],
        0,
    );
    let rows = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("rows:"))
            .map(str::to_owned)
    };
    assert_eq!(rows(&stderr), rows(&plain), "{stderr}");
}

#[test]
fn control_characters_in_names_are_escaped_in_the_summary() {
    let dir = TempDir::new("ctl-names");
    let name = "a\u{1b}[31mred\nline.log";
    std::fs::copy(root().join("testdata/mws.log"), dir.path().join(name)).unwrap();
    let out = TempDir::new("ctl-names-out");
    let (_, stderr) = jwas_ok(
        &[
            "parse",
            &dir.str(),
            "--out",
            &out.str(),
            "--reference-time",
            REFERENCE,
        ],
        0,
    );
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    assert!(stderr.contains("a\\u{1b}[31mred\\nline.log"), "{stderr}");
    // Every summary row is one line: header, the input, total.
    let rows = stderr
        .lines()
        .take_while(|l| !l.starts_with("lines "))
        .count();
    assert_eq!(rows, 3, "{stderr}");
}

#[cfg(unix)]
#[test]
fn a_file_name_that_is_not_utf8_can_be_given() {
    use std::os::unix::ffi::OsStrExt;
    let dir = TempDir::new("non-utf8");
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.log");
    let path = dir.path().join(name);
    std::fs::copy(root().join("testdata/postgres.log"), &path).unwrap();
    let out = TempDir::new("non-utf8-out");
    let status = jwas_cmd(&[])
        .arg("parse")
        .arg(&path)
        .args(["--out", &out.str(), "--reference-time", REFERENCE])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert_eq!(status.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("rows: juniper_postgres 23"), "{stderr}");
    assert!(stderr.contains("caf\u{fffd}.log"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn a_closed_standard_error_is_no_panic() {
    // Standard error is a pipe whose reader is gone before jwas writes to it: the summary
    // of a good run, and error lines of failing ones.
    let out = TempDir::new("closed-stderr");
    let o = out.str();
    for (args, code) in [
        (vec!["parse", "testdata/mixed.log", "--out", &o], 0),
        (vec!["parse", "no-such-file.log", "--out", &o], 1),
        (
            vec!["parse", "testdata/mws.log", "no-such-file.log", "--out", &o],
            1,
        ),
    ] {
        let mut child = jwas_cmd(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stderr.take());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "{args:?}: {status:?}");
    }
}

fn parse_mws_into(out: &TempDir) {
    jwas_ok(
        &[
            "parse",
            "testdata/mws.log",
            "--out",
            &out.str(),
            "--reference-time",
            REFERENCE,
        ],
        0,
    );
}

#[test]
fn stale_temporaries_of_dead_processes_are_removed_by_the_next_run() {
    let out = TempDir::new("stale-tmp");
    parse_mws_into(&out);
    let parquet = all_files(out.path())
        .into_iter()
        .find(|f| f.ends_with(".parquet"))
        .unwrap();
    let dir = std::path::Path::new(&parquet).parent().unwrap().to_owned();
    // What a process killed mid-write leaves: a temporary named after its (now unused) pid.
    let dead = std::process::Command::new("true").spawn().unwrap();
    let pid = dead.id();
    let mut dead = dead;
    dead.wait().unwrap();
    let stale = dir.join(format!(".x.parquet.tmp-{pid}"));
    std::fs::write(&stale, b"").unwrap();
    let alive = dir.join(format!(".y.parquet.tmp-{}", std::process::id()));
    std::fs::write(&alive, b"").unwrap();
    // Temporaries carry a sequence number after the pid since 2026-12.
    let numbered = dir.join(format!(".z.parquet.tmp-{pid}-7"));
    std::fs::write(&numbered, b"").unwrap();
    parse_mws_into(&out);
    assert!(!stale.exists(), "{}", stale.display());
    assert!(!numbered.exists(), "{}", numbered.display());
    assert!(alive.exists(), "a running process's temporary is kept");
}

/// The vendor's Access example goes back in time (21:11:47, then 19:48:14): standard
/// output keeps the input's order all the same, within and across tables.
#[test]
fn rows_on_standard_output_are_in_input_order() {
    let log = "Mar 19 21:11:47 h [INFO][mws-access][se-request-6] key:a,PHASE_REQUEST_PRE_PROCESS,127.0.0.1,http://h/1\n\
Mar 19 20:00:00 h [INFO][mws-cluster-services][db-cleanup] between\n\
Mar 19 19:48:14 h [INFO][mws-access][se-request-6] key:b,PHASE_REQUEST_PRE_PROCESS,127.0.0.1,http://h/2\n\
Mar 19 22:00:00 h [INFO][mws-access][se-request-6] key:c,PHASE_REQUEST_PRE_PROCESS,127.0.0.1,http://h/3\n\
Mar 19 18:00:00 h [INFO][mws-cluster-services][db-cleanup] last\n";
    let dir = TempDir::new("order");
    let path = dir.path().join("order.log");
    std::fs::write(&path, log).unwrap();
    let (stdout, _) = jwas_ok(
        &[
            "parse",
            &path.display().to_string(),
            "--out",
            "-",
            "--format",
            "ndjson",
            "--reference-time",
            REFERENCE,
        ],
        0,
    );
    let seen: Vec<String> = stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["unique_request_key"]
                .as_str()
                .or(v["log_message"].as_str())
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(seen, ["a", "between", "b", "c", "last"]);
}

/// A full device: the error names what was being written, and gives its cause once.
#[cfg(target_os = "linux")]
#[test]
fn write_errors_name_the_file_and_give_the_cause_once() {
    let out = TempDir::new("full");
    let (_, stderr) = jwas_ok(
        &[
            "parse",
            "testdata/mixed.log",
            "--out",
            &out.str(),
            "--rejected",
            "/dev/full",
            "--reference-time",
            REFERENCE,
        ],
        1,
    );
    assert!(
        stderr.contains("jwas: error: writing /dev/full: No space left on device"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("No space left on device").count(),
        1,
        "{stderr}"
    );

    let full = std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let run = jwas_cmd(&[
        "parse",
        "testdata/mixed.log",
        "--out",
        "-",
        "--format",
        "ndjson",
    ])
    .stdout(full)
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("writing standard output: No space left on device"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("No space left on device").count(),
        1,
        "{stderr}"
    );
}

/// The number of rows each table's summary line reports (`rows: juniper_access 9, …`).
fn reported_rows(stderr: &str) -> std::collections::BTreeMap<String, usize> {
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("rows: "))
        .unwrap_or_else(|| panic!("no rows line in:\n{stderr}"));
    line.split(", ")
        .filter(|p| *p != "none")
        .map(|p| {
            let (t, n) = p.split_once(' ').unwrap();
            (t.to_owned(), n.parse().unwrap())
        })
        .collect()
}

/// Rows per table actually under `dir`.
fn stored_rows(dir: &std::path::Path) -> std::collections::BTreeMap<String, usize> {
    read_tables(dir)
        .into_iter()
        .map(|(t, b)| (t, rows(&b)))
        .collect()
}

/// Two spellings of one file (and a link to it in a directory) were parsed side by side
/// into the same file names: one failed and its clean-up removed the other's files
/// (issue 25, item 1). Now one identity is parsed once, and the summary says so.
#[test]
fn one_file_named_twice_is_parsed_once() {
    let dir = TempDir::new("twice-in");
    std::fs::copy(root().join("testdata/mixed.log"), dir.path().join("m.log")).unwrap();
    let alone = TempDir::new("twice-alone");
    let m = dir.path().join("m.log").display().to_string();
    jwas_ok(
        &[
            "parse",
            &m,
            "--out",
            &alone.str(),
            "--reference-time",
            REFERENCE,
        ],
        0,
    );
    let dotted = format!("{}/./m.log", dir.str());
    for round in 0..8 {
        let out = TempDir::new("twice-out");
        let args = [
            "parse",
            &m,
            &dotted,
            "--out",
            &out.str(),
            "--threads",
            "2",
            "--reference-time",
            REFERENCE,
        ];
        let (_, stderr) = jwas_ok(&args, 0);
        assert!(stderr.contains("is the same input as"), "{stderr}");
        assert!(
            stderr
                .contains("1 input(s) named again were the same as another input and parsed once"),
            "{stderr}"
        );
        assert_eq!(files(out.path()), files(alone.path()), "round {round}");
        assert_eq!(
            reported_rows(&stderr),
            stored_rows(out.path()),
            "round {round}"
        );
    }
    // A directory holding the file and a link to it: `current.log -> app.log`.
    let logs = TempDir::new("twice-dir");
    std::fs::copy(
        root().join("testdata/mixed.log"),
        logs.path().join("app.log"),
    )
    .unwrap();
    std::os::unix::fs::symlink("app.log", logs.path().join("current.log")).unwrap();
    for _ in 0..4 {
        let out = TempDir::new("twice-dir-out");
        let args = [
            "parse",
            &logs.str(),
            "--out",
            &out.str(),
            "--threads",
            "2",
            "--reference-time",
            REFERENCE,
        ];
        let (_, stderr) = jwas_ok(&args, 0);
        assert!(
            stderr.contains("current.log is the same input as"),
            "{stderr}"
        );
        assert_eq!(reported_rows(&stderr), stored_rows(out.path()));
        assert_eq!(stored_rows(out.path()), stored_rows(alone.path()));
    }
}

/// `--threads 20000` aborted the process (issue 25, item 6): now a usage error.
#[test]
fn threads_past_the_maximum_are_a_usage_error() {
    let out = TempDir::new("threads-max");
    for n in ["20000", "40000", "1025"] {
        let (_, stderr) = jwas_ok(
            &[
                "parse",
                "testdata/mws.log",
                "--out",
                &out.str(),
                "--threads",
                n,
            ],
            2,
        );
        assert!(stderr.contains("is not in 0..=1024"), "{stderr}");
    }
    let (_, stderr) = jwas_ok(&["compact", &out.str(), "--threads", "20000"], 2);
    assert!(stderr.contains("is not in 0..=1024"), "{stderr}");
    jwas_ok(
        &[
            "parse",
            "testdata/mws.log",
            "--out",
            &out.str(),
            "--threads",
            "1024",
            "--reference-time",
            REFERENCE,
        ],
        0,
    );
}

/// A loop of links or a dangling link in an input directory stopped the whole run before
/// parsing (issue 25, item 7): now each is skipped with a warning and counted.
#[test]
fn bad_symbolic_links_in_a_directory_are_skipped_with_a_warning() {
    let d = TempDir::new("links");
    std::fs::create_dir_all(d.path().join("sub")).unwrap();
    std::fs::copy(
        root().join("testdata/mws.log"),
        d.path().join("sub/mws.log"),
    )
    .unwrap();
    std::os::unix::fs::symlink("../..", d.path().join("sub/loop")).unwrap();
    std::os::unix::fs::symlink("nowhere", d.path().join("dangling")).unwrap();
    let out = TempDir::new("links-out");
    let (_, stderr) = jwas_ok(
        &[
            "parse",
            &d.str(),
            "--out",
            &out.str(),
            "--reference-time",
            REFERENCE,
        ],
        0,
    );
    assert!(stderr.contains("jwas: warning: skipping"), "{stderr}");
    assert!(
        stderr.contains("dangling (a symbolic link to nothing)"),
        "{stderr}"
    );
    assert!(stderr.contains("loop (a symbolic link loop"), "{stderr}");
    assert!(
        stderr.contains("skipped 2 unreadable directory entries"),
        "{stderr}"
    );
    assert_eq!(
        stored_rows(out.path()).get("juniper_mws"),
        Some(&24),
        "{stderr}"
    );
}

/// A file truncated while it was read (logrotate's copytruncate) ended with exit 0 and no
/// word of it (issue 25, item 8): now a warning and a line in the summary.
#[test]
fn a_file_truncated_while_read_is_reported() {
    let d = TempDir::new("shrink");
    let log = d.path().join("big.log");
    let (data, _) = jwas::gen::generate_to_vec(&jwas::gen::GenOptions {
        seed: 3,
        bytes: 48 << 20,
        ..jwas::gen::GenOptions::default()
    });
    std::fs::write(&log, &data).unwrap();
    let out = TempDir::new("shrink-out");
    let child = jwas_cmd(&[
        "parse",
        &log.display().to_string(),
        "--out",
        &out.str(),
        "--threads",
        "1",
        "--reference-time",
        REFERENCE,
    ])
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // A debug build parses a few MB/s: the truncation lands well before the end.
    std::thread::sleep(std::time::Duration::from_millis(300));
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("shrank while it was read (to 0 bytes)"),
        "{stderr}"
    );
}

/// A reference time in year 0 put rows under `year=4294967295` (issue 25, item 11).
#[test]
fn a_reference_year_the_partition_path_cannot_hold_is_refused() {
    let out = TempDir::new("year0");
    let (_, stderr) = jwas_ok(
        &[
            "parse",
            "testdata/mws.log",
            "--out",
            &out.str(),
            "--reference-time",
            "0000-03-21T00:00:00Z",
        ],
        2,
    );
    assert!(stderr.contains("year 0 is outside 0001-9999"), "{stderr}");
    assert!(files(out.path()).is_empty());
}

/// An output path that is a file printed a dozen clean-up errors before "Not a directory"
/// (issue 25, item 9): now one error naming it, before any work.
#[test]
fn an_output_path_that_is_a_file_is_one_clear_error() {
    let d = TempDir::new("out-file");
    let file = d.path().join("o");
    std::fs::write(&file, b"x").unwrap();
    let (_, stderr) = jwas_ok(
        &[
            "parse",
            "testdata/mixed.log",
            "--out",
            &file.display().to_string(),
            "--reference-time",
            REFERENCE,
        ],
        1,
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("exists and is not a directory"), "{stderr}");
}

/// Runs `jwas parse - --out <out>` with `stdin` on standard input; its stderr.
fn parse_stdin(out: &TempDir, stdin: &[u8]) -> String {
    let mut child = jwas_cmd(&[
        "parse",
        "-",
        "--out",
        &out.str(),
        "--reference-time",
        REFERENCE,
    ])
    .stdin(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    stderr
}

/// Two different streams on standard input were both named `d64508891b023605-*` and the
/// second replaced the first's files (issue 25, item 2). Standard input's identity now
/// comes from its bytes: different streams add up, the same bytes again replace.
#[test]
fn different_streams_on_standard_input_never_share_a_file() {
    // As `head -40` and `tail -37` cut it (the file is not all UTF-8).
    let log = std::fs::read(root().join("testdata/mixed.log")).unwrap();
    let lines: Vec<&[u8]> = log.split_inclusive(|b| *b == b'\n').collect();
    let head: Vec<u8> = lines[..40].concat();
    let tail: Vec<u8> = lines[lines.len() - 37..].concat();
    let out = TempDir::new("stdin-two");
    let first = reported_rows(&parse_stdin(&out, &head));
    let after_first = files(out.path());
    let second = reported_rows(&parse_stdin(&out, &tail));
    let mut sum = first.clone();
    for (t, n) in &second {
        *sum.entry(t.clone()).or_default() += n;
    }
    assert_eq!(stored_rows(out.path()), sum);
    // The same bytes piped again replace their own files: nothing is added.
    let before = files(out.path());
    parse_stdin(&out, &head);
    assert_eq!(files(out.path()), before);
    assert!(after_first.iter().all(|f| before.contains(f)));
    assert_eq!(stored_rows(out.path()), sum);
}

/// SIGINT 2 s into a large input exited 130 with thousands of that input's files committed
/// and nothing said (issue 25, item 5). Now the input in hand is given up and its files
/// removed (or finished whole), no input starts after it, and the summary says so.
#[test]
fn a_signal_gives_up_the_input_in_hand_and_starts_no_other() {
    let d = TempDir::new("signal");
    let big = d.path().join("big.log");
    let (data, _) = jwas::gen::generate_to_vec(&jwas::gen::GenOptions {
        seed: 11,
        bytes: 48 << 20,
        events_per_second: 0.01,
        ..jwas::gen::GenOptions::default()
    });
    std::fs::write(&big, &data).unwrap();
    for (signal, code, name) in [("-INT", 130, "SIGINT"), ("-TERM", 143, "SIGTERM")] {
        let out = TempDir::new("signal-out");
        let child = jwas_cmd(&[
            "parse",
            &big.display().to_string(),
            "testdata/mws.log",
            "--out",
            &out.str(),
            "--reference-time",
            REFERENCE,
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        // Files of the big input are being committed.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while files(out.path()).len() < 100 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let pid = child.id().to_string();
        assert!(std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap()
            .success());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "jwas: stopped by {name}: 0 input(s) finished and kept, 1 in hand given up (none of their files left), 1 not started"
            )),
            "{stderr}"
        );
        assert!(!stderr.contains("jwas: error"), "{stderr}");
        assert_eq!(files(out.path()), Vec::<String>::new(), "{stderr}");
    }
}
