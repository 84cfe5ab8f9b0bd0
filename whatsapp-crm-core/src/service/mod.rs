//! Services: the use cases. They load through ports, apply the domain rules,
//! persist, and return typed errors. The reference server and every embedder call
//! these; neither re-implements a rule.

mod businesses;
mod conversations;
mod customers;
mod dispatch;
mod error;
mod inbox;
mod outbound;
mod segments;
mod templates;

use std::sync::Arc;

pub use businesses::Businesses;
pub use conversations::{ConversationListParams, Conversations, MessageView};
pub use customers::{CustomerListParams, Customers};
pub use dispatch::{DispatchConfig, DispatchReport, Dispatcher};
pub use error::ServiceError;
pub use inbox::{Inbox, OPT_OUT_ERROR_CODES, Received, StatusApplied};
pub use outbound::{Outbound, SendMessage, TemplateSend};
pub use segments::{NewSegment, PREVIEW_SAMPLE_DEFAULT, SegmentPatch, Segments};
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
}

impl Crm {
    /// A CRM over `storage` with the system clock.
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        Self { storage, clock: Arc::new(SystemClock), registry: None }
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

    /// Inbound messages and delivery reports.
    pub fn inbox(&self) -> Inbox {
        Inbox::new(self.storage.clone(), self.clock.clone())
    }

    /// Conversations and message history.
    pub fn conversations(&self) -> Conversations {
        Conversations::new(self.storage.clone())
    }

    /// Sending messages to customers.
    pub fn outbound(&self) -> Outbound {
        Outbound::new(self.storage.clone(), self.clock.clone())
    }

    /// Saved segments and previews.
    pub fn segments(&self) -> Segments {
        Segments::new(self.storage.clone(), self.clock.clone())
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
