//! Sending, conversations and message history through the HTTP API, on every
//! backend: checked before anything is stored, paged, and tenant-scoped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use axum::http::StatusCode;
use serde_json::{Value, json};
use support::{TWILIO_TOKEN, TestApp, assert_error, on};
use whatsapp_crm_core::TemplateStatus;

on_every_backend!(
    free_form_goes_inside_the_window_and_is_refused_outside,
    content_over_whatsapps_limits_is_refused_naming_the_field,
    templates_need_approval_and_marketing_needs_consent,
    conversations_and_history_page_and_stay_in_their_business,
);

/// A customer of A who wrote to the shop a moment ago (window open).
async fn chatting_customer(t: &TestApp, phone: &str, sid: &str) -> String {
    let sender = t.crm.businesses().get(t.shop_a).await.unwrap().whatsapp_sender;
    let to = format!("whatsapp:{sender}");
    let from = format!("whatsapp:{phone}");
    let form = [("MessageSid", sid), ("From", from.as_str()), ("To", to.as_str()), ("Body", "hi")];
    assert_eq!(
        t.webhook("/webhooks/twilio/inbound", &form, Some(TWILIO_TOKEN)).await.status,
        StatusCode::OK
    );
    let c = t.crm.storage().find_customer_by_phone(t.shop_a, &phone.parse().unwrap()).await;
    c.unwrap().unwrap().id.to_string()
}

/// A customer of A who never wrote (no window).
async fn silent_customer(t: &TestApp, phone: &str, opted_in: bool) -> String {
    let body = json!({"phone": phone, "marketing_opt_in": opted_in}).to_string();
    let r = t.as_a("POST", "/v1/customers", Some(&body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

fn text(customer: &str, body: &str) -> String {
    json!({"customer_id": customer, "content": {"type": "text", "body": body}}).to_string()
}

async fn message_count(t: &TestApp) -> usize {
    let q = whatsapp_crm_core::ports::ConversationQuery { limit: 200, ..Default::default() };
    let s = t.crm.storage();
    let mut n = 0;
    for c in s.list_conversations(t.shop_a, &q).await.unwrap().items {
        let q = whatsapp_crm_core::ports::MessageQuery { limit: 200, after: None };
        n += s.list_messages(t.shop_a, c.id, &q).await.unwrap().items.len();
    }
    n
}

async fn free_form_goes_inside_the_window_and_is_refused_outside(t: TestApp) {
    let chatting =
        chatting_customer(&t, "+254712000001", "SM00000000000000000000000000000101").await;
    let r = t.as_a("POST", "/v1/messages", Some(&text(&chatting, "Asante! Tuko wazi."))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    assert_eq!(r.body["status"], "queued");
    let view =
        t.as_a("GET", &format!("/v1/messages/{}", r.body["id"].as_str().unwrap()), None).await;
    assert_eq!(view.body["outbox"]["state"], "pending", "{:?}", view.body);
    assert_eq!(view.body["outbox"]["recipient"], "+254712000001");

    let silent = silent_customer(&t, "+254712000002", true).await;
    let before = message_count(&t).await;
    let refused = t.as_a("POST", "/v1/messages", Some(&text(&silent, "Offer!"))).await;
    assert_error(&refused, StatusCode::UNPROCESSABLE_ENTITY, "send_refused");
    assert!(refused.body["error"]["message"].as_str().unwrap().starts_with("outside_window"));
    assert_eq!(message_count(&t).await, before, "nothing stored");
    // Another business's customer is not found, and nothing is stored.
    let r = t.as_b("POST", "/v1/messages", Some(&text(&chatting, "hello"))).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    let r = t.as_a("POST", "/v1/messages", Some("{\"customer_id\": ")).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "malformed_json");
    assert_eq!(message_count(&t).await, before);
}

async fn content_over_whatsapps_limits_is_refused_naming_the_field(t: TestApp) {
    let c = chatting_customer(&t, "+254712000003", "SM00000000000000000000000000000102").await;
    let before = message_count(&t).await;
    let cases: [(Value, &str); 4] = [
        (json!({"type": "text", "body": "x".repeat(1601)}), "content.body"),
        (
            json!({"type": "media", "media": [{"url": "https://cdn.example.com/a.gif", "content_type": "image/gif"}], "caption": null}),
            "content.media[0]",
        ),
        (
            json!({"type": "media", "media": [{"url": "https://cdn.example.com/a.jpg", "content_type": "image/jpeg"}], "caption": null}),
            "content.media[0]",
        ),
        (
            json!({"type": "interactive", "interactive": {"interactive_type": "buttons", "body": "Pick", "buttons": [
                {"id": "a", "title": "One"}, {"id": "b", "title": "Two"}, {"id": "c", "title": "Three"}, {"id": "d", "title": "Four"}
            ], "footer": null}}),
            "content.buttons",
        ),
    ];
    for (i, (content, field)) in cases.into_iter().enumerate() {
        let mut body = json!({"customer_id": c, "content": content});
        if i == 2 {
            // A 6 MB JPEG: over the 5 MB image limit.
            body["media_sizes"] = json!([6 * 1024 * 1024]);
        }
        let r = t.as_a("POST", "/v1/messages", Some(&body.to_string())).await;
        assert_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert!(r.body["error"]["details"].is_array(), "case {i}: {:?}", r.body);
        let fields = r.error_fields();
        assert!(fields.iter().any(|f| f.starts_with(field)), "case {i}: {fields:?}");
    }
    let neither = json!({"customer_id": c}).to_string();
    assert_error(
        &t.as_a("POST", "/v1/messages", Some(&neither)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(message_count(&t).await, before, "nothing stored");
}

async fn approved_template(t: &TestApp, name: &str, category: &str) -> String {
    let body = json!({
        "name": name, "category": category, "language": "en",
        "content": {
            "body": "Hello {{name|rafiki}}, your order {{order}} is on its way today.",
            "samples": {"name": "Wanjiku", "order": "#42"}
        }
    });
    let r = t.as_a("POST", "/v1/templates", Some(&body.to_string())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn templates_need_approval_and_marketing_needs_consent(t: TestApp) {
    let silent = silent_customer(&t, "+254712000004", false).await;
    let id = approved_template(&t, "order_update", "utility").await;
    let send = |template: &str, customer: &str| {
        json!({"customer_id": customer, "template": {"template_id": template, "values": {"order": "#1042"}}})
            .to_string()
    };
    let draft = t.as_a("POST", "/v1/messages", Some(&send(&id, &silent))).await;
    assert_error(&draft, StatusCode::CONFLICT, "invalid_state");
    let submitted = t.as_a("POST", &format!("/v1/templates/{id}/submit"), None).await;
    let hx = submitted.body["provider_id"].as_str().unwrap().to_owned();
    t.registry.set_status(&hx, TemplateStatus::Approved, None);
    t.as_a("POST", &format!("/v1/templates/{id}/sync"), None).await;
    // A template goes outside the window, rendered for the customer.
    let r = t.as_a("POST", "/v1/messages", Some(&send(&id, &silent))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    assert_eq!(r.body["content"]["content_sid"], hx);
    assert_eq!(
        r.body["content"]["rendered"],
        "Hello rafiki, your order #1042 is on its way today."
    );
    // Marketing needs the customer's opt-in.
    let promo = approved_template(&t, "weekend_offer", "marketing").await;
    let submitted = t.as_a("POST", &format!("/v1/templates/{promo}/submit"), None).await;
    t.registry.set_status(
        submitted.body["provider_id"].as_str().unwrap(),
        TemplateStatus::Approved,
        None,
    );
    t.as_a("POST", &format!("/v1/templates/{promo}/sync"), None).await;
    let refused = t.as_a("POST", "/v1/messages", Some(&send(&promo, &silent))).await;
    assert_error(&refused, StatusCode::UNPROCESSABLE_ENTITY, "send_refused");
    let fan = silent_customer(&t, "+254712000005", true).await;
    let ok = t.as_a("POST", "/v1/messages", Some(&send(&promo, &fan))).await;
    assert_eq!(ok.status, StatusCode::ACCEPTED, "{:?}", ok.body);
    let view =
        t.as_a("GET", &format!("/v1/messages/{}", ok.body["id"].as_str().unwrap()), None).await;
    assert_eq!(view.body["outbox"]["category"], "marketing");
    // Another business cannot send A's template.
    let theirs = t.as_b("POST", "/v1/messages", Some(&send(&promo, &fan))).await;
    assert_error(&theirs, StatusCode::NOT_FOUND, "not_found");
}

async fn conversations_and_history_page_and_stay_in_their_business(t: TestApp) {
    let mut customers = Vec::new();
    for i in 0..3 {
        let sid = format!("SM000000000000000000000000000002{i:02}");
        customers.push(chatting_customer(&t, &format!("+25471200010{i}"), &sid).await);
    }
    for n in 0..4 {
        let r =
            t.as_a("POST", "/v1/messages", Some(&text(&customers[0], &format!("note {n}")))).await;
        assert_eq!(r.status, StatusCode::ACCEPTED);
    }
    let first = t.as_a("GET", "/v1/conversations?limit=2", None).await;
    assert_eq!(first.body["items"].as_array().unwrap().len(), 2, "{:?}", first.body);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = t.as_a("GET", &format!("/v1/conversations?limit=2&cursor={cursor}"), None).await;
    assert_eq!(second.body["items"].as_array().unwrap().len(), 1);
    assert!(second.body["next_cursor"].is_null());
    let mine =
        t.as_a("GET", &format!("/v1/conversations?customer_id={}", customers[0]), None).await;
    let conv = mine.body["items"][0]["id"].as_str().unwrap().to_owned();
    let open = t.as_a("GET", "/v1/conversations?status=open", None).await;
    assert_eq!(open.body["items"].as_array().unwrap().len(), 3);

    let page = t.as_a("GET", &format!("/v1/conversations/{conv}/messages?limit=3"), None).await;
    let items = page.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["direction"], "inbound", "oldest first");
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let rest =
        t.as_a("GET", &format!("/v1/conversations/{conv}/messages?cursor={cursor}"), None).await;
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(rest.body["items"][1]["content"]["body"], "note 3");

    // Another business sees none of it.
    assert!(
        t.as_b("GET", "/v1/conversations", None).await.body["items"].as_array().unwrap().is_empty()
    );
    for uri in [format!("/v1/conversations/{conv}"), format!("/v1/conversations/{conv}/messages")] {
        assert_error(&t.as_b("GET", &uri, None).await, StatusCode::NOT_FOUND, "not_found");
    }
    assert_error(
        &t.as_a("GET", "/v1/conversations?cursor=nope", None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_error(
        &t.as_a("GET", "/v1/conversations?limit=0", None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_error(
        &t.as_a("GET", "/v1/conversations/xyz", None).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    assert_error(
        &t.as_a("GET", "/v1/conversations?status=sleeping", None).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
}
