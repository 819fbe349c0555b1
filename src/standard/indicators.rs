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
}

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

    /// Adds a host: an IP address (also `[v6]`) as an IP, else a valid host name as a
    /// lower-cased domain. A `:port` is dropped.
    pub fn host(&mut self, host: &str) {
        let host = host.trim();
        if let Some(v6) = host.strip_prefix('[') {
            if let Some(end) = v6.find(']') {
                self.ip(&v6[..end]);
            }
            return;
        }
        if self.ip(host) {
            return;
        }
        let name = host.rsplit_once(':').map_or(host, |(h, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                host
            }
        });
        if self.ip(name) {
            return;
        }
        let name = name.strip_suffix('.').unwrap_or(name);
        if is_host_name(name) {
            self.push_with(IndicatorKind::Domain, |b| {
                b.extend(name.chars().map(|c| c.to_ascii_lowercase()))
            });
        }
    }

    /// Adds the host of a URL (`scheme://[user@]host[:port]/...`).
    pub fn url(&mut self, url: &str) {
        let Some((_, rest)) = url.split_once("://") else {
            return;
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..end];
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        self.host(host);
    }

    /// Adds a firewall `MAC=` field: destination (first 6 octets) and source (next 6).
    pub fn mac_pair(&mut self, field: &str) {
        let octets: Vec<&str> = field.split(':').collect();
        let valid = |o: &&str| o.len() == 2 && o.bytes().all(|b| b.is_ascii_hexdigit());
        for mac in octets
            .chunks(6)
            .take(2)
            .filter(|c| c.len() == 6 && c.iter().all(valid))
        {
            self.push_with(IndicatorKind::Mac, |b| {
                for (i, o) in mac.iter().enumerate() {
                    if i > 0 {
                        b.push(':');
                    }
                    b.extend(o.chars().map(|c| c.to_ascii_lowercase()));
                }
            });
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
            self.hashes_in_run(b, start, i);
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
    pub fn sorted(&mut self, kind: IndicatorKind) -> impl Iterator<Item = &str> {
        let buf = &self.buf;
        let spans = &mut self.spans[kind as usize];
        let get = |&(a, b): &(u32, u32)| &buf[a as usize..b as usize];
        spans.sort_unstable_by(|x, y| get(x).cmp(get(y)));
        spans.dedup_by(|x, y| get(x) == get(y));
        spans.iter().map(get)
    }
}

fn is_ip_char(c: u8) -> bool {
    c.is_ascii_hexdigit() || c == b':' || c == b'.'
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
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| !l.is_empty() && l.len() <= 63)
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && s.bytes().any(|b| b.is_ascii_alphabetic())
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

    #[test]
    fn macs() {
        let mut ind = Indicators::default();
        ind.mac_pair("00:0C:29:cf:4d:c8:2c:21:72:c6:99:08:08:00");
        ind.mac_pair("garbage");
        assert_eq!(
            list(&mut ind, IndicatorKind::Mac),
            vec!["00:0c:29:cf:4d:c8", "2c:21:72:c6:99:08"]
        );
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
