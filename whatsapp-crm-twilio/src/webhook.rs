//! Twilio webhooks parsed into core events (platform-rules 5.2 and 5.4).
//!
//! Twilio adds parameters without notice, and the signature covers every one
//! of them. A message the parser cannot fully read (a native cart, a type it
//! does not know) keeps every parameter outside [`KNOWN_PARAMS`] raw, and a
//! message with nothing readable is never turned into empty text.
//!
//! Native carts: Twilio does not document how it relays a cart sent from
//! WhatsApp's catalog (commerce reference 1.4). A message is read as one when
//! `MessageType` is `order`, or when any parameter holds JSON with Meta's
//! `order` shape (`product_items` of `product_retailer_id`, `quantity`,
//! `item_price`, `currency`), at its top or under `order`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use whatsapp_crm_core::{
    InboundMessage, Interactive, MediaAttachment, MessageContent, MessageId, OrderedItem,
    PhoneNumber, Referral, StatusUpdate,
};

use crate::transport::{MESSAGE_ID_PARAM, map_message_status};

/// Most media items one inbound message is read with (Twilio sends up to 10).
pub const MAX_INBOUND_MEDIA: usize = 10;
/// Most lines read from a native cart (WhatsApp carts hold at most 100 lines,
/// as orders do).
pub const MAX_ORDER_ITEMS: usize = 100;

/// Inbound parameters Twilio documents, read or deliberately ignored; any
/// other is kept raw on orders and unreadable messages.
pub const KNOWN_PARAMS: &[&str] = &[
    "AccountSid",
    "AddOns",
    "Address",
    "ApiVersion",
    "Body",
    "ButtonPayload",
    "ButtonText",
    "ButtonType",
    "Forwarded",
    "FrequentlyForwarded",
    "From",
    "Label",
    "Latitude",
    "ListId",
    "ListTitle",
    "Longitude",
    "MessageSid",
    "MessageType",
    "MessagingServiceSid",
    "NumMedia",
    "NumSegments",
    "OriginalRepliedMessageSender",
    "OriginalRepliedMessageSid",
    "ProfileName",
    "ReferralBody",
    "ReferralCtwaClid",
    "ReferralHeadline",
    "ReferralMediaContentType",
    "ReferralMediaId",
    "ReferralMediaUrl",
    "ReferralNumMedia",
    "ReferralSourceId",
    "ReferralSourceType",
    "ReferralSourceUrl",
    "SmsMessageSid",
    "SmsSid",
    "SmsStatus",
    "To",
    "WaId",
];

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

    /// Every parameter outside [`KNOWN_PARAMS`] (the first value of each).
    pub fn unknown(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (k, v) in &self.0 {
            if !KNOWN_PARAMS.contains(&k.as_str()) && !is_media_param(k) {
                out.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        out
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
    } else if let Some(order) = native_order(p) {
        order
    } else if let Some(id) = p.get("ListId") {
        MessageContent::Interactive {
            interactive: Interactive::Reply {
                payload: Some(id.to_owned()),
                title: p.get("ListTitle").or(body.as_deref()).unwrap_or(id).to_owned(),
            },
        }
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
    } else if let Some(body) = body {
        MessageContent::Text { body }
    } else {
        MessageContent::Unsupported {
            message_type: p.get("MessageType").map(str::to_owned),
            params: p.unknown(),
        }
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

fn is_media_param(name: &str) -> bool {
    ["MediaUrl", "MediaContentType"].iter().any(|p| {
        name.strip_prefix(p).is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// A cart sent from WhatsApp's catalog, if the message is one (see the
/// module docs); `Unsupported` when it says it is an order but no cart can
/// be read from it.
fn native_order(p: &WebhookParams) -> Option<MessageContent> {
    let said_order = p.get("MessageType").is_some_and(|t| t.eq_ignore_ascii_case("order"));
    let found = p.pairs().find_map(|(_, v)| {
        let v = v.trim_start();
        if !v.starts_with('{') {
            return None;
        }
        let json: Value = serde_json::from_str(v).ok()?;
        let order = if json.get("product_items").is_some() { &json } else { json.get("order")? };
        order_items(order).map(|items| (order.clone(), items))
    });
    match found {
        Some((order, items)) => Some(MessageContent::Order {
            catalog_id: order.get("catalog_id").and_then(Value::as_str).map(str::to_owned),
            text: order.get("text").and_then(Value::as_str).map(str::to_owned),
            items,
            params: p.unknown(),
        }),
        None if said_order => Some(MessageContent::Unsupported {
            message_type: p.get("MessageType").map(str::to_owned),
            params: p.unknown(),
        }),
        None => None,
    }
}

/// The lines of Meta's `order` object; `None` unless every line is readable.
fn order_items(order: &Value) -> Option<Vec<OrderedItem>> {
    let lines = order.get("product_items")?.as_array()?;
    if lines.is_empty() || lines.len() > MAX_ORDER_ITEMS {
        return None;
    }
    lines
        .iter()
        .map(|l| {
            let sku = l.get("product_retailer_id")?.as_str()?.trim().to_owned();
            let quantity = match l.get("quantity")? {
                Value::Number(n) => n.as_u64()?,
                Value::String(s) => s.trim().parse().ok()?,
                _ => return None,
            };
            let item_price = match l.get("item_price") {
                Some(Value::Number(n)) => n.as_f64(),
                Some(Value::String(s)) => s.trim().parse().ok(),
                _ => None,
            };
            (!sku.is_empty() && quantity > 0).then(|| OrderedItem {
                sku,
                quantity: u32::try_from(quantity).unwrap_or(u32::MAX),
                item_price: item_price.filter(|p| p.is_finite() && *p >= 0.0),
                currency: l.get("currency").and_then(Value::as_str).map(str::to_owned),
            })
        })
        .collect()
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
