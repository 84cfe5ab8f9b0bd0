//! The segment API through `oneshot`, on every storage backend.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use axum::http::StatusCode;
use serde_json::{Value, json};
use support::{TestApp, assert_error, on};

on_every_backend!(
    saved_segments_preview_their_customers,
    text_rules_in_the_query_string,
    malformed_rules_say_where,
    another_tenants_segment_is_404,
);

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn customers(t: &TestApp) {
    for (phone, city, tags, opted) in [
        ("+254712000001", "Nairobi", json!(["vip"]), true),
        ("+254712000002", "Nairobi", json!([]), true),
        ("+254712000003", "Mombasa", json!(["vip"]), false),
        ("+254712000004", "O'Brien; DROP TABLE customers; --", json!(["vip"]), true),
    ] {
        let body = json!({"phone": phone, "location": {"city": city}, "tags": tags, "marketing_opt_in": opted});
        assert_eq!(
            t.as_a("POST", "/v1/customers", Some(&body.to_string())).await.status,
            StatusCode::CREATED
        );
    }
}

async fn saved_segments_preview_their_customers(t: TestApp) {
    customers(&t).await;
    let r = t.as_a("POST", "/v1/segments", Some(r#"{"name": "Nairobi VIPs", "rule": "tag has VIP and city = nairobi and opted_in"}"#)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["rule_text"], "tag has vip and city = nairobi and opted_in");
    assert_eq!(r.body["rule"]["and"][0], json!({"tag": {"has": "vip"}}));
    let id = r.body["id"].as_str().unwrap().to_owned();

    let p = t.as_a("GET", &format!("/v1/segments/{id}/preview"), None).await;
    assert_eq!(p.status, StatusCode::OK, "{:?}", p.body);
    assert_eq!(p.body["count"], 1);
    assert_eq!(p.body["customers"]["items"][0]["phone"], "+254712000001");

    let json_rule = json!({"name": "Anyone opted in", "rule": {"opted_in": true}});
    let r2 = t.as_a("POST", "/v1/segments", Some(&json_rule.to_string())).await;
    assert_eq!((r2.status, r2.body["rule_text"].as_str()), (StatusCode::CREATED, Some("opted_in")));
    let id2 = r2.body["id"].as_str().unwrap();
    let page = t.as_a("GET", &format!("/v1/segments/{id2}/preview?limit=2"), None).await.body;
    assert_eq!(
        (page["count"].as_u64(), page["customers"]["items"].as_array().unwrap().len()),
        (Some(3), 2)
    );
    assert!(page["customers"]["next_cursor"].is_string());

    let patched =
        t.as_a("PATCH", &format!("/v1/segments/{id}"), Some(r#"{"rule": "tag has vip"}"#)).await;
    assert_eq!(patched.body["rule_text"], "tag has vip");
    assert_eq!(t.as_a("GET", &format!("/v1/segments/{id}/preview"), None).await.body["count"], 3);
    assert_error(
        &t.as_a("POST", "/v1/segments", Some(r#"{"name": "Anyone opted in", "rule": "opted_in"}"#))
            .await,
        StatusCode::CONFLICT,
        "conflict",
    );
    assert_eq!(
        t.as_a("GET", "/v1/segments", None).await.body["items"].as_array().unwrap().len(),
        2
    );
    assert_eq!(
        t.as_a("DELETE", &format!("/v1/segments/{id}"), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_error(
        &t.as_a("GET", &format!("/v1/segments/{id}"), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
}

async fn text_rules_in_the_query_string(t: TestApp) {
    customers(&t).await;
    let count = |body: Value| body["count"].as_u64().unwrap();
    let r = t
        .as_a(
            "GET",
            &format!("/v1/segments/preview?rule={}", enc("tag has vip and not city = Mombasa")),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(count(r.body), 2);
    // Quotes, `--` and `;` are data.
    let odd = enc(r#"city = "O'Brien; DROP TABLE customers; --""#);
    assert_eq!(
        count(t.as_a("GET", &format!("/v1/segments/preview?rule={odd}"), None).await.body),
        1
    );
    let attack = enc(r#"city = "x' OR '1'='1" or city = "--""#);
    assert_eq!(
        count(t.as_a("GET", &format!("/v1/segments/preview?rule={attack}"), None).await.body),
        0
    );
    let body = json!({"rule": {"or": [{"city": ["mombasa"]}, {"opted_in": false}]}, "limit": 1});
    assert_eq!(
        count(t.as_a("POST", "/v1/segments/preview", Some(&body.to_string())).await.body),
        1
    );
    assert_eq!(
        t.as_a("GET", "/v1/customers?limit=50", None).await.body["items"].as_array().unwrap().len(),
        4
    );
}

async fn malformed_rules_say_where(t: TestApp) {
    let r = t
        .as_a(
            "GET",
            &format!("/v1/segments/preview?rule={}", enc("tag has vip and spend >= lots")),
            None,
        )
        .await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let d = &r.body["error"]["details"][0];
    assert_eq!(
        (d["field"].as_str(), d["code"].as_str(), d["position"].as_u64()),
        (Some("rule"), Some("rule_syntax"), Some(26))
    );
    assert!(d["message"].as_str().unwrap().contains("amount"));

    let bad_json = json!({"name": "x", "rule": {"and": [{"birthday_month": 13}]}});
    let r = t.as_a("POST", "/v1/segments", Some(&bad_json.to_string())).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert!(
        r.body["error"]["details"][0]["message"].as_str().unwrap().contains("and[0]"),
        "{:?}",
        r.body
    );
    let unknown = json!({"name": "x", "rule": {"weather": "sunny"}});
    assert_error(
        &t.as_a("POST", "/v1/segments", Some(&unknown.to_string())).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_error(
        &t.as_a("POST", "/v1/segments", Some(r#"{"name": "x", "rule": 42}"#)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_error(
        &t.as_a("GET", "/v1/segments/preview", None).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    assert!(t.as_a("GET", "/v1/segments", None).await.body["items"].as_array().unwrap().is_empty());
}

async fn another_tenants_segment_is_404(t: TestApp) {
    let r = t.as_a("POST", "/v1/segments", Some(r#"{"name": "Mine", "rule": "opted_in"}"#)).await;
    let uri = format!("/v1/segments/{}", r.body["id"].as_str().unwrap());
    assert_error(&t.as_b("GET", &uri, None).await, StatusCode::NOT_FOUND, "not_found");
    assert_error(
        &t.as_b("GET", &format!("{uri}/preview"), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &t.as_b("PATCH", &uri, Some(r#"{"name": "Stolen"}"#)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(&t.as_b("DELETE", &uri, None).await, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(t.as_a("GET", &uri, None).await.body["name"], "Mine");
}
