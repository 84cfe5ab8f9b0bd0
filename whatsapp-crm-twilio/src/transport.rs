//! `TwilioTransport`: sends WhatsApp messages through Twilio's Messages API
//! (platform-rules 5.1).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;
use whatsapp_crm_core::ports::{
    OutboundMessage, ProviderContent, ProviderTemplate, SendReceipt, TemplateAction,
    TemplateRegistry, Transport,
};
use whatsapp_crm_core::{Interactive, MessageContent, MessageStatus, TransportError};

use crate::TwilioError;
use crate::api::{Api, Outcome};
use crate::config::TwilioConfig;
use crate::content::{TwilioContent, content_types};

/// Query parameter carrying our message id on status-callback URLs.
pub const MESSAGE_ID_PARAM: &str = "message_id";
/// Language given to content created for in-session interactive messages.
const SESSION_CONTENT_LANGUAGE: &str = "en";

/// Sends through Twilio. Interactive and location messages have no plain form
/// field, so they go out as Content API resources created on first use and
/// reused after.
pub struct TwilioTransport {
    api: Api,
    content: TwilioContent,
    session_content: Mutex<HashMap<String, String>>,
}

impl std::fmt::Debug for TwilioTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioTransport").field("config", &self.api.config).finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Created {
    sid: String,
    status: Option<String>,
}

/// Twilio's message statuses onto the SDK's (platform-rules 5.2).
pub fn map_message_status(status: &str) -> Option<MessageStatus> {
    Some(match status {
        "accepted" | "queued" | "scheduled" => MessageStatus::Queued,
        "sending" => MessageStatus::Sending,
        "sent" | "partially_delivered" => MessageStatus::Sent,
        "delivered" => MessageStatus::Delivered,
        "read" => MessageStatus::Read,
        "failed" | "canceled" => MessageStatus::Failed,
        "undelivered" => MessageStatus::Undelivered,
        "receiving" | "received" => MessageStatus::Received,
        _ => return None,
    })
}

impl TwilioTransport {
    /// A transport for the account in `config`.
    pub fn new(config: TwilioConfig) -> Result<Self, TwilioError> {
        let api = Api::new(config)?;
        Ok(Self {
            content: TwilioContent::from_api(api.clone()),
            api,
            session_content: Mutex::new(HashMap::new()),
        })
    }

    /// The Content API registry sharing this transport's client.
    pub fn registry(&self) -> TwilioContent {
        self.content.clone()
    }

    /// The form fields of one message (everything except content created on the fly).
    pub fn form_fields(
        &self,
        message: &OutboundMessage,
        content_sid: Option<&str>,
    ) -> Result<Vec<(&'static str, String)>, TransportError> {
        let mut form = vec![
            ("From", message.from.to_whatsapp_address()),
            ("To", message.to.to_whatsapp_address()),
        ];
        match (&message.content, content_sid) {
            (_, Some(sid)) => form.push(("ContentSid", sid.to_owned())),
            (MessageContent::Text { body }, None) => form.push(("Body", body.clone())),
            (MessageContent::Media { media, caption }, None) => {
                form.extend(media.iter().map(|m| ("MediaUrl", m.url.clone())));
                if let Some(c) = caption {
                    form.push(("Body", c.clone()));
                }
            }
            (MessageContent::Template { content_sid: Some(sid), variables, .. }, None) => {
                form.push(("ContentSid", sid.clone()));
                if !variables.is_empty() {
                    let json =
                        serde_json::to_string(variables).map_err(|e| rejected(e.to_string()))?;
                    form.push(("ContentVariables", json));
                }
            }
            (MessageContent::Template { content_sid: None, name, .. }, None) => {
                return Err(rejected(format!("template {name} has no approved content id")));
            }
            (
                MessageContent::Interactive { .. }
                | MessageContent::Location { .. }
                | MessageContent::Order { .. }
                | MessageContent::Unsupported { .. },
                None,
            ) => {
                return Err(rejected("interactive content needs a content id".into()));
            }
        }
        if let Some(base) = &self.api.config.status_callback {
            let sep = if base.contains('?') { '&' } else { '?' };
            form.push((
                "StatusCallback",
                format!("{base}{sep}{MESSAGE_ID_PARAM}={}", message.message_id),
            ));
        }
        Ok(form)
    }

    /// Content id for an in-session interactive or location message.
    async fn session_content_sid(
        &self,
        content: ProviderContent,
    ) -> Result<String, TransportError> {
        let key = content_types(&content).to_string();
        if let Some(sid) = self.lock().get(&key) {
            return Ok(sid.clone());
        }
        let template = ProviderTemplate {
            name: format!("wcrm_session_{:016x}", fingerprint(&key)),
            language: SESSION_CONTENT_LANGUAGE.into(),
            samples: Default::default(),
            content,
        };
        let sid = self.content.create(&template).await.map_err(|e| match e {
            whatsapp_crm_core::ports::RegistryError::Unavailable { message, retry_after } => {
                TransportError::Unavailable { code: None, message, retry_after }
            }
            whatsapp_crm_core::ports::RegistryError::Unauthorized => {
                TransportError::Unauthorized { code: None }
            }
            other => rejected(other.to_string()),
        })?;
        self.lock().insert(key, sid.clone());
        Ok(sid)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.session_content.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn rejected(message: String) -> TransportError {
    TransportError::Rejected { code: None, message }
}

/// FNV-1a: a stable short name for a piece of content.
fn fingerprint(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Interactive and location content as a Content API type.
fn session_content(content: &MessageContent) -> Result<Option<ProviderContent>, TransportError> {
    let with_footer = |body: &str, footer: &Option<String>| match footer {
        Some(f) => format!("{body}\n\n{f}"),
        None => body.to_owned(),
    };
    Ok(Some(match content {
        MessageContent::Interactive { interactive } => match interactive {
            Interactive::Buttons { body, buttons, footer } => ProviderContent::QuickReply {
                body: with_footer(body, footer),
                buttons: buttons.clone(),
            },
            Interactive::List { body, button_label, sections, footer } => {
                ProviderContent::ListPicker {
                    body: with_footer(body, footer),
                    button: button_label.clone(),
                    items: sections.iter().flat_map(|s| s.rows.iter().cloned()).collect(),
                }
            }
            Interactive::CallToAction { body, display_text, url, footer } => {
                ProviderContent::CallToAction {
                    body: with_footer(body, footer),
                    actions: vec![TemplateAction::Url {
                        title: display_text.clone(),
                        url: url.clone(),
                    }],
                }
            }
            Interactive::Card { title, subtitle, media_url, buttons } => ProviderContent::Card {
                title: title.clone(),
                subtitle: subtitle.clone(),
                media: media_url.iter().cloned().collect(),
                actions: buttons
                    .iter()
                    .map(|b| TemplateAction::QuickReply {
                        title: b.title.clone(),
                        id: b.id.clone(),
                    })
                    .collect(),
            },
            Interactive::Catalog { catalog_id, header, body, footer, sections } => {
                ProviderContent::Catalog {
                    catalog_id: catalog_id.clone(),
                    title: header.clone(),
                    subtitle: footer.clone(),
                    body: body.clone(),
                    items: sections
                        .iter()
                        .flat_map(|s| s.skus.iter().map(|sku| (sku.clone(), s.title.clone())))
                        .collect(),
                }
            }
            Interactive::Reply { .. } => {
                return Err(rejected("a customer's reply cannot be sent".into()));
            }
        },
        MessageContent::Location { latitude, longitude, label, .. } => ProviderContent::Location {
            latitude: *latitude,
            longitude: *longitude,
            label: label.clone(),
        },
        MessageContent::Order { .. } | MessageContent::Unsupported { .. } => {
            return Err(rejected("a customer's message cannot be sent".into()));
        }
        _ => return Ok(None),
    }))
}

#[async_trait]
impl Transport for TwilioTransport {
    async fn send(&self, message: &OutboundMessage) -> Result<SendReceipt, TransportError> {
        let sid = match session_content(&message.content)? {
            Some(content) => Some(self.session_content_sid(content).await?),
            None => None,
        };
        let form = self.form_fields(message, sid.as_deref())?;
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.api.config.api_base, self.api.config.account_sid
        );
        match self.api.run(self.api.request(Method::POST, url).form(&form)).await {
            Outcome::Success(body) => {
                let created: Created =
                    serde_json::from_slice(&body).map_err(|e| TransportError::OutcomeUnknown {
                        message: format!("accepted with an unreadable response: {e}"),
                    })?;
                let status = created
                    .status
                    .as_deref()
                    .and_then(map_message_status)
                    .unwrap_or(MessageStatus::Queued);
                Ok(SendReceipt { provider_id: created.sid, status })
            }
            Outcome::Failure(f) => Err(f.into()),
            Outcome::Network { message, maybe_sent: false } => {
                Err(TransportError::Unavailable { code: None, message, retry_after: None })
            }
            Outcome::Network { message, maybe_sent: true } => {
                Err(TransportError::OutcomeUnknown { message })
            }
        }
    }
}
