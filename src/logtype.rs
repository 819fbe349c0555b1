//! The six JWAS log types, their table names, and classification of a line by its tag.

use std::fmt;

/// One of the appliance's log types; each is written to its own table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LogType {
    /// `[mws-access]`: HTTP requests and responses passing the proxy.
    Access,
    /// `[mws-audit]`: state-changing admin actions.
    Audit,
    /// `kernel: ... IPTABLES`: packets dropped by the firewall.
    Firewall,
    /// Any other `[service]` tag: the appliance's services.
    Mws,
    /// `postgres[pid]:`: the appliance database.
    Postgres,
    /// `[mws-security-alert]`: security alerts.
    Security,
}

impl LogType {
    /// Every log type, in table order.
    pub const ALL: [LogType; 6] = [
        LogType::Access,
        LogType::Audit,
        LogType::Firewall,
        LogType::Mws,
        LogType::Postgres,
        LogType::Security,
    ];

    /// Panther's log type name, e.g. `Juniper.Access` (the `p_log_type` value).
    pub fn name(self) -> &'static str {
        match self {
            LogType::Access => "Juniper.Access",
            LogType::Audit => "Juniper.Audit",
            LogType::Firewall => "Juniper.Firewall",
            LogType::Mws => "Juniper.MWS",
            LogType::Postgres => "Juniper.Postgres",
            LogType::Security => "Juniper.Security",
        }
    }

    /// The table (and output directory) name, e.g. `juniper_access`.
    pub fn table(self) -> &'static str {
        match self {
            LogType::Access => "juniper_access",
            LogType::Audit => "juniper_audit",
            LogType::Firewall => "juniper_firewall",
            LogType::Mws => "juniper_mws",
            LogType::Postgres => "juniper_postgres",
            LogType::Security => "juniper_security",
        }
    }

    /// The short name used on the command line, e.g. `access`.
    pub fn short_name(self) -> &'static str {
        match self {
            LogType::Access => "access",
            LogType::Audit => "audit",
            LogType::Firewall => "firewall",
            LogType::Mws => "mws",
            LogType::Postgres => "postgres",
            LogType::Security => "security",
        }
    }

    /// Looks a log type up by its short name, Panther name or table name (case-insensitive).
    pub fn from_name(s: &str) -> Option<LogType> {
        LogType::ALL.into_iter().find(|t| {
            s.eq_ignore_ascii_case(t.short_name())
                || s.eq_ignore_ascii_case(t.name())
                || s.eq_ignore_ascii_case(t.table())
        })
    }

    /// Position in [`LogType::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Classifies an event by the tag that follows the hostname (`rest` is the line after
    /// `<timestamp> <hostname> `), never by trying grammars: `[mws-access]` Access,
    /// `[mws-audit]` Audit, `kernel:` with `IPTABLES` Firewall, `postgres[` Postgres,
    /// `[mws-security-alert]` Security, any other `[service]` MWS. A leading `[LEVEL]`
    /// bracket (upper-case letters only) is skipped to find the service tag.
    pub fn classify(rest: &str) -> Option<LogType> {
        if let Some(after) = rest.strip_prefix("kernel:") {
            return after.contains("IPTABLES").then_some(LogType::Firewall);
        }
        if rest.starts_with("postgres[") {
            return Some(LogType::Postgres);
        }
        let (first, after) = bracket(rest)?;
        let service = if is_level(first) {
            bracket(after).map(|(s, _)| s)?
        } else {
            first
        };
        Some(match service {
            "mws-access" => LogType::Access,
            "mws-audit" => LogType::Audit,
            "mws-security-alert" => LogType::Security,
            "" => return None,
            _ => LogType::Mws,
        })
    }
}

impl fmt::Display for LogType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `[content]rest` → `(content, rest)`.
pub(crate) fn bracket(s: &str) -> Option<(&str, &str)> {
    let inner = s.strip_prefix('[')?;
    let end = memchr::memchr(b']', inner.as_bytes())?;
    Some((&inner[..end], &inner[end + 1..]))
}

/// A log level bracket holds only upper-case ASCII letters (`INFO`, `WARN`, ...).
pub(crate) fn is_level(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_tag() {
        let cases: &[(&str, Option<LogType>)] = &[
            (
                "[INFO][mws-access][se-request-6] key:x",
                Some(LogType::Access),
            ),
            (
                "[mws-audit][INFO] [mykonos] [] Logged in",
                Some(LogType::Audit),
            ),
            ("kernel: IPTABLES Dropped: IN=eth0", Some(LogType::Firewall)),
            (
                "kernel: [ 12.5] IPTABLES Dropped: IN=eth0",
                Some(LogType::Firewall),
            ),
            ("kernel: usb 1-1: new device", None),
            ("postgres[7694]: [10-1] 42701", Some(LogType::Postgres)),
            (
                "[INFO][mws-security-alert][traffic-info] MKS_Category=\"x\"",
                Some(LogType::Security),
            ),
            ("[mws-ui]: spawned uWSGI worker", Some(LogType::Mws)),
            (
                "[INFO][mws-security-engine] Server startup",
                Some(LogType::Mws),
            ),
            ("sshd[12]: Accepted", None),
            ("[INFO] no service", None),
            ("[] empty", None),
        ];
        for (rest, want) in cases {
            assert_eq!(LogType::classify(rest), *want, "{rest}");
        }
    }

    #[test]
    fn names_round_trip() {
        for t in LogType::ALL {
            assert_eq!(LogType::from_name(t.short_name()), Some(t));
            assert_eq!(LogType::from_name(t.name()), Some(t));
            assert_eq!(LogType::from_name(t.table()), Some(t));
        }
    }
}
