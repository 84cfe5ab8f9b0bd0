//! Storage of the assistant: FAQs, intents, the trained model, each
//! conversation's assistant state, and the decision stored with each
//! message it considered.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Page, StorageError};
use crate::domain::{
    AssistantState, BusinessId, ConversationId, Decision, Faq, FaqId, Intent, IntentId, Message,
    MessageId, ModelInfo, OutboxItem, TrainingStatus,
};

/// The constraint text used when an intent's name is taken.
pub const INTENT_NAME_TAKEN: &str = "intent name already used";

/// Paging for listing FAQs and intents.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AssistantQuery<Id> {
    /// Page size.
    pub limit: u32,
    /// Continue after this record.
    pub after: Option<Id>,
}

/// Everything a model is trained on, as of one data version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrainingData {
    /// The version these were read at.
    pub data_version: u64,
    /// The active FAQs.
    pub faqs: Vec<Faq>,
    /// Every intent.
    pub intents: Vec<Intent>,
}

/// One assistant turn, written at once: the conversation's new assistant
/// state (only if it is still at `from_rev`), the decision on the inbound
/// message, and the replies with their outbox rows.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnCommit {
    /// The business.
    pub business: BusinessId,
    /// The conversation.
    pub conversation: ConversationId,
    /// The revision of the state the turn read.
    pub from_rev: u32,
    /// The state after the turn.
    pub state: AssistantState,
    /// The inbound message.
    pub message: MessageId,
    /// What was decided about it.
    pub decision: Decision,
    /// Replies to queue.
    pub replies: Vec<(Message, OutboxItem)>,
}

/// FAQs, intents, models, and the assistant's per-conversation state.
#[async_trait]
pub trait AssistantStore: Send + Sync {
    /// Stores an FAQ and bumps the business's training data version.
    async fn insert_faq(&self, faq: &Faq) -> Result<(), StorageError>;
    /// Reads an FAQ.
    async fn get_faq(&self, business: BusinessId, id: FaqId) -> Result<Faq, StorageError>;
    /// Lists FAQs in id order.
    async fn list_faqs(
        &self,
        business: BusinessId,
        query: &AssistantQuery<FaqId>,
    ) -> Result<Page<Faq>, StorageError>;
    /// Replaces an FAQ and bumps the data version; `NotFound` if absent.
    async fn update_faq(&self, faq: &Faq) -> Result<(), StorageError>;
    /// Deletes an FAQ and bumps the data version; `NotFound` if absent.
    async fn delete_faq(&self, business: BusinessId, id: FaqId) -> Result<(), StorageError>;

    /// Stores an intent and bumps the data version; `Conflict`
    /// ([`INTENT_NAME_TAKEN`]) if the business has one of that name.
    async fn insert_intent(&self, intent: &Intent) -> Result<(), StorageError>;
    /// Reads an intent.
    async fn get_intent(&self, business: BusinessId, id: IntentId) -> Result<Intent, StorageError>;
    /// Lists intents in id order.
    async fn list_intents(
        &self,
        business: BusinessId,
        query: &AssistantQuery<IntentId>,
    ) -> Result<Page<Intent>, StorageError>;
    /// Replaces an intent and bumps the data version; `NotFound` if absent,
    /// `Conflict` ([`INTENT_NAME_TAKEN`]) if renamed onto another's name.
    async fn update_intent(&self, intent: &Intent) -> Result<(), StorageError>;
    /// Deletes an intent and bumps the data version; `NotFound` if absent.
    async fn delete_intent(&self, business: BusinessId, id: IntentId) -> Result<(), StorageError>;

    /// The active FAQs and every intent, with the data version read first
    /// (a change while reading leaves the model stale, to train again).
    async fn training_data(&self, business: BusinessId) -> Result<TrainingData, StorageError>;
    /// The data version, counts, and the model in use.
    async fn training_status(&self, business: BusinessId) -> Result<TrainingStatus, StorageError>;
    /// Businesses whose FAQs or intents changed since their model was
    /// trained, oldest change first.
    async fn stale_models(&self, limit: u32) -> Result<Vec<BusinessId>, StorageError>;
    /// Stores a model trained on `info.data_version`, unless the stored one
    /// is as new; false when it was not stored.
    async fn save_model(
        &self,
        business: BusinessId,
        info: &ModelInfo,
        bytes: &[u8],
    ) -> Result<bool, StorageError>;
    /// The model in use and its bytes.
    async fn load_model(
        &self,
        business: BusinessId,
    ) -> Result<Option<(ModelInfo, Vec<u8>)>, StorageError>;

    /// Writes a turn (see [`TurnCommit`]); false, writing nothing, when the
    /// conversation's state moved past `from_rev` or the message already
    /// has a decision (a message is decided once). `NotFound` if the
    /// conversation or message is not in the business.
    async fn commit_turn(&self, turn: &TurnCommit) -> Result<bool, StorageError>;
    /// Replaces a conversation's assistant state if still at `from_rev`
    /// (a hand back); false otherwise.
    async fn set_assistant_state(
        &self,
        business: BusinessId,
        conversation: ConversationId,
        from_rev: u32,
        state: &AssistantState,
    ) -> Result<bool, StorageError>;
    /// When a person of the business last wrote in the conversation.
    async fn last_person_reply(
        &self,
        business: BusinessId,
        conversation: ConversationId,
    ) -> Result<Option<DateTime<Utc>>, StorageError>;
}
