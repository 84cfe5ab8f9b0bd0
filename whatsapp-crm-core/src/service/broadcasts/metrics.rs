//! Where a broadcast stands: counts per stage, rates, per-variant results,
//! and the auto-pause judgement over them.

use chrono::Duration;
use serde::Serialize;

use crate::domain::{
    AbMetric, AutoPause, Broadcast, BroadcastId, BusinessId, MessageStatus, OutboxState, SkipReason,
};
use crate::ports::{BroadcastCounts, Page, RecipientStatus};
use crate::service::{ServiceError, page_params};

use super::service::Broadcasts;

/// How long after a broadcast message a customer's message counts as a reply.
pub const REPLY_WINDOW_HOURS: i64 = 72;
/// Provider codes that call for a pause: spam and quality signals, and a
/// sender over its rate (platform-rules 3.4).
pub const QUALITY_ERROR_CODES: &[u32] = &[131_048, 132_015, 132_016, 63_018];

/// Where a broadcast stands: counts per stage and the rates that matter.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BroadcastMetrics {
    /// The broadcast.
    pub broadcast: Broadcast,
    /// Messages queued.
    pub queued: u32,
    /// Not yet accepted by the provider (waiting, held or being sent).
    pub pending: u32,
    /// Handed to and accepted by the provider (whatever it reported since).
    pub sent: u32,
    /// Delivered (or read).
    pub delivered: u32,
    /// Read.
    pub read: u32,
    /// Failed or undelivered.
    pub failed: u32,
    /// Failed sends by provider code (none: refused by the send policy).
    pub failed_by_code: Vec<(Option<u32>, u32)>,
    /// Whose outcome is unknown (a crash mid-send), until a callback settles it.
    pub unknown: u32,
    /// Withdrawn by a cancel.
    pub cancelled: u32,
    /// Customers skipped, by reason.
    pub skipped: Vec<(SkipReason, u32)>,
    /// Recipients who wrote back within 72 hours.
    pub replies: u32,
    /// Recipients who tapped a button or list row within 72 hours.
    pub clicks: u32,
    /// Delivered over sent.
    pub delivery_rate: f64,
    /// Read over delivered.
    pub read_rate: f64,
    /// Replies over delivered.
    pub reply_rate: f64,
    /// Clicks over delivered.
    pub click_rate: f64,
    /// Per A/B variant, for a broadcast with a test.
    pub variants: Vec<VariantMetrics>,
}

/// How one A/B variant's sample did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VariantMetrics {
    /// Its index.
    pub index: u8,
    /// Its name.
    pub name: String,
    /// Handed to the provider.
    pub sent: u32,
    /// Delivered (or read).
    pub delivered: u32,
    /// Read.
    pub read: u32,
    /// Failed.
    pub failed: u32,
    /// Replies within 72 hours.
    pub replies: u32,
    /// Button taps within 72 hours.
    pub clicks: u32,
    /// Read over delivered.
    pub read_rate: f64,
    /// Replies over delivered.
    pub reply_rate: f64,
    /// Clicks over delivered.
    pub click_rate: f64,
}

impl VariantMetrics {
    fn of(index: u8, name: &str, counts: &BroadcastCounts) -> Self {
        let s = Stages::of(counts);
        Self {
            index,
            name: name.to_owned(),
            sent: s.sent,
            delivered: s.delivered,
            read: s.read,
            failed: s.failed,
            replies: counts.replies,
            clicks: counts.clicks,
            read_rate: rate(s.read, s.delivered),
            reply_rate: rate(counts.replies, s.delivered),
            click_rate: rate(counts.clicks, s.delivered),
        }
    }

    /// The rate an A/B test is decided by.
    pub fn rate(&self, metric: AbMetric) -> f64 {
        match metric {
            AbMetric::ReadRate => self.read_rate,
            AbMetric::ReplyRate => self.reply_rate,
            AbMetric::ClickRate => self.click_rate,
        }
    }
}

fn rate(a: u32, b: u32) -> f64 {
    if b == 0 { 0.0 } else { f64::from(a) / f64::from(b) }
}

/// Messages per stage, from the counts storage sums.
pub(super) struct Stages {
    /// Rows not yet handed over: waiting, held, claimed or being sent.
    pub(super) pending: u32,
    sent: u32,
    unknown: u32,
    cancelled: u32,
    delivered: u32,
    read: u32,
    failed: u32,
}

impl Stages {
    pub(super) fn of(counts: &BroadcastCounts) -> Self {
        let count = |f: &dyn Fn(MessageStatus) -> bool| -> u32 {
            counts.by_status.iter().filter(|(s, _)| f(*s)).map(|(_, n)| n).sum()
        };
        let state = |want: OutboxState| -> u32 {
            counts.by_outbox_state.iter().filter(|(s, _)| *s == want).map(|(_, n)| n).sum()
        };
        Self {
            pending: [
                OutboxState::Pending,
                OutboxState::Claimed,
                OutboxState::Sending,
                OutboxState::Held,
            ]
            .into_iter()
            .map(state)
            .sum(),
            sent: state(OutboxState::Sent),
            unknown: state(OutboxState::Unknown),
            cancelled: state(OutboxState::Cancelled),
            delivered: count(&|s| matches!(s, MessageStatus::Delivered | MessageStatus::Read)),
            read: count(&|s| s == MessageStatus::Read),
            failed: count(&|s| s.is_failure()),
        }
    }
}

impl Broadcasts {
    /// Counts and rates, per stage.
    pub async fn metrics(
        &self,
        business: BusinessId,
        id: BroadcastId,
    ) -> Result<BroadcastMetrics, ServiceError> {
        let broadcast = self.storage.get_broadcast(business, id).await?;
        let counts = self
            .storage
            .broadcast_counts(business, id, Some(Duration::hours(REPLY_WINDOW_HOURS)), None)
            .await?;
        let variants = self.variant_metrics(&broadcast).await?;
        let mut m = metrics_of(broadcast, counts);
        m.variants = variants;
        Ok(m)
    }

    /// Each A/B variant's results (none without a test).
    pub(super) async fn variant_metrics(
        &self,
        bc: &Broadcast,
    ) -> Result<Vec<VariantMetrics>, ServiceError> {
        let mut variants = Vec::new();
        for (i, v) in bc.ab_test.iter().flat_map(|ab| ab.variants.iter()).enumerate() {
            let index = u8::try_from(i).unwrap_or(u8::MAX);
            let window = Some(Duration::hours(REPLY_WINDOW_HOURS));
            let counts =
                self.storage.broadcast_counts(bc.business_id, bc.id, window, Some(index)).await?;
            variants.push(VariantMetrics::of(index, &v.name, &counts));
        }
        Ok(variants)
    }

    /// The recipients, with where each one's message is.
    pub async fn recipients(
        &self,
        business: BusinessId,
        id: BroadcastId,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<RecipientStatus>, ServiceError> {
        let (limit, after) = page_params(limit, cursor)?;
        Ok(self.storage.list_broadcast_recipients(business, id, limit, after).await?)
    }
}

/// Why `counts` break `rules`, if they do.
pub fn auto_pause_reason(rules: &AutoPause, counts: &BroadcastCounts) -> Option<String> {
    if rules.on_quality_errors
        && let Some(code) = counts
            .failed_by_code
            .iter()
            .filter_map(|(c, _)| *c)
            .find(|c| QUALITY_ERROR_CODES.contains(c))
    {
        return Some(format!("provider error {code}: spam or quality signal"));
    }
    // Sends the provider took or refused; queued ones are not judged yet.
    let finished: u32 = counts
        .by_outbox_state
        .iter()
        .filter(|(s, _)| matches!(s, OutboxState::Sent | OutboxState::Failed))
        .map(|(_, n)| n)
        .sum();
    let failed: u32 = counts.failed_by_code.iter().map(|(_, n)| n).sum();
    let limit = rules.max_failure_percent?;
    (finished >= rules.min_sends.max(1) && failed * 100 > u32::from(limit) * finished).then(|| {
        format!("{}% of {finished} sends failed (limit {limit}%)", failed * 100 / finished)
    })
}

fn metrics_of(broadcast: Broadcast, counts: BroadcastCounts) -> BroadcastMetrics {
    let s = Stages::of(&counts);
    BroadcastMetrics {
        queued: broadcast.queued,
        pending: s.pending,
        sent: s.sent,
        delivered: s.delivered,
        read: s.read,
        failed: s.failed,
        failed_by_code: counts.failed_by_code.clone(),
        unknown: s.unknown,
        cancelled: s.cancelled,
        skipped: counts.skipped.clone(),
        replies: counts.replies,
        clicks: counts.clicks,
        delivery_rate: rate(s.delivered, s.sent),
        read_rate: rate(s.read, s.delivered),
        reply_rate: rate(counts.replies, s.delivered),
        click_rate: rate(counts.clicks, s.delivered),
        variants: Vec::new(),
        broadcast,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts with `ok` sends the provider took and `failed` it refused (by code).
    fn counts(ok: u32, failed: &[(Option<u32>, u32)], queued: u32) -> BroadcastCounts {
        let refused: u32 = failed.iter().map(|(_, n)| n).sum();
        BroadcastCounts {
            failed_by_code: failed.to_vec(),
            by_outbox_state: vec![
                (OutboxState::Pending, queued),
                (OutboxState::Sent, ok),
                (OutboxState::Failed, refused),
            ],
            ..BroadcastCounts::default()
        }
    }

    #[test]
    fn auto_pause_waits_for_enough_sends_then_judges_the_rate() {
        let rules = AutoPause::default();
        // 20 of 40 failed: too few sends to judge.
        assert_eq!(auto_pause_reason(&rules, &counts(20, &[(Some(63016), 20)], 0)), None);
        // 13 of 50 failed is 26%: over the 25% limit.
        assert_eq!(
            auto_pause_reason(&rules, &counts(37, &[(Some(63016), 13)], 0)).as_deref(),
            Some("26% of 50 sends failed (limit 25%)")
        );
        // 12 of 50 is 24%: fine. Queued messages are not judged.
        assert_eq!(auto_pause_reason(&rules, &counts(38, &[(None, 12)], 500)), None);
        // One spam signal is enough, unless that rule is off.
        let spam = counts(0, &[(Some(131_048), 1)], 0);
        assert!(auto_pause_reason(&rules, &spam).unwrap().contains("131048"));
        let off = AutoPause { on_quality_errors: false, max_failure_percent: None, ..rules };
        assert_eq!(auto_pause_reason(&off, &spam), None);
    }
}
