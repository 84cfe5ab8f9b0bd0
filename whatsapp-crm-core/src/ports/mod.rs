//! Ports: the traits through which the SDK touches the world. Each is used as
//! `Arc<dyn Port>` so backends and providers can be swapped without generics.

mod agent_store;
mod assistant_store;
mod broadcasts;
mod campaigns;
mod classifier;
mod clock;
mod codec;
mod commerce;
mod desk_store;
mod error;
mod fulfilment;
mod payment_store;
mod payments;
mod recommend_store;
mod storage;
mod templates;
mod transport;

pub use agent_store::{AgentQuery, AgentStore, QUEUE_NAME_TAKEN, QueueStore, RoutingStore};
pub use assistant_store::{
    AssistantQuery, AssistantStore, INTENT_NAME_TAKEN, TrainingData, TurnCommit,
};
pub use broadcasts::{
    BROADCAST_CHANGED, BroadcastCounts, BroadcastSpec, BroadcastStore, LaunchBatch, LaunchMessage,
    RecipientStatus, counts_from_statuses,
};
pub use campaigns::{CAMPAIGN_CHANGED, CampaignSpec, CampaignStore};
pub use classifier::{Classifier, ClassifierError, ClassifyRequest, IntentSummary};
pub use clock::{Clock, ManualClock, SystemClock, to_storage_precision};
pub use codec::{enum_from_text, enum_to_text};
pub use commerce::{
    CART_CLOSED, CartQuery, CartStore, CatalogStore, Checkout, CheckoutOutcome, CheckoutStore,
    DISCOUNT_CODE_TAKEN, DiscountStore, HoldState, MoveOutcome, ORDER_CHANGED, OrderMove,
    ProductQuery, SKU_TAKEN, STOCK_RESERVED, apply_discount, created_event, move_event,
};
pub use desk_store::{DeskCommit, DeskOutcome, DeskStore};
pub use error::{PHONE_TAKEN, PROVIDER_ID_TAKEN, StorageError};
pub use fulfilment::{NoticeStore, Reported, ShipmentReport, ShipmentStore, TRACKING_TAKEN};
pub use payment_store::{
    EventRecorded, PAYMENT_CHANGED, PAYMENT_REFERENCE_TAKEN, PaymentQuery, PaymentStore,
};
pub use payments::{
    NextStep, PaymentProvider, PaymentProviderError, PaymentRequest, ProviderEvent, Started,
};
pub use recommend_store::{RecommendStore, RecommenderInfo};
pub use storage::{
    ALREADY_QUEUED, ApiKeyStore, BusinessStore, ConversationQuery, ConversationStore,
    CustomerQuery, CustomerStore, MessageQuery, MessageStore, NOT_CLAIMED, OrderQuery, OrderStore,
    OutboxEffect, OutboxFinish, OutboxKey, OutboxOutcome, OutboxStore, PAGE_LIMIT_DEFAULT,
    PAGE_LIMIT_MAX, Page, SEGMENT_NAME_TAKEN, SENDER_TAKEN, SegmentMatch, SegmentStore,
    SenderLimitStore, Storage, TEMPLATE_CHANGED, TEMPLATE_NAME_TAKEN, TemplateQuery, TemplateStore,
    clamp_limit,
};
pub use templates::{
    Approval, ProviderContent, ProviderTemplate, RegistryError, TemplateAction, TemplateRegistry,
};
pub use transport::{OutboundMessage, SendReceipt, Transport, TransportError};
