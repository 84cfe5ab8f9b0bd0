//! Conformance cases for the assistant's storage: FAQs and intents with
//! their data version, trained models, conversations' assistant state and
//! turns, and who wrote each message.

use futures_util::future::join_all;

use crate::assistant::Reason;
use crate::domain::{
    AssistantState, Author, Conversation, Decision, Direction, Faq, FaqId, Handoff, HandoffCause,
    Intent, IntentAction, IntentId, Message, MessageStatus, ModelInfo, OutboxItem, StatusTimes,
    TranscriptLine,
};
use crate::ports::{
    AssistantQuery, ConversationQuery, INTENT_NAME_TAKEN, Storage, StorageError, TurnCommit,
};

use super::{at, bare_customer, insert, new_business, new_conversation, ok, text_message};

fn faq(business: crate::domain::BusinessId, question: &str, active: bool) -> Faq {
    Faq {
        id: FaqId::new(),
        business_id: business,
        question: question.into(),
        paraphrases: vec![format!("{question}?"), "mnafungua saa ngapi".into()],
        answer: "We open at 8.".into(),
        intent: Some("hours".into()),
        active,
        created_at: at(0),
        updated_at: at(0),
    }
}

fn intent(business: crate::domain::BusinessId, name: &str) -> Intent {
    Intent {
        id: IntentId::new(),
        business_id: business,
        name: name.into(),
        examples: vec!["where is my order".into(), "order yangu iko wapi".into()],
        action: IntentAction::Reply,
        reply: Some("Send us your order number.".into()),
        created_at: at(0),
        updated_at: at(0),
    }
}

fn inbound(c: &Conversation, body: &str, seconds: i64) -> Message {
    Message {
        direction: Direction::Inbound,
        status: MessageStatus::Received,
        times: StatusTimes { received_at: Some(at(seconds)), ..StatusTimes::default() },
        created_at: at(seconds),
        author: Author::Customer,
        ..text_message(c, body)
    }
}

fn decision(reason: Reason) -> Decision {
    Decision {
        reason,
        intent: Some("hours".into()),
        confidence: Some(0.875),
        runner_up: Some(0.0625),
        classifier: "offline".into(),
        fallback: None,
        faq_id: None,
        product_id: None,
        sentiment: -0.25,
        replies: 1,
        at: at(60),
    }
}

fn reply(
    s_business: &crate::domain::Business,
    c: &Conversation,
    phone: &crate::domain::PhoneNumber,
    body: &str,
) -> (Message, OutboxItem) {
    let m = Message { author: Author::Assistant, created_at: at(61), ..text_message(c, body) };
    let item = OutboxItem::new(
        s_business.id,
        m.id,
        s_business.whatsapp_sender.clone(),
        phone.clone(),
        at(61),
        at(61),
    );
    (m, item)
}

/// FAQs and intents round-trip, page, stay in their business, and every
/// change bumps the data version; intent names are unique.
pub async fn assistant_faqs_and_intents_round_trip(s: &dyn Storage) {
    let b = new_business(s, "Duka").await;
    let other = new_business(s, "Other").await;
    let status = ok(s.training_status(b.id).await, "status");
    assert_eq!((status.data_version, status.faqs, status.intents, status.model), (0, 0, 0, None));
    let faqs: Vec<Faq> =
        (0..3).map(|i| faq(b.id, &format!("When do you open {i}"), i != 2)).collect();
    for f in &faqs {
        ok(s.insert_faq(f).await, "insert faq");
    }
    assert_eq!(ok(s.get_faq(b.id, faqs[0].id).await, "get"), faqs[0]);
    let page = ok(s.list_faqs(b.id, &AssistantQuery { limit: 2, after: None }).await, "page 1");
    assert_eq!(page.items, faqs[..2].to_vec());
    let after = page.items.last().map(|f| f.id);
    let rest = ok(s.list_faqs(b.id, &AssistantQuery { limit: 2, after }).await, "page 2");
    assert_eq!((rest.items, rest.next_cursor), (faqs[2..].to_vec(), None));
    let mut edited = faqs[1].clone();
    edited.answer = "We open at 9 on Sundays.".into();
    edited.paraphrases.push("sunday hours".into());
    edited.updated_at = at(30);
    ok(s.update_faq(&edited).await, "update faq");
    assert_eq!(ok(s.get_faq(b.id, edited.id).await, "get edited"), edited);
    ok(s.delete_faq(b.id, faqs[0].id).await, "delete");
    assert!(matches!(s.get_faq(b.id, faqs[0].id).await, Err(StorageError::NotFound { .. })));
    assert!(matches!(s.delete_faq(b.id, faqs[0].id).await, Err(StorageError::NotFound { .. })));

    let orders = intent(b.id, "order_status");
    ok(s.insert_intent(&orders).await, "insert intent");
    let again = Intent { id: IntentId::new(), ..orders.clone() };
    match s.insert_intent(&again).await {
        Err(StorageError::Conflict { constraint, .. }) => assert_eq!(constraint, INTENT_NAME_TAKEN),
        other => panic!("duplicate name: {other:?}"),
    }
    assert!(matches!(s.get_intent(b.id, again.id).await, Err(StorageError::NotFound { .. })));
    let mut human = intent(b.id, "talk_to_person");
    human.action = IntentAction::Handoff;
    human.reply = None;
    ok(s.insert_intent(&human).await, "second intent");
    let renamed = Intent { name: "order_status".into(), updated_at: at(40), ..human.clone() };
    assert!(matches!(s.update_intent(&renamed).await, Err(StorageError::Conflict { .. })));
    let renamed = Intent { name: "speak_to_staff".into(), updated_at: at(40), ..human.clone() };
    ok(s.update_intent(&renamed).await, "rename");
    assert_eq!(ok(s.get_intent(b.id, human.id).await, "get renamed"), renamed);
    let listed = ok(s.list_intents(b.id, &AssistantQuery { limit: 10, after: None }).await, "list");
    assert_eq!(listed.items, vec![orders.clone(), renamed.clone()]);

    // Inserts (3 + 2), an update of each, and a delete: 8 changes.
    let status = ok(s.training_status(b.id).await, "status after");
    assert_eq!((status.data_version, status.faqs, status.intents), (8, 2, 2));
    assert!(status.stale());
    let data = ok(s.training_data(b.id).await, "training data");
    assert_eq!(data.data_version, 8);
    assert_eq!(data.faqs, vec![edited.clone()], "active FAQs only");
    assert_eq!(data.intents, vec![orders.clone(), renamed.clone()]);

    // Another business sees none of it and can change none of it.
    let theirs = ok(s.training_status(other.id).await, "other status");
    assert_eq!((theirs.data_version, theirs.faqs, theirs.intents), (0, 0, 0));
    assert!(matches!(s.get_faq(other.id, edited.id).await, Err(StorageError::NotFound { .. })));
    let stolen = Faq { business_id: other.id, ..edited.clone() };
    assert!(matches!(s.update_faq(&stolen).await, Err(StorageError::NotFound { .. })));
    assert!(matches!(
        s.delete_intent(other.id, orders.id).await,
        Err(StorageError::NotFound { .. })
    ));
    let stolen = Intent { business_id: other.id, ..orders.clone() };
    assert!(matches!(s.update_intent(&stolen).await, Err(StorageError::NotFound { .. })));
    ok(
        s.insert_intent(&Intent { id: IntentId::new(), business_id: other.id, ..orders }).await,
        "same name elsewhere",
    );
    assert_eq!(ok(s.get_faq(b.id, edited.id).await, "untouched"), edited);
    assert!(
        ok(s.list_faqs(other.id, &AssistantQuery { limit: 10, after: None }).await, "other list")
            .items
            .is_empty()
    );
}

/// A model is stored once per data version, newer only; a change makes it
/// stale again.
pub async fn assistant_models_are_saved_per_data_version(s: &dyn Storage) {
    let b = new_business(s, "Duka").await;
    ok(s.insert_faq(&faq(b.id, "When do you open", true)).await, "faq");
    ok(s.insert_intent(&intent(b.id, "order_status")).await, "intent");
    assert!(ok(s.stale_models(1_000).await, "stale").contains(&b.id));
    assert_eq!(ok(s.load_model(b.id).await, "none yet"), None);
    let info = |v: u64| ModelInfo {
        data_version: v,
        intents: 2,
        examples: 5,
        features: 300,
        bytes: 4,
        training_ms: 7,
        trained_at: at(100),
    };
    assert!(ok(s.save_model(b.id, &info(2), &[1, 2, 3, 4]).await, "save"));
    assert!(!ok(s.save_model(b.id, &info(2), &[9, 9, 9, 9]).await, "same version again"));
    assert!(!ok(s.save_model(b.id, &info(1), &[8, 8, 8, 8]).await, "an older one"));
    assert_eq!(ok(s.load_model(b.id).await, "load"), Some((info(2), vec![1, 2, 3, 4])));
    assert!(!ok(s.stale_models(1_000).await, "fresh").contains(&b.id));
    let status = ok(s.training_status(b.id).await, "status");
    assert_eq!((status.stale(), status.model), (false, Some(info(2))));
    ok(s.insert_faq(&faq(b.id, "Do you deliver", true)).await, "change");
    assert!(ok(s.stale_models(1_000).await, "stale again").contains(&b.id));
    assert_eq!(
        ok(s.load_model(b.id).await, "old model in use").map(|m| m.1),
        Some(vec![1, 2, 3, 4])
    );
    // Two trainers of one version: one stores.
    let saved =
        join_all((0..4).map(|i| async move { s.save_model(b.id, &info(3), &[i; 4]).await })).await;
    assert_eq!(saved.iter().filter(|r| matches!(r, Ok(true))).count(), 1, "{saved:?}");
    let other = new_business(s, "Other").await;
    assert_eq!(ok(s.load_model(other.id).await, "other's"), None);
}

/// A turn writes state, decision and replies at once, only against the
/// revision it read; the state survives `update_conversation`; waiting
/// conversations are listed; people's replies are found by author.
pub async fn assistant_turns_commit_once_per_revision(s: &dyn Storage) {
    let b = new_business(s, "Duka").await;
    let customer = bare_customer(b.id, "+254712000901");
    insert(s, &customer).await;
    let c = new_conversation(s, &customer).await;
    assert_eq!(c.assistant, AssistantState::default());
    let m = inbound(&c, "nataka kuongea na mtu", 60);
    ok(s.insert_message(&m).await, "inbound");
    let handoff = Handoff {
        reason: Reason::HumanRequested,
        cause: HandoffCause::HumanRequested { word: "mtu".into() },
        message_id: m.id,
        at: at(60),
        sentiment: -0.25,
        transcript: vec![TranscriptLine {
            at: at(60),
            direction: Direction::Inbound,
            text: "nataka kuongea na mtu".into(),
        }],
        resolved_at: None,
    };
    let state = AssistantState { misses: 0, after_hours_on: None, handoff: Some(handoff), rev: 0 };
    let turn = |body: &str| TurnCommit {
        business: b.id,
        conversation: c.id,
        from_rev: 0,
        state: state.clone(),
        message: m.id,
        decision: decision(Reason::HumanRequested),
        replies: vec![reply(&b, &c, &customer.phone, body)],
    };
    // Racing turns from one revision: one wins, its reply alone is queued.
    let turns: Vec<TurnCommit> =
        (0..4).map(|i| turn(&format!("A person will reply {i}"))).collect();
    let results = join_all(turns.iter().map(|t| s.commit_turn(t))).await;
    assert_eq!(results.iter().filter(|r| matches!(r, Ok(true))).count(), 1, "{results:?}");
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    let queued = join_all(turns.iter().map(|t| s.get_outbox_item(b.id, t.replies[0].0.id))).await;
    assert_eq!(queued.iter().filter(|q| q.is_ok()).count(), 1, "one reply queued");
    let stored = ok(s.get_conversation(b.id, c.id).await, "conversation");
    assert_eq!(stored.assistant, AssistantState { rev: 1, ..state.clone() });
    let got = ok(s.get_message(b.id, m.id).await, "message");
    assert_eq!(
        (got.author, got.decision),
        (Author::Customer, Some(decision(Reason::HumanRequested)))
    );
    let winner = queued.iter().position(Result::is_ok).unwrap_or_default();
    let sent = ok(s.get_message(b.id, turns[winner].replies[0].0.id).await, "reply");
    assert_eq!(sent.author, Author::Assistant);

    // A message is decided once: a turn at the current revision for the
    // same message writes nothing.
    let again = TurnCommit { from_rev: 1, ..turn("A second answer") };
    assert!(!ok(s.commit_turn(&again).await, "decided twice"));
    assert!(s.get_outbox_item(b.id, again.replies[0].0.id).await.is_err(), "nothing queued");
    assert_eq!(ok(s.get_conversation(b.id, c.id).await, "unchanged").assistant.rev, 1);

    // A stale copy written back keeps the assistant's state.
    let mut stale = c.clone();
    stale.updated_at = at(90);
    ok(s.update_conversation(&stale).await, "update");
    assert_eq!(ok(s.get_conversation(b.id, c.id).await, "after update").assistant.rev, 1);

    let waiting = |w| ConversationQuery { waiting: Some(w), limit: 50, ..Default::default() };
    let listed = ok(s.list_conversations(b.id, &waiting(true)).await, "waiting");
    assert_eq!(listed.items.iter().map(|c| c.id).collect::<Vec<_>>(), vec![c.id]);
    assert!(ok(s.list_conversations(b.id, &waiting(false)).await, "not waiting").items.is_empty());

    // Hand back: only from the revision read; the handoff stays on record.
    let mut back = state.clone();
    if let Some(h) = back.handoff.as_mut() {
        h.resolved_at = Some(at(120));
    }
    assert!(!ok(s.set_assistant_state(b.id, c.id, 0, &back).await, "stale hand back"));
    assert!(ok(s.set_assistant_state(b.id, c.id, 1, &back).await, "hand back"));
    let after = ok(s.get_conversation(b.id, c.id).await, "handed back");
    assert_eq!(after.assistant, AssistantState { rev: 2, ..back.clone() });
    assert!(ok(s.list_conversations(b.id, &waiting(true)).await, "none waiting").items.is_empty());

    // People's replies, by author: automation does not count.
    assert_eq!(ok(s.last_person_reply(b.id, c.id).await, "none yet"), None);
    let bot = Message {
        author: Author::Automation,
        created_at: at(200),
        ..text_message(&c, "Cart updated")
    };
    let person = Message {
        author: Author::Staff,
        created_at: at(150),
        ..text_message(&c, "Hi, Wanjiku here")
    };
    for m in [&bot, &person] {
        ok(s.insert_message(m).await, "outbound");
    }
    assert_eq!(ok(s.last_person_reply(b.id, c.id).await, "person"), Some(at(150)));

    // Another business can touch none of it.
    let other = new_business(s, "Other").await;
    let foreign = TurnCommit { business: other.id, from_rev: 2, replies: Vec::new(), ..turn("x") };
    assert!(matches!(s.commit_turn(&foreign).await, Err(StorageError::NotFound { .. })));
    assert!(matches!(
        s.set_assistant_state(other.id, c.id, 2, &back).await,
        Err(StorageError::NotFound { .. })
    ));
    assert_eq!(ok(s.last_person_reply(other.id, c.id).await, "other's"), None);
    let missing = TurnCommit {
        from_rev: 2,
        message: crate::domain::MessageId::new(),
        replies: Vec::new(),
        ..turn("x")
    };
    assert!(matches!(s.commit_turn(&missing).await, Err(StorageError::NotFound { .. })));
    assert_eq!(ok(s.get_conversation(b.id, c.id).await, "unchanged").assistant.rev, 2);
}
