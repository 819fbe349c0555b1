//! `p_row_id`: 32 hex characters, a hash of (input identity, byte offset of the event).

use xxhash_rust::xxh3::xxh3_128;

/// What identifies an input: its URI (`s3://bucket/key` or the local path as given), its
/// size and its version (S3 ETag or file mtime). Processing the same input again gives the
/// same row ids and output file names, so retried work replaces rather than duplicates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputIdentity {
    /// `s3://bucket/key`, a local path as given, or `-` for standard input.
    pub uri: String,
    /// Size in bytes, when known.
    pub size: Option<u64>,
    /// ETag or mtime (as text), when known.
    pub version: Option<String>,
}

impl InputIdentity {
    /// A 128-bit digest of the identity.
    pub fn digest(&self) -> u128 {
        let mut text = self.uri.clone();
        text.push('\0');
        if let Some(size) = self.size {
            text.push_str(&size.to_string());
        }
        text.push('\0');
        if let Some(v) = &self.version {
            text.push_str(v);
        }
        xxh3_128(text.as_bytes())
    }
}

/// Row ids of one input.
#[derive(Clone, Copy, Debug)]
pub struct RowId {
    input: u128,
}

impl RowId {
    /// Row ids for the input with this identity.
    pub fn new(identity: &InputIdentity) -> RowId {
        RowId {
            input: identity.digest(),
        }
    }

    /// The id of the event at `offset`, as 32 lower-case hex digits.
    pub fn at(self, offset: u64) -> [u8; 32] {
        let mut key = [0u8; 24];
        key[..16].copy_from_slice(&self.input.to_le_bytes());
        key[16..].copy_from_slice(&offset.to_le_bytes());
        hex32(xxh3_128(&key))
    }
}

/// 32 lower-case hex digits of `v`.
pub fn hex32(v: u128) -> [u8; 32] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 32];
    for (i, b) in v.to_be_bytes().iter().enumerate() {
        out[2 * i] = HEX[usize::from(b >> 4)];
        out[2 * i + 1] = HEX[usize::from(b & 15)];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_distinct() {
        let id = InputIdentity {
            uri: "a.log".into(),
            size: Some(10),
            version: Some("1".into()),
        };
        let other = InputIdentity {
            version: Some("2".into()),
            ..id.clone()
        };
        let a = RowId::new(&id);
        assert_eq!(a.at(5), RowId::new(&id).at(5));
        assert_ne!(a.at(5), a.at(6));
        assert_ne!(a.at(5), RowId::new(&other).at(5));
        assert!(a
            .at(5)
            .iter()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }
}
