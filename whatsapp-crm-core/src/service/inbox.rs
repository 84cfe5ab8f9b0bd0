//! Inbound traffic: messages customers send and delivery reports, applied
//! idempotently (providers deliver webhooks more than once, and out of order).

use std::sync::Arc;

use crate::domain::{
    Author, BusinessId, ConsentSource, Conversation, Customer, CustomerId, Direction,
    InboundMessage, MarketingConsent, Message, MessageContent, MessageId, MessageStatus,
    StatusTimes, StatusUpdate,
};
use crate::policy::KeywordAction;
use crate::ports::{Clock, PROVIDER_ID_TAKEN, Storage, StorageError, to_storage_precision};

use super::{Outbound, ServiceError};

/// Provider codes that mean the customer stopped marketing or blocked the
/// business (Meta 131050, Twilio 63014; platform-rules 3.4 and 5.3).
pub const OPT_OUT_ERROR_CODES: &[u32] = &[131_050, 63_014];

/// Records a customer's marketing consent, with its source and time.
pub(crate) async fn set_marketing_consent(
    storage: &dyn Storage,
    business: BusinessId,
    customer: CustomerId,
    opted_in: bool,
    source: ConsentSource,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), ServiceError> {
    let mut c = storage.get_customer(business, customer).await?;
    c.marketing = MarketingConsent::set(opted_in, source, at);
    c.updated_at = at;
    Ok(storage.update_customer(&c).await?)
}

/// How long after a message arrived a repeated delivery may still get the
/// assistant's turn the first delivery did not finish.
pub const REDELIVERY_ANSWER_MINUTES: i64 = 10;

/// What receiving one inbound message did.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// The stored message (the earlier copy, for a repeated delivery).
    pub message: Message,
    /// The customer, created on first contact.
    pub customer: Customer,
    /// The conversation the message joined.
    pub conversation: Conversation,
    /// True when the provider had delivered this message before.
    pub duplicate: bool,
    /// A consent keyword the message carried, already applied.
    pub keyword: Option<KeywordAction>,
    /// The cart command the message carried, already carried out (when the
    /// business sells in chat); `None` means it goes on to the conversation.
    pub cart: Option<super::CartHandled>,
    /// What the assistant did with it (a text neither a keyword nor a cart
    /// command, when the business turned the assistant on).
    pub assistant: Option<super::Responded>,
}

/// What applying one delivery report did.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusApplied {
    /// The message after the report.
    pub message: Message,
    /// False when the report was stale or repeated and changed nothing.
    pub changed: bool,
    /// True when the report's error code opted the customer out.
    pub opted_out: bool,
}

/// Inbound messages and delivery reports.
#[derive(Clone)]
pub struct Inbox {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
    team: super::TeamInbox,
    recommend: Option<super::Recommendations>,
}

fn text_of(m: &InboundMessage) -> Option<&str> {
    match &m.content {
        crate::domain::MessageContent::Text { body } => Some(body),
        _ => None,
    }
}

impl Inbox {
    /// An inbox over `storage` with its own assistant and live feed.
    pub fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>) -> Self {
        let runtime = Arc::new(super::AssistantRuntime::new());
        let assistant = super::Assistant::new(Arc::clone(&storage), Arc::clone(&clock), runtime);
        let team = super::TeamInbox::new(
            Arc::clone(&storage),
            Arc::clone(&clock),
            Arc::default(),
            assistant,
        );
        Self::with_team(storage, clock, team)
    }

    /// An inbox that answers with `team`'s assistant and routes to its
    /// people.
    pub fn with_team(
        storage: Arc<dyn Storage>,
        clock: Arc<dyn Clock>,
        team: super::TeamInbox,
    ) -> Self {
        Self { storage, clock, team, recommend: None }
    }

    /// Suggests products in cart replies from `recommend`'s models.
    pub fn with_recommendations(mut self, recommend: super::Recommendations) -> Self {
        self.recommend = Some(recommend);
        self
    }

    /// Stores a message a customer sent: creates the customer on first contact,
    /// keeps their profile name, joins (or opens) their conversation, opens the
    /// 24-hour window, and applies a consent keyword of the business's
    /// [`KeywordConfig`](crate::policy::KeywordConfig), queueing its
    /// confirmation. Otherwise, when the business sells in chat, a cart
    /// command (typed, tapped, or a WhatsApp cart) drives the customer's cart
    /// ([`Carts::handle`](super::Carts::handle)). A repeated delivery of the
    /// same provider message is stored once and changes nothing more.
    pub async fn receive(
        &self,
        business: BusinessId,
        mut inbound: InboundMessage,
    ) -> Result<Received, ServiceError> {
        let s = &self.storage;
        let now = self.clock.now();
        // Provider times can be finer than storage keeps; store what reads back.
        inbound.received_at = to_storage_precision(inbound.received_at);
        if let Some(existing) =
            s.find_message_by_provider_id(business, &inbound.provider_id).await?
        {
            return self.already_received(business, existing).await;
        }
        let customer = self.customer_for(business, &inbound, now).await?;
        let conversation = match s.latest_conversation(business, customer.id).await? {
            Some(c) => c,
            None => {
                let c = Conversation::new(business, customer.id, now);
                s.insert_conversation(&c).await?;
                c
            }
        };
        let message = Message {
            id: MessageId::new(),
            business_id: business,
            conversation_id: conversation.id,
            customer_id: customer.id,
            direction: Direction::Inbound,
            content: inbound.content.clone(),
            status: MessageStatus::Received,
            provider_id: Some(inbound.provider_id.clone()),
            error_code: None,
            times: StatusTimes { received_at: Some(inbound.received_at), ..StatusTimes::default() },
            created_at: inbound.received_at,
            author: Author::Customer,
            decision: None,
        };
        match s.insert_message(&message).await {
            Ok(()) => {}
            // Two deliveries raced; the other one stored it.
            Err(StorageError::Conflict { constraint, .. }) if constraint == PROVIDER_ID_TAKEN => {
                if let Some(existing) =
                    s.find_message_by_provider_id(business, &inbound.provider_id).await?
                {
                    return self.already_received(business, existing).await;
                }
            }
            Err(e) => return Err(e.into()),
        }
        let mut conversation = conversation;
        conversation.last_inbound_at = conversation.last_inbound_at.max(Some(inbound.received_at));
        conversation.last_message_at = conversation.last_message_at.max(Some(inbound.received_at));
        conversation.updated_at = now;
        s.update_conversation(&conversation).await?;

        let shop = s.get_business(business).await?;
        let keywords = &shop.keywords;
        let keyword = text_of(&inbound).and_then(|t| keywords.action(t));
        if let Some(action) = keyword {
            self.set_consent(
                business,
                customer.id,
                action == KeywordAction::OptIn,
                ConsentSource::Keyword,
            )
            .await?;
        }
        let customer = s.get_customer(business, customer.id).await?;
        if let Some(reply) = keyword.and_then(|k| keywords.reply(k)) {
            let now = to_storage_precision(now);
            Outbound::new(s.clone(), self.clock.clone())
                .queue(
                    business,
                    &customer,
                    MessageContent::text(reply),
                    None,
                    now,
                    now,
                    Author::Automation,
                )
                .await?;
        }
        let cart = match keyword {
            Some(_) => None,
            None => {
                super::Carts::new(Arc::clone(s), Arc::clone(&self.clock))
                    .with_recommendations(self.recommend.clone())
                    .handle(&shop, &customer, &inbound.content)
                    .await?
            }
        };
        // While a person holds the conversation the assistant stays quiet.
        let assistant = match (keyword, &cart, conversation.assigned_agent) {
            (None, None, None) => {
                self.team.assistant().respond(&shop, &customer, &conversation, &message).await?
            }
            _ => None,
        };
        let handled = keyword.is_some() || cart.is_some();
        let decision = assistant.as_ref().map(|a| &a.decision);
        let conversation =
            self.team.customer_wrote(&shop, &customer, &message, decision, handled).await?;
        Ok(Received { message, customer, conversation, duplicate: false, keyword, cart, assistant })
    }

    async fn already_received(
        &self,
        business: BusinessId,
        message: Message,
    ) -> Result<Received, ServiceError> {
        let customer = self.storage.get_customer(business, message.customer_id).await?;
        let conversation = self.storage.get_conversation(business, message.conversation_id).await?;
        // The first delivery may have died between storing the message and
        // the assistant's turn: a recent text nothing else handled, never
        // decided, gets its turn now (the turn is written once, whatever
        // several deliveries do).
        let assistant = match &message.content {
            MessageContent::Text { body }
                if message.decision.is_none()
                    && self.clock.now() - message.created_at
                        < chrono::Duration::minutes(REDELIVERY_ANSWER_MINUTES) =>
            {
                let shop = self.storage.get_business(business).await?;
                let keyword = shop.keywords.action(body).is_some();
                let cart = shop.commerce.enabled
                    && super::commerce::command_of(&message.content).is_some();
                if keyword || cart || conversation.assigned_agent.is_some() {
                    None
                } else {
                    let r = self
                        .team
                        .assistant()
                        .respond(&shop, &customer, &conversation, &message)
                        .await?;
                    self.team
                        .customer_wrote(
                            &shop,
                            &customer,
                            &message,
                            r.as_ref().map(|r| &r.decision),
                            false,
                        )
                        .await?;
                    r
                }
            }
            _ => None,
        };
        Ok(Received {
            message,
            customer,
            conversation,
            duplicate: true,
            keyword: None,
            cart: None,
            assistant,
        })
    }

    async fn customer_for(
        &self,
        business: BusinessId,
        inbound: &InboundMessage,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Customer, ServiceError> {
        let s = &self.storage;
        if let Some(mut c) = s.find_customer_by_phone(business, &inbound.from).await? {
            if inbound.profile_name.is_some() && c.name.is_none() {
                c.name = inbound.profile_name.clone();
                c.updated_at = now;
                s.update_customer(&c).await?;
            }
            return Ok(c);
        }
        let mut c = crate::domain::NewCustomer::with_phone(inbound.from.as_str())
            .validate(business, now)?;
        c.name = inbound.profile_name.clone().filter(|n| !n.trim().is_empty());
        match s.insert_customer(&c).await {
            Ok(()) => Ok(c),
            // First messages from one customer raced; use the stored one.
            Err(StorageError::Conflict { .. }) => s
                .find_customer_by_phone(business, &inbound.from)
                .await?
                .ok_or_else(|| ServiceError::from(StorageError::not_found("customer"))),
            Err(e) => Err(e.into()),
        }
    }

    async fn set_consent(
        &self,
        business: BusinessId,
        customer: CustomerId,
        opted_in: bool,
        source: ConsentSource,
    ) -> Result<(), ServiceError> {
        set_marketing_consent(
            &*self.storage,
            business,
            customer,
            opted_in,
            source,
            self.clock.now(),
        )
        .await
    }

    /// Applies a delivery report. Statuses only move forward, so repeated or
    /// late reports change nothing; an opt-out error code opts the customer out.
    pub async fn apply_status(
        &self,
        business: BusinessId,
        mut report: StatusUpdate,
    ) -> Result<StatusApplied, ServiceError> {
        let s = &self.storage;
        report.reported_at = to_storage_precision(report.reported_at);
        let found = match report.message_id {
            Some(id) => match s.get_message(business, id).await {
                Ok(m) => Some(m),
                Err(StorageError::NotFound { .. }) => None,
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        let mut message = match found {
            Some(m) => m,
            None => s
                .find_message_by_provider_id(business, &report.provider_id)
                .await?
                .ok_or(StorageError::not_found("message"))?,
        };
        let mut changed = false;
        if message.provider_id.is_none() {
            message.provider_id = Some(report.provider_id.clone());
            changed = true;
        }
        changed |= message.apply_status(report.status, report.reported_at, report.error_code);
        if changed {
            s.update_message(&message).await?;
        }
        // A send whose outcome was unknown is settled by what the provider reports.
        if message.direction == Direction::Outbound
            && (report.status.rank().is_some_and(|r| r >= 2) || report.status.is_failure())
        {
            s.settle_unknown(business, message.id, !report.status.is_failure(), report.reported_at)
                .await?;
        }
        let opted_out = report.error_code.is_some_and(|c| OPT_OUT_ERROR_CODES.contains(&c));
        if opted_out {
            self.set_consent(business, message.customer_id, false, ConsentSource::Provider).await?;
        }
        Ok(StatusApplied { message, changed, opted_out })
    }
}
