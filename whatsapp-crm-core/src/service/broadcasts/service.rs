//! The broadcasts service, and what its parts share.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::domain::{
    Audience, AutoPause, Broadcast, BroadcastId, BroadcastStatus, BusinessId, TemplateId,
};
use crate::policy::SendPolicy;
use crate::ports::{Clock, Page, Storage, to_storage_precision};

use crate::service::{ServiceError, page_params};

/// Broadcast use cases, and the worker that launches and watches them.
#[derive(Clone)]
pub struct Broadcasts {
    pub(super) storage: Arc<dyn Storage>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) policy: SendPolicy,
    recommend: Option<crate::service::Recommendations>,
}

impl Broadcasts {
    /// A service over `storage`; `policy` gives the marketing frequency cap.
    pub fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>, policy: SendPolicy) -> Self {
        Self { storage, clock, policy, recommend: None }
    }

    /// Fills `recommended_product` from `recommend`'s (cached) models.
    pub fn with_recommendations(mut self, recommend: crate::service::Recommendations) -> Self {
        self.recommend = Some(recommend);
        self
    }

    /// The recommendations `recommended_product` is filled from.
    pub(super) fn recommendations(&self) -> crate::service::Recommendations {
        self.recommend.clone().unwrap_or_else(|| {
            crate::service::Recommendations::uncached(
                Arc::clone(&self.storage),
                Arc::clone(&self.clock),
            )
        })
    }

    pub(super) fn now(&self) -> DateTime<Utc> {
        to_storage_precision(self.clock.now())
    }

    /// Reads a broadcast.
    pub async fn get(
        &self,
        business: BusinessId,
        id: BroadcastId,
    ) -> Result<Broadcast, ServiceError> {
        Ok(self.storage.get_broadcast(business, id).await?)
    }

    /// Lists broadcasts, oldest first.
    pub async fn list(
        &self,
        business: BusinessId,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Broadcast>, ServiceError> {
        let (limit, after) = page_params(limit, cursor)?;
        Ok(self.storage.list_broadcasts(business, limit, after).await?)
    }
}

/// A new draft broadcast, nothing launched yet.
pub(super) fn draft(
    business: BusinessId,
    name: String,
    template_id: TemplateId,
    variables: BTreeMap<String, String>,
    audience: Audience,
    auto_pause: AutoPause,
    now: DateTime<Utc>,
) -> Broadcast {
    Broadcast {
        id: BroadcastId::new(),
        business_id: business,
        name,
        template_id,
        variables,
        audience,
        send_at: None,
        status: BroadcastStatus::Draft,
        pause_reason: None,
        auto_pause,
        ab_test: None,
        recipients: 0,
        queued: 0,
        skipped: 0,
        launch_cursor: None,
        launch_complete: false,
        campaign_id: None,
        created_at: now,
        updated_at: now,
        launched_at: None,
        finished_at: None,
    }
}

pub(super) fn start(bc: &mut Broadcast, now: DateTime<Utc>) {
    bc.status = BroadcastStatus::Launching;
    bc.launched_at = Some(now);
    bc.updated_at = now;
}

pub(super) fn invalid_state(bc: &Broadcast, action: &str) -> ServiceError {
    crate::service::not_now(action, "broadcast", bc.status)
}
