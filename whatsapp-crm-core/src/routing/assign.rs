//! Who gets a waiting conversation: rules give it a queue, a priority and a
//! first-response deadline; queues are worked in priority order, then by
//! waiting time; an agent is picked among the eligible by the queue's
//! strategy, ties broken by agent id so the outcome is deterministic.

use std::cmp::Ordering;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::expr::Expr;
pub use crate::domain::Availability;
use crate::domain::{AgentId, ConversationId};

/// Highest priority level.
pub const PRIORITY_MAX: u8 = 3;
/// A compound sentiment at or under this raises priority one level.
pub const NEGATIVE_SENTIMENT: f64 = -0.5;

/// How a queue picks among eligible agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// The agent whose last assignment is oldest (never assigned first).
    #[default]
    RoundRobin,
    /// The agent with the fewest open conversations.
    LeastLoaded,
    /// Nobody: agents pick from the queue themselves.
    Manual,
}

/// An agent as routing sees them.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentView {
    /// Agent id.
    pub id: AgentId,
    /// Attributes a queue's target reads (`skills`, `languages`, …).
    pub attributes: Value,
    /// Availability.
    pub availability: Availability,
    /// Most open conversations at once.
    pub max_concurrent: u32,
    /// Open conversations assigned now.
    pub open: u32,
    /// When they were last assigned one.
    pub last_assigned_at: Option<DateTime<Utc>>,
}

impl AgentView {
    /// Online, matching the target, and below capacity.
    pub fn eligible(&self, target: &Expr) -> bool {
        self.availability == Availability::Online
            && self.open < self.max_concurrent
            && target.eval(&self.attributes)
    }
}

/// Picks the agent for a conversation among `agents` by `strategy`,
/// skipping `skip` (agents already offered it). `None` for `manual`, or
/// when no agent is eligible.
pub fn pick<'a>(
    agents: &'a [AgentView],
    target: &Expr,
    strategy: Strategy,
    skip: &[AgentId],
) -> Option<&'a AgentView> {
    let eligible = agents.iter().filter(|a| a.eligible(target) && !skip.contains(&a.id));
    match strategy {
        Strategy::Manual => None,
        Strategy::RoundRobin => eligible.min_by(|a, b| {
            // Never assigned comes first (None < Some).
            a.last_assigned_at.cmp(&b.last_assigned_at).then(a.id.cmp(&b.id))
        }),
        Strategy::LeastLoaded => eligible.min_by(|a, b| {
            load(a).partial_cmp(&load(b)).unwrap_or(Ordering::Equal).then(a.id.cmp(&b.id))
        }),
    }
}

/// Share of capacity in use, so an agent taking 10 at a time with 5 open
/// counts as less loaded than one taking 3 with 2.
fn load(a: &AgentView) -> f64 {
    f64::from(a.open) / f64::from(a.max_concurrent.max(1))
}

/// A routing rule: when its condition holds for a conversation, the
/// conversation goes to its queue with its priority and deadline.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule<Q> {
    /// The condition, over the conversation's attributes.
    pub when: Expr,
    /// The queue.
    pub queue: Q,
    /// Base priority, 0 (normal) to [`PRIORITY_MAX`].
    pub priority: u8,
    /// First response due within this long.
    pub first_response: Duration,
}

/// Where a conversation goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Route<Q> {
    /// The queue.
    pub queue: Q,
    /// Priority after VIP and sentiment.
    pub priority: u8,
    /// First response due within this long.
    pub first_response: Duration,
    /// Which rule matched (`None`: the default).
    pub rule: Option<usize>,
}

/// Routes a conversation: the first rule whose condition holds, else the
/// default (`None` when there is none); a VIP (`vip == true`) and strongly
/// negative sentiment (`sentiment` at or under [`NEGATIVE_SENTIMENT`]) each
/// raise the priority one level, up to [`PRIORITY_MAX`].
pub fn route<Q: Clone>(
    rules: &[Rule<Q>],
    default: Option<&Rule<Q>>,
    conversation: &Value,
) -> Option<Route<Q>> {
    let (index, rule) = match rules.iter().position(|r| r.when.eval(conversation)) {
        Some(i) => (Some(i), &rules[i]),
        None => (None, default?),
    };
    let vip = conversation.get("vip").and_then(Value::as_bool).unwrap_or(false);
    let angry = conversation
        .get("sentiment")
        .and_then(Value::as_f64)
        .is_some_and(|s| s <= NEGATIVE_SENTIMENT);
    let priority = (rule.priority + u8::from(vip) + u8::from(angry)).min(PRIORITY_MAX);
    Some(Route {
        queue: rule.queue.clone(),
        priority,
        first_response: rule.first_response,
        rule: index,
    })
}

/// A conversation waiting in a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    /// The conversation.
    pub conversation: ConversationId,
    /// Its priority.
    pub priority: u8,
    /// Since when it waits.
    pub since: DateTime<Utc>,
}

/// Queue order: higher priority first, then longer waiting, then id.
pub fn queue_order(a: &Waiting, b: &Waiting) -> Ordering {
    b.priority
        .cmp(&a.priority)
        .then(a.since.cmp(&b.since))
        .then(a.conversation.cmp(&b.conversation))
}

/// One assignment a round makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assignment {
    /// The conversation.
    pub conversation: ConversationId,
    /// The agent it is offered to.
    pub agent: AgentId,
}

/// Assigns a queue's waiting conversations in queue order while agents
/// have room: each pick counts against the agent at once, so nobody goes
/// over capacity. `offered` lists, per conversation, the agents it was
/// already offered to: any other eligible agent is preferred, and only when
/// none has room does it go to one of them again. Conversations no agent
/// can take keep waiting; a later one may still be assigned when an agent
/// fits it.
pub fn assign_queue(
    waiting: &[Waiting],
    agents: &mut [AgentView],
    target: &Expr,
    strategy: Strategy,
    offered: &dyn Fn(ConversationId) -> Vec<AgentId>,
    now: DateTime<Utc>,
) -> Vec<Assignment> {
    let mut order: Vec<&Waiting> = waiting.iter().collect();
    order.sort_by(|a, b| queue_order(a, b));
    let mut out = Vec::new();
    for w in order {
        // Agents offered it already come last: only when nobody else can
        // take it does it go to one of them again.
        let skip = offered(w.conversation);
        let Some(agent) = pick(agents, target, strategy, &skip)
            .or_else(|| pick(agents, target, strategy, &[]))
            .map(|a| a.id)
        else {
            continue;
        };
        if let Some(a) = agents.iter_mut().find(|a| a.id == agent) {
            a.open += 1;
            a.last_assigned_at = Some(now);
        }
        out.push(Assignment { conversation: w.conversation, agent });
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::{Just, any, prop_assert, prop_oneof, proptest};
    use proptest::strategy::Strategy as Generate;
    use serde_json::json;

    use super::*;

    fn t(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap() + Duration::minutes(minute)
    }

    fn agent(n: u128, skills: &[&str], max: u32, open: u32, last: Option<i64>) -> AgentView {
        AgentView {
            id: AgentId::from_uuid(uuid::Uuid::from_u128(n)),
            attributes: json!({"skills": skills, "languages": ["en", "sw"]}),
            availability: Availability::Online,
            max_concurrent: max,
            open,
            last_assigned_at: last.map(t),
        }
    }

    fn conv(n: u128) -> ConversationId {
        ConversationId::from_uuid(uuid::Uuid::from_u128(n))
    }

    #[test]
    fn strategies_pick_deterministically() {
        let any = Expr::parse("true").unwrap();
        let agents = [
            agent(3, &["billing"], 5, 1, Some(10)),
            agent(1, &["billing"], 5, 3, Some(5)),
            agent(2, &["support"], 5, 1, None),
        ];
        let pick_id = |s, target: &Expr, skip: &[AgentId]| {
            pick(&agents, target, s, skip).map(|a| a.id.as_uuid().as_u128())
        };
        assert_eq!(pick_id(Strategy::RoundRobin, &any, &[]), Some(2), "never assigned first");
        assert_eq!(pick_id(Strategy::LeastLoaded, &any, &[]), Some(2), "1 of 5, tie by id");
        let billing = Expr::parse("skills HAS 'billing'").unwrap();
        assert_eq!(pick_id(Strategy::RoundRobin, &billing, &[]), Some(1), "oldest assignment");
        assert_eq!(pick_id(Strategy::LeastLoaded, &billing, &[]), Some(3));
        assert_eq!(pick_id(Strategy::Manual, &billing, &[]), None);
        let skip = [agents[1].id];
        assert_eq!(pick_id(Strategy::RoundRobin, &billing, &skip), Some(3), "offered already");
        // Away, offline and full agents are not eligible.
        let mut others = agents.clone();
        others[0].availability = Availability::Away;
        others[1].open = 5;
        others[2].availability = Availability::Offline;
        assert!(pick(&others, &any, Strategy::RoundRobin, &[]).is_none());
    }

    #[test]
    fn rules_match_first_and_vip_or_anger_raise_priority() {
        let rule = |when: &str, queue: &'static str, priority| Rule {
            when: Expr::parse(when).unwrap(),
            queue,
            priority,
            first_response: Duration::minutes(15),
        };
        let rules = [
            rule("intent IN ['payment_issue', 'refund']", "billing", 1),
            rule("order.status == 'awaiting_payment'", "billing", 0),
            rule("language == 'sw'", "swahili", 0),
        ];
        let default = rule("true", "general", 0);
        let r =
            route(&rules, Some(&default), &json!({"intent": "refund", "language": "sw"})).unwrap();
        assert_eq!((r.queue, r.priority, r.rule), ("billing", 1, Some(0)), "first match wins");
        let r = route(
            &rules,
            Some(&default),
            &json!({"intent": "hello", "vip": true, "sentiment": -0.9}),
        )
        .unwrap();
        assert_eq!((r.queue, r.priority, r.rule), ("general", 2, None));
        let r = route(
            &rules,
            Some(&default),
            &json!({"intent": "refund", "vip": true, "sentiment": -0.9, "language": "sw"}),
        )
        .unwrap();
        assert_eq!(r.priority, 3);
        let r = route(&[rule("true", "x", 3)], Some(&default), &json!({"vip": true})).unwrap();
        assert_eq!(r.priority, PRIORITY_MAX, "capped");
        assert!(route(&rules, None, &json!({"intent": "hello"})).is_none(), "no default");
    }

    #[test]
    fn queues_serve_priority_then_the_longest_waiting() {
        let w = |n, priority, since| Waiting { conversation: conv(n), priority, since: t(since) };
        let mut list = [w(1, 0, 0), w(2, 1, 5), w(3, 0, -5), w(4, 1, 1)];
        list.sort_by(queue_order);
        let ids: Vec<u128> = list.iter().map(|w| w.conversation.as_uuid().as_u128()).collect();
        assert_eq!(ids, [4, 2, 3, 1]);
        // One agent with room for one: the VIP (priority 1) gets them.
        let mut agents = [agent(1, &["billing"], 1, 0, None)];
        let any = Expr::parse("true").unwrap();
        let done = assign_queue(&list, &mut agents, &any, Strategy::RoundRobin, &|_| vec![], t(10));
        assert_eq!(done, [Assignment { conversation: conv(4), agent: agents[0].id }]);
        assert_eq!((agents[0].open, agents[0].last_assigned_at), (1, Some(t(10))));
    }

    #[derive(Debug, Clone)]
    enum Event {
        Arrive { priority: u8 },
        Resolve { pick: usize },
        Availability { agent: usize, online: bool },
        Capacity { agent: usize, max: u32 },
        Round,
    }

    fn event() -> impl Generate<Value = Event> {
        prop_oneof![
            3 => (0u8..=3).prop_map(|priority| Event::Arrive { priority }),
            2 => any::<usize>().prop_map(|pick| Event::Resolve { pick }),
            1 => (0usize..4, any::<bool>()).prop_map(|(agent, online)| Event::Availability { agent, online }),
            1 => (0usize..4, 0u32..4).prop_map(|(agent, max)| Event::Capacity { agent, max }),
            3 => Just(Event::Round),
        ]
    }

    proptest! {
        // Over any sequence of arrivals, resolutions, availability and
        // capacity changes and assignment rounds: no agent holds more than
        // their maximum because of a round, and after a round no waiting
        // conversation is left while an eligible agent has room.
        #[test]
        fn capacity_holds_and_nothing_eligible_is_skipped(
            events in proptest::collection::vec(event(), 1..120),
            strategy in prop_oneof![Just(Strategy::RoundRobin), Just(Strategy::LeastLoaded)],
        ) {
            let target = Expr::parse("skills HAS 'billing'").unwrap();
            let mut agents: Vec<AgentView> = (0..4u128)
                .map(|n| agent(n + 1, if n == 3 { &["support"] } else { &["billing"] }, 2, 0, None))
                .collect();
            let mut waiting: Vec<Waiting> = Vec::new();
            let mut assigned: Vec<(ConversationId, AgentId)> = Vec::new();
            let mut clock = 0;
            let mut next = 1u128;
            for e in events {
                clock += 1;
                match e {
                    Event::Arrive { priority } => {
                        waiting.push(Waiting { conversation: conv(next), priority, since: t(clock) });
                        next += 1;
                    }
                    Event::Resolve { pick } if !assigned.is_empty() => {
                        let (_, agent) = assigned.remove(pick % assigned.len());
                        if let Some(a) = agents.iter_mut().find(|a| a.id == agent) {
                            a.open -= 1;
                        }
                    }
                    Event::Resolve { .. } => {}
                    Event::Availability { agent, online } => {
                        agents[agent].availability =
                            if online { Availability::Online } else { Availability::Away };
                    }
                    Event::Capacity { agent, max } => agents[agent].max_concurrent = max,
                    Event::Round => {
                        let before: Vec<u32> = agents.iter().map(|a| a.open).collect();
                        let done = assign_queue(&waiting, &mut agents, &target, strategy, &|_| vec![], t(clock));
                        for d in &done {
                            waiting.retain(|w| w.conversation != d.conversation);
                            assigned.push((d.conversation, d.agent));
                        }
                        for (a, was) in agents.iter().zip(before) {
                            // A round never takes an agent past their maximum
                            // (a lowered maximum only stops new ones).
                            prop_assert!(a.open <= a.max_concurrent.max(was), "{a:?}");
                            if a.open > was {
                                prop_assert!(target.eval(&a.attributes));
                            }
                        }
                        let room = agents.iter().any(|a| a.eligible(&target));
                        prop_assert!(waiting.is_empty() || !room, "left {waiting:?} with room");
                    }
                }
            }
        }
    }
}
