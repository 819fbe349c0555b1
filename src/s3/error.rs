//! S3 and SQS failures in the user's terms.

use super::*;

/// An I/O error carrying an S3 error's message (the caller names the object).
pub(super) fn io_error(e: Error) -> std::io::Error {
    let kind = match &e {
        Error::S3 {
            kind: S3ErrorKind::NoSuchKey,
            ..
        } => std::io::ErrorKind::NotFound,
        Error::S3 {
            kind: S3ErrorKind::AccessDenied,
            ..
        } => std::io::ErrorKind::PermissionDenied,
        _ => std::io::ErrorKind::Other,
    };
    match e {
        Error::S3 { message, .. } => std::io::Error::new(kind, message),
        e => std::io::Error::new(kind, e),
    }
}

/// One line for a failed request: what went wrong in the user's terms, not an SDK dump.
pub fn s3_error<E>(uri: &str, e: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (kind, message) = describe(&e, "S3");
    Error::S3 {
        uri: uri.to_owned(),
        kind,
        message,
    }
}

/// The kind and one-line message of a failed AWS request; `service` names the endpoint
/// in connection errors ("S3", "SQS"). Service error codes are S3's.
pub(crate) fn describe<E>(e: &SdkError<E, HttpResponse>, service: &str) -> (S3ErrorKind, String)
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    use S3ErrorKind::*;
    match e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            let code = err.code().unwrap_or("");
            let detail = err.message().map(|m| format!(": {m}")).unwrap_or_default();
            match code {
                // HeadBucket's 404 has no body, only the code "NotFound".
                "NoSuchBucket" | "NotFound" => (NoSuchBucket, "no such bucket".into()),
                "NoSuchKey" => (
                    NoSuchKey,
                    "no such object (deleted since it was listed?)".into(),
                ),
                "PreconditionFailed" => {
                    (NoSuchKey, "the object changed since it was listed".into())
                }
                "AccessDenied" | "AllAccessDisabled" | "Forbidden" => {
                    let detail = if detail.eq_ignore_ascii_case(": access denied") {
                        String::new()
                    } else {
                        detail
                    };
                    (AccessDenied, format!("access denied{detail}"))
                }
                "InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
                | "ExpiredToken"
                | "InvalidToken"
                | "TokenRefreshRequired" => (
                    Credentials,
                    format!("the AWS credentials were refused ({code}){detail}"),
                ),
                "PermanentRedirect" | "AuthorizationHeaderMalformed" => (
                    Other,
                    format!("the bucket is in another region: set AWS_REGION ({code}){detail}"),
                ),
                "" => match e.raw_response().map(|r| r.status().as_u16()) {
                    Some(404) => (NoSuchBucket, "not found (no such bucket?)".into()),
                    Some(403) => (AccessDenied, "access denied (HTTP 403)".into()),
                    Some(301) => (
                        Other,
                        "the bucket is in another region: set AWS_REGION".into(),
                    ),
                    Some(s) => (Other, format!("the request failed with HTTP {s}")),
                    None => (Other, "the request failed".into()),
                },
                _ => (Other, format!("{code}{detail}")),
            }
        }
        SdkError::DispatchFailure(d) => {
            let text = chain(e);
            if text.contains("credentials") || d.is_user() && text.contains("identity") {
                (
                    Credentials,
                    "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
                     or AWS_PROFILE, or run with an IAM role"
                        .into(),
                )
            } else if d.is_timeout() {
                (
                    Unreachable,
                    format!("the {service} endpoint timed out ({})", innermost(e)),
                )
            } else if d.is_io() {
                (
                    Unreachable,
                    format!("cannot reach the {service} endpoint ({})", innermost(e)),
                )
            } else {
                (Other, text)
            }
        }
        SdkError::TimeoutError(_) => (Unreachable, "the request timed out".into()),
        _ => {
            let text = chain(e);
            if text.contains("credentials") {
                (Credentials, format!("no usable AWS credentials: {text}"))
            } else {
                (Other, text)
            }
        }
    }
}

/// The innermost cause's message (e.g. "Connection refused (os error 111)").
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
