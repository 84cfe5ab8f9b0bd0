//! Payments end to end through the real binary on SQLite with local
//! Twilio, Daraja and Paystack stand-ins: an order checked out in chat gets
//! a payment link, the customer pays by M-Pesa on the link's page (the
//! callback delivered three times), and the order is paid with exactly one
//! receipt; the same again by card, where a webhook with one changed byte
//! is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::time::Duration;

use common::twilio::FakeTwilio;
use common::{Server, create_business, http, request, until};
use serde_json::{Value, json};
use whatsapp_crm_mpesa::stand_in::DarajaStandIn;
use whatsapp_crm_paystack::stand_in::PaystackStandIn;

const SENDER: &str = "+254700000099";
const CUSTOMER: &str = "whatsapp:+254712345678";
const PASSKEY: &str = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919";
const PAYSTACK_KEY: &str = "sk_test_example_secret_key";

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

async fn inbound(addr: &str, sid: &str, body: &str) {
    let phone = CUSTOMER.trim_start_matches("whatsapp:");
    common::twilio::says(addr, SENDER, sid, phone, body).await;
}

fn receipts(fake: &FakeTwilio) -> Vec<String> {
    fake.accepted
        .lock()
        .unwrap()
        .iter()
        .filter_map(|a| a.form.get("Body").cloned())
        .filter(|b| b.starts_with("Receipt"))
        .collect()
}

fn post_form(
    addr: &str,
    path: &str,
    form: &str,
) -> impl std::future::Future<Output = (u16, String)> {
    let (addr, path, form) = (addr.to_owned(), path.to_owned(), form.to_owned());
    async move {
        request(
            &addr,
            "POST",
            &path,
            &[("Content-Type", "application/x-www-form-urlencoded")],
            &form,
        )
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_checked_out_in_chat_are_paid_by_mpesa_and_by_card_with_one_receipt_each() {
    let dir = tempfile::tempdir().unwrap();
    let key = create_business(dir.path(), "shop.db", SENDER).await;
    let fake = FakeTwilio::start(SENDER, Duration::from_millis(1)).await;
    let daraja = DarajaStandIn::start("consumer", "secret", "174379", PASSKEY).await.unwrap();
    let paystack = PaystackStandIn::start(PAYSTACK_KEY).await.unwrap();
    let mut env = fake.env();
    env.extend([
        ("WCRM_PAIR_INTERVAL_MS", "50".into()),
        ("WCRM_ORDERS_INTERVAL_MS", "100".into()),
        ("MPESA_CONSUMER_KEY", "consumer".into()),
        ("MPESA_CONSUMER_SECRET", "secret".into()),
        ("MPESA_SHORTCODE", "174379".into()),
        ("MPESA_PASSKEY", PASSKEY.into()),
        ("MPESA_BASE", daraja.url.clone()),
        ("PAYSTACK_SECRET_KEY", PAYSTACK_KEY.into()),
        ("PAYSTACK_BASE", paystack.url.clone()),
    ]);
    let server = Server::start_with(dir.path(), &["--database", "shop.db"], &env).await;
    let addr = server.addr.clone();
    let api = |method: &'static str, path: String, body: Option<Value>| {
        let (addr, key) = (addr.clone(), key.clone());
        async move {
            let body = body.map(|b| b.to_string());
            let (status, text) = http(&addr, method, &path, Some(&key), body.as_deref()).await;
            (status, if text.is_empty() { Value::Null } else { json_of(&text) })
        }
    };
    assert_eq!(api("PUT", "/v1/commerce".into(), Some(json!({"enabled": true}))).await.0, 200);
    let p = json!({"sku": "UNGA-2KG", "name": "Unga wa Ngano 2kg", "price_minor": 21_000, "on_hand": 10});
    assert_eq!(api("POST", "/v1/products".into(), Some(p)).await.0, 201);

    let order_in_chat = |n: u32, command: &'static str| {
        let addr = addr.clone();
        let api = &api;
        async move {
            inbound(&addr, &format!("SM{:032}", 2 * n), command).await;
            inbound(&addr, &format!("SM{:032}", 2 * n + 1), "lipa").await;
            let (_, orders) = api("GET", "/v1/orders?status=awaiting_payment".into(), None).await;
            orders["items"].as_array().unwrap().last().unwrap()["id"].as_str().unwrap().to_owned()
        }
    };

    // 1. M-Pesa.
    let order = order_in_chat(1, "ongeza unga 2").await;
    let (status, link) = api("POST", format!("/v1/orders/{order}/payment-links"), None).await;
    assert_eq!(status, 201, "{link}");
    let url = link["url"].as_str().unwrap().to_owned();
    let path = url.trim_start_matches("https://crm.example.com").to_owned();
    until("the link in chat", || async {
        fake.content
            .lock()
            .unwrap()
            .values()
            .any(|t| t["twilio/call-to-action"]["actions"][0]["url"] == url.as_str())
    })
    .await;
    let (status, page) = request(&addr, "GET", &path, &[], "").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Pay with M-Pesa")
            && page.contains("KES 420.00")
            && page.contains("+254712345678"),
        "{page}"
    );
    let (status, prompted) =
        post_form(&addr, &format!("{path}/mpesa"), "phone=%2B254712345678").await;
    assert_eq!(status, 200, "{prompted}");
    assert!(prompted.contains("Check your phone"));
    let push = daraja.pushes()[0].clone();
    let callback_url = push.body["CallBackURL"].as_str().unwrap().to_owned();
    let callback_path = callback_url.trim_start_matches("https://crm.example.com").to_owned();
    daraja.settle(&push.checkout_request_id, "0", "The service request is processed successfully.");
    let body = DarajaStandIn::callback_body(&push.checkout_request_id, 0, 420.0, "NLJ7RT61SV");
    for _ in 0..3 {
        let headers =
            [("Content-Type", "application/json"), ("X-Forwarded-For", "196.201.214.200")];
        let (status, ack) = request(&addr, "POST", &callback_path, &headers, &body).await;
        assert_eq!(
            (status, json_of(&ack)),
            (200, json!({"ResultCode": 0, "ResultDesc": "Accepted"}))
        );
    }
    until("the order paid", || async {
        api("GET", format!("/v1/orders/{order}"), None).await.1["status"] == "paid"
    })
    .await;
    until("the receipt", || async { receipts(&fake).len() == 1 }).await;
    assert!(receipts(&fake)[0].contains("NLJ7RT61SV") && receipts(&fake)[0].contains("KES 420.00"));
    let (status, closed) = request(&addr, "GET", &path, &[], "").await;
    assert_eq!(status, 410);
    assert!(closed.contains("This order is paid"));
    let (_, payments) = api("GET", format!("/v1/payments?order_id={order}"), None).await;
    let payment = &payments["items"][0];
    assert_eq!(
        (&payment["status"], &payment["receipt"]),
        (&json!("succeeded"), &json!("NLJ7RT61SV"))
    );
    let (_, detail) =
        api("GET", format!("/v1/payments/{}", payment["id"].as_str().unwrap()), None).await;
    assert_eq!(
        detail["events"].as_array().unwrap().len(),
        1,
        "three deliveries, one event: {detail}"
    );

    // 2. Card.
    let order = order_in_chat(2, "add 1 unga").await;
    let (_, link) = api("POST", format!("/v1/orders/{order}/payment-links"), None).await;
    let path =
        link["url"].as_str().unwrap().trim_start_matches("https://crm.example.com").to_owned();
    let (status, _) =
        post_form(&addr, &format!("{path}/card"), "email=wanjiku%40example.com").await;
    assert_eq!(status, 303, "to Paystack's checkout page");
    let reference = paystack.initialized()[0]["reference"].as_str().unwrap().to_owned();
    paystack.settle(&reference, "success");
    let (body, signature) = paystack.webhook(&reference, 21_000, "KES");
    let headers = |sig: &str| {
        [("Content-Type", "application/json".to_owned()), ("x-paystack-signature", sig.to_owned())]
    };
    let send = |body: String, sig: String| {
        let addr = addr.clone();
        async move {
            let h = headers(&sig);
            let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
            request(&addr, "POST", "/webhooks/paystack", &h, &body).await.0
        }
    };
    assert_eq!(send(format!("{body}\n"), signature.clone()).await, 401, "one changed byte");
    assert_eq!(
        api("GET", format!("/v1/orders/{order}"), None).await.1["status"],
        "awaiting_payment"
    );
    assert_eq!(send(body.clone(), signature.clone()).await, 200);
    assert_eq!(send(body, signature).await, 200, "a repeat is accepted and ignored");
    assert_eq!(api("GET", format!("/v1/orders/{order}"), None).await.1["status"], "paid");
    until("the card receipt", || async { receipts(&fake).len() == 2 }).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(receipts(&fake).len(), 2, "one receipt per payment");
    assert!(fake.malformed.lock().unwrap().is_empty(), "{:?}", fake.malformed.lock().unwrap());
    assert!(daraja.malformed().is_empty() && paystack.malformed().is_empty());
    server.stop().await;
}
