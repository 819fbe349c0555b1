//! The `jwas` command line. Errors get context here (anyhow); the library's are typed.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use jwas::columns::render;
use jwas::compact::{self, CompactOptions};
use jwas::config::LogTypeChoice;
use jwas::job::{InputSummary, JobOptions};
use jwas::pipeline::{LineCounts, PipelineOptions, DEFAULT_BLOCK_BYTES, DEFAULT_MAX_EVENT_BYTES};
use jwas::run::{self, Run};
use jwas::s3::{S3Config, S3};
use jwas::sink::{self, TableOptions};
use jwas::source::{Escaped, Input, S3Uri};
use jwas::worker::sources::Sources;
use jwas::worker::{stop_on_signals, Worker, WorkerOptions};
use jwas::{source, Error, LogType};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Writes a line to standard error, ignoring failure: a closed or broken stderr (`2>&1 |
/// head`) must not end the run with a panic, as `eprintln!` would.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

#[derive(Parser)]
#[command(
    name = "jwas",
    version,
    about = "Juniper WebApp Secure logs to Panther-style Parquet tables"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse log files into tables partitioned by event hour.
    Parse(ParseArgs),
    /// Print the tables' schemas.
    Schema(SchemaArgs),
    /// Generate a synthetic, deterministic log corpus (for benchmarks and load tests).
    Gen(GenArgs),
    /// Process the S3 objects announced on an SQS queue, until stopped (SIGTERM/SIGINT).
    Worker(WorkerArgs),
    /// Queue one S3-event message per existing object, for workers to backfill.
    Enqueue(EnqueueArgs),
    /// Merge each partition's files into few, sorted by event time, duplicates removed.
    Compact(CompactArgs),
}

#[derive(clap::Args)]
struct ParseArgs {
    /// Files, directories (read recursively, hidden entries skipped), '-' for standard input,
    /// or s3://bucket/prefix (every object under it) and s3://bucket/key (one object).
    /// gzip and zstd input is detected and decompressed.
    #[arg(required = true)]
    inputs: Vec<std::ffi::OsString>,
    /// In directories, take only files whose name matches one of these globs (* and ?;
    /// repeat the option or separate with commas). Default: every name.
    #[arg(long, value_delimiter = ',')]
    include: Vec<String>,
    /// In directories, leave out files whose name matches one of these globs. Default:
    /// *.md, *.json, *.ndjson, *.parquet, *.yml, *.yaml, *.toml, *.csv, *.html; giving
    /// --exclude replaces the default (--exclude '' takes every file).
    #[arg(long, value_delimiter = ',')]
    exclude: Option<Vec<String>>,
    /// Output directory, s3://bucket/prefix, or '-' for NDJSON on standard output.
    #[arg(long)]
    out: String,
    /// S3 objects fetched at once (read ahead while earlier ones are parsed).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,
    #[command(flatten)]
    s3: S3Args,
    /// auto, access, audit, firewall, mws, postgres or security: auto routes each event by
    /// its tag; a fixed type rejects events of other types.
    #[arg(long, default_value = "auto")]
    log_type: LogTypeChoice,
    /// Reference time for year inference (RFC 3339, years 0001-9999); default: each
    /// file's mtime.
    #[arg(long, value_parser = parse_reference_time)]
    reference_time: Option<DateTime<Utc>>,
    /// p_source_id of every row.
    #[arg(long)]
    source_id: Option<String>,
    /// p_source_label of every row.
    #[arg(long)]
    source_label: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
    /// Write rejected events to this file instead of <out>/_rejected/ (or standard error).
    #[arg(long)]
    rejected: Option<PathBuf>,
    /// Exit with code 3 if any event was rejected (everything is still written).
    #[arg(long)]
    fail_on_reject: bool,
}

/// How S3 and SQS are reached: shared by every command that may use them.
#[derive(clap::Args)]
struct S3Args {
    /// An S3/SQS-compatible endpoint (default: AWS_ENDPOINT_URL, else AWS); path-style
    /// addressing.
    #[arg(long)]
    endpoint_url: Option<String>,
    /// How long one S3/SQS request may take until its answer begins, and a download or
    /// upload may go without progress (e.g. 30s, 2m); a request is tried 3 times. SQS
    /// receives wait 20 s longer (their long poll).
    #[arg(long, default_value = "60s", value_parser = parse_timeout)]
    request_timeout: Duration,
}

impl S3Args {
    fn config(&self) -> S3Config {
        S3Config {
            endpoint_url: self.endpoint_url.clone(),
            timeouts: jwas::s3::Timeouts {
                request: self.request_timeout,
                ..jwas::s3::Timeouts::default()
            },
        }
    }
}

/// A duration of at least one second.
fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d = duration(s).map_err(|e| e.to_string())?;
    if d < Duration::from_secs(1) {
        return Err(format!("{s:?}: at least 1s"));
    }
    Ok(d)
}

/// How tables are written: shared by `parse` and `worker`.
#[derive(clap::Args)]
struct OutputArgs {
    /// Output file format [default: parquet; ndjson with --out -].
    #[arg(long, value_enum)]
    format: Option<sink::Format>,
    #[command(flatten)]
    compression: CompressionArgs,
    /// Threads parsing, and threads encoding and writing files (default: all cores;
    /// at most 1024).
    #[arg(long, value_parser = threads_parser())]
    threads: Option<usize>,
    /// Events longer than this many bytes are rejected.
    #[arg(long, default_value_t = DEFAULT_MAX_EVENT_BYTES)]
    max_event_bytes: usize,
    /// Rows per output file before a new file is started.
    #[arg(long, default_value_t = sink::DEFAULT_MAX_FILE_ROWS)]
    max_file_rows: usize,
    /// Partition path depth: hour suits busy appliances; day or month write far fewer
    /// files for quiet ones (see docs/guide.md, "Choosing a partition level").
    #[arg(long, value_enum, default_value = "hour")]
    partition: sink::Partition,
}

impl OutputArgs {
    /// Job options with these tables and threads, and no log type or source.
    fn job_options(&self) -> JobOptions {
        let threads = self
            .threads
            .unwrap_or_else(|| PipelineOptions::default().threads)
            .max(1);
        JobOptions {
            max_event_bytes: self.max_event_bytes,
            pipeline: PipelineOptions {
                threads,
                block_bytes: DEFAULT_BLOCK_BYTES,
                inline: false,
            },
            tables: TableOptions {
                format: self.format.unwrap_or(sink::Format::Parquet),
                compression: self.compression.get(),
                max_file_rows: self.max_file_rows,
                writers: threads,
                partition: self.partition,
                ..TableOptions::default()
            },
            ..JobOptions::default()
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(clap::Args)]
struct WorkerArgs {
    /// The SQS queue that receives the bucket's object-created notifications.
    #[arg(long)]
    queue_url: String,
    /// Output directory (files fsynced before messages are deleted) or s3://bucket/prefix.
    #[arg(long)]
    out: String,
    /// Which buckets and prefixes to process, as what (default: everything, auto).
    #[arg(long)]
    sources: Option<PathBuf>,
    /// Messages received within this time are written together (e.g. 60s, 5m).
    #[arg(long, default_value = "60s", value_parser = duration)]
    batch_window: Duration,
    /// A batch is written as soon as its objects add up to this many bytes.
    #[arg(long, default_value_t = 256 << 20)]
    batch_bytes: u64,
    /// Objects downloaded ahead of the one being parsed.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,
    /// Exit after this long without a message (default: run until SIGTERM/SIGINT).
    #[arg(long, value_parser = duration)]
    idle_exit: Option<Duration>,
    /// A batch that moves no S3 byte for this long is stuck: its messages' visibility is no
    /// longer extended, so they come back to be retried (default: twice a request's time
    /// with its retries, 6m20s with the default --request-timeout).
    #[arg(long, value_parser = parse_timeout)]
    stuck_after: Option<Duration>,
    /// How often to log the stats line.
    #[arg(long, default_value = "60s", value_parser = duration)]
    stats_interval: Duration,
    /// Log lines as text or as JSON objects (one per line).
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
    #[command(flatten)]
    s3: S3Args,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(clap::Args)]
struct EnqueueArgs {
    /// The bucket to list.
    #[arg(long)]
    bucket: String,
    /// Key prefix (a folder, as for `jwas parse s3://bucket/prefix`; default: the bucket).
    #[arg(long, default_value = "")]
    prefix: String,
    /// The queue the workers read.
    #[arg(long)]
    queue_url: String,
    /// Only objects whose key comes after this one (in key order): to go on from where a
    /// failed run stopped (its error names the key).
    #[arg(long)]
    start_after: Option<String>,
    #[command(flatten)]
    s3: S3Args,
}

/// A duration, for clap ([`jwas::config::parse_duration`]).
fn duration(s: &str) -> Result<Duration, jwas::config::BadValue> {
    jwas::config::parse_duration(s)
}

#[derive(Clone, Copy, ValueEnum)]
enum SchemaFormat {
    Yaml,
    Arrow,
    Athena,
}

#[derive(clap::Args)]
struct SchemaArgs {
    /// One log type: access, audit, firewall, mws, postgres or security (default: all).
    #[arg(long)]
    log_type: Option<LogType>,
    /// yaml: Panther-style schema; arrow: the Arrow fields; athena: CREATE EXTERNAL TABLE.
    #[arg(long, value_enum, default_value = "yaml")]
    format: SchemaFormat,
    /// Athena: where the tables live (the --out of jwas parse), an s3:// location.
    #[arg(long, default_value = "s3://YOUR-BUCKET/YOUR-PREFIX", value_parser = parse_athena_location)]
    location: String,
    /// Athena: the --partition the tables were written with.
    #[arg(long, value_enum, default_value = "hour")]
    partition: sink::Partition,
}

/// Parquet compression, for jwas parse, worker and compact.
#[derive(clap::Args)]
struct CompressionArgs {
    /// Parquet compression.
    #[arg(long, value_enum, default_value = "zstd")]
    compression: sink::Compression,
    /// zstd level (1-22): 1 writes nearly as small files as 3 on these logs, and faster.
    #[arg(long, default_value_t = sink::DEFAULT_ZSTD_LEVEL, value_parser = clap::value_parser!(i32).range(1..=22))]
    zstd_level: i32,
}

impl CompressionArgs {
    fn get(&self) -> sink::Compression {
        self.compression.with_zstd_level(self.zstd_level)
    }
}

#[derive(clap::Args)]
struct CompactArgs {
    /// The tables' root: the --out of jwas parse or jwas worker (a directory or
    /// s3://bucket/prefix).
    out: String,
    /// Only this table: access, audit, firewall, mws, postgres or security (default: all).
    #[arg(long)]
    table: Option<LogType>,
    /// Only partitions that end after this: a date (YYYY-MM-DD, from its start) or an
    /// RFC 3339 time.
    #[arg(long, value_parser = parse_since)]
    since: Option<DateTime<Utc>>,
    /// Only partitions that start before this: a date (YYYY-MM-DD, up to its end, so the
    /// day is included) or an RFC 3339 time.
    #[arg(long, value_parser = parse_until)]
    until: Option<DateTime<Utc>>,
    /// Rows per merged file at most.
    #[arg(long, default_value_t = sink::DEFAULT_MAX_FILE_ROWS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    max_file_rows: usize,
    #[command(flatten)]
    compression: CompressionArgs,
    /// Partitions merged at once (default: all cores; at most 1024).
    #[arg(long, value_parser = threads_parser())]
    threads: Option<usize>,
    /// Memory for sorting, in MiB, shared by the threads; larger partitions are sorted in
    /// runs spilled to the temporary directory.
    #[arg(long, default_value_t = compact::DEFAULT_MEMORY_BYTES >> 20)]
    memory_mib: usize,
    /// Show what would be merged; read, write and remove nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    s3: S3Args,
}

fn parse_since(s: &str) -> Result<DateTime<Utc>, String> {
    parse_day_or_time(s, 0)
}

fn parse_until(s: &str) -> Result<DateTime<Utc>, String> {
    parse_day_or_time(s, 1)
}

/// A date (its start, plus `days_after` days) or an RFC 3339 time.
fn parse_day_or_time(s: &str, days_after: i64) -> Result<DateTime<Utc>, String> {
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let start = d.and_time(chrono::NaiveTime::MIN).and_utc();
        return Ok(start + chrono::Duration::days(days_after));
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            format!(
                "{s:?}: expected a date (2024-03-21) or an RFC 3339 time (2024-03-21T05:00:00Z)"
            )
        })
}

#[derive(clap::Args)]
struct GenArgs {
    /// Output size in MiB (the last event may cross it).
    #[arg(long)]
    mb: f64,
    /// PRNG seed: the same arguments give the same bytes.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// mixed (all six types) or one type.
    #[arg(long, default_value = "mixed", value_parser = gen_log_type)]
    log_type: LogTypeChoice,
    /// Time of the first event (RFC 3339).
    #[arg(long, default_value = "2023-06-01T00:00:00Z", value_parser = parse_time)]
    start: DateTime<Utc>,
    /// Event density: average events per second of log time.
    #[arg(long, default_value_t = jwas::gen::DEFAULT_EVENTS_PER_SECOND)]
    events_per_second: f64,
    /// Output file, or '-' for standard output.
    #[arg(long, default_value = "-")]
    out: String,
}

/// `jwas gen --log-type`: `mixed` (all six types) or one type.
fn gen_log_type(s: &str) -> Result<LogTypeChoice, jwas::config::BadValue> {
    if s.trim().eq_ignore_ascii_case("mixed") {
        return Ok(LogTypeChoice(None));
    }
    s.parse::<LogType>()
        .map(|t| LogTypeChoice(Some(t)))
        .map_err(|e| jwas::config::BadValue {
            expected: "mixed, access, audit, firewall, mws, postgres or security",
            ..e
        })
}

/// Athena reads tables from S3 only: a local path would give a table that never has rows.
fn parse_athena_location(s: &str) -> Result<String, String> {
    if s.starts_with("s3://") {
        Ok(s.to_owned())
    } else {
        Err(
            "Athena tables live in S3: give s3://bucket/prefix (copy a local --out there first)"
                .into(),
        )
    }
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{e} (expected RFC 3339, e.g. 2024-03-21T00:00:00Z)"))
}

/// A reference time whose year the partition path can express (see
/// [`jwas::standard::ReferenceTime::check`]).
fn parse_reference_time(s: &str) -> Result<DateTime<Utc>, String> {
    let t = parse_time(s)?;
    jwas::standard::ReferenceTime::check(t)?;
    Ok(t)
}

/// `--threads`: 0 is taken as 1, as before; more than [`MAX_THREADS`] is a usage error
/// (each thread has a stack and buffers: 20,000 exhausted memory).
fn threads_parser() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(0..=MAX_THREADS)
}

/// The most `--threads` a run takes.
const MAX_THREADS: u64 = 1024;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The AWS SDK logs each failed credential provider as a warning with a debug dump, and
    // each multipart-uploaded object read as a checksum it cannot check; jwas reports what
    // matters itself, in one line. The worker logs its progress at info.
    let (level, json) = match &cli.command {
        Command::Worker(w) => ("info", matches!(w.log_format, LogFormat::Json)),
        _ => ("warn", false),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        format!("{level},aws_config=error,aws_runtime=error,aws_smithy_runtime=error,aws_sdk_s3::http_response_checksum=error").into()
    });
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(filter);
    if json {
        logs.json().init();
    } else {
        logs.init();
    }
    let result = match cli.command {
        Command::Parse(args) => parse(args),
        Command::Schema(args) => schema(args).map(|()| ExitCode::SUCCESS),
        Command::Gen(args) => gen(args).map(|()| ExitCode::SUCCESS),
        Command::Worker(args) => worker(args).map(|()| ExitCode::SUCCESS),
        Command::Enqueue(args) => enqueue(args).map(|()| ExitCode::SUCCESS),
        Command::Compact(args) => compact(args),
    };
    match result {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            say!("jwas: error: {}", Escaped(&format!("{e:#}")));
            ExitCode::from(1)
        }
    }
}

fn worker(args: WorkerArgs) -> Result<()> {
    let sources = match &args.sources {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Sources::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?
        }
        None => Sources::any(),
    };
    let s3 = S3::connect(&args.s3.config())?;
    // Messages are deleted once their files are written: make that survive a crash.
    let store = run::open_store(&args.out, Some(&s3), true)?;
    let opts = WorkerOptions {
        queue_url: args.queue_url,
        batch_window: args.batch_window,
        batch_bytes: args.batch_bytes,
        concurrency: usize::from(args.concurrency),
        idle_exit: args.idle_exit,
        stats_every: args.stats_interval,
        stuck_after: args
            .stuck_after
            .unwrap_or_else(|| jwas::worker::default_stuck_after(&s3.timeouts())),
        job: args.output.job_options(),
        sources,
    };
    let stop = stop_on_signals(&s3);
    Worker::new(Arc::clone(&s3), store, opts, stop).run()?;
    Ok(())
}

fn compact(args: CompactArgs) -> Result<ExitCode> {
    let s3 = match S3Uri::parse(&args.out) {
        Some(_) => Some(S3::connect(&args.s3.config())?),
        None => None,
    };
    let store = run::open_store(&args.out, s3.as_ref(), true)?;
    let opts = CompactOptions {
        table: args.table,
        since: args.since,
        until: args.until,
        max_file_rows: args.max_file_rows,
        compression: args.compression.get(),
        threads: args
            .threads
            .unwrap_or(CompactOptions::default().threads)
            .max(1),
        memory_bytes: args.memory_mib.saturating_mul(1 << 20),
        dry_run: args.dry_run,
    };
    let started = Instant::now();
    let plan = compact::Plan::new(store, opts)?;
    let work = plan.partitions.iter().filter(|p| p.needs_work()).count();
    let bar = ProgressBar::new(plan.partitions.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} partitions ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    if args.dry_run {
        let mut out = std::io::stdout().lock();
        for p in plan.partitions.iter().filter(|p| p.needs_work()) {
            writeln!(
                out,
                "would merge {} file(s): {}",
                p.files(),
                Escaped(&plan.location(&p.dir))
            )?;
        }
    }
    let summary = plan.run(&|_| bar.inc(1));
    bar.finish_and_clear();
    let verb = if args.dry_run {
        "would merge"
    } else {
        "merged"
    };
    say!(
        "partitions: {} found, {} needing work, {} {verb}, {} recovered from an interrupted run",
        summary.partitions,
        work,
        summary.merged,
        summary.recovered
    );
    if args.dry_run {
        say!(
            "files: {} ({}); nothing was read, written or removed",
            summary.files_before,
            amount(summary.bytes_before)
        );
        return Ok(ExitCode::SUCCESS);
    }
    say!(
        "files: {} before ({}), {} after",
        summary.files_before,
        amount(summary.bytes_before),
        summary.files_after
    );
    say!(
        "rows in merged partitions: {} before, {} after, {} duplicate(s) removed",
        summary.rows_before,
        summary.rows_after,
        summary.duplicates()
    );
    say!("done in {:.1} s", started.elapsed().as_secs_f64());
    for (dir, e) in &summary.failed {
        say!(
            "jwas: {}: left as it was: {}",
            Escaped(&plan.location(dir)),
            Escaped(&jwas::error::chain(e))
        );
    }
    for (dir, e) in &summary.unfinished {
        say!(
            "jwas: {}: merged, but not every merged-away file could be removed: {}; it holds the merged file(s) and some of the originals (their rows twice) until the next jwas compact, which finishes the merge",
            Escaped(&plan.location(dir)),
            Escaped(&jwas::error::chain(e))
        );
    }
    let failures = summary.failed.len() + summary.unfinished.len();
    if failures > 0 {
        say!("jwas: {failures} partition(s) failed");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// A byte count for people.
fn amount(bytes: u64) -> String {
    match bytes {
        b if b < 1_000_000 => format!("{:.1} kB", b as f64 / 1e3),
        b if b < 10_000_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b => format!("{:.2} GB", b as f64 / 1e9),
    }
}

fn enqueue(args: EnqueueArgs) -> Result<()> {
    let s3 = S3::connect(&args.s3.config())?;
    let uri = S3Uri::new(&args.bucket, &args.prefix)?;
    let n = jwas::worker::enqueue(&s3, &uri, &args.queue_url, args.start_after.as_deref())?;
    println!("queued {n} object(s) from {uri} to {}", args.queue_url);
    Ok(())
}

/// `jwas parse ... | head` ends quietly.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || matches!(c.downcast_ref::<Error>(), Some(Error::Write { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn schema(args: SchemaArgs) -> Result<()> {
    let types: Vec<LogType> = args.log_type.map_or(LogType::ALL.to_vec(), |t| vec![t]);
    let mut out = std::io::stdout().lock();
    for (i, t) in types.into_iter().enumerate() {
        let text = match args.format {
            SchemaFormat::Yaml => render::yaml(t),
            SchemaFormat::Arrow => render::arrow(t),
            SchemaFormat::Athena => render::athena(t, &args.location, args.partition),
        };
        if i > 0 {
            let sep = if matches!(args.format, SchemaFormat::Yaml) {
                "---\n"
            } else {
                "\n"
            };
            out.write_all(sep.as_bytes())
                .context("writing standard output")?;
        }
        out.write_all(text.as_bytes())
            .context("writing standard output")?;
    }
    out.flush().context("writing standard output")?;
    Ok(())
}

fn gen(args: GenArgs) -> Result<()> {
    if !(args.mb.is_finite() && args.mb >= 0.0) {
        anyhow::bail!("--mb must be a non-negative number, not {}", args.mb);
    }
    let opts = jwas::gen::GenOptions {
        seed: args.seed,
        bytes: (args.mb * (1u64 << 20) as f64) as u64,
        log_type: args.log_type.0,
        start: args.start,
        events_per_second: args.events_per_second,
    };
    let stats = if args.out == "-" {
        jwas::gen::generate(&opts, std::io::stdout().lock()).context("writing standard output")?
    } else {
        let f =
            std::fs::File::create(&args.out).with_context(|| format!("creating {}", args.out))?;
        jwas::gen::generate(&opts, f).with_context(|| format!("writing {}", args.out))?
    };
    let per_type: Vec<String> = LogType::ALL
        .iter()
        .filter(|t| stats.events[t.index()] > 0)
        .map(|t| format!("{} {}", t.short_name(), stats.events[t.index()]))
        .collect();
    say!(
        "jwas gen: {} bytes, {} lines, {} events ({}), {} to {}",
        stats.bytes,
        stats.lines,
        stats.total_events(),
        per_type.join(", "),
        stats.first.to_rfc3339(),
        stats.last.to_rfc3339()
    );
    Ok(())
}

fn parse(mut args: ParseArgs) -> Result<ExitCode> {
    let to_stdout = args.out == "-";
    if to_stdout {
        // Standard output gets NDJSON; Parquet asked for explicitly is a usage error.
        if args.output.format == Some(sink::Format::Parquet) {
            say!("jwas: error: --out - writes NDJSON, not Parquet; drop --format parquet, or give a directory");
            return Ok(ExitCode::from(2));
        }
        args.output.format = Some(sink::Format::Ndjson);
    }
    let opts = JobOptions {
        log_type: args.log_type.0,
        reference_time: args.reference_time,
        source_id: args.source_id,
        source_label: args.source_label,
        ..args.output.job_options()
    };
    let needs_s3 = args.out.starts_with("s3://")
        || args
            .inputs
            .iter()
            .any(|a| a.to_str().is_some_and(|a| a.starts_with("s3://")));
    let s3 = if needs_s3 {
        Some(S3::connect(&args.s3.config())?)
    } else {
        None
    };
    let filter = source::WalkFilter {
        include: args.include.clone(),
        exclude: args
            .exclude
            .clone()
            .unwrap_or_else(|| source::WalkFilter::default().exclude),
    };
    let found = run::find_inputs(&args.inputs, &filter, s3.as_deref()).map_err(|e| match e {
        e @ Error::Read { .. } => anyhow::Error::from(e).context("finding inputs"),
        e => e.into(),
    })?;
    for uri in &found.empty {
        say!(
            "jwas: warning: {}: no objects (zero-size objects and folder keys are skipped)",
            Escaped(uri)
        );
    }
    for r in &found.repeats {
        say!(
            "jwas: {} is the same input as {}: parsed once",
            Escaped(&r.input.name()),
            Escaped(&r.same_as.name())
        );
    }
    for s in found.skipped.iter().filter(|s| !s.by_name) {
        say!(
            "jwas: warning: skipping {}: {}",
            Escaped(&s.path.display().to_string()),
            Escaped(&s.reason)
        );
    }
    let store = (!to_stdout)
        .then(|| run::open_store(&args.out, s3.as_ref(), false))
        .transpose()?;

    let stdout = std::io::stdout();
    let mut stdout_lock = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut stderr = std::io::stderr();
    let mut rejected_file = match &args.rejected {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => None,
    };
    let rejected_name = args
        .rejected
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let output = match &store {
        Some(store) => run::Output::Store(Arc::clone(store)),
        None => run::Output::Stream(&mut stdout_lock, "standard output"),
    };
    let mut job = Run::new(opts);
    job.s3 = s3.as_deref();
    job.concurrency = usize::from(args.concurrency);
    job = match (&mut rejected_file, to_stdout) {
        (Some(f), _) => job.rejected_to(f, &rejected_name),
        (None, true) => job.rejected_to(&mut stderr, "standard error"),
        (None, false) => job,
    };
    // SIGINT or SIGTERM from here on stops the run: no input starts, the ones in hand are
    // given up (their files removed, as for any failed input), the summary says so.
    let signal = Arc::new(std::sync::atomic::AtomicI32::new(0));
    catch_signals(&job.stop, &signal);

    // Progress in bytes as stored (compressed, if they are) against the inputs' total,
    // when it is known (not for standard input); shown only on a terminal.
    let read = Arc::clone(&job.read);
    let started = Instant::now();
    let total_bytes: Option<u64> = found.inputs.iter().map(Input::stored_size).sum();
    let progress = Progress::new(total_bytes, &read, &job.stop);
    let result = job.run_observed(found.inputs, output, &progress);
    progress.finish();
    let summary = result?;
    stdout_lock.flush().context("writing standard output")?;
    if let Some(mut f) = rejected_file {
        f.flush()
            .with_context(|| format!("writing {}", Escaped(&rejected_name)))?;
    }
    let total = print_summary(
        &summary.done,
        if to_stdout { None } else { Some(&args.out) },
    );
    if !found.repeats.is_empty() {
        say!(
            "{} input(s) named again were the same as another input and parsed once",
            found.repeats.len()
        );
    }
    let (by_name, unreadable): (Vec<_>, Vec<_>) = found.skipped.iter().partition(|s| s.by_name);
    for (list, what) in [
        (by_name, "file(s) in directories by name"),
        (unreadable, "unreadable directory entries"),
    ] {
        if list.is_empty() {
            continue;
        }
        let shown: Vec<String> = list
            .iter()
            .take(5)
            .map(|s| format!("{} ({})", Escaped(&s.path.display().to_string()), s.reason))
            .collect();
        let more = list.len().saturating_sub(shown.len());
        say!(
            "skipped {} {what}: {}{}",
            list.len(),
            shown.join(", "),
            if more > 0 {
                format!(", and {more} more")
            } else {
                String::new()
            }
        );
    }
    let secs = started.elapsed().as_secs_f64();
    let bytes = read.load(Ordering::Relaxed);
    say!(
        "done in {secs:.1} s: {} read, {:.1} MB/s",
        amount(bytes),
        bytes as f64 / 1e6 / secs.max(1e-3)
    );
    let got = signal.load(Ordering::SeqCst);
    if got != 0 {
        let failed_too = summary.failures - summary.given_up;
        say!(
            "jwas: stopped by {}: {} input(s) finished and kept, {} in hand given up (none of their files left), {} not started{}",
            if got == 15 { "SIGTERM" } else { "SIGINT" },
            summary.done.len(),
            summary.given_up,
            summary.not_started,
            if failed_too > 0 {
                format!(", {failed_too} failed")
            } else {
                String::new()
            }
        );
        return Ok(ExitCode::from(128 + got as u8));
    }
    if summary.failures > 0 {
        say!("jwas: {} input(s) failed", summary.failures);
        return Ok(ExitCode::from(1));
    }
    if args.fail_on_reject && total.rejected_events > 0 {
        return Ok(ExitCode::from(3));
    }
    Ok(ExitCode::SUCCESS)
}

/// The progress bar of `jwas parse` (on a terminal): bytes read against the inputs' total
/// when it is known, the input being parsed, and failures as they happen.
struct Progress {
    bar: ProgressBar,
    ticking: Arc<AtomicBool>,
    ticker: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
    stop: Arc<AtomicBool>,
}

impl Progress {
    fn new(total: Option<u64>, read: &Arc<AtomicU64>, stop: &Arc<AtomicBool>) -> Progress {
        let (bar, template) = match total {
            Some(total) => (
                ProgressBar::new(total),
                "{spinner} [{elapsed_precise}] {bar:30} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta} {wide_msg}",
            ),
            None => (
                ProgressBar::new_spinner(),
                "{spinner} [{elapsed_precise}] {binary_bytes} {binary_bytes_per_sec} {wide_msg}",
            ),
        };
        bar.set_style(
            ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let ticking = Arc::new(AtomicBool::new(true));
        let ticker = {
            let (bar, read, ticking) = (bar.clone(), Arc::clone(read), Arc::clone(&ticking));
            std::thread::spawn(move || {
                while ticking.load(Ordering::Relaxed) {
                    bar.set_position(read.load(Ordering::Relaxed));
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
        };
        Progress {
            bar,
            ticking,
            ticker: std::sync::Mutex::new(Some(ticker)),
            stop: Arc::clone(stop),
        }
    }

    fn finish(&self) {
        self.ticking.store(false, Ordering::Relaxed);
        if let Some(t) = self.ticker.lock().ok().and_then(|mut t| t.take()) {
            let _ = t.join();
        }
        self.bar.finish_and_clear();
    }
}

impl run::Observer for Progress {
    fn input(&self, input: &Input) {
        self.bar.set_message(Escaped(&input.name()).to_string());
    }

    fn failed(&self, input: &Input, e: Error) {
        if self.stop.load(Ordering::SeqCst) {
            return;
        }
        // Read errors name the input already; others (writes) get it in front.
        let e = match e {
            Error::Read { .. } => anyhow::Error::from(e),
            e => anyhow::Error::from(e).context(input.name()),
        };
        self.bar
            .suspend(|| say!("jwas: error: {}", Escaped(&format!("{e:#}"))));
    }
}

/// Catches SIGINT and SIGTERM from now on: the first sets `stop` and is remembered in
/// `signal` (its number); a second one ends the process at once (exit 128 + its number).
fn catch_signals(stop: &Arc<AtomicBool>, signal: &Arc<std::sync::atomic::AtomicI32>) {
    let (stop, signal) = (Arc::clone(stop), Arc::clone(signal));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            let _ = ready_tx.send(());
            return;
        };
        rt.block_on(async move {
            use tokio::signal::unix::{signal as on, SignalKind};
            let (Ok(mut int), Ok(mut term)) =
                (on(SignalKind::interrupt()), on(SignalKind::terminate()))
            else {
                let _ = ready_tx.send(());
                return;
            };
            let _ = ready_tx.send(());
            for n in 0.. {
                let got = tokio::select! {
                    _ = int.recv() => 2,
                    _ = term.recv() => 15,
                };
                if n > 0 {
                    std::process::exit(128 + got);
                }
                signal.store(got, Ordering::SeqCst);
                stop.store(true, Ordering::SeqCst);
            }
        });
    });
    // The handlers are in place before any input is parsed.
    let _ = ready_rx.recv();
}

fn print_summary(summaries: &[(InputSummary, &str)], out: Option<&str>) -> LineCounts {
    let mut total = LineCounts::default();
    let mut files = 0;
    let mut e = std::io::stderr().lock();
    let names: Vec<String> = summaries
        .iter()
        .map(|(s, _)| Escaped(&s.input).to_string())
        .collect();
    let width = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(5)
        .clamp(5, 60);
    let _ = writeln!(
        e,
        "{:<width$} {:>10} {:>10} {:>12} {:>8} {:>9} {:>9}  stored",
        "input", "lines", "events", "continuation", "blank", "rejected", "rej.lines"
    );
    let mut row = |name: &str, c: &LineCounts, stored: &str| {
        let _ = writeln!(
            e,
            "{name:<width$} {:>10} {:>10} {:>12} {:>8} {:>9} {:>9}  {stored}",
            c.lines,
            c.first_lines,
            c.continuation_lines,
            c.blank_lines,
            c.rejected_events,
            c.rejected_lines
        );
    };
    for ((s, stored), name) in summaries.iter().zip(&names) {
        total.add(&s.counts);
        files += s.files.len();
        row(name, &s.counts, stored);
    }
    row("total", &total, "");
    let c = &total;
    let check = if c.adds_up() {
        "adds up"
    } else {
        "DOES NOT ADD UP"
    };
    let _ = writeln!(
        e,
        "lines {} = events {} + continuation {} + blank {} + rejected {} ({check})",
        c.lines, c.first_lines, c.continuation_lines, c.blank_lines, c.rejected_lines
    );
    let rows: Vec<String> = LogType::ALL
        .iter()
        .filter(|t| c.rows[t.index()] > 0)
        .map(|t| format!("{} {}", t.table(), c.rows[t.index()]))
        .collect();
    let _ = writeln!(
        e,
        "rows: {}",
        if rows.is_empty() {
            "none".to_owned()
        } else {
            rows.join(", ")
        }
    );
    for ((s, _), name) in summaries.iter().zip(&names) {
        if let Some(now) = s.shrank_to {
            let _ = writeln!(
                e,
                "jwas: warning: {name} shrank while it was read (to {now} bytes): rows past that may be missing"
            );
        }
    }
    if let Some(out) = out {
        let _ = writeln!(e, "wrote {files} file(s) under {}", Escaped(out));
        for ((s, _), name) in summaries.iter().zip(&names) {
            if let Some(r) = &s.rejected_file {
                let _ = writeln!(e, "rejected events of {name}: {}", Escaped(r));
            }
        }
    }
    total
}
