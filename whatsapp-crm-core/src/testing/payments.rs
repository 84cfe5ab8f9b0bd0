//! Conformance cases for payment attempts, their events, receipts and
//! payment links.

use chrono::Duration;
use futures_util::future::join_all;

use crate::domain::{
    BusinessId, Currency, LineItem, Money, Order, OutboxItem, PaymentAttempt, PaymentEvent,
    PaymentId, PaymentLink, PaymentStatus, PhoneNumber,
};
use crate::ports::{
    EventRecorded, PAYMENT_CHANGED, PAYMENT_REFERENCE_TAKEN, PaymentQuery, Storage, StorageError,
};

use super::{at, bare_customer, insert, new_business, new_conversation, ok, text_message};

async fn order(s: &dyn Storage, business: BusinessId, n: u32) -> Order {
    let c = bare_customer(business, &format!("+2547150{n:05}"));
    insert(s, &c).await;
    let line = LineItem {
        product_id: None,
        sku: "UNGA-2KG".into(),
        name: "Unga 2kg".into(),
        quantity: 1,
        unit_price: Money::new(21_000, Currency::KES),
    };
    let o = Order::new(business, c.id, Currency::KES, vec![line], at(0))
        .unwrap_or_else(|e| panic!("{e}"));
    ok(s.insert_order(&o).await, "insert order");
    o
}

fn attempt(o: &Order, provider: &str, reference: Option<&str>) -> PaymentAttempt {
    PaymentAttempt {
        id: PaymentId::new(),
        business_id: o.business_id,
        order_id: o.id,
        customer_id: o.customer_id,
        provider: provider.into(),
        amount: o.total,
        status: PaymentStatus::Pending,
        provider_reference: reference.map(str::to_owned),
        receipt: None,
        paid: None,
        phone: PhoneNumber::parse("+254708374149").ok(),
        checkout_url: None,
        failure: None,
        flags: Vec::new(),
        created_at: at(10),
        updated_at: at(10),
        settled_at: None,
        checks: 0,
        next_check_at: Some(at(70)),
        receipt_message_id: None,
        receipt_skipped: None,
    }
}

fn event(p: &PaymentAttempt, kind: &str, minor: Option<i64>) -> PaymentEvent {
    PaymentEvent {
        payment_id: Some(p.id),
        provider: p.provider.clone(),
        reference: p.provider_reference.clone().unwrap_or_default(),
        kind: kind.into(),
        outcome: Some("succeeded".into()),
        amount: minor.map(|m| Money::new(m, Currency::KES)),
        raw: r#"{"Body":{"stkCallback":{}}}"#.into(),
        flag: None,
        received_at: at(40),
    }
}

/// Attempts read back whole, are found by reference and by callback token
/// across businesses, move only from the status they were read in, and
/// stay in their business.
pub async fn payment_round_trip_references_and_isolation(s: &dyn Storage) {
    let b = new_business(s, "Duka").await;
    let other = new_business(s, "Other").await;
    let o = order(s, b.id, 1).await;
    let p = attempt(&o, "mpesa", Some("ws_CO_1"));
    ok(s.insert_payment(&p, Some([7; 32])).await, "insert");
    assert_eq!(ok(s.get_payment(b.id, p.id).await, "get"), p);
    assert_eq!(ok(s.payment_by_reference("mpesa", "ws_CO_1").await, "by ref"), Some(p.clone()));
    assert_eq!(ok(s.payment_by_reference("paystack", "ws_CO_1").await, "other provider"), None);
    assert_eq!(ok(s.payment_by_callback_token([7; 32]).await, "by token"), Some(p.clone()));
    assert_eq!(ok(s.payment_by_callback_token([8; 32]).await, "no token"), None);
    // The same reference twice in a business is refused.
    let dup = s.insert_payment(&attempt(&o, "mpesa", Some("ws_CO_1")), None).await.unwrap_err();
    assert!(
        matches!(&dup, StorageError::Conflict { constraint, .. } if constraint == PAYMENT_REFERENCE_TAKEN),
        "{dup:?}"
    );
    let mut forged = attempt(&o, "paystack", None);
    forged.business_id = other.id;
    assert!(matches!(s.insert_payment(&forged, None).await, Err(StorageError::NotFound { .. })));
    assert!(matches!(s.get_payment(other.id, p.id).await, Err(StorageError::NotFound { .. })));
    // A move checks the status it was read in.
    let mut paid = p.clone();
    paid.status = PaymentStatus::Succeeded;
    paid.paid = Some(p.amount);
    paid.receipt = Some("NLJ7RT61SV".into());
    paid.flags = vec!["checked".into()];
    ok(s.update_payment(&paid, PaymentStatus::Pending).await, "move");
    let stale = s.update_payment(&paid, PaymentStatus::Pending).await.unwrap_err();
    assert!(
        matches!(&stale, StorageError::Conflict { constraint, .. } if constraint == PAYMENT_CHANGED),
        "{stale:?}"
    );
    assert_eq!(ok(s.get_payment(b.id, p.id).await, "get"), paid);
    let second = attempt(&o, "paystack", Some("wcrm-1"));
    ok(s.insert_payment(&second, None).await, "a second attempt");
    let q = |status| PaymentQuery { order: Some(o.id), status, limit: 10, after: None };
    assert_eq!(ok(s.list_payments(b.id, &q(None)).await, "list").items.len(), 2);
    let done = ok(s.list_payments(b.id, &q(Some(PaymentStatus::Succeeded))).await, "list");
    assert_eq!(done.items, [paid]);
    assert!(ok(s.list_payments(other.id, &q(None)).await, "list").items.is_empty());
}

/// A provider event is stored once per (provider, reference, kind), even
/// when delivered at once; the same key with another amount is refused.
pub async fn payment_events_are_stored_once_per_key(s: &dyn Storage) {
    let b = new_business(s, "Duka").await;
    let o = order(s, b.id, 1).await;
    let p = attempt(&o, "mpesa", Some("ws_CO_9"));
    ok(s.insert_payment(&p, None).await, "insert");
    let e = event(&p, "stk_callback", Some(21_000));
    let results = join_all((0..6).map(|_| s.record_payment_event(b.id, &e))).await;
    let new = results.iter().filter(|r| matches!(r, Ok(EventRecorded::New))).count();
    let dup = results.iter().filter(|r| matches!(r, Ok(EventRecorded::Duplicate))).count();
    assert_eq!((new, dup), (1, 5), "{results:?}");
    let other_amount = event(&p, "stk_callback", Some(1));
    assert_eq!(
        ok(s.record_payment_event(b.id, &other_amount).await, "conflict"),
        EventRecorded::Conflict(e.clone())
    );
    let query = event(&p, "query", None);
    assert_eq!(ok(s.record_payment_event(b.id, &query).await, "another kind"), EventRecorded::New);
    assert_eq!(ok(s.payment_events(b.id, p.id).await, "events"), [e, query]);
    let other = new_business(s, "Other").await;
    assert!(s.payment_events(other.id, p.id).await.is_err());
    assert!(s.record_payment_event(other.id, &event(&p, "x", None)).await.is_err());
}

/// Open attempts come due by their next check; receipts and reminders are
/// recorded once each, with their message, whoever races.
pub async fn receipts_reminders_and_due_checks(s: &dyn Storage) {
    let b = new_business(s, "Duka").await;
    let o = order(s, b.id, 1).await;
    let mut p = attempt(&o, "mpesa", Some("ws_CO_5"));
    ok(s.insert_payment(&p, None).await, "insert");
    let mut early = attempt(&o, "mpesa", Some("ws_CO_6"));
    early.next_check_at = Some(at(50));
    ok(s.insert_payment(&early, None).await, "insert");
    assert_eq!(ok(s.due_payments(at(60), 10).await, "due"), [(b.id, early.id)]);
    let due = ok(s.due_payments(at(70), 10).await, "due");
    assert_eq!(due, [(b.id, early.id), (b.id, p.id)]);
    assert_eq!(ok(s.due_payments(at(70), 1).await, "limit").len(), 1);
    p.status = PaymentStatus::Succeeded;
    ok(s.update_payment(&p, PaymentStatus::Pending).await, "settle");
    assert_eq!(
        ok(s.due_payments(at(70), 10).await, "due"),
        [(b.id, early.id)],
        "final ones are not checked"
    );

    let customer = ok(s.get_customer(b.id, o.customer_id).await, "customer");
    let conversation = new_conversation(s, &customer).await;
    let row = |body: &str| {
        let m = text_message(&conversation, body);
        let item = OutboxItem::new(
            b.id,
            m.id,
            b.whatsapp_sender.clone(),
            customer.phone.clone(),
            at(80),
            at(80),
        );
        (m, item)
    };
    let rows: Vec<_> = (0..4).map(|i| row(&format!("Receipt {i}"))).collect();
    let results = join_all(rows.iter().map(|r| s.record_receipt(b.id, p.id, Some(r), None))).await;
    assert_eq!(results.iter().filter(|r| matches!(r, Ok(true))).count(), 1, "{results:?}");
    let queued = join_all(rows.iter().map(|r| s.get_outbox_item(b.id, r.0.id))).await;
    assert_eq!(queued.iter().filter(|q| q.is_ok()).count(), 1, "one receipt queued");
    assert!(ok(s.get_payment(b.id, p.id).await, "get").receipt_message_id.is_some());
    assert!(!ok(s.record_receipt(b.id, p.id, None, Some("no template")).await, "again"));
    assert!(ok(
        s.record_receipt(b.id, early.id, None, Some("no template outside the window")).await,
        "skip"
    ));
    assert_eq!(
        ok(s.get_payment(b.id, early.id).await, "get").receipt_skipped.as_deref(),
        Some("no template outside the window")
    );

    let link = PaymentLink {
        business_id: b.id,
        order_id: o.id,
        token: "tok".into(),
        url: "https://crm.example.com/pay/tok".into(),
        expires_at: at(3600),
        sent_at: at(0),
        reminders_sent: 0,
        next_reminder_at: Some(at(1800)),
    };
    ok(s.save_payment_link(&link).await, "save link");
    assert_eq!(ok(s.payment_link(b.id, o.id).await, "link"), Some(link.clone()));
    assert!(ok(s.due_reminders(at(1799), 10).await, "not yet").is_empty());
    assert_eq!(ok(s.due_reminders(at(1800), 10).await, "due"), [(b.id, o.id)]);
    let reminders: Vec<_> = (0..4).map(|i| row(&format!("Reminder {i}"))).collect();
    let next = Some(at(3600) - Duration::hours(1));
    let results =
        join_all(reminders.iter().map(|r| s.record_reminder(b.id, o.id, 1, next, Some(r)))).await;
    assert_eq!(results.iter().filter(|r| matches!(r, Ok(true))).count(), 1, "{results:?}");
    assert!(!ok(s.record_reminder(b.id, o.id, 1, next, None).await, "again"));
    assert!(ok(s.record_reminder(b.id, o.id, 2, None, None).await, "the second"));
    let after = ok(s.payment_link(b.id, o.id).await, "link").unwrap_or_else(|| panic!("kept"));
    assert_eq!((after.reminders_sent, after.next_reminder_at), (2, None));
    assert!(ok(s.due_reminders(at(99_999), 10).await, "none left").is_empty());
    let other = new_business(s, "Other").await;
    assert_eq!(ok(s.payment_link(other.id, o.id).await, "other"), None);
    let mut foreign = link.clone();
    foreign.business_id = other.id;
    assert!(matches!(s.save_payment_link(&foreign).await, Err(StorageError::NotFound { .. })));
}
