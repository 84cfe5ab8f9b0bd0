//! The team inbox: people answering customers. Conversations are routed to
//! queues when the assistant hands over (or, without the assistant, when a
//! customer writes), offered to one eligible agent at a time by the
//! assignment worker, and handled through actions (assign, reply, note,
//! snooze, resolve…) that each record a [`ConversationEvent`] with its actor
//! and time. Every change is written against the conversation's desk
//! revision, so two workers, two servers or an agent and the worker racing
//! on one conversation change it once.

mod feed;
mod routing;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

pub use feed::{FEED_BUFFER, InboxFeed, InboxUpdate, UpdateKind};
pub use routing::{DeskRound, conversation_attributes};

use crate::domain::{
    Actor, AgentId, Author, BusinessId, Change, Conversation, ConversationEvent, ConversationId,
    ConversationStatus, Message, MessageContent, QueueId, ValidationError, clean_note,
};
use crate::ports::{Clock, DeskCommit, DeskOutcome, Page, Storage, to_storage_precision};

use super::outbound::{Outbound, TemplateSend};
use super::{ServiceError, page_params};

/// Tries of a change that keeps meeting a concurrent one.
const ATTEMPTS: usize = 5;
/// Longest snooze.
pub const SNOOZE_MAX_DAYS: i64 = 90;

/// A person's reply: free-form `content` (inside the customer's 24-hour
/// window) or an approved `template` (anytime).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Reply {
    /// Text, media, interactive or location content.
    #[serde(default)]
    pub content: Option<MessageContent>,
    /// An approved template.
    #[serde(default)]
    pub template: Option<TemplateSend>,
    /// Byte sizes of the media attachments, in order, when known.
    #[serde(default)]
    pub media_sizes: Vec<Option<u64>>,
}

/// A change being made to a conversation's handling.
struct Draft {
    status: ConversationStatus,
    assigned: Option<AgentId>,
    desk: crate::domain::Desk,
    claim: Option<AgentId>,
    changes: Vec<(Actor, Change)>,
}

impl Draft {
    fn of(c: &Conversation) -> Self {
        Self {
            status: c.status,
            assigned: c.assigned_agent,
            desk: c.desk.clone(),
            claim: None,
            changes: Vec::new(),
        }
    }

    fn set_status(&mut self, actor: Actor, to: ConversationStatus, until: Option<DateTime<Utc>>) {
        if self.status != to || self.desk.snoozed_until != until {
            self.changes
                .push((actor, Change::Status { from: self.status, to, snoozed_until: until }));
            self.status = to;
            self.desk.snoozed_until = until;
        }
    }

    /// Gives it to `agent` for good (taken, not offered).
    fn take(&mut self, actor: Actor, agent: AgentId) {
        if let Some(old) = self.assigned.filter(|a| *a != agent) {
            self.changes.push((actor, Change::Unassigned { agent_id: old }));
        }
        self.assigned = Some(agent);
        self.desk.waiting_since = None;
        self.desk.offer_expires_at = None;
        self.desk.offered.clear();
        self.changes.push((actor, Change::Assigned { agent_id: agent }));
    }

    /// Lets go of its agent; back to its queue when it still waits for one.
    fn release(&mut self, actor: Actor, requeue: bool, now: DateTime<Utc>) {
        if let Some(old) = self.assigned.take() {
            self.desk.previous_agent = Some(old);
            self.desk.remember_offer(old);
            self.changes.push((actor, Change::Unassigned { agent_id: old }));
        }
        self.desk.offer_expires_at = None;
        self.desk.waiting_since = match requeue && self.desk.queue_id.is_some() {
            true => Some(self.desk.waiting_since.unwrap_or(now)),
            false => None,
        };
    }

    fn commit(&self, c: &Conversation, at: DateTime<Utc>) -> DeskCommit {
        DeskCommit {
            business: c.business_id,
            conversation: c.id,
            from_rev: c.desk.rev,
            status: self.status,
            assigned_agent: self.assigned,
            desk: self.desk.clone(),
            claim: self.claim,
            events: self
                .changes
                .iter()
                .map(|(actor, change)| {
                    ConversationEvent::new(c.business_id, c.id, at, *actor, change.clone())
                })
                .collect(),
            at,
        }
    }
}

/// The team inbox of every business.
#[derive(Clone)]
pub struct TeamInbox {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
    feed: Arc<InboxFeed>,
    assistant: super::Assistant,
    /// The last business the worker served, when a round stopped short.
    cursor: Arc<std::sync::Mutex<Option<BusinessId>>>,
}

impl TeamInbox {
    /// A team inbox over `storage` that publishes to `feed` and hands
    /// conversations back to `assistant`.
    pub fn new(
        storage: Arc<dyn Storage>,
        clock: Arc<dyn Clock>,
        feed: Arc<InboxFeed>,
        assistant: super::Assistant,
    ) -> Self {
        Self { storage, clock, feed, assistant, cursor: Arc::default() }
    }

    /// The assistant conversations are handed back to.
    pub fn assistant(&self) -> &super::Assistant {
        &self.assistant
    }

    /// The live feed this inbox publishes to.
    pub fn feed(&self) -> &Arc<InboxFeed> {
        &self.feed
    }

    fn now(&self) -> DateTime<Utc> {
        to_storage_precision(self.clock.now())
    }

    /// Applies `f` to the conversation as stored and writes the result
    /// against the revision read, again from a fresh read when a concurrent
    /// change got there first. Nothing is written when `f` records no
    /// change.
    async fn change<F>(
        &self,
        business: BusinessId,
        id: ConversationId,
        f: F,
    ) -> Result<Conversation, ServiceError>
    where
        F: Fn(&Conversation, &mut Draft, DateTime<Utc>) -> Result<(), ServiceError>,
    {
        self.change_after(business, id, None, f).await
    }

    /// [`change`](Self::change), publishing `message` (what led to the
    /// change) to the live inbox first.
    async fn change_after<F>(
        &self,
        business: BusinessId,
        id: ConversationId,
        message: Option<&Message>,
        f: F,
    ) -> Result<Conversation, ServiceError>
    where
        F: Fn(&Conversation, &mut Draft, DateTime<Utc>) -> Result<(), ServiceError>,
    {
        for _ in 0..ATTEMPTS {
            let c = self.storage.get_conversation(business, id).await?;
            let now = self.now();
            let mut d = Draft::of(&c);
            f(&c, &mut d, now)?;
            if d.changes.is_empty() {
                if let Some(m) = message {
                    self.publish_message(&c, m);
                }
                return Ok(c);
            }
            match self.write(&d.commit(&c, now), message).await? {
                Ok(c) => return Ok(c),
                Err(DeskOutcome::Moved | DeskOutcome::Written) => continue,
                Err(DeskOutcome::Full) => {
                    return Err(ServiceError::InvalidState {
                        message: "the agent already holds as many conversations as they take"
                            .into(),
                    });
                }
            }
        }
        Err(ServiceError::Conflict {
            entity: "conversation",
            constraint: "the conversation kept changing; try again".into(),
        })
    }

    /// Writes `commit`; once written, reads the conversation back and
    /// publishes `message` (what led to the change, if any) and the events
    /// to the live inbox. `Err` with the outcome when nothing was written.
    async fn write(
        &self,
        commit: &DeskCommit,
        message: Option<&Message>,
    ) -> Result<Result<Conversation, DeskOutcome>, ServiceError> {
        match self.storage.commit_desk(commit).await? {
            DeskOutcome::Written => {
                let c = self.storage.get_conversation(commit.business, commit.conversation).await?;
                if let Some(m) = message {
                    self.publish_message(&c, m);
                }
                self.publish_events(&c, &commit.events);
                Ok(Ok(c))
            }
            other => Ok(Err(other)),
        }
    }

    fn publish_events(&self, c: &Conversation, events: &[ConversationEvent]) {
        for event in events {
            self.feed.publish(&InboxUpdate {
                business_id: c.business_id,
                conversation_id: c.id,
                assigned_agent: c.assigned_agent,
                queue_id: c.desk.queue_id,
                update: UpdateKind::Event { event: event.clone() },
            });
        }
    }

    fn publish_message(&self, c: &Conversation, message: &Message) {
        self.feed.publish(&InboxUpdate {
            business_id: c.business_id,
            conversation_id: c.id,
            assigned_agent: c.assigned_agent,
            queue_id: c.desk.queue_id,
            update: UpdateKind::Message { message: Box::new(message.clone()) },
        });
    }

    /// Reads a conversation. An agent reads the ones they hold and the
    /// ones waiting unassigned (which they may take).
    pub async fn get(
        &self,
        business: BusinessId,
        actor: Actor,
        id: ConversationId,
    ) -> Result<Conversation, ServiceError> {
        let c = self.storage.get_conversation(business, id).await?;
        may_read(actor, &c)?;
        Ok(c)
    }

    /// A conversation's events, oldest first.
    pub async fn events(
        &self,
        business: BusinessId,
        actor: Actor,
        id: ConversationId,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Page<ConversationEvent>, ServiceError> {
        let (limit, after) = page_params(limit, cursor)?;
        self.get(business, actor, id).await?;
        Ok(self.storage.list_events(business, id, limit, after).await?)
    }

    /// Gives a conversation to an agent. The business names the agent (and
    /// may go past their capacity); an agent takes it themselves (an offer
    /// to them, or one nobody holds), within their capacity.
    pub async fn assign(
        &self,
        business: BusinessId,
        actor: Actor,
        id: ConversationId,
        agent: Option<AgentId>,
    ) -> Result<Conversation, ServiceError> {
        let target = match (actor, agent) {
            (Actor::Agent { agent_id }, Some(other)) if other != agent_id => {
                return Err(ServiceError::Forbidden {
                    message: "an agent's key takes conversations for that agent only".into(),
                });
            }
            (Actor::Agent { agent_id }, _) => agent_id,
            (_, Some(agent)) => match self.storage.get_agent(business, agent).await {
                Ok(a) => a.id,
                Err(crate::ports::StorageError::NotFound { .. }) => {
                    return Err(ValidationError::field("agent_id", "no such agent").into());
                }
                Err(e) => return Err(e.into()),
            },
            (_, None) => {
                return Err(
                    ValidationError::field("agent_id", "required with the business's key").into()
                );
            }
        };
        self.change(business, id, |c, d, _| {
            if c.status == ConversationStatus::Resolved {
                return Err(ServiceError::InvalidState {
                    message: "the conversation is resolved; reopen it first".into(),
                });
            }
            if let Actor::Agent { agent_id } = actor
                && c.assigned_agent.is_some_and(|a| a != agent_id)
            {
                return Err(ServiceError::Forbidden {
                    message: "another agent holds this conversation".into(),
                });
            }
            if c.assigned_agent == Some(target) && c.desk.offer_expires_at.is_none() {
                return Ok(());
            }
            if actor.agent().is_some() && c.assigned_agent != Some(target) {
                d.claim = Some(target);
            }
            d.take(actor, target);
            Ok(())
        })
        .await
    }

    /// Takes a conversation from its agent; it goes back to its queue when
    /// it still waits for a person.
    pub async fn unassign(
        &self,
        business: BusinessId,
        actor: Actor,
        id: ConversationId,
    ) -> Result<Conversation, ServiceError> {
        self.change(business, id, |c, d, now| {
            may_act(actor, c)?;
            if c.assigned_agent.is_none() {
                return Err(ServiceError::InvalidState {
                    message: "the conversation is not assigned".into(),
                });
            }
            d.release(actor, c.status != ConversationStatus::Resolved, now);
            Ok(())
        })
        .await
    }

    /// Marks it open (waiting for the business) or pending (waiting for the
    /// customer). Snoozing and resolving have their own actions.
    pub async fn set_status(
        &self,
        business: BusinessId,
        actor: Actor,
        id: ConversationId,
        status: ConversationStatus,
    ) -> Result<Conversation, ServiceError> {
        if !matches!(status, ConversationStatus::Open | ConversationStatus::Pending) {
            return Err(ValidationError::field(
                "status",
                "open or pending; snooze and resolve have their own actions",
            )
            .into());
        }
        self.change(business, id, |c, d, _| {
            may_act(actor, c)?;
            d.set_status(actor, status, None);
            Ok(())
        })
        .await
    }

    /// Sets its priority (0–3); higher is served first.
    pub async fn set_priority(
        &self,
        business: BusinessId,
        actor: Actor,
        id: ConversationId,
        priority: u8,
    ) -> Result<Conversation, ServiceError> {
        if priority > crate::routing::PRIORITY_MAX {
            return Err(ValidationError::field(
                "priority",
                format!("must be 0 to {}", crate::routing::PRIORITY_MAX),
            )
            .into());
        }
        self.change(business, id, |c, d, _| {
            may_act(actor, c)?;
            if d.desk.priority != priority {
                d.changes.push((actor, Change::Priority { from: d.desk.priority, to: priority }));
                d.desk.priority = priority;
            }
            Ok(())
        })
        .await
    }

    /// Puts it aside until `until` (in the future, at most 90 days); it
    /// opens again then, or when the customer writes.
    pub async fn snooze(
        &self,
        business: BusinessId,
        actor: Actor,
        id: ConversationId,
        until: DateTime<Utc>,
    ) -> Result<Conversation, ServiceError> {
        let until = to_storage_precision(until);
        let now = self.now();
        if until <= now || until > now + Duration::days(SNOOZE_MAX_DAYS) {
            return Err(ValidationError::field(
                "until",
                format!("must be in the future, at most {SNOOZE_MAX_DAYS} days ahead"),
            )
            .into());
        }
        self.change(business, id, |c, d, _| {
            may_act(actor, c)?;
            if c.status == ConversationStatus::Resolved {
                return Err(ServiceError::InvalidState {
                    message: "the conversation is resolved".into(),
                });
            }
            d.set_status(actor, ConversationStatus::Snoozed, Some(until));
            Ok(())
        })
        .await
    }

    /// Resolves it: its agent lets go (and is remembered for the customer's
    /// return), it leaves its queue, and the assistant answers again.
    pub async fn resolve(
        &self,
        business: BusinessId,
        actor: Actor,
        id: ConversationId,
    ) -> Result<Conversation, ServiceError> {
        let c = self
            .change(business, id, |c, d, now| {
                may_act(actor, c)?;
                d.set_status(actor, ConversationStatus::Resolved, None);
                d.release(actor, false, now);
                if c.assistant.waiting_since().is_some() {
                    d.changes.push((actor, Change::HandedBack));
                }
                Ok(())
            })
            .await?;
        self.return_to_assistant(business, c).await
    }

    /// Returns it to the assistant: its agent lets go, it leaves its
    /// queue, and the assistant answers the customer's next message.
    /// `InvalidState` when no person has it or waits to.
    pub async fn hand_back(
        &self,
        business: BusinessId,
        actor: Actor,
        id: ConversationId,
    ) -> Result<Conversation, ServiceError> {
        let c = self
            .change(business, id, |c, d, now| {
                may_act(actor, c)?;
                if c.assistant.waiting_since().is_none()
                    && c.assigned_agent.is_none()
                    && !c.desk.waiting()
                {
                    return Err(ServiceError::InvalidState {
                        message: "the conversation is not waiting for a person".into(),
                    });
                }
                d.release(actor, false, now);
                d.changes.push((actor, Change::HandedBack));
                Ok(())
            })
            .await?;
        self.return_to_assistant(business, c).await
    }

    async fn return_to_assistant(
        &self,
        business: BusinessId,
        c: Conversation,
    ) -> Result<Conversation, ServiceError> {
        if c.assistant.waiting_since().is_none() {
            return Ok(c);
        }
        match self.assistant.hand_back(business, c.id).await {
            Ok(c) => Ok(c),
            // Handed back meanwhile by someone else: the same end.
            Err(ServiceError::InvalidState { .. }) => {
                Ok(self.storage.get_conversation(business, c.id).await?)
            }
            Err(e) => Err(e),
        }
    }

    /// A person's reply, queued through the outbox (the window rules
    /// apply; templates go anytime), authored `staff` and attributed by a
    /// `reply` event. An agent replying to a conversation offered to them
    /// takes it; the first reply of a wait is its first response.
    pub async fn reply(
        &self,
        business: BusinessId,
        actor: Actor,
        id: ConversationId,
        reply: Reply,
    ) -> Result<Message, ServiceError> {
        let c = self.storage.get_conversation(business, id).await?;
        may_act(actor, &c)?;
        let customer = self.storage.get_customer(business, c.customer_id).await?;
        let outbound = Outbound::new(Arc::clone(&self.storage), Arc::clone(&self.clock));
        let (content, category) = outbound
            .compose(business, &customer, reply.content, reply.template, &reply.media_sizes)
            .await?;
        let now = self.now();
        let (mut message, item) =
            outbound.prepare(business, &customer, content, category, now, now).await?;
        message.author = Author::Staff;
        message.conversation_id = c.id;
        self.storage.queue_messages(&[(message.clone(), item)]).await?;
        let message_id = message.id;
        let recorded = self
            .change(business, id, |c, d, now| {
                if let Actor::Agent { agent_id } = actor
                    && c.assigned_agent == Some(agent_id)
                    && c.desk.offer_expires_at.is_some()
                {
                    d.take(actor, agent_id);
                }
                if c.desk.first_response_at.is_none()
                    && let Some(since) = c.desk.queued_at
                {
                    d.desk.first_response_at = Some(now);
                    let seconds = (now - since).num_seconds();
                    d.changes.push((actor, Change::FirstResponse { message_id, seconds }));
                }
                d.changes.push((actor, Change::Reply { message_id }));
                Ok(())
            })
            .await;
        let c = match recorded {
            Ok(c) => c,
            // The reply is queued whatever happened to the desk; its
            // attribution is kept on its own.
            Err(_) => {
                let event =
                    ConversationEvent::new(business, id, now, actor, Change::Reply { message_id });
                self.storage.add_events(business, std::slice::from_ref(&event)).await?;
                self.publish_events(&c, &[event]);
                c
            }
        };
        self.publish_message(&c, &message);
        Ok(message)
    }

    /// Adds an internal note (1–4096 characters), never sent to the
    /// customer.
    pub async fn note(
        &self,
        business: BusinessId,
        actor: Actor,
        id: ConversationId,
        text: &str,
    ) -> Result<ConversationEvent, ServiceError> {
        let text = clean_note(text)?;
        let c = self.get(business, actor, id).await?;
        let event = ConversationEvent::new(business, id, self.now(), actor, Change::Note { text });
        self.storage.add_events(business, std::slice::from_ref(&event)).await?;
        self.publish_events(&c, std::slice::from_ref(&event));
        Ok(event)
    }

    /// An agent pulls the top of a queue (highest priority, longest
    /// waiting, not held by anyone) and takes it. `None` when nothing
    /// waits there. The agent must match the queue's target and have room.
    pub async fn next(
        &self,
        business: BusinessId,
        agent: AgentId,
        queue: QueueId,
    ) -> Result<Option<Conversation>, ServiceError> {
        let q = self.storage.get_queue(business, queue).await?;
        let a = self.storage.get_agent(business, agent).await?;
        if !q.target_expr().eval(&a.attributes()) {
            return Err(ServiceError::Forbidden {
                message: format!("this agent is not in queue {}'s target", q.name),
            });
        }
        let mut waiting: Vec<Conversation> = self
            .storage
            .desk_board(business, routing::BOARD_MAX)
            .await?
            .into_iter()
            .filter(|c| c.desk.queue_id == Some(queue) && c.assigned_agent.is_none())
            .filter(|c| c.desk.waiting())
            .collect();
        waiting.sort_by(|x, y| {
            crate::routing::queue_order(&routing::waiting(x), &routing::waiting(y))
        });
        let actor = Actor::Agent { agent_id: agent };
        for c in waiting {
            let mut d = Draft::of(&c);
            d.claim = Some(agent);
            d.take(actor, agent);
            match self.write(&d.commit(&c, self.now()), None).await? {
                Ok(c) => return Ok(Some(c)),
                // Someone else took it meanwhile: the next one.
                Err(DeskOutcome::Moved | DeskOutcome::Written) => continue,
                Err(DeskOutcome::Full) => {
                    return Err(ServiceError::InvalidState {
                        message: "you already hold as many conversations as you take".into(),
                    });
                }
            }
        }
        Ok(None)
    }
}

/// An agent reads what they hold and what waits unassigned.
fn may_read(actor: Actor, c: &Conversation) -> Result<(), ServiceError> {
    match actor {
        Actor::Agent { agent_id }
            if c.assigned_agent != Some(agent_id)
                && !(c.assigned_agent.is_none() && c.desk.waiting()) =>
        {
            Err(ServiceError::Forbidden {
                message: "this conversation is not assigned to this agent".into(),
            })
        }
        _ => Ok(()),
    }
}

/// An agent acts on what they hold (offered or taken).
fn may_act(actor: Actor, c: &Conversation) -> Result<(), ServiceError> {
    match actor {
        Actor::Agent { agent_id } if c.assigned_agent != Some(agent_id) => {
            Err(ServiceError::Forbidden {
                message: "this conversation is not assigned to this agent".into(),
            })
        }
        _ => Ok(()),
    }
}
