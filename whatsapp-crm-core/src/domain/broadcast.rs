//! Broadcasts: one approved template sent to many customers, with what
//! happened to each of them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    BroadcastId, BusinessId, CampaignId, CustomerId, MessageId, SegmentId, Tag, TemplateId,
};

/// Longest broadcast name.
pub const BROADCAST_NAME_MAX_CHARS: usize = 120;
/// Default auto-pause: the failure rate (percent) above which a broadcast pauses.
pub const AUTO_PAUSE_FAILURE_PERCENT: u8 = 25;
/// Default auto-pause: sends counted before the failure rate is judged.
pub const AUTO_PAUSE_MIN_SENDS: u32 = 50;

/// Who a broadcast goes to. Whatever the choice, marketing templates reach only
/// opted-in customers; the others are skipped with their reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Audience {
    /// Every customer who opted in to marketing.
    OptedIn,
    /// The customers of a saved segment when the broadcast launches.
    Segment {
        /// The segment.
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
        segment_id: SegmentId,
    },
    /// The customers an ad-hoc rule selects (segment rule text).
    Rule {
        /// The rule, e.g. `tag has vip and city = Nairobi`.
        rule: String,
    },
    /// Customers with any of these tags.
    Tags {
        /// The tags.
        #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
        tags: Vec<Tag>,
    },
}

/// Where a broadcast is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BroadcastStatus {
    /// Being prepared; nothing is sent.
    Draft,
    /// Launches at `send_at`.
    Scheduled,
    /// Its audience is being queued, a batch at a time.
    Launching,
    /// Queued; the dispatcher is sending it.
    Sending,
    /// Stopped by a person or an auto-pause rule; resumable.
    Paused,
    /// Every message reached an end state.
    Completed,
    /// Stopped for good; nothing more is sent.
    Cancelled,
}

impl BroadcastStatus {
    /// True when nothing more will ever happen to it.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Completed | Self::Cancelled)
    }
}

/// Why a customer in the audience got no message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Opted out of marketing.
    OptedOut,
    /// Never opted in to marketing.
    NotOptedIn,
    /// Already had as much marketing as the frequency cap allows.
    Capped,
    /// The message could not be made for them (a variable with no value and
    /// no fallback, or a value WhatsApp refuses).
    Invalid,
}

/// When a broadcast pauses itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct AutoPause {
    /// Pause when more than this percentage of finished sends failed...
    pub max_failure_percent: Option<u8>,
    /// ...once at least this many sends finished.
    pub min_sends: u32,
    /// Pause on the first spam or quality error (131048, 132015, 132016, 63018).
    pub on_quality_errors: bool,
}

impl Default for AutoPause {
    fn default() -> Self {
        Self {
            max_failure_percent: Some(AUTO_PAUSE_FAILURE_PERCENT),
            min_sends: AUTO_PAUSE_MIN_SENDS,
            on_quality_errors: true,
        }
    }
}

/// Fewest and most variants of an A/B test.
pub const AB_VARIANTS: std::ops::RangeInclusive<usize> = 2..=4;
/// Largest share of the audience an A/B test phase may take, in percent.
pub const AB_SAMPLE_PERCENT_MAX: u8 = 50;
/// Longest wait before a winner is picked, in hours.
pub const AB_WINDOW_HOURS_MAX: u32 = 168;

/// What decides an A/B test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AbMetric {
    /// Read over delivered.
    ReadRate,
    /// Replies over delivered.
    ReplyRate,
    /// Button taps over delivered.
    ClickRate,
}

/// One variant of an A/B test: another template, other variable values, or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AbVariant {
    /// Name shown in the results (`A`, `short copy`).
    pub name: String,
    /// Another approved template; the broadcast's when absent.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub template_id: Option<TemplateId>,
    /// Variable sources that replace the broadcast's.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// Its share of the test sample, in percent; the shares add up to 100.
    pub percent: u8,
}

/// Where an A/B test is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AbPhase {
    /// The sample is being sent its variants.
    #[default]
    Testing,
    /// Waiting for the window to pass.
    Waiting,
    /// The winner goes to the rest of the audience.
    Rollout,
}

/// An A/B test: a sample of the audience gets the variants, and after a
/// window the variant with the best rate goes to everyone else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AbTest {
    /// The variants, 2 to 4.
    pub variants: Vec<AbVariant>,
    /// The test sample's share of the audience, in percent (1–50).
    pub sample_percent: u8,
    /// What picks the winner.
    pub metric: AbMetric,
    /// How long after the sample is sent the winner is picked, in hours.
    pub window_hours: u32,
    /// Where the test is.
    #[serde(default)]
    pub phase: AbPhase,
    /// When the winner is picked, once the sample is sent.
    #[serde(default)]
    pub decide_at: Option<DateTime<Utc>>,
    /// The winning variant, once picked.
    #[serde(default)]
    pub winner: Option<u8>,
}

impl AbTest {
    /// Which part of the audience a customer is in, fixed per broadcast: the
    /// variant they test, or `None` for the rest of the audience.
    pub fn variant_of(&self, broadcast: BroadcastId, customer: CustomerId) -> Option<u8> {
        // FNV-1a over both ids: stable across processes and releases.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in broadcast.as_uuid().as_bytes().iter().chain(customer.as_uuid().as_bytes()) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        let slot = h % 10_000;
        let sample = u64::from(self.sample_percent) * 100;
        if slot >= sample {
            return None;
        }
        // Where in the sample, in percent, then which variant's share.
        let at = slot * 100 / sample.max(1);
        let mut edge = 0;
        for (i, v) in self.variants.iter().enumerate() {
            edge += u64::from(v.percent);
            if at < edge {
                return u8::try_from(i).ok();
            }
        }
        u8::try_from(self.variants.len().saturating_sub(1)).ok()
    }
}

/// A template sent to an audience.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Broadcast {
    /// Broadcast id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: BroadcastId,
    /// Owning business.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub business_id: BusinessId,
    /// Name shown to the team.
    pub name: String,
    /// The approved template sent.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub template_id: TemplateId,
    /// Where each template variable's value comes from: a customer field
    /// (`name`, `first_name`, `phone`, `city`, `country`, `attr.<key>`), with
    /// an optional fallback after `|` (`first_name|rafiki`), or a fixed
    /// value in quotes (`"50% off"`). Unmapped variables take the customer
    /// field of their own name.
    pub variables: BTreeMap<String, String>,
    /// Who it goes to.
    pub audience: Audience,
    /// When it launches; at once when `None`.
    pub send_at: Option<DateTime<Utc>>,
    /// Where it is.
    pub status: BroadcastStatus,
    /// Why it paused, when it did.
    pub pause_reason: Option<String>,
    /// When it pauses itself.
    pub auto_pause: AutoPause,
    /// Customers in the audience snapshot, once launched.
    pub recipients: u32,
    /// Messages queued so far.
    pub queued: u32,
    /// Customers skipped so far.
    pub skipped: u32,
    /// The last customer the launch has handled.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub launch_cursor: Option<CustomerId>,
    /// True once every customer of the snapshot was handled.
    pub launch_complete: bool,
    /// Its A/B test, if it has one.
    #[serde(default)]
    pub ab_test: Option<AbTest>,
    /// The campaign it is a run of, if any.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub campaign_id: Option<CampaignId>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When its audience was fixed.
    pub launched_at: Option<DateTime<Utc>>,
    /// When it completed or was cancelled.
    pub finished_at: Option<DateTime<Utc>>,
}

/// One customer of a launched broadcast: their message, or why they got none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BroadcastRecipient {
    /// The broadcast.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub broadcast_id: BroadcastId,
    /// The customer.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub customer_id: CustomerId,
    /// Their message, when one was queued.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub message_id: Option<MessageId>,
    /// Why none was, otherwise.
    pub skipped: Option<SkipReason>,
    /// The A/B variant they were in, for a test's sample.
    pub variant: Option<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_is_split_by_the_variants_shares() {
        let test = AbTest {
            variants: ["A", "B", "C"]
                .iter()
                .zip([50, 30, 20])
                .map(|(n, p)| AbVariant {
                    name: (*n).into(),
                    template_id: None,
                    variables: BTreeMap::new(),
                    percent: p,
                })
                .collect(),
            sample_percent: 20,
            metric: AbMetric::ReadRate,
            window_hours: 4,
            phase: AbPhase::Testing,
            decide_at: None,
            winner: None,
        };
        let b = BroadcastId::new();
        let mut counts = [0u32; 4];
        for _ in 0..20_000 {
            let v = test.variant_of(b, CustomerId::new());
            counts[v.map_or(3, usize::from)] += 1;
        }
        // 20% sample: 10%, 6% and 4% of everyone; 80% left for the winner.
        for (n, expected) in counts.iter().zip([2_000.0, 1_200.0, 800.0, 16_000.0]) {
            assert!((f64::from(*n) - expected).abs() < expected * 0.12, "{counts:?}");
        }
        let c = CustomerId::new();
        assert_eq!(test.variant_of(b, c), test.variant_of(b, c), "stable");
    }
}
