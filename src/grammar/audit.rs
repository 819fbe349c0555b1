//! `Juniper.Audit`: `[mws-audit][<level>] [<api key or username>] [<login ip>] <message>`.
//! Spaces between brackets are optional; the login IP bracket may be absent or empty.

use super::common::{bracket, non_empty};
use super::{Parsed, Reject};

/// One Audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent<'a> {
    /// `INFO`, ...
    pub log_level: &'a str,
    /// What was done.
    pub message: Option<&'a str>,
    /// A 32-lower-hex key in the first bracket when no login IP follows.
    pub api_key: Option<&'a str>,
    /// The second bracket, when it is an IP address.
    pub login_ip: Option<&'a str>,
    /// The first bracket, when it is not an API key.
    pub username: Option<&'a str>,
}

fn is_api_key(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A second bracket is the login-IP part when it is empty or holds an IP address;
/// anything else in brackets belongs to the message.
fn login_bracket(s: &str) -> Option<(&str, &str)> {
    let (inner, after) = bracket(s)?;
    (inner.is_empty() || inner.parse::<std::net::IpAddr>().is_ok()).then_some((inner, after))
}

/// Parses the text after `<timestamp> <hostname> `.
pub fn parse(rest: &str) -> Parsed<AuditEvent<'_>> {
    let rest = super::common::first_line(rest);
    let (tag, after) = bracket(rest).ok_or_else(|| Reject::new("missing [mws-audit]"))?;
    // The level may come before or after the tag.
    let (level, after) = if tag == "mws-audit" {
        bracket(after).ok_or_else(|| Reject::new("missing [log_level]"))?
    } else {
        (tag, bracket(after).map_or(after, |(_, a)| a))
    };
    let after = after.trim_start();
    let (who, after) =
        bracket(after).ok_or_else(|| Reject::new("missing [username or api key]"))?;
    let (login, after) = match login_bracket(after.trim_start()) {
        Some((ip, a)) => (Some(ip), a),
        None => (None, after),
    };
    let login_ip = login.and_then(non_empty);
    let (api_key, username) = if login_ip.is_none() && is_api_key(who) {
        (Some(who), None)
    } else {
        (None, non_empty(who))
    };
    Ok(AuditEvent {
        log_level: level,
        message: non_empty(after.trim()),
        api_key,
        login_ip,
        username,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev<'a>(
        msg: &'a str,
        api_key: Option<&'a str>,
        ip: Option<&'a str>,
        user: Option<&'a str>,
    ) -> AuditEvent<'a> {
        AuditEvent {
            log_level: "INFO",
            message: Some(msg),
            api_key,
            login_ip: ip,
            username: user,
        }
    }

    #[test]
    fn vendor_examples_and_variants() {
        let cases = [
            (
                "[mws-audit][INFO] [mykonos] [10.10.0.117] Logged in successfully",
                ev("Logged in successfully", None, Some("10.10.0.117"), Some("mykonos")),
            ),
            (
                "[mws-audit][INFO] [mykonos] [] Logged in successfully",
                ev("Logged in successfully", None, None, Some("mykonos")),
            ),
            (
                "[mws-audit][INFO] [ea77722a8516b0d1135abb19b1982852] Deactivate response 1832840420318015488",
                ev("Deactivate response 1832840420318015488", Some("ea77722a8516b0d1135abb19b1982852"), None, None),
            ),
            (
                "[mws-audit][INFO][mykonos] Changed configuration parameters: services.spotlight.enabled",
                ev("Changed configuration parameters: services.spotlight.enabled", None, None, Some("mykonos")),
            ),
            (
                "[mws-audit][INFO] [admin] [2001:db8::7] Logged out",
                ev("Logged out", None, Some("2001:db8::7"), Some("admin")),
            ),
            (
                "[mws-audit][INFO] [admin] [note] kept in message",
                ev("[note] kept in message", None, None, Some("admin")),
            ),
            (
                "[mws-audit][INFO] [ea77722a8516b0d1135abb19b1982852] [10.0.0.1] key with ip is a user",
                ev("key with ip is a user", None, Some("10.0.0.1"), Some("ea77722a8516b0d1135abb19b1982852")),
            ),
        ];
        for (line, want) in cases {
            assert_eq!(parse(line).unwrap(), want, "{line}");
        }
    }

    #[test]
    fn rejects() {
        for bad in [
            "[mws-audit]",
            "[mws-audit][INFO] no user bracket",
            "nothing",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
