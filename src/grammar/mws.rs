//! `Juniper.MWS`: `[<level>][<service>][<component>] <message>`; the level and component are
//! optional and a `:` may follow the last bracket.

use super::common::{bracket, first_line, is_level, non_empty};
use super::{Parsed, Reject};

/// One MWS event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MwsEvent<'a> {
    /// `INFO`, ... when present.
    pub log_level: Option<&'a str>,
    /// e.g. `mws-cluster-services`.
    pub service_name: &'a str,
    /// e.g. `db-cleanup`.
    pub service_component: Option<&'a str>,
    /// The message text.
    pub log_message: Option<&'a str>,
}

/// Parses the text after `<timestamp> <hostname> `.
pub fn parse(rest: &str) -> Parsed<MwsEvent<'_>> {
    let line = first_line(rest);
    let (first, mut after) = bracket(line).ok_or_else(|| Reject::new("missing [service]"))?;
    let (log_level, service_name) = if is_level(first) {
        let (s, a) = bracket(after).ok_or_else(|| Reject::new("missing [service]"))?;
        after = a;
        (Some(first), s)
    } else {
        (None, first)
    };
    if service_name.is_empty() {
        return Err(Reject::new("empty [service]"));
    }
    let service_component = match bracket(after) {
        Some((c, a)) => {
            after = a;
            non_empty(c)
        }
        None => None,
    };
    let after = after.strip_prefix(':').unwrap_or(after);
    Ok(MwsEvent {
        log_level,
        service_name,
        service_component,
        log_message: non_empty(after.trim()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_examples_and_variants() {
        let cases = [
            (
                "[INFO][mws-cluster-services][db-cleanup] Database cleanup completed. Removed record count: 0",
                (Some("INFO"), "mws-cluster-services", Some("db-cleanup"), Some("Database cleanup completed. Removed record count: 0")),
            ),
            (
                "[mws-ui]: spawned uWSGI worker 1 (pid: 11209, cores: 1)",
                (None, "mws-ui", None, Some("spawned uWSGI worker 1 (pid: 11209, cores: 1)")),
            ),
            (
                "[INFO][mws-security-engine] Server startup in 3080 ms",
                (Some("INFO"), "mws-security-engine", None, Some("Server startup in 3080 ms")),
            ),
            ("[WARN][mws-updates][fetch]:", (Some("WARN"), "mws-updates", Some("fetch"), None)),
            ("[mws-backups][nightly] done", (None, "mws-backups", Some("nightly"), Some("done"))),
        ];
        for (line, (level, service, component, message)) in cases {
            let want = MwsEvent {
                log_level: level,
                service_name: service,
                service_component: component,
                log_message: message,
            };
            assert_eq!(parse(line).unwrap(), want, "{line}");
        }
    }

    #[test]
    fn rejects() {
        for bad in ["no bracket", "[INFO] level only", "[] x", "[unclosed"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
