//! `x-paystack-signature`: HMAC-SHA512 of the raw body, keyed with the
//! secret key (Paystack has no separate webhook secret), as hex.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha512;

fn mac(secret: &[u8], body: &[u8]) -> Hmac<Sha512> {
    let mut m = <Hmac<Sha512> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    m.update(body);
    m
}

/// The header Paystack sends with `body` (for stand-ins and tests).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    mac(secret, body).finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `header` signs these exact bytes, compared in constant time.
pub fn verify_signature(secret: &[u8], header: &str, body: &[u8]) -> bool {
    let header = header.trim();
    if header.len() != 128 || !header.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    let bytes: Vec<u8> =
        (0..64).filter_map(|i| u8::from_str_radix(&header[2 * i..2 * i + 2], 16).ok()).collect();
    mac(secret, body).verify_slice(&bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"sk_test_example_secret_key";
    const P1: &[u8] = br#"{"event":"charge.success","data":{"reference":"ORD-1042","amount":250000,"currency":"KES","status":"success"}}"#;
    const P1_SIG: &str = "9a9d2dc815434abea085a510fd8d5722e3c9117e254f260830e7c16d35d1de554810b9f48766abe05234a45fda611e811e1217723438a47f80bb77e71fe50b08";
    const P2_SIG: &str = "e557f76171db1ee7cf18b2ce50d1179d3e8171eb4645191950f4020227aa41fc830fa24d7c381be832b6dc23c39a8cf7cb82fe2f265b662c327143a61f93295d";

    #[test]
    fn vectors_p1_and_p2() {
        assert_eq!(sign(KEY, P1), P1_SIG);
        assert!(verify_signature(KEY, P1_SIG, P1));
        let mut p2 = P1.to_vec();
        p2.push(b'\n');
        assert_eq!(sign(KEY, &p2), P2_SIG);
        assert!(!verify_signature(KEY, P1_SIG, &p2), "one extra byte");
        assert!(!verify_signature(b"another key", P1_SIG, P1));
        assert!(verify_signature(KEY, &P1_SIG.to_uppercase(), P1), "hex in either case");
        for bad in ["", "zz", &P1_SIG[..127]] {
            assert!(!verify_signature(KEY, bad, P1));
        }
    }
}
