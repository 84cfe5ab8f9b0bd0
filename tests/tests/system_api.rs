//! Health, identity, the OpenAPI document and the docs page.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use axum::http::StatusCode;
use support::{TestApp, assert_error, on};

on_every_backend!(
    health_needs_no_key,
    business_comes_from_the_key,
    openapi_documents_every_endpoint,
    docs_page_is_self_contained,
);

async fn health_needs_no_key(t: TestApp) {
    let r = t.call("GET", "/health", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["status"], "ok");
    assert_eq!(r.body["storage"], t.kind);
}

async fn business_comes_from_the_key(t: TestApp) {
    let a = t.as_a("GET", "/v1/business", None).await;
    assert_eq!(a.body["id"], t.shop_a.to_string());
    assert_eq!(a.body["name"], "Shop A");
    let b = t.as_b("GET", "/v1/business", None).await;
    assert_eq!(b.body["id"], t.shop_b.to_string());
    assert_error(
        &t.call("GET", "/v1/business", None, None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
}

/// Every routed endpoint is in the document with request, response and error schemas.
async fn openapi_documents_every_endpoint(t: TestApp) {
    let doc = t.call("GET", "/openapi.json", None, None).await.body;
    assert_eq!(doc["openapi"], "3.1.0");
    let expected = [
        ("get", "/health"),
        ("get", "/v1/business"),
        ("post", "/v1/customers"),
        ("get", "/v1/customers"),
        ("get", "/v1/customers/{id}"),
        ("patch", "/v1/customers/{id}"),
        ("delete", "/v1/customers/{id}"),
        ("post", "/v1/customers/{id}/tags"),
        ("delete", "/v1/customers/{id}/tags/{tag}"),
        ("post", "/v1/templates"),
        ("get", "/v1/templates"),
        ("get", "/v1/templates/{id}"),
        ("put", "/v1/templates/{id}"),
        ("delete", "/v1/templates/{id}"),
        ("post", "/v1/templates/{id}/submit"),
        ("post", "/v1/templates/{id}/sync"),
        ("post", "/v1/templates/{id}/preview"),
        ("get", "/v1/templates/{id}/versions"),
        ("post", "/v1/segments"),
        ("get", "/v1/segments"),
        ("get", "/v1/segments/preview"),
        ("post", "/v1/segments/preview"),
        ("get", "/v1/segments/{id}"),
        ("patch", "/v1/segments/{id}"),
        ("delete", "/v1/segments/{id}"),
        ("get", "/v1/segments/{id}/preview"),
        ("post", "/v1/messages"),
        ("get", "/v1/messages/{id}"),
        ("get", "/v1/conversations"),
        ("get", "/v1/conversations/{id}"),
        ("get", "/v1/conversations/{id}/messages"),
        ("put", "/v1/business/keywords"),
        ("post", "/v1/broadcasts"),
        ("get", "/v1/broadcasts"),
        ("get", "/v1/broadcasts/{id}"),
        ("get", "/v1/broadcasts/{id}/preview"),
        ("post", "/v1/broadcasts/{id}/launch"),
        ("post", "/v1/broadcasts/{id}/pause"),
        ("post", "/v1/broadcasts/{id}/resume"),
        ("post", "/v1/broadcasts/{id}/cancel"),
        ("get", "/v1/broadcasts/{id}/progress"),
        ("get", "/v1/broadcasts/{id}/recipients"),
        ("get", "/v1/broadcasts/{id}/events"),
        ("post", "/v1/campaigns"),
        ("get", "/v1/campaigns"),
        ("get", "/v1/campaigns/{id}"),
        ("post", "/v1/campaigns/{id}/pause"),
        ("post", "/v1/campaigns/{id}/resume"),
        ("post", "/v1/campaigns/{id}/end"),
        ("get", "/v1/campaigns/{id}/calendar"),
        ("get", "/v1/campaigns/{id}/runs"),
        ("post", "/v1/products"),
        ("get", "/v1/products"),
        ("get", "/v1/products/{id}"),
        ("put", "/v1/products/{id}"),
        ("delete", "/v1/products/{id}"),
        ("post", "/v1/products/import"),
        ("get", "/v1/products/search"),
        ("post", "/v1/products/{id}/send"),
        ("post", "/v1/products/send-list"),
        ("post", "/v1/products/send-catalog"),
        ("get", "/v1/carts"),
        ("get", "/v1/carts/{id}"),
        ("post", "/v1/orders"),
        ("get", "/v1/orders"),
        ("get", "/v1/orders/{id}"),
        ("post", "/v1/orders/{id}/confirm"),
        ("post", "/v1/orders/{id}/pay"),
        ("post", "/v1/orders/{id}/cancel"),
        ("post", "/v1/orders/{id}/fulfil"),
        ("post", "/v1/orders/{id}/refund"),
        ("get", "/v1/orders/{id}/events"),
        ("get", "/v1/orders/{id}/notices"),
        ("post", "/v1/orders/{id}/shipments"),
        ("get", "/v1/orders/{id}/shipments"),
        ("post", "/v1/orders/{id}/shipments/{shipment_id}/reports"),
        ("get", "/v1/orders/{id}/shipments/{shipment_id}/events"),
        ("post", "/v1/discounts"),
        ("get", "/v1/discounts"),
        ("get", "/v1/discounts/{id}"),
        ("post", "/v1/discounts/{id}/disable"),
        ("post", "/v1/discounts/{id}/enable"),
        ("get", "/v1/commerce"),
        ("put", "/v1/commerce"),
        ("post", "/v1/commerce/delivery-secret"),
        ("post", "/v1/orders/{id}/payment-links"),
        ("post", "/v1/orders/{id}/payments"),
        ("get", "/v1/payments"),
        ("get", "/v1/payments/{id}"),
        ("post", "/v1/payments/{id}/refresh"),
        ("get", "/v1/assistant/settings"),
        ("put", "/v1/assistant/settings"),
        ("post", "/v1/assistant/faqs"),
        ("get", "/v1/assistant/faqs"),
        ("get", "/v1/assistant/faqs/{id}"),
        ("put", "/v1/assistant/faqs/{id}"),
        ("delete", "/v1/assistant/faqs/{id}"),
        ("post", "/v1/assistant/intents"),
        ("get", "/v1/assistant/intents"),
        ("get", "/v1/assistant/intents/{id}"),
        ("put", "/v1/assistant/intents/{id}"),
        ("delete", "/v1/assistant/intents/{id}"),
        ("post", "/v1/assistant/train"),
        ("get", "/v1/assistant/training"),
        ("post", "/v1/assistant/classify"),
        ("post", "/v1/conversations/{id}/hand-back"),
        ("post", "/v1/agents"),
        ("get", "/v1/agents"),
        ("get", "/v1/agents/{id}"),
        ("put", "/v1/agents/{id}"),
        ("put", "/v1/agents/{id}/availability"),
        ("post", "/v1/agents/{id}/keys"),
        ("get", "/v1/agents/{id}/keys"),
        ("delete", "/v1/agents/{id}/keys/{key_id}"),
        ("post", "/v1/queues"),
        ("get", "/v1/queues"),
        ("get", "/v1/queues/{id}"),
        ("put", "/v1/queues/{id}"),
        ("get", "/v1/routing-rules"),
        ("put", "/v1/routing-rules"),
        ("post", "/v1/conversations/{id}/assign"),
        ("post", "/v1/conversations/{id}/unassign"),
        ("post", "/v1/conversations/{id}/status"),
        ("post", "/v1/conversations/{id}/priority"),
        ("post", "/v1/conversations/{id}/snooze"),
        ("post", "/v1/conversations/{id}/resolve"),
        ("post", "/v1/conversations/{id}/reply"),
        ("post", "/v1/conversations/{id}/notes"),
        ("get", "/v1/conversations/{id}/events"),
        ("post", "/v1/queues/{id}/next"),
        ("get", "/v1/inbox/events"),
        ("get", "/v1/customers/{id}/recommendations"),
        ("get", "/v1/products/{id}/related"),
    ];
    let mut documented = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            documented += 1;
            assert!(
                expected.contains(&(method.as_str(), path.as_str())),
                "undocumented in test: {method} {path}"
            );
            // Every record id in a path is a UUID, so a malformed one is a
            // documented 400 and never reaches a handler.
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                if p["in"] == "path" && (name == "id" || name.ends_with("_id")) {
                    let uuid = serde_json::json!({"type": "string", "format": "uuid"});
                    assert_eq!(p["schema"], uuid, "{method} {path} {name}");
                }
            }
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|c| c.starts_with('2')),
                "{method} {path} has no success response"
            );
            if path.starts_with("/v1") {
                assert!(responses.contains_key("401"), "{method} {path} lacks 401");
                assert_eq!(op["security"][0]["api_key"], serde_json::json!([]));
                for (code, r) in responses.iter().filter(|(c, _)| !c.starts_with('2')) {
                    assert_eq!(
                        r["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path} {code}"
                    );
                }
            }
            let bodiless = [
                "/submit",
                "/sync",
                "/launch",
                "/resume",
                "/cancel",
                "/end",
                "campaigns/{id}/pause",
                "/delivery-secret",
                "/disable",
                "/enable",
                "/payment-links",
                "/refresh",
                "/train",
                "/hand-back",
                "/unassign",
                "/resolve",
                "/next",
            ]
            .iter()
            .any(|end| path.ends_with(end));
            if (method == "post" || method == "patch" || method == "put") && !bodiless {
                let content = &op["requestBody"]["content"];
                let schema = if path.ends_with("/import") {
                    &content["text/csv"]["schema"]
                } else {
                    &content["application/json"]["schema"]
                };
                assert!(schema.is_object(), "{method} {path} has no request schema");
            }
        }
    }
    assert_eq!(documented, expected.len());
    // A whole number is a valid attribute value: its branches may overlap.
    let attribute = &doc["components"]["schemas"]["AttributeValue"];
    assert!(attribute.get("oneOf").is_none(), "{attribute}");
    let kinds: Vec<&str> =
        attribute["anyOf"].as_array().unwrap().iter().filter_map(|b| b["type"].as_str()).collect();
    assert_eq!(kinds, ["boolean", "integer", "number", "string"], "{attribute}");
    for schema in [
        "Customer",
        "NewCustomer",
        "CustomerPatch",
        "ErrorBody",
        "Business",
        "MessageTemplate",
        "NewTemplate",
        "TemplateEdit",
        "Preview",
        "TemplateVersion",
        "Product",
        "NewProduct",
        "Order",
        "NewOrder",
        "CartView",
        "Shipment",
        "Discount",
        "CommerceSettings",
        "PaymentAttempt",
        "PaymentLink",
        "PaymentDetail",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "schema {schema} missing");
    }
    assert_eq!(doc["components"]["securitySchemes"]["api_key"]["scheme"], "bearer");
}

async fn docs_page_is_self_contained(t: TestApp) {
    let r = t.call("GET", "/docs", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type.unwrap().starts_with("text/html"));
    let html = r.body.as_str().unwrap();
    assert!(html.contains("/openapi.json"));
    assert!(!html.contains("<script src="), "docs page must not load remote scripts");
}
