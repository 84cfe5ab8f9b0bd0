//! The storage port: one trait per aggregate, gathered under [`Storage`].
//!
//! Every method takes the [`BusinessId`] first and never reads or writes another
//! business's rows: asking for another tenant's id answers `NotFound`, exactly as
//! for an id that does not exist. The conformance suite in
//! `whatsapp_crm_core::testing` proves this for every backend.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{
    AssistantStore, BroadcastStore, CampaignStore, CartStore, CatalogStore, CheckoutStore,
    DiscountStore, NoticeStore, PaymentStore, ShipmentStore, StorageError,
};
use crate::domain::{
    ApiKey, ApiKeyHash, ApiKeyId, Business, BusinessId, Conversation, ConversationId,
    ConversationStatus, Customer, CustomerId, Message, MessageId, MessageTemplate, Order, OrderId,
    OrderStatus, OutboxItem, OutboxState, PhoneNumber, Segment, SegmentId, Tag, TemplateCategory,
    TemplateId, TemplateStatus, TemplateVersion,
};
use crate::policy::{Penalty, RateLimits, SendSlot, Throttle};
use crate::segment::{Rule, SegmentContext};

/// Items per page when the caller does not say.
pub const PAGE_LIMIT_DEFAULT: u32 = 50;
/// Most items one page may hold.
pub const PAGE_LIMIT_MAX: u32 = 200;

/// Clamps a requested page size into `1..=PAGE_LIMIT_MAX`.
pub fn clamp_limit(limit: u32) -> u32 {
    limit.clamp(1, PAGE_LIMIT_MAX)
}

/// One page of results in id (creation) order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows fetched in order: the extra row
    /// only tells that another page exists.
    pub fn from_overfetch(mut rows: Vec<T>, limit: u32, id: impl Fn(&T) -> String) -> Self {
        let limit = limit as usize;
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(id)
        } else {
            None
        };
        Page { items: rows, next_cursor }
    }
}

/// Filters and paging for listing customers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CustomerQuery {
    /// Case-insensitive substring of the name or phone (see `Customer::search_text`).
    pub search: Option<String>,
    /// Only customers carrying this tag.
    pub tag: Option<Tag>,
    /// Page size (clamped to `1..=PAGE_LIMIT_MAX`).
    pub limit: u32,
    /// Continue after this customer.
    pub after: Option<CustomerId>,
}

/// The customers a segment rule selects: how many, and one page of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SegmentMatch {
    /// Every matching customer, counted.
    pub count: u64,
    /// A page of them, in id order.
    pub customers: Page<Customer>,
}

/// Filters and paging for listing conversations.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConversationQuery {
    /// Only this customer's conversations.
    pub customer: Option<CustomerId>,
    /// Only conversations in this status.
    pub status: Option<ConversationStatus>,
    /// Only conversations waiting for a person (handed off by the
    /// assistant), or only those not waiting.
    pub waiting: Option<bool>,
    /// Only conversations this agent holds (offered or taken).
    pub agent: Option<crate::domain::AgentId>,
    /// Page size.
    pub limit: u32,
    /// Continue after this conversation.
    pub after: Option<ConversationId>,
}

/// Paging for the messages of one conversation, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageQuery {
    /// Page size.
    pub limit: u32,
    /// Continue after this message.
    pub after: Option<MessageId>,
}

/// Filters and paging for listing templates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TemplateQuery {
    /// Only templates whose latest version has this status.
    pub status: Option<TemplateStatus>,
    /// Only this category.
    pub category: Option<TemplateCategory>,
    /// Include archived (deleted) templates.
    pub include_archived: bool,
    /// Page size.
    pub limit: u32,
    /// Continue after this template.
    pub after: Option<TemplateId>,
}

/// Filters and paging for listing orders.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderQuery {
    /// Only this customer's orders.
    pub customer: Option<CustomerId>,
    /// Only orders in this status.
    pub status: Option<OrderStatus>,
    /// Page size.
    pub limit: u32,
    /// Continue after this order.
    pub after: Option<OrderId>,
}

/// Businesses (tenants).
#[async_trait]
pub trait BusinessStore: Send + Sync {
    /// Stores a new business. `Conflict` if the id exists.
    async fn insert_business(&self, business: &Business) -> Result<(), StorageError>;
    /// Reads a business.
    async fn get_business(&self, id: BusinessId) -> Result<Business, StorageError>;
    /// The business that sends from `sender`: how a webhook finds its tenant,
    /// so, like API keys, the one lookup not scoped by business.
    async fn find_business_by_sender(
        &self,
        sender: &PhoneNumber,
    ) -> Result<Option<Business>, StorageError>;
    /// Replaces a business's name, time zone, currency and messaging settings.
    /// The sender and creation time never change.
    async fn update_business(&self, business: &Business) -> Result<(), StorageError>;
}

/// The constraint text used when another business sends from the same number.
pub const SENDER_TAKEN: &str = "another business sends from this WhatsApp number";

/// API keys, stored as SHA-256 hashes.
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    /// Stores a key. `Conflict` if the hash exists; `NotFound` if the business
    /// does not, or the key's agent is not the business's.
    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StorageError>;
    /// Finds a key by hash. This is how a request's business is found, so it is
    /// the one lookup not scoped by business.
    async fn find_api_key(&self, hash: &ApiKeyHash) -> Result<Option<ApiKey>, StorageError>;
    /// The business's keys, oldest first.
    async fn list_api_keys(&self, business: BusinessId) -> Result<Vec<ApiKey>, StorageError>;
    /// Revokes a key of this business.
    async fn revoke_api_key(
        &self,
        business: BusinessId,
        id: ApiKeyId,
        at: DateTime<Utc>,
    ) -> Result<(), StorageError>;
}

/// Customers.
#[async_trait]
pub trait CustomerStore: Send + Sync {
    /// Stores a new customer. `Conflict` if the phone is taken in this business;
    /// `NotFound` if the business does not exist.
    async fn insert_customer(&self, customer: &Customer) -> Result<(), StorageError>;
    /// Reads a customer.
    async fn get_customer(
        &self,
        business: BusinessId,
        id: CustomerId,
    ) -> Result<Customer, StorageError>;
    /// Reads the customers among `ids` that the business has, in no set order.
    async fn get_customers(
        &self,
        business: BusinessId,
        ids: &[CustomerId],
    ) -> Result<Vec<Customer>, StorageError>;
    /// Finds a customer by phone.
    async fn find_customer_by_phone(
        &self,
        business: BusinessId,
        phone: &PhoneNumber,
    ) -> Result<Option<Customer>, StorageError>;
    /// Replaces a stored customer (matched by business and id). Its `stats` and
    /// first/last seen and last inbound times are left as stored: only orders
    /// and messages change them.
    async fn update_customer(&self, customer: &Customer) -> Result<(), StorageError>;
    /// Deletes a customer with their conversations and messages.
    async fn delete_customer(
        &self,
        business: BusinessId,
        id: CustomerId,
    ) -> Result<(), StorageError>;
    /// Lists customers in id order with optional search and tag filter.
    async fn list_customers(
        &self,
        business: BusinessId,
        query: &CustomerQuery,
    ) -> Result<Page<Customer>, StorageError>;
    /// Counts the customers `rule` selects at `ctx` and returns a page of them.
    /// Every backend selects exactly the customers the in-memory evaluator does.
    async fn select_segment(
        &self,
        business: BusinessId,
        rule: &Rule,
        ctx: &SegmentContext,
        limit: u32,
        after: Option<CustomerId>,
    ) -> Result<SegmentMatch, StorageError>;
    /// The customers `rule` selects at `ctx` that were created by
    /// `created_by`, whole, in id order after `after`, at most `limit` of them:
    /// a broadcast's audience as fixed at launch, which a launch reads a batch
    /// at a time, in one pass over the customers.
    async fn segment_customers(
        &self,
        business: BusinessId,
        rule: &Rule,
        ctx: &SegmentContext,
        created_by: DateTime<Utc>,
        after: Option<CustomerId>,
        limit: u32,
    ) -> Result<Vec<Customer>, StorageError>;
    /// Adds tags atomically (already present tags are kept once) and returns the result.
    async fn add_customer_tags(
        &self,
        business: BusinessId,
        id: CustomerId,
        tags: &[Tag],
        at: DateTime<Utc>,
    ) -> Result<Customer, StorageError>;
    /// Removes tags atomically (absent tags are ignored) and returns the result.
    async fn remove_customer_tags(
        &self,
        business: BusinessId,
        id: CustomerId,
        tags: &[Tag],
        at: DateTime<Utc>,
    ) -> Result<Customer, StorageError>;
}

/// Conversations.
#[async_trait]
pub trait ConversationStore: Send + Sync {
    /// Stores a new conversation. `NotFound` if its customer is not in its business.
    async fn insert_conversation(&self, conversation: &Conversation) -> Result<(), StorageError>;
    /// Reads a conversation.
    async fn get_conversation(
        &self,
        business: BusinessId,
        id: ConversationId,
    ) -> Result<Conversation, StorageError>;
    /// Reads the conversations among `ids` that the business has, in no set order.
    async fn get_conversations(
        &self,
        business: BusinessId,
        ids: &[ConversationId],
    ) -> Result<Vec<Conversation>, StorageError>;
    /// Writes a conversation's message times (`last_message_at`,
    /// `last_inbound_at`) and `updated_at`. Its status, agent and desk change
    /// only through [`DeskStore::commit_desk`](super::DeskStore::commit_desk),
    /// against their revision, so this never undoes an assignment made
    /// meanwhile. `NotFound` when it is not the business's.
    async fn update_conversation(&self, conversation: &Conversation) -> Result<(), StorageError>;
    /// The customer's most recent conversation, whatever its status (a
    /// message from the customer reopens a resolved one).
    async fn latest_conversation(
        &self,
        business: BusinessId,
        customer: CustomerId,
    ) -> Result<Option<Conversation>, StorageError>;
    /// The most recent conversation of each of `customers` that has one, in
    /// no set order.
    async fn latest_conversations(
        &self,
        business: BusinessId,
        customers: &[CustomerId],
    ) -> Result<Vec<Conversation>, StorageError>;
    /// Lists conversations in id order.
    async fn list_conversations(
        &self,
        business: BusinessId,
        query: &ConversationQuery,
    ) -> Result<Page<Conversation>, StorageError>;
}

/// Messages.
#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Stores a message. `NotFound` if its conversation is not in its business or
    /// belongs to another customer; `Conflict` if its provider id is already stored.
    /// An inbound message also moves the customer's first/last seen and last
    /// inbound times and refreshes their engagement score, in the same transaction.
    async fn insert_message(&self, message: &Message) -> Result<(), StorageError>;
    /// Reads a message.
    async fn get_message(
        &self,
        business: BusinessId,
        id: MessageId,
    ) -> Result<Message, StorageError>;
    /// Reads the messages among `ids` that the business has, in no set order.
    async fn get_messages(
        &self,
        business: BusinessId,
        ids: &[MessageId],
    ) -> Result<Vec<Message>, StorageError>;
    /// Finds a message by the provider's id (for status callbacks and dedupe).
    async fn find_message_by_provider_id(
        &self,
        business: BusinessId,
        provider_id: &str,
    ) -> Result<Option<Message>, StorageError>;
    /// Replaces a stored message's status, provider id, error code and times.
    async fn update_message(&self, message: &Message) -> Result<(), StorageError>;
    /// Lists a conversation's messages, oldest first.
    async fn list_messages(
        &self,
        business: BusinessId,
        conversation: ConversationId,
        query: &MessageQuery,
    ) -> Result<Page<Message>, StorageError>;
    /// A conversation's messages newest first, those older than `before`
    /// when given, at most `limit` (clamped like a page): the latest few
    /// read without the rest of a long conversation.
    async fn latest_messages(
        &self,
        business: BusinessId,
        conversation: ConversationId,
        limit: u32,
        before: Option<MessageId>,
    ) -> Result<Vec<Message>, StorageError>;
}

/// Orders. Storing an order or changing its status refreshes the customer's
/// `stats` (spend, order count and last order over paid and fulfilled orders)
/// in the same transaction.
#[async_trait]
pub trait OrderStore: Send + Sync {
    /// Stores an order. `NotFound` if its customer is not in its business.
    async fn insert_order(&self, order: &Order) -> Result<(), StorageError>;
    /// Reads an order.
    async fn get_order(&self, business: BusinessId, id: OrderId) -> Result<Order, StorageError>;
    /// Sets an order's status and returns the order.
    async fn update_order_status(
        &self,
        business: BusinessId,
        id: OrderId,
        status: OrderStatus,
        at: DateTime<Utc>,
    ) -> Result<Order, StorageError>;
    /// Lists orders in id order.
    async fn list_orders(
        &self,
        business: BusinessId,
        query: &OrderQuery,
    ) -> Result<Page<Order>, StorageError>;
}

/// How a claimed outbox row ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxOutcome {
    /// The provider accepted it.
    Sent,
    /// Refused for good, with the reason and code.
    Failed {
        /// What happened.
        error: String,
        /// Provider or policy code.
        code: Option<u32>,
    },
    /// Not attempted (a limit or quiet hours held it): pending again at
    /// `run_at`, and the claim's attempt is given back.
    Defer {
        /// When to try.
        run_at: DateTime<Utc>,
        /// Why it waits.
        reason: String,
    },
    /// The provider may or may not have taken it: never retried blindly.
    Unknown {
        /// What happened.
        error: String,
    },
    /// Try again at `run_at`.
    Retry {
        /// When to try again.
        run_at: DateTime<Utc>,
        /// What happened.
        error: String,
        /// Provider code.
        code: Option<u32>,
    },
}

/// What finishing a row with an [`OutboxOutcome`] writes, the same in every
/// backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxEffect<'a> {
    /// The new state.
    pub state: OutboxState,
    /// The new due time, when the row is pending again.
    pub run_at: Option<DateTime<Utc>>,
    /// The new last error, when the outcome has one.
    pub error: Option<&'a str>,
    /// The new error code, when the outcome reports one (`Some(None)` clears
    /// it: the error it belonged to was replaced).
    pub code: Option<Option<u32>>,
    /// Whether the claim's attempt is given back (it was not attempted).
    pub gives_back_attempt: bool,
}

impl OutboxOutcome {
    /// What finishing a row with this outcome writes.
    pub fn effect(&self) -> OutboxEffect<'_> {
        let plain = |state| OutboxEffect {
            state,
            run_at: None,
            error: None,
            code: None,
            gives_back_attempt: false,
        };
        match self {
            Self::Sent => plain(OutboxState::Sent),
            Self::Failed { error, code } => {
                OutboxEffect { error: Some(error), code: Some(*code), ..plain(OutboxState::Failed) }
            }
            Self::Defer { run_at, reason } => OutboxEffect {
                run_at: Some(*run_at),
                error: Some(reason),
                gives_back_attempt: true,
                ..plain(OutboxState::Pending)
            },
            Self::Unknown { error } => {
                OutboxEffect { error: Some(error), ..plain(OutboxState::Unknown) }
            }
            Self::Retry { run_at, error, code } => OutboxEffect {
                run_at: Some(*run_at),
                error: Some(error),
                code: Some(*code),
                ..plain(OutboxState::Pending)
            },
        }
    }
}

/// One outbox row, by its business and message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OutboxKey {
    /// The business.
    pub business: BusinessId,
    /// The message.
    pub message: MessageId,
}

/// How one claimed row ended, with its message's new delivery state.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxFinish {
    /// The row.
    pub key: OutboxKey,
    /// Its outcome.
    pub outcome: OutboxOutcome,
    /// The message with its new status, provider id, error code and times,
    /// written with the outcome (as [`MessageStore::update_message`] would).
    pub message: Option<Message>,
}

/// The outbox. Dispatchers work across businesses, so claiming is the one
/// outbox call not scoped by business; every row still belongs to one.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Queues rows atomically: all or none. `Conflict` if a message is queued
    /// already; `NotFound` if a message is not stored in its business.
    async fn enqueue(&self, items: &[OutboxItem]) -> Result<(), StorageError>;
    /// Stores new outbound messages and their rows in one transaction: all or
    /// none, as [`MessageStore::insert_message`] and [`enqueue`](Self::enqueue)
    /// would each check them.
    async fn queue_messages(&self, rows: &[(Message, OutboxItem)]) -> Result<(), StorageError>;
    /// Reads one row.
    async fn get_outbox_item(
        &self,
        business: BusinessId,
        message: MessageId,
    ) -> Result<OutboxItem, StorageError>;
    /// Claims up to `limit` pending rows due at `now`, earliest first, until
    /// `claimed_until`; counts an attempt on each. Rows claimed by one caller
    /// are never handed to another while claimed.
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        claimed_until: DateTime<Utc>,
    ) -> Result<Vec<OutboxItem>, StorageError>;
    /// Marks claimed rows as being handed to the provider, just before the
    /// calls, in one transaction. Says per row whether it was marked: a row no
    /// longer claimed (its claim lapsed) is not, and must not be sent.
    async fn start_sends(
        &self,
        rows: &[OutboxKey],
        at: DateTime<Utc>,
    ) -> Result<Vec<bool>, StorageError>;
    /// Records how a claimed or sending row ended. `Conflict` if its claim
    /// lapsed: the outcome is then for a status callback or a person to settle.
    async fn finish(
        &self,
        business: BusinessId,
        message: MessageId,
        outcome: &OutboxOutcome,
        at: DateTime<Utc>,
    ) -> Result<OutboxItem, StorageError>;
    /// Records many outcomes in one transaction: each row's message delivery
    /// (when given) and the row's end, as [`finish`](Self::finish) does. Says
    /// per row whether it was recorded; a row whose claim lapsed is left alone
    /// (message included), for its status callback to settle.
    async fn finish_many(
        &self,
        rows: &[OutboxFinish],
        at: DateTime<Utc>,
    ) -> Result<Vec<bool>, StorageError>;
    /// Settles an `unknown` row from what a status callback proved: `sent`
    /// when the provider reported the message, `failed` when it reported a
    /// failure. Returns false (changing nothing) for any other row.
    async fn settle_unknown(
        &self,
        business: BusinessId,
        message: MessageId,
        delivered: bool,
        at: DateTime<Utc>,
    ) -> Result<bool, StorageError>;
    /// Ends claims that lapsed before `now` (their dispatcher died): rows never
    /// handed over are pending again with the attempt given back; rows being
    /// handed over become unknown. Returns how many became unknown.
    async fn expire_claims(&self, now: DateTime<Utc>) -> Result<u64, StorageError>;
    /// When marketing rows to `recipient` were sent since `since`, oldest
    /// first: what the marketing frequency cap counts.
    async fn recent_marketing(
        &self,
        business: BusinessId,
        recipient: &PhoneNumber,
        since: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, StorageError>;
    /// How many marketing rows each recipient of the business was sent since
    /// `since`: the frequency cap for a whole audience in one read.
    async fn marketing_counts_since(
        &self,
        business: BusinessId,
        since: DateTime<Utc>,
    ) -> Result<Vec<(PhoneNumber, u32)>, StorageError>;
    /// Cancels pending rows of the business; returns how many.
    async fn cancel_pending(
        &self,
        business: BusinessId,
        messages: &[MessageId],
        at: DateTime<Utc>,
    ) -> Result<u64, StorageError>;
}

/// The sending limits' shared state ([`SenderLedger`](crate::policy::SenderLedger)), so that every
/// dispatcher process sending from one number spends one budget. Not scoped by
/// business: a sender number belongs to one business.
#[async_trait]
pub trait SenderLimitStore: Send + Sync {
    /// Admits `requests` in order at `now` under `limits`, atomically against
    /// every other caller: loads the sender's ledger, runs
    /// [`SenderLedger::admit`](crate::policy::SenderLedger::admit) and stores
    /// what it spent.
    async fn admit_sends(
        &self,
        sender: &PhoneNumber,
        limits: &RateLimits,
        requests: &[SendSlot],
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<(), Throttle>>, StorageError>;
    /// Applies a provider error to the sender's ledger
    /// ([`SenderLedger::penalize`](crate::policy::SenderLedger::penalize));
    /// returns the pause, if any.
    async fn penalize_sender(
        &self,
        sender: &PhoneNumber,
        limits: &RateLimits,
        penalty: &Penalty,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StorageError>;
}

/// The constraint text used when a message is queued twice.
pub const ALREADY_QUEUED: &str = "message is already queued";
/// The constraint text used when a finished row was not claimed.
pub const NOT_CLAIMED: &str = "outbox row is not claimed";

/// Saved segments.
#[async_trait]
pub trait SegmentStore: Send + Sync {
    /// Stores a segment. `Conflict` if the name is taken in the business.
    async fn insert_segment(&self, segment: &Segment) -> Result<(), StorageError>;
    /// Reads a segment.
    async fn get_segment(
        &self,
        business: BusinessId,
        id: SegmentId,
    ) -> Result<Segment, StorageError>;
    /// Replaces a segment's name, description, rule and `updated_at`.
    async fn update_segment(&self, segment: &Segment) -> Result<(), StorageError>;
    /// Deletes a segment.
    async fn delete_segment(&self, business: BusinessId, id: SegmentId)
    -> Result<(), StorageError>;
    /// Lists segments in id order.
    async fn list_segments(
        &self,
        business: BusinessId,
        limit: u32,
        after: Option<SegmentId>,
    ) -> Result<Page<Segment>, StorageError>;
}

/// The constraint text used when a segment name is taken.
pub const SEGMENT_NAME_TAKEN: &str = "a segment with this name exists";

/// Message templates and their version history.
#[async_trait]
pub trait TemplateStore: Send + Sync {
    /// Stores a new template and its first version. `Conflict` if the business
    /// already has a template with this name and language.
    async fn insert_template(&self, template: &MessageTemplate) -> Result<(), StorageError>;
    /// Reads a template.
    async fn get_template(
        &self,
        business: BusinessId,
        id: TemplateId,
    ) -> Result<MessageTemplate, StorageError>;
    /// Finds a template by name and language.
    async fn find_template(
        &self,
        business: BusinessId,
        name: &str,
        language: &str,
    ) -> Result<Option<MessageTemplate>, StorageError>;
    /// Lists templates in id order.
    async fn list_templates(
        &self,
        business: BusinessId,
        query: &TemplateQuery,
    ) -> Result<Page<MessageTemplate>, StorageError>;
    /// Replaces a stored template only if its latest version is still
    /// `expected_version` (else `Conflict`: someone else changed it), and records
    /// its latest version in the history (adding it, or updating its status).
    /// Name and language never change.
    async fn save_template(
        &self,
        template: &MessageTemplate,
        expected_version: u32,
    ) -> Result<(), StorageError>;
    /// Every version of a template, oldest first.
    async fn list_template_versions(
        &self,
        business: BusinessId,
        id: TemplateId,
    ) -> Result<Vec<TemplateVersion>, StorageError>;
}

/// The constraint text used when a template name is taken.
pub const TEMPLATE_NAME_TAKEN: &str = "a template with this name and language exists";
/// The constraint text used when a template changed since it was read.
pub const TEMPLATE_CHANGED: &str = "template was changed by someone else; reload and retry";

/// Everything the SDK stores. Implemented automatically for any type that
/// implements every per-aggregate trait.
pub trait Storage:
    BusinessStore
    + ApiKeyStore
    + super::AgentStore
    + super::QueueStore
    + super::RoutingStore
    + super::DeskStore
    + super::RecommendStore
    + CustomerStore
    + ConversationStore
    + MessageStore
    + OrderStore
    + CatalogStore
    + CartStore
    + DiscountStore
    + CheckoutStore
    + ShipmentStore
    + NoticeStore
    + PaymentStore
    + AssistantStore
    + OutboxStore
    + SenderLimitStore
    + BroadcastStore
    + CampaignStore
    + SegmentStore
    + TemplateStore
    + Send
    + Sync
    + 'static
{
}

impl<T> Storage for T where
    T: BusinessStore
        + ApiKeyStore
        + super::AgentStore
        + super::QueueStore
        + super::RoutingStore
        + super::DeskStore
        + super::RecommendStore
        + super::RecommendStore
        + super::DeskStore
        + super::RecommendStore
        + super::RecommendStore
        + CustomerStore
        + ConversationStore
        + MessageStore
        + OrderStore
        + CatalogStore
        + CartStore
        + DiscountStore
        + CheckoutStore
        + ShipmentStore
        + NoticeStore
        + PaymentStore
        + AssistantStore
        + OutboxStore
        + SenderLimitStore
        + BroadcastStore
        + CampaignStore
        + SegmentStore
        + TemplateStore
        + Send
        + Sync
        + 'static
{
}
