//! Saved segments.

use async_trait::async_trait;
use rusqlite::{Row, params};
use whatsapp_crm_core::ports::{Page, SegmentStore, clamp_limit};
use whatsapp_crm_core::{BusinessId, Segment, SegmentId, StorageError};

use crate::codec::{get, get_json, get_time, get_uuid, id_bytes, micros, to_json};
use crate::error::{Ctx, map};
use crate::listing::{Listing, blob, query_one};
use crate::storage::SqliteStorage;

const SEGMENT: Ctx = Ctx::new("segment", "business");

fn segment_row(row: &Row<'_>) -> Result<Segment, StorageError> {
    Ok(Segment {
        id: SegmentId::from_uuid(get_uuid(row, "id")?),
        business_id: BusinessId::from_uuid(get_uuid(row, "business_id")?),
        name: get(row, "name")?,
        description: get(row, "description")?,
        rule: get_json(row, "rule")?,
        rule_text: get(row, "rule_text")?,
        created_at: get_time(row, "created_at")?,
        updated_at: get_time(row, "updated_at")?,
    })
}

#[async_trait]
impl SegmentStore for SqliteStorage {
    async fn insert_segment(&self, segment: &Segment) -> Result<(), StorageError> {
        let s = segment.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO segments (business_id, id, name, description, rule, rule_text, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    id_bytes(s.business_id.as_uuid()),
                    id_bytes(s.id.as_uuid()),
                    s.name,
                    s.description,
                    to_json(&s.rule)?,
                    s.rule_text,
                    micros(s.created_at),
                    micros(s.updated_at)
                ],
            )
            .map_err(|e| map(SEGMENT, e))?;
            Ok(())
        })
        .await
    }

    async fn get_segment(
        &self,
        business: BusinessId,
        id: SegmentId,
    ) -> Result<Segment, StorageError> {
        self.read(move |c| {
            query_one(
                c,
                SEGMENT,
                "SELECT * FROM segments WHERE business_id = ?1 AND id = ?2",
                vec![blob(business.as_uuid()), blob(id.as_uuid())],
                segment_row,
            )
        })
        .await
    }

    async fn update_segment(&self, segment: &Segment) -> Result<(), StorageError> {
        let s = segment.clone();
        self.write(move |tx| {
            let changed = tx
                .execute(
                    "UPDATE segments SET name = ?3, description = ?4, rule = ?5, rule_text = ?6, updated_at = ?7
                     WHERE business_id = ?1 AND id = ?2",
                    params![
                        id_bytes(s.business_id.as_uuid()),
                        id_bytes(s.id.as_uuid()),
                        s.name,
                        s.description,
                        to_json(&s.rule)?,
                        s.rule_text,
                        micros(s.updated_at)
                    ],
                )
                .map_err(|e| map(SEGMENT, e))?;
            if changed == 0 { Err(StorageError::not_found("segment")) } else { Ok(()) }
        })
        .await
    }

    async fn delete_segment(
        &self,
        business: BusinessId,
        id: SegmentId,
    ) -> Result<(), StorageError> {
        self.write(move |tx| {
            let gone = tx
                .execute(
                    "DELETE FROM segments WHERE business_id = ?1 AND id = ?2",
                    params![id_bytes(business.as_uuid()), id_bytes(id.as_uuid())],
                )
                .map_err(|e| map(SEGMENT, e))?;
            if gone == 0 { Err(StorageError::not_found("segment")) } else { Ok(()) }
        })
        .await
    }

    async fn list_segments(
        &self,
        business: BusinessId,
        limit: u32,
        after: Option<SegmentId>,
    ) -> Result<Page<Segment>, StorageError> {
        let mut l = Listing::new("SELECT * FROM segments", "", business);
        l.after(after.map(|a| a.as_uuid()));
        l.page(self, SEGMENT, clamp_limit(limit), segment_row, |s| s.id.to_string()).await
    }
}
