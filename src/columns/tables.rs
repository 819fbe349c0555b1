//! The columns of each table, and how a parsed event becomes a row.

use super::{ColumnDef, ColumnType as T, MapEntries, Row, TableBuilder};
use crate::grammar::{access::AccessEvent, firewall::FirewallEvent, security::SecurityEvent};
use crate::logtype::LogType;
use crate::standard::{IndicatorKind as I, Indicators};
use std::borrow::Cow;

const fn col(name: &'static str, ty: T, description: &'static str) -> ColumnDef {
    ColumnDef {
        name,
        ty,
        required: false,
        description,
        indicators: &[],
    }
}

const fn ind(
    name: &'static str,
    ty: T,
    description: &'static str,
    indicators: &'static [I],
) -> ColumnDef {
    ColumnDef {
        name,
        ty,
        required: false,
        description,
        indicators,
    }
}

const TIMESTAMP: ColumnDef = ColumnDef {
    name: "timestamp",
    ty: T::Timestamp,
    required: true,
    description: "The time the event was logged (UTC; the year is inferred).",
    indicators: &[],
};
const HOSTNAME: ColumnDef = ind(
    "hostname",
    T::String,
    "The appliance's host name.",
    &[I::Domain],
);
const LOG_LEVEL: ColumnDef = col(
    "log_level",
    T::String,
    "Log level: TRACE, DEBUG, INFO, WARN or ERROR.",
);

const ACCESS: &[ColumnDef] = &[
    TIMESTAMP,
    HOSTNAME,
    LOG_LEVEL,
    col(
        "thread",
        T::String,
        "The proxy thread that handled the message, e.g. se-request-6.",
    ),
    ind(
        "unique_request_key",
        T::String,
        "Key that ties a request's log entries together.",
        &[I::TraceId],
    ),
    col("type", T::String, "REQUEST or RESPONSE."),
    col(
        "stage",
        T::String,
        "PRE or POST: before or after the security engine processed the message.",
    ),
    ind(
        "proxy_client_ip",
        T::String,
        "The client address the proxy saw (usually 127.0.0.1, behind nginx).",
        &[I::Ip],
    ),
    ind(
        "url",
        T::String,
        "The full URL of the request.",
        &[I::Ip, I::Domain],
    ),
    col(
        "http_method",
        T::String,
        "Request method, from the request line.",
    ),
    col(
        "http_target",
        T::String,
        "Request target, from the request line.",
    ),
    col(
        "http_version",
        T::String,
        "HTTP version as logged (HTTP/1.1), from the request or status line.",
    ),
    col(
        "http_status",
        T::Int,
        "Response status code, from the status line.",
    ),
    ind(
        "http_headers",
        T::StringMap,
        "HTTP headers: names lower-cased, repeated names joined with ', '.",
        &[I::Ip, I::Domain],
    ),
    col(
        "http_body",
        T::String,
        "The body lines as logged, joined with newlines.",
    ),
];

const AUDIT: &[ColumnDef] = &[
    TIMESTAMP,
    HOSTNAME,
    LOG_LEVEL,
    ind(
        "message",
        T::String,
        "The action that was audited.",
        &[I::Ip, I::Md5, I::Sha1, I::Sha256],
    ),
    col(
        "api_key",
        T::String,
        "The API key that made the change (32 hex characters), when no user did.",
    ),
    ind(
        "login_ip",
        T::String,
        "The address the user logged in from.",
        &[I::Ip],
    ),
    ind(
        "username",
        T::String,
        "The user who made the change.",
        &[I::Username],
    ),
];

const FIREWALL: &[ColumnDef] = &[
    TIMESTAMP,
    HOSTNAME,
    col("event", T::String, "What the firewall did, e.g. Dropped."),
    ind("DST", T::String, "Destination IP address, as logged.", &[I::Ip]),
    col("DPT", T::Int, "Destination port."),
    ind("SRC", T::String, "Source IP address, as logged.", &[I::Ip]),
    col("SPT", T::Int, "Source port."),
    col("TTL", T::BigInt, "IP time to live."),
    col("ID", T::BigInt, "IP packet id."),
    ind("MAC", T::String, "Destination MAC, source MAC and EtherType, as logged.", &[I::Mac]),
    col("LEN", T::Int, "IP packet length (the first LEN=)."),
    col("TOS", T::String, "IP type of service, as logged."),
    col("PREC", T::String, "IP precedence, as logged."),
    col("RST", T::Boolean, "TCP RST flag set."),
    col("SYN", T::Boolean, "TCP SYN flag set."),
    col("DF", T::Boolean, "IP don't-fragment flag set."),
    col("IN", T::String, "Input interface."),
    col("OUT", T::String, "Output interface."),
    col("PROTO", T::String, "Protocol: TCP, UDP, ICMP, ..."),
    col("WINDOW", T::Int, "TCP window size."),
    col("tcp_flags", T::StringList, "Every bare TCP flag (CWR ECE URG ACK PSH RST SYN FIN), in the order seen."),
    col("RES", T::String, "TCP reserved bits, as logged."),
    col("URGP", T::Int, "TCP urgent pointer."),
    col("ICMP_TYPE", T::Int, "ICMP type (TYPE=)."),
    col("ICMP_CODE", T::Int, "ICMP code (CODE=)."),
    col("extra", T::StringMap, "Every other KEY=VALUE: UDP_LEN (a second LEN=), kernel_uptime, INNER (a bracketed inner packet), unknown flags (true)."),
];

const MWS: &[ColumnDef] = &[
    TIMESTAMP,
    HOSTNAME,
    LOG_LEVEL,
    col(
        "service_name",
        T::String,
        "The service that logged, e.g. mws-cluster-services.",
    ),
    col(
        "service_component",
        T::String,
        "The part of the service, e.g. db-cleanup.",
    ),
    ind(
        "log_message",
        T::String,
        "The message.",
        &[I::Ip, I::Md5, I::Sha1, I::Sha256],
    ),
];

const POSTGRES: &[ColumnDef] = &[
    TIMESTAMP,
    HOSTNAME,
    col("pid", T::Int, "Backend process id."),
    col("group_id_major", T::Int, "Message group number."),
    col(
        "group_id_minor",
        T::Int,
        "Line number within the message group.",
    ),
    col("sql_error_code", T::String, "SQLSTATE code, e.g. 42701."),
    col("session_id", T::String, "Session id, e.g. 530b5e00.1e0e."),
    col(
        "message_type",
        T::String,
        "LOG, WARNING, ERROR, STATEMENT, FATAL, ...",
    ),
    ind(
        "message",
        T::String,
        "The message.",
        &[I::Ip, I::Md5, I::Sha1, I::Sha256],
    ),
];

const SECURITY: &[ColumnDef] = &[
    TIMESTAMP,
    HOSTNAME,
    LOG_LEVEL,
    col(
        "service",
        T::String,
        "The component that raised the alert, e.g. traffic-info.",
    ),
    col(
        "category",
        T::String,
        "Security Incident, New Profile or New Counter Response.",
    ),
    col("profile_id", T::String, "The attacker profile's id."),
    col("profile_name", T::String, "The attacker profile's name."),
    col("pubkey", T::String, "The attacker profile's public key."),
    col("incident", T::String, "The incident type (MKS_Type)."),
    col("severity", T::SmallInt, "Incident severity, 0-4."),
    ind(
        "source_ip",
        T::String,
        "The attacker's address (MKS_SrcIP).",
        &[I::Ip],
    ),
    col("count", T::Int, "How many times the incident was seen."),
    col(
        "fake_response",
        T::Boolean,
        "Whether a fake response was sent.",
    ),
    col(
        "response_code",
        T::String,
        "Counter response code, e.g. BL.",
    ),
    col(
        "response_name",
        T::String,
        "Counter response name, e.g. Block User.",
    ),
    col(
        "created_date",
        T::Timestamp,
        "When the counter response was created.",
    ),
    col(
        "delay_date",
        T::Timestamp,
        "When the counter response takes effect.",
    ),
    col(
        "expiration_date",
        T::Timestamp,
        "When the counter response expires.",
    ),
    col(
        "response_config",
        T::String,
        "The counter response's configuration.",
    ),
    col(
        "silent_running",
        T::Boolean,
        "Whether the response runs silently.",
    ),
    col("user_agent", T::String, "The attacker's user agent."),
    ind(
        "url",
        T::String,
        "The URL the incident concerns.",
        &[I::Ip, I::Domain],
    ),
    col(
        "extra",
        T::StringMap,
        "Every MKS_ key not in Panther's schema, prefix stripped, spelling kept.",
    ),
];

/// The `p_*` columns every table ends with.
pub(crate) const STANDARD_COLUMNS: &[ColumnDef] = &[
    ColumnDef {
        name: "p_log_type",
        ty: T::String,
        required: true,
        description: "The log type, e.g. Juniper.Access.",
        indicators: &[],
    },
    ColumnDef {
        name: "p_row_id",
        ty: T::String,
        required: true,
        description:
            "32 hex characters: a hash of the input's identity and the event's byte offset.",
        indicators: &[],
    },
    ColumnDef {
        name: "p_event_time",
        ty: T::Timestamp,
        required: true,
        description: "The event's timestamp.",
        indicators: &[],
    },
    ColumnDef {
        name: "p_parse_time",
        ty: T::Timestamp,
        required: true,
        description: "When the input was parsed.",
        indicators: &[],
    },
    col(
        "p_source_id",
        T::String,
        "The source's id, from the source configuration or --source-id.",
    ),
    col(
        "p_source_label",
        T::String,
        "The source's label, from the source configuration or --source-label.",
    ),
    ColumnDef {
        name: "p_source_object",
        ty: T::String,
        required: true,
        description: "Where the row came from: s3://bucket/key or the local path.",
        indicators: &[],
    },
    col(
        "p_any_ip_addresses",
        T::StringList,
        "IP addresses in the event, canonical form.",
    ),
    col(
        "p_any_domain_names",
        T::StringList,
        "Host names in the event, lower-cased.",
    ),
    col(
        "p_any_md5_hashes",
        T::StringList,
        "MD5 digests in the event.",
    ),
    col(
        "p_any_sha1_hashes",
        T::StringList,
        "SHA-1 digests in the event.",
    ),
    col(
        "p_any_sha256_hashes",
        T::StringList,
        "SHA-256 digests in the event.",
    ),
    col(
        "p_any_mac_addresses",
        T::StringList,
        "MAC addresses in the event.",
    ),
    col("p_any_usernames", T::StringList, "User names in the event."),
    col(
        "p_any_trace_ids",
        T::StringList,
        "Request correlation ids in the event.",
    ),
];

pub(crate) fn own_columns(t: LogType) -> &'static [ColumnDef] {
    match t {
        LogType::Access => ACCESS,
        LogType::Audit => AUDIT,
        LogType::Firewall => FIREWALL,
        LogType::Mws => MWS,
        LogType::Postgres => POSTGRES,
        LogType::Security => SECURITY,
    }
}

pub use crate::grammar::Event;

/// The standard fields of one row, other than the indicators.
#[derive(Debug, Clone, Copy)]
pub struct Standard<'s> {
    /// `p_row_id`.
    pub row_id: &'s str,
    /// `p_event_time` (and `timestamp`), ms since the epoch.
    pub event_time: i64,
    /// `p_parse_time`, ms since the epoch.
    pub parse_time: i64,
    /// `p_source_id`.
    pub source_id: Option<&'s str>,
    /// `p_source_label`.
    pub source_label: Option<&'s str>,
    /// `p_source_object`.
    pub source_object: &'s str,
}

fn cow<'v>(v: &'v Option<Cow<'_, str>>) -> Option<&'v str> {
    v.as_deref()
}

/// Memory reused from row to row: the indicators, and the pairs of a map column.
#[derive(Debug, Default)]
pub struct RowScratch {
    indicators: Indicators,
    map: MapEntries,
}

/// Appends one event as a row of `table` (which must be the event's table), with its
/// standard fields.
pub fn append_event(
    table: &mut TableBuilder,
    hostname: &str,
    ev: &Event<'_>,
    std: &Standard<'_>,
    scratch: &mut RowScratch,
) {
    debug_assert_eq!(table.log_type(), ev.log_type());
    let RowScratch {
        indicators: ind,
        map,
    } = scratch;
    ind.clear();
    ind.appliance_host(hostname);
    let mut row = table.row();
    row.timestamp(Some(std.event_time));
    row.string(Some(hostname));
    match ev {
        Event::Access(e) => access(&mut row, e, ind, map),
        Event::Audit(e) => {
            row.string(Some(e.log_level));
            row.string(e.message);
            row.string(e.api_key);
            row.string(e.login_ip);
            row.string(e.username);
            if let Some(m) = e.message {
                ind.free_text(m);
            }
            if let Some(ip) = e.login_ip {
                ind.ip(ip);
            }
            if let Some(u) = e.username {
                ind.push(I::Username, u);
            }
        }
        Event::Firewall(e) => firewall(&mut row, e, ind, map),
        Event::Mws(e) => {
            row.string(e.log_level);
            row.string(Some(e.service_name));
            row.string(e.service_component);
            row.string(e.log_message);
            if let Some(m) = e.log_message {
                ind.free_text(m);
            }
        }
        Event::Postgres(e) => {
            row.int(Some(e.pid));
            row.int(Some(e.group_id_major));
            row.int(Some(e.group_id_minor));
            row.string(Some(e.sql_error_code));
            row.string(Some(e.session_id));
            row.string(Some(e.message_type));
            row.string(e.message);
            if let Some(m) = e.message {
                ind.free_text(m);
            }
        }
        Event::Security(e) => security(&mut row, e, ind, map),
    }
    standard(&mut row, ev.log_type(), std, ind);
}

fn access(row: &mut Row<'_>, e: &AccessEvent<'_>, ind: &mut Indicators, map: &mut MapEntries) {
    row.string(Some(e.log_level));
    row.string(e.thread);
    row.string(Some(e.unique_request_key));
    row.string(Some(e.kind));
    row.string(Some(e.stage));
    row.string(e.proxy_client_ip);
    row.string(e.url);
    row.string(e.http.method);
    row.string(e.http.target);
    row.string(e.http.version);
    row.int(e.http.status);
    map.clear();
    for (name, value) in e.http.headers() {
        map.push_lowercase(name, value);
    }
    row.map(map);
    row.string(e.http.body().as_deref());

    ind.push(I::TraceId, e.unique_request_key);
    if let Some(ip) = e.proxy_client_ip {
        ind.ip(ip);
    }
    if let Some(url) = e.url {
        ind.url(url);
    }
    for (name, value) in map.iter() {
        match name {
            "host" => ind.host(value),
            "x-forwarded-for" => value.split(',').for_each(|a| {
                ind.ip(a.trim());
            }),
            _ => {}
        }
    }
}

fn firewall(row: &mut Row<'_>, e: &FirewallEvent<'_>, ind: &mut Indicators, map: &mut MapEntries) {
    row.string(Some(e.event));
    row.string(e.dst);
    row.int(e.dpt);
    row.string(e.src);
    row.int(e.spt);
    row.bigint(e.ttl);
    row.bigint(e.id);
    row.string(e.mac);
    row.int(e.len);
    row.string(e.tos);
    row.string(e.prec);
    row.boolean(Some(e.rst));
    row.boolean(Some(e.syn));
    row.boolean(Some(e.df));
    row.string(e.in_);
    row.string(e.out);
    row.string(e.proto);
    row.int(e.window);
    row.list(e.tcp_flags.iter().copied());
    row.string(e.res);
    row.int(e.urgp);
    row.int(e.icmp_type);
    row.int(e.icmp_code);
    map.clear();
    for (k, v) in &e.extra {
        map.push(k, v);
    }
    row.map(map);
    for ip in [e.src, e.dst].into_iter().flatten() {
        ind.ip(ip);
    }
    if let Some(mac) = e.mac {
        ind.mac_pair(mac);
    }
}

fn security(row: &mut Row<'_>, e: &SecurityEvent<'_>, ind: &mut Indicators, map: &mut MapEntries) {
    row.string(e.log_level);
    row.string(e.service);
    row.string(cow(&e.category));
    row.string(cow(&e.profile_id));
    row.string(cow(&e.profile_name));
    row.string(cow(&e.pubkey));
    row.string(cow(&e.incident));
    row.smallint(e.severity);
    row.string(cow(&e.source_ip));
    row.int(e.count);
    row.boolean(e.fake_response);
    row.string(cow(&e.response_code));
    row.string(cow(&e.response_name));
    row.timestamp(e.created_date);
    row.timestamp(e.delay_date);
    row.timestamp(e.expiration_date);
    row.string(cow(&e.response_config));
    row.boolean(e.silent_running);
    row.string(cow(&e.user_agent));
    row.string(cow(&e.url));
    map.clear();
    for (k, v) in &e.extra {
        map.push(k, v);
    }
    row.map(map);
    if let Some(ip) = cow(&e.source_ip) {
        ind.ip(ip);
    }
    if let Some(url) = cow(&e.url) {
        ind.url(url);
    }
}

fn standard(row: &mut Row<'_>, t: LogType, s: &Standard<'_>, ind: &mut Indicators) {
    row.string(Some(t.name()));
    row.string(Some(s.row_id));
    row.timestamp(Some(s.event_time));
    row.timestamp(Some(s.parse_time));
    row.string(s.source_id);
    row.string(s.source_label);
    row.string(Some(s.source_object));
    for kind in I::ALL {
        row.list(ind.sorted(kind));
    }
}
