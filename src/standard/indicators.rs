//! The `p_any_*` indicator lists: IP addresses, domain names, hashes, MACs, user names and
//! trace ids found in an event. Values live in one reused buffer, so collecting them does
//! not allocate per event once the buffer has grown.

use std::fmt::Write;
use std::net::IpAddr;

/// Which `p_any_*` list an indicator goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndicatorKind {
    /// `p_any_ip_addresses`: canonical form.
    Ip,
    /// `p_any_domain_names`: lower-cased.
    Domain,
    /// `p_any_md5_hashes`.
    Md5,
    /// `p_any_sha1_hashes`.
    Sha1,
    /// `p_any_sha256_hashes`.
    Sha256,
    /// `p_any_mac_addresses`: `aa:bb:cc:dd:ee:ff`.
    Mac,
    /// `p_any_usernames`.
    Username,
    /// `p_any_trace_ids`.
    TraceId,
}

impl IndicatorKind {
    /// In the order of the `p_any_*` columns.
    pub const ALL: [IndicatorKind; 8] = [
        IndicatorKind::Ip,
        IndicatorKind::Domain,
        IndicatorKind::Md5,
        IndicatorKind::Sha1,
        IndicatorKind::Sha256,
        IndicatorKind::Mac,
        IndicatorKind::Username,
        IndicatorKind::TraceId,
    ];

    /// The column name, e.g. `p_any_ip_addresses`.
    pub fn column(self) -> &'static str {
        match self {
            IndicatorKind::Ip => "p_any_ip_addresses",
            IndicatorKind::Domain => "p_any_domain_names",
            IndicatorKind::Md5 => "p_any_md5_hashes",
            IndicatorKind::Sha1 => "p_any_sha1_hashes",
            IndicatorKind::Sha256 => "p_any_sha256_hashes",
            IndicatorKind::Mac => "p_any_mac_addresses",
            IndicatorKind::Username => "p_any_usernames",
            IndicatorKind::TraceId => "p_any_trace_ids",
        }
    }

    /// The name used in schema files (`indicators: [ip]`).
    pub fn schema_name(self) -> &'static str {
        match self {
            IndicatorKind::Ip => "ip",
            IndicatorKind::Domain => "domain",
            IndicatorKind::Md5 => "md5",
            IndicatorKind::Sha1 => "sha1",
            IndicatorKind::Sha256 => "sha256",
            IndicatorKind::Mac => "mac",
            IndicatorKind::Username => "username",
            IndicatorKind::TraceId => "trace_id",
        }
    }
}

/// The indicators of one event.
#[derive(Debug, Default)]
pub struct Indicators {
    buf: String,
    spans: [Vec<(u32, u32)>; 8],
    /// What [`Indicators::host`] made of recent appliance host names (every event has
    /// one, and an appliance has few).
    hosts: HostCache,
}

/// Appliance host names and what [`Indicators::host`] made of each.
type HostCache = std::collections::HashMap<Box<str>, Option<(IndicatorKind, Box<str>)>, SeededXxh3>;

/// xxh3 under a seed drawn for each map: a short host name hashes in a fraction of
/// SipHash's time (which was 0.7% of a run at one lookup per event), and the seed keeps
/// input from choosing names that collide.
#[derive(Clone, Debug)]
struct SeededXxh3(u64);

impl Default for SeededXxh3 {
    fn default() -> Self {
        use std::hash::BuildHasher;
        SeededXxh3(std::collections::hash_map::RandomState::new().hash_one(0u8))
    }
}

impl std::hash::BuildHasher for SeededXxh3 {
    type Hasher = Xxh3Hasher;
    fn build_hasher(&self) -> Xxh3Hasher {
        Xxh3Hasher(self.0)
    }
}

/// The running hash: each write is hashed with the state so far as the seed.
struct Xxh3Hasher(u64);

impl std::hash::Hasher for Xxh3Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0 = xxhash_rust::xxh3::xxh3_64_with_seed(bytes, self.0);
    }
    fn write_u8(&mut self, i: u8) {
        // The end marker a `str` key adds: mixed in without a second pass of xxh3.
        self.0 = (self.0 ^ u64::from(i)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Host names remembered by [`Indicators::appliance_host`] before the memory starts over.
const HOST_CACHE: usize = 1024;

impl Indicators {
    /// Empties every list, keeping the memory.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.spans.iter_mut().for_each(Vec::clear);
    }

    fn push_with(&mut self, kind: IndicatorKind, f: impl FnOnce(&mut String)) {
        let start = self.buf.len();
        f(&mut self.buf);
        if self.buf.len() > start {
            self.spans[kind as usize].push((start as u32, self.buf.len() as u32));
        }
    }

    /// Adds a value as is (user names, trace ids); empty values are ignored.
    pub fn push(&mut self, kind: IndicatorKind, value: &str) {
        self.push_with(kind, |b| b.push_str(value));
    }

    /// Adds an IP address in canonical form; returns false (adding nothing) if `s` is not one.
    pub fn ip(&mut self, s: &str) -> bool {
        // A dotted quad the standard library accepts (no leading zeros) is already in
        // canonical form: no need to parse and print it.
        if is_canonical_ipv4(s.as_bytes()) {
            self.push(IndicatorKind::Ip, s);
            return true;
        }
        // Any other IPv4 text is refused by the standard library, and IPv6 needs a `:`.
        if memchr::memchr(b':', s.as_bytes()).is_none() {
            return false;
        }
        match parse_ip(s) {
            Some(ip) => {
                self.push_with(IndicatorKind::Ip, |b| {
                    let _ = write!(b, "{ip}");
                });
                true
            }
            None => false,
        }
    }

    /// [`Indicators::host`] for the appliance's host name of an event's header, remembering
    /// the result for names seen before.
    pub fn appliance_host(&mut self, host: &str) {
        if let Some(known) = self.hosts.get(host) {
            if let Some((kind, value)) = known {
                let (kind, start) = (*kind, self.buf.len());
                self.buf.push_str(value);
                self.spans[kind as usize].push((start as u32, self.buf.len() as u32));
            }
            return;
        }
        let before = self.spans.each_ref().map(Vec::len);
        self.host(host);
        let added = (0..8).find(|&k| self.spans[k].len() > before[k]).map(|k| {
            let (a, b) = self.spans[k][before[k]];
            (
                IndicatorKind::ALL[k],
                self.buf[a as usize..b as usize].into(),
            )
        });
        if self.hosts.len() >= HOST_CACHE {
            self.hosts.clear();
        }
        self.hosts.insert(host.into(), added);
    }

    /// Adds a host: an IP address (also `[v6]`) as an IP, else a valid host name as a
    /// lower-cased domain. A `:port` is dropped.
    pub fn host(&mut self, host: &str) {
        let untrimmed =
            |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_whitespace() || !b.is_ascii());
        let host = if untrimmed(host.as_bytes().first()) || untrimmed(host.as_bytes().last()) {
            host.trim()
        } else {
            host
        };
        if let Some(v6) = host.strip_prefix('[') {
            if let Some(end) = memchr::memchr(b']', v6.as_bytes()) {
                self.ip(&v6[..end]);
            }
            return;
        }
        let bytes = host.as_bytes();
        // With a single `:` (not an IPv6 address), what follows it may be a port.
        let colon = memchr::memrchr(b':', bytes);
        let name = match colon {
            Some(c) if memchr::memchr(b':', &bytes[..c]).is_none() => {
                if bytes[c + 1..].iter().all(u8::is_ascii_digit) {
                    &host[..c]
                } else {
                    host
                }
            }
            Some(c) => {
                // Two or more colons: an IPv6 address, perhaps with a port, or nothing.
                if !self.ip(host) && bytes[c + 1..].iter().all(u8::is_ascii_digit) {
                    self.ip(&host[..c]);
                }
                return;
            }
            None => host,
        };
        if self.ip(name) {
            return;
        }
        let name = name.strip_suffix('.').unwrap_or(name);
        if is_host_name(name) {
            if name.bytes().any(|b| b.is_ascii_uppercase()) {
                self.push_with(IndicatorKind::Domain, |b| {
                    b.extend(name.chars().map(|c| c.to_ascii_lowercase()))
                });
            } else {
                self.push(IndicatorKind::Domain, name);
            }
        }
    }

    /// Adds the host of a URL (`scheme://[user@]host[:port]/...`).
    pub fn url(&mut self, url: &str) {
        let b = url.as_bytes();
        let Some(scheme_end) =
            memchr::memchr_iter(b':', b).find(|&i| b[i + 1..].starts_with(b"//"))
        else {
            return;
        };
        let rest = &url[scheme_end + 3..];
        let end = rest
            .bytes()
            .position(|b| matches!(b, b'/' | b'?' | b'#'))
            .unwrap_or(rest.len());
        let authority = &rest[..end];
        let host = match memchr::memrchr(b'@', authority.as_bytes()) {
            Some(at) => &authority[at + 1..],
            None => authority,
        };
        self.host(host);
    }

    /// Adds a firewall `MAC=` field: destination (first 6 octets) and source (next 6),
    /// each when its 6 octets (the field split at every `:`) are 2 hex digits.
    pub fn mac_pair(&mut self, field: &str) {
        // The usual form: `aa:bb:cc:dd:ee:ff:11:22:33:44:55:66:08:00`.
        let b = field.as_bytes();
        let mac_at = |at: usize| {
            b.len() >= at + 17
                && (0..6).all(|k| {
                    let o = at + 3 * k;
                    b[o].is_ascii_hexdigit()
                        && b[o + 1].is_ascii_hexdigit()
                        && (o + 2 == b.len() || b[o + 2] == b':')
                })
        };
        if mac_at(0) {
            for at in [0, 18] {
                if at == 0 || mac_at(at) {
                    self.push_with(IndicatorKind::Mac, |s| {
                        let start = s.len();
                        s.push_str(&field[at..at + 17]);
                        s[start..].make_ascii_lowercase();
                    });
                }
            }
            return;
        }
        let mut octets: [&[u8]; 12] = [&[]; 12];
        let mut n = 0;
        for o in field.as_bytes().split(|&c| c == b':').take(12) {
            octets[n] = o;
            n += 1;
        }
        let valid = |o: &&[u8]| o.len() == 2 && o.iter().all(u8::is_ascii_hexdigit);
        for mac in octets[..n].chunks(6) {
            if mac.len() == 6 && mac.iter().all(valid) {
                self.push_with(IndicatorKind::Mac, |b| {
                    for (i, o) in mac.iter().enumerate() {
                        if i > 0 {
                            b.push(':');
                        }
                        b.extend(o.iter().map(|c| char::from(c.to_ascii_lowercase())));
                    }
                });
            }
        }
    }

    /// Scans free text for IP addresses and hashes. An IP candidate is a maximal run of
    /// `[0-9A-Fa-f:.]` less trailing `.`/`:` that parses as an address; a hash is a maximal
    /// run of 32, 40 or 64 hex digits with no letter or digit on either side.
    pub fn free_text(&mut self, text: &str) {
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if !is_ip_char(b[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && is_ip_char(b[i]) {
                i += 1;
            }
            let run = &text[start..i];
            let candidate = run.trim_end_matches(['.', ':']);
            // An address followed by `%` has a zone id: not an indicator.
            let zoned = b.get(i) == Some(&b'%');
            if !zoned && candidate.len() >= 2 && candidate.bytes().any(|c| c == b'.' || c == b':') {
                self.ip(candidate);
            }
            // A hash is at least 32 hex digits: shorter runs (most words) hold none.
            if i - start >= 32 {
                self.hashes_in_run(b, start, i);
            }
        }
    }

    fn hashes_in_run(&mut self, b: &[u8], start: usize, end: usize) {
        let mut j = start;
        while j < end {
            if !b[j].is_ascii_hexdigit() {
                j += 1;
                continue;
            }
            let h = j;
            while j < end && b[j].is_ascii_hexdigit() {
                j += 1;
            }
            let kind = match j - h {
                32 => IndicatorKind::Md5,
                40 => IndicatorKind::Sha1,
                64 => IndicatorKind::Sha256,
                _ => continue,
            };
            let free =
                |c: Option<&u8>| c.is_none_or(|c| !c.is_ascii_alphanumeric() && c.is_ascii());
            if free(h.checked_sub(1).and_then(|p| b.get(p))) && free(b.get(j)) {
                let hex = &b[h..j];
                self.push_with(kind, |s| {
                    s.extend(hex.iter().map(|c| char::from(c.to_ascii_lowercase())))
                });
            }
        }
    }

    /// The values of one list, sorted by bytes and without duplicates.
    #[inline]
    pub fn sorted(&mut self, kind: IndicatorKind) -> impl Iterator<Item = &str> {
        let buf = &self.buf;
        let spans = &mut self.spans[kind as usize];
        if spans.len() > 1 {
            sort_spans(buf, spans);
        }
        spans.iter().map(|&(a, b)| &buf[a as usize..b as usize])
    }
}

/// Sorts `spans` of `buf` by their bytes and drops repeats (most lists are empty or of
/// one value and never get here: this stays out of the caller's code).
#[inline(never)]
fn sort_spans(buf: &str, spans: &mut Vec<(u32, u32)>) {
    let get = |&(a, b): &(u32, u32)| &buf[a as usize..b as usize];
    spans.sort_unstable_by(|x, y| get(x).cmp(get(y)));
    spans.dedup_by(|x, y| get(x) == get(y));
}

/// `[0-9A-Fa-f:.]`: the bytes of IP address candidates in free text.
const IP_CHARS: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_hexdigit() || b == b':' || b == b'.';
        c += 1;
    }
    t
};

#[inline]
fn is_ip_char(c: u8) -> bool {
    IP_CHARS[usize::from(c)]
}

/// Whether `s` is a dotted quad as the standard library accepts it (octets of 1-3 digits
/// up to 255, no leading zeros), which is also its canonical form.
fn is_canonical_ipv4(s: &[u8]) -> bool {
    if s.len() < 7 || s.len() > 15 {
        return false;
    }
    let mut octets = 0;
    for part in s.split(|&c| c == b'.') {
        octets += 1;
        let ok = match part {
            [d] => d.is_ascii_digit(),
            [b'1'..=b'9', d] => d.is_ascii_digit(),
            [b'1', d, e] => d.is_ascii_digit() && e.is_ascii_digit(),
            [b'2', b'0'..=b'4', e] => e.is_ascii_digit(),
            [b'2', b'5', b'0'..=b'5'] => true,
            _ => false,
        };
        if !ok || octets > 4 {
            return false;
        }
    }
    octets == 4
}

/// An IP address, without zone ids; IPv4 octets with leading zeros are refused (the
/// standard library refuses them).
fn parse_ip(s: &str) -> Option<IpAddr> {
    if s.len() < 2 || s.len() > 45 {
        return None;
    }
    s.parse().ok()
}

/// A DNS-style host name: labels of letters, digits, `-` and `_`, not all digits.
fn is_host_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 253
        && b.split(|&c| c == b'.')
            .all(|l| !l.is_empty() && l.len() <= 63)
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.')
        && b.iter().any(u8::is_ascii_alphabetic)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(ind: &mut Indicators, kind: IndicatorKind) -> Vec<String> {
        ind.sorted(kind).map(str::to_owned).collect()
    }

    #[test]
    fn free_text_ips_and_hashes() {
        let mut ind = Indicators::default();
        let md5 = "d41d8cd98f00b204e9800998ecf8427e";
        let sha1 = "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709";
        let sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let text = format!(
            "from 10.0.0.1, to 2001:DB8:0:0::1. again 10.0.0.1: id {md5} sha1:{sha1} x{sha256} \
             {sha256}. 16:18:00 pid: 11209 010.1.1.1 fe80::1%eth0 1.2.3.4:80 g{md5}"
        );
        ind.free_text(&text);
        assert_eq!(
            list(&mut ind, IndicatorKind::Ip),
            vec!["10.0.0.1", "2001:db8::1"]
        );
        assert_eq!(list(&mut ind, IndicatorKind::Md5), vec![md5]);
        assert_eq!(
            list(&mut ind, IndicatorKind::Sha1),
            vec![sha1.to_ascii_lowercase()]
        );
        assert_eq!(list(&mut ind, IndicatorKind::Sha256), vec![sha256]);
    }

    #[test]
    fn hosts_and_urls() {
        let mut ind = Indicators::default();
        ind.url("http://Zach-VM.jwas.jsec.net:80/genericelectronics");
        ind.url("http://10.20.0.53:80/");
        ind.url("https://user@[2001:db8::10]:8080/x?y");
        ind.url("not a url");
        ind.host("www.Example.com:8443");
        ind.host("192.0.2.1");
        ind.host("bad host!");
        ind.host("12345");
        assert_eq!(
            list(&mut ind, IndicatorKind::Ip),
            vec!["10.20.0.53", "192.0.2.1", "2001:db8::10"]
        );
        assert_eq!(
            list(&mut ind, IndicatorKind::Domain),
            vec!["www.example.com", "zach-vm.jwas.jsec.net"]
        );
    }

    /// The straightforward definition of [`Indicators::host`], for the fast one to be
    /// checked against.
    fn host_reference(ind: &mut Indicators, host: &str) {
        let host = host.trim();
        if let Some(v6) = host.strip_prefix('[') {
            if let Some(end) = v6.find(']') {
                ind.ip(&v6[..end]);
            }
            return;
        }
        if ind.ip(host) {
            return;
        }
        let name = host.rsplit_once(':').map_or(host, |(h, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                host
            }
        });
        if ind.ip(name) {
            return;
        }
        let name = name.strip_suffix('.').unwrap_or(name);
        if is_host_name(name) {
            ind.push_with(IndicatorKind::Domain, |b| {
                b.extend(name.chars().map(|c| c.to_ascii_lowercase()))
            });
        }
    }

    #[test]
    fn host_agrees_with_its_definition() {
        let parts = [
            "1.2.3.4",
            ":",
            "80",
            "::",
            "fe80",
            "ffff",
            "[",
            "]",
            "Host",
            ".",
            "example.com",
            "99999",
            " ",
            "a",
            "-",
            "0",
            "1",
            "2001:db8::1",
            "é",
        ];
        let mut rng = crate::testing::Rng(11);
        let mut next = move || rng.next() as usize;
        for _ in 0..100_000 {
            let host: String = (0..1 + next() % 5)
                .map(|_| parts[next() % parts.len()])
                .collect();
            let (mut a, mut b) = (Indicators::default(), Indicators::default());
            a.host(&host);
            host_reference(&mut b, &host);
            for kind in IndicatorKind::ALL {
                assert_eq!(list(&mut a, kind), list(&mut b, kind), "{host:?}");
            }
        }
    }

    #[test]
    fn appliance_hosts_are_remembered_alike() {
        let mut a = Indicators::default();
        for host in [
            "Jwas1.Example.com",
            "10.0.0.1",
            "bad host",
            "jwas1.example.com",
        ] {
            for _ in 0..2 {
                a.clear();
                let mut b = Indicators::default();
                a.appliance_host(host);
                b.host(host);
                for kind in IndicatorKind::ALL {
                    assert_eq!(list(&mut a, kind), list(&mut b, kind), "{host}");
                }
            }
        }
    }

    #[test]
    fn host_names() {
        let long = "a".repeat(64);
        for (name, ok) in [
            ("a", true),
            ("a.b", true),
            ("a..b", false),
            (".a", false),
            ("a.", false),
            ("1.2", false),
            ("a_b-c.d9", true),
            ("a b", false),
            ("é", false),
            (&long, false),
            (&long[1..], true),
            ("", false),
        ] {
            assert_eq!(is_host_name(name), ok, "{name}");
        }
    }

    #[test]
    fn canonical_ipv4_agrees_with_the_standard_library() {
        let cases = [
            "1.2.3.4",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "0.0.0.0",
            "1..2.3",
            "1.2.3.",
            ".1.2.3",
            "199.249.250.251",
            "1.2.3.04",
            "a.b.c.d",
        ];
        for c in cases {
            let std = c
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.to_string() == c);
            assert_eq!(is_canonical_ipv4(c.as_bytes()), std, "{c}");
        }
        for n in (0u32..=u32::MAX).step_by(999_983) {
            let text = std::net::Ipv4Addr::from(n).to_string();
            assert!(is_canonical_ipv4(text.as_bytes()), "{text}");
        }
    }

    #[test]
    fn macs() {
        let mut ind = Indicators::default();
        ind.mac_pair("00:0C:29:cf:4d:c8:2c:21:72:c6:99:08:08:00");
        ind.mac_pair("garbage");
        assert_eq!(
            list(&mut ind, IndicatorKind::Mac),
            vec!["00:0c:29:cf:4d:c8", "2c:21:72:c6:99:08"]
        );
        for (field, want) in [
            ("aa:bb:cc:dd:ee:ff", vec!["aa:bb:cc:dd:ee:ff"]),
            ("aa:bb:cc:dd:ee:ff:", vec!["aa:bb:cc:dd:ee:ff"]),
            ("aa:bb:cc:dd:ee:f", vec![]),
            (
                "aa:bb:cc:dd:ee:ff:11:22:33:44:55",
                vec!["aa:bb:cc:dd:ee:ff"],
            ),
            (
                "aa:bb:cc:dd:ee:ff:11:22:33:44:55:6g",
                vec!["aa:bb:cc:dd:ee:ff"],
            ),
            ("aaa:bb:cc:dd:ee:ff", vec![]),
            (
                "aaa:bb:cc:dd:ee:ff:11:22:33:44:55:66",
                vec!["11:22:33:44:55:66"],
            ),
            (
                "aa:bb:cc:dd:ee:ff:11:22:33:44:55:66:77",
                vec!["11:22:33:44:55:66", "aa:bb:cc:dd:ee:ff"],
            ),
            ("", vec![]),
        ] {
            ind.clear();
            ind.mac_pair(field);
            assert_eq!(list(&mut ind, IndicatorKind::Mac), want, "{field}");
        }
    }

    #[test]
    fn sorted_dedup_and_clear() {
        let mut ind = Indicators::default();
        for u in ["b", "a", "b", ""] {
            ind.push(IndicatorKind::Username, u);
        }
        assert_eq!(list(&mut ind, IndicatorKind::Username), vec!["a", "b"]);
        ind.clear();
        assert!(list(&mut ind, IndicatorKind::Username).is_empty());
    }
}
