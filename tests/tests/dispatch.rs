//! The outbox dispatcher with a manual clock, on every backend: policy,
//! limits, provider errors, lapsed claims and two dispatchers at once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use support::{TestApp, on};
use whatsapp_crm_core::policy::RateLimits;
use whatsapp_crm_core::ports::{OutboxKey, to_storage_precision};
use whatsapp_crm_core::service::{DispatchConfig, Dispatcher};
use whatsapp_crm_core::testing::text_message;
use whatsapp_crm_core::{
    BusinessId, ConsentStatus, Conversation, Customer, MessageContent, MessageId, MessageStatus,
    NewCustomer, OutboxItem, OutboxState, StatusUpdate, StubTransport, TemplateCategory,
    TransportError,
};

on_every_backend!(
    templates_go_anywhere_free_form_only_inside_the_window,
    marketing_needs_consent_and_respects_the_cap,
    one_recipient_is_paced_and_the_rest_flow,
    retryable_errors_back_off_then_send,
    permanent_errors_fail_with_the_code_and_opt_outs_stick,
    lapsed_and_unknown_sends_are_never_repeated,
    two_dispatchers_never_send_a_row_twice,
    two_dispatchers_share_the_senders_rate,
);

fn t0() -> DateTime<Utc> {
    to_storage_precision(Utc::now())
}

fn template(name: &str) -> MessageContent {
    MessageContent::Template {
        name: name.into(),
        content_sid: Some("HX0123456789abcdef0123456789abcdef".into()),
        variables: BTreeMap::new(),
        rendered: None,
    }
}

/// A customer of `business`, opted in or never asked, whose last message was
/// `inbound_ago` before `now` (none when `None`).
async fn customer(
    t: &TestApp,
    business: BusinessId,
    phone: &str,
    opted_in: bool,
    inbound_ago: Option<Duration>,
    now: DateTime<Utc>,
) -> (Customer, Conversation) {
    let mut input = NewCustomer::with_phone(phone);
    input.marketing_opt_in = opted_in.then_some(true);
    let c = t.crm.customers().create(business, input).await.unwrap();
    let mut conv = Conversation::new(business, c.id, now - Duration::days(3));
    conv.last_inbound_at = inbound_ago.map(|ago| now - ago);
    t.crm.storage().insert_conversation(&conv).await.unwrap();
    (c, conv)
}

/// Stores an outbound message and queues it due at `run_at`.
async fn queue(
    t: &TestApp,
    conv: &Conversation,
    customer: &Customer,
    content: MessageContent,
    category: Option<TemplateCategory>,
    run_at: DateTime<Utc>,
) -> MessageId {
    let s = t.crm.storage();
    let mut m = text_message(conv, "");
    m.content = content;
    s.insert_message(&m).await.unwrap();
    let sender = s.get_business(conv.business_id).await.unwrap().whatsapp_sender;
    let mut item =
        OutboxItem::new(conv.business_id, m.id, sender, customer.phone.clone(), run_at, run_at);
    item.category = category;
    s.enqueue(&[item]).await.unwrap();
    m.id
}

fn dispatcher(t: &TestApp, transport: &Arc<StubTransport>, limits: RateLimits) -> Dispatcher {
    let config = DispatchConfig { limits, ..DispatchConfig::default() };
    Dispatcher::new(t.crm.storage().clone(), transport.clone(), config)
}

async fn row(t: &TestApp, business: BusinessId, id: MessageId) -> OutboxItem {
    t.crm.storage().get_outbox_item(business, id).await.unwrap()
}

async fn templates_go_anywhere_free_form_only_inside_the_window(t: TestApp) {
    let now = t0();
    let stub = Arc::new(StubTransport::new());
    let d = dispatcher(&t, &stub, RateLimits::unlimited());
    let (c, conv) =
        customer(&t, t.shop_a, "+254712000001", false, Some(Duration::hours(30)), now).await;
    let free = queue(&t, &conv, &c, MessageContent::text("Your order shipped"), None, now).await;
    let tpl =
        queue(&t, &conv, &c, template("order_update"), Some(TemplateCategory::Utility), now).await;
    let r = d.run_due(now).await.unwrap();
    assert_eq!((r.claimed, r.sent, r.failed), (2, 1, 1));
    let refused = row(&t, t.shop_a, free).await;
    assert_eq!(refused.state, OutboxState::Failed);
    assert!(refused.last_error.as_deref().unwrap().starts_with("outside_window:"), "{refused:?}");
    let m = t.crm.storage().get_message(t.shop_a, free).await.unwrap();
    assert_eq!(m.status, MessageStatus::Failed);
    assert_eq!(row(&t, t.shop_a, tpl).await.state, OutboxState::Sent);
    let sent = stub.sent();
    assert_eq!(sent.iter().map(|m| m.message_id).collect::<Vec<_>>(), vec![tpl]);
    let m = t.crm.storage().get_message(t.shop_a, tpl).await.unwrap();
    assert_eq!((m.status, m.provider_id.is_some()), (MessageStatus::Sending, true));

    // Inside the window free-form goes too.
    let (c2, conv2) =
        customer(&t, t.shop_a, "+254712000002", false, Some(Duration::hours(1)), now).await;
    let ok = queue(&t, &conv2, &c2, MessageContent::text("Karibu!"), None, now).await;
    assert_eq!(d.run_due(now).await.unwrap().sent, 1);
    assert_eq!(row(&t, t.shop_a, ok).await.state, OutboxState::Sent);
}

async fn marketing_needs_consent_and_respects_the_cap(t: TestApp) {
    let now = t0();
    let stub = Arc::new(StubTransport::new());
    let d = dispatcher(&t, &stub, RateLimits::unlimited());
    let promo = Some(TemplateCategory::Marketing);
    let (never, conv_n) = customer(&t, t.shop_a, "+254712000001", false, None, now).await;
    let (fan, conv_f) = customer(&t, t.shop_a, "+254712000002", true, None, now).await;
    assert_eq!(fan.marketing.status, ConsentStatus::OptedIn);
    let refused = queue(&t, &conv_n, &never, template("sale"), promo, now).await;
    let first = queue(&t, &conv_f, &fan, template("sale"), promo, now).await;
    let r = d.run_due(now).await.unwrap();
    assert_eq!((r.sent, r.failed), (1, 1));
    let why = row(&t, t.shop_a, refused).await.last_error.unwrap();
    assert!(why.starts_with("not_opted_in:"), "{why}");
    assert_eq!(row(&t, t.shop_a, first).await.state, OutboxState::Sent);
    // A second promotion an hour later waits out the 24-hour cap, unspent.
    let later = now + Duration::hours(1);
    let second = queue(&t, &conv_f, &fan, template("sale_2"), promo, later).await;
    let r = d.run_due(later).await.unwrap();
    assert_eq!((r.sent, r.deferred), (0, 1));
    let waiting = row(&t, t.shop_a, second).await;
    assert_eq!((waiting.state, waiting.attempts), (OutboxState::Pending, 0));
    assert_eq!(waiting.run_at, now + Duration::hours(24));
    assert_eq!(d.run_due(now + Duration::hours(24)).await.unwrap().sent, 1);
    assert_eq!(stub.sent().len(), 2);
}

async fn one_recipient_is_paced_and_the_rest_flow(t: TestApp) {
    let now = t0();
    let stub = Arc::new(StubTransport::new());
    let d = dispatcher(&t, &stub, RateLimits::default());
    let (c, conv) =
        customer(&t, t.shop_a, "+254712000001", false, Some(Duration::hours(1)), now).await;
    let (other, conv_o) =
        customer(&t, t.shop_a, "+254712000002", false, Some(Duration::hours(1)), now).await;
    let a = queue(&t, &conv, &c, MessageContent::text("1"), None, now).await;
    let b = queue(&t, &conv, &c, MessageContent::text("2"), None, now).await;
    let x = queue(&t, &conv_o, &other, MessageContent::text("x"), None, now).await;
    let r = d.run_due(now).await.unwrap();
    assert_eq!((r.sent, r.deferred), (2, 1));
    let held = row(&t, t.shop_a, b).await;
    assert_eq!((held.state, held.attempts), (OutboxState::Pending, 0));
    assert_eq!(held.run_at, now + Duration::seconds(6));
    assert_eq!(d.run_due(now + Duration::seconds(5)).await.unwrap().claimed, 0);
    assert_eq!(d.run_due(now + Duration::seconds(6)).await.unwrap().sent, 1);
    let order: Vec<_> = stub.sent().iter().map(|m| m.message_id).collect();
    assert_eq!(order, vec![a, x, b]);
}

async fn retryable_errors_back_off_then_send(t: TestApp) {
    let now = t0();
    let stub = Arc::new(StubTransport::new());
    let d = dispatcher(&t, &stub, RateLimits::unlimited());
    let (c, conv) =
        customer(&t, t.shop_a, "+254712000001", false, Some(Duration::hours(1)), now).await;
    let id = queue(&t, &conv, &c, MessageContent::text("hi"), None, now).await;
    stub.fail_next(TransportError::Unavailable {
        code: None,
        message: "503".into(),
        retry_after: None,
    });
    stub.fail_next(TransportError::RateLimited { code: Some(20429), retry_after: None });
    let r = d.run_due(now).await.unwrap();
    assert_eq!(r.retried, 1);
    let first = row(&t, t.shop_a, id).await;
    assert_eq!(
        (first.state, first.attempts, first.run_at),
        (OutboxState::Pending, 1, now + Duration::seconds(2))
    );
    assert_eq!(d.run_due(now + Duration::seconds(2)).await.unwrap().retried, 1);
    let second = row(&t, t.shop_a, id).await;
    assert_eq!((second.attempts, second.error_code), (2, Some(20429)));
    assert_eq!(second.run_at, now + Duration::seconds(6), "backoff doubles");
    assert_eq!(d.run_due(now + Duration::seconds(6)).await.unwrap().sent, 1);
    assert_eq!(stub.sent().len(), 1);
    assert_eq!(stub.attempts(), 3);
}

async fn permanent_errors_fail_with_the_code_and_opt_outs_stick(t: TestApp) {
    let now = t0();
    let stub = Arc::new(StubTransport::new());
    let d = dispatcher(&t, &stub, RateLimits::unlimited());
    let (c, conv) =
        customer(&t, t.shop_a, "+254712000001", true, Some(Duration::hours(1)), now).await;
    let id = queue(&t, &conv, &c, MessageContent::text("hi"), None, now).await;
    stub.fail_next(TransportError::RecipientOptedOut { code: 63014 });
    assert_eq!(d.run_due(now).await.unwrap().failed, 1);
    let failed = row(&t, t.shop_a, id).await;
    assert_eq!((failed.state, failed.error_code), (OutboxState::Failed, Some(63014)));
    let m = t.crm.storage().get_message(t.shop_a, id).await.unwrap();
    assert_eq!((m.status, m.error_code), (MessageStatus::Failed, Some(63014)));
    let c = t.crm.storage().get_customer(t.shop_a, c.id).await.unwrap();
    assert_eq!(c.marketing.status, ConsentStatus::OptedOut);
    // Nothing is retried.
    assert_eq!(d.run_due(now + Duration::hours(1)).await.unwrap().claimed, 0);
    assert_eq!(stub.attempts(), 1);
}

async fn lapsed_and_unknown_sends_are_never_repeated(t: TestApp) {
    let now = t0();
    let stub = Arc::new(StubTransport::new());
    let d = dispatcher(&t, &stub, RateLimits::unlimited());
    let (c, conv) =
        customer(&t, t.shop_a, "+254712000001", false, Some(Duration::hours(1)), now).await;
    let s = t.crm.storage();
    let reached = queue(&t, &conv, &c, MessageContent::text("a"), None, now).await;
    let untouched = queue(&t, &conv, &c, MessageContent::text("b"), None, now).await;
    // A dispatcher claims both, starts handing the first over, and dies.
    assert_eq!(s.claim_due(now, 10, now + Duration::seconds(120)).await.unwrap().len(), 2);
    let key = OutboxKey { business: t.shop_a, message: reached };
    assert_eq!(s.start_sends(&[key], now).await.unwrap(), [true]);
    assert_eq!(d.run_due(now + Duration::seconds(60)).await.unwrap().claimed, 0, "still claimed");
    let r = d.run_due(now + Duration::seconds(121)).await.unwrap();
    assert_eq!((r.unknown, r.claimed, r.sent), (1, 1, 1));
    assert_eq!(row(&t, t.shop_a, reached).await.state, OutboxState::Unknown);
    let sent = row(&t, t.shop_a, untouched).await;
    assert_eq!((sent.state, sent.attempts), (OutboxState::Sent, 1));
    // A timeout after the request left is unknown too, and not sent again.
    let maybe = queue(&t, &conv, &c, MessageContent::text("c"), None, now).await;
    stub.fail_next(TransportError::OutcomeUnknown { message: "read timed out".into() });
    assert_eq!(d.run_due(now + Duration::seconds(200)).await.unwrap().unknown, 1);
    assert_eq!(row(&t, t.shop_a, maybe).await.state, OutboxState::Unknown);
    assert_eq!(d.run_due(now + Duration::hours(5)).await.unwrap().claimed, 0);
    assert_eq!(stub.attempts(), 2);
    // The provider's status callback, carrying our id, settles it.
    let report = StatusUpdate {
        provider_id: "SM0123456789abcdef0123456789abcdef".into(),
        message_id: Some(maybe),
        status: MessageStatus::Delivered,
        error_code: None,
        error_message: None,
        reported_at: now + Duration::seconds(210),
    };
    let applied = t.crm.inbox().apply_status(t.shop_a, report).await.unwrap();
    assert_eq!(applied.message.provider_id.as_deref(), Some("SM0123456789abcdef0123456789abcdef"));
    assert_eq!(row(&t, t.shop_a, maybe).await.state, OutboxState::Sent);
    assert_eq!(row(&t, t.shop_a, reached).await.state, OutboxState::Unknown, "no callback yet");
    assert_eq!(stub.sent().iter().map(|m| m.message_id).collect::<Vec<_>>(), vec![untouched]);
}

async fn two_dispatchers_never_send_a_row_twice(t: TestApp) {
    let now = t0();
    let stub = Arc::new(StubTransport::new());
    let config =
        DispatchConfig { batch: 7, limits: RateLimits::unlimited(), ..DispatchConfig::default() };
    let one = Dispatcher::new(t.crm.storage().clone(), stub.clone(), config.clone());
    let two = Dispatcher::new(t.crm.storage().clone(), stub.clone(), config);
    let mut ids = Vec::new();
    for i in 0..40 {
        let (c, conv) = customer(
            &t,
            t.shop_a,
            &format!("+2547120{i:05}"),
            false,
            Some(Duration::hours(1)),
            now,
        )
        .await;
        ids.push(queue(&t, &conv, &c, MessageContent::text("sale"), None, now).await);
    }
    for _ in 0..6 {
        let (a, b) = tokio::join!(one.run_due(now), two.run_due(now));
        a.unwrap();
        b.unwrap();
    }
    let mut times: HashMap<MessageId, usize> = HashMap::new();
    for m in stub.sent() {
        *times.entry(m.message_id).or_default() += 1;
    }
    assert_eq!(times.len(), 40, "every row sent");
    assert!(times.values().all(|n| *n == 1), "a row was sent twice: {times:?}");
    for id in ids {
        assert_eq!(row(&t, t.shop_a, id).await.state, OutboxState::Sent);
    }
}

/// Two dispatchers (two server processes, say) send from one number: the
/// number's rate holds across both, because its budget lives in storage.
async fn two_dispatchers_share_the_senders_rate(t: TestApp) {
    let now = t0();
    let stub = Arc::new(StubTransport::new());
    let limits =
        RateLimits { messages_per_second: Some(20), burst: 1, pair_interval_ms: None, tier: None };
    let config = DispatchConfig { batch: 10, limits, ..DispatchConfig::default() };
    let one = Dispatcher::new(t.crm.storage().clone(), stub.clone(), config.clone());
    let two = Dispatcher::new(t.crm.storage().clone(), stub.clone(), config);
    for i in 0..120 {
        let phone = format!("+2547121{i:05}");
        let (c, conv) = customer(&t, t.shop_a, &phone, false, Some(Duration::hours(1)), now).await;
        queue(&t, &conv, &c, MessageContent::text("sale"), None, now).await;
    }
    // Three simulated seconds, both dispatchers polling every 25 ms.
    for step in 0..120_i64 {
        let at = now + Duration::milliseconds(step * 25);
        let (a, b) = tokio::join!(one.run_due(at), two.run_due(at));
        a.unwrap();
        b.unwrap();
        let sent = stub.sent().len() as i64;
        assert!(sent <= 1 + step * 25 * 20 / 1000, "{sent} sent by {} ms", step * 25);
    }
    let sent = stub.sent();
    assert!(sent.len() >= 58, "the budget is used: {} sent in 3 s at 20/s", sent.len());
    let unique: std::collections::HashSet<_> = sent.iter().map(|m| m.message_id).collect();
    assert_eq!(unique.len(), sent.len(), "a row was sent twice");
}
