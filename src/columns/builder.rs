//! Column builders and the row writer that grammars' events are appended through.

use super::ColumnType;
use crate::logtype::LogType;
use arrow_array::builder::{
    ArrayBuilder, BooleanBuilder, Int16Builder, Int32Builder, Int64Builder, ListBuilder,
    MapBuilder, StringBuilder, TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::ArrowError;

/// A builder for one column.
pub(crate) enum ColumnBuilder {
    String(StringBuilder),
    SmallInt(Int16Builder),
    Int(Int32Builder),
    BigInt(Int64Builder),
    Boolean(BooleanBuilder),
    Timestamp(TimestampMillisecondBuilder),
    StringList(ListBuilder<StringBuilder>),
    StringMap(MapBuilder<StringBuilder, StringBuilder>),
}

/// Initial row capacity of a column builder. Small, because one block of input can hold
/// rows of many (table, hour) pairs; the builders grow as rows come (Arrow's default of
/// 1024 rows made a year-spanning input use gigabytes for builders alone).
const ROWS: usize = 16;

/// How much a column held: rows, items of its lists or maps, and bytes of its strings
/// (keys and values together for maps). A builder sized by the previous block's sizes
/// rarely grows, and growing (copying) was a tenth of the parsing time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ColumnSize {
    rows: usize,
    items: usize,
    bytes: usize,
}

/// Upper bounds for the sizes builders are created with.
const MAX_HINT_ROWS: usize = 1 << 20;
const MAX_HINT_BYTES: usize = 64 << 20;

impl ColumnSize {
    fn of(array: &dyn arrow_array::Array) -> ColumnSize {
        use arrow_array::cast::AsArray;
        use arrow_schema::DataType;
        let strings = |a: &dyn arrow_array::Array| {
            a.as_string_opt::<i32>().map_or(0, |s| {
                let o = s.value_offsets();
                (o[o.len() - 1] - o[0]) as usize
            })
        };
        let rows = array.len();
        match array.data_type() {
            DataType::Utf8 => ColumnSize {
                rows,
                items: 0,
                bytes: strings(array),
            },
            DataType::List(_) => {
                let values = array.as_list::<i32>().values();
                ColumnSize {
                    rows,
                    items: values.len(),
                    bytes: strings(values.as_ref()),
                }
            }
            DataType::Map(..) => {
                let map = array.as_map();
                ColumnSize {
                    rows,
                    items: map.keys().len(),
                    bytes: strings(map.keys().as_ref()).max(strings(map.values().as_ref())),
                }
            }
            _ => ColumnSize {
                rows,
                items: 0,
                bytes: 0,
            },
        }
    }
}

impl ColumnBuilder {
    pub(crate) fn new(ty: ColumnType) -> ColumnBuilder {
        ColumnBuilder::with_size(ty, ColumnSize::default())
    }

    /// A builder with room for `size` and an eighth more (blocks differ a little, and a
    /// buffer that grows is copied), at least a few rows.
    fn with_size(ty: ColumnType, size: ColumnSize) -> ColumnBuilder {
        let room = |n: usize| n + n / 8;
        let rows = room(size.rows).clamp(ROWS, MAX_HINT_ROWS);
        let items = room(size.items).clamp(ROWS, MAX_HINT_ROWS);
        let bytes = room(size.bytes).clamp(ROWS * 16, MAX_HINT_BYTES);
        match ty {
            ColumnType::String => ColumnBuilder::String(StringBuilder::with_capacity(rows, bytes)),
            ColumnType::SmallInt => ColumnBuilder::SmallInt(Int16Builder::with_capacity(rows)),
            ColumnType::Int => ColumnBuilder::Int(Int32Builder::with_capacity(rows)),
            ColumnType::BigInt => ColumnBuilder::BigInt(Int64Builder::with_capacity(rows)),
            ColumnType::Boolean => ColumnBuilder::Boolean(BooleanBuilder::with_capacity(rows)),
            ColumnType::Timestamp => ColumnBuilder::Timestamp(
                TimestampMillisecondBuilder::with_capacity(rows).with_timezone("UTC"),
            ),
            ColumnType::StringList => ColumnBuilder::StringList(ListBuilder::with_capacity(
                StringBuilder::with_capacity(items, bytes),
                rows,
            )),
            ColumnType::StringMap => ColumnBuilder::StringMap(MapBuilder::with_capacity(
                None,
                StringBuilder::with_capacity(items, bytes),
                StringBuilder::with_capacity(items, bytes),
                rows,
            )),
        }
    }

    fn builder(&mut self) -> &mut dyn ArrayBuilder {
        match self {
            ColumnBuilder::String(b) => b,
            ColumnBuilder::SmallInt(b) => b,
            ColumnBuilder::Int(b) => b,
            ColumnBuilder::BigInt(b) => b,
            ColumnBuilder::Boolean(b) => b,
            ColumnBuilder::Timestamp(b) => b,
            ColumnBuilder::StringList(b) => b,
            ColumnBuilder::StringMap(b) => b,
        }
    }

    pub(crate) fn finish(&mut self) -> ArrayRef {
        self.builder().finish()
    }

    fn append_null(&mut self) {
        match self {
            ColumnBuilder::String(b) => b.append_null(),
            ColumnBuilder::SmallInt(b) => b.append_null(),
            ColumnBuilder::Int(b) => b.append_null(),
            ColumnBuilder::BigInt(b) => b.append_null(),
            ColumnBuilder::Boolean(b) => b.append_null(),
            ColumnBuilder::Timestamp(b) => b.append_null(),
            ColumnBuilder::StringList(b) => b.append_null(),
            ColumnBuilder::StringMap(b) => {
                // A null map still needs an (empty) entry list; it cannot fail.
                let _ = b.append(false);
            }
        }
    }
}

/// The builders of one table: rows are appended through [`TableBuilder::row`].
pub struct TableBuilder {
    log_type: LogType,
    cols: Vec<ColumnBuilder>,
    rows: usize,
}

impl TableBuilder {
    /// Empty builders for a table.
    pub fn new(log_type: LogType) -> TableBuilder {
        TableBuilder::with_sizes(log_type, &[])
    }

    /// Empty builders for a table, with room for columns of `sizes` (as
    /// [`TableBuilder::finish_with_sizes`] gives them; missing ones start small).
    pub fn with_sizes(log_type: LogType, sizes: &[ColumnSize]) -> TableBuilder {
        let cols = super::columns(log_type)
            .enumerate()
            .map(|(i, c)| ColumnBuilder::with_size(c.ty, sizes.get(i).copied().unwrap_or_default()))
            .collect();
        TableBuilder {
            log_type,
            cols,
            rows: 0,
        }
    }

    /// The table's log type.
    pub fn log_type(&self) -> LogType {
        self.log_type
    }

    /// Rows appended since the last [`TableBuilder::finish`].
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no rows are pending.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Starts a row; its values must be appended in column order, every column once.
    pub fn row(&mut self) -> Row<'_> {
        self.rows += 1;
        Row {
            cols: self.cols.iter_mut(),
        }
    }

    /// The pending rows as a record batch; the builders are empty afterwards.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        self.rows = 0;
        let arrays = self.cols.iter_mut().map(ColumnBuilder::finish).collect();
        RecordBatch::try_new(super::schema(self.log_type), arrays)
    }

    /// [`TableBuilder::finish`], and the size of each column, to size the next builders.
    pub fn finish_with_sizes(&mut self) -> Result<(RecordBatch, Vec<ColumnSize>), ArrowError> {
        let batch = self.finish()?;
        let sizes = batch
            .columns()
            .iter()
            .map(|c| ColumnSize::of(c.as_ref()))
            .collect();
        Ok((batch, sizes))
    }
}

/// Appends one row's values, column by column, in order. A value of the wrong type for
/// its column is a bug in this crate: it appends null there (and fails debug builds).
/// Empty strings, lists and maps are appended as null.
pub struct Row<'a> {
    cols: std::slice::IterMut<'a, ColumnBuilder>,
}

macro_rules! scalar {
    ($(#[$doc:meta])* $name:ident, $variant:ident, $t:ty) => {
        $(#[$doc])*
        pub fn $name(&mut self, v: Option<$t>) {
            let Some(col) = self.cols.next() else {
                debug_assert!(false, "more values than columns");
                return;
            };
            match col {
                ColumnBuilder::$variant(b) => b.append_option(v),
                other => mismatch(other),
            }
        }
    };
}

fn mismatch(col: &mut ColumnBuilder) {
    debug_assert!(false, "value of the wrong type for its column");
    col.append_null();
}

impl Row<'_> {
    scalar!(
        /// A `smallint` value.
        smallint, SmallInt, i16
    );
    scalar!(
        /// An `int` value.
        int, Int, i32
    );
    scalar!(
        /// A `bigint` value.
        bigint, BigInt, i64
    );
    scalar!(
        /// A `boolean` value.
        boolean, Boolean, bool
    );
    scalar!(
        /// A `timestamp` value, milliseconds since the epoch (UTC).
        timestamp, Timestamp, i64
    );

    fn next_col(&mut self) -> Option<&mut ColumnBuilder> {
        let col = self.cols.next();
        debug_assert!(col.is_some(), "more values than columns");
        col
    }

    /// A `string` value; empty is null.
    pub fn string(&mut self, v: Option<&str>) {
        match self.next_col() {
            Some(ColumnBuilder::String(b)) => b.append_option(v.filter(|s| !s.is_empty())),
            Some(other) => mismatch(other),
            None => {}
        }
    }

    /// A `[string]` value; empty is null.
    pub fn list<'v>(&mut self, items: impl IntoIterator<Item = &'v str>) {
        match self.next_col() {
            Some(ColumnBuilder::StringList(b)) => {
                let mut any = false;
                for item in items {
                    b.values().append_value(item);
                    any = true;
                }
                b.append(any);
            }
            Some(other) => mismatch(other),
            None => {}
        }
    }

    /// A `map` value from the pairs in `entries`, in order; a repeated key's values are
    /// joined with `, ` under its first position. Empty is null. Linear in the number of
    /// pairs however many repeat.
    pub fn map(&mut self, entries: &mut MapEntries) {
        match self.next_col() {
            Some(ColumnBuilder::StringMap(b)) => {
                entries.link_repeats();
                let e = &*entries;
                for i in 0..e.pairs.len() {
                    let (key, value, next) = e.pairs[i];
                    if e.first[i] != i as u32 {
                        continue; // a repeat, joined below under the first one
                    }
                    b.keys().append_value(e.text(key));
                    if next == NONE {
                        b.values().append_value(e.text(value));
                        continue;
                    }
                    let mut joined = String::from(e.text(value));
                    let mut j = next;
                    while j != NONE {
                        let (_, v, n) = e.pairs[j as usize];
                        joined.push_str(", ");
                        joined.push_str(e.text(v));
                        j = n;
                    }
                    b.values().append_value(joined);
                }
                // Only fails if keys and values differ in length, which the loop prevents.
                let _ = b.append(!e.pairs.is_empty());
            }
            Some(other) => mismatch(other),
            None => {}
        }
    }
}

const NONE: u32 = u32::MAX;

/// A byte range of [`MapEntries`]'s text.
type Span = (u32, u32);
/// Key span, value span, index of the next pair with the same key (or `NONE`).
type Pair = (Span, Span, u32);

/// The `(key, value)` pairs of a map column, collected (keys and values copied into one
/// buffer that is reused from event to event) before [`Row::map`] appends them.
#[derive(Debug, Default)]
pub struct MapEntries {
    text: String,
    pairs: Vec<Pair>,
    /// Per pair, the index of the first pair with its key.
    first: Vec<u32>,
    /// Key → index of its last pair so far, for maps too big to compare pairwise.
    index: std::collections::HashMap<Box<str>, u32>,
}

/// Up to this many pairs, repeated keys are found by comparing pairs with each other.
const PAIRWISE: usize = 16;

impl MapEntries {
    /// Empties the list, keeping the memory.
    pub fn clear(&mut self) {
        self.text.clear();
        self.pairs.clear();
    }

    fn span(&mut self, s: impl FnOnce(&mut String)) -> (u32, u32) {
        let start = self.text.len() as u32;
        s(&mut self.text);
        (start, self.text.len() as u32)
    }

    fn text(&self, (a, b): (u32, u32)) -> &str {
        &self.text[a as usize..b as usize]
    }

    /// Adds a pair.
    pub fn push(&mut self, key: &str, value: &str) {
        let k = self.span(|t| t.push_str(key));
        let v = self.span(|t| t.push_str(value));
        self.pairs.push((k, v, NONE));
    }

    /// Adds a pair, its key lower-cased (ASCII).
    pub fn push_lowercase(&mut self, key: &str, value: &str) {
        let k = self.span(|t| {
            let start = t.len();
            t.push_str(key);
            // Lower-casing ASCII letters keeps the text valid UTF-8.
            t[start..].make_ascii_lowercase();
        });
        let v = self.span(|t| t.push_str(value));
        self.pairs.push((k, v, NONE));
    }

    /// The pairs, keys as added.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs
            .iter()
            .map(|&(k, v, _)| (self.text(k), self.text(v)))
    }

    /// Links each pair to the next one with the same key, and each to the first one.
    fn link_repeats(&mut self) {
        let n = self.pairs.len();
        self.first.clear();
        self.first.extend(0..n as u32);
        if n <= PAIRWISE {
            for i in 0..n {
                for j in i + 1..n {
                    if self.first[j] == j as u32
                        && self.text(self.pairs[i].0) == self.text(self.pairs[j].0)
                    {
                        self.first[j] = self.first[i];
                        self.pairs[i].2 = j as u32;
                        break;
                    }
                }
            }
            return;
        }
        self.index.clear();
        let mut last_of_first: Vec<u32> = (0..n as u32).collect();
        for j in 0..n {
            let key = self.text(self.pairs[j].0);
            if let Some(&f) = self.index.get(key) {
                self.first[j] = f;
                let last = last_of_first[f as usize];
                self.pairs[last as usize].2 = j as u32;
                last_of_first[f as usize] = j as u32;
            } else {
                let key: Box<str> = key.into();
                self.index.insert(key, j as u32);
            }
        }
    }
}
