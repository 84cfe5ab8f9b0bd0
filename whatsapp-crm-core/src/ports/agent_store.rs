//! Storage of the agents who answer a business's customers.

use async_trait::async_trait;

use super::{Page, StorageError};
use crate::domain::{Agent, AgentId, Availability, BusinessId};

/// Filters and paging for listing agents.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AgentQuery {
    /// Only agents with this availability.
    pub availability: Option<Availability>,
    /// Page size.
    pub limit: u32,
    /// Continue after this agent.
    pub after: Option<AgentId>,
}

/// Agents of each business.
#[async_trait]
pub trait AgentStore: Send + Sync {
    /// Stores a new agent.
    async fn insert_agent(&self, agent: &Agent) -> Result<(), StorageError>;
    /// Reads an agent.
    async fn get_agent(&self, business: BusinessId, id: AgentId) -> Result<Agent, StorageError>;
    /// Lists agents in id order.
    async fn list_agents(
        &self,
        business: BusinessId,
        query: &AgentQuery,
    ) -> Result<Page<Agent>, StorageError>;
    /// Replaces an agent's name, skills, languages, capacity, availability
    /// and `updated_at` (not when they were last assigned); `NotFound` if
    /// absent.
    async fn update_agent(&self, agent: &Agent) -> Result<(), StorageError>;
}

/// The constraint text used when a queue's name is taken.
pub const QUEUE_NAME_TAKEN: &str = "queue name already used";

/// Routing queues of each business.
#[async_trait]
pub trait QueueStore: Send + Sync {
    /// Stores a queue; `Conflict` ([`QUEUE_NAME_TAKEN`]) when its name is
    /// taken, `NotFound` when it escalates to a queue the business does not
    /// have.
    async fn insert_queue(&self, queue: &crate::domain::Queue) -> Result<(), StorageError>;
    /// Reads a queue.
    async fn get_queue(
        &self,
        business: BusinessId,
        id: crate::domain::QueueId,
    ) -> Result<crate::domain::Queue, StorageError>;
    /// Lists queues in id order.
    async fn list_queues(
        &self,
        business: BusinessId,
        limit: u32,
        after: Option<crate::domain::QueueId>,
    ) -> Result<Page<crate::domain::Queue>, StorageError>;
    /// Replaces a queue's fields but `created_at`; `NotFound` if absent (or
    /// its escalation queue is), `Conflict` when renamed onto a taken name.
    async fn update_queue(&self, queue: &crate::domain::Queue) -> Result<(), StorageError>;
}

/// Each business's routing rules, kept as one document.
#[async_trait]
pub trait RoutingStore: Send + Sync {
    /// The business's routing; empty when never set.
    async fn get_routing(
        &self,
        business: BusinessId,
    ) -> Result<crate::domain::Routing, StorageError>;
    /// Replaces the business's routing; `NotFound` if the business is not
    /// there.
    async fn set_routing(
        &self,
        business: BusinessId,
        routing: &crate::domain::Routing,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StorageError>;
}
