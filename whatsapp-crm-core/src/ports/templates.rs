//! The template-registry port: submits templates to the provider for WhatsApp
//! approval and reads their review status.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::domain::{ListRow, ReplyButton, TemplateCategory, TemplateStatus};

/// A template as the provider stores it: positional variables (`{{1}}`), one
/// sample value per variable, and one content type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderTemplate {
    /// Name (lower-case letters, digits and `_`); also the WhatsApp template name.
    pub name: String,
    /// Language code (`en`, `sw`, `en_US`).
    pub language: String,
    /// Sample value per positional variable (`"1" → "Wanjiku"`), required by review.
    pub samples: BTreeMap<String, String>,
    /// What the template shows.
    pub content: ProviderContent,
}

/// A button on a call-to-action message or card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TemplateAction {
    /// Sends its id back as a reply.
    QuickReply {
        /// Label.
        title: String,
        /// Payload returned when tapped.
        id: String,
    },
    /// Opens a URL (a variable may end it).
    Url {
        /// Label.
        title: String,
        /// Target.
        url: String,
    },
    /// Calls a number.
    Phone {
        /// Label.
        title: String,
        /// E.164 number.
        phone: String,
    },
    /// Copies a code (coupons, passcodes).
    CopyCode {
        /// Label.
        title: String,
        /// The code.
        code: String,
    },
}

/// The content types a template can have.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProviderContent {
    /// Text only.
    Text {
        /// Body with `{{n}}` variables.
        body: String,
    },
    /// Image, video or document with optional text.
    Media {
        /// Caption.
        body: Option<String>,
        /// Media URLs.
        media: Vec<String>,
    },
    /// Text with quick-reply buttons.
    QuickReply {
        /// Body.
        body: String,
        /// Buttons.
        buttons: Vec<ReplyButton>,
    },
    /// Text with URL, phone or copy-code buttons.
    CallToAction {
        /// Body.
        body: String,
        /// Buttons.
        actions: Vec<TemplateAction>,
    },
    /// A menu (in-session only; cannot be approved for WhatsApp).
    ListPicker {
        /// Body.
        body: String,
        /// Label of the button that opens the list.
        button: String,
        /// Rows.
        items: Vec<ListRow>,
    },
    /// A card with title, optional subtitle and media, and buttons.
    Card {
        /// Title.
        title: String,
        /// Subtitle (footer).
        subtitle: Option<String>,
        /// Media URLs.
        media: Vec<String>,
        /// Buttons.
        actions: Vec<TemplateAction>,
    },
    /// A full WhatsApp template: optional header text or media, body, footer, buttons.
    WhatsAppCard {
        /// Header text.
        header_text: Option<String>,
        /// Body.
        body: String,
        /// Footer.
        footer: Option<String>,
        /// Header media URLs (samples).
        media: Vec<String>,
        /// Buttons.
        actions: Vec<TemplateAction>,
    },
    /// A one-time-passcode template; WhatsApp writes the text.
    Authentication {
        /// Minutes until the code expires.
        code_expiration_minutes: Option<u16>,
        /// Label of the copy-code button.
        copy_code_text: String,
    },
    /// Products from the Meta catalog (in-session, or an approved
    /// multi-product template): Twilio sends one item as a single-product
    /// message and more as a multi-product one.
    Catalog {
        /// The Meta catalog id.
        catalog_id: String,
        /// Header text.
        title: Option<String>,
        /// Footer text.
        subtitle: Option<String>,
        /// Body.
        body: String,
        /// Each product's SKU and its section's title.
        items: Vec<(String, Option<String>)>,
    },
    /// A location pin (in-session only).
    Location {
        /// Degrees north.
        latitude: f64,
        /// Degrees east.
        longitude: f64,
        /// Place name.
        label: Option<String>,
    },
}

/// The review state the provider reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// Mapped onto the SDK's statuses.
    pub status: TemplateStatus,
    /// WhatsApp's reason, for rejections.
    pub rejection_reason: Option<String>,
}

/// Why the registry call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The provider refused the request (bad content, duplicate name...).
    #[error("provider rejected the template request (code {code:?}): {message}")]
    Rejected {
        /// Provider code.
        code: Option<u32>,
        /// The provider's explanation.
        message: String,
    },
    /// No such template at the provider.
    #[error("template not found at the provider")]
    NotFound,
    /// Credentials are wrong.
    #[error("provider refused our credentials")]
    Unauthorized,
    /// Rate limit, server error or network failure: retry later.
    #[error("provider unavailable: {message}")]
    Unavailable {
        /// What happened.
        message: String,
        /// How long the provider asked us to wait.
        retry_after: Option<Duration>,
    },
}

impl RegistryError {
    /// True when the same call may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

/// Submits templates for approval and reads their status (Twilio's Content API
/// in production).
#[async_trait]
pub trait TemplateRegistry: Send + Sync + 'static {
    /// Stores the content at the provider; returns its id (Twilio `HX…`).
    async fn create(&self, template: &ProviderTemplate) -> Result<String, RegistryError>;
    /// Asks WhatsApp to approve stored content under `name` in `category`.
    async fn submit(
        &self,
        content_id: &str,
        name: &str,
        category: TemplateCategory,
    ) -> Result<Approval, RegistryError>;
    /// Reads the current review state.
    async fn approval(&self, content_id: &str) -> Result<Approval, RegistryError>;
}
