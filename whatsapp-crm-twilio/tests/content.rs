//! `TwilioContent` (the template registry) against a local Content API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake;

use std::collections::BTreeMap;

use fake::{ACCOUNT, FakeTwilio, Reply, TOKEN};
use serde_json::json;
use whatsapp_crm_core::ports::{
    ProviderContent, ProviderTemplate, RegistryError, TemplateAction, TemplateRegistry,
};
use whatsapp_crm_core::{ListRow, TemplateCategory, TemplateStatus};
use whatsapp_crm_twilio::{TwilioConfig, TwilioContent};

const HX: &str = "HX0123456789abcdef0123456789abcdef";

fn registry(fake: &FakeTwilio) -> TwilioContent {
    TwilioContent::new(TwilioConfig::new(ACCOUNT, TOKEN).with_content_base(&fake.base)).unwrap()
}

fn template(content: ProviderContent) -> ProviderTemplate {
    ProviderTemplate {
        name: "order_update".into(),
        language: "en".into(),
        samples: BTreeMap::from([("1".into(), "Wanjiku".into()), ("2".into(), "#42".into())]),
        content,
    }
}

#[tokio::test]
async fn create_posts_the_documented_json_for_each_type() {
    let cases = vec![
        (
            ProviderContent::Text { body: "Hi {{1}}, order {{2}} shipped".into() },
            json!({"twilio/text": {"body": "Hi {{1}}, order {{2}} shipped"}}),
        ),
        (
            ProviderContent::Media {
                body: Some("Receipt {{1}}".into()),
                media: vec!["https://cdn.example.com/{{2}}.pdf".into()],
            },
            json!({"twilio/media": {"body": "Receipt {{1}}", "media": ["https://cdn.example.com/{{2}}.pdf"]}}),
        ),
        (
            ProviderContent::CallToAction {
                body: "Track order {{2}}".into(),
                actions: vec![
                    TemplateAction::Url {
                        title: "Track".into(),
                        url: "https://shop.example.com/t/{{2}}".into(),
                    },
                    TemplateAction::Phone {
                        title: "Call us".into(),
                        phone: "+254700000001".into(),
                    },
                ],
            },
            json!({"twilio/call-to-action": {"body": "Track order {{2}}", "actions": [
                {"type": "URL", "title": "Track", "url": "https://shop.example.com/t/{{2}}"},
                {"type": "PHONE_NUMBER", "title": "Call us", "phone": "+254700000001"}]}}),
        ),
        (
            ProviderContent::ListPicker {
                body: "Pick a size".into(),
                button: "Sizes".into(),
                items: vec![ListRow {
                    id: "s".into(),
                    title: "Small".into(),
                    description: Some("Fits 1".into()),
                }],
            },
            json!({"twilio/list-picker": {"body": "Pick a size", "button": "Sizes", "items": [{"id": "s", "item": "Small", "description": "Fits 1"}]}}),
        ),
        (
            ProviderContent::Card {
                title: "Sale {{1}}".into(),
                subtitle: Some("Ends Friday".into()),
                media: vec!["https://cdn.example.com/sale.jpg".into()],
                actions: vec![TemplateAction::QuickReply {
                    title: "Show me".into(),
                    id: "show".into(),
                }],
            },
            json!({"twilio/card": {"title": "Sale {{1}}", "subtitle": "Ends Friday", "media": ["https://cdn.example.com/sale.jpg"],
                "actions": [{"type": "QUICK_REPLY", "title": "Show me", "id": "show"}]}}),
        ),
    ];
    for (content, types) in cases {
        let fake = FakeTwilio::start().await;
        fake.reply(Reply::json(201, json!({"sid": HX, "account_sid": ACCOUNT, "friendly_name": "order_update", "language": "en"})));
        let sid = registry(&fake).create(&template(content)).await.unwrap();
        assert_eq!(sid, HX);
        let r = &fake.requests()[0];
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/v1/Content"));
        assert_eq!(r.content_type.as_deref(), Some("application/json"));
        assert_eq!(r.authorization.as_deref(), Some(FakeTwilio::basic(ACCOUNT, TOKEN).as_str()));
        assert_eq!(
            r.json.as_ref().unwrap(),
            &json!({"friendly_name": "order_update", "language": "en", "variables": {"1": "Wanjiku", "2": "#42"}, "types": types})
        );
    }
}

#[tokio::test]
async fn submit_and_read_approval() {
    let fake = FakeTwilio::start().await;
    fake.reply(Reply::json(
        201,
        json!({"name": "order_update", "category": "UTILITY", "content_type": "twilio/text",
        "status": "received", "rejection_reason": "", "allow_category_change": true}),
    ));
    fake.reply(Reply::json(200, json!({"sid": HX, "account_sid": ACCOUNT,
        "whatsapp": {"type": "whatsapp", "name": "order_update", "category": "UTILITY", "content_type": "twilio/text", "status": "approved", "rejection_reason": ""}})));
    fake.reply(Reply::json(200, json!({"sid": HX, "whatsapp": {"status": "rejected", "rejection_reason": "Variable at the end of the body"}})));
    fake.reply(Reply::json(200, json!({"sid": HX, "whatsapp": null})));
    let reg = registry(&fake);

    let submitted = reg.submit(HX, "order_update", TemplateCategory::Utility).await.unwrap();
    assert_eq!(submitted.status, TemplateStatus::Pending);
    assert_eq!(submitted.rejection_reason, None);
    let r = &fake.requests()[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", format!("/v1/Content/{HX}/ApprovalRequests/whatsapp").as_str())
    );
    assert_eq!(r.json.as_ref().unwrap(), &json!({"name": "order_update", "category": "UTILITY"}));

    assert_eq!(reg.approval(HX).await.unwrap().status, TemplateStatus::Approved);
    let rejected = reg.approval(HX).await.unwrap();
    assert_eq!(rejected.status, TemplateStatus::Rejected);
    assert_eq!(rejected.rejection_reason.as_deref(), Some("Variable at the end of the body"));
    assert_eq!(reg.approval(HX).await.unwrap().status, TemplateStatus::Draft, "never submitted");
    let r = &fake.requests()[1];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("GET", format!("/v1/Content/{HX}/ApprovalRequests").as_str())
    );
}

#[tokio::test]
async fn registry_errors_are_typed() {
    let fake = FakeTwilio::start().await;
    fake.reply(Reply::error(404, 20404, "The requested resource was not found"));
    fake.reply(Reply::error(429, 20429, "Too Many Requests").header("retry-after", "2"));
    fake.reply(Reply::error(400, 21656, "Invalid variables"));
    fake.reply(Reply::json(200, json!({"whatsapp": {"status": "mystery"}})));
    let reg = registry(&fake);
    assert_eq!(reg.approval(HX).await.unwrap_err(), RegistryError::NotFound);
    assert!(reg.approval(HX).await.unwrap_err().is_retryable());
    assert!(matches!(
        reg.create(&template(ProviderContent::Text { body: "x".into() })).await,
        Err(RegistryError::Rejected { code: Some(21656), .. })
    ));
    assert!(matches!(reg.approval(HX).await, Err(RegistryError::Rejected { code: None, .. })));
}
