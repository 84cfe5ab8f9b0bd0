//! The transport port: hands one outbound WhatsApp message to a provider.

use std::time::Duration;

use async_trait::async_trait;

use crate::domain::{BusinessId, MessageContent, MessageId, MessageStatus, PhoneNumber};

/// One message to send.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundMessage {
    /// The sending business.
    pub business_id: BusinessId,
    /// Our message id; the transport passes it on so status callbacks can be matched.
    pub message_id: MessageId,
    /// The business's WhatsApp sender number.
    pub from: PhoneNumber,
    /// The customer's number.
    pub to: PhoneNumber,
    /// What to send.
    pub content: MessageContent,
}

/// What the provider said when it accepted a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReceipt {
    /// The provider's message id (Twilio `SM…`).
    pub provider_id: String,
    /// The status the provider reported (usually `queued`).
    pub status: MessageStatus,
}

/// Why the provider did not take a message. Each variant keeps the provider's
/// code when there was one; [`TransportError::is_retryable`] tells what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// Too many requests or messages (HTTP 429, Twilio 20429/63018): retry later.
    #[error("rate limited by the provider (code {code:?})")]
    RateLimited {
        /// Provider code.
        code: Option<u32>,
        /// How long the provider asked us to wait.
        retry_after: Option<Duration>,
    },
    /// The provider or network failed (5xx, timeout, reset): retry later.
    #[error("provider unavailable (code {code:?}): {message}")]
    Unavailable {
        /// Provider code.
        code: Option<u32>,
        /// What happened.
        message: String,
        /// How long the provider asked us to wait.
        retry_after: Option<Duration>,
    },
    /// Free-form message outside the 24-hour window (63016): send a template.
    #[error("outside the customer-service window (code {code})")]
    OutsideWindow {
        /// Provider code.
        code: u32,
    },
    /// The number is not on WhatsApp or not valid (63024, 63003, 21211).
    #[error("invalid recipient (code {code})")]
    InvalidRecipient {
        /// Provider code.
        code: u32,
    },
    /// The recipient blocked the business or opted out (63014, 131050).
    #[error("recipient blocked or opted out (code {code})")]
    RecipientOptedOut {
        /// Provider code.
        code: u32,
    },
    /// The content was refused (bad template variables 21656, media too large 11751...).
    #[error("content rejected (code {code}): {message}")]
    InvalidContent {
        /// Provider code.
        code: u32,
        /// The provider's explanation.
        message: String,
    },
    /// Credentials or account configuration are wrong.
    #[error("provider refused our credentials (code {code:?})")]
    Unauthorized {
        /// Provider code.
        code: Option<u32>,
    },
    /// The request may or may not have reached the provider (a timeout after
    /// sending, an unreadable success response). Sending again could deliver the
    /// message twice: reconcile through the status callback instead.
    #[error("outcome unknown: {message}")]
    OutcomeUnknown {
        /// What happened.
        message: String,
    },
    /// Any other permanent refusal.
    #[error("provider rejected the message (code {code:?}): {message}")]
    Rejected {
        /// Provider code.
        code: Option<u32>,
        /// The provider's explanation.
        message: String,
    },
}

impl TransportError {
    /// True when the same message may succeed if sent again later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Unavailable { .. })
    }

    /// The provider's error code, if it gave one.
    pub fn code(&self) -> Option<u32> {
        match self {
            Self::RateLimited { code, .. }
            | Self::Unavailable { code, .. }
            | Self::Unauthorized { code }
            | Self::Rejected { code, .. } => *code,
            Self::OutcomeUnknown { .. } => None,
            Self::OutsideWindow { code }
            | Self::InvalidRecipient { code }
            | Self::RecipientOptedOut { code }
            | Self::InvalidContent { code, .. } => Some(*code),
        }
    }

    /// How long the provider asked us to wait before retrying.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } | Self::Unavailable { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }
}

/// Sends WhatsApp messages through a provider (Twilio in production,
/// `StubTransport` in tests).
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// Hands one message to the provider.
    async fn send(&self, message: &OutboundMessage) -> Result<SendReceipt, TransportError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_and_codes() {
        let rl = TransportError::RateLimited {
            code: Some(20429),
            retry_after: Some(Duration::from_secs(2)),
        };
        assert!(rl.is_retryable());
        assert_eq!(rl.code(), Some(20429));
        assert_eq!(rl.retry_after(), Some(Duration::from_secs(2)));
        let ow = TransportError::OutsideWindow { code: 63016 };
        assert!(!ow.is_retryable());
        assert_eq!(ow.code(), Some(63016));
    }
}
