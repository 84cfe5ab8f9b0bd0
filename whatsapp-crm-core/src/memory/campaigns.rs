//! Campaigns in memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{InMemoryStorage, page_after};
use crate::domain::{Broadcast, BusinessId, Campaign, CampaignId, CampaignStatus};
use crate::ports::{CAMPAIGN_CHANGED, CampaignStore, Page, StorageError, clamp_limit};

const ENTITY: &str = "campaign";

#[async_trait]
impl CampaignStore for InMemoryStorage {
    async fn insert_campaign(&self, campaign: &Campaign) -> Result<(), StorageError> {
        let mut inner = self.write();
        let tenant = inner.tenant_mut(campaign.business_id, "business")?;
        if !tenant.templates.contains_key(&campaign.template_id) {
            return Err(StorageError::not_found("template"));
        }
        if tenant.campaigns.contains_key(&campaign.id) {
            return Err(StorageError::conflict(ENTITY, "id already exists"));
        }
        tenant.campaigns.insert(campaign.id, campaign.clone());
        Ok(())
    }

    async fn get_campaign(
        &self,
        business: BusinessId,
        id: CampaignId,
    ) -> Result<Campaign, StorageError> {
        self.read()
            .tenant(business)
            .and_then(|t| t.campaigns.get(&id))
            .cloned()
            .ok_or(StorageError::not_found(ENTITY))
    }

    async fn list_campaigns(
        &self,
        business: BusinessId,
        limit: u32,
        after: Option<CampaignId>,
    ) -> Result<Page<Campaign>, StorageError> {
        let inner = self.read();
        let limit = clamp_limit(limit);
        let rows = match inner.tenant(business) {
            Some(t) => page_after(&t.campaigns, after).take(limit as usize + 1).cloned().collect(),
            None => Vec::new(),
        };
        Ok(Page::from_overfetch(rows, limit, |c: &Campaign| c.id.to_string()))
    }

    async fn update_campaign(
        &self,
        campaign: &Campaign,
        read_at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let mut inner = self.write();
        let stored = inner
            .tenant_mut(campaign.business_id, ENTITY)?
            .campaigns
            .get_mut(&campaign.id)
            .ok_or(StorageError::not_found(ENTITY))?;
        if stored.updated_at != read_at {
            return Err(StorageError::conflict(ENTITY, CAMPAIGN_CHANGED));
        }
        *stored = campaign.clone();
        Ok(())
    }

    async fn due_campaigns(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<(BusinessId, CampaignId)>, StorageError> {
        let inner = self.read();
        let mut out: Vec<_> = inner
            .tenants
            .values()
            .flat_map(|t| t.campaigns.values())
            .filter(|c| {
                c.status == CampaignStatus::Active && c.next_run_at.is_some_and(|t| t <= now)
            })
            .map(|c| (c.business_id, c.id))
            .collect();
        out.sort_by_key(|(_, id)| *id);
        Ok(out)
    }

    async fn campaign_runs(
        &self,
        business: BusinessId,
        id: CampaignId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Broadcast>, StorageError> {
        let inner = self.read();
        let tenant = inner.tenant(business).ok_or(StorageError::not_found(ENTITY))?;
        tenant.campaigns.get(&id).ok_or(StorageError::not_found(ENTITY))?;
        let mut runs: Vec<Broadcast> = tenant
            .broadcasts
            .values()
            .filter(|b| b.campaign_id == Some(id))
            .filter(|b| b.launched_at.is_some_and(|t| t >= from && t < to))
            .cloned()
            .collect();
        runs.sort_by_key(|b| (b.launched_at, b.id));
        Ok(runs)
    }
}
