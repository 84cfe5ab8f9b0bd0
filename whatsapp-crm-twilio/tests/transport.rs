//! `TwilioTransport` against a local Twilio on 127.0.0.1 that checks the exact
//! request Twilio documents and replays its success and error bodies.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake;

use std::collections::BTreeMap;
use std::time::Duration;

use fake::{ACCOUNT, FakeTwilio, Reply, TOKEN, created_message};
use serde_json::json;
use whatsapp_crm_core::ports::OutboundMessage;
use whatsapp_crm_core::{
    BusinessId, CatalogSection, Interactive, MediaAttachment, MessageContent, MessageId,
    MessageStatus, PhoneNumber, ReplyButton, Transport, TransportError,
};
use whatsapp_crm_twilio::{Credentials, Secret, TwilioConfig, TwilioTransport};

const SENDER: &str = "+14155238886";
const CUSTOMER: &str = "+254712345678";
const SID: &str = "SM0123456789abcdef0123456789abcdef";
const CALLBACK: &str = "https://crm.example.com/webhooks/twilio/status";

fn config(fake: &FakeTwilio) -> TwilioConfig {
    TwilioConfig::new(ACCOUNT, TOKEN)
        .with_api_base(&fake.base)
        .with_content_base(&fake.base)
        .with_status_callback(CALLBACK)
        .with_timeout(Duration::from_secs(5))
}

fn message(content: MessageContent) -> OutboundMessage {
    OutboundMessage {
        business_id: BusinessId::new(),
        message_id: MessageId::new(),
        from: PhoneNumber::parse(SENDER).unwrap(),
        to: PhoneNumber::parse(CUSTOMER).unwrap(),
        content,
    }
}

fn messages_path() -> String {
    format!("/2010-04-01/Accounts/{ACCOUNT}/Messages.json")
}

fn pairs(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[tokio::test]
async fn text_message_is_the_documented_form_post() {
    let fake = FakeTwilio::start().await;
    fake.reply(created_message(SID, "whatsapp:+14155238886", "whatsapp:+254712345678", "Habari"));
    let twilio = TwilioTransport::new(config(&fake)).unwrap();
    let msg = message(MessageContent::text("Habari! Order #42 is ready"));
    let receipt = twilio.send(&msg).await.unwrap();
    assert_eq!(receipt.provider_id, SID);
    assert_eq!(receipt.status, MessageStatus::Queued);

    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, messages_path());
    assert_eq!(r.authorization.as_deref(), Some(FakeTwilio::basic(ACCOUNT, TOKEN).as_str()));
    assert_eq!(r.content_type.as_deref(), Some("application/x-www-form-urlencoded"));
    let callback = format!("{CALLBACK}?message_id={}", msg.message_id);
    assert_eq!(
        r.form,
        pairs(&[
            ("From", "whatsapp:+14155238886"),
            ("To", "whatsapp:+254712345678"),
            ("Body", "Habari! Order #42 is ready"),
            ("StatusCallback", &callback),
        ])
    );
}

#[tokio::test]
async fn media_repeats_media_url_and_uses_body_as_caption() {
    let fake = FakeTwilio::start().await;
    fake.reply(created_message(SID, "", "", ""));
    let twilio = TwilioTransport::new(
        config(&fake).with_status_callback("https://crm.example.com/cb?tenant=a"),
    )
    .unwrap();
    let msg = message(MessageContent::Media {
        media: vec![
            MediaAttachment {
                url: "https://cdn.example.com/a.jpg".into(),
                content_type: Some("image/jpeg".into()),
            },
            MediaAttachment { url: "https://cdn.example.com/b.pdf".into(), content_type: None },
        ],
        caption: Some("Your receipt".into()),
    });
    twilio.send(&msg).await.unwrap();
    let callback = format!("https://crm.example.com/cb?tenant=a&message_id={}", msg.message_id);
    assert_eq!(
        fake.requests()[0].form,
        pairs(&[
            ("From", "whatsapp:+14155238886"),
            ("To", "whatsapp:+254712345678"),
            ("MediaUrl", "https://cdn.example.com/a.jpg"),
            ("MediaUrl", "https://cdn.example.com/b.pdf"),
            ("Body", "Your receipt"),
            ("StatusCallback", &callback),
        ])
    );
}

#[tokio::test]
async fn template_goes_by_content_sid_and_variables_without_body() {
    let fake = FakeTwilio::start().await;
    fake.reply(created_message(SID, "", "", ""));
    let twilio = TwilioTransport::new(config(&fake)).unwrap();
    let msg = message(MessageContent::Template {
        name: "order_update".into(),
        content_sid: Some("HX0123456789abcdef0123456789abcdef".into()),
        variables: BTreeMap::from([("1".into(), "Wanjiku".into()), ("2".into(), "#42".into())]),
        rendered: Some("Hi Wanjiku, order #42 shipped".into()),
    });
    twilio.send(&msg).await.unwrap();
    let form = &fake.requests()[0].form;
    assert_eq!(form[2], ("ContentSid".into(), "HX0123456789abcdef0123456789abcdef".into()));
    assert_eq!(form[3], ("ContentVariables".into(), r##"{"1":"Wanjiku","2":"#42"}"##.into()));
    assert!(!form.iter().any(|(k, _)| k == "Body" || k == "MediaUrl"), "{form:?}");
}

#[tokio::test]
async fn api_key_credentials_authenticate_with_the_key() {
    let fake = FakeTwilio::start().await;
    fake.reply(created_message(SID, "", "", ""));
    let creds = Credentials::ApiKey {
        sid: "SK0123456789abcdef0123456789abcdef".into(),
        secret: Secret::new("key-secret"),
    };
    let config = TwilioConfig::with_credentials(ACCOUNT, creds).with_api_base(&fake.base);
    TwilioTransport::new(config).unwrap().send(&message(MessageContent::text("hi"))).await.unwrap();
    let r = &fake.requests()[0];
    assert_eq!(r.path, messages_path(), "the account SID stays in the path");
    assert_eq!(
        r.authorization.as_deref(),
        Some(FakeTwilio::basic("SK0123456789abcdef0123456789abcdef", "key-secret").as_str())
    );
    assert!(!r.form.iter().any(|(k, _)| k == "StatusCallback"), "no callback configured");
}

#[tokio::test]
async fn buttons_are_created_once_as_content_then_sent_by_sid() {
    let fake = FakeTwilio::start().await;
    fake.reply(Reply::json(201, json!({"sid": "HXaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "friendly_name": "x", "language": "en"})));
    fake.reply(created_message(SID, "", "", ""));
    fake.reply(created_message("SM11111111111111111111111111111111", "", "", ""));
    let twilio = TwilioTransport::new(config(&fake)).unwrap();
    let buttons = MessageContent::Interactive {
        interactive: Interactive::Buttons {
            body: "Confirm your order?".into(),
            buttons: vec![
                ReplyButton { id: "yes".into(), title: "Yes".into() },
                ReplyButton { id: "no".into(), title: "No".into() },
            ],
            footer: None,
        },
    };
    twilio.send(&message(buttons.clone())).await.unwrap();
    twilio.send(&message(buttons)).await.unwrap();

    let reqs = fake.requests();
    assert_eq!(reqs.len(), 3, "content is created once and reused");
    assert_eq!((reqs[0].method.as_str(), reqs[0].path.as_str()), ("POST", "/v1/Content"));
    assert_eq!(reqs[0].authorization.as_deref(), Some(FakeTwilio::basic(ACCOUNT, TOKEN).as_str()));
    let body = reqs[0].json.as_ref().unwrap();
    assert_eq!(body["language"], "en");
    assert_eq!(
        body["types"],
        json!({"twilio/quick-reply": {"body": "Confirm your order?", "actions": [{"title": "Yes", "id": "yes"}, {"title": "No", "id": "no"}]}})
    );
    for r in &reqs[1..] {
        assert_eq!(r.path, messages_path());
        assert!(
            r.form.contains(&("ContentSid".into(), "HXaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into()))
        );
        assert!(!r.form.iter().any(|(k, _)| k == "Body"));
    }
}

#[tokio::test]
async fn product_cards_and_catalog_messages_are_content_of_their_own_types() {
    let fake = FakeTwilio::start().await;
    for n in ["a", "b"] {
        let sid = format!("HX{}", n.repeat(32));
        fake.reply(Reply::json(201, json!({"sid": sid, "friendly_name": "x", "language": "en"})));
        fake.reply(created_message(SID, "", "", ""));
    }
    let twilio = TwilioTransport::new(config(&fake)).unwrap();
    let card = MessageContent::Interactive {
        interactive: Interactive::Card {
            title: "Unga wa Ngano 2kg".into(),
            subtitle: Some("KES 210.00".into()),
            media_url: Some("https://duka.example/unga.jpg".into()),
            buttons: vec![
                ReplyButton { id: "cart:add:UNGA-2KG".into(), title: "Add to cart".into() },
                ReplyButton { id: "product:view:UNGA-2KG".into(), title: "View".into() },
            ],
        },
    };
    let catalog = MessageContent::Interactive {
        interactive: Interactive::Catalog {
            catalog_id: "1234567890".into(),
            header: Some("Flour".into()),
            body: "Our flour this week".into(),
            footer: None,
            sections: vec![CatalogSection {
                title: Some("Unga".into()),
                skus: vec!["UNGA-2KG".into(), "UNGA-MAHINDI".into()],
            }],
        },
    };
    twilio.send(&message(card)).await.unwrap();
    twilio.send(&message(catalog)).await.unwrap();
    let reqs = fake.requests();
    assert_eq!(
        reqs[0].json.as_ref().unwrap()["types"],
        json!({"twilio/card": {
        "title": "Unga wa Ngano 2kg", "subtitle": "KES 210.00", "media": ["https://duka.example/unga.jpg"],
        "actions": [
            {"type": "QUICK_REPLY", "title": "Add to cart", "id": "cart:add:UNGA-2KG"},
            {"type": "QUICK_REPLY", "title": "View", "id": "product:view:UNGA-2KG"}
        ]}})
    );
    assert_eq!(
        reqs[2].json.as_ref().unwrap()["types"],
        json!({"twilio/catalog": {
            "id": "1234567890", "title": "Flour", "body": "Our flour this week",
            "items": [{"id": "UNGA-2KG", "section_title": "Unga"}, {"id": "UNGA-MAHINDI", "section_title": "Unga"}]}})
    );
    assert!(reqs[3].form.contains(&("ContentSid".into(), format!("HX{}", "b".repeat(32)))));
}

#[tokio::test]
async fn rate_limit_is_retryable_and_honours_retry_after() {
    let fake = FakeTwilio::start().await;
    fake.reply(Reply::error(429, 20429, "Too Many Requests").header("retry-after", "7"));
    let err = TwilioTransport::new(config(&fake))
        .unwrap()
        .send(&message(MessageContent::text("x")))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        TransportError::RateLimited {
            code: Some(20429),
            retry_after: Some(Duration::from_secs(7))
        }
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn documented_error_codes_become_typed_errors() {
    let cases: Vec<(Reply, TransportError)> = vec![
        (
            Reply::error(400, 21211, "The 'To' number +2547 is not a valid phone number."),
            TransportError::InvalidRecipient { code: 21211 },
        ),
        (
            Reply::error(400, 63016, "Outside messaging window"),
            TransportError::OutsideWindow { code: 63016 },
        ),
        (
            Reply::error(400, 63024, "Invalid message recipient"),
            TransportError::InvalidRecipient { code: 63024 },
        ),
        (
            Reply::error(429, 63018, "Rate limit exceeded"),
            TransportError::RateLimited { code: Some(63018), retry_after: None },
        ),
        (
            Reply::error(400, 21656, "The ContentVariables Parameter is invalid."),
            TransportError::InvalidContent {
                code: 21656,
                message: "The ContentVariables Parameter is invalid.".into(),
            },
        ),
        (
            Reply::error(401, 20003, "Authenticate"),
            TransportError::Unauthorized { code: Some(20003) },
        ),
        (
            Reply::error(400, 63014, "Blocked by user"),
            TransportError::RecipientOptedOut { code: 63014 },
        ),
        (
            Reply::error(400, 99999, "Something new"),
            TransportError::Rejected { code: Some(99999), message: "Something new".into() },
        ),
    ];
    for (reply, expected) in cases {
        let fake = FakeTwilio::start().await;
        fake.reply(reply);
        let err = TwilioTransport::new(config(&fake))
            .unwrap()
            .send(&message(MessageContent::text("x")))
            .await
            .unwrap_err();
        assert_eq!(err, expected);
        assert!(!err.is_retryable() || matches!(err, TransportError::RateLimited { .. }));
    }
}

#[tokio::test]
async fn server_errors_and_odd_bodies_never_panic() {
    let fake = FakeTwilio::start().await;
    fake.reply(Reply::error(500, 20500, "Internal Server Error"));
    fake.reply(Reply::raw(503, "<html>maintenance</html>").header("retry-after", "30"));
    fake.reply(Reply::raw(400, "not json at all"));
    fake.reply(Reply::raw(201, "{\"unexpected\": true}"));
    let twilio = TwilioTransport::new(config(&fake)).unwrap();
    let msg = message(MessageContent::text("x"));
    let send = || twilio.send(&msg);
    assert!(matches!(send().await, Err(TransportError::Unavailable { code: Some(20500), .. })));
    assert_eq!(
        send().await.unwrap_err().retry_after(),
        Some(Duration::from_secs(30)),
        "Retry-After on a 503 is kept"
    );
    assert!(matches!(send().await, Err(TransportError::Rejected { code: None, .. })));
    assert!(
        matches!(send().await, Err(TransportError::OutcomeUnknown { .. })),
        "accepted but unreadable"
    );
}

#[tokio::test]
async fn network_failures_say_whether_the_message_may_have_gone() {
    // Nothing listens: the request never left, so retrying is safe.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let twilio =
        TwilioTransport::new(TwilioConfig::new(ACCOUNT, TOKEN).with_api_base(base)).unwrap();
    let err = twilio.send(&message(MessageContent::text("x"))).await.unwrap_err();
    assert!(matches!(err, TransportError::Unavailable { .. }), "{err:?}");

    // Twilio got it but answered too late: it may have been sent, so no blind retry.
    let fake = FakeTwilio::start().await;
    fake.reply(created_message(SID, "", "", "").delayed(Duration::from_secs(3)));
    let twilio =
        TwilioTransport::new(config(&fake).with_timeout(Duration::from_millis(300))).unwrap();
    let err = twilio.send(&message(MessageContent::text("x"))).await.unwrap_err();
    assert!(matches!(err, TransportError::OutcomeUnknown { .. }), "{err:?}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn unsendable_content_is_refused_before_any_request() {
    let fake = FakeTwilio::start().await;
    let twilio = TwilioTransport::new(config(&fake)).unwrap();
    let no_sid = MessageContent::Template {
        name: "draft".into(),
        content_sid: None,
        variables: BTreeMap::new(),
        rendered: None,
    };
    assert!(matches!(twilio.send(&message(no_sid)).await, Err(TransportError::Rejected { .. })));
    let reply = MessageContent::Interactive {
        interactive: Interactive::Reply { payload: None, title: "Yes".into() },
    };
    assert!(matches!(twilio.send(&message(reply)).await, Err(TransportError::Rejected { .. })));
    assert!(fake.requests().is_empty());
}

#[test]
fn debug_output_hides_the_token() {
    let twilio = TwilioTransport::new(TwilioConfig::new(ACCOUNT, "very-secret-token")).unwrap();
    let shown = format!("{twilio:?}");
    assert!(shown.contains(ACCOUNT));
    assert!(!shown.contains("very-secret-token"), "{shown}");
}
