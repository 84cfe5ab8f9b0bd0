//! # whatsapp-crm-twilio
//!
//! Real WhatsApp traffic through Twilio for the whatsapp-crm SDK:
//!
//! - [`TwilioTransport`]: the core `Transport`, over the Messages API (text, media,
//!   approved templates by `ContentSid`, in-session buttons, lists and locations),
//!   with Twilio's errors mapped onto typed, retry-aware `TransportError`s.
//! - [`TwilioContent`]: the core `TemplateRegistry`, over the Content API.
//! - [`RequestValidator`]: `X-Twilio-Signature` checks for form and JSON webhooks.
//! - [`parse_inbound`] and [`parse_status`]: webhooks into core events.
//!
//! Secrets never appear in `Debug` or `Display` output.
//!
//! ```no_run
//! use whatsapp_crm_core::{BusinessId, MessageContent, MessageId, PhoneNumber, Transport};
//! use whatsapp_crm_core::ports::OutboundMessage;
//! use whatsapp_crm_twilio::{TwilioConfig, TwilioTransport};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = TwilioConfig::new("ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "auth-token")
//!     .with_status_callback("https://crm.example.com/webhooks/twilio/status");
//! let twilio = TwilioTransport::new(config)?;
//! let receipt = twilio
//!     .send(&OutboundMessage {
//!         business_id: BusinessId::new(),
//!         message_id: MessageId::new(),
//!         from: PhoneNumber::parse("+14155238886")?,
//!         to: PhoneNumber::parse("+254712345678")?,
//!         content: MessageContent::text("Your order is on its way"),
//!     })
//!     .await?;
//! println!("Twilio accepted {}", receipt.provider_id);
//! # Ok(()) }
//! ```

mod api;
mod config;
mod content;
mod errors;
mod signature;
mod transport;
mod webhook;

pub use config::{Credentials, DEFAULT_API_BASE, DEFAULT_CONTENT_BASE, Secret, TwilioConfig};
pub use content::{TwilioContent, map_approval_status};
pub use errors::{
    CODE_OUTSIDE_WINDOW, CODE_RATE_LIMIT, CODE_TOO_MANY_REQUESTS, INVALID_CONTENT_CODES,
    INVALID_RECIPIENT_CODES, OPTED_OUT_CODES, UNAUTHORIZED_CODES,
};
pub use signature::{BODY_SHA256_PARAM, RequestValidator};
pub use transport::{MESSAGE_ID_PARAM, TwilioTransport, map_message_status};
pub use webhook::{MAX_INBOUND_MEDIA, WebhookError, WebhookParams, parse_inbound, parse_status};

/// A transport or registry could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TwilioError {
    /// The HTTP client could not be built.
    #[error("cannot set up the Twilio client: {0}")]
    Setup(String),
}
