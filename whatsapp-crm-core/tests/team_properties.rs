//! The team inbox on random event sequences (in memory, manual clock):
//! customers write, agents come and go, take from queues, let go and
//! resolve, capacity grows, time passes. After every round of the
//! assignment worker no agent holds more than their maximum, and no
//! conversation waits unassigned in a queue while an agent that queue may
//! offer it to (online, matching its target) has room.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use whatsapp_crm_core::ports::{AgentQuery, Clock, ManualClock};
use whatsapp_crm_core::routing::Strategy as Pick;
use whatsapp_crm_core::{
    Actor, AgentId, Availability, BusinessId, ConversationStatus, Crm, DefaultRoute,
    InMemoryStorage, InboundMessage, MessageContent, NewAgent, NewBusiness, NewCustomer, NewQueue,
    PhoneNumber, Routing, RoutingRule,
};

const CUSTOMERS: usize = 10;
const AGENTS: &[(&str, &[&str])] = &[
    ("Achieng", &["billing"]),
    ("Baraka", &["billing", "delivery"]),
    ("Chebet", &["delivery"]),
    ("Daudi", &["billing"]),
];

#[derive(Debug, Clone)]
enum Op {
    Write(usize),
    Availability(usize, bool),
    Take(usize, bool),
    Release(usize),
    Resolve(usize),
    Grow(usize),
    Advance(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..CUSTOMERS).prop_map(Op::Write),
        2 => (0..AGENTS.len(), any::<bool>()).prop_map(|(a, on)| Op::Availability(a, on)),
        1 => (0..AGENTS.len(), any::<bool>()).prop_map(|(a, q)| Op::Take(a, q)),
        1 => (0..CUSTOMERS).prop_map(Op::Release),
        2 => (0..CUSTOMERS).prop_map(Op::Resolve),
        1 => (0..AGENTS.len()).prop_map(Op::Grow),
        2 => (1..90i64).prop_map(Op::Advance),
    ]
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap()
}

struct World {
    crm: Crm,
    clock: Arc<ManualClock>,
    id: BusinessId,
    sender: PhoneNumber,
    agents: Vec<AgentId>,
    queues: [whatsapp_crm_core::QueueId; 2],
    n: u32,
}

fn phone(i: usize) -> String {
    format!("+2547110000{i:02}")
}

async fn world(strategies: [Pick; 2], capacities: &[u32]) -> World {
    let clock = Arc::new(ManualClock::new(t0()));
    let crm = Crm::new(Arc::new(InMemoryStorage::new())).with_clock(clock.clone());
    let b = crm
        .businesses()
        .create(NewBusiness {
            name: "Duka".into(),
            whatsapp_sender: "+254700000001".into(),
            time_zone: "Africa/Nairobi".into(),
            currency: "KES".into(),
        })
        .await
        .unwrap();
    let mut agents = Vec::new();
    for ((name, skills), max) in AGENTS.iter().zip(capacities) {
        let input = NewAgent {
            name: (*name).into(),
            skills: skills.iter().map(|s| (*s).to_owned()).collect(),
            languages: vec!["sw".into()],
            max_concurrent: Some(*max),
            availability: Some(Availability::Offline),
        };
        agents.push(crm.agents().create(b.id, input).await.unwrap().id);
    }
    let mut queues = Vec::new();
    for ((name, target), strategy) in
        [("Billing", "skills HAS 'billing'"), ("Delivery", "skills HAS 'delivery'")]
            .into_iter()
            .zip(strategies)
    {
        let input = NewQueue {
            name: name.into(),
            target: Some(target.into()),
            strategy: Some(strategy),
            offer_timeout_secs: Some(30),
            escalate_to: None,
        };
        queues.push(crm.queues().create(b.id, input).await.unwrap().id);
    }
    let rule = RoutingRule {
        name: "Billing".into(),
        when: "tags HAS 'billing'".into(),
        queue_id: queues[0],
        priority: 0,
        first_response_secs: 120,
    };
    let routing = Routing {
        rules: vec![rule],
        default: Some(DefaultRoute { queue_id: queues[1], priority: 0, first_response_secs: 120 }),
        return_to_previous_agent: true,
    };
    crm.queues().set_routing(b.id, routing).await.unwrap();
    for i in 0..CUSTOMERS {
        let tags = if i % 2 == 0 { vec!["billing".to_owned()] } else { Vec::new() };
        let input = NewCustomer { phone: phone(i), tags, ..NewCustomer::default() };
        crm.customers().create(b.id, input).await.unwrap();
    }
    World {
        crm,
        clock,
        id: b.id,
        sender: b.whatsapp_sender,
        agents,
        queues: [queues[0], queues[1]],
        n: 0,
    }
}

impl World {
    async fn conversation_of(&self, customer: usize) -> Option<whatsapp_crm_core::Conversation> {
        let s = self.crm.storage();
        let number = PhoneNumber::parse(&phone(customer)).unwrap();
        let c = s.find_customer_by_phone(self.id, &number).await.unwrap().unwrap();
        s.latest_conversation(self.id, c.id).await.unwrap()
    }

    async fn apply(&mut self, op: &Op) {
        let team = self.crm.team_inbox();
        let now = self.clock.now();
        match *op {
            Op::Write(i) => {
                self.n += 1;
                let m = InboundMessage {
                    provider_id: format!("SM{}", self.n),
                    from: PhoneNumber::parse(&phone(i)).unwrap(),
                    to: self.sender.clone(),
                    profile_name: None,
                    content: MessageContent::text("Habari"),
                    replied_to: None,
                    forwarded: false,
                    referral: None,
                    received_at: now,
                };
                self.crm.inbox().receive(self.id, m).await.unwrap();
            }
            Op::Availability(a, on) => {
                let v = if on { Availability::Online } else { Availability::Offline };
                self.crm.agents().set_availability(self.id, self.agents[a], v).await.unwrap();
            }
            Op::Take(a, q) => {
                // Refusals (not in the target, full) are part of the game.
                let _ = team.next(self.id, self.agents[a], self.queues[usize::from(q)]).await;
            }
            Op::Release(i) => {
                if let Some(c) = self.conversation_of(i).await
                    && c.assigned_agent.is_some()
                {
                    team.unassign(self.id, Actor::Business, c.id).await.unwrap();
                }
            }
            Op::Resolve(i) => {
                if let Some(c) = self.conversation_of(i).await {
                    team.resolve(self.id, Actor::Business, c.id).await.unwrap();
                }
            }
            Op::Grow(a) => {
                let agent = self.crm.agents().get(self.id, self.agents[a]).await.unwrap();
                let input = NewAgent {
                    name: agent.name,
                    skills: agent.skills,
                    languages: agent.languages,
                    max_concurrent: Some((agent.max_concurrent + 1).min(4)),
                    availability: None,
                };
                self.crm.agents().replace(self.id, agent.id, input).await.unwrap();
            }
            Op::Advance(secs) => self.clock.advance(Duration::seconds(secs)),
        }
        team.run_due(self.clock.now()).await.unwrap();
    }

    /// Checks both properties; the text says what broke.
    async fn check(&self) -> Result<(), String> {
        let s = self.crm.storage();
        let loads: HashMap<AgentId, u32> =
            s.agent_loads(self.id).await.unwrap().into_iter().collect();
        let q = AgentQuery { availability: None, limit: 50, after: None };
        let agents = s.list_agents(self.id, &q).await.unwrap().items;
        for a in &agents {
            let held = loads.get(&a.id).copied().unwrap_or(0);
            if held > a.max_concurrent {
                return Err(format!("{} holds {held} of {}", a.name, a.max_concurrent));
            }
        }
        for c in s.desk_board(self.id, 500).await.unwrap() {
            if c.assigned_agent.is_some()
                || !c.desk.waiting()
                || c.status == ConversationStatus::Resolved
            {
                continue;
            }
            let queue = s.get_queue(self.id, c.desk.queue_id.unwrap()).await.unwrap();
            let target = queue.target_expr();
            if queue.strategy == Pick::Manual {
                continue;
            }
            if let Some(a) = agents.iter().find(|a| {
                a.availability == Availability::Online
                    && target.eval(&a.attributes())
                    && loads.get(&a.id).copied().unwrap_or(0) < a.max_concurrent
            }) {
                return Err(format!("{} waits in {} while {} has room", c.id, queue.name, a.name));
            }
        }
        Ok(())
    }
}

fn strategy() -> impl Strategy<Value = Pick> {
    prop_oneof![Just(Pick::RoundRobin), Just(Pick::LeastLoaded)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn capacity_holds_and_nobody_waits_while_an_eligible_agent_has_room(
        strategies in (strategy(), strategy()),
        capacities in prop::collection::vec(1u32..=3, AGENTS.len()),
        ops in prop::collection::vec(op(), 1..60),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let outcome: Result<(), String> = rt.block_on(async {
            let mut w = world([strategies.0, strategies.1], &capacities).await;
            for (i, op) in ops.iter().enumerate() {
                w.apply(op).await;
                w.check().await.map_err(|e| format!("after step {i} ({op:?}): {e}"))?;
            }
            Ok(())
        });
        prop_assert!(outcome.is_ok(), "{}", outcome.unwrap_err());
    }
}
