//! Signatures on delivery-partner webhooks. A partner signs each request
//! with the secret the business gave it:
//!
//! - `X-Signature-Timestamp`: Unix seconds when it was sent;
//! - `X-Signature`: `v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`,
//!   several comma-separated while a secret is being rotated.
//!
//! A request more than [`SIGNATURE_TOLERANCE_SECS`] away from our clock is
//! refused, so a captured request cannot be replayed later; a replay inside
//! the window is a duplicate event, which storage keeps once. The body is
//! checked as the raw bytes received, never re-serialised.
//!
//! ```
//! use chrono::DateTime;
//! use whatsapp_crm_core::commerce::signature::{sign, verify};
//!
//! let body = br#"{"event_id":"evt_1042","tracking_number":"KE123","status":"Delivered"}"#;
//! let header = sign(b"dlv_duka_secret", 1_796_112_000, body);
//! assert_eq!(header, "v1=cb6acf5ec5c3249aee66dc330cb9256d58d2de30f7d0d8a7514a08af402b5d89");
//! let now = DateTime::from_timestamp(1_796_112_060, 0).unwrap();
//! assert!(verify(b"dlv_duka_secret", "1796112000", &header, body, now).is_ok());
//! ```

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How far a request's timestamp may be from our clock, either way.
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;

/// Why a signed request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The timestamp header is missing or not Unix seconds.
    #[error("the signature timestamp is missing or not Unix seconds")]
    Timestamp,
    /// The timestamp is outside the tolerance.
    #[error(
        "the request was signed {skew_secs} s away from now (at most {SIGNATURE_TOLERANCE_SECS} s)"
    )]
    Stale {
        /// Seconds between the timestamp and now.
        skew_secs: i64,
    },
    /// The signature header holds no `v1=<hex>` entry.
    #[error("the signature header holds no v1 signature")]
    Malformed,
    /// No signature matches.
    #[error("the signature does not match")]
    Mismatch,
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `X-Signature` header for `body` sent at `timestamp` (for partners,
/// tests and local tools).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let bytes = mac(secret, timestamp, body).finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("v1={hex}")
}

/// Checks a request's signature headers against `body` at `now`.
pub fn verify(
    secret: &[u8],
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    let ts: i64 = timestamp.trim().parse().map_err(|_| SignatureError::Timestamp)?;
    let skew_secs = now.timestamp().saturating_sub(ts).saturating_abs();
    if skew_secs > SIGNATURE_TOLERANCE_SECS {
        return Err(SignatureError::Stale { skew_secs });
    }
    let candidates: Vec<Vec<u8>> = signature
        .split(',')
        .filter_map(|part| part.trim().strip_prefix("v1="))
        .filter_map(decode_hex)
        .collect();
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    // Each candidate is compared in constant time.
    let matched = candidates.iter().any(|c| mac(secret, ts, body).verify_slice(c).is_ok());
    if matched { Ok(()) } else { Err(SignatureError::Mismatch) }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    /// Vector S1 of the commerce reference (section 4.3), checked with
    /// `openssl dgst -sha256 -hmac`.
    const S1_BODY: &[u8] = br#"{"id":"evt_test_webhook","object":"event"}"#;
    const S1: &str = "v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990";

    #[test]
    fn the_reference_vector_holds_within_the_tolerance_only() {
        let secret = b"whsec_test_secret";
        assert_eq!(sign(secret, 1_700_000_000, S1_BODY), S1);
        for now in [1_700_000_000 - 300, 1_700_000_000, 1_700_000_000 + 300] {
            assert_eq!(verify(secret, "1700000000", S1, S1_BODY, at(now)), Ok(()));
        }
        assert_eq!(
            verify(secret, "1700000000", S1, S1_BODY, at(1_700_000_301)),
            Err(SignatureError::Stale { skew_secs: 301 })
        );
        assert_eq!(
            verify(secret, "1700000000", S1, S1_BODY, at(1_699_999_699)),
            Err(SignatureError::Stale { skew_secs: 301 })
        );
    }

    #[test]
    fn any_change_is_refused() {
        let (secret, now) = (b"whsec_test_secret", at(1_700_000_000));
        let mut extra = S1_BODY.to_vec();
        extra.push(b'\n');
        assert_eq!(verify(secret, "1700000000", S1, &extra, now), Err(SignatureError::Mismatch));
        assert_eq!(verify(b"other", "1700000000", S1, S1_BODY, now), Err(SignatureError::Mismatch));
        // A new timestamp on an old signature.
        assert_eq!(verify(secret, "1700000001", S1, S1_BODY, now), Err(SignatureError::Mismatch));
        assert_eq!(verify(secret, "", S1, S1_BODY, now), Err(SignatureError::Timestamp));
        assert_eq!(verify(secret, "17e8", S1, S1_BODY, now), Err(SignatureError::Timestamp));
        assert_eq!(
            verify(secret, "-9223372036854775808", S1, S1_BODY, now),
            Err(SignatureError::Stale { skew_secs: i64::MAX })
        );
        for bad in ["", "v0=abcd", "v1=xyz", "v1=abc", "d95c6b74"] {
            assert_eq!(
                verify(secret, "1700000000", bad, S1_BODY, now),
                Err(SignatureError::Malformed)
            );
        }
        let short = &S1[..S1.len() - 2];
        assert_eq!(
            verify(secret, "1700000000", short, S1_BODY, now),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_rotating_secret_may_send_several_signatures() {
        let old = sign(b"old", 1_700_000_000, S1_BODY);
        let both = format!("{old}, {S1}");
        let now = at(1_700_000_000);
        assert_eq!(verify(b"whsec_test_secret", "1700000000", &both, S1_BODY, now), Ok(()));
        assert_eq!(verify(b"old", "1700000000", &both, S1_BODY, now), Ok(()));
        assert_eq!(
            verify(b"new", "1700000000", &both, S1_BODY, now),
            Err(SignatureError::Mismatch)
        );
    }
}
