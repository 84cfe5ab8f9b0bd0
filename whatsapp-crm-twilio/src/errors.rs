//! Twilio's error responses, mapped onto the core's typed errors.
//! Codes and their meaning: platform-rules 5.3 and 3.4.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::Deserialize;
use whatsapp_crm_core::TransportError;
use whatsapp_crm_core::ports::RegistryError;

/// Too many concurrent REST requests; always safe to retry.
pub const CODE_TOO_MANY_REQUESTS: u32 = 20429;
/// Free-form message outside the 24-hour window.
pub const CODE_OUTSIDE_WINDOW: u32 = 63016;
/// Sender rate or messaging-limit tier exceeded.
pub const CODE_RATE_LIMIT: u32 = 63018;
/// Codes meaning the recipient cannot receive WhatsApp messages: invalid
/// recipient, channel could not find the address, invalid `To`, not a mobile number.
pub const INVALID_RECIPIENT_CODES: &[u32] = &[63024, 63003, 21211, 21614];
/// Codes meaning the recipient blocked the business or stopped marketing.
pub const OPTED_OUT_CODES: &[u32] = &[63014, 131050, 21610];
/// Codes meaning the content was refused: bad variables, media too large, body
/// too long, template problems.
pub const INVALID_CONTENT_CODES: &[u32] = &[21656, 11751, 21617, 63027, 63028, 63029, 63021];
/// Codes meaning our credentials or sender configuration are wrong.
pub const UNAUTHORIZED_CODES: &[u32] = &[20003, 20005, 63007, 21606];

/// Twilio's JSON error body (`{"code", "message", "more_info", "status"}`).
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    code: Option<u32>,
    message: Option<String>,
}

/// A non-success answer from Twilio.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub http: StatusCode,
    pub code: Option<u32>,
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl Failure {
    /// Reads whatever Twilio sent; a body that is not its JSON error still yields
    /// a failure naming the HTTP status.
    pub fn from_response(http: StatusCode, headers: &HeaderMap, body: &[u8]) -> Self {
        let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
        let message = parsed
            .message
            .unwrap_or_else(|| format!("unexpected response (HTTP {})", http.as_u16()));
        Self { http, code: parsed.code, message, retry_after: retry_after(headers) }
    }

    fn is_throttled(&self) -> bool {
        self.http == StatusCode::TOO_MANY_REQUESTS
            || matches!(self.code, Some(CODE_TOO_MANY_REQUESTS | CODE_RATE_LIMIT))
    }
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

impl From<Failure> for TransportError {
    fn from(f: Failure) -> Self {
        let code = f.code;
        if f.is_throttled() {
            return TransportError::RateLimited {
                code: code.or(Some(CODE_TOO_MANY_REQUESTS)),
                retry_after: f.retry_after,
            };
        }
        if f.http.is_server_error() {
            return TransportError::Unavailable {
                code,
                message: f.message,
                retry_after: f.retry_after,
            };
        }
        match code {
            Some(CODE_OUTSIDE_WINDOW) => {
                TransportError::OutsideWindow { code: CODE_OUTSIDE_WINDOW }
            }
            Some(c) if INVALID_RECIPIENT_CODES.contains(&c) => {
                TransportError::InvalidRecipient { code: c }
            }
            Some(c) if OPTED_OUT_CODES.contains(&c) => {
                TransportError::RecipientOptedOut { code: c }
            }
            Some(c) if INVALID_CONTENT_CODES.contains(&c) => {
                TransportError::InvalidContent { code: c, message: f.message }
            }
            Some(c) if UNAUTHORIZED_CODES.contains(&c) => {
                TransportError::Unauthorized { code: Some(c) }
            }
            _ if f.http == StatusCode::UNAUTHORIZED || f.http == StatusCode::FORBIDDEN => {
                TransportError::Unauthorized { code }
            }
            _ => TransportError::Rejected { code, message: f.message },
        }
    }
}

impl From<Failure> for RegistryError {
    fn from(f: Failure) -> Self {
        if f.is_throttled() || f.http.is_server_error() {
            return RegistryError::Unavailable { message: f.message, retry_after: f.retry_after };
        }
        match f.http {
            StatusCode::NOT_FOUND => RegistryError::NotFound,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => RegistryError::Unauthorized,
            _ => RegistryError::Rejected { code: f.code, message: f.message },
        }
    }
}

/// A request that never got an answer: timeouts, refused or reset connections.
pub(crate) fn network(e: reqwest::Error) -> String {
    // reqwest errors can carry the URL; ours never holds secrets, but keep it short.
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "response body failed"
    } else {
        "request failed"
    };
    format!("{kind}: {}", e.without_url())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(http: u16, body: &str) -> Failure {
        Failure::from_response(
            StatusCode::from_u16(http).unwrap(),
            &HeaderMap::new(),
            body.as_bytes(),
        )
    }

    #[test]
    fn codes_map_to_typed_variants() {
        let t = |http, code: u32| {
            TransportError::from(failure(http, &format!(r#"{{"code":{code},"message":"m"}}"#)))
        };
        assert_eq!(t(400, 63016), TransportError::OutsideWindow { code: 63016 });
        assert_eq!(t(400, 21211), TransportError::InvalidRecipient { code: 21211 });
        assert_eq!(t(400, 63024), TransportError::InvalidRecipient { code: 63024 });
        assert!(matches!(t(400, 21656), TransportError::InvalidContent { code: 21656, .. }));
        assert!(matches!(t(400, 63018), TransportError::RateLimited { code: Some(63018), .. }));
        assert!(matches!(t(401, 20003), TransportError::Unauthorized { code: Some(20003) }));
        assert!(matches!(t(400, 12345), TransportError::Rejected { code: Some(12345), .. }));
        assert!(t(503, 0).is_retryable());
    }

    #[test]
    fn garbage_bodies_never_panic() {
        for body in ["", "<html>oops</html>", "{", "{\"code\": \"not a number\"}", "null"] {
            let e = TransportError::from(failure(400, body));
            assert!(matches!(e, TransportError::Rejected { code: None, .. }), "{body}: {e:?}");
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(RETRY_AFTER, "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }
}
