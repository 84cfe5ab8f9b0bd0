//! Payment link tokens: `https://{public}/pay/{token}`. A token names a
//! business, one of its orders and when it stops working, signed with the
//! business's link key (HMAC-SHA256), so it cannot be made for another
//! order or stretched in time.
//!
//! Layout before base64url (no padding): the business id (16 bytes), the
//! order id (16 bytes), the expiry as Unix seconds (8 bytes, big-endian),
//! then the first 16 bytes of HMAC-SHA256(key, those 40 bytes). 75
//! characters in all. [`link_business`] reads the business (to find its
//! key) before [`verify_link`] checks the rest.

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::domain::{BusinessId, OrderId};

const BODY: usize = 40;
const TAG: usize = 16;

/// What a valid token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkToken {
    /// The business.
    pub business_id: BusinessId,
    /// The order to pay.
    pub order_id: OrderId,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
}

/// Why a token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// Not a token at all.
    #[error("not a payment link")]
    Malformed,
    /// Made with another key, or altered.
    #[error("the payment link is not valid")]
    Forged,
    /// Past its time.
    #[error("the payment link has expired")]
    Expired,
}

fn mac(key: &[u8], body: &[u8]) -> Hmac<Sha256> {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    m.update(body);
    m
}

/// The token for paying `business`'s `order` until `expires_at`.
pub fn sign_link(
    key: &[u8],
    business: BusinessId,
    order: OrderId,
    expires_at: DateTime<Utc>,
) -> String {
    let mut raw = Vec::with_capacity(BODY + TAG);
    raw.extend_from_slice(business.as_uuid().as_bytes());
    raw.extend_from_slice(order.as_uuid().as_bytes());
    raw.extend_from_slice(&expires_at.timestamp().to_be_bytes());
    let tag = mac(key, &raw).finalize().into_bytes();
    raw.extend_from_slice(&tag[..TAG]);
    base64url(&raw)
}

fn decode(token: &str) -> Result<Vec<u8>, LinkError> {
    let raw = from_base64url(token).ok_or(LinkError::Malformed)?;
    if raw.len() != BODY + TAG {
        return Err(LinkError::Malformed);
    }
    Ok(raw)
}

fn uuid_at(raw: &[u8], at: usize) -> uuid::Uuid {
    let mut id = [0u8; 16];
    id.copy_from_slice(&raw[at..at + 16]);
    uuid::Uuid::from_bytes(id)
}

/// The business a token claims to be from, unchecked: where to find the
/// key that [`verify_link`] checks it with.
pub fn link_business(token: &str) -> Result<BusinessId, LinkError> {
    Ok(BusinessId::from_uuid(uuid_at(&decode(token)?, 0)))
}

/// Checks a token at `now`: the business, order and expiry it names, or
/// why not.
pub fn verify_link(key: &[u8], token: &str, now: DateTime<Utc>) -> Result<LinkToken, LinkError> {
    let raw = decode(token)?;
    let (body, tag) = raw.split_at(BODY);
    mac(key, body).verify_truncated_left(tag).map_err(|_| LinkError::Forged)?;
    let mut secs = [0u8; 8];
    secs.copy_from_slice(&body[32..]);
    let expires_at =
        DateTime::from_timestamp(i64::from_be_bytes(secs), 0).ok_or(LinkError::Malformed)?;
    if now >= expires_at {
        return Err(LinkError::Expired);
    }
    Ok(LinkToken {
        business_id: BusinessId::from_uuid(uuid_at(body, 0)),
        order_id: OrderId::from_uuid(uuid_at(body, 16)),
        expires_at,
    })
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

fn from_base64url(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = ALPHABET.iter().position(|a| *a == c)? as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits & 0xff) as u8);
        }
    }
    // Leftover bits must be zero padding, so each token has one spelling.
    (acc & ((1 << bits) - 1) == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(s, 0).unwrap()
    }

    #[test]
    fn a_link_names_its_order_until_it_expires() {
        let (business, order) = (BusinessId::new(), OrderId::new());
        let token = sign_link(b"link key", business, order, at(1_800_000_000));
        assert_eq!(token.len(), 75);
        assert_eq!(link_business(&token), Ok(business));
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let ok = verify_link(b"link key", &token, at(1_799_999_999)).unwrap();
        assert_eq!(
            (ok.business_id, ok.order_id, ok.expires_at),
            (business, order, at(1_800_000_000))
        );
        assert_eq!(verify_link(b"link key", &token, at(1_800_000_000)), Err(LinkError::Expired));
        assert_eq!(verify_link(b"other key", &token, at(0)), Err(LinkError::Forged));
    }

    #[test]
    fn altered_or_garbled_tokens_are_refused() {
        let token = sign_link(b"k", BusinessId::new(), OrderId::new(), at(1_800_000_000));
        for i in 0..token.len() {
            let mut t = token.clone().into_bytes();
            t[i] = if t[i] == b'A' { b'B' } else { b'A' };
            let t = String::from_utf8(t).unwrap();
            assert!(verify_link(b"k", &t, at(0)).is_err(), "changed at {i}");
        }
        for bad in ["", "abc", "!!!!", &token[..74], &format!("{token}A")] {
            assert!(verify_link(b"k", bad, at(0)).is_err(), "{bad}");
        }
        let bytes: Vec<u8> = (0u8..=255).collect();
        assert_eq!(from_base64url(&base64url(&bytes)).unwrap(), bytes);
    }
}
