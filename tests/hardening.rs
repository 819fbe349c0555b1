//! Hostile and careless input, each case found once and kept: partial output, compressed
//! input with trailing bytes, names with control characters, file names that are not
//! UTF-8, closed standard error, stale temporaries, rows on standard output in input order.

mod support;

use std::io::Write;
use std::process::Stdio;
use support::*;

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
    parse_mws_into(&out);
    assert!(!stale.exists(), "{}", stale.display());
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
