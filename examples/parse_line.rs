//! Parses one line of each log type into its typed event, and one that is rejected.
//!
//!     cargo run --example parse_line

use jwas::grammar::{parse_line, Event};

fn main() -> Result<(), jwas::grammar::Reject> {
    let lines = [
        // An Access event: its HTTP message follows on the next lines.
        "Dec 31 23:59:58 webappsecure [INFO][mws-access][se-request-3] key:49c45025-a8f3-44d4-86d2-185899a34ae2,PHASE_REQUEST_PRE_PROCESS,127.0.0.1,http://shop.example.com:80/cart?item=1042\nGET /cart?item=1042 HTTP/1.1\nhost: shop.example.com",
        "Dec 30 17:02:11 my-jwas [mws-audit][INFO] [mykonos] [10.10.0.117] Logged in successfully",
        "Dec 31 23:59:12 myjwas kernel: IPTABLES Dropped: IN=eth0 OUT= SRC=203.0.113.45 DST=10.20.0.53 LEN=60 TTL=52 PROTO=TCP SPT=49152 DPT=443 SYN",
        "Jan  1 00:00:05 my-jwas-instance [INFO][mws-cluster-services][db-cleanup] Database cleanup completed.",
        "Jan  1 00:04:33 webappsecure postgres[31877]: [3-1] 28P01 6592030d.7c85 FATAL: password authentication failed for user \"mws_report\"",
        "Oct 13 16:33:13 jwas1 [INFO][mws-security-alert][traffic-info] MKS_Category=\"Security Incident\" MKS_Type=\"Apache Configuration Requested\" MKS_Severity=\"2\" MKS_SrcIP=\"10.10.0.117\"",
    ];
    for line in lines {
        let (header, event) = parse_line(line)?;
        let what = match &event {
            Event::Access(e) => format!("{} {:?}", e.stage, e.http.target),
            Event::Audit(e) => format!("{:?} from {:?}: {:?}", e.username, e.login_ip, e.message),
            Event::Firewall(e) => format!("{:?}:{:?} -> {:?}:{:?}", e.src, e.spt, e.dst, e.dpt),
            Event::Mws(e) => format!("{:?}", e.log_level),
            Event::Postgres(e) => format!("{} {}", e.sql_error_code, e.message_type),
            Event::Security(e) => format!("{:?} severity {:?}", e.incident, e.severity),
        };
        let t = header.time;
        println!(
            "{:02}-{:02} {:02}:{:02}:{:02} {:>16} from {}: {what}",
            t.month,
            t.day,
            t.hour,
            t.minute,
            t.second,
            event.log_type().name(),
            header.hostname
        );
    }
    // A line jwas rejects says why; `Reject` is an error, so `?` works with it.
    match parse_line("Dec 31 23:59:58 host something else entirely") {
        Ok(_) => println!("parsed?"),
        Err(reason) => println!("rejected: {reason}"),
    }
    Ok(())
}
