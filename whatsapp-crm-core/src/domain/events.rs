//! Events a provider reports: messages customers send, and delivery updates.
//! Provider adapters parse their webhooks into these; services consume them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{MessageContent, MessageId, MessageStatus, PhoneNumber};

/// A message a customer sent to the business.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundMessage {
    /// The provider's message id (Twilio `SM…`/`MM…`); duplicates are dropped by it.
    pub provider_id: String,
    /// The customer's number.
    pub from: PhoneNumber,
    /// The business's WhatsApp number it was sent to.
    pub to: PhoneNumber,
    /// The customer's WhatsApp profile name, when shared.
    pub profile_name: Option<String>,
    /// What the customer sent.
    pub content: MessageContent,
    /// Provider id of the message this one replies to or quotes.
    pub replied_to: Option<String>,
    /// Whether WhatsApp marked it forwarded.
    pub forwarded: bool,
    /// Click-to-WhatsApp ad that started the conversation, if any.
    pub referral: Option<Referral>,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
}

/// The ad or post a conversation started from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referral {
    /// Source id (ad id).
    pub source_id: Option<String>,
    /// Source type (`ad`, `post`).
    pub source_type: Option<String>,
    /// Link to the source.
    pub source_url: Option<String>,
    /// Ad headline.
    pub headline: Option<String>,
    /// Ad body.
    pub body: Option<String>,
}

/// A delivery update for a message the business sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusUpdate {
    /// The provider's message id.
    pub provider_id: String,
    /// Our message id, when the callback carries it.
    pub message_id: Option<MessageId>,
    /// The new status.
    pub status: MessageStatus,
    /// Provider error code for failures.
    pub error_code: Option<u32>,
    /// Provider error text for failures.
    pub error_message: Option<String>,
    /// When it was reported.
    pub reported_at: DateTime<Utc>,
}
