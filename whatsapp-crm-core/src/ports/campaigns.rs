//! The campaign store.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Page, StorageError};
use crate::domain::{Broadcast, BusinessId, Campaign, CampaignId};

/// The parts of a campaign a backend may keep as one JSON document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CampaignSpec {
    /// [`Campaign::variables`].
    pub variables: std::collections::BTreeMap<String, String>,
    /// [`Campaign::audience`].
    pub audience: crate::domain::Audience,
    /// [`Campaign::auto_pause`].
    pub auto_pause: crate::domain::AutoPause,
    /// [`Campaign::schedule`].
    pub schedule: crate::domain::Schedule,
}

impl CampaignSpec {
    /// The spec of `c`.
    pub fn of(c: &Campaign) -> Self {
        Self {
            variables: c.variables.clone(),
            audience: c.audience.clone(),
            auto_pause: c.auto_pause,
            schedule: c.schedule.clone(),
        }
    }
}

/// The constraint text used when a campaign changed since it was read.
pub const CAMPAIGN_CHANGED: &str = "campaign changed meanwhile; reload and retry";

/// Campaigns and their runs.
#[async_trait]
pub trait CampaignStore: Send + Sync {
    /// Stores a new campaign. `NotFound` if its template is not the business's.
    async fn insert_campaign(&self, campaign: &Campaign) -> Result<(), StorageError>;
    /// Reads a campaign.
    async fn get_campaign(
        &self,
        business: BusinessId,
        id: CampaignId,
    ) -> Result<Campaign, StorageError>;
    /// Lists campaigns in id order.
    async fn list_campaigns(
        &self,
        business: BusinessId,
        limit: u32,
        after: Option<CampaignId>,
    ) -> Result<Page<Campaign>, StorageError>;
    /// Replaces a campaign that is unchanged since `read_at` (its stored
    /// `updated_at`); `Conflict` ([`CAMPAIGN_CHANGED`]) otherwise, so a run is
    /// started once even with several workers.
    async fn update_campaign(
        &self,
        campaign: &Campaign,
        read_at: DateTime<Utc>,
    ) -> Result<(), StorageError>;
    /// Active campaigns whose next run is due at `now`, across businesses.
    async fn due_campaigns(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<(BusinessId, CampaignId)>, StorageError>;
    /// The campaign's runs launched in `[from, to)`, oldest first.
    async fn campaign_runs(
        &self,
        business: BusinessId,
        id: CampaignId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Broadcast>, StorageError>;
}
