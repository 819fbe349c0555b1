//! Panther's standard `p_*` fields: row ids, indicators, and the year of yearless timestamps.

pub mod indicators;
pub mod rowid;
pub mod time;

pub use indicators::{IndicatorKind, Indicators};
pub use rowid::{InputIdentity, RowId};
pub use time::ReferenceTime;
