//! Agents, queues and routing rules through the API on every backend: the
//! business's key manages them; an agent's own key reads itself and sets
//! its own availability and gets 403 on everything else; another
//! business's ids are 404 (or a bad field when named in a body); targets
//! and conditions are read when saved and refused with their column.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use axum::http::StatusCode;
use serde_json::{Value, json};
use support::{TestApp, assert_error, on};

on_every_backend!(
    the_business_manages_agents,
    an_agent_key_does_only_what_an_agent_may,
    the_business_lists_and_revokes_agent_keys,
    queues_read_their_targets_when_saved,
    routing_rules_are_read_when_saved_and_name_only_own_queues,
);

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

async fn the_business_lists_and_revokes_agent_keys(t: TestApp) {
    let a = agent(&t, json!({"name": "Achieng"})).await;
    let b = agent(&t, json!({"name": "Baraka"})).await;
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let phone = key_for(&t, a_id).await;
    let laptop = key_for(&t, a_id).await;
    let baraka = key_for(&t, b_id).await;
    let keys_of = |id: &str| format!("/v1/agents/{id}/keys");
    let listed = t.as_a("GET", &keys_of(a_id), None).await;
    assert_eq!(listed.status, StatusCode::OK);
    let keys = listed.body.as_array().unwrap().clone();
    assert_eq!(keys.len(), 2, "only Achieng's keys: {keys:?}");
    for k in &keys {
        assert_eq!((k["agent_id"].as_str(), &k["revoked_at"]), (Some(a_id), &Value::Null));
        assert!(k.get("api_key").is_none() && k.get("hash").is_none(), "never the key: {k}");
    }
    let phone_id = keys[0]["id"].as_str().unwrap();
    let baraka_key_id = t.as_a("GET", &keys_of(b_id), None).await.body[0]["id"].clone();
    let baraka_key_id = baraka_key_id.as_str().unwrap();

    // Refused: an agent key, another agent's key id, another business, a malformed id.
    let revoke = |agent: &str, key: &str| format!("/v1/agents/{agent}/keys/{key}");
    for (key, method, path) in [
        (&phone, "GET", keys_of(a_id)),
        (&phone, "DELETE", revoke(a_id, phone_id)),
        (&baraka, "DELETE", revoke(a_id, phone_id)),
    ] {
        let r = t.call(method, &path, Some(key), None).await;
        assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
    }
    let r = t.as_a("DELETE", &revoke(a_id, baraka_key_id), None).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    for (method, path) in [("GET", keys_of(a_id)), ("DELETE", revoke(a_id, phone_id))] {
        assert_error(&t.as_b(method, &path, None).await, StatusCode::NOT_FOUND, "not_found");
    }
    let r = t.as_a("DELETE", &revoke(a_id, "not-a-key"), None).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(t.as_a("GET", &keys_of(a_id), None).await.body, json!(keys), "nothing revoked");

    // Revoked: the phone's key authenticates nothing, the laptop's still works.
    let r = t.as_a("DELETE", &revoke(a_id, phone_id), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let me = format!("/v1/agents/{a_id}");
    assert_error(
        &t.call("GET", &me, Some(&phone), None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    assert_eq!(t.call("GET", &me, Some(&laptop), None).await.status, StatusCode::OK);
    let after = t.as_a("GET", &keys_of(a_id), None).await.body;
    let revoked_at = after[0]["revoked_at"].clone();
    assert!(revoked_at.is_string(), "{after}");
    assert_eq!(after[1]["revoked_at"], Value::Null);
    // Again: harmless, and the first revocation time stands.
    assert_eq!(
        t.as_a("DELETE", &revoke(a_id, phone_id), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(t.as_a("GET", &keys_of(a_id), None).await.body[0]["revoked_at"], revoked_at);
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

async fn queues_read_their_targets_when_saved(t: TestApp) {
    let general = t.as_a("POST", "/v1/queues", Some(r#"{"name": "General"}"#)).await;
    assert_eq!(general.status, StatusCode::CREATED, "{:?}", general.body);
    assert_eq!(
        (
            general.body["target"].clone(),
            general.body["strategy"].clone(),
            general.body["offer_timeout_secs"].clone()
        ),
        (json!("true"), json!("round_robin"), json!(60))
    );
    let gid = general.body["id"].as_str().unwrap();
    let body = json!({"name": "Billing", "target": "skills has 'billing' and languages has 'sw'",
                      "strategy": "least_loaded", "escalate_to": gid});
    let billing = t.as_a("POST", "/v1/queues", Some(&body.to_string())).await;
    assert_eq!(billing.status, StatusCode::CREATED, "{:?}", billing.body);
    assert_eq!(billing.body["target"], "(skills HAS 'billing' AND languages HAS 'sw')");
    let before = t.as_a("GET", "/v1/queues", None).await.body;

    // An unreadable target names its column; nothing is stored.
    let r = t
        .as_a(
            "POST",
            "/v1/queues",
            Some(r#"{"name": "Broken", "target": "skills HAS 'billing' AND"}"#),
        )
        .await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let detail = &r.body["error"]["details"][0];
    assert_eq!((detail["field"].clone(), detail["position"].clone()), (json!("target"), json!(25)));
    assert!(detail["message"].as_str().unwrap().starts_with("column 25"), "{detail}");
    let r = t.as_a("POST", "/v1/queues", Some(r#"{"name": "Billing"}"#)).await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");
    // Escalating to another business's queue, or a queue that is not there.
    let theirs = t.as_b("POST", "/v1/queues", Some(r#"{"name": "Theirs"}"#)).await;
    for to in [theirs.body["id"].clone(), json!(whatsapp_crm_core::QueueId::new().to_string())] {
        let body = json!({"name": "Late", "escalate_to": to}).to_string();
        let r = t.as_a("POST", "/v1/queues", Some(&body)).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(r.error_fields(), ["escalate_to"]);
    }
    assert_eq!(t.as_a("GET", "/v1/queues", None).await.body, before, "nothing stored");

    let bid = billing.body["id"].as_str().unwrap();
    let r = t
        .as_a(
            "PUT",
            &format!("/v1/queues/{bid}"),
            Some(r#"{"name": "Billing", "target": "skills HAS 'billing'"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        (r.body["escalate_to"].clone(), r.body["strategy"].clone()),
        (json!(null), json!("round_robin"))
    );
    let self_escalating = json!({"name": "Billing", "escalate_to": bid}).to_string();
    let r = t.as_a("PUT", &format!("/v1/queues/{bid}"), Some(&self_escalating)).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let r = t.as_b("GET", &format!("/v1/queues/{bid}"), None).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    let r = t.as_b("PUT", &format!("/v1/queues/{bid}"), Some(r#"{"name": "Mine"}"#)).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    // An agent's key does not manage queues.
    let a = agent(&t, json!({"name": "Achieng"})).await;
    let key = key_for(&t, a["id"].as_str().unwrap()).await;
    let r = t.call("GET", "/v1/queues", Some(&key), None).await;
    assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
}

async fn routing_rules_are_read_when_saved_and_name_only_own_queues(t: TestApp) {
    let empty = t.as_a("GET", "/v1/routing-rules", None).await;
    assert_eq!(
        (empty.status, empty.body.clone()),
        (StatusCode::OK, json!({"rules": [], "default": null, "return_to_previous_agent": true}))
    );
    let (billing, general) = (
        t.as_a("POST", "/v1/queues", Some(r#"{"name": "Billing"}"#)).await.body["id"].clone(),
        t.as_a("POST", "/v1/queues", Some(r#"{"name": "General"}"#)).await.body["id"].clone(),
    );
    let routing = json!({
        "rules": [
            {"name": "Payments", "when": "intent in ['payment_issue', 'refund']", "queue_id": billing, "priority": 1},
            {"name": "VIP", "when": "tags has 'vip'", "queue_id": general, "first_response_secs": 300}
        ],
        "default": {"queue_id": general}
    });
    let r = t.as_a("PUT", "/v1/routing-rules", Some(&routing.to_string())).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["rules"][0]["when"], "intent IN ['payment_issue', 'refund']");
    assert_eq!(
        (r.body["rules"][0]["first_response_secs"].clone(), r.body["rules"][1]["priority"].clone()),
        (json!(900), json!(0))
    );
    assert_eq!(t.as_a("GET", "/v1/routing-rules", None).await.body, r.body);

    // Unreadable conditions name their column; other businesses' queues and
    // out-of-range values are refused; nothing changes.
    let theirs =
        t.as_b("POST", "/v1/queues", Some(r#"{"name": "Theirs"}"#)).await.body["id"].clone();
    let bad = json!({
        "rules": [
            {"name": "Broken", "when": "intent == 'refund' OR", "queue_id": billing},
            {"name": "Theirs", "when": "true", "queue_id": theirs, "priority": 7}
        ],
        "default": {"queue_id": whatsapp_crm_core::QueueId::new().to_string()}
    });
    let r = t.as_a("PUT", "/v1/routing-rules", Some(&bad.to_string())).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.error_fields(), ["rules[0].when", "rules[1].priority"]);
    assert_eq!(r.body["error"]["details"][0]["position"], 22);
    let only_queues = json!({
        "rules": [{"name": "Theirs", "when": "true", "queue_id": theirs}],
        "default": {"queue_id": whatsapp_crm_core::QueueId::new().to_string()}
    });
    let r = t.as_a("PUT", "/v1/routing-rules", Some(&only_queues.to_string())).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.error_fields(), ["rules[0].queue_id", "default.queue_id"]);
    let stored = t.as_a("GET", "/v1/routing-rules", None).await.body;
    assert_eq!(stored["rules"].as_array().unwrap().len(), 2, "unchanged");
    assert_eq!(t.as_b("GET", "/v1/routing-rules", None).await.body["rules"], json!([]));
}
