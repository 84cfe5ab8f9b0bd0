//! The Paystack client against the local stand-in.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use whatsapp_crm_core::payment::PaymentOutcome;
use whatsapp_crm_core::ports::{NextStep, PaymentProvider, PaymentProviderError, PaymentRequest};
use whatsapp_crm_core::{Currency, Money, PaymentId};
use whatsapp_crm_paystack::stand_in::PaystackStandIn;
use whatsapp_crm_paystack::{Paystack, PaystackConfig, reference_for};

const KEY: &str = "sk_test_example_secret_key";

fn request(id: PaymentId) -> PaymentRequest {
    PaymentRequest {
        payment_id: id,
        amount: Money::new(69_000, Currency::KES),
        phone: None,
        email: Some("wanjiku@example.com".into()),
        account_reference: "4F2A9C1B".into(),
        description: "Duka order".into(),
        callback_url: "https://crm.example.com/pay/tok/done".into(),
    }
}

#[tokio::test]
async fn a_card_payment_is_initialised_verified_and_its_webhook_checked() {
    let fake = PaystackStandIn::start(KEY).await.unwrap();
    let paystack = Paystack::new(PaystackConfig::new(KEY).with_base(&fake.url)).unwrap();
    let id = PaymentId::new();
    let started = paystack.start(&request(id)).await.unwrap();
    assert_eq!(started.reference, reference_for(id));
    assert!(
        matches!(&started.next, NextStep::Redirect { url } if url.starts_with("https://checkout.paystack.com/"))
    );
    let init = &fake.initialized()[0];
    assert_eq!((&init["amount"], &init["currency"]), (&69_000.into(), &"KES".into()), "subunits");
    let asked = Money::new(69_000, Currency::KES);
    assert_eq!(paystack.query(&started.reference, asked).await.unwrap(), PaymentOutcome::Pending);
    fake.settle(&started.reference, "success");
    let paid = paystack.query(&started.reference, asked).await.unwrap();
    assert!(matches!(paid, PaymentOutcome::Succeeded { amount, .. } if amount == asked));
    fake.settle(&started.reference, "abandoned");
    assert!(matches!(
        paystack.query(&started.reference, asked).await.unwrap(),
        PaymentOutcome::Cancelled { .. }
    ));

    // The webhook, signed; one changed byte is refused.
    let (body, sig) = fake.webhook(&started.reference, 69_000, "KES");
    let e = paystack.parse_callback(Some(&sig), body.as_bytes()).unwrap();
    assert_eq!((e.kind.as_str(), e.amount), ("charge.success", Some(asked)));
    let mut altered = body.clone().into_bytes();
    altered.push(b'\n');
    assert_eq!(
        paystack.parse_callback(Some(&sig), &altered),
        Err(PaymentProviderError::BadSignature)
    );
    assert_eq!(
        paystack.parse_callback(None, body.as_bytes()),
        Err(PaymentProviderError::BadSignature)
    );
    assert!(fake.malformed().is_empty(), "{:?}", fake.malformed());
}

#[tokio::test]
async fn refusals_are_typed() {
    let fake = PaystackStandIn::start(KEY).await.unwrap();
    let wrong = Paystack::new(PaystackConfig::new("sk_test_wrong").with_base(&fake.url)).unwrap();
    assert_eq!(
        wrong.start(&request(PaymentId::new())).await,
        Err(PaymentProviderError::Unauthorized)
    );
    let paystack = Paystack::new(PaystackConfig::new(KEY).with_base(&fake.url)).unwrap();
    let id = PaymentId::new();
    paystack.start(&request(id)).await.unwrap();
    assert!(
        matches!(paystack.start(&request(id)).await, Err(PaymentProviderError::Rejected { .. })),
        "a reference is used once"
    );
    let mut no_email = request(PaymentId::new());
    no_email.email = None;
    assert!(matches!(paystack.start(&no_email).await, Err(PaymentProviderError::Rejected { .. })));
    assert!(paystack.query("../etc", Money::new(1, Currency::KES)).await.is_err());
}
