//! Payment attempts, their events, receipts and payment links in memory.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{InMemoryStorage, Inner};
use crate::domain::{
    BusinessId, Message, OrderId, OutboxItem, PaymentAttempt, PaymentEvent, PaymentId, PaymentLink,
    PaymentStatus,
};
use crate::ports::{
    EventRecorded, PAYMENT_CHANGED, PAYMENT_REFERENCE_TAKEN, Page, PaymentQuery, PaymentStore,
    StorageError, clamp_limit,
};

const PAYMENT: &str = "payment";

/// One business's payments.
#[derive(Debug, Default)]
pub(super) struct Payments {
    pub(super) attempts: BTreeMap<PaymentId, PaymentAttempt>,
    pub(super) events: BTreeMap<PaymentId, Vec<PaymentEvent>>,
    pub(super) links: BTreeMap<OrderId, PaymentLink>,
}

impl Inner {
    fn payment_refs_taken(&self, p: &PaymentAttempt) -> bool {
        let Some(t) = self.tenant(p.business_id) else { return false };
        p.provider_reference.as_ref().is_some_and(|r| {
            t.payments.attempts.values().any(|x| {
                x.id != p.id && x.provider == p.provider && x.provider_reference.as_ref() == Some(r)
            })
        })
    }
}

#[async_trait]
impl PaymentStore for InMemoryStorage {
    async fn insert_payment(
        &self,
        p: &PaymentAttempt,
        callback_token_hash: Option<[u8; 32]>,
    ) -> Result<(), StorageError> {
        let mut inner = self.write();
        if inner.payment_refs_taken(p) {
            return Err(StorageError::conflict(PAYMENT, PAYMENT_REFERENCE_TAKEN));
        }
        let t = inner.tenant_mut(p.business_id, "order")?;
        if !t.orders.contains_key(&p.order_id) {
            return Err(StorageError::not_found("order"));
        }
        if t.payments.attempts.contains_key(&p.id) {
            return Err(StorageError::conflict(PAYMENT, "id already exists"));
        }
        t.payments.attempts.insert(p.id, p.clone());
        if let Some(h) = callback_token_hash {
            inner.payment_tokens.insert(h, (p.business_id, p.id));
        }
        Ok(())
    }

    async fn get_payment(
        &self,
        business: BusinessId,
        id: PaymentId,
    ) -> Result<PaymentAttempt, StorageError> {
        let inner = self.read();
        inner
            .tenant(business)
            .and_then(|t| t.payments.attempts.get(&id))
            .cloned()
            .ok_or(StorageError::not_found(PAYMENT))
    }

    async fn list_payments(
        &self,
        business: BusinessId,
        q: &PaymentQuery,
    ) -> Result<Page<PaymentAttempt>, StorageError> {
        let limit = clamp_limit(q.limit);
        let inner = self.read();
        let Some(t) = inner.tenant(business) else {
            return Ok(Page { items: Vec::new(), next_cursor: None });
        };
        let rows: Vec<PaymentAttempt> = t
            .payments
            .attempts
            .values()
            .filter(|p| q.after.is_none_or(|a| p.id > a))
            .filter(|p| q.order.is_none_or(|o| p.order_id == o))
            .filter(|p| q.status.is_none_or(|s| p.status == s))
            .take(limit as usize + 1)
            .cloned()
            .collect();
        Ok(Page::from_overfetch(rows, limit, |p| p.id.to_string()))
    }

    async fn update_payment(
        &self,
        p: &PaymentAttempt,
        from: PaymentStatus,
    ) -> Result<(), StorageError> {
        let mut inner = self.write();
        if inner.payment_refs_taken(p) {
            return Err(StorageError::conflict(PAYMENT, PAYMENT_REFERENCE_TAKEN));
        }
        let t = inner.tenant_mut(p.business_id, PAYMENT)?;
        let current = t.payments.attempts.get_mut(&p.id).ok_or(StorageError::not_found(PAYMENT))?;
        if current.status != from {
            return Err(StorageError::conflict(PAYMENT, PAYMENT_CHANGED));
        }
        // The receipt is recorded on its own (`record_receipt`).
        let (receipt, skipped) = (current.receipt_message_id, current.receipt_skipped.clone());
        *current =
            PaymentAttempt { receipt_message_id: receipt, receipt_skipped: skipped, ..p.clone() };
        Ok(())
    }

    async fn payment_by_reference(
        &self,
        provider: &str,
        reference: &str,
    ) -> Result<Option<PaymentAttempt>, StorageError> {
        let inner = self.read();
        let found = inner
            .tenants
            .values()
            .flat_map(|t| t.payments.attempts.values())
            .filter(|p| {
                p.provider == provider && p.provider_reference.as_deref() == Some(reference)
            })
            .min_by_key(|p| p.id);
        Ok(found.cloned())
    }

    async fn payment_by_callback_token(
        &self,
        hash: [u8; 32],
    ) -> Result<Option<PaymentAttempt>, StorageError> {
        let inner = self.read();
        let Some((b, id)) = inner.payment_tokens.get(&hash) else { return Ok(None) };
        Ok(inner.tenant(*b).and_then(|t| t.payments.attempts.get(id)).cloned())
    }

    async fn record_payment_event(
        &self,
        business: BusinessId,
        e: &PaymentEvent,
    ) -> Result<EventRecorded, StorageError> {
        let mut inner = self.write();
        let t = inner.tenant_mut(business, PAYMENT)?;
        let id = e.payment_id.ok_or(StorageError::not_found(PAYMENT))?;
        if !t.payments.attempts.contains_key(&id) {
            return Err(StorageError::not_found(PAYMENT));
        }
        let same_key = t
            .payments
            .events
            .values()
            .flatten()
            .find(|x| x.provider == e.provider && x.reference == e.reference && x.kind == e.kind)
            .cloned();
        if let Some(first) = same_key {
            return Ok(if first.amount == e.amount {
                EventRecorded::Duplicate
            } else {
                EventRecorded::Conflict(first)
            });
        }
        t.payments.events.entry(id).or_default().push(e.clone());
        Ok(EventRecorded::New)
    }

    async fn payment_events(
        &self,
        business: BusinessId,
        payment: PaymentId,
    ) -> Result<Vec<PaymentEvent>, StorageError> {
        let inner = self.read();
        let t = inner.tenant(business).ok_or(StorageError::not_found(PAYMENT))?;
        if !t.payments.attempts.contains_key(&payment) {
            return Err(StorageError::not_found(PAYMENT));
        }
        Ok(t.payments.events.get(&payment).cloned().unwrap_or_default())
    }

    async fn due_payments(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(BusinessId, PaymentId)>, StorageError> {
        let inner = self.read();
        Ok(inner.due_across(limit, |t| {
            t.payments.attempts.values().filter_map(move |p| {
                let at = p.next_check_at?;
                (!p.status.is_final() && at <= now).then_some((at, p.id))
            })
        }))
    }

    async fn record_receipt(
        &self,
        business: BusinessId,
        payment: PaymentId,
        send: Option<&(Message, OutboxItem)>,
        skipped: Option<&str>,
    ) -> Result<bool, StorageError> {
        let mut inner = self.write();
        let t = inner.tenant_mut(business, PAYMENT)?;
        let p = t.payments.attempts.get(&payment).ok_or(StorageError::not_found(PAYMENT))?;
        if p.receipt_message_id.is_some() || p.receipt_skipped.is_some() {
            return Ok(false);
        }
        if let Some(row) = send {
            inner.queue(std::slice::from_ref(row))?;
        }
        let t = inner.tenant_mut(business, PAYMENT)?;
        if let Some(p) = t.payments.attempts.get_mut(&payment) {
            p.receipt_message_id = send.map(|(m, _)| m.id);
            p.receipt_skipped =
                skipped.map(str::to_owned).or_else(|| send.is_none().then(String::new));
        }
        Ok(true)
    }

    async fn save_payment_link(&self, link: &PaymentLink) -> Result<(), StorageError> {
        let mut inner = self.write();
        let t = inner.tenant_mut(link.business_id, "order")?;
        if !t.orders.contains_key(&link.order_id) {
            return Err(StorageError::not_found("order"));
        }
        t.payments.links.insert(link.order_id, link.clone());
        Ok(())
    }

    async fn payment_link(
        &self,
        business: BusinessId,
        order: OrderId,
    ) -> Result<Option<PaymentLink>, StorageError> {
        let inner = self.read();
        Ok(inner.tenant(business).and_then(|t| t.payments.links.get(&order)).cloned())
    }

    async fn due_reminders(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(BusinessId, OrderId)>, StorageError> {
        let inner = self.read();
        Ok(inner.due_across(limit, |t| {
            t.payments.links.values().filter_map(move |l| {
                let at = l.next_reminder_at?;
                (at <= now).then_some((at, l.order_id))
            })
        }))
    }

    async fn record_reminder(
        &self,
        business: BusinessId,
        order: OrderId,
        n: u32,
        next_at: Option<DateTime<Utc>>,
        send: Option<&(Message, OutboxItem)>,
    ) -> Result<bool, StorageError> {
        let mut inner = self.write();
        let t = inner.tenant_mut(business, "order")?;
        let Some(link) = t.payments.links.get(&order) else {
            return Err(StorageError::not_found("payment link"));
        };
        if link.reminders_sent + 1 != n {
            return Ok(false);
        }
        if let Some(row) = send {
            inner.queue(std::slice::from_ref(row))?;
        }
        let t = inner.tenant_mut(business, "order")?;
        if let Some(link) = t.payments.links.get_mut(&order) {
            link.reminders_sent = n;
            link.next_reminder_at = next_at;
        }
        Ok(true)
    }
}
