//! Rows as NDJSON: one JSON object per row, every column present (null when absent),
//! timestamps as RFC 3339 UTC with `Z`, lists as arrays, maps as objects.

use arrow_array::cast::AsArray;
use arrow_array::types::{Int16Type, Int32Type, Int64Type, TimestampMillisecondType};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use chrono::{DateTime, SecondsFormat};
use std::io::{self, Write};

fn json_str(out: &mut Vec<u8>, s: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

fn value(out: &mut Vec<u8>, col: &dyn Array, row: usize) {
    if col.is_null(row) {
        out.extend_from_slice(b"null");
        return;
    }
    match col.data_type() {
        DataType::Utf8 => json_str(out, col.as_string::<i32>().value(row)),
        DataType::Int16 => {
            let _ = write!(out, "{}", col.as_primitive::<Int16Type>().value(row));
        }
        DataType::Int32 => {
            let _ = write!(out, "{}", col.as_primitive::<Int32Type>().value(row));
        }
        DataType::Int64 => {
            let _ = write!(out, "{}", col.as_primitive::<Int64Type>().value(row));
        }
        DataType::Boolean => {
            let v = col.as_boolean().value(row);
            out.extend_from_slice(if v { b"true" } else { b"false" });
        }
        DataType::Timestamp(..) => {
            let ms = col.as_primitive::<TimestampMillisecondType>().value(row);
            match DateTime::from_timestamp_millis(ms) {
                Some(t) => json_str(out, &t.to_rfc3339_opts(SecondsFormat::Millis, true)),
                None => out.extend_from_slice(b"null"),
            }
        }
        DataType::List(_) => {
            let items = col.as_list::<i32>().value(row);
            out.push(b'[');
            for i in 0..items.len() {
                if i > 0 {
                    out.push(b',');
                }
                value(out, items.as_ref(), i);
            }
            out.push(b']');
        }
        DataType::Map(..) => {
            let entries = col.as_map().value(row);
            let (keys, values) = (entries.column(0), entries.column(1));
            out.push(b'{');
            for i in 0..entries.len() {
                if i > 0 {
                    out.push(b',');
                }
                value(out, keys.as_ref(), i);
                out.push(b':');
                value(out, values.as_ref(), i);
            }
            out.push(b'}');
        }
        _ => out.extend_from_slice(b"null"),
    }
}

/// Writes every row of `batch` as one line of JSON.
pub fn write_batch(w: &mut dyn Write, batch: &RecordBatch) -> io::Result<()> {
    let mut line = Vec::with_capacity(2048);
    for row in 0..batch.num_rows() {
        write_row(w, batch, row, &mut line)?;
    }
    Ok(())
}

/// Writes row `row` of `batch` as one line of JSON (`line` is scratch space).
pub fn write_row(
    w: &mut dyn Write,
    batch: &RecordBatch,
    row: usize,
    line: &mut Vec<u8>,
) -> io::Result<()> {
    let schema = batch.schema_ref();
    line.clear();
    line.push(b'{');
    for (i, (field, col)) in schema.fields().iter().zip(batch.columns()).enumerate() {
        if i > 0 {
            line.push(b',');
        }
        json_str(line, field.name());
        line.push(b':');
        value(line, col.as_ref(), row);
    }
    line.extend_from_slice(b"}\n");
    w.write_all(line)
}
