//! Routing conversations into queues as customers write, and the
//! assignment worker: offers, lapsed offers, snoozes that end, and
//! first-response deadlines that pass.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::{Draft, TeamInbox};
use crate::domain::{
    Actor, AgentId, Business, BusinessId, Change, Conversation, ConversationStatus, Customer,
    Decision, Message, OrderStatus, Queue, QueueId,
};
use crate::ports::{AgentQuery, DeskOutcome, OrderQuery, PaymentQuery};
use crate::routing::{AgentView, Strategy, Waiting, assign_queue};
use crate::service::ServiceError;

/// Conversations one round reads per business.
pub(super) const BOARD_MAX: u32 = 2_000;
/// Businesses one round serves.
const BUSINESSES_PER_ROUND: u32 = 100;
/// Agents, queues and segments read per business.
const READ_MAX: u32 = 200;

/// What one worker round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeskRound {
    /// Businesses looked at: those with a timer due or people waiting
    /// while one of their agents is online with room.
    pub businesses: usize,
    /// Offers made.
    pub offered: usize,
    /// Offers that lapsed (the conversation went back to its queue).
    pub expired: usize,
    /// First-response deadlines passed and escalated.
    pub escalated: usize,
    /// Snoozed conversations opened again.
    pub woken: usize,
}

/// A conversation as its queue sees it.
pub(super) fn waiting(c: &Conversation) -> Waiting {
    Waiting {
        conversation: c.id,
        priority: c.desk.priority,
        since: c.desk.waiting_since.unwrap_or(c.created_at),
    }
}

/// What routing rules read of a conversation: `intent`, `reason` and
/// `sentiment` from the assistant; the customer's `tags`, `vip` (tagged
/// `vip`), `segments` (names of the segments they are in) and `language`
/// (their `language` attribute); `order.status` and `order.open` of their
/// latest order, `payment.status` of its latest payment.
pub async fn conversation_attributes(
    storage: &dyn crate::ports::Storage,
    business: &Business,
    customer: &Customer,
    conversation: &Conversation,
    decision: Option<&Decision>,
    now: DateTime<Utc>,
) -> Result<Value, ServiceError> {
    let b = business.id;
    let handoff = conversation.assistant.handoff.as_ref().filter(|h| h.resolved_at.is_none());
    let tags: Vec<&str> = customer.tags.iter().map(|t| t.as_str()).collect();
    let language = match customer.attributes.get("language") {
        Some(crate::domain::AttributeValue::Text(l)) => Some(l.to_lowercase()),
        _ => None,
    };
    // Orders in id order: the last read is the latest.
    let mut orders = Vec::new();
    let mut after = None;
    for _ in 0..5 {
        let q = OrderQuery { customer: Some(customer.id), status: None, limit: 200, after };
        let page = storage.list_orders(b, &q).await?;
        orders.extend(page.items);
        match page.next_cursor.and_then(|c| c.parse().ok()) {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let latest = orders.last();
    let payment = match latest {
        Some(o) => {
            let q = PaymentQuery { order: Some(o.id), status: None, limit: 200, after: None };
            storage.list_payments(b, &q).await?.items.pop()
        }
        None => None,
    };
    let mut table = crate::segment::CustomerTable::new();
    let bought: Vec<DateTime<Utc>> = orders
        .iter()
        .filter(|o| matches!(o.status, OrderStatus::Paid | OrderStatus::Fulfilled))
        .map(|o| o.created_at)
        .collect();
    table.push(customer, &bought);
    let segments: Vec<String> = storage
        .list_segments(b, READ_MAX, None)
        .await?
        .items
        .into_iter()
        .filter(|s| table.count(&table.compile(&s.rule, now, business.time_zone)) == 1)
        .map(|s| s.name)
        .collect();
    Ok(json!({
        "intent": decision.and_then(|d| d.intent.clone()),
        "reason": decision.map(|d| d.reason.as_str()),
        "handoff": handoff.is_some(),
        "sentiment": handoff.map(|h| h.sentiment),
        "tags": tags,
        "vip": tags.contains(&"vip"),
        "segments": segments,
        "language": language,
        "order": latest.map(|o| json!({
            "status": o.status,
            "open": matches!(o.status, OrderStatus::Draft | OrderStatus::AwaitingPayment | OrderStatus::Paid),
        })),
        "payment": payment.map(|p| json!({"status": p.status})),
    }))
}

impl TeamInbox {
    /// What a customer's message does to the team inbox: it reopens a
    /// resolved, snoozed or pending conversation; a new handoff of the
    /// assistant is recorded; and a conversation that now needs a person
    /// (the assistant handed over, or the business has no assistant and
    /// nothing automatic `handled` the message) and is neither held nor
    /// queued goes to the queue its routing rules give. Publishes the
    /// message to the live inbox.
    pub async fn customer_wrote(
        &self,
        business: &Business,
        customer: &Customer,
        message: &Message,
        decision: Option<&Decision>,
        handled: bool,
    ) -> Result<Conversation, ServiceError> {
        let s = &*self.storage;
        let first = s.get_conversation(business.id, message.conversation_id).await?;
        let now = self.now();
        let needs = |c: &Conversation| {
            !handled
                && c.assigned_agent.is_none()
                && !c.desk.waiting()
                && (c.assistant.waiting_since().is_some() || !business.assistant.enabled)
        };
        let rules = s.get_routing(business.id).await?;
        // Attributes cost a few reads: only for a conversation to route.
        let routes = !rules.rules.is_empty() || rules.default.is_some();
        let route = match routes && needs(&first) {
            true => {
                let attrs =
                    conversation_attributes(s, business, customer, &first, decision, now).await?;
                rules.route(&attrs)
            }
            false => None,
        };
        let c = self
            .change_after(business.id, message.conversation_id, Some(message), |c, d, now| {
                if matches!(
                    c.status,
                    ConversationStatus::Resolved
                        | ConversationStatus::Snoozed
                        | ConversationStatus::Pending
                ) {
                    d.set_status(Actor::Customer, ConversationStatus::Open, None);
                }
                if let Some(h) = c
                    .assistant
                    .handoff
                    .as_ref()
                    .filter(|h| h.resolved_at.is_none() && h.message_id == message.id)
                {
                    d.changes.push((
                        Actor::Assistant,
                        Change::HandedOff {
                            reason: h.reason.as_str().into(),
                            message_id: Some(message.id),
                        },
                    ));
                }
                if let (true, Some(r)) = (needs(c), &route) {
                    let rule = r.rule.and_then(|i| rules.rules.get(i)).map(|x| x.name.clone());
                    let due = now + r.first_response;
                    d.desk.queue_id = Some(r.queue);
                    d.desk.priority = r.priority;
                    d.desk.rule = rule.clone();
                    d.desk.queued_at = Some(now);
                    d.desk.waiting_since = Some(now);
                    d.desk.offer_expires_at = None;
                    d.desk.offered.clear();
                    d.desk.first_response_due = Some(due);
                    d.desk.first_response_at = None;
                    d.desk.escalated_at = None;
                    if !rules.return_to_previous_agent {
                        d.desk.previous_agent = None;
                    }
                    d.changes.push((
                        Actor::System,
                        Change::Queued {
                            queue_id: r.queue,
                            priority: r.priority,
                            rule,
                            first_response_due: due,
                        },
                    ));
                }
                Ok(())
            })
            .await?;
        Ok(c)
    }

    /// One round of the assignment worker at `now`, over the businesses
    /// with something due: ends snoozes, takes lapsed offers back,
    /// escalates passed first-response deadlines (once per wait: to the
    /// queue's escalation queue, or a priority level up), then offers
    /// waiting conversations to eligible agents in queue order. Safe on
    /// several servers at once: each change is written against the
    /// revision it read, each offer against the agent's capacity.
    pub async fn run_due(&self, now: DateTime<Utc>) -> Result<DeskRound, ServiceError> {
        let now = crate::ports::to_storage_precision(now);
        let mut round = DeskRound::default();
        // Round robin over the due businesses, from where the last round
        // stopped, wrapping once.
        let start = *self.cursor.lock().unwrap_or_else(|e| e.into_inner());
        let s = &self.storage;
        let mut batch = s.desk_due(now, start, BUSINESSES_PER_ROUND).await?;
        if batch.len() < BUSINESSES_PER_ROUND as usize && start.is_some() {
            let wrapped = s.desk_due(now, None, BUSINESSES_PER_ROUND).await?;
            let room = BUSINESSES_PER_ROUND as usize - batch.len();
            batch.extend(wrapped.into_iter().filter(|b| Some(*b) <= start).take(room));
        }
        let full = batch.len() >= BUSINESSES_PER_ROUND as usize;
        *self.cursor.lock().unwrap_or_else(|e| e.into_inner()) =
            if full { batch.last().copied() } else { None };
        round.businesses = batch.len();
        for business in batch {
            self.run_business(business, now, &mut round).await?;
        }
        Ok(round)
    }

    async fn run_business(
        &self,
        business: BusinessId,
        now: DateTime<Utc>,
        round: &mut DeskRound,
    ) -> Result<(), ServiceError> {
        let s = &*self.storage;
        let queues: HashMap<QueueId, Queue> = s
            .list_queues(business, READ_MAX, None)
            .await?
            .items
            .into_iter()
            .map(|q| (q.id, q))
            .collect();
        // Timers first, each conversation in one write.
        let board = s.desk_board(business, BOARD_MAX).await?;
        let mut timers_wrote = false;
        for c in &board {
            let mut d = Draft::of(c);
            let sys = Actor::System;
            if c.status == ConversationStatus::Snoozed
                && c.desk.snoozed_until.is_some_and(|t| t <= now)
            {
                d.set_status(sys, ConversationStatus::Open, None);
                round.woken += 1;
            }
            if let (Some(agent), Some(t)) = (c.assigned_agent, c.desk.offer_expires_at)
                && t <= now
            {
                d.assigned = None;
                d.desk.offer_expires_at = None;
                d.changes.push((sys, Change::OfferExpired { agent_id: agent }));
                round.expired += 1;
            }
            if c.desk.deadline_running() && c.desk.first_response_due.is_some_and(|t| t <= now) {
                let next = c.desk.queue_id.and_then(|q| queues.get(&q)).and_then(|q| q.escalate_to);
                d.desk.escalated_at = Some(now);
                match next {
                    Some(to) => d.desk.queue_id = Some(to),
                    None => {
                        d.desk.priority = (d.desk.priority + 1).min(crate::routing::PRIORITY_MAX)
                    }
                }
                d.changes.push((
                    sys,
                    Change::Escalated {
                        from_queue: c.desk.queue_id,
                        to_queue: d.desk.queue_id,
                        priority: d.desk.priority,
                    },
                ));
                round.escalated += 1;
            }
            if !d.changes.is_empty() {
                // Moved: another worker or a person changed it; it is read
                // again next round.
                timers_wrote |= self.write(&d.commit(c, now), None).await?.is_ok();
            }
        }
        // What the timers wrote moved revisions: read the board anew then.
        let board = match timers_wrote {
            true => s.desk_board(business, BOARD_MAX).await?,
            false => board,
        };
        self.offer_waiting(business, board, &queues, now, round).await
    }

    async fn offer_waiting(
        &self,
        business: BusinessId,
        board: Vec<Conversation>,
        queues: &HashMap<QueueId, Queue>,
        now: DateTime<Utc>,
        round: &mut DeskRound,
    ) -> Result<(), ServiceError> {
        let s = &*self.storage;
        let board: Vec<Conversation> = board
            .into_iter()
            .filter(|c| c.desk.waiting() && c.assigned_agent.is_none())
            .filter(|c| c.status != ConversationStatus::Resolved)
            .collect();
        if board.is_empty() {
            return Ok(());
        }
        let loads: HashMap<AgentId, u32> = s.agent_loads(business).await?.into_iter().collect();
        let q = AgentQuery { availability: None, limit: READ_MAX, after: None };
        let mut agents: Vec<AgentView> = s
            .list_agents(business, &q)
            .await?
            .items
            .into_iter()
            .map(|a| AgentView {
                id: a.id,
                attributes: a.attributes(),
                availability: a.availability,
                max_concurrent: a.max_concurrent,
                open: loads.get(&a.id).copied().unwrap_or(0),
                last_assigned_at: a.last_assigned_at,
            })
            .collect();
        let returning = s.get_routing(business).await?.return_to_previous_agent;
        let by_id: HashMap<_, _> = board.iter().map(|c| (c.id, c)).collect();
        let mut by_queue: HashMap<QueueId, Vec<&Conversation>> = HashMap::new();
        for c in &board {
            if let Some(q) = c.desk.queue_id {
                by_queue.entry(q).or_default().push(c);
            }
        }
        let mut queue_ids: Vec<QueueId> = by_queue.keys().copied().collect();
        queue_ids.sort();
        for qid in queue_ids {
            let Some(queue) = queues.get(&qid) else { continue };
            let target = queue.target_expr();
            let mut offers = Vec::new();
            let mut rest = Vec::new();
            for c in &by_queue[&qid] {
                // A returning customer goes to their previous agent first.
                let previous = c.desk.previous_agent.filter(|_| returning).filter(|p| {
                    !c.desk.offered.contains(p)
                        && agents.iter().any(|a| a.id == *p && a.eligible(&target))
                });
                match previous {
                    Some(p) if queue.strategy != Strategy::Manual => {
                        if let Some(a) = agents.iter_mut().find(|a| a.id == p) {
                            a.open += 1;
                        }
                        offers.push((c.id, p));
                    }
                    _ => rest.push(waiting(c)),
                }
            }
            let skips: HashMap<_, _> = rest
                .iter()
                .map(|w| (w.conversation, by_id[&w.conversation].desk.offered.clone()))
                .collect();
            let picked = assign_queue(
                &rest,
                &mut agents,
                &target,
                queue.strategy,
                &|id| skips.get(&id).cloned().unwrap_or_default(),
                now,
            );
            offers.extend(picked.into_iter().map(|p| (p.conversation, p.agent)));
            for (id, agent) in offers {
                let c = by_id[&id];
                let mut d = Draft::of(c);
                let expires = now + Duration::seconds(i64::from(queue.offer_timeout_secs));
                d.assigned = Some(agent);
                d.claim = Some(agent);
                d.desk.offer_expires_at = Some(expires);
                d.desk.remember_offer(agent);
                d.changes.push((
                    Actor::System,
                    Change::Offered { agent_id: agent, expires_at: expires },
                ));
                match self.write(&d.commit(c, now), None).await? {
                    Ok(_) => round.offered += 1,
                    // Filled by another server meanwhile: none more for them
                    // this round.
                    Err(DeskOutcome::Full) => {
                        if let Some(a) = agents.iter_mut().find(|a| a.id == agent) {
                            a.open = a.max_concurrent;
                        }
                    }
                    Err(_) => {}
                }
            }
        }
        Ok(())
    }
}
