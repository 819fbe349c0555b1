//! Firewall events: iptables drops, TCP, UDP and ICMP.

use super::*;

/// The kind of packet dropped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Packet {
    /// TCP
    Tcp,
    /// UDP
    Udp,
    /// ICMP echo
    IcmpEcho,
    /// ip6tables
    Ip6tables,
    /// forwarded
    Forwarded,
    /// outbound (always `Rejected`)
    Outbound,
    /// DHCP broadcast
    DhcpBroadcast,
}

/// Packets, by weight.
const PACKETS: [(u32, Packet); 7] = [
    (62, Packet::Tcp),
    (18, Packet::Udp),
    (5, Packet::IcmpEcho),
    (7, Packet::Ip6tables),
    (3, Packet::Forwarded),
    (3, Packet::Outbound),
    (2, Packet::DhcpBroadcast),
];

impl Gen {
    pub(super) fn firewall(&mut self) -> u64 {
        let elapsed_us = (self.now_ns - self.start_ns) / 1000;
        let uptime_us = self.uptime_offset_s * 1_000_000 + elapsed_us;
        let r = &mut self.rng;
        let with_uptime = r.chance(0.3);
        let kind = *r.pick_weighted(&PACKETS);
        let event = if kind == Packet::Outbound || r.chance(0.02) {
            "Rejected"
        } else {
            "Dropped"
        };
        const HOST_MAC: &str = "00:0c:29:cf:4d:c8";
        let peer_mac = format!(
            "{}:{}:{}:{}:{}:{}",
            r.pick(&["2c", "00", "a4", "f0"]),
            r.hex(2, false),
            r.hex(2, false),
            r.hex(2, false),
            r.hex(2, false),
            r.hex(2, false)
        );
        let mut line = String::with_capacity(256);
        use std::fmt::Write as _;
        let v4_head = |line: &mut String, r: &mut Rng, src: &str, len: u64| {
            let _ = write!(
                line,
                "IN=eth0 OUT= MAC={HOST_MAC}:{peer_mac}:08:00 SRC={src} DST=10.20.0.53 LEN={len} TOS=0x{:02x} PREC=0x00 TTL={} ID={}",
                r.pick(&[0u8, 0, 0, 0x10, 0x02]),
                r.pick(&[52u64, 57, 63, 64, 116, 128, 241, 244]),
                r.below(65_536)
            );
        };
        match kind {
            Packet::Tcp => {
                let src = r.ipv4();
                let len = *r.pick(&[40u64, 44, 52, 60]);
                v4_head(&mut line, r, &src, len);
                if r.chance(0.6) {
                    line.push_str(" DF");
                }
                let flags = *r.pick(&[
                    "SYN",
                    "SYN",
                    "SYN",
                    "ACK PSH",
                    "RST",
                    "ACK RST",
                    "ACK FIN",
                    "ACK PSH FIN",
                    "CWR ECE SYN",
                    "ACK",
                ]);
                let _ = write!(
                    line,
                    " PROTO=TCP SPT={} DPT={} WINDOW={} RES=0x00 {flags} URGP=0",
                    r.range(1024, 65_535),
                    r.pick(&[
                        22u32, 23, 25, 80, 443, 445, 1433, 3306, 3389, 5000, 5432, 6379, 8080
                    ]),
                    r.pick(&[0u32, 501, 1024, 14_600, 28_800, 29_200, 65_535])
                );
                if r.chance(0.02) {
                    line.push_str(" MARK=0x1");
                }
            }
            Packet::Udp => {
                let src = r.ipv4();
                let udp_len = r.range(20, 400);
                v4_head(&mut line, r, &src, udp_len + 20);
                let _ = write!(
                    line,
                    " PROTO=UDP SPT={} DPT={} LEN={udp_len}",
                    r.range(1024, 65_535),
                    r.pick(&[53u32, 123, 161, 514, 1900, 5060])
                );
            }
            Packet::IcmpEcho => {
                let src = r.ipv4();
                v4_head(&mut line, r, &src, 84);
                let _ = write!(
                    line,
                    " DF PROTO=ICMP TYPE=8 CODE=0 ID={} SEQ={}",
                    r.below(65_536),
                    r.range(1, 200)
                );
            }
            Packet::Ip6tables => {
                let src = format!(
                    "2001:0db8:0000:0000:0000:0000:{:04x}:{:04x}",
                    r.below(16),
                    r.range(1, 0xffff)
                );
                let _ = write!(
                    line,
                    "IN=eth0 OUT= MAC={HOST_MAC}:{peer_mac}:86:dd SRC={src} DST=2001:0db8:0000:0000:0000:0000:0000:0053 LEN={} TC=0 HOPLIMIT={} FLOWLBL={}",
                    r.pick(&[80u32, 104, 72]),
                    r.pick(&[58u32, 64, 255]),
                    r.pick(&[0u32, 327_680, 1_048_575])
                );
                if r.chance(0.7) {
                    let _ = write!(
                        line,
                        " PROTO=TCP SPT={} DPT={} WINDOW=28800 RES=0x00 SYN URGP=0",
                        r.range(1024, 65_535),
                        r.pick(&[22u32, 80, 443])
                    );
                } else {
                    let _ = write!(
                        line,
                        " PROTO=ICMPv6 TYPE=128 CODE=0 ID={} SEQ={}",
                        r.below(65_536),
                        r.range(1, 100)
                    );
                }
            }
            Packet::Forwarded => {
                let _ = write!(
                    line,
                    "IN=eth0 OUT=eth1 MAC={HOST_MAC}:{peer_mac}:08:00 SRC={} DST=10.30.0.{} LEN=60 TOS=0x00 PREC=0x00 TTL=49 ID={} DF PROTO=TCP SPT={} DPT=8080 WINDOW=14600 RES=0x00 SYN URGP=0",
                    r.ipv4(),
                    r.range(2, 40),
                    r.below(65_536),
                    r.range(1024, 65_535)
                );
            }
            Packet::Outbound => {
                let udp_len = r.range(60, 300);
                let _ = write!(
                    line,
                    "IN= OUT=eth0 SRC=10.20.0.53 DST={} LEN={} TOS=0x00 PREC=0x00 TTL=64 ID={} DF PROTO=UDP SPT={} DPT=514 LEN={udp_len}",
                    r.ipv4(),
                    udp_len + 20,
                    r.below(65_536),
                    r.range(30_000, 60_000)
                );
            }
            Packet::DhcpBroadcast => {
                let _ = write!(
                    line,
                    "IN=eth0 OUT= MAC=ff:ff:ff:ff:ff:ff:{peer_mac}:08:00 SRC=0.0.0.0 DST=255.255.255.255 LEN=337 TOS=0x10 PREC=0x00 TTL=128 ID=0 PROTO=UDP SPT=68 DPT=67 LEN=317"
                );
            }
        }
        self.head("myjwas");
        w!(self, "kernel: ");
        if with_uptime {
            w!(
                self,
                "[{:>5}.{:06}] ",
                uptime_us / 1_000_000,
                uptime_us % 1_000_000
            );
        }
        w!(self, "IPTABLES {event}: {line}\n");
        1
    }
}
