//! Reading what Daraja posts to the callback URL (platform-rules 7.3).

use serde_json::Value;
use whatsapp_crm_core::payment::PaymentOutcome;
use whatsapp_crm_core::ports::{PaymentProviderError, ProviderEvent};
use whatsapp_crm_core::{Currency, Money};

use crate::codes::ResultCode;

/// An STK callback, read.
#[derive(Debug, Clone, PartialEq)]
pub struct StkCallback {
    /// Daraja's id of the request.
    pub merchant_request_id: String,
    /// The push's id: our attempt's provider reference.
    pub checkout_request_id: String,
    /// The result code, as text.
    pub result_code: String,
    /// Its description.
    pub result_desc: String,
    /// `Amount`, when present.
    pub amount: Option<f64>,
    /// `MpesaReceiptNumber`, when present.
    pub receipt: Option<String>,
    /// `PhoneNumber`, when present.
    pub phone: Option<String>,
    /// `TransactionDate` (`YYYYMMDDHHmmss`), when present.
    pub transaction_date: Option<String>,
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Reads a callback body. Metadata items are found by `Name`, whatever
/// their order and the JSON type of their `Value` (an item may have none).
pub fn parse_callback(body: &[u8]) -> Result<StkCallback, PaymentProviderError> {
    let bad = |m: &str| PaymentProviderError::Malformed(m.to_owned());
    let json: Value = serde_json::from_slice(body).map_err(|e| bad(&e.to_string()))?;
    let cb = json.pointer("/Body/stkCallback").ok_or_else(|| bad("no Body.stkCallback"))?;
    let field = |name: &str| cb.get(name).and_then(text);
    let checkout_request_id = field("CheckoutRequestID")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("no CheckoutRequestID"))?;
    let result_code = field("ResultCode").ok_or_else(|| bad("no ResultCode"))?;
    let items = cb.pointer("/CallbackMetadata/Item").and_then(Value::as_array);
    let item = |name: &str| {
        items.and_then(|all| {
            all.iter()
                .find(|i| i.get("Name").and_then(Value::as_str) == Some(name))?
                .get("Value")
                .cloned()
        })
    };
    Ok(StkCallback {
        merchant_request_id: field("MerchantRequestID").unwrap_or_default(),
        checkout_request_id,
        result_code,
        result_desc: field("ResultDesc").unwrap_or_default(),
        amount: item("Amount").as_ref().and_then(number),
        receipt: item("MpesaReceiptNumber").as_ref().and_then(text),
        phone: item("PhoneNumber").as_ref().and_then(text),
        transaction_date: item("TransactionDate").as_ref().and_then(text),
    })
}

impl StkCallback {
    /// The amount in KES minor units, when present and a whole number of cents.
    pub fn amount_kes(&self) -> Option<Money> {
        let minor = (self.amount? * 100.0).round();
        (0.0..1e15).contains(&minor).then(|| Money::new(minor as i64, Currency::KES))
    }

    /// As a provider event. A success carries the amount the callback
    /// names (none when it names none: it then cannot settle anything).
    pub fn event(&self) -> ProviderEvent {
        let code = ResultCode::parse(&self.result_code);
        let amount = self.amount_kes();
        let outcome = match code {
            ResultCode::Success => PaymentOutcome::Succeeded {
                amount: amount.unwrap_or(Money::zero(Currency::KES)),
                receipt: self.receipt.clone(),
            },
            other => {
                other.outcome(&self.result_code, &self.result_desc, Money::zero(Currency::KES))
            }
        };
        ProviderEvent {
            reference: self.checkout_request_id.clone(),
            kind: "stk_callback".into(),
            outcome,
            amount,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_success_and_failure() {
        let ok = br#"{"Body":{"stkCallback":{"MerchantRequestID":"29115-34620561-1","CheckoutRequestID":"ws_CO_191220191020363925","ResultCode":0,"ResultDesc":"The service request is processed successfully.","CallbackMetadata":{"Item":[{"Name":"Amount","Value":1.00},{"Name":"MpesaReceiptNumber","Value":"NLJ7RT61SV"},{"Name":"TransactionDate","Value":20191219102115},{"Name":"PhoneNumber","Value":254708374149}]}}}}"#;
        let cb = parse_callback(ok).unwrap();
        assert_eq!(cb.checkout_request_id, "ws_CO_191220191020363925");
        assert_eq!((cb.result_code.as_str(), cb.receipt.as_deref()), ("0", Some("NLJ7RT61SV")));
        assert_eq!(cb.amount_kes(), Some(Money::new(100, Currency::KES)));
        assert_eq!(cb.phone.as_deref(), Some("254708374149"));
        assert_eq!(cb.transaction_date.as_deref(), Some("20191219102115"));
        assert!(matches!(cb.event().outcome, PaymentOutcome::Succeeded { .. }));
        let cancelled = br#"{"Body":{"stkCallback":{"MerchantRequestID":"1","CheckoutRequestID":"ws_CO_2","ResultCode":1032,"ResultDesc":"Request cancelled by user"}}}"#;
        let cb = parse_callback(cancelled).unwrap();
        assert!(matches!(cb.event().outcome, PaymentOutcome::Cancelled { .. }));
        assert_eq!(cb.amount, None);
    }

    #[test]
    fn items_are_read_by_name_with_any_value_type() {
        let body = br#"{"Body":{"stkCallback":{"CheckoutRequestID":"ws_CO_3","ResultCode":"0","ResultDesc":"ok","CallbackMetadata":{"Item":[{"Name":"Balance"},{"Name":"PhoneNumber","Value":"254708374149"},{"Name":"MpesaReceiptNumber","Value":"QK12AB34CD"},{"Name":"Amount","Value":"690"}]}}}}"#;
        let cb = parse_callback(body).unwrap();
        assert_eq!(cb.amount_kes(), Some(Money::new(69_000, Currency::KES)));
        assert_eq!(cb.receipt.as_deref(), Some("QK12AB34CD"));
        for bad in
            [&b"not json"[..], br#"{"Body":{}}"#, br#"{"Body":{"stkCallback":{"ResultCode":0}}}"#]
        {
            assert!(parse_callback(bad).is_err());
        }
    }
}
