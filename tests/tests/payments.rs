//! Payments through the SDK on every backend, against local Daraja and
//! Paystack stand-ins, with a manual clock: M-Pesa by link with a callback
//! replayed three times, a callback the status query contradicts, a card
//! payment by signed webhook (an altered one refused), unknown references
//! ignored, reminders at their offsets, expiry, and reconciliation of a
//! payment whose callback never came.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use support::{TestApp, inbound_text, on};
use whatsapp_crm_core::ports::{Clock, ManualClock, MessageQuery};
use whatsapp_crm_core::service::{
    CallbackResult, LinkState, NewOrder, NewOrderLine, OrderAction, OrderActionInput, PayWith,
    PaymentsConfig, WebhookRefused,
};
use whatsapp_crm_core::{
    BusinessId, CommerceSettingsInput, Crm, DeliveryMethod, Direction, Message, NewCustomer, Order,
    OrderNotice, OrderStatus, PaymentStatus,
};
use whatsapp_crm_mpesa::stand_in::DarajaStandIn;
use whatsapp_crm_mpesa::{Mpesa, MpesaConfig};
use whatsapp_crm_paystack::stand_in::PaystackStandIn;
use whatsapp_crm_paystack::{Paystack, PaystackConfig};

on_every_backend!(
    an_mpesa_payment_by_link_settles_once_however_often_the_callback_comes,
    a_callback_the_query_contradicts_settles_nothing,
    a_card_payment_settles_by_signed_webhook,
    reminders_expiry_and_reconciliation_follow_the_clock,
    a_link_no_message_can_carry_is_made_and_says_why,
);

const PASSKEY: &str = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919";
const PAYSTACK_KEY: &str = "sk_test_example_secret_key";
const SAFARICOM: &str = "196.201.214.200";

struct Shop {
    crm: Crm,
    clock: Arc<ManualClock>,
    id: BusinessId,
    daraja: DarajaStandIn,
    paystack: PaystackStandIn,
    n: std::cell::Cell<u32>,
}

async fn shop(t: &TestApp, payment_minutes: u32) -> Shop {
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 12, 7, 7, 0, 0).unwrap()));
    let daraja = DarajaStandIn::start("key", "secret", "174379", PASSKEY).await.unwrap();
    let paystack = PaystackStandIn::start(PAYSTACK_KEY).await.unwrap();
    let mpesa =
        Mpesa::new(MpesaConfig::new("key", "secret", "174379", PASSKEY).with_base(&daraja.url))
            .unwrap();
    let card = Paystack::new(PaystackConfig::new(PAYSTACK_KEY).with_base(&paystack.url)).unwrap();
    let crm = Crm::new(t.crm.storage().clone())
        .with_clock(clock.clone())
        .with_payment_provider(Arc::new(mpesa))
        .with_payment_provider(Arc::new(card))
        .with_payments(PaymentsConfig::new("https://crm.example.com"));
    let settings = CommerceSettingsInput {
        enabled: true,
        payment_minutes: Some(payment_minutes),
        ..Default::default()
    };
    crm.commerce().set(t.shop_a, settings).await.unwrap();
    let csv = "sku,name,price,on_hand\nUNGA-2KG,Unga wa Ngano 2kg,210.00,10\nSUGAR-1KG,Sugar 1kg,150.00,5\n";
    crm.catalog().import_csv(t.shop_a, csv.as_bytes()).await.unwrap();
    Shop { crm, clock, id: t.shop_a, daraja, paystack, n: 0.into() }
}

impl Shop {
    async fn says(&self, phone: &str, body: &str) -> whatsapp_crm_core::service::Received {
        self.n.set(self.n.get() + 1);
        let sender = self.crm.businesses().get(self.id).await.unwrap().whatsapp_sender;
        let m =
            inbound_text(format!("SM{:032}", self.n.get()), phone, &sender, body, self.clock.now());
        self.crm.inbox().receive(self.id, m).await.unwrap()
    }

    /// An order checked out in chat by `phone`.
    async fn order(&self, phone: &str, command: &str) -> Order {
        self.says(phone, command).await;
        self.says(phone, "lipa").await.cart.unwrap().order.unwrap()
    }

    async fn outbound(&self, order: &Order) -> Vec<Message> {
        let s = self.crm.storage();
        let conv = s.latest_conversation(self.id, order.customer_id).await.unwrap().unwrap();
        let page = s
            .list_messages(self.id, conv.id, &MessageQuery { limit: 200, after: None })
            .await
            .unwrap();
        page.items.into_iter().filter(|m| m.direction == Direction::Outbound).collect()
    }

    fn token_of(&self, push: usize) -> String {
        let url = self.daraja.pushes()[push].body["CallBackURL"].as_str().unwrap().to_owned();
        url.rsplit('/').next().unwrap().to_owned()
    }

    async fn available(&self, sku: &str) -> Option<u32> {
        self.crm.storage().products_by_sku(self.id, &[sku.into()]).await.unwrap()[0].available()
    }
}

fn text(m: &Message) -> String {
    serde_json::to_string(&m.content).unwrap()
}

async fn an_mpesa_payment_by_link_settles_once_however_often_the_callback_comes(t: TestApp) {
    let shop = shop(&t, 60).await;
    let order = shop.order("+254708374149", "ongeza unga 2").await;
    let payments = shop.crm.payments();
    let sent_link = payments.send_link(shop.id, order.id).await.unwrap();
    let link = sent_link.link;
    assert!(link.url.starts_with("https://crm.example.com/pay/"));
    let sent = shop.outbound(&order).await;
    assert!(text(sent.last().unwrap()).contains("call_to_action"), "a button inside the window");
    let page = payments.link_page(&link.token).await.unwrap();
    assert_eq!(
        (page.state, page.total.minor, page.phone.as_str()),
        (LinkState::Payable, 42_000, "+254708374149")
    );

    let attempt = payments
        .pay_from_link(&link.token, PayWith::Mpesa { phone: "+254 708 374 149".into() })
        .await
        .unwrap();
    assert_eq!(attempt.status, PaymentStatus::Prompted);
    let push = shop.daraja.pushes()[0].clone();
    assert_eq!(push.body["Amount"], "420");
    let token = shop.token_of(0);
    shop.daraja.settle(
        &push.checkout_request_id,
        "0",
        "The service request is processed successfully.",
    );
    let body = DarajaStandIn::callback_body(&push.checkout_request_id, 0, 420.0, "NLJ7RT61SV");
    let ip: IpAddr = SAFARICOM.parse().unwrap();
    let first = payments.mpesa_callback(&token, Some(ip), body.as_bytes()).await.unwrap();
    let CallbackResult::Applied(paid) = first else { panic!("{first:?}") };
    assert_eq!(
        (paid.status, paid.receipt.as_deref()),
        (PaymentStatus::Succeeded, Some("NLJ7RT61SV"))
    );
    for _ in 0..2 {
        assert_eq!(
            payments.mpesa_callback(&token, Some(ip), body.as_bytes()).await.unwrap(),
            CallbackResult::Duplicate
        );
    }
    assert_eq!(shop.crm.orders().get(shop.id, order.id).await.unwrap().status, OrderStatus::Paid);
    let receipts: Vec<String> =
        shop.outbound(&order).await.iter().map(text).filter(|t| t.contains("Receipt")).collect();
    assert_eq!(receipts.len(), 1, "one receipt: {receipts:?}");
    assert!(receipts[0].contains("KES 420.00") && receipts[0].contains("NLJ7RT61SV"));
    let notices = shop.crm.orders().notices(shop.id, order.id).await.unwrap();
    let paid_notice = notices.iter().find(|n| n.notice == OrderNotice::Paid).unwrap();
    assert!(paid_notice.message_id.is_none(), "the receipt told the customer");
    assert_eq!(payments.link_page(&link.token).await.unwrap().state, LinkState::Paid);
    // An unknown callback URL is acknowledged and ignored.
    assert!(matches!(
        payments.mpesa_callback("nope", Some(ip), body.as_bytes()).await.unwrap(),
        CallbackResult::Ignored(_)
    ));
    let events = shop.crm.storage().payment_events(shop.id, paid.id).await.unwrap();
    assert_eq!(events.len(), 1, "one event for three deliveries");
    assert!(events[0].raw.contains("NLJ7RT61SV"), "kept raw");
}

async fn a_callback_the_query_contradicts_settles_nothing(t: TestApp) {
    let shop = shop(&t, 60).await;
    let order = shop.order("+254708374149", "add 1 sugar").await;
    let payments = shop.crm.payments();
    payments
        .start(shop.id, order.id, PayWith::Mpesa { phone: "+254708374149".into() })
        .await
        .unwrap();
    let push = shop.daraja.pushes()[0].clone();
    // Daraja's own record: the customer cancelled. A post claims success.
    shop.daraja.settle(&push.checkout_request_id, "1032", "Request cancelled by user");
    let forged = DarajaStandIn::callback_body(&push.checkout_request_id, 0, 150.0, "FAKE000000");
    let r = payments.mpesa_callback(&shop.token_of(0), None, forged.as_bytes()).await.unwrap();
    let CallbackResult::Applied(a) = r else { panic!("{r:?}") };
    assert_eq!(a.status, PaymentStatus::Cancelled);
    assert!(a.flags.iter().any(|f| f.contains("status query says cancelled")), "{:?}", a.flags);
    assert_eq!(
        shop.crm.orders().get(shop.id, order.id).await.unwrap().status,
        OrderStatus::AwaitingPayment
    );
    // A callback naming another amount than was pushed settles nothing either.
    payments
        .start(shop.id, order.id, PayWith::Mpesa { phone: "+254708374149".into() })
        .await
        .unwrap();
    let push = shop.daraja.pushes()[1].clone();
    shop.daraja.settle(&push.checkout_request_id, "0", "ok");
    let cheap = DarajaStandIn::callback_body(&push.checkout_request_id, 0, 1.0, "QK12AB34CD");
    let r = payments.mpesa_callback(&shop.token_of(1), None, cheap.as_bytes()).await.unwrap();
    assert!(matches!(r, CallbackResult::Flagged(ref why) if why.contains("KES 1.00")), "{r:?}");
    assert_eq!(
        shop.crm.orders().get(shop.id, order.id).await.unwrap().status,
        OrderStatus::AwaitingPayment
    );
}

async fn a_card_payment_settles_by_signed_webhook(t: TestApp) {
    let shop = shop(&t, 60).await;
    let order = shop.order("+254712000111", "add 2 unga").await;
    let payments = shop.crm.payments();
    let link = payments.send_link(shop.id, order.id).await.unwrap().link;
    let no_email = payments.pay_from_link(&link.token, PayWith::Card { email: None }).await;
    assert!(no_email.is_err(), "a card payment needs an email");
    let attempt = payments
        .pay_from_link(&link.token, PayWith::Card { email: Some("wanjiku@example.com".into()) })
        .await
        .unwrap();
    assert!(attempt.checkout_url.as_deref().unwrap().starts_with("https://checkout.paystack.com/"));
    let reference = attempt.provider_reference.clone().unwrap();
    assert_eq!(
        shop.paystack.initialized()[0]["callback_url"],
        link.url.as_str(),
        "back to the link's page"
    );
    let (body, signature) = shop.paystack.webhook(&reference, 42_000, "KES");
    // P2: one byte more, same signature: refused, nothing stored.
    let altered = format!("{body}\n");
    let refused = payments.provider_webhook("paystack", Some(&signature), altered.as_bytes()).await;
    assert!(matches!(refused, Err(WebhookRefused::Signature)), "{refused:?}");
    assert!(shop.crm.storage().payment_events(shop.id, attempt.id).await.unwrap().is_empty());
    shop.paystack.settle(&reference, "success");
    let r = payments.provider_webhook("paystack", Some(&signature), body.as_bytes()).await.unwrap();
    let CallbackResult::Applied(paid) = r else { panic!("{r:?}") };
    assert_eq!(paid.status, PaymentStatus::Succeeded);
    assert_eq!(
        payments.provider_webhook("paystack", Some(&signature), body.as_bytes()).await.unwrap(),
        CallbackResult::Duplicate
    );
    assert_eq!(shop.crm.orders().get(shop.id, order.id).await.unwrap().status, OrderStatus::Paid);
    let receipts =
        shop.outbound(&order).await.iter().map(text).filter(|t| t.contains("Receipt")).count();
    assert_eq!(receipts, 1);
    let (unknown, sig) = shop.paystack.webhook("wcrm-unknown", 100, "KES");
    let r = payments.provider_webhook("paystack", Some(&sig), unknown.as_bytes()).await.unwrap();
    assert!(matches!(r, CallbackResult::Ignored(_)), "{r:?}");
}

async fn reminders_expiry_and_reconciliation_follow_the_clock(t: TestApp) {
    let shop = shop(&t, 120).await;
    let payments = shop.crm.payments();
    let start = shop.clock.now();
    let unpaid = shop.order("+254712000222", "add 2 sugar").await;
    let paid_later = shop.order("+254712000333", "add 1 unga").await;
    payments.send_link(shop.id, unpaid.id).await.unwrap();
    payments.send_link(shop.id, paid_later.id).await.unwrap();
    let reminders = |o: &Order| {
        let o = o.clone();
        let shop = &shop;
        async move {
            shop.outbound(&o).await.iter().map(text).filter(|t| t.contains("Reminder")).count()
        }
    };
    let at = |m: i64| start + Duration::minutes(m);
    shop.clock.set(at(29));
    assert_eq!(payments.run_due(shop.clock.now()).await.unwrap().reminders, 0);
    shop.clock.set(at(30));
    assert_eq!(
        payments.run_due(shop.clock.now()).await.unwrap().reminders,
        2,
        "30 minutes after sending"
    );
    // One customer pays (the callback never comes; reconciliation finds it).
    payments
        .start(shop.id, paid_later.id, PayWith::Mpesa { phone: "+254712000333".into() })
        .await
        .unwrap();
    let push = shop.daraja.pushes()[0].clone();
    shop.clock.set(at(30) + Duration::seconds(30));
    assert_eq!(
        payments.run_due(shop.clock.now()).await.unwrap().checked,
        0,
        "not asked before 60 s"
    );
    shop.clock.set(at(31) + Duration::seconds(1));
    let r = payments.run_due(shop.clock.now()).await.unwrap();
    assert_eq!((r.checked, r.settled), (1, 0), "still processing: asked, waits longer");
    shop.daraja.settle(
        &push.checkout_request_id,
        "0",
        "The service request is processed successfully.",
    );
    shop.clock.set(at(40));
    let r = payments.run_due(shop.clock.now()).await.unwrap();
    assert_eq!((r.checked, r.settled), (1, 1));
    assert_eq!(
        shop.crm.orders().get(shop.id, paid_later.id).await.unwrap().status,
        OrderStatus::Paid
    );
    // One hour before expiry: only the unpaid order is reminded.
    shop.clock.set(at(60));
    assert_eq!(payments.run_due(shop.clock.now()).await.unwrap().reminders, 1);
    assert_eq!(reminders(&unpaid).await, 2);
    assert_eq!(reminders(&paid_later).await, 1, "no reminder after payment");
    shop.clock.set(at(119));
    assert_eq!(payments.run_due(shop.clock.now()).await.unwrap().reminders, 0, "no more reminders");
    // Expiry releases the stock and tells the customer.
    assert_eq!(shop.available("SUGAR-1KG").await, Some(3));
    shop.clock.set(at(120));
    assert_eq!(shop.crm.orders().run_due(shop.clock.now()).await.unwrap().expired, 1);
    assert_eq!(
        shop.crm.orders().get(shop.id, unpaid.id).await.unwrap().status,
        OrderStatus::Expired
    );
    assert_eq!(shop.available("SUGAR-1KG").await, Some(5));
    let expired = shop.crm.orders().notices(shop.id, unpaid.id).await.unwrap();
    assert_eq!(expired.last().map(|n| n.notice), Some(OrderNotice::Expired));
    assert_eq!(
        payments
            .link_page(
                &shop.crm.storage().payment_link(shop.id, unpaid.id).await.unwrap().unwrap().token
            )
            .await
            .unwrap()
            .state,
        LinkState::Expired
    );
    // An attempt with no answer at all is given up after ten minutes.
    let third = shop.order("+254712000444", "add 1 sugar").await;
    let a = payments
        .start(shop.id, third.id, PayWith::Mpesa { phone: "+254712000444".into() })
        .await
        .unwrap();
    shop.clock.set(at(131));
    let r = payments.run_due(shop.clock.now()).await.unwrap();
    assert_eq!(r.expired, 1, "{r:?}");
    assert_eq!(
        shop.crm.storage().get_payment(shop.id, a.id).await.unwrap().status,
        PaymentStatus::Expired
    );
}

/// A customer the shop added who never wrote: no window, and the business
/// has no `payment_link` template.
async fn a_link_no_message_can_carry_is_made_and_says_why(t: TestApp) {
    let shop = shop(&t, 60).await;
    let crm = &shop.crm;
    let customer = NewCustomer { phone: "+254712000444".into(), ..Default::default() };
    let customer = crm.customers().create(shop.id, customer).await.unwrap();
    let line = NewOrderLine { sku: "UNGA-2KG".into(), quantity: 1 };
    let order = NewOrder {
        customer_id: customer.id,
        items: vec![line],
        delivery: Some(DeliveryMethod::Pickup),
    };
    let order = crm.orders().create(shop.id, order).await.unwrap();
    let order = crm
        .orders()
        .act(shop.id, order.id, OrderAction::Confirm, OrderActionInput::default(), "staff")
        .await
        .unwrap();
    let payments = crm.payments();
    let sent = payments.send_link(shop.id, order.id).await.unwrap();
    assert_eq!(sent.message_id, None);
    assert!(sent.not_sent.as_deref().unwrap().contains("payment_link"), "{sent:?}");
    assert_eq!(sent.link.next_reminder_at, None, "no reminders for a link never sent");
    shop.clock.set(shop.clock.now() + Duration::minutes(30));
    assert_eq!(payments.run_due(shop.clock.now()).await.unwrap().reminders, 0);
    // The shop shares the link another way; the customer types the number
    // the way Kenyans write it.
    let attempt = payments
        .pay_from_link(&sent.link.token, PayWith::Mpesa { phone: "0712 000 444".into() })
        .await
        .unwrap();
    assert_eq!(attempt.phone.unwrap().as_str(), "+254712000444");
    assert_eq!(shop.daraja.pushes()[0].body["PartyA"], "254712000444");
    let wrong = payments.start(shop.id, order.id, PayWith::Mpesa { phone: "0201 234 567".into() });
    assert!(wrong.await.is_err(), "a landline cannot be prompted");
}
