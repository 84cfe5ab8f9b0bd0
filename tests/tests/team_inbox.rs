//! The team inbox through the SDK on every backend, with a manual clock:
//! handed-off payment questions reach the billing agent and a VIP jumps the
//! queue; replies are attributed and accept offers; resolving hands back to
//! the assistant; offers lapse to the next agent; a missed first-response
//! deadline escalates exactly once; snoozes end; returning customers go to
//! their previous agent; agents act only on what they hold; live updates.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use support::{TestApp, inbound_text, on};
use whatsapp_crm_core::ports::{Clock, ManualClock, MessageQuery};
use whatsapp_crm_core::routing::Strategy;
use whatsapp_crm_core::service::{DeskRound, Reply, UpdateKind};
use whatsapp_crm_core::{
    Actor, AgentId, AssistantSettings, Author, Availability, BusinessId, Change, ConversationEvent,
    ConversationId, ConversationStatus, Crm, DefaultRoute, IntentAction, MessageContent, NewAgent,
    NewCustomer, NewFaq, NewIntent, NewQueue, QueueId, Routing, RoutingRule, ServiceError,
};

on_every_backend!(
    handoffs_reach_the_billing_agent_and_a_vip_jumps_the_queue,
    offers_lapse_to_the_next_agent_and_a_missed_deadline_escalates_once,
    returning_customers_go_to_their_previous_agent_and_snoozes_end,
    agents_act_only_on_what_they_hold,
    a_shop_with_nobody_online_costs_the_worker_only_its_timers,
);

/// Monday 7 December 2026, 10:00 in Nairobi.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 7, 0, 0).unwrap()
}

struct Desk {
    crm: Crm,
    clock: Arc<ManualClock>,
    id: BusinessId,
    n: std::cell::Cell<u32>,
}

impl Desk {
    fn new(t: &TestApp) -> Self {
        let clock = Arc::new(ManualClock::new(t0()));
        Desk { crm: t.crm.clone().with_clock(clock.clone()), clock, id: t.shop_a, n: 0.into() }
    }

    fn advance(&self, secs: i64) {
        self.clock.advance(Duration::seconds(secs));
    }

    async fn agent(&self, name: &str, skills: &[&str], max: u32, online: bool) -> AgentId {
        let input = NewAgent {
            name: name.into(),
            skills: skills.iter().map(|s| (*s).to_owned()).collect(),
            languages: vec!["en".into(), "sw".into()],
            max_concurrent: Some(max),
            availability: Some(if online { Availability::Online } else { Availability::Away }),
        };
        self.crm.agents().create(self.id, input).await.unwrap().id
    }

    async fn queue(&self, name: &str, target: &str, escalate_to: Option<QueueId>) -> QueueId {
        let input = NewQueue {
            name: name.into(),
            target: Some(target.into()),
            strategy: Some(Strategy::RoundRobin),
            offer_timeout_secs: Some(60),
            escalate_to,
        };
        self.crm.queues().create(self.id, input).await.unwrap().id
    }

    async fn routing(&self, rules: Vec<(&str, &str, QueueId)>, default: QueueId) {
        let routing = Routing {
            rules: rules
                .into_iter()
                .map(|(name, when, queue_id)| RoutingRule {
                    name: name.into(),
                    when: when.into(),
                    queue_id,
                    priority: 0,
                    first_response_secs: 300,
                })
                .collect(),
            default: Some(DefaultRoute {
                queue_id: default,
                priority: 0,
                first_response_secs: 300,
            }),
            return_to_previous_agent: true,
        };
        self.crm.queues().set_routing(self.id, routing).await.unwrap();
    }

    async fn customer(&self, phone: &str, tags: &[&str]) {
        let input = NewCustomer {
            phone: phone.into(),
            tags: tags.iter().map(|s| (*s).to_owned()).collect(),
            ..NewCustomer::default()
        };
        self.crm.customers().create(self.id, input).await.unwrap();
    }

    async fn write(&self, from: &str, body: &str) -> ConversationId {
        self.n.set(self.n.get() + 1);
        let sender = self.crm.storage().get_business(self.id).await.unwrap().whatsapp_sender;
        let m =
            inbound_text(format!("SM{:04}", self.n.get()), from, &sender, body, self.clock.now());
        self.crm.inbox().receive(self.id, m).await.unwrap().conversation.id
    }

    async fn run(&self) -> DeskRound {
        self.crm.team_inbox().run_due(self.clock.now()).await.unwrap()
    }

    async fn events(&self, id: ConversationId) -> Vec<ConversationEvent> {
        let team = self.crm.team_inbox();
        team.events(self.id, Actor::Business, id, Some(200), None).await.unwrap().items
    }

    async fn kinds(&self, id: ConversationId) -> Vec<&'static str> {
        self.events(id).await.iter().map(|e| e.change.kind()).collect()
    }

    async fn holder(&self, id: ConversationId) -> Option<AgentId> {
        self.crm.storage().get_conversation(self.id, id).await.unwrap().assigned_agent
    }
}

fn text(body: &str) -> Reply {
    Reply { content: Some(MessageContent::text(body)), template: None, media_sizes: Vec::new() }
}

async fn assistant_with_payment_intent(d: &Desk) {
    let assistant = d.crm.assistant();
    let faq = NewFaq {
        question: "Where is your shop?".into(),
        paraphrases: ["where are you located", "mko wapi", "duka iko wapi", "what is your address"]
            .map(String::from)
            .to_vec(),
        answer: "Moi Avenue, 2nd floor.".into(),
        intent: None,
        active: true,
    };
    assistant.create_faq(d.id, faq).await.unwrap();
    let intent = NewIntent {
        name: "payment_issue".into(),
        examples: [
            "I paid with mpesa but the order says unpaid",
            "my mpesa payment failed",
            "money was deducted but no confirmation",
            "nimelipa lakini order haijaonyesha",
            "pesa imekatwa lakini sijapata confirmation",
            "I was charged twice for my order",
            "payment not reflecting",
            "refund my money",
        ]
        .map(String::from)
        .to_vec(),
        action: IntentAction::Handoff,
        reply: None,
    };
    assistant.create_intent(d.id, intent).await.unwrap();
    let settings = AssistantSettings { enabled: true, ..AssistantSettings::default() };
    assistant.set_settings(d.id, settings).await.unwrap();
    assert_eq!(assistant.run_due(d.clock.now()).await.unwrap().trained, 1);
}

async fn handoffs_reach_the_billing_agent_and_a_vip_jumps_the_queue(t: TestApp) {
    let d = Desk::new(&t);
    assistant_with_payment_intent(&d).await;
    let achieng = d.agent("Achieng", &["billing"], 1, false).await;
    let baraka = d.agent("Baraka", &["delivery"], 3, true).await;
    let billing = d.queue("Billing", "skills HAS 'billing'", None).await;
    let general = d.queue("General", "true", None).await;
    d.routing(vec![("Payments", "intent == 'payment_issue'", billing)], general).await;
    d.customer("+254711000001", &[]).await;
    d.customer("+254711000002", &["vip"]).await;
    let mut feed = d.crm.feed().subscribe(d.id);

    // An FAQ is answered: nobody is needed.
    let faq = d.write("+254711000003", "mko wapi").await;
    assert_eq!(d.kinds(faq).await, Vec::<&str>::new());

    // A regular customer, then a VIP a minute later, both about payments.
    let otieno = d.write("+254711000001", "I paid with mpesa but my order says unpaid").await;
    d.advance(60);
    let amina = d.write("+254711000002", "payment not reflecting on my order, please check").await;
    for (id, priority) in [(otieno, 0), (amina, 1)] {
        let c = d.crm.storage().get_conversation(d.id, id).await.unwrap();
        assert_eq!((c.desk.queue_id, c.desk.priority), (Some(billing), priority), "{c:?}");
        assert_eq!(d.kinds(id).await, ["handed_off", "queued"]);
        assert!(c.assistant.handoff.is_some());
    }
    // Nobody with `billing` is online: they wait (Baraka is not eligible).
    assert_eq!(d.run().await.offered, 0);
    d.crm.agents().set_availability(d.id, achieng, Availability::Online).await.unwrap();
    // Achieng takes one at a time: the VIP first, though she wrote later.
    assert_eq!(d.run().await.offered, 1);
    assert_eq!((d.holder(amina).await, d.holder(otieno).await), (Some(achieng), None));
    assert_eq!(d.kinds(amina).await, ["handed_off", "queued", "offered"]);

    // Her reply goes through the outbox, authored staff, and takes the offer.
    let me = Actor::Agent { agent_id: achieng };
    d.advance(30);
    let team = d.crm.team_inbox();
    let sent = team.reply(d.id, me, amina, text("Pole! Checking your payment now.")).await.unwrap();
    assert_eq!(sent.author, Author::Staff);
    let row = d.crm.storage().get_outbox_item(d.id, sent.id).await.unwrap();
    assert_eq!(row.message_id, sent.id);
    let events = d.events(amina).await;
    let tail: Vec<_> = events[3..].iter().map(|e| (e.actor, e.change.clone())).collect();
    assert_eq!(
        tail,
        [
            (me, Change::Assigned { agent_id: achieng }),
            (me, Change::FirstResponse { message_id: sent.id, seconds: 30 }),
            (me, Change::Reply { message_id: sent.id }),
        ]
    );
    let c = d.crm.storage().get_conversation(d.id, amina).await.unwrap();
    assert_eq!((c.desk.waiting(), c.desk.offer_expires_at), (false, None));
    // A person replied: the assistant's quiet rule sees it.
    assert!(d.crm.storage().last_person_reply(d.id, amina).await.unwrap().is_some());

    // Resolving hands the conversation back to the assistant and frees
    // Achieng for the next in line.
    let done = team.resolve(d.id, me, amina).await.unwrap();
    assert_eq!((done.status, done.assigned_agent), (ConversationStatus::Resolved, None));
    assert!(done.assistant.handoff.as_ref().unwrap().resolved_at.is_some());
    assert_eq!(done.assistant.waiting_since(), None);
    assert_eq!(d.run().await.offered, 1);
    assert_eq!(d.holder(otieno).await, Some(achieng));
    assert_eq!(d.crm.storage().get_agent(d.id, baraka).await.unwrap().last_assigned_at, None);

    // The live inbox carried the messages and every change, in order.
    let mut seen = Vec::new();
    while let Ok(u) = feed.try_recv() {
        assert_eq!(u.business_id, d.id);
        if u.conversation_id == amina {
            seen.push(u.name());
        }
        if let UpdateKind::Message { message } = &u.update {
            assert_eq!(message.business_id, d.id);
        }
    }
    assert_eq!(
        seen,
        [
            "message",
            "handed_off",
            "queued",
            "offered",
            "assigned",
            "first_response",
            "reply",
            "message",
            "status",
            "unassigned",
            "handed_back"
        ]
    );
}

async fn offers_lapse_to_the_next_agent_and_a_missed_deadline_escalates_once(t: TestApp) {
    let d = Desk::new(&t);
    let a = d.agent("Achieng", &["support"], 5, true).await;
    let b = d.agent("Baraka", &["support"], 5, true).await;
    let (first, second) = if a < b { (a, b) } else { (b, a) };
    let leads = d.queue("Leads", "skills HAS 'lead'", None).await;
    let general = d.queue("General", "skills HAS 'support'", Some(leads)).await;
    let late = d.queue("Late", "skills HAS 'support'", None).await;
    d.routing(vec![("Late ones", "tags HAS 'late'", late)], general).await;
    d.customer("+254711000009", &["late"]).await;

    // Without an assistant, a customer's message routes the conversation.
    let c = d.write("+254711000001", "Habari, nataka kuagiza").await;
    assert_eq!(d.kinds(c).await, ["queued"]);
    // Round robin: never assigned, then by id.
    assert_eq!(d.run().await.offered, 1);
    assert_eq!(d.holder(c).await, Some(first));
    // A minute less a second: the offer stands.
    d.advance(59);
    assert_eq!(d.run().await, DeskRound::default());
    // At the minute it lapses and goes to the next agent.
    d.advance(1);
    let r = d.run().await;
    assert_eq!((r.expired, r.offered), (1, 1));
    assert_eq!(d.holder(c).await, Some(second));
    // Everyone eligible has been offered it: a new round starts.
    d.advance(60);
    assert_eq!(d.run().await.offered, 1);
    assert_eq!(d.holder(c).await, Some(first));
    assert_eq!(
        d.kinds(c).await,
        ["queued", "offered", "offer_expired", "offered", "offer_expired", "offered"]
    );

    // Five minutes without a first response: escalated once, to Leads.
    let late_one = d.write("+254711000009", "bado sijapata order yangu").await;
    d.advance(300 - 120);
    let r = d.run().await;
    assert_eq!(r.escalated, 1, "{r:?}");
    let conv = d.crm.storage().get_conversation(d.id, c).await.unwrap();
    assert_eq!((conv.desk.queue_id, conv.desk.escalated_at), (Some(leads), Some(d.clock.now())));
    // The late queue has no escalation queue: a priority level up instead.
    d.advance(120);
    let r = d.run().await;
    assert_eq!(r.escalated, 1, "{r:?}");
    let conv = d.crm.storage().get_conversation(d.id, late_one).await.unwrap();
    assert_eq!((conv.desk.queue_id, conv.desk.priority), (Some(late), 1));
    // Later rounds never escalate again.
    for _ in 0..3 {
        d.advance(600);
        assert_eq!(d.run().await.escalated, 0);
    }
    for id in [c, late_one] {
        let escalations = d
            .events(id)
            .await
            .into_iter()
            .filter(|e| matches!(e.change, Change::Escalated { .. }))
            .count();
        assert_eq!(escalations, 1);
    }
    let e = d.events(c).await.into_iter().find(|e| e.change.kind() == "escalated").unwrap();
    assert_eq!(
        (e.actor, e.change),
        (
            Actor::System,
            Change::Escalated { from_queue: Some(general), to_queue: Some(leads), priority: 0 }
        )
    );
}

async fn returning_customers_go_to_their_previous_agent_and_snoozes_end(t: TestApp) {
    let d = Desk::new(&t);
    let a = d.agent("Achieng", &["support"], 5, true).await;
    let b = d.agent("Baraka", &["support"], 5, true).await;
    let general = d.queue("General", "skills HAS 'support'", None).await;
    d.routing(Vec::new(), general).await;
    let team = d.crm.team_inbox();
    // The business gives it to the agent round robin would not pick first.
    let c = d.write("+254711000001", "Habari").await;
    let (_, other) = if a < b { (a, b) } else { (b, a) };
    team.assign(d.id, Actor::Business, c, Some(other)).await.unwrap();
    team.resolve(d.id, Actor::Business, c).await.unwrap();

    // She writes again: the conversation reopens and goes to her agent.
    d.advance(3600);
    let again = d.write("+254711000001", "Niko na swali lingine").await;
    assert_eq!(again, c);
    assert_eq!(d.run().await.offered, 1);
    assert_eq!(d.holder(c).await, Some(other));

    // Snoozed for an hour: the worker opens it again then, not before.
    let me = Actor::Agent { agent_id: other };
    team.assign(d.id, me, c, None).await.unwrap();
    let until = d.clock.now() + Duration::hours(1);
    let snoozed = team.snooze(d.id, me, c, until).await.unwrap();
    assert_eq!(snoozed.status, ConversationStatus::Snoozed);
    d.advance(3599);
    assert_eq!(d.run().await.woken, 0);
    d.advance(1);
    assert_eq!(d.run().await.woken, 1);
    let open = d.crm.storage().get_conversation(d.id, c).await.unwrap();
    assert_eq!((open.status, open.assigned_agent), (ConversationStatus::Open, Some(other)));
    // A snooze in the past is refused.
    let past = d.clock.now() - Duration::minutes(1);
    assert!(matches!(team.snooze(d.id, me, c, past).await, Err(ServiceError::Invalid(_))));

    // With the preference off, round robin decides.
    let mut routing = d.crm.queues().routing(d.id).await.unwrap();
    routing.return_to_previous_agent = false;
    d.crm.queues().set_routing(d.id, routing).await.unwrap();
    team.resolve(d.id, me, c).await.unwrap();
    d.write("+254711000001", "Swali la tatu").await;
    d.run().await;
    let holder = d.holder(c).await.unwrap();
    let agents = [a, b];
    let never = agents.iter().find(|x| **x != other).unwrap();
    assert_eq!(holder, *never, "the agent assigned longest ago");
}

async fn a_shop_with_nobody_online_costs_the_worker_only_its_timers(t: TestApp) {
    let d = Desk::new(&t);
    let achieng = d.agent("Achieng", &["support"], 5, false).await;
    let general = d.queue("General", "true", None).await;
    d.routing(Vec::new(), general).await;
    // Closed for the night: the customer waits, and the worker passes the
    // shop by (not even read) round after round.
    let c = d.write("+254711000001", "Habari, mko wazi?").await;
    assert_eq!(d.kinds(c).await, ["queued"]);
    for _ in 0..3 {
        assert_eq!(d.run().await, DeskRound::default());
        d.advance(60);
    }
    // Its first-response deadline is a timer: due whoever is online, once.
    d.advance(120);
    let r = d.run().await;
    assert_eq!((r.businesses, r.escalated, r.offered), (1, 1, 0));
    assert_eq!(d.run().await, DeskRound::default());
    // The first agent online is offered it at the next round.
    d.crm.agents().set_availability(d.id, achieng, Availability::Online).await.unwrap();
    let r = d.run().await;
    assert_eq!((r.businesses, r.offered), (1, 1));
    assert_eq!(d.holder(c).await, Some(achieng));
}

async fn agents_act_only_on_what_they_hold(t: TestApp) {
    let d = Desk::new(&t);
    let a = d.agent("Achieng", &["billing"], 1, true).await;
    let b = d.agent("Baraka", &["delivery"], 2, true).await;
    let billing = d.queue("Billing", "skills HAS 'billing'", None).await;
    d.routing(Vec::new(), billing).await;
    let mine = Actor::Agent { agent_id: a };
    let theirs = Actor::Agent { agent_id: b };
    let team = d.crm.team_inbox();
    let c = d.write("+254711000001", "Habari").await;
    let second = d.write("+254711000002", "Habari yako").await;
    let forbidden = |r: Result<_, ServiceError>| matches!(r, Err(ServiceError::Forbidden { .. }));

    // Baraka is not in the billing queue's target; Achieng pulls the top.
    assert!(forbidden(team.next(d.id, b, billing).await.map(|_| ())));
    let top = team.next(d.id, a, billing).await.unwrap().unwrap();
    assert_eq!((top.id, top.assigned_agent), (c, Some(a)));
    assert!(matches!(team.next(d.id, a, billing).await, Err(ServiceError::InvalidState { .. })));
    // Waiting unassigned, Baraka may read it; Achieng's, he may not touch.
    assert!(team.get(d.id, theirs, second).await.is_ok());
    assert!(forbidden(team.get(d.id, theirs, c).await.map(|_| ())));
    assert!(forbidden(team.reply(d.id, theirs, c, text("hi")).await.map(|_| ())));
    assert!(forbidden(team.resolve(d.id, theirs, c).await.map(|_| ())));
    assert!(forbidden(team.assign(d.id, theirs, c, None).await.map(|_| ())));
    assert!(forbidden(team.assign(d.id, mine, second, Some(b)).await.map(|_| ())));
    // Achieng is full: she cannot take another herself; the business can.
    assert!(matches!(
        team.assign(d.id, mine, second, None).await,
        Err(ServiceError::InvalidState { .. })
    ));
    team.assign(d.id, Actor::Business, second, Some(a)).await.unwrap();
    assert!(matches!(
        team.assign(d.id, Actor::Business, second, Some(AgentId::new())).await,
        Err(ServiceError::Invalid(_))
    ));
    // A note is an event only: nothing is queued to the customer.
    let before = d.crm.storage().list_messages(d.id, c, &MessageQuery { limit: 50, after: None });
    let before = before.await.unwrap().items.len();
    let note = team.note(d.id, mine, c, "Mteja analipa kesho").await.unwrap();
    assert_eq!(note.change, Change::Note { text: "Mteja analipa kesho".into() });
    let after = d.crm.storage().list_messages(d.id, c, &MessageQuery { limit: 50, after: None });
    assert_eq!(after.await.unwrap().items.len(), before);
    assert!(matches!(team.note(d.id, mine, c, "  ").await, Err(ServiceError::Invalid(_))));
    // Priority, status, unassign by the holder.
    let c2 = team.set_priority(d.id, mine, c, 3).await.unwrap();
    assert_eq!(c2.desk.priority, 3);
    assert!(matches!(team.set_priority(d.id, mine, c, 4).await, Err(ServiceError::Invalid(_))));
    let pending = team.set_status(d.id, mine, c, ConversationStatus::Pending).await.unwrap();
    assert_eq!(pending.status, ConversationStatus::Pending);
    let back = team.unassign(d.id, mine, c).await.unwrap();
    assert_eq!((back.assigned_agent, back.desk.waiting()), (None, true));
    // Another business sees none of it.
    assert!(matches!(
        team.get(t.shop_b, Actor::Business, c).await,
        Err(ServiceError::NotFound { .. })
    ));
    assert!(matches!(
        team.resolve(t.shop_b, Actor::Business, c).await,
        Err(ServiceError::NotFound { .. })
    ));
}
