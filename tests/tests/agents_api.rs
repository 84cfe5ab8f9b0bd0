//! Agents through the API on every backend: the business's key manages
//! them; an agent's own key reads itself and sets its own availability and
//! gets 403 on everything else; another business's ids are 404.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::StatusCode;
use serde_json::{Value, json};
use support::{TestApp, assert_error, on};

on_every_backend!(the_business_manages_agents, an_agent_key_does_only_what_an_agent_may,);

async fn agent(t: &TestApp, body: Value) -> Value {
    let r = t.as_a("POST", "/v1/agents", Some(&body.to_string())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body
}

async fn key_for(t: &TestApp, id: &str) -> String {
    let r = t.as_a("POST", &format!("/v1/agents/{id}/keys"), Some(r#"{"label": "phone"}"#)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["agent_id"], id);
    r.body["api_key"].as_str().unwrap().to_owned()
}

async fn the_business_manages_agents(t: TestApp) {
    let a = agent(
        &t,
        json!({"name": "Achieng", "skills": ["Billing", "billing", "m-pesa"], "languages": ["sw", "en"],
               "max_concurrent": 4, "availability": "online"}),
    )
    .await;
    assert_eq!(a["skills"], json!(["billing", "m-pesa"]));
    assert_eq!(
        (a["max_concurrent"].clone(), a["availability"].clone()),
        (json!(4), json!("online"))
    );
    let b = agent(&t, json!({"name": "Baraka"})).await;
    assert_eq!(
        (b["max_concurrent"].clone(), b["availability"].clone()),
        (json!(5), json!("offline"))
    );
    let before = t.as_a("GET", "/v1/agents", None).await.body;
    let r = t
        .as_a(
            "POST",
            "/v1/agents",
            Some(r#"{"name": "", "skills": ["two words"], "max_concurrent": 0}"#),
        )
        .await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let fields = r.error_fields();
    assert_eq!(fields, ["name", "skills[0]", "max_concurrent"]);
    assert_eq!(t.as_a("GET", "/v1/agents", None).await.body, before, "nothing stored");

    let id = a["id"].as_str().unwrap();
    let r = t
        .as_a(
            "PUT",
            &format!("/v1/agents/{id}"),
            Some(r#"{"name": "Achieng O.", "skills": ["billing"]}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["availability"], "online", "kept when not given");
    assert_eq!(r.body["created_at"], a["created_at"]);
    let online = t.as_a("GET", "/v1/agents?availability=online", None).await.body;
    assert_eq!(online["items"].as_array().unwrap().len(), 1);
    let r = t
        .as_a("PUT", &format!("/v1/agents/{id}/availability"), Some(r#"{"availability": "away"}"#))
        .await;
    assert_eq!(r.body["availability"], "away");
    let r = t
        .as_a("PUT", &format!("/v1/agents/{id}/availability"), Some(r#"{"availability": "busy"}"#))
        .await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    // Another business: not found, nothing changed, no key.
    for (method, path, body) in [
        ("GET", format!("/v1/agents/{id}"), None),
        ("PUT", format!("/v1/agents/{id}"), Some(r#"{"name": "Taken"}"#)),
        ("PUT", format!("/v1/agents/{id}/availability"), Some(r#"{"availability": "online"}"#)),
        ("POST", format!("/v1/agents/{id}/keys"), Some(r#"{"label": "mine now"}"#)),
    ] {
        let r = t.as_b(method, &path, body).await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    }
    assert!(t.as_b("GET", "/v1/agents", None).await.body["items"].as_array().unwrap().is_empty());
    assert_eq!(t.as_a("GET", &format!("/v1/agents/{id}"), None).await.body["name"], "Achieng O.");
    let r = t.as_a("POST", &format!("/v1/agents/{id}/keys"), Some(r#"{"label": "  "}"#)).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

async fn an_agent_key_does_only_what_an_agent_may(t: TestApp) {
    let a = agent(&t, json!({"name": "Achieng", "skills": ["billing"]})).await;
    let b = agent(&t, json!({"name": "Baraka"})).await;
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let key = key_for(&t, a_id).await;
    assert!(key.starts_with("wcrm_"));
    let as_agent = |method: &'static str, path: String, body: Option<&'static str>| {
        let key = key.clone();
        let t = &t;
        async move { t.call(method, &path, Some(&key), body).await }
    };
    // Itself: read, and its own availability.
    let r = as_agent("GET", format!("/v1/agents/{a_id}"), None).await;
    assert_eq!((r.status, r.body["name"].clone()), (StatusCode::OK, json!("Achieng")));
    let r = as_agent(
        "PUT",
        format!("/v1/agents/{a_id}/availability"),
        Some(r#"{"availability": "online"}"#),
    )
    .await;
    assert_eq!((r.status, r.body["availability"].clone()), (StatusCode::OK, json!("online")));
    // Managing agents, another agent, and the business's own operations: 403.
    for (method, path, body) in [
        ("GET", "/v1/agents".to_owned(), None),
        ("POST", "/v1/agents".to_owned(), Some(r#"{"name": "Me too"}"#)),
        ("PUT", format!("/v1/agents/{a_id}"), Some(r#"{"name": "Boss", "max_concurrent": 100}"#)),
        ("POST", format!("/v1/agents/{a_id}/keys"), Some(r#"{"label": "another"}"#)),
        ("GET", format!("/v1/agents/{b_id}"), None),
        ("PUT", format!("/v1/agents/{b_id}/availability"), Some(r#"{"availability": "offline"}"#)),
        ("GET", "/v1/customers".to_owned(), None),
        ("GET", "/v1/business".to_owned(), None),
        ("POST", "/v1/messages".to_owned(), Some(r#"{"customer_id": "x"}"#)),
        ("GET", "/v1/assistant/settings".to_owned(), None),
    ] {
        let r = as_agent(method, path.clone(), body).await;
        assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
        let _ = path;
    }
    let r = t.as_a("GET", &format!("/v1/agents/{a_id}"), None).await;
    assert_eq!(
        (r.body["name"].clone(), r.body["max_concurrent"].clone()),
        (json!("Achieng"), json!(5))
    );
    let r = t.as_a("GET", &format!("/v1/agents/{b_id}"), None).await;
    assert_eq!(r.body["availability"], "offline");
}
