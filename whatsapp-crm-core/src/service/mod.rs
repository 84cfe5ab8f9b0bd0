//! Services: the use cases. They load through ports, apply the domain rules,
//! persist, and return typed errors. The reference server and every embedder call
//! these; neither re-implements a rule.

mod agents;
mod assistant;
mod broadcasts;
mod businesses;
mod cache;
mod campaigns;
mod catalog;
mod commerce;
mod conversations;
mod customers;
mod dispatch;
mod error;
mod inbox;
mod outbound;
mod payments;
mod recommendations;
mod segments;
mod team;
mod templates;

use std::sync::Arc;

pub use agents::{AgentListParams, Agents, Queues};
pub use assistant::{
    ASSISTANT_FAQS_MAX, ASSISTANT_INTENTS_MAX, Assistant, AssistantListParams, AssistantRuntime,
    CLASSIFY_TEXT_MAX, ClassifyOutcome, Responded, STARTER_INTENTS, TRAIN_BATCH, TrainReport,
    Trained, TrainingJob, starter_intents,
};
pub use broadcasts::{
    BroadcastMetrics, BroadcastPreview, BroadcastReport, Broadcasts, LAUNCH_BATCH,
    LAUNCH_BATCHES_PER_ROUND, NewBroadcast, PREVIEW_SAMPLES, QUALITY_ERROR_CODES,
    REPLY_WINDOW_HOURS, SampleMessage, VariantMetrics, auto_pause_reason,
};
pub use businesses::{Businesses, Principal};
pub use cache::{BusinessCache, CACHED_BUSINESSES};
pub use campaigns::{
    CALENDAR_UPCOMING_MAX, CAMPAIGN_NAME_MAX_CHARS, COMPARE_RUNS_MAX, CampaignCalendar,
    CampaignReport, Campaigns, NewCampaign, RunSummary,
};
pub use catalog::Catalog;
pub use commerce::{
    ADD_TO_CART, CartHandled, CartListParams, CartView, Carts, CatalogSectionSend, CatalogSend,
    CommerceSetup, DELIVERY_BODY_MAX_BYTES, DeliveryWebhookError, Discounts, EXPIRY_BATCH,
    ExpiryReport, NOTICE_VARIABLES, NewOrder, NewOrderLine, OrderAction, OrderActionInput,
    OrderListParams, Orders, PartnerReceipt, PartnerReport, PriceFlag, ProductCardSend,
    ProductListSend, ProductMessages, REASON_MAX_CHARS, Shipments, StaffReport, VIEW, command_of,
    parse_status,
};
pub use conversations::{ConversationListParams, Conversations, MessageView};
pub use customers::{CustomerListParams, Customers};
pub use dispatch::{DispatchConfig, DispatchReport, Dispatcher};
pub use error::ServiceError;
pub use inbox::{Inbox, OPT_OUT_ERROR_CODES, REDELIVERY_ANSWER_MINUTES, Received, StatusApplied};
pub use outbound::{Outbound, SendMessage, TemplateSend};
pub use payments::{
    CallbackResult, LinkPage, LinkState, PayWith, PaymentDetail, PaymentListParams, Payments,
    PaymentsConfig, PaymentsReport, SAFARICOM_CALLBACK_IPS, SentLink, WebhookRefused,
};
pub use recommendations::{
    REBUILD_AFTER_MINUTES, RECOMMEND_BATCH, RECOMMEND_K_MAX, RecommendRuntime, Recommendation,
    Recommendations,
};
pub use segments::{NewSegment, PREVIEW_SAMPLE_DEFAULT, SegmentPatch, Segments};
pub use team::{
    DeskRound, FEED_BUFFER, InboxFeed, InboxUpdate, Reply, SNOOZE_MAX_DAYS, TeamInbox, UpdateKind,
    conversation_attributes,
};
pub use templates::{NewTemplate, PreviewRequest, TemplateEdit, TemplateListParams, Templates};

use crate::ports::{Clock, Storage, SystemClock, TemplateRegistry};

/// The SDK's entry point: one storage backend and one clock, shared by every service.
///
/// ```
/// use std::sync::Arc;
/// use whatsapp_crm_core::{Crm, InMemoryStorage, NewBusiness, NewCustomer};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let crm = Crm::new(Arc::new(InMemoryStorage::new()));
/// let shop = crm
///     .businesses()
///     .create(NewBusiness {
///         name: "Mama Mboga".into(),
///         whatsapp_sender: "+254700000001".into(),
///         time_zone: "Africa/Nairobi".into(),
///         currency: "KES".into(),
///     })
///     .await
///     .unwrap();
/// let customer = crm
///     .customers()
///     .create(shop.id, NewCustomer::with_phone("+254 712 345 678"))
///     .await
///     .unwrap();
/// assert_eq!(customer.phone.as_str(), "+254712345678");
/// # });
/// ```
#[derive(Clone)]
pub struct Crm {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
    registry: Option<Arc<dyn TemplateRegistry>>,
    providers:
        Arc<std::collections::BTreeMap<&'static str, Arc<dyn crate::ports::PaymentProvider>>>,
    payments: Option<Arc<PaymentsConfig>>,
    assistant: Arc<AssistantRuntime>,
    feed: Arc<InboxFeed>,
    recommender: Arc<RecommendRuntime>,
    cached_businesses: usize,
}

impl Crm {
    /// A CRM over `storage` with the system clock.
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        Self {
            storage,
            clock: Arc::new(SystemClock),
            registry: None,
            providers: Arc::default(),
            payments: None,
            assistant: Arc::default(),
            feed: Arc::default(),
            recommender: Arc::default(),
            cached_businesses: CACHED_BUSINESSES,
        }
    }

    /// Keeps the trained assistant and recommendation models of at most
    /// `businesses` businesses in memory (default 1,024); the least recently
    /// used are loaded from storage again when next needed.
    pub fn with_cached_businesses(mut self, businesses: usize) -> Self {
        self.cached_businesses = businesses;
        self.assistant = Arc::new(self.assistant.with_cached_businesses(businesses));
        self.recommender = Arc::new(RecommendRuntime::with_cached_businesses(businesses));
        self
    }

    /// Lets businesses that choose it classify with `llm` (Groq) before the
    /// offline model. Without it the assistant opens no connection.
    pub fn with_assistant_llm(mut self, llm: Arc<dyn crate::ports::Classifier>) -> Self {
        let runtime = AssistantRuntime::with_llm(llm);
        self.assistant = Arc::new(runtime.with_cached_businesses(self.cached_businesses));
        self
    }

    /// Agents: who answers customers, and their keys.
    pub fn agents(&self) -> Agents {
        Agents::new(Arc::clone(&self.storage), Arc::clone(&self.clock))
    }

    /// Routing queues.
    pub fn queues(&self) -> Queues {
        Queues::new(Arc::clone(&self.storage), Arc::clone(&self.clock))
    }

    /// The assistant: settings, FAQs, intents, training, turns, hand back.
    pub fn assistant(&self) -> Assistant {
        Assistant::new(
            Arc::clone(&self.storage),
            Arc::clone(&self.clock),
            Arc::clone(&self.assistant),
        )
        .with_recommendations(self.recommendations())
    }

    /// Takes payments through `provider` (M-Pesa, Paystack), under its name.
    pub fn with_payment_provider(
        mut self,
        provider: Arc<dyn crate::ports::PaymentProvider>,
    ) -> Self {
        let mut all = (*self.providers).clone();
        all.insert(provider.name(), provider);
        self.providers = Arc::new(all);
        self
    }

    /// How payments run: the public URL links and callbacks are made from,
    /// and the reconciliation timings.
    pub fn with_payments(mut self, config: PaymentsConfig) -> Self {
        self.payments = Some(Arc::new(config));
        self
    }

    /// Payments: starting them, provider callbacks, links, receipts,
    /// reminders and reconciliation.
    pub fn payments(&self) -> Payments {
        Payments::new(
            Arc::clone(&self.storage),
            Arc::clone(&self.clock),
            Arc::clone(&self.providers),
            self.payments.clone(),
        )
    }

    /// Submits templates for approval through `registry` (Twilio's Content API
    /// in production).
    pub fn with_template_registry(mut self, registry: Arc<dyn TemplateRegistry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Replaces the clock (a `ManualClock` in tests and simulations).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The storage backend.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Businesses and API keys.
    pub fn businesses(&self) -> Businesses {
        Businesses::new(self.storage.clone(), self.clock.clone())
    }

    /// Message templates.
    pub fn templates(&self) -> Templates {
        Templates::new(self.storage.clone(), self.clock.clone(), self.registry.clone())
    }

    /// The team inbox: routing, assignment, and what people do with
    /// conversations.
    pub fn team_inbox(&self) -> TeamInbox {
        TeamInbox::new(
            Arc::clone(&self.storage),
            Arc::clone(&self.clock),
            Arc::clone(&self.feed),
            self.assistant(),
        )
    }

    /// Product recommendations: the models, and answers from them.
    pub fn recommendations(&self) -> Recommendations {
        Recommendations::new(
            Arc::clone(&self.storage),
            Arc::clone(&self.clock),
            Arc::clone(&self.recommender),
        )
    }

    /// The live updates of every business's team inbox.
    pub fn feed(&self) -> &Arc<InboxFeed> {
        &self.feed
    }

    /// Inbound messages and delivery reports.
    pub fn inbox(&self) -> Inbox {
        Inbox::with_team(self.storage.clone(), self.clock.clone(), self.team_inbox())
            .with_recommendations(self.recommendations())
    }

    /// Broadcasts, with the default send policy's frequency cap.
    pub fn broadcasts(&self) -> Broadcasts {
        Broadcasts::new(
            self.storage.clone(),
            self.clock.clone(),
            crate::policy::SendPolicy::default(),
        )
        .with_recommendations(self.recommendations())
    }

    /// Campaigns: broadcasts on a schedule.
    pub fn campaigns(&self) -> Campaigns {
        Campaigns::new(self.storage.clone(), self.clock.clone(), self.broadcasts())
    }

    /// Conversations and message history.
    pub fn conversations(&self) -> Conversations {
        Conversations::new(self.storage.clone())
    }

    /// Sending messages to customers.
    pub fn outbound(&self) -> Outbound {
        Outbound::new(self.storage.clone(), self.clock.clone())
            .with_recommendations(self.recommendations())
    }

    /// Saved segments and previews.
    pub fn segments(&self) -> Segments {
        Segments::new(self.storage.clone(), self.clock.clone())
    }

    /// Products, CSV import and catalog search.
    pub fn catalog(&self) -> Catalog {
        Catalog::new(Arc::clone(&self.storage), Arc::clone(&self.clock))
    }

    /// Customers' carts, and the cart commands arriving in the inbox.
    pub fn carts(&self) -> Carts {
        Carts::new(Arc::clone(&self.storage), Arc::clone(&self.clock))
    }

    /// Orders: staff-created, actions, timelines, notices, expiry.
    pub fn orders(&self) -> Orders {
        Orders::new(Arc::clone(&self.storage), Arc::clone(&self.clock))
    }

    /// Shipments of orders and delivery partner reports.
    pub fn shipments(&self) -> Shipments {
        Shipments::new(Arc::clone(&self.storage), Arc::clone(&self.clock))
    }

    /// Discount codes.
    pub fn discounts(&self) -> Discounts {
        Discounts::new(Arc::clone(&self.storage), Arc::clone(&self.clock))
    }

    /// Product cards, product lists and catalog messages.
    pub fn product_messages(&self) -> ProductMessages {
        ProductMessages::new(Arc::clone(&self.storage), Arc::clone(&self.clock))
    }

    /// Commerce settings and the delivery partner webhook.
    pub fn commerce(&self) -> CommerceSetup {
        CommerceSetup::new(Arc::clone(&self.storage))
    }

    /// Customers.
    pub fn customers(&self) -> Customers {
        Customers::new(self.storage.clone(), self.clock.clone())
    }
}

impl std::fmt::Debug for Crm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crm").finish_non_exhaustive()
    }
}

/// Trims a required text field and checks its length.
pub(crate) fn text_field(
    v: &mut crate::domain::ValidationError,
    field: &str,
    value: &str,
    max: usize,
) -> Option<String> {
    let t = value.trim();
    if t.is_empty() || t.chars().count() > max {
        v.push(field, format!("must be 1 to {max} characters"));
        return None;
    }
    Some(t.to_owned())
}

/// Checks a page size (1–200, default 50) and reads a cursor.
pub fn page_params<Id: std::str::FromStr>(
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<(u32, Option<Id>), crate::domain::ValidationError> {
    let mut v = crate::domain::ValidationError::default();
    let limit = limit.unwrap_or(crate::ports::PAGE_LIMIT_DEFAULT);
    if !(1..=crate::ports::PAGE_LIMIT_MAX).contains(&limit) {
        v.push("limit", format!("must be between 1 and {}", crate::ports::PAGE_LIMIT_MAX));
    }
    let after = cursor.and_then(|c| {
        v.check("cursor", c.parse::<Id>().map_err(|_| "is not a cursor from a previous page"))
    });
    v.into_result(|| (limit, after))
}

/// `InvalidState` for an action its record's status does not allow, naming
/// the status as the API spells it ("cannot pause a broadcast that is draft").
pub(crate) fn not_now(action: &str, record: &str, status: impl serde::Serialize) -> ServiceError {
    let status = serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    ServiceError::InvalidState { message: format!("cannot {action} a {record} that is {status}") }
}
