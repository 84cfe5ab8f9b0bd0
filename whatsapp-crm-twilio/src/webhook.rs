//! Twilio webhooks parsed into core events (platform-rules 5.2 and 5.4).
//!
//! Parameters the parser does not use are ignored: Twilio adds new ones without
//! notice, and the signature already covers every one of them.

use chrono::{DateTime, Utc};
use whatsapp_crm_core::{
    InboundMessage, Interactive, MediaAttachment, MessageContent, MessageId, PhoneNumber, Referral,
    StatusUpdate,
};

use crate::transport::{MESSAGE_ID_PARAM, map_message_status};

/// Most media items one inbound message is read with (Twilio sends up to 10).
pub const MAX_INBOUND_MEDIA: usize = 10;

/// Why a webhook could not be read. Never contains phone numbers or message text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The body is not form-encoded UTF-8.
    #[error("webhook body is not a form")]
    NotAForm,
    /// A required parameter is absent or empty.
    #[error("webhook is missing {0}")]
    Missing(&'static str),
    /// A parameter has a value the parser cannot use.
    #[error("webhook parameter {name} is invalid: {reason}")]
    Invalid {
        /// Parameter name.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// Decoded form parameters in the order received (names may repeat).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookParams(Vec<(String, String)>);

impl WebhookParams {
    /// Decodes an `application/x-www-form-urlencoded` body.
    pub fn parse_form(body: &[u8]) -> Result<Self, WebhookError> {
        std::str::from_utf8(body).map_err(|_| WebhookError::NotAForm)?;
        Ok(Self(
            form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect(),
        ))
    }

    /// Parameters from pairs.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }

    /// Every pair, for signature validation.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The first value of `name`, if present and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    fn require(&self, name: &'static str) -> Result<&str, WebhookError> {
        self.get(name).ok_or(WebhookError::Missing(name))
    }

    fn phone(&self, name: &'static str) -> Result<PhoneNumber, WebhookError> {
        PhoneNumber::parse(self.require(name)?)
            .map_err(|e| WebhookError::Invalid { name, reason: e.to_string() })
    }

    fn number<T: std::str::FromStr>(&self, name: &'static str) -> Result<Option<T>, WebhookError> {
        self.get(name)
            .map(|v| {
                v.trim()
                    .parse::<T>()
                    .map_err(|_| WebhookError::Invalid { name, reason: "not a number".into() })
            })
            .transpose()
    }
}

/// Reads an inbound-message webhook.
pub fn parse_inbound(
    p: &WebhookParams,
    received_at: DateTime<Utc>,
) -> Result<InboundMessage, WebhookError> {
    let provider_id = p.require("MessageSid")?.to_owned();
    // WaId (the sender's digits) stands in when a proxy drops `From`.
    let from = match (p.get("From"), p.get("WaId")) {
        (None, Some(wa_id)) => PhoneNumber::parse(&format!("+{wa_id}"))
            .map_err(|e| WebhookError::Invalid { name: "WaId", reason: e.to_string() })?,
        _ => p.phone("From")?,
    };
    let to = p.phone("To")?;
    let body = p.get("Body").map(str::to_owned);
    let num_media: usize = p.number("NumMedia")?.unwrap_or(0);
    if num_media > MAX_INBOUND_MEDIA {
        return Err(WebhookError::Invalid {
            name: "NumMedia",
            reason: format!("more than {MAX_INBOUND_MEDIA}"),
        });
    }
    let content = if num_media > 0 {
        let mut media = Vec::with_capacity(num_media);
        for i in 0..num_media {
            let url = p.get(&format!("MediaUrl{i}")).ok_or(WebhookError::Missing("MediaUrlN"))?;
            let content_type = p.get(&format!("MediaContentType{i}")).map(str::to_owned);
            media.push(MediaAttachment { url: url.to_owned(), content_type });
        }
        MessageContent::Media { media, caption: body }
    } else if let Some(title) =
        p.get("ButtonText").or_else(|| p.get("ButtonPayload").and(body.as_deref()))
    {
        MessageContent::Interactive {
            interactive: Interactive::Reply {
                payload: p.get("ButtonPayload").map(str::to_owned),
                title: title.to_owned(),
            },
        }
    } else if let (Some(lat), Some(lon)) =
        (p.number::<f64>("Latitude")?, p.number::<f64>("Longitude")?)
    {
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
            return Err(WebhookError::Invalid { name: "Latitude", reason: "out of range".into() });
        }
        MessageContent::Location {
            latitude: lat,
            longitude: lon,
            label: p.get("Label").map(str::to_owned),
            address: p.get("Address").map(str::to_owned),
        }
    } else {
        MessageContent::Text { body: body.unwrap_or_default() }
    };
    let referral = p.get("ReferralSourceId").or(p.get("ReferralSourceUrl")).map(|_| Referral {
        source_id: p.get("ReferralSourceId").map(str::to_owned),
        source_type: p.get("ReferralSourceType").map(str::to_owned),
        source_url: p.get("ReferralSourceUrl").map(str::to_owned),
        headline: p.get("ReferralHeadline").map(str::to_owned),
        body: p.get("ReferralBody").map(str::to_owned),
    });
    Ok(InboundMessage {
        provider_id,
        from,
        to,
        profile_name: p.get("ProfileName").map(str::to_owned),
        content,
        replied_to: p.get("OriginalRepliedMessageSid").map(str::to_owned),
        forwarded: p.get("Forwarded").is_some_and(|v| v.eq_ignore_ascii_case("true")),
        referral,
        received_at,
    })
}

/// Reads a status callback. `query` is the callback URL's query string, which
/// carries our message id when the message was sent with a status callback.
pub fn parse_status(
    p: &WebhookParams,
    query: Option<&str>,
    reported_at: DateTime<Utc>,
) -> Result<StatusUpdate, WebhookError> {
    let provider_id = p.require("MessageSid")?.to_owned();
    let raw = p
        .get("MessageStatus")
        .or(p.get("SmsStatus"))
        .ok_or(WebhookError::Missing("MessageStatus"))?;
    let status = map_message_status(raw).ok_or_else(|| WebhookError::Invalid {
        name: "MessageStatus",
        reason: "unknown status".into(),
    })?;
    let message_id = query
        .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == MESSAGE_ID_PARAM))
        .map(|(_, v)| {
            v.parse::<MessageId>().map_err(|_| WebhookError::Invalid {
                name: "message_id",
                reason: "not a message id".into(),
            })
        })
        .transpose()?;
    Ok(StatusUpdate {
        provider_id,
        message_id,
        status,
        error_code: p.number("ErrorCode")?,
        error_message: p.get("ErrorMessage").or(p.get("ChannelStatusMessage")).map(str::to_owned),
        reported_at,
    })
}
