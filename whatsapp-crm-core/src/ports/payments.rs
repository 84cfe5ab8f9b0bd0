//! The payment provider port: start a payment, ask about it, read what it
//! posts back. M-Pesa (Daraja) and Paystack implement it in their crates;
//! the SDK settles nothing on a provider's post alone: it asks the
//! provider ([`PaymentProvider::query`]) first.

use async_trait::async_trait;

use crate::domain::{Money, PaymentId, PhoneNumber};
use crate::payment::PaymentOutcome;

/// A payment to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRequest {
    /// Our attempt.
    pub payment_id: PaymentId,
    /// What to charge.
    pub amount: Money,
    /// The M-Pesa number to prompt (`2547…`), for mobile money.
    pub phone: Option<PhoneNumber>,
    /// The payer's email, which card checkouts require.
    pub email: Option<String>,
    /// The order's short reference, shown to the payer.
    pub account_reference: String,
    /// A few words on what is paid.
    pub description: String,
    /// Where the provider posts the result (M-Pesa), or sends the payer
    /// back after paying (card).
    pub callback_url: String,
}

/// What happens next for the payer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextStep {
    /// A prompt was sent to their phone.
    Prompted,
    /// They open this page to pay.
    Redirect {
        /// The checkout page.
        url: String,
    },
}

/// A payment the provider took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// The provider's reference for it.
    pub reference: String,
    /// What the payer does.
    pub next: NextStep,
}

/// What a provider posted, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderEvent {
    /// The provider's reference it is about.
    pub reference: String,
    /// The kind of post (`stk_callback`, `charge.success`...): with the
    /// provider and reference, the event's identity.
    pub kind: String,
    /// What it says happened.
    pub outcome: PaymentOutcome,
    /// The amount it names, if any.
    pub amount: Option<Money>,
}

/// Why a provider call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PaymentProviderError {
    /// The provider refused the request (bad number, bad amount...); retrying
    /// the same request cannot help.
    #[error("the provider refused the payment: {message}")]
    Rejected {
        /// The provider's code, when it gave one.
        code: Option<String>,
        /// What it said.
        message: String,
    },
    /// Our credentials were refused.
    #[error("the provider refused our credentials")]
    Unauthorized,
    /// The provider could not be reached or is busy; retry later.
    #[error("the provider is unavailable: {message}")]
    Unavailable {
        /// What went wrong.
        message: String,
    },
    /// A post whose signature does not match (or is missing where required).
    #[error("the post's signature does not match")]
    BadSignature,
    /// A post that cannot be read.
    #[error("the post cannot be read: {0}")]
    Malformed(String),
}

impl PaymentProviderError {
    /// True when the same call may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

/// A payment provider.
#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// Its name as attempts record it (`mpesa`, `paystack`).
    fn name(&self) -> &'static str;
    /// Starts a payment.
    async fn start(&self, request: &PaymentRequest) -> Result<Started, PaymentProviderError>;
    /// Asks the provider where the payment with `reference`, for `asked`,
    /// stands. (M-Pesa's query names no amount: a completed push charged
    /// exactly what was asked.)
    async fn query(
        &self,
        reference: &str,
        asked: Money,
    ) -> Result<PaymentOutcome, PaymentProviderError>;
    /// Reads a post from the provider, checking its signature where the
    /// provider signs (`signature` is the header that carries it).
    fn parse_callback(
        &self,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<ProviderEvent, PaymentProviderError>;
}
