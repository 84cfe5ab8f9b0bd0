//! The outbox in memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::messaging::{check_delivery, write_delivery};
use super::{InMemoryStorage, Inner};
use std::collections::HashSet;

use crate::domain::{
    BusinessId, Message, MessageId, OutboxItem, OutboxState, PhoneNumber, TemplateCategory,
};
use crate::policy::{Penalty, RateLimits, SendSlot, Throttle};
use crate::ports::{
    ALREADY_QUEUED, NOT_CLAIMED, OutboxFinish, OutboxKey, OutboxOutcome, OutboxStore,
    PROVIDER_ID_TAKEN, SenderLimitStore, StorageError,
};

const ENTITY: &str = "outbox item";

/// Applies an outcome to a claimed row.
fn finish_item(item: &mut OutboxItem, outcome: &OutboxOutcome, at: DateTime<Utc>) {
    let e = outcome.effect();
    item.state = e.state;
    item.claimed_until = None;
    item.updated_at = at;
    if let Some(run_at) = e.run_at {
        item.run_at = run_at;
    }
    if let Some(error) = e.error {
        item.last_error = Some(error.to_owned());
    }
    if let Some(code) = e.code {
        item.error_code = code;
    }
    if e.gives_back_attempt {
        item.attempts = item.attempts.saturating_sub(1);
    }
}

#[async_trait]
impl OutboxStore for InMemoryStorage {
    async fn enqueue(&self, items: &[OutboxItem]) -> Result<(), StorageError> {
        let mut inner = self.write();
        // Check everything first, so a refused batch changes nothing.
        for (i, item) in items.iter().enumerate() {
            let tenant =
                inner.tenant(item.business_id).ok_or(StorageError::not_found("message"))?;
            if !tenant.messages.contains_key(&item.message_id) {
                return Err(StorageError::not_found("message"));
            }
            let twice = items[..i]
                .iter()
                .any(|o| o.business_id == item.business_id && o.message_id == item.message_id);
            if twice || tenant.outbox.contains_key(&item.message_id) {
                return Err(StorageError::conflict(ENTITY, ALREADY_QUEUED));
            }
        }
        for item in items {
            if item.state == OutboxState::Pending {
                inner.due.insert((item.run_at, item.message_id, item.business_id));
            }
            inner
                .tenant_mut(item.business_id, ENTITY)?
                .outbox
                .insert(item.message_id, item.clone());
        }
        Ok(())
    }

    async fn queue_messages(&self, rows: &[(Message, OutboxItem)]) -> Result<(), StorageError> {
        self.write().queue(rows)
    }

    async fn get_outbox_item(
        &self,
        business: BusinessId,
        message: MessageId,
    ) -> Result<OutboxItem, StorageError> {
        self.read()
            .tenant(business)
            .and_then(|t| t.outbox.get(&message))
            .cloned()
            .ok_or(StorageError::not_found(ENTITY))
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        claimed_until: DateTime<Utc>,
    ) -> Result<Vec<OutboxItem>, StorageError> {
        let mut inner = self.write();
        let Inner { tenants, due, claims, .. } = &mut *inner;
        let mut out = Vec::new();
        while out.len() < limit as usize {
            let Some(&(run_at, id, business)) = due.first().filter(|d| d.0 <= now) else { break };
            due.pop_first();
            // Entries of rows deleted with their customer are skipped.
            let Some(item) = tenants
                .get_mut(&business)
                .and_then(|t| t.outbox.get_mut(&id))
                .filter(|o| o.state == OutboxState::Pending && o.run_at == run_at)
            else {
                continue;
            };
            item.state = OutboxState::Claimed;
            item.attempts += 1;
            item.claimed_until = Some(claimed_until);
            item.updated_at = now;
            claims.insert((claimed_until, id, business));
            out.push(item.clone());
        }
        Ok(out)
    }

    async fn finish(
        &self,
        business: BusinessId,
        message: MessageId,
        outcome: &OutboxOutcome,
        at: DateTime<Utc>,
    ) -> Result<OutboxItem, StorageError> {
        let mut inner = self.write();
        let item = inner
            .tenant_mut(business, ENTITY)?
            .outbox
            .get_mut(&message)
            .ok_or(StorageError::not_found(ENTITY))?;
        if !matches!(item.state, OutboxState::Claimed | OutboxState::Sending) {
            return Err(StorageError::conflict(ENTITY, NOT_CLAIMED));
        }
        finish_item(item, outcome, at);
        let item = item.clone();
        if item.state == OutboxState::Pending {
            inner.due.insert((item.run_at, item.message_id, item.business_id));
        }
        Ok(item)
    }

    async fn settle_unknown(
        &self,
        business: BusinessId,
        message: MessageId,
        delivered: bool,
        at: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let mut inner = self.write();
        let Some(item) = inner
            .tenants
            .get_mut(&business)
            .and_then(|t| t.outbox.get_mut(&message))
            .filter(|o| o.state == OutboxState::Unknown)
        else {
            return Ok(false);
        };
        item.state = if delivered { OutboxState::Sent } else { OutboxState::Failed };
        item.updated_at = at;
        Ok(true)
    }

    async fn start_sends(
        &self,
        rows: &[OutboxKey],
        at: DateTime<Utc>,
    ) -> Result<Vec<bool>, StorageError> {
        let mut inner = self.write();
        Ok(rows
            .iter()
            .map(|k| {
                let item = inner
                    .tenants
                    .get_mut(&k.business)
                    .and_then(|t| t.outbox.get_mut(&k.message))
                    .filter(|o| o.state == OutboxState::Claimed);
                item.map(|o| {
                    o.state = OutboxState::Sending;
                    o.updated_at = at;
                })
                .is_some()
            })
            .collect())
    }

    async fn finish_many(
        &self,
        rows: &[OutboxFinish],
        at: DateTime<Utc>,
    ) -> Result<Vec<bool>, StorageError> {
        let mut inner = self.write();
        let claimed = |inner: &Inner, k: &OutboxKey| {
            inner
                .tenant(k.business)
                .and_then(|t| t.outbox.get(&k.message))
                .is_some_and(|o| matches!(o.state, OutboxState::Claimed | OutboxState::Sending))
        };
        // Check every write first, so a refused batch changes nothing.
        for r in rows.iter().filter(|r| claimed(&inner, &r.key)) {
            if let Some(m) = &r.message {
                let tenant = inner.tenant(r.key.business).ok_or(StorageError::not_found(ENTITY))?;
                check_delivery(tenant, m)?;
            }
        }
        let mut done = Vec::with_capacity(rows.len());
        for r in rows {
            if !claimed(&inner, &r.key) {
                done.push(false);
                continue;
            }
            let tenant = inner.tenant_mut(r.key.business, ENTITY)?;
            if let Some(m) = &r.message {
                write_delivery(tenant, m);
            }
            let mut requeue = None;
            if let Some(item) = tenant.outbox.get_mut(&r.key.message) {
                finish_item(item, &r.outcome, at);
                if item.state == OutboxState::Pending {
                    requeue = Some((item.run_at, item.message_id, item.business_id));
                }
            }
            if let Some(entry) = requeue {
                inner.due.insert(entry);
            }
            done.push(true);
        }
        Ok(done)
    }

    async fn expire_claims(&self, now: DateTime<Utc>) -> Result<u64, StorageError> {
        let mut inner = self.write();
        let Inner { tenants, due, claims, .. } = &mut *inner;
        let mut n = 0;
        while let Some(&(until, id, business)) = claims.first().filter(|c| c.0 < now) {
            claims.pop_first();
            let Some(item) = tenants
                .get_mut(&business)
                .and_then(|t| t.outbox.get_mut(&id))
                .filter(|o| o.claimed_until == Some(until))
            else {
                continue;
            };
            match item.state {
                OutboxState::Claimed => {
                    item.state = OutboxState::Pending;
                    item.attempts = item.attempts.saturating_sub(1);
                    due.insert((item.run_at, item.message_id, item.business_id));
                }
                OutboxState::Sending => {
                    item.state = OutboxState::Unknown;
                    n += 1;
                }
                _ => continue,
            }
            item.claimed_until = None;
            item.updated_at = now;
        }
        Ok(n)
    }

    async fn recent_marketing(
        &self,
        business: BusinessId,
        recipient: &PhoneNumber,
        since: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, StorageError> {
        let inner = self.read();
        let mut out: Vec<_> = inner
            .tenant(business)
            .into_iter()
            .flat_map(|t| t.outbox.values())
            .filter(|o| {
                o.state == OutboxState::Sent
                    && o.category == Some(TemplateCategory::Marketing)
                    && &o.recipient == recipient
                    && o.updated_at >= since
            })
            .map(|o| o.updated_at)
            .collect();
        out.sort_unstable();
        Ok(out)
    }

    async fn marketing_counts_since(
        &self,
        business: BusinessId,
        since: DateTime<Utc>,
    ) -> Result<Vec<(PhoneNumber, u32)>, StorageError> {
        let inner = self.read();
        let mut counts: std::collections::HashMap<PhoneNumber, u32> =
            std::collections::HashMap::new();
        for o in inner.tenant(business).into_iter().flat_map(|t| t.outbox.values()) {
            if o.state == OutboxState::Sent
                && o.category == Some(TemplateCategory::Marketing)
                && o.updated_at >= since
            {
                *counts.entry(o.recipient.clone()).or_default() += 1;
            }
        }
        Ok(counts.into_iter().collect())
    }

    async fn cancel_pending(
        &self,
        business: BusinessId,
        messages: &[MessageId],
        at: DateTime<Utc>,
    ) -> Result<u64, StorageError> {
        let mut inner = self.write();
        let Some(tenant) = inner.tenants.get_mut(&business) else { return Ok(0) };
        let mut n = 0;
        for id in messages {
            if let Some(item) =
                tenant.outbox.get_mut(id).filter(|o| o.state == OutboxState::Pending)
            {
                item.state = OutboxState::Cancelled;
                item.updated_at = at;
                n += 1;
            }
        }
        Ok(n)
    }
}

#[async_trait]
impl SenderLimitStore for InMemoryStorage {
    async fn admit_sends(
        &self,
        sender: &PhoneNumber,
        limits: &RateLimits,
        requests: &[SendSlot],
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<(), Throttle>>, StorageError> {
        let mut inner = self.write();
        let ledger = inner.ledgers.entry(sender.clone()).or_default();
        // The whole ledger is here; expired marks are dropped now and then.
        if ledger.recipients.len() > 4096 {
            ledger.forget_expired(now);
        }
        Ok(ledger.admit(limits, requests, now))
    }

    async fn penalize_sender(
        &self,
        sender: &PhoneNumber,
        limits: &RateLimits,
        penalty: &Penalty,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StorageError> {
        let mut inner = self.write();
        Ok(inner.ledgers.entry(sender.clone()).or_default().penalize(limits, penalty, now))
    }
}

impl Inner {
    /// Stores messages and their outbox rows, all or none.
    pub(super) fn queue(&mut self, rows: &[(Message, OutboxItem)]) -> Result<(), StorageError> {
        // Check everything first, so a refused batch changes nothing.
        let mut ids = HashSet::new();
        let mut providers = HashSet::new();
        for (m, item) in rows {
            let tenant =
                self.tenant(m.business_id).ok_or(StorageError::not_found("conversation"))?;
            tenant
                .conversations
                .get(&m.conversation_id)
                .filter(|c| c.customer_id == m.customer_id)
                .ok_or(StorageError::not_found("conversation"))?;
            if item.business_id != m.business_id || item.message_id != m.id {
                return Err(StorageError::not_found("message"));
            }
            if tenant.messages.contains_key(&m.id) || !ids.insert((m.business_id, m.id)) {
                return Err(StorageError::conflict("message", "id already exists"));
            }
            if let Some(p) = &m.provider_id
                && (tenant.provider_ids.contains_key(p) || !providers.insert((m.business_id, p)))
            {
                return Err(StorageError::conflict("message", PROVIDER_ID_TAKEN));
            }
        }
        for (m, item) in rows {
            let tenant = self.tenant_mut(m.business_id, ENTITY)?;
            if let Some(p) = &m.provider_id {
                tenant.provider_ids.insert(p.clone(), m.id);
            }
            tenant.messages.insert(m.id, m.clone());
            tenant.outbox.insert(item.message_id, item.clone());
            if item.state == OutboxState::Pending {
                self.due.insert((item.run_at, item.message_id, item.business_id));
            }
        }
        Ok(())
    }
}
