//! Storage of payment attempts, the provider events behind them, receipts,
//! and payment links with their reminders.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Page, StorageError};
use crate::domain::{
    BusinessId, Message, OrderId, OutboxItem, PaymentAttempt, PaymentEvent, PaymentId, PaymentLink,
    PaymentStatus,
};

/// The constraint text used when a provider reference is taken.
pub const PAYMENT_REFERENCE_TAKEN: &str = "provider reference already used";
/// The constraint text used when an attempt moved since it was read.
pub const PAYMENT_CHANGED: &str = "payment was changed by someone else; reload and retry";

/// Filters and paging for listing payments.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PaymentQuery {
    /// Only this order's.
    pub order: Option<OrderId>,
    /// Only attempts in this status.
    pub status: Option<PaymentStatus>,
    /// Page size.
    pub limit: u32,
    /// Continue after this attempt.
    pub after: Option<PaymentId>,
}

/// What recording a provider event did. Events are unique on (provider,
/// reference, kind) within a business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventRecorded {
    /// Stored; nothing like it before.
    New,
    /// The same event was stored before, with the same amount: a repeat.
    Duplicate,
    /// The same key was stored before with another amount: refused (the
    /// first one stands); the caller flags it.
    Conflict(PaymentEvent),
}

/// Payment attempts, their events, receipts and payment links.
#[async_trait]
pub trait PaymentStore: Send + Sync {
    /// Stores an attempt, with the hash of its callback token when it has
    /// one. `NotFound` if its order is not in the business; `Conflict`
    /// ([`PAYMENT_REFERENCE_TAKEN`]) if another attempt of the business has
    /// the provider's reference.
    async fn insert_payment(
        &self,
        payment: &PaymentAttempt,
        callback_token_hash: Option<[u8; 32]>,
    ) -> Result<(), StorageError>;
    /// Reads an attempt.
    async fn get_payment(
        &self,
        business: BusinessId,
        id: PaymentId,
    ) -> Result<PaymentAttempt, StorageError>;
    /// Lists attempts in id order.
    async fn list_payments(
        &self,
        business: BusinessId,
        query: &PaymentQuery,
    ) -> Result<Page<PaymentAttempt>, StorageError>;
    /// Writes an attempt read in status `from`; `Conflict`
    /// ([`PAYMENT_CHANGED`]) if it is no longer in it.
    async fn update_payment(
        &self,
        payment: &PaymentAttempt,
        from: PaymentStatus,
    ) -> Result<(), StorageError>;
    /// The attempt with this provider reference, in any business (the
    /// oldest, should two businesses hold one).
    async fn payment_by_reference(
        &self,
        provider: &str,
        reference: &str,
    ) -> Result<Option<PaymentAttempt>, StorageError>;
    /// The attempt whose callback token hashes to `hash`, in any business.
    async fn payment_by_callback_token(
        &self,
        hash: [u8; 32],
    ) -> Result<Option<PaymentAttempt>, StorageError>;
    /// Stores a provider event of an attempt of `business` once per
    /// (provider, reference, kind).
    async fn record_payment_event(
        &self,
        business: BusinessId,
        event: &PaymentEvent,
    ) -> Result<EventRecorded, StorageError>;
    /// An attempt's events, in arrival order.
    async fn payment_events(
        &self,
        business: BusinessId,
        payment: PaymentId,
    ) -> Result<Vec<PaymentEvent>, StorageError>;
    /// Open attempts (pending or prompted) of any business whose
    /// `next_check_at` is at or before `now`, soonest first.
    async fn due_payments(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(BusinessId, PaymentId)>, StorageError>;
    /// Records an attempt's receipt, once: with its message and outbox row
    /// in the same transaction, or the reason none was sent. False, with
    /// nothing stored, when it has one already.
    async fn record_receipt(
        &self,
        business: BusinessId,
        payment: PaymentId,
        send: Option<&(Message, OutboxItem)>,
        skipped: Option<&str>,
    ) -> Result<bool, StorageError>;
    /// Stores an order's payment link, replacing the one it had.
    /// `NotFound` if the order is not in the business.
    async fn save_payment_link(&self, link: &PaymentLink) -> Result<(), StorageError>;
    /// An order's payment link.
    async fn payment_link(
        &self,
        business: BusinessId,
        order: OrderId,
    ) -> Result<Option<PaymentLink>, StorageError>;
    /// Links of any business with a reminder due at or before `now`,
    /// soonest first.
    async fn due_reminders(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(BusinessId, OrderId)>, StorageError>;
    /// Records reminder `n` (1-based) of an order's link, once: the link's
    /// count moves from `n - 1` to `n` and its next reminder to `next_at`,
    /// with the message queued in the same transaction. False, with nothing
    /// stored, when reminder `n` was recorded already (or the link changed).
    async fn record_reminder(
        &self,
        business: BusinessId,
        order: OrderId,
        n: u32,
        next_at: Option<DateTime<Utc>>,
        send: Option<&(Message, OutboxItem)>,
    ) -> Result<bool, StorageError>;
}
