//! Saved segments.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use whatsapp_crm_core::ports::{Page, SegmentStore, clamp_limit};
use whatsapp_crm_core::{BusinessId, Segment, SegmentId, StorageError};

use crate::codec::{get, get_json, to_json};
use crate::error::{Ctx, map};
use crate::listing::Listing;
use crate::storage::PostgresStorage;

const SEGMENT: Ctx = Ctx::new("segment", "business");

fn segment_row(row: &PgRow) -> Result<Segment, StorageError> {
    Ok(Segment {
        id: SegmentId::from_uuid(get(row, "id")?),
        business_id: BusinessId::from_uuid(get(row, "business_id")?),
        name: get(row, "name")?,
        description: get(row, "description")?,
        rule: get_json(row, "rule")?,
        rule_text: get(row, "rule_text")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

#[async_trait]
impl SegmentStore for PostgresStorage {
    async fn insert_segment(&self, s: &Segment) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO segments (business_id, id, name, description, rule, rule_text, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(s.business_id.as_uuid())
        .bind(s.id.as_uuid())
        .bind(&s.name)
        .bind(s.description.clone())
        .bind(sqlx::types::Json(to_json(&s.rule)?))
        .bind(&s.rule_text)
        .bind(s.created_at)
        .bind(s.updated_at)
        .execute(&self.pool)
        .await
        .map_err(|e| map(SEGMENT, e))?;
        Ok(())
    }

    async fn get_segment(
        &self,
        business: BusinessId,
        id: SegmentId,
    ) -> Result<Segment, StorageError> {
        let row = sqlx::query("SELECT * FROM segments WHERE business_id = $1 AND id = $2")
            .bind(business.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map(SEGMENT, e))?;
        row.as_ref().map(segment_row).transpose()?.ok_or(StorageError::not_found("segment"))
    }

    async fn update_segment(&self, s: &Segment) -> Result<(), StorageError> {
        let done = sqlx::query(
            "UPDATE segments SET name = $3, description = $4, rule = $5, rule_text = $6, updated_at = $7
             WHERE business_id = $1 AND id = $2",
        )
        .bind(s.business_id.as_uuid())
        .bind(s.id.as_uuid())
        .bind(&s.name)
        .bind(s.description.clone())
        .bind(sqlx::types::Json(to_json(&s.rule)?))
        .bind(&s.rule_text)
        .bind(s.updated_at)
        .execute(&self.pool)
        .await
        .map_err(|e| map(SEGMENT, e))?;
        if done.rows_affected() == 0 { Err(StorageError::not_found("segment")) } else { Ok(()) }
    }

    async fn delete_segment(
        &self,
        business: BusinessId,
        id: SegmentId,
    ) -> Result<(), StorageError> {
        let done = sqlx::query("DELETE FROM segments WHERE business_id = $1 AND id = $2")
            .bind(business.as_uuid())
            .bind(id.as_uuid())
            .execute(&self.pool)
            .await
            .map_err(|e| map(SEGMENT, e))?;
        if done.rows_affected() == 0 { Err(StorageError::not_found("segment")) } else { Ok(()) }
    }

    async fn list_segments(
        &self,
        business: BusinessId,
        limit: u32,
        after: Option<SegmentId>,
    ) -> Result<Page<Segment>, StorageError> {
        let mut l = Listing::new("segments", business)?;
        if let Some(after) = after {
            l.filter("id > ?", after.as_uuid())?;
        }
        l.page(self, SEGMENT, clamp_limit(limit), segment_row, |s| s.id.to_string()).await
    }
}
