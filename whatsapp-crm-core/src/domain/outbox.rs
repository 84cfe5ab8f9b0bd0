//! The outbox: every outbound message is first a row here, so a crash never
//! sends a message twice and never loses one silently.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{BusinessId, MessageId, PhoneNumber, TemplateCategory};

/// Where an outbox row is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting for its `run_at`.
    Pending,
    /// Taken by a dispatcher until `claimed_until`, not yet handed to the
    /// provider: a lapsed claim is simply pending again.
    Claimed,
    /// Being handed to the provider. A lapsed claim in this state is unknown.
    Sending,
    /// The provider accepted it.
    Sent,
    /// Refused for good (policy or provider); the code says why.
    Failed,
    /// A dispatcher vanished while handing it over, or the provider's answer
    /// was lost: it may or may not have been sent.
    /// Never retried blindly; a status callback or a person settles it.
    Unknown,
    /// Withdrawn before it was sent.
    Cancelled,
    /// Held back while its broadcast is paused; pending again on resume.
    Held,
}

/// One message waiting to be sent, keyed by the message it sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutboxItem {
    /// The message this row sends (also its idempotency key).
    pub message_id: MessageId,
    /// Owning business.
    pub business_id: BusinessId,
    /// The WhatsApp sender number.
    pub sender: PhoneNumber,
    /// The customer's number.
    pub recipient: PhoneNumber,
    /// The template's category, for template messages: marketing rows obey
    /// consent and the frequency cap when they are sent.
    pub category: Option<TemplateCategory>,
    /// Not before this time.
    pub run_at: DateTime<Utc>,
    /// Send attempts so far.
    pub attempts: u32,
    /// Current state.
    pub state: OutboxState,
    /// While claimed: when the claim lapses.
    pub claimed_until: Option<DateTime<Utc>>,
    /// The last error, in words.
    pub last_error: Option<String>,
    /// The provider's or policy's code for the last error.
    pub error_code: Option<u32>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl OutboxItem {
    /// A pending row for `message_id`.
    pub fn new(
        business_id: BusinessId,
        message_id: MessageId,
        sender: PhoneNumber,
        recipient: PhoneNumber,
        run_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            message_id,
            business_id,
            sender,
            recipient,
            category: None,
            run_at,
            attempts: 0,
            state: OutboxState::Pending,
            claimed_until: None,
            last_error: None,
            error_code: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// The same row for a template of `category`.
    pub fn with_category(mut self, category: TemplateCategory) -> Self {
        self.category = Some(category);
        self
    }
}
