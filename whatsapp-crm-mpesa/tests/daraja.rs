//! The Daraja client against the local stand-in: token caching and one
//! refresh at a time, STK push shapes, queries and result codes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use whatsapp_crm_core::payment::PaymentOutcome;
use whatsapp_crm_core::ports::{NextStep, PaymentProvider, PaymentProviderError, PaymentRequest};
use whatsapp_crm_core::{Currency, Money, PaymentId, PhoneNumber};
use whatsapp_crm_mpesa::stand_in::DarajaStandIn;
use whatsapp_crm_mpesa::{Mpesa, MpesaConfig};

const KEY: &str = "consumer-key";
const SECRET: &str = "consumer-secret";
const SHORTCODE: &str = "174379";
const PASSKEY: &str = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919";

async fn daraja() -> (DarajaStandIn, Mpesa) {
    let fake = DarajaStandIn::start(KEY, SECRET, SHORTCODE, PASSKEY).await.unwrap();
    let mpesa =
        Mpesa::new(MpesaConfig::new(KEY, SECRET, SHORTCODE, PASSKEY).with_base(&fake.url)).unwrap();
    (fake, mpesa)
}

fn request(minor: i64, phone: &str) -> PaymentRequest {
    PaymentRequest {
        payment_id: PaymentId::new(),
        amount: Money::new(minor, Currency::KES),
        phone: Some(PhoneNumber::parse(phone).unwrap()),
        email: None,
        account_reference: "Order 4F2A9C1B!".into(),
        description: "Duka la Mama order".into(),
        callback_url: "https://crm.example.com/webhooks/mpesa/tok".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_share_one_token_and_have_every_field_right() {
    let (fake, mpesa) = daraja().await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let m = mpesa.clone();
        set.spawn(async move { m.start(&request(69_000, "+254708374149")).await });
    }
    while let Some(r) = set.join_next().await {
        let started = r.unwrap().unwrap();
        assert_eq!(started.next, NextStep::Prompted);
        assert!(started.reference.starts_with("ws_CO_"));
    }
    assert_eq!(fake.tokens_issued(), 1, "one refresh for ten callers");
    assert!(fake.malformed().is_empty(), "{:?}", fake.malformed());
    let push = &fake.pushes()[0].body;
    assert_eq!(push["Amount"], "690");
    assert_eq!(push["PartyA"], "254708374149");
    assert_eq!(push["TransactionType"], "CustomerPayBillOnline");
    assert_eq!(push["AccountReference"], "Order 4F2A9C");
    assert_eq!(push["TransactionDesc"], "Duka la Mama ");
}

#[tokio::test]
async fn a_till_pays_to_its_own_number_and_bad_requests_are_refused_before_daraja() {
    let fake = DarajaStandIn::start(KEY, SECRET, SHORTCODE, PASSKEY).await.unwrap();
    let till =
        MpesaConfig::new(KEY, SECRET, SHORTCODE, PASSKEY).with_base(&fake.url).with_till("5123456");
    let mpesa = Mpesa::new(till).unwrap();
    mpesa.start(&request(100, "+254110123456")).await.unwrap();
    let push = &fake.pushes()[0].body;
    assert_eq!(
        (&push["TransactionType"], &push["PartyB"]),
        (&"CustomerBuyGoodsOnline".into(), &"5123456".into())
    );
    for bad in
        [request(50, "+254708374149"), request(150, "+254708374149"), request(100, "+255712345678")]
    {
        assert!(matches!(mpesa.start(&bad).await, Err(PaymentProviderError::Rejected { .. })));
    }
    assert_eq!(fake.pushes().len(), 1, "nothing more reached Daraja");
}

#[tokio::test]
async fn queries_read_each_outcome_and_wait_while_processing() {
    let (fake, mpesa) = daraja().await;
    let asked = Money::new(69_000, Currency::KES);
    let id = mpesa.start(&request(69_000, "+254708374149")).await.unwrap().reference;
    assert_eq!(mpesa.query(&id, asked).await.unwrap(), PaymentOutcome::Pending, "still processing");
    fake.settle(&id, "0", "The service request is processed successfully.");
    assert_eq!(
        mpesa.query(&id, asked).await.unwrap(),
        PaymentOutcome::Succeeded { amount: asked, receipt: None }
    );
    fake.settle(&id, "1032", "Request cancelled by user");
    assert!(matches!(mpesa.query(&id, asked).await.unwrap(), PaymentOutcome::Cancelled { .. }));
    fake.settle(&id, "2001", "The initiator information is invalid.");
    assert!(
        matches!(mpesa.query(&id, asked).await.unwrap(), PaymentOutcome::Failed { code, .. } if code == "2001")
    );
    assert_eq!(fake.queries().len(), 4);
    assert!(fake.malformed().is_empty(), "{:?}", fake.malformed());
}

#[tokio::test]
async fn wrong_credentials_are_unauthorized() {
    let fake = DarajaStandIn::start(KEY, SECRET, SHORTCODE, PASSKEY).await.unwrap();
    let wrong = MpesaConfig::new(KEY, "guess", SHORTCODE, PASSKEY).with_base(&fake.url);
    let err = Mpesa::new(wrong).unwrap().start(&request(100, "+254708374149")).await.unwrap_err();
    assert!(
        matches!(
            err,
            PaymentProviderError::Unavailable { .. } | PaymentProviderError::Unauthorized
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn callbacks_are_read_through_the_port() {
    let (_fake, mpesa) = daraja().await;
    let body = DarajaStandIn::callback_body("ws_CO_1", 0, 690.0, "NLJ7RT61SV");
    let e = mpesa.parse_callback(None, body.as_bytes()).unwrap();
    assert_eq!((e.reference.as_str(), e.kind.as_str()), ("ws_CO_1", "stk_callback"));
    assert_eq!(e.amount, Some(Money::new(69_000, Currency::KES)));
    assert!(mpesa.parse_callback(None, b"{}").is_err());
}
