//! The assistant through the SDK on every backend, with a manual clock:
//! FAQ answers with their decision stored, a question outside the FAQs
//! asked again then handed off (and silence until handed back), the
//! after-hours reply once a local day and not over a person, a request for
//! a person in Swahili, out-of-stock replies with in-stock alternatives
//! only, racing messages, and Groq answers with every fallback recorded.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, TimeZone, Utc};
use futures_util::future::join_all;
use support::{TestApp, inbound_text, on};
use whatsapp_crm_core::assistant::{BusinessHours, Reason};
use whatsapp_crm_core::ports::{Clock, ConversationQuery, ManualClock, MessageQuery};
use whatsapp_crm_core::service::{Received, SendMessage};
use whatsapp_crm_core::{
    AssistantSettings, Author, BusinessId, ClassifierChoice, CommerceSettingsInput, Crm, Direction,
    HandoffCause, Interactive, Message, MessageContent, NewFaq, ServiceError,
};
use whatsapp_crm_groq::stand_in::{Answer, GroqStandIn};
use whatsapp_crm_groq::{Groq, GroqConfig};

on_every_backend!(
    an_faq_question_gets_its_answer_and_the_decision_is_stored,
    a_question_outside_the_faqs_is_asked_again_then_handed_off,
    the_after_hours_reply_goes_once_a_day_and_not_over_a_person,
    a_request_for_a_person_hands_off_and_the_assistant_stays_silent,
    out_of_stock_questions_offer_only_in_stock_alternatives,
    racing_messages_after_hours_get_one_after_hours_reply,
    groq_ranks_first_and_every_failure_falls_back_to_the_offline_model,
    a_redelivered_message_the_first_delivery_left_undecided_is_answered_once,
);

const GROQ_KEY: &str = "gsk_test_key";
/// Monday 7 December 2026, 10:00 in Nairobi.
fn monday_morning() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 7, 0, 0).unwrap()
}

struct Shop {
    crm: Crm,
    clock: Arc<ManualClock>,
    id: BusinessId,
    n: std::cell::Cell<u32>,
}

fn faqs() -> Vec<NewFaq> {
    let faq = |q: &str, p: &[&str], a: &str| NewFaq {
        question: q.into(),
        paraphrases: p.iter().map(|s| (*s).to_owned()).collect(),
        answer: a.into(),
        intent: None,
        active: true,
    };
    vec![
        faq(
            "Do you deliver?",
            &[
                "can you deliver to my place",
                "do you do delivery",
                "mnaleta nyumbani",
                "mnafanya delivery",
                "can you bring it to my house",
                "how long does delivery take",
                "delivery to westlands",
            ],
            "Yes, we deliver across Nairobi within 24 hours. Delivery is KES 200.",
        ),
        faq(
            "How do I pay?",
            &[
                "can I pay with mpesa",
                "what is your till number",
                "nilipe aje",
                "paybill number ni gani",
                "do you accept card payments",
                "how can I make payment",
            ],
            "Pay by M-Pesa to Till 123456, or by card on the payment link we send.",
        ),
        faq(
            "Where is your shop?",
            &[
                "where are you located",
                "mko wapi",
                "duka iko wapi",
                "what is your address",
                "where can I find you",
                "location ya duka",
            ],
            "We are on Moi Avenue, opposite the Hilton, 2nd floor.",
        ),
    ]
}

async fn shop(t: &TestApp, crm: Crm, settings: AssistantSettings) -> Shop {
    let clock = Arc::new(ManualClock::new(monday_morning()));
    let crm = crm.with_clock(clock.clone());
    let commerce = CommerceSettingsInput { enabled: true, ..Default::default() };
    crm.commerce().set(t.shop_a, commerce).await.unwrap();
    let csv = "sku,name,price,category,on_hand,active\n\
               MUM-2KG,Mumias Sugar 2kg,320.00,Sugar,0,true\n\
               KAB-1KG,Kabras Sugar 1kg,165.00,Sugar,12,true\n\
               SONY-1KG,Sony Sugar 1kg,160.00,Sugar,0,true\n\
               BRN-500,Brown Sugar 500g,140.00,Sugar,8,false\n\
               NZO-1KG,Nzoia Sugar 1kg,158.00,Sugar,,true\n\
               UNGA-2KG,Jogoo Unga 2kg,210.00,Flour,30,true\n";
    crm.catalog().import_csv(t.shop_a, csv.as_bytes()).await.unwrap();
    let assistant = crm.assistant();
    for f in faqs() {
        assistant.create_faq(t.shop_a, f).await.unwrap();
    }
    assistant.set_settings(t.shop_a, settings).await.unwrap();
    // Training runs on change, in the worker: once, then nothing is due.
    let report = assistant.run_due(clock.now()).await.unwrap();
    assert_eq!(report.trained, 1, "{report:?}");
    assert_eq!(assistant.run_due(clock.now()).await.unwrap().trained, 0);
    let status = assistant.training(t.shop_a).await.unwrap();
    assert!(!status.stale() && status.model.as_ref().unwrap().intents >= 7, "{status:?}");
    Shop { crm, clock, id: t.shop_a, n: 0.into() }
}

fn on_settings() -> AssistantSettings {
    AssistantSettings { enabled: true, ..AssistantSettings::default() }
}

/// Mon–Sat 08:00–18:00 in the business's zone.
fn office_hours() -> BusinessHours {
    serde_json::from_value(serde_json::json!({
        "weekly": {
            "mon": ["08:00-18:00"], "tue": ["08:00-18:00"], "wed": ["08:00-18:00"],
            "thu": ["08:00-18:00"], "fri": ["08:00-18:00"], "sat": ["08:00-18:00"]
        }
    }))
    .unwrap()
}

const WANJIKU: &str = "+254712000001";

impl Shop {
    async fn says(&self, phone: &str, body: &str) -> Received {
        self.n.set(self.n.get() + 1);
        let sender = self.crm.businesses().get(self.id).await.unwrap().whatsapp_sender;
        let m =
            inbound_text(format!("SM{:032}", self.n.get()), phone, &sender, body, self.clock.now());
        self.crm.inbox().receive(self.id, m).await.unwrap()
    }

    async fn messages(&self, r: &Received) -> Vec<Message> {
        let s = self.crm.storage();
        s.list_messages(self.id, r.conversation.id, &MessageQuery { limit: 200, after: None })
            .await
            .unwrap()
            .items
    }
}

fn body(m: &MessageContent) -> String {
    match m {
        MessageContent::Text { body } => body.clone(),
        MessageContent::Interactive { interactive: Interactive::Buttons { body, .. } } => {
            body.clone()
        }
        other => panic!("unexpected reply {other:?}"),
    }
}

fn replies(r: &Received) -> Vec<String> {
    r.assistant
        .as_ref()
        .map(|a| a.replies.iter().map(|m| body(&m.content)).collect())
        .unwrap_or_default()
}

fn reason(r: &Received) -> Reason {
    r.assistant.as_ref().expect("the assistant decided").decision.reason
}

async fn an_faq_question_gets_its_answer_and_the_decision_is_stored(t: TestApp) {
    let shop = shop(&t, t.crm.clone(), on_settings()).await;
    let r = shop.says(WANJIKU, "Hi, do you deliver to Kilimani?").await;
    assert_eq!(reason(&r), Reason::Answered, "{:?}", r.assistant);
    assert_eq!(
        replies(&r),
        ["Yes, we deliver across Nairobi within 24 hours. Delivery is KES 200."]
    );
    let a = r.assistant.as_ref().unwrap();
    let d = &a.decision;
    assert_eq!(d.classifier, "offline");
    assert_eq!(d.fallback, None);
    assert!(d.faq_id.is_some() && d.intent.as_deref().unwrap().starts_with("faq:"));
    assert!(d.confidence.unwrap() >= 0.5 && d.confidence.unwrap() > d.runner_up.unwrap());
    // Stored with the message, and the reply went through the outbox.
    let stored = shop.crm.storage().get_message(shop.id, r.message.id).await.unwrap();
    assert_eq!(stored.decision.as_ref(), Some(d));
    let reply = &a.replies[0];
    assert_eq!((reply.author, reply.direction), (Author::Assistant, Direction::Outbound));
    shop.crm.storage().get_outbox_item(shop.id, reply.id).await.unwrap();
    // Swahili phrasing of another FAQ.
    let r = shop.says(WANJIKU, "duka yenu iko wapi?").await;
    assert_eq!(replies(&r), ["We are on Moi Avenue, opposite the Hilton, 2nd floor."]);
    // A greeting is a starter intent with its own reply.
    let r = shop.says("+254712000002", "Habari yako").await;
    assert_eq!(replies(&r), ["Hello! How can we help you today?"]);
    // The dry run says the same and sends nothing.
    let before = shop.messages(&r).await.len();
    let dry = shop.crm.assistant().classify(shop.id, "mnaleta nyumbani?").await.unwrap();
    assert_eq!(dry.decision.reason, Reason::Answered);
    assert_eq!(dry.decision.faq_id, d.faq_id);
    let total: f64 = dry.ranking.iter().map(|s| s.probability).sum();
    assert!(total <= 1.0 + 1e-9 && dry.ranking.len() <= 5, "{:?}", dry.ranking);
    assert!(dry.ranking.windows(2).all(|w| w[0].probability >= w[1].probability));
    assert_eq!(shop.messages(&r).await.len(), before);
    assert!(matches!(
        shop.crm.assistant().classify(shop.id, "   ").await,
        Err(ServiceError::Invalid(_))
    ));
    // Consent keywords and cart commands are not the assistant's.
    let r = shop.says(WANJIKU, "STOP").await;
    assert!(r.keyword.is_some() && r.assistant.is_none());
    let r = shop.says(WANJIKU, "ongeza unga 1").await;
    assert!(r.cart.is_some() && r.assistant.is_none());
}

async fn a_question_outside_the_faqs_is_asked_again_then_handed_off(t: TestApp) {
    let shop = shop(&t, t.crm.clone(), on_settings()).await;
    let r = shop.says(WANJIKU, "my tractor engine makes a strange knocking noise").await;
    assert!(matches!(reason(&r), Reason::LowConfidence | Reason::Ambiguous), "{:?}", r.assistant);
    assert!(replies(&r)[0].contains("say it another way"));
    let r = shop.says(WANJIKU, "the knocking noise started after the oil change").await;
    assert_eq!(reason(&r), Reason::HandedOff, "{:?}", r.assistant);
    assert_eq!(replies(&r), [on_settings().replies.handoff]);
    let state = &r.assistant.as_ref().unwrap().state;
    let h = state.handoff.as_ref().unwrap();
    assert_eq!(h.cause, HandoffCause::NoAnswer { turns: 2 });
    assert_eq!(h.message_id, r.message.id);
    // The transcript holds the conversation so far, this message included.
    let texts: Vec<&str> = h.transcript.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(texts.first(), Some(&"my tractor engine makes a strange knocking noise"));
    assert_eq!(texts.last(), Some(&"the knocking noise started after the oil change"));
    // It waits for a person, in storage.
    let waiting = ConversationQuery { waiting: Some(true), limit: 50, ..Default::default() };
    let listed = shop.crm.storage().list_conversations(shop.id, &waiting).await.unwrap();
    assert_eq!(listed.items.iter().map(|c| c.id).collect::<Vec<_>>(), [r.conversation.id]);
    // Silence: even a question it knows gets nothing now.
    let before = shop.messages(&r).await.len();
    let r = shop.says(WANJIKU, "do you deliver?").await;
    assert!(r.assistant.is_none());
    let after = shop.messages(&r).await;
    assert_eq!(after.len(), before + 1, "only the customer's message");
    assert_eq!(after.last().unwrap().decision, None);
    // Handed back, it answers again; the handoff stays on record.
    let c = shop.crm.assistant().hand_back(shop.id, r.conversation.id).await.unwrap();
    assert!(c.assistant.handoff.unwrap().resolved_at.is_some());
    assert!(matches!(
        shop.crm.assistant().hand_back(shop.id, r.conversation.id).await,
        Err(ServiceError::InvalidState { .. })
    ));
    let r = shop.says(WANJIKU, "do you deliver?").await;
    assert_eq!(reason(&r), Reason::Answered);
    // Another business cannot hand it back.
    assert!(matches!(
        shop.crm.assistant().hand_back(t.shop_b, r.conversation.id).await,
        Err(ServiceError::NotFound { .. })
    ));
}

async fn the_after_hours_reply_goes_once_a_day_and_not_over_a_person(t: TestApp) {
    let settings = AssistantSettings { hours: Some(office_hours()), ..on_settings() };
    let shop = shop(&t, t.crm.clone(), settings.clone()).await;
    // Monday 20:00 in Nairobi.
    shop.clock.set(monday_morning() + Duration::hours(10));
    let r = shop.says(WANJIKU, "do you deliver?").await;
    assert_eq!(reason(&r), Reason::Answered, "answers still go after hours by default");
    let got = replies(&r);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(
        got[0],
        "Thanks for your message! We are closed now and open again tomorrow at 08:00. We will reply then."
    );
    // Later that night: the answer alone.
    shop.clock.advance(Duration::hours(2));
    let r = shop.says(WANJIKU, "how do I pay?").await;
    assert_eq!(replies(&r).len(), 1);
    // Open (Tuesday 10:00): no after-hours reply.
    shop.clock.advance(Duration::hours(12));
    let r = shop.says(WANJIKU, "where is your shop?").await;
    assert_eq!(replies(&r).len(), 1);
    // Tuesday night: once again, a new local day.
    shop.clock.advance(Duration::hours(9));
    let r = shop.says(WANJIKU, "asante").await;
    assert!(replies(&r)[0].contains("We are closed now"), "{:?}", replies(&r));

    // Wednesday 17:58, open: a question; a person answers at 17:59.
    shop.clock.advance(Duration::minutes(22 * 60 + 58));
    let r = shop.says(WANJIKU, "do you deliver?").await;
    assert_eq!(replies(&r).len(), 1);
    let customer = r.customer.id;
    shop.clock.advance(Duration::minutes(1));
    shop.crm
        .outbound()
        .send(
            shop.id,
            SendMessage {
                customer_id: customer,
                content: Some(MessageContent::text("Karibu, Wanjiku here")),
                template: None,
                media_sizes: Vec::new(),
                send_at: None,
            },
        )
        .await
        .unwrap();
    // 18:01, closed, a person replied two minutes ago: no after-hours reply.
    shop.clock.advance(Duration::minutes(2));
    let r = shop.says(WANJIKU, "do you deliver?").await;
    assert_eq!(replies(&r).len(), 1, "{:?}", replies(&r));
    // Five minutes after the person: the after-hours reply goes.
    shop.clock.advance(Duration::minutes(3));
    let r = shop.says(WANJIKU, "do you deliver?").await;
    assert_eq!(replies(&r).len(), 2, "{:?}", replies(&r));

    // Answers that wait for opening: the after-hours reply alone.
    let waiting = AssistantSettings { answer_after_hours: false, ..settings };
    shop.crm.assistant().set_settings(shop.id, waiting).await.unwrap();
    shop.clock.advance(Duration::hours(24));
    let r = shop.says("+254712000003", "do you deliver?").await;
    assert_eq!(reason(&r), Reason::AfterHours);
    assert_eq!(replies(&r).len(), 1);
    let r = shop.says("+254712000003", "hello?").await;
    assert_eq!((reason(&r), replies(&r).len()), (Reason::AfterHours, 0), "once a day");
}

async fn a_request_for_a_person_hands_off_and_the_assistant_stays_silent(t: TestApp) {
    let shop = shop(&t, t.crm.clone(), on_settings()).await;
    shop.says(WANJIKU, "habari").await;
    let r = shop.says(WANJIKU, "nataka kuongea na mtu").await;
    assert_eq!(reason(&r), Reason::HumanRequested);
    assert_eq!(replies(&r).len(), 1, "one handoff notice");
    let h = r.assistant.as_ref().unwrap().state.handoff.clone().unwrap();
    assert_eq!(h.cause, HandoffCause::HumanRequested { word: "mtu".into() });
    assert_eq!(h.transcript.len(), 3, "greeting, its reply, the request");
    for text in ["hello??", "uko?", "do you deliver"] {
        assert!(shop.says(WANJIKU, text).await.assistant.is_none(), "{text}");
    }
    let c = shop.crm.storage().get_conversation(shop.id, r.conversation.id).await.unwrap();
    assert_eq!(c.assistant.waiting_since(), Some(h.at));
}

async fn out_of_stock_questions_offer_only_in_stock_alternatives(t: TestApp) {
    let shop = shop(&t, t.crm.clone(), on_settings()).await;
    let r = shop.says(WANJIKU, "do you have mumias sugar?").await;
    assert_eq!(reason(&r), Reason::OutOfStock, "{:?}", r.assistant);
    let a = r.assistant.as_ref().unwrap();
    let MessageContent::Interactive { interactive: Interactive::Buttons { body, buttons, .. } } =
        &a.replies[0].content
    else {
        panic!("buttons expected: {:?}", a.replies[0].content);
    };
    assert!(body.starts_with("Sorry, Mumias Sugar 2kg is out of stock right now."), "{body}");
    // Kabras (12) and Nzoia (not tracked) only: Sony has none, Brown is
    // inactive, Jogoo is another category.
    let ids: Vec<&str> = buttons.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids, ["cart:add:KAB-1KG", "cart:add:NZO-1KG"], "{ids:?}");
    for never in ["Sony", "Brown", "Mumias", "Jogoo"] {
        assert!(!body.contains(&format!("• {never}")), "{body}");
    }
    let product = a.decision.product_id.unwrap();
    let p = shop.crm.catalog().get(shop.id, product).await.unwrap();
    assert_eq!(p.sku, "MUM-2KG");
    // Once Nzoia sells, the alternatives put it first.
    let s = shop.crm.storage();
    let nzoia = s.products_by_sku(shop.id, &["NZO-1KG".into()]).await.unwrap().pop().unwrap();
    let buyer = whatsapp_crm_core::NewCustomer::with_phone("+254711999999");
    let buyer = shop.crm.customers().create(shop.id, buyer).await.unwrap();
    for _ in 0..2 {
        let line = whatsapp_crm_core::LineItem {
            product_id: Some(nzoia.id),
            sku: nzoia.sku.clone(),
            name: nzoia.name.clone(),
            quantity: 1,
            unit_price: nzoia.price,
        };
        let mut o = whatsapp_crm_core::Order::new(
            shop.id,
            buyer.id,
            whatsapp_crm_core::Currency::KES,
            vec![line],
            shop.clock.now(),
        )
        .unwrap();
        o.status = whatsapp_crm_core::OrderStatus::Paid;
        s.insert_order(&o).await.unwrap();
    }
    shop.crm.recommendations().build(shop.id).await.unwrap();
    let r = shop.says(WANJIKU, "do you have mumias sugar?").await;
    let MessageContent::Interactive { interactive: Interactive::Buttons { buttons, .. } } =
        &r.assistant.as_ref().unwrap().replies[0].content
    else {
        panic!("buttons expected");
    };
    let ids: Vec<&str> = buttons.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids, ["cart:add:NZO-1KG", "cart:add:KAB-1KG"], "{ids:?}");
    // Tapping an alternative adds it to the cart.
    let r = shop.says(WANJIKU, "una kabras sugar").await;
    assert_eq!(reason(&r), Reason::Answered, "{:?}", r.assistant);
    let a = r.assistant.as_ref().unwrap();
    let MessageContent::Interactive { interactive: Interactive::Buttons { body, buttons, .. } } =
        &a.replies[0].content
    else {
        panic!("an add-to-cart button expected");
    };
    assert_eq!(body, "Yes, we have Kabras Sugar 1kg: KES 165.00.");
    assert_eq!(buttons[0].id, "cart:add:KAB-1KG");
}

async fn racing_messages_after_hours_get_one_after_hours_reply(t: TestApp) {
    let settings = AssistantSettings {
        hours: Some(office_hours()),
        answer_after_hours: false,
        ..on_settings()
    };
    let shop = shop(&t, t.crm.clone(), settings).await;
    shop.says(WANJIKU, "habari").await;
    shop.clock.set(monday_morning() + Duration::hours(12));
    let sender = shop.crm.businesses().get(shop.id).await.unwrap().whatsapp_sender;
    let inbound = |i: u32| {
        let body = format!("are you open? {i}");
        inbound_text(format!("SMrace{i:028}"), WANJIKU, &sender, &body, shop.clock.now())
    };
    let inbox = shop.crm.inbox();
    let results = join_all((0..4).map(|i| inbox.receive(shop.id, inbound(i)))).await;
    let sent: usize = results.iter().map(|r| replies(r.as_ref().unwrap()).len()).sum();
    assert_eq!(sent, 1, "one after-hours reply however the messages race");
    let decided = results.iter().filter(|r| r.as_ref().unwrap().assistant.is_some()).count();
    assert_eq!(decided, 4, "every message decided once");
}

async fn groq_ranks_first_and_every_failure_falls_back_to_the_offline_model(t: TestApp) {
    let stand_in = GroqStandIn::start(GROQ_KEY).await.unwrap();
    let groq = Groq::new(
        GroqConfig::new(GROQ_KEY)
            .with_base(&stand_in.url)
            .with_timeout(StdDuration::from_millis(300)),
    )
    .unwrap();
    let crm = t.crm.clone().with_assistant_llm(Arc::new(groq));
    let settings = AssistantSettings { classifier: ClassifierChoice::Groq, ..on_settings() };
    let shop = shop(&t, crm, settings).await;
    let delivery = shop
        .crm
        .assistant()
        .faqs(shop.id, Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|f| f.question == "Do you deliver?")
        .unwrap();

    stand_in.answer(Answer::verdict(&delivery.label(), 0.93));
    let r = shop.says(WANJIKU, "mnaweza kuleta mzigo kesho?").await;
    let d = &r.assistant.as_ref().unwrap().decision;
    assert_eq!((d.classifier.as_str(), d.fallback.as_deref()), ("groq", None), "{d:?}");
    assert_eq!((d.reason, d.faq_id), (Reason::Answered, Some(delivery.id)));
    assert!((d.confidence.unwrap() - 0.93).abs() < 1e-9);
    assert!(stand_in.malformed().is_empty(), "{:?}", stand_in.malformed());
    let sent = &stand_in.requests()[0];
    assert!(sent.get("logprobs").is_none());

    let failures = [
        (Answer::Status(500), "status 500"),
        (Answer::Status(429), "status 429"),
        (Answer::Slow(StdDuration::from_secs(2), "{}".into()), "timed out"),
        (Answer::Content("I think they want delivery!".into()), "unreadable"),
        (Answer::verdict("no_such_intent", 0.9), "unreadable"),
    ];
    for (answer, why) in failures {
        stand_in.answer(answer);
        let r = shop.says(WANJIKU, "do you deliver to Kilimani?").await;
        let d = &r.assistant.as_ref().unwrap().decision;
        assert_eq!(d.classifier, "offline", "{why}: {d:?}");
        let fallback = d.fallback.as_deref().unwrap_or_default();
        assert!(fallback.starts_with("groq: ") && fallback.contains(why), "{why}: {fallback}");
        assert_eq!((d.reason, d.faq_id), (Reason::Answered, Some(delivery.id)), "{why}");
        // Stored with the message for analytics.
        let stored = shop.crm.storage().get_message(shop.id, r.message.id).await.unwrap();
        assert_eq!(stored.decision.unwrap().fallback.as_deref(), Some(fallback));
    }
}

async fn a_redelivered_message_the_first_delivery_left_undecided_is_answered_once(t: TestApp) {
    let shop = shop(&t, t.crm.clone(), on_settings()).await;
    let first = shop.says(WANJIKU, "habari").await;
    let sender = shop.crm.businesses().get(shop.id).await.unwrap().whatsapp_sender;
    // The first delivery stored the message and died before the turn.
    let stored = |sid: &str, body: &str| Message {
        id: whatsapp_crm_core::MessageId::new(),
        business_id: shop.id,
        conversation_id: first.conversation.id,
        customer_id: first.customer.id,
        direction: Direction::Inbound,
        content: MessageContent::text(body),
        status: whatsapp_crm_core::MessageStatus::Received,
        provider_id: Some(sid.into()),
        error_code: None,
        times: whatsapp_crm_core::StatusTimes {
            received_at: Some(shop.clock.now()),
            ..Default::default()
        },
        created_at: shop.clock.now(),
        author: Author::Customer,
        decision: None,
    };
    let redeliver =
        |sid: &str, body: &str| inbound_text(sid, WANJIKU, &sender, body, shop.clock.now());
    let s = shop.crm.storage();
    s.insert_message(&stored("SMcrashed0000000000000000000000001", "do you deliver?"))
        .await
        .unwrap();
    let again = shop
        .crm
        .inbox()
        .receive(shop.id, redeliver("SMcrashed0000000000000000000000001", "do you deliver?"))
        .await
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(reason(&again), Reason::Answered);
    // Decided now: a third delivery changes nothing.
    let third = shop
        .crm
        .inbox()
        .receive(shop.id, redeliver("SMcrashed0000000000000000000000001", "do you deliver?"))
        .await
        .unwrap();
    assert!(third.duplicate && third.assistant.is_none());
    let answers =
        shop.messages(&first).await.iter().filter(|m| m.author == Author::Assistant).count();
    assert_eq!(answers, 2, "the greeting's reply and one answer");
    // Too late: a message that arrived over ten minutes ago is left alone.
    s.insert_message(&stored("SMcrashed0000000000000000000000002", "how do I pay?")).await.unwrap();
    shop.clock.advance(Duration::minutes(11));
    let late = shop
        .crm
        .inbox()
        .receive(shop.id, redeliver("SMcrashed0000000000000000000000002", "how do I pay?"))
        .await
        .unwrap();
    assert!(late.duplicate && late.assistant.is_none());
}
