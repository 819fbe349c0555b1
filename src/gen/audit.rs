//! Audit events: logins, logouts and configuration changes.

use super::*;

/// How an audit event names who did it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `[user] [ip]`
    UserIp,
    /// `[user] []`
    UserNoIp,
    /// `[api key]`
    ApiKey,
    /// `[mws-audit][LEVEL][user]`, no space before the user
    UserNoSpace,
    /// `[api key] []`
    ApiKeyNoIp,
}

/// Audit event shapes, by weight.
const SHAPES: [(u32, Shape); 5] = [
    (40, Shape::UserIp),
    (15, Shape::UserNoIp),
    (15, Shape::ApiKey),
    (20, Shape::UserNoSpace),
    (10, Shape::ApiKeyNoIp),
];

impl Gen {
    pub(super) fn audit(&mut self) -> u64 {
        let r = &mut self.rng;
        let level = if r.chance(0.9) { "INFO" } else { "WARN" };
        let user = *r.pick(&["mykonos", "admin", "secops", "jdoe", "r.garcia", "k.tanaka"]);
        let message = match r.below(11) {
            0 | 1 => "Logged in successfully".to_owned(),
            2 => "Logged out".to_owned(),
            3 => format!("Login failed. Attempt: {}", r.range(1, 5)),
            4 => format!(
                "Changed configuration parameters: {}",
                r.pick(&[
                    "services.spotlight.enabled, services.spotlight.server_address",
                    "mws.ui.session_timeout",
                    "syslog.remote_host, syslog.remote_port",
                    "mws.security_engine.mode",
                ])
            ),
            5 => format!(
                "{} response {}",
                r.pick(&["Activate", "Deactivate", "Delete"]),
                1_832_840_420_318_015_488u64 + r.below(1_000_000)
            ),
            6 => format!("Added {} to the whitelist", r.client_ip()),
            7 => format!(
                "Uploaded SSL certificate, SHA1 fingerprint {}",
                r.hex(40, false)
            ),
            8 => format!(
                "Exported incident report {}, md5 {}",
                r.range(10_000, 30_000),
                r.hex(32, false)
            ),
            9 => format!(
                "Created user {}",
                r.pick(&["k.tanaka", "m.lopez", "ops-bot"])
            ),
            _ => format!(
                "Updated application {}.example.com, config sha256 {}",
                r.pick(&["shop", "api", "portal"]),
                r.hex(64, false)
            ),
        };
        let shape = *r.pick_weighted(&SHAPES);
        let (who, ip) = match shape {
            // [user] [ip]
            Shape::UserIp => (user.to_owned(), Some(r.client_ip())),
            // [user] []
            Shape::UserNoIp => (user.to_owned(), Some(String::new())),
            // [api key]
            Shape::ApiKey => (r.hex(32, false), None),
            // [mws-audit][LEVEL][user] (no space)
            Shape::UserNoSpace => (user.to_owned(), None),
            // [api key] []
            Shape::ApiKeyNoIp => (r.hex(32, false), Some(String::new())),
        };
        self.head("my-jwas");
        let sep = if shape == Shape::UserNoSpace { "" } else { " " };
        w!(self, "[mws-audit][{level}]{sep}[{who}] ");
        if let Some(ip) = ip {
            w!(self, "[{ip}] ");
        }
        w!(self, "{message}\n");
        1
    }
}
