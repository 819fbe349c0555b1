//! Rejected events as NDJSON: `p_source_object`, `line`, `byte_offset`, `reason`, `raw`.

use crate::pipeline::RejectedEvent;
use std::io::{self, Write};

/// Writes one rejected event as a line of JSON.
pub fn write_rejected(w: &mut dyn Write, source_object: &str, r: &RejectedEvent) -> io::Result<()> {
    let v = serde_json::json!({
        "p_source_object": source_object,
        "line": r.line,
        "byte_offset": r.byte_offset,
        "reason": r.reason,
        "raw": r.raw,
    });
    let mut line = serde_json::to_vec(&v).map_err(io::Error::other)?;
    line.push(b'\n');
    w.write_all(&line)
}
