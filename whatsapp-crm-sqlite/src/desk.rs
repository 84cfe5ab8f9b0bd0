//! The team inbox: conversations' desks and their events.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Row};
use whatsapp_crm_core::ports::{DeskCommit, DeskOutcome, DeskStore, Page, clamp_limit};
use whatsapp_crm_core::{
    AgentId, BusinessId, Conversation, ConversationEvent, ConversationId, EventId, StorageError,
};

use crate::codec::{get, get_json, get_time, get_uuid, micros, to_json};
use crate::error::{Ctx, map};
use crate::listing::{Listing, blob, query_all};
use crate::messaging::conversation_row;
use crate::storage::SqliteStorage;

const CONVERSATION: Ctx = Ctx::new("conversation", "conversation");
const EVENT: Ctx = Ctx::new("conversation event", "conversation");

fn event_row(row: &Row<'_>) -> Result<ConversationEvent, StorageError> {
    Ok(ConversationEvent {
        id: EventId::from_uuid(get_uuid(row, "id")?),
        business_id: BusinessId::from_uuid(get_uuid(row, "business_id")?),
        conversation_id: ConversationId::from_uuid(get_uuid(row, "conversation_id")?),
        at: get_time(row, "at")?,
        actor: get_json(row, "actor")?,
        change: get_json(row, "detail")?,
    })
}

fn insert_events(
    tx: &rusqlite::Transaction<'_>,
    business: BusinessId,
    events: &[ConversationEvent],
) -> Result<(), StorageError> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO conversation_events (business_id, id, conversation_id, at, kind,
               agent_id, actor, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(|e| map(EVENT, e))?;
    for e in events {
        if e.business_id != business {
            return Err(StorageError::not_found("conversation"));
        }
        let agent = e.actor.agent().or(e.change.agent());
        stmt.execute(rusqlite::params_from_iter([
            blob(business.as_uuid()),
            blob(e.id.as_uuid()),
            blob(e.conversation_id.as_uuid()),
            Value::Integer(micros(e.at)),
            Value::Text(e.change.kind().into()),
            agent.map_or(Value::Null, |a| blob(a.as_uuid())),
            Value::Text(to_json(&e.actor)?),
            Value::Text(to_json(&e.change)?),
        ]))
        .map_err(|e| map(EVENT, e))?;
    }
    Ok(())
}

#[async_trait]
impl DeskStore for SqliteStorage {
    async fn commit_desk(&self, commit: &DeskCommit) -> Result<DeskOutcome, StorageError> {
        let c = commit.clone();
        let due = c.desk.due_at(c.status, c.assigned_agent);
        let timer = c.desk.timer_at(c.status, c.assigned_agent);
        let desk = to_json(&c.desk)?;
        self.write(move |tx| {
            let (business, id) = (blob(c.business.as_uuid()), blob(c.conversation.as_uuid()));
            let rev: Option<i64> = tx
                .query_row(
                    "SELECT desk_rev FROM conversations WHERE business_id = ?1 AND id = ?2",
                    [&business, &id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| map(CONVERSATION, e))?;
            let Some(rev) = rev else { return Err(StorageError::not_found("conversation")) };
            if rev != i64::from(c.from_rev) {
                return Ok(DeskOutcome::Moved);
            }
            // One writer at a time: the count and the write below see the
            // same rows, so two claims cannot both take an agent's last place.
            if let Some(agent) = c.claim {
                let agent = blob(agent.as_uuid());
                let max: Option<i64> = tx
                    .query_row(
                        "SELECT max_concurrent FROM agents WHERE business_id = ?1 AND id = ?2",
                        [&business, &agent],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(|e| map(CONVERSATION, e))?;
                let Some(max) = max else { return Err(StorageError::not_found("agent")) };
                let held: i64 = tx
                    .query_row(
                        "SELECT count(*) FROM conversations WHERE business_id = ?1
                           AND assigned_agent = ?2 AND status <> 'resolved' AND id <> ?3",
                        [&business, &agent, &id],
                        |r| r.get(0),
                    )
                    .map_err(|e| map(CONVERSATION, e))?;
                if held >= max {
                    return Ok(DeskOutcome::Full);
                }
                tx.execute(
                    "UPDATE agents SET last_assigned_at = ?3 WHERE business_id = ?1 AND id = ?2",
                    [&business, &agent, &Value::Integer(micros(c.at))],
                )
                .map_err(|e| map(CONVERSATION, e))?;
            }
            tx.execute(
                "UPDATE conversations SET status = ?3, assigned_agent = ?4, desk = ?5,
                   desk_rev = desk_rev + 1, desk_due_at = ?6, updated_at = ?7, desk_timer_at = ?8
                 WHERE business_id = ?1 AND id = ?2",
                rusqlite::params_from_iter([
                    business.clone(),
                    id,
                    Value::Text(whatsapp_crm_core::ports::enum_to_text(&c.status)?),
                    c.assigned_agent.map_or(Value::Null, |a| blob(a.as_uuid())),
                    Value::Text(desk),
                    due.map_or(Value::Null, |t| Value::Integer(micros(t))),
                    Value::Integer(micros(c.at)),
                    timer.map_or(Value::Null, |t| Value::Integer(micros(t))),
                ]),
            )
            .map_err(|e| map(CONVERSATION, e))?;
            insert_events(tx, c.business, &c.events)?;
            Ok(DeskOutcome::Written)
        })
        .await
    }

    async fn add_events(
        &self,
        business: BusinessId,
        events: &[ConversationEvent],
    ) -> Result<(), StorageError> {
        let events = events.to_vec();
        self.write(move |tx| insert_events(tx, business, &events)).await
    }

    async fn list_events(
        &self,
        business: BusinessId,
        conversation: ConversationId,
        limit: u32,
        after: Option<EventId>,
    ) -> Result<Page<ConversationEvent>, StorageError> {
        let mut l = Listing::new("SELECT * FROM conversation_events", "", business);
        l.filter("conversation_id = ?", blob(conversation.as_uuid()));
        l.after(after.map(|a| a.as_uuid()));
        l.page(self, EVENT, clamp_limit(limit), event_row, |e| e.id.to_string()).await
    }

    async fn desk_due(
        &self,
        now: DateTime<Utc>,
        after: Option<BusinessId>,
        limit: u32,
    ) -> Result<Vec<BusinessId>, StorageError> {
        self.read(move |c| {
            query_all(
                c,
                CONVERSATION,
                "SELECT DISTINCT c.business_id FROM conversations c
                 WHERE c.desk_due_at IS NOT NULL AND c.desk_due_at <= ?1 AND c.business_id > ?2
                   AND (c.desk_timer_at <= ?1 OR EXISTS (SELECT 1 FROM agents a
                          WHERE a.business_id = c.business_id AND a.availability = 'online'
                            AND a.max_concurrent > (SELECT count(*) FROM conversations x
                              WHERE x.business_id = a.business_id AND x.assigned_agent = a.id
                                AND x.status <> 'resolved')))
                 ORDER BY c.business_id LIMIT ?3",
                vec![
                    Value::Integer(micros(now)),
                    after.map_or(Value::Blob(Vec::new()), |a| blob(a.as_uuid())),
                    Value::Integer(i64::from(limit)),
                ],
                |r| Ok(BusinessId::from_uuid(get_uuid(r, "business_id")?)),
            )
        })
        .await
    }

    async fn desk_board(
        &self,
        business: BusinessId,
        limit: u32,
    ) -> Result<Vec<Conversation>, StorageError> {
        self.read(move |c| {
            query_all(
                c,
                CONVERSATION,
                "SELECT * FROM conversations WHERE business_id = ?1 AND desk_due_at IS NOT NULL
                 ORDER BY desk_due_at, id LIMIT ?2",
                vec![blob(business.as_uuid()), Value::Integer(i64::from(limit))],
                conversation_row,
            )
        })
        .await
    }

    async fn agent_loads(&self, business: BusinessId) -> Result<Vec<(AgentId, u32)>, StorageError> {
        self.read(move |c| {
            query_all(
                c,
                CONVERSATION,
                "SELECT assigned_agent, count(*) AS n FROM conversations
                 WHERE business_id = ?1 AND assigned_agent IS NOT NULL AND status <> 'resolved'
                 GROUP BY assigned_agent ORDER BY assigned_agent",
                vec![blob(business.as_uuid())],
                |r| Ok((AgentId::from_uuid(get_uuid(r, "assigned_agent")?), get(r, "n")?)),
            )
        })
        .await
    }
}

const RECOMMENDER: Ctx = Ctx::new("recommender", "business");

#[async_trait]
impl whatsapp_crm_core::ports::RecommendStore for SqliteStorage {
    async fn recommenders_due(
        &self,
        built_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<BusinessId>, StorageError> {
        self.read(move |c| {
            query_all(
                c,
                RECOMMENDER,
                "SELECT DISTINCT o.business_id FROM orders o
                 LEFT JOIN recommenders r ON r.business_id = o.business_id
                 WHERE o.status IN ('paid', 'fulfilled')
                   AND (r.built_at IS NULL OR (o.updated_at > r.built_at AND r.built_at <= ?1))
                 ORDER BY o.business_id LIMIT ?2",
                vec![Value::Integer(micros(built_before)), Value::Integer(i64::from(limit))],
                |r| Ok(BusinessId::from_uuid(get_uuid(r, "business_id")?)),
            )
        })
        .await
    }

    async fn save_recommender(
        &self,
        business: BusinessId,
        info: &whatsapp_crm_core::ports::RecommenderInfo,
        bytes: &[u8],
    ) -> Result<bool, StorageError> {
        let args = vec![
            blob(business.as_uuid()),
            Value::Integer(micros(info.built_at)),
            Value::Text(to_json(info)?),
            Value::Blob(bytes.to_vec()),
        ];
        self.write(move |tx| {
            let changed = tx
                .execute(
                    "INSERT INTO recommenders (business_id, built_at, info, model)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (business_id) DO UPDATE SET built_at = excluded.built_at,
                       info = excluded.info, model = excluded.model
                     WHERE recommenders.built_at <= excluded.built_at",
                    rusqlite::params_from_iter(args),
                )
                .map_err(|e| map(RECOMMENDER, e))?;
            Ok(changed > 0)
        })
        .await
    }

    async fn recommender_info(
        &self,
        business: BusinessId,
    ) -> Result<Option<whatsapp_crm_core::ports::RecommenderInfo>, StorageError> {
        self.read(move |c| {
            Ok(query_all(
                c,
                RECOMMENDER,
                "SELECT info FROM recommenders WHERE business_id = ?1",
                vec![blob(business.as_uuid())],
                |r| get_json(r, "info"),
            )?
            .pop())
        })
        .await
    }

    async fn load_recommender(
        &self,
        business: BusinessId,
    ) -> Result<Option<(whatsapp_crm_core::ports::RecommenderInfo, Vec<u8>)>, StorageError> {
        self.read(move |c| {
            Ok(query_all(
                c,
                RECOMMENDER,
                "SELECT info, model FROM recommenders WHERE business_id = ?1",
                vec![blob(business.as_uuid())],
                |r| Ok((get_json(r, "info")?, get::<Vec<u8>>(r, "model")?)),
            )?
            .pop())
        })
        .await
    }
}
