//! The Groq classifier against the local stand-in: request shapes, answers,
//! and every failure the assistant falls back on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use whatsapp_crm_core::ports::{Classifier, ClassifierError, ClassifyRequest, IntentSummary};
use whatsapp_crm_groq::stand_in::{Answer, GroqStandIn};
use whatsapp_crm_groq::{Groq, GroqConfig};

const KEY: &str = "gsk_test_key";

fn intents() -> Vec<IntentSummary> {
    vec![
        IntentSummary {
            name: "delivery".into(),
            about: "Do you deliver?".into(),
            examples: vec!["mnaleta".into(), "do you deliver to rongai".into()],
        },
        IntentSummary {
            name: "opening_hours".into(),
            about: "opening hours".into(),
            examples: vec![],
        },
    ]
}

async fn groq(timeout_ms: u64) -> (GroqStandIn, Groq) {
    let fake = GroqStandIn::start(KEY).await.unwrap();
    let config = GroqConfig::new(KEY)
        .with_base(&fake.url)
        .with_model("llama-3.1-8b-instant")
        .with_timeout(Duration::from_millis(timeout_ms));
    (fake.clone(), Groq::new(config).unwrap())
}

#[tokio::test]
async fn a_verdict_becomes_a_ranking_and_the_request_is_groq_shaped() {
    let (fake, groq) = groq(2_000).await;
    fake.answer(Answer::verdict("delivery", 0.86));
    let intents = intents();
    let req = ClassifyRequest {
        text: "Mnaleta Rongai?",
        normalized: "mnaleta rongai",
        intents: &intents,
    };
    let r = groq.classify(&req).await.unwrap();
    assert_eq!((r.top().unwrap().intent.as_str(), r.p1()), ("delivery", 0.86));
    assert!(fake.malformed().is_empty(), "{:?}", fake.malformed());
    let sent = &fake.requests()[0];
    assert_eq!(sent["model"], "llama-3.1-8b-instant");
    assert_eq!(sent["response_format"]["type"], "json_object");
    assert!(sent.get("logprobs").is_none() && sent.get("top_logprobs").is_none());
    let user = sent["messages"][1]["content"].as_str().unwrap();
    assert!(user.contains("- delivery: Do you deliver? (e.g. mnaleta | do you deliver to rongai)"));
    assert!(user.ends_with("Message: Mnaleta Rongai?"));
}

#[tokio::test]
async fn timeouts_errors_and_garbage_are_errors() {
    let (fake, groq) = groq(300).await;
    let intents = intents();
    let req = ClassifyRequest { text: "hello", normalized: "hello", intents: &intents };
    fake.answer(Answer::Slow(
        Duration::from_millis(1_500),
        r#"{"intent":"delivery","confidence":0.9}"#.into(),
    ));
    assert_eq!(groq.classify(&req).await, Err(ClassifierError::Timeout));
    fake.answer(Answer::Status(500));
    assert_eq!(groq.classify(&req).await, Err(ClassifierError::Status { status: 500 }));
    fake.answer(Answer::Status(429));
    assert_eq!(groq.classify(&req).await, Err(ClassifierError::Status { status: 429 }));
    fake.answer(Answer::Content("I think they want delivery.".into()));
    assert!(matches!(groq.classify(&req).await, Err(ClassifierError::Invalid(_))));
    fake.answer(Answer::verdict("shipping", 0.9));
    assert!(matches!(groq.classify(&req).await, Err(ClassifierError::Invalid(_))));
    let wrong = Groq::new(GroqConfig::new("gsk_wrong").with_base(&fake.url)).unwrap();
    assert_eq!(wrong.classify(&req).await, Err(ClassifierError::Status { status: 401 }));
    let nowhere =
        Groq::new(GroqConfig::new(KEY).with_base("http://127.0.0.1:9/openai/v1")).unwrap();
    assert!(matches!(nowhere.classify(&req).await, Err(ClassifierError::Unreachable(_))));
    assert!(fake.malformed().is_empty(), "{:?}", fake.malformed());
}
