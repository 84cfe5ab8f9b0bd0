//! The commerce API through `oneshot`, on every storage backend: the
//! catalog, CSV import, search, orders and their actions, shipments and the
//! signed delivery webhook, discount codes, carts built through the inbound
//! webhook, and product messages.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use support::{TWILIO_TOKEN, TestApp, assert_error, on, send};
use whatsapp_crm_core::commerce::signature::sign;

on_every_backend!(
    products_are_created_imported_and_searched,
    orders_move_only_along_the_table,
    the_delivery_webhook_takes_only_signed_reports,
    discount_codes_are_made_and_switched,
    chat_carts_and_product_messages,
);

async fn product(t: &TestApp, sku: &str, name: &str, price: i64, on_hand: Option<u32>) -> Value {
    let body = json!({"sku": sku, "name": name, "price_minor": price, "on_hand": on_hand, "category": "Groceries"});
    let r = t.as_a("POST", "/v1/products", Some(&body.to_string())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body
}

async fn customer(t: &TestApp, phone: &str) -> String {
    let r = t.as_a("POST", "/v1/customers", Some(&json!({"phone": phone}).to_string())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn csv(t: &TestApp, key: &str, body: String) -> support::Reply {
    let req = Request::builder()
        .method("POST")
        .uri("/v1/products/import")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header(header::CONTENT_TYPE, "text/csv")
        .body(Body::from(body))
        .unwrap();
    send(&t.router, req).await
}

async fn enable_commerce(t: &TestApp) -> Value {
    let r = t.as_a("PUT", "/v1/commerce", Some(r#"{"enabled": true}"#)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body
}

async fn products_are_created_imported_and_searched(t: TestApp) {
    let p = product(&t, "UNGA-2KG", "Unga wa Ngano 2kg", 21_000, Some(10)).await;
    assert_eq!(p["stock"], json!({"on_hand": 10, "reserved": 0, "available": 10}));
    let id = p["id"].as_str().unwrap();
    let dup = t
        .as_a("POST", "/v1/products", Some(r#"{"sku": "UNGA-2KG", "name": "x", "price_minor": 1}"#))
        .await;
    assert_error(&dup, StatusCode::CONFLICT, "conflict");
    let bad = t
        .as_a("POST", "/v1/products", Some(r#"{"sku": "bad sku", "name": "", "price_minor": -1}"#))
        .await;
    assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(bad.body["error"]["details"].as_array().unwrap().len(), 3);
    assert_error(
        &t.as_b("GET", &format!("/v1/products/{id}"), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let put = json!({"sku": "UNGA-2KG", "name": "Unga wa Ngano 2kg", "price_minor": 20_000, "on_hand": 12});
    let r = t.as_a("PUT", &format!("/v1/products/{id}"), Some(&put.to_string())).await;
    assert_eq!((r.status, r.body["price"]["minor"].as_i64()), (StatusCode::OK, Some(20_000)));

    // 1,000 rows with 3 bad ones: nothing stored, each bad cell named.
    let mut file = String::from("sku,name,price,on_hand\n");
    for i in 0..1000 {
        match i {
            10 => file.push_str("P 10,Bad sku,10,1\n"),
            500 => file.push_str("P-500,Bad price,ten,1\n"),
            999 => file.push_str("P-999,Bad stock,10,-1\n"),
            _ => file.push_str(&format!("P-{i},Product {i},{}.50,{}\n", 10 + i, i % 9)),
        }
    }
    let r = csv(&t, &t.key_a, file.clone()).await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let fields = r.error_fields();
    assert_eq!(fields, ["line 12 column sku", "line 502 column price", "line 1001 column on_hand"]);
    let page = t.as_a("GET", "/v1/products?limit=200", None).await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 1, "nothing imported");
    let fixed = file.replace("P 10", "P-10").replace("ten", "10").replace(",-1\n", ",1\n");
    let r = csv(&t, &t.key_a, fixed).await;
    assert_eq!(
        (r.status, &r.body["imported"]),
        (StatusCode::CREATED, &json!(1000)),
        "{:?}",
        r.body
    );
    let wrong_type = t.as_a("POST", "/v1/products/import", Some("{}")).await;
    assert_error(&wrong_type, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");

    // Search: Swahili and a typo; another business sees none of it.
    product(&t, "SUGAR-1KG", "Sugar 1kg", 15_000, Some(3)).await;
    let hits = t.as_a("GET", "/v1/products/search?q=sukari", None).await;
    assert_eq!(hits.body[0]["product"]["sku"], "SUGAR-1KG", "{:?}", hits.body);
    let hits = t.as_a("GET", "/v1/products/search?q=product%20777&limit=3", None).await;
    assert_eq!(hits.body[0]["product"]["sku"], "P-777");
    assert_eq!(t.as_b("GET", "/v1/products/search?q=sugar", None).await.body, json!([]));
    let r = t.as_a("DELETE", &format!("/v1/products/{id}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
}

async fn orders_move_only_along_the_table(t: TestApp) {
    enable_commerce(&t).await;
    product(&t, "UNGA-2KG", "Unga wa Ngano 2kg", 21_000, Some(3)).await;
    let c = customer(&t, "+254712000001").await;
    let draft = json!({"customer_id": c, "items": [{"sku": "UNGA-2KG", "quantity": 2}]});
    let r = t.as_a("POST", "/v1/orders", Some(&draft.to_string())).await;
    assert_eq!(
        (r.status, &r.body["status"]),
        (StatusCode::CREATED, &json!("draft")),
        "{:?}",
        r.body
    );
    let no_delivery = r.body["id"].as_str().unwrap().to_owned();
    let r = t.as_a("POST", &format!("/v1/orders/{no_delivery}/confirm"), None).await;
    assert_error(&r, StatusCode::CONFLICT, "invalid_state");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("pickup or a delivery address"));

    let mut with_pickup = draft.clone();
    with_pickup["delivery"] = json!({"type": "pickup"});
    let id = t.as_a("POST", "/v1/orders", Some(&with_pickup.to_string())).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let uri = format!("/v1/orders/{id}");
    let r = t.as_a("POST", &format!("{uri}/confirm"), None).await;
    assert_eq!(
        (r.status, &r.body["status"]),
        (StatusCode::OK, &json!("awaiting_payment")),
        "{:?}",
        r.body
    );
    let stock =
        t.as_a("GET", "/v1/products?limit=10", None).await.body["items"][0]["stock"].clone();
    assert_eq!(stock, json!({"on_hand": 3, "reserved": 2, "available": 1}));
    // Only 1 left: the first draft cannot be confirmed now.
    let r = t.as_a("PUT", "/v1/commerce", Some(r#"{"enabled": true}"#)).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = t.as_a("POST", &format!("/v1/orders/{id}/fulfil"), None).await;
    assert_error(&r, StatusCode::CONFLICT, "invalid_state");
    let r = t.as_a("POST", &format!("{uri}/pay"), Some("")).await;
    assert_eq!(r.body["status"], "paid", "{:?}", r.body);
    let r = t.as_a("POST", &format!("{uri}/cancel"), Some(r#"{"reason": "changed mind"}"#)).await;
    assert_error(&r, StatusCode::CONFLICT, "invalid_state");
    let ship = json!({"carrier": "Rider", "tracking_number": "KE1", "tracking_url": "https://track.example/KE1"});
    let s = t.as_a("POST", &format!("{uri}/shipments"), Some(&ship.to_string())).await;
    assert_eq!(
        (s.status, &s.body["status"]),
        (StatusCode::CREATED, &json!("in_transit")),
        "{:?}",
        s.body
    );
    let sid = s.body["id"].as_str().unwrap();
    let dup = t.as_a("POST", &format!("{uri}/shipments"), Some(&ship.to_string())).await;
    assert_error(&dup, StatusCode::CONFLICT, "conflict");
    let r = t
        .as_a("POST", &format!("{uri}/shipments/{sid}/reports"), Some(r#"{"status": "delivered"}"#))
        .await;
    assert_eq!(r.body["status"], "delivered", "{:?}", r.body);
    assert_eq!(t.as_a("GET", &uri, None).await.body["status"], "fulfilled");
    let events = t.as_a("GET", &format!("{uri}/events"), None).await.body;
    let tos: Vec<&str> =
        events.as_array().unwrap().iter().map(|e| e["to"].as_str().unwrap()).collect();
    assert_eq!(tos, ["draft", "awaiting_payment", "paid", "fulfilled"]);
    let r = t.as_a("POST", &format!("{uri}/refund"), Some(r#"{"reason": "damaged"}"#)).await;
    assert_eq!(r.body["status"], "refunded", "{:?}", r.body);

    // Another business: 404 everywhere, nothing changes.
    for (method, path) in [
        ("GET", uri.clone()),
        ("POST", format!("{uri}/cancel")),
        ("GET", format!("{uri}/events")),
        ("GET", format!("{uri}/shipments")),
        ("GET", format!("{uri}/shipments/{sid}/events")),
    ] {
        assert_error(&t.as_b(method, &path, None).await, StatusCode::NOT_FOUND, "not_found");
    }
    let foreign = json!({"customer_id": c, "items": [{"sku": "UNGA-2KG", "quantity": 1}]});
    assert_error(
        &t.as_b("POST", "/v1/orders", Some(&foreign.to_string())).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_eq!(t.as_a("GET", &uri, None).await.body["status"], "refunded");
}

async fn paid_order_with_shipment(t: &TestApp, tracking: &str) -> (String, String) {
    product(t, "SUGAR-1KG", "Sugar 1kg", 15_000, Some(5)).await;
    let c = customer(t, "+254712000002").await;
    let o = json!({"customer_id": c, "items": [{"sku": "SUGAR-1KG", "quantity": 1}], "delivery": {"type": "delivery", "address": "Moi Avenue 12"}});
    let id = t.as_a("POST", "/v1/orders", Some(&o.to_string())).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for action in ["confirm", "pay"] {
        assert_eq!(
            t.as_a("POST", &format!("/v1/orders/{id}/{action}"), None).await.status,
            StatusCode::OK
        );
    }
    let ship = json!({"tracking_number": tracking});
    let s = t.as_a("POST", &format!("/v1/orders/{id}/shipments"), Some(&ship.to_string())).await;
    (id, s.body["id"].as_str().unwrap().to_owned())
}

async fn deliver(t: &TestApp, token: &str, ts: i64, signature: &str, body: &str) -> support::Reply {
    let req = Request::builder()
        .method("POST")
        .uri(format!("/webhooks/delivery/{token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header("X-Signature-Timestamp", ts.to_string())
        .header("X-Signature", signature)
        .body(Body::from(body.to_owned()))
        .unwrap();
    send(&t.router, req).await
}

async fn the_delivery_webhook_takes_only_signed_reports(t: TestApp) {
    let settings = enable_commerce(&t).await;
    let token = settings["delivery_webhook"]["token"].as_str().unwrap().to_owned();
    let secret = settings["delivery_webhook"]["secret"].as_str().unwrap().to_owned();
    let (order, _) = paid_order_with_shipment(&t, "KE123").await;
    let now = chrono::Utc::now().timestamp();
    let body = r#"{"event_id":"evt_1","tracking_number":"KE123","status":"Delivered_001"}"#;
    let good = sign(secret.as_bytes(), now, body.as_bytes());
    let forged = sign(b"guessed", now, body.as_bytes());
    assert_error(
        &deliver(&t, &token, now, &forged, body).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    let stale = sign(secret.as_bytes(), now - 301, body.as_bytes());
    assert_error(
        &deliver(&t, &token, now - 301, &stale, body).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    // Differs from the real token in its last character, whatever that is.
    let last = if token.ends_with('0') { '1' } else { '0' };
    let other = format!("{}{last}", &token[..token.len() - 1]);
    assert_error(
        &deliver(&t, &other, now, &good, body).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    let tampered = body.replace("Delivered_001", "Cancelled");
    assert_error(
        &deliver(&t, &token, now, &good, &tampered).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    assert_eq!(
        t.as_a("GET", &format!("/v1/orders/{order}"), None).await.body["status"],
        "paid",
        "nothing moved"
    );

    let r = deliver(&t, &token, now, &good, body).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        (&r.body["moved"], &r.body["shipment"]["status"]),
        (&json!(true), &json!("delivered"))
    );
    let again = deliver(&t, &token, now, &good, body).await;
    assert_eq!(again.body["duplicate"], true);
    assert_eq!(
        t.as_a("GET", &format!("/v1/orders/{order}"), None).await.body["status"],
        "fulfilled"
    );
    let unknown = r#"{"tracking_number":"NOPE","status":"Delivered"}"#;
    let sig = sign(secret.as_bytes(), now, unknown.as_bytes());
    assert_error(
        &deliver(&t, &token, now, &sig, unknown).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let garbage = r#"{"tracking_number":"KE123","status":"Teleported"}"#;
    let sig = sign(secret.as_bytes(), now, garbage.as_bytes());
    assert_error(
        &deliver(&t, &token, now, &sig, garbage).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );

    // A rotated secret stops the old one at once.
    let rotated = t.as_a("POST", "/v1/commerce/delivery-secret", None).await.body;
    assert_ne!(rotated["delivery_webhook"]["secret"], json!(secret));
    assert_eq!(rotated["delivery_webhook"]["token"], json!(token));
    let body2 = r#"{"event_id":"evt_2","tracking_number":"KE123","status":"Delivered"}"#;
    let old = sign(secret.as_bytes(), now, body2.as_bytes());
    assert_error(
        &deliver(&t, &token, now, &old, body2).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
}

async fn discount_codes_are_made_and_switched(t: TestApp) {
    let r = t.as_a("POST", "/v1/discounts", Some(r#"{"code": "save-10", "percent": 10}"#)).await;
    assert_eq!(
        (r.status, &r.body["rules"]["code"]),
        (StatusCode::CREATED, &json!("SAVE10")),
        "{:?}",
        r.body
    );
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_error(
        &t.as_a("POST", "/v1/discounts", Some(r#"{"code": "SAVE10", "percent": 5}"#)).await,
        StatusCode::CONFLICT,
        "conflict",
    );
    let c = customer(&t, "+254712000003").await;
    let g = t
        .as_a(
            "POST",
            "/v1/discounts",
            Some(&json!({"amount_minor": 5000, "customer_id": c}).to_string()),
        )
        .await;
    assert_eq!(g.status, StatusCode::CREATED, "{:?}", g.body);
    assert_eq!(g.body["rules"]["code"].as_str().unwrap().len(), 16);
    assert_eq!(g.body["rules"]["max_uses"], 1, "generated codes are single-use");
    let bad =
        t.as_a("POST", "/v1/discounts", Some(r#"{"percent": 10, "amount_minor": 100}"#)).await;
    assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let r = t.as_a("POST", &format!("/v1/discounts/{id}/disable"), None).await;
    assert_eq!(r.body["rules"]["disabled"], true);
    let r = t.as_a("POST", &format!("/v1/discounts/{id}/enable"), None).await;
    assert_eq!(r.body["rules"]["disabled"], false);
    assert_eq!(
        t.as_a("GET", "/v1/discounts", None).await.body["items"].as_array().unwrap().len(),
        2
    );
    assert_error(
        &t.as_b("POST", &format!("/v1/discounts/{id}/disable"), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_eq!(t.as_b("GET", "/v1/discounts", None).await.body["items"], json!([]));
}

async fn inbound(t: &TestApp, sid: &str, body: &str) {
    let sender =
        t.crm.businesses().get(t.shop_a).await.unwrap().whatsapp_sender.to_whatsapp_address();
    let form = [
        ("MessageSid", sid),
        ("From", "whatsapp:+254712000009"),
        ("To", sender.as_str()),
        ("Body", body),
        ("NumMedia", "0"),
    ];
    let r = t.webhook("/webhooks/twilio/inbound", &form, Some(TWILIO_TOKEN)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
}

async fn chat_carts_and_product_messages(t: TestApp) {
    let unga = product(&t, "UNGA-2KG", "Unga wa Ngano 2kg", 21_000, Some(10)).await;
    // Commerce off: a cart command is just a message.
    inbound(&t, "SM00000000000000000000000000000001", "ongeza unga 2").await;
    assert_eq!(t.as_a("GET", "/v1/carts", None).await.body["items"], json!([]));
    enable_commerce(&t).await;
    inbound(&t, "SM00000000000000000000000000000002", "ongeza unga 2").await;
    let carts = t.as_a("GET", "/v1/carts?status=open", None).await.body;
    assert_eq!(carts["items"][0]["lines"][0]["quantity"], 2, "{carts:?}");
    assert_eq!(
        (&carts["items"][0]["subtotal"]["minor"], &carts["items"][0]["abandoned"]),
        (&json!(42_000), &json!(false))
    );
    let customer = carts["items"][0]["customer_id"].as_str().unwrap().to_owned();
    assert_eq!(t.as_b("GET", "/v1/carts", None).await.body["items"], json!([]));

    // Product messages, within the window the customer just opened.
    let pid = unga["id"].as_str().unwrap();
    let send = json!({"customer_id": customer});
    let r = t.as_a("POST", &format!("/v1/products/{pid}/send"), Some(&send.to_string())).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    assert_eq!(r.body["content"]["interactive"]["interactive_type"], "card");
    let list = json!({"customer_id": customer, "product_ids": [pid]});
    let r = t.as_a("POST", "/v1/products/send-list", Some(&list.to_string())).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let catalog =
        json!({"customer_id": customer, "body": "Our flour", "sections": [{"product_ids": [pid]}]});
    let r = t.as_a("POST", "/v1/products/send-catalog", Some(&catalog.to_string())).await;
    assert_error(&r, StatusCode::CONFLICT, "invalid_state");
    t.as_a("PUT", "/v1/commerce", Some(r#"{"enabled": true, "meta_catalog_id": "1234567890"}"#))
        .await;
    let r = t.as_a("POST", "/v1/products/send-catalog", Some(&catalog.to_string())).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    // A customer who never wrote: outside the window, refused, nothing queued.
    let stranger = customer_id(&t, "+254712000010").await;
    let r = t
        .as_a(
            "POST",
            &format!("/v1/products/{pid}/send"),
            Some(&json!({"customer_id": stranger}).to_string()),
        )
        .await;
    assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "send_refused");
    let r = t.as_b("POST", &format!("/v1/products/{pid}/send"), Some(&send.to_string())).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    // Another business's customer, named in the body: a bad field.
    let theirs = t.as_b("POST", "/v1/customers", Some(r#"{"phone": "+254712000099"}"#)).await;
    let body = json!({"customer_id": theirs.body["id"]}).to_string();
    let list = json!({"customer_id": theirs.body["id"], "product_ids": [pid]}).to_string();
    for (path, body) in
        [(format!("/v1/products/{pid}/send"), &body), ("/v1/products/send-list".into(), &list)]
    {
        let r = t.as_a("POST", &path, Some(body)).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(r.body["error"]["details"][0]["field"], "customer_id", "{:?}", r.body);
    }
}

async fn customer_id(t: &TestApp, phone: &str) -> String {
    customer(t, phone).await
}
