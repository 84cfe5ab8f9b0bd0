//! Template categories and approval states, shared by the template engine and
//! the providers that approve templates.

use serde::{Deserialize, Serialize};

/// WhatsApp template category (platform-rules 1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TemplateCategory {
    /// Promotions, offers, announcements: needs marketing opt-in.
    Marketing,
    /// Order updates, receipts, reminders about something the customer started.
    Utility,
    /// One-time passcodes.
    Authentication,
}

impl TemplateCategory {
    /// The upper-case name providers use (`MARKETING`).
    pub fn provider_name(&self) -> &'static str {
        match self {
            Self::Marketing => "MARKETING",
            Self::Utility => "UTILITY",
            Self::Authentication => "AUTHENTICATION",
        }
    }
}

/// Where a template is in WhatsApp's review (platform-rules 1.5). Only the
/// server moves a template between these; clients never set them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TemplateStatus {
    /// Not submitted yet.
    Draft,
    /// Submitted, under review.
    Pending,
    /// Approved: can be sent outside the customer-service window.
    Approved,
    /// Refused by review.
    Rejected,
    /// Paused by WhatsApp for low quality.
    Paused,
    /// Disabled by WhatsApp.
    Disabled,
}

impl TemplateStatus {
    /// True when messages may be sent with it.
    pub fn is_sendable(&self) -> bool {
        matches!(self, Self::Approved)
    }
}
