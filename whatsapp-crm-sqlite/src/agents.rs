//! Agents.

use async_trait::async_trait;
use rusqlite::Row;
use rusqlite::types::Value;
use whatsapp_crm_core::ports::{AgentQuery, AgentStore, Page, clamp_limit, enum_to_text};
use whatsapp_crm_core::{Agent, AgentId, BusinessId, StorageError};

use crate::codec::{get, get_enum, get_json, get_opt_time, get_time, get_uuid, micros, to_json};
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
