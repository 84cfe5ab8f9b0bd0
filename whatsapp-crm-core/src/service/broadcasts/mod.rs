//! Broadcasts: one approved template to an audience, launched a batch at a
//! time into the outbox, paused, resumed or cancelled at any moment, and
//! measured per recipient.
//!
//! One concern a file: `create` (checks, drafts, preview), `prepare` (the
//! template and audience a send uses), `launch` (fixing the audience and
//! queueing it), `control` (pause, resume, cancel), `metrics` (progress and
//! rates), `ab` (A/B tests), `worker` (the `run_due` round).

mod ab;
mod control;
mod create;
mod launch;
mod metrics;
mod prepare;
mod worker;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::domain::{
    Audience, AutoPause, Broadcast, BroadcastId, BroadcastStatus, BusinessId, TemplateId,
};
use crate::policy::SendPolicy;
use crate::ports::{Clock, Page, Storage, to_storage_precision};

use super::{ServiceError, page_params};

pub use create::{BroadcastPreview, NewBroadcast, SampleMessage};
pub use metrics::{BroadcastMetrics, VariantMetrics, auto_pause_reason};
pub use worker::BroadcastReport;

/// Customers handled per launch transaction: large enough to be quick, small
/// enough that inbound traffic never waits long for the writer.
pub const LAUNCH_BATCH: usize = 1000;
/// Launch batches per broadcast in one `run_due` round.
pub const LAUNCH_BATCHES_PER_ROUND: usize = 400;
/// Batches read and rendered ahead of the writer.
const LAUNCH_BATCHES_AHEAD: usize = 2;
/// How long after a broadcast message a customer's message counts as a reply.
pub const REPLY_WINDOW_HOURS: i64 = 72;
/// Rendered samples a preview shows.
pub const PREVIEW_SAMPLES: usize = 3;
/// Provider codes that call for a pause: spam and quality signals, and a
/// sender over its rate (platform-rules 3.4).
pub const QUALITY_ERROR_CODES: &[u32] = &[131_048, 132_015, 132_016, 63_018];

/// Broadcast use cases, and the worker that launches and watches them.
#[derive(Clone)]
pub struct Broadcasts {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
    policy: SendPolicy,
}

impl Broadcasts {
    /// A service over `storage`; `policy` gives the marketing frequency cap.
    pub fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>, policy: SendPolicy) -> Self {
        Self { storage, clock, policy }
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
fn draft(
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

fn start(bc: &mut Broadcast, now: DateTime<Utc>) {
    bc.status = BroadcastStatus::Launching;
    bc.launched_at = Some(now);
    bc.updated_at = now;
}

fn invalid_state(bc: &Broadcast, action: &str) -> ServiceError {
    super::not_now(action, "broadcast", bc.status)
}
