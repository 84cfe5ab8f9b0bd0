//! The team inbox over HTTP on every backend: agents work their
//! conversations through their own keys (pull the next, reply, note, set
//! status, resolve), an agent's key cannot touch another agent's
//! conversation or pull from a queue it is not in, another business's
//! conversation is 404, and the live stream carries to each key only what
//! concerns it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Utc;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use support::{TestApp, assert_error, inbound_text, on};
use tower::ServiceExt;

on_every_backend!(
    agents_work_their_conversations_through_their_keys,
    a_live_stream_follows_its_key,
);

async fn agent(t: &TestApp, name: &str, skills: &[&str]) -> (String, String) {
    let body =
        json!({"name": name, "skills": skills, "languages": ["sw"], "availability": "online"});
    let r = t.as_a("POST", "/v1/agents", Some(&body.to_string())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let r = t.as_a("POST", &format!("/v1/agents/{id}/keys"), Some(r#"{"label": "phone"}"#)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    (id, r.body["api_key"].as_str().unwrap().to_owned())
}

/// Opens the live stream with `key`.
async fn stream(t: &TestApp, key: &str) -> Body {
    let req = Request::builder()
        .uri("/v1/inbox/events")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .body(Body::empty())
        .unwrap();
    let res = t.router.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let kind = res.headers()[header::CONTENT_TYPE].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/event-stream"), "{kind}");
    res.into_body()
}

/// The `(event, data)` pairs the stream has ready now.
async fn drain(body: &mut Body) -> Vec<(String, Value)> {
    let mut text = String::new();
    while let Ok(Some(Ok(frame))) =
        tokio::time::timeout(Duration::from_millis(300), body.frame()).await
    {
        if let Ok(bytes) = frame.into_data() {
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    text.split("\n\n")
        .filter_map(|block| {
            let field = |name: &str| {
                block.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_owned())
            };
            Some((field("event:")?, serde_json::from_str(&field("data:")?).unwrap()))
        })
        .collect()
}

/// A Billing queue (`skills HAS 'billing'`) every conversation is routed to;
/// its id.
async fn billing_takes_everything(t: &TestApp) -> String {
    let body = r#"{"name": "Billing", "target": "skills HAS 'billing'"}"#;
    let r = t.as_a("POST", "/v1/queues", Some(body)).await;
    let billing = r.body["id"].as_str().unwrap().to_owned();
    let routing = json!({"default": {"queue_id": billing}});
    let r = t.as_a("PUT", "/v1/routing-rules", Some(&routing.to_string())).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    billing
}

/// Whether the stream has ended (rather than having nothing to say yet).
async fn ended(body: &mut Body) -> bool {
    matches!(tokio::time::timeout(Duration::from_secs(2), body.frame()).await, Ok(None))
}

async fn a_live_stream_follows_its_key(t: TestApp) {
    let (baraka, key) = agent(&t, "Baraka", &["delivery"]).await;
    billing_takes_everything(&t).await;
    let sender = t.crm.storage().get_business(t.shop_a).await.unwrap().whatsapp_sender;
    let writes = |sid: &'static str, phone: &'static str| {
        let m = inbound_text(sid, phone, &sender, "Nimelipa mara mbili", Utc::now());
        let t = &t;
        async move { t.crm.inbox().receive(t.shop_a, m).await.unwrap().conversation.id }
    };
    let mut live = stream(&t, &key).await;

    // Not in Billing's target: a conversation waiting there is not his.
    writes("SM1", "+254711000001").await;
    assert_eq!(drain(&mut live).await, Vec::new());
    // Given billing, he sees the next one wait, on the stream he already has.
    let body = json!({"name": "Baraka", "skills": ["delivery", "billing"]});
    let r = t.as_a("PUT", &format!("/v1/agents/{baraka}"), Some(&body.to_string())).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let second = writes("SM2", "+254711000002").await.to_string();
    let seen = drain(&mut live).await;
    assert!(
        !seen.is_empty() && seen.iter().all(|(_, d)| d["conversation_id"] == second),
        "{seen:?}"
    );

    // His key revoked: the stream ends at the next event, telling nothing of it.
    let keys = t.as_a("GET", &format!("/v1/agents/{baraka}/keys"), None).await.body;
    let path = format!("/v1/agents/{baraka}/keys/{}", keys[0]["id"].as_str().unwrap());
    assert_eq!(t.as_a("DELETE", &path, None).await.status, StatusCode::NO_CONTENT);
    writes("SM3", "+254711000003").await;
    assert_eq!(drain(&mut live).await, Vec::new());
    assert!(ended(&mut live).await, "a revoked key's stream ends");
}

async fn agents_work_their_conversations_through_their_keys(t: TestApp) {
    let (achieng, key_achieng) = agent(&t, "Achieng", &["billing"]).await;
    let (_baraka, key_baraka) = agent(&t, "Baraka", &["delivery"]).await;
    let billing = billing_takes_everything(&t).await;
    let mut live_business = stream(&t, &t.key_a).await;
    let mut live_achieng = stream(&t, &key_achieng).await;
    let mut live_baraka = stream(&t, &key_baraka).await;

    // A customer writes: the conversation waits in Billing.
    let sender = t.crm.storage().get_business(t.shop_a).await.unwrap().whatsapp_sender;
    let m = inbound_text("SM1", "+254711000001", &sender, "Nimelipa lakini order bado", Utc::now());
    let id = t.crm.inbox().receive(t.shop_a, m).await.unwrap().conversation.id.to_string();
    let conv = format!("/v1/conversations/{id}");

    // Baraka is not in Billing's target; the business's key is not an agent.
    let next = format!("/v1/queues/{billing}/next");
    assert_error(
        &t.call("POST", &next, Some(&key_baraka), None).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(&t.as_a("POST", &next, None).await, StatusCode::FORBIDDEN, "forbidden");
    // Achieng pulls it; nothing is left to pull.
    let r = t.call("POST", &next, Some(&key_achieng), None).await;
    assert_eq!((r.status, r.body["assigned_agent"].clone()), (StatusCode::OK, json!(achieng)));
    assert_eq!(
        t.call("POST", &next, Some(&key_achieng), None).await.status,
        StatusCode::NO_CONTENT
    );

    // Baraka may not read, reply to or resolve Achieng's conversation.
    for (method, path, body) in [
        ("GET", conv.clone(), None),
        ("GET", format!("{conv}/messages"), None),
        ("POST", format!("{conv}/reply"), Some(r#"{"content": {"type": "text", "body": "hi"}}"#)),
        ("POST", format!("{conv}/resolve"), None),
        ("POST", format!("{conv}/assign"), Some("{}")),
    ] {
        let r = t.call(method, &path, Some(&key_baraka), body).await;
        assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
    }
    // Another business gets 404 for it, whatever it does.
    for (method, path, body) in [
        ("GET", conv.clone(), None),
        ("GET", format!("{conv}/events"), None),
        ("POST", format!("{conv}/resolve"), None),
        ("POST", format!("{conv}/notes"), Some(r#"{"text": "mine now"}"#)),
        ("POST", format!("{conv}/priority"), Some(r#"{"priority": 2}"#)),
    ] {
        let r = t.as_b(method, &path, body).await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    }
    // The agent's key lists its own conversations only.
    let mine = t.call("GET", "/v1/conversations", Some(&key_achieng), None).await;
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 1);
    let theirs = t.call("GET", "/v1/conversations", Some(&key_baraka), None).await;
    assert_eq!(theirs.body["items"], json!([]));

    // Achieng replies (attributed, authored staff), notes, sets status.
    let r = t
        .call(
            "POST",
            &format!("{conv}/reply"),
            Some(&key_achieng),
            Some(r#"{"content": {"type": "text", "body": "Pole, naangalia sasa hivi."}}"#),
        )
        .await;
    assert_eq!(
        (r.status, r.body["author"].clone()),
        (StatusCode::ACCEPTED, json!("staff")),
        "{:?}",
        r.body
    );
    let reply_id = r.body["id"].clone();
    let r = t
        .call(
            "POST",
            &format!("{conv}/notes"),
            Some(&key_achieng),
            Some(r#"{"text": "Ameshalipa, M-Pesa QJK1"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let r = t
        .call("POST", &format!("{conv}/notes"), Some(&key_achieng), Some(r#"{"text": "   "}"#))
        .await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let r = t
        .call(
            "POST",
            &format!("{conv}/status"),
            Some(&key_achieng),
            Some(r#"{"status": "pending"}"#),
        )
        .await;
    assert_eq!(r.body["status"], "pending");
    let r = t
        .call(
            "POST",
            &format!("{conv}/status"),
            Some(&key_achieng),
            Some(r#"{"status": "resolved"}"#),
        )
        .await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let r = t
        .call("POST", &format!("{conv}/priority"), Some(&key_achieng), Some(r#"{"priority": 4}"#))
        .await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let r = t
        .call(
            "POST",
            &format!("{conv}/snooze"),
            Some(&key_achieng),
            Some(r#"{"until": "2020-01-01T00:00:00Z"}"#),
        )
        .await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let r = t.call("POST", &format!("{conv}/resolve"), Some(&key_achieng), None).await;
    assert_eq!((r.status, r.body["status"].clone()), (StatusCode::OK, json!("resolved")));

    // Every change is an event with its actor.
    let r = t.call("GET", &format!("{conv}/events?limit=50"), Some(&t.key_a), None).await;
    let events: Vec<(String, String)> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["change"]["type"].as_str().unwrap().into(),
                e["actor"]["kind"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected = [
        ("queued", "system"),
        ("assigned", "agent"),
        ("first_response", "agent"),
        ("reply", "agent"),
        ("note", "agent"),
        ("status", "agent"),
        ("status", "agent"),
        ("unassigned", "agent"),
    ];
    assert_eq!(
        events,
        expected.map(|(a, b)| (a.to_owned(), b.to_owned())).to_vec(),
        "{:?}",
        r.body
    );
    assert_eq!(r.body["items"][3]["change"]["message_id"], reply_id);

    // The live stream: the business sees everything, Achieng what concerns
    // her (from the pull on), Baraka nothing.
    let names = |events: &[(String, Value)]| -> Vec<String> {
        events
            .iter()
            .filter(|(_, d)| d["conversation_id"] == json!(id))
            .map(|(e, _)| e.clone())
            .collect()
    };
    let all = drain(&mut live_business).await;
    let everything = [
        "message",
        "queued",
        "assigned",
        "first_response",
        "reply",
        "message",
        "note",
        "status",
        "status",
        "unassigned",
    ];
    assert_eq!(names(&all), everything);
    assert!(all.iter().all(|(_, d)| d["business_id"] == json!(t.shop_a.to_string())));
    assert_eq!(names(&drain(&mut live_achieng).await), everything);
    assert_eq!(drain(&mut live_baraka).await, Vec::new());
}
