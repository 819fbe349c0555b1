//! MWS events: the appliance's own services (backups, updates, clustering, cleanup).

use super::*;

impl Gen {
    pub(super) fn mws(&mut self) -> u64 {
        let now = self.now();
        let r = &mut self.rng;
        // (level, service, component, colon, message)
        let (level, service, component, colon, message): (
            Option<&str>,
            &str,
            Option<String>,
            bool,
            String,
        ) = match r.weighted(&[18, 14, 10, 8, 8, 6, 5, 5, 4, 4, 3, 3, 3, 2, 2, 2, 2, 1, 1]) {
            0 => {
                let n = r.range(1, 4);
                (
                    Some(if r.chance(0.8) { "INFO" } else { "DEBUG" }),
                    "mws-security-engine",
                    Some(format!("processor-{n}")),
                    false,
                    format!(
                        "Processed {} requests in the last 60 s, {} flagged",
                        r.range(100, 20_000),
                        r.below(20)
                    ),
                )
            }
            1 => {
                let pid = r.range(11_000, 11_300);
                let date = format!("{} {}", now.format("%a %b %e %H:%M:%S"), now.year());
                (
                    None,
                    "mws-ui",
                    None,
                    true,
                    format!(
                        "[pid: {pid}|app: 0|req: {}/{}] {} () {{{} vars in {} bytes}} [{date}] {} {} => generated {} bytes in {} msecs (HTTP/1.1 {}) {} headers in {} bytes (1 switches on core 0)",
                        r.range(1, 500),
                        r.range(500, 2000),
                        r.client_ip(),
                        r.range(28, 40),
                        r.range(400, 900),
                        r.pick(&["GET", "GET", "POST"]),
                        r.pick(&["/api/status", "/api/incidents?page=2", "/dashboard", "/api/profiles/3811"]),
                        r.range(80, 40_000),
                        r.range(1, 300),
                        r.pick(&[200u32, 200, 200, 302, 404]),
                        r.range(2, 6),
                        r.range(60, 300)
                    ),
                )
            }
            2 => (
                Some("INFO"),
                "mws-cluster-services",
                Some("heartbeat".into()),
                true,
                format!(
                    "Heartbeat from cluster node 10.20.0.{} ok, latency {} ms",
                    r.range(54, 58),
                    r.range(1, 40)
                ),
            ),
            3 => (
                Some("DEBUG"),
                "mws-services",
                Some("proxy".into()),
                false,
                format!(
                    "Upstream {}:{} responded in {} ms",
                    r.pick(&[
                        "10.20.0.61",
                        "10.20.0.62",
                        "backend.example.com",
                        "[2001:db8::61]"
                    ]),
                    r.pick(&[80u32, 8080, 8443]),
                    r.range(1, 900)
                ),
            ),
            4 => (
                Some("INFO"),
                "mws-security-engine",
                Some(format!("processor-{}", r.range(1, 4))),
                false,
                format!(
                    "Blocked request from {} matching rule {}, payload md5 {}",
                    r.client_ip(),
                    r.range(1000, 1300),
                    r.hex(32, false)
                ),
            ),
            5 => (
                Some("INFO"),
                "mws-cluster-services",
                Some("db-cleanup".into()),
                false,
                format!(
                    "Database cleanup completed. Removed record count: {}",
                    r.below(3000)
                ),
            ),
            6 => (
                Some("INFO"),
                "mws-services",
                Some("config-sync".into()),
                false,
                format!("Configuration reloaded by admin from {}", r.client_ip()),
            ),
            7 => (
                None,
                "mws-services",
                Some("session-store".into()),
                false,
                format!(
                    "Session store size {}, evicted {} expired sessions",
                    r.range(1000, 90_000),
                    r.below(500)
                ),
            ),
            8 => (
                Some("ERROR"),
                "mws-ui",
                None,
                false,
                format!(
                    "Login rejected for user {} from {}.",
                    r.pick(&["admin", "root", "mykonos", "test"]),
                    r.ipv4()
                ),
            ),
            9 => (
                Some("WARN"),
                "mws-cluster-services",
                Some("cluster-monitor".into()),
                false,
                format!(
                    "Node jwas{} unreachable at 2001:db8:0:1::{:x}, retrying in 30 s",
                    r.range(2, 4),
                    r.range(0x50, 0x5f)
                ),
            ),
            10 => (
                Some("INFO"),
                "mws-backups",
                Some("backup".into()),
                false,
                format!(
                    "Backup written to /var/lib/mws/backups/mws-nightly-{:04}.tar.gz sha256 {}",
                    r.below(10_000),
                    r.hex(64, false)
                ),
            ),
            11 => (
                Some("INFO"),
                "mws-backups",
                None,
                false,
                format!(
                    "Backup completed in {} s, 3 files, {} MB",
                    r.range(5, 300),
                    r.range(10, 900)
                ),
            ),
            12 => (
                Some("INFO"),
                "mws-updates",
                Some("updater".into()),
                false,
                "Checking for updates, channel stable".into(),
            ),
            13 => (
                Some("WARN"),
                "mws-updates",
                None,
                false,
                format!(
                    "Update package mws-5.4.{} downloaded, sha1 {}, signature verified",
                    r.range(1, 9),
                    r.hex(40, false)
                ),
            ),
            14 => (
                Some("INFO"),
                "mws-services",
                Some("license".into()),
                false,
                format!("License check ok, key fingerprint {}", r.hex(40, true)),
            ),
            15 => (
                Some("ERROR"),
                "mws-reports-api",
                Some("reports".into()),
                false,
                format!(
                    "Failed to deliver report {} to mail relay {} (connection timed out)",
                    r.range(4000, 9000),
                    r.ipv6()
                ),
            ),
            16 => (
                Some("INFO"),
                "mws-reports-api",
                Some("reports".into()),
                false,
                format!(
                    "Sending report {} to secops@example.com",
                    r.range(4000, 9000)
                ),
            ),
            17 => (
                None,
                "mws-ui",
                None,
                true,
                format!(
                    "spawned uWSGI worker {} (pid: {}, cores: 1)",
                    r.range(1, 8),
                    r.range(11_000, 11_300)
                ),
            ),
            _ => (
                Some("INFO"),
                "mws-security-engine",
                Some("engine".into()),
                false,
                format!(
                    "Loaded {} processors, config digest {}",
                    r.range(200, 230),
                    r.hex(64, false)
                ),
            ),
        };
        // Variants: a `:` after the last bracket, a dropped level.
        let colon = colon || r.chance(0.1);
        let level = level.filter(|_| !r.chance(0.05));
        self.head("my-jwas-instance");
        if let Some(l) = level {
            w!(self, "[{l}]");
        }
        w!(self, "[{service}]");
        if let Some(c) = component {
            w!(self, "[{c}]");
        }
        if colon {
            w!(self, ":");
        }
        w!(self, " {message}\n");
        1
    }
}
