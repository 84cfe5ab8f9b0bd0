//! Starting a payment: an attempt for what the order still owes, handed to
//! the provider.

use chrono::Duration;
use sha2::{Digest, Sha256};

use crate::domain::{
    AttributeValue, Business, Order, OrderStatus, PaymentAttempt, PaymentId, PaymentStatus,
    PhoneNumber, ValidationError,
};
use crate::payment::{PaymentOutcome, Step, coverage, step};
use crate::ports::{NextStep, PaymentQuery, PaymentRequest, to_storage_precision};
use crate::service::ServiceError;
use crate::service::commerce::random_hex;

use super::Payments;

/// Bytes of randomness in an M-Pesa callback URL's token.
const CALLBACK_TOKEN_BYTES: usize = 32;
/// Longest email accepted for a card payment.
const EMAIL_MAX_CHARS: usize = 254;

/// How the customer pays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayWith {
    /// An M-Pesa PIN prompt to this number.
    Mpesa {
        /// The number, as Kenyans write it (`0712 345 678`, `2547…`,
        /// `+2547…`).
        phone: String,
    },
    /// A card checkout page (Paystack), receipts to this email (else the
    /// customer's `email` attribute).
    Card {
        /// The payer's email.
        email: Option<String>,
    },
}

/// The hash a callback token is stored and found by.
pub(super) fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Why an M-Pesa number is refused.
const MPESA_PHONE_RULE: &str =
    "an M-Pesa number in Kenya: 07… or 01… (10 digits), 2547… or +2547… (12 digits)";

/// The number to prompt, as Kenyans write it: `0712 345 678`, `254712345678`
/// or `+254 712 345 678`. M-Pesa Express prompts Safaricom mobile numbers
/// only (`+2547…`, `+2541…`), so anything else is refused here rather than
/// by Daraja after an attempt was made.
pub(crate) fn mpesa_phone(input: &str) -> Result<PhoneNumber, ValidationError> {
    let refuse = || ValidationError::field("phone", MPESA_PHONE_RULE);
    let trimmed = input.trim();
    let spelled = if trimmed.starts_with('+') || trimmed.starts_with("00") {
        trimmed.to_owned()
    } else {
        let digits: String =
            trimmed.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(refuse());
        }
        match digits.strip_prefix('0') {
            Some(local) if local.len() == 9 => format!("+254{local}"),
            _ if digits.starts_with("254") => format!("+{digits}"),
            _ => return Err(refuse()),
        }
    };
    let phone = PhoneNumber::parse(&spelled).map_err(|_| refuse())?;
    let digits = phone.as_str().trim_start_matches('+');
    let mobile = digits.starts_with("2547") || digits.starts_with("2541");
    if mobile && digits.len() == 12 { Ok(phone) } else { Err(refuse()) }
}

fn email_ok(e: &str) -> bool {
    let Some((user, host)) = e.split_once('@') else { return false };
    !user.is_empty()
        && host.contains('.')
        && e.len() <= EMAIL_MAX_CHARS
        && !e.contains(char::is_whitespace)
}

impl Payments {
    /// Starts paying `order` (awaiting payment) for what it still owes.
    pub async fn start(
        &self,
        business: crate::domain::BusinessId,
        order: crate::domain::OrderId,
        with: PayWith,
    ) -> Result<PaymentAttempt, ServiceError> {
        let b = self.storage.get_business(business).await?;
        let o = self.storage.get_order(business, order).await?;
        self.start_for(&b, &o, with, None).await
    }

    /// Starts paying `o`; a card payment returns to `back` (by default a
    /// page that says the shop confirms in chat).
    pub(super) async fn start_for(
        &self,
        b: &Business,
        o: &Order,
        with: PayWith,
        back: Option<String>,
    ) -> Result<PaymentAttempt, ServiceError> {
        let config = self.config()?;
        if o.status != OrderStatus::AwaitingPayment {
            return Err(ServiceError::InvalidState {
                message: format!(
                    "only an order awaiting payment is paid; this one is {}",
                    crate::ports::enum_to_text(&o.status).unwrap_or_default()
                ),
            });
        }
        let owed = self.owed(b, o).await?;
        if owed.minor <= 0 {
            return Err(ServiceError::InvalidState { message: "the order is paid already".into() });
        }
        let customer = self.storage.get_customer(b.id, o.customer_id).await?;
        let now = to_storage_precision(self.clock.now());
        let id = PaymentId::new();
        let (provider, phone, email, token) = match &with {
            PayWith::Mpesa { phone } => {
                let phone = mpesa_phone(phone)?;
                ("mpesa", Some(phone), None, Some(random_hex(CALLBACK_TOKEN_BYTES)?))
            }
            PayWith::Card { email } => {
                let email =
                    email.clone().map(|e| e.trim().to_owned()).filter(|e| !e.is_empty()).or_else(
                        || match customer.attributes.get("email") {
                            Some(AttributeValue::Text(e)) => Some(e.clone()),
                            _ => None,
                        },
                    );
                let email = email.filter(|e| email_ok(e)).ok_or_else(|| {
                    ValidationError::field("email", "give an email address for the card receipt")
                })?;
                ("paystack", None, Some(email), None)
            }
        };
        let p = self.provider(provider)?.clone();
        let callback_url = match &token {
            Some(t) => format!("{}/webhooks/mpesa/{t}", config.public_url),
            None => back.unwrap_or_else(|| format!("{}/pay/done", config.public_url)),
        };
        let attempt = PaymentAttempt {
            id,
            business_id: b.id,
            order_id: o.id,
            customer_id: o.customer_id,
            provider: provider.into(),
            amount: owed,
            status: PaymentStatus::Pending,
            provider_reference: None,
            receipt: None,
            paid: None,
            phone: phone.clone(),
            checkout_url: None,
            failure: None,
            flags: Vec::new(),
            created_at: now,
            updated_at: now,
            settled_at: None,
            checks: 0,
            next_check_at: Some(now + Duration::seconds(config.first_check_secs)),
            receipt_message_id: None,
            receipt_skipped: None,
        };
        self.storage.insert_payment(&attempt, token.as_deref().map(token_hash)).await?;
        let request = PaymentRequest {
            payment_id: id,
            amount: owed,
            phone,
            email,
            account_reference: o.reference(),
            description: b.name.clone(),
            callback_url,
        };
        let started = match p.start(&request).await {
            Ok(s) => s,
            Err(e) => {
                let failed = PaymentOutcome::Failed { code: "start".into(), reason: e.to_string() };
                if let Ok(Step::Moved(next)) = step(&attempt, &failed, now) {
                    let mut next = *next;
                    next.next_check_at = None;
                    self.storage.update_payment(&next, attempt.status).await?;
                }
                return Err(ServiceError::Payment(e));
            }
        };
        let prompted = PaymentOutcome::Prompted { reference: started.reference };
        let Ok(Step::Moved(next)) = step(&attempt, &prompted, now) else {
            return Ok(attempt);
        };
        let mut next = *next;
        if let NextStep::Redirect { url } = started.next {
            next.checkout_url = Some(url);
        }
        self.storage.update_payment(&next, attempt.status).await?;
        tracing::info!(business = %b.id, order = %o.id, payment = %next.id, provider, "payment started");
        Ok(next)
    }

    /// What the order still owes: its total less what succeeded attempts paid.
    pub(super) async fn owed(
        &self,
        b: &Business,
        o: &Order,
    ) -> Result<crate::domain::Money, ServiceError> {
        let paid = self.settled(b, o).await?;
        Ok(match coverage(o.total, &paid) {
            crate::payment::Coverage::Short(m) => crate::domain::Money::new(m, o.total.currency),
            _ => crate::domain::Money::zero(o.total.currency),
        })
    }

    /// What succeeded attempts of the order paid.
    pub(super) async fn settled(
        &self,
        b: &Business,
        o: &Order,
    ) -> Result<Vec<crate::domain::Money>, ServiceError> {
        let q = PaymentQuery {
            order: Some(o.id),
            status: Some(PaymentStatus::Succeeded),
            limit: crate::ports::PAGE_LIMIT_MAX,
            after: None,
        };
        let page = self.storage.list_payments(b.id, &q).await?;
        Ok(page.items.iter().filter_map(|p| p.paid).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::mpesa_phone;

    #[test]
    fn mpesa_numbers_are_read_as_kenyans_write_them() {
        for spelled in ["0712 345 678", "0712-345-678", "254712345678", "+254 712 345 678"] {
            assert_eq!(mpesa_phone(spelled).unwrap().as_str(), "+254712345678", "{spelled}");
        }
        assert_eq!(mpesa_phone("0110 123 456").unwrap().as_str(), "+254110123456");
        for refused in
            ["", "0712", "+254201234567", "+255712345678", "712345678", "07123456789", "07l2345678"]
        {
            assert!(mpesa_phone(refused).is_err(), "{refused}");
        }
    }
}
