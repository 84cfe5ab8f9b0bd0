//! Outbound messages: what an agent, a bot or an embedder sends one customer.
//! Content is checked against WhatsApp's limits and the send policy's hard
//! rules before anything is stored; the message and its outbox row are then
//! stored together, and the dispatcher sends it.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::domain::{
    Author, BusinessId, Conversation, Customer, CustomerId, Direction, Message, MessageContent,
    MessageId, MessageStatus, MessageTemplate, OutboxItem, StatusTimes, TemplateCategory,
    TemplateContent, TemplateId, ValidationError,
};
use crate::policy::{SendFacts, SendPolicy, check_content};
use crate::ports::{Clock, Storage, StorageError, to_storage_precision};
use crate::template::{TemplatePlan, customer_values};

use super::ServiceError;

/// An approved template to send, with values for its variables.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TemplateSend {
    /// The template.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub template_id: TemplateId,
    /// Values by variable name; the customer's fields and the variables'
    /// fallbacks fill the rest.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
}

/// One message to one customer: free-form `content` or a `template`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    /// The customer.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub customer_id: CustomerId,
    /// Text, media, interactive or location content (inside the customer's
    /// 24-hour window only).
    #[serde(default)]
    pub content: Option<MessageContent>,
    /// An approved template (anytime).
    #[serde(default)]
    pub template: Option<TemplateSend>,
    /// Byte sizes of the media attachments, in order, when known: checked
    /// against WhatsApp's limits before anything is queued.
    #[serde(default)]
    pub media_sizes: Vec<Option<u64>>,
    /// Send no earlier than this; now by default.
    #[serde(default)]
    pub send_at: Option<DateTime<Utc>>,
}

/// Sending to customers.
#[derive(Clone)]
pub struct Outbound {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
    recommend: Option<super::Recommendations>,
}

impl Outbound {
    /// A service over `storage`.
    pub fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>) -> Self {
        Self { storage, clock, recommend: None }
    }

    /// Fills `recommended_product` from `recommend`'s (cached) models.
    pub fn with_recommendations(mut self, recommend: super::Recommendations) -> Self {
        self.recommend = Some(recommend);
        self
    }

    /// Checks and queues one message; returns it with status `queued`.
    /// Free-form content outside the window, or marketing to a customer who
    /// has not opted in, is refused here (`Refused`) and nothing is stored.
    pub async fn send(
        &self,
        business: BusinessId,
        req: SendMessage,
    ) -> Result<Message, ServiceError> {
        let customer = self.storage.get_customer(business, req.customer_id).await?;
        let (content, category) =
            self.compose(business, &customer, req.content, req.template, &req.media_sizes).await?;
        let now = to_storage_precision(self.clock.now());
        let run_at = req.send_at.map_or(now, |t| to_storage_precision(t).max(now));
        self.queue(business, &customer, content, category, run_at, now, Author::Staff).await
    }

    /// Free-form `content` checked against WhatsApp's limits, or an approved
    /// `template` rendered for the customer: what a person sends.
    pub(crate) async fn compose(
        &self,
        business: BusinessId,
        customer: &Customer,
        content: Option<MessageContent>,
        template: Option<TemplateSend>,
        media_sizes: &[Option<u64>],
    ) -> Result<(MessageContent, Option<TemplateCategory>), ServiceError> {
        Ok(match (content, template) {
            (Some(MessageContent::Template { .. }), _) => {
                return Err(ValidationError::field(
                    "content",
                    "send templates with `template` (its id and values)",
                )
                .into());
            }
            (Some(content), None) => {
                check_content(&content, media_sizes).map_err(|mut v| {
                    for e in &mut v.errors {
                        e.field = format!("content.{}", e.field);
                    }
                    v
                })?;
                (content, None)
            }
            (None, Some(t)) => self.template_content(business, customer, t).await?,
            _ => {
                return Err(
                    ValidationError::field("content", "give either content or template").into()
                );
            }
        })
    }

    /// Checks `content` against WhatsApp's limits and queues it to
    /// `customer` now: a reply in their conversation, by `author`.
    pub(crate) async fn reply(
        &self,
        business: BusinessId,
        customer: &Customer,
        content: MessageContent,
        author: Author,
    ) -> Result<Message, ServiceError> {
        check_content(&content, &[])?;
        let now = to_storage_precision(self.clock.now());
        self.queue(business, customer, content, None, now, now, author).await
    }

    /// Stores a message to `customer` and its outbox row due at `run_at`,
    /// after the policy's hard rules (window, consent) pass at `now`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn queue(
        &self,
        business: BusinessId,
        customer: &Customer,
        content: MessageContent,
        category: Option<TemplateCategory>,
        run_at: DateTime<Utc>,
        now: DateTime<Utc>,
        author: Author,
    ) -> Result<Message, ServiceError> {
        let mut row = self.prepare(business, customer, content, category, run_at, now).await?;
        row.0.author = author;
        self.storage.queue_messages(std::slice::from_ref(&row)).await?;
        Ok(row.0)
    }

    /// The message to `customer` and its outbox row, not yet stored, after
    /// the policy's hard rules (window, consent) pass at `now`; opens a
    /// conversation when the customer has none. The message's author is
    /// [`Author::Automation`]; callers sending for someone else set it.
    pub(crate) async fn prepare(
        &self,
        business: BusinessId,
        customer: &Customer,
        content: MessageContent,
        category: Option<TemplateCategory>,
        run_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(Message, OutboxItem), ServiceError> {
        let s = &self.storage;
        let sender = s.get_business(business).await?.whatsapp_sender;
        let conversation = match s.latest_conversation(business, customer.id).await? {
            Some(c) => c,
            None => {
                let c = Conversation::new(business, customer.id, now);
                s.insert_conversation(&c).await?;
                c
            }
        };
        // Quiet hours and the frequency cap only delay; the dispatcher applies
        // them. What can never pass is refused now.
        let hard =
            SendPolicy { marketing_cap: u32::MAX, quiet_hours: None, ..SendPolicy::default() };
        hard.check(&SendFacts {
            now: run_at,
            time_zone: crate::domain::TimeZone::UTC,
            kind: content.kind(),
            category,
            window_open: conversation.window_open(run_at),
            consent: customer.marketing.status,
            recent_marketing: Vec::new(),
        })
        .map_err(ServiceError::Refused)?;
        let message = Message {
            id: MessageId::new(),
            business_id: business,
            conversation_id: conversation.id,
            customer_id: customer.id,
            direction: Direction::Outbound,
            content,
            status: MessageStatus::Queued,
            provider_id: None,
            error_code: None,
            times: StatusTimes { queued_at: Some(now), ..StatusTimes::default() },
            created_at: now,
            author: Author::Automation,
            decision: None,
        };
        let mut item =
            OutboxItem::new(business, message.id, sender, customer.phone.clone(), run_at, now);
        item.category = category;
        Ok((message, item))
    }

    /// The approved version of a template, rendered for the customer.
    pub(crate) async fn template_content(
        &self,
        business: BusinessId,
        customer: &Customer,
        req: TemplateSend,
    ) -> Result<(MessageContent, Option<TemplateCategory>), ServiceError> {
        let (t, content, content_sid) =
            approved_content(&*self.storage, business, req.template_id).await?;
        let plan = TemplatePlan::compile(&content)
            .map_err(|e| ValidationError::field("template", e.to_string()))?;
        let mut values = customer_values(customer);
        let key = crate::template::RECOMMENDED_PRODUCT;
        if plan.variables().any(|v| v == key) && !req.values.contains_key(key) {
            let recommend = self.recommend.clone().unwrap_or_else(|| {
                super::Recommendations::uncached(Arc::clone(&self.storage), Arc::clone(&self.clock))
            });
            if let Some(name) =
                recommend.top_picks(business, &[customer.id]).await?.remove(&customer.id)
            {
                values.insert(key.to_owned(), name);
            }
        }
        values.extend(req.values);
        let lookup = |name: &str| values.get(name).map(String::as_str);
        let variables = plan
            .content_variables(lookup)
            .map_err(|e| ValidationError::field("template.values", e.to_string()))?;
        let rendered = plan
            .preview(&content, lookup)
            .map_err(|e| ValidationError::field("template.values", e.to_string()))?
            .body;
        Ok((
            MessageContent::Template {
                name: t.name,
                content_sid: Some(content_sid),
                variables,
                rendered: Some(rendered),
            },
            Some(t.category),
        ))
    }
}

/// A template with the content and provider id of its approved version:
/// what is sent, even while a later edit waits for review.
pub(crate) async fn approved_content(
    s: &dyn Storage,
    business: BusinessId,
    id: TemplateId,
) -> Result<(MessageTemplate, TemplateContent, String), ServiceError> {
    let t = s.get_template(business, id).await?;
    let (Some(version), Some(content_sid), None) =
        (t.approved_version, t.approved_provider_id.clone(), t.archived_at)
    else {
        return Err(ServiceError::InvalidState {
            message: format!("template {} has no approved version to send", t.name),
        });
    };
    let content = if version == t.version {
        t.content.clone()
    } else {
        s.list_template_versions(business, t.id)
            .await?
            .into_iter()
            .find(|v| v.version == version)
            .map(|v| v.content)
            .ok_or(StorageError::not_found("template version"))?
    };
    Ok((t, content, content_sid))
}
