//! Conversations and messages.

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{Row, params_from_iter};
use whatsapp_crm_core::ports::{
    ConversationQuery, ConversationStore, MessageQuery, MessageStore, Page, clamp_limit,
    enum_to_text,
};
use whatsapp_crm_core::{
    AgentId, AssistantState, BusinessId, Conversation, ConversationId, CustomerId, Direction,
    Message, MessageId, StatusTimes, StorageError,
};

use crate::codec::{
    get, get_enum, get_json, get_opt_time, get_opt_uuid, get_time, get_uuid, micros, opt_micros,
    to_json,
};
use crate::error::{Ctx, corrupt, map};
use crate::listing::{Listing, blob, by_ids, query_all, query_one};
use crate::storage::SqliteStorage;

pub(crate) const CONVERSATION: Ctx = Ctx::new("conversation", "customer");
pub(crate) const CONVERSATION_INSERT: &str = "INSERT INTO conversations (business_id, id,
   customer_id, status, assigned_agent, last_message_at, last_inbound_at, created_at, updated_at)";
pub(crate) const MESSAGE: Ctx = Ctx::new("message", "conversation");

/// The head of a message row's `INSERT`, in [`message_values`] order.
pub(crate) const MESSAGE_INSERT: &str = "INSERT INTO messages (business_id, id, conversation_id,
   customer_id, direction, kind, content, created_at, status, provider_id, error_code, queued_at,
   sent_at, delivered_at, read_at, failed_at, received_at, author, decision)";
/// Columns of [`MESSAGE_INSERT`].
const MESSAGE_COLUMNS: usize = 19;

/// A message's delivery columns (status, provider id, error code and the six
/// status times), in the order both statements below use.
fn delivery(m: &Message) -> Result<Vec<Value>, StorageError> {
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        opt_micros(t).map_or(Value::Null, Value::Integer)
    };
    let t = m.times;
    Ok(vec![
        Value::Text(enum_to_text(&m.status)?),
        m.provider_id.clone().map_or(Value::Null, Value::Text),
        m.error_code.map_or(Value::Null, |c| Value::Integer(i64::from(c))),
        time(t.queued_at),
        time(t.sent_at),
        time(t.delivered_at),
        time(t.read_at),
        time(t.failed_at),
        time(t.received_at),
    ])
}

pub(crate) fn conversation_row(row: &Row<'_>) -> Result<Conversation, StorageError> {
    Ok(Conversation {
        id: ConversationId::from_uuid(get_uuid(row, "id")?),
        business_id: BusinessId::from_uuid(get_uuid(row, "business_id")?),
        customer_id: CustomerId::from_uuid(get_uuid(row, "customer_id")?),
        status: get_enum(row, "status")?,
        assigned_agent: get_opt_uuid(row, "assigned_agent")?.map(AgentId::from_uuid),
        last_message_at: get_opt_time(row, "last_message_at")?,
        last_inbound_at: get_opt_time(row, "last_inbound_at")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
        assistant: assistant_state(row)?,
        desk: desk_state(row)?,
    })
}

/// A conversation's desk: its JSON and revision columns.
pub(crate) fn desk_state(row: &Row<'_>) -> Result<whatsapp_crm_core::Desk, StorageError> {
    let mut desk: whatsapp_crm_core::Desk = get::<Option<String>>(row, "desk")?
        .map(|j| serde_json::from_str(&j).map_err(|e| corrupt("desk", e)))
        .transpose()?
        .unwrap_or_default();
    desk.rev = get::<i64>(row, "desk_rev")?.try_into().map_err(|e| corrupt("desk_rev", e))?;
    Ok(desk)
}

/// A conversation's assistant state: its JSON and revision columns.
fn assistant_state(row: &Row<'_>) -> Result<AssistantState, StorageError> {
    let mut state: AssistantState = get::<Option<String>>(row, "assistant")?
        .map(|j| serde_json::from_str(&j).map_err(|e| corrupt("assistant", e)))
        .transpose()?
        .unwrap_or_default();
    state.rev =
        get::<i64>(row, "assistant_rev")?.try_into().map_err(|e| corrupt("assistant_rev", e))?;
    Ok(state)
}

fn message_row(row: &Row<'_>) -> Result<Message, StorageError> {
    Ok(Message {
        id: MessageId::from_uuid(get_uuid(row, "id")?),
        business_id: BusinessId::from_uuid(get_uuid(row, "business_id")?),
        conversation_id: ConversationId::from_uuid(get_uuid(row, "conversation_id")?),
        customer_id: CustomerId::from_uuid(get_uuid(row, "customer_id")?),
        direction: get_enum(row, "direction")?,
        content: get_json(row, "content")?,
        status: get_enum(row, "status")?,
        provider_id: get(row, "provider_id")?,
        error_code: get(row, "error_code")?,
        times: StatusTimes {
            queued_at: get_opt_time(row, "queued_at")?,
            sent_at: get_opt_time(row, "sent_at")?,
            delivered_at: get_opt_time(row, "delivered_at")?,
            read_at: get_opt_time(row, "read_at")?,
            failed_at: get_opt_time(row, "failed_at")?,
            received_at: get_opt_time(row, "received_at")?,
        },
        created_at: get_time(row, "created_at")?,
        author: get_enum(row, "author")?,
        decision: get::<Option<String>>(row, "decision")?
            .map(|j| serde_json::from_str(&j).map_err(|e| corrupt("decision", e)))
            .transpose()?,
    })
}

#[async_trait]
impl ConversationStore for SqliteStorage {
    async fn insert_conversation(&self, conversation: &Conversation) -> Result<(), StorageError> {
        let c = conversation.clone();
        self.write(move |tx| insert_conversation_tx(tx, &c)).await
    }

    async fn get_conversation(
        &self,
        business: BusinessId,
        id: ConversationId,
    ) -> Result<Conversation, StorageError> {
        self.read(move |c| {
            query_one(
                c,
                CONVERSATION,
                "SELECT * FROM conversations WHERE business_id = ?1 AND id = ?2",
                vec![blob(business.as_uuid()), blob(id.as_uuid())],
                conversation_row,
            )
        })
        .await
    }

    async fn get_conversations(
        &self,
        business: BusinessId,
        ids: &[ConversationId],
    ) -> Result<Vec<Conversation>, StorageError> {
        let ids: Vec<_> = ids.iter().map(|i| i.as_uuid()).collect();
        self.read(move |c| {
            by_ids(
                c,
                CONVERSATION,
                ("SELECT * FROM conversations", ""),
                business,
                &ids,
                conversation_row,
            )
        })
        .await
    }

    async fn update_conversation(&self, conversation: &Conversation) -> Result<(), StorageError> {
        let c = conversation.clone();
        self.write(move |tx| {
            let changed = tx
                .execute(
                    "UPDATE conversations SET last_message_at = ?4, last_inbound_at = ?5,
                       updated_at = ?6
                     WHERE business_id = ?1 AND id = ?2 AND customer_id = ?3",
                    params_from_iter(
                        conversation_values(&c)?
                            .into_iter()
                            .enumerate()
                            .filter_map(|(i, v)| matches!(i, 0 | 1 | 2 | 5 | 6 | 8).then_some(v)),
                    ),
                )
                .map_err(|e| map(CONVERSATION, e))?;
            if changed == 0 { Err(StorageError::not_found("conversation")) } else { Ok(()) }
        })
        .await
    }

    async fn latest_conversation(
        &self,
        business: BusinessId,
        customer: CustomerId,
    ) -> Result<Option<Conversation>, StorageError> {
        self.read(move |c| {
            Ok(query_all(
                c,
                CONVERSATION,
                "SELECT * FROM conversations WHERE business_id = ?1 AND customer_id = ?2
                   ORDER BY id DESC LIMIT 1",
                vec![blob(business.as_uuid()), blob(customer.as_uuid())],
                conversation_row,
            )?
            .pop())
        })
        .await
    }

    async fn latest_conversations(
        &self,
        business: BusinessId,
        customers: &[CustomerId],
    ) -> Result<Vec<Conversation>, StorageError> {
        let customers: Vec<_> = customers.iter().map(|c| c.as_uuid()).collect();
        self.read(move |c| {
            let mut out = Vec::with_capacity(customers.len());
            for chunk in customers.chunks(500) {
                let marks = crate::listing::marks(chunk.len());
                // The newest conversation of each customer.
                let sql = format!(
                    "SELECT * FROM conversations WHERE business_id = ?1 AND id IN (
                       SELECT max(id) FROM conversations WHERE business_id = ?1
                         AND customer_id IN ({marks}) GROUP BY customer_id)"
                );
                let args = std::iter::once(blob(business.as_uuid()))
                    .chain(chunk.iter().map(|i| blob(*i)))
                    .collect();
                out.extend(query_all(c, CONVERSATION, &sql, args, conversation_row)?);
            }
            Ok(out)
        })
        .await
    }

    async fn list_conversations(
        &self,
        business: BusinessId,
        query: &ConversationQuery,
    ) -> Result<Page<Conversation>, StorageError> {
        let mut l = Listing::new("SELECT * FROM conversations", "", business);
        l.after(query.after.map(|a| a.as_uuid()));
        if let Some(customer) = query.customer {
            l.filter("customer_id = ?", blob(customer.as_uuid()));
        }
        if let Some(status) = query.status {
            l.filter("status = ?", Value::Text(enum_to_text(&status)?));
        }
        match query.waiting {
            Some(true) => l.condition("waiting_since IS NOT NULL"),
            Some(false) => l.condition("waiting_since IS NULL"),
            None => {}
        }
        if let Some(agent) = query.agent {
            l.filter("assigned_agent = ?", blob(agent.as_uuid()));
        }
        l.page(self, CONVERSATION, clamp_limit(query.limit), conversation_row, |c| c.id.to_string())
            .await
    }
}

#[async_trait]
impl MessageStore for SqliteStorage {
    async fn insert_message(&self, message: &Message) -> Result<(), StorageError> {
        let m = message.clone();
        self.write(move |tx| insert_message_tx(tx, &m)).await
    }

    async fn get_messages(
        &self,
        business: BusinessId,
        ids: &[MessageId],
    ) -> Result<Vec<Message>, StorageError> {
        let ids: Vec<_> = ids.iter().map(|i| i.as_uuid()).collect();
        self.read(move |c| {
            by_ids(c, MESSAGE, ("SELECT * FROM messages", ""), business, &ids, message_row)
        })
        .await
    }

    async fn get_message(
        &self,
        business: BusinessId,
        id: MessageId,
    ) -> Result<Message, StorageError> {
        self.read(move |c| {
            query_one(
                c,
                MESSAGE,
                "SELECT * FROM messages WHERE business_id = ?1 AND id = ?2",
                vec![blob(business.as_uuid()), blob(id.as_uuid())],
                message_row,
            )
        })
        .await
    }

    async fn find_message_by_provider_id(
        &self,
        business: BusinessId,
        provider_id: &str,
    ) -> Result<Option<Message>, StorageError> {
        let provider_id = provider_id.to_owned();
        self.read(move |c| {
            Ok(query_all(
                c,
                MESSAGE,
                "SELECT * FROM messages WHERE business_id = ?1 AND provider_id = ?2",
                vec![blob(business.as_uuid()), Value::Text(provider_id)],
                message_row,
            )?
            .pop())
        })
        .await
    }

    async fn update_message(&self, message: &Message) -> Result<(), StorageError> {
        let m = message.clone();
        self.write(move |tx| update_delivery_tx(tx, &m)).await
    }

    async fn list_messages(
        &self,
        business: BusinessId,
        conversation: ConversationId,
        query: &MessageQuery,
    ) -> Result<Page<Message>, StorageError> {
        let mut l = Listing::new("SELECT * FROM messages", "", business);
        l.filter("conversation_id = ?", blob(conversation.as_uuid()));
        l.after(query.after.map(|a| a.as_uuid()));
        l.page(self, MESSAGE, clamp_limit(query.limit), message_row, |m| m.id.to_string()).await
    }

    async fn latest_messages(
        &self,
        business: BusinessId,
        conversation: ConversationId,
        limit: u32,
        before: Option<MessageId>,
    ) -> Result<Vec<Message>, StorageError> {
        self.read(move |c| {
            query_all(
                c,
                MESSAGE,
                "SELECT * FROM messages WHERE business_id = ?1 AND conversation_id = ?2
                   AND (?3 IS NULL OR id < ?3) ORDER BY id DESC LIMIT ?4",
                vec![
                    blob(business.as_uuid()),
                    blob(conversation.as_uuid()),
                    before.map_or(Value::Null, |b| blob(b.as_uuid())),
                    Value::Integer(i64::from(clamp_limit(limit))),
                ],
                message_row,
            )
        })
        .await
    }
}

/// Stores a message inside a write transaction.
pub(crate) fn insert_message_tx(
    tx: &rusqlite::Transaction<'_>,
    m: &Message,
) -> Result<(), StorageError> {
    insert_message_values(tx, message_values(m)?)?;
    if m.direction == Direction::Inbound {
        crate::orders::record_inbound(tx, m)?;
    }
    Ok(())
}

/// The values an outbound message's row is stored with, ready to bind: made
/// before the write transaction, so the writer only writes.
pub(crate) fn message_values(m: &Message) -> Result<Vec<Value>, StorageError> {
    let mut args = vec![
        blob(m.business_id.as_uuid()),
        blob(m.id.as_uuid()),
        blob(m.conversation_id.as_uuid()),
        blob(m.customer_id.as_uuid()),
        Value::Text(enum_to_text(&m.direction)?),
        Value::Text(enum_to_text(&m.kind())?),
        Value::Text(to_json(&m.content)?),
        Value::Integer(micros(m.created_at)),
    ];
    args.extend(delivery(m)?);
    args.push(Value::Text(enum_to_text(&m.author)?));
    args.push(m.decision.as_ref().map(to_json).transpose()?.map_or(Value::Null, Value::Text));
    Ok(args)
}

/// Stores a message row from [`message_values`] (no inbound bookkeeping).
pub(crate) fn insert_message_values(
    tx: &rusqlite::Transaction<'_>,
    args: Vec<Value>,
) -> Result<(), StorageError> {
    crate::listing::insert_rows(tx, MESSAGE, MESSAGE_INSERT, MESSAGE_COLUMNS, vec![args])
}

/// Writes a message's status, provider id, error code and times inside a
/// write transaction.
pub(crate) fn update_delivery_tx(
    tx: &rusqlite::Transaction<'_>,
    m: &Message,
) -> Result<(), StorageError> {
    let mut args = vec![blob(m.business_id.as_uuid()), blob(m.id.as_uuid())];
    args.extend(delivery(m)?);
    let mut stmt = tx
        .prepare_cached(
            "UPDATE messages SET status = ?3, provider_id = ?4, error_code = ?5,
               queued_at = ?6, sent_at = ?7, delivered_at = ?8, read_at = ?9,
               failed_at = ?10, received_at = ?11
             WHERE business_id = ?1 AND id = ?2",
        )
        .map_err(|e| map(MESSAGE, e))?;
    let changed = stmt.execute(params_from_iter(args)).map_err(|e| map(MESSAGE, e))?;
    if changed == 0 { Err(StorageError::not_found("message")) } else { Ok(()) }
}

/// Stores a conversation inside a write transaction.
pub(crate) fn insert_conversation_tx(
    tx: &rusqlite::Transaction<'_>,
    c: &Conversation,
) -> Result<(), StorageError> {
    crate::listing::insert_rows(
        tx,
        CONVERSATION,
        CONVERSATION_INSERT,
        9,
        vec![conversation_values(c)?],
    )
}

/// A conversation's columns in [`CONVERSATION_INSERT`]'s order.
pub(crate) fn conversation_values(c: &Conversation) -> Result<Vec<Value>, StorageError> {
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        opt_micros(t).map_or(Value::Null, Value::Integer)
    };
    Ok(vec![
        blob(c.business_id.as_uuid()),
        blob(c.id.as_uuid()),
        blob(c.customer_id.as_uuid()),
        Value::Text(enum_to_text(&c.status)?),
        c.assigned_agent.map_or(Value::Null, |a| blob(a.as_uuid())),
        time(c.last_message_at),
        time(c.last_inbound_at),
        Value::Integer(micros(c.created_at)),
        Value::Integer(micros(c.updated_at)),
    ])
}
