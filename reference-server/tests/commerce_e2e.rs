//! Commerce end to end through the real binary on SQLite with a local
//! Twilio stand-in: a customer builds a cart by typing (`ongeza unga 2`), by
//! tapping *Add to cart* on a product card and by sending WhatsApp's own
//! cart; checks out and gets the confirmation; staff take the payment and
//! ship; a signed delivery partner webhook takes the order to fulfilled,
//! with one notice per step. A forged report gets 401 and changes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::{Duration, Instant};

use common::twilio::{Accepted, FakeTwilio, webhook};
use common::{Server, create_business, http, request};
use serde_json::{Value, json};
use whatsapp_crm_core::commerce::signature::sign;

const SENDER: &str = "+254700000088";
const CUSTOMER: &str = "whatsapp:+254712345678";

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Waits until the stand-in has accepted `n` messages; returns the last.
async fn nth(fake: &FakeTwilio, n: usize) -> Accepted {
    let start = Instant::now();
    while fake.count() < n {
        assert!(start.elapsed() < Duration::from_secs(30), "only {} of {n} sent", fake.count());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    fake.accepted.lock().unwrap()[n - 1].clone()
}

fn text(a: &Accepted) -> &str {
    a.form.get("Body").map(String::as_str).unwrap_or("")
}

async fn inbound(addr: &str, sid: &str, extra: &[(&str, &str)]) {
    let to = format!("whatsapp:{SENDER}");
    let mut form = vec![
        ("MessageSid", sid),
        ("From", CUSTOMER),
        ("To", to.as_str()),
        ("ProfileName", "Wanjiku"),
        ("NumMedia", "0"),
    ];
    form.extend_from_slice(extra);
    assert_eq!(webhook(addr, "/webhooks/twilio/inbound", &form).await, 200);
}

async fn deliver(addr: &str, token: &str, secret: &[u8], ts: i64, body: &str) -> (u16, String) {
    let signature = sign(secret, ts, body.as_bytes());
    let ts = ts.to_string();
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Signature-Timestamp", ts.as_str()),
        ("X-Signature", signature.as_str()),
    ];
    request(addr, "POST", &format!("/webhooks/delivery/{token}"), &headers, body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_order_goes_from_cart_to_fulfilled_with_one_notice_per_step() {
    let dir = tempfile::tempdir().unwrap();
    let key = create_business(dir.path(), "shop.db", SENDER).await;
    let fake = FakeTwilio::start(SENDER, Duration::from_millis(1)).await;
    let mut env = fake.env();
    // A chat exchange is several messages to one customer in a row.
    env.push(("WCRM_PAIR_INTERVAL_MS", "50".into()));
    env.push(("WCRM_RECOMMEND_INTERVAL_MS", "100".into()));
    let server = Server::start_with(dir.path(), &["--database", "shop.db"], &env).await;
    let api = |method: &'static str, path: String, body: Option<Value>| {
        let (addr, key) = (server.addr.clone(), key.clone());
        async move {
            let body = body.map(|b| b.to_string());
            let (status, text) = http(&addr, method, &path, Some(&key), body.as_deref()).await;
            (status, if text.is_empty() { Value::Null } else { json_of(&text) })
        }
    };

    let (status, settings) =
        api("PUT", "/v1/commerce".into(), Some(json!({"enabled": true}))).await;
    assert_eq!(status, 200, "{settings}");
    let token = settings["delivery_webhook"]["token"].as_str().unwrap().to_owned();
    let secret = settings["delivery_webhook"]["secret"].as_str().unwrap().to_owned();
    let (mut sugar, mut unga, mut milk) = (String::new(), String::new(), String::new());
    for (sku, name, price, stock) in [
        ("UNGA-2KG", "Unga wa Ngano 2kg", 21_000, json!(10)),
        ("SUGAR-1KG", "Sugar 1kg", 15_000, json!(5)),
        ("MILK-500", "Fresh Milk 500ml", 6_000, Value::Null),
    ] {
        let p = json!({"sku": sku, "name": name, "price_minor": price, "on_hand": stock,
                       "image_url": format!("https://duka.example/{sku}.jpg")});
        let (status, body) = api("POST", "/v1/products".into(), Some(p)).await;
        assert_eq!(status, 201, "{body}");
        let id = body["id"].as_str().unwrap().to_owned();
        match sku {
            "SUGAR-1KG" => sugar = id,
            "UNGA-2KG" => unga = id,
            _ => milk = id,
        }
    }

    // 1. Typed in Swahili.
    inbound(&server.addr, "SM00000000000000000000000000000001", &[("Body", "ongeza unga 2")]).await;
    let reply = nth(&fake, 1).await;
    assert!(text(&reply).contains("2 × Unga wa Ngano 2kg — KES 420.00"), "{}", text(&reply));
    assert_eq!(reply.to, CUSTOMER);

    // 2. The shop sends a product card; the customer taps Add to cart.
    let (_, customers) = api("GET", "/v1/customers?search=254712345678".into(), None).await;
    let customer = customers["items"][0]["id"].as_str().unwrap().to_owned();
    let (status, card) =
        api("POST", format!("/v1/products/{sugar}/send"), Some(json!({"customer_id": customer})))
            .await;
    assert_eq!(status, 202, "{card}");
    let sent = nth(&fake, 2).await;
    let types = fake.content.lock().unwrap()[&sent.form["ContentSid"]].clone();
    assert_eq!(types["twilio/card"]["title"], "Sugar 1kg");
    assert_eq!(types["twilio/card"]["media"], json!(["https://duka.example/SUGAR-1KG.jpg"]));
    assert_eq!(types["twilio/card"]["actions"][0]["id"], "cart:add:SUGAR-1KG");
    inbound(
        &server.addr,
        "SM00000000000000000000000000000002",
        &[("ButtonText", "Add to cart"), ("ButtonPayload", "cart:add:SUGAR-1KG")],
    )
    .await;
    assert!(text(&nth(&fake, 3).await).contains("1 × Sugar 1kg — KES 150.00"));

    // 3. WhatsApp's own cart, quoted below our price: repriced, flagged.
    let order = r#"{"catalog_id":"1234567890","product_items":[{"product_retailer_id":"MILK-500","quantity":2,"item_price":55,"currency":"KES"}]}"#;
    inbound(
        &server.addr,
        "SM00000000000000000000000000000003",
        &[("MessageType", "order"), ("Order", order)],
    )
    .await;
    let reply = nth(&fake, 4).await;
    assert!(
        text(&reply).contains("MILK-500 is KES 60.00 (your app showed KES 55.00)"),
        "{}",
        text(&reply)
    );
    assert!(text(&reply).contains("Total: KES 690.00"), "{}", text(&reply));

    // 4. Checkout: the confirmation.
    inbound(&server.addr, "SM00000000000000000000000000000004", &[("Body", "lipa")]).await;
    let confirmation = nth(&fake, 5).await;
    assert!(text(&confirmation).contains("is confirmed"), "{}", text(&confirmation));
    assert!(text(&confirmation).contains("Total: KES 690.00"));
    let (_, orders) = api("GET", format!("/v1/orders?customer_id={customer}"), None).await;
    let id = orders["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(orders["items"][0]["status"], "awaiting_payment");
    // The same delivery of "lipa" again is one message, not a second order.
    inbound(&server.addr, "SM00000000000000000000000000000004", &[("Body", "lipa")]).await;

    // 5. Paid, shipped.
    let (status, paid) = api("POST", format!("/v1/orders/{id}/pay"), None).await;
    assert_eq!((status, &paid["status"]), (200, &json!("paid")), "{paid}");
    assert!(text(&nth(&fake, 6).await).contains("Payment received"));
    let ship = json!({"carrier": "Sendy", "tracking_number": "KE123", "tracking_url": "https://track.example/KE123"});
    let (status, shipment) = api("POST", format!("/v1/orders/{id}/shipments"), Some(ship)).await;
    assert_eq!(status, 201, "{shipment}");
    assert!(text(&nth(&fake, 7).await).contains("https://track.example/KE123"));

    // 6. A forged report: 401, nothing changes.
    let now = chrono::Utc::now().timestamp();
    let delivered = r#"{"event_id":"evt-2","tracking_number":"KE123","status":"Delivered"}"#;
    let (status, _) = deliver(&server.addr, &token, b"a guess", now, delivered).await;
    assert_eq!(status, 401);
    let (status, _) =
        deliver(&server.addr, &token, secret.as_bytes(), now - 3_600, delivered).await;
    assert_eq!(status, 401, "a replay from an hour ago");
    let (_, order) = api("GET", format!("/v1/orders/{id}"), None).await;
    assert_eq!(order["status"], "paid");

    // 7. The partner's signed reports: out for delivery, then delivered.
    let out = r#"{"event_id":"evt-1","tracking_number":"KE123","status":"OutForDelivery"}"#;
    let (status, body) = deliver(&server.addr, &token, secret.as_bytes(), now, out).await;
    assert_eq!(status, 200, "{body}");
    assert!(text(&nth(&fake, 8).await).contains("out for delivery"));
    let (status, body) = deliver(&server.addr, &token, secret.as_bytes(), now, delivered).await;
    assert_eq!(status, 200, "{body}");
    assert!(text(&nth(&fake, 9).await).contains("was delivered"));
    let (status, body) = deliver(&server.addr, &token, secret.as_bytes(), now, delivered).await;
    assert_eq!((status, json_of(&body)["duplicate"].clone()), (200, json!(true)));
    let (_, order) = api("GET", format!("/v1/orders/{id}"), None).await;
    assert_eq!(order["status"], "fulfilled");

    // One notice per step, each its own message, nothing sent twice.
    let (_, notices) = api("GET", format!("/v1/orders/{id}/notices"), None).await;
    let kinds: Vec<&str> =
        notices.as_array().unwrap().iter().map(|n| n["notice"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["confirmed", "paid", "shipped", "out_for_delivery", "delivered"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fake.count(), 9, "no message more");
    assert!(fake.malformed.lock().unwrap().is_empty(), "{:?}", fake.malformed.lock().unwrap());
    let (_, products) = api("GET", "/v1/products".into(), None).await;
    let stock: Vec<Value> =
        products["items"].as_array().unwrap().iter().map(|p| p["stock"].clone()).collect();
    assert_eq!(
        stock[0],
        json!({"on_hand": 8, "reserved": 0, "available": 8}),
        "unga left the shop"
    );
    assert_eq!(
        stock[1],
        json!({"on_hand": 4, "reserved": 0, "available": 4}),
        "sugar left the shop"
    );

    // 8. Recommendations: the worker builds the model from the paid order;
    // with suggestions on, adding unga suggests what went with it, never
    // what is out of stock.
    let related = format!("/v1/products/{unga}/related");
    let start = Instant::now();
    while api("GET", related.clone(), None).await.1["model"].is_null() {
        assert!(start.elapsed() < Duration::from_secs(30), "the model was never built");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, picks) = api("GET", format!("{related}?k=2"), None).await;
    assert_eq!(picks["items"][0]["reason"], "bought_together", "{picks}");
    let out =
        json!({"sku": "MILK-500", "name": "Fresh Milk 500ml", "price_minor": 6_000, "on_hand": 0});
    let (status, body) = api("PUT", format!("/v1/products/{milk}"), Some(out)).await;
    assert_eq!(status, 200, "{body}");
    let on = json!({"enabled": true, "cart_suggestions": 2});
    assert_eq!(api("PUT", "/v1/commerce".into(), Some(on)).await.0, 200);
    inbound(&server.addr, "SM00000000000000000000000000000005", &[("Body", "ongeza unga 1")]).await;
    assert!(text(&nth(&fake, 10).await).contains("Unga wa Ngano 2kg"));
    let suggestion = nth(&fake, 11).await;
    let types = fake.content.lock().unwrap()[&suggestion.form["ContentSid"]].clone();
    let quick = &types["twilio/quick-reply"];
    assert_eq!(quick["body"], "Customers who bought Unga wa Ngano 2kg also bought:", "{types}");
    let ids: Vec<&str> =
        quick["actions"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["cart:add:SUGAR-1KG"], "milk is out of stock");
    server.stop().await;
}
