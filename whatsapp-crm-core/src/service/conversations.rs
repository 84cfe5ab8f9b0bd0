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
/// Storage pages forward, so the whole history is read once, a page at a
/// time, keeping no more than `n`.
pub(crate) async fn latest_messages(
    storage: &dyn Storage,
    business: BusinessId,
    conversation: ConversationId,
    n: usize,
    keep: impl Fn(&Message) -> bool,
) -> Result<Vec<Message>, StorageError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut latest = std::collections::VecDeque::with_capacity(n);
    let mut after = None;
    loop {
        let query = MessageQuery { limit: crate::ports::PAGE_LIMIT_MAX, after };
        let page = storage.list_messages(business, conversation, &query).await?;
        after = page.items.last().map(|m| m.id);
        for m in page.items.into_iter().filter(|m| keep(m)) {
            if latest.len() == n {
                latest.pop_front();
            }
            latest.push_back(m);
        }
        if page.next_cursor.is_none() || after.is_none() {
            return Ok(latest.into());
        }
    }
}
