//! How people handle a conversation: the queue it waits in, its priority,
//! the offer to an agent and the first-response deadline ([`Desk`]); and the
//! [`ConversationEvent`]s that record every change with who made it and
//! when, from which response times and SLA reports are computed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::validation::clean_text;
use super::{
    AgentId, BusinessId, ConversationId, ConversationStatus, EventId, MessageId, QueueId,
    ValidationError,
};

/// Longest internal note.
pub const NOTE_MAX_CHARS: usize = 4_096;
/// Agents remembered as already offered one wait (older ones are forgotten,
/// so a long wait cycles through the team again).
pub const OFFERED_MAX: usize = 20;

/// A conversation's handling by people. Written only through
/// [`DeskStore::commit_desk`](crate::ports::DeskStore::commit_desk), against
/// the revision it was read at.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Desk {
    /// The queue it was routed to.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub queue_id: Option<QueueId>,
    /// 0 (normal) to 3; higher is served first.
    pub priority: u8,
    /// The routing rule that matched (`None`: the default route, or set by hand).
    pub rule: Option<String>,
    /// When it last entered a queue (kept once taken: response times run
    /// from here).
    pub queued_at: Option<DateTime<Utc>>,
    /// Since when it waits for an agent to take it (kept while offered).
    pub waiting_since: Option<DateTime<Utc>>,
    /// The assigned agent was offered it and has not taken it yet; it
    /// goes to the next agent at this time.
    pub offer_expires_at: Option<DateTime<Utc>>,
    /// Agents offered it during this wait, oldest first.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub offered: Vec<AgentId>,
    /// A person's first reply is due by then.
    pub first_response_due: Option<DateTime<Utc>>,
    /// When a person first replied during this wait.
    pub first_response_at: Option<DateTime<Utc>>,
    /// When the first-response deadline was missed and it was escalated.
    pub escalated_at: Option<DateTime<Utc>>,
    /// A snoozed conversation opens again at this time.
    pub snoozed_until: Option<DateTime<Utc>>,
    /// The agent who last held it, for returning customers.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub previous_agent: Option<AgentId>,
    /// Revision, bumped by every write.
    pub rev: u32,
}

impl Desk {
    /// True while it waits in a queue for an agent to take it (offered or not).
    pub fn waiting(&self) -> bool {
        self.waiting_since.is_some()
    }

    /// True while its first-response deadline still runs.
    pub fn deadline_running(&self) -> bool {
        self.first_response_due.is_some()
            && self.first_response_at.is_none()
            && self.escalated_at.is_none()
    }

    /// When the assignment worker must next look at it: at once while it
    /// waits unassigned, else at its next timer ([`Desk::timer_at`]); `None`
    /// when nothing is pending.
    pub fn due_at(
        &self,
        status: ConversationStatus,
        assigned: Option<AgentId>,
    ) -> Option<DateTime<Utc>> {
        let timer = self.timer_at(status, assigned);
        match self
            .waiting_since
            .filter(|_| assigned.is_none() && status != ConversationStatus::Resolved)
        {
            Some(since) => Some(timer.map_or(since, |t| t.min(since))),
            None => timer,
        }
    }

    /// Its next timer: the offer's expiry, the first-response deadline, the
    /// end of a snooze. Unlike waiting for an agent, a timer is due whether
    /// or not anyone is online.
    pub fn timer_at(
        &self,
        status: ConversationStatus,
        assigned: Option<AgentId>,
    ) -> Option<DateTime<Utc>> {
        if status == ConversationStatus::Resolved {
            return None;
        }
        let snooze = self.snoozed_until.filter(|_| status == ConversationStatus::Snoozed);
        let offer = self.offer_expires_at.filter(|_| self.waiting() && assigned.is_some());
        let deadline = self.first_response_due.filter(|_| self.deadline_running());
        [snooze, offer, deadline].into_iter().flatten().min()
    }

    /// Remembers an agent as offered it this wait.
    pub fn remember_offer(&mut self, agent: AgentId) {
        self.offered.retain(|a| *a != agent);
        self.offered.push(agent);
        if self.offered.len() > OFFERED_MAX {
            self.offered.remove(0);
        }
    }
}

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// The SDK itself: the assignment worker, timers.
    System,
    /// The customer, by writing.
    Customer,
    /// The assistant, handing over.
    Assistant,
    /// The business's own key.
    Business,
    /// An agent, with their key.
    Agent {
        /// The agent.
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
        agent_id: AgentId,
    },
}

impl Actor {
    /// The agent, when an agent acted.
    pub fn agent(&self) -> Option<AgentId> {
        match self {
            Self::Agent { agent_id } => Some(*agent_id),
            _ => None,
        }
    }
}

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// Routed into a queue.
    Queued {
        /// The queue.
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
        queue_id: QueueId,
        /// Its priority there.
        priority: u8,
        /// The rule that matched (`None`: the default route).
        rule: Option<String>,
        /// First response due by.
        first_response_due: DateTime<Utc>,
    },
    /// Offered to an agent until a deadline.
    Offered {
        /// The agent.
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
        agent_id: AgentId,
        /// When the offer lapses.
        expires_at: DateTime<Utc>,
    },
    /// An offer lapsed without the agent taking it.
    OfferExpired {
        /// The agent.
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
        agent_id: AgentId,
    },
    /// An agent took it, or was given it.
    Assigned {
        /// The agent.
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
        agent_id: AgentId,
    },
    /// Its agent let it go.
    Unassigned {
        /// The agent.
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
        agent_id: AgentId,
    },
    /// Its status changed (`to: resolved` is its resolution; `from:
    /// resolved` its reopening).
    Status {
        /// Before.
        from: ConversationStatus,
        /// After.
        to: ConversationStatus,
        /// End of the snooze, when snoozed.
        snoozed_until: Option<DateTime<Utc>>,
    },
    /// Its priority changed.
    Priority {
        /// Before.
        from: u8,
        /// After.
        to: u8,
    },
    /// The assistant handed it to people.
    HandedOff {
        /// Why (`human_requested`, `low_confidence`…).
        reason: String,
        /// The customer's message that led to it.
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
        message_id: Option<MessageId>,
    },
    /// A person replied for the first time since it started waiting.
    FirstResponse {
        /// The reply.
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
        message_id: MessageId,
        /// Seconds since it started waiting.
        seconds: i64,
    },
    /// Its first-response deadline passed: moved to the next queue, or up
    /// a priority level.
    Escalated {
        /// Queue before.
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
        from_queue: Option<QueueId>,
        /// Queue after.
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
        to_queue: Option<QueueId>,
        /// Priority after.
        priority: u8,
    },
    /// A person's reply, queued to be sent.
    Reply {
        /// The message.
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
        message_id: MessageId,
    },
    /// An internal note; never sent to the customer.
    Note {
        /// The note.
        text: String,
    },
    /// Returned to the assistant.
    HandedBack,
}

impl Change {
    /// The stored `kind` of the event.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Queued { .. } => "queued",
            Self::Offered { .. } => "offered",
            Self::OfferExpired { .. } => "offer_expired",
            Self::Assigned { .. } => "assigned",
            Self::Unassigned { .. } => "unassigned",
            Self::Status { .. } => "status",
            Self::Priority { .. } => "priority",
            Self::HandedOff { .. } => "handed_off",
            Self::FirstResponse { .. } => "first_response",
            Self::Escalated { .. } => "escalated",
            Self::Reply { .. } => "reply",
            Self::Note { .. } => "note",
            Self::HandedBack => "handed_back",
        }
    }

    /// The agent the change is about, if any.
    pub fn agent(&self) -> Option<AgentId> {
        match self {
            Self::Offered { agent_id, .. }
            | Self::OfferExpired { agent_id }
            | Self::Assigned { agent_id }
            | Self::Unassigned { agent_id } => Some(*agent_id),
            _ => None,
        }
    }
}

/// One change to a conversation, with who made it and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversationEvent {
    /// Event id (time-ordered).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: EventId,
    /// Owning business.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub business_id: BusinessId,
    /// The conversation.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub conversation_id: ConversationId,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: Actor,
    /// What.
    pub change: Change,
}

impl ConversationEvent {
    /// A new event now.
    pub fn new(
        business_id: BusinessId,
        conversation_id: ConversationId,
        at: DateTime<Utc>,
        actor: Actor,
        change: Change,
    ) -> Self {
        Self { id: EventId::new(), business_id, conversation_id, at, actor, change }
    }
}

/// Checks an internal note's text.
pub fn clean_note(text: &str) -> Result<String, ValidationError> {
    let mut v = ValidationError::default();
    let text = v.check("text", clean_text(text, NOTE_MAX_CHARS));
    v.into_result(|| text.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn due_is_the_earliest_pending_timer() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let open = ConversationStatus::Open;
        let mut d = Desk {
            waiting_since: Some(t0),
            first_response_due: Some(t0 + Duration::minutes(15)),
            ..Desk::default()
        };
        assert_eq!(d.due_at(open, None), Some(t0), "waiting unassigned: at once");
        assert_eq!(d.timer_at(open, None), Some(t0 + Duration::minutes(15)), "its deadline");
        let agent = AgentId::new();
        d.offer_expires_at = Some(t0 + Duration::seconds(60));
        assert_eq!(d.due_at(open, Some(agent)), Some(t0 + Duration::seconds(60)));
        d.waiting_since = None;
        d.offer_expires_at = None;
        assert_eq!(d.due_at(open, Some(agent)), Some(t0 + Duration::minutes(15)), "deadline");
        d.escalated_at = Some(t0 + Duration::minutes(15));
        assert_eq!(d.due_at(open, Some(agent)), None, "escalated once, nothing more");
        d.snoozed_until = Some(t0 + Duration::hours(2));
        assert_eq!(d.due_at(ConversationStatus::Snoozed, Some(agent)), d.snoozed_until);
        assert_eq!(d.due_at(ConversationStatus::Resolved, None), None);
        d.waiting_since = Some(t0);
        assert_eq!(d.due_at(ConversationStatus::Resolved, None), None);
        assert_eq!(d.timer_at(open, None), None, "waiting is no timer");
    }

    #[test]
    fn offers_are_remembered_once_and_bounded() {
        let mut d = Desk::default();
        let a = AgentId::new();
        d.remember_offer(a);
        d.remember_offer(a);
        assert_eq!(d.offered, [a]);
        for _ in 0..OFFERED_MAX {
            d.remember_offer(AgentId::new());
        }
        assert_eq!(d.offered.len(), OFFERED_MAX);
        assert!(!d.offered.contains(&a));
    }

    #[test]
    fn events_read_back_from_json() {
        let e = ConversationEvent::new(
            BusinessId::new(),
            ConversationId::new(),
            Utc::now(),
            Actor::Agent { agent_id: AgentId::new() },
            Change::Status {
                from: ConversationStatus::Open,
                to: ConversationStatus::Resolved,
                snoozed_until: None,
            },
        );
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["change"]["type"], "status");
        assert_eq!(json["actor"]["kind"], "agent");
        assert_eq!(serde_json::from_value::<ConversationEvent>(json).unwrap(), e);
        assert_eq!(clean_note("  ").unwrap_err().errors[0].field, "text");
    }
}
