//! Newtype identifiers. Every id is a UUID v7, so ids sort by creation time and
//! double as keyset-paging cursors in every storage backend.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! define_id {
    ($(#[$doc:meta])* $name:ident, $label:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered (UUID v7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an existing UUID (as read back from storage).
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The underlying UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self).map_err(|_| IdError { kind: $label })
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }
    };
}

/// A string that is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} id: expected a UUID")]
pub struct IdError {
    /// Which kind of id was expected (`customer`, `business`, ...).
    pub kind: &'static str,
}

define_id!(
    /// Identifies a business (a tenant).
    BusinessId,
    "business"
);
define_id!(
    /// Identifies a stored API key (not the secret key itself).
    ApiKeyId,
    "api key"
);
define_id!(
    /// Identifies a customer within a business.
    CustomerId,
    "customer"
);
define_id!(
    /// Identifies a conversation.
    ConversationId,
    "conversation"
);
define_id!(
    /// Identifies a message (our id, not the provider's).
    MessageId,
    "message"
);
define_id!(
    /// Identifies a product in a business's catalogue.
    ProductId,
    "product"
);
define_id!(
    /// Identifies an order.
    OrderId,
    "order"
);
define_id!(
    /// Identifies a message template.
    TemplateId,
    "template"
);
define_id!(
    /// Identifies a saved customer segment.
    SegmentId,
    "segment"
);
define_id!(
    /// Identifies an agent (a person who answers customers).
    AgentId,
    "agent"
);
define_id!(
    /// Identifies a broadcast.
    BroadcastId,
    "broadcast"
);
define_id!(
    /// Identifies a campaign.
    CampaignId,
    "campaign"
);
define_id!(
    /// Identifies a customer's cart.
    CartId,
    "cart"
);
define_id!(
    /// Identifies a discount code.
    DiscountId,
    "discount"
);
define_id!(
    /// Identifies a shipment of an order.
    ShipmentId,
    "shipment"
);
define_id!(
    /// Identifies a payment attempt.
    PaymentId,
    "payment"
);
define_id!(
    /// Identifies an FAQ of the assistant.
    FaqId,
    "faq"
);
define_id!(
    /// Identifies an intent of the assistant.
    IntentId,
    "intent"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_time_ordered_and_parse_back() {
        let a = CustomerId::new();
        let b = CustomerId::new();
        assert!(a < b);
        assert_eq!(a.to_string().parse::<CustomerId>(), Ok(a));
    }

    #[test]
    fn bad_id_names_its_kind() {
        let err = "nope".parse::<OrderId>().unwrap_err();
        assert_eq!(err.to_string(), "invalid order id: expected a UUID");
    }
}
define_id!(
    /// Identifies a routing queue.
    QueueId,
    "queue"
);
define_id!(
    /// Identifies a conversation event (assignment, status change, note…).
    EventId,
    "event"
);
