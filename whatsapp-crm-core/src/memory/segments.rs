//! Saved segments in memory.

use async_trait::async_trait;

use super::{InMemoryStorage, page_after};
use crate::domain::{BusinessId, Segment, SegmentId};
use crate::ports::{Page, SEGMENT_NAME_TAKEN, SegmentStore, StorageError, clamp_limit};

const ENTITY: &str = "segment";

#[async_trait]
impl SegmentStore for InMemoryStorage {
    async fn insert_segment(&self, segment: &Segment) -> Result<(), StorageError> {
        let mut inner = self.write();
        let tenant = inner.tenant_mut(segment.business_id, "business")?;
        if tenant.segments.values().any(|s| s.name == segment.name) {
            return Err(StorageError::conflict(ENTITY, SEGMENT_NAME_TAKEN));
        }
        if tenant.segments.contains_key(&segment.id) {
            return Err(StorageError::conflict(ENTITY, "id already exists"));
        }
        tenant.segments.insert(segment.id, segment.clone());
        Ok(())
    }

    async fn get_segment(
        &self,
        business: BusinessId,
        id: SegmentId,
    ) -> Result<Segment, StorageError> {
        self.read()
            .tenant(business)
            .and_then(|t| t.segments.get(&id))
            .cloned()
            .ok_or(StorageError::not_found(ENTITY))
    }

    async fn update_segment(&self, segment: &Segment) -> Result<(), StorageError> {
        let mut inner = self.write();
        let tenant = inner.tenant_mut(segment.business_id, ENTITY)?;
        if !tenant.segments.contains_key(&segment.id) {
            return Err(StorageError::not_found(ENTITY));
        }
        if tenant.segments.values().any(|s| s.name == segment.name && s.id != segment.id) {
            return Err(StorageError::conflict(ENTITY, SEGMENT_NAME_TAKEN));
        }
        if let Some(stored) = tenant.segments.get_mut(&segment.id) {
            let created_at = stored.created_at;
            *stored = segment.clone();
            stored.created_at = created_at;
        }
        Ok(())
    }

    async fn delete_segment(
        &self,
        business: BusinessId,
        id: SegmentId,
    ) -> Result<(), StorageError> {
        let mut inner = self.write();
        inner
            .tenant_mut(business, ENTITY)?
            .segments
            .remove(&id)
            .map(|_| ())
            .ok_or(StorageError::not_found(ENTITY))
    }

    async fn list_segments(
        &self,
        business: BusinessId,
        limit: u32,
        after: Option<SegmentId>,
    ) -> Result<Page<Segment>, StorageError> {
        let limit = clamp_limit(limit);
        let inner = self.read();
        let Some(tenant) = inner.tenant(business) else {
            return Ok(Page { items: Vec::new(), next_cursor: None });
        };
        let rows: Vec<Segment> =
            page_after(&tenant.segments, after).take(limit as usize + 1).cloned().collect();
        Ok(Page::from_overfetch(rows, limit, |s| s.id.to_string()))
    }
}
