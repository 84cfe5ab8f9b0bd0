//! The assistant: answers what the business taught it (FAQs and intents),
//! says when the shop is closed, tells customers when a product is out of
//! stock, and hands the conversation to a person the moment it is unsure or
//! asked to. It never guesses silently: every decision is stored with the
//! message, with its reason.
//!
//! - [`setup`]: settings, FAQs and intents.
//! - [`knowledge`]: what a trained model answers with, cached per data
//!   version.
//! - [`train`]: training on change (a worker) or on demand, never per
//!   message.
//! - [`respond`]: one turn per inbound text, and the dry run behind
//!   `POST /v1/assistant/classify`.

mod knowledge;
mod respond;
mod setup;
mod train;

use std::sync::Arc;

use super::BusinessCache;
use crate::domain::BusinessId;
use crate::ports::{Classifier, Clock, Storage};

pub use knowledge::{STARTER_INTENTS, starter_intents};
pub use respond::{CLASSIFY_TEXT_MAX, ClassifyOutcome, Responded};
pub use setup::{ASSISTANT_FAQS_MAX, ASSISTANT_INTENTS_MAX, AssistantListParams};
pub use train::{TRAIN_BATCH, TrainReport, Trained, TrainingJob};

use knowledge::Knowledge;

/// What every assistant service of one [`Crm`](super::Crm) shares: the LLM
/// classifier, if any, and the models and knowledge loaded so far.
#[derive(Default)]
pub struct AssistantRuntime {
    llm: Option<Arc<dyn Classifier>>,
    cache: BusinessCache<Arc<Knowledge>>,
}

impl std::fmt::Debug for AssistantRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssistantRuntime")
            .field("llm", &self.llm.as_ref().map(|c| c.name()))
            .finish_non_exhaustive()
    }
}

impl AssistantRuntime {
    /// A runtime with the offline models only.
    pub fn new() -> Self {
        Self::default()
    }

    /// A runtime that asks `llm` first (businesses that chose it), falling
    /// back to the offline model.
    pub fn with_llm(llm: Arc<dyn Classifier>) -> Self {
        Self { llm: Some(llm), ..Self::default() }
    }

    /// The same classifier, keeping the knowledge of at most `businesses`
    /// businesses in memory (the least recently used goes first).
    pub fn with_cached_businesses(&self, businesses: usize) -> Self {
        Self { llm: self.llm.clone(), cache: BusinessCache::new(businesses) }
    }

    /// The LLM classifier's name, if one is configured.
    pub fn llm_name(&self) -> Option<&'static str> {
        self.llm.as_ref().map(|c| c.name())
    }

    fn cached(&self, business: BusinessId) -> Option<Arc<Knowledge>> {
        self.cache.get(business)
    }

    fn remember(&self, business: BusinessId, k: Arc<Knowledge>) {
        self.cache.insert(business, k);
    }
}

/// The assistant's use cases.
#[derive(Clone)]
pub struct Assistant {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
    runtime: Arc<AssistantRuntime>,
    recommend: Option<super::Recommendations>,
}

impl Assistant {
    /// The assistant over `storage`.
    pub fn new(
        storage: Arc<dyn Storage>,
        clock: Arc<dyn Clock>,
        runtime: Arc<AssistantRuntime>,
    ) -> Self {
        Self { storage, clock, runtime, recommend: None }
    }

    /// Orders out-of-stock alternatives by what sells (trending, then
    /// popular) from `recommend`'s models instead of catalog order.
    pub fn with_recommendations(mut self, recommend: super::Recommendations) -> Self {
        self.recommend = Some(recommend);
        self
    }
}
