//! The Access grammar (`jwas::grammar::access::parse`), header parsing and classification,
//! and the multi-line HTTP message: `lines`, `HttpMessage::headers` and `HttpMessage::body`.
#![no_main]

use jwas::grammar::access::{self, HttpMessage};
use jwas::LogType;

/// A valid first line, so that the input after it is all HTTP message.
const FIRST_LINE: &str = "[INFO][mws-access][se-request-6] key:da5a23dd-8367-476e-97ca-d734ab56244d,PHASE_REQUEST_PRE_PROCESS,127.0.0.1,http://h:80/x\n";

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    jwas_fuzz::grammar_target(LogType::Access, data);
    for text in jwas_fuzz::texts(data) {
        check_lines(&text);
        if let Ok(e) = access::parse(&text) {
            check_http(&e.http);
        }
        // The input as the HTTP message of an event whose first line is valid: only a bad
        // status code can reject it.
        let event = format!("{FIRST_LINE}{text}");
        match access::parse(&event) {
            Ok(e) => {
                assert_eq!(e.unique_request_key, "da5a23dd-8367-476e-97ca-d734ab56244d");
                check_http(&e.http);
            }
            Err(r) => assert!(
                r.0.starts_with("invalid http status"),
                "HTTP message rejected: {r}"
            ),
        }
    }
});

/// `lines`: the text's lines without `\n`, and without the `\r` of a `\r\n` end.
fn check_lines(text: &str) {
    let got: Vec<&str> = access::lines(text).collect();
    let body = text.strip_suffix('\n').unwrap_or(text);
    let want = if body.is_empty() {
        0
    } else {
        body.matches('\n').count() + 1
    };
    assert_eq!(got.len(), want, "line count of {text:?}");
    for (line, raw) in got.iter().zip(body.split('\n')) {
        assert!(!line.contains('\n'));
        assert_eq!(*line, raw.strip_suffix('\r').unwrap_or(raw));
    }
}

fn check_http(http: &HttpMessage<'_>) {
    for (name, value) in http.headers() {
        assert!(!name.is_empty(), "empty header name");
        assert!(
            name.bytes().all(|b| b.is_ascii_graphic() && b != b':'),
            "bad header name {name:?}"
        );
        assert_eq!(value, value.trim(), "header value not trimmed");
    }
    assert!(
        http.headers().count() <= access::lines(http.headers).count(),
        "more headers than header lines"
    );
    if let Some(body) = http.body() {
        assert!(!body.is_empty(), "Some(empty body)");
        assert!(
            !body.ends_with(['\n', '\r']),
            "body ends with a line end: {body:?}"
        );
    }
    if http.status.is_some() {
        assert!(http.method.is_none() && http.target.is_none());
    }
}
