//! `Juniper.Security`: `[<level>][mws-security-alert][<service>] MKS_Category="..." MKS_<Key>="<value>" ...`.
//! Values are double-quoted and may hold `\"`; keys are matched case-insensitively.

use super::common::{bracket, first_line, is_level, non_empty, number};
use super::{Parsed, Reject};
use std::borrow::Cow;

/// One Security event (all three categories share the columns).
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityEvent<'a> {
    pub log_level: Option<&'a str>,
    pub service: Option<&'a str>,
    pub category: Option<Cow<'a, str>>,
    pub profile_id: Option<Cow<'a, str>>,
    pub profile_name: Option<Cow<'a, str>>,
    pub pubkey: Option<Cow<'a, str>>,
    /// `MKS_Type`.
    pub incident: Option<Cow<'a, str>>,
    /// 0-4.
    pub severity: Option<i16>,
    /// `MKS_SrcIP`.
    pub source_ip: Option<Cow<'a, str>>,
    pub count: Option<i32>,
    pub fake_response: Option<bool>,
    pub response_code: Option<Cow<'a, str>>,
    pub response_name: Option<Cow<'a, str>>,
    /// `MKS_ResponseCreated`, milliseconds since the epoch (UTC).
    pub created_date: Option<i64>,
    /// `MKS_ResponseDelayed`.
    pub delay_date: Option<i64>,
    /// `MKS_ResponseExpires`.
    pub expiration_date: Option<i64>,
    pub response_config: Option<Cow<'a, str>>,
    pub silent_running: Option<bool>,
    pub user_agent: Option<Cow<'a, str>>,
    pub url: Option<Cow<'a, str>>,
    /// Keys not in Panther's schema, `MKS_` stripped, spelling kept.
    pub extra: Vec<(&'a str, Cow<'a, str>)>,
}

/// Parses the text after `<timestamp> <hostname> `.
pub fn parse(rest: &str) -> Parsed<SecurityEvent<'_>> {
    let line = first_line(rest);
    let mut ev = SecurityEvent::default();
    let (first, mut s) =
        bracket(line).ok_or_else(|| Reject::new("missing [mws-security-alert]"))?;
    if is_level(first) {
        ev.log_level = Some(first);
        s = bracket(s)
            .ok_or_else(|| Reject::new("missing [mws-security-alert]"))?
            .1;
    }
    if let Some((service, after)) = bracket(s) {
        ev.service = non_empty(service);
        s = after;
    }
    loop {
        s = s.trim_start_matches(' ');
        if s.is_empty() {
            break;
        }
        let eq = s
            .bytes()
            .position(|b| b == b'=')
            .ok_or_else(|| Reject::invalid("key=\"value\" pair", s))?;
        let key = &s[..eq];
        if key.is_empty() || key.as_bytes().contains(&b' ') {
            return Err(Reject::invalid("key", key));
        }
        let (value, after) =
            quoted(&s[eq + 1..]).ok_or_else(|| Reject::invalid(key, &s[eq + 1..]))?;
        s = after;
        assign(&mut ev, key, value)?;
    }
    Ok(ev)
}

/// `"value with \" escapes"rest` → (unescaped value, rest).
fn quoted(s: &str) -> Option<(Cow<'_, str>, &str)> {
    let body = s.strip_prefix('"')?;
    let bytes = body.as_bytes();
    let mut escaped = false;
    let mut i = 0;
    // Jump from quote or backslash to the next one.
    while let Some(n) = memchr::memchr2(b'"', b'\\', &bytes[i..]) {
        i += n;
        if bytes[i] == b'\\' {
            if matches!(bytes.get(i + 1), Some(b'"' | b'\\')) {
                escaped = true;
                i += 2;
            } else {
                i += 1;
            }
            continue;
        }
        let raw = &body[..i];
        let value = if escaped {
            Cow::Owned(raw.replace("\\\"", "\"").replace("\\\\", "\\"))
        } else {
            Cow::Borrowed(raw)
        };
        return Some((value, &body[i + 1..]));
    }
    None
}

fn date(key: &str, v: &str) -> Parsed<Option<i64>> {
    if v.eq_ignore_ascii_case("null") {
        return Ok(None);
    }
    if let Some(ms) = plain_date(v.as_bytes()) {
        return Ok(Some(ms));
    }
    chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S%.f")
        .map(|t| Some(t.and_utc().timestamp_millis()))
        .map_err(|_| Reject::invalid(key, v))
}

/// `YYYY-MM-DD HH:MM:SS[.fff]` (1 to 9 fraction digits) as ms since the epoch, for the
/// usual shape of a date; `None` for anything else, which the general parser then judges
/// (so the result is always chrono's).
fn plain_date(v: &[u8]) -> Option<i64> {
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = v.get(r)?;
        part.iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let punct = [(4, b'-'), (7, b'-'), (10, b' '), (13, b':'), (16, b':')];
    if v.len() < 19 || punct.iter().any(|&(i, c)| v[i] != c) {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    let nanos = match &v[19..] {
        [] => 0,
        [b'.', frac @ ..] if (1..=9).contains(&frac.len()) => {
            let n = digits(20..v.len())?;
            n * 10u32.pow(9 - frac.len() as u32)
        }
        _ => return None,
    };
    if second > 59 {
        return None; // leap seconds: chrono's business
    }
    let date = chrono::NaiveDate::from_ymd_opt(year as i32, month, day)?;
    let time = chrono::NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    Some(date.and_time(time).and_utc().timestamp_millis())
}

fn boolean(key: &str, v: &str) -> Parsed<bool> {
    if v.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if v.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(Reject::invalid(key, v))
    }
}

/// Panther's keys (after `MKS_`), lower-case; matched without allocating.
const KNOWN_KEYS: [&str; 18] = [
    "category",
    "profileid",
    "profilename",
    "pubkey",
    "type",
    "srcip",
    "responsecode",
    "responsename",
    "responseconfig",
    "useragent",
    "url",
    "severity",
    "count",
    "fakeresponse",
    "silentrunning",
    "responsecreated",
    "responsedelayed",
    "responseexpires",
];

/// The lower-case name of a known key (case-insensitive match), or `""` for any other key.
fn known_key(key: &str) -> &'static str {
    // Lower-case into a stack buffer, then one lookup: no known key is longer than 15.
    let mut buf = [0u8; 16];
    let Some(lower) = buf.get_mut(..key.len()) else {
        return "";
    };
    lower.copy_from_slice(key.as_bytes());
    lower.make_ascii_lowercase();
    KNOWN_KEYS
        .iter()
        .find(|k| k.as_bytes() == lower)
        .copied()
        .unwrap_or("")
}

fn assign<'a>(ev: &mut SecurityEvent<'a>, raw_key: &'a str, value: Cow<'a, str>) -> Parsed<()> {
    let key = raw_key.strip_prefix("MKS_").unwrap_or(raw_key);
    if value.is_empty() {
        return Ok(());
    }
    let v = value.as_ref();
    macro_rules! text {
        ($field:ident) => {{
            if ev.$field.is_some() {
                ev.extra.push((key, value));
            } else {
                ev.$field = Some(value);
            }
        }};
    }
    match known_key(key) {
        "category" => text!(category),
        "profileid" => text!(profile_id),
        "profilename" => text!(profile_name),
        "pubkey" => text!(pubkey),
        "type" => text!(incident),
        "srcip" => text!(source_ip),
        "responsecode" => text!(response_code),
        "responsename" => text!(response_name),
        "responseconfig" => text!(response_config),
        "useragent" => text!(user_agent),
        "url" => text!(url),
        "severity" => {
            let n: i16 = number(raw_key, v)?;
            if !(0..=4).contains(&n) {
                return Err(Reject::new(format!("{raw_key} out of range 0-4: '{n}'")));
            }
            ev.severity = Some(n);
        }
        "count" => ev.count = Some(number(raw_key, v)?),
        "fakeresponse" => ev.fake_response = Some(boolean(raw_key, v)?),
        "silentrunning" => ev.silent_running = Some(boolean(raw_key, v)?),
        "responsecreated" => ev.created_date = date(raw_key, v)?,
        "responsedelayed" => ev.delay_date = date(raw_key, v)?,
        "responseexpires" => ev.expiration_date = date(raw_key, v)?,
        _ => ev.extra.push((key, value)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_dates_are_chronos() {
        for v in [
            "2014-02-26 19:58:38.123",
            "2014-02-26 19:58:38",
            "2014-02-26 19:58:38.1",
            "2014-02-26 19:58:38.123456789",
            "2014-02-26 19:58:38.1234567891",
            "2014-02-30 19:58:38",
            "2014-02-26 24:00:00",
            "2014-02-26 23:59:60",
            "2014-2-26 19:58:38",
            "2014-02-26T19:58:38",
            "2014-02-26 19:58:38.",
            "2014-02-26 19:58:38 ",
            "0000-01-01 00:00:00",
            "9999-12-31 23:59:59.999",
            "2016-02-29 00:00:00",
            "2015-02-29 00:00:00",
        ] {
            let chrono = chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc().timestamp_millis());
            if let Some(fast) = plain_date(v.as_bytes()) {
                assert_eq!(Some(fast), chrono, "{v}");
            }
            assert_eq!(date("k", v).ok().flatten(), chrono, "{v}");
        }
    }

    fn c(s: &str) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(s))
    }

    #[test]
    fn vendor_incident() {
        let e = parse(r#"[INFO][mws-security-alert][traffic-info] MKS_Category="Security Incident" MKS_Type="Apache Configuration Requested" MKS_Severity="2" MKS_ProfileName="Brett 8356" MKS_SrcIP="10.10.0.117" MKS_pubkey="el4urlypSXuRHOM3IoLT" MKS_useragent="Mozilla/5.0 (Macintosh)" MKS_url="http://jwas1.jsec.net:80/.htaccess" MKS_count="1" MKS_fakeresponse="true""#).unwrap();
        let want = SecurityEvent {
            log_level: Some("INFO"),
            service: Some("traffic-info"),
            category: c("Security Incident"),
            incident: c("Apache Configuration Requested"),
            severity: Some(2),
            profile_name: c("Brett 8356"),
            source_ip: c("10.10.0.117"),
            pubkey: c("el4urlypSXuRHOM3IoLT"),
            user_agent: c("Mozilla/5.0 (Macintosh)"),
            url: c("http://jwas1.jsec.net:80/.htaccess"),
            count: Some(1),
            fake_response: Some(true),
            ..Default::default()
        };
        assert_eq!(e, want);
    }

    #[test]
    fn vendor_profile_and_response() {
        let e = parse(r#"[INFO][mws-security-alert][traffic-info] MKS_Category="New Profile" MKS_ProfileId="3811" MKS_ProfileName="Brett 8356" MKS_PubKey="el4urlypSXuRHOM3IoLT""#).unwrap();
        assert_eq!(
            (e.profile_id, e.pubkey),
            (c("3811"), c("el4urlypSXuRHOM3IoLT"))
        );
        let e = parse(r#"[INFO][mws-security-alert][auto-response] MKS_Category="New Counter Response" MKS_ResponseCode="BL" MKS_ResponseName="Block User" MKS_ProfileId="3811" MKS_ProfileName="Brett 8356" MKS_ResponseCreated="2014-10-13 16:33:54.0" MKS_ResponseDelayed="2014-10-13 16:33:54.123456" MKS_ResponseExpires="null" MKS_ResponseConfig="<config />" MKS_SilentRunning="true""#).unwrap();
        assert_eq!(e.created_date, Some(1_413_218_034_000));
        assert_eq!(e.delay_date, Some(1_413_218_034_123));
        assert_eq!(e.expiration_date, None);
        assert_eq!(e.response_config, c("<config />"));
        assert_eq!(e.silent_running, Some(true));
        assert_eq!(
            (e.response_code, e.response_name),
            (c("BL"), c("Block User"))
        );
    }

    #[test]
    fn escapes_extra_and_empty() {
        let e = parse(r#"[WARN][mws-security-alert][x] MKS_useragent="foo \"bar\" baz" MKS_Hostname="h1" MKS_ProfileName="" other="1""#).unwrap();
        assert_eq!(e.user_agent.as_deref(), Some(r#"foo "bar" baz"#));
        assert_eq!(e.profile_name, None);
        assert_eq!(
            e.extra,
            vec![("Hostname", c("h1").unwrap()), ("other", c("1").unwrap())]
        );
    }

    #[test]
    fn rejects() {
        for bad in [
            r#"[INFO][mws-security-alert][x] MKS_ProfileName="Brett"#,
            r#"[INFO][mws-security-alert][x] MKS_Severity="9""#,
            r#"[INFO][mws-security-alert][x] MKS_count="many""#,
            r#"[INFO][mws-security-alert][x] MKS_fakeresponse="maybe""#,
            r#"[INFO][mws-security-alert][x] MKS_ResponseCreated="yesterday""#,
            r#"[INFO][mws-security-alert][x] MKS_Category=unquoted"#,
            r#"[INFO][mws-security-alert][x] garbage"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
