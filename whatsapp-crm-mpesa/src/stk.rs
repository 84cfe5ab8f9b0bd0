//! The STK push and query: request bodies and the values they are made of.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use whatsapp_crm_core::PhoneNumber;

/// Kenya's time (EAT, UTC+3), in which Daraja reads timestamps.
fn eat() -> FixedOffset {
    FixedOffset::east_opt(3 * 3600).unwrap_or_else(|| unreachable!("a valid offset"))
}

/// `YYYYMMDDHHmmss` in Kenyan time.
pub fn timestamp(now: DateTime<Utc>) -> String {
    now.with_timezone(&eat()).format("%Y%m%d%H%M%S").to_string()
}

/// `base64(shortcode + passkey + timestamp)`: the STK password.
pub fn password(shortcode: &str, passkey: &str, timestamp: &str) -> String {
    STANDARD.encode(format!("{shortcode}{passkey}{timestamp}"))
}

/// A Kenyan number as Daraja wants it (`2547…` or `2541…`, 12 digits), or
/// `None` for any other number.
pub fn msisdn(phone: &PhoneNumber) -> Option<String> {
    let digits = phone.as_str().trim_start_matches('+');
    let ok = digits.len() == 12
        && (digits.starts_with("2547") || digits.starts_with("2541"))
        && digits.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| digits.to_owned())
}

/// `POST /mpesa/stkpush/v1/processrequest`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PushRequest {
    pub business_short_code: String,
    pub password: String,
    pub timestamp: String,
    pub transaction_type: String,
    pub amount: String,
    pub party_a: String,
    pub party_b: String,
    pub phone_number: String,
    #[serde(rename = "CallBackURL")]
    pub callback_url: String,
    pub account_reference: String,
    pub transaction_desc: String,
}

/// Its answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PushResponse {
    #[serde(rename = "CheckoutRequestID")]
    pub checkout_request_id: String,
    pub response_code: String,
    #[serde(default)]
    pub response_description: String,
}

/// `POST /mpesa/stkpushquery/v1/query`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct QueryRequest {
    pub business_short_code: String,
    pub password: String,
    pub timestamp: String,
    #[serde(rename = "CheckoutRequestID")]
    pub checkout_request_id: String,
}

/// Its answer; codes come as strings in practice, numbers in the docs.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct QueryResponse {
    #[serde(default)]
    pub result_code: Option<serde_json::Value>,
    #[serde(default)]
    pub result_desc: Option<String>,
}

/// Daraja's error body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub error_message: Option<String>,
}

/// A code that may come as a JSON string or number, as text.
pub(crate) fn code_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.trim().to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_official_password_vector() {
        let passkey = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919";
        assert_eq!(
            password("174379", passkey, "20210628092408"),
            "MTc0Mzc5YmZiMjc5ZjlhYTliZGJjZjE1OGU5N2RkNzFhNDY3Y2QyZTBjODkzMDU5YjEwZjc4ZTZiNzJhZGExZWQyYzkxOTIwMjEwNjI4MDkyNDA4"
        );
        // The query page's vector, with the substring Safaricom's page drops restored.
        assert_eq!(
            password("174379", passkey, "20160216165627"),
            "MTc0Mzc5YmZiMjc5ZjlhYTliZGJjZjE1OGU5N2RkNzFhNDY3Y2QyZTBjODkzMDU5YjEwZjc4ZTZiNzJhZGExZWQyYzkxOTIwMTYwMjE2MTY1NjI3"
        );
    }

    #[test]
    fn timestamps_are_kenyan_time_and_numbers_are_2547() {
        let t = DateTime::parse_from_rfc3339("2021-06-28T06:24:08Z").unwrap().with_timezone(&Utc);
        assert_eq!(timestamp(t), "20210628092408");
        let p = |s: &str| PhoneNumber::parse(s).unwrap();
        assert_eq!(msisdn(&p("+254712345678")).as_deref(), Some("254712345678"));
        assert_eq!(msisdn(&p("+254 110 123 456")).as_deref(), Some("254110123456"));
        assert_eq!(msisdn(&p("+255712345678")), None, "Tanzania");
        assert_eq!(msisdn(&p("+254201234567")), None, "a landline");
    }
}
