//! The agents of a business: who they are, what they handle, how many
//! conversations they take at once, whether they take new ones now, and
//! their own API keys (an agent key does only what an agent may).

use std::sync::Arc;

use crate::domain::{
    Agent, AgentId, ApiKey, ApiKeyHash, ApiKeyId, Availability, BusinessId, NewAgent, NewQueue,
    Queue, QueueId, Routing, ValidationError,
};
use crate::ports::{AgentQuery, Clock, Page, Storage, to_storage_precision};

use super::{ServiceError, page_params};

/// Longest key label.
const KEY_LABEL_MAX_CHARS: usize = 100;

/// Paging and filters for listing agents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentListParams {
    /// Only agents with this availability.
    pub availability: Option<Availability>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Agents of each business.
#[derive(Clone)]
pub struct Agents {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
}

impl Agents {
    /// Agents over `storage`.
    pub fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>) -> Self {
        Self { storage, clock }
    }

    /// Adds an agent.
    pub async fn create(
        &self,
        business: BusinessId,
        input: NewAgent,
    ) -> Result<Agent, ServiceError> {
        let now = to_storage_precision(self.clock.now());
        let agent = input.validate(business, AgentId::new(), now)?;
        self.storage.insert_agent(&agent).await?;
        Ok(agent)
    }

    /// Reads an agent.
    pub async fn get(&self, business: BusinessId, id: AgentId) -> Result<Agent, ServiceError> {
        Ok(self.storage.get_agent(business, id).await?)
    }

    /// Lists agents in id order.
    pub async fn list(
        &self,
        business: BusinessId,
        params: AgentListParams,
    ) -> Result<Page<Agent>, ServiceError> {
        let (limit, after) = page_params(params.limit, params.cursor.as_deref())?;
        let query = AgentQuery { availability: params.availability, limit, after };
        Ok(self.storage.list_agents(business, &query).await?)
    }

    /// Replaces an agent's name, skills, languages, capacity and (when
    /// given) availability.
    pub async fn replace(
        &self,
        business: BusinessId,
        id: AgentId,
        input: NewAgent,
    ) -> Result<Agent, ServiceError> {
        let old = self.storage.get_agent(business, id).await?;
        let now = to_storage_precision(self.clock.now());
        let keep = input.availability.is_none();
        let mut agent = input.validate(business, id, now)?;
        if keep {
            agent.availability = old.availability;
        }
        let agent =
            Agent { created_at: old.created_at, last_assigned_at: old.last_assigned_at, ..agent };
        self.storage.update_agent(&agent).await?;
        Ok(agent)
    }

    /// Sets whether the agent takes new conversations.
    pub async fn set_availability(
        &self,
        business: BusinessId,
        id: AgentId,
        availability: Availability,
    ) -> Result<Agent, ServiceError> {
        let mut agent = self.storage.get_agent(business, id).await?;
        agent.availability = availability;
        agent.updated_at = to_storage_precision(self.clock.now());
        self.storage.update_agent(&agent).await?;
        Ok(agent)
    }

    /// Records a new API key acting as the agent, by its hash.
    pub async fn issue_key(
        &self,
        business: BusinessId,
        agent: AgentId,
        hash: ApiKeyHash,
        label: &str,
    ) -> Result<ApiKey, ServiceError> {
        let label = crate::domain::clean_text(label, KEY_LABEL_MAX_CHARS)
            .map_err(|e| ValidationError::field("label", e))?;
        self.storage.get_agent(business, agent).await?;
        let key = ApiKey {
            id: ApiKeyId::new(),
            business_id: business,
            hash,
            label,
            agent_id: Some(agent),
            created_at: to_storage_precision(self.clock.now()),
            revoked_at: None,
        };
        self.storage.insert_api_key(&key).await?;
        Ok(key)
    }

    /// The agent's keys, oldest first, revoked ones included.
    pub async fn keys(
        &self,
        business: BusinessId,
        agent: AgentId,
    ) -> Result<Vec<ApiKey>, ServiceError> {
        self.storage.get_agent(business, agent).await?;
        let mut keys = self.storage.list_api_keys(business).await?;
        keys.retain(|k| k.agent_id == Some(agent));
        Ok(keys)
    }

    /// Revokes one of the agent's keys (again is harmless): it authenticates
    /// nothing from now on, and live streams opened with it end. Another
    /// agent's key, or a business key, is `NotFound`.
    pub async fn revoke_key(
        &self,
        business: BusinessId,
        agent: AgentId,
        key: ApiKeyId,
    ) -> Result<ApiKey, ServiceError> {
        let mut found = self
            .keys(business, agent)
            .await?
            .into_iter()
            .find(|k| k.id == key)
            .ok_or(ServiceError::NotFound { entity: "api key" })?;
        if found.revoked_at.is_none() {
            let at = to_storage_precision(self.clock.now());
            self.storage.revoke_api_key(business, key, at).await?;
            found.revoked_at = Some(at);
        }
        Ok(found)
    }
}

/// Routing queues of each business.
#[derive(Clone)]
pub struct Queues {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
}

impl Queues {
    /// Queues over `storage`.
    pub fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>) -> Self {
        Self { storage, clock }
    }

    /// Adds a queue; its target is read now (an unreadable one is refused
    /// with its column), `Conflict` when the name is taken.
    pub async fn create(
        &self,
        business: BusinessId,
        input: NewQueue,
    ) -> Result<Queue, ServiceError> {
        let now = to_storage_precision(self.clock.now());
        let queue = input.validate(business, QueueId::new(), now)?;
        self.storage.insert_queue(&queue).await.map_err(escalation)?;
        Ok(queue)
    }

    /// Reads a queue.
    pub async fn get(&self, business: BusinessId, id: QueueId) -> Result<Queue, ServiceError> {
        Ok(self.storage.get_queue(business, id).await?)
    }

    /// Lists queues in id order.
    pub async fn list(
        &self,
        business: BusinessId,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<Queue>, ServiceError> {
        let (limit, after) = page_params(limit, cursor)?;
        Ok(self.storage.list_queues(business, limit, after).await?)
    }

    /// Replaces a queue's fields.
    pub async fn replace(
        &self,
        business: BusinessId,
        id: QueueId,
        input: NewQueue,
    ) -> Result<Queue, ServiceError> {
        let old = self.storage.get_queue(business, id).await?;
        let now = to_storage_precision(self.clock.now());
        let queue = Queue { created_at: old.created_at, ..input.validate(business, id, now)? };
        self.storage.update_queue(&queue).await.map_err(escalation)?;
        Ok(queue)
    }
}

impl Queues {
    /// The business's routing rules and default.
    pub async fn routing(&self, business: BusinessId) -> Result<Routing, ServiceError> {
        Ok(self.storage.get_routing(business).await?)
    }

    /// Replaces the business's routing: every condition read now (refused
    /// with its column), every queue the business's own.
    pub async fn set_routing(
        &self,
        business: BusinessId,
        input: Routing,
    ) -> Result<Routing, ServiceError> {
        let routing = input.validate()?;
        let mut v = ValidationError::default();
        let named = routing
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| (format!("rules[{i}].queue_id"), r.queue_id))
            .chain(routing.default.iter().map(|d| ("default.queue_id".to_owned(), d.queue_id)));
        for (field, queue) in named {
            match self.storage.get_queue(business, queue).await {
                Ok(_) => {}
                Err(crate::ports::StorageError::NotFound { .. }) => {
                    v.push(field, "no such queue in this business");
                }
                Err(e) => return Err(e.into()),
            }
        }
        if !v.is_empty() {
            return Err(v.into());
        }
        let now = to_storage_precision(self.clock.now());
        self.storage.set_routing(business, &routing, now).await?;
        Ok(routing)
    }
}

/// The queue is there (it was read, or is being made): a missing queue is
/// the one it escalates to, a bad field.
fn escalation(e: crate::ports::StorageError) -> ServiceError {
    match e {
        crate::ports::StorageError::NotFound { entity: "queue" } => {
            ValidationError::field("escalate_to", "no such queue in this business").into()
        }
        other => other.into(),
    }
}
