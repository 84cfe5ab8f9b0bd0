//! Campaigns: a broadcast on a schedule. Each occurrence starts a broadcast
//! run; runs can be listed by date and compared.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{
    Audience, AutoPause, Broadcast, BroadcastId, BroadcastStatus, BusinessId, Campaign, CampaignId,
    CampaignStatus, Schedule, TemplateId, ValidationError,
};
use crate::ports::{Clock, Page, Storage, StorageError, to_storage_precision};

use super::{Broadcasts, ServiceError, page_params, text_field};

/// Longest campaign name.
pub const CAMPAIGN_NAME_MAX_CHARS: usize = 100;
/// Most upcoming runs a calendar lists.
pub const CALENDAR_UPCOMING_MAX: usize = 100;
/// Most runs a comparison reads.
pub const COMPARE_RUNS_MAX: usize = 50;

/// What a caller supplies to create a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewCampaign {
    /// Name shown to the team.
    pub name: String,
    /// An approved template.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub template_id: TemplateId,
    /// Where variables take their values, as a broadcast's.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// Who each run goes to.
    pub audience: Audience,
    /// When it pauses a run; the defaults when absent.
    #[serde(default)]
    pub auto_pause: Option<AutoPause>,
    /// When it runs.
    pub schedule: Schedule,
}

/// A campaign's runs in a date range, and the ones still to come in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignCalendar {
    /// Runs started in the range, oldest first.
    pub runs: Vec<Broadcast>,
    /// Runs the schedule will start in the range, while the campaign is active.
    pub upcoming: Vec<DateTime<Utc>>,
}

/// One run beside the others.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunSummary {
    /// The run.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub broadcast_id: BroadcastId,
    /// When it started.
    pub launched_at: Option<DateTime<Utc>>,
    /// Where it is.
    pub status: BroadcastStatus,
    /// Messages queued.
    pub queued: u32,
    /// Customers skipped.
    pub skipped: u32,
    /// Sent, delivered, read and failed messages.
    pub sent: u32,
    /// Delivered.
    pub delivered: u32,
    /// Read.
    pub read: u32,
    /// Failed.
    pub failed: u32,
    /// Replies within 72 hours.
    pub replies: u32,
    /// Button taps within 72 hours.
    pub clicks: u32,
    /// Delivered over sent.
    pub delivery_rate: f64,
    /// Read over delivered.
    pub read_rate: f64,
    /// Replies over delivered.
    pub reply_rate: f64,
    /// Clicks over delivered.
    pub click_rate: f64,
}

/// What one `run_due` round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CampaignReport {
    /// Runs started.
    pub started: u32,
    /// Campaigns paused because a run could not start (template no longer
    /// approved, segment deleted).
    pub paused: u32,
}

/// Campaign use cases, and the worker that starts their runs.
#[derive(Clone)]
pub struct Campaigns {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
    broadcasts: Broadcasts,
}

impl Campaigns {
    /// A service over `storage`, starting runs through `broadcasts`.
    pub fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>, broadcasts: Broadcasts) -> Self {
        Self { storage, clock, broadcasts }
    }

    fn now(&self) -> DateTime<Utc> {
        to_storage_precision(self.clock.now())
    }

    /// Validates and stores an active campaign.
    pub async fn create(
        &self,
        business: BusinessId,
        input: NewCampaign,
    ) -> Result<Campaign, ServiceError> {
        let b = self.storage.get_business(business).await?;
        let now = self.now();
        let mut v = ValidationError::default();
        let name = text_field(&mut v, "name", &input.name, CAMPAIGN_NAME_MAX_CHARS);
        if let Err(e) = input.schedule.validate(now, b.time_zone) {
            v.push("schedule", e);
        }
        self.broadcasts
            .check(&b, &mut v, input.template_id, &input.variables, &input.audience)
            .await?;
        let Some(name) = name else { return Err(v.into()) };
        let campaign = Campaign {
            id: CampaignId::new(),
            business_id: business,
            name,
            template_id: input.template_id,
            variables: input.variables,
            audience: input.audience,
            auto_pause: input.auto_pause.unwrap_or_default(),
            next_run_at: input
                .schedule
                .next_after(now - Duration::seconds(1), b.time_zone)
                .map(to_storage_precision),
            schedule: input.schedule,
            status: CampaignStatus::Active,
            runs: 0,
            created_at: now,
            updated_at: now,
        };
        self.storage.insert_campaign(&campaign).await?;
        Ok(campaign)
    }

    /// Reads a campaign.
    pub async fn get(
        &self,
        business: BusinessId,
        id: CampaignId,
    ) -> Result<Campaign, ServiceError> {
        Ok(self.storage.get_campaign(business, id).await?)
    }

    /// Lists campaigns, oldest first.
    pub async fn list(
        &self,
        business: BusinessId,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Campaign>, ServiceError> {
        let (limit, after) = page_params(limit, cursor)?;
        Ok(self.storage.list_campaigns(business, limit, after).await?)
    }

    async fn change(
        &self,
        business: BusinessId,
        id: CampaignId,
        allowed: &[CampaignStatus],
        to: CampaignStatus,
        action: &str,
    ) -> Result<Campaign, ServiceError> {
        let mut c = self.storage.get_campaign(business, id).await?;
        if !allowed.contains(&c.status) {
            return Err(super::not_now(action, "campaign", c.status));
        }
        let read_at = c.updated_at;
        let now = self.now();
        c.status = to;
        c.next_run_at = match to {
            CampaignStatus::Active => {
                let tz = self.storage.get_business(business).await?.time_zone;
                c.schedule.next_after(now, tz).map(to_storage_precision)
            }
            _ => None,
        };
        if to == CampaignStatus::Active && c.next_run_at.is_none() {
            c.status = CampaignStatus::Ended;
        }
        c.updated_at = now.max(read_at + Duration::microseconds(1));
        self.storage.update_campaign(&c, read_at).await?;
        Ok(c)
    }

    /// Skips runs until resumed.
    pub async fn pause(
        &self,
        business: BusinessId,
        id: CampaignId,
    ) -> Result<Campaign, ServiceError> {
        self.change(business, id, &[CampaignStatus::Active], CampaignStatus::Paused, "pause").await
    }

    /// Runs again from the next occurrence after now (missed ones are not
    /// caught up).
    pub async fn resume(
        &self,
        business: BusinessId,
        id: CampaignId,
    ) -> Result<Campaign, ServiceError> {
        self.change(business, id, &[CampaignStatus::Paused], CampaignStatus::Active, "resume").await
    }

    /// Runs no more; runs already started go on.
    pub async fn end(
        &self,
        business: BusinessId,
        id: CampaignId,
    ) -> Result<Campaign, ServiceError> {
        let open = [CampaignStatus::Active, CampaignStatus::Paused];
        self.change(business, id, &open, CampaignStatus::Ended, "end").await
    }

    /// Runs started in `[from, to)` and the ones the schedule will start in it.
    pub async fn calendar(
        &self,
        business: BusinessId,
        id: CampaignId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<CampaignCalendar, ServiceError> {
        if to <= from {
            return Err(ValidationError::field("to", "must be after from").into());
        }
        let c = self.storage.get_campaign(business, id).await?;
        let runs = self.storage.campaign_runs(business, id, from, to).await?;
        let mut upcoming = Vec::new();
        if c.status == CampaignStatus::Active {
            let tz = self.storage.get_business(business).await?.time_zone;
            let mut next = c.next_run_at.filter(|t| *t >= from);
            if next.is_none() {
                next = c.schedule.next_after(from.max(self.now()) - Duration::microseconds(1), tz);
            }
            while let Some(t) = next.filter(|t| *t < to) {
                if upcoming.len() == CALENDAR_UPCOMING_MAX {
                    break;
                }
                upcoming.push(t);
                next = c.schedule.next_after(t, tz);
            }
        }
        Ok(CampaignCalendar { runs, upcoming })
    }

    /// The latest runs side by side, oldest first.
    pub async fn compare(
        &self,
        business: BusinessId,
        id: CampaignId,
    ) -> Result<Vec<RunSummary>, ServiceError> {
        let c = self.storage.get_campaign(business, id).await?;
        let until = self.now() + Duration::days(1);
        let runs = self.storage.campaign_runs(business, id, c.created_at, until).await?;
        let skip = runs.len().saturating_sub(COMPARE_RUNS_MAX);
        let mut out = Vec::new();
        for run in runs.into_iter().skip(skip) {
            let m = self.broadcasts.metrics(business, run.id).await?;
            out.push(RunSummary {
                broadcast_id: run.id,
                launched_at: run.launched_at,
                status: run.status,
                queued: m.queued,
                skipped: run.skipped,
                sent: m.sent,
                delivered: m.delivered,
                read: m.read,
                failed: m.failed,
                replies: m.replies,
                clicks: m.clicks,
                delivery_rate: m.delivery_rate,
                read_rate: m.read_rate,
                reply_rate: m.reply_rate,
                click_rate: m.click_rate,
            });
        }
        Ok(out)
    }

    /// One round at `now`: starts a run of every campaign that is due. A run
    /// is started once however many workers share the storage; an occurrence
    /// missed while no worker ran is not caught up.
    pub async fn run_due(&self, now: DateTime<Utc>) -> Result<CampaignReport, ServiceError> {
        let now = to_storage_precision(now);
        let mut report = CampaignReport::default();
        for (business, id) in self.storage.due_campaigns(now).await? {
            let mut c = self.storage.get_campaign(business, id).await?;
            // Another worker may have started this occurrence since the list.
            if c.status != CampaignStatus::Active || c.next_run_at.is_none_or(|t| t > now) {
                continue;
            }
            let b = self.storage.get_business(business).await?;
            let read_at = c.updated_at;
            let scheduled = c.next_run_at.unwrap_or(now);
            c.runs += 1;
            c.next_run_at = c.schedule.next_after(now, b.time_zone).map(to_storage_precision);
            if c.next_run_at.is_none() {
                c.status = CampaignStatus::Ended;
            }
            c.updated_at = now.max(read_at + Duration::microseconds(1));
            match self.storage.update_campaign(&c, read_at).await {
                Ok(()) => {}
                // Another worker took this occurrence.
                Err(StorageError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
            let local = scheduled.with_timezone(&b.time_zone.tz()).format("%Y-%m-%d %H:%M");
            match self.broadcasts.start_run(&c, format!("{} · {local}", c.name), now).await {
                Ok(_) => report.started += 1,
                Err(e @ (ServiceError::InvalidState { .. } | ServiceError::NotFound { .. })) => {
                    tracing::warn!(campaign = %c.id, error = %e, "campaign run could not start; pausing");
                    let read_at = c.updated_at;
                    c.status = CampaignStatus::Paused;
                    c.next_run_at = None;
                    c.updated_at = read_at + Duration::microseconds(1);
                    self.storage.update_campaign(&c, read_at).await?;
                    report.paused += 1;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }
}
