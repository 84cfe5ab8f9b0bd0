//! Broadcasts in memory.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::{InMemoryStorage, Inner, page_after};
use crate::domain::{
    Broadcast, BroadcastId, BroadcastStatus, BusinessId, CustomerId, Direction, MessageId,
    MessageKind, OutboxState,
};
use crate::ports::{
    BROADCAST_CHANGED, BroadcastCounts, BroadcastStore, LaunchBatch, Page, RecipientStatus,
    StorageError, clamp_limit, counts_from_statuses,
};

const ENTITY: &str = "broadcast";

impl Inner {
    fn broadcast_mut(
        &mut self,
        business: BusinessId,
        id: BroadcastId,
    ) -> Result<&mut Broadcast, StorageError> {
        self.tenant_mut(business, ENTITY)?
            .broadcasts
            .get_mut(&id)
            .ok_or(StorageError::not_found(ENTITY))
    }
}

#[async_trait]
impl BroadcastStore for InMemoryStorage {
    async fn insert_broadcast(&self, broadcast: &Broadcast) -> Result<(), StorageError> {
        let mut inner = self.write();
        let tenant = inner.tenant_mut(broadcast.business_id, "business")?;
        if !tenant.templates.contains_key(&broadcast.template_id) {
            return Err(StorageError::not_found("template"));
        }
        if tenant.broadcasts.contains_key(&broadcast.id) {
            return Err(StorageError::conflict(ENTITY, "id already exists"));
        }
        tenant.broadcasts.insert(broadcast.id, broadcast.clone());
        Ok(())
    }

    async fn get_broadcast(
        &self,
        business: BusinessId,
        id: BroadcastId,
    ) -> Result<Broadcast, StorageError> {
        self.read()
            .tenant(business)
            .and_then(|t| t.broadcasts.get(&id))
            .cloned()
            .ok_or(StorageError::not_found(ENTITY))
    }

    async fn list_broadcasts(
        &self,
        business: BusinessId,
        limit: u32,
        after: Option<BroadcastId>,
    ) -> Result<Page<Broadcast>, StorageError> {
        let inner = self.read();
        let Some(t) = inner.tenant(business) else {
            return Ok(Page::from_overfetch(Vec::new(), 1, |b: &Broadcast| b.id.to_string()));
        };
        let limit = clamp_limit(limit);
        let rows = page_after(&t.broadcasts, after).take(limit as usize + 1).cloned().collect();
        Ok(Page::from_overfetch(rows, limit, |b: &Broadcast| b.id.to_string()))
    }

    async fn update_broadcast(
        &self,
        broadcast: &Broadcast,
        expected: BroadcastStatus,
    ) -> Result<(), StorageError> {
        let mut inner = self.write();
        let stored = inner.broadcast_mut(broadcast.business_id, broadcast.id)?;
        if stored.status != expected {
            return Err(StorageError::conflict(ENTITY, BROADCAST_CHANGED));
        }
        *stored = broadcast.clone();
        Ok(())
    }

    async fn active_broadcasts(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<(BusinessId, BroadcastId)>, StorageError> {
        let inner = self.read();
        let mut out: Vec<_> = inner
            .tenants
            .values()
            .flat_map(|t| t.broadcasts.values())
            .filter(|b| match b.status {
                BroadcastStatus::Scheduled => b.send_at.is_none_or(|at| at <= now),
                BroadcastStatus::Launching | BroadcastStatus::Sending => true,
                _ => false,
            })
            .map(|b| (b.business_id, b.id))
            .collect();
        out.sort_by_key(|(_, id)| *id);
        Ok(out)
    }

    async fn record_launch_batch(&self, batch: &LaunchBatch) -> Result<(), StorageError> {
        let mut inner = self.write();
        {
            let b = inner.broadcast_mut(batch.business, batch.broadcast)?;
            if b.status != BroadcastStatus::Launching {
                return Err(StorageError::conflict(ENTITY, BROADCAST_CHANGED));
            }
        }
        let tenant = inner.tenant_mut(batch.business, ENTITY)?;
        // Check before writing, so a refused batch changes nothing.
        for q in &batch.queued {
            if !q.opens_conversation && !tenant.conversations.contains_key(&q.conversation_id) {
                return Err(StorageError::not_found("conversation"));
            }
            if tenant.messages.contains_key(&q.message_id) {
                return Err(StorageError::conflict("message", "id already exists"));
            }
        }
        for c in batch.conversations() {
            tenant.conversations.insert(c.id, c);
        }
        let mut due = Vec::new();
        for (m, o) in batch.messages() {
            due.push((o.run_at, o.message_id, o.business_id));
            tenant.messages.insert(m.id, m);
            tenant.outbox.insert(o.message_id, o);
        }
        for r in batch.recipients() {
            tenant.recipients.insert((batch.broadcast, r.customer_id), r);
        }
        let (queued, skipped) = (batch.queued.len() as u32, batch.skipped.len() as u32);
        let b = inner.broadcast_mut(batch.business, batch.broadcast)?;
        b.queued += queued;
        b.skipped += skipped;
        b.recipients += queued + skipped;
        b.launch_cursor = batch.cursor.or(b.launch_cursor);
        b.updated_at = batch.at;
        if batch.last {
            b.launch_complete = true;
            b.status = BroadcastStatus::Sending;
        }
        inner.due.extend(due);
        Ok(())
    }

    async fn move_broadcast_rows(
        &self,
        business: BusinessId,
        id: BroadcastId,
        from: OutboxState,
        to: OutboxState,
        at: DateTime<Utc>,
    ) -> Result<u64, StorageError> {
        let mut inner = self.write();
        let Inner { tenants, due, .. } = &mut *inner;
        let Some(tenant) = tenants.get_mut(&business) else { return Ok(0) };
        let messages: Vec<MessageId> = tenant
            .recipients
            .range((id, CustomerId::from_uuid(uuid::Uuid::nil()))..)
            .take_while(|((b, _), _)| *b == id)
            .filter_map(|(_, r)| r.message_id)
            .collect();
        let mut n = 0;
        for m in messages {
            if let Some(o) = tenant.outbox.get_mut(&m).filter(|o| o.state == from) {
                o.state = to;
                o.updated_at = at;
                if to == OutboxState::Pending {
                    due.insert((o.run_at, o.message_id, o.business_id));
                }
                n += 1;
            }
        }
        Ok(n)
    }

    async fn broadcast_counts(
        &self,
        business: BusinessId,
        id: BroadcastId,
        reply_window: Option<Duration>,
        variant: Option<u8>,
    ) -> Result<BroadcastCounts, StorageError> {
        let inner = self.read();
        let tenant = inner.tenant(business).ok_or(StorageError::not_found(ENTITY))?;
        tenant.broadcasts.get(&id).ok_or(StorageError::not_found(ENTITY))?;
        let mut statuses = HashMap::new();
        let mut skipped = HashMap::new();
        let mut by_outbox_state = HashMap::new();
        let (mut replies, mut clicks) = (0, 0);
        // Inbound messages by customer, for replies and clicks.
        let mut inbound: BTreeMap<CustomerId, Vec<(DateTime<Utc>, bool)>> = BTreeMap::new();
        for m in tenant.messages.values().filter(|m| m.direction == Direction::Inbound) {
            let click = m.kind() == MessageKind::Interactive;
            inbound.entry(m.customer_id).or_default().push((m.created_at, click));
        }
        for ((b, _), r) in tenant.recipients.range((id, CustomerId::from_uuid(uuid::Uuid::nil()))..)
        {
            if *b != id {
                break;
            }
            if variant.is_some() && r.variant != variant {
                continue;
            }
            let Some(m) = r.message_id.and_then(|m| tenant.messages.get(&m)) else {
                if let Some(reason) = r.skipped {
                    *skipped.entry(reason).or_insert(0) += 1;
                }
                continue;
            };
            *statuses.entry((m.status, m.error_code)).or_insert(0) += 1;
            if let Some(o) = tenant.outbox.get(&m.id) {
                *by_outbox_state.entry(o.state).or_insert(0) += 1;
            }
            let Some(window) = reply_window else { continue };
            let after = |t: &DateTime<Utc>| *t > m.created_at && *t <= m.created_at + window;
            let answers = inbound.get(&m.customer_id).map(Vec::as_slice).unwrap_or_default();
            replies += u32::from(answers.iter().any(|(t, _)| after(t)));
            clicks += u32::from(answers.iter().any(|(t, click)| *click && after(t)));
        }
        Ok(counts_from_statuses(
            statuses.into_iter().collect(),
            skipped.into_iter().collect(),
            by_outbox_state.into_iter().collect(),
            replies,
            clicks,
        ))
    }

    async fn list_broadcast_recipients(
        &self,
        business: BusinessId,
        id: BroadcastId,
        limit: u32,
        after: Option<CustomerId>,
    ) -> Result<Page<RecipientStatus>, StorageError> {
        let inner = self.read();
        let tenant = inner.tenant(business).ok_or(StorageError::not_found(ENTITY))?;
        tenant.broadcasts.get(&id).ok_or(StorageError::not_found(ENTITY))?;
        let limit = clamp_limit(limit);
        let start = after.unwrap_or(CustomerId::from_uuid(uuid::Uuid::nil()));
        let rows: Vec<RecipientStatus> = tenant
            .recipients
            .range((id, start)..)
            .take_while(|((b, _), _)| *b == id)
            .filter(|((_, c), _)| after.is_none_or(|a| *c > a))
            .take(limit as usize + 1)
            .map(|(_, r)| {
                let m = r.message_id.and_then(|m| tenant.messages.get(&m));
                RecipientStatus {
                    recipient: r.clone(),
                    status: m.map(|m| m.status),
                    error_code: m.and_then(|m| m.error_code),
                }
            })
            .collect();
        Ok(Page::from_overfetch(rows, limit, |r| r.recipient.customer_id.to_string()))
    }
}
