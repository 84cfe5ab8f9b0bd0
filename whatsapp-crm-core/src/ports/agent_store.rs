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
