//! FAQs, intents, models and conversations' assistant state in memory.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{InMemoryStorage, Inner, Tenant, page_after};
use crate::domain::{
    AssistantState, BusinessId, ConversationId, Direction, Faq, FaqId, Intent, IntentId, ModelInfo,
    TrainingStatus,
};
use crate::ports::{
    AssistantQuery, AssistantStore, INTENT_NAME_TAKEN, Page, StorageError, TrainingData,
    TurnCommit, clamp_limit,
};

/// One business's assistant data.
#[derive(Debug, Default)]
pub(super) struct Assistant {
    faqs: BTreeMap<FaqId, Faq>,
    intents: BTreeMap<IntentId, Intent>,
    data_version: u64,
    model: Option<(ModelInfo, Vec<u8>)>,
}

impl Inner {
    fn assistant_mut(&mut self, business: BusinessId) -> Result<&mut Assistant, StorageError> {
        Ok(&mut self.tenant_mut(business, "business")?.assistant)
    }
}

fn name_taken(t: &Tenant, intent: &Intent) -> bool {
    t.assistant.intents.values().any(|i| i.id != intent.id && i.name == intent.name)
}

fn page<K: Ord + Copy, V: Clone>(
    map: &BTreeMap<K, V>,
    q: &AssistantQuery<K>,
    id: impl Fn(&V) -> String,
) -> Page<V> {
    let limit = clamp_limit(q.limit);
    let rows: Vec<V> = page_after(map, q.after).take(limit as usize + 1).cloned().collect();
    Page::from_overfetch(rows, limit, id)
}

#[async_trait]
impl AssistantStore for InMemoryStorage {
    async fn insert_faq(&self, faq: &Faq) -> Result<(), StorageError> {
        let mut inner = self.write();
        let a = inner.assistant_mut(faq.business_id)?;
        if a.faqs.contains_key(&faq.id) {
            return Err(StorageError::conflict("faq", "id already exists"));
        }
        a.faqs.insert(faq.id, faq.clone());
        a.data_version += 1;
        Ok(())
    }

    async fn get_faq(&self, business: BusinessId, id: FaqId) -> Result<Faq, StorageError> {
        let inner = self.read();
        inner
            .tenant(business)
            .and_then(|t| t.assistant.faqs.get(&id))
            .cloned()
            .ok_or(StorageError::not_found("faq"))
    }

    async fn list_faqs(
        &self,
        business: BusinessId,
        query: &AssistantQuery<FaqId>,
    ) -> Result<Page<Faq>, StorageError> {
        let inner = self.read();
        let Some(t) = inner.tenant(business) else {
            return Ok(Page { items: Vec::new(), next_cursor: None });
        };
        Ok(page(&t.assistant.faqs, query, |f| f.id.to_string()))
    }

    async fn update_faq(&self, faq: &Faq) -> Result<(), StorageError> {
        let mut inner = self.write();
        let a = inner.assistant_mut(faq.business_id).map_err(|_| StorageError::not_found("faq"))?;
        let stored = a.faqs.get_mut(&faq.id).ok_or(StorageError::not_found("faq"))?;
        *stored = Faq { created_at: stored.created_at, ..faq.clone() };
        a.data_version += 1;
        Ok(())
    }

    async fn delete_faq(&self, business: BusinessId, id: FaqId) -> Result<(), StorageError> {
        let mut inner = self.write();
        let a = inner.assistant_mut(business).map_err(|_| StorageError::not_found("faq"))?;
        a.faqs.remove(&id).ok_or(StorageError::not_found("faq"))?;
        a.data_version += 1;
        Ok(())
    }

    async fn insert_intent(&self, intent: &Intent) -> Result<(), StorageError> {
        let mut inner = self.write();
        let t = inner.tenant_mut(intent.business_id, "business")?;
        if name_taken(t, intent) {
            return Err(StorageError::conflict("intent", INTENT_NAME_TAKEN));
        }
        if t.assistant.intents.contains_key(&intent.id) {
            return Err(StorageError::conflict("intent", "id already exists"));
        }
        t.assistant.intents.insert(intent.id, intent.clone());
        t.assistant.data_version += 1;
        Ok(())
    }

    async fn get_intent(&self, business: BusinessId, id: IntentId) -> Result<Intent, StorageError> {
        let inner = self.read();
        inner
            .tenant(business)
            .and_then(|t| t.assistant.intents.get(&id))
            .cloned()
            .ok_or(StorageError::not_found("intent"))
    }

    async fn list_intents(
        &self,
        business: BusinessId,
        query: &AssistantQuery<IntentId>,
    ) -> Result<Page<Intent>, StorageError> {
        let inner = self.read();
        let Some(t) = inner.tenant(business) else {
            return Ok(Page { items: Vec::new(), next_cursor: None });
        };
        Ok(page(&t.assistant.intents, query, |i| i.id.to_string()))
    }

    async fn update_intent(&self, intent: &Intent) -> Result<(), StorageError> {
        let mut inner = self.write();
        let t = inner
            .tenant_mut(intent.business_id, "business")
            .map_err(|_| StorageError::not_found("intent"))?;
        if !t.assistant.intents.contains_key(&intent.id) {
            return Err(StorageError::not_found("intent"));
        }
        if name_taken(t, intent) {
            return Err(StorageError::conflict("intent", INTENT_NAME_TAKEN));
        }
        let stored =
            t.assistant.intents.get_mut(&intent.id).ok_or(StorageError::not_found("intent"))?;
        *stored = Intent { created_at: stored.created_at, ..intent.clone() };
        t.assistant.data_version += 1;
        Ok(())
    }

    async fn delete_intent(&self, business: BusinessId, id: IntentId) -> Result<(), StorageError> {
        let mut inner = self.write();
        let a = inner.assistant_mut(business).map_err(|_| StorageError::not_found("intent"))?;
        a.intents.remove(&id).ok_or(StorageError::not_found("intent"))?;
        a.data_version += 1;
        Ok(())
    }

    async fn training_data(&self, business: BusinessId) -> Result<TrainingData, StorageError> {
        let inner = self.read();
        let t = inner.tenant(business).ok_or(StorageError::not_found("business"))?;
        let a = &t.assistant;
        Ok(TrainingData {
            data_version: a.data_version,
            faqs: a.faqs.values().filter(|f| f.active).cloned().collect(),
            intents: a.intents.values().cloned().collect(),
        })
    }

    async fn training_status(&self, business: BusinessId) -> Result<TrainingStatus, StorageError> {
        let inner = self.read();
        let t = inner.tenant(business).ok_or(StorageError::not_found("business"))?;
        let a = &t.assistant;
        Ok(TrainingStatus {
            data_version: a.data_version,
            faqs: a.faqs.len() as u32,
            intents: a.intents.len() as u32,
            model: a.model.as_ref().map(|(info, _)| info.clone()),
        })
    }

    async fn stale_models(&self, limit: u32) -> Result<Vec<BusinessId>, StorageError> {
        let inner = self.read();
        Ok(inner
            .tenants
            .iter()
            .filter(|(_, t)| {
                let a = &t.assistant;
                a.data_version > a.model.as_ref().map_or(0, |(m, _)| m.data_version)
            })
            .map(|(b, _)| *b)
            .take(limit as usize)
            .collect())
    }

    async fn save_model(
        &self,
        business: BusinessId,
        info: &ModelInfo,
        bytes: &[u8],
    ) -> Result<bool, StorageError> {
        let mut inner = self.write();
        let a = inner.assistant_mut(business)?;
        if a.model.as_ref().is_some_and(|(m, _)| m.data_version >= info.data_version) {
            return Ok(false);
        }
        a.model = Some((info.clone(), bytes.to_vec()));
        Ok(true)
    }

    async fn load_model(
        &self,
        business: BusinessId,
    ) -> Result<Option<(ModelInfo, Vec<u8>)>, StorageError> {
        let inner = self.read();
        Ok(inner.tenant(business).and_then(|t| t.assistant.model.clone()))
    }

    async fn commit_turn(&self, turn: &TurnCommit) -> Result<bool, StorageError> {
        let mut inner = self.write();
        let t = inner.tenant(turn.business).ok_or(StorageError::not_found("conversation"))?;
        let c = t
            .conversations
            .get(&turn.conversation)
            .ok_or(StorageError::not_found("conversation"))?;
        let m = t
            .messages
            .get(&turn.message)
            .filter(|m| m.conversation_id == turn.conversation)
            .ok_or(StorageError::not_found("message"))?;
        if c.assistant.rev != turn.from_rev || m.decision.is_some() {
            return Ok(false);
        }
        // Replies are checked and stored all or none before anything else.
        inner.queue(&turn.replies)?;
        let t = inner.tenant_mut(turn.business, "conversation")?;
        if let Some(c) = t.conversations.get_mut(&turn.conversation) {
            c.assistant = AssistantState { rev: turn.from_rev + 1, ..turn.state.clone() };
        }
        if let Some(m) = t.messages.get_mut(&turn.message) {
            m.decision = Some(turn.decision.clone());
        }
        Ok(true)
    }

    async fn set_assistant_state(
        &self,
        business: BusinessId,
        conversation: ConversationId,
        from_rev: u32,
        state: &AssistantState,
    ) -> Result<bool, StorageError> {
        let mut inner = self.write();
        let t = inner.tenant_mut(business, "conversation")?;
        let c = t
            .conversations
            .get_mut(&conversation)
            .ok_or(StorageError::not_found("conversation"))?;
        if c.assistant.rev != from_rev {
            return Ok(false);
        }
        c.assistant = AssistantState { rev: from_rev + 1, ..state.clone() };
        Ok(true)
    }

    async fn last_person_reply(
        &self,
        business: BusinessId,
        conversation: ConversationId,
    ) -> Result<Option<DateTime<Utc>>, StorageError> {
        let inner = self.read();
        let Some(t) = inner.tenant(business) else { return Ok(None) };
        Ok(t.messages
            .values()
            .filter(|m| {
                m.conversation_id == conversation
                    && m.direction == Direction::Outbound
                    && m.author.is_person()
            })
            .map(|m| m.created_at)
            .max())
    }
}
