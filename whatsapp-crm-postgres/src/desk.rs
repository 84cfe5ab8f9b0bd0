//! The team inbox: conversations' desks and their events.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use whatsapp_crm_core::ports::{
    DeskCommit, DeskOutcome, DeskStore, Page, clamp_limit, enum_to_text,
};
use whatsapp_crm_core::{
    AgentId, BusinessId, Conversation, ConversationEvent, ConversationId, EventId, StorageError,
};

use crate::codec::{get, get_json};
use crate::error::{Ctx, map};
use crate::listing::Listing;
use crate::messaging::conversation_row;
use crate::storage::PostgresStorage;

const CONVERSATION: Ctx = Ctx::new("conversation", "conversation");
const EVENT: Ctx = Ctx::new("conversation event", "conversation");

fn event_row(row: &PgRow) -> Result<ConversationEvent, StorageError> {
    Ok(ConversationEvent {
        id: EventId::from_uuid(get(row, "id")?),
        business_id: BusinessId::from_uuid(get(row, "business_id")?),
        conversation_id: ConversationId::from_uuid(get(row, "conversation_id")?),
        at: get(row, "at")?,
        actor: get_json(row, "actor")?,
        change: get_json(row, "detail")?,
    })
}

async fn insert_events(
    conn: &mut sqlx::PgConnection,
    business: BusinessId,
    events: &[ConversationEvent],
) -> Result<(), StorageError> {
    for e in events {
        if e.business_id != business {
            return Err(StorageError::not_found("conversation"));
        }
        sqlx::query(
            "INSERT INTO conversation_events (business_id, id, conversation_id, at, kind,
               agent_id, actor, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(business.as_uuid())
        .bind(e.id.as_uuid())
        .bind(e.conversation_id.as_uuid())
        .bind(e.at)
        .bind(e.change.kind())
        .bind(e.actor.agent().or(e.change.agent()).map(|a| a.as_uuid()))
        .bind(sqlx::types::Json(&e.actor))
        .bind(sqlx::types::Json(&e.change))
        .execute(&mut *conn)
        .await
        .map_err(|e| map(EVENT, e))?;
    }
    Ok(())
}

#[async_trait]
impl DeskStore for PostgresStorage {
    async fn commit_desk(&self, c: &DeskCommit) -> Result<DeskOutcome, StorageError> {
        let (business, id) = (c.business.as_uuid(), c.conversation.as_uuid());
        let mut tx = self.pool.begin().await.map_err(|e| map(CONVERSATION, e))?;
        if let Some(agent) = c.claim {
            // The agent's row is locked first, so claims on one agent queue
            // up behind each other and each counts what the previous wrote.
            let max: Option<i32> = sqlx::query_scalar(
                "SELECT max_concurrent FROM agents WHERE business_id = $1 AND id = $2 FOR UPDATE",
            )
            .bind(business)
            .bind(agent.as_uuid())
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| map(CONVERSATION, e))?;
            let Some(max) = max else { return Err(StorageError::not_found("agent")) };
            let held: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM conversations WHERE business_id = $1
                   AND assigned_agent = $2 AND status <> 'resolved' AND id <> $3",
            )
            .bind(business)
            .bind(agent.as_uuid())
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| map(CONVERSATION, e))?;
            if held >= i64::from(max) {
                return Ok(DeskOutcome::Full);
            }
            sqlx::query(
                "UPDATE agents SET last_assigned_at = $3 WHERE business_id = $1 AND id = $2",
            )
            .bind(business)
            .bind(agent.as_uuid())
            .bind(c.at)
            .execute(&mut *tx)
            .await
            .map_err(|e| map(CONVERSATION, e))?;
        }
        let from_rev = crate::codec::put_u32(c.from_rev)?;
        let done = sqlx::query(
            "UPDATE conversations SET status = $4, assigned_agent = $5, desk = $6,
               desk_rev = desk_rev + 1, desk_due_at = $7, updated_at = $8, desk_timer_at = $9
             WHERE business_id = $1 AND id = $2 AND desk_rev = $3",
        )
        .bind(business)
        .bind(id)
        .bind(from_rev)
        .bind(enum_to_text(&c.status)?)
        .bind(c.assigned_agent.map(|a| a.as_uuid()))
        .bind(sqlx::types::Json(&c.desk))
        .bind(c.desk.due_at(c.status, c.assigned_agent))
        .bind(c.at)
        .bind(c.desk.timer_at(c.status, c.assigned_agent))
        .execute(&mut *tx)
        .await
        .map_err(|e| map(CONVERSATION, e))?;
        if done.rows_affected() == 0 {
            let exists: Option<i32> = sqlx::query_scalar(
                "SELECT 1 FROM conversations WHERE business_id = $1 AND id = $2",
            )
            .bind(business)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| map(CONVERSATION, e))?;
            return match exists {
                Some(_) => Ok(DeskOutcome::Moved),
                None => Err(StorageError::not_found("conversation")),
            };
        }
        insert_events(&mut tx, c.business, &c.events).await?;
        tx.commit().await.map_err(|e| map(CONVERSATION, e))?;
        Ok(DeskOutcome::Written)
    }

    async fn add_events(
        &self,
        business: BusinessId,
        events: &[ConversationEvent],
    ) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await.map_err(|e| map(EVENT, e))?;
        insert_events(&mut tx, business, events).await?;
        tx.commit().await.map_err(|e| map(EVENT, e))
    }

    async fn list_events(
        &self,
        business: BusinessId,
        conversation: ConversationId,
        limit: u32,
        after: Option<EventId>,
    ) -> Result<Page<ConversationEvent>, StorageError> {
        let mut l = Listing::new("conversation_events", business)?;
        l.filter("conversation_id = ?", conversation.as_uuid())?;
        if let Some(after) = after {
            l.filter("id > ?", after.as_uuid())?;
        }
        l.page(self, EVENT, clamp_limit(limit), event_row, |e| e.id.to_string()).await
    }

    async fn desk_due(
        &self,
        now: DateTime<Utc>,
        after: Option<BusinessId>,
        limit: u32,
    ) -> Result<Vec<BusinessId>, StorageError> {
        let rows: Vec<uuid::Uuid> = sqlx::query_scalar(
            "SELECT DISTINCT c.business_id FROM conversations c
             WHERE c.desk_due_at IS NOT NULL AND c.desk_due_at <= $1
               AND ($2::uuid IS NULL OR c.business_id > $2)
               AND (c.desk_timer_at <= $1 OR EXISTS (SELECT 1 FROM agents a
                      WHERE a.business_id = c.business_id AND a.availability = 'online'
                        AND a.max_concurrent > (SELECT count(*) FROM conversations x
                          WHERE x.business_id = a.business_id AND x.assigned_agent = a.id
                            AND x.status <> 'resolved')))
             ORDER BY c.business_id LIMIT $3",
        )
        .bind(now)
        .bind(after.map(|a| a.as_uuid()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map(CONVERSATION, e))?;
        Ok(rows.into_iter().map(BusinessId::from_uuid).collect())
    }

    async fn desk_board(
        &self,
        business: BusinessId,
        limit: u32,
    ) -> Result<Vec<Conversation>, StorageError> {
        let rows = sqlx::query(
            "SELECT * FROM conversations WHERE business_id = $1 AND desk_due_at IS NOT NULL
             ORDER BY desk_due_at, id LIMIT $2",
        )
        .bind(business.as_uuid())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map(CONVERSATION, e))?;
        rows.iter().map(conversation_row).collect()
    }

    async fn agent_loads(&self, business: BusinessId) -> Result<Vec<(AgentId, u32)>, StorageError> {
        let rows: Vec<(uuid::Uuid, i64)> = sqlx::query_as(
            "SELECT assigned_agent, count(*) FROM conversations
             WHERE business_id = $1 AND assigned_agent IS NOT NULL AND status <> 'resolved'
             GROUP BY assigned_agent ORDER BY assigned_agent",
        )
        .bind(business.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map(CONVERSATION, e))?;
        rows.into_iter()
            .map(|(a, n)| {
                Ok((
                    AgentId::from_uuid(a),
                    u32::try_from(n).map_err(|e| StorageError::backend(e, false))?,
                ))
            })
            .collect()
    }
}

const RECOMMENDER: Ctx = Ctx::new("recommender", "business");

#[async_trait]
impl whatsapp_crm_core::ports::RecommendStore for PostgresStorage {
    async fn recommenders_due(
        &self,
        built_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<BusinessId>, StorageError> {
        let rows: Vec<uuid::Uuid> = sqlx::query_scalar(
            "SELECT DISTINCT o.business_id FROM orders o
             LEFT JOIN recommenders r ON r.business_id = o.business_id
             WHERE o.status IN ('paid', 'fulfilled')
               AND (r.built_at IS NULL OR (o.updated_at > r.built_at AND r.built_at <= $1))
             ORDER BY o.business_id LIMIT $2",
        )
        .bind(built_before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map(RECOMMENDER, e))?;
        Ok(rows.into_iter().map(BusinessId::from_uuid).collect())
    }

    async fn save_recommender(
        &self,
        business: BusinessId,
        info: &whatsapp_crm_core::ports::RecommenderInfo,
        bytes: &[u8],
    ) -> Result<bool, StorageError> {
        let done = sqlx::query(
            "INSERT INTO recommenders (business_id, built_at, info, model) VALUES ($1, $2, $3, $4)
             ON CONFLICT (business_id) DO UPDATE SET built_at = excluded.built_at,
               info = excluded.info, model = excluded.model
             WHERE recommenders.built_at <= excluded.built_at",
        )
        .bind(business.as_uuid())
        .bind(info.built_at)
        .bind(sqlx::types::Json(info))
        .bind(bytes)
        .execute(&self.pool)
        .await
        .map_err(|e| map(RECOMMENDER, e))?;
        Ok(done.rows_affected() > 0)
    }

    async fn recommender_info(
        &self,
        business: BusinessId,
    ) -> Result<Option<whatsapp_crm_core::ports::RecommenderInfo>, StorageError> {
        let row: Option<sqlx::types::Json<whatsapp_crm_core::ports::RecommenderInfo>> =
            sqlx::query_scalar("SELECT info FROM recommenders WHERE business_id = $1")
                .bind(business.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| map(RECOMMENDER, e))?;
        Ok(row.map(|j| j.0))
    }

    async fn load_recommender(
        &self,
        business: BusinessId,
    ) -> Result<Option<(whatsapp_crm_core::ports::RecommenderInfo, Vec<u8>)>, StorageError> {
        let row: Option<(sqlx::types::Json<whatsapp_crm_core::ports::RecommenderInfo>, Vec<u8>)> =
            sqlx::query_as("SELECT info, model FROM recommenders WHERE business_id = $1")
                .bind(business.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| map(RECOMMENDER, e))?;
        Ok(row.map(|(i, m)| (i.0, m)))
    }
}
