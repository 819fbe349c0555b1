//! Arrow schemas and builders, one table per log type. The column definitions here are the
//! single source of truth: `schemas/*.yml`, `jwas schema` and the Parquet files all come
//! from them (a test checks the YAML files in the repository equal what this renders).

mod builder;
pub mod render;
mod tables;

pub use builder::{ColumnSize, MapEntries, Row, TableBuilder};
pub use tables::{append_event, Event, RowScratch, Standard};

use crate::logtype::LogType;
use crate::standard::IndicatorKind;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use std::sync::{Arc, OnceLock};

/// The version written to Parquet metadata as `jwas.schema_version`.
pub const SCHEMA_VERSION: &str = "1";

/// A column's type, in the spec's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// `string`: Utf8.
    String,
    /// `smallint`: Int16.
    SmallInt,
    /// `int`: Int32.
    Int,
    /// `bigint`: Int64.
    BigInt,
    /// `boolean`.
    Boolean,
    /// `timestamp`: Timestamp(Millisecond, "UTC").
    Timestamp,
    /// `[string]`: `List<Utf8>`.
    StringList,
    /// `map`: Map<Utf8, Utf8>.
    StringMap,
}

impl ColumnType {
    /// The spec's name for the type (`string`, `int`, `[string]`, `map`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::String => "string",
            ColumnType::SmallInt => "smallint",
            ColumnType::Int => "int",
            ColumnType::BigInt => "bigint",
            ColumnType::Boolean => "boolean",
            ColumnType::Timestamp => "timestamp",
            ColumnType::StringList => "array",
            ColumnType::StringMap => "map",
        }
    }

    /// The Arrow type the builders produce for this column type.
    pub fn arrow(self) -> DataType {
        builder::ColumnBuilder::new(self)
            .finish()
            .data_type()
            .clone()
    }
}

/// One column of a table.
#[derive(Clone, Copy, Debug)]
pub struct ColumnDef {
    /// Column name.
    pub name: &'static str,
    /// Column type.
    pub ty: ColumnType,
    /// Events without it are rejected.
    pub required: bool,
    /// What it holds.
    pub description: &'static str,
    /// The `p_any_*` lists its values feed.
    pub indicators: &'static [IndicatorKind],
}

/// All columns of a table, in order: Panther's, this project's extensions, then `p_*`.
pub fn columns(log_type: LogType) -> impl Iterator<Item = &'static ColumnDef> {
    tables::own_columns(log_type)
        .iter()
        .chain(tables::STANDARD_COLUMNS.iter())
}

/// The Arrow schema of a table (with the `jwas.*` metadata).
pub fn schema(log_type: LogType) -> SchemaRef {
    static SCHEMAS: OnceLock<Vec<SchemaRef>> = OnceLock::new();
    let all = SCHEMAS.get_or_init(|| {
        LogType::ALL
            .into_iter()
            .map(|t| {
                let fields: Vec<Field> = columns(t)
                    .map(|c| Field::new(c.name, c.ty.arrow(), !c.required))
                    .collect();
                let metadata = [
                    ("jwas.log_type".to_owned(), t.name().to_owned()),
                    ("jwas.schema_version".to_owned(), SCHEMA_VERSION.to_owned()),
                ];
                Arc::new(Schema::new_with_metadata(
                    fields,
                    metadata
                        .into_iter()
                        .collect::<std::collections::HashMap<_, _>>(),
                ))
            })
            .collect()
    });
    all[log_type.index()].clone()
}
