//! `InMemoryStorage`: a complete [`Storage`](crate::ports::Storage) backend held in
//! memory. For embedders' tests, demos and single-process tools; it passes the same
//! conformance suite as the SQLite and PostgreSQL backends.

mod agents;
mod assistant;
mod broadcasts;
mod campaigns;
mod catalog;
mod checkout;
mod customers;
mod fulfilment;
mod messaging;
mod orders;
mod outbox;
mod payments;
mod segments;
mod templates;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{
    ApiKey, ApiKeyHash, ApiKeyId, Broadcast, BroadcastId, BroadcastRecipient, Business, BusinessId,
    Campaign, CampaignId, Conversation, ConversationId, Customer, CustomerId, Message, MessageId,
    MessageTemplate, Order, OrderId, OutboxItem, PhoneNumber, Segment, SegmentId, TemplateId,
    TemplateVersion,
};
use crate::policy::SenderLedger;
use crate::ports::{ApiKeyStore, BusinessStore, SENDER_TAKEN, StorageError};

/// Storage held in process memory; cheap to create, gone when dropped.
///
/// ```
/// use whatsapp_crm_core::{BusinessId, InMemoryStorage, StorageError, ports::BusinessStore};
///
/// let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// runtime.block_on(async {
///     let storage = InMemoryStorage::new();
///     let missing = storage.get_business(BusinessId::new()).await;
///     assert!(matches!(missing, Err(StorageError::NotFound { .. })));
/// });
/// ```
#[derive(Debug, Default)]
pub struct InMemoryStorage {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    tenants: HashMap<BusinessId, Tenant>,
    api_keys: HashMap<ApiKeyHash, ApiKey>,
    senders: HashMap<PhoneNumber, BusinessId>,
    /// Pending outbox rows by due time, so a claim reads only what is due.
    due: BTreeSet<(DateTime<Utc>, MessageId, BusinessId)>,
    /// Claims by lapse time, so the sweep reads only lapsed ones. Entries of
    /// rows finished since are skipped when their time comes.
    claims: BTreeSet<(DateTime<Utc>, MessageId, BusinessId)>,
    ledgers: HashMap<PhoneNumber, SenderLedger>,
    /// Payment attempts by the hash of their callback token.
    payment_tokens: HashMap<[u8; 32], (BusinessId, crate::domain::PaymentId)>,
}

/// One business's rows. Keeping them apart makes cross-tenant reads impossible
/// by construction.
#[derive(Debug)]
struct Tenant {
    business: Business,
    customers: BTreeMap<CustomerId, Customer>,
    phones: HashMap<PhoneNumber, CustomerId>,
    conversations: BTreeMap<ConversationId, Conversation>,
    messages: BTreeMap<MessageId, Message>,
    provider_ids: HashMap<String, MessageId>,
    orders: BTreeMap<OrderId, Order>,
    outbox: BTreeMap<MessageId, OutboxItem>,
    segments: BTreeMap<SegmentId, Segment>,
    templates: BTreeMap<TemplateId, MessageTemplate>,
    template_versions: BTreeMap<(TemplateId, u32), TemplateVersion>,
    broadcasts: BTreeMap<BroadcastId, Broadcast>,
    recipients: BTreeMap<(BroadcastId, CustomerId), BroadcastRecipient>,
    campaigns: BTreeMap<CampaignId, Campaign>,
    commerce: catalog::Commerce,
    payments: payments::Payments,
    assistant: assistant::Assistant,
    agents: BTreeMap<crate::domain::AgentId, crate::domain::Agent>,
    queues: BTreeMap<crate::domain::QueueId, crate::domain::Queue>,
    routing: crate::domain::Routing,
    events: BTreeMap<crate::domain::EventId, crate::domain::ConversationEvent>,
    recommender: Option<(crate::ports::RecommenderInfo, Vec<u8>)>,
}

impl InMemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        // A panic elsewhere cannot leave a half-written map: every write below
        // validates before it mutates.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    fn tenant(&self, id: BusinessId) -> Option<&Tenant> {
        self.tenants.get(&id)
    }

    /// The first `limit` records due across every tenant, earliest first,
    /// as a worker's round sees them; `due` gives each tenant's (when, id).
    fn due_across<'a, I, F, It>(&'a self, limit: u32, due: F) -> Vec<(BusinessId, I)>
    where
        I: Ord + Copy,
        F: Fn(&'a Tenant) -> It,
        It: Iterator<Item = (DateTime<Utc>, I)>,
    {
        let mut all: Vec<(DateTime<Utc>, BusinessId, I)> = self
            .tenants
            .iter()
            .flat_map(|(b, t)| due(t).map(move |(at, id)| (at, *b, id)))
            .collect();
        all.sort();
        all.into_iter().take(limit as usize).map(|(_, b, id)| (b, id)).collect()
    }

    fn tenant_mut(
        &mut self,
        id: BusinessId,
        entity: &'static str,
    ) -> Result<&mut Tenant, StorageError> {
        self.tenants.get_mut(&id).ok_or(StorageError::not_found(entity))
    }
}

#[async_trait]
impl BusinessStore for InMemoryStorage {
    async fn insert_business(&self, business: &Business) -> Result<(), StorageError> {
        let mut inner = self.write();
        if inner.tenants.contains_key(&business.id) {
            return Err(StorageError::conflict("business", "id already exists"));
        }
        if inner.senders.contains_key(&business.whatsapp_sender) {
            return Err(StorageError::conflict("business", SENDER_TAKEN));
        }
        inner.senders.insert(business.whatsapp_sender.clone(), business.id);
        inner.tenants.insert(
            business.id,
            Tenant {
                business: business.clone(),
                agents: BTreeMap::new(),
                queues: BTreeMap::new(),
                routing: crate::domain::Routing::default(),
                events: BTreeMap::new(),
                recommender: None,
                customers: BTreeMap::new(),
                phones: HashMap::new(),
                conversations: BTreeMap::new(),
                messages: BTreeMap::new(),
                provider_ids: HashMap::new(),
                orders: BTreeMap::new(),
                outbox: BTreeMap::new(),
                segments: BTreeMap::new(),
                templates: BTreeMap::new(),
                template_versions: BTreeMap::new(),
                broadcasts: BTreeMap::new(),
                recipients: BTreeMap::new(),
                campaigns: BTreeMap::new(),
                commerce: catalog::Commerce::default(),
                payments: payments::Payments::default(),
                assistant: assistant::Assistant::default(),
            },
        );
        Ok(())
    }

    async fn get_business(&self, id: BusinessId) -> Result<Business, StorageError> {
        self.read()
            .tenant(id)
            .map(|t| t.business.clone())
            .ok_or(StorageError::not_found("business"))
    }

    async fn find_business_by_sender(
        &self,
        sender: &PhoneNumber,
    ) -> Result<Option<Business>, StorageError> {
        let inner = self.read();
        Ok(inner.senders.get(sender).and_then(|id| inner.tenant(*id)).map(|t| t.business.clone()))
    }

    async fn update_business(&self, business: &Business) -> Result<(), StorageError> {
        let mut inner = self.write();
        let stored = &mut inner.tenant_mut(business.id, "business")?.business;
        *stored = Business {
            whatsapp_sender: stored.whatsapp_sender.clone(),
            created_at: stored.created_at,
            ..business.clone()
        };
        Ok(())
    }
}

#[async_trait]
impl ApiKeyStore for InMemoryStorage {
    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StorageError> {
        let mut inner = self.write();
        let t = inner.tenant_mut(key.business_id, "business")?;
        if key.agent_id.is_some_and(|a| !t.agents.contains_key(&a)) {
            return Err(StorageError::not_found("agent"));
        }
        if inner.api_keys.contains_key(&key.hash) || inner.api_keys.values().any(|k| k.id == key.id)
        {
            return Err(StorageError::conflict("api key", "key already exists"));
        }
        inner.api_keys.insert(key.hash, key.clone());
        Ok(())
    }

    async fn find_api_key(&self, hash: &ApiKeyHash) -> Result<Option<ApiKey>, StorageError> {
        Ok(self.read().api_keys.get(hash).cloned())
    }

    async fn list_api_keys(&self, business: BusinessId) -> Result<Vec<ApiKey>, StorageError> {
        let mut keys: Vec<ApiKey> =
            self.read().api_keys.values().filter(|k| k.business_id == business).cloned().collect();
        keys.sort_by_key(|k| k.id);
        Ok(keys)
    }

    async fn revoke_api_key(
        &self,
        business: BusinessId,
        id: ApiKeyId,
        at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let mut inner = self.write();
        let key = inner
            .api_keys
            .values_mut()
            .find(|k| k.id == id && k.business_id == business)
            .ok_or(StorageError::not_found("api key"))?;
        key.revoked_at.get_or_insert(at);
        Ok(())
    }
}

/// Returns up to `limit + 1` values after `after` from an id-ordered map.
fn page_after<'a, K: Ord + Copy + 'a, V: 'a>(
    map: &'a BTreeMap<K, V>,
    after: Option<K>,
) -> Box<dyn Iterator<Item = &'a V> + 'a> {
    use std::ops::Bound::{Excluded, Unbounded};
    match after {
        Some(k) => Box::new(map.range((Excluded(k), Unbounded)).map(|(_, v)| v)),
        None => Box::new(map.values()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::storage_conformance_tests!(|| async {
        crate::testing::TestStorage::new(std::sync::Arc::new(InMemoryStorage::new()))
    });
}
