//! MWS events: the appliance's own services (backups, updates, clustering, cleanup).

use super::*;

/// An MWS message: its service, component and text.
#[derive(Clone, Copy)]
enum Message {
    /// `mws-security-engine` `[processor-n]`: requests processed in the last minute.
    EngineStats,
    /// `mws-ui`: a uWSGI request log line, no level.
    UwsgiRequest,
    /// `mws-cluster-services` `[heartbeat]`: a cluster node's heartbeat.
    Heartbeat,
    /// `mws-services` `[proxy]`: an upstream's response time.
    Upstream,
    /// `mws-security-engine` `[processor-n]`: a blocked request.
    Blocked,
    /// `mws-cluster-services` `[db-cleanup]`: database cleanup completed.
    DbCleanup,
    /// `mws-services` `[config-sync]`: configuration reloaded.
    ConfigReload,
    /// `mws-services` `[session-store]`: session store size, no level.
    SessionStore,
    /// `mws-ui`: a rejected login.
    LoginRejected,
    /// `mws-cluster-services` `[cluster-monitor]`: a node unreachable.
    NodeUnreachable,
    /// `mws-backups` `[backup]`: a backup written.
    BackupWritten,
    /// `mws-backups`: a backup completed.
    BackupCompleted,
    /// `mws-updates` `[updater]`: checking for updates.
    UpdateCheck,
    /// `mws-updates`: an update package downloaded.
    UpdateDownloaded,
    /// `mws-services` `[license]`: the license check.
    License,
    /// `mws-reports-api` `[reports]`: a report not delivered.
    ReportFailed,
    /// `mws-reports-api` `[reports]`: a report being sent.
    ReportSending,
    /// `mws-ui`: a uWSGI worker spawned, no level.
    WorkerSpawned,
    /// `mws-security-engine` `[engine]`: processors loaded.
    EngineLoaded,
}

/// MWS messages, by weight.
const MESSAGES: [(u32, Message); 19] = [
    (18, Message::EngineStats),
    (14, Message::UwsgiRequest),
    (10, Message::Heartbeat),
    (8, Message::Upstream),
    (8, Message::Blocked),
    (6, Message::DbCleanup),
    (5, Message::ConfigReload),
    (5, Message::SessionStore),
    (4, Message::LoginRejected),
    (4, Message::NodeUnreachable),
    (3, Message::BackupWritten),
    (3, Message::BackupCompleted),
    (3, Message::UpdateCheck),
    (2, Message::UpdateDownloaded),
    (2, Message::License),
    (2, Message::ReportFailed),
    (2, Message::ReportSending),
    (1, Message::WorkerSpawned),
    (1, Message::EngineLoaded),
];

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
        ) = match *r.pick_weighted(&MESSAGES) {
            Message::EngineStats => {
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
            Message::UwsgiRequest => {
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
            Message::Heartbeat => (
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
            Message::Upstream => (
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
            Message::Blocked => (
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
            Message::DbCleanup => (
                Some("INFO"),
                "mws-cluster-services",
                Some("db-cleanup".into()),
                false,
                format!(
                    "Database cleanup completed. Removed record count: {}",
                    r.below(3000)
                ),
            ),
            Message::ConfigReload => (
                Some("INFO"),
                "mws-services",
                Some("config-sync".into()),
                false,
                format!("Configuration reloaded by admin from {}", r.client_ip()),
            ),
            Message::SessionStore => (
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
            Message::LoginRejected => (
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
            Message::NodeUnreachable => (
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
            Message::BackupWritten => (
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
            Message::BackupCompleted => (
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
            Message::UpdateCheck => (
                Some("INFO"),
                "mws-updates",
                Some("updater".into()),
                false,
                "Checking for updates, channel stable".into(),
            ),
            Message::UpdateDownloaded => (
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
            Message::License => (
                Some("INFO"),
                "mws-services",
                Some("license".into()),
                false,
                format!("License check ok, key fingerprint {}", r.hex(40, true)),
            ),
            Message::ReportFailed => (
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
            Message::ReportSending => (
                Some("INFO"),
                "mws-reports-api",
                Some("reports".into()),
                false,
                format!(
                    "Sending report {} to secops@example.com",
                    r.range(4000, 9000)
                ),
            ),
            Message::WorkerSpawned => (
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
            Message::EngineLoaded => (
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
