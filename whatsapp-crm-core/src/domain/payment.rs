//! Payment attempts for orders, and the provider events behind them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{BusinessId, CustomerId, MessageId, Money, OrderId, PaymentId, PhoneNumber};

/// Where a payment attempt is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Made, not yet with the provider.
    Pending,
    /// With the provider; the customer is being asked.
    Prompted,
    /// Paid.
    Succeeded,
    /// Refused by the provider.
    Failed,
    /// Declined by the customer.
    Cancelled,
    /// No final answer in time.
    Expired,
}

impl PaymentStatus {
    /// No report moves it on (except a late success, which is recorded).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled | Self::Expired)
    }

    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Prompted => "prompted",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
        }
    }
}

/// One try at paying an order, through one provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentAttempt {
    /// Attempt id.
    pub id: PaymentId,
    /// Owning business.
    pub business_id: BusinessId,
    /// The order it pays.
    pub order_id: OrderId,
    /// Who pays.
    pub customer_id: CustomerId,
    /// `mpesa`, `paystack`, or `manual`.
    pub provider: String,
    /// What was asked.
    pub amount: Money,
    /// Where it is.
    pub status: PaymentStatus,
    /// The provider's reference (M-Pesa `CheckoutRequestID`, Paystack
    /// `reference`), unique per provider.
    pub provider_reference: Option<String>,
    /// The provider's receipt (M-Pesa receipt number, card reference).
    pub receipt: Option<String>,
    /// What was paid, once it succeeded.
    pub paid: Option<Money>,
    /// The M-Pesa number prompted.
    pub phone: Option<PhoneNumber>,
    /// The card checkout page.
    pub checkout_url: Option<String>,
    /// Why it failed, was cancelled or expired.
    pub failure: Option<String>,
    /// What a person should look at: another amount than asked, a payment
    /// after it was given up on.
    pub flags: Vec<String>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it succeeded.
    pub settled_at: Option<DateTime<Utc>>,
    /// Status queries made while waiting for the provider.
    #[serde(default)]
    pub checks: u32,
    /// When the provider is next asked, while the attempt is open.
    #[serde(default)]
    pub next_check_at: Option<DateTime<Utc>>,
    /// The receipt sent for it, once it succeeded.
    #[serde(default)]
    pub receipt_message_id: Option<MessageId>,
    /// Why no receipt was sent, when none could be.
    #[serde(default)]
    pub receipt_skipped: Option<String>,
}

/// An order's payment link: where it was sent, when it stops working, and
/// its reminders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentLink {
    /// Owning business.
    pub business_id: BusinessId,
    /// The order it pays.
    pub order_id: OrderId,
    /// The token in `/pay/{token}`.
    pub token: String,
    /// The whole URL.
    pub url: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was (last) sent.
    pub sent_at: DateTime<Utc>,
    /// Reminders sent so far.
    pub reminders_sent: u32,
    /// When the next reminder is due, if one is left.
    pub next_reminder_at: Option<DateTime<Utc>>,
}

/// What a provider said about an attempt, kept as received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentEvent {
    /// The attempt, once matched.
    pub payment_id: Option<PaymentId>,
    /// The provider.
    pub provider: String,
    /// The provider's reference the event is about.
    pub reference: String,
    /// `callback`, `webhook`, `query`, `start`.
    pub kind: String,
    /// The outcome it reported (`succeeded`, `failed`...), when read.
    pub outcome: Option<String>,
    /// The amount it reported, when any.
    pub amount: Option<Money>,
    /// The body as received.
    pub raw: String,
    /// Set when the event was refused or needs a person (another amount
    /// for a known event, a query contradicting the callback).
    pub flag: Option<String>,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
}
