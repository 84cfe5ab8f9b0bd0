//! FAQs, intents, trained models and conversations' assistant state.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Row, Transaction, params};
use whatsapp_crm_core::ports::{
    AssistantQuery, AssistantStore, Page, TrainingData, TurnCommit, clamp_limit, enum_to_text,
};
use whatsapp_crm_core::{
    AssistantState, BusinessId, ConversationId, Faq, FaqId, Intent, IntentId, ModelInfo,
    StorageError, TrainingStatus,
};

use crate::codec::{
    get, get_enum, get_json, get_time, get_uuid, id_bytes, micros, opt_micros, to_json,
};
use crate::error::{Ctx, corrupt, map};
use crate::listing::{Listing, blob, query_all, query_one};
use crate::messaging::insert_message_tx;
use crate::outbox::insert_item;
use crate::storage::SqliteStorage;

const FAQ: Ctx = Ctx::new("faq", "business");
const INTENT: Ctx = Ctx::new("intent", "business");
const MODEL: Ctx = Ctx::new("assistant model", "business");
const CONVERSATION: Ctx = Ctx::new("conversation", "conversation");

fn faq_row(row: &Row<'_>) -> Result<Faq, StorageError> {
    Ok(Faq {
        id: FaqId::from_uuid(get_uuid(row, "id")?),
        business_id: BusinessId::from_uuid(get_uuid(row, "business_id")?),
        question: get(row, "question")?,
        paraphrases: get_json(row, "paraphrases")?,
        answer: get(row, "answer")?,
        intent: get(row, "intent")?,
        active: get(row, "active")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

fn intent_row(row: &Row<'_>) -> Result<Intent, StorageError> {
    Ok(Intent {
        id: IntentId::from_uuid(get_uuid(row, "id")?),
        business_id: BusinessId::from_uuid(get_uuid(row, "business_id")?),
        name: get(row, "name")?,
        examples: get_json(row, "examples")?,
        action: get_enum(row, "action")?,
        reply: get(row, "reply")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

fn faq_values(f: &Faq) -> Result<Vec<Value>, StorageError> {
    Ok(vec![
        blob(f.business_id.as_uuid()),
        blob(f.id.as_uuid()),
        Value::Text(f.question.clone()),
        Value::Text(to_json(&f.paraphrases)?),
        Value::Text(f.answer.clone()),
        f.intent.clone().map_or(Value::Null, Value::Text),
        Value::Integer(i64::from(f.active)),
        Value::Integer(micros(f.created_at)),
        Value::Integer(micros(f.updated_at)),
    ])
}

fn intent_values(i: &Intent) -> Result<Vec<Value>, StorageError> {
    Ok(vec![
        blob(i.business_id.as_uuid()),
        blob(i.id.as_uuid()),
        Value::Text(i.name.clone()),
        Value::Text(to_json(&i.examples)?),
        Value::Text(enum_to_text(&i.action)?),
        i.reply.clone().map_or(Value::Null, Value::Text),
        Value::Integer(micros(i.created_at)),
        Value::Integer(micros(i.updated_at)),
    ])
}

/// Bumps the business's training data version, in the change's own write.
fn bump(tx: &Transaction<'_>, business: BusinessId) -> Result<(), StorageError> {
    tx.execute(
        "INSERT INTO assistant_models (business_id, data_version) VALUES (?1, 1)
         ON CONFLICT (business_id) DO UPDATE SET data_version = data_version + 1",
        params![id_bytes(business.as_uuid())],
    )
    .map_err(|e| map(MODEL, e))?;
    Ok(())
}

/// Runs a one-row change and bumps the data version; `NotFound` when it
/// changed nothing.
fn change(
    tx: &Transaction<'_>,
    ctx: Ctx,
    business: BusinessId,
    sql: &str,
    args: Vec<Value>,
) -> Result<(), StorageError> {
    let n = tx.execute(sql, rusqlite::params_from_iter(args)).map_err(|e| map(ctx, e))?;
    if n == 0 {
        return Err(StorageError::not_found(ctx.entity));
    }
    bump(tx, business)
}

fn model_info(text: Option<String>) -> Result<Option<ModelInfo>, StorageError> {
    text.map(|t| serde_json::from_str(&t).map_err(|e| corrupt("model info", e))).transpose()
}

fn waiting_since(state: &AssistantState) -> Value {
    opt_micros(state.waiting_since()).map_or(Value::Null, Value::Integer)
}

/// Writes a conversation's assistant state if it is still at `from_rev`.
fn write_state(
    tx: &Transaction<'_>,
    business: BusinessId,
    conversation: ConversationId,
    from_rev: u32,
    state: &AssistantState,
) -> Result<bool, StorageError> {
    let n = tx
        .execute(
            "UPDATE conversations SET assistant = ?4, assistant_rev = assistant_rev + 1,
               waiting_since = ?5
             WHERE business_id = ?1 AND id = ?2 AND assistant_rev = ?3",
            rusqlite::params_from_iter([
                blob(business.as_uuid()),
                blob(conversation.as_uuid()),
                Value::Integer(i64::from(from_rev)),
                Value::Text(to_json(state)?),
                waiting_since(state),
            ]),
        )
        .map_err(|e| map(CONVERSATION, e))?;
    if n == 1 {
        return Ok(true);
    }
    let exists: Option<i64> = tx
        .query_row(
            "SELECT 1 FROM conversations WHERE business_id = ?1 AND id = ?2",
            params![id_bytes(business.as_uuid()), id_bytes(conversation.as_uuid())],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| map(CONVERSATION, e))?;
    match exists {
        Some(_) => Ok(false),
        None => Err(StorageError::not_found("conversation")),
    }
}

#[async_trait]
impl AssistantStore for SqliteStorage {
    async fn insert_faq(&self, faq: &Faq) -> Result<(), StorageError> {
        let args = faq_values(faq)?;
        let business = faq.business_id;
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO faqs (business_id, id, question, paraphrases, answer, intent, active,
                   created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                rusqlite::params_from_iter(args),
            )
            .map_err(|e| map(FAQ, e))?;
            bump(tx, business)
        })
        .await
    }

    async fn get_faq(&self, business: BusinessId, id: FaqId) -> Result<Faq, StorageError> {
        self.read(move |c| {
            query_one(
                c,
                FAQ,
                "SELECT * FROM faqs WHERE business_id = ?1 AND id = ?2",
                vec![blob(business.as_uuid()), blob(id.as_uuid())],
                faq_row,
            )
        })
        .await
    }

    async fn list_faqs(
        &self,
        business: BusinessId,
        query: &AssistantQuery<FaqId>,
    ) -> Result<Page<Faq>, StorageError> {
        let mut l = Listing::new("SELECT * FROM faqs", "", business);
        l.after(query.after.map(|a| a.as_uuid()));
        l.page(self, FAQ, clamp_limit(query.limit), faq_row, |f| f.id.to_string()).await
    }

    async fn update_faq(&self, faq: &Faq) -> Result<(), StorageError> {
        let args = faq_values(faq)?;
        let business = faq.business_id;
        self.write(move |tx| {
            change(
                tx,
                FAQ,
                business,
                "UPDATE faqs SET question = ?3, paraphrases = ?4, answer = ?5, intent = ?6,
                   active = ?7, updated_at = ?9
                 WHERE business_id = ?1 AND id = ?2",
                args,
            )
        })
        .await
    }

    async fn delete_faq(&self, business: BusinessId, id: FaqId) -> Result<(), StorageError> {
        self.write(move |tx| {
            change(
                tx,
                FAQ,
                business,
                "DELETE FROM faqs WHERE business_id = ?1 AND id = ?2",
                vec![blob(business.as_uuid()), blob(id.as_uuid())],
            )
        })
        .await
    }

    async fn insert_intent(&self, intent: &Intent) -> Result<(), StorageError> {
        let args = intent_values(intent)?;
        let business = intent.business_id;
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO intents (business_id, id, name, examples, action, reply, created_at,
                   updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                rusqlite::params_from_iter(args),
            )
            .map_err(|e| map(INTENT, e))?;
            bump(tx, business)
        })
        .await
    }

    async fn get_intent(&self, business: BusinessId, id: IntentId) -> Result<Intent, StorageError> {
        self.read(move |c| {
            query_one(
                c,
                INTENT,
                "SELECT * FROM intents WHERE business_id = ?1 AND id = ?2",
                vec![blob(business.as_uuid()), blob(id.as_uuid())],
                intent_row,
            )
        })
        .await
    }

    async fn list_intents(
        &self,
        business: BusinessId,
        query: &AssistantQuery<IntentId>,
    ) -> Result<Page<Intent>, StorageError> {
        let mut l = Listing::new("SELECT * FROM intents", "", business);
        l.after(query.after.map(|a| a.as_uuid()));
        l.page(self, INTENT, clamp_limit(query.limit), intent_row, |i| i.id.to_string()).await
    }

    async fn update_intent(&self, intent: &Intent) -> Result<(), StorageError> {
        let args = intent_values(intent)?;
        let business = intent.business_id;
        self.write(move |tx| {
            change(
                tx,
                INTENT,
                business,
                "UPDATE intents SET name = ?3, examples = ?4, action = ?5, reply = ?6,
                   updated_at = ?8
                 WHERE business_id = ?1 AND id = ?2",
                args,
            )
        })
        .await
    }

    async fn delete_intent(&self, business: BusinessId, id: IntentId) -> Result<(), StorageError> {
        self.write(move |tx| {
            change(
                tx,
                INTENT,
                business,
                "DELETE FROM intents WHERE business_id = ?1 AND id = ?2",
                vec![blob(business.as_uuid()), blob(id.as_uuid())],
            )
        })
        .await
    }

    async fn training_data(&self, business: BusinessId) -> Result<TrainingData, StorageError> {
        // One read transaction: the version and the rows agree.
        self.read(move |c| {
            let key = vec![blob(business.as_uuid())];
            let data_version: Option<i64> = c
                .query_row(
                    "SELECT data_version FROM assistant_models WHERE business_id = ?1",
                    params![id_bytes(business.as_uuid())],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| map(MODEL, e))?;
            let faqs = query_all(
                c,
                FAQ,
                "SELECT * FROM faqs WHERE business_id = ?1 AND active = 1 ORDER BY id",
                key.clone(),
                faq_row,
            )?;
            let intents = query_all(
                c,
                INTENT,
                "SELECT * FROM intents WHERE business_id = ?1 ORDER BY id",
                key,
                intent_row,
            )?;
            Ok(TrainingData {
                data_version: data_version.unwrap_or(0).try_into().unwrap_or(0),
                faqs,
                intents,
            })
        })
        .await
    }

    async fn training_status(&self, business: BusinessId) -> Result<TrainingStatus, StorageError> {
        self.read(move |c| {
            let id = id_bytes(business.as_uuid());
            let exists: Option<i64> = c
                .query_row("SELECT 1 FROM businesses WHERE id = ?1", params![id], |r| r.get(0))
                .optional()
                .map_err(|e| map(MODEL, e))?;
            if exists.is_none() {
                return Err(StorageError::not_found("business"));
            }
            let (version, info): (i64, Option<String>) = c
                .query_row(
                    "SELECT data_version, info FROM assistant_models WHERE business_id = ?1",
                    params![id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(|e| map(MODEL, e))?
                .unwrap_or((0, None));
            let count = |table: &str| -> Result<u32, StorageError> {
                let n: i64 = c
                    .query_row(
                        &format!("SELECT count(*) FROM {table} WHERE business_id = ?1"),
                        params![id],
                        |r| r.get(0),
                    )
                    .map_err(|e| map(MODEL, e))?;
                Ok(u32::try_from(n).unwrap_or(u32::MAX))
            };
            Ok(TrainingStatus {
                data_version: version.try_into().unwrap_or(0),
                faqs: count("faqs")?,
                intents: count("intents")?,
                model: model_info(info)?,
            })
        })
        .await
    }

    async fn stale_models(&self, limit: u32) -> Result<Vec<BusinessId>, StorageError> {
        self.read(move |c| {
            query_all(
                c,
                MODEL,
                "SELECT business_id FROM assistant_models WHERE data_version > trained_version
                 ORDER BY business_id LIMIT ?1",
                vec![Value::Integer(i64::from(limit))],
                |r| Ok(BusinessId::from_uuid(get_uuid(r, "business_id")?)),
            )
        })
        .await
    }

    async fn save_model(
        &self,
        business: BusinessId,
        info: &ModelInfo,
        bytes: &[u8],
    ) -> Result<bool, StorageError> {
        let (info_json, bytes) = (to_json(info)?, bytes.to_vec());
        let version = i64::try_from(info.data_version).unwrap_or(i64::MAX);
        self.write(move |tx| {
            let n = tx
                .execute(
                    "INSERT INTO assistant_models (business_id, data_version, trained_version, info, model)
                     VALUES (?1, ?2, ?2, ?3, ?4)
                     ON CONFLICT (business_id) DO UPDATE SET trained_version = ?2, info = ?3,
                       model = ?4
                     WHERE assistant_models.trained_version < ?2",
                    params![id_bytes(business.as_uuid()), version, info_json, bytes],
                )
                .map_err(|e| map(MODEL, e))?;
            Ok(n == 1)
        })
        .await
    }

    async fn load_model(
        &self,
        business: BusinessId,
    ) -> Result<Option<(ModelInfo, Vec<u8>)>, StorageError> {
        self.read(move |c| {
            let row: Option<(Option<String>, Option<Vec<u8>>)> = c
                .query_row(
                    "SELECT info, model FROM assistant_models WHERE business_id = ?1",
                    params![id_bytes(business.as_uuid())],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(|e| map(MODEL, e))?;
            match row {
                Some((info, Some(bytes))) => Ok(model_info(info)?.map(|i| (i, bytes))),
                _ => Ok(None),
            }
        })
        .await
    }

    async fn commit_turn(&self, turn: &TurnCommit) -> Result<bool, StorageError> {
        let turn = turn.clone();
        let decision = to_json(&turn.decision)?;
        self.write(move |tx| {
            let b = turn.business;
            let message = params![
                id_bytes(b.as_uuid()),
                id_bytes(turn.message.as_uuid()),
                id_bytes(turn.conversation.as_uuid()),
            ];
            // Checked first: returning false must leave nothing written.
            let decided: bool = tx
                .query_row(
                    "SELECT decision IS NOT NULL FROM messages
                     WHERE business_id = ?1 AND id = ?2 AND conversation_id = ?3",
                    message,
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| map(CONVERSATION, e))?
                .ok_or(StorageError::not_found("message"))?;
            if decided || !write_state(tx, b, turn.conversation, turn.from_rev, &turn.state)? {
                return Ok(false);
            }
            tx.execute(
                "UPDATE messages SET decision = ?4
                 WHERE business_id = ?1 AND id = ?2 AND conversation_id = ?3",
                params![
                    id_bytes(b.as_uuid()),
                    id_bytes(turn.message.as_uuid()),
                    id_bytes(turn.conversation.as_uuid()),
                    decision
                ],
            )
            .map_err(|e| map(CONVERSATION, e))?;
            for (m, item) in &turn.replies {
                if m.business_id != b || item.business_id != b {
                    return Err(StorageError::not_found("conversation"));
                }
                insert_message_tx(tx, m)?;
                insert_item(tx, item)?;
            }
            Ok(true)
        })
        .await
    }

    async fn set_assistant_state(
        &self,
        business: BusinessId,
        conversation: ConversationId,
        from_rev: u32,
        state: &AssistantState,
    ) -> Result<bool, StorageError> {
        let state = state.clone();
        self.write(move |tx| write_state(tx, business, conversation, from_rev, &state)).await
    }

    async fn last_person_reply(
        &self,
        business: BusinessId,
        conversation: ConversationId,
    ) -> Result<Option<DateTime<Utc>>, StorageError> {
        self.read(move |c| {
            let at: Option<i64> = c
                .query_row(
                    "SELECT max(created_at) FROM messages
                     WHERE business_id = ?1 AND conversation_id = ?2 AND author = 'staff'",
                    params![id_bytes(business.as_uuid()), id_bytes(conversation.as_uuid())],
                    |r| r.get(0),
                )
                .map_err(|e| map(CONVERSATION, e))?;
            at.map(|t| DateTime::from_timestamp_micros(t).ok_or_else(|| corrupt("created_at", t)))
                .transpose()
        })
        .await
    }
}
