//! `Juniper.Access`: `[<level>][mws-access][<thread>] key:<key>,PHASE_<type>_<stage>_PROCESS,<ip>,<url>`
//! followed by the HTTP message: a request or status line, `name: value` headers, an empty
//! line and the body, up to the next line that starts with a timestamp.

use super::common::{bracket, non_empty};
use super::{Parsed, Reject};
use nom::{
    bytes::complete::{tag, take_till, take_till1},
    character::complete::char,
    sequence::tuple,
    IResult,
};
use std::borrow::Cow;

/// One Access event: the first line's fields and the HTTP message lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEvent<'a> {
    /// `TRACE` ... `ERROR`.
    pub log_level: &'a str,
    /// e.g. `se-request-6`.
    pub thread: Option<&'a str>,
    /// The request's correlation key.
    pub unique_request_key: &'a str,
    /// `REQUEST` or `RESPONSE`.
    pub kind: &'a str,
    /// `PRE` or `POST`.
    pub stage: &'a str,
    /// Usually 127.0.0.1.
    pub proxy_client_ip: Option<&'a str>,
    /// Full URL.
    pub url: Option<&'a str>,
    /// The HTTP message that follows the first line.
    pub http: HttpMessage<'a>,
}

/// The HTTP message lines of an Access event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpMessage<'a> {
    /// Request method.
    pub method: Option<&'a str>,
    /// Request target.
    pub target: Option<&'a str>,
    /// `HTTP/1.1`, from the request or the status line.
    pub version: Option<&'a str>,
    /// Response status code.
    pub status: Option<i32>,
    /// The header lines (`name: value`, one per line, `\r` possibly left at line ends).
    pub headers: &'a str,
    /// The body lines (may hold `\r\n`); see [`HttpMessage::body`].
    pub body: &'a str,
}

impl<'a> HttpMessage<'a> {
    /// The headers as `(name, value)` in order; names as logged, values trimmed.
    pub fn headers(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        lines(self.headers).filter_map(header_line)
    }

    /// The body lines joined with `\n`, without trailing empty lines; `None` when empty.
    pub fn body(&self) -> Option<Cow<'a, str>> {
        let body = self.body.trim_end_matches(['\n', '\r']);
        if body.is_empty() {
            None
        } else if body.contains('\r') {
            Some(Cow::Owned(lines(body).collect::<Vec<_>>().join("\n")))
        } else {
            Some(Cow::Borrowed(body))
        }
    }
}

/// Lines of `text` without their `\r\n` / `\n` ends.
pub fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text.strip_suffix('\n').unwrap_or(text);
    let mut done = rest.is_empty();
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let line = match memchr::memchr(b'\n', rest.as_bytes()) {
            Some(n) => {
                let line = &rest[..n];
                rest = &rest[n + 1..];
                line
            }
            None => {
                done = true;
                rest
            }
        };
        Some(line.strip_suffix('\r').unwrap_or(line))
    })
}

/// `Name: value`: a name of visible ASCII characters before the first `:` (one pass over
/// the name, which ends at the first byte that is not such a character).
fn header_line(line: &str) -> Option<(&str, &str)> {
    let colon = line
        .bytes()
        .position(|b| b == b':' || !b.is_ascii_graphic())
        .filter(|&n| n > 0 && line.as_bytes().get(n) == Some(&b':'))?;
    Some((&line[..colon], line[colon + 1..].trim()))
}

/// `<key>,PHASE_<type>_<stage>_PROCESS,<ip>,` → (key, type, stage, ip), leaving the URL.
fn first_line(i: &str) -> IResult<&str, (&str, &str, &str, &str)> {
    let (i, (key, _, _, kind, _, stage, _, _, ip, _)) = tuple((
        take_till(|c| c == ','),
        char(','),
        tag("PHASE_"),
        take_till1(|c| c == '_' || c == ','),
        char('_'),
        take_till1(|c| c == '_' || c == ','),
        tag("_PROCESS"),
        char(','),
        take_till(|c| c == ','),
        char(','),
    ))(i)?;
    Ok((i, (key, kind, stage, ip)))
}

/// Parses an Access event. `rest` is the text after `<timestamp> <hostname> `, including
/// the lines that follow the first one.
pub fn parse(rest: &str) -> Parsed<AccessEvent<'_>> {
    let (line, http_text) = match memchr::memchr(b'\n', rest.as_bytes()) {
        Some(n) => (&rest[..n], &rest[n + 1..]),
        None => (rest, ""),
    };
    let line = line.strip_suffix('\r').unwrap_or(line);
    let (level, after) = bracket(line).ok_or_else(|| Reject::new("missing [log_level]"))?;
    let (_, after) = bracket(after).ok_or_else(|| Reject::new("missing [mws-access]"))?;
    let (thread, after) = match bracket(after) {
        Some((t, a)) => (non_empty(t), a),
        None => (None, after),
    };
    let after = after.trim_start();
    let after = after
        .strip_prefix("key:")
        .ok_or_else(|| Reject::new("missing key: after the tags"))?;
    let (url, (key, kind, stage, ip)) =
        first_line(after).map_err(|_| Reject::invalid("access phase", after))?;
    if key.is_empty() {
        return Err(Reject::new("empty unique_request_key"));
    }
    Ok(AccessEvent {
        log_level: level,
        thread,
        unique_request_key: key,
        kind,
        stage,
        proxy_client_ip: non_empty(ip),
        url: non_empty(url.trim()),
        http: http_message(http_text)?,
    })
}

/// Splits the HTTP message into start line, headers and body. A first line that is neither
/// a request line nor a status line is taken as a header (or body) line.
fn http_message(text: &str) -> Parsed<HttpMessage<'_>> {
    let mut msg = HttpMessage::default();
    if text.is_empty() {
        return Ok(msg);
    }
    let (start, mut rest) = match memchr::memchr(b'\n', text.as_bytes()) {
        Some(n) => (&text[..n], &text[n + 1..]),
        None => (text, ""),
    };
    let start_line = start.strip_suffix('\r').unwrap_or(start);
    if let Some(status) = start_line.strip_prefix("HTTP/") {
        let version_len = status
            .bytes()
            .position(|b| b == b' ')
            .unwrap_or(status.len());
        msg.version = Some(&start_line[..5 + version_len]);
        let after = status.get(version_len + 1..).unwrap_or("");
        let code = &after[..after.bytes().position(|b| b == b' ').unwrap_or(after.len())];
        msg.status = Some(
            code.parse()
                .map_err(|_| Reject::invalid("http status", code))?,
        );
    } else if let Some((method, target, version)) = request_line(start_line) {
        msg.method = Some(method);
        msg.target = Some(target);
        msg.version = Some(version);
    } else {
        rest = text;
    }
    // Headers run to the first empty line (or the first line that is not `name: value`).
    let mut offset = 0;
    let mut body_start = rest.len();
    let mut remaining = rest;
    while !remaining.is_empty() {
        let n = memchr::memchr(b'\n', remaining.as_bytes()).map_or(remaining.len(), |n| n + 1);
        let line = &remaining[..n];
        remaining = &remaining[n..];
        let bare = line.trim_end_matches(['\n', '\r']);
        if bare.is_empty() {
            body_start = offset + line.len();
            break;
        }
        if header_line(bare).is_none() {
            body_start = offset;
            break;
        }
        offset += line.len();
    }
    msg.headers = &rest[..offset.min(body_start)];
    msg.body = &rest[body_start..];
    Ok(msg)
}

fn request_line(line: &str) -> Option<(&str, &str, &str)> {
    let mut parts = line.as_bytes().split(|&b| b == b' ').map(|p| {
        // Split at ASCII spaces: each part is a str slice of `line`.
        let start = p.as_ptr() as usize - line.as_ptr() as usize;
        &line[start..start + p.len()]
    });
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    let ok = parts.next().is_none()
        && !method.is_empty()
        && method.bytes().all(|b| b.is_ascii_uppercase())
        && !target.is_empty()
        && version.starts_with("HTTP/");
    ok.then_some((method, target, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines() {
        assert_eq!(header_line("Host: a.b "), Some(("Host", "a.b")));
        assert_eq!(header_line("X-A:b:c"), Some(("X-A", "b:c")));
        assert_eq!(header_line("Host:"), Some(("Host", "")));
        for bad in [": x", "Bad Name: x", "no colon", "", "Tab\there: x", "é: x"] {
            assert_eq!(header_line(bad), None, "{bad:?}");
        }
    }

    const GET: &str = "[INFO][mws-access][se-request-25] key:12521298-13f1-4019-8e21-c6046cf2dac7,PHASE_REQUEST_POST_PROCESS,127.0.0.1,http://10.20.0.53:80/\nGET / HTTP/1.1\nhost: 10.20.0.53\nx-forwarded-for: 213.85.244.190, 10.20.1.23\nconnection: close\n";

    #[test]
    fn vendor_single_line() {
        let e = parse("[INFO][mws-access][se-request-6] key:da5a23dd-8367-476e-97ca-d734ab56244d,PHASE_REQUEST_PRE_PROCESS,127.0.0.1,http://zach-vm.jwas.jsec.net:80/genericelectronics").unwrap();
        assert_eq!(e.log_level, "INFO");
        assert_eq!(e.thread, Some("se-request-6"));
        assert_eq!(e.unique_request_key, "da5a23dd-8367-476e-97ca-d734ab56244d");
        assert_eq!((e.kind, e.stage), ("REQUEST", "PRE"));
        assert_eq!(e.proxy_client_ip, Some("127.0.0.1"));
        assert_eq!(
            e.url,
            Some("http://zach-vm.jwas.jsec.net:80/genericelectronics")
        );
        assert_eq!(e.http, HttpMessage::default());
    }

    #[test]
    fn vendor_request_with_headers() {
        let e = parse(GET).unwrap();
        assert_eq!(e.http.method, Some("GET"));
        assert_eq!(e.http.target, Some("/"));
        assert_eq!(e.http.version, Some("HTTP/1.1"));
        let h: Vec<_> = e.http.headers().collect();
        assert_eq!(
            h,
            vec![
                ("host", "10.20.0.53"),
                ("x-forwarded-for", "213.85.244.190, 10.20.1.23"),
                ("connection", "close")
            ]
        );
        assert_eq!(e.http.body(), None);
    }

    #[test]
    fn response_with_body_and_crlf() {
        let e = parse("[INFO][mws-access][t] key:k,PHASE_RESPONSE_PRE_PROCESS,127.0.0.1,http://h/\r\nHTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\r\n<html>\r\n</html>\r\n\r\n").unwrap();
        assert_eq!((e.kind, e.stage), ("RESPONSE", "PRE"));
        assert_eq!(e.http.status, Some(404));
        assert_eq!(e.http.version, Some("HTTP/1.1"));
        assert_eq!(
            e.http.headers().collect::<Vec<_>>(),
            vec![("Content-Type", "text/html")]
        );
        assert_eq!(e.http.body().as_deref(), Some("<html>\n</html>"));
    }

    #[test]
    fn body_without_blank_line() {
        let e = parse("[INFO][mws-access][t] key:k,PHASE_REQUEST_PRE_PROCESS,,\nPOST /x HTTP/1.0\nhost: a\nnot a header line\nsecond").unwrap();
        assert_eq!(e.proxy_client_ip, None);
        assert_eq!(e.url, None);
        assert_eq!(e.http.headers().count(), 1);
        assert_eq!(e.http.body().as_deref(), Some("not a header line\nsecond"));
    }

    #[test]
    fn rejects() {
        for bad in [
            "[INFO][mws-access][t] PHASE_REQUEST_PRE_PROCESS,1,u",
            "[INFO][mws-access][t] key:,PHASE_REQUEST_PRE_PROCESS,1,u",
            "[INFO][mws-access][t] key:k,REQUEST_PRE,1,u",
            "[INFO][mws-access][t] key:k,PHASE_RESPONSE_PRE_PROCESS,1,u\nHTTP/1.1 abc OK",
            "no brackets",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
