//! Parquet's RLE / bit-packed hybrid encoding, for definition and repetition levels and
//! dictionary indices: runs of eight or more equal values become one RLE run, everything
//! else is bit-packed in groups of eight.

/// Literal values emitted at once once this many are pending (a multiple of 8, so that the
/// bit-packed run's header fits one byte: 63 groups).
const LITERAL_BATCH: usize = 504;

/// A streaming encoder of values of at most `bit_width` bits.
#[derive(Debug)]
pub(super) struct RleEncoder {
    bit_width: u8,
    out: Vec<u8>,
    /// Values not yet written that will be bit-packed.
    literals: Vec<u32>,
    /// The run of equal values at the end of the input, not yet written.
    run_value: u32,
    run_len: usize,
}

impl RleEncoder {
    pub(super) fn new(bit_width: u8) -> RleEncoder {
        RleEncoder {
            bit_width,
            out: Vec::new(),
            literals: Vec::new(),
            run_value: 0,
            run_len: 0,
        }
    }

    /// Starts over with `bit_width`, keeping the memory.
    pub(super) fn reset(&mut self, bit_width: u8) {
        self.bit_width = bit_width;
        self.out.clear();
        self.literals.clear();
        self.run_len = 0;
    }

    /// Appends `count` copies of `value`.
    #[inline]
    pub(super) fn put_run(&mut self, value: u32, count: usize) {
        if count == 0 {
            return;
        }
        if value == self.run_value || self.run_len == 0 {
            self.run_value = value;
            self.run_len += count;
        } else {
            self.end_run();
            self.run_value = value;
            self.run_len = count;
        }
    }

    /// Appends one value.
    #[inline]
    pub(super) fn put(&mut self, value: u32) {
        self.put_run(value, 1);
    }

    /// The run in progress ends: written as an RLE run if long enough, else made literal.
    fn end_run(&mut self) {
        let (value, mut len) = (self.run_value, self.run_len);
        self.run_len = 0;
        if len >= 8 {
            // Literals are written in groups of 8: complete the last group from the run.
            let fill = (8 - self.literals.len() % 8) % 8;
            if len - fill >= 8 {
                self.literals.extend(std::iter::repeat_n(value, fill));
                len -= fill;
                self.flush_literals();
                self.rle_run(value, len);
                return;
            }
        }
        if len == 1 {
            self.literals.push(value);
        } else {
            self.literals.extend(std::iter::repeat_n(value, len));
        }
        if self.literals.len() >= LITERAL_BATCH {
            let whole = self.literals.len() / 8 * 8;
            self.bit_packed(whole);
            self.literals.drain(..whole);
        }
    }

    fn flush_literals(&mut self) {
        if !self.literals.is_empty() {
            self.bit_packed(self.literals.len());
            self.literals.clear();
        }
    }

    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.out.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
    }

    fn rle_run(&mut self, value: u32, len: usize) {
        self.varint((len as u64) << 1);
        let bytes = usize::from(self.bit_width).div_ceil(8);
        self.out.extend_from_slice(&value.to_le_bytes()[..bytes]);
    }

    /// Bit-packs the first `n` literals, padded with zeros to a multiple of 8 (only the
    /// last run of a page may be padded: the page says how many values it holds).
    fn bit_packed(&mut self, n: usize) {
        let groups = n.div_ceil(8);
        self.varint(((groups as u64) << 1) | 1);
        let width = u32::from(self.bit_width);
        let (literals, out) = (&self.literals[..n.min(self.literals.len())], &mut self.out);
        // Eight values at a time make `width` bytes.
        for group in literals.chunks(8) {
            if width <= 16 {
                let mut acc: u128 = 0;
                for (k, &v) in group.iter().enumerate() {
                    acc |= u128::from(v) << (k as u32 * width);
                }
                out.extend_from_slice(&acc.to_le_bytes()[..width as usize]);
            } else {
                let (mut acc, mut lo) = (0u128, 0u128);
                for (k, &v) in group.iter().enumerate() {
                    let shift = k as u32 * width;
                    if shift < 128 {
                        lo |= u128::from(v) << shift;
                        if shift + width > 128 {
                            acc |= u128::from(v) >> (128 - shift);
                        }
                    } else {
                        acc |= u128::from(v) << (shift - 128);
                    }
                }
                let mut bytes = [0u8; 32];
                bytes[..16].copy_from_slice(&lo.to_le_bytes());
                bytes[16..].copy_from_slice(&acc.to_le_bytes());
                out.extend_from_slice(&bytes[..width as usize]);
            }
        }
    }

    /// Writes everything pending and gives the encoded bytes; the encoder is empty again
    /// (call [`RleEncoder::reset`] before reusing it with another width).
    pub(super) fn finish(&mut self) -> &[u8] {
        if self.run_len > 0 {
            self.end_run();
        }
        self.flush_literals();
        &self.out
    }
}

/// Bits needed for values up to `max`.
pub(super) fn bit_width(max: u32) -> u8 {
    (32 - max.leading_zeros()) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A decoder, to check the encoder against.
    fn decode(mut data: &[u8], width: u8, n: usize) -> Vec<u32> {
        let mut out = Vec::new();
        let varint = |d: &mut &[u8]| {
            let (mut v, mut shift) = (0u64, 0);
            loop {
                let b = d[0];
                *d = &d[1..];
                v |= u64::from(b & 0x7f) << shift;
                shift += 7;
                if b < 0x80 {
                    return v;
                }
            }
        };
        while out.len() < n {
            let h = varint(&mut data);
            if h & 1 == 0 {
                let bytes = usize::from(width).div_ceil(8);
                let mut v = [0u8; 4];
                v[..bytes].copy_from_slice(&data[..bytes]);
                data = &data[bytes..];
                out.extend(std::iter::repeat_n(
                    u32::from_le_bytes(v),
                    (h >> 1) as usize,
                ));
            } else {
                let count = (h >> 1) as usize * 8;
                let (mut acc, mut bits, mut taken) = (0u64, 0u32, 0);
                for _ in 0..count {
                    while bits < u32::from(width) {
                        acc |= u64::from(data[taken]) << bits;
                        taken += 1;
                        bits += 8;
                    }
                    out.push((acc & ((1u64 << width) - 1)) as u32);
                    acc >>= width;
                    bits -= u32::from(width);
                }
                data = &data[taken..];
            }
        }
        out.truncate(n);
        out
    }

    #[test]
    fn round_trips() {
        let mut rng = crate::testing::Rng(7);
        let mut next = move || rng.next() as u32;
        for width in [1u8, 2, 3, 7, 12, 17] {
            for case in 0..40 {
                let mut values = Vec::new();
                while values.len() < case * 37 {
                    let v = next() & ((1u32 << width) - 1);
                    let run = if next() % 3 == 0 {
                        next() as usize % 40
                    } else {
                        1
                    };
                    values.extend(std::iter::repeat_n(v, run));
                }
                let mut enc = RleEncoder::new(width);
                for &v in &values {
                    enc.put(v);
                }
                let data = enc.finish().to_vec();
                assert_eq!(decode(&data, width, values.len()), values, "width {width}");
            }
        }
    }

    #[test]
    fn long_runs_are_short() {
        let mut enc = RleEncoder::new(1);
        enc.put_run(1, 100_000);
        assert_eq!(enc.finish().len(), 4);
        assert_eq!(bit_width(0), 0);
        assert_eq!(bit_width(1), 1);
        assert_eq!(bit_width(3), 2);
        assert_eq!(bit_width(4), 3);
    }
}
