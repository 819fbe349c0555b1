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

pub use access::AccessEvent;
pub use audit::AuditEvent;
pub use common::{header, is_event_start, Header, SyslogTime};
pub use firewall::FirewallEvent;
pub use mws::MwsEvent;
pub use postgres::PostgresEvent;
pub use security::SecurityEvent;

use crate::logtype::LogType;

/// A parsed event of any type.
#[derive(Debug, Clone)]
pub enum Event<'a> {
    /// `Juniper.Access`.
    Access(AccessEvent<'a>),
    /// `Juniper.Audit`.
    Audit(AuditEvent<'a>),
    /// `Juniper.Firewall`.
    Firewall(FirewallEvent<'a>),
    /// `Juniper.MWS`.
    Mws(MwsEvent<'a>),
    /// `Juniper.Postgres`.
    Postgres(PostgresEvent<'a>),
    /// `Juniper.Security`.
    Security(SecurityEvent<'a>),
}

impl Event<'_> {
    /// The event's log type.
    pub fn log_type(&self) -> LogType {
        match self {
            Event::Access(_) => LogType::Access,
            Event::Audit(_) => LogType::Audit,
            Event::Firewall(_) => LogType::Firewall,
            Event::Mws(_) => LogType::Mws,
            Event::Postgres(_) => LogType::Postgres,
            Event::Security(_) => LogType::Security,
        }
    }
}

/// Parses `rest`, the text after `<timestamp> <hostname> ` (for Access, with the event's
/// following lines), with the grammar of `t`: the one dispatch from a log type to its
/// grammar, used by the pipeline and the fuzz targets.
pub fn parse(t: LogType, rest: &str) -> Parsed<Event<'_>> {
    match t {
        LogType::Access => access::parse(rest).map(Event::Access),
        LogType::Audit => audit::parse(rest).map(Event::Audit),
        LogType::Firewall => firewall::parse(rest).map(Event::Firewall),
        LogType::Mws => mws::parse(rest).map(Event::Mws),
        LogType::Postgres => postgres::parse(rest).map(Event::Postgres),
        LogType::Security => security::parse(rest).map(Event::Security),
    }
}

/// Why a line that should start an event does not.
pub const MALFORMED_START: &str = "malformed line start: expected 'Mmm dd HH:MM:SS hostname '";

/// Why an event whose tag (in `rest`, after the host name) names no log type is rejected.
pub fn unknown_type(rest: &str) -> Reject {
    Reject(format!(
        "unknown log type: no known tag after the hostname in '{}'",
        common::clip(common::first_line(rest), 40)
    ))
}

/// Parses one event: a syslog line (for Access, with its HTTP message's lines after it,
/// `\n`-separated) into its header (time without year, host name) and its typed event,
/// the type told by the tag after the host name. A line jwas would reject gets the reason.
///
/// ```
/// use jwas::grammar::{parse_line, Event};
///
/// let line = "Mar 19 18:42:38 my-jwas [INFO][mws-cluster-services][db-cleanup] Database cleanup completed.";
/// let (header, event) = parse_line(line)?;
/// assert_eq!(header.hostname, "my-jwas");
/// let Event::Mws(mws) = event else { panic!("not MWS") };
/// assert_eq!(mws.log_level, Some("INFO"));
/// # Ok::<(), jwas::grammar::Reject>(())
/// ```
pub fn parse_line(line: &str) -> Result<(Header<'_>, Event<'_>), Reject> {
    let h = header(line).ok_or_else(|| Reject::new(MALFORMED_START))?;
    let t = LogType::classify(h.rest).ok_or_else(|| unknown_type(h.rest))?;
    let event = parse(t, h.rest).map_err(|r| Reject(format!("{t}: {r}")))?;
    Ok((h, event))
}

/// Why an event was rejected by a grammar. The message names the field and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject(pub String);

impl Reject {
    /// A reason from a fixed message.
    pub fn new(msg: impl Into<String>) -> Reject {
        Reject(msg.into())
    }

    /// `invalid <field>: '<value>'` (the value is cut to 80 bytes).
    pub fn invalid(field: &str, value: &str) -> Reject {
        Reject(format!("invalid {field}: '{}'", common::clip(value, 80)))
    }
}

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Reject {}

/// A grammar's result.
pub type Parsed<T> = Result<T, Reject>;
