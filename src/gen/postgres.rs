//! Postgres events: checkpoints, connections and error groups.

use super::*;

/// What an established backend logs next: a message group, or its disconnection.
#[derive(Clone, Copy)]
enum Group {
    /// A `SELECT` statement's duration.
    SelectDuration,
    /// An `UPDATE` statement's duration.
    UpdateDuration,
    /// Connection authorized.
    Authorized,
    /// Checkpoint starting.
    CheckpointStarting,
    /// Checkpoint complete, with its statistics.
    CheckpointComplete,
    /// An automatic vacuum of a table.
    Vacuum,
    /// A vacuum skipped (`WARNING`).
    VacuumSkipped,
    /// The backend disconnects.
    Disconnection,
    /// `42P01`: `ERROR` and `STATEMENT`.
    MissingRelation,
    /// `42883`: `ERROR`, `HINT` and `STATEMENT`.
    MissingFunction,
    /// `40P01`: `ERROR`, `DETAIL`, `HINT`, `CONTEXT` and `STATEMENT`.
    Deadlock,
    /// `28P01`: `FATAL` and `DETAIL`.
    PasswordFailed,
    /// `42701`: `ERROR` and `STATEMENT`.
    DuplicateColumn,
    /// `23505`: `ERROR`, `DETAIL` and `STATEMENT`.
    DuplicateKey,
}

/// Backend messages, by weight.
const GROUPS: [(u32, Group); 14] = [
    (30, Group::SelectDuration),
    (8, Group::UpdateDuration),
    (6, Group::Authorized),
    (4, Group::CheckpointStarting),
    (3, Group::CheckpointComplete),
    (3, Group::Vacuum),
    (2, Group::VacuumSkipped),
    (2, Group::Disconnection),
    (6, Group::MissingRelation),
    (3, Group::MissingFunction),
    (2, Group::Deadlock),
    (1, Group::PasswordFailed),
    (1, Group::DuplicateColumn),
    (1, Group::DuplicateKey),
];

impl Gen {
    pub(super) fn postgres(&mut self) -> u64 {
        let now_sec = self.now_ns.div_euclid(NS);
        let r = &mut self.rng;
        // A new backend connects now and then; old ones disconnect.
        let connect = self.backends.is_empty() || (self.backends.len() < 6 && r.chance(0.08));
        if connect {
            let pid = r.range(1000, 32_000) as u32;
            let b = Backend {
                pid,
                session: format!("{:x}.{:x}", now_sec.max(0), pid),
                major: 1,
                client: if r.chance(0.8) {
                    "127.0.0.1".to_owned()
                } else {
                    r.client_ip()
                },
                port: r.range(32_768, 60_999) as u32,
            };
            let line = format!("connection received: host={} port={}", b.client, b.port);
            self.backends.push(b);
            let i = self.backends.len() - 1;
            self.pg_group(i, &[("00000", "LOG", line)]);
            return 1;
        }
        let i = r.below(self.backends.len() as u64) as usize;
        let b = self.backends[i].clone();
        let pubkey = r.alnum(20);
        let group: Vec<(&str, &str, String)> = match *r.pick_weighted(&GROUPS) {
            Group::SelectDuration => vec![("00000", "LOG", format!(
                "duration: {}.{:03} ms  statement: SELECT id, pubkey FROM profile WHERE pubkey = '{pubkey}'",
                r.range(1, 3000), r.below(1000)))],
            Group::UpdateDuration => vec![("00000", "LOG", format!(
                "duration: {}.{:03} ms  statement: UPDATE session SET last_seen = now() WHERE token = '{}'",
                r.range(1, 900), r.below(1000), r.hex(32, false)))],
            Group::Authorized => vec![("00000", "LOG", "connection authorized: user=mykonos database=mykonos".into())],
            Group::CheckpointStarting => vec![("00000", "LOG", "checkpoint starting: time".into())],
            Group::CheckpointComplete => vec![("00000", "LOG", format!(
                "checkpoint complete: wrote {} buffers ({}.{}%); 0 transaction log file(s) added, 0 removed, 1 recycled; write={}.{:03} s, sync=0.{:03} s, total={}.{:03} s",
                r.range(10, 900), r.below(5), r.below(10), r.range(1, 30), r.below(1000), r.below(1000), r.range(1, 31), r.below(1000)))],
            Group::Vacuum => vec![("00000", "LOG", format!(
                "automatic vacuum of table \"mykonos.public.{}\": index scans: 1",
                r.pick(&["session", "profile", "incident", "sessiongroup"])))],
            Group::VacuumSkipped => vec![("01000", "WARNING", format!(
                "skipping \"{}\" --- only superuser can vacuum it",
                r.pick(&["pg_tablespace", "pg_authid", "pg_database"])))],
            Group::Disconnection => {
                // The backend disconnects.
                let line = format!(
                    "disconnection: session time: 0:{:02}:{:02}.{:03} user=mykonos database=mykonos host={} port={}",
                    r.below(60), r.below(60), r.below(1000), b.client, b.port);
                self.backends.swap_remove(i);
                self.pg_line(&b, ("00000", "LOG", &line), 1);
                return 1;
            }
            Group::MissingRelation => {
                let table = *r.pick(&["profile_archive", "incident_archive", "session_old"]);
                vec![
                    ("42P01", "ERROR", format!("relation \"{table}\" does not exist at character {}", r.range(8, 40))),
                    ("42P01", "STATEMENT", format!("SELECT * FROM {table} WHERE id = {};", r.range(3000, 9999))),
                ]
            }
            Group::MissingFunction => vec![
                ("42883", "ERROR", "function date_trunc(unknown, bigint) does not exist at character 8".into()),
                ("42883", "HINT", "No function matches the given name and argument types. You might need to add explicit type casts.".into()),
                ("42883", "STATEMENT", "SELECT date_trunc('hour', created) AS h, count(*) FROM incident GROUP BY 1;".into()),
            ],
            Group::Deadlock => {
                let id = r.range(1000, 9999);
                vec![
                    ("40P01", "ERROR", "deadlock detected".into()),
                    ("40P01", "DETAIL", format!("Process {} waits for ShareLock on transaction {}; blocked by process {}.", b.pid, r.range(100_000, 999_999), r.range(1000, 32_000))),
                    ("40P01", "HINT", "See server log for query details.".into()),
                    ("40P01", "CONTEXT", format!("while updating tuple ({},{}) in relation \"sessiongroup\"", r.below(100), r.below(20))),
                    ("40P01", "STATEMENT", format!("UPDATE sessiongroup SET requests = requests + 1 WHERE id = {id};")),
                ]
            }
            Group::PasswordFailed => vec![
                ("28P01", "FATAL", "password authentication failed for user \"mws_report\"".into()),
                ("28P01", "DETAIL", format!("Connection matched pg_hba.conf line 92: \"host mykonos all {}/32 md5\"", r.ipv4())),
            ],
            Group::DuplicateColumn => vec![
                ("42701", "ERROR", "column \"requests\" of relation \"sessiongroup\" already exists".into()),
                ("42701", "STATEMENT", "ALTER TABLE sessiongroup ADD COLUMN requests bigint DEFAULT 0;".into()),
            ],
            Group::DuplicateKey => vec![
                ("23505", "ERROR", "duplicate key value violates unique constraint \"profile_pubkey_key\"".into()),
                ("23505", "DETAIL", format!("Key (pubkey)=({pubkey}) already exists.")),
                ("23505", "STATEMENT", format!("INSERT INTO profile (pubkey, source_ip) VALUES ('{pubkey}', '{}');", r.client_ip())),
            ],
        };
        self.pg_group(i, &group);
        group.len() as u64
    }

    /// Writes a message group of backend `i` (one line per part), all at the current time.
    pub(super) fn pg_group(&mut self, i: usize, parts: &[(&str, &str, String)]) {
        let b = self.backends[i].clone();
        for (minor, (code, kind, msg)) in parts.iter().enumerate() {
            self.pg_line(&b, (*code, *kind, msg.as_str()), minor as u32 + 1);
        }
        self.backends[i].major += 1;
    }

    pub(super) fn pg_line(
        &mut self,
        b: &Backend,
        (code, kind, msg): (&str, &str, &str),
        minor: u32,
    ) {
        self.head("webappsecure");
        w!(
            self,
            "postgres[{}]: [{}-{minor}] {code} {} {kind}: {msg}\n",
            b.pid,
            b.major,
            b.session
        );
    }
}
