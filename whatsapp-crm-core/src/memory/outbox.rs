//! The outbox in memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::InMemoryStorage;
use crate::domain::{
    BusinessId, MessageId, OutboxItem, OutboxState, PhoneNumber, TemplateCategory,
};
use crate::ports::{ALREADY_QUEUED, NOT_CLAIMED, OutboxOutcome, OutboxStore, StorageError};

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
            inner
                .tenant_mut(item.business_id, ENTITY)?
                .outbox
                .insert(item.message_id, item.clone());
        }
        Ok(())
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
        let mut due: Vec<(DateTime<Utc>, MessageId, BusinessId)> = inner
            .tenants
            .values()
            .flat_map(|t| t.outbox.values())
            .filter(|o| o.state == OutboxState::Pending && o.run_at <= now)
            .map(|o| (o.run_at, o.message_id, o.business_id))
            .collect();
        due.sort_unstable();
        due.truncate(limit as usize);
        let mut out = Vec::with_capacity(due.len());
        for (_, id, business) in due {
            if let Some(item) = inner.tenants.get_mut(&business).and_then(|t| t.outbox.get_mut(&id))
            {
                item.state = OutboxState::Claimed;
                item.attempts += 1;
                item.claimed_until = Some(claimed_until);
                item.updated_at = now;
                out.push(item.clone());
            }
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
        Ok(item.clone())
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

    async fn start_send(
        &self,
        business: BusinessId,
        message: MessageId,
        at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let mut inner = self.write();
        let item = inner
            .tenant_mut(business, ENTITY)?
            .outbox
            .get_mut(&message)
            .ok_or(StorageError::not_found(ENTITY))?;
        if item.state != OutboxState::Claimed {
            return Err(StorageError::conflict(ENTITY, NOT_CLAIMED));
        }
        item.state = OutboxState::Sending;
        item.updated_at = at;
        Ok(())
    }

    async fn expire_claims(&self, now: DateTime<Utc>) -> Result<u64, StorageError> {
        let mut inner = self.write();
        let mut n = 0;
        for item in inner.tenants.values_mut().flat_map(|t| t.outbox.values_mut()) {
            if item.claimed_until.is_none_or(|u| u >= now) {
                continue;
            }
            match item.state {
                OutboxState::Claimed => {
                    item.state = OutboxState::Pending;
                    item.attempts = item.attempts.saturating_sub(1);
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
