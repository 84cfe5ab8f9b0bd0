//! Conversations and messages.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use whatsapp_crm_core::ports::{
    ConversationQuery, ConversationStore, MessageQuery, MessageStore, Page, clamp_limit,
    enum_to_text,
};
use whatsapp_crm_core::{
    AgentId, AssistantState, BusinessId, Conversation, ConversationId, CustomerId, Decision,
    Direction, Message, MessageId, StatusTimes, StorageError,
};

use crate::codec::{get, get_enum, get_json, to_json};
use crate::error::{Ctx, corrupt, map};
use crate::listing::{Listing, by_ids};
use crate::storage::PostgresStorage;

const CONVERSATION: Ctx = Ctx::new("conversation", "customer");
const MESSAGE: Ctx = Ctx::new("message", "conversation");

pub(crate) fn conversation_row(row: &PgRow) -> Result<Conversation, StorageError> {
    let agent: Option<uuid::Uuid> = get(row, "assigned_agent")?;
    Ok(Conversation {
        id: ConversationId::from_uuid(get(row, "id")?),
        business_id: BusinessId::from_uuid(get(row, "business_id")?),
        customer_id: CustomerId::from_uuid(get(row, "customer_id")?),
        status: get_enum(row, "status")?,
        assigned_agent: agent.map(AgentId::from_uuid),
        last_message_at: get(row, "last_message_at")?,
        last_inbound_at: get(row, "last_inbound_at")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        assistant: assistant_state(row)?,
        desk: desk_state(row)?,
    })
}

/// A conversation's desk: its JSON and revision columns.
fn desk_state(row: &PgRow) -> Result<whatsapp_crm_core::Desk, StorageError> {
    let mut desk = get::<Option<sqlx::types::Json<whatsapp_crm_core::Desk>>>(row, "desk")?
        .map(|j| j.0)
        .unwrap_or_default();
    desk.rev = get::<i32>(row, "desk_rev")?.try_into().map_err(|e| corrupt("desk_rev", e))?;
    Ok(desk)
}

/// A conversation's assistant state: its JSON and revision columns.
fn assistant_state(row: &PgRow) -> Result<AssistantState, StorageError> {
    let mut state = get::<Option<sqlx::types::Json<AssistantState>>>(row, "assistant")?
        .map(|j| j.0)
        .unwrap_or_default();
    state.rev =
        get::<i32>(row, "assistant_rev")?.try_into().map_err(|e| corrupt("assistant_rev", e))?;
    Ok(state)
}

fn message_row(row: &PgRow) -> Result<Message, StorageError> {
    let code: Option<i64> = get(row, "error_code")?;
    Ok(Message {
        id: MessageId::from_uuid(get(row, "id")?),
        business_id: BusinessId::from_uuid(get(row, "business_id")?),
        conversation_id: ConversationId::from_uuid(get(row, "conversation_id")?),
        customer_id: CustomerId::from_uuid(get(row, "customer_id")?),
        direction: get_enum(row, "direction")?,
        content: get_json(row, "content")?,
        status: get_enum(row, "status")?,
        provider_id: get(row, "provider_id")?,
        error_code: code
            .map(|c| u32::try_from(c).map_err(|e| corrupt("error_code", e)))
            .transpose()?,
        times: StatusTimes {
            queued_at: get(row, "queued_at")?,
            sent_at: get(row, "sent_at")?,
            delivered_at: get(row, "delivered_at")?,
            read_at: get(row, "read_at")?,
            failed_at: get(row, "failed_at")?,
            received_at: get(row, "received_at")?,
        },
        created_at: get(row, "created_at")?,
        author: get_enum(row, "author")?,
        decision: get::<Option<sqlx::types::Json<Decision>>>(row, "decision")?.map(|j| j.0),
    })
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// Binds a message's delivery columns (status, provider id, error code and the
/// six status times), in the order both statements below use.
fn bind_delivery<'q>(q: PgQuery<'q>, m: &Message) -> Result<PgQuery<'q>, StorageError> {
    let t = m.times;
    Ok(q.bind(enum_to_text(&m.status)?)
        .bind(m.provider_id.clone())
        .bind(m.error_code.map(i64::from))
        .bind(t.queued_at)
        .bind(t.sent_at)
        .bind(t.delivered_at)
        .bind(t.read_at)
        .bind(t.failed_at)
        .bind(t.received_at))
}

/// Binds every conversation column of an insert.
fn bind_conversation<'q>(q: PgQuery<'q>, c: &Conversation) -> Result<PgQuery<'q>, StorageError> {
    Ok(q.bind(c.business_id.as_uuid())
        .bind(c.id.as_uuid())
        .bind(c.customer_id.as_uuid())
        .bind(enum_to_text(&c.status)?)
        .bind(c.assigned_agent.map(|a| a.as_uuid()))
        .bind(c.last_message_at)
        .bind(c.last_inbound_at)
        .bind(c.created_at)
        .bind(c.updated_at))
}

#[async_trait]
impl ConversationStore for PostgresStorage {
    async fn insert_conversation(&self, c: &Conversation) -> Result<(), StorageError> {
        let mut conn = self.pool.acquire().await.map_err(|e| map(CONVERSATION, e))?;
        insert_conversation_tx(&mut conn, c).await
    }

    async fn get_conversation(
        &self,
        business: BusinessId,
        id: ConversationId,
    ) -> Result<Conversation, StorageError> {
        let row = sqlx::query("SELECT * FROM conversations WHERE business_id = $1 AND id = $2")
            .bind(business.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map(CONVERSATION, e))?;
        row.as_ref()
            .map(conversation_row)
            .transpose()?
            .ok_or(StorageError::not_found("conversation"))
    }

    async fn get_conversations(
        &self,
        business: BusinessId,
        ids: &[ConversationId],
    ) -> Result<Vec<Conversation>, StorageError> {
        let ids: Vec<uuid::Uuid> = ids.iter().map(|i| i.as_uuid()).collect();
        by_ids(self, CONVERSATION, "conversations", business, &ids, conversation_row).await
    }

    async fn update_conversation(&self, c: &Conversation) -> Result<(), StorageError> {
        let done = sqlx::query(
            "UPDATE conversations SET last_message_at = $4, last_inbound_at = $5, updated_at = $6
             WHERE business_id = $1 AND id = $2 AND customer_id = $3",
        )
        .bind(c.business_id.as_uuid())
        .bind(c.id.as_uuid())
        .bind(c.customer_id.as_uuid())
        .bind(c.last_message_at)
        .bind(c.last_inbound_at)
        .bind(c.updated_at)
        .execute(&self.pool)
        .await
        .map_err(|e| map(CONVERSATION, e))?;
        if done.rows_affected() == 0 {
            Err(StorageError::not_found("conversation"))
        } else {
            Ok(())
        }
    }

    async fn latest_conversation(
        &self,
        business: BusinessId,
        customer: CustomerId,
    ) -> Result<Option<Conversation>, StorageError> {
        let row = sqlx::query(
            "SELECT * FROM conversations WHERE business_id = $1 AND customer_id = $2
             ORDER BY id DESC LIMIT 1",
        )
        .bind(business.as_uuid())
        .bind(customer.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| map(CONVERSATION, e))?;
        row.as_ref().map(conversation_row).transpose()
    }

    async fn latest_conversations(
        &self,
        business: BusinessId,
        customers: &[CustomerId],
    ) -> Result<Vec<Conversation>, StorageError> {
        let customers: Vec<uuid::Uuid> = customers.iter().map(|c| c.as_uuid()).collect();
        let rows = sqlx::query(
            "SELECT DISTINCT ON (customer_id) * FROM conversations
             WHERE business_id = $1 AND customer_id = ANY($2)
             ORDER BY customer_id, id DESC",
        )
        .bind(business.as_uuid())
        .bind(&customers)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map(CONVERSATION, e))?;
        rows.iter().map(conversation_row).collect()
    }

    async fn list_conversations(
        &self,
        business: BusinessId,
        query: &ConversationQuery,
    ) -> Result<Page<Conversation>, StorageError> {
        let mut l = Listing::new("conversations", business)?;
        if let Some(after) = query.after {
            l.filter("id > ?", after.as_uuid())?;
        }
        if let Some(customer) = query.customer {
            l.filter("customer_id = ?", customer.as_uuid())?;
        }
        if let Some(status) = query.status {
            l.filter("status = ?", enum_to_text(&status)?)?;
        }
        match query.waiting {
            Some(true) => l.condition("waiting_since IS NOT NULL"),
            Some(false) => l.condition("waiting_since IS NULL"),
            None => {}
        }
        if let Some(agent) = query.agent {
            l.filter("assigned_agent = ?", agent.as_uuid())?;
        }
        l.page(self, CONVERSATION, clamp_limit(query.limit), conversation_row, |c| c.id.to_string())
            .await
    }
}

#[async_trait]
impl MessageStore for PostgresStorage {
    async fn insert_message(&self, m: &Message) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await.map_err(|e| map(MESSAGE, e))?;
        insert_message_tx(&mut tx, m).await?;
        tx.commit().await.map_err(|e| map(MESSAGE, e))
    }

    async fn get_messages(
        &self,
        business: BusinessId,
        ids: &[MessageId],
    ) -> Result<Vec<Message>, StorageError> {
        let ids: Vec<uuid::Uuid> = ids.iter().map(|i| i.as_uuid()).collect();
        by_ids(self, MESSAGE, "messages", business, &ids, message_row).await
    }

    async fn get_message(
        &self,
        business: BusinessId,
        id: MessageId,
    ) -> Result<Message, StorageError> {
        let row = sqlx::query("SELECT * FROM messages WHERE business_id = $1 AND id = $2")
            .bind(business.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map(MESSAGE, e))?;
        row.as_ref().map(message_row).transpose()?.ok_or(StorageError::not_found("message"))
    }

    async fn find_message_by_provider_id(
        &self,
        business: BusinessId,
        provider_id: &str,
    ) -> Result<Option<Message>, StorageError> {
        let row = sqlx::query("SELECT * FROM messages WHERE business_id = $1 AND provider_id = $2")
            .bind(business.as_uuid())
            .bind(provider_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map(MESSAGE, e))?;
        row.as_ref().map(message_row).transpose()
    }

    async fn update_message(&self, m: &Message) -> Result<(), StorageError> {
        let mut c = self.pool.acquire().await.map_err(|e| map(MESSAGE, e))?;
        update_delivery_tx(&mut c, m).await
    }

    async fn list_messages(
        &self,
        business: BusinessId,
        conversation: ConversationId,
        query: &MessageQuery,
    ) -> Result<Page<Message>, StorageError> {
        let mut l = Listing::new("messages", business)?;
        l.filter("conversation_id = ?", conversation.as_uuid())?;
        if let Some(after) = query.after {
            l.filter("id > ?", after.as_uuid())?;
        }
        l.page(self, MESSAGE, clamp_limit(query.limit), message_row, |m| m.id.to_string()).await
    }

    async fn latest_messages(
        &self,
        business: BusinessId,
        conversation: ConversationId,
        limit: u32,
        before: Option<MessageId>,
    ) -> Result<Vec<Message>, StorageError> {
        let rows = sqlx::query(
            "SELECT * FROM messages WHERE business_id = $1 AND conversation_id = $2
               AND ($3::uuid IS NULL OR id < $3) ORDER BY id DESC LIMIT $4",
        )
        .bind(business.as_uuid())
        .bind(conversation.as_uuid())
        .bind(before.map(|b| b.as_uuid()))
        .bind(i64::from(clamp_limit(limit)))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map(MESSAGE, e))?;
        rows.iter().map(message_row).collect()
    }
}

/// Stores a message on `c` (a transaction, when more must commit with it).
pub(crate) async fn insert_message_tx(
    c: &mut sqlx::PgConnection,
    m: &Message,
) -> Result<(), StorageError> {
    let q = sqlx::query(
        "INSERT INTO messages (business_id, id, conversation_id, customer_id, direction, kind, content,
           created_at, status, provider_id, error_code, queued_at, sent_at, delivered_at, read_at,
           failed_at, received_at, author, decision)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
           $19)",
    )
    .bind(m.business_id.as_uuid())
    .bind(m.id.as_uuid())
    .bind(m.conversation_id.as_uuid())
    .bind(m.customer_id.as_uuid())
    .bind(enum_to_text(&m.direction)?)
    .bind(enum_to_text(&m.kind())?)
    .bind(sqlx::types::Json(to_json(&m.content)?))
    .bind(m.created_at);
    bind_delivery(q, m)?
        .bind(enum_to_text(&m.author)?)
        .bind(m.decision.as_ref().map(sqlx::types::Json))
        .execute(&mut *c)
        .await
        .map_err(|e| map(MESSAGE, e))?;
    if m.direction == Direction::Inbound {
        crate::orders::record_inbound(c, m).await?;
    }
    Ok(())
}

/// Writes a message's status, provider id, error code and times on `c`.
pub(crate) async fn update_delivery_tx(
    c: &mut sqlx::PgConnection,
    m: &Message,
) -> Result<(), StorageError> {
    let q = sqlx::query(
        "UPDATE messages SET status = $3, provider_id = $4, error_code = $5, queued_at = $6,
           sent_at = $7, delivered_at = $8, read_at = $9, failed_at = $10, received_at = $11
         WHERE business_id = $1 AND id = $2",
    )
    .bind(m.business_id.as_uuid())
    .bind(m.id.as_uuid());
    let done = bind_delivery(q, m)?.execute(&mut *c).await.map_err(|e| map(MESSAGE, e))?;
    if done.rows_affected() == 0 { Err(StorageError::not_found("message")) } else { Ok(()) }
}

/// Stores a conversation on `c` (a transaction, when more must commit with it).
pub(crate) async fn insert_conversation_tx(
    conn: &mut sqlx::PgConnection,
    c: &Conversation,
) -> Result<(), StorageError> {
    let q = sqlx::query(
        "INSERT INTO conversations (business_id, id, customer_id, status, assigned_agent,
           last_message_at, last_inbound_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    );
    bind_conversation(q, c)?.execute(&mut *conn).await.map_err(|e| map(CONVERSATION, e))?;
    Ok(())
}
