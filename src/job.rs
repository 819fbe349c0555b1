//! One `jwas parse` run over inputs: each input is parsed by the pipeline and written to the
//! destination, with its rejected events and line counts.

use crate::error::Error;
use crate::logtype::LogType;
use crate::pipeline::{self, BlockOutput, LineCounts, ParseContext, PipelineOptions};
use crate::sink::{
    ndjson, rejected::write_rejected, ObjectWriter, Store, TableOptions, TableSink, WrittenFile,
};
use crate::source::Input;
use crate::standard::{ReferenceTime, RowId};
use chrono::{DateTime, Utc};
use std::io::{Read, Write};
use std::sync::Arc;

/// Options of a run.
#[derive(Clone, Debug)]
pub struct JobOptions {
    /// `Some` rejects events of other types.
    pub log_type: Option<LogType>,
    /// Fixed reference time for year inference; else the input's modification time, else now.
    pub reference_time: Option<DateTime<Utc>>,
    /// `p_source_id`.
    pub source_id: Option<String>,
    /// `p_source_label`.
    pub source_label: Option<String>,
    /// Longer events are rejected.
    pub max_event_bytes: usize,
    /// Threads and block size.
    pub pipeline: PipelineOptions,
    /// File format and sizes.
    pub tables: TableOptions,
}

impl Default for JobOptions {
    fn default() -> Self {
        JobOptions {
            log_type: None,
            reference_time: None,
            source_id: None,
            source_label: None,
            max_event_bytes: pipeline::DEFAULT_MAX_EVENT_BYTES,
            pipeline: PipelineOptions::default(),
            tables: TableOptions::default(),
        }
    }
}

/// Where rows go.
pub enum Destination<'w> {
    /// Partitioned files in a store.
    Store(Arc<dyn Store>),
    /// NDJSON rows on a stream (standard output).
    Stream(&'w mut dyn Write),
}

/// Where rejected events go.
pub enum RejectedTo<'w> {
    /// `_rejected/<name>.ndjson` in the store, one object per input.
    Store(Arc<dyn Store>),
    /// One stream for all inputs (standard error or `--rejected FILE`).
    Stream(&'w mut dyn Write),
}

/// What one input produced.
#[derive(Clone, Debug)]
pub struct InputSummary {
    /// `p_source_object`.
    pub input: String,
    /// Line accounting.
    pub counts: LineCounts,
    /// Table files written.
    pub files: Vec<WrittenFile>,
    /// Where its rejected events were written, if any were and they went to a store.
    pub rejected_file: Option<String>,
}

/// The base of output file names for an input: 16 hex digits of its identity.
pub fn output_name(input: &Input) -> String {
    format!("{:016x}", (input.identity().digest() >> 64) as u64)
}

/// Parses one local input (or standard input) and writes its rows and rejected events.
pub fn process(
    input: &Input,
    opts: &JobOptions,
    dest: &mut Destination<'_>,
    rejected: &mut RejectedTo<'_>,
) -> Result<InputSummary, Error> {
    process_reader(input, input.open()?, opts, dest, rejected)
}

/// Parses `reader`, the (decompressed) bytes of `input`, and writes its rows and rejected
/// events. Returns once every file it wrote is stored ([`Store::sync`]), also when it
/// fails, so a failure is reported for the input that caused it.
pub fn process_reader(
    input: &Input,
    reader: Box<dyn Read + Send>,
    opts: &JobOptions,
    dest: &mut Destination<'_>,
    rejected: &mut RejectedTo<'_>,
) -> Result<InputSummary, Error> {
    let result = write_input(input, reader, opts, dest, rejected);
    let synced = [
        match dest {
            Destination::Store(store) => store.sync(),
            Destination::Stream(_) => Ok(()),
        },
        match rejected {
            RejectedTo::Store(store) => store.sync(),
            RejectedTo::Stream(_) => Ok(()),
        },
    ];
    let summary = result?;
    for s in synced {
        s?;
    }
    Ok(summary)
}

fn write_input(
    input: &Input,
    reader: Box<dyn Read + Send>,
    opts: &JobOptions,
    dest: &mut Destination<'_>,
    rejected: &mut RejectedTo<'_>,
) -> Result<InputSummary, Error> {
    let name = output_name(input);
    let source_object = input.name();
    let now = Utc::now();
    let reference = opts.reference_time.or(input.modified()).unwrap_or(now);
    let ctx = ParseContext {
        reference: ReferenceTime::new(reference),
        row_id: RowId::new(&input.identity()),
        log_type: opts.log_type,
        parse_time: now.timestamp_millis(),
        source_id: opts.source_id.clone(),
        source_label: opts.source_label.clone(),
        source_object: source_object.clone(),
        max_event_bytes: opts.max_event_bytes,
    };
    let mut tables = match dest {
        Destination::Store(store) => {
            Some(TableSink::new(Arc::clone(store), opts.tables, name.clone()))
        }
        Destination::Stream(_) => None,
    };
    let rejected_key = format!("_rejected/{name}.ndjson");
    let mut rejected_object: Option<Box<dyn ObjectWriter>> = None;
    let counts = pipeline::run(
        reader,
        &ctx,
        opts.pipeline,
        &source_object,
        |out: BlockOutput| {
            for hb in &out.batches {
                match (&mut tables, &mut *dest) {
                    (Some(t), _) => t.write(hb)?,
                    (None, Destination::Stream(w)) => {
                        ndjson::write_batch(*w, &hb.batch).map_err(|source| Error::Write {
                            path: "-".into(),
                            source,
                        })?
                    }
                    (None, Destination::Store(_)) => {}
                }
            }
            for r in &out.rejected {
                let (w, path): (&mut dyn Write, &str) = match rejected {
                    RejectedTo::Stream(w) => (*w, "-"),
                    RejectedTo::Store(store) => {
                        if rejected_object.is_none() {
                            rejected_object = Some(store.create(&rejected_key)?);
                        }
                        match rejected_object.as_mut() {
                            Some(o) => (o.as_mut(), rejected_key.as_str()),
                            None => continue,
                        }
                    }
                };
                write_rejected(w, &source_object, r).map_err(|source| Error::Write {
                    path: path.into(),
                    source,
                })?;
            }
            Ok(())
        },
    )?;
    let files = match tables {
        Some(t) => t.finish()?,
        None => Vec::new(),
    };
    let rejected_file = match (rejected_object, &*rejected) {
        (Some(o), RejectedTo::Store(store)) => {
            o.commit()?;
            Some(store.location(&rejected_key))
        }
        _ => None,
    };
    Ok(InputSummary {
        input: source_object,
        counts,
        files,
        rejected_file,
    })
}
