//! Agents: the people of a business who answer customers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AgentId, BusinessId};

/// What an agent may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AgentRole {
    /// Owns the business account.
    Owner,
    /// Manages templates, campaigns and agents.
    Admin,
    /// Answers conversations.
    Agent,
}

/// A person who answers customers on behalf of a business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Agent {
    /// Agent id.
    pub id: AgentId,
    /// Owning business.
    pub business_id: BusinessId,
    /// Display name.
    pub name: String,
    /// Login and notification address.
    pub email: String,
    /// Permissions.
    pub role: AgentRole,
    /// Whether conversations can be routed to them.
    pub active: bool,
    /// When the agent was added.
    pub created_at: DateTime<Utc>,
}
