//! Cutting a byte stream into blocks of whole events, at event boundaries: over-long events
//! are skipped whole, each becoming one rejected event.

use super::block::head_log_type;
use super::REJECTED_RAW_BYTES;
use crate::grammar::is_event_start;
use crate::logtype::LogType;
use std::io::Read;

/// A piece of input: a block of whole events, or an over-long event already skipped.
#[derive(Debug)]
pub(super) enum Chunk {
    Block {
        offset: u64,
        data: Vec<u8>,
    },
    TooLong {
        offset: u64,
        lines: u64,
        bytes: u64,
        raw: Vec<u8>,
    },
}

/// Cuts a byte stream into [`Chunk`]s at event boundaries.
pub(super) struct Framer<R> {
    pub(super) input: R,
    pub(super) buf: Vec<u8>,
    pub(super) offset: u64,
    pub(super) eof: bool,
    pub(super) block_bytes: usize,
    pub(super) max_event_bytes: usize,
}

impl<R: Read> Framer<R> {
    /// Reads until `buf` holds at least `want` bytes or the input ends (into the buffer's
    /// spare capacity: no zero-filling of memory that is read over anyway).
    fn fill(&mut self, want: usize) -> std::io::Result<()> {
        while !self.eof && self.buf.len() < want {
            let step = (want - self.buf.len()).max(64 << 10);
            self.buf.reserve(step);
            let n = (&mut self.input)
                .take(step as u64)
                .read_to_end(&mut self.buf)?;
            if n == 0 {
                self.eof = true;
            }
        }
        Ok(())
    }

    /// Whether `p` starts an event: a line start followed by a timestamp, judged on that
    /// line alone, as [`parse_block`](super::parse_block) does. Needs 16 bytes after `p`
    /// (or the end of the input) to tell.
    fn starts_event(&self, p: usize) -> bool {
        if p == 0 || self.buf[p - 1] != b'\n' {
            return false;
        }
        let head = &self.buf[p..(p + 16).min(self.buf.len())];
        let line = memchr::memchr(b'\n', head).map_or(head, |n| &head[..n]);
        is_event_start(line)
    }

    fn take(&mut self, n: usize) -> Chunk {
        let rest = self.buf.split_off(n);
        let data = std::mem::replace(&mut self.buf, rest);
        let offset = self.offset;
        self.offset += n as u64;
        Chunk::Block { offset, data }
    }

    pub(super) fn next_chunk(&mut self) -> std::io::Result<Option<Chunk>> {
        let limit = self.block_bytes + self.max_event_bytes;
        self.fill(self.block_bytes + 16)?;
        if self.buf.is_empty() {
            return Ok(None);
        }
        if self.eof && self.buf.len() <= self.block_bytes + 16 {
            let n = self.buf.len();
            return Ok(Some(self.take(n)));
        }
        // The last event start at or before the target size...
        let target = self.block_bytes.min(self.buf.len().saturating_sub(16));
        let back = memchr::memrchr_iter(b'\n', &self.buf[..target])
            .map(|n| n + 1)
            .find(|&p| self.starts_event(p));
        if let Some(p) = back {
            return Ok(Some(self.take(p)));
        }
        // ...else the first one after it, reading on up to the event size limit.
        let mut from = 0;
        loop {
            let scan_end = self.buf.len().saturating_sub(16).max(from);
            let found = memchr::memchr_iter(b'\n', &self.buf[from..scan_end])
                .map(|n| from + n + 1)
                .find(|&p| self.starts_event(p));
            if let Some(p) = found {
                return Ok(Some(self.take(p)));
            }
            if self.eof {
                let n = self.buf.len();
                return Ok(Some(self.take(n)));
            }
            if self.buf.len() >= limit {
                break;
            }
            from = scan_end;
            self.fill(self.buf.len() + self.block_bytes)?;
        }
        // No event starts within the limit. Lines that belong to no Access event can be
        // cut anywhere at a line end; an Access event or a single line this long is skipped.
        if !self.starts_access_event() {
            if let Some(n) = memchr::memrchr(b'\n', &self.buf) {
                return Ok(Some(self.take(n + 1)));
            }
        }
        self.skip_too_long()
    }

    fn starts_access_event(&self) -> bool {
        let line_end = memchr::memchr(b'\n', &self.buf).unwrap_or(self.buf.len());
        head_log_type(&self.buf[..line_end]) == Some(LogType::Access)
    }

    /// Skips the event at the start of the buffer, which is longer than the limit: up to the
    /// next event start for an Access event, else to the end of the line.
    fn skip_too_long(&mut self) -> std::io::Result<Option<Chunk>> {
        let access = self.starts_access_event();
        let offset = self.offset;
        let raw = self.buf[..REJECTED_RAW_BYTES.min(self.buf.len())].to_vec();
        let (mut lines, mut bytes, mut newline_at_end) = (0u64, 0u64, false);
        loop {
            let scan_end = if self.eof {
                self.buf.len()
            } else {
                self.buf.len().saturating_sub(16)
            };
            let end = if access {
                memchr::memchr_iter(b'\n', &self.buf[..scan_end])
                    .map(|n| n + 1)
                    .find(|&p| self.starts_event(p))
            } else {
                memchr::memchr(b'\n', &self.buf[..scan_end]).map(|n| n + 1)
            };
            let cut = end.unwrap_or(scan_end);
            lines += memchr::memchr_iter(b'\n', &self.buf[..cut]).count() as u64;
            bytes += cut as u64;
            if cut > 0 {
                newline_at_end = self.buf[cut - 1] == b'\n';
            }
            self.buf.drain(..cut);
            self.offset += cut as u64;
            if end.is_some() || (self.eof && self.buf.is_empty()) {
                if !newline_at_end {
                    lines += 1; // the input's last line, without a newline
                }
                return Ok(Some(Chunk::TooLong {
                    offset,
                    lines,
                    bytes,
                    raw,
                }));
            }
            self.fill(self.buf.len() + self.block_bytes)?;
        }
    }
}
