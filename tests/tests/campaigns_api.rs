//! Campaigns through the HTTP API, on every backend.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use axum::http::StatusCode;
use serde_json::json;
use support::{TestApp, assert_error, on};
use whatsapp_crm_core::TemplateStatus;

on_every_backend!(campaigns_are_created_followed_and_kept_apart);

async fn campaigns_are_created_followed_and_kept_apart(t: TestApp) {
    let body = json!({
        "name": "weekly", "category": "marketing", "language": "en",
        "content": {"body": "Hello {{name|rafiki}}, this week's offers are in store now.", "samples": {"name": "Wanjiku"}}
    });
    let tpl = t.as_a("POST", "/v1/templates", Some(&body.to_string())).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let hx = t.as_a("POST", &format!("/v1/templates/{tpl}/submit"), None).await.body["provider_id"]
        .as_str()
        .unwrap()
        .to_owned();
    t.registry.set_status(&hx, TemplateStatus::Approved, None);
    t.as_a("POST", &format!("/v1/templates/{tpl}/sync"), None).await;

    let bad = json!({"name": "", "template_id": tpl, "audience": {"type": "opted_in"},
                     "schedule": {"type": "cron", "expression": "*/10 * * * *"}});
    let r = t.as_a("POST", "/v1/campaigns", Some(&bad.to_string())).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let fields: Vec<_> = r.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fields, ["name", "schedule"]);

    let good = json!({"name": "Monday offers", "template_id": tpl, "audience": {"type": "opted_in"},
                      "schedule": {"type": "cron", "expression": "0 9 * * MON"}});
    let created = t.as_a("POST", "/v1/campaigns", Some(&good.to_string())).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["status"], "active");
    let next: chrono::DateTime<chrono::Utc> =
        created.body["next_run_at"].as_str().unwrap().parse().unwrap();
    // Nairobi is UTC+3: 09:00 local is 06:00 UTC, on a Monday.
    assert_eq!(
        (next.format("%H:%M").to_string(), next.format("%a").to_string()),
        ("06:00".into(), "Mon".into())
    );

    let from = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
    // Any 21 days hold exactly three Monday mornings (22 days hold four when
    // they start on a Monday before 06:00 UTC).
    let to = (chrono::Utc::now() + chrono::Duration::days(21)).format("%Y-%m-%dT%H:%M:%SZ");
    let cal =
        t.as_a("GET", &format!("/v1/campaigns/{id}/calendar?from={from}&to={to}"), None).await;
    assert_eq!(cal.status, StatusCode::OK, "{:?}", cal.body);
    assert_eq!(cal.body["upcoming"].as_array().unwrap().len(), 3, "{:?}", cal.body);
    assert!(cal.body["runs"].as_array().unwrap().is_empty());
    let backwards =
        t.as_a("GET", &format!("/v1/campaigns/{id}/calendar?from={to}&to={from}"), None).await;
    assert_error(&backwards, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let garbled =
        t.as_a("GET", &format!("/v1/campaigns/{id}/calendar?from=monday&to={to}"), None).await;
    assert_error(&garbled, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(t.as_a("GET", &format!("/v1/campaigns/{id}/runs"), None).await.body, json!([]));

    let paused = t.as_a("POST", &format!("/v1/campaigns/{id}/pause"), None).await;
    assert_eq!(
        (paused.body["status"].as_str(), &paused.body["next_run_at"]),
        (Some("paused"), &json!(null))
    );
    assert_error(
        &t.as_a("POST", &format!("/v1/campaigns/{id}/pause"), None).await,
        StatusCode::CONFLICT,
        "invalid_state",
    );
    assert_eq!(
        t.as_a("POST", &format!("/v1/campaigns/{id}/resume"), None).await.body["status"],
        "active"
    );
    assert_eq!(t.as_a("GET", "/v1/campaigns", None).await.body["items"][0]["id"], id.as_str());

    for (method, path) in [("GET", ""), ("GET", "/runs"), ("POST", "/pause"), ("POST", "/end")] {
        let r = t.as_b(method, &format!("/v1/campaigns/{id}{path}"), None).await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    }
    assert!(
        t.as_b("GET", "/v1/campaigns", None).await.body["items"].as_array().unwrap().is_empty()
    );
    let ended = t.as_a("POST", &format!("/v1/campaigns/{id}/end"), None).await;
    assert_eq!(ended.body["status"], "ended");
}
