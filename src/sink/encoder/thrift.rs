//! The Thrift compact protocol, as much of it as Parquet's page headers and footer need:
//! structs of integers, booleans, binaries, lists and nested structs, written field by
//! field into a byte buffer.

/// Compact-protocol type ids.
#[derive(Clone, Copy)]
#[repr(u8)]
pub(super) enum Ty {
    True = 1,
    False = 2,
    Byte = 3,
    I16 = 4,
    I32 = 5,
    I64 = 6,
    Binary = 8,
    List = 9,
    Struct = 12,
}

/// Writes one struct (and the structs nested in it) into `out`. Fields must be written
/// in increasing id order within each struct.
pub(super) struct Writer<'a> {
    out: &'a mut Vec<u8>,
    /// The last field id of each open struct, innermost at `depth - 1`.
    last: [i16; MAX_DEPTH],
    depth: usize,
}

/// Structs nest at most this deep in Parquet's metadata (FileMetaData > RowGroup >
/// ColumnChunk > ColumnMetaData > Statistics, SchemaElement > LogicalType > TimestampType
/// > TimeUnit).
const MAX_DEPTH: usize = 8;

impl<'a> Writer<'a> {
    /// Starts the outermost struct.
    pub(super) fn new(out: &'a mut Vec<u8>) -> Writer<'a> {
        Writer::continuing(out, 0)
    }

    /// Continues the outermost struct after field `last` (for fields encoded apart from the
    /// fields before them, then put together with [`Writer::raw`]).
    pub(super) fn continuing(out: &'a mut Vec<u8>, last: i16) -> Writer<'a> {
        let mut stack = [0; MAX_DEPTH];
        stack[0] = last;
        Writer {
            out,
            last: stack,
            depth: 1,
        }
    }

    #[inline]
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.out.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
    }

    #[inline]
    fn zigzag(&mut self, v: i64) {
        self.varint(((v << 1) ^ (v >> 63)) as u64);
    }

    #[inline]
    fn field(&mut self, id: i16, ty: Ty) {
        let prev = self.last[self.depth - 1];
        let delta = id - prev;
        if (1..=15).contains(&delta) {
            self.out.push(((delta as u8) << 4) | ty as u8);
        } else {
            self.out.push(ty as u8);
            self.zigzag(i64::from(id));
        }
        self.last[self.depth - 1] = id;
    }

    /// An `i8` field.
    pub(super) fn i8(&mut self, id: i16, v: i8) {
        self.field(id, Ty::Byte);
        self.out.push(v as u8);
    }

    /// An `i16` field.
    pub(super) fn i16(&mut self, id: i16, v: i16) {
        self.field(id, Ty::I16);
        self.zigzag(i64::from(v));
    }

    /// An `i32` field (also enums).
    #[inline]
    pub(super) fn i32(&mut self, id: i16, v: i32) {
        self.field(id, Ty::I32);
        self.zigzag(i64::from(v));
    }

    /// An `i64` field.
    #[inline]
    pub(super) fn i64(&mut self, id: i16, v: i64) {
        self.field(id, Ty::I64);
        self.zigzag(v);
    }

    /// A `bool` field.
    #[inline]
    pub(super) fn bool(&mut self, id: i16, v: bool) {
        self.field(id, if v { Ty::True } else { Ty::False });
    }

    /// A `binary` or `string` field.
    #[inline]
    pub(super) fn binary(&mut self, id: i16, v: &[u8]) {
        self.field(id, Ty::Binary);
        self.varint(v.len() as u64);
        self.out.extend_from_slice(v);
    }

    /// A `list` field's header; the elements follow (see [`Writer::list_i32`],
    /// [`Writer::list_binary`], or [`Writer::begin`]/[`Writer::end`] per struct element).
    pub(super) fn list(&mut self, id: i16, elem: Ty, len: usize) {
        self.field(id, Ty::List);
        self.list_header(elem, len);
    }

    fn list_header(&mut self, elem: Ty, len: usize) {
        if len < 15 {
            self.out.push(((len as u8) << 4) | elem as u8);
        } else {
            self.out.push(0xF0 | elem as u8);
            self.varint(len as u64);
        }
    }

    /// A `list<i32>` field (lists of enums).
    pub(super) fn list_i32(&mut self, id: i16, values: &[i32]) {
        self.list(id, Ty::I32, values.len());
        for &v in values {
            self.zigzag(i64::from(v));
        }
    }

    /// A `list<binary>` field (lists of strings).
    pub(super) fn list_binary<'v>(
        &mut self,
        id: i16,
        values: impl ExactSizeIterator<Item = &'v [u8]>,
    ) {
        self.list(id, Ty::Binary, values.len());
        for v in values {
            self.varint(v.len() as u64);
            self.out.extend_from_slice(v);
        }
    }

    /// Starts a struct field (`Some(id)`) or a struct list element (`None`).
    #[inline]
    pub(super) fn begin(&mut self, id: Option<i16>) {
        if let Some(id) = id {
            self.field(id, Ty::Struct);
        }
        debug_assert!(self.depth < MAX_DEPTH);
        self.depth = (self.depth + 1).min(MAX_DEPTH);
        self.last[self.depth - 1] = 0;
    }

    /// Ends the innermost struct.
    #[inline]
    pub(super) fn end(&mut self) {
        self.out.push(0);
        self.depth = self.depth.saturating_sub(1).max(1);
    }

    /// Appends bytes already encoded: list elements, or fields of the current struct that
    /// were encoded with [`Writer::continuing`] after the field written last here; `last`
    /// is then the last field id they contain (`None` for list elements).
    pub(super) fn raw(&mut self, bytes: &[u8], last: Option<i16>) {
        self.out.extend_from_slice(bytes);
        if let Some(id) = last {
            self.last[self.depth - 1] = id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_headers_and_values() {
        let mut out = Vec::new();
        let mut w = Writer::new(&mut out);
        w.i32(1, 3); // delta 1, i32, zigzag 6
        w.i64(20, -1); // long form: type, zigzag(20)=40, zigzag(-1)=1
        w.bool(21, true);
        w.binary(22, b"ab");
        w.list_i32(23, &[0, 3]);
        w.begin(Some(24));
        w.i16(1, 2);
        w.end();
        w.end();
        assert_eq!(
            out,
            [
                0x15, 6, 0x06, 40, 1, 0x11, 0x18, 2, b'a', b'b', 0x19, 0x25, 0, 6, 0x1C, 0x14, 4,
                0, 0
            ]
        );
    }
}
