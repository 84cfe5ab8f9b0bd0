//! Daraja's result codes (platform-rules 7.4), each with its meaning.

use whatsapp_crm_core::payment::PaymentOutcome;

/// What an STK callback's or query's `ResultCode` means.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResultCode {
    /// `0`: paid.
    Success,
    /// `1`: not enough money in the customer's M-Pesa.
    InsufficientBalance,
    /// `2`: below the minimum (KES 1).
    BelowMinimum,
    /// `3`: above the maximum for one transaction.
    AboveMaximum,
    /// `4`: would pass the customer's daily limit.
    DailyLimit,
    /// `8`: would pass the Paybill or Till's maximum balance.
    MerchantBalanceLimit,
    /// `17`: the same amount to the same customer within two minutes.
    RuleLimited,
    /// `1001`: another transaction is in progress for the customer.
    SubscriberLocked,
    /// `1019`: the transaction expired.
    Expired,
    /// `1025`: the prompt could not be sent (it was too long).
    PushFailed,
    /// `1032`: the customer cancelled.
    Cancelled,
    /// `1037`: the customer's phone could not be reached in time.
    Unreachable,
    /// `2001`: wrong PIN.
    WrongPin,
    /// `2028`: the shortcode may not take this kind of payment.
    NotPermitted,
    /// `8006`: the security credential is locked.
    CredentialLocked,
    /// `SFC_IC0003`: no such operator (wrong transaction type or party).
    NoSuchOperator,
    /// `9999`: Daraja's own error.
    SystemError,
    /// Any code Daraja does not document.
    Other(String),
}

impl ResultCode {
    /// Reads a code, given as text or number.
    pub fn parse(code: &str) -> Self {
        match code.trim() {
            "0" => Self::Success,
            "1" => Self::InsufficientBalance,
            "2" => Self::BelowMinimum,
            "3" => Self::AboveMaximum,
            "4" => Self::DailyLimit,
            "8" => Self::MerchantBalanceLimit,
            "17" => Self::RuleLimited,
            "1001" => Self::SubscriberLocked,
            "1019" => Self::Expired,
            "1025" => Self::PushFailed,
            "1032" => Self::Cancelled,
            "1037" => Self::Unreachable,
            "2001" => Self::WrongPin,
            "2028" => Self::NotPermitted,
            "8006" => Self::CredentialLocked,
            "SFC_IC0003" => Self::NoSuchOperator,
            "9999" => Self::SystemError,
            other => Self::Other(other.to_owned()),
        }
    }

    /// What it means for the payment, given what was asked (a successful
    /// STK push charges exactly that).
    pub fn outcome(
        &self,
        code: &str,
        desc: &str,
        asked: whatsapp_crm_core::Money,
    ) -> PaymentOutcome {
        match self {
            Self::Success => PaymentOutcome::Succeeded { amount: asked, receipt: None },
            Self::Cancelled => PaymentOutcome::Cancelled { reason: desc.to_owned() },
            Self::Expired | Self::Unreachable => PaymentOutcome::Expired,
            _ => PaymentOutcome::Failed { code: code.trim().to_owned(), reason: desc.to_owned() },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use whatsapp_crm_core::{Currency, Money};

    #[test]
    fn every_documented_code_has_its_meaning() {
        let asked = Money::new(100, Currency::KES);
        let cases = [
            ("0", "succeeded"),
            ("1", "failed"),
            ("2", "failed"),
            ("3", "failed"),
            ("4", "failed"),
            ("8", "failed"),
            ("17", "failed"),
            ("1001", "failed"),
            ("1019", "expired"),
            ("1025", "failed"),
            ("1032", "cancelled"),
            ("1037", "expired"),
            ("2001", "failed"),
            ("2028", "failed"),
            ("8006", "failed"),
            ("SFC_IC0003", "failed"),
            ("9999", "failed"),
        ];
        for (code, want) in cases {
            let r = ResultCode::parse(code);
            assert!(!matches!(r, ResultCode::Other(_)), "{code} is documented");
            let got = match r.outcome(code, "x", asked) {
                PaymentOutcome::Succeeded { .. } => "succeeded",
                PaymentOutcome::Failed { .. } => "failed",
                PaymentOutcome::Cancelled { .. } => "cancelled",
                PaymentOutcome::Expired => "expired",
                other => panic!("{other:?}"),
            };
            assert_eq!(got, want, "{code}");
        }
        assert_eq!(ResultCode::parse("4242"), ResultCode::Other("4242".into()));
    }
}
