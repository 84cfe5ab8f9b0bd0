//! Conversations: the thread between a business and one customer.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{AgentId, AssistantState, BusinessId, ConversationId, CustomerId, Desk};

/// How long after the customer's last message free-form replies are allowed
/// (WhatsApp customer-service window; platform-rules 3.5).
pub const CUSTOMER_SERVICE_WINDOW: Duration = Duration::hours(24);

/// Whether anyone still needs to act on a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    /// Waiting for the business (bot or agent).
    Open,
    /// Waiting for the customer.
    Pending,
    /// Put aside until a time; it opens again then, or when the customer
    /// writes.
    Snoozed,
    /// Done; a new inbound message reopens it.
    Resolved,
}

impl ConversationStatus {
    /// Stable text form, as stored.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Pending => "pending",
            Self::Snoozed => "snoozed",
            Self::Resolved => "resolved",
        }
    }
}

/// A thread of messages between a business and one customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conversation {
    /// Conversation id.
    pub id: ConversationId,
    /// Owning business.
    pub business_id: BusinessId,
    /// The customer on the other side.
    pub customer_id: CustomerId,
    /// Open, pending, snoozed or resolved.
    pub status: ConversationStatus,
    /// The agent holding it (offered or taken; see `desk`).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub assigned_agent: Option<AgentId>,
    /// Latest message either way.
    pub last_message_at: Option<DateTime<Utc>>,
    /// Latest message from the customer.
    pub last_inbound_at: Option<DateTime<Utc>>,
    /// When it started.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// The assistant's memory of it; with a `handoff`, it waits for a
    /// person. Written only by the assistant's own storage methods, never
    /// by `update_conversation`.
    #[serde(default)]
    pub assistant: AssistantState,
    /// Its handling by people: queue, priority, offer, deadlines. Written
    /// with `status` and `assigned_agent` only through
    /// [`DeskStore::commit_desk`](crate::ports::DeskStore::commit_desk).
    #[serde(default)]
    pub desk: Desk,
}

impl Conversation {
    /// A new open conversation with no messages yet.
    pub fn new(business_id: BusinessId, customer_id: CustomerId, now: DateTime<Utc>) -> Self {
        Self {
            id: ConversationId::new(),
            business_id,
            customer_id,
            status: ConversationStatus::Open,
            assigned_agent: None,
            last_message_at: None,
            last_inbound_at: None,
            created_at: now,
            updated_at: now,
            assistant: AssistantState::default(),
            desk: Desk::default(),
        }
    }

    /// When the customer-service window closes, if it was ever opened.
    pub fn window_closes_at(&self) -> Option<DateTime<Utc>> {
        self.last_inbound_at.map(|t| t + CUSTOMER_SERVICE_WINDOW)
    }

    /// True while free-form messages may be sent.
    pub fn window_open(&self, now: DateTime<Utc>) -> bool {
        self.window_closes_at().is_some_and(|closes| now < closes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_lasts_24_hours_from_last_inbound() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let mut c = Conversation::new(BusinessId::new(), CustomerId::new(), t0);
        assert!(!c.window_open(t0));
        c.last_inbound_at = Some(t0);
        assert!(c.window_open(t0 + Duration::hours(23) + Duration::minutes(59)));
        assert!(!c.window_open(t0 + Duration::hours(24)));
    }
}
