//! Businesses and API keys.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};
use whatsapp_crm_core::ports::{ApiKeyStore, BusinessStore};
use whatsapp_crm_core::{
    AgentId, ApiKey, ApiKeyHash, ApiKeyId, Business, BusinessId, StorageError,
};

use rusqlite::types::Value;
use whatsapp_crm_core::PhoneNumber;

use crate::codec::{
    get, get_opt_time, get_opt_uuid, get_parsed, get_time, get_uuid, id_bytes, micros, to_json,
};
use crate::error::{Ctx, corrupt, map};
use crate::listing::{blob, query_all, query_one};
use crate::storage::SqliteStorage;

const BUSINESS: Ctx = Ctx::new("business", "business");
const API_KEY: Ctx = Ctx::new("api key", "business");

fn business_row(row: &Row<'_>) -> Result<Business, StorageError> {
    Ok(Business {
        id: BusinessId::from_uuid(get_uuid(row, "id")?),
        name: get(row, "name")?,
        whatsapp_sender: get_parsed(row, "whatsapp_sender")?,
        time_zone: get_parsed(row, "time_zone")?,
        currency: get_parsed(row, "currency")?,
        keywords: get::<Option<String>>(row, "keywords")?
            .map(|k| serde_json::from_str(&k).map_err(|e| corrupt("keywords", e)))
            .transpose()?
            .unwrap_or_default(),
        commerce: get::<Option<String>>(row, "commerce")?
            .map(|k| serde_json::from_str(&k).map_err(|e| corrupt("commerce", e)))
            .transpose()?
            .unwrap_or_default(),
        assistant: get::<Option<String>>(row, "assistant")?
            .map(|k| serde_json::from_str(&k).map_err(|e| corrupt("assistant", e)))
            .transpose()?
            .unwrap_or_default(),
        created_at: get_time(row, "created_at")?,
    })
}

fn api_key_row(row: &Row<'_>) -> Result<ApiKey, StorageError> {
    let hash: Vec<u8> = get(row, "hash")?;
    let hash: [u8; 32] = hash.try_into().map_err(|_| corrupt("hash", "not 32 bytes"))?;
    Ok(ApiKey {
        id: ApiKeyId::from_uuid(get_uuid(row, "id")?),
        business_id: BusinessId::from_uuid(get_uuid(row, "business_id")?),
        hash: ApiKeyHash(hash),
        label: get(row, "label")?,
        agent_id: get_opt_uuid(row, "agent_id")?.map(AgentId::from_uuid),
        created_at: get_time(row, "created_at")?,
        revoked_at: get_opt_time(row, "revoked_at")?,
    })
}

#[async_trait]
impl BusinessStore for SqliteStorage {
    async fn insert_business(&self, b: &Business) -> Result<(), StorageError> {
        let b = b.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO businesses (id, name, whatsapp_sender, time_zone, currency, created_at,
                   keywords, commerce, assistant)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    id_bytes(b.id.as_uuid()),
                    b.name,
                    b.whatsapp_sender.as_str(),
                    b.time_zone.name(),
                    b.currency.as_str(),
                    micros(b.created_at),
                    to_json(&b.keywords)?,
                    to_json(&b.commerce)?,
                    to_json(&b.assistant)?
                ],
            )
            .map_err(|e| map(BUSINESS, e))?;
            Ok(())
        })
        .await
    }

    async fn get_business(&self, id: BusinessId) -> Result<Business, StorageError> {
        self.read(move |c| {
            query_one(
                c,
                BUSINESS,
                "SELECT * FROM businesses WHERE id = ?1",
                vec![blob(id.as_uuid())],
                business_row,
            )
        })
        .await
    }

    async fn find_business_by_sender(
        &self,
        sender: &PhoneNumber,
    ) -> Result<Option<Business>, StorageError> {
        let sender = sender.to_string();
        self.read(move |c| {
            Ok(query_all(
                c,
                BUSINESS,
                "SELECT * FROM businesses WHERE whatsapp_sender = ?1",
                vec![Value::Text(sender)],
                business_row,
            )?
            .pop())
        })
        .await
    }

    async fn update_business(&self, b: &Business) -> Result<(), StorageError> {
        let b = b.clone();
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE businesses SET name = ?2, time_zone = ?3, currency = ?4, keywords = ?5,
                       commerce = ?6, assistant = ?7
                     WHERE id = ?1",
                    params![
                        id_bytes(b.id.as_uuid()),
                        b.name,
                        b.time_zone.name(),
                        b.currency.as_str(),
                        to_json(&b.keywords)?,
                        to_json(&b.commerce)?,
                        to_json(&b.assistant)?
                    ],
                )
                .map_err(|e| map(BUSINESS, e))?;
            if n == 1 { Ok(()) } else { Err(StorageError::not_found("business")) }
        })
        .await
    }
}

#[async_trait]
impl ApiKeyStore for SqliteStorage {
    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StorageError> {
        let k = key.clone();
        self.write(move |tx| {
            // An agent key names an agent of its own business, or nothing
            // is stored.
            let n = tx
                .execute(
                    "INSERT INTO api_keys (id, business_id, hash, label, created_at, revoked_at,
                       agent_id)
                     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7
                     WHERE ?7 IS NULL
                        OR EXISTS (SELECT 1 FROM agents WHERE business_id = ?2 AND id = ?7)",
                    params![
                        id_bytes(k.id.as_uuid()),
                        id_bytes(k.business_id.as_uuid()),
                        k.hash.0,
                        k.label,
                        micros(k.created_at),
                        k.revoked_at.map(micros),
                        k.agent_id.map(|a| id_bytes(a.as_uuid()))
                    ],
                )
                .map_err(|e| map(API_KEY, e))?;
            if n == 0 {
                return Err(StorageError::not_found("agent"));
            }
            Ok(())
        })
        .await
    }

    async fn find_api_key(&self, hash: &ApiKeyHash) -> Result<Option<ApiKey>, StorageError> {
        let hash = hash.0;
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached("SELECT * FROM api_keys WHERE hash = ?1")
                .map_err(|e| map(API_KEY, e))?;
            let mut rows = stmt.query([hash]).map_err(|e| map(API_KEY, e))?;
            rows.next().map_err(|e| map(API_KEY, e))?.map(api_key_row).transpose()
        })
        .await
    }

    async fn list_api_keys(&self, business: BusinessId) -> Result<Vec<ApiKey>, StorageError> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached("SELECT * FROM api_keys WHERE business_id = ?1 ORDER BY id")
                .map_err(|e| map(API_KEY, e))?;
            let mut rows =
                stmt.query([id_bytes(business.as_uuid())]).map_err(|e| map(API_KEY, e))?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(|e| map(API_KEY, e))? {
                out.push(api_key_row(row)?);
            }
            Ok(out)
        })
        .await
    }

    async fn revoke_api_key(
        &self,
        business: BusinessId,
        id: ApiKeyId,
        at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        self.write(move |tx| {
            let found = tx
                .query_row(
                    "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?3)
                     WHERE business_id = ?1 AND id = ?2 RETURNING id",
                    params![id_bytes(business.as_uuid()), id_bytes(id.as_uuid()), micros(at)],
                    |_| Ok(()),
                )
                .optional()
                .map_err(|e| map(API_KEY, e))?;
            found.ok_or(StorageError::not_found("api key"))
        })
        .await
    }
}
