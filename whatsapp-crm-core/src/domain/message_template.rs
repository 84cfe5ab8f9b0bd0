//! Message templates: content, versions and review status.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{BusinessId, TemplateCategory, TemplateId, TemplateStatus};

/// Kind of media a template header shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HeaderMediaKind {
    /// JPEG or PNG.
    Image,
    /// MP4.
    Video,
    /// PDF and office documents.
    Document,
}

/// The optional header of a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TemplateHeader {
    /// Text, at most 60 characters and one variable.
    Text {
        /// Header text.
        text: String,
    },
    /// An image, video or document chosen at send time.
    Media {
        /// What kind of media.
        kind: HeaderMediaKind,
        /// Sample media for review.
        sample_url: Option<String>,
    },
    /// A location chosen at send time.
    Location,
}

/// A template button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TemplateButton {
    /// Sends its label back as a reply.
    QuickReply {
        /// Label.
        label: String,
    },
    /// Opens a URL; one variable may end it.
    Url {
        /// Label.
        label: String,
        /// Target.
        url: String,
    },
    /// Calls a number.
    Phone {
        /// Label.
        label: String,
        /// E.164 number.
        phone: String,
    },
    /// Copies a code (coupons, one-time passcodes).
    CopyCode {
        /// Label.
        label: String,
        /// Sample code for review.
        example: String,
    },
}

impl TemplateButton {
    /// The label shown.
    pub fn label(&self) -> &str {
        match self {
            Self::QuickReply { label }
            | Self::Url { label, .. }
            | Self::Phone { label, .. }
            | Self::CopyCode { label, .. } => label,
        }
    }
}

/// What one version of a template says.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TemplateContent {
    /// Optional header.
    #[serde(default)]
    pub header: Option<TemplateHeader>,
    /// Body with `{{name}}` or `{{1}}` variables; `{{name|fallback}}` sets a default.
    pub body: String,
    /// Optional footer (no variables).
    #[serde(default)]
    pub footer: Option<String>,
    /// Buttons.
    #[serde(default)]
    pub buttons: Vec<TemplateButton>,
    /// Sample value per variable name, required by WhatsApp's review.
    #[serde(default)]
    pub samples: BTreeMap<String, String>,
    /// Authentication templates only: minutes until the code expires (1–90).
    #[serde(default)]
    pub code_expiration_minutes: Option<u16>,
}

/// A template of one business, with its latest version and the version that
/// may be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageTemplate {
    /// Template id.
    pub id: TemplateId,
    /// Owning business.
    pub business_id: BusinessId,
    /// WhatsApp name (`order_update`), unique per business and language.
    pub name: String,
    /// Category.
    pub category: TemplateCategory,
    /// Language code (`en`, `sw`, `en_US`).
    pub language: String,
    /// Latest version number, from 1; every edit adds one.
    pub version: u32,
    /// Content of the latest version.
    pub content: TemplateContent,
    /// Review status of the latest version. Set only by the server.
    pub status: TemplateStatus,
    /// Provider content id of the latest version, once submitted.
    pub provider_id: Option<String>,
    /// WhatsApp's reason when the latest version was rejected.
    pub rejection_reason: Option<String>,
    /// The approved version that is sent, which may be older than the latest.
    pub approved_version: Option<u32>,
    /// Provider content id of the approved version.
    pub approved_provider_id: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was archived (deleted); archived templates are never sent.
    pub archived_at: Option<DateTime<Utc>>,
}

/// One version in a template's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TemplateVersion {
    /// The template.
    pub template_id: TemplateId,
    /// Version number.
    pub version: u32,
    /// What it said.
    pub content: TemplateContent,
    /// Its review status.
    pub status: TemplateStatus,
    /// Its provider content id.
    pub provider_id: Option<String>,
    /// WhatsApp's reason, if rejected.
    pub rejection_reason: Option<String>,
    /// When the version was made.
    pub created_at: DateTime<Utc>,
}

impl MessageTemplate {
    /// The latest version as a history entry.
    pub fn latest_version(&self) -> TemplateVersion {
        TemplateVersion {
            template_id: self.id,
            version: self.version,
            content: self.content.clone(),
            status: self.status,
            provider_id: self.provider_id.clone(),
            rejection_reason: self.rejection_reason.clone(),
            created_at: self.updated_at,
        }
    }

    /// True when a version of it can be sent now.
    pub fn is_sendable(&self) -> bool {
        self.archived_at.is_none() && self.approved_version.is_some()
    }
}
