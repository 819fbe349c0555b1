//! nom grammars, one per log type. Each takes the event's text (`&str`) and returns a
//! borrowed struct; none does I/O or reads the clock (the year is decided later, by
//! [`crate::standard::time::ReferenceTime`]).

pub mod access;
pub mod audit;
pub mod common;
pub mod firewall;
pub mod mws;
pub mod postgres;
pub mod security;

pub use common::{header, is_event_start, Header, SyslogTime};

/// Why an event was rejected by a grammar. The message names the field and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject(pub String);

impl Reject {
    /// A reason from a fixed message.
    pub fn new(msg: impl Into<String>) -> Reject {
        Reject(msg.into())
    }

    /// "invalid <field>: '<value>'" (the value is cut to 80 bytes).
    pub fn invalid(field: &str, value: &str) -> Reject {
        Reject(format!("invalid {field}: '{}'", common::clip(value, 80)))
    }
}

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A grammar's result.
pub type Parsed<T> = Result<T, Reject>;
