//! Conversations and messages in memory.

use async_trait::async_trait;

use super::{InMemoryStorage, Tenant, page_after};
use chrono::Duration;

use crate::domain::{
    BusinessId, Conversation, ConversationId, CustomerId, CustomerStats, Direction,
    ENGAGEMENT_WINDOW_DAYS, Message, MessageId,
};
use crate::ports::{
    ConversationQuery, ConversationStore, MessageQuery, MessageStore, PROVIDER_ID_TAKEN, Page,
    StorageError, clamp_limit,
};

const CONVERSATION: &str = "conversation";
const MESSAGE: &str = "message";

#[async_trait]
impl ConversationStore for InMemoryStorage {
    async fn insert_conversation(&self, conversation: &Conversation) -> Result<(), StorageError> {
        let mut inner = self.write();
        let tenant = inner.tenant_mut(conversation.business_id, "customer")?;
        if !tenant.customers.contains_key(&conversation.customer_id) {
            return Err(StorageError::not_found("customer"));
        }
        if tenant.conversations.contains_key(&conversation.id) {
            return Err(StorageError::conflict(CONVERSATION, "id already exists"));
        }
        // Assistant and desk state start empty; only their own methods write them.
        let c = Conversation {
            assistant: Default::default(),
            desk: Default::default(),
            ..conversation.clone()
        };
        tenant.conversations.insert(conversation.id, c);
        Ok(())
    }

    async fn get_conversation(
        &self,
        business: BusinessId,
        id: ConversationId,
    ) -> Result<Conversation, StorageError> {
        self.read()
            .tenant(business)
            .and_then(|t| t.conversations.get(&id))
            .cloned()
            .ok_or(StorageError::not_found(CONVERSATION))
    }

    async fn get_conversations(
        &self,
        business: BusinessId,
        ids: &[ConversationId],
    ) -> Result<Vec<Conversation>, StorageError> {
        let inner = self.read();
        let Some(t) = inner.tenant(business) else { return Ok(Vec::new()) };
        Ok(ids.iter().filter_map(|id| t.conversations.get(id).cloned()).collect())
    }

    async fn update_conversation(&self, conversation: &Conversation) -> Result<(), StorageError> {
        let mut inner = self.write();
        let tenant = inner.tenant_mut(conversation.business_id, CONVERSATION)?;
        let stored = tenant
            .conversations
            .get_mut(&conversation.id)
            .filter(|c| c.customer_id == conversation.customer_id)
            .ok_or(StorageError::not_found(CONVERSATION))?;
        stored.last_message_at = conversation.last_message_at;
        stored.last_inbound_at = conversation.last_inbound_at;
        stored.updated_at = conversation.updated_at;
        Ok(())
    }

    async fn latest_conversation(
        &self,
        business: BusinessId,
        customer: CustomerId,
    ) -> Result<Option<Conversation>, StorageError> {
        let inner = self.read();
        let Some(tenant) = inner.tenant(business) else {
            return Ok(None);
        };
        Ok(tenant.conversations.values().rev().find(|c| c.customer_id == customer).cloned())
    }

    async fn latest_conversations(
        &self,
        business: BusinessId,
        customers: &[CustomerId],
    ) -> Result<Vec<Conversation>, StorageError> {
        let inner = self.read();
        let Some(tenant) = inner.tenant(business) else { return Ok(Vec::new()) };
        let wanted: std::collections::HashSet<&CustomerId> = customers.iter().collect();
        let mut latest: std::collections::HashMap<CustomerId, &Conversation> =
            std::collections::HashMap::new();
        for c in tenant.conversations.values() {
            if wanted.contains(&c.customer_id) {
                // Ids grow with time, so the last seen is the most recent.
                latest.insert(c.customer_id, c);
            }
        }
        Ok(latest.into_values().cloned().collect())
    }

    async fn list_conversations(
        &self,
        business: BusinessId,
        query: &ConversationQuery,
    ) -> Result<Page<Conversation>, StorageError> {
        let limit = clamp_limit(query.limit);
        let inner = self.read();
        let Some(tenant) = inner.tenant(business) else {
            return Ok(Page { items: Vec::new(), next_cursor: None });
        };
        let rows: Vec<Conversation> = page_after(&tenant.conversations, query.after)
            .filter(|c| query.customer.is_none_or(|id| c.customer_id == id))
            .filter(|c| query.status.is_none_or(|s| c.status == s))
            .filter(|c| query.waiting.is_none_or(|w| c.assistant.waiting_since().is_some() == w))
            .filter(|c| query.agent.is_none_or(|a| c.assigned_agent == Some(a)))
            .take(limit as usize + 1)
            .cloned()
            .collect();
        Ok(Page::from_overfetch(rows, limit, |c| c.id.to_string()))
    }
}

#[async_trait]
impl MessageStore for InMemoryStorage {
    async fn insert_message(&self, message: &Message) -> Result<(), StorageError> {
        let mut inner = self.write();
        let tenant = inner.tenant_mut(message.business_id, CONVERSATION)?;
        tenant
            .conversations
            .get(&message.conversation_id)
            .filter(|c| c.customer_id == message.customer_id)
            .ok_or(StorageError::not_found(CONVERSATION))?;
        if tenant.messages.contains_key(&message.id) {
            return Err(StorageError::conflict(MESSAGE, "id already exists"));
        }
        if let Some(p) = &message.provider_id {
            if tenant.provider_ids.contains_key(p) {
                return Err(StorageError::conflict(MESSAGE, PROVIDER_ID_TAKEN));
            }
            tenant.provider_ids.insert(p.clone(), message.id);
        }
        tenant.messages.insert(message.id, message.clone());
        if message.direction == Direction::Inbound {
            let at = message.times.received_at.unwrap_or(message.created_at);
            let inbound: Vec<_> = tenant
                .messages
                .values()
                .filter(|m| {
                    m.customer_id == message.customer_id && m.direction == Direction::Inbound
                })
                .map(|m| m.created_at)
                .collect();
            let latest = inbound.iter().max().copied().unwrap_or(message.created_at);
            let since = latest - Duration::days(ENGAGEMENT_WINDOW_DAYS);
            let recent = inbound.iter().filter(|t| **t > since).count();
            if let Some(c) = tenant.customers.get_mut(&message.customer_id) {
                c.first_seen_at = Some(c.first_seen_at.map_or(at, |f| f.min(at)));
                c.last_seen_at = c.last_seen_at.max(Some(at));
                c.last_inbound_at = c.last_inbound_at.max(Some(at));
                c.stats.engagement_score = CustomerStats::engagement_for(recent as u64);
            }
        }
        Ok(())
    }

    async fn get_messages(
        &self,
        business: BusinessId,
        ids: &[MessageId],
    ) -> Result<Vec<Message>, StorageError> {
        let inner = self.read();
        let Some(t) = inner.tenant(business) else { return Ok(Vec::new()) };
        Ok(ids.iter().filter_map(|id| t.messages.get(id).cloned()).collect())
    }

    async fn get_message(
        &self,
        business: BusinessId,
        id: MessageId,
    ) -> Result<Message, StorageError> {
        self.read()
            .tenant(business)
            .and_then(|t| t.messages.get(&id))
            .cloned()
            .ok_or(StorageError::not_found(MESSAGE))
    }

    async fn find_message_by_provider_id(
        &self,
        business: BusinessId,
        provider_id: &str,
    ) -> Result<Option<Message>, StorageError> {
        let inner = self.read();
        let Some(tenant) = inner.tenant(business) else {
            return Ok(None);
        };
        Ok(tenant.provider_ids.get(provider_id).and_then(|id| tenant.messages.get(id)).cloned())
    }

    async fn update_message(&self, message: &Message) -> Result<(), StorageError> {
        let mut inner = self.write();
        let tenant = inner.tenant_mut(message.business_id, MESSAGE)?;
        check_delivery(tenant, message)?;
        write_delivery(tenant, message);
        Ok(())
    }

    async fn list_messages(
        &self,
        business: BusinessId,
        conversation: ConversationId,
        query: &MessageQuery,
    ) -> Result<Page<Message>, StorageError> {
        let limit = clamp_limit(query.limit);
        let inner = self.read();
        let Some(tenant) = inner.tenant(business) else {
            return Ok(Page { items: Vec::new(), next_cursor: None });
        };
        let rows: Vec<Message> = page_after(&tenant.messages, query.after)
            .filter(|m| m.conversation_id == conversation)
            .take(limit as usize + 1)
            .cloned()
            .collect();
        Ok(Page::from_overfetch(rows, limit, |m| m.id.to_string()))
    }

    async fn latest_messages(
        &self,
        business: BusinessId,
        conversation: ConversationId,
        limit: u32,
        before: Option<MessageId>,
    ) -> Result<Vec<Message>, StorageError> {
        let inner = self.read();
        let Some(tenant) = inner.tenant(business) else { return Ok(Vec::new()) };
        Ok(tenant
            .messages
            .values()
            .rev()
            .filter(|m| before.is_none_or(|b| m.id < b) && m.conversation_id == conversation)
            .take(clamp_limit(limit) as usize)
            .cloned()
            .collect())
    }
}

/// Whether `message`'s delivery can be written: it is stored, and a new
/// provider id is not another message's.
pub(super) fn check_delivery(tenant: &Tenant, message: &Message) -> Result<(), StorageError> {
    let stored = tenant.messages.get(&message.id).ok_or(StorageError::not_found(MESSAGE))?;
    match &message.provider_id {
        Some(p)
            if stored.provider_id.as_ref() != Some(p) && tenant.provider_ids.contains_key(p) =>
        {
            Err(StorageError::conflict(MESSAGE, PROVIDER_ID_TAKEN))
        }
        _ => Ok(()),
    }
}

/// Writes a checked message's status, provider id, error code and times.
pub(super) fn write_delivery(tenant: &mut Tenant, message: &Message) {
    let Some(stored) = tenant.messages.get_mut(&message.id) else { return };
    if stored.provider_id != message.provider_id {
        if let Some(old) = stored.provider_id.take() {
            tenant.provider_ids.remove(&old);
        }
        if let Some(p) = &message.provider_id {
            tenant.provider_ids.insert(p.clone(), message.id);
        }
    }
    stored.status = message.status;
    stored.provider_id = message.provider_id.clone();
    stored.error_code = message.error_code;
    stored.times = message.times;
}
