//! The template API through `oneshot`, on every storage backend.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use axum::http::StatusCode;
use serde_json::{Value, json};
use support::{TestApp, assert_error, on};
use whatsapp_crm_core::TemplateStatus;

on_every_backend!(
    lifecycle_keeps_every_version_and_the_approved_one_sendable,
    client_cannot_set_status_or_server_fields,
    broken_rules_are_all_reported_with_positions,
    another_tenants_template_is_404_and_unchanged,
    list_filters_by_status_and_category,
    preview_with_samples_or_for_a_customer,
    refusals_are_409_and_change_nothing,
);

fn template(name: &str, category: &str) -> String {
    json!({
        "name": name,
        "category": category,
        "language": "en",
        "content": {
            "header": {"type": "text", "text": "Order {{order}}"},
            "body": "Hello {{name|rafiki}}, your order {{order}} is on its way today.",
            "footer": "Reply STOP to opt out",
            "buttons": [{"type": "url", "label": "Track", "url": "https://t.example.com/{{order}}"}],
            "samples": {"name": "Wanjiku", "order": "#42"}
        }
    })
    .to_string()
}

fn edit(body: &str, expected: Option<u64>) -> String {
    let mut e = json!({"content": {"body": body, "samples": {"name": "Wanjiku", "order": "#42"}}});
    if let Some(v) = expected {
        e["expected_version"] = json!(v);
    }
    e.to_string()
}

async fn create(t: &TestApp, name: &str, category: &str) -> Value {
    let r = t.as_a("POST", "/v1/templates", Some(&template(name, category))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body
}

async fn lifecycle_keeps_every_version_and_the_approved_one_sendable(t: TestApp) {
    let created = create(&t, "order_update", "utility").await;
    assert_eq!((created["version"].as_u64(), created["status"].as_str()), (Some(1), Some("draft")));
    let id = created["id"].as_str().unwrap().to_owned();
    let uri = format!("/v1/templates/{id}");

    let v2 = t
        .as_a(
            "PUT",
            &uri,
            Some(&edit("Hi {{name}}, order {{order}} is packed and leaves today.", Some(1))),
        )
        .await;
    assert_eq!(
        (v2.status, v2.body["version"].as_u64(), v2.body["status"].as_str()),
        (StatusCode::OK, Some(2), Some("draft"))
    );

    let submitted = t.as_a("POST", &format!("{uri}/submit"), None).await;
    assert_eq!(submitted.body["status"], "pending", "{:?}", submitted.body);
    let hx = submitted.body["provider_id"].as_str().unwrap().to_owned();
    t.registry.set_status(&hx, TemplateStatus::Approved, None);
    let synced = t.as_a("POST", &format!("{uri}/sync"), None).await;
    assert_eq!(
        (synced.body["status"].as_str(), synced.body["approved_version"].as_u64()),
        (Some("approved"), Some(2))
    );

    let v3 = t
        .as_a(
            "PUT",
            &uri,
            Some(&edit("Hi {{name}}, order {{order}} left our shop and arrives today.", None)),
        )
        .await;
    assert_eq!(
        (v3.body["version"].as_u64(), v3.body["status"].as_str()),
        (Some(3), Some("pending"))
    );
    assert_eq!(v3.body["approved_version"], 2, "approved version stays sendable");
    assert_eq!(v3.body["approved_provider_id"], hx);

    let versions = t.as_a("GET", &format!("{uri}/versions"), None).await;
    let rows: Vec<(u64, &str)> = versions
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["version"].as_u64().unwrap(), v["status"].as_str().unwrap()))
        .collect();
    assert_eq!(rows, [(1, "draft"), (2, "approved"), (3, "pending")]);
    assert_eq!(
        versions.body[0]["content"]["body"],
        "Hello {{name|rafiki}}, your order {{order}} is on its way today."
    );

    assert_eq!(t.as_a("DELETE", &uri, None).await.status, StatusCode::NO_CONTENT);
    assert!(
        t.as_a("GET", "/v1/templates", None).await.body["items"].as_array().unwrap().is_empty()
    );
    assert!(t.as_a("GET", &uri, None).await.body["archived_at"].is_string());
}

async fn client_cannot_set_status_or_server_fields(t: TestApp) {
    let mut body: Value = serde_json::from_str(&template("promo", "marketing")).unwrap();
    body["status"] = json!("approved");
    let r = t.as_a("POST", "/v1/templates", Some(&body.to_string())).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("status"));
    for field in ["business_id", "approved_version", "created_at"] {
        let mut body: Value = serde_json::from_str(&template("promo", "marketing")).unwrap();
        body[field] = json!("x");
        assert_eq!(
            t.as_a("POST", "/v1/templates", Some(&body.to_string())).await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    let created = create(&t, "promo", "marketing").await;
    let mut e: Value = serde_json::from_str(&edit(
        "Hello {{name}}, order {{order}} is packed and leaves today.",
        None,
    ))
    .unwrap();
    e["status"] = json!("approved");
    let uri = format!("/v1/templates/{}", created["id"].as_str().unwrap());
    assert_eq!(
        t.as_a("PUT", &uri, Some(&e.to_string())).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let after = t.as_a("GET", &uri, None).await.body;
    assert_eq!((after["status"].as_str(), after["version"].as_u64()), (Some("draft"), Some(1)));
}

async fn broken_rules_are_all_reported_with_positions(t: TestApp) {
    let body = json!({
        "name": "Order Update",
        "category": "utility",
        "language": "en",
        "content": {"body": "{{name}} {{order}}", "footer": "Bye {{name}}", "samples": {}}
    });
    let r = t.as_a("POST", "/v1/templates", Some(&body.to_string())).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let details = r.body["error"]["details"].as_array().unwrap();
    let codes: Vec<&str> = details.iter().map(|d| d["code"].as_str().unwrap()).collect();
    for expected in [
        "name_invalid",
        "footer_has_variables",
        "adjacent_variables",
        "body_starts_with_variable",
        "body_ends_with_variable",
        "too_few_words",
        "missing_sample",
    ] {
        assert!(codes.contains(&expected), "{expected} missing from {codes:?}");
    }
    let name = details.iter().find(|d| d["code"] == "name_invalid").unwrap();
    assert_eq!((name["field"].as_str(), name["position"].as_u64()), (Some("name"), Some(1)));
    let adjacent = details.iter().find(|d| d["code"] == "adjacent_variables").unwrap();
    assert_eq!(
        (adjacent["field"].as_str(), adjacent["position"].as_u64()),
        (Some("content.body"), Some(10))
    );
    assert!(
        t.as_a("GET", "/v1/templates?include_archived=true", None).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

async fn another_tenants_template_is_404_and_unchanged(t: TestApp) {
    let created = create(&t, "secret_offer", "marketing").await;
    let uri = format!("/v1/templates/{}", created["id"].as_str().unwrap());
    for (method, path, body) in [
        ("GET", uri.clone(), None),
        (
            "PUT",
            uri.clone(),
            Some(edit("Hijacked {{name}}, order {{order}} is now mine today ok.", None)),
        ),
        ("DELETE", uri.clone(), None),
        ("POST", format!("{uri}/submit"), None),
        ("POST", format!("{uri}/sync"), None),
        ("POST", format!("{uri}/preview"), Some("{}".to_owned())),
        ("GET", format!("{uri}/versions"), None),
    ] {
        assert_error(
            &t.as_b(method, &path, body.as_deref()).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
    }
    assert!(
        t.as_b("GET", "/v1/templates?include_archived=true", None).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(t.as_a("GET", &uri, None).await.body, created);
    assert!(t.registry.submitted().is_empty());
}

async fn list_filters_by_status_and_category(t: TestApp) {
    let a = create(&t, "receipt", "utility").await;
    create(&t, "promo", "marketing").await;
    t.as_a("POST", &format!("/v1/templates/{}/submit", a["id"].as_str().unwrap()), None).await;
    let names = |body: Value| {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(t.as_a("GET", "/v1/templates?status=pending", None).await.body), ["receipt"]);
    assert_eq!(
        names(t.as_a("GET", "/v1/templates?category=marketing", None).await.body),
        ["promo"]
    );
    assert_eq!(
        names(t.as_a("GET", "/v1/templates?status=draft&category=utility", None).await.body),
        Vec::<String>::new()
    );
    assert_error(
        &t.as_a("GET", "/v1/templates?status=shiny", None).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
}

async fn preview_with_samples_or_for_a_customer(t: TestApp) {
    let created = create(&t, "order_update", "utility").await;
    let uri = format!("/v1/templates/{}/preview", created["id"].as_str().unwrap());
    let sample = t.as_a("POST", &uri, Some("{}")).await;
    assert_eq!(sample.status, StatusCode::OK, "{:?}", sample.body);
    assert_eq!(sample.body["header"], "Order #42");
    assert_eq!(sample.body["body"], "Hello Wanjiku, your order #42 is on its way today.");
    assert_eq!(sample.body["buttons"][0]["url"], "https://t.example.com/#42");

    let c = t.as_a("POST", "/v1/customers", Some(r#"{"phone": "+254712000001"}"#)).await.body;
    let req = json!({"customer_id": c["id"], "values": {"order": "#7"}}).to_string();
    let p = t.as_a("POST", &uri, Some(&req)).await;
    assert_eq!(p.body["body"], "Hello rafiki, your order #7 is on its way today.");
    assert_eq!(p.body["fallbacks_used"], json!(["name"]));

    let missing = json!({"customer_id": c["id"]}).to_string();
    assert_error(
        &t.as_a("POST", &uri, Some(&missing)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let other = t.as_b("POST", "/v1/customers", Some(r#"{"phone": "+254712000002"}"#)).await.body;
    let foreign = json!({"customer_id": other["id"]}).to_string();
    assert_error(&t.as_a("POST", &uri, Some(&foreign)).await, StatusCode::NOT_FOUND, "not_found");
}

async fn refusals_are_409_and_change_nothing(t: TestApp) {
    let created = create(&t, "order_update", "utility").await;
    let uri = format!("/v1/templates/{}", created["id"].as_str().unwrap());
    assert_error(
        &t.as_a("POST", "/v1/templates", Some(&template("order_update", "utility"))).await,
        StatusCode::CONFLICT,
        "conflict",
    );
    assert_error(
        &t.as_a("POST", &format!("{uri}/sync"), None).await,
        StatusCode::CONFLICT,
        "invalid_state",
    );
    assert_error(
        &t.as_a(
            "PUT",
            &uri,
            Some(&edit("Hi {{name}}, order {{order}} is packed and leaves today.", Some(5))),
        )
        .await,
        StatusCode::CONFLICT,
        "conflict",
    );
    assert_eq!(t.as_a("POST", &format!("{uri}/submit"), None).await.status, StatusCode::OK);
    assert_error(
        &t.as_a("POST", &format!("{uri}/submit"), None).await,
        StatusCode::CONFLICT,
        "invalid_state",
    );
    let versions = t.as_a("GET", &format!("{uri}/versions"), None).await.body;
    assert_eq!(versions.as_array().unwrap().len(), 1);
}
