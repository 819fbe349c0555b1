//! A deterministic generator of realistic JWAS syslog corpora, for benchmarks, load tests and
//! `jwas gen`.
//!
//! The output looks like what a central syslog server receives from a busy appliance: all
//! six log types interleaved (or one of them), Access transactions in flight at the same
//! time with their multi-line HTTP messages, Postgres error groups, security profiles that
//! reappear in incidents and counter responses, and IP addresses, domain names and
//! md5/sha1/sha256 hashes in messages. Every generated event parses: the generator only
//! writes shapes the grammars accept. The same options always give the same bytes (a
//! seeded internal PRNG, integer time keeping, no platform math).
//!
//! ```
//! use jwas::gen::{generate, GenOptions};
//!
//! let opts = GenOptions { bytes: 64 << 10, ..GenOptions::default() };
//! let mut out = Vec::new();
//! let stats = generate(&opts, &mut out).unwrap();
//! assert_eq!(stats.bytes, out.len() as u64);
//! assert!(stats.bytes >= 64 << 10);
//! ```

use crate::logtype::LogType;
use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use std::io::{self, Write};

/// Default event density: a busy appliance, in events per second.
pub const DEFAULT_EVENTS_PER_SECOND: f64 = 200.0;

/// Mixed output's share of events per log type, in per mille, in [`LogType::ALL`] order
/// (access, audit, firewall, mws, postgres, security).
pub const MIXED_WEIGHTS: [u32; 6] = [350, 60, 250, 150, 90, 100];

/// How often each type's emitter runs in mixed output: a Postgres emission writes 1.3
/// events on average (error groups), the others one.
const MIXED_EMISSIONS: [u32; 6] = [350, 60, 250, 150, 68, 100];

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct GenOptions {
    /// PRNG seed: the same options give byte-identical output.
    pub seed: u64,
    /// Output size: events are written until at least this many bytes are out (the output
    /// ends after the event that crosses it, so it is a little longer).
    pub bytes: u64,
    /// `None`: all six types mixed ([`MIXED_WEIGHTS`]); `Some(t)`: only `t`.
    pub log_type: Option<LogType>,
    /// Time of the first event.
    pub start: DateTime<Utc>,
    /// Event density: timestamps advance by `1 / events_per_second` seconds per event on
    /// average (exponentially distributed gaps). Must be positive and finite.
    pub events_per_second: f64,
}

impl Default for GenOptions {
    /// Seed 42, 1 MiB, mixed, from 2023-06-01T00:00:00Z, [`DEFAULT_EVENTS_PER_SECOND`].
    fn default() -> Self {
        GenOptions {
            seed: 42,
            bytes: 1 << 20,
            log_type: None,
            start: Utc.with_ymd_and_hms(2023, 6, 1, 0, 0, 0).unwrap(),
            events_per_second: DEFAULT_EVENTS_PER_SECOND,
        }
    }
}

/// What was generated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenStats {
    /// Bytes written.
    pub bytes: u64,
    /// Lines written.
    pub lines: u64,
    /// Events per log type, in [`LogType::ALL`] order.
    pub events: [u64; 6],
    /// Lines after the first line of Access events (their HTTP messages, blank lines
    /// included).
    pub continuation_lines: u64,
    /// Blank lines between events (outside Access events).
    pub blank_lines: u64,
    /// Timestamp of the first event ([`GenOptions::start`] to the second).
    pub first: DateTime<Utc>,
    /// Timestamp of the last event: a good `--reference-time` for parsing the output.
    pub last: DateTime<Utc>,
}

impl GenStats {
    /// All events.
    pub fn total_events(&self) -> u64 {
        self.events.iter().sum()
    }
}

/// Writes a corpus to `out` as described by `opts`. `out` gets large writes; no need to
/// buffer it.
pub fn generate<W: Write>(opts: &GenOptions, mut out: W) -> io::Result<GenStats> {
    if !(opts.events_per_second.is_finite() && opts.events_per_second > 0.0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "events per second must be positive, not {}",
                opts.events_per_second
            ),
        ));
    }
    let mut g = Gen::new(opts);
    while g.stats.bytes + (g.buf.len() as u64) < opts.bytes {
        g.next_event();
        if g.buf.len() >= FLUSH_BYTES {
            out.write_all(&g.buf)?;
            g.stats.bytes += g.buf.len() as u64;
            g.buf.clear();
        }
    }
    out.write_all(&g.buf)?;
    g.stats.bytes += g.buf.len() as u64;
    out.flush()?;
    Ok(g.stats)
}

/// [`generate`] into memory.
pub fn generate_to_vec(opts: &GenOptions) -> (Vec<u8>, GenStats) {
    let mut v = Vec::with_capacity(opts.bytes.min(1 << 30) as usize + (64 << 10));
    let stats = generate(opts, &mut v).expect("writing to a Vec does not fail");
    (v, stats)
}

const FLUSH_BYTES: usize = 256 << 10;
const NS: i64 = 1_000_000_000;

/// splitmix64: small, fast, and good enough for test data.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }

    /// An index drawn with the given weights (not all zero).
    fn weighted(&mut self, ws: &[u32]) -> usize {
        let total: u64 = ws.iter().map(|&w| u64::from(w)).sum();
        let mut r = self.below(total);
        for (i, &w) in ws.iter().enumerate() {
            if r < u64::from(w) {
                return i;
            }
            r -= u64::from(w);
        }
        ws.len() - 1
    }

    /// One of `choices`, drawn by their weights (not all zero): the same draw as
    /// [`Rng::weighted`] on the weights, so a table of `(weight, choice)` pairs keeps each
    /// weight next to what it selects.
    fn pick_weighted<'a, T, const N: usize>(&mut self, choices: &'a [(u32, T); N]) -> &'a T {
        let ws: [u32; N] = std::array::from_fn(|i| choices[i].0);
        &choices[self.weighted(&ws)].1
    }

    fn hex(&mut self, n: usize, upper: bool) -> String {
        let digits: &[u8; 16] = if upper {
            b"0123456789ABCDEF"
        } else {
            b"0123456789abcdef"
        };
        (0..n)
            .map(|_| char::from(digits[self.below(16) as usize]))
            .collect()
    }

    fn alnum(&mut self, n: usize) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..n)
            .map(|_| char::from(A[self.below(A.len() as u64) as usize]))
            .collect()
    }

    /// A random (version 4) UUID.
    fn uuid(&mut self) -> String {
        let variant = *self.pick(&['8', '9', 'a', 'b']);
        format!(
            "{}-{}-4{}-{}{}-{}",
            self.hex(8, false),
            self.hex(4, false),
            self.hex(3, false),
            variant,
            self.hex(3, false),
            self.hex(12, false)
        )
    }

    /// An IPv4 address from the documentation ranges or the appliance's private ones.
    fn ipv4(&mut self) -> String {
        let net = *self.pick(&["203.0.113", "198.51.100", "192.0.2", "10.10.0", "203.0.113"]);
        format!("{net}.{}", self.range(1, 254))
    }

    /// A short-form IPv6 address in 2001:db8::/32.
    fn ipv6(&mut self) -> String {
        format!("2001:db8:{:x}::{:x}", self.below(16), self.range(1, 0xffff))
    }

    /// A client address: mostly IPv4, sometimes IPv6.
    fn client_ip(&mut self) -> String {
        if self.chance(0.08) {
            self.ipv6()
        } else {
            self.ipv4()
        }
    }

    /// Exponentially distributed with mean `mean`.
    fn exp(&mut self, mean: f64) -> f64 {
        -ln(1.0 - self.unit()) * mean
    }
}

/// Natural logarithm of `x` in `(0, 1]` from basic IEEE operations only (the platform's
/// `ln` may differ in the last bit between systems, which would change the output).
fn ln(x: f64) -> f64 {
    let bits = x.to_bits();
    let e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let m = f64::from_bits((bits & ((1u64 << 52) - 1)) | (1023u64 << 52)); // [1, 2)
    let s = (m - 1.0) / (m + 1.0); // [0, 1/3)
    let s2 = s * s;
    let (mut term, mut sum) = (s, 0.0);
    for k in 0..14 {
        sum += term / f64::from(2 * k + 1);
        term *= s2;
    }
    e as f64 * std::f64::consts::LN_2 + 2.0 * sum
}

macro_rules! w {
    ($g:expr, $($arg:tt)*) => {{
        let _ = write!($g.buf, $($arg)*);
    }};
}

/// One Access transaction in flight: the request and its response, logged in up to four
/// phases.
#[derive(Clone, Debug)]
struct Txn {
    key: String,
    thread: u32,
    proxy_ip: &'static str,
    url: String,
    host_header: String,
    method: &'static str,
    target: String,
    xff: String,
    user_agent: &'static str,
    extra_headers: Vec<String>,
    /// `(content-type, body)`.
    body: Option<(&'static str, String)>,
    status: (u16, &'static str),
    response_headers: Vec<String>,
    response_body: Option<String>,
    /// Phases still to log, as bits: 1 request pre, 2 request post, 4 response pre, 8
    /// response post. Some transactions skip some phases.
    phases: u8,
    /// The phase being logged (0 to 3).
    phase: u8,
}

/// A security profile: an attacker the engine tracks.
#[derive(Clone, Debug)]
struct Profile {
    id: u32,
    name: String,
    pubkey: String,
    ip: String,
    user_agent: &'static str,
}

/// A Postgres backend (one client session).
#[derive(Clone, Debug)]
struct Backend {
    pid: u32,
    session: String,
    major: u32,
    client: String,
    port: u32,
}

struct Gen {
    rng: Rng,
    weights: [u32; 6],
    start_ns: i64,
    now_ns: i64,
    mean_gap_ns: f64,
    stamp_sec: i64,
    stamp: String,
    buf: Vec<u8>,
    stats: GenStats,
    txns: Vec<Txn>,
    profiles: Vec<Profile>,
    next_profile: u32,
    backends: Vec<Backend>,
    uptime_offset_s: i64,
    /// Index in `profiles` of the newest profile.
    last_profile: usize,
}

impl Gen {
    fn new(opts: &GenOptions) -> Gen {
        let weights = match opts.log_type {
            None => MIXED_EMISSIONS,
            Some(t) => {
                let mut w = [0; 6];
                w[t.index()] = 1;
                w
            }
        };
        let start_sec = opts.start.timestamp();
        let mut rng = Rng(opts.seed ^ 0x6a77_6173_2d67_656e); // "jwas-gen"
        let uptime_offset_s = rng.range(600, 4_000_000) as i64;
        let start = DateTime::from_timestamp(start_sec, 0).unwrap_or(opts.start);
        Gen {
            rng,
            weights,
            start_ns: start_sec * NS,
            now_ns: start_sec * NS,
            mean_gap_ns: NS as f64 / opts.events_per_second,
            stamp_sec: i64::MIN,
            stamp: String::new(),
            buf: Vec::with_capacity(FLUSH_BYTES + (64 << 10)),
            stats: GenStats {
                bytes: 0,
                lines: 0,
                events: [0; 6],
                continuation_lines: 0,
                blank_lines: 0,
                first: start,
                last: start,
            },
            txns: Vec::new(),
            profiles: Vec::new(),
            next_profile: 3811,
            backends: Vec::new(),
            uptime_offset_s,
            last_profile: 0,
        }
    }

    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.now_ns.div_euclid(NS), 0).unwrap_or(self.stats.first)
    }

    /// Writes `Mmm dd HH:MM:SS host ` for the current time.
    fn head(&mut self, host: &str) {
        let sec = self.now_ns.div_euclid(NS);
        if sec != self.stamp_sec {
            let t = self.now();
            const MONTHS: [&str; 12] = [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            ];
            self.stamp = format!(
                "{} {:>2} {:02}:{:02}:{:02}",
                MONTHS[t.month0() as usize],
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            );
            self.stamp_sec = sec;
        }
        self.buf.extend_from_slice(self.stamp.as_bytes());
        self.buf.push(b' ');
        self.buf.extend_from_slice(host.as_bytes());
        self.buf.push(b' ');
    }

    fn advance(&mut self) {
        let gap = self.rng.exp(self.mean_gap_ns).min(self.mean_gap_ns * 60.0);
        self.now_ns = self.now_ns.saturating_add(gap as i64);
    }

    /// Writes one emission (one event, or a Postgres group) and accounts for it.
    fn next_event(&mut self) {
        let t = LogType::ALL[self.rng.weighted(&self.weights)];
        let start = self.buf.len();
        let events = match t {
            LogType::Access => self.access(),
            LogType::Audit => self.audit(),
            LogType::Firewall => self.firewall(),
            LogType::Mws => self.mws(),
            LogType::Postgres => self.postgres(),
            LogType::Security => self.security(),
        };
        let lines = memchr::memchr_iter(b'\n', &self.buf[start..]).count() as u64;
        self.stats.lines += lines;
        self.stats.events[t.index()] += events;
        if t == LogType::Access {
            self.stats.continuation_lines += lines - 1;
        } else if self.rng.chance(0.0005) {
            self.buf.push(b'\n');
            self.stats.lines += 1;
            self.stats.blank_lines += 1;
        }
        self.stats.last = self.now();
        for _ in 0..events {
            self.advance();
        }
    }
}

/// Escapes `\` and `"` for a `MKS_Key="value"`.
fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains(['"', '\\']) {
        std::borrow::Cow::Owned(s.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

const SKUS: [&str; 4] = ["USB-C-2M", "HDMI-1M", "LAPTOP-14", "MOUSE-BT"];

/// Access response statuses, by weight.
const STATUSES: [(u32, (u16, &str)); 7] = [
    (70, (200, "OK")),
    (8, (304, "Not Modified")),
    (6, (302, "Found")),
    (8, (404, "Not Found")),
    (3, (403, "Forbidden")),
    (2, (500, "Internal Server Error")),
    (3, (201, "Created")),
];

const USER_AGENTS: [&str; 14] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/38.0.2125.101 Safari/537.36",
    "Mozilla/5.0 (X11 U Linux x86_64 en-us) AppleWebKit/532+ (KHTML, like Gecko) Safari/419.3 Midori/0.1.8",
    "curl/8.4.0",
    "okhttp/4.9.3",
    "python-requests/2.31.0",
    "sqlmap/1.7.2#stable (https://sqlmap.org)",
    "Nikto/2.5.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; \"EvilScanner\" 2.0)",
];

/// `(MKS_Type, MKS_Severity, path)`.
const INCIDENTS: [(&str, u8, &str); 11] = [
    ("Apache Configuration Requested", 2, "/.htaccess"),
    (
        "SQL Injection",
        4,
        "/products/view?id=1%27%20OR%20%271%27%3D%271",
    ),
    ("Known Bad User Agent", 3, "/admin/"),
    (
        "Directory Configuration Requested",
        2,
        "/admin/.svn/entries",
    ),
    ("Robots.txt Request", 0, "/robots.txt"),
    ("Directory Indexing", 1, "/images/"),
    (
        "Cross-Site Scripting",
        3,
        "/search?q=\"<script>alert(1)</script>\"",
    ),
    (
        "Hidden Input Form Manipulation",
        3,
        "/cart?item=1042&qty=-1",
    ),
    ("Cookie Parameter Manipulation", 2, "/account/profile"),
    ("Source Code Disclosure", 1, "/index.php.bak"),
    ("Login Brute Force", 3, "/login.php"),
];

/// `(MKS_ResponseCode, MKS_ResponseName, MKS_ResponseConfig)`.
const RESPONSES: [(&str, &str, &str); 5] = [
    ("BL", "Block User", "<config />"),
    (
        "WA",
        "Warn User",
        "<config><param name=\"message\" value=\"Your session has been flagged\"/></config>",
    ),
    (
        "SL",
        "Slow Connection",
        "<config><param name=\"delay\" value=\"5000\"/></config>",
    ),
    (
        "CA",
        "Captcha",
        "<config><param name=\"attempts\" value=\"3\"/></config>",
    ),
    ("LO", "Force Logout", "<config />"),
];

// One module per log type, each adding its events' methods to `Gen` (after the `w!`
// macro, which they use).
mod access;
mod audit;
mod firewall;
mod mws;
mod postgres;
mod security;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{parse_block, ParseContext};

    fn ctx(reference: DateTime<Utc>) -> ParseContext {
        ParseContext::new("gen", reference)
    }

    #[test]
    fn ln_is_accurate() {
        for x in [1.0, 0.5, 0.1, 1e-3, 1e-9, 0.999_999, 2f64.powi(-53)] {
            assert!((ln(x) - x.ln()).abs() < 1e-9, "{x}");
        }
    }

    #[test]
    fn mixed_corpus_parses_without_rejects() {
        // Straddles New Year at a low rate, so years and hours change inside the corpus.
        let opts = GenOptions {
            seed: 7,
            bytes: 2 << 20,
            log_type: None,
            start: Utc.with_ymd_and_hms(2023, 12, 31, 23, 30, 0).unwrap(),
            events_per_second: 1.0,
        };
        let (data, stats) = generate_to_vec(&opts);
        assert_eq!(stats.bytes, data.len() as u64);
        assert!(stats.last.timestamp() > opts.start.timestamp() + 3600);
        let out = parse_block(&data, 0, &ctx(stats.last)).unwrap();
        let first = out.rejected.first();
        assert_eq!(out.rejected.len(), 0, "first rejected: {first:?}");
        assert!(out.counts.adds_up());
        assert_eq!(out.counts.lines, stats.lines);
        assert_eq!(out.counts.first_lines, stats.total_events());
        assert_eq!(out.counts.continuation_lines, stats.continuation_lines);
        assert_eq!(out.counts.blank_lines, stats.blank_lines);
        assert_eq!(out.counts.rows, stats.events);
        let total = stats.total_events() as f64;
        for t in LogType::ALL {
            let n = stats.events[t.index()];
            assert!(n > 0, "no {t} rows");
            let share = n as f64 / total * 1000.0;
            let want = f64::from(MIXED_WEIGHTS[t.index()]);
            assert!(
                (share - want).abs() < want * 0.25 + 5.0,
                "{t}: {share:.0}‰ of events, want ~{want}‰"
            );
        }
    }

    #[test]
    fn single_types_parse_without_rejects() {
        for t in LogType::ALL {
            let opts = GenOptions {
                seed: 3,
                bytes: 256 << 10,
                log_type: Some(t),
                ..GenOptions::default()
            };
            let (data, stats) = generate_to_vec(&opts);
            let mut c = ctx(stats.last);
            c.log_type = Some(t);
            let out = parse_block(&data, 0, &c).unwrap();
            assert_eq!(out.rejected.first(), None, "{t}");
            assert_eq!(out.counts.rows[t.index()], stats.total_events(), "{t}");
        }
    }

    #[test]
    fn deterministic() {
        let opts = GenOptions {
            seed: 99,
            bytes: 300 << 10,
            ..GenOptions::default()
        };
        let (a, sa) = generate_to_vec(&opts);
        let (b, sb) = generate_to_vec(&opts);
        assert_eq!(sa, sb);
        assert!(a == b, "same seed, different output");
        // Streaming through a small writer gives the same bytes.
        let mut c = io::BufWriter::with_capacity(100, Vec::new());
        generate(&opts, &mut c).unwrap();
        assert!(c.into_inner().unwrap() == a);
        let (d, _) = generate_to_vec(&GenOptions { seed: 100, ..opts });
        assert!(a != d, "different seeds, same output");
    }

    #[test]
    fn timestamps_and_density() {
        let opts = GenOptions {
            seed: 1,
            bytes: 200 << 10,
            start: Utc.with_ymd_and_hms(2024, 3, 9, 8, 0, 0).unwrap(),
            events_per_second: 10.0,
            ..GenOptions::default()
        };
        let (data, stats) = generate_to_vec(&opts);
        let text = String::from_utf8(data).unwrap();
        assert!(text.starts_with("Mar  9 08:00:00 "), "{}", &text[..40]);
        let span = (stats.last - stats.first).num_seconds() as f64;
        let rate = stats.total_events() as f64 / span.max(1.0);
        assert!((rate - 10.0).abs() < 1.5, "{rate} events/s");
        assert!(generate(
            &GenOptions {
                events_per_second: 0.0,
                ..opts
            },
            io::sink()
        )
        .is_err());
    }
}
