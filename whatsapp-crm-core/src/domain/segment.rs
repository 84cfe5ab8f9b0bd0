//! Saved customer segments.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{BusinessId, SegmentId};
use crate::segment::Rule;

/// Longest segment name accepted.
pub const SEGMENT_NAME_MAX_CHARS: usize = 120;
/// Longest segment description accepted.
pub const SEGMENT_DESCRIPTION_MAX_CHARS: usize = 1000;

/// A named rule a business targets broadcasts and journeys at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Segment {
    /// Segment id.
    pub id: SegmentId,
    /// Owning business.
    pub business_id: BusinessId,
    /// Name, unique within the business.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// The rule, in its JSON form.
    pub rule: Rule,
    /// The rule in its text form, for people.
    pub rule_text: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}
