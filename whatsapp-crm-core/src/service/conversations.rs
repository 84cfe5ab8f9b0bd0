//! Reading conversations and their messages: what an agent's inbox shows.

use std::sync::Arc;

use serde::Serialize;

use crate::domain::{
    BusinessId, Conversation, ConversationId, ConversationStatus, CustomerId, Message, MessageId,
    OutboxItem,
};
use crate::ports::{ConversationQuery, MessageQuery, Page, Storage, StorageError};

use super::{ServiceError, page_params};

/// Filters and paging for a conversation list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversationListParams {
    /// Only this customer's conversations.
    pub customer_id: Option<CustomerId>,
    /// Only conversations in this status.
    pub status: Option<ConversationStatus>,
    /// Only those waiting for a person (handed off), or only the others.
    pub waiting: Option<bool>,
    /// Only conversations this agent holds.
    pub agent: Option<crate::domain::AgentId>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A message with its delivery row: where an outbound message is in the
/// outbox and, when it did not go, why.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageView {
    /// The message.
    pub message: Message,
    /// Its outbox row (outbound messages only).
    pub outbox: Option<OutboxItem>,
}

/// Conversations and message history.
#[derive(Clone)]
pub struct Conversations {
    storage: Arc<dyn Storage>,
}

impl Conversations {
    /// A service over `storage`.
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        Self { storage }
    }

    /// Lists conversations, oldest first.
    pub async fn list(
        &self,
        business: BusinessId,
        params: ConversationListParams,
    ) -> Result<Page<Conversation>, ServiceError> {
        let (limit, after) = page_params(params.limit, params.cursor.as_deref())?;
        let query = ConversationQuery {
            customer: params.customer_id,
            status: params.status,
            waiting: params.waiting,
            agent: params.agent,
            limit,
            after,
        };
        Ok(self.storage.list_conversations(business, &query).await?)
    }

    /// Reads a conversation.
    pub async fn get(
        &self,
        business: BusinessId,
        id: ConversationId,
    ) -> Result<Conversation, ServiceError> {
        Ok(self.storage.get_conversation(business, id).await?)
    }

    /// A conversation's messages, oldest first. `NotFound` when the
    /// conversation is not the business's.
    pub async fn messages(
        &self,
        business: BusinessId,
        id: ConversationId,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Message>, ServiceError> {
        let (limit, after) = page_params(limit, cursor)?;
        self.storage.get_conversation(business, id).await?;
        Ok(self.storage.list_messages(business, id, &MessageQuery { limit, after }).await?)
    }

    /// A message with its outbox row.
    pub async fn message(
        &self,
        business: BusinessId,
        id: MessageId,
    ) -> Result<MessageView, ServiceError> {
        let message = self.storage.get_message(business, id).await?;
        let outbox = match self.storage.get_outbox_item(business, id).await {
            Ok(row) => Some(row),
            Err(StorageError::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        Ok(MessageView { message, outbox })
    }
}

/// The latest `n` messages of a conversation that `keep` accepts, oldest
/// first: what a handoff's transcript and a customer's recent words read.
/// Read newest first, a page at a time, until `n` are kept: a long
/// conversation costs no more than its end.
pub(crate) async fn latest_messages(
    storage: &dyn Storage,
    business: BusinessId,
    conversation: ConversationId,
    n: usize,
    keep: impl Fn(&Message) -> bool,
) -> Result<Vec<Message>, StorageError> {
    let mut latest = Vec::with_capacity(n);
    let mut before = None;
    // Pages the size of what is asked for (at least a few), up to a full page.
    let page = (n.saturating_mul(2)).clamp(8, crate::ports::PAGE_LIMIT_MAX as usize) as u32;
    while latest.len() < n {
        let rows = storage.latest_messages(business, conversation, page, before).await?;
        let Some(last) = rows.last() else { break };
        before = Some(last.id);
        let full = rows.len() == page as usize;
        latest.extend(rows.into_iter().filter(|m| keep(m)).take(n - latest.len()));
        if !full {
            break;
        }
    }
    latest.reverse();
    Ok(latest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Direction;
    use crate::memory::InMemoryStorage;
    use crate::ports::MessageStore;
    use crate::testing::{full_customer, insert, new_business, new_conversation, text_message};

    #[tokio::test]
    async fn the_latest_kept_messages_come_oldest_first_across_pages() {
        let s = InMemoryStorage::new();
        let b = new_business(&s, "Duka").await;
        let c = full_customer(b.id, "+254712000001", "Wanjiku");
        insert(&s, &c).await;
        let conv = new_conversation(&s, &c).await;
        let mut inbound = Vec::new();
        for i in 0..40 {
            let mut m = text_message(&conv, &format!("m{i}"));
            // Every fourth is the customer's: ten in all, spread over pages.
            if i % 4 == 0 {
                m.direction = Direction::Inbound;
                inbound.push(m.id);
            }
            s.insert_message(&m).await.unwrap();
        }
        let theirs = |m: &Message| m.direction == Direction::Inbound;
        let ids = |ms: Vec<Message>| ms.into_iter().map(|m| m.id).collect::<Vec<_>>();
        let got = latest_messages(&s, b.id, conv.id, 3, theirs).await.unwrap();
        assert_eq!(ids(got), inbound[7..]);
        let all = latest_messages(&s, b.id, conv.id, 50, theirs).await.unwrap();
        assert_eq!(ids(all), inbound);
        assert!(latest_messages(&s, b.id, conv.id, 0, theirs).await.unwrap().is_empty());
        let last = latest_messages(&s, b.id, conv.id, 1, |_| true).await.unwrap();
        assert_eq!(last[0].content, crate::domain::MessageContent::text("m39"));
    }
}
