//! Businesses and API keys.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use uuid::Uuid;
use whatsapp_crm_core::policy::KeywordConfig;
use whatsapp_crm_core::ports::{ApiKeyStore, BusinessStore};
use whatsapp_crm_core::{
    AgentId, ApiKey, ApiKeyHash, ApiKeyId, AssistantSettings, Business, BusinessId,
    CommerceSettings, PhoneNumber, StorageError,
};

use crate::codec::{get, get_parsed};
use crate::error::{Ctx, corrupt, map};
use crate::storage::PostgresStorage;

const BUSINESS: Ctx = Ctx::new("business", "business");
const API_KEY: Ctx = Ctx::new("api key", "business");

fn business_row(row: &PgRow) -> Result<Business, StorageError> {
    Ok(Business {
        id: BusinessId::from_uuid(get(row, "id")?),
        name: get(row, "name")?,
        whatsapp_sender: get_parsed(row, "whatsapp_sender")?,
        time_zone: get_parsed(row, "time_zone")?,
        currency: get_parsed(row, "currency")?,
        keywords: get::<Option<sqlx::types::Json<KeywordConfig>>>(row, "keywords")?
            .map(|k| k.0)
            .unwrap_or_default(),
        commerce: get::<Option<sqlx::types::Json<CommerceSettings>>>(row, "commerce")?
            .map(|k| k.0)
            .unwrap_or_default(),
        assistant: get::<Option<sqlx::types::Json<AssistantSettings>>>(row, "assistant")?
            .map(|k| k.0)
            .unwrap_or_default(),
        created_at: get(row, "created_at")?,
    })
}

fn api_key_row(row: &PgRow) -> Result<ApiKey, StorageError> {
    let hash: Vec<u8> = get(row, "hash")?;
    let hash: [u8; 32] = hash.try_into().map_err(|_| corrupt("hash", "not 32 bytes"))?;
    Ok(ApiKey {
        id: ApiKeyId::from_uuid(get(row, "id")?),
        business_id: BusinessId::from_uuid(get(row, "business_id")?),
        hash: ApiKeyHash(hash),
        label: get(row, "label")?,
        agent_id: get::<Option<Uuid>>(row, "agent_id")?.map(AgentId::from_uuid),
        created_at: get(row, "created_at")?,
        revoked_at: get(row, "revoked_at")?,
    })
}

#[async_trait]
impl BusinessStore for PostgresStorage {
    async fn insert_business(&self, b: &Business) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO businesses (id, name, whatsapp_sender, time_zone, currency, created_at,
               keywords, commerce, assistant)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(b.id.as_uuid())
        .bind(&b.name)
        .bind(b.whatsapp_sender.as_str())
        .bind(b.time_zone.name())
        .bind(b.currency.as_str())
        .bind(b.created_at)
        .bind(sqlx::types::Json(&b.keywords))
        .bind(sqlx::types::Json(&b.commerce))
        .bind(sqlx::types::Json(&b.assistant))
        .execute(&self.pool)
        .await
        .map_err(|e| map(BUSINESS, e))?;
        Ok(())
    }

    async fn get_business(&self, id: BusinessId) -> Result<Business, StorageError> {
        let row = sqlx::query("SELECT * FROM businesses WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map(BUSINESS, e))?;
        row.as_ref().map(business_row).transpose()?.ok_or(StorageError::not_found("business"))
    }

    async fn find_business_by_sender(
        &self,
        sender: &PhoneNumber,
    ) -> Result<Option<Business>, StorageError> {
        let row = sqlx::query("SELECT * FROM businesses WHERE whatsapp_sender = $1")
            .bind(sender.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map(BUSINESS, e))?;
        row.as_ref().map(business_row).transpose()
    }

    async fn update_business(&self, b: &Business) -> Result<(), StorageError> {
        let done = sqlx::query(
            "UPDATE businesses SET name = $2, time_zone = $3, currency = $4, keywords = $5,
               commerce = $6, assistant = $7
             WHERE id = $1",
        )
        .bind(b.id.as_uuid())
        .bind(&b.name)
        .bind(b.time_zone.name())
        .bind(b.currency.as_str())
        .bind(sqlx::types::Json(&b.keywords))
        .bind(sqlx::types::Json(&b.commerce))
        .bind(sqlx::types::Json(&b.assistant))
        .execute(&self.pool)
        .await
        .map_err(|e| map(BUSINESS, e))?;
        if done.rows_affected() == 1 { Ok(()) } else { Err(StorageError::not_found("business")) }
    }
}

#[async_trait]
impl ApiKeyStore for PostgresStorage {
    async fn insert_api_key(&self, k: &ApiKey) -> Result<(), StorageError> {
        // An agent key names an agent of its own business (the foreign key
        // on both columns), or nothing is stored.
        let done = sqlx::query(
            "INSERT INTO api_keys (id, business_id, hash, label, created_at, revoked_at, agent_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(k.id.as_uuid())
        .bind(k.business_id.as_uuid())
        .bind(k.hash.0.as_slice())
        .bind(&k.label)
        .bind(k.created_at)
        .bind(k.revoked_at)
        .bind(k.agent_id.map(|a| a.as_uuid()))
        .execute(&self.pool)
        .await;
        match done {
            Err(sqlx::Error::Database(e)) if e.constraint() == Some("api_keys_agent_fkey") => {
                Err(StorageError::not_found("agent"))
            }
            other => other.map(|_| ()).map_err(|e| map(API_KEY, e)),
        }
    }

    async fn find_api_key(&self, hash: &ApiKeyHash) -> Result<Option<ApiKey>, StorageError> {
        let row = sqlx::query("SELECT * FROM api_keys WHERE hash = $1")
            .bind(hash.0.as_slice())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map(API_KEY, e))?;
        row.as_ref().map(api_key_row).transpose()
    }

    async fn list_api_keys(&self, business: BusinessId) -> Result<Vec<ApiKey>, StorageError> {
        let rows = sqlx::query("SELECT * FROM api_keys WHERE business_id = $1 ORDER BY id")
            .bind(business.as_uuid())
            .fetch_all(&self.pool)
            .await
            .map_err(|e| map(API_KEY, e))?;
        rows.iter().map(api_key_row).collect()
    }

    async fn revoke_api_key(
        &self,
        business: BusinessId,
        id: ApiKeyId,
        at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let found: Option<Uuid> = sqlx::query_scalar(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, $3)
             WHERE business_id = $1 AND id = $2 RETURNING id",
        )
        .bind(business.as_uuid())
        .bind(id.as_uuid())
        .bind(at)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| map(API_KEY, e))?;
        found.map(|_| ()).ok_or(StorageError::not_found("api key"))
    }
}
