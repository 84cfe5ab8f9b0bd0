//! Templates in memory.

use async_trait::async_trait;

use super::{InMemoryStorage, page_after};
use crate::domain::{BusinessId, MessageTemplate, TemplateId, TemplateVersion};
use crate::ports::{
    Page, StorageError, TEMPLATE_CHANGED, TEMPLATE_NAME_TAKEN, TemplateQuery, TemplateStore,
    clamp_limit,
};

const ENTITY: &str = "template";

#[async_trait]
impl TemplateStore for InMemoryStorage {
    async fn insert_template(&self, t: &MessageTemplate) -> Result<(), StorageError> {
        let mut inner = self.write();
        let tenant = inner.tenant_mut(t.business_id, "business")?;
        if tenant.templates.values().any(|x| x.name == t.name && x.language == t.language) {
            return Err(StorageError::conflict(ENTITY, TEMPLATE_NAME_TAKEN));
        }
        if tenant.templates.contains_key(&t.id) {
            return Err(StorageError::conflict(ENTITY, "id already exists"));
        }
        tenant.templates.insert(t.id, t.clone());
        tenant.template_versions.insert((t.id, t.version), t.latest_version());
        Ok(())
    }

    async fn get_template(
        &self,
        business: BusinessId,
        id: TemplateId,
    ) -> Result<MessageTemplate, StorageError> {
        self.read()
            .tenant(business)
            .and_then(|t| t.templates.get(&id))
            .cloned()
            .ok_or(StorageError::not_found(ENTITY))
    }

    async fn find_template(
        &self,
        business: BusinessId,
        name: &str,
        language: &str,
    ) -> Result<Option<MessageTemplate>, StorageError> {
        let inner = self.read();
        let Some(tenant) = inner.tenant(business) else { return Ok(None) };
        Ok(tenant.templates.values().find(|t| t.name == name && t.language == language).cloned())
    }

    async fn list_templates(
        &self,
        business: BusinessId,
        query: &TemplateQuery,
    ) -> Result<Page<MessageTemplate>, StorageError> {
        let limit = clamp_limit(query.limit);
        let inner = self.read();
        let Some(tenant) = inner.tenant(business) else {
            return Ok(Page { items: Vec::new(), next_cursor: None });
        };
        let rows: Vec<MessageTemplate> = page_after(&tenant.templates, query.after)
            .filter(|t| query.status.is_none_or(|s| t.status == s))
            .filter(|t| query.category.is_none_or(|c| t.category == c))
            .filter(|t| query.include_archived || t.archived_at.is_none())
            .take(limit as usize + 1)
            .cloned()
            .collect();
        Ok(Page::from_overfetch(rows, limit, |t| t.id.to_string()))
    }

    async fn save_template(
        &self,
        t: &MessageTemplate,
        expected_version: u32,
    ) -> Result<(), StorageError> {
        let mut inner = self.write();
        let tenant = inner.tenant_mut(t.business_id, ENTITY)?;
        let stored = tenant.templates.get_mut(&t.id).ok_or(StorageError::not_found(ENTITY))?;
        if stored.version != expected_version {
            return Err(StorageError::conflict(ENTITY, TEMPLATE_CHANGED));
        }
        let mut next = t.clone();
        next.name.clone_from(&stored.name);
        next.language.clone_from(&stored.language);
        *stored = next;
        let version = stored.latest_version();
        match tenant.template_versions.get_mut(&(t.id, t.version)) {
            // A status change of the same version keeps when the version was made.
            Some(existing) => {
                existing.status = version.status;
                existing.provider_id = version.provider_id;
                existing.rejection_reason = version.rejection_reason;
                existing.content = version.content;
            }
            None => {
                tenant.template_versions.insert((t.id, t.version), version);
            }
        }
        Ok(())
    }

    async fn list_template_versions(
        &self,
        business: BusinessId,
        id: TemplateId,
    ) -> Result<Vec<TemplateVersion>, StorageError> {
        let inner = self.read();
        let tenant = inner.tenant(business).ok_or(StorageError::not_found(ENTITY))?;
        if !tenant.templates.contains_key(&id) {
            return Err(StorageError::not_found(ENTITY));
        }
        Ok(tenant
            .template_versions
            .range((id, 0)..=(id, u32::MAX))
            .map(|(_, v)| v.clone())
            .collect())
    }
}
