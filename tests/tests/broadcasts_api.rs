//! Broadcasts through the HTTP API, on every backend: create, preview,
//! launch, progress, recipients, pause, resume, cancel and the live event
//! stream; errors answered with the envelope and nothing stored.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use support::{TestApp, assert_error, on};
use tower::ServiceExt;
use whatsapp_crm_core::TemplateStatus;

on_every_backend!(
    create_preview_launch_and_follow,
    bad_broadcasts_are_refused_and_tenants_kept_apart,
    the_event_stream_reports_progress_until_the_end,
);

async fn approved_template(t: &TestApp, name: &str) -> String {
    let body = json!({
        "name": name, "category": "marketing", "language": "en",
        "content": {"body": "Hello {{name|rafiki}}, {{tier}} members get 20% off with code {{code}} this week.",
                    "samples": {"name": "Wanjiku", "tier": "gold", "code": "X1"}}
    });
    let r = t.as_a("POST", "/v1/templates", Some(&body.to_string())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let submitted = t.as_a("POST", &format!("/v1/templates/{id}/submit"), None).await;
    t.registry.set_status(
        submitted.body["provider_id"].as_str().unwrap(),
        TemplateStatus::Approved,
        None,
    );
    t.as_a("POST", &format!("/v1/templates/{id}/sync"), None).await;
    id
}

async fn customers(t: &TestApp, n: usize) {
    for i in 0..n {
        let body = json!({
            "phone": format!("+25471500{i:04}"), "name": format!("Mteja {i}"), "tags": ["vip"],
            "marketing_opt_in": i % 4 != 0, "attributes": {"tier": "gold"}
        });
        assert_eq!(
            t.as_a("POST", "/v1/customers", Some(&body.to_string())).await.status,
            StatusCode::CREATED
        );
    }
}

fn broadcast(template: &str) -> String {
    json!({
        "name": "Weekend offer", "template_id": template,
        "variables": {"tier": "attr.tier|member", "code": "\"WIKENDI\""},
        "audience": {"type": "tags", "tags": ["vip"]}
    })
    .to_string()
}

async fn create_preview_launch_and_follow(t: TestApp) {
    let tpl = approved_template(&t, "weekend").await;
    customers(&t, 12).await;
    let created = t.as_a("POST", "/v1/broadcasts", Some(&broadcast(&tpl))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.body["status"], "draft");
    let id = created.body["id"].as_str().unwrap().to_owned();
    let uri = format!("/v1/broadcasts/{id}");

    let preview = t.as_a("GET", &format!("{uri}/preview"), None).await;
    assert_eq!(
        (preview.body["audience"].as_u64(), preview.body["will_send"].as_u64()),
        (Some(12), Some(9))
    );
    assert_eq!(preview.body["skipped"], json!([["opted_out", 3]]));
    assert_eq!(
        preview.body["samples"][0]["text"],
        "Hello Mteja 1, gold members get 20% off with code WIKENDI this week."
    );

    let launched = t.as_a("POST", &format!("{uri}/launch"), None).await;
    assert_eq!(launched.body["status"], "launching", "{:?}", launched.body);
    let again = t.as_a("POST", &format!("{uri}/launch"), None).await;
    assert_error(&again, StatusCode::CONFLICT, "invalid_state");
    t.crm.broadcasts().run_due(chrono::Utc::now()).await.unwrap();
    let progress = t.as_a("GET", &format!("{uri}/progress"), None).await;
    assert_eq!(progress.body["broadcast"]["status"], "sending", "{:?}", progress.body);
    assert_eq!(
        (progress.body["queued"].as_u64(), progress.body["pending"].as_u64()),
        (Some(9), Some(9))
    );
    assert_eq!(progress.body["skipped"], json!([["opted_out", 3]]));

    let page = t.as_a("GET", &format!("{uri}/recipients?limit=5"), None).await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 5);
    let next = page.body["next_cursor"].as_str().unwrap();
    let rest = t.as_a("GET", &format!("{uri}/recipients?limit=50&cursor={next}"), None).await;
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 7);

    let paused = t.as_a("POST", &format!("{uri}/pause"), Some(r#"{"reason": "wrong code"}"#)).await;
    assert_eq!(
        (paused.body["status"].as_str(), paused.body["pause_reason"].as_str()),
        (Some("paused"), Some("wrong code"))
    );
    let resumed = t.as_a("POST", &format!("{uri}/resume"), None).await;
    assert_eq!(resumed.body["status"], "sending");
    let cancelled = t.as_a("POST", &format!("{uri}/cancel"), None).await;
    assert_eq!(cancelled.body["status"], "cancelled");
    let progress = t.as_a("GET", &format!("{uri}/progress"), None).await;
    assert_eq!(progress.body["cancelled"], 9);
    let list = t.as_a("GET", "/v1/broadcasts", None).await;
    assert_eq!(list.body["items"][0]["id"], id.as_str());
}

async fn bad_broadcasts_are_refused_and_tenants_kept_apart(t: TestApp) {
    let tpl = approved_template(&t, "offer").await;
    let cases: [(Value, &str); 4] = [
        (json!({"name": "", "template_id": tpl, "audience": {"type": "opted_in"}}), "name"),
        (
            json!({"name": "x", "template_id": tpl, "audience": {"type": "rule", "rule": "spend >="}}),
            "audience.rule",
        ),
        (
            json!({"name": "x", "template_id": tpl, "audience": {"type": "opted_in"}, "variables": {"tier": "password"}}),
            "variables.tier",
        ),
        (
            json!({"name": "x", "template_id": tpl, "audience": {"type": "opted_in"}, "variables": {"nope": "name"}}),
            "variables.nope",
        ),
    ];
    for (body, field) in cases {
        let r = t.as_a("POST", "/v1/broadcasts", Some(&body.to_string())).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert!(
            r.body["error"]["details"].as_array().unwrap().iter().any(|d| d["field"] == field),
            "{field}: {:?}",
            r.body
        );
    }
    // A draft template cannot be broadcast; another business's template is not found.
    let draft = t.as_a("POST", "/v1/templates", Some(&json!({
        "name": "draft_one", "category": "utility", "language": "en",
        "content": {"body": "Your order {{order}} is ready for pickup today.", "samples": {"order": "#1"}}
    }).to_string())).await;
    let draft_id = draft.body["id"].as_str().unwrap();
    let r = t
        .as_a(
            "POST",
            "/v1/broadcasts",
            Some(
                &json!({"name": "x", "template_id": draft_id, "audience": {"type": "opted_in"}})
                    .to_string(),
            ),
        )
        .await;
    assert_error(&r, StatusCode::CONFLICT, "invalid_state");
    let r = t.as_b("POST", "/v1/broadcasts", Some(&broadcast(&tpl))).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    assert!(
        t.as_a("GET", "/v1/broadcasts", None).await.body["items"].as_array().unwrap().is_empty()
    );
    // B cannot see or act on A's broadcast.
    let id = t.as_a("POST", "/v1/broadcasts", Some(&broadcast(&tpl))).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (method, path) in [
        ("GET", ""),
        ("GET", "/preview"),
        ("GET", "/progress"),
        ("GET", "/recipients"),
        ("GET", "/events"),
        ("POST", "/launch"),
        ("POST", "/pause"),
        ("POST", "/cancel"),
    ] {
        let r = t.as_b(method, &format!("/v1/broadcasts/{id}{path}"), None).await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    }
    assert_eq!(t.as_a("GET", &format!("/v1/broadcasts/{id}"), None).await.body["status"], "draft");
    let r = t.as_a("POST", &format!("/v1/broadcasts/{id}/pause"), Some("{nope")).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "malformed_json");
    assert_error(
        &t.as_a("POST", &format!("/v1/broadcasts/{id}/resume"), None).await,
        StatusCode::CONFLICT,
        "invalid_state",
    );
}

async fn the_event_stream_reports_progress_until_the_end(t: TestApp) {
    let tpl = approved_template(&t, "stream").await;
    customers(&t, 4).await;
    let id = t.as_a("POST", "/v1/broadcasts", Some(&broadcast(&tpl))).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    t.as_a("POST", &format!("/v1/broadcasts/{id}/launch"), None).await;
    t.crm.broadcasts().run_due(chrono::Utc::now()).await.unwrap();
    let req = Request::builder()
        .uri(format!("/v1/broadcasts/{id}/events"))
        .header(header::AUTHORIZATION, format!("Bearer {}", t.key_a))
        .body(Body::empty())
        .unwrap();
    let res = t.router.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "text/event-stream");
    let reading = tokio::spawn(async move { res.into_body().collect().await.unwrap().to_bytes() });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    t.as_a("POST", &format!("/v1/broadcasts/{id}/cancel"), None).await;
    let body =
        tokio::time::timeout(std::time::Duration::from_secs(10), reading).await.unwrap().unwrap();
    let text = String::from_utf8(body.to_vec()).unwrap();
    let events: Vec<Value> = text
        .split("\n\n")
        .filter(|e| e.contains("event: progress"))
        .map(|e| {
            serde_json::from_str(e.lines().find_map(|l| l.strip_prefix("data: ")).unwrap()).unwrap()
        })
        .collect();
    assert!(events.len() >= 2, "{text}");
    assert_eq!(events[0]["broadcast"]["status"], "sending");
    assert_eq!(events[0]["queued"], 3);
    let last = events.last().unwrap();
    assert_eq!(
        (last["broadcast"]["status"].as_str(), last["cancelled"].as_u64()),
        (Some("cancelled"), Some(3))
    );
}
