//! The team inbox end to end through the real binary on SQLite, with the
//! local Twilio stand-in: two agents (one with `billing`), one VIP
//! customer. A payment question the assistant hands off reaches the
//! billing agent; a VIP's jumps the queue; the agent's reply through their
//! own key is sent and attributed; resolving hands the conversation back
//! to the assistant, which answers the customer's next question, and the
//! agent gets the next in line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::Duration;

use common::twilio::{FakeTwilio, sent_to};
use common::{Server, create_business, http, until};
use serde_json::{Value, json};

const SENDER: &str = "+254700000077";

fn json_of(body: &str) -> Value {
    if body.is_empty() { Value::Null } else { serde_json::from_str(body).unwrap() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handoffs_reach_the_billing_agent_vips_first_and_resolving_hands_back() {
    let dir = tempfile::tempdir().unwrap();
    let key = create_business(dir.path(), "shop.db", SENDER).await;
    let fake = FakeTwilio::start(SENDER, Duration::from_millis(1)).await;
    let mut env = fake.env();
    env.extend([
        ("WCRM_PAIR_INTERVAL_MS", "50".into()),
        ("WCRM_ASSISTANT_INTERVAL_MS", "100".into()),
        ("WCRM_INBOX_INTERVAL_MS", "100".into()),
    ]);
    let server = Server::start_with(dir.path(), &["--database", "shop.db"], &env).await;
    let addr = server.addr.clone();
    let call = |key: &str, method: &'static str, path: &str, body: Option<Value>| {
        let (addr, key, path) = (addr.clone(), key.to_owned(), path.to_owned());
        async move {
            let body = body.map(|b| b.to_string());
            let (status, text) = http(&addr, method, &path, Some(&key), body.as_deref()).await;
            (status, json_of(&text))
        }
    };
    let api =
        |method: &'static str, path: &str, body: Option<Value>| call(&key, method, path, body);
    let n = std::sync::atomic::AtomicU32::new(0);
    let says = |phone: &'static str, body: &'static str| {
        let addr = addr.clone();
        let sid = format!("SM{:032}", n.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        async move { common::twilio::says(&addr, SENDER, &sid, phone, body).await }
    };

    // The assistant answers where the shop is and hands payment problems
    // to people.
    let faq = json!({"question": "Where is your shop?", "answer": "Moi Avenue, 2nd floor.",
        "paraphrases": ["where are you located", "mko wapi", "duka iko wapi", "what is your address"]});
    assert_eq!(api("POST", "/v1/assistant/faqs", Some(faq)).await.0, 201);
    let intent = json!({"name": "payment_issue", "action": "handoff", "examples": [
        "I paid with mpesa but the order says unpaid", "my mpesa payment failed",
        "money was deducted but no confirmation", "nimelipa lakini order haijaonyesha",
        "pesa imekatwa lakini sijapata confirmation", "I was charged twice for my order",
        "payment not reflecting", "refund my money"]});
    assert_eq!(api("POST", "/v1/assistant/intents", Some(intent)).await.0, 201);
    assert_eq!(api("PUT", "/v1/assistant/settings", Some(json!({"enabled": true}))).await.0, 200);
    until("the worker to train", || async {
        let (_, s) = api("GET", "/v1/assistant/training", None).await;
        s["stale"] == json!(false) && s["model"].is_object()
    })
    .await;

    // Achieng handles billing (one at a time, away for now); Baraka does not.
    let agent = |body: Value| async {
        let (status, a) = api("POST", "/v1/agents", Some(body)).await;
        assert_eq!(status, 201, "{a}");
        let id = a["id"].as_str().unwrap().to_owned();
        let path = format!("/v1/agents/{id}/keys");
        let (status, k) = api("POST", &path, Some(json!({"label": "phone"}))).await;
        assert_eq!(status, 201, "{k}");
        (id, k["api_key"].as_str().unwrap().to_owned())
    };
    let (achieng, achieng_key) = agent(json!({"name": "Achieng", "skills": ["billing"],
        "languages": ["sw", "en"], "max_concurrent": 1, "availability": "away"}))
    .await;
    let (baraka, _) = agent(json!({"name": "Baraka", "skills": ["delivery"],
        "languages": ["sw"], "availability": "online"}))
    .await;
    let queue = |body: Value| async {
        let (status, q) = api("POST", "/v1/queues", Some(body)).await;
        assert_eq!(status, 201, "{q}");
        q["id"].as_str().unwrap().to_owned()
    };
    let billing = queue(json!({"name": "Billing", "target": "skills HAS 'billing'"})).await;
    let general = queue(json!({"name": "General"})).await;
    let routing = json!({"rules": [{"name": "Payments", "when": "intent == 'payment_issue'",
        "queue_id": billing}], "default": {"queue_id": general}});
    assert_eq!(api("PUT", "/v1/routing-rules", Some(routing)).await.0, 200);
    const OTIENO: &str = "+254712000201";
    const AMINA: &str = "+254712000202";
    let vip = json!({"phone": AMINA, "name": "Amina", "tags": ["vip"]});
    assert_eq!(api("POST", "/v1/customers", Some(vip)).await.0, 201);

    // Otieno, then the VIP, both about payments: each gets the handoff
    // notice and waits in Billing, the VIP a level higher.
    says(OTIENO, "I paid with mpesa but my order says unpaid").await;
    until("Otieno's notice", || async { sent_to(&fake, OTIENO).len() == 1 }).await;
    says(AMINA, "payment not reflecting on my order, please check").await;
    until("Amina's notice", || async { sent_to(&fake, AMINA).len() == 1 }).await;
    let conversation_of = |phone: &'static str| async move {
        let (_, list) = api("GET", "/v1/conversations?limit=200", None).await;
        let (_, customers) = api("GET", "/v1/customers?limit=200", None).await;
        let customer = customers["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["phone"] == phone)
            .unwrap()["id"]
            .clone();
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["customer_id"] == customer)
            .unwrap()
            .clone()
    };
    let (otieno, amina) = (conversation_of(OTIENO).await, conversation_of(AMINA).await);
    for (c, priority) in [(&otieno, 0), (&amina, 1)] {
        assert_eq!(c["desk"]["queue_id"], json!(billing), "{c}");
        assert_eq!(c["desk"]["priority"], priority, "{c}");
        assert_eq!(c["assistant"]["handoff"]["cause"]["intent"], "payment_issue", "{c}");
    }
    let (amina_id, otieno_id) =
        (amina["id"].as_str().unwrap().to_owned(), otieno["id"].as_str().unwrap().to_owned());

    // Achieng comes online through her own key: the worker offers her the
    // VIP's conversation first; Baraka gets neither.
    let availability = format!("/v1/agents/{achieng}/availability");
    let r = call(&achieng_key, "PUT", &availability, Some(json!({"availability": "online"}))).await;
    assert_eq!(r.0, 200, "{}", r.1);
    until("the offer", || async {
        conversation_of(AMINA).await["assigned_agent"] == json!(achieng)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(conversation_of(OTIENO).await["assigned_agent"], Value::Null);
    let (_, events) = api("GET", &format!("/v1/conversations/{amina_id}/events"), None).await;
    let kinds: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["change"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["handed_off", "queued", "offered"]);

    // Her reply through her key is sent and attributed to her.
    let reply =
        json!({"content": {"type": "text", "body": "Pole Amina, I can see your payment now."}});
    let (status, message) =
        call(&achieng_key, "POST", &format!("/v1/conversations/{amina_id}/reply"), Some(reply))
            .await;
    assert_eq!((status, message["author"].clone()), (202, json!("staff")), "{message}");
    until("the reply", || async { sent_to(&fake, AMINA).len() == 2 }).await;
    assert_eq!(sent_to(&fake, AMINA)[1], "Pole Amina, I can see your payment now.");
    let (_, events) = api("GET", &format!("/v1/conversations/{amina_id}/events"), None).await;
    let reply_event = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["change"]["type"] == "reply")
        .unwrap()
        .clone();
    assert_eq!(reply_event["actor"], json!({"kind": "agent", "agent_id": achieng}));
    assert_eq!(reply_event["change"]["message_id"], message["id"]);

    // Resolving hands it back to the assistant, which answers her next
    // question itself; Achieng gets Otieno next.
    let (status, resolved) =
        call(&achieng_key, "POST", &format!("/v1/conversations/{amina_id}/resolve"), None).await;
    assert_eq!(status, 200, "{resolved}");
    assert_eq!(resolved["status"], "resolved");
    assert!(resolved["assistant"]["handoff"]["resolved_at"].is_string(), "{resolved}");
    says(AMINA, "mko wapi?").await;
    until("the assistant's answer", || async { sent_to(&fake, AMINA).len() == 3 }).await;
    assert_eq!(sent_to(&fake, AMINA)[2], "Moi Avenue, 2nd floor.");
    until("the next offer", || async {
        conversation_of(OTIENO).await["assigned_agent"] == json!(achieng)
    })
    .await;
    let (_, baraka_agent) = api("GET", &format!("/v1/agents/{baraka}"), None).await;
    assert_eq!(baraka_agent["last_assigned_at"], Value::Null);
    let (_, otieno_events) =
        api("GET", &format!("/v1/conversations/{otieno_id}/events"), None).await;
    assert!(
        otieno_events["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["change"]["agent_id"] != json!(baraka))
    );
    assert!(fake.malformed.lock().unwrap().is_empty());
    server.stop().await;
}
