//! The assistant API through `oneshot`, on every storage backend: settings
//! (starter intents on first use, every invalid field named, Groq refused
//! without a key), FAQs and intents (CRUD, name conflicts, another
//! business's ids), training on demand and its status, the dry run, and
//! handing a conversation back. Refused requests change nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use axum::http::StatusCode;
use serde_json::{Value, json};
use support::{TWILIO_TOKEN, TestApp, assert_error, on};

on_every_backend!(
    settings_are_validated_and_turning_on_adds_starter_intents,
    faqs_and_intents_are_kept_per_business,
    training_on_demand_and_the_dry_run,
    a_handed_off_conversation_is_handed_back,
);

async fn ok(t: &TestApp, method: &str, uri: &str, body: Value) -> Value {
    let r = t.as_a(method, uri, Some(&body.to_string())).await;
    assert!(r.status.is_success(), "{method} {uri}: {} {:?}", r.status, r.body);
    r.body
}

async fn get(t: &TestApp, uri: &str) -> Value {
    let r = t.as_a("GET", uri, None).await;
    assert_eq!(r.status, StatusCode::OK, "{uri}: {:?}", r.body);
    r.body
}

fn delivery() -> Value {
    json!({
        "question": "Do you deliver?",
        "paraphrases": ["can you bring it to my house", "mnaleta nyumbani", "do you do delivery",
                        "delivery to westlands", "how long does delivery take"],
        "answer": "Yes, across Nairobi within 24 hours."
    })
}

fn paying() -> Value {
    json!({
        "question": "How do I pay?",
        "paraphrases": ["can I pay with mpesa", "what is your till number", "nilipe aje",
                        "paybill number ni gani", "do you take card"],
        "answer": "M-Pesa Till 123456, or card on the payment link."
    })
}

async fn settings_are_validated_and_turning_on_adds_starter_intents(t: TestApp) {
    let s = get(&t, "/v1/assistant/settings").await;
    assert_eq!((s["enabled"].clone(), s["threshold"].clone()), (json!(false), json!(0.5)));
    assert!(get(&t, "/v1/assistant/intents").await["items"].as_array().unwrap().is_empty());
    let before = get(&t, "/v1/assistant/settings").await;
    let bad = json!({
        "enabled": true, "threshold": 1.5, "ambiguity": -0.1, "handoff_after_misses": 0,
        "negative_sentiment": 0.5, "handoff_words": ["!!!"],
        "hours": {"weekly": {"mon": ["08:00-12:00", "11:00-14:00"]}},
        "replies": {"clarify": ""}
    });
    let r = t.as_a("PUT", "/v1/assistant/settings", Some(&bad.to_string())).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let fields = r.error_fields();
    for f in
        ["threshold", "ambiguity", "handoff_after_misses", "negative_sentiment", "handoff_words[0]"]
    {
        assert!(fields.contains(&f), "{f} not named: {fields:?}");
    }
    let r = t
        .as_a("PUT", "/v1/assistant/settings", Some(r#"{"enabled": true, "colour": "red"}"#))
        .await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let r = t
        .as_a("PUT", "/v1/assistant/settings", Some(r#"{"enabled": true, "classifier": "groq"}"#))
        .await;
    assert_error(&r, StatusCode::CONFLICT, "provider_not_configured");
    assert_eq!(get(&t, "/v1/assistant/settings").await, before, "refusals changed nothing");
    assert!(get(&t, "/v1/assistant/intents").await["items"].as_array().unwrap().is_empty());

    let on = json!({"enabled": true, "hours": {"weekly": {"fri": ["08:00-13:00", "14:00-02:00"]},
                    "closed": [{"date": "2026-12-25", "name": "Christmas"}]},
                    "handoff_words": ["Agent", "MTU", "agent"]});
    let s = ok(&t, "PUT", "/v1/assistant/settings", on).await;
    assert_eq!(s["handoff_words"], json!(["agent", "mtu"]), "normalised, once each");
    assert_eq!(s["hours"]["weekly"]["fri"], json!(["08:00-13:00", "14:00-02:00"]));
    let names: Vec<String> = get(&t, "/v1/assistant/intents").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        ["greeting", "thanks", "talk_to_person"],
        "no product questions: commerce is off"
    );
    // Turning it off and on again does not add them twice.
    ok(&t, "PUT", "/v1/assistant/settings", json!({"enabled": false})).await;
    ok(&t, "PUT", "/v1/assistant/settings", json!({"enabled": true})).await;
    assert_eq!(get(&t, "/v1/assistant/intents").await["items"].as_array().unwrap().len(), 3);
    // Business B is untouched.
    let b = t.as_b("GET", "/v1/assistant/settings", None).await;
    assert_eq!(b.body["enabled"], json!(false));
}

async fn faqs_and_intents_are_kept_per_business(t: TestApp) {
    let faq = ok(&t, "POST", "/v1/assistant/faqs", delivery()).await;
    let id = faq["id"].as_str().unwrap();
    assert_eq!(faq["active"], json!(true));
    let r = t
        .as_a(
            "POST",
            "/v1/assistant/faqs",
            Some(r#"{"question": "   ", "answer": "x", "paraphrases": ["ok", "🙂🙂"]}"#),
        )
        .await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let edited = ok(
        &t,
        "PUT",
        &format!("/v1/assistant/faqs/{id}"),
        json!({"question": "Do you deliver?", "answer": "Yes, everywhere in Nairobi."}),
    )
    .await;
    assert_eq!(edited["created_at"], faq["created_at"]);
    assert_eq!(
        get(&t, &format!("/v1/assistant/faqs/{id}")).await["answer"],
        "Yes, everywhere in Nairobi."
    );
    // Another business's id is not found, and stays as it was.
    for (method, body) in [("GET", None), ("PUT", Some(delivery().to_string())), ("DELETE", None)] {
        let r = t.as_b(method, &format!("/v1/assistant/faqs/{id}"), body.as_deref()).await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    }
    assert!(
        t.as_b("GET", "/v1/assistant/faqs", None).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let intent = ok(
        &t,
        "POST",
        "/v1/assistant/intents",
        json!({"name": "complaint", "action": "handoff", "examples": ["this is unacceptable", "I want a refund"]}),
    )
    .await;
    let r = t
        .as_a(
            "POST",
            "/v1/assistant/intents",
            Some(
                &json!({"name": "complaint", "action": "handoff", "examples": ["bad"]}).to_string(),
            ),
        )
        .await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");
    for bad in [
        json!({"name": "Bad Name", "action": "handoff"}),
        json!({"name": "hours", "action": "reply", "examples": ["when do you open"]}),
        json!({"name": "hours", "action": "guess"}),
    ] {
        let r = t.as_a("POST", "/v1/assistant/intents", Some(&bad.to_string())).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    // An FAQ cannot be filed under an intent that answers on its own.
    let r = t
        .as_a(
            "POST",
            "/v1/assistant/faqs",
            Some(
                &json!({"question": "refund?", "answer": "yes", "intent": "complaint"}).to_string(),
            ),
        )
        .await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let iid = intent["id"].as_str().unwrap();
    let r = t.as_b("DELETE", &format!("/v1/assistant/intents/{iid}"), None).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    let r = t.as_a("DELETE", &format!("/v1/assistant/intents/{iid}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = t.as_a("DELETE", &format!("/v1/assistant/faqs/{id}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = t.as_a("GET", &format!("/v1/assistant/faqs/{id}"), None).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    let r = t.as_a("GET", "/v1/assistant/faqs/not-an-id", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

async fn training_on_demand_and_the_dry_run(t: TestApp) {
    ok(&t, "POST", "/v1/assistant/faqs", delivery()).await;
    let r = t.as_a("POST", "/v1/assistant/train", None).await;
    assert_error(&r, StatusCode::CONFLICT, "invalid_state");
    ok(&t, "POST", "/v1/assistant/faqs", paying()).await;
    // The refused training is on record (no intents to tell apart), and
    // the new FAQ leaves it stale.
    let status = get(&t, "/v1/assistant/training").await;
    assert_eq!(status["faqs"], json!(2));
    assert_eq!(
        (status["model"]["intents"].clone(), status["stale"].clone()),
        (json!(0), json!(true))
    );
    let trained = ok(&t, "POST", "/v1/assistant/train", json!(null)).await;
    assert_eq!(trained["model"]["intents"], json!(2));
    assert_eq!(trained["stale"], json!(false));
    assert_eq!(trained["model"]["data_version"], trained["data_version"]);
    // Training again on the same data changes nothing.
    let again = ok(&t, "POST", "/v1/assistant/train", json!(null)).await;
    assert_eq!(again["model"]["trained_at"], trained["model"]["trained_at"]);

    let out = ok(&t, "POST", "/v1/assistant/classify", json!({"text": "mnaleta nyumbani?"})).await;
    assert_eq!(out["decision"]["reason"], "answered", "{out}");
    assert_eq!(out["decision"]["classifier"], "offline");
    assert_eq!(out["replies"][0]["body"], "Yes, across Nairobi within 24 hours.");
    let sum: f64 =
        out["ranking"].as_array().unwrap().iter().map(|s| s["probability"].as_f64().unwrap()).sum();
    assert!((sum - 1.0).abs() < 1e-6, "two intents, both shown: {sum}");
    let out = ok(&t, "POST", "/v1/assistant/classify", json!({"text": "agent please"})).await;
    assert_eq!(out["decision"]["reason"], "human_requested");
    for bad in
        [json!({"text": ""}), json!({"text": 5}), json!({}), json!({"text": "x".repeat(4097)})]
    {
        let r = t.as_a("POST", "/v1/assistant/classify", Some(&bad.to_string())).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    // Business B has no model of its own.
    let b =
        t.as_b("POST", "/v1/assistant/classify", Some(r#"{"text": "mnaleta nyumbani?"}"#)).await;
    assert_eq!(b.status, StatusCode::OK);
    assert_eq!(b.body["decision"]["classifier"], "none");
    assert_eq!(b.body["decision"]["reason"], "low_confidence");
    // Nothing was sent by any of it.
    assert!(get(&t, "/v1/conversations").await["items"].as_array().unwrap().is_empty());
}

async fn a_handed_off_conversation_is_handed_back(t: TestApp) {
    ok(&t, "PUT", "/v1/assistant/settings", json!({"enabled": true})).await;
    ok(&t, "POST", "/v1/assistant/faqs", delivery()).await;
    ok(&t, "POST", "/v1/assistant/train", json!(null)).await;
    let sender = t.crm.businesses().get(t.shop_a).await.unwrap().whatsapp_sender;
    let form = [
        ("MessageSid", "SM00000000000000000000000000000001"),
        ("AccountSid", "AC00000000000000000000000000000000"),
        ("From", "whatsapp:+254712000001"),
        ("To", &format!("whatsapp:{sender}")),
        ("Body", "nataka kuongea na mtu"),
        ("NumMedia", "0"),
    ];
    let r = t.webhook("/webhooks/twilio/inbound", &form, Some(TWILIO_TOKEN)).await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let waiting = get(&t, "/v1/conversations?waiting=true").await;
    let items = waiting["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{waiting}");
    let c = &items[0];
    assert_eq!(c["assistant"]["handoff"]["reason"], "human_requested");
    assert_eq!(c["assistant"]["handoff"]["transcript"][0]["text"], "nataka kuongea na mtu");
    let id = c["id"].as_str().unwrap();
    let r = t.as_b("POST", &format!("/v1/conversations/{id}/hand-back"), None).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    let back = ok(&t, "POST", &format!("/v1/conversations/{id}/hand-back"), json!(null)).await;
    assert!(back["assistant"]["handoff"]["resolved_at"].is_string(), "{back}");
    let r = t.as_a("POST", &format!("/v1/conversations/{id}/hand-back"), None).await;
    assert_error(&r, StatusCode::CONFLICT, "invalid_state");
    assert!(
        get(&t, "/v1/conversations?waiting=true").await["items"].as_array().unwrap().is_empty()
    );
    // The message carries its decision for analytics.
    let messages = get(&t, &format!("/v1/conversations/{id}/messages")).await;
    let first = &messages["items"][0];
    assert_eq!(first["decision"]["reason"], "human_requested");
    assert_eq!(messages["items"][1]["author"], "assistant");
}
