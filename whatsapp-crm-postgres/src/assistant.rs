//! FAQs, intents, trained models and conversations' assistant state.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use whatsapp_crm_core::ports::{
    AssistantQuery, AssistantStore, Page, TrainingData, TurnCommit, clamp_limit, enum_to_text,
};
use whatsapp_crm_core::{
    AssistantState, BusinessId, ConversationId, Faq, FaqId, Intent, IntentId, ModelInfo,
    StorageError, TrainingStatus,
};

use crate::codec::{get, get_enum, get_json, to_json};
use crate::error::{Ctx, map};
use crate::listing::Listing;
use crate::messaging::insert_message_tx;
use crate::outbox::insert_item;
use crate::storage::PostgresStorage;

const FAQ: Ctx = Ctx::new("faq", "business");
const INTENT: Ctx = Ctx::new("intent", "business");
const MODEL: Ctx = Ctx::new("assistant model", "business");
const CONVERSATION: Ctx = Ctx::new("conversation", "conversation");

fn faq_row(row: &PgRow) -> Result<Faq, StorageError> {
    Ok(Faq {
        id: FaqId::from_uuid(get(row, "id")?),
        business_id: BusinessId::from_uuid(get(row, "business_id")?),
        question: get(row, "question")?,
        paraphrases: get_json(row, "paraphrases")?,
        answer: get(row, "answer")?,
        intent: get(row, "intent")?,
        active: get(row, "active")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

fn intent_row(row: &PgRow) -> Result<Intent, StorageError> {
    Ok(Intent {
        id: IntentId::from_uuid(get(row, "id")?),
        business_id: BusinessId::from_uuid(get(row, "business_id")?),
        name: get(row, "name")?,
        examples: get_json(row, "examples")?,
        action: get_enum(row, "action")?,
        reply: get(row, "reply")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

/// Bumps the business's training data version, in the change's own
/// transaction.
async fn bump(c: &mut sqlx::PgConnection, business: BusinessId) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO assistant_models (business_id, data_version) VALUES ($1, 1)
         ON CONFLICT (business_id) DO UPDATE
           SET data_version = assistant_models.data_version + 1",
    )
    .bind(business.as_uuid())
    .execute(&mut *c)
    .await
    .map_err(|e| map(MODEL, e))?;
    Ok(())
}

fn info_of(v: Option<sqlx::types::Json<ModelInfo>>) -> Option<ModelInfo> {
    v.map(|j| j.0)
}

/// Writes a conversation's assistant state if it is still at `from_rev`.
async fn write_state(
    c: &mut sqlx::PgConnection,
    business: BusinessId,
    conversation: ConversationId,
    from_rev: u32,
    state: &AssistantState,
) -> Result<bool, StorageError> {
    let done = sqlx::query(
        "UPDATE conversations SET assistant = $4, assistant_rev = assistant_rev + 1,
           waiting_since = $5
         WHERE business_id = $1 AND id = $2 AND assistant_rev = $3",
    )
    .bind(business.as_uuid())
    .bind(conversation.as_uuid())
    .bind(i32::try_from(from_rev).unwrap_or(i32::MAX))
    .bind(sqlx::types::Json(state))
    .bind(state.waiting_since())
    .execute(&mut *c)
    .await
    .map_err(|e| map(CONVERSATION, e))?;
    if done.rows_affected() == 1 {
        return Ok(true);
    }
    let found: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM conversations WHERE business_id = $1 AND id = $2")
            .bind(business.as_uuid())
            .bind(conversation.as_uuid())
            .fetch_optional(&mut *c)
            .await
            .map_err(|e| map(CONVERSATION, e))?;
    match found {
        Some(_) => Ok(false),
        None => Err(StorageError::not_found("conversation")),
    }
}

impl PostgresStorage {
    /// Runs a one-row change to FAQs or intents with its version bump;
    /// `NotFound` when it changed nothing.
    async fn change<'q>(
        &self,
        ctx: Ctx,
        business: BusinessId,
        q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await.map_err(|e| map(ctx, e))?;
        let done = q.execute(&mut *tx).await.map_err(|e| map(ctx, e))?;
        if done.rows_affected() == 0 {
            return Err(StorageError::not_found(ctx.entity));
        }
        bump(&mut tx, business).await?;
        tx.commit().await.map_err(|e| map(ctx, e))
    }
}

#[async_trait]
impl AssistantStore for PostgresStorage {
    async fn insert_faq(&self, f: &Faq) -> Result<(), StorageError> {
        let q = sqlx::query(
            "INSERT INTO faqs (business_id, id, question, paraphrases, answer, intent, active,
               created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(f.business_id.as_uuid())
        .bind(f.id.as_uuid())
        .bind(&f.question)
        .bind(sqlx::types::Json(to_json(&f.paraphrases)?))
        .bind(&f.answer)
        .bind(&f.intent)
        .bind(f.active)
        .bind(f.created_at)
        .bind(f.updated_at);
        self.change(FAQ, f.business_id, q).await
    }

    async fn get_faq(&self, business: BusinessId, id: FaqId) -> Result<Faq, StorageError> {
        let row = sqlx::query("SELECT * FROM faqs WHERE business_id = $1 AND id = $2")
            .bind(business.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map(FAQ, e))?;
        row.as_ref().map(faq_row).transpose()?.ok_or(StorageError::not_found("faq"))
    }

    async fn list_faqs(
        &self,
        business: BusinessId,
        query: &AssistantQuery<FaqId>,
    ) -> Result<Page<Faq>, StorageError> {
        let mut l = Listing::new("faqs", business)?;
        if let Some(after) = query.after {
            l.filter("id > ?", after.as_uuid())?;
        }
        l.page(self, FAQ, clamp_limit(query.limit), faq_row, |f| f.id.to_string()).await
    }

    async fn update_faq(&self, f: &Faq) -> Result<(), StorageError> {
        let q = sqlx::query(
            "UPDATE faqs SET question = $3, paraphrases = $4, answer = $5, intent = $6,
               active = $7, updated_at = $8
             WHERE business_id = $1 AND id = $2",
        )
        .bind(f.business_id.as_uuid())
        .bind(f.id.as_uuid())
        .bind(&f.question)
        .bind(sqlx::types::Json(to_json(&f.paraphrases)?))
        .bind(&f.answer)
        .bind(&f.intent)
        .bind(f.active)
        .bind(f.updated_at);
        self.change(FAQ, f.business_id, q).await
    }

    async fn delete_faq(&self, business: BusinessId, id: FaqId) -> Result<(), StorageError> {
        let q = sqlx::query("DELETE FROM faqs WHERE business_id = $1 AND id = $2")
            .bind(business.as_uuid())
            .bind(id.as_uuid());
        self.change(FAQ, business, q).await
    }

    async fn insert_intent(&self, i: &Intent) -> Result<(), StorageError> {
        let q = sqlx::query(
            "INSERT INTO intents (business_id, id, name, examples, action, reply, created_at,
               updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(i.business_id.as_uuid())
        .bind(i.id.as_uuid())
        .bind(&i.name)
        .bind(sqlx::types::Json(to_json(&i.examples)?))
        .bind(enum_to_text(&i.action)?)
        .bind(&i.reply)
        .bind(i.created_at)
        .bind(i.updated_at);
        self.change(INTENT, i.business_id, q).await
    }

    async fn get_intent(&self, business: BusinessId, id: IntentId) -> Result<Intent, StorageError> {
        let row = sqlx::query("SELECT * FROM intents WHERE business_id = $1 AND id = $2")
            .bind(business.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map(INTENT, e))?;
        row.as_ref().map(intent_row).transpose()?.ok_or(StorageError::not_found("intent"))
    }

    async fn list_intents(
        &self,
        business: BusinessId,
        query: &AssistantQuery<IntentId>,
    ) -> Result<Page<Intent>, StorageError> {
        let mut l = Listing::new("intents", business)?;
        if let Some(after) = query.after {
            l.filter("id > ?", after.as_uuid())?;
        }
        l.page(self, INTENT, clamp_limit(query.limit), intent_row, |i| i.id.to_string()).await
    }

    async fn update_intent(&self, i: &Intent) -> Result<(), StorageError> {
        let q = sqlx::query(
            "UPDATE intents SET name = $3, examples = $4, action = $5, reply = $6, updated_at = $7
             WHERE business_id = $1 AND id = $2",
        )
        .bind(i.business_id.as_uuid())
        .bind(i.id.as_uuid())
        .bind(&i.name)
        .bind(sqlx::types::Json(to_json(&i.examples)?))
        .bind(enum_to_text(&i.action)?)
        .bind(&i.reply)
        .bind(i.updated_at);
        self.change(INTENT, i.business_id, q).await
    }

    async fn delete_intent(&self, business: BusinessId, id: IntentId) -> Result<(), StorageError> {
        let q = sqlx::query("DELETE FROM intents WHERE business_id = $1 AND id = $2")
            .bind(business.as_uuid())
            .bind(id.as_uuid());
        self.change(INTENT, business, q).await
    }

    async fn training_data(&self, business: BusinessId) -> Result<TrainingData, StorageError> {
        // One repeatable-read transaction: the version and the rows agree.
        let mut tx = self.pool.begin().await.map_err(|e| map(MODEL, e))?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(|e| map(MODEL, e))?;
        let version: Option<i64> =
            sqlx::query_scalar("SELECT data_version FROM assistant_models WHERE business_id = $1")
                .bind(business.as_uuid())
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| map(MODEL, e))?;
        let faqs = sqlx::query("SELECT * FROM faqs WHERE business_id = $1 AND active ORDER BY id")
            .bind(business.as_uuid())
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| map(FAQ, e))?;
        let intents = sqlx::query("SELECT * FROM intents WHERE business_id = $1 ORDER BY id")
            .bind(business.as_uuid())
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| map(INTENT, e))?;
        tx.commit().await.map_err(|e| map(MODEL, e))?;
        Ok(TrainingData {
            data_version: version.unwrap_or(0).try_into().unwrap_or(0),
            faqs: faqs.iter().map(faq_row).collect::<Result<_, _>>()?,
            intents: intents.iter().map(intent_row).collect::<Result<_, _>>()?,
        })
    }

    async fn training_status(&self, business: BusinessId) -> Result<TrainingStatus, StorageError> {
        let row: Option<(i64, i64, Option<i64>, Option<sqlx::types::Json<ModelInfo>>)> =
            sqlx::query_as(
                "SELECT (SELECT count(*) FROM faqs WHERE business_id = b.id),
                        (SELECT count(*) FROM intents WHERE business_id = b.id),
                        m.data_version, m.info
                 FROM businesses b LEFT JOIN assistant_models m ON m.business_id = b.id
                 WHERE b.id = $1",
            )
            .bind(business.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map(MODEL, e))?;
        let (faqs, intents, version, info) = row.ok_or(StorageError::not_found("business"))?;
        Ok(TrainingStatus {
            data_version: version.unwrap_or(0).try_into().unwrap_or(0),
            faqs: u32::try_from(faqs).unwrap_or(u32::MAX),
            intents: u32::try_from(intents).unwrap_or(u32::MAX),
            model: info_of(info),
        })
    }

    async fn stale_models(&self, limit: u32) -> Result<Vec<BusinessId>, StorageError> {
        let ids: Vec<uuid::Uuid> = sqlx::query_scalar(
            "SELECT business_id FROM assistant_models WHERE data_version > trained_version
             ORDER BY business_id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map(MODEL, e))?;
        Ok(ids.into_iter().map(BusinessId::from_uuid).collect())
    }

    async fn save_model(
        &self,
        business: BusinessId,
        info: &ModelInfo,
        bytes: &[u8],
    ) -> Result<bool, StorageError> {
        let version = i64::try_from(info.data_version).unwrap_or(i64::MAX);
        let done = sqlx::query(
            "INSERT INTO assistant_models (business_id, data_version, trained_version, info, model)
             VALUES ($1, $2, $2, $3, $4)
             ON CONFLICT (business_id) DO UPDATE SET trained_version = $2, info = $3, model = $4
             WHERE assistant_models.trained_version < $2",
        )
        .bind(business.as_uuid())
        .bind(version)
        .bind(sqlx::types::Json(info))
        .bind(bytes)
        .execute(&self.pool)
        .await
        .map_err(|e| map(MODEL, e))?;
        Ok(done.rows_affected() == 1)
    }

    async fn load_model(
        &self,
        business: BusinessId,
    ) -> Result<Option<(ModelInfo, Vec<u8>)>, StorageError> {
        let row: Option<(Option<sqlx::types::Json<ModelInfo>>, Option<Vec<u8>>)> =
            sqlx::query_as("SELECT info, model FROM assistant_models WHERE business_id = $1")
                .bind(business.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| map(MODEL, e))?;
        Ok(match row {
            Some((info, Some(bytes))) => info_of(info).map(|i| (i, bytes)),
            _ => None,
        })
    }

    async fn commit_turn(&self, turn: &TurnCommit) -> Result<bool, StorageError> {
        let b = turn.business;
        let mut tx = self.pool.begin().await.map_err(|e| map(CONVERSATION, e))?;
        if !write_state(&mut tx, b, turn.conversation, turn.from_rev, &turn.state).await? {
            return Ok(false);
        }
        let done = sqlx::query(
            "UPDATE messages SET decision = $4
             WHERE business_id = $1 AND id = $2 AND conversation_id = $3 AND decision IS NULL",
        )
        .bind(b.as_uuid())
        .bind(turn.message.as_uuid())
        .bind(turn.conversation.as_uuid())
        .bind(sqlx::types::Json(&turn.decision))
        .execute(&mut *tx)
        .await
        .map_err(|e| map(CONVERSATION, e))?;
        if done.rows_affected() == 0 {
            // Decided already (the state write rolls back with the
            // transaction), or not in this conversation.
            let exists: Option<i32> = sqlx::query_scalar(
                "SELECT 1 FROM messages WHERE business_id = $1 AND id = $2 AND conversation_id = $3",
            )
            .bind(b.as_uuid())
            .bind(turn.message.as_uuid())
            .bind(turn.conversation.as_uuid())
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| map(CONVERSATION, e))?;
            return match exists {
                Some(_) => Ok(false),
                None => Err(StorageError::not_found("message")),
            };
        }
        for (m, item) in &turn.replies {
            if m.business_id != b || item.business_id != b {
                return Err(StorageError::not_found("conversation"));
            }
            insert_message_tx(&mut tx, m).await?;
            insert_item(&mut tx, item).await?;
        }
        tx.commit().await.map_err(|e| map(CONVERSATION, e))?;
        Ok(true)
    }

    async fn set_assistant_state(
        &self,
        business: BusinessId,
        conversation: ConversationId,
        from_rev: u32,
        state: &AssistantState,
    ) -> Result<bool, StorageError> {
        let mut c = self.pool.acquire().await.map_err(|e| map(CONVERSATION, e))?;
        write_state(&mut c, business, conversation, from_rev, state).await
    }

    async fn last_person_reply(
        &self,
        business: BusinessId,
        conversation: ConversationId,
    ) -> Result<Option<DateTime<Utc>>, StorageError> {
        sqlx::query_scalar(
            "SELECT max(created_at) FROM messages
             WHERE business_id = $1 AND conversation_id = $2 AND author = 'staff'",
        )
        .bind(business.as_uuid())
        .bind(conversation.as_uuid())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| map(CONVERSATION, e))
    }
}
