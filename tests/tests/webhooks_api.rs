//! Twilio's webhooks through the HTTP API, on every backend: signed requests
//! are applied, and forged, replayed-with-changes and unsigned ones are
//! answered 403 with nothing stored.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use axum::http::StatusCode;
use support::{TWILIO_TOKEN, TestApp, assert_error, on};
use whatsapp_crm_core::ports::{ConversationQuery, MessageQuery};
use whatsapp_crm_core::{
    BusinessId, ConsentStatus, Interactive, MessageContent, MessageStatus, OutboxState, PhoneNumber,
};

on_every_backend!(
    a_signed_inbound_message_is_stored_once,
    forged_replayed_and_unsigned_webhooks_store_nothing,
    a_stop_keyword_opts_out_and_queues_the_confirmation,
    button_clicks_are_recorded,
    status_callbacks_apply_forward_only_and_need_a_signature,
    a_number_no_business_owns_is_404,
);

const INBOUND: &str = "/webhooks/twilio/inbound";
const CUSTOMER: &str = "whatsapp:+254712345678";

async fn sender_of(t: &TestApp, b: BusinessId) -> String {
    let sender = t.crm.businesses().get(b).await.unwrap().whatsapp_sender;
    format!("whatsapp:{sender}")
}

fn inbound_form<'a>(sid: &'a str, to: &'a str, body: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("MessageSid", sid),
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("From", CUSTOMER),
        ("To", to),
        ("Body", body),
        ("NumMedia", "0"),
        ("ProfileName", "Wanjiku"),
        ("WaId", "254712345678"),
    ]
}

/// Every conversation of business `b` with its messages.
async fn stored_messages(t: &TestApp, b: BusinessId) -> Vec<whatsapp_crm_core::Message> {
    let s = t.crm.storage();
    let q = ConversationQuery { limit: 200, ..ConversationQuery::default() };
    let mut out = Vec::new();
    for c in s.list_conversations(b, &q).await.unwrap().items {
        let page = s.list_messages(b, c.id, &MessageQuery { limit: 200, after: None }).await;
        out.extend(page.unwrap().items);
    }
    out
}

async fn a_signed_inbound_message_is_stored_once(t: TestApp) {
    let to = sender_of(&t, t.shop_a).await;
    let form = inbound_form("SM00000000000000000000000000000001", &to, "Habari, mna maembe?");
    let r = t.webhook(INBOUND, &form, Some(TWILIO_TOKEN)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.content_type.as_deref(), Some("text/xml"));
    // Twilio delivers again: stored once.
    assert_eq!(t.webhook(INBOUND, &form, Some(TWILIO_TOKEN)).await.status, StatusCode::OK);
    let messages = stored_messages(&t, t.shop_a).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].content, MessageContent::text("Habari, mna maembe?"));
    let customer = t.crm.storage().get_customer(t.shop_a, messages[0].customer_id).await.unwrap();
    assert_eq!(customer.name.as_deref(), Some("Wanjiku"));
    assert_eq!(customer.last_inbound_at, Some(messages[0].created_at));
    // The other business saw nothing.
    assert!(stored_messages(&t, t.shop_b).await.is_empty());
}

async fn forged_replayed_and_unsigned_webhooks_store_nothing(t: TestApp) {
    let to = sender_of(&t, t.shop_a).await;
    let form = inbound_form("SM00000000000000000000000000000002", &to, "pay 500");
    // Signed with another account's token.
    let forged = t.webhook(INBOUND, &form, Some("not-the-token")).await;
    assert_error(&forged, StatusCode::FORBIDDEN, "forbidden");
    // No signature at all.
    assert_error(&t.webhook(INBOUND, &form, None).await, StatusCode::FORBIDDEN, "forbidden");
    // A captured request replayed with its body changed: the old signature
    // no longer matches.
    let url = format!("{}{INBOUND}", support::PUBLIC_URL);
    let signature =
        whatsapp_crm_twilio::RequestValidator::new(TWILIO_TOKEN).sign(&url, form.iter().copied());
    let mut changed = form.clone();
    changed[4] = ("Body", "pay 50000");
    let replayed = with_signature(&t, INBOUND, &changed, &signature).await;
    assert_error(&replayed, StatusCode::FORBIDDEN, "forbidden");
    // The untouched request with its signature sent to another URL fails too.
    let moved = with_signature(&t, &format!("{INBOUND}?x=1"), &form, &signature).await;
    assert_error(&moved, StatusCode::FORBIDDEN, "forbidden");
    nothing_stored(&t).await;
    // And the genuine one passes, which shows the signature itself was right.
    let genuine = with_signature(&t, INBOUND, &form, &signature).await;
    assert_eq!(genuine.status, StatusCode::OK);
    assert_eq!(stored_messages(&t, t.shop_a).await.len(), 1);
}

/// Posts `form` with a given signature header.
async fn with_signature(
    t: &TestApp,
    path: &str,
    form: &[(&str, &str)],
    signature: &str,
) -> support::Reply {
    let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    let req = axum::http::Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("X-Twilio-Signature", signature)
        .body(axum::body::Body::from(body))
        .unwrap();
    support::send(&t.router, req).await
}

async fn nothing_stored(t: &TestApp) {
    assert!(stored_messages(t, t.shop_a).await.is_empty());
    assert_eq!(t.count_a().await, 0, "no customer was created");
}

async fn a_stop_keyword_opts_out_and_queues_the_confirmation(t: TestApp) {
    let to = sender_of(&t, t.shop_a).await;
    let form = inbound_form("SM00000000000000000000000000000003", &to, "ACHA");
    assert_eq!(t.webhook(INBOUND, &form, Some(TWILIO_TOKEN)).await.status, StatusCode::OK);
    let messages = stored_messages(&t, t.shop_a).await;
    assert_eq!(messages.len(), 2, "the keyword and its confirmation");
    let customer = t.crm.storage().get_customer(t.shop_a, messages[0].customer_id).await.unwrap();
    assert_eq!(customer.marketing.status, ConsentStatus::OptedOut);
    let reply = messages.iter().find(|m| m.status == MessageStatus::Queued).unwrap();
    let expected = t.crm.businesses().get(t.shop_a).await.unwrap().keywords.opt_out_reply;
    assert_eq!(reply.content, MessageContent::text(expected.unwrap()));
    let row = t.crm.storage().get_outbox_item(t.shop_a, reply.id).await.unwrap();
    assert_eq!(row.state, OutboxState::Pending);
    // A business's own words, with no reply configured, send nothing back.
    let own = r#"{"opt_out": ["ondoa"], "opt_in": ["rudi"], "opt_out_reply": null, "opt_in_reply": null}"#;
    let r = t.as_b("PUT", "/v1/business/keywords", Some(own)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let to_b = sender_of(&t, t.shop_b).await;
    let form = inbound_form("SM00000000000000000000000000000004", &to_b, "Ondoa");
    assert_eq!(t.webhook(INBOUND, &form, Some(TWILIO_TOKEN)).await.status, StatusCode::OK);
    let messages = stored_messages(&t, t.shop_b).await;
    assert_eq!(messages.len(), 1);
    let customer = t.crm.storage().get_customer(t.shop_b, messages[0].customer_id).await.unwrap();
    assert_eq!(customer.marketing.status, ConsentStatus::OptedOut);
    // Bad settings are refused and change nothing.
    let bad = r#"{"opt_out": ["stop"], "opt_in": ["STOP"]}"#;
    assert_error(
        &t.as_b("PUT", "/v1/business/keywords", Some(bad)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let kept = t.crm.businesses().get(t.shop_b).await.unwrap().keywords;
    assert_eq!(kept.opt_out, ["ondoa"]);
}

async fn button_clicks_are_recorded(t: TestApp) {
    let to = sender_of(&t, t.shop_a).await;
    let mut form = inbound_form("SM00000000000000000000000000000005", &to, "Track order");
    form.push(("ButtonPayload", "track:1042"));
    form.push(("ButtonText", "Track order"));
    assert_eq!(t.webhook(INBOUND, &form, Some(TWILIO_TOKEN)).await.status, StatusCode::OK);
    let messages = stored_messages(&t, t.shop_a).await;
    assert_eq!(
        messages[0].content,
        MessageContent::Interactive {
            interactive: Interactive::Reply {
                payload: Some("track:1042".into()),
                title: "Track order".into()
            }
        }
    );
}

async fn status_callbacks_apply_forward_only_and_need_a_signature(t: TestApp) {
    let to = sender_of(&t, t.shop_a).await;
    let form = inbound_form("SM00000000000000000000000000000006", &to, "hi");
    assert_eq!(t.webhook(INBOUND, &form, Some(TWILIO_TOKEN)).await.status, StatusCode::OK);
    let customer = stored_messages(&t, t.shop_a).await[0].customer_id;
    let sent = t
        .as_a("POST", "/v1/messages", Some(&format!(
            r#"{{"customer_id": "{customer}", "content": {{"type": "text", "body": "Karibu!"}}}}"#
        )))
        .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{:?}", sent.body);
    let id = sent.body["id"].as_str().unwrap().to_owned();
    let path = format!("/webhooks/twilio/status?message_id={id}");
    let report = |status: &'static str| {
        vec![
            ("MessageSid", "SM00000000000000000000000000000099"),
            ("MessageStatus", status),
            ("From", to.as_str()),
            ("To", CUSTOMER),
        ]
    };
    let r = t.webhook(&path, &report("delivered"), Some(TWILIO_TOKEN)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    // A late "sent" never moves it back; a forged "failed" is refused.
    assert_eq!(
        t.webhook(&path, &report("sent"), Some(TWILIO_TOKEN)).await.status,
        StatusCode::NO_CONTENT
    );
    let forged = t.webhook(&path, &report("failed"), Some("wrong")).await;
    assert_error(&forged, StatusCode::FORBIDDEN, "forbidden");
    let view = t.as_a("GET", &format!("/v1/messages/{id}"), None).await;
    assert_eq!(view.body["message"]["status"], "delivered", "{:?}", view.body);
    assert_eq!(view.body["message"]["provider_id"], "SM00000000000000000000000000000099");
    // Business B cannot see it.
    let other = t.as_b("GET", &format!("/v1/messages/{id}"), None).await;
    assert_error(&other, StatusCode::NOT_FOUND, "not_found");
}

async fn a_number_no_business_owns_is_404(t: TestApp) {
    let nobody = format!("whatsapp:{}", PhoneNumber::parse("+254799000999").unwrap());
    let form = inbound_form("SM00000000000000000000000000000007", &nobody, "hello");
    let r = t.webhook(INBOUND, &form, Some(TWILIO_TOKEN)).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(t.count_a().await, 0);
}
