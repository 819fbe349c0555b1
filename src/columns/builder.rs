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

    /// A `map` value from `(key, value)` pairs in order; a repeated key's values are
    /// joined with `, `. Empty is null.
    pub fn map<K: AsRef<str>, V: AsRef<str>>(&mut self, pairs: &[(K, V)]) {
        match self.next_col() {
            Some(ColumnBuilder::StringMap(b)) => {
                for (i, (k, _)) in pairs.iter().enumerate() {
                    let k = k.as_ref();
                    if pairs[..i].iter().any(|(p, _)| p.as_ref() == k) {
                        continue;
                    }
                    b.keys().append_value(k);
                    let mut same = pairs[i..].iter().filter(|(p, _)| p.as_ref() == k);
                    let first = same.next().map_or("", |(_, v)| v.as_ref());
                    match same.next() {
                        None => b.values().append_value(first),
                        Some((_, second)) => {
                            let mut joined = format!("{first}, {}", second.as_ref());
                            for (_, v) in same {
                                joined.push_str(", ");
                                joined.push_str(v.as_ref());
                            }
                            b.values().append_value(joined);
                        }
                    }
                }
                // Only fails if keys and values differ in length, which the loop prevents.
                let _ = b.append(!pairs.is_empty());
            }
            Some(other) => mismatch(other),
            None => {}
        }
    }
}
