//! Agents.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use whatsapp_crm_core::ports::{
    AgentQuery, AgentStore, Page, QueueStore, clamp_limit, enum_to_text,
};
use whatsapp_crm_core::{Agent, AgentId, BusinessId, Queue, QueueId, StorageError};

use crate::codec::{get, get_enum, get_json, get_u32, put_u32, to_json};
use crate::error::{Ctx, map};
use crate::listing::Listing;
use crate::storage::PostgresStorage;

const AGENT: Ctx = Ctx::new("agent", "business");

fn agent_row(row: &PgRow) -> Result<Agent, StorageError> {
    Ok(Agent {
        id: AgentId::from_uuid(get(row, "id")?),
        business_id: BusinessId::from_uuid(get(row, "business_id")?),
        name: get(row, "name")?,
        skills: get_json(row, "skills")?,
        languages: get_json(row, "languages")?,
        max_concurrent: get_u32(row, "max_concurrent")?,
        availability: get_enum(row, "availability")?,
        last_assigned_at: get(row, "last_assigned_at")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

#[async_trait]
impl AgentStore for PostgresStorage {
    async fn insert_agent(&self, a: &Agent) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO agents (business_id, id, name, skills, languages, max_concurrent,
               availability, last_assigned_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(a.business_id.as_uuid())
        .bind(a.id.as_uuid())
        .bind(&a.name)
        .bind(sqlx::types::Json(to_json(&a.skills)?))
        .bind(sqlx::types::Json(to_json(&a.languages)?))
        .bind(put_u32(a.max_concurrent)?)
        .bind(enum_to_text(&a.availability)?)
        .bind(a.last_assigned_at)
        .bind(a.created_at)
        .bind(a.updated_at)
        .execute(&self.pool)
        .await
        .map_err(|e| map(AGENT, e))?;
        Ok(())
    }

    async fn get_agent(&self, business: BusinessId, id: AgentId) -> Result<Agent, StorageError> {
        let row = sqlx::query("SELECT * FROM agents WHERE business_id = $1 AND id = $2")
            .bind(business.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map(AGENT, e))?;
        row.as_ref().map(agent_row).transpose()?.ok_or(StorageError::not_found("agent"))
    }

    async fn list_agents(
        &self,
        business: BusinessId,
        query: &AgentQuery,
    ) -> Result<Page<Agent>, StorageError> {
        let mut l = Listing::new("agents", business)?;
        if let Some(a) = query.availability {
            l.filter("availability = ?", enum_to_text(&a)?)?;
        }
        if let Some(after) = query.after {
            l.filter("id > ?", after.as_uuid())?;
        }
        l.page(self, AGENT, clamp_limit(query.limit), agent_row, |a| a.id.to_string()).await
    }

    async fn update_agent(&self, a: &Agent) -> Result<(), StorageError> {
        let done = sqlx::query(
            "UPDATE agents SET name = $3, skills = $4, languages = $5, max_concurrent = $6,
               availability = $7, updated_at = $8
             WHERE business_id = $1 AND id = $2",
        )
        .bind(a.business_id.as_uuid())
        .bind(a.id.as_uuid())
        .bind(&a.name)
        .bind(sqlx::types::Json(to_json(&a.skills)?))
        .bind(sqlx::types::Json(to_json(&a.languages)?))
        .bind(put_u32(a.max_concurrent)?)
        .bind(enum_to_text(&a.availability)?)
        .bind(a.updated_at)
        .execute(&self.pool)
        .await
        .map_err(|e| map(AGENT, e))?;
        if done.rows_affected() == 0 {
            return Err(StorageError::not_found("agent"));
        }
        Ok(())
    }
}

const QUEUE: Ctx = Ctx::new("queue", "business");

fn queue_row(row: &PgRow) -> Result<Queue, StorageError> {
    Ok(Queue {
        id: QueueId::from_uuid(get(row, "id")?),
        business_id: BusinessId::from_uuid(get(row, "business_id")?),
        name: get(row, "name")?,
        target: get(row, "target")?,
        strategy: get_enum(row, "strategy")?,
        offer_timeout_secs: get_u32(row, "offer_timeout_secs")?,
        escalate_to: get::<Option<uuid::Uuid>>(row, "escalate_to")?.map(QueueId::from_uuid),
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

/// A queue's write: its escalation queue must be the business's (the
/// foreign key on both columns says so).
fn queue_write(e: sqlx::Error) -> StorageError {
    match &e {
        sqlx::Error::Database(d) if d.constraint() == Some("queues_escalate_fkey") => {
            StorageError::not_found("queue")
        }
        _ => map(QUEUE, e),
    }
}

#[async_trait]
impl QueueStore for PostgresStorage {
    async fn insert_queue(&self, q: &Queue) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO queues (business_id, id, name, target, strategy, offer_timeout_secs,
               escalate_to, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(q.business_id.as_uuid())
        .bind(q.id.as_uuid())
        .bind(&q.name)
        .bind(&q.target)
        .bind(enum_to_text(&q.strategy)?)
        .bind(put_u32(q.offer_timeout_secs)?)
        .bind(q.escalate_to.map(|e| e.as_uuid()))
        .bind(q.created_at)
        .bind(q.updated_at)
        .execute(&self.pool)
        .await
        .map_err(queue_write)?;
        Ok(())
    }

    async fn get_queue(&self, business: BusinessId, id: QueueId) -> Result<Queue, StorageError> {
        let row = sqlx::query("SELECT * FROM queues WHERE business_id = $1 AND id = $2")
            .bind(business.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map(QUEUE, e))?;
        row.as_ref().map(queue_row).transpose()?.ok_or(StorageError::not_found("queue"))
    }

    async fn list_queues(
        &self,
        business: BusinessId,
        limit: u32,
        after: Option<QueueId>,
    ) -> Result<Page<Queue>, StorageError> {
        let mut l = Listing::new("queues", business)?;
        if let Some(after) = after {
            l.filter("id > ?", after.as_uuid())?;
        }
        l.page(self, QUEUE, clamp_limit(limit), queue_row, |q| q.id.to_string()).await
    }

    async fn update_queue(&self, q: &Queue) -> Result<(), StorageError> {
        let done = sqlx::query(
            "UPDATE queues SET name = $3, target = $4, strategy = $5, offer_timeout_secs = $6,
               escalate_to = $7, updated_at = $8
             WHERE business_id = $1 AND id = $2",
        )
        .bind(q.business_id.as_uuid())
        .bind(q.id.as_uuid())
        .bind(&q.name)
        .bind(&q.target)
        .bind(enum_to_text(&q.strategy)?)
        .bind(put_u32(q.offer_timeout_secs)?)
        .bind(q.escalate_to.map(|e| e.as_uuid()))
        .bind(q.updated_at)
        .execute(&self.pool)
        .await
        .map_err(queue_write)?;
        if done.rows_affected() == 0 {
            return Err(StorageError::not_found("queue"));
        }
        Ok(())
    }
}

const ROUTING: Ctx = Ctx::new("routing", "business");

#[async_trait]
impl whatsapp_crm_core::ports::RoutingStore for PostgresStorage {
    async fn get_routing(
        &self,
        business: BusinessId,
    ) -> Result<whatsapp_crm_core::Routing, StorageError> {
        let rules: Option<sqlx::types::Json<whatsapp_crm_core::Routing>> =
            sqlx::query_scalar("SELECT rules FROM routing WHERE business_id = $1")
                .bind(business.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| map(ROUTING, e))?;
        Ok(rules.map(|j| j.0).unwrap_or_default())
    }

    async fn set_routing(
        &self,
        business: BusinessId,
        routing: &whatsapp_crm_core::Routing,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO routing (business_id, rules, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (business_id) DO UPDATE SET rules = $2, updated_at = $3",
        )
        .bind(business.as_uuid())
        .bind(sqlx::types::Json(to_json(routing)?))
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(|e| map(ROUTING, e))?;
        Ok(())
    }
}
