//! Agents.

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Row};
use whatsapp_crm_core::ports::{
    AgentQuery, AgentStore, Page, QueueStore, clamp_limit, enum_to_text,
};
use whatsapp_crm_core::{Agent, AgentId, BusinessId, Queue, QueueId, StorageError};

use crate::codec::{
    get, get_enum, get_json, get_opt_time, get_opt_uuid, get_time, get_uuid, id_bytes, micros,
    to_json,
};
use crate::error::{Ctx, map};
use crate::listing::{Listing, blob, query_one};
use crate::storage::SqliteStorage;

const AGENT: Ctx = Ctx::new("agent", "business");

fn agent_row(row: &Row<'_>) -> Result<Agent, StorageError> {
    Ok(Agent {
        id: AgentId::from_uuid(get_uuid(row, "id")?),
        business_id: BusinessId::from_uuid(get_uuid(row, "business_id")?),
        name: get(row, "name")?,
        skills: get_json(row, "skills")?,
        languages: get_json(row, "languages")?,
        max_concurrent: get(row, "max_concurrent")?,
        availability: get_enum(row, "availability")?,
        last_assigned_at: get_opt_time(row, "last_assigned_at")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

fn agent_values(a: &Agent) -> Result<Vec<Value>, StorageError> {
    Ok(vec![
        blob(a.business_id.as_uuid()),
        blob(a.id.as_uuid()),
        Value::Text(a.name.clone()),
        Value::Text(to_json(&a.skills)?),
        Value::Text(to_json(&a.languages)?),
        Value::Integer(i64::from(a.max_concurrent)),
        Value::Text(enum_to_text(&a.availability)?),
        a.last_assigned_at.map_or(Value::Null, |t| Value::Integer(micros(t))),
        Value::Integer(micros(a.created_at)),
        Value::Integer(micros(a.updated_at)),
    ])
}

#[async_trait]
impl AgentStore for SqliteStorage {
    async fn insert_agent(&self, agent: &Agent) -> Result<(), StorageError> {
        let args = agent_values(agent)?;
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO agents (business_id, id, name, skills, languages, max_concurrent,
                   availability, last_assigned_at, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                rusqlite::params_from_iter(args),
            )
            .map_err(|e| map(AGENT, e))?;
            Ok(())
        })
        .await
    }

    async fn get_agent(&self, business: BusinessId, id: AgentId) -> Result<Agent, StorageError> {
        self.read(move |c| {
            query_one(
                c,
                AGENT,
                "SELECT * FROM agents WHERE business_id = ?1 AND id = ?2",
                vec![blob(business.as_uuid()), blob(id.as_uuid())],
                agent_row,
            )
        })
        .await
    }

    async fn list_agents(
        &self,
        business: BusinessId,
        query: &AgentQuery,
    ) -> Result<Page<Agent>, StorageError> {
        let mut l = Listing::new("SELECT * FROM agents", "", business);
        if let Some(a) = query.availability {
            l.filter("availability = ?", Value::Text(enum_to_text(&a)?));
        }
        l.after(query.after.map(|a| a.as_uuid()));
        l.page(self, AGENT, clamp_limit(query.limit), agent_row, |a| a.id.to_string()).await
    }

    async fn update_agent(&self, agent: &Agent) -> Result<(), StorageError> {
        let args = agent_values(agent)?;
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE agents SET name = ?3, skills = ?4, languages = ?5, max_concurrent = ?6,
                       availability = ?7, updated_at = ?10
                     WHERE business_id = ?1 AND id = ?2",
                    rusqlite::params_from_iter(args),
                )
                .map_err(|e| map(AGENT, e))?;
            if n == 0 { Err(StorageError::not_found("agent")) } else { Ok(()) }
        })
        .await
    }
}

const QUEUE: Ctx = Ctx::new("queue", "business");

fn queue_row(row: &Row<'_>) -> Result<Queue, StorageError> {
    Ok(Queue {
        id: QueueId::from_uuid(get_uuid(row, "id")?),
        business_id: BusinessId::from_uuid(get_uuid(row, "business_id")?),
        name: get(row, "name")?,
        target: get(row, "target")?,
        strategy: get_enum(row, "strategy")?,
        offer_timeout_secs: get(row, "offer_timeout_secs")?,
        escalate_to: get_opt_uuid(row, "escalate_to")?.map(QueueId::from_uuid),
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

fn queue_values(q: &Queue) -> Result<Vec<Value>, StorageError> {
    Ok(vec![
        blob(q.business_id.as_uuid()),
        blob(q.id.as_uuid()),
        Value::Text(q.name.clone()),
        Value::Text(q.target.clone()),
        Value::Text(enum_to_text(&q.strategy)?),
        Value::Integer(i64::from(q.offer_timeout_secs)),
        q.escalate_to.map_or(Value::Null, |e| blob(e.as_uuid())),
        Value::Integer(micros(q.created_at)),
        Value::Integer(micros(q.updated_at)),
    ])
}

/// `NotFound` unless the queue a queue escalates to is the business's.
fn check_escalation(tx: &rusqlite::Transaction<'_>, q: &Queue) -> Result<(), StorageError> {
    let Some(to) = q.escalate_to else { return Ok(()) };
    let found: Option<i64> = tx
        .query_row(
            "SELECT 1 FROM queues WHERE business_id = ?1 AND id = ?2",
            rusqlite::params![id_bytes(q.business_id.as_uuid()), id_bytes(to.as_uuid())],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| map(QUEUE, e))?;
    found.map(|_| ()).ok_or(StorageError::not_found("queue"))
}

#[async_trait]
impl QueueStore for SqliteStorage {
    async fn insert_queue(&self, queue: &Queue) -> Result<(), StorageError> {
        let args = queue_values(queue)?;
        let q = queue.clone();
        self.write(move |tx| {
            check_escalation(tx, &q)?;
            tx.execute(
                "INSERT INTO queues (business_id, id, name, target, strategy, offer_timeout_secs,
                   escalate_to, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                rusqlite::params_from_iter(args),
            )
            .map_err(|e| map(QUEUE, e))?;
            Ok(())
        })
        .await
    }

    async fn get_queue(&self, business: BusinessId, id: QueueId) -> Result<Queue, StorageError> {
        self.read(move |c| {
            query_one(
                c,
                QUEUE,
                "SELECT * FROM queues WHERE business_id = ?1 AND id = ?2",
                vec![blob(business.as_uuid()), blob(id.as_uuid())],
                queue_row,
            )
        })
        .await
    }

    async fn list_queues(
        &self,
        business: BusinessId,
        limit: u32,
        after: Option<QueueId>,
    ) -> Result<Page<Queue>, StorageError> {
        let mut l = Listing::new("SELECT * FROM queues", "", business);
        l.after(after.map(|a| a.as_uuid()));
        l.page(self, QUEUE, clamp_limit(limit), queue_row, |q| q.id.to_string()).await
    }

    async fn update_queue(&self, queue: &Queue) -> Result<(), StorageError> {
        let args = queue_values(queue)?;
        let q = queue.clone();
        self.write(move |tx| {
            check_escalation(tx, &q)?;
            let n = tx
                .execute(
                    "UPDATE queues SET name = ?3, target = ?4, strategy = ?5,
                       offer_timeout_secs = ?6, escalate_to = ?7, updated_at = ?9
                     WHERE business_id = ?1 AND id = ?2",
                    rusqlite::params_from_iter(args),
                )
                .map_err(|e| map(QUEUE, e))?;
            if n == 0 { Err(StorageError::not_found("queue")) } else { Ok(()) }
        })
        .await
    }
}

const ROUTING: Ctx = Ctx::new("routing", "business");

#[async_trait]
impl whatsapp_crm_core::ports::RoutingStore for SqliteStorage {
    async fn get_routing(
        &self,
        business: BusinessId,
    ) -> Result<whatsapp_crm_core::Routing, StorageError> {
        self.read(move |c| {
            let text: Option<String> = c
                .query_row(
                    "SELECT rules FROM routing WHERE business_id = ?1",
                    [id_bytes(business.as_uuid())],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| map(ROUTING, e))?;
            match text {
                Some(t) => {
                    serde_json::from_str(&t).map_err(|e| crate::error::corrupt("routing", e))
                }
                None => Ok(whatsapp_crm_core::Routing::default()),
            }
        })
        .await
    }

    async fn set_routing(
        &self,
        business: BusinessId,
        routing: &whatsapp_crm_core::Routing,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StorageError> {
        let rules = to_json(routing)?;
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO routing (business_id, rules, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (business_id) DO UPDATE SET rules = ?2, updated_at = ?3",
                rusqlite::params![id_bytes(business.as_uuid()), rules, micros(at)],
            )
            .map_err(|e| map(ROUTING, e))?;
            Ok(())
        })
        .await
    }
}
