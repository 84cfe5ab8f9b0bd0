//! Live updates of the team inbox: every new message and every
//! conversation event, fanned out in process to whoever listens (the
//! server's event stream). Slow listeners are dropped, not waited for.

use std::sync::Mutex;

use futures_channel::mpsc;
use serde::Serialize;

use crate::domain::{AgentId, BusinessId, ConversationEvent, ConversationId, Message, QueueId};

/// How many updates a listener may fall behind before it is dropped.
pub const FEED_BUFFER: usize = 256;

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UpdateKind {
    /// A message came in, or a person's reply was queued.
    Message {
        /// The message.
        message: Box<Message>,
    },
    /// A conversation changed (assignment, status, priority…).
    Event {
        /// The event.
        event: ConversationEvent,
    },
}

/// One update of the live inbox, with what scoping needs: whose and which
/// queue's it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboxUpdate {
    /// The business.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub business_id: BusinessId,
    /// The conversation.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub conversation_id: ConversationId,
    /// The agent holding it after the change.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub assigned_agent: Option<AgentId>,
    /// Its queue after the change.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub queue_id: Option<QueueId>,
    /// What happened.
    pub update: UpdateKind,
}

impl InboxUpdate {
    /// The stream's event name: `message`, or the event's kind
    /// (`assigned`, `status`…).
    pub fn name(&self) -> &'static str {
        match &self.update {
            UpdateKind::Message { .. } => "message",
            UpdateKind::Event { event } => event.change.kind(),
        }
    }

    /// True when it concerns `agent`: their conversation, a change about
    /// them, or a conversation in one of `queues` (the queues they are in).
    pub fn concerns(&self, agent: AgentId, queues: &[QueueId]) -> bool {
        let about = match &self.update {
            UpdateKind::Event { event } => {
                event.change.agent() == Some(agent) || event.actor.agent() == Some(agent)
            }
            UpdateKind::Message { .. } => false,
        };
        about
            || self.assigned_agent == Some(agent)
            || (self.assigned_agent.is_none() && self.queue_id.is_some_and(|q| queues.contains(&q)))
    }
}

/// The in-process fan-out of [`InboxUpdate`]s.
#[derive(Debug, Default)]
pub struct InboxFeed {
    listeners: Mutex<Vec<(BusinessId, mpsc::Sender<InboxUpdate>)>>,
}

impl InboxFeed {
    /// Listens to one business's updates from now on.
    pub fn subscribe(&self, business: BusinessId) -> mpsc::Receiver<InboxUpdate> {
        let (tx, rx) = mpsc::channel(FEED_BUFFER);
        self.lock().push((business, tx));
        rx
    }

    /// Sends an update to its business's listeners; closed and lagging
    /// ones are dropped (a client reconnects and reads what it missed).
    pub fn publish(&self, update: &InboxUpdate) {
        self.lock().retain_mut(|(business, tx)| match *business == update.business_id {
            true => tx.try_send(update.clone()).is_ok(),
            false => !tx.is_closed(),
        });
    }

    /// How many listen now.
    pub fn listeners(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(BusinessId, mpsc::Sender<InboxUpdate>)>> {
        self.listeners.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Actor, Change};

    fn update(business: BusinessId, agent: Option<AgentId>, queue: Option<QueueId>) -> InboxUpdate {
        let event = ConversationEvent::new(
            business,
            ConversationId::new(),
            chrono::Utc::now(),
            Actor::System,
            Change::Priority { from: 0, to: 1 },
        );
        InboxUpdate {
            business_id: business,
            conversation_id: event.conversation_id,
            assigned_agent: agent,
            queue_id: queue,
            update: UpdateKind::Event { event },
        }
    }

    #[test]
    fn listeners_get_their_business_only_and_laggards_are_dropped() {
        let feed = InboxFeed::default();
        let (a, b) = (BusinessId::new(), BusinessId::new());
        let mut ra = feed.subscribe(a);
        let mut rb = feed.subscribe(b);
        feed.publish(&update(a, None, None));
        assert!(ra.try_recv().is_ok());
        assert!(rb.try_recv().is_err(), "nothing for b");
        drop(rb);
        for _ in 0..2 * FEED_BUFFER + 2 {
            feed.publish(&update(a, None, None));
        }
        assert_eq!(feed.listeners(), 0, "closed and lagging listeners are gone");
    }

    #[test]
    fn agents_see_their_own_and_their_queues() {
        let (me, other) = (AgentId::new(), AgentId::new());
        let (mine, theirs) = (QueueId::new(), QueueId::new());
        let b = BusinessId::new();
        assert!(update(b, Some(me), Some(theirs)).concerns(me, &[mine]));
        assert!(update(b, None, Some(mine)).concerns(me, &[mine]));
        assert!(!update(b, None, Some(theirs)).concerns(me, &[mine]));
        assert!(!update(b, Some(other), Some(mine)).concerns(me, &[mine]), "taken by another");
    }
}
