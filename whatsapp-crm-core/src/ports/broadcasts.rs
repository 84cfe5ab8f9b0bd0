//! The broadcast store: broadcasts, their recipients, and the counts their
//! metrics are made of.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::{Page, StorageError};
use crate::domain::{
    Broadcast, BroadcastId, BroadcastRecipient, BroadcastStatus, BusinessId, Conversation,
    ConversationId, CustomerId, Direction, Message, MessageContent, MessageId, MessageStatus,
    OutboxItem, OutboxState, PhoneNumber, SkipReason, StatusTimes, TemplateCategory,
};

/// The parts of a broadcast a backend may keep as one JSON document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BroadcastSpec {
    /// [`Broadcast::variables`].
    pub variables: std::collections::BTreeMap<String, String>,
    /// [`Broadcast::audience`].
    pub audience: crate::domain::Audience,
    /// [`Broadcast::auto_pause`].
    pub auto_pause: crate::domain::AutoPause,
    /// [`Broadcast::ab_test`].
    #[serde(default)]
    pub ab_test: Option<crate::domain::AbTest>,
}

impl BroadcastSpec {
    /// The spec of `b`.
    pub fn of(b: &Broadcast) -> Self {
        Self {
            variables: b.variables.clone(),
            audience: b.audience.clone(),
            auto_pause: b.auto_pause,
            ab_test: b.ab_test.clone(),
        }
    }
}

/// The constraint text used when a broadcast changed since it was read.
pub const BROADCAST_CHANGED: &str = "broadcast changed meanwhile; reload and retry";

/// One batch of a launch, stored in one transaction. Every row it stands for is
/// new and made at [`LaunchBatch::at`]: the messages are outbound and queued,
/// their outbox rows pending from that moment, so a backend may write the
/// shared values once per statement rather than once per row.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchBatch {
    /// The business.
    pub business: BusinessId,
    /// The broadcast, which must still be launching.
    pub broadcast: BroadcastId,
    /// The business's WhatsApp number, the sender of every message.
    pub sender: PhoneNumber,
    /// The messages queued, one per customer.
    pub queued: Vec<LaunchMessage>,
    /// The customers skipped, with why.
    pub skipped: Vec<BroadcastRecipient>,
    /// The last customer handled.
    pub cursor: Option<CustomerId>,
    /// True when this batch ends the audience: the broadcast is then sending.
    pub last: bool,
    /// When.
    pub at: DateTime<Utc>,
}

/// A message a launch queues for one customer.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchMessage {
    /// The customer.
    pub customer_id: CustomerId,
    /// Their number, the outbox row's recipient.
    pub phone: PhoneNumber,
    /// The conversation the message joins.
    pub conversation_id: ConversationId,
    /// True when the launch opens that conversation, the customer having none.
    pub opens_conversation: bool,
    /// The new message's id.
    pub message_id: MessageId,
    /// What it says.
    pub content: MessageContent,
    /// The template's category, which the outbox row keeps for the sender's limits.
    pub category: Option<TemplateCategory>,
    /// The A/B variant, when the broadcast tests some.
    pub variant: Option<u8>,
}

impl LaunchBatch {
    /// The conversations the batch opens.
    pub fn conversations(&self) -> impl Iterator<Item = Conversation> + '_ {
        self.queued.iter().filter(|q| q.opens_conversation).map(|q| {
            let mut c = Conversation::new(self.business, q.customer_id, self.at);
            c.id = q.conversation_id;
            c
        })
    }

    /// The messages the batch queues, with their outbox rows.
    pub fn messages(&self) -> impl Iterator<Item = (Message, OutboxItem)> + '_ {
        self.queued.iter().map(|q| {
            let message = Message {
                id: q.message_id,
                business_id: self.business,
                conversation_id: q.conversation_id,
                customer_id: q.customer_id,
                direction: Direction::Outbound,
                content: q.content.clone(),
                status: MessageStatus::Queued,
                provider_id: None,
                error_code: None,
                times: StatusTimes { queued_at: Some(self.at), ..StatusTimes::default() },
                created_at: self.at,
                author: crate::domain::Author::Broadcast,
                decision: None,
            };
            let mut row = OutboxItem::new(
                self.business,
                q.message_id,
                self.sender.clone(),
                q.phone.clone(),
                self.at,
                self.at,
            );
            row.category = q.category;
            (message, row)
        })
    }

    /// Every customer the batch handles, sent or skipped.
    pub fn recipients(&self) -> impl Iterator<Item = BroadcastRecipient> + '_ {
        let sent = self.queued.iter().map(|q| BroadcastRecipient {
            broadcast_id: self.broadcast,
            customer_id: q.customer_id,
            message_id: Some(q.message_id),
            skipped: None,
            variant: q.variant,
        });
        sent.chain(self.skipped.iter().cloned())
    }
}

/// What a broadcast's metrics are made of, summed by storage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BroadcastCounts {
    /// Queued messages by their status.
    pub by_status: Vec<(MessageStatus, u32)>,
    /// Failed and undelivered messages by error code (none: no code).
    pub failed_by_code: Vec<(Option<u32>, u32)>,
    /// Skipped customers by reason.
    pub skipped: Vec<(SkipReason, u32)>,
    /// Outbox rows by state.
    pub by_outbox_state: Vec<(OutboxState, u32)>,
    /// Recipients who wrote back within the reply window after their message.
    pub replies: u32,
    /// Recipients who tapped a button or list row within the window.
    pub clicks: u32,
}

/// Builds the counts from grouped rows, as every backend reads them:
/// messages by status and error code, skips by reason, rows by state.
pub fn counts_from_statuses(
    statuses: Vec<((MessageStatus, Option<u32>), u32)>,
    skipped: Vec<(SkipReason, u32)>,
    by_outbox_state: Vec<(OutboxState, u32)>,
    replies: u32,
    clicks: u32,
) -> BroadcastCounts {
    let mut by_status = std::collections::BTreeMap::new();
    let mut failed_by_code = std::collections::BTreeMap::new();
    for ((status, code), n) in statuses {
        *by_status.entry(status).or_insert(0) += n;
        if status.is_failure() {
            *failed_by_code.entry(code).or_insert(0) += n;
        }
    }
    let mut skipped = skipped;
    skipped.sort();
    let mut by_outbox_state = by_outbox_state;
    by_outbox_state.sort();
    BroadcastCounts {
        by_status: by_status.into_iter().collect(),
        failed_by_code: failed_by_code.into_iter().collect(),
        skipped,
        by_outbox_state,
        replies,
        clicks,
    }
}

/// One recipient with where their message is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecipientStatus {
    /// The recipient row.
    pub recipient: BroadcastRecipient,
    /// Their message's status, when one was queued.
    pub status: Option<MessageStatus>,
    /// The provider's error code, when it failed.
    pub error_code: Option<u32>,
}

/// Broadcasts and their recipients.
#[async_trait]
pub trait BroadcastStore: Send + Sync {
    /// Stores a new broadcast.
    async fn insert_broadcast(&self, broadcast: &Broadcast) -> Result<(), StorageError>;
    /// Reads a broadcast.
    async fn get_broadcast(
        &self,
        business: BusinessId,
        id: BroadcastId,
    ) -> Result<Broadcast, StorageError>;
    /// Lists broadcasts in id order.
    async fn list_broadcasts(
        &self,
        business: BusinessId,
        limit: u32,
        after: Option<BroadcastId>,
    ) -> Result<Page<Broadcast>, StorageError>;
    /// Replaces a broadcast whose stored status is still `expected`;
    /// `Conflict` ([`BROADCAST_CHANGED`]) when another change came first.
    async fn update_broadcast(
        &self,
        broadcast: &Broadcast,
        expected: BroadcastStatus,
    ) -> Result<(), StorageError>;
    /// Broadcasts with work at `now`, across businesses: scheduled ones whose
    /// time has come, launching ones and sending ones.
    async fn active_broadcasts(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<(BusinessId, BroadcastId)>, StorageError>;
    /// Stores a launch batch in one transaction: its conversations, messages
    /// with their outbox rows, recipients, and the broadcast's progress.
    /// `Conflict` ([`BROADCAST_CHANGED`]), storing nothing, when the broadcast
    /// is no longer launching (paused or cancelled meanwhile).
    async fn record_launch_batch(&self, batch: &LaunchBatch) -> Result<(), StorageError>;
    /// Moves the broadcast's outbox rows in state `from` to `to` (hold on
    /// pause, release on resume, cancel); returns how many moved.
    async fn move_broadcast_rows(
        &self,
        business: BusinessId,
        id: BroadcastId,
        from: OutboxState,
        to: OutboxState,
        at: DateTime<Utc>,
    ) -> Result<u64, StorageError>;
    /// The counts behind the broadcast's metrics; replies and clicks count
    /// inbound messages within `reply_window` after the recipient's message,
    /// and are left at zero without one (they are the costly part, which a
    /// worker judging progress every second does not need). With `variant`,
    /// only the recipients of that A/B variant count.
    async fn broadcast_counts(
        &self,
        business: BusinessId,
        id: BroadcastId,
        reply_window: Option<Duration>,
        variant: Option<u8>,
    ) -> Result<BroadcastCounts, StorageError>;
    /// The broadcast's recipients in customer order, with their messages' status.
    async fn list_broadcast_recipients(
        &self,
        business: BusinessId,
        id: BroadcastId,
        limit: u32,
        after: Option<CustomerId>,
    ) -> Result<Page<RecipientStatus>, StorageError>;
}
