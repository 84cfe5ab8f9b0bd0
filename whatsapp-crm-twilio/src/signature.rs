//! Webhook signatures (`X-Twilio-Signature`), checked the way Twilio's official
//! libraries check them (platform-rules 6.1).

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Secret;

/// The query parameter Twilio adds to JSON webhooks: hex SHA-256 of the body.
pub const BODY_SHA256_PARAM: &str = "bodySHA256";

/// Checks that a webhook came from Twilio: HMAC-SHA1 with the account's auth
/// token over the URL exactly as Twilio requested it plus the sorted form
/// parameters, compared in constant time.
///
/// ```
/// use whatsapp_crm_twilio::RequestValidator;
///
/// let v = RequestValidator::new("12345");
/// let params = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"),
///     ("Digits", "1234"), ("From", "+14158675309"), ("To", "+18005551212")];
/// assert!(v.validate("https://mycompany.com/myapp.php?foo=1&bar=2", params, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
/// ```
#[derive(Debug, Clone)]
pub struct RequestValidator {
    token: Secret,
}

impl RequestValidator {
    /// A validator for the account whose auth token is `auth_token`.
    pub fn new(auth_token: impl Into<String>) -> Self {
        Self { token: Secret::new(auth_token) }
    }

    /// Validates a form-encoded webhook: `url` as received (scheme, host, port,
    /// path and query untouched), `params` the decoded form fields (repeated
    /// names allowed), `signature` the `X-Twilio-Signature` header.
    pub fn validate<I, K, V>(&self, url: &str, params: I, signature: &str) -> bool
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        if signature.is_empty() {
            return false;
        }
        let canon = canonical_params(params);
        url_candidates(url)
            .iter()
            .any(|candidate| self.matches(&format!("{candidate}{canon}"), signature))
    }

    /// Validates a JSON webhook: the URL carries `bodySHA256`, which must equal
    /// the SHA-256 of the raw body, and the signature covers the URL alone.
    pub fn validate_body(&self, url: &str, body: &[u8], signature: &str) -> bool {
        let Some(expected) = query_param(url, BODY_SHA256_PARAM) else { return false };
        let actual = hex(&Sha256::digest(body));
        let hash_ok: bool =
            actual.as_bytes().ct_eq(expected.to_ascii_lowercase().as_bytes()).into();
        let sig_ok = self.validate(url, std::iter::empty::<(&str, &str)>(), signature);
        hash_ok & sig_ok
    }

    /// The signature Twilio would send for `url` and `params` (for tests and
    /// local tools that play Twilio).
    pub fn sign<I, K, V>(&self, url: &str, params: I) -> String
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        STANDARD.encode(self.mac(&format!("{url}{}", canonical_params(params))))
    }

    fn mac(&self, message: &str) -> Vec<u8> {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(self.token.expose().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(message.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    fn matches(&self, message: &str, signature: &str) -> bool {
        let expected = STANDARD.encode(self.mac(message));
        expected.as_bytes().ct_eq(signature.as_bytes()).into()
    }
}

/// Names sorted by byte order; each name's distinct values sorted; `name+value`
/// concatenated with no delimiters.
fn canonical_params<I, K, V>(params: I) -> String
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut sorted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (k, v) in params {
        sorted.entry(k.as_ref().to_owned()).or_default().insert(v.as_ref().to_owned());
    }
    let mut out = String::new();
    for (k, values) in &sorted {
        for v in values {
            out.push_str(k);
            out.push_str(v);
        }
    }
    out
}

/// The URL as given, without its port, and with the scheme's default port, each
/// also with `'` and `%27` swapped: the only variations Twilio's own libraries
/// accept. Nothing else is normalised.
fn url_candidates(url: &str) -> Vec<String> {
    let mut out = vec![url.to_owned()];
    for variant in [without_port(url), with_default_port(url)].into_iter().flatten() {
        if !out.contains(&variant) {
            out.push(variant);
        }
    }
    let quoted: Vec<String> = out
        .iter()
        .flat_map(|u| [u.replace('\'', "%27"), u.replace("%27", "'")])
        .filter(|u| !out.contains(u))
        .collect();
    out.extend(quoted);
    out.dedup();
    out
}

/// Splits `scheme://authority rest` into its parts, as written.
fn split_authority(url: &str) -> Option<(&str, &str, &str)> {
    let scheme_end = url.find("://")?;
    let start = scheme_end + 3;
    let end = url[start..].find(['/', '?', '#']).map_or(url.len(), |i| start + i);
    Some((&url[..scheme_end], &url[start..end], &url[end..]))
}

/// `(host part, port)` of an authority, keeping userinfo in the host part.
fn split_port(authority: &str) -> (&str, Option<&str>) {
    let host_start = authority.rfind('@').map_or(0, |i| i + 1);
    let host = &authority[host_start..];
    let port_sep = if host.starts_with('[') {
        host.find(']').and_then(|close| host[close..].find(':').map(|i| close + i))
    } else {
        host.rfind(':')
    };
    match port_sep {
        Some(i) if host[i + 1..].chars().all(|c| c.is_ascii_digit()) && i + 1 < host.len() => {
            (&authority[..host_start + i], Some(&host[i + 1..]))
        }
        _ => (authority, None),
    }
}

fn without_port(url: &str) -> Option<String> {
    let (scheme, authority, rest) = split_authority(url)?;
    let (host, port) = split_port(authority);
    port.map(|_| format!("{scheme}://{host}{rest}"))
}

fn with_default_port(url: &str) -> Option<String> {
    let (scheme, authority, rest) = split_authority(url)?;
    let (host, port) = split_port(authority);
    if port.is_some() {
        return None;
    }
    let default = match scheme.to_ascii_lowercase().as_str() {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    Some(format!("{scheme}://{host}:{default}{rest}"))
}

/// The raw value of a query parameter.
fn query_param<'a>(url: &'a str, name: &str) -> Option<&'a str> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    query.split('&').find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_spliced_without_touching_anything_else() {
        assert_eq!(
            without_port("https://MyCo.com:1234/a//b?x=1"),
            Some("https://MyCo.com/a//b?x=1".into())
        );
        assert_eq!(
            with_default_port("https://MyCo.com/a?x=1"),
            Some("https://MyCo.com:443/a?x=1".into())
        );
        assert_eq!(with_default_port("http://u:p@h/x"), Some("http://u:p@h:80/x".into()));
        assert_eq!(without_port("http://u:p@h:8080/x"), Some("http://u:p@h/x".into()));
        assert_eq!(without_port("http://[::1]:8080/x"), Some("http://[::1]/x".into()));
        assert_eq!(with_default_port("http://[::1]/x"), Some("http://[::1]:80/x".into()));
        assert_eq!(without_port("https://h/x"), None);
        assert_eq!(with_default_port("https://h:1/x"), None);
        assert_eq!(without_port("not a url"), None);
    }

    #[test]
    fn query_params_are_read_raw() {
        let url = "https://h/p?foo=1&bodySHA256=abc#frag";
        assert_eq!(query_param(url, "bodySHA256"), Some("abc"));
        assert_eq!(query_param(url, "bar"), None);
        assert_eq!(query_param("https://h/p", "x"), None);
    }

    #[test]
    fn odd_input_never_panics() {
        let v = RequestValidator::new("t");
        for url in ["", "://", "https://", "https://:", "https://[::1", "h?bodySHA256", "ü://ü:ü/ü"]
        {
            assert!(!v.validate(url, [("a", "b")], "sig"));
            assert!(!v.validate_body(url, b"{}", "sig"));
        }
    }
}
