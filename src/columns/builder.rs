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

impl ColumnBuilder {
    pub(crate) fn new(ty: ColumnType) -> ColumnBuilder {
        let strings = || StringBuilder::with_capacity(ROWS, ROWS * 16);
        match ty {
            ColumnType::String => ColumnBuilder::String(strings()),
            ColumnType::SmallInt => ColumnBuilder::SmallInt(Int16Builder::with_capacity(ROWS)),
            ColumnType::Int => ColumnBuilder::Int(Int32Builder::with_capacity(ROWS)),
            ColumnType::BigInt => ColumnBuilder::BigInt(Int64Builder::with_capacity(ROWS)),
            ColumnType::Boolean => ColumnBuilder::Boolean(BooleanBuilder::with_capacity(ROWS)),
            ColumnType::Timestamp => ColumnBuilder::Timestamp(
                TimestampMillisecondBuilder::with_capacity(ROWS).with_timezone("UTC"),
            ),
            ColumnType::StringList => {
                ColumnBuilder::StringList(ListBuilder::with_capacity(strings(), ROWS))
            }
            ColumnType::StringMap => ColumnBuilder::StringMap(MapBuilder::with_capacity(
                None,
                strings(),
                strings(),
                ROWS,
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
        let cols = super::columns(log_type)
            .map(|c| ColumnBuilder::new(c.ty))
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

/// The `(key, value)` pairs of a map column, collected (keys and values copied into one
/// buffer that is reused from event to event) before [`Row::map`] appends them.
#[derive(Debug, Default)]
pub struct MapEntries {
    text: String,
    /// Key span, value span, index of the next pair with the same key (or `NONE`).
    pairs: Vec<((u32, u32), (u32, u32), u32)>,
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
