//! Rejected events as NDJSON: `p_source_object`, `line`, `byte_offset`, `reason`, `raw`,
//! in that order.

use crate::pipeline::RejectedEvent;
use std::io::{self, Write};

/// Writes one rejected event as a line of JSON.
pub fn write_rejected(w: &mut dyn Write, source_object: &str, r: &RejectedEvent) -> io::Result<()> {
    let mut line = Vec::with_capacity(r.raw.len() + 128);
    line.extend_from_slice(b"{\"p_source_object\":");
    serde_json::to_writer(&mut line, source_object).map_err(io::Error::other)?;
    write!(
        line,
        ",\"line\":{},\"byte_offset\":{},\"reason\":",
        r.line, r.byte_offset
    )?;
    serde_json::to_writer(&mut line, &r.reason).map_err(io::Error::other)?;
    line.extend_from_slice(b",\"raw\":");
    serde_json::to_writer(&mut line, &r.raw).map_err(io::Error::other)?;
    line.extend_from_slice(b"}\n");
    w.write_all(&line)
}
