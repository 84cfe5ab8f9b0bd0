//! Storage of the team inbox: each conversation's handling (status, agent,
//! queue, timers) written against its revision, the capacity of the agent
//! it goes to checked in the same write, and the conversation events.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Page, StorageError};
use crate::domain::{
    AgentId, BusinessId, Conversation, ConversationEvent, ConversationId, ConversationStatus, Desk,
    EventId,
};

/// A change to a conversation's handling, written at once with its events.
#[derive(Debug, Clone, PartialEq)]
pub struct DeskCommit {
    /// The business.
    pub business: BusinessId,
    /// The conversation.
    pub conversation: ConversationId,
    /// The desk revision the change was made from.
    pub from_rev: u32,
    /// Status after.
    pub status: ConversationStatus,
    /// Agent after.
    pub assigned_agent: Option<AgentId>,
    /// Handling after (its `rev` is ignored: the stored one becomes
    /// `from_rev + 1`).
    pub desk: Desk,
    /// An agent newly given the conversation by routing: the write is
    /// refused ([`DeskOutcome::Full`]) when they already hold as many
    /// unresolved conversations as their `max_concurrent`, and otherwise
    /// stamps their `last_assigned_at`.
    pub claim: Option<AgentId>,
    /// Events to record with it.
    pub events: Vec<ConversationEvent>,
    /// The conversation's `updated_at`.
    pub at: DateTime<Utc>,
}

/// What became of a [`DeskCommit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeskOutcome {
    /// Written.
    Written,
    /// The desk moved past `from_rev`; nothing written.
    Moved,
    /// The claimed agent is at capacity; nothing written.
    Full,
}

/// Team-inbox state and conversation events.
#[async_trait]
pub trait DeskStore: Send + Sync {
    /// Writes a change (see [`DeskCommit`]). `NotFound` when the
    /// conversation, or the claimed agent, is not the business's.
    async fn commit_desk(&self, commit: &DeskCommit) -> Result<DeskOutcome, StorageError>;
    /// Records events that change no state (notes, replies). `NotFound`
    /// when a conversation is not the business's.
    async fn add_events(
        &self,
        business: BusinessId,
        events: &[ConversationEvent],
    ) -> Result<(), StorageError>;
    /// A conversation's events, oldest first.
    async fn list_events(
        &self,
        business: BusinessId,
        conversation: ConversationId,
        limit: u32,
        after: Option<EventId>,
    ) -> Result<Page<ConversationEvent>, StorageError>;
    /// Businesses with a conversation whose desk is due at or before `now`,
    /// in id order after `after`, at most `limit`: one with a timer due
    /// ([`Desk::timer_at`]), or one waiting unassigned
    /// ([`Desk::due_at`]) while at least one of the business's agents is
    /// online with room (fewer unresolved conversations than their
    /// maximum). A shop closed for the night, or whose agents are all
    /// full, so costs the worker nothing until an agent can take one or a
    /// timer falls due. A worker pages through them, so a business that
    /// stays due (people waiting for a queue no agent with room matches)
    /// cannot crowd the others out.
    async fn desk_due(
        &self,
        now: DateTime<Utc>,
        after: Option<BusinessId>,
        limit: u32,
    ) -> Result<Vec<BusinessId>, StorageError>;
    /// A business's conversations with anything pending on their desk
    /// (waiting, offered, a running deadline, a snooze), longest pending
    /// first, at most `limit`.
    async fn desk_board(
        &self,
        business: BusinessId,
        limit: u32,
    ) -> Result<Vec<Conversation>, StorageError>;
    /// How many unresolved conversations each agent of the business holds
    /// (agents holding none are left out).
    async fn agent_loads(&self, business: BusinessId) -> Result<Vec<(AgentId, u32)>, StorageError>;
}
