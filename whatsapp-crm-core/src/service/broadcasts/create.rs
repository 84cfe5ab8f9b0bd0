//! Checking and storing a broadcast, and previewing what it would send.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{
    AbTest, Audience, AutoPause, BROADCAST_NAME_MAX_CHARS, Broadcast, BroadcastId, Business,
    BusinessId, Campaign, CustomerId, MessageContent, PhoneNumber, SkipReason, TemplateId,
    ValidationError,
};
use crate::ports::to_storage_precision;
use crate::service::{ServiceError, text_field};

use super::launch::LAUNCH_BATCH;
use super::service::{Broadcasts, draft, start};

/// Rendered samples a preview shows.
pub const PREVIEW_SAMPLES: usize = 3;

/// What a caller supplies to create a broadcast.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewBroadcast {
    /// Name shown to the team.
    pub name: String,
    /// An approved template.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub template_id: TemplateId,
    /// Where variables take their values; see [`Broadcast::variables`].
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// Who it goes to.
    pub audience: Audience,
    /// Launch then; at once when absent.
    #[serde(default)]
    pub send_at: Option<DateTime<Utc>>,
    /// When it pauses itself; the defaults when absent.
    #[serde(default)]
    pub auto_pause: Option<AutoPause>,
    /// An A/B test: variants tried on a sample first, the best to the rest.
    #[serde(default)]
    pub ab_test: Option<AbTest>,
}

/// One rendered message of a preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SampleMessage {
    /// The customer.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub customer_id: CustomerId,
    /// Their number.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub phone: PhoneNumber,
    /// The text they would read.
    pub text: String,
}

/// What launching now would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BroadcastPreview {
    /// Customers in the audience.
    pub audience: u32,
    /// Messages that would be queued.
    pub will_send: u32,
    /// Customers who would be skipped, by reason.
    pub skipped: Vec<(SkipReason, u32)>,
    /// A few messages as they would read.
    pub samples: Vec<SampleMessage>,
}

impl Broadcasts {
    /// Checks what a broadcast (or each run of a campaign) would send:
    /// `name`, audience, template and variables. Field problems come
    /// together; a missing or unapproved record after them.
    pub(crate) async fn check(
        &self,
        b: &Business,
        v: &mut ValidationError,
        template: TemplateId,
        variables: &BTreeMap<String, String>,
        audience: &Audience,
    ) -> Result<(), ServiceError> {
        if let Err(ServiceError::Invalid(e)) = self.rule(b, audience).await {
            v.errors.extend(e.errors);
        }
        if let Err(ServiceError::Invalid(e)) = self.prepare(b.id, template, variables).await {
            v.errors.extend(e.errors);
        }
        if !v.is_empty() {
            return Err(std::mem::take(v).into());
        }
        self.rule(b, audience).await?;
        self.prepare(b.id, template, variables).await?;
        Ok(())
    }

    /// Validates and stores a draft broadcast.
    pub async fn create(
        &self,
        business: BusinessId,
        input: NewBroadcast,
    ) -> Result<Broadcast, ServiceError> {
        let b = self.storage.get_business(business).await?;
        let mut v = ValidationError::default();
        let name = text_field(&mut v, "name", &input.name, BROADCAST_NAME_MAX_CHARS);
        let now = self.now();
        if input.send_at.is_some_and(|t| t < now - Duration::minutes(1)) {
            v.push("send_at", "is in the past");
        }
        let ab_test = match input.ab_test {
            Some(ab) => {
                Some(self.check_ab(&b, &mut v, &input.template_id, &input.variables, ab).await?)
            }
            None => None,
        };
        self.check(&b, &mut v, input.template_id, &input.variables, &input.audience).await?;
        let Some(name) = name else { return Err(v.into()) };
        let mut broadcast = draft(
            business,
            name,
            input.template_id,
            input.variables,
            input.audience,
            input.auto_pause.unwrap_or_default(),
            now,
        );
        broadcast.send_at = input.send_at.map(to_storage_precision);
        broadcast.ab_test = ab_test;
        self.storage.insert_broadcast(&broadcast).await?;
        Ok(broadcast)
    }

    /// Starts one run of a campaign at `now`: a broadcast that launches at
    /// once, its audience fixed now.
    pub(crate) async fn start_run(
        &self,
        campaign: &Campaign,
        name: String,
        now: DateTime<Utc>,
    ) -> Result<Broadcast, ServiceError> {
        self.prepare(campaign.business_id, campaign.template_id, &campaign.variables).await?;
        let mut run = draft(
            campaign.business_id,
            name,
            campaign.template_id,
            campaign.variables.clone(),
            campaign.audience.clone(),
            campaign.auto_pause,
            now,
        );
        run.campaign_id = Some(campaign.id);
        start(&mut run, now);
        self.storage.insert_broadcast(&run).await?;
        Ok(run)
    }

    /// Everyone the broadcast would reach now, who would be skipped and why,
    /// and a few rendered messages. Nothing is stored.
    pub async fn preview(
        &self,
        business: BusinessId,
        id: BroadcastId,
    ) -> Result<BroadcastPreview, ServiceError> {
        let bc = self.storage.get_broadcast(business, id).await?;
        let b = self.storage.get_business(business).await?;
        let prepared = self.prepare(business, bc.template_id, &bc.variables).await?;
        let now = self.now();
        let audience = self.audience(&b, &bc, now).await?;
        let audit = self.audit(&prepared, business, now).await?;
        let recommend = self.recommendations();
        let mut skipped: BTreeMap<SkipReason, u32> = BTreeMap::new();
        let mut samples = Vec::new();
        let (mut will_send, mut size, mut after) = (0, 0_usize, None);
        loop {
            let page = audience.page(&*self.storage, after).await?;
            let full = page.len() == LAUNCH_BATCH;
            size += page.len();
            after = page.last().map(|c| c.id);
            let recommended = match audit.wants_recommendation() {
                true => {
                    let ids: Vec<_> = page.iter().map(|c| c.id).collect();
                    recommend.top_picks(business, &ids).await?
                }
                false => Default::default(),
            };
            for c in page {
                match audit.judge(&c, recommended.get(&c.id).map(String::as_str)) {
                    Ok(content) => {
                        will_send += 1;
                        if samples.len() < PREVIEW_SAMPLES
                            && let MessageContent::Template { rendered: Some(text), .. } = content
                        {
                            samples.push(SampleMessage { customer_id: c.id, phone: c.phone, text });
                        }
                    }
                    Err(reason) => *skipped.entry(reason).or_default() += 1,
                }
            }
            if !full {
                break;
            }
        }
        Ok(BroadcastPreview {
            audience: u32::try_from(size).unwrap_or(u32::MAX),
            will_send,
            skipped: skipped.into_iter().collect(),
            samples,
        })
    }
}
