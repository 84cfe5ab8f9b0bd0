//! Messages in and out, with their delivery status.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{BusinessId, ConversationId, CustomerId, MessageId};

/// Who sent a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the customer.
    Inbound,
    /// From the business.
    Outbound,
}

/// Who wrote a message: the customer, or on the business's side a person or
/// the SDK's own automation. Response times and the assistant's quiet rule
/// tell people from machines by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Author {
    /// The customer (every inbound message).
    Customer,
    /// A person of the business, through the API.
    #[default]
    Staff,
    /// The assistant's answers and handoff notices.
    Assistant,
    /// Automatic replies: consent confirmations, cart replies, order
    /// notices, receipts, payment links and reminders.
    Automation,
    /// A broadcast or campaign.
    Broadcast,
}

impl Author {
    /// True for a person (not the customer, not a machine).
    pub fn is_person(&self) -> bool {
        matches!(self, Self::Staff)
    }
}

/// The broad kind of a message, for filtering and policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Plain text.
    Text,
    /// Image, video, audio, document or sticker, with an optional caption.
    Media,
    /// An approved template (may open a conversation outside the window).
    Template,
    /// Buttons, lists, call-to-action, or a customer's tap on one.
    Interactive,
    /// A shared location.
    Location,
    /// A cart sent from WhatsApp's catalog.
    Order,
    /// Something the provider sent that the SDK cannot read; kept raw.
    Unsupported,
}

/// One media attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MediaAttachment {
    /// Where the media can be fetched.
    pub url: String,
    /// MIME type, when known.
    pub content_type: Option<String>,
}

/// A reply button (at most 3 per message; platform-rules 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplyButton {
    /// Payload returned when tapped.
    pub id: String,
    /// Label shown.
    pub title: String,
}

/// One row of a list message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListRow {
    /// Payload returned when chosen.
    pub id: String,
    /// Row title.
    pub title: String,
    /// Optional second line.
    pub description: Option<String>,
}

/// A titled group of list rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListSection {
    /// Section title (required when there is more than one section).
    pub title: Option<String>,
    /// Rows of the section.
    pub rows: Vec<ListRow>,
}

/// One section of a catalog message: products by SKU (the Meta catalog's
/// `product_retailer_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CatalogSection {
    /// Section title (required when there is more than one section).
    pub title: Option<String>,
    /// The products, by SKU.
    pub skus: Vec<String>,
}

/// One line of a cart the customer sent from WhatsApp's catalog, as their
/// app priced it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderedItem {
    /// The `product_retailer_id`: our SKU.
    pub sku: String,
    /// Units.
    pub quantity: u32,
    /// Price of one unit in major units, as the app showed it.
    pub item_price: Option<f64>,
    /// Currency of that price.
    pub currency: Option<String>,
}

/// Interactive content: what the business offers, or what the customer tapped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "interactive_type", rename_all = "snake_case")]
pub enum Interactive {
    /// Body text with up to three reply buttons.
    Buttons {
        /// Message body.
        body: String,
        /// The buttons.
        buttons: Vec<ReplyButton>,
        /// Optional footer.
        footer: Option<String>,
    },
    /// A menu opened by a button.
    List {
        /// Message body.
        body: String,
        /// Label of the button that opens the list.
        button_label: String,
        /// The sections.
        sections: Vec<ListSection>,
        /// Optional footer.
        footer: Option<String>,
    },
    /// One button that opens a URL.
    CallToAction {
        /// Message body.
        body: String,
        /// Button label.
        display_text: String,
        /// Target URL.
        url: String,
        /// Optional footer.
        footer: Option<String>,
    },
    /// A card: title, optional subtitle and image, and reply buttons (a
    /// product card: name, price, *Add to cart* and *View*).
    Card {
        /// Title.
        title: String,
        /// Second line.
        subtitle: Option<String>,
        /// An `https://` image.
        media_url: Option<String>,
        /// Reply buttons.
        buttons: Vec<ReplyButton>,
    },
    /// Products from the business's Meta catalog: one product, or up to 30
    /// in up to 10 sections.
    Catalog {
        /// The Meta catalog id.
        catalog_id: String,
        /// Header text (required with more than one product).
        header: Option<String>,
        /// Message body.
        body: String,
        /// Optional footer.
        footer: Option<String>,
        /// The products, by section.
        sections: Vec<CatalogSection>,
    },
    /// The customer tapped a button or chose a list row.
    Reply {
        /// Payload of the button or row, when the provider passes it on.
        payload: Option<String>,
        /// Text of the button or row.
        title: String,
    },
}

/// What a message says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MessageContent {
    /// Plain text.
    Text {
        /// The text.
        body: String,
    },
    /// Media with an optional caption.
    Media {
        /// Attachments, in order.
        media: Vec<MediaAttachment>,
        /// Caption.
        caption: Option<String>,
    },
    /// An approved template with its variable values.
    Template {
        /// Template name.
        name: String,
        /// Provider content id (Twilio `HX…`), when approved through the provider.
        content_sid: Option<String>,
        /// Values by variable name or position.
        variables: BTreeMap<String, String>,
        /// The text as the customer sees it, for history and search.
        rendered: Option<String>,
    },
    /// Buttons, lists, call-to-action, or a tap on one.
    Interactive {
        /// The interactive payload.
        interactive: Interactive,
    },
    /// A shared location.
    Location {
        /// Degrees north.
        latitude: f64,
        /// Degrees east.
        longitude: f64,
        /// Place name.
        label: Option<String>,
        /// Street address.
        address: Option<String>,
    },
    /// A cart the customer sent from WhatsApp's catalog.
    Order {
        /// The Meta catalog it came from.
        catalog_id: Option<String>,
        /// The customer's note.
        text: Option<String>,
        /// The lines.
        items: Vec<OrderedItem>,
        /// The provider's parameters the SDK does not read, kept raw.
        params: BTreeMap<String, String>,
    },
    /// A message the SDK cannot read, kept raw rather than shown as empty
    /// text.
    Unsupported {
        /// The provider's name for its type, when it gave one.
        message_type: Option<String>,
        /// The provider's parameters the SDK does not read, kept raw.
        params: BTreeMap<String, String>,
    },
}

impl MessageContent {
    /// The kind of this content.
    pub fn kind(&self) -> MessageKind {
        match self {
            Self::Text { .. } => MessageKind::Text,
            Self::Media { .. } => MessageKind::Media,
            Self::Template { .. } => MessageKind::Template,
            Self::Interactive { .. } => MessageKind::Interactive,
            Self::Location { .. } => MessageKind::Location,
            Self::Order { .. } => MessageKind::Order,
            Self::Unsupported { .. } => MessageKind::Unsupported,
        }
    }

    /// Plain text content.
    pub fn text(body: impl Into<String>) -> Self {
        Self::Text { body: body.into() }
    }
}

/// Delivery status. Outbound messages move forward through `queued < sending <
/// sent < delivered < read`; `failed` and `undelivered` end the journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Accepted by us or the provider, not yet handed to WhatsApp.
    Queued,
    /// Being handed to WhatsApp.
    Sending,
    /// WhatsApp accepted it.
    Sent,
    /// Reached the customer's phone.
    Delivered,
    /// The customer opened it.
    Read,
    /// Never left the provider.
    Failed,
    /// The provider could not deliver it.
    Undelivered,
    /// An inbound message we received.
    Received,
}

impl MessageStatus {
    /// Position on the forward path; failures and receipts have none.
    pub fn rank(&self) -> Option<u8> {
        match self {
            Self::Queued => Some(0),
            Self::Sending => Some(1),
            Self::Sent => Some(2),
            Self::Delivered => Some(3),
            Self::Read => Some(4),
            Self::Failed | Self::Undelivered | Self::Received => None,
        }
    }

    /// True for `failed` and `undelivered`.
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Failed | Self::Undelivered)
    }

    /// Stable text form, as stored and as the provider names it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
            Self::Undelivered => "undelivered",
            Self::Received => "received",
        }
    }
}

/// When a message reached each status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusTimes {
    /// Queued for sending.
    pub queued_at: Option<DateTime<Utc>>,
    /// Accepted by WhatsApp.
    pub sent_at: Option<DateTime<Utc>>,
    /// Delivered to the phone.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Read by the customer.
    pub read_at: Option<DateTime<Utc>>,
    /// Failed or undelivered.
    pub failed_at: Option<DateTime<Utc>>,
    /// Received from the customer.
    pub received_at: Option<DateTime<Utc>>,
}

/// One message in a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    /// Our id (also carried in status callbacks).
    pub id: MessageId,
    /// Owning business.
    pub business_id: BusinessId,
    /// The conversation it belongs to.
    pub conversation_id: ConversationId,
    /// The customer on the other side.
    pub customer_id: CustomerId,
    /// In or out.
    pub direction: Direction,
    /// What it says.
    pub content: MessageContent,
    /// Current delivery status.
    pub status: MessageStatus,
    /// Provider message id (Twilio `SM…`/`MM…`), unique per business.
    pub provider_id: Option<String>,
    /// Provider error code on failure (e.g. 63016).
    pub error_code: Option<u32>,
    /// When each status was reached.
    pub times: StatusTimes,
    /// When the record was created.
    pub created_at: DateTime<Utc>,
    /// Who wrote it.
    #[serde(default)]
    pub author: Author,
    /// What the assistant decided about it (inbound messages it considered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<super::Decision>,
}

impl Message {
    /// The kind of content.
    pub fn kind(&self) -> MessageKind {
        self.content.kind()
    }

    /// Applies a provider status report. Statuses never move backwards, so
    /// late or duplicate callbacks are harmless; a failure keeps its code.
    /// Returns true when something changed.
    pub fn apply_status(
        &mut self,
        status: MessageStatus,
        at: DateTime<Utc>,
        error_code: Option<u32>,
    ) -> bool {
        let advance = match (self.status.rank(), status.rank()) {
            (Some(cur), Some(new)) => new > cur,
            // A failure ends an outbound message that has not been delivered yet.
            (Some(cur), None) => status.is_failure() && cur < 3,
            // Delivery after a reported failure happens with multi-device users.
            (None, Some(new)) => self.status.is_failure() && new >= 3,
            (None, None) => false,
        };
        if !advance {
            return false;
        }
        self.status = status;
        let slot = match status {
            MessageStatus::Queued => &mut self.times.queued_at,
            MessageStatus::Sent | MessageStatus::Sending => &mut self.times.sent_at,
            MessageStatus::Delivered => &mut self.times.delivered_at,
            MessageStatus::Read => &mut self.times.read_at,
            MessageStatus::Failed | MessageStatus::Undelivered => &mut self.times.failed_at,
            MessageStatus::Received => &mut self.times.received_at,
        };
        slot.get_or_insert(at);
        if status.is_failure() {
            self.error_code = error_code.or(self.error_code);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbound() -> Message {
        Message {
            id: MessageId::new(),
            business_id: BusinessId::new(),
            conversation_id: ConversationId::new(),
            customer_id: CustomerId::new(),
            direction: Direction::Outbound,
            content: MessageContent::text("Habari"),
            status: MessageStatus::Queued,
            provider_id: None,
            error_code: None,
            times: StatusTimes::default(),
            created_at: Utc::now(),
            author: Author::Staff,
            decision: None,
        }
    }

    #[test]
    fn status_never_moves_backwards() {
        let now = Utc::now();
        let mut m = outbound();
        assert!(m.apply_status(MessageStatus::Delivered, now, None));
        assert!(!m.apply_status(MessageStatus::Sent, now, None));
        assert!(!m.apply_status(MessageStatus::Delivered, now, None));
        assert!(m.apply_status(MessageStatus::Read, now, None));
        assert!(!m.apply_status(MessageStatus::Failed, now, Some(63016)));
        assert_eq!(m.status, MessageStatus::Read);
    }

    #[test]
    fn failure_keeps_its_code() {
        let mut m = outbound();
        assert!(m.apply_status(MessageStatus::Undelivered, Utc::now(), Some(63024)));
        assert_eq!(m.error_code, Some(63024));
        assert!(!m.apply_status(MessageStatus::Failed, Utc::now(), Some(1)));
        assert_eq!(m.error_code, Some(63024));
    }

    #[test]
    fn content_serialises_with_a_type_tag() {
        let c = MessageContent::Interactive {
            interactive: Interactive::Reply { payload: Some("yes".into()), title: "Yes".into() },
        };
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["type"], "interactive");
        assert_eq!(json["interactive"]["interactive_type"], "reply");
        assert_eq!(serde_json::from_value::<MessageContent>(json).unwrap(), c);
    }
}
