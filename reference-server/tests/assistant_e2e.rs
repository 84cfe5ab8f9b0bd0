//! The assistant end to end through the real binary on SQLite, with local
//! Twilio and Groq stand-ins: FAQs trained by the worker, an FAQ question
//! answered, a question outside the FAQs handed off (the conversation then
//! waits for a person), "nataka kuongea na mtu" handed off, silence after,
//! one after-hours reply for two messages at night, and a Groq timeout
//! falling back to the offline model with the decision saying so.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::Duration;

use chrono::Utc;
use common::twilio::{FakeTwilio, sent_to};
use common::{Server, create_business, http, until};
use serde_json::{Value, json};
use whatsapp_crm_groq::stand_in::{Answer, GroqStandIn};

const SENDER: &str = "+254700000066";
const GROQ_KEY: &str = "gsk_test_key";

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faq_answers_handoffs_silence_after_hours_and_groq_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let key = create_business(dir.path(), "shop.db", SENDER).await;
    let fake = FakeTwilio::start(SENDER, Duration::from_millis(1)).await;
    let groq = GroqStandIn::start(GROQ_KEY).await.unwrap();
    let mut env = fake.env();
    env.extend([
        ("WCRM_PAIR_INTERVAL_MS", "50".into()),
        ("WCRM_ASSISTANT_INTERVAL_MS", "100".into()),
        ("GROQ_API_KEY", GROQ_KEY.into()),
        ("GROQ_BASE", groq.url.clone()),
        ("GROQ_TIMEOUT_MS", "300".into()),
    ]);
    let server = Server::start_with(dir.path(), &["--database", "shop.db"], &env).await;
    let addr = server.addr.clone();
    let api = |method: &'static str, path: &str, body: Option<Value>| {
        let (addr, key, path) = (addr.clone(), key.clone(), path.to_owned());
        async move {
            let body = body.map(|b| b.to_string());
            let (status, text) = http(&addr, method, &path, Some(&key), body.as_deref()).await;
            (status, if text.is_empty() { Value::Null } else { json_of(&text) })
        }
    };
    let n = std::sync::atomic::AtomicU32::new(0);
    let says = |phone: &'static str, body: &'static str| {
        let addr = addr.clone();
        let sid = format!("SM{:032}", n.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        async move { common::twilio::says(&addr, SENDER, &sid, phone, body).await }
    };

    let faqs = [
        json!({"question": "Do you deliver?", "answer": "Yes, across Nairobi within 24 hours.",
               "paraphrases": ["can you deliver to my place", "mnaleta nyumbani", "do you do delivery",
                               "delivery to westlands", "can you bring it to my house"]}),
        json!({"question": "How do I pay?", "answer": "M-Pesa Till 123456, or card on our payment link.",
               "paraphrases": ["can I pay with mpesa", "what is your till number", "nilipe aje",
                               "paybill number ni gani", "do you take card"]}),
        json!({"question": "Where is your shop?", "answer": "Moi Avenue, opposite the Hilton.",
               "paraphrases": ["where are you located", "mko wapi", "duka iko wapi", "what is your address"]}),
    ];
    for f in faqs {
        assert_eq!(api("POST", "/v1/assistant/faqs", Some(f)).await.0, 201);
    }
    let settings = json!({"enabled": true, "handoff_after_misses": 1});
    assert_eq!(api("PUT", "/v1/assistant/settings", Some(settings)).await.0, 200);
    // The worker trains on the change.
    until("the worker to train", || async {
        let (_, s) = api("GET", "/v1/assistant/training", None).await;
        s["stale"] == json!(false) && s["model"]["intents"].as_u64().unwrap_or(0) >= 6
    })
    .await;

    // An FAQ question gets its answer.
    const AMINA: &str = "+254712000101";
    says(AMINA, "Hi, do you deliver to Kilimani?").await;
    until("the answer", || async { sent_to(&fake, AMINA).len() == 1 }).await;
    assert_eq!(sent_to(&fake, AMINA), ["Yes, across Nairobi within 24 hours."]);

    // A question outside the FAQs: a handoff notice, and the conversation
    // waits for a person.
    const BARAKA: &str = "+254712000102";
    says(BARAKA, "my tractor engine makes a strange knocking noise").await;
    until("the handoff notice", || async { sent_to(&fake, BARAKA).len() == 1 }).await;
    assert!(
        sent_to(&fake, BARAKA)[0].contains("a member of our team"),
        "{:?}",
        sent_to(&fake, BARAKA)
    );
    let (_, waiting) = api("GET", "/v1/conversations?waiting=true", None).await;
    let items = waiting["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{waiting}");
    assert_eq!(items[0]["assistant"]["handoff"]["cause"]["type"], "no_answer", "{waiting}");

    // "nataka kuongea na mtu" hands off; then silence.
    const CHEBET: &str = "+254712000103";
    says(CHEBET, "habari").await;
    until("the greeting", || async { sent_to(&fake, CHEBET).len() == 1 }).await;
    says(CHEBET, "nataka kuongea na mtu").await;
    until("the handoff", || async { sent_to(&fake, CHEBET).len() == 2 }).await;
    for text in ["hello?", "do you deliver?", "mko wapi"] {
        says(CHEBET, text).await;
    }
    says(BARAKA, "do you deliver?").await;
    let (_, waiting) = api("GET", "/v1/conversations?waiting=true", None).await;
    assert_eq!(waiting["items"].as_array().unwrap().len(), 2);
    let chebet = waiting["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["assistant"]["handoff"]["reason"] == "human_requested")
        .unwrap()
        .clone();
    let id = chebet["id"].as_str().unwrap().to_owned();
    let (_, messages) = api("GET", &format!("/v1/conversations/{id}/messages"), None).await;
    let inbound: Vec<&Value> = messages["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "inbound")
        .collect();
    assert_eq!(inbound.len(), 5);
    assert_eq!(inbound[1]["decision"]["reason"], "human_requested");
    assert!(inbound[2..].iter().all(|m| m["decision"].is_null()), "silent after the handoff");

    // After hours (closed from yesterday to tomorrow): two messages, one
    // after-hours reply.
    let today = Utc::now().with_timezone(&chrono_tz_nairobi()).date_naive();
    let closed = json!({"enabled": true, "answer_after_hours": false,
        "hours": {"weekly": {"mon": ["00:00-24:00"], "tue": ["00:00-24:00"], "wed": ["00:00-24:00"],
                             "thu": ["00:00-24:00"], "fri": ["00:00-24:00"], "sat": ["00:00-24:00"],
                             "sun": ["00:00-24:00"]},
                  "closed": [{"date": (today - chrono::Duration::days(1)).to_string(),
                              "until": (today + chrono::Duration::days(1)).to_string(),
                              "name": "Stocktaking"}]}});
    let (status, body) = api("PUT", "/v1/assistant/settings", Some(closed)).await;
    assert_eq!(status, 200, "{body}");
    const DAUDI: &str = "+254712000104";
    says(DAUDI, "do you deliver?").await;
    until("the after-hours reply", || async { sent_to(&fake, DAUDI).len() == 1 }).await;
    assert!(sent_to(&fake, DAUDI)[0].contains("We are closed now"), "{:?}", sent_to(&fake, DAUDI));
    says(DAUDI, "hello, anyone there?").await;

    // Groq chosen, and it times out: the offline model answers, and the
    // decision says why.
    let groq_on = json!({"enabled": true, "classifier": "groq"});
    assert_eq!(api("PUT", "/v1/assistant/settings", Some(groq_on)).await.0, 200);
    groq.answer(Answer::Slow(Duration::from_secs(3), "{}".into()));
    groq.answer(Answer::Content("Sure! They want delivery.".into()));
    const ESTHER: &str = "+254712000105";
    says(ESTHER, "do you deliver?").await;
    says(ESTHER, "where is your shop?").await;
    until("both answers", || async { sent_to(&fake, ESTHER).len() == 2 }).await;
    assert_eq!(
        sent_to(&fake, ESTHER),
        ["Yes, across Nairobi within 24 hours.", "Moi Avenue, opposite the Hilton."]
    );
    let (_, all) = api("GET", "/v1/conversations?limit=200", None).await;
    let esther =
        all["items"].as_array().unwrap().last().unwrap()["id"].as_str().unwrap().to_owned();
    let (_, messages) = api("GET", &format!("/v1/conversations/{esther}/messages"), None).await;
    let decisions: Vec<&Value> = messages["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "inbound")
        .map(|m| &m["decision"])
        .collect();
    assert_eq!(decisions[0]["classifier"], "offline");
    assert_eq!(decisions[0]["fallback"], "groq: timed out");
    assert_eq!(decisions[1]["classifier"], "offline");
    assert!(decisions[1]["fallback"].as_str().unwrap().starts_with("groq: unreadable"));
    assert!(groq.malformed().is_empty(), "{:?}", groq.malformed());

    // Everything settles: Daudi got one after-hours reply for two messages,
    // the silent conversations nothing more.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sent_to(&fake, DAUDI).len(), 1, "{:?}", sent_to(&fake, DAUDI));
    assert_eq!(sent_to(&fake, CHEBET).len(), 2);
    assert_eq!(sent_to(&fake, BARAKA).len(), 1);
    assert!(fake.malformed.lock().unwrap().is_empty());
    server.stop().await;
}

/// Nairobi is UTC+3 all year.
fn chrono_tz_nairobi() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(3 * 3600).unwrap()
}
