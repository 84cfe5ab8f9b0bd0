//! The API contract, for every write endpoint the router has: bodies of the
//! wrong JSON type or content type are refused with a documented 4xx and
//! change nothing. The endpoints are read from the OpenAPI document, so an
//! endpoint added later is covered without being listed here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use reference_server::app::{AppState, app};
use serde_json::{Value, json};
use support::{TestApp, assert_error, on, send};
use whatsapp_crm_core::{Crm, InMemoryStorage};

on_every_backend!(
    wrong_json_types_are_422_on_every_write_endpoint_and_change_nothing,
    bodies_without_json_content_type_are_415_on_every_write_endpoint,
    keywords_body_of_an_array_is_422_and_keywords_stay,
    nested_objects_given_as_arrays_are_422,
);

/// Ids of business A's own records, for the paths that need one.
struct Seeded {
    customer: String,
    template: String,
    segment: String,
}

async fn seed(t: &TestApp) -> Seeded {
    let c = t
        .as_a("POST", "/v1/customers", Some(r#"{"phone": "+254712000001", "tags": ["vip"]}"#))
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{:?}", c.body);
    let tpl = json!({"name": "order_update", "category": "utility", "language": "en",
        "content": {"body": "Hello {{name|rafiki}}, order {{order}} is on its way.",
                    "samples": {"name": "Wanjiku", "order": "#42"}}});
    let tp = t.as_a("POST", "/v1/templates", Some(&tpl.to_string())).await;
    assert_eq!(tp.status, StatusCode::CREATED, "{:?}", tp.body);
    let s =
        t.as_a("POST", "/v1/segments", Some(r#"{"name": "VIPs", "rule": "tag has vip"}"#)).await;
    assert_eq!(s.status, StatusCode::CREATED, "{:?}", s.body);
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    Seeded { customer: id(&c.body), template: id(&tp.body), segment: id(&s.body) }
}

/// Every documented operation that takes a JSON body, as (method, concrete
/// path, its operation in the document).
async fn write_operations(t: &TestApp, ids: &Seeded) -> Vec<(String, String, Value)> {
    let doc = t.call("GET", "/openapi.json", None, None).await.body;
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            // JSON bodies only: a catalog import takes a CSV file, which its
            // own tests cover.
            if op["requestBody"]["content"].get("application/json").is_none() {
                continue;
            }
            let id = if path.starts_with("/v1/customers/") {
                ids.customer.clone()
            } else if path.starts_with("/v1/templates/") {
                ids.template.clone()
            } else if path.starts_with("/v1/segments/") {
                ids.segment.clone()
            } else {
                whatsapp_crm_core::CustomerId::new().to_string()
            };
            let other = whatsapp_crm_core::ShipmentId::new().to_string();
            let concrete =
                path.replace("{id}", &id).replace("{tag}", "vip").replace("{shipment_id}", &other);
            assert!(!concrete.contains('{'), "a path parameter this test cannot fill: {path}");
            ops.push((method.to_uppercase(), concrete, op.clone()));
        }
    }
    // Catches a document that lost its bodies, which would make this vacuous.
    assert!(ops.len() >= 14, "only {} write operations documented", ops.len());
    ops
}

/// What business A has, read back through the API.
async fn snapshot(t: &TestApp, ids: &Seeded) -> Vec<Value> {
    let mut out = Vec::new();
    for uri in [
        "/v1/business".to_owned(),
        "/v1/customers?limit=200".to_owned(),
        "/v1/templates?limit=200&include_archived=true".to_owned(),
        "/v1/segments?limit=200".to_owned(),
        "/v1/broadcasts?limit=200".to_owned(),
        "/v1/campaigns?limit=200".to_owned(),
        "/v1/conversations?limit=200".to_owned(),
        "/v1/products?limit=200".to_owned(),
        "/v1/orders?limit=200".to_owned(),
        "/v1/carts?limit=200".to_owned(),
        "/v1/discounts?limit=200".to_owned(),
        "/v1/commerce".to_owned(),
        "/v1/assistant/settings".to_owned(),
        "/v1/assistant/faqs?limit=200".to_owned(),
        "/v1/assistant/intents?limit=200".to_owned(),
        "/v1/assistant/training".to_owned(),
        "/v1/agents?limit=200".to_owned(),
        "/v1/queues?limit=200".to_owned(),
        "/v1/routing-rules".to_owned(),
        format!("/v1/templates/{}/versions", ids.template),
    ] {
        let r = t.as_a("GET", &uri, None).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {:?}", r.body);
        out.push(r.body);
    }
    out
}

async fn wrong_json_types_are_422_on_every_write_endpoint_and_change_nothing(t: TestApp) {
    let ids = seed(&t).await;
    let before = snapshot(&t, &ids).await;
    for (method, path, op) in write_operations(&t, &ids).await {
        // A body the document makes optional may be `null`, meaning none.
        let optional = op["requestBody"]["required"] != json!(true);
        for body in ["[]", "[1, 2]", "\"text\"", "42", "-1.5", "null", "true"] {
            if optional && body == "null" {
                let r = t.as_a(&method, &path, Some(body)).await;
                assert_ne!(
                    r.status,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "{method} {path}: {:?}",
                    r.body
                );
                continue;
            }
            let r = t.as_a(&method, &path, Some(body)).await;
            assert_eq!(
                r.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{method} {path} {body}: {:?}",
                r.body
            );
            assert_eq!(r.body["error"]["code"], "validation_failed", "{method} {path} {body}");
            let message = r.body["error"]["message"].as_str().unwrap();
            assert!(message.contains("must be a JSON object"), "{method} {path}: {message}");
        }
        let r = t.as_a(&method, &path, Some("[1,")).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "malformed_json");
    }
    assert_eq!(snapshot(&t, &ids).await, before, "a refused body changed stored data");
}

async fn bodies_without_json_content_type_are_415_on_every_write_endpoint(t: TestApp) {
    let ids = seed(&t).await;
    let before = snapshot(&t, &ids).await;
    for (method, path, op) in write_operations(&t, &ids).await {
        for content_type in [None, Some("text/plain"), Some("application/x-www-form-urlencoded")] {
            let mut req = Request::builder()
                .method(method.as_str())
                .uri(&path)
                .header(header::AUTHORIZATION, format!("Bearer {}", t.key_a));
            if let Some(ct) = content_type {
                req = req.header(header::CONTENT_TYPE, ct);
            }
            let r = send(&t.router, req.body(Body::from(r#"{"name": "x"}"#)).unwrap()).await;
            assert_error(&r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
        }
        // And the document says so, with every other body status.
        for status in ["400", "401", "413", "415", "422"] {
            assert!(op["responses"].get(status).is_some(), "{method} {path} lacks {status}");
        }
    }
    assert_eq!(snapshot(&t, &ids).await, before);
}

async fn keywords_body_of_an_array_is_422_and_keywords_stay(t: TestApp) {
    let own = r#"{"opt_out": ["acha", "stop"], "opt_in": ["anza"], "opt_out_reply": "Sawa, hatutakutumia tena."}"#;
    let set = t.as_a("PUT", "/v1/business/keywords", Some(own)).await;
    assert_eq!(set.status, StatusCode::OK, "{:?}", set.body);
    let before = t.as_a("GET", "/v1/business", None).await.body;
    assert_eq!(before["keywords"]["opt_out"], json!(["acha", "stop"]));
    for body in ["[]", "[[\"stop\"]]", "null", "\"stop\""] {
        let r = t.as_a("PUT", "/v1/business/keywords", Some(body)).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    assert_eq!(t.as_a("GET", "/v1/business", None).await.body, before);
}

async fn nested_objects_given_as_arrays_are_422(t: TestApp) {
    let ids = seed(&t).await;
    let before = snapshot(&t, &ids).await;
    let cases = [
        (
            "POST",
            "/v1/customers".to_owned(),
            r#"{"phone": "+254712000002", "location": [null, null]}"#,
        ),
        ("POST", "/v1/customers".to_owned(), r#"{"phone": "+254712000003", "birthday": [1, 1]}"#),
        ("PATCH", format!("/v1/customers/{}", ids.customer), r#"{"location": ["KE", "Nairobi"]}"#),
        ("POST", "/v1/segments/preview".to_owned(), r#"{"rule": "tag has vip", "limit": [5]}"#),
    ];
    for (method, path, body) in cases {
        let r = t.as_a(method, &path, Some(body)).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    // JSON Schema counts 1.0 as an integer; so does the server.
    let r = t
        .as_a(
            "PATCH",
            &format!("/v1/customers/{}", ids.customer),
            Some(r#"{"birthday": {"day": 2.0, "month": 3}}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["birthday"], json!({"day": 2, "month": 3, "year": null}));
    let after = snapshot(&t, &ids).await;
    assert_eq!(after[2..], before[2..], "only the customer changed");
}

/// A server with no WhatsApp provider answers submissions with a 4xx: its
/// setup, not an outage.
#[tokio::test]
async fn a_missing_provider_is_409_not_503() {
    let crm = Crm::new(Arc::new(InMemoryStorage::new()));
    let (_, key) = support::business(&crm, "Shop").await;
    let router = app(AppState::new(crm, "memory"));
    let call = |method: &str, uri: &str, body: Option<String>| {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {key}"));
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        send(&router, req.body(body.map_or_else(Body::empty, Body::from)).unwrap())
    };
    let tpl = json!({"name": "hello", "category": "utility", "language": "en",
        "content": {"body": "Hello {{name|rafiki}}, thank you for shopping with us today.", "samples": {"name": "Wanjiku"}}});
    let created = call("POST", "/v1/templates", Some(tpl.to_string())).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap();
    let r = call("POST", &format!("/v1/templates/{id}/submit"), None).await;
    assert_error(&r, StatusCode::CONFLICT, "provider_not_configured");
    let after = call("GET", &format!("/v1/templates/{id}"), None).await;
    assert_eq!(after.body, created.body, "a refused submit changed the template");
}
