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
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
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

/// A template sent to an audience.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Broadcast {
    /// Broadcast id.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: BroadcastId,
    /// Owning business.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub business_id: BusinessId,
    /// Name shown to the team.
    pub name: String,
    /// The approved template sent.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
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
    /// The campaign it is a run of, if any.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
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
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub broadcast_id: BroadcastId,
    /// The customer.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub customer_id: CustomerId,
    /// Their message, when one was queued.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub message_id: Option<MessageId>,
    /// Why none was, otherwise.
    pub skipped: Option<SkipReason>,
}
