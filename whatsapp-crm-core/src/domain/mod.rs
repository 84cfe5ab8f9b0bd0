//! Domain types: validated values and the records the SDK stores.
//!
//! Constructors validate, so a value of these types is always well-formed:
//! a [`PhoneNumber`] is E.164, a [`Money`] never mixes currencies, a [`Tag`] is
//! normalised.

/// Implements `FromStr` and `Deserialize` through the type's validating `parse`,
/// so text from any source passes the same checks.
macro_rules! parse_via {
    ($ty:ty, $err:ty) => {
        impl ::std::str::FromStr for $ty {
            type Err = $err;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Self, D::Error> {
                let raw = <String as ::serde::Deserialize>::deserialize(deserializer)?;
                Self::parse(&raw).map_err(::serde::de::Error::custom)
            }
        }
    };
}

mod agent;
mod api_key;
mod assistant;
mod broadcast;
mod business;
mod campaign;
mod cart;
mod catalog;
mod commerce;
mod conversation;
mod customer;
mod desk;
mod discount;
mod events;
mod ids;
mod message;
mod message_template;
mod money;
mod outbox;
mod payment;
mod phone;
mod profile;
mod queue;
mod secret;
mod segment;
mod shipment;
mod shop;
mod tag;
mod template;
mod time_zone;
mod validation;

pub use agent::{
    AGENT_NAME_MAX_CHARS, AGENT_TAG_MAX_CHARS, AGENT_TAGS_MAX, Agent, Availability,
    MAX_CONCURRENT_DEFAULT, MAX_CONCURRENT_LIMIT, NewAgent,
};
pub use api_key::{ApiKey, ApiKeyHash};
pub use assistant::{
    AMBIGUITY_DEFAULT, ANSWER_MAX_CHARS, AssistantReplies, AssistantSettings, AssistantState,
    ClassifierChoice, Decision, EXAMPLES_MAX, Faq, HANDOFF_AFTER_MISSES_DEFAULT,
    HANDOFF_WORDS_DEFAULT, Handoff, HandoffCause, Intent, IntentAction, ModelInfo,
    NEGATIVE_SENTIMENT_DEFAULT, NewFaq, NewIntent, PARAPHRASES_MAX, PHRASE_MAX_CHARS,
    THRESHOLD_DEFAULT, TRANSCRIPT_LINE_MAX_CHARS, TRANSCRIPT_LINES_MAX, TrainingStatus,
    TranscriptLine, validate_intent_name,
};
pub use broadcast::{
    AB_SAMPLE_PERCENT_MAX, AB_VARIANTS, AB_WINDOW_HOURS_MAX, AUTO_PAUSE_FAILURE_PERCENT,
    AUTO_PAUSE_MIN_SENDS, AbMetric, AbPhase, AbTest, AbVariant, Audience, AutoPause,
    BROADCAST_NAME_MAX_CHARS, Broadcast, BroadcastRecipient, BroadcastStatus, SkipReason,
};
pub use business::{BUSINESS_NAME_MAX_CHARS, Business, NewBusiness};
pub use campaign::{CAMPAIGN_MIN_INTERVAL_MINUTES, Campaign, CampaignStatus, Schedule};
pub use cart::{ABANDON_AFTER_MINUTES, CART_EXPIRE_AFTER_DAYS, Cart, CartLine, CartStatus};
pub use catalog::{
    NewProduct, PRODUCT_ATTRIBUTE_MAX_CHARS, PRODUCT_ATTRIBUTES_MAX, PRODUCT_CATEGORY_MAX_CHARS,
    PRODUCT_DESCRIPTION_MAX_CHARS, PRODUCT_IMAGE_URL_MAX_CHARS, PRODUCT_NAME_MAX_CHARS, Product,
    SKU_MAX_CHARS, STOCK_MAX, Stock, validate_sku,
};
pub use commerce::{
    AppliedDiscount, LineItem, ORDER_LINES_MAX, Order, OrderError, OrderEvent, OrderStatus,
    order_total,
};
pub use conversation::{CUSTOMER_SERVICE_WINDOW, Conversation, ConversationStatus};
pub use customer::{
    ATTRIBUTE_KEY_MAX_CHARS, ATTRIBUTE_TEXT_MAX_CHARS, CUSTOMER_ATTRIBUTES_MAX,
    CUSTOMER_NAME_MAX_CHARS, CUSTOMER_TAGS_MAX, Customer, CustomerPatch, CustomerStats,
    ENGAGEMENT_POINTS_PER_MESSAGE, ENGAGEMENT_WINDOW_DAYS, NewCustomer, search_needle, search_text,
};
pub use desk::{Actor, Change, ConversationEvent, Desk, NOTE_MAX_CHARS, OFFERED_MAX, clean_note};
pub use discount::{DISCOUNT_CODE_MIN_CHARS, Discount, DiscountRules, DiscountValue, NewDiscount};
pub use events::{InboundMessage, Referral, StatusUpdate};
pub use ids::{
    AgentId, ApiKeyId, BroadcastId, BusinessId, CampaignId, CartId, ConversationId, CustomerId,
    DiscountId, EventId, FaqId, IdError, IntentId, MessageId, OrderId, PaymentId, ProductId,
    QueueId, SegmentId, ShipmentId, TemplateId,
};
pub use message::{
    Author, CatalogSection, Direction, Interactive, ListRow, ListSection, MediaAttachment, Message,
    MessageContent, MessageKind, MessageStatus, OrderedItem, ReplyButton, StatusTimes,
};
pub use message_template::{
    HeaderMediaKind, MessageTemplate, TemplateButton, TemplateContent, TemplateHeader,
    TemplateVersion,
};
pub use money::{Currency, CurrencyError, Money, MoneyError};
pub use outbox::{OutboxItem, OutboxState};
pub use payment::{PaymentAttempt, PaymentEvent, PaymentLink, PaymentStatus};
pub use phone::{E164_MAX_DIGITS, E164_MIN_DIGITS, PhoneError, PhoneNumber};
pub use profile::{
    AttributeValue, Birthday, CITY_MAX_CHARS, ConsentSource, ConsentStatus, Location,
    MarketingConsent,
};
pub use queue::{
    DefaultRoute, FIRST_RESPONSE_DEFAULT_SECS, FIRST_RESPONSE_RANGE_SECS, NewQueue,
    OFFER_TIMEOUT_DEFAULT_SECS, OFFER_TIMEOUT_RANGE_SECS, QUEUE_NAME_MAX_CHARS, Queue,
    ROUTING_RULES_MAX, RULE_PRIORITY_MAX, Routing, RoutingRule,
};
pub use secret::Secret;
pub use segment::{SEGMENT_DESCRIPTION_MAX_CHARS, SEGMENT_NAME_MAX_CHARS, Segment};
pub use shipment::{
    EVENT_KEY_MAX_CHARS, NewShipment, OrderNotification, Shipment, ShipmentEvent,
    TRACKING_FIELD_MAX_CHARS, TRACKING_URL_MAX_CHARS,
};
pub use shop::{
    ABANDON_MINUTES_RANGE, ADDRESS_MAX_CHARS, CommerceSettings, CommerceSettingsInput,
    DELIVERY_SECRET_BYTES, DeliveryMethod, DeliveryWebhook, LINK_MINUTES_MAX,
    META_CATALOG_ID_MAX_CHARS, OrderNotice, PAYMENT_MINUTES_DEFAULT, PAYMENT_MINUTES_RANGE,
    REMINDER_AFTER_MINUTES_DEFAULT, REMINDER_BEFORE_EXPIRY_MINUTES_DEFAULT,
};
pub use tag::{TAG_MAX_CHARS, Tag, TagError};
pub use template::{TemplateCategory, TemplateStatus};
pub use time_zone::{TimeZone, TimeZoneError};
pub(crate) use validation::clean_text;
pub use validation::{FieldError, ValidationError};
