//! The customer API through `oneshot`: the happy path and every kind of bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use axum::http::StatusCode;
use serde_json::json;
use support::{TEST_BODY_LIMIT, TestApp, assert_error, on};

on_every_backend!(
    create_get_list_update_tag_delete,
    list_pages_searches_and_filters,
    missing_or_invalid_api_key_is_401_and_stores_nothing,
    revoked_key_is_401,
    another_tenants_customer_is_404_and_unchanged,
    malformed_json_is_400_with_envelope_and_stores_nothing,
    wrong_shape_or_content_type_is_refused,
    invalid_phone_is_422_naming_the_field_and_stores_nothing,
    body_over_the_limit_is_413_and_stores_nothing,
    duplicate_phone_is_409,
    malformed_ids_and_unknown_routes_answer_with_the_envelope,
);

async fn create_get_list_update_tag_delete(t: TestApp) {
    let body = json!({
        "phone": "+254 712 345 678",
        "name": "Wanjiku Kamau",
        "tags": ["VIP"],
        "location": {"country": "ke", "city": "Nairobi"},
        "birthday": {"month": 4, "day": 12},
        "marketing_opt_in": true,
        "attributes": {"shoe_size": 42}
    });
    let created = t.as_a("POST", "/v1/customers", Some(&body.to_string())).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let c = created.body;
    assert_eq!(c["phone"], "+254712345678");
    assert_eq!(c["tags"], json!(["vip"]));
    assert_eq!(c["location"]["country"], "KE");
    assert_eq!(c["marketing"]["status"], "opted_in");
    assert_eq!(c["marketing"]["source"], "api");
    assert_eq!(c["business_id"], t.shop_a.to_string());
    let id = c["id"].as_str().unwrap().to_owned();

    let got = t.as_a("GET", &format!("/v1/customers/{id}"), None).await;
    assert_eq!((got.status, &got.body), (StatusCode::OK, &c));

    let patched = t
        .as_a(
            "PATCH",
            &format!("/v1/customers/{id}"),
            Some(r#"{"name": null, "attributes": {"tier": "gold"}}"#),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{:?}", patched.body);
    assert_eq!(patched.body["name"], json!(null));
    assert_eq!(patched.body["attributes"], json!({"shoe_size": 42, "tier": "gold"}));

    let tagged = t
        .as_a(
            "POST",
            &format!("/v1/customers/{id}/tags"),
            Some(r#"{"tags": ["wholesale", "vip"]}"#),
        )
        .await;
    assert_eq!(tagged.body["tags"], json!(["vip", "wholesale"]));
    let untagged = t.as_a("DELETE", &format!("/v1/customers/{id}/tags/VIP"), None).await;
    assert_eq!(untagged.body["tags"], json!(["wholesale"]));

    let deleted = t.as_a("DELETE", &format!("/v1/customers/{id}"), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_error(
        &t.as_a("GET", &format!("/v1/customers/{id}"), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
}

async fn list_pages_searches_and_filters(t: TestApp) {
    for i in 0..5 {
        let tags = if i % 2 == 0 { json!(["even"]) } else { json!([]) };
        let body = json!({"phone": format!("+25471200000{i}"), "name": format!("Customer {i}"), "tags": tags});
        assert_eq!(
            t.as_a("POST", "/v1/customers", Some(&body.to_string())).await.status,
            StatusCode::CREATED
        );
    }
    let p1 = t.as_a("GET", "/v1/customers?limit=2", None).await;
    assert_eq!(p1.body["items"].as_array().unwrap().len(), 2);
    let cursor = p1.body["next_cursor"].as_str().unwrap();
    let p2 = t.as_a("GET", &format!("/v1/customers?limit=10&cursor={cursor}"), None).await;
    assert_eq!(p2.body["items"].as_array().unwrap().len(), 3);
    assert_eq!(p2.body["next_cursor"], json!(null));

    let found = t.as_a("GET", "/v1/customers?search=customer%203", None).await;
    assert_eq!(found.body["items"][0]["name"], "Customer 3");
    let even = t.as_a("GET", "/v1/customers?tag=EVEN", None).await;
    assert_eq!(even.body["items"].as_array().unwrap().len(), 3);

    let bad = t.as_a("GET", "/v1/customers?limit=0&cursor=nope&tag=a%20b", None).await;
    assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let fields: Vec<_> = bad.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["limit", "tag", "cursor"]);
    assert_error(
        &t.as_a("GET", "/v1/customers?limit=-1", None).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
}

async fn missing_or_invalid_api_key_is_401_and_stores_nothing(t: TestApp) {
    let body = r#"{"phone": "+254712345678"}"#;
    for key in [None, Some("wcrm_0000"), Some("not-a-key"), Some("")] {
        let r = t.call("POST", "/v1/customers", key, Some(body)).await;
        assert_error(&r, StatusCode::UNAUTHORIZED, "unauthorized");
        assert_eq!(r.www_authenticate.as_deref(), Some("Bearer"));
    }
    assert_error(
        &t.call("GET", "/v1/customers", None, None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    assert_eq!(t.count_a().await, 0);
}

async fn revoked_key_is_401(t: TestApp) {
    let keys = t.crm.storage().list_api_keys(t.shop_a).await.unwrap();
    t.crm.businesses().revoke_api_key(t.shop_a, keys[0].id).await.unwrap();
    assert_error(
        &t.as_a("GET", "/v1/customers", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
}

async fn another_tenants_customer_is_404_and_unchanged(t: TestApp) {
    let created = t
        .as_a(
            "POST",
            "/v1/customers",
            Some(r#"{"phone": "+254712345678", "name": "Private", "tags": ["vip"]}"#),
        )
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let uri = format!("/v1/customers/{id}");
    assert_error(&t.as_b("GET", &uri, None).await, StatusCode::NOT_FOUND, "not_found");
    assert_error(
        &t.as_b("PATCH", &uri, Some(r#"{"name": "Stolen"}"#)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &t.as_b("POST", &format!("{uri}/tags"), Some(r#"{"tags": ["x"]}"#)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &t.as_b("DELETE", &format!("{uri}/tags/vip"), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(&t.as_b("DELETE", &uri, None).await, StatusCode::NOT_FOUND, "not_found");
    let listed = t.as_b("GET", "/v1/customers?search=private", None).await;
    assert_eq!(listed.body["items"], json!([]));
    // A business id in the body cannot redirect the write either.
    let planted = t
        .as_b(
            "POST",
            "/v1/customers",
            Some(&json!({"phone": "+254712000001", "business_id": t.shop_a}).to_string()),
        )
        .await;
    assert_error(&planted, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    let after = t.as_a("GET", &uri, None).await;
    assert_eq!(after.body, created.body);
    assert_eq!(t.count_a().await, 1);
}

async fn malformed_json_is_400_with_envelope_and_stores_nothing(t: TestApp) {
    for body in [r#"{"phone": "+254712345678""#, "not json", r#"{"phone": +254}"#, ""] {
        let r = t.as_a("POST", "/v1/customers", Some(body)).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "malformed_json");
    }
    assert_eq!(t.count_a().await, 0);
}

async fn wrong_shape_or_content_type_is_refused(t: TestApp) {
    let r = t.as_a("POST", "/v1/customers", Some(r#"{"phone": 254712345678}"#)).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let r = t.as_a("POST", "/v1/customers", Some(r#"{"name": "No phone"}"#)).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/v1/customers")
        .header("authorization", format!("Bearer {}", t.key_a))
        .header("content-type", "text/plain")
        .body(axum::body::Body::from(r#"{"phone": "+254712345678"}"#))
        .unwrap();
    assert_error(
        &support::send(&t.router, req).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    assert_eq!(t.count_a().await, 0);
}

async fn invalid_phone_is_422_naming_the_field_and_stores_nothing(t: TestApp) {
    for phone in ["0712345678", "+12", "+2547x2345678", ""] {
        let r = t.as_a("POST", "/v1/customers", Some(&json!({"phone": phone}).to_string())).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(r.body["error"]["details"][0]["field"], "phone", "{:?}", r.body);
        assert!(!r.body.to_string().contains("712345678\","), "error echoes the number");
    }
    let several = t
        .as_a(
            "POST",
            "/v1/customers",
            Some(
                r#"{"phone": "07", "tags": ["ok", "not ok"], "birthday": {"month": 13, "day": 1}}"#,
            ),
        )
        .await;
    let fields: Vec<_> = several.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["phone", "tags[1]", "birthday"]);
    assert_eq!(t.count_a().await, 0);

    let ok = t.as_a("POST", "/v1/customers", Some(r#"{"phone": "+254712345678"}"#)).await;
    let id = ok.body["id"].as_str().unwrap();
    let r = t.as_a("PATCH", &format!("/v1/customers/{id}"), Some(r#"{"phone": "12345"}"#)).await;
    assert_eq!(r.body["error"]["details"][0]["field"], "phone");
    assert_eq!(
        t.as_a("GET", &format!("/v1/customers/{id}"), None).await.body["phone"],
        "+254712345678"
    );
}

async fn body_over_the_limit_is_413_and_stores_nothing(t: TestApp) {
    let huge = json!({"phone": "+254712345678", "name": "x".repeat(TEST_BODY_LIMIT)}).to_string();
    let r = t.as_a("POST", "/v1/customers", Some(&huge)).await;
    assert_error(&r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert_eq!(t.count_a().await, 0);
}

async fn duplicate_phone_is_409(t: TestApp) {
    assert_eq!(
        t.as_a("POST", "/v1/customers", Some(r#"{"phone": "+254712345678", "name": "First"}"#))
            .await
            .status,
        StatusCode::CREATED
    );
    let r = t
        .as_a("POST", "/v1/customers", Some(r#"{"phone": "00254712345678", "name": "Second"}"#))
        .await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");
    let list = t.as_a("GET", "/v1/customers", None).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["items"][0]["name"], "First");
    // The same number is free in another business.
    assert_eq!(
        t.as_b("POST", "/v1/customers", Some(r#"{"phone": "+254712345678"}"#)).await.status,
        StatusCode::CREATED
    );
}

async fn malformed_ids_and_unknown_routes_answer_with_the_envelope(t: TestApp) {
    assert_error(
        &t.as_a("GET", "/v1/customers/not-a-uuid", None).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    assert_error(
        &t.as_a("GET", "/v1/nothing-here", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &t.as_a("PUT", "/v1/customers", None).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
}
