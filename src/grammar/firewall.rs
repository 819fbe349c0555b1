//! `Juniper.Firewall`: `kernel: [<uptime>] IPTABLES <event>: <KEY=VALUE or FLAG> ...`.

use super::common::{find_byte, first_line, non_empty, number, split_byte};
use super::{Parsed, Reject};

/// The bare TCP flags iptables logs, in the order they are listed in `tcp_flags`.
pub const TCP_FLAGS: [&str; 8] = ["CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN"];

/// One Firewall event. Strings are kept as logged; an empty value (`OUT=`) is `None`.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FirewallEvent<'a> {
    /// What happened, e.g. `Dropped`.
    pub event: &'a str,
    pub dst: Option<&'a str>,
    pub dpt: Option<i32>,
    pub src: Option<&'a str>,
    pub spt: Option<i32>,
    pub ttl: Option<i64>,
    pub id: Option<i64>,
    pub mac: Option<&'a str>,
    /// The first `LEN=` (the IP length); a second one goes to `extra` as `UDP_LEN`.
    pub len: Option<i32>,
    pub tos: Option<&'a str>,
    pub prec: Option<&'a str>,
    pub rst: bool,
    pub syn: bool,
    pub df: bool,
    pub in_: Option<&'a str>,
    pub out: Option<&'a str>,
    pub proto: Option<&'a str>,
    pub window: Option<i32>,
    /// Every bare TCP flag, in the order seen.
    pub tcp_flags: Vec<&'a str>,
    pub res: Option<&'a str>,
    pub urgp: Option<i32>,
    /// `TYPE=`.
    pub icmp_type: Option<i32>,
    /// `CODE=`.
    pub icmp_code: Option<i32>,
    /// Every other `KEY=VALUE`, unknown bare flags (value `true`), the kernel uptime
    /// (`kernel_uptime`), a second `LEN` (`UDP_LEN`) and a bracketed inner packet
    /// (`INNER`, as logged).
    pub extra: Vec<(&'a str, &'a str)>,
}

/// Parses the text after `<timestamp> <hostname> `.
pub fn parse(rest: &str) -> Parsed<FirewallEvent<'_>> {
    let line = first_line(rest);
    let mut s = line
        .strip_prefix("kernel:")
        .ok_or_else(|| Reject::new("missing kernel:"))?
        .trim_start();
    let mut ev = FirewallEvent::default();
    if let Some(inner) = s.strip_prefix('[') {
        let end = find_byte(inner, b']').ok_or_else(|| Reject::invalid("kernel uptime", s))?;
        if let Some(uptime) = non_empty(inner[..end].trim()) {
            ev.extra.push(("kernel_uptime", uptime));
        }
        s = inner[end + 1..].trim_start();
    }
    let s = s
        .strip_prefix("IPTABLES")
        .ok_or_else(|| Reject::new("missing IPTABLES"))?;
    let (event, mut s) =
        split_byte(s, b':').ok_or_else(|| Reject::new("missing ':' after the event"))?;
    ev.event = event.trim();
    loop {
        s = s.trim_start_matches(' ');
        if s.is_empty() {
            break;
        }
        if let Some(inner) = s.strip_prefix('[') {
            let end = find_byte(inner, b']').unwrap_or(inner.len());
            if let Some(v) = non_empty(inner[..end].trim()) {
                ev.extra.push(("INNER", v));
            }
            s = inner.get(end + 1..).unwrap_or("");
            continue;
        }
        // Tokens are short: a byte loop beats a vectorised search here.
        let end = s.bytes().position(|b| b == b' ').unwrap_or(s.len());
        let (token, after) = s.split_at(end);
        s = after;
        let eq = token.bytes().position(|b| b == b'=');
        match eq.map(|i| (&token[..i], &token[i + 1..])) {
            Some((key, value)) => field(&mut ev, key, value)?,
            None => flag(&mut ev, token),
        }
    }
    Ok(ev)
}

fn flag<'a>(ev: &mut FirewallEvent<'a>, token: &'a str) {
    match token {
        "DF" => ev.df = true,
        t if TCP_FLAGS.contains(&t) => {
            ev.rst |= t == "RST";
            ev.syn |= t == "SYN";
            ev.tcp_flags.push(t);
        }
        t => ev.extra.push((t, "true")),
    }
}

/// Sets a string field unless it is already set (a repeated key then goes to `extra`).
fn set_str<'a>(slot: &mut Option<&'a str>, value: &'a str) -> bool {
    if slot.is_some() {
        return false;
    }
    *slot = non_empty(value);
    true
}

fn field<'a>(ev: &mut FirewallEvent<'a>, key: &'a str, value: &'a str) -> Parsed<()> {
    fn num<T: std::str::FromStr>(slot: &mut Option<T>, key: &str, value: &str) -> Parsed<bool> {
        if slot.is_some() {
            return Ok(false);
        }
        if !value.is_empty() {
            *slot = Some(number(key, value)?);
        }
        Ok(true)
    }
    let taken = match key {
        "DST" => set_str(&mut ev.dst, value),
        "SRC" => set_str(&mut ev.src, value),
        "MAC" => set_str(&mut ev.mac, value),
        "TOS" => set_str(&mut ev.tos, value),
        "PREC" => set_str(&mut ev.prec, value),
        "IN" => set_str(&mut ev.in_, value),
        "OUT" => set_str(&mut ev.out, value),
        "PROTO" => set_str(&mut ev.proto, value),
        "RES" => set_str(&mut ev.res, value),
        "DPT" => num(&mut ev.dpt, key, value)?,
        "SPT" => num(&mut ev.spt, key, value)?,
        "TTL" => num(&mut ev.ttl, key, value)?,
        "ID" => num(&mut ev.id, key, value)?,
        "WINDOW" => num(&mut ev.window, key, value)?,
        "URGP" => num(&mut ev.urgp, key, value)?,
        "TYPE" => num(&mut ev.icmp_type, key, value)?,
        "CODE" => num(&mut ev.icmp_code, key, value)?,
        "LEN" if ev.len.is_none() => num(&mut ev.len, key, value)?,
        "LEN" => {
            if !value.is_empty() {
                ev.extra.push(("UDP_LEN", value));
            }
            true
        }
        _ => false,
    };
    if !taken && !value.is_empty() {
        ev.extra.push((key, value));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_tcp() {
        let e = parse("kernel: IPTABLES Dropped: IN=eth0 OUT= MAC=00:0c:29:cf:4d:c8:2c:21:72:c6:99:08:08:00 SRC=10.10.0.117 DST=10.20.0.53 LEN=40 TOS=0x00 PREC=0x00 TTL=63 ID=51749 DF PROTO=TCP SPT=51093 DPT=5000 WINDOW=0 RES=0x00 RST URGP=0").unwrap();
        let want = FirewallEvent {
            event: "Dropped",
            dst: Some("10.20.0.53"),
            dpt: Some(5000),
            src: Some("10.10.0.117"),
            spt: Some(51093),
            ttl: Some(63),
            id: Some(51749),
            mac: Some("00:0c:29:cf:4d:c8:2c:21:72:c6:99:08:08:00"),
            len: Some(40),
            tos: Some("0x00"),
            prec: Some("0x00"),
            rst: true,
            syn: false,
            df: true,
            in_: Some("eth0"),
            out: None,
            proto: Some("TCP"),
            window: Some(0),
            tcp_flags: vec!["RST"],
            res: Some("0x00"),
            urgp: Some(0),
            icmp_type: None,
            icmp_code: None,
            extra: vec![],
        };
        assert_eq!(e, want);
    }

    #[test]
    fn vendor_udp_second_len() {
        let e = parse("kernel: IPTABLES Dropped: IN=eth0 OUT= MAC=ff:ff:ff:ff:ff:ff:00:0c:29:0f:48:ec:08:00 SRC=0.0.0.0 DST=255.255.255.255 LEN=337 TOS=0x10 PREC=0x00 TTL=128 ID=0 PROTO=UDP SPT=68 DPT=67 LEN=317").unwrap();
        assert_eq!(e.len, Some(337));
        assert_eq!(e.extra, vec![("UDP_LEN", "317")]);
        assert!(!e.df && !e.rst && !e.syn);
        assert!(e.tcp_flags.is_empty());
    }

    #[test]
    fn uptime_icmp_flags_and_unknowns() {
        let e = parse("kernel: [ 1234.567890] IPTABLES Dropped: IN=eth0 OUT=eth1 SRC=1.2.3.4 DST=5.6.7.8 LEN=84 PROTO=ICMP TYPE=8 CODE=0 ID=1 SEQ=2 MARK=0x1 CE [SRC=5.6.7.8 DST=1.2.3.4 ] SYN ACK").unwrap();
        assert_eq!(e.out, Some("eth1"));
        assert_eq!((e.icmp_type, e.icmp_code), (Some(8), Some(0)));
        assert_eq!(e.tcp_flags, vec!["SYN", "ACK"]);
        assert!(e.syn);
        assert_eq!(
            e.extra,
            vec![
                ("kernel_uptime", "1234.567890"),
                ("SEQ", "2"),
                ("MARK", "0x1"),
                ("CE", "true"),
                ("INNER", "SRC=5.6.7.8 DST=1.2.3.4"),
            ]
        );
    }

    #[test]
    fn rejects() {
        for bad in [
            "kernel: IPTABLES Dropped: DPT=abc",
            "kernel: IPTABLES Dropped: TTL=-",
            "kernel: IPTABLES no colon",
            "kernel: usb",
            "kernel: [ 12.3 IPTABLES Dropped:",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
