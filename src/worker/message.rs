//! SQS message bodies that announce S3 objects: S3 event notifications (several `Records`
//! per message), the same inside an SNS envelope, EventBridge "Object Created" events, and
//! `s3:TestEvent`. Keys in S3 notifications are URL-encoded with `+` for a space.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

fn time(v: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Every shape of body jwas reads, as one record: each shape has its own fields, and the
/// fields of the others are absent. Unknown fields are ignored.
#[derive(Deserialize)]
struct Envelope {
    /// `s3:TestEvent`.
    #[serde(rename = "Event")]
    event: Option<String>,
    /// An SNS envelope: `Notification`, with the S3 notification as a string in `Message`.
    #[serde(rename = "Type")]
    kind: Option<String>,
    #[serde(rename = "Message")]
    message: Option<String>,
    /// An S3 event notification.
    #[serde(rename = "Records")]
    records: Option<Vec<Record>>,
    /// EventBridge: `aws.s3`, `Object Created`, the object in `detail`, the event's time.
    source: Option<String>,
    #[serde(rename = "detail-type")]
    detail_type: Option<String>,
    detail: Option<Detail>,
    time: Option<String>,
}

/// One record of an S3 event notification. It is also written (by [`s3_event`]); the
/// fields are in alphabetical order, as `jwas enqueue` has always written them.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    event_name: Option<String>,
    event_source: Option<String>,
    event_time: Option<String>,
    event_version: Option<String>,
    s3: Option<RecordS3>,
}

#[derive(Deserialize, Serialize)]
struct RecordS3 {
    bucket: Option<Named>,
    object: Option<RecordObject>,
}

#[derive(Deserialize, Serialize)]
struct Named {
    name: Option<String>,
}

/// The object of a notification record: its key is URL-encoded.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct RecordObject {
    e_tag: Option<String>,
    key: Option<String>,
    size: Option<u64>,
}

/// An EventBridge event's `detail`: the key is not URL-encoded.
#[derive(Deserialize)]
struct Detail {
    bucket: Option<Named>,
    object: Option<DetailObject>,
}

#[derive(Deserialize)]
struct DetailObject {
    key: Option<String>,
    size: Option<u64>,
    etag: Option<String>,
}

/// What `jwas enqueue` sends: an S3 event notification.
#[derive(Serialize)]
struct Notification<'a> {
    #[serde(rename = "Records")]
    records: &'a [Record],
}

/// An object a message announces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectRef {
    /// The bucket.
    pub bucket: String,
    /// The key, decoded.
    pub key: String,
    /// Size in bytes, when the message gives it.
    pub size: Option<u64>,
    /// ETag without quotes, when the message gives it.
    pub etag: Option<String>,
    /// When the object was written (`eventTime`, EventBridge `time`): the reference time
    /// for year inference, as LastModified is for `jwas parse`.
    pub time: Option<DateTime<Utc>>,
}

/// What a message body says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// Objects to process (none: an event of another kind, e.g. a deletion).
    Objects(Vec<ObjectRef>),
    /// `s3:TestEvent`, sent when a notification is configured: nothing to do.
    Test,
}

/// Reads a message body; the error says why it is not one of the known shapes.
pub fn parse(body: &str) -> Result<Body, String> {
    parse_envelope(body, 0)
}

fn parse_envelope(body: &str, depth: u8) -> Result<Body, String> {
    let v: Envelope = serde_json::from_str(body).map_err(|e| {
        let what = if depth == 0 {
            "the body"
        } else {
            "the SNS Message"
        };
        match e.classify() {
            serde_json::error::Category::Data => format!("{what} is not a message jwas reads: {e}"),
            _ => format!("{what} is not JSON: {e}"),
        }
    })?;
    if v.event.as_deref() == Some("s3:TestEvent") {
        return Ok(Body::Test);
    }
    // SNS envelope: the S3 notification is a JSON string in `Message`.
    if v.kind.as_deref() == Some("Notification") && depth == 0 {
        let inner = v
            .message
            .as_deref()
            .ok_or("SNS notification without a Message string")?;
        return parse_envelope(inner, depth + 1);
    }
    if let Some(records) = v.records {
        let mut out = Vec::with_capacity(records.len());
        for r in records {
            let name = r.event_name.as_deref().unwrap_or("");
            if !name.starts_with("ObjectCreated:") {
                continue;
            }
            let s3 = r.s3.ok_or("a record without s3")?;
            let bucket = s3
                .bucket
                .and_then(|b| b.name)
                .ok_or("a record without s3.bucket.name")?;
            let object = s3.object.ok_or("a record without s3.object.key")?;
            let key = object.key.ok_or("a record without s3.object.key")?;
            let key = url_decode(&key).ok_or_else(|| {
                format!(
                    "bad URL encoding in key {:?}",
                    crate::grammar::common::clip(&key, 200)
                )
            })?;
            if let Some(problem) = crate::source::s3_name_problem(&bucket, &key) {
                return Err(problem);
            }
            out.push(ObjectRef {
                bucket,
                key,
                size: object.size,
                etag: object.e_tag.map(|e| e.trim_matches('"').to_owned()),
                time: time(r.event_time.as_deref()),
            });
        }
        return Ok(Body::Objects(out));
    }
    // EventBridge: keys are not URL-encoded.
    if v.source.as_deref() == Some("aws.s3") {
        if v.detail_type.as_deref() != Some("Object Created") {
            return Ok(Body::Objects(Vec::new()));
        }
        let detail = v
            .detail
            .ok_or("EventBridge event without detail.bucket.name")?;
        let bucket = detail
            .bucket
            .and_then(|b| b.name)
            .ok_or("EventBridge event without detail.bucket.name")?;
        let object = detail
            .object
            .ok_or("EventBridge event without detail.object.key")?;
        let key = object
            .key
            .ok_or("EventBridge event without detail.object.key")?;
        if let Some(problem) = crate::source::s3_name_problem(&bucket, &key) {
            return Err(problem);
        }
        return Ok(Body::Objects(vec![ObjectRef {
            bucket,
            key,
            size: object.size,
            etag: object.etag.map(|e| e.trim_matches('"').to_owned()),
            time: time(v.time.as_deref()),
        }]));
    }
    Err("neither an S3 notification, an SNS envelope of one, an EventBridge S3 event nor an s3:TestEvent".into())
}

/// Decodes an S3 notification key: `+` is a space, `%XX` a byte; `None` if malformed.
pub fn url_decode(s: &str) -> Option<String> {
    crate::source::s3_url_decode(s)
}

/// Encodes a key as S3 notifications do: unreserved bytes as they are, `/` kept, a space
/// as `+`, everything else `%XX`.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(c as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{c:02X}")),
        }
    }
    out
}

/// An S3-event-shaped message body for one object (what `jwas enqueue` sends); `time` is
/// its LastModified.
pub fn s3_event(
    bucket: &str,
    key: &str,
    size: u64,
    etag: Option<&str>,
    time: Option<DateTime<Utc>>,
) -> String {
    let record = Record {
        event_name: Some("ObjectCreated:Put".into()),
        event_source: Some("aws:s3".into()),
        event_time: time.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        event_version: Some("2.1".into()),
        s3: Some(RecordS3 {
            bucket: Some(Named {
                name: Some(bucket.to_owned()),
            }),
            object: Some(RecordObject {
                e_tag: etag.map(str::to_owned),
                key: Some(url_encode(key)),
                size: Some(size),
            }),
        }),
    };
    let records = [record];
    // Serializing strings and numbers into a String cannot fail.
    serde_json::to_string(&Notification { records: &records }).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(bucket: &str, key: &str, size: Option<u64>, etag: Option<&str>) -> ObjectRef {
        ObjectRef {
            bucket: bucket.into(),
            key: key.into(),
            size,
            etag: etag.map(Into::into),
            time: None,
        }
    }

    const S3_EVENT: &str = r#"{"Records":[
        {"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put",
         "eventTime":"2024-03-20T10:00:00.123Z","s3":{"bucket":{"name":"raw"},"object":{"key":"logs/a+b%2Bc%C3%A9.log","size":12,"eTag":"0123abcd"}}},
        {"eventSource":"aws:s3","eventName":"ObjectRemoved:Delete",
         "s3":{"bucket":{"name":"raw"},"object":{"key":"gone.log"}}},
        {"eventSource":"aws:s3","eventName":"ObjectCreated:CompleteMultipartUpload",
         "s3":{"bucket":{"name":"raw"},"object":{"key":"big.log.gz","size":9000000}}}]}"#;

    #[test]
    fn s3_notification_with_several_records() {
        let mut first = obj("raw", "logs/a b+cé.log", Some(12), Some("0123abcd"));
        first.time = time(Some("2024-03-20T10:00:00.123Z"));
        assert!(first.time.is_some());
        assert_eq!(
            parse(S3_EVENT),
            Ok(Body::Objects(vec![
                first,
                obj("raw", "big.log.gz", Some(9000000), None),
            ]))
        );
    }

    #[test]
    fn sns_envelope() {
        let sns = serde_json::json!({
            "Type": "Notification",
            "MessageId": "m",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:t",
            "Message": S3_EVENT,
        })
        .to_string();
        assert_eq!(parse(&sns), parse(S3_EVENT));
        let test = serde_json::json!({"Type": "Notification", "Message": r#"{"Event":"s3:TestEvent","Bucket":"raw"}"#}).to_string();
        assert_eq!(parse(&test), Ok(Body::Test));
    }

    #[test]
    fn eventbridge() {
        let eb = r#"{"version":"0","detail-type":"Object Created","source":"aws.s3",
            "detail":{"bucket":{"name":"raw"},"object":{"key":"a b.log","size":5,"etag":"e1"}}}"#;
        assert_eq!(
            parse(eb),
            Ok(Body::Objects(vec![obj(
                "raw",
                "a b.log",
                Some(5),
                Some("e1")
            )]))
        );
        let deleted = r#"{"detail-type":"Object Deleted","source":"aws.s3","detail":{}}"#;
        assert_eq!(parse(deleted), Ok(Body::Objects(vec![])));
    }

    #[test]
    fn test_event_and_malformed_bodies() {
        assert_eq!(
            parse(r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"raw"}"#),
            Ok(Body::Test)
        );
        for bad in [
            "not json",
            "{}",
            r#"{"Records":5}"#,
            r#"{"Records":[{"eventName":"ObjectCreated:Put"}]}"#,
            r#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"%zz"}}}]}"#,
            r#"{"Type":"Notification","Message":"{"}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn enqueue_writes_what_it_always_wrote() {
        let t = DateTime::from_timestamp(1_700_000_000, 0);
        assert_eq!(
            s3_event("raw", "a b.log", 7, Some("e"), t),
            r#"{"Records":[{"eventName":"ObjectCreated:Put","eventSource":"aws:s3","eventTime":"2023-11-14T22:13:20.000Z","eventVersion":"2.1","s3":{"bucket":{"name":"raw"},"object":{"eTag":"e","key":"a+b.log","size":7}}}]}"#
        );
        assert_eq!(
            s3_event("raw", "k", 0, None, None),
            r#"{"Records":[{"eventName":"ObjectCreated:Put","eventSource":"aws:s3","eventTime":null,"eventVersion":"2.1","s3":{"bucket":{"name":"raw"},"object":{"eTag":null,"key":"k","size":0}}}]}"#
        );
    }

    #[test]
    fn enqueue_bodies_round_trip() {
        for key in ["plain.log", "with space/and+plus/é%.log"] {
            let t = DateTime::from_timestamp(1_700_000_000, 0);
            let body = s3_event("raw", key, 7, Some("e"), t);
            let mut want = obj("raw", key, Some(7), Some("e"));
            want.time = t;
            assert_eq!(parse(&body), Ok(Body::Objects(vec![want])));
        }
    }
}
