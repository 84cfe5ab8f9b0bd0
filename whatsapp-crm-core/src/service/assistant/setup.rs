//! The assistant's settings, FAQs and intents. Every change to FAQs or
//! intents bumps the business's data version; the training worker retrains
//! from it (never per message).

use crate::domain::{
    AssistantSettings, BusinessId, ClassifierChoice, Faq, FaqId, Intent, IntentAction, IntentId,
    NewFaq, NewIntent, ValidationError,
};
use crate::ports::{AssistantQuery, Page, to_storage_precision};
use crate::service::{ServiceError, page_params};

use super::{Assistant, starter_intents};

/// Most FAQs a business may keep.
pub const ASSISTANT_FAQS_MAX: u32 = 1_000;
/// Most intents a business may keep.
pub const ASSISTANT_INTENTS_MAX: u32 = 200;
/// FAQs read at once when checking which ones name an intent.
const FAQ_PAGE: u32 = 200;

/// Paging for FAQs and intents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssistantListParams {
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl Assistant {
    /// The business's assistant settings.
    pub async fn settings(&self, business: BusinessId) -> Result<AssistantSettings, ServiceError> {
        Ok(self.storage.get_business(business).await?.assistant)
    }

    /// Replaces the settings (fields left out take their defaults). Turning
    /// the assistant on for the first time, with no intents of its own,
    /// adds the starter intents. `NotConfigured` when the LLM classifier is
    /// chosen and the server has none.
    pub async fn set_settings(
        &self,
        business: BusinessId,
        input: AssistantSettings,
    ) -> Result<AssistantSettings, ServiceError> {
        let settings = input.validate()?;
        if settings.classifier == ClassifierChoice::Groq && self.runtime.llm.is_none() {
            return Err(ServiceError::NotConfigured {
                what: "the groq classifier (GROQ_API_KEY)".into(),
            });
        }
        let mut b = self.storage.get_business(business).await?;
        if settings.enabled && !b.assistant.enabled {
            self.seed(business, b.commerce.enabled).await?;
        }
        b.assistant = settings.clone();
        self.storage.update_business(&b).await?;
        Ok(settings)
    }

    /// Adds the starter intents when the business has none.
    async fn seed(&self, business: BusinessId, sells: bool) -> Result<(), ServiceError> {
        if self.storage.training_status(business).await?.intents > 0 {
            return Ok(());
        }
        let now = to_storage_precision(self.clock.now());
        for input in starter_intents(sells) {
            let intent = input.validate(business, IntentId::new(), now)?;
            match self.storage.insert_intent(&intent).await {
                // Another request seeded first.
                Ok(()) | Err(crate::ports::StorageError::Conflict { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Lists FAQs in id order.
    pub async fn faqs(
        &self,
        business: BusinessId,
        params: AssistantListParams,
    ) -> Result<Page<Faq>, ServiceError> {
        let (limit, after) = page_params(params.limit, params.cursor.as_deref())?;
        Ok(self.storage.list_faqs(business, &AssistantQuery { limit, after }).await?)
    }

    /// Reads an FAQ.
    pub async fn faq(&self, business: BusinessId, id: FaqId) -> Result<Faq, ServiceError> {
        Ok(self.storage.get_faq(business, id).await?)
    }

    /// Adds an FAQ.
    pub async fn create_faq(
        &self,
        business: BusinessId,
        input: NewFaq,
    ) -> Result<Faq, ServiceError> {
        let now = to_storage_precision(self.clock.now());
        let faq = input.validate(business, FaqId::new(), now)?;
        let status = self.storage.training_status(business).await?;
        if status.faqs >= ASSISTANT_FAQS_MAX {
            return Err(ServiceError::InvalidState {
                message: format!("a business keeps at most {ASSISTANT_FAQS_MAX} FAQs"),
            });
        }
        self.check_faq_intent(business, &faq).await?;
        self.storage.insert_faq(&faq).await?;
        Ok(faq)
    }

    /// Replaces an FAQ's fields.
    pub async fn replace_faq(
        &self,
        business: BusinessId,
        id: FaqId,
        input: NewFaq,
    ) -> Result<Faq, ServiceError> {
        let old = self.storage.get_faq(business, id).await?;
        let now = to_storage_precision(self.clock.now());
        let faq = Faq { created_at: old.created_at, ..input.validate(business, id, now)? };
        self.check_faq_intent(business, &faq).await?;
        self.storage.update_faq(&faq).await?;
        Ok(faq)
    }

    /// Deletes an FAQ.
    pub async fn delete_faq(&self, business: BusinessId, id: FaqId) -> Result<(), ServiceError> {
        Ok(self.storage.delete_faq(business, id).await?)
    }

    /// An FAQ may share an intent only with FAQs: not with an intent that
    /// replies, hands off or looks products up.
    async fn check_faq_intent(&self, business: BusinessId, faq: &Faq) -> Result<(), ServiceError> {
        let Some(name) = &faq.intent else { return Ok(()) };
        let intents = self.all_intents(business).await?;
        match intents.iter().find(|i| &i.name == name) {
            Some(i) if i.action != IntentAction::Faq => Err(ValidationError::field(
                "intent",
                format!("intent {name} is answered by its own action, not by FAQs"),
            )
            .into()),
            _ => Ok(()),
        }
    }

    /// Lists intents in id order.
    pub async fn intents(
        &self,
        business: BusinessId,
        params: AssistantListParams,
    ) -> Result<Page<Intent>, ServiceError> {
        let (limit, after) = page_params(params.limit, params.cursor.as_deref())?;
        Ok(self.storage.list_intents(business, &AssistantQuery { limit, after }).await?)
    }

    /// Reads an intent.
    pub async fn intent(&self, business: BusinessId, id: IntentId) -> Result<Intent, ServiceError> {
        Ok(self.storage.get_intent(business, id).await?)
    }

    /// Adds an intent; `Conflict` when its name is taken.
    pub async fn create_intent(
        &self,
        business: BusinessId,
        input: NewIntent,
    ) -> Result<Intent, ServiceError> {
        let now = to_storage_precision(self.clock.now());
        let intent = input.validate(business, IntentId::new(), now)?;
        if self.storage.training_status(business).await?.intents >= ASSISTANT_INTENTS_MAX {
            return Err(ServiceError::InvalidState {
                message: format!("a business keeps at most {ASSISTANT_INTENTS_MAX} intents"),
            });
        }
        self.check_intent_faqs(business, &intent).await?;
        self.storage.insert_intent(&intent).await?;
        Ok(intent)
    }

    /// Replaces an intent's fields; `Conflict` when renamed onto a taken
    /// name.
    pub async fn replace_intent(
        &self,
        business: BusinessId,
        id: IntentId,
        input: NewIntent,
    ) -> Result<Intent, ServiceError> {
        let old = self.storage.get_intent(business, id).await?;
        let now = to_storage_precision(self.clock.now());
        let intent = Intent { created_at: old.created_at, ..input.validate(business, id, now)? };
        self.check_intent_faqs(business, &intent).await?;
        self.storage.update_intent(&intent).await?;
        Ok(intent)
    }

    /// Deletes an intent (FAQs naming it become an intent of their own
    /// again).
    pub async fn delete_intent(
        &self,
        business: BusinessId,
        id: IntentId,
    ) -> Result<(), ServiceError> {
        Ok(self.storage.delete_intent(business, id).await?)
    }

    /// An intent that FAQs name must be answered by them.
    async fn check_intent_faqs(
        &self,
        business: BusinessId,
        intent: &Intent,
    ) -> Result<(), ServiceError> {
        if intent.action == IntentAction::Faq {
            return Ok(());
        }
        let mut after = None;
        loop {
            let page = self
                .storage
                .list_faqs(business, &AssistantQuery { limit: FAQ_PAGE, after })
                .await?;
            if page.items.iter().any(|f| f.intent.as_deref() == Some(intent.name.as_str())) {
                return Err(ValidationError::field(
                    "action",
                    format!("FAQs answer intent {}; its action must be faq", intent.name),
                )
                .into());
            }
            match (page.next_cursor, page.items.last()) {
                (Some(_), Some(last)) => after = Some(last.id),
                _ => return Ok(()),
            }
        }
    }

    async fn all_intents(&self, business: BusinessId) -> Result<Vec<Intent>, ServiceError> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .storage
                .list_intents(business, &AssistantQuery { limit: FAQ_PAGE, after })
                .await?;
            let last = page.items.last().map(|i| i.id);
            out.extend(page.items);
            match (page.next_cursor, last) {
                (Some(_), Some(id)) => after = Some(id),
                _ => return Ok(out),
            }
        }
    }
}
